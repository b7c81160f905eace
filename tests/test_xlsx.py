"""The package writer on hand-written parts: prefixes, cells without references, empty sheets,
formulas, hostile text — and a property: whatever is asked, exactly that lands, nothing else moves.
"""

from __future__ import annotations

import datetime
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relances.errors import WorkbookError
from relances.xlsx.package import Package
from relances.xlsx.sheet import SheetPatch, build_sheet, Colonne, column_letter
from relances.xlsx.styles import Styles

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STYLES = (f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}"><fonts count="1">'
          '<font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill>'
          '<patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
          '</fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf '
          'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2">'
          '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" '
          'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
          '</styleSheet>').encode()


def package(path: Path, sheet: bytes, styles: bytes = STYLES) -> Path:
    """A minimal .xlsx written part by part, as a hand-rolled generator would."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
            'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
            '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"'
            '/></Types>'))
        archive.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'))
        archive.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><x:workbook xmlns:x="{MAIN}" xmlns:r="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships"><x:sheets><x:sheet '
            'name="Factures" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target='
            '"worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats'
            '.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>'))
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/styles.xml", styles)
    return path


def patched(tmp_path: Path, sheet: bytes, wishes, styles: bytes = STYLES) -> tuple[bytes, Path]:
    style_sheet = Styles(styles, "styles.xml")
    patch = SheetPatch(sheet, [], style_sheet, False, "Factures")
    for row, column, value, number_format in wishes:
        patch.set(row, column, value, number_format)
    data = patch.bytes()
    assert data is not None
    path = package(tmp_path / "out.xlsx", data, style_sheet.bytes())
    return data, path


def values(path: Path) -> dict[str, object]:
    sheet = openpyxl.load_workbook(path).active
    return {cell.coordinate: cell.value for row in sheet.iter_rows() for cell in row
            if cell.value is not None}


PREFIXED = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<x:worksheet xmlns:x="{MAIN}">'
            '<x:dimension ref="A1:B2"/><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is>'
            '<x:t>N° facture</x:t></x:is></x:c><x:c r="B1" t="inlineStr"><x:is><x:t>Étape</x:t>'
            '</x:is></x:c></x:row><x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>F-1</x:t>'
            '</x:is></x:c></x:row></x:sheetData></x:worksheet>').encode()


def test_a_prefixed_sheet_keeps_its_prefix(tmp_path):
    data, path = patched(tmp_path, PREFIXED, [(2, 2, "Premier rappel (22/11/2026)", None),
                                              (2, 4, 3, None)])
    assert b'<x:c r="B2" t="inlineStr"><x:is><x:t>Premier rappel (22/11/2026)</x:t></x:is></x:c>' in data
    assert b'<x:dimension ref="A1:D2"/>' in data
    assert values(path) == {"A1": "N° facture", "B1": "Étape", "A2": "F-1",
                            "B2": "Premier rappel (22/11/2026)", "D2": 3}


def test_cells_without_references_are_placed_by_position(tmp_path):
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row><c t="inlineStr"><is><t>a</t></is></c>'
             '<c t="inlineStr"><is><t>b</t></is></c><c t="inlineStr"><is><t>c</t></is></c></row>'
             '</sheetData></worksheet>').encode()
    _, path = patched(tmp_path, sheet, [(1, 2, "B!", None), (1, 5, "E", None)])
    assert values(path) == {"A1": "a", "B1": "B!", "C1": "c", "E1": "E"}


def test_an_empty_sheet_and_missing_rows_get_their_rows_in_order(tmp_path):
    sheet = f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/><sheetData/></worksheet>'.encode()
    _, path = patched(tmp_path, sheet, [(3, 1, "trois", None), (1, 2, "un", None)])
    assert values(path) == {"B1": "un", "A3": "trois"}


def test_a_formula_is_never_overwritten(tmp_path):
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><f>1+1</f><v>2</v></c>'
             '</row></sheetData></worksheet>').encode()
    patch = SheetPatch(sheet, [], Styles(STYLES, "s"), False, "Factures")
    patch.set(1, 1, "écrasé ?")
    assert patch.bytes() is None
    assert patch.formula_refused == [(1, 1)]


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    hostile = '=HYPERLINK("http://evil.example","clic")'
    data, path = patched(tmp_path, PREFIXED, [(2, 2, hostile, None), (2, 3, "+33 6 12", None),
                                              (2, 4, "a\x00b\x1fc\u0007", None)])
    assert b"<x:f>" not in data
    got = values(path)
    assert got["B2"] == hostile and got["C2"] == "+33 6 12" and got["D2"] == "abc"


def test_dates_and_amounts_get_a_format_only_where_the_cell_has_none(tmp_path):
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" s="1"/><c r="B1"/>'
             '</row></sheetData></worksheet>').encode()
    _, path = patched(tmp_path, sheet, [(1, 1, datetime.date(2026, 11, 22), "DD/MM/YYYY"),
                                        (1, 2, datetime.date(2026, 11, 22), "DD/MM/YYYY"),
                                        (1, 3, Decimal("1234.50"), "#,##0.00")])
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A1"].number_format == "mm-dd-yy"  # the user's own date format, kept
    assert sheet["B1"].number_format == "DD/MM/YYYY"
    assert sheet["A1"].value == sheet["B1"].value == datetime.datetime(2026, 11, 22)
    assert sheet["C1"].value == 1234.5 and sheet["C1"].number_format == "#,##0.00"


def test_styles_are_appended_once_and_never_renumbered():
    styles = Styles(STYLES, "s")
    first = styles.with_format(0, "DD/MM/YYYY")
    assert first == 2 and styles.with_format(0, "DD/MM/YYYY") == 2
    again = Styles(styles.bytes(), "s")
    assert again.with_format(0, "DD/MM/YYYY") == 2 and not again.changed
    assert again.header() == 3


def test_rows_out_of_order_are_refused():
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="2"/><row r="1"/></sheetData>'
             '</worksheet>').encode()
    with pytest.raises(WorkbookError, match="désordre"):
        SheetPatch(sheet, [], Styles(STYLES, "s"), False, "Factures")


def test_a_tool_sheet_is_text_dates_and_amounts():
    data, _ = build_sheet((Colonne("Date", 12, "DD/MM/YYYY"), Colonne("Client", 20),
                        Colonne("Montant", 12, "#,##0.00")),
                       [(datetime.date(2026, 11, 22), "=cmd|' /C calc'!A0", Decimal("10.50"))],
                       Styles(STYLES, "s"))
    assert b"<f>" not in data and b"=cmd|' /C calc'!A0</t>" in data
    assert b"<v>46348</v>" in data and b"<v>10.50</v>" in data


def test_package_check_names_a_broken_reference(tmp_path):
    path = package(tmp_path / "a.xlsx", PREFIXED)
    book = Package.open(path)
    assert book.check() == []
    book.remove("xl/styles.xml")
    assert any("styles.xml" in problem for problem in book.check())


# ------------------------------------------------------------ the property

cell_values = st.one_of(
    st.none(), st.integers(-10**6, 10**6),
    st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False),
    st.dates(datetime.date(1900, 3, 1), datetime.date(2100, 1, 1)),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=st.dictionaries(st.tuples(st.integers(1, 6), st.integers(1, 6)),
                            st.text("abc =+-", min_size=1, max_size=5), max_size=20),
       wishes=st.dictionaries(st.tuples(st.integers(1, 8), st.integers(1, 8)), cell_values,
                              max_size=12))
def test_exactly_the_wished_cells_change(tmp_path, grid, wishes):
    rows: dict[int, list[tuple[int, str]]] = {}
    for (row, column), text in sorted(grid.items()):
        rows.setdefault(row, []).append((column, text))
    body = "".join(
        f'<row r="{row}">' + "".join(
            f'<c r="{column_letter(c)}{row}" t="inlineStr"><is><t>{t}</t></is></c>'
            for c, t in cells) + "</row>" for row, cells in sorted(rows.items()))
    sheet = f'<worksheet xmlns="{MAIN}"><sheetData>{body}</sheetData></worksheet>'.encode()
    style_sheet = Styles(STYLES, "s")
    patch = SheetPatch(sheet, [], style_sheet, False, "Factures")
    for (row, column), value in wishes.items():
        patch.set(row, column, value, "DD/MM/YYYY" if isinstance(value, datetime.date) else None)
    data = patch.bytes() or sheet
    path = package(tmp_path / "p.xlsx", data, style_sheet.bytes())
    got = values(path)
    expected = {f"{column_letter(c)}{r}": t for (r, c), t in grid.items()}
    for (row, column), value in wishes.items():
        ref = f"{column_letter(column)}{row}"
        cleaned = "".join(ch for ch in value if ch >= " " or ch in "\t\n\r") \
            if isinstance(value, str) else value
        if value is None or cleaned == "":
            expected.pop(ref, None)
        elif isinstance(value, datetime.date):
            expected[ref] = datetime.datetime.combine(value, datetime.time())
        else:
            expected[ref] = cleaned
    for ref, value in expected.items():
        found = got.get(ref)
        if isinstance(value, Decimal):
            assert Decimal(str(found)) == value, ref
        else:
            assert found == value, (ref, found, value)
    assert set(got) == set(expected)


def test_replacing_a_rich_text_cell_keeps_the_cell_count_check_exact():
    from relances.xlsx.sheet import count_cells

    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><r>'
             '<rPr><color rgb="FFFF0000"/><charset val="0"/></rPr><t>rouge</t></r></is></c>'
             '<c r="B1"><v>1</v></c></row></sheetData></worksheet>').encode()
    patch = SheetPatch(sheet, [], Styles(STYLES, "s"), False, "Factures")
    patch.set(1, 1, "Premier rappel (22/11/2026)")
    patch.set(1, 3, "nouvelle")
    after = patch.bytes()
    assert count_cells(after) == count_cells(sheet) + patch.cells_added - patch.tags_removed
    assert patch.cells_added == 1 and patch.tags_removed == 2
