"""A second run the same day with nothing new: the last run's result, not rebuilt.

A run that had nothing to do (no action, nothing uncertain, nothing written into the workbook)
leaves beside its journal the inputs it ran on — date, workbook bytes, config file, journal
bytes, templates, code version — and its result. The next run whose inputs are all the same
cannot decide anything else: it gives that result back without reading, planning or patching.
Any difference (a cell edited, another day, the config or a template changed, a journal entry,
a statement imported) and the run does its whole work, as always.

`RELANCES_SANS_RACCOURCI=1` in the environment disables the shortcut (tests compare both ways).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import pickle
from pathlib import Path

from . import __version__

log = logging.getLogger("relances")

DESACTIVE = "RELANCES_SANS_RACCOURCI"
_ENTETE = b"relances-rien-de-neuf 1\n"


def chemin(config) -> Path:
    """Where the last no-op run's inputs and result are kept: beside the journal."""
    return config.journal.with_name(config.journal.name + ".rien-de-neuf")


def rien_de_neuf(config) -> bool:
    """Whether a run may stand on files alone: nothing it reads lives elsewhere. A mailbox
    (`[boite]`, issue 21) brings news no file shows: then the run always does its work."""
    if os.environ.get(DESACTIVE):
        return False
    return getattr(config, "boite", None) is None


def _empreinte(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dossier(path: Path | None) -> list[tuple[str, int, int]]:
    """A folder's files as (relative path, size, modification time): an edit shows."""
    if path is None or not path.is_dir():
        return []
    return sorted((str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns)
                  for f in path.rglob("*") if f.is_file())


def entrees(config, today: datetime.date) -> str:
    """Everything a run's decisions are made from, as one comparable text."""
    logo = getattr(getattr(config, "entreprise", None), "logo", None)
    return json.dumps({
        "version": __version__,
        "date": today.isoformat(),
        "classeur": _empreinte(config.classeur),
        "config": _empreinte(config.path),
        "journal": _empreinte(config.journal),
        "journal_wal": _empreinte(config.journal.with_name(config.journal.name + "-wal")),
        "modeles": _dossier(config.lettres),
        "logo": _empreinte(Path(logo)) if logo else "",
    }, sort_keys=True)


def reprendre(config, today: datetime.date):
    """The last no-op run's result when nothing it was made from has changed, else None."""
    if not rien_de_neuf(config):
        return None
    try:
        data = chemin(config).read_bytes()
    except OSError:
        return None
    head, _, rest = data.partition(b"\n\n")
    if not head.startswith(_ENTETE) or head[len(_ENTETE):].decode("utf-8", "replace") \
            != entrees(config, today):
        return None
    try:
        resultat = pickle.loads(rest)
    except Exception:  # an older or damaged record: the run does its work
        return None
    log.info("rien de neuf depuis la dernière exécution : résultat repris")
    return resultat


def retenir(config, today: datetime.date, resultat) -> None:
    """After a run (journal closed): keep its inputs and result if it had nothing to do;
    else forget any kept result."""
    target = chemin(config)
    ecriture = resultat.ecriture
    nothing = (not resultat.plan.actions and not resultat.executions and not resultat.incertains
               and not resultat.panne and not resultat.ecriture_erreur and not resultat.gel
               and ecriture is not None and not ecriture.ecrit)
    try:
        if not (nothing and rien_de_neuf(config)):
            target.unlink(missing_ok=True)
            return
        data = _ENTETE + entrees(config, today).encode() + b"\n\n" + pickle.dumps(resultat, 5)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError as exc:  # only a shortcut lost: the next run does its whole work
        log.info("résultat non conservé (%s)", exc)
