"""CSV exports of French and Belgian banks.

No two banks export alike: `;` or `,` or tabs, a decimal comma or point, `cp1252` or UTF-8,
dates as 20/11/2026, 20.11.26 or 2026-11-20, the amount signed in one column or split into
Débit and Crédit, a few lines about the account before the header. Everything is detected
from the file; `[banque]` in config.toml imposes what detection gets wrong. Every line that
cannot be read is reported with its line number and value; the others are read.

The header is found by its names (`Date opération`, `Libellé`, `Montant`, `Crédit euros`,
`Communication structurée`…); a file without a header needs column numbers in
`[banque.colonnes]`.
"""

from __future__ import annotations

import csv
import datetime
import re
import unicodedata
from collections import Counter
from decimal import Decimal, InvalidOperation

from ..cells import quote
from ..records import CENT, Anomalie, normalise
from .operations import (Operation, OptionsReleve, Releve, after_end, capped,
                         fingerprints, hashed_key, rank_identical, says_reversal,
                         statement_end)

# Field -> headers, best first (compared with records.normalise: no case, accent or space).
CHAMPS: dict[str, tuple[str, ...]] = {
    "date": ("Date opération", "Date de l'opération", "Date d'opération", "Date operation",
             "Date de comptabilisation", "Date comptable", "Date", "Date d'exécution",
             "dateOp", "Operation date", "Operation date (UTC)", "Settlement date (UTC)",
             "Date de valeur", "Date valeur", "Booking date"),
    "montant": ("Montant", "Montant de l'opération", "Montant (EUR)", "Montant en euros",
                "Montant EUR", "Montant euros", "amount", "Total amount (incl. VAT)", "Amount"),
    "credit": ("Crédit", "Crédit euros", "Crédit (EUR)", "Crédits", "Montant crédit",
               "Credit", "Encaissement", "Recette"),
    "debit": ("Débit", "Débit euros", "Débit (EUR)", "Débits", "Montant débit", "Debit",
              "Décaissement", "Dépense"),
    "sens": ("Sens", "Crédit/Débit", "Débit/Crédit", "D/C", "C/D", "Type de mouvement",
             "Sens de l'opération", "Débit ou crédit"),
    # A « Type » column is the direction only when it holds nothing else (C, D, +, -…).
    "type": ("Type",),
    "libelle": ("Libellé", "Libellé opération", "Libellé de l'opération", "Libellé simplifié",
                "Libelle operation", "Libellés", "Description", "Détails", "Détail",
                "Détail de l'écriture", "Détails du mouvement", "Informations complémentaires",
                "Communication", "Communication libre", "Message", "label", "Motif",
                "Transaction", "Type de transaction", "Type opération"),
    "contrepartie": ("Nom de la contrepartie", "Nom contrepartie", "Contrepartie",
                     "Counterparty name", "Tiers", "Donneur d'ordre", "Émetteur"),
    "reference": ("Communication structurée", "Référence de paiement", "Référence", "Reference"),
    "id": ("Numéro de l'opération", "Numéro d'opération", "Numéro de séquence",
           "Référence de l'opération", "Identifiant", "Transaction ID", "ID"),
    "compte": ("Numéro de compte", "Compte", "IBAN"),
    "devise": ("Devise", "Devise du compte", "Monnaie", "Currency"),
}
_ALL_FIELDS = {normalise(header): name for name, headers in CHAMPS.items()
               for header in headers}
SEPARATEURS = (";", "\t", ",", "|")
DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y",
                "%d-%m-%y", "%Y/%m/%d", "%Y%m%d")
HEADER_WITHIN = 40  # lines about the account before the header


class CsvError(ValueError):
    """The file cannot be read as a bank CSV at all; the message is French."""


