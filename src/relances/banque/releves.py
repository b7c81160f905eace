"""One statement file -> `Releve`, its format told from its content, not its name."""

from __future__ import annotations

import datetime
from pathlib import Path

from ..errors import RelancesError
from .format_camt import CamtError, read_camt
from .format_csv import CsvError, read_csv
from .format_ofx import OfxError, read_ofx
from .operations import OptionsReleve, Releve

MAX_SIZE = 50 * 1024 * 1024  # a year of statements is a few megabytes


class ReleveError(RelancesError):
    """A statement file that cannot be read at all; its message names the file."""


def read_releve(path: Path, options: OptionsReleve | None = None,
                today: datetime.date | None = None) -> Releve:
    """The statement at `path`. With `today`, a line dated later, or after the statement's own
    end, is reported and not read, and the statement's end is never later than today."""
    path = Path(path)
    options = options or OptionsReleve()
    try:
        size = path.stat().st_size
        if size > MAX_SIZE:
            raise ReleveError(f"{path.name} : fichier de {size // 1024 // 1024} Mo, trop gros "
                              "pour un relevé ; exportez une période plus courte")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReleveError(f"{path} : fichier introuvable") from None
    except IsADirectoryError:
        raise ReleveError(f"{path} : c’est un dossier, pas un relevé") from None
    except OSError as exc:
        raise ReleveError(f"{path} : lecture impossible ({exc.strerror or exc})") from None
    kind = detect(data)
    try:
        if kind == "ofx":
            return read_ofx(data, path.name, today)
        if kind == "camt":
            return read_camt(data, path.name, today)
        if kind == "csv":
            return read_csv(data, path.name, options, today)
    except (CsvError, OfxError, CamtError) as exc:
        raise ReleveError(f"{path.name} : {exc}") from None
    raise ReleveError(f"{path.name} : {kind} ; exportez le relevé en CSV, OFX ou camt.053 "
                      "(voir le README, « Relevés bancaires »)")


def detect(data: bytes) -> str:
    """'ofx', 'camt', 'csv', or why the file is none of them."""
    head = data[:4096]
    if not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    upper = head.upper()
    if upper.startswith(b"OFXHEADER") or b"<OFX>" in upper or b"<?OFX" in upper:
        return "ofx"
    if head.startswith(b"<"):
        if b"camt.05" in head or b"BkToCstmr" in head:
            return "camt"
        return "fichier XML qui n’est ni un relevé camt.053 ni un OFX"
    if head.startswith(b"PK\x03\x04"):
        return "fichier Excel ou archive, pas un relevé texte"
    if head.startswith(b"%PDF"):
        return "relevé PDF, illisible par une machine"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "csv"  # UTF-16 text (Excel's « texte Unicode »)
    if b"\x00" in head:
        return "fichier binaire, pas un relevé"
    return "csv"
