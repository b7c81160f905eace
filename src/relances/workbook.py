"""Workbook stage: read the user's records (pandas + calamine), write back tool-owned cells (openpyxl).

This is the only module that touches the .xlsx file and the only one importing openpyxl.
Reading goes through pandas' calamine engine, which is many times faster than openpyxl; writing
reopens the file with openpyxl, changes only tool-owned cells and sheets, and replaces the file
atomically after keeping a backup. Rows are matched by invoice number, never by position, and the
file is fingerprinted so that edits saved while a run was going are never overwritten.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import tempfile
from collections import Counter
from copy import copy
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .cells import CellError, is_empty, read_date, read_montant, read_text, split_emails
from .errors import WorkbookError, WorkbookLocked
from .records import (
    STATUTS,
    Anomalie,
    Classeur,
    Client,
    Facture,
    Suivi,
    client_key,
    normalise,
)

FACTURES, CLIENTS, JOURNAL = "Factures", "Clients", "Journal"

# Field -> the header SPEC §3 gives it (written when the tool adds the column) and other
# spellings users commonly type. Matching is case-, accent-, space- and punctuation-insensitive.
FACTURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "client": ("Client", "Nom client", "Raison sociale"),
    "numero": ("N° facture", "No facture", "Numéro facture", "Numéro de facture", "N° de facture",
               "Num facture", "Facture", "Référence facture"),
    "date_facture": ("Date facture", "Date de facture", "Date d'émission", "Date émission"),
    "echeance": ("Échéance", "Date d'échéance", "Date échéance", "Date limite de paiement"),
    "montant": ("Montant TTC", "Montant", "Total TTC", "Montant facture"),
    "paye": ("Payé", "Montant payé", "Réglé", "Encaissé", "Déjà payé"),
    "reste_du": ("Reste dû", "Reste à payer", "Solde", "Restant dû"),
    "jours_retard": ("Jours de retard", "Retard", "Jours retard", "Retard (jours)"),
    "statut": ("Statut", "État"),
    "etape": ("Étape", "Étape de relance"),
    "relances_envoyees": ("Relances envoyées", "Nombre de relances", "Nb relances"),
    "derniere_relance": ("Dernière relance", "Date dernière relance"),
    "prochaine_action": ("Prochaine action",),
    "promesse": ("Promesse de paiement", "Promesse", "Date promise", "Paiement promis le"),
    "notes": ("Notes", "Note", "Commentaire", "Commentaires", "Remarques"),
    "email": ("Email", "E-mail", "Courriel", "Adresse e-mail", "Mail"),
    "fichier": ("Fichier facture", "PDF facture", "Fichier PDF"),
}
CLIENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "client": ("Client", "Nom", "Nom client", "Raison sociale"),
    "contact": ("Contact", "Interlocuteur", "Nom du contact"),
    "email": ("Email", "E-mail", "Courriel", "Adresse e-mail", "Mail"),
    "telephone": ("Téléphone", "Tél", "Tel", "Portable"),
    "adresse": ("Adresse", "Adresse postale"),
    "langue": ("Langue",),
    "type": ("Type", "Type de client"),
    "profil": ("Profil",),
    "pause": ("Pause jusqu'au", "Pause", "En pause jusqu'au"),
}
REQUIRED = ("client", "numero", "echeance", "montant")
TOOL_FIELDS = ("etape", "relances_envoyees", "derniere_relance", "prochaine_action")
JOURNAL_HEADERS = ("Date", "Client", "Factures", "Étape", "Canal", "Destinataire", "Fichier",
                   "Résultat")


def _index(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {normalise(header): name for name, headers in columns.items() for header in headers}


FIELD_BY_HEADER = _index(FACTURE_COLUMNS)
CLIENT_FIELD_BY_HEADER = _index(CLIENT_COLUMNS)

DATE_FORMAT = "DD/MM/YYYY"
EURO_FORMAT = '#,##0.00\\ "€";[Red]\\-#,##0.00\\ "€"'
BACKUPS_KEPT = 5


@dataclass(frozen=True)
class Lecture:
    """A read workbook: its records and the fingerprint of the bytes they came from."""

    classeur: Classeur
    empreinte: str


# ---------------------------------------------------------------- reading


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_not_open(path: Path) -> None:
    """Excel and LibreOffice leave a lock file beside a workbook they have open."""
    for lock in (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")):
        if lock.exists():
            raise WorkbookLocked(
                f"{path.name} : le classeur est ouvert dans Excel ou LibreOffice ({lock.name}). "
                "Fermez-le puis relancez ; s'il n'est ouvert nulle part, supprimez ce fichier."
            )


def read_classeur(path: Path, colonnes: dict[str, str] | None = None) -> Lecture:
    """Read sheets Factures and Clients into records; unreadable rows become anomalies."""
    import pandas as pd  # heavy import, paid only by the stage that needs it

    path = Path(path)
    if not path.exists():
        raise WorkbookError(
            f"{path} : classeur introuvable. Copiez relances.xlsx.example sous ce nom, "
            "ou indiquez le bon fichier avec --classeur ou la clé classeur de config.toml."
        )
    try:
        empreinte = fingerprint(path)
        book = pd.ExcelFile(path, engine="calamine")
        names = {normalise(name): name for name in book.sheet_names}
        factures_name = names.get(normalise(FACTURES))
        if factures_name is None:
            raise WorkbookError(
                f"{path.name} : feuille « {FACTURES} » introuvable "
                f"(feuilles présentes : {', '.join(book.sheet_names)})"
            )
        factures_rows = _sheet_rows(pd, book, factures_name)
        clients_name = names.get(normalise(CLIENTS))
        clients_rows = _sheet_rows(pd, book, clients_name) if clients_name else []
    except WorkbookError:
        raise
    except Exception as exc:  # calamine raises its own types for corrupt or foreign files
        raise WorkbookError(f"{path.name} : lecture impossible ({exc})") from None

    anomalies: list[Anomalie] = []
    clients = _read_clients(clients_name or CLIENTS, clients_rows, anomalies)
    factures = _read_factures(factures_name, factures_rows, colonnes or {}, anomalies, path.name)
    return Lecture(Classeur(tuple(factures), clients, tuple(anomalies)), empreinte)


def _sheet_rows(pd, book, name: str) -> list[list[object]]:
    frame = pd.read_excel(book, sheet_name=name, header=None, dtype=object)
    return frame.to_numpy(dtype=object).tolist()


def _find_header(rows: list[list[object]], fields: dict[str, str], colonnes: dict[str, str],
                 needed: Sequence[str]) -> tuple[int, dict[str, int]]:
    """The header is row 1; a title above it is tolerated within the first rows."""
    best: tuple[int, dict[str, int]] = (0, {})
    for index, row in enumerate(rows[:10]):
        found = match_headers(row, fields, colonnes)
        if all(name in found for name in needed):
            return index, found
        if len(found) > len(best[1]):
            best = (index, found)
    return best


def match_headers(headers: Iterable[object], fields: dict[str, str],
                  colonnes: dict[str, str] | None = None) -> dict[str, int]:
    """Field name -> column index (0-based), first match wins."""
    found: dict[str, int] = {}
    for position, header in enumerate(headers):
        if is_empty(header):
            continue
        key = normalise(str(header))
        name = (colonnes or {}).get(key) or fields.get(key)
        if name and name not in found:
            found[name] = position
    return found


def _cell(row: list[object], columns: dict[str, int], name: str) -> object:
    position = columns.get(name)
    if position is None or position >= len(row):
        return None
    return row[position]


def _read_clients(sheet: str, rows: list[list[object]], anomalies: list[Anomalie]) -> dict[str, Client]:
    if not rows:
        return {}
    header_index, columns = _find_header(rows, CLIENT_FIELD_BY_HEADER, {}, ("client",))
    if "client" not in columns:
        anomalies.append(Anomalie(sheet, header_index + 1,
                                  "colonne « Client » introuvable : feuille Clients ignorée"))
        return {}
    clients: dict[str, Client] = {}
    for index, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        nom = read_text(_cell(row, columns, "client"))
        if not nom:
            continue

        def problem(message: str) -> None:
            anomalies.append(Anomalie(sheet, index, f"{nom} : {message}"))

        langue = normalise(read_text(_cell(row, columns, "langue"))) or "fr"
        if langue not in ("fr", "en"):
            problem(f"Langue inconnue « {read_text(_cell(row, columns, 'langue'))} » "
                    "(fr ou en) : français utilisé")
            langue = "fr"
        type_ = normalise(read_text(_cell(row, columns, "type"))) or "professionnel"
        if type_ not in ("professionnel", "particulier"):
            problem(f"Type inconnu « {read_text(_cell(row, columns, 'type'))} » "
                    "(professionnel ou particulier) : professionnel retenu")
            type_ = "professionnel"
        profil_raw = read_text(_cell(row, columns, "profil"))
        profil = {"mauvaispayeur": "mauvais payeur", "strategique": "stratégique"}.get(
            normalise(profil_raw), "")
        if profil_raw and not profil:
            problem(f"Profil inconnu « {profil_raw} » (mauvais payeur ou stratégique) : ignoré")
        try:
            pause = read_date(_cell(row, columns, "pause"))
        except CellError as exc:
            # A pause we cannot read must not silently let the chase go on.
            problem(f"Pause jusqu'au : {exc} ; client traité comme en pause")
            pause = datetime.date.max
        key = client_key(nom)
        if key in clients:
            problem("client en double dans la feuille Clients : première ligne retenue")
            continue
        clients[key] = Client(
            nom=nom,
            contact=read_text(_cell(row, columns, "contact")),
            emails=split_emails(_cell(row, columns, "email")),
            telephone=read_text(_cell(row, columns, "telephone")),
            adresse=read_text(_cell(row, columns, "adresse")),
            langue=langue,
            type=type_,
            profil=profil,
            pause_jusqu_au=pause,
            row=index,
        )
    return clients


def _read_factures(sheet: str, rows: list[list[object]], colonnes: dict[str, str],
                   anomalies: list[Anomalie], filename: str) -> list[Facture]:
    header_index, columns = _find_header(rows, FIELD_BY_HEADER, colonnes, REQUIRED)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        labels = ", ".join(f"« {FACTURE_COLUMNS[name][0]} »" for name in missing)
        raise WorkbookError(
            f"{filename}:{sheet} : colonne(s) {labels} introuvable(s) en ligne {header_index + 1}. "
            "Renommez l'en-tête ou associez-le dans la section [colonnes] de config.toml."
        )
    factures: list[Facture] = []
    for index, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        numero = read_text(_cell(row, columns, "numero"))
        if not numero:
            continue  # blank row, or a totals row
        facture, problems = _read_facture(row, columns, numero, index)
        anomalies.extend(Anomalie(sheet, index, message) for message in problems)
        if facture is not None:
            factures.append(facture)
    counts = Counter(f.numero for f in factures)
    duplicates = {numero for numero, count in counts.items() if count > 1}
    for facture in factures:
        if facture.numero in duplicates:
            anomalies.append(Anomalie(sheet, facture.row, f"N° facture « {facture.numero} » en "
                                      "double : aucune de ces lignes n'est relancée"))
    return [f for f in factures if f.numero not in duplicates]


def _read_facture(row: list[object], columns: dict[str, int], numero: str,
                  index: int) -> tuple[Facture | None, list[str]]:
    problems: list[str] = []

    def field(name: str, label: str, reader: Callable[[object], object]) -> object:
        try:
            return reader(_cell(row, columns, name))
        except CellError as exc:
            problems.append(f"{label} : {exc} (facture {numero})")
            return None

    client = read_text(_cell(row, columns, "client"))
    echeance = field("echeance", "Échéance", read_date)
    montant = field("montant", "Montant TTC", read_montant)
    paye = field("paye", "Payé", read_montant)
    date_facture = field("date_facture", "Date facture", read_date)
    promesse = field("promesse", "Promesse de paiement", read_date)
    statut_raw = read_text(_cell(row, columns, "statut"))
    if not client:
        problems.append(f"Client vide (facture {numero})")
    if echeance is None and not any("Échéance" in p for p in problems):
        problems.append(f"Échéance vide (facture {numero})")
    if montant is None and not any("Montant TTC" in p for p in problems):
        problems.append(f"Montant TTC vide (facture {numero})")
    statut = normalise(statut_raw)
    if statut_raw and statut not in STATUTS:
        problems.append(f"Statut inconnu « {statut_raw} » (facture {numero}) : "
                        f"attendu vide ou {', '.join(STATUTS.values())}")
    if problems:
        return None, problems
    return Facture(
        numero=numero,
        client=client,
        echeance=echeance,
        montant=montant,
        paye=paye if paye is not None else Decimal("0.00"),
        date_facture=date_facture,
        statut=statut,
        promesse=promesse,
        emails=split_emails(_cell(row, columns, "email")),
        etape_classeur=read_text(_cell(row, columns, "etape")),
        fichier=read_text(_cell(row, columns, "fichier")),
        row=index,
    ), []


# ---------------------------------------------------------------- writing


@dataclass(frozen=True)
class Ecriture:
    """What a write-back changed, for the summary."""

    chemin: Path
    sauvegarde: Path | None
    lignes: int


def write_back(path: Path, empreinte: str, suivis: dict[str, Suivi],
               journal: Sequence[tuple], colonnes: dict[str, str] | None = None, sauvegardes: Path | None = None) -> Ecriture:
    """Write tool-owned cells and the Journal sheet, atomically, keeping a backup.

    `empreinte` is the fingerprint of the file the caller's records were read from. If the
    file on disk differs (the user saved while the run went on), raise `WorkbookChanged`:
    the caller re-reads and tries again, so the user's edit is kept and our cells are fresh.
    """
    import openpyxl

    path = Path(path)
    check_not_open(path)
    if fingerprint(path) != empreinte:
        raise WorkbookChanged(path)
    try:
        book = openpyxl.load_workbook(path, rich_text=True)
    except Exception as exc:
        raise WorkbookError(f"{path.name} : ouverture pour écriture impossible ({exc})") from None
    sheet = _sheet(book, FACTURES)
    if sheet is None:
        raise WorkbookError(f"{path.name} : feuille « {FACTURES} » introuvable à l'écriture")
    lignes = _write_factures(sheet, suivis, colonnes or {})
    _write_journal(book, journal)

    handle, temporary = tempfile.mkstemp(prefix=".relances-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        book.save(temporary)
        with open(temporary, "rb") as saved:
            os.fsync(saved.fileno())
        # Last look before replacing: a save by the user since we opened the file wins.
        if fingerprint(path) != empreinte:
            raise WorkbookChanged(path)
        backup = _backup(path, sauvegardes or path.parent / "sauvegardes")
        try:
            shutil.copymode(path, temporary)
            os.replace(temporary, path)
        except PermissionError:
            raise WorkbookLocked(f"{path.name} : écriture refusée, le classeur est sans doute "
                                 "ouvert dans Excel. Fermez-le : la prochaine exécution le "
                                 "mettra à jour depuis le journal.") from None
    finally:
        temporary.unlink(missing_ok=True)
    return Ecriture(path, backup, lignes)


class WorkbookChanged(WorkbookError):
    def __init__(self, path: Path):
        super().__init__(f"{path.name} : le classeur a été modifié pendant l'exécution")


def _sheet(book, name: str):
    for title in book.sheetnames:
        if normalise(title) == normalise(name):
            return book[title]
    return None


def _header_row(sheet, colonnes: dict[str, str]) -> tuple[int, dict[str, int]]:
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=1, max_row=10)]
    index, found = _find_header(rows, FIELD_BY_HEADER, colonnes, REQUIRED)
    return index + 1, {name: position + 1 for name, position in found.items()}


def _write_factures(sheet, suivis: dict[str, Suivi], colonnes: dict[str, str]) -> int:
    header_row, columns = _header_row(sheet, colonnes)
    last = max([sheet.max_column, *columns.values()])
    model = sheet.cell(header_row, max(columns.values()))
    for name in TOOL_FIELDS:
        if name not in columns:
            last += 1
            columns[name] = last
            cell = sheet.cell(header_row, last, FACTURE_COLUMNS[name][0])
            if model.has_style:
                cell._style = copy(model._style)
            width = {"prochaine_action": 34, "etape": 26}.get(name, 16)
            sheet.column_dimensions[cell.column_letter].width = width

    written = 0
    numero_col = columns["numero"]
    for row in sheet.iter_rows(min_row=header_row + 1):
        numero = read_text(row[numero_col - 1].value) if len(row) >= numero_col else ""
        suivi = suivis.get(numero)
        if suivi is None:
            continue
        written += 1
        cells = {name: sheet.cell(row[0].row, position) for name, position in columns.items()}
        _set(cells["etape"], suivi.etape or None)
        _set(cells["relances_envoyees"], suivi.relances_envoyees)
        _set(cells["derniere_relance"], suivi.derniere_relance, DATE_FORMAT)
        _set(cells["prochaine_action"], suivi.prochaine_action or None)
        # "Reste dû" and "Jours de retard" are the user's when they hold a formula.
        if "reste_du" in cells and not _is_formula(cells["reste_du"]):
            _set(cells["reste_du"], suivi.reste_du, EURO_FORMAT)
        if "jours_retard" in cells and not _is_formula(cells["jours_retard"]):
            _set(cells["jours_retard"], suivi.jours_retard)
    return written


def _is_formula(cell) -> bool:
    return cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("="))


def _set(cell, value: object, number_format: str | None = None) -> None:
    if cell.value != value:
        cell.value = value
    if number_format and value is not None and cell.number_format == "General":
        cell.number_format = number_format


def _write_journal(book, rows: Sequence[tuple]) -> None:
    """The Journal sheet is the tool's: rebuilt from the journal database on every write."""
    from openpyxl.styles import Alignment, Font, PatternFill

    old = _sheet(book, JOURNAL)
    widths = {}
    position = len(book.sheetnames)
    if old is not None:
        position = book.sheetnames.index(old.title)
        widths = {key: dim.width for key, dim in old.column_dimensions.items()}
        book.remove(old)
    sheet = book.create_sheet(JOURNAL, position)
    sheet.append(JOURNAL_HEADERS)
    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="305496")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center")
    default_widths = dict(zip("ABCDEFGH", (12, 28, 26, 20, 13, 30, 50, 40)))
    for letter, width in (widths or default_widths).items():
        sheet.column_dimensions[letter].width = width
    for row in rows:
        sheet.append(row)
    for (cell,) in sheet.iter_rows(min_row=2, max_col=1):
        cell.number_format = DATE_FORMAT
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = f"A1:H{len(rows) + 1}"


def _backup(path: Path, folder: Path) -> Path:
    """Copy the current workbook aside before replacing it; keep the newest few."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
    target = folder / f"{path.stem}-{stamp}{path.suffix}"
    shutil.copy2(path, target)
    backups = sorted(folder.glob(f"{path.stem}-*{path.suffix}"), key=lambda p: p.name)
    for old in backups[:-BACKUPS_KEPT]:
        old.unlink(missing_ok=True)
    return target
