"""Rows the tool appends to a user's sheet: bank lines to Paiements, replies read from the
mailbox to Échanges, imported e-invoices to Factures and their buyers to Clients.

The tool only ever appends there: each value goes under its header wherever the user moved it,
below the last row that holds anything; a header missing for one of our values is added at the
end of the header row. No other cell of the sheet changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ..records import normalise
from .colonnes import (CLIENT_COLUMNS, CLIENT_FIELD_BY_HEADER, CLIENTS, DATE_FORMAT,
                       ECHANGE_COLUMNS, ECHANGE_FIELD_BY_HEADER, ECHANGES, EURO_FORMAT,
                       FACTURE_COLUMNS, FACTURES, FIELD_BY_HEADER, PAIEMENT_COLUMNS,
                       PAIEMENT_FIELD_BY_HEADER, PAIEMENTS, find_header)
from .package import Package
from .sheet import Colonne, SheetPatch, Value, read_shared_strings
from .styles import Styles


@dataclass(frozen=True)
class Ajout:
    """Rows to append to one user sheet: each row maps a field (of colonnes' vocabulary for
    that sheet: "date", "client", "numero"…) to its value; empty values are left out."""

    feuille: str  # FACTURES, CLIENTS, ECHANGES or PAIEMENTS
    lignes: tuple[Mapping[str, Value], ...]


@dataclass(frozen=True)
class _Forme:
    """How rows are appended to one sheet: its headers, the columns the tool may add (field,
    header, width, number format) in order, the fields the header row must have for the sheet
    to be read back, and whether a new cell copies the style of the cell above it."""

    par_entete: dict[str, str]
    colonnes: tuple[tuple[str, Colonne], ...]
    requis: tuple[str, ...]
    style_du_dessus: bool  # else a new cell takes its column's style, with our number format
    toutes: bool = False  # add every missing column (Paiements), else only those with a value
    cle: str = "client"  # a row without it is not a record (with formulas: a totals row)
    replies: tuple[str, ...] = ()  # long texts: wrapped in their column when no row above


def _colonnes(vocabulaire: dict[str, tuple[str, ...]], largeurs: dict[str, tuple[float, str | None]]
              ) -> tuple[tuple[str, Colonne], ...]:
    return tuple((name, Colonne(vocabulaire[name][0], width, number_format))
                 for name, (width, number_format) in largeurs.items())


FORMES = {
    PAIEMENTS: _Forme(PAIEMENT_FIELD_BY_HEADER, _colonnes(PAIEMENT_COLUMNS, {
        "date": (12, DATE_FORMAT), "montant": (14, EURO_FORMAT), "client": (26, None),
        "factures": (22, None), "libelle": (40, None), "source": (14, None),
        "reference": (24, None)}), ("date", "montant"), False, True, "montant"),
    ECHANGES: _Forme(ECHANGE_FIELD_BY_HEADER, _colonnes(ECHANGE_COLUMNS, {
        "date": (12, DATE_FORMAT), "client": (26, None), "factures": (20, None),
        "interlocuteur": (18, None), "coordonnees": (24, None), "canal": (12, None),
        "dit": (50, None), "resultat": (16, None)}), ("date", "client"), True,
        replies=("dit",)),
    FACTURES: _Forme(FIELD_BY_HEADER, _colonnes(FACTURE_COLUMNS, {
        "client": (26, None), "numero": (16, None), "date_facture": (12, DATE_FORMAT),
        "echeance": (12, DATE_FORMAT), "montant": (14, EURO_FORMAT), "email": (26, None),
        "fichier": (30, None), "facture_liee": (16, None), "notes": (30, None)}),
        ("client", "numero", "echeance", "montant"), True, cle="numero"),
    CLIENTS: _Forme(CLIENT_FIELD_BY_HEADER, _colonnes(CLIENT_COLUMNS, {
        "client": (26, None), "contact": (18, None), "email": (26, None),
        "telephone": (14, None), "adresse": (34, None), "type": (14, None),
        "siren": (16, None), "tva": (18, None), "pays": (8, None)}), ("client",), True),
}


def append_rows(package: Package, shared_part: str | None, styles: Styles, date1904: bool,
                ajout: Ajout, where: str, name: str | None = None,
                entetes: dict[str, str] | None = None,
                totaux: dict[str, int] | None = None) -> bool:
    """Append `ajout.lignes` to the user's sheet `name` (default: `ajout.feuille`), found by
    name whatever its case and accents. `entetes`: the user's own headers (config
    [colonnes]: normalised header -> field). False when nothing could be appended: the sheet
    is missing or ambiguous (name None), or its header row does not have the fields it is
    read back by — the caller's journal keeps the rows for a later run.
    `totaux` gets the sheet's totals row when the rows went below one (a row with formulas
    and without the field that makes a record — N° facture in Factures): they are outside its
    sums, the caller tells the user."""
    forme = FORMES[ajout.feuille]
    name = ajout.feuille if name is None else name
    sheet = package.sheet(name, normalise) if name else None
    if sheet is None:
        return False
    data = package.parts[sheet.part]
    shared = read_shared_strings(package.parts.get(shared_part) if shared_part else None)
    patch = SheetPatch(data, shared, styles, date1904, f"{where}:{sheet.name}")
    header_index, found = find_header(patch.values(1, 10), forme.par_entete, entetes or {},
                                      forme.requis)
    if any(field not in found for field in forme.requis):
        return False  # not a sheet we can read back: nothing appended, the journal keeps it
    header_row = header_index + 1
    columns = {field: position + 1 for field, position in found.items()}
    last = max([patch.last_column(), *columns.values(),
                *(c.column for c in patch.cells(header_row))])
    wanted = {field for row in ajout.lignes for field, value in row.items()
              if value is not None and value != ""}
    for field, colonne in forme.colonnes:
        if field not in columns and (forme.toutes or field in wanted):
            last += 1
            columns[field] = last
            patch.set(header_row, last, colonne.titre)
            patch.width(last, colonne.largeur)
    row = max((n for n in reversed(patch.order) if any(
        c.value not in (None, "") or c.formula for c in patch.cells(n))), default=header_row)
    last_cells = patch.cells(row) if row > header_row else []
    key = columns[forme.cle]
    if totaux is not None and any(c.formula for c in last_cells) and not any(
            c.value not in (None, "") for c in last_cells if c.column == key):
        totaux[ajout.feuille] = row
        # The row of the last record above the totals gives the look, not the totals' bold.
        record = max((n for n in patch.order if header_row < n < row and any(
            c.value not in (None, "") for c in patch.cells(n))), default=None)
        last_cells = patch.cells(record) if record else []
    above = {c.column: c.style for c in last_cells} if forme.style_du_dessus else {}
    formats = dict(forme.colonnes)
    for values in ajout.lignes:
        row += 1
        for field, value in values.items():
            if value is None or value == "" or field not in columns:
                continue
            column = columns[field]
            number_format = formats[field].format if field in formats else None
            style = above.get(column)
            if style is None and field in forme.replies and not last_cells:
                style = styles.wrapped(patch._column_style(column))
            if style is not None and number_format and styles.is_general(style):
                style = styles.with_format(style, number_format)
            patch.set(row, column, value, number_format, style=style)
    patched = patch.bytes()
    if patched is not None:
        package.replace(sheet.part, patched)
    return True


def rows_of(fields: Sequence[str], rows: Sequence[tuple]) -> tuple[dict[str, Value], ...]:
    """Positional rows (as the callers of Paiements build them) as field -> value rows."""
    return tuple(dict(zip(fields, values)) for values in rows)
