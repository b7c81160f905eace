"""Write-back stage: the tool's cells and sheets patched into the user's package, atomically.

Only the tool-owned cells of Factures (Étape, Relances envoyées, Dernière relance, Prochaine
action, and Reste dû / Jours de retard where they are not formulas), the Journal sheet and the
identifier in the custom properties change. Every other part is copied as it was. The result is
checked (relationships, content types, well-formed XML, cell count) before it replaces the file;
a check that fails refuses the save, and the journal keeps what the next run needs.

A run that would change nothing does not touch the file at all.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import WorkbookError, WorkbookLocked
from ..pannes import cause, is_fault
from ..cells import quote
from ..records import RESULTATS_ECHANGE, Anomalie, Suivi, normalise
from .colonnes import (BACKUPS_KEPT, DATE_FORMAT, EURO_FORMAT, FACTURE_COLUMNS, FACTURES,
                       FIELD_BY_HEADER, JOURNAL, REQUIRED, TOOL_FIELDS, find_header,
                       A_APPELER, A_VERIFIER, DECISION_HEADER, ECHANGES, ECHEANCIERS,
                       OPERATION_HEADER, PAIEMENTS)
from .package import (MAIN_NS, REL_NS, SHARED_STRINGS_REL, STYLES_CT, STYLES_REL, WORKSHEET_CT,
                      WORKSHEET_REL, Package, WorkbookChanged, check_not_open, file_state,
                      fingerprint, rels_name, xml_attr, xml_text)
from .ajout import Ajout, append_rows, rows_of
from .proprietes import write_identifiant
from .sheet import (Colonne, SheetPatch, build_sheet, column_letter, count_cells,
                    build_user_sheet, count_cells_in, hyperlink_rels, read_shared_strings,
                    read_widths)
from .styles import Styles
from .tableau import write_dashboard
from ..rapports.feuille import TABLEAU_DE_BORD

# The tool sheets' widths hold a landscape A4 page at 85 % or more (impression.print_scale):
# long text wraps in its column rather than widening it, and the row grows. A file path breaks
# only after its hyphens: Fichier holds « sortie/2026-11-22/courriers/00011- » on one line.
JOURNAL_COLONNES = (
    Colonne("N°", 5), Colonne("Date", 16, "DD/MM/YYYY HH:MM"), Colonne("Client", 16),
    Colonne("Factures", 12), Colonne("Étape", 14), Colonne("Canal", 12),
    Colonne("Destinataire", 18), Colonne("Montant", 12, EURO_FORMAT), Colonne("Fichier", 32),
    Colonne("Résultat", 15),
)
A_APPELER_COLONNES = (
    Colonne("Priorité", 7), Colonne("Client", 13), Colonne("Contact", 11),
    Colonne("Téléphone", 13), Colonne("Montant dû", 12, EURO_FORMAT), Colonne("Factures", 10),
    Colonne("Plus ancienne échéance", 10, DATE_FORMAT), Colonne("Jours de retard", 7),
    Colonne("À appeler depuis", 10, DATE_FORMAT), Colonne("Motif", 14),
    Colonne("Dernières actions", 13), Colonne("Promesses", 10), Colonne("Litiges", 10),
    Colonne("À demander", 19),
)
ECHANGES_COLONNES = (
    Colonne("Date", 12, DATE_FORMAT), Colonne("Client", 26), Colonne("Factures", 20),
    Colonne("Interlocuteur", 18), Colonne("Fonction", 16), Colonne("Coordonnées", 24),
    Colonne("Canal", 12), Colonne("Ce qui a été dit", 50),
    Colonne("Promesse de paiement", 13, DATE_FORMAT), Colonne("Montant promis", 14, EURO_FORMAT),
    Colonne("Résultat", 16), Colonne("Rappeler le", 13, DATE_FORMAT),
)
ECHEANCIERS_COLONNES = (
    Colonne("N° facture", 16), Colonne("Date", 12, DATE_FORMAT),
    Colonne("Montant", 14, EURO_FORMAT),
)
PAIEMENTS_COLONNES = (
    Colonne("Date", 12, DATE_FORMAT), Colonne("Montant", 14, EURO_FORMAT),
    Colonne("Client", 26), Colonne("Factures", 22), Colonne("Libellé", 40),
    Colonne("Source", 14), Colonne("Référence", 24),
)
PAIEMENT_FIELDS = ("date", "montant", "client", "factures", "libelle", "source", "reference")
# The decision to take sits next to what it is about: the line and its candidate invoices.
A_VERIFIER_COLONNES = (
    Colonne(OPERATION_HEADER, 12), Colonne("Date", 10, DATE_FORMAT),
    Colonne("Montant", 12, EURO_FORMAT), Colonne("Libellé", 20),
    Colonne("Factures possibles", 22),
    Colonne(f"{DECISION_HEADER} (n° de facture, ou « ignorer »)", 18),
    Colonne("Pourquoi", 22), Colonne("Payeur", 13), Colonne("Référence", 13),
    Colonne("Fichier", 12),
)
# The widths the tool sheets had before they were made to print (one tuple a sheet, in column
# order): a column still this wide was sized by the tool, not by the user, and gets its new
# width; any other width is the user's and is kept.
FORMER_WIDTHS = {
    JOURNAL: (7, 16, 28, 26, 20, 13, 30, 14, 50, 40),
    A_APPELER: (9, 26, 18, 16, 14, 24, 13, 10, 13, 34, 44, 24, 18, 60),
    A_VERIFIER: (18, 11, 12, 36, 40, 32, 40, 20, 16, 18),
}
# Factures' tool columns, when the tool adds them: wide enough for their usual content
# (« Promesse non tenue (22/11/2026) », « Mise en demeure le 30/11/2026 ») and their header.
NEW_COLUMN_WIDTHS = {"etape": 30, "relances_envoyees": 17, "derniere_relance": 16,
                     "prochaine_action": 45, "date_prochaine_action": 21}


@dataclass(frozen=True)
class Ecriture:
    """What a write-back did, for the summary."""

    chemin: Path
    sauvegarde: Path | None
    lignes: int  # invoice rows whose tool cells changed
    ecrit: bool = True  # False: nothing had changed, the file was left untouched
    formules: tuple[str, ...] = field(default=())  # tool cells left alone: they hold formulas
    # Factures rows left alone: their N° facture cell did not read as the invoice it holds.
    ignorees: tuple[Anomalie, ...] = field(default=())
    paiements: int = 0  # rows appended to sheet Paiements
    empreinte: str = ""  # the fingerprint of the workbook as this write left it
    ajoutes: dict[str, int] = field(default_factory=dict)  # sheet -> rows appended (ajouts)
    # sheet -> its totals row, when rows were appended below it (outside its sums)
    totaux: dict[str, int] = field(default_factory=dict)


def write_back(path: Path, empreinte: str, suivis: dict[int, tuple[str, Suivi]],
               journal: Sequence[tuple], colonnes: dict[str, str] | None = None,
               sauvegardes: Path | None = None, identifiant: str | None = None,
               a_appeler: Sequence[tuple] | None = None, paiements: Sequence[tuple] = (),
               a_verifier: Sequence[tuple] = (), tableau=None,
               factures_a_jour: bool = False,
               feuilles: Sequence[tuple[str, str | None]] = (),
               ajouts: Sequence[Ajout] = ()) -> Ecriture:
    """Patch tool-owned cells and sheets (Journal, À appeler, À vérifier) into the workbook,
    atomically; add the user's sheets Échanges, Échéanciers and Paiements, with their headers,
    when they are missing; append `paiements` (imported bank lines, in PAIEMENTS_COLONNES'
    order) below the last row of Paiements.

    Sheet À vérifier is written when it has rows, or when it exists (then emptied);
    `tableau` (a rapports.feuille.Feuille) is the dashboard sheet, with its charts.
    `feuilles`: user sheets the reader found under another name ((user sheet, its name), or
    None when several sheets could be it): none of them is created, payments go to the one
    found.
    `ajouts`: rows appended to user sheets (Échanges, Factures, Clients…, see `ajout`); how
    many went in, per sheet, is in `Ecriture.ajoutes` (0: the sheet could not take them).
    `factures_a_jour`: the caller knows Factures' tool cells already hold `suivis` (the file is
    the one its last write left, and the cells to write are the same): that sheet is not
    patched again.

    `suivis` maps a Factures row number to (invoice number, its tool cells). `empreinte` is the
    fingerprint of the file the caller's records were read from: if the file on disk differs
    (the user saved meanwhile), `WorkbookChanged` is raised and the caller re-reads and tries
    again, so the user's edit is kept.
    """
    path = Path(path)
    check_not_open(path)
    if fingerprint(path) != empreinte:
        raise WorkbookChanged(path)
    package = Package.open(path)
    where = path.name
    # A reference already broken in the user's file is theirs; we refuse only what we break.
    found_broken = set(package.check())
    sheet = package.sheet(FACTURES, normalise)
    if sheet is None:
        raise WorkbookError(f"{where} : feuille « {FACTURES} » introuvable à l’écriture")
    styles_part = package.part_of_type(package.workbook_part, STYLES_REL)
    styles = Styles(package.parts.get(styles_part) if styles_part else None,
                    f"{where}:{styles_part or 'styles'}")
    shared_part = package.part_of_type(package.workbook_part, SHARED_STRINGS_REL)
    shared = read_shared_strings(package.parts.get(shared_part) if shared_part else None)
    date1904 = _date1904(package.parts[package.workbook_part])

    # The patched sheet goes to a temporary file, not to memory: the old and the new sheet of
    # a 50,000-row workbook would otherwise be held at once. Deleted when closed.
    try:
        body = tempfile.TemporaryFile(prefix=".relances-", dir=path.parent)
    except OSError as exc:
        raise WorkbookError(_not_saved(path, exc)) from None
    appended = False
    ajoutes: dict[str, int] = {}
    totaux: dict[str, int] = {}
    try:
        # New invoices go in before the tool's cells are patched: Factures is written once.
        for ajout in (a for a in ajouts if a.feuille == FACTURES and a.lignes):
            ajoutes[FACTURES] = len(ajout.lignes) if append_rows(
                package, shared_part, styles, date1904, ajout, where, sheet.name,
                colonnes, totaux) else 0
        if factures_a_jour:
            head, lignes, formules, ignorees = None, 0, (), ()
        else:
            head, lignes, formules, ignorees = _patch_sheet(package, sheet, shared, styles, date1904,
                                                  suivis, colonnes or {}, body, where)
        del shared
        if head is not None:
            package.spool(sheet.part, head, body)
        _write_tool_sheet(package, styles, JOURNAL, JOURNAL_COLONNES, journal, date1904)
        if a_appeler is not None:
            _write_tool_sheet(package, styles, A_APPELER, A_APPELER_COLONNES, a_appeler,
                              date1904)
            _ensure_user_sheets(package, styles, dict(feuilles))
        if a_verifier or package.sheet(A_VERIFIER, normalise) is not None:
            _write_tool_sheet(package, styles, A_VERIFIER, A_VERIFIER_COLONNES, a_verifier,
                              date1904)
        if tableau is not None:
            write_dashboard(package, styles, TABLEAU_DE_BORD, tableau, date1904,
                            _add_sheet_entry)
        if paiements:
            _ensure_user_sheets(package, styles, dict(feuilles))
            appended = append_rows(package, shared_part, styles, date1904,
                                   Ajout(PAIEMENTS, rows_of(PAIEMENT_FIELDS, paiements)),
                                   where, dict(feuilles).get(PAIEMENTS, PAIEMENTS))
        for ajout in (a for a in ajouts if a.feuille != FACTURES and a.lignes):
            _ensure_user_sheets(package, styles, dict(feuilles))
            ajoutes[ajout.feuille] = len(ajout.lignes) if append_rows(
                package, shared_part, styles, date1904, ajout, where,
                dict(feuilles).get(ajout.feuille, ajout.feuille), totaux=totaux) else 0
        if identifiant:
            write_identifiant(package, identifiant)
        if styles.changed:
            if styles_part is None:
                styles_part = "xl/styles.xml"
                package.add_override(styles_part, STYLES_CT)
                package.add_relationship(package.workbook_part, STYLES_REL, styles_part)
            package.replace(styles_part, styles.bytes())
        if not package.changed:
            return Ecriture(path, None, 0, ecrit=False, formules=formules, ignorees=ignorees,
                            empreinte=empreinte)
        if head is not None:
            _ask_recalculation(package)
        problems = [p for p in package.check() if p not in found_broken]
        if problems:
            raise WorkbookError(f"{where} : écriture refusée, le résultat serait abîmé "
                                f"({'; '.join(problems[:3])}) ; classeur laissé tel quel, le "
                                "journal garde tout")
        backup, written = _save(package, path, empreinte,
                                sauvegardes or path.parent / "sauvegardes")
        return Ecriture(path, backup, lignes, formules=formules, ignorees=ignorees,
                        paiements=len(paiements) if appended else 0, empreinte=written,
                        ajoutes=ajoutes, totaux=totaux)
    except OSError as exc:
        if not is_fault(exc):
            raise
        raise WorkbookError(_not_saved(path, exc)) from None  # the sheet's temporary file
    finally:
        try:
            body.close()
        except OSError:
            pass  # a full disk again: the file was never more than temporary


def _patch_sheet(package: Package, sheet, shared, styles: Styles, date1904: bool,
                 suivis: dict[int, tuple[str, Suivi]], colonnes: dict[str, str], body,
                 where: str) -> tuple[bytes | None, int, tuple[str, ...], tuple[Anomalie, ...]]:
    """Patch Factures into `body`: (new head or None if unchanged, rows changed, tool cells
    left alone because they hold formulas, rows left alone because their invoice number cell
    did not read as the invoice). The old sheet's bytes are let go on return."""
    data = package.parts[sheet.part]
    cells_before = count_cells(data)
    patch = SheetPatch(data, shared, styles, date1904, f"{where}:{sheet.name}")
    header_row, tool_columns, rows = _patch_factures(patch, suivis, colonnes, where, sheet.name)
    head = patch.write_body(body, rows)
    if head is not None:
        expected = cells_before + patch.cells_added - patch.tags_removed
        if count_cells_in(head, body, patch.prefix) != expected:
            raise WorkbookError(f"{where}:{sheet.name} : écriture refusée, le nombre de cellules "
                                "ne correspond pas à ce qui devait changer ; classeur laissé tel "
                                "quel, le journal garde tout")
    formules = tuple(f"{column_letter(c)}{r}" for r, c in patch.formula_refused
                     if c in tool_columns)
    numeros = {row: numero for row, (numero, _) in suivis.items()}
    ignorees = tuple(Anomalie(sheet.name, row, (
        f"{column_letter(column)}{row} : N° facture "
        f"{'vide' if value is None else quote(value)}, lu {quote(numeros.get(row, ''))} : "
        "cellules de l’outil de cette ligne non mises à jour (le journal garde tout) ; "
        "saisissez ce numéro comme du texte")) for row, column, value in patch.unmatched)
    return head, len(patch.rows_changed - {header_row}), formules, ignorees