def decode(data: bytes, encodage: str = "") -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8, else Windows-1252: a
    cp1252 file with accents is almost never valid UTF-8."""
    if encodage:
        try:
            return data.decode(encodage)
        except (LookupError, UnicodeDecodeError) as exc:
            raise CsvError(f"illisible en {encodage} ({exc})") from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # « texte Unicode » exports: UTF-16
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CsvError(f"illisible en UTF-16 ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_csv(data: bytes, fichier: str, options: OptionsReleve,
             today: datetime.date | None = None) -> Releve:
    # A label may exceed the csv module's field limit (128 Kio): allowed up to the file's size.
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(data) + 1))
    try:
        return _read_csv(data, fichier, options, today)
    finally:
        csv.field_size_limit(limit)


def _read_csv(data: bytes, fichier: str, options: OptionsReleve,
              today: datetime.date | None) -> Releve:
    text = decode(data, options.encodage).replace("\r\n", "\n").replace("\r", "\n")
    head = _first_lines(text, max(HEADER_WITHIN, options.entete or 0) + 1)
    header_index, separateur, columns, names = _find_header([line for _, line in head],
                                                             options)
    start = head[header_index + 1][0] if header_index + 1 < len(head) else len(text)
    first_line = header_index + 2  # 1-based line number of the first data line

    def rows():
        """(line number, cells) of each data row, read as the file is walked: a quoted label
        may span several lines, each row keeps the line it starts on."""
        reader = csv.reader(_lines(text, start), delimiter=separateur)
        consumed = 0
        try:
            for row in reader:
                yield first_line + consumed, row
                consumed = reader.line_num
        except csv.Error as exc:
            raise CsvError(f"ligne {first_line + consumed} : CSV mal formé ({exc})") from None

    def cell(row: list[str], name: str) -> str:
        position = columns.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""

    def column(name: str) -> str:
        position = columns[name]
        if position < len(names) and names[position].strip():
            return f"colonne {quote(names[position], 40)}"
        return f"colonne {position + 1}"

    # First walk: what the whole file says (its date format, its decimal mark, where its
    # operations end), kept as counts, never as rows. Footer lines (« Solde au… », totals)
    # come after the last dated line: set aside, and said.
    survey, pending = _Survey(), _Survey()
    last_dated, footer, footer_first = -1, 0, None
    amounts = [columns[n] for n in ("montant", "credit", "debit") if n in columns]
    for index, (_, row) in enumerate(rows()):
        date = cell(row, "date")
        if _looks_like_date(date):
            if footer or pending.dates:
                survey.merge(pending)
                pending = _Survey()
            last_dated, footer, footer_first = index, 0, None
            target = survey
        else:
            target = pending
            if any(c.strip() for c in row):
                footer += 1
                footer_first = footer_first or row
        target.add(date, [row[i] for i in amounts if i < len(row)], cell(row, "type"))
    ignorees: list[str] = []
    if footer:
        ignorees.append(f"{footer} ligne(s) après la dernière opération (totaux, soldes) : "
                        f"{quote(separateur.join(footer_first), 40)}…")
    date_format = options.format_date or _date_format(survey.dates)
    decimale = options.decimale or decimal_mark(survey.marks)
    sens = "sens" if "sens" in columns else None
    if sens is None and "type" in columns and survey.types and all(
            _sign(v) for v in survey.types):
        sens = "type"  # a « Type » column holding only C/D or +/-

    anomalies: list[Anomalie] = []
    days: list[datetime.date] = []
    dates: dict[str, datetime.date | str] = {}
    read: list[tuple] = []
    debits = 0
    labels = [n for n in columns if n.startswith("libelle")]
    for index, (number, row) in enumerate(rows()):
        if index > last_dated:
            break
        if not any(c.strip() for c in row):
            continue
        where = f"ligne {number}"
        date = cell(row, "date")
        jour = dates.get(date)
        if jour is None:
            try:
                jour = _parse_date(date, date_format)
            except CsvError as exc:
                jour = str(exc)
            dates[date] = jour
        if isinstance(jour, str):
            place = f"{where}, {column('date')}" if date.strip() else where
            anomalies.append(Anomalie(fichier, number, f"{place} : {jour}"))
            continue
        late = after_end(jour, None, today)
        if late:
            anomalies.append(Anomalie(fichier, number, f"{where} : {late}"))
            continue
        days.append(jour)
        try:
            montant = _signed_amount(row, cell, column, decimale, sens)
        except CsvError as exc:
            anomalies.append(Anomalie(fichier, number, f"{where}, {exc}"))
            continue
        if montant is None:
            anomalies.append(Anomalie(fichier, number, f"{where} : montant vide"))
            continue
        devise = cell(row, "devise")
        if devise and normalise(devise) not in ("eur", "euro", "euros", ""):
            ignorees.append(f"{where} : devise {devise}, non rapprochée")
            continue
        libelle = _join(cell(row, n) for n in labels)
        annulation = montant <= 0 and says_reversal(libelle)
        if montant <= 0 and not annulation:
            debits += 1
            continue
        read.append((number, jour, abs(montant), annulation,
                     capped(libelle, where, "libellé", fichier, number, anomalies),
                     capped(cell(row, "contrepartie"), where, "contrepartie", fichier, number,
                            anomalies),
                     capped(cell(row, "reference"), where, "référence", fichier, number,
                            anomalies),
                     cell(row, "compte")[:100], cell(row, "id")[:100]))
    operations = _operations(read, fichier, "id" in columns)
    fin = statement_end([], days, today, ignorees)
    return Releve(fichier, "CSV", operations, fin, debits, tuple(ignorees), tuple(anomalies))


def _operations(read: list[tuple], fichier: str, has_ids: bool) -> tuple[Operation, ...]:
    """The credits and reversals read, keyed: `cle` exactly as it always was for credits (the
    journal dedupes on it), reversals keyed among themselves the same way."""
    keys: dict[int, str] = {}
    for annulation in (False, True):
        group = [r for r in read if r[3] is annulation]
        ids = [r[8] for r in group]
        use_ids = has_ids and all(ids) and len(set(ids)) == len(ids)
        ranks = rank_identical([(r[1], r[2], r[4]) for r in group])
        for r, rang in zip(group, ranks):
            compte, bank_id = r[7], r[8]
            keys[r[0]] = ((f"{compte}:{bank_id}" if compte else bank_id) if use_ids
                          else hashed_key(compte, r[1], r[2], r[4], rang))
    empreintes = fingerprints([(r[1], -r[2] if r[3] else r[2], r[4]) for r in read])
    return tuple(Operation(
        cle=keys[number], jour=jour, montant=montant, libelle=libelle,
        contrepartie=contrepartie, reference=reference, compte=compte,
        fichier=fichier, ligne=number, id_banque=bank_id, empreinte=empreinte,
        annulation=annulation, annule=reference if annulation else "")
        for (number, jour, montant, annulation, libelle, contrepartie, reference, compte,
             bank_id), empreinte in zip(read, empreintes))


class _Survey:
    """What a first walk through the file keeps: each date written (with its count), the
    decimal mark each amount votes for, the values of a « Type » column."""

    def __init__(self) -> None:
        self.dates: Counter[str] = Counter()
        self.marks: Counter[str] = Counter()
        self.types: set[str] = set()

    def add(self, date: str, amounts: list[str], type_: str) -> None:
        if date.strip():
            self.dates[_date_part(date)] += 1
        for amount in amounts:
            mark = amount_mark(amount)
            if mark:
                self.marks[mark] += 1
        if type_ and len(self.types) < 20:
            self.types.add(type_)

    def merge(self, other: "_Survey") -> None:
        self.dates.update(other.dates)
        self.marks.update(other.marks)
        if len(self.types) < 20:
            self.types |= other.types


def _first_lines(text: str, count: int) -> list[tuple[int, str]]:
    """(offset, line) of the first `count` lines, without splitting the whole text."""
    found, start = [], 0
    while start < len(text) and len(found) < count:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        found.append((start, text[start:end]))
        start = end + 1
    return found


def _lines(text: str, start: int):
    """The lines of `text` from `start`, newline kept, one at a time."""
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _find_header(lines: list[str], options: OptionsReleve
                 ) -> tuple[int, str, dict[str, int], list[str]]:
    """(index of the header line, or -1 for numbered columns; separator; field -> column;
    the header's cells, to name columns in messages)."""
    wanted = {name: value for name, value in options.colonnes.items()}
    numbered = {name: int(value) - 1 for name, value in wanted.items()
                if str(value).strip().isdigit()}
    separateurs = (options.separateur,) if options.separateur else SEPARATEURS
    if numbered and len(numbered) == len(wanted):
        if "date" not in numbered or not ({"montant", "credit"} & set(numbered)):
            raise CsvError("[banque.colonnes] : donnez au moins les numéros des colonnes date "
                           "et montant (ou crédit)")
        separateur = options.separateur or _most_common_separator(lines)
        start = (options.entete or 0)
        return start - 1, separateur, numbered, []
    by_header = {normalise(str(v)): k for k, v in wanted.items()}
    best: tuple[int, int, str, dict[str, int], list[str]] | None = None
    candidates = ([options.entete - 1] if options.entete else range(min(len(lines),
                                                                         HEADER_WITHIN)))
    for index in candidates:
        if not 0 <= index < len(lines):
            continue
        for separateur in separateurs:
            try:
                cells = next(csv.reader([lines[index]], delimiter=separateur), [])
            except csv.Error:
                continue  # not this separator (a field beyond the csv module's limit)
            if len(cells) < 2:
                continue
            found = _map_header(cells, by_header)
            if "date" not in found or not ({"montant", "credit"} & set(found)):
                continue
            score = len(found)
            if best is None or score > best[0]:
                best = (score, index, separateur, found, cells)
        if best is not None and options.entete is None and index > best[1]:
            break  # the first line that looks like a header wins over later ones
    if best is None:
        raise CsvError("en-tête introuvable : aucune ligne ne nomme une colonne de date et une "
                       "de montant (ou de crédit) parmi les 40 premières. Indiquez les colonnes "
                       "dans [banque.colonnes] de config.toml (voir le README, « Relevés "
                       "bancaires »)")
    return best[1], best[2], best[3], best[4]


def _map_header(cells: list[str], by_header: dict[str, str]) -> dict[str, int]:
    """Field -> column for one candidate header line; several label columns are all kept,
    named libelle, libelle1, libelle2… in file order."""
    found: dict[str, int] = {}
    rank: dict[str, int] = {}
    labels = 0
    for position, raw in enumerate(cells):
        key = normalise(raw)
        name = by_header.get(key) or _ALL_FIELDS.get(key)
        if name is None:
            continue
        if name == "libelle":
            found["libelle" if labels == 0 else f"libelle{labels}"] = position
            labels += 1
            continue
        if key in by_header:
            preference = -1  # what config.toml names wins
        else:
            preference = next(i for i, h in enumerate(CHAMPS[name]) if normalise(h) == key)
        if name not in found or preference < rank[name]:
            found[name], rank[name] = position, preference
    return found


def _most_common_separator(lines: list[str]) -> str:
    sample = lines[:50]
    return max(SEPARATEURS, key=lambda s: sum(line.count(s) for line in sample))


_DATE_LIKE = re.compile(r"^\s*(\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|\d{8})([ T].*)?$")


def _looks_like_date(text: str) -> bool:
    return bool(_DATE_LIKE.match(text))


def _date_part(text: str) -> str:
    return re.split(r"[ T]", text.strip(), maxsplit=1)[0]


def _date_format(values: Counter) -> str:
    """The first format that reads every date of the file (day before month, always);
    `values` counts each date as written, so each is tried once."""
    total = sum(values.values())
    best, best_count = DATE_FORMATS[0], -1
    for candidate in DATE_FORMATS:
        count = 0
        for value, times in values.items():
            try:
                datetime.datetime.strptime(value, candidate)
                count += times
            except ValueError:
                pass
        if count == total:
            return candidate
        if count > best_count:
            best, best_count = candidate, count
    return best


def _parse_date(text: str, date_format: str) -> datetime.date:
    if not text.strip():
        raise CsvError("date vide")
    try:
        day = datetime.datetime.strptime(_date_part(text), date_format).date()
    except ValueError:
        raise CsvError(f"date illisible {quote(text)}") from None
    if not 1990 <= day.year <= 2200:
        raise CsvError(f"date hors limites {quote(text)}")
    return day


_NOT_AMOUNT = re.compile(r"[^\d,.]")
_SPACES = re.compile(r"[\s\u00a0\u202f']|€|EUR|eur")
_GROUPED = {",": re.compile(r"\d{1,3}(\.\d{3})+(,\d{1,2})?"),
            ".": re.compile(r"\d{1,3}(,\d{3})+(\.\d{1,2})?")}
_PLAIN = re.compile(r"\d+(\.\d{1,2})?")


def amount_mark(text: str) -> str:
    """The decimal mark one amount shows ('' when it shows none for sure): the last of a
    comma and a point both present; a single mark followed by one or two digits. `1,234` or
    `1.234` could be either, and votes for nothing."""
    if not text:
        return ""
    text = _NOT_AMOUNT.sub("", text)
    comma, point = text.rfind(","), text.rfind(".")
    if comma >= 0 and point >= 0:
        return "," if comma > point else "."
    last = max(comma, point)
    if last >= 0 and text.count(text[last]) == 1 and 1 <= len(text) - last - 1 <= 2:
        return text[last]
    return ""


def decimal_mark(votes: Counter) -> str:
    """The file's decimal mark: the one most of its amounts show, the comma when none does."""
    return "." if votes["."] > votes[","] else ","


def parse_amount(text: str, decimale: str) -> Decimal | None:
    """`1 234,56`, `+1.234,56 €`, `-45,00`, `(45,00)`, `45,00-` with the file's decimal mark.
    An amount that fits another mark (`2.50` in a decimal-comma file) or either (`1.234`) is
    refused, never read as 250 or 1234."""
    raw = text
    text = _SPACES.sub("", text)
    if not text:
        return None
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = True, text[:-1]
    if text[:1] in "-\u2212":
        negative, text = not negative, text[1:]
    elif text[:1] == "+":
        text = text[1:]
    grouping = "." if decimale == "," else ","
    if re.fullmatch(r"\d+[.,]\d{3}", text) or (
            grouping in text and re.fullmatch(r"[\d.,]+", text)
            and not _GROUPED[decimale].fullmatch(text)):
        mark = "une virgule" if decimale == "," else "un point"
        raise CsvError(f"montant {quote(raw)} ambigu : ce relevé écrit les décimales avec "
                       f"{mark} ; ligne non importée")
    text = text.replace(grouping, "").replace(decimale, ".")
    if not _PLAIN.fullmatch(text):
        raise CsvError(f"montant illisible {quote(raw)}")
    try:
        amount = Decimal(text).quantize(CENT)
    except InvalidOperation:
        raise CsvError(f"montant illisible {quote(raw)}") from None
    if amount >= Decimal("1000000000000"):
        raise CsvError(f"montant hors limites {quote(raw)}")
    return -amount if negative else amount


_CREDIT = {"+", "c", "cr", "cdt", "crdt", "credit", "credits"}
_DEBIT = {"-", "\u2212", "d", "db", "dr", "dbt", "dbit", "debit", "debits"}


def _sign(value: str) -> int:
    """+1 for a credit, -1 for a debit as a Sens column writes it, 0 when unreadable."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(c for c in text if not unicodedata.combining(c) and not c.isspace())
    text = text.casefold().rstrip(".")
    return 1 if text in _CREDIT else -1 if text in _DEBIT else 0


def _signed_amount(row: list[str], cell, column, decimale: str,
                   sens: str | None) -> Decimal | None:
    """Positive for a credit, negative for a debit, None for an empty line. A CsvError's
    message starts with the column."""

    def amount(name: str) -> Decimal | None:
        try:
            return parse_amount(cell(row, name), decimale)
        except CsvError as exc:
            raise CsvError(f"{column(name)} : {exc}") from None

    credit, debit = amount("credit"), amount("debit")
    if credit is not None or debit is not None:
        return abs(credit or Decimal(0)) - abs(debit or Decimal(0))
    montant = amount("montant")
    if montant is None or sens is None:
        return montant
    written = cell(row, "montant")
    signed = bool(re.match(r"^\s*[-+\u2212(]|.*-\s*$", written))
    value = cell(row, sens)
    sign = _sign(value)
    if not sign:
        if value:
            raise CsvError(f"{column(sens)} : sens illisible {quote(value)} (attendu : crédit "
                           "ou débit, C ou D, + ou -) ; ligne non importée")
        if signed:
            return montant
        raise CsvError(f"{column(sens)} : sens vide pour le montant {quote(written)} : "
                       "crédit ou débit ? Ligne non importée")
    if signed and montant and (montant > 0) != (sign > 0):
        raise CsvError(f"{column(sens)} : le sens {quote(value)} contredit le montant "
                       f"{quote(written)} ; ligne non importée")
    return abs(montant) * sign


def _join(parts) -> str:
    """Label columns joined once each: banks often repeat the label in two columns."""
    kept: list[str] = []
    for part in parts:
        part = " ".join(part.split())
        if part and not any(part in k for k in kept):
            kept = [k for k in kept if k not in part] + [part]
    return " ".join(kept)
