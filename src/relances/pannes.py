"""Faults of the machine, in the user's words: a full disk, a read-only folder, a refused access.

An `OSError` carries the operating system's own text (« No space left on device »); the user
reads French, with the file concerned first and what to do.
"""

from __future__ import annotations

import errno
from pathlib import Path

CAUSES = {
    errno.ENOSPC: "disque plein",
    errno.EROFS: "dossier en lecture seule",
    errno.EACCES: "accès refusé",
    errno.EPERM: "accès refusé",
    errno.EFBIG: "fichier trop gros pour le disque (taille maximale atteinte)",
}
if hasattr(errno, "EDQUOT"):  # not on Windows
    CAUSES[errno.EDQUOT] = "quota disque dépassé"

# What the machine refuses, as opposed to a file that is not what we expected.
WRITE_FAULTS = frozenset(CAUSES)


def cause(exc: OSError) -> str:
    """Why the system refused, in French (the system's own words when we have none)."""
    if exc.errno in CAUSES:
        return CAUSES[exc.errno]
    if isinstance(exc, PermissionError):  # Windows: a file open elsewhere, or no right
        return "accès refusé"
    return exc.strerror or str(exc)


def is_fault(exc: BaseException) -> bool:
    """A full disk, a read-only folder or a refused access: the machine's, not the file's."""
    return isinstance(exc, OSError) and (exc.errno in WRITE_FAULTS
                                         or isinstance(exc, PermissionError))


def write_failed(path: Path | str | None, exc: OSError) -> str:
    """« sortie/…/00001-alpha.pdf : écriture impossible (disque plein) »."""
    where = path if path is not None else exc.filename
    return f"{where} : écriture impossible ({cause(exc)})" if where else \
        f"écriture impossible ({cause(exc)})"


# SQLite's primary result codes (the low byte of an extended code), for the journal.
SQLITE_CAUSES = {13: "disque plein", 8: "journal en lecture seule",
                 14: "fichier impossible à ouvrir : dossier en lecture seule ou accès refusé",
                 10: "erreur d’écriture sur le disque (disque plein ou en lecture seule ?)",
                 3: "accès refusé"}


def sqlite_cause(exc: Exception) -> str:
    """Why the journal could not be written, in French (SQLite's words when we have none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return SQLITE_CAUSES.get(code & 0xFF, str(exc)) if code is not None else str(exc)