def _patch_factures(patch: SheetPatch, suivis: dict[int, tuple[str, Suivi]],
                    colonnes: dict[str, str], where: str, sheet: str):
    """Wish the header its new columns; (header row, tool columns, the invoice rows' wishes
    as a stream, made one row at a time while the sheet is patched)."""
    rows = patch.values(1, 10)
    header_index, found = find_header(rows, FIELD_BY_HEADER, colonnes, REQUIRED)
    header_row = header_index + 1
    columns = {name: position + 1 for name, position in found.items()}
    if "numero" not in columns:
        raise WorkbookError(f"{where}:{sheet} : colonne « N° facture » introuvable à l’écriture")
    header_cells = {c.column: c for c in patch.cells(header_row)}
    last = max([patch.last_column(), *columns.values(), *header_cells])
    model = header_cells.get(max(found.values()) + 1) if found else None
    for name in TOOL_FIELDS:
        if name not in columns:
            last += 1
            columns[name] = last
            patch.set(header_row, last, FACTURE_COLUMNS[name][0],
                      style=model.style if model is not None and model.style else None)
            patch.width(last, NEW_COLUMN_WIDTHS.get(name, 16))

    numero_col = columns["numero"]

    # What each tool cell gets from a Suivi. "Reste dû" and "Jours de retard" are the user's
    # when they hold a formula: the patcher never overwrites a formula.
    makers = {
        "etape": lambda suivi: (suivi.etape or None, None, None),
        "relances_envoyees": lambda suivi: (suivi.relances_envoyees, None, None),
        "derniere_relance": lambda suivi: (suivi.derniere_relance, DATE_FORMAT, None),
        "prochaine_action": lambda suivi: (suivi.prochaine_action or None, None, None),
        "date_prochaine_action": lambda suivi: (suivi.date_prochaine_action, DATE_FORMAT, None),
        "reste_du": lambda suivi: (suivi.reste_du, EURO_FORMAT, None),
        "jours_retard": lambda suivi: (suivi.jours_retard, None, None),
    }
    order = sorted((columns[name], make) for name, make in makers.items() if name in columns)

    def stream():
        for row, (numero, suivi) in sorted(suivis.items()):
            yield row, {column: make(suivi) for column, make in order}, (numero_col, numero)

    return header_row, {columns[name] for name in TOOL_FIELDS}, stream()


