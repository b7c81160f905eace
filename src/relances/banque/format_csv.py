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
import io
import re
from decimal import Decimal, InvalidOperation

from ..cells import quote
from ..records import CENT, Anomalie, normalise
from .operations import Operation, OptionsReleve, Releve, hashed_key, rank_identical

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
    "sens": ("Sens", "Crédit/Débit", "Débit/Crédit", "Type de mouvement"),
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


def read_csv(data: bytes, fichier: str, options: OptionsReleve) -> Releve:
    # A label may exceed the csv module's field limit (128 Kio): allowed up to the file's size.
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(data) + 1))
    try:
        return _read_csv(data, fichier, options)
    finally:
        csv.field_size_limit(limit)


def _read_csv(data: bytes, fichier: str, options: OptionsReleve) -> Releve:
    text = decode(data, options.encodage)
    lines = text.splitlines()
    header_index, separateur, columns = _find_header(lines, options)
    # A quoted label may span several lines: each row keeps the line it starts on.
    reader = csv.reader(io.StringIO("\n".join(lines[header_index + 1:])), delimiter=separateur)
    first_line = header_index + 2  # 1-based line number of the first data line
    rows: list[list[str]] = []
    numbers: list[int] = []
    consumed = 0
    try:
        for row in reader:
            numbers.append(first_line + consumed)
            consumed = reader.line_num
            rows.append(row)
    except csv.Error as exc:
        raise CsvError(f"ligne {first_line + consumed} : CSV mal formé ({exc})") from None
    anomalies: list[Anomalie] = []

    def cell(row: list[str], name: str) -> str:
        position = columns.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""

    # Footer lines (« Solde au… », totals) come after the last dated line: set aside, said.
    dated = [i for i, row in enumerate(rows) if _looks_like_date(cell(row, "date"))]
    last_dated = dated[-1] if dated else -1
    ignorees = []
    footer = [r for r in rows[last_dated + 1:] if any(c.strip() for c in r)]
    if footer:
        ignorees.append(f"{len(footer)} ligne(s) après la dernière opération (totaux, soldes) : "
                        f"{quote(separateur.join(footer[0]), 40)}…")
    rows = rows[:last_dated + 1]
    date_format = options.format_date or _date_format([cell(r, "date") for r in rows])
    decimale = options.decimale or _decimal_mark(
        [cell(r, n) for r in rows for n in ("montant", "credit", "debit")])

    read: list[tuple[int, datetime.date, Decimal, list[str]]] = []
    debits = 0
    for number, row in zip(numbers, rows):
        if not any(c.strip() for c in row):
            continue
        where = f"ligne {number}"
        try:
            jour = _parse_date(cell(row, "date"), date_format)
            montant = _signed_amount(row, cell, decimale)
        except CsvError as exc:
            anomalies.append(Anomalie(fichier, number, f"{where} : {exc}"))
            continue
        if montant is None:
            anomalies.append(Anomalie(fichier, number, f"{where} : montant vide"))
            continue
        devise = cell(row, "devise")
        if devise and normalise(devise) not in ("eur", "euro", "euros", ""):
            ignorees.append(f"{where} : devise {devise}, non rapprochée")
            continue
        if montant <= 0:
            debits += 1
            continue
        read.append((number, jour, montant, row))

    ids = [cell(row, "id") for _, _, _, row in read]
    use_ids = "id" in columns and all(ids) and len(set(ids)) == len(ids)
    libelles = [_join(cell(row, n) for n in columns if n.startswith("libelle"))
                for _, _, _, row in read]
    ranks = rank_identical([(jour, montant, libelle) for (_, jour, montant, _), libelle
                            in zip(read, libelles)])
    operations = []
    for (number, jour, montant, row), libelle, rang, bank_id in zip(read, libelles, ranks, ids):
        compte = cell(row, "compte")
        cle = (f"{compte}:{bank_id}" if compte else bank_id) if use_ids else \
            hashed_key(compte, jour, montant, libelle, rang)
        operations.append(Operation(
            cle=cle, jour=jour, montant=montant, libelle=libelle,
            contrepartie=cell(row, "contrepartie"), reference=cell(row, "reference"),
            compte=compte, fichier=fichier, ligne=number))
    days = [o.jour for o in operations]
    # The statement covers up to its last line, debits included.
    all_days = []
    for row in rows:
        try:
            all_days.append(_parse_date(cell(row, "date"), date_format))
        except CsvError:
            pass
    fin = max(all_days or days) if (all_days or days) else None
    return Releve(fichier, "CSV", tuple(operations), fin, debits, tuple(ignorees),
                  tuple(anomalies))


