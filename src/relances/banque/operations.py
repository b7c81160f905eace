"""Records of the bank stage: one statement line (`Operation`), one statement file (`Releve`)."""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from ..records import Anomalie, normalise


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
    return _hash(compte, jour, montant, _comparable(libelle), rang)


def _comparable(libelle: str) -> str:
    """A label without case, accents, punctuation or spacing (`records.normalise`)."""
    return normalise(libelle)


def fingerprints(lines: list[tuple[datetime.date, Decimal, str]]) -> list[str]:
    """Each line's `empreinte`: its day, signed amount (a reversal is negative, as the bank
    shows it) and label compared loosely, and its rank among the lines of the file identical
    in all three — whatever the format the same operation was exported in."""
    seen: dict[tuple, int] = {}
    result = []
    for jour, montant, libelle in lines:
        text = _comparable(libelle)
        rang = seen.get((jour, montant, text), 0)
        seen[(jour, montant, text)] = rang + 1
        result.append(_hash("", jour, montant, text, rang))
    return result


def _hash(compte: str, jour: datetime.date, montant: Decimal, text: str, rang: int) -> str:
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


# What is kept of a label, a payer's name or a reference: enough to match any invoice, and a
# bound on the memory a hostile export can take.
TEXTE_MAX = 1000


def capped(text: str, where: str, what: str, fichier: str, ligne: int | None,
           anomalies: list[Anomalie]) -> str:
    """`text` cut to TEXTE_MAX characters, the cut said in `anomalies`."""
    if len(text) <= TEXTE_MAX:
        return text
    anomalies.append(Anomalie(fichier, ligne, f"{where} : {what} de {len(text)} caractères, "
                              f"seuls les {TEXTE_MAX} premiers sont gardés"))
    return text[:TEXTE_MAX]


_REVERSAL = re.compile(r"\b(ANNUL\w*|RETOURS?|REJETE?S?|IMPAYES?|CONTRE ?PASSATION|"
                       r"EXTOURNE|RETURN(ED)?|REVERSAL)\b")
_PAYMENT = re.compile(r"\b(VIR\w*|VRT|PRLV|PRELEV\w*|DOMICILIATION|SEPA|SCT|SDD|REMISE|"
                      r"CHEQUE|CHQ|TRANSFER|VERSEMENT)\b")


def says_reversal(libelle: str) -> bool:
    """A debit whose label says it takes back a transfer, direct debit or cheque received:
    « RETOUR VIR SEPA », « REJET PRLV », « IMPAYE REMISE CHEQUE », « CONTRE-PASSATION VIR »…
    A debit that only says « annulation » (of a card payment, of fees) is an ordinary debit."""
    text = unicodedata.normalize("NFKD", libelle[:TEXTE_MAX]).upper()
    text = re.sub(r"[^A-Z0-9]+", " ", text)
    return bool(_REVERSAL.search(text) and _PAYMENT.search(text))


def after_end(jour: datetime.date, fin: datetime.date | None,
              today: datetime.date | None) -> str:
    """Why a line dated `jour` cannot belong to a statement ending `fin` read on `today`
    ('' when it can): a bank never books a line in the future, nor after its own end."""
    if today is not None and jour > today:
        return (f"opération datée du {jour:%d/%m/%Y}, après aujourd’hui ({today:%d/%m/%Y}) ; "
                "non importée")
    if fin is not None and jour > fin:
        return (f"opération datée du {jour:%d/%m/%Y}, après la fin du relevé "
                f"({fin:%d/%m/%Y}) ; non importée")
    return ""


def statement_end(declared: list[datetime.date], days: list[datetime.date],
                  today: datetime.date | None, ignorees: list[str]) -> datetime.date | None:
    """The last day a statement covers: its own end when it states one, else its last line's
    day; never after today (a wrong end must not make the payments look up to date)."""
    fin = max(declared) if declared else (max(days) if days else None)
    if fin is not None and today is not None and fin > today:
        ignorees.append(f"fin du relevé annoncée au {fin:%d/%m/%Y}, après aujourd’hui : "
                        f"ramenée au {today:%d/%m/%Y}")
        fin = today
    return fin