def _date1904(workbook: bytes) -> bool:
    found = re.search(rb"<(?:\w+:)?workbookPr\b[^>]*date1904\s*=\s*[\"'](1|true)[\"']", workbook)
    return found is not None


def _write_tool_sheet(package: Package, styles: Styles, name: str,
                      colonnes: Sequence[Colonne], rows: Sequence[tuple], date1904: bool) -> None:
    """A tool-owned sheet (Journal, À appeler) is rebuilt from the run's data on every write,
    with its files and phone numbers as cell hyperlinks, and printed landscape with its header
    on every page."""
    existing = package.sheet(name, normalise)
    old = package.parts.get(existing.part) if existing else None
    # The user's widths are kept, when the sheet has our columns (not an older layout's).
    same_layout = old is not None and xml_text(colonnes[1].titre).encode() in old[:20000]
    widths = read_widths(old) if same_layout else {}
    former = FORMER_WIDTHS.get(name, ())
    widths = {column: width for column, width in widths.items()
              if not (column <= len(former) and abs(width - former[column - 1]) < 1)}
    data, links = build_sheet(colonnes, rows, styles, date1904, widths)
    if existing is not None:
        part = existing.part
        if old != data:
            if old and re.search(rb"<(?:\w+:)?f\b", old):
                _drop_calc_chain(package)  # its entries could point at formulas now gone
            package.replace(part, data)
    else:
        part = package.new_part_name("xl/worksheets/sheet{n}.xml")
        package.replace(part, data)
        package.add_override(part, WORKSHEET_CT)
        _add_sheet_entry(package, part, name)
    # The rebuilt sheet refers to no other part: its relationships are its hyperlinks alone.
    rels_part = rels_name(part)
    if links:
        package.replace(rels_part, hyperlink_rels(links))
    elif rels_part in package.parts:
        package.remove(rels_part)
    _repeat_header_when_printed(package, name)