def _find_header(lines: list[str], options: OptionsReleve) -> tuple[int, str, dict[str, int]]:
    """(index of the header line, or -1 for numbered columns; separator; field -> column)."""
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
        return start - 1, separateur, numbered
    by_header = {normalise(str(v)): k for k, v in wanted.items()}
    best: tuple[int, int, str, dict[str, int]] | None = None
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
                best = (score, index, separateur, found)
        if best is not None and options.entete is None and index > best[1]:
            break  # the first line that looks like a header wins over later ones
    if best is None:
        raise CsvError("en-tête introuvable : aucune ligne ne nomme une colonne de date et une "
                       "de montant (ou de crédit) parmi les 40 premières. Indiquez les colonnes "
                       "dans [banque.colonnes] de config.toml (voir le README, « Relevés "
                       "bancaires »)")
    return best[1], best[2], best[3]


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


def _date_format(values: list[str]) -> str:
    """The first format that reads every date of the file (day before month, always)."""
    values = [_date_part(v) for v in values if v.strip()]
    best, best_count = DATE_FORMATS[0], -1
    for candidate in DATE_FORMATS:
        count = 0
        for value in values:
            try:
                datetime.datetime.strptime(value, candidate)
                count += 1
            except ValueError:
                pass
        if count == len(values):
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


def _decimal_mark(values: list[str]) -> str:
    cleaned = [re.sub(r"[\s\u00a0\u202f€A-Za-z]", "", v) for v in values if v.strip()]
    if any(re.search(r",\d{1,2}-?$", v) for v in cleaned):
        return ","
    if any(re.search(r"\.\d{1,2}-?$", v) for v in cleaned):
        return "."
    return ","


def parse_amount(text: str, decimale: str) -> Decimal | None:
    """`1 234,56`, `+1.234,56 €`, `-45,00`, `(45,00)`, `45,00-` with the file's decimal mark."""
    raw = text
    text = re.sub(r"[\s\u00a0\u202f']|€|EUR|eur", "", text)
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
    thousands = "." if decimale == "," else ","
    text = text.replace(thousands, "").replace(decimale, ".")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        raise CsvError(f"montant illisible {quote(raw)}")
    try:
        amount = Decimal(text).quantize(CENT)
    except InvalidOperation:
        raise CsvError(f"montant illisible {quote(raw)}") from None
    if amount >= Decimal("1000000000000"):
        raise CsvError(f"montant hors limites {quote(raw)}")
    return -amount if negative else amount


def _signed_amount(row: list[str], cell, decimale: str) -> Decimal | None:
    """Positive for a credit, negative for a debit, None for an empty line."""
    credit = parse_amount(cell(row, "credit"), decimale)
    debit = parse_amount(cell(row, "debit"), decimale)
    if credit is not None or debit is not None:
        return abs(credit or Decimal(0)) - abs(debit or Decimal(0))
    montant = parse_amount(cell(row, "montant"), decimale)
    if montant is None:
        return None
    sens = normalise(cell(row, "sens"))
    if sens:
        if sens.startswith(("c", "crdt")) or sens == "+":
            return abs(montant)
        if sens.startswith(("d", "dbit")) or sens == "-":
            return -abs(montant)
        raise CsvError(f"sens illisible {quote(cell(row, 'sens'))} (attendu : crédit ou débit)")
    return montant


def _join(parts) -> str:
    """Label columns joined once each: banks often repeat the label in two columns."""
    kept: list[str] = []
    for part in parts:
        part = " ".join(part.split())
        if part and not any(part in k for k in kept):
            kept = [k for k in kept if k not in part] + [part]
    return " ".join(kept)
