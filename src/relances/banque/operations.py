"""Records of the bank stage: one statement line (`Operation`), one statement file (`Releve`)."""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from ..records import Anomalie


@dataclass(frozen=True)
class Operation:
    """A credit on the account, as the bank wrote it.

    `cle` identifies the line for good: the bank's own transaction id when the export has one
    (OFX FITID, camt AcctSvcrRef, a CSV « numéro d'opération »), else a stable hash of the
    account, date, amount, label and rank among identical lines of the same file, so that the
    same line exported twice is recognised and never imported twice.
    """

    cle: str
    jour: datetime.date
    montant: Decimal
    libelle: str = ""
    contrepartie: str = ""  # the payer's name, when the export gives it apart from the label
    reference: str = ""     # a structured reference given apart (camt Strd, « communication structurée »)
    compte: str = ""        # the account credited (IBAN or number), when the export gives it
    fichier: str = ""       # the statement file it came from (name only)
    ligne: int | None = None  # its line in a CSV, its rank in an OFX or camt file
    # The bank's own id of the line when the export gives one ('' otherwise): kept apart from
    # `cle` so that a line exported once without it and once with it is known both ways.
    id_banque: str = ""
    # The line's content, whatever the format and the account column: day, amount, label
    # without case, accents or spacing, rank among identical lines of the file
    # (`hashed_key("", …)`); the same operation exported as CSV and as OFX has the same one.
    empreinte: str = ""
    # A reversal (camt RvslInd, OFX reversal, CSV « annulation / retour ») of a credit imported
    # earlier: `montant` is the amount taken back (positive); `annule` the bank id or reference
    # of the line it reverses, when the bank gives it.
    annulation: bool = False
    annule: str = ""

    @property
    def texte(self) -> str:
        """Everything a matcher may look into: label, counterparty and reference."""
        return " ".join(p for p in (self.libelle, self.contrepartie, self.reference) if p)


@dataclass(frozen=True)
class Releve:
    """One statement file read: its credits, and what could not be read in it."""

    fichier: str
    format: str                  # "CSV", "OFX", "camt.053"…
    operations: tuple[Operation, ...]
    fin: datetime.date | None    # the last day the statement covers
    debits: int = 0              # lines left aside because they are not credits
    ignorees: tuple[str, ...] = ()  # other lines left aside, and why (pending, other currency)
    anomalies: tuple[Anomalie, ...] = field(default=())


def hashed_key(compte: str, jour: datetime.date, montant: Decimal, libelle: str,
               rang: int) -> str:
    """The key of a line without a bank id. The label is compared without case, accents or
    spacing (two exports of the same line may differ in those); `rang` tells apart identical
    lines of the same day, which are distinct payments."""
    text = unicodedata.normalize("NFKD", libelle)
    text = "".join(c for c in text if c.isalnum()).casefold()
    raw = f"{compte}|{jour.isoformat()}|{montant}|{text}|{rang}".encode()
    return "h" + hashlib.sha256(raw).hexdigest()[:15]


def rank_identical(lines: list[tuple[datetime.date, Decimal, str]]) -> list[int]:
    """For each line, how many identical lines (same day, amount and label) came before it."""
    seen: dict[tuple, int] = {}
    ranks = []
    for jour, montant, libelle in lines:
        key = (jour, montant, " ".join(libelle.split()).casefold())
        ranks.append(seen.get(key, 0))
        seen[key] = seen.get(key, 0) + 1
    return ranks


@dataclass(frozen=True)
class OptionsReleve:
    """`[banque]` of config.toml: what to impose when a CSV export is not recognised alone.
    Every field left empty is detected from the file."""

    separateur: str = ""    # ";", ",", "\t"…
    encodage: str = ""      # "cp1252", "utf-8"…
    decimale: str = ""      # "," or "."
    format_date: str = ""   # strptime format, "%d/%m/%Y"
    entete: int | None = None  # the header's line number (1 = first line)
    colonnes: dict[str, str] = field(default_factory=dict)  # field -> header, see format_csv.CHAMPS


def text_of(element, path: str) -> str:
    """The text at `path` below an XML element, on one line ('' when absent)."""
    found = element.find(path)
    return " ".join((found.text or "").split()) if found is not None else ""


def day_of(text: str) -> datetime.date | None:
    """The day at the start of an ISO (2026-11-20T…) or OFX (20261120120000[+1:CET]) date, as
    the bank wrote it (not moved to UTC); None when there is none."""
    match = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})", text or "")
    if match is None:
        return None
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None