def _ensure_user_sheets(package: Package, styles: Styles,
                        feuilles: dict[str, str | None]) -> None:
    """Sheets Échanges, Échéanciers and Paiements are the user's: each is created once, with its
    headers, date formats and drop-down lists, when it is missing; never written again. One
    the reader found renamed (`feuilles`) is not missing: no empty one is put next to it."""
    for name, colonnes, validations in (
            (ECHANGES, ECHANGES_COLONNES,
             {"Résultat": list(RESULTATS_ECHANGE.values())}),
            (ECHEANCIERS, ECHEANCIERS_COLONNES, {}),
            (PAIEMENTS, PAIEMENTS_COLONNES, {})):
        if package.sheet(name, normalise) is not None or name in feuilles:
            continue
        part = package.new_part_name("xl/worksheets/sheet{n}.xml")
        package.replace(part, build_user_sheet(colonnes, styles, validations=validations))
        package.add_override(part, WORKSHEET_CT)
        _add_sheet_entry(package, part, name)


def _add_sheet_entry(package: Package, part: str, name: str) -> None:
    rel_id = package.add_relationship(package.workbook_part, WORKSHEET_REL, part)
    workbook = package.parts[package.workbook_part]
    sheet_id = max([0, *(s.sheet_id for s in package.sheets)]) + 1
    prefix = _prefix_of(workbook, MAIN_NS)
    r_prefix = _prefix_of(workbook, REL_NS)
    if r_prefix is None:
        r_attr = f'xmlns:rr="{REL_NS}" rr:id="{rel_id}"'
    else:
        r_attr = f'{r_prefix}:id="{rel_id}"'
    p = f"{prefix}:" if prefix else ""
    entry = f'<{p}sheet name={xml_attr(name)} sheetId="{sheet_id}" {r_attr}/>'.encode()
    end = re.search(rb"</(?:\w+:)?sheets\s*>", workbook)
    if end is None:
        raise WorkbookError(f"{package.path.name} : liste des feuilles introuvable")
    package.replace(package.workbook_part, workbook[:end.start()] + entry + workbook[end.start():])
    package.sheets = package._read_sheets()


def _repeat_header_when_printed(package: Package, name: str) -> None:
    """A print title (`_xlnm.Print_Titles`, row 1) for the tool's sheet, added once: the user
    may change it afterwards, it is never rewritten."""
    workbook = package.parts[package.workbook_part]
    index = next((i for i, s in enumerate(package.sheets) if normalise(s.name) == normalise(name)),
                 None)
    if index is None:
        return
    existing = re.search(rb"<(?:\w+:)?definedName\b[^>]*name=[\"']_xlnm\.Print_Titles[\"'][^>]*"
                         rb"localSheetId=[\"']%d[\"']" % index, workbook)
    existing = existing or re.search(rb"<(?:\w+:)?definedName\b[^>]*localSheetId=[\"']%d[\"']"
                                     rb"[^>]*name=[\"']_xlnm\.Print_Titles[\"']" % index, workbook)
    if existing:
        return
    prefix = _prefix_of(workbook, MAIN_NS)
    p = f"{prefix}:" if prefix else ""
    quoted = "'" + package.sheets[index].name.replace("'", "''") + "'"
    entry = (f'<{p}definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
             f"{xml_text(quoted)}!$1:$1</{p}definedName>").encode()
    names_end = re.search(rb"</(?:\w+:)?definedNames\s*>", workbook)
    if names_end is not None:
        changed = workbook[:names_end.start()] + entry + workbook[names_end.start():]
    else:
        # definedNames comes after sheets, functionGroups and externalReferences.
        sheets_end = None
        for tag in (rb"sheets", rb"functionGroups", rb"externalReferences"):
            found = re.search(rb"</(?:\w+:)?" + tag + rb"\s*>", workbook)
            if found and (sheets_end is None or found.end() > sheets_end.end()):
                sheets_end = found
        if sheets_end is None:
            return
        block = f"<{p}definedNames>".encode() + entry + f"</{p}definedNames>".encode()
        changed = workbook[:sheets_end.end()] + block + workbook[sheets_end.end():]
    package.replace(package.workbook_part, changed)


def _prefix_of(data: bytes, namespace: str) -> str | None:
    """The prefix the root element binds to `namespace` ('' for the default), or None."""
    root = re.search(rb"<(?:\w+:)?\w+\b[^>]*>", data[data.find(b"<", data.find(b"?>") + 1):])
    tag = root.group(0) if root else b""
    for match in re.finditer(rb'xmlns(?::(\w+))?\s*=\s*["\']([^"\']*)["\']', tag):
        if match.group(2).decode() == namespace:
            return (match.group(1) or b"").decode()
    return None


def _drop_calc_chain(package: Package) -> None:
    from .package import CALC_CHAIN_REL

    part = package.part_of_type(package.workbook_part, CALC_CHAIN_REL)
    if part is None:
        return
    package.remove(part)
    package.remove_override(part)
    package.remove_relationships_to(package.workbook_part, part)


def _ask_recalculation(package: Package) -> None:
    """Ask Excel and LibreOffice to recalculate on open: formulas may read the cells we wrote."""
    workbook = package.parts[package.workbook_part]
    calc = re.search(rb"<((?:\w+:)?)calcPr\b([^>]*?)(/?)>", workbook)
    if calc is not None:
        attrs = calc.group(2)
        if re.search(rb'fullCalcOnLoad\s*=\s*["\'](1|true)["\']', attrs):
            return
        attrs = re.sub(rb'\sfullCalcOnLoad\s*=\s*("[^"]*"|\'[^\']*\')', b"", attrs)
        tag = b"<" + calc.group(1) + b"calcPr" + attrs + b' fullCalcOnLoad="1"' + calc.group(3) + b">"
        package.replace(package.workbook_part, workbook[:calc.start()] + tag + workbook[calc.end():])
        return
    prefix = _prefix_of(workbook, MAIN_NS) or ""
    p = f"{prefix}:".encode() if prefix else b""
    for after in (b"definedNames", b"externalReferences", b"functionGroups", b"sheets"):
        end = re.search(rb"</(?:\w+:)?" + after + rb"\s*>", workbook)
        if end is not None:
            entry = b"<" + p + b'calcPr fullCalcOnLoad="1"/>'
            package.replace(package.workbook_part,
                            workbook[:end.end()] + entry + workbook[end.end():])
            return


def _save(package: Package, path: Path, empreinte: str, folder: Path) -> tuple[Path, str]:
    """Replace the workbook atomically; (the backup of the old one, the new one's
    fingerprint). A full disk or a read-only folder leaves the workbook as it was, no
    temporary file behind, and says so (`WorkbookError`)."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=".relances-", suffix=path.suffix,
                                             dir=path.parent)
    except OSError as exc:
        raise WorkbookError(_not_saved(path, exc)) from None
    os.close(handle)
    temporary = Path(temporary)
    try:
        try:
            package.write(temporary)
            with open(temporary, "rb") as saved:
                os.fsync(saved.fileno())
        except OSError as exc:
            raise WorkbookError(_not_saved(path, exc)) from None
        written = fingerprint(temporary)
        # A save by the user since we read the file wins: looked for before the backup, and
        # again just before the replace (a save landing while the backup is copied).
        seen = file_state(path)
        if fingerprint(path) != empreinte:
            raise WorkbookChanged(path)
        backup = _backup(path, folder)
        try:
            shutil.copymode(path, temporary)
            if file_state(path) != seen or fingerprint(path) != empreinte:
                raise WorkbookChanged(path)
            os.replace(temporary, path)
        except PermissionError:
            raise WorkbookLocked(f"{path.name} : écriture refusée, le classeur est sans doute "
                                 "ouvert dans Excel. Fermez-le : la prochaine exécution le "
                                 "mettra à jour depuis le journal.") from None
        except OSError as exc:
            raise WorkbookError(_not_saved(path, exc)) from None
        _fsync_folder(path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return backup, written


def _not_saved(path: Path, exc: OSError) -> str:
    return (f"{path.name} : classeur non mis à jour, écriture impossible dans {path.parent} "
            f"({cause(exc)}) ; le classeur est resté tel quel et le journal garde tout : "
            "la prochaine exécution le mettra à jour")


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows: folders cannot be opened; os.replace is already durable there
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _backup(path: Path, folder: Path) -> Path:
    """Copy the current workbook aside before replacing it; keep the newest few. The copy is
    whole or absent: a full disk leaves no half backup to be taken for a whole one."""
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
    target = folder / f"{path.stem}-{stamp}{path.suffix}"
    partial = folder / f".{target.name}.partiel"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, partial)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise WorkbookError(f"{path.name} : classeur non mis à jour, sauvegarde impossible dans "
                            f"{folder} ({cause(exc)}) ; le classeur est resté tel quel et le "
                            "journal garde tout : la prochaine exécution le mettra à jour"
                            ) from None
    backups = sorted(folder.glob(f"{path.stem}-*{path.suffix}"), key=lambda p: p.name)
    for old in backups[:-BACKUPS_KEPT]:
        old.unlink(missing_ok=True)
    return target
