"""The write-back keeps the user's workbook: every part but the tool's, byte for byte.

Fixtures are workbooks as LibreOffice and Excel write them (tests/fixtures/fabriquer.py), not
as openpyxl does. Each test runs the real command line on a copy, then compares the package part
by part, and the Factures sheet cell by cell.
"""

from __future__ import annotations

import datetime
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from lxml import etree

from relances.cli import relancer

from conftest import ROOT, config_text, libreoffice_resave, needs_libreoffice

FIXTURES = ROOT / "tests" / "fixtures"

# Parts a run may change: the tool's sheets and cells, and the tables that list parts.
TOOL_PARTS = {"xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
              "[Content_Types].xml", "xl/styles.xml", "docProps/custom.xml"}
TOOL_COLUMNS = {"Étape", "Relances envoyées", "Dernière relance", "Prochaine action",
                "Date prochaine action", "Reste dû", "Jours de retard"}


def user_project(tmp_path: Path, fixture: str) -> Path:
    config = config_text()
    config = config.replace('classeur = "relances.xlsx"', f'classeur = "{fixture}"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    (tmp_path / "factures").mkdir()
    shutil.copy(FIXTURES / fixture, tmp_path / fixture)
    return tmp_path / fixture


def run(path: Path, date: str, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(path.parent / "config.toml"),
                                           "--date", date, *args])
    assert "Traceback" not in result.output and result.exception is None or \
        isinstance(result.exception, SystemExit), result.output
    return result


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)


def cells(sheet: bytes) -> dict[str, bytes]:
    return {(m.group(1) + m.group(2)).decode(): m.group(0) for m in CELL.finditer(sheet)}


def header_letters(path: Path) -> dict[str, str]:
    sheet = openpyxl.load_workbook(path)["Factures"]
    return {cell.value: cell.column_letter for cell in sheet[1] if cell.value}


def outside_sheet_data(sheet: bytes) -> bytes:
    sheet = re.sub(rb"<sheetData>.*</sheetData>", b"", sheet, flags=re.S)
    return re.sub(rb'<dimension ref="[^"]*"/>', b"", sheet)


@pytest.fixture(params=["libreoffice.xlsx", "excel-extensions.xlsm"])
def workbook(request, tmp_path) -> Path:
    return user_project(tmp_path, request.param)


# ------------------------------------------------------------ part by part

def test_every_part_but_the_tools_is_kept_byte_for_byte(workbook):
    before = parts(workbook)
    result = run(workbook, "2026-11-22")
    assert result.exit_code in (0, 1), result.output
    after = parts(workbook)
    assert set(before) <= set(after)
    for name, data in before.items():
        if name not in TOOL_PARTS:
            assert after[name] == data, f"{name} a changé"
    added = set(after) - set(before)
    # The Journal sheet and its hyperlinks (the files of each action), the À appeler sheet,
    # the user's Échanges and Échéanciers sheets (created once, empty), the dashboard with
    # its drawing and two charts (next to the user's own chart and drawings), nothing else.
    sheets = {"xl/worksheets/sheet5.xml", "xl/worksheets/_rels/sheet5.xml.rels",
              "xl/worksheets/sheet6.xml", "xl/worksheets/sheet7.xml",
              "xl/worksheets/sheet8.xml"}
    dashboard = {name for name in added - sheets}
    assert {"xl/worksheets/sheet9.xml", "xl/worksheets/_rels/sheet9.xml.rels"} <= dashboard
    assert len([n for n in dashboard if n.startswith("xl/charts/chart")]) == 2
    assert len([n for n in dashboard if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n)]) == 1
    assert len(dashboard) == 6, dashboard
    assert sheets <= added


def test_inside_factures_only_the_tools_cells_change(workbook):
    before = parts(workbook)["xl/worksheets/sheet1.xml"]
    letters = header_letters(workbook)
    run(workbook, "2026-11-22")
    after = parts(workbook)["xl/worksheets/sheet1.xml"]
    tool = {letters[name] for name in TOOL_COLUMNS if name in letters}
    old, new = cells(before), cells(after)
    assert set(old) <= set(new)
    changed = {ref for ref in old if old[ref] != new[ref]}
    assert changed, "the run should have written its cells"
    assert {re.match(r"[A-Z]+", ref).group(0) for ref in changed} <= tool
    # Everything around the cells (merged cells, validations, conditional formats, extLst,
    # print settings, panes, widths) is the same bytes.
    assert outside_sheet_data(after) == outside_sheet_data(before)
    # Formulas keep their cached values: the next run reads them.
    assert b"<f aca=\"false\">SUM(Paiements!B2:B3)</f><v>1000</v>" in after


def test_shared_tables_only_gain_entries(workbook):
    before = parts(workbook)
    run(workbook, "2026-11-22")
    after = parts(workbook)

    def entries(data: bytes, tag: str) -> set[bytes]:
        root = etree.fromstring(data)
        return {etree.tostring(e, method="c14n") for e in root.iter() if
                etree.QName(e).localname == tag}

    for name, tag in (("xl/_rels/workbook.xml.rels", "Relationship"),
                      ("[Content_Types].xml", "Override"), ("[Content_Types].xml", "Default"),
                      ("xl/workbook.xml", "sheet"), ("xl/workbook.xml", "definedName")):
        assert entries(before[name], tag) <= entries(after[name], tag), name

    def xfs(data: bytes) -> list[bytes]:
        root = etree.fromstring(data)
        cell_xfs = next(e for e in root if etree.QName(e).localname == "cellXfs")
        return [etree.tostring(e, method="c14n") for e in cell_xfs]

    old_xfs = xfs(before["xl/styles.xml"])
    assert xfs(after["xl/styles.xml"])[:len(old_xfs)] == old_xfs  # never renumbered


def test_a_macro_enabled_workbook_stays_one(tmp_path):
    workbook = user_project(tmp_path, "excel-extensions.xlsm")
    before = parts(workbook)
    run(workbook, "2026-11-22")
    after = parts(workbook)
    assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in after["[Content_Types].xml"]
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert b"x14:dataBar" in after["xl/worksheets/sheet1.xml"]
    assert b"x14:dataValidation " in after["xl/worksheets/sheet1.xml"]


def test_the_result_opens_in_openpyxl(workbook):
    run(workbook, "2026-11-22")
    book = openpyxl.load_workbook(workbook)
    assert book.sheetnames == ["Factures", "Clients", "Paiements", "Synthèse", "Journal",
                               "À appeler", "Échanges", "Échéanciers", "Tableau de bord"]
    assert len(book["Tableau de bord"]._charts) == 2  # native charts, read back
    steps = {row[1].value: row[9].value for row in book["Factures"].iter_rows(min_row=2)}
    assert steps["F-ALPHA"] == "Premier rappel (22/11/2026)"
    journal = [[c.value for c in row] for row in book["Journal"].iter_rows()]
    assert journal[0][:3] == ["N°", "Date", "Client"]
    assert journal[1][2] == "Alpha SARL"


@needs_libreoffice
def test_the_result_opens_in_libreoffice_without_repair(workbook, tmp_path):
    run(workbook, "2026-11-22")
    done, converted = libreoffice_resave(workbook, tmp_path / "lo")
    assert done.returncode == 0 and converted.exists(), done.stderr
    book = openpyxl.load_workbook(converted)
    assert "Journal" in book.sheetnames
    steps = {row[1].value: row[9].value for row in book["Factures"].iter_rows(min_row=2)}
    assert steps["F-ALPHA"] == "Premier rappel (22/11/2026)"
    assert book["Journal"]["C2"].value == "Alpha SARL"
    assert book["Journal"]["B2"].number_format.upper().startswith("DD/MM/YYYY")


# ------------------------------------------------------------ the formula that said "paid"

def test_a_paid_invoice_whose_payé_is_a_formula_is_never_chased(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    for day in ("2026-11-22", "2026-11-23", "2026-12-10", "2027-01-15"):
        result = run(workbook, day, "--json")
        assert "F-PAYEE" not in result.output, (day, result.output)
        if day == "2026-11-22":
            assert "F-ALPHA" in result.output  # the run does chase what is due
        run(workbook, day)
    sheet = parts(workbook)["xl/worksheets/sheet1.xml"]
    assert b"<f aca=\"false\">SUM(Paiements!B2:B3)</f><v>1000</v>" in sheet
    db = sqlite3.connect(tmp_path / "libreoffice.journal.sqlite")
    assert not db.execute("SELECT * FROM faits WHERE facture = 'F-PAYEE'").fetchall()


def test_a_second_run_that_changes_nothing_leaves_the_file_untouched(workbook):
    run(workbook, "2026-11-22")
    data, mtime = workbook.read_bytes(), workbook.stat().st_mtime_ns
    result = run(workbook, "2026-11-22")
    assert "Classeur déjà à jour" in result.output
    assert workbook.read_bytes() == data and workbook.stat().st_mtime_ns == mtime


def test_user_formulas_are_asked_to_recalculate_on_open(workbook):
    run(workbook, "2026-11-22")
    assert re.search(rb'<calcPr[^>]*fullCalcOnLoad="1"', parts(workbook)["xl/workbook.xml"])


def test_missing_tool_columns_are_added_to_a_libreoffice_workbook(tmp_path):
    workbook = user_project(tmp_path, "libreoffice-sans-colonnes.xlsx")
    before = parts(workbook)["xl/worksheets/sheet1.xml"]
    result = run(workbook, "2026-11-22")
    assert result.exit_code in (0, 1), result.output
    after = parts(workbook)["xl/worksheets/sheet1.xml"]
    old, new = cells(before), cells(after)
    assert all(new[ref] == raw for ref, raw in old.items()
               if re.match(r"[A-Z]+", ref).group(0) not in ("G", "H"))  # Reste dû, Jours
    book = openpyxl.load_workbook(workbook)
    sheet = book["Factures"]
    headers = [c.value for c in sheet[1]]
    assert headers[-5:] == ["Étape", "Relances envoyées", "Dernière relance", "Prochaine action",
                            "Date prochaine action"]
    assert sheet.cell(1, len(headers)).font.b  # styled like the header beside it
    by_numero = {row[1].value: [c.value for c in row] for row in sheet.iter_rows(min_row=2)}
    assert by_numero["F-ALPHA"][-5] == "Premier rappel (22/11/2026)"
    assert by_numero["F-ALPHA"][-3] == datetime.datetime(2026, 11, 22)
    assert sheet.cell(2, len(headers) - 2).number_format == "DD/MM/YYYY"
    assert sheet.cell(2, len(headers)).number_format == "DD/MM/YYYY"
    assert by_numero["F-DELTA"][-2] == "aucune (statut Litige)"
    assert by_numero["F-DELTA"][-1] is None
    second = run(workbook, "2026-11-22")
    assert "Classeur déjà à jour" in second.output


def test_a_tool_cell_edited_by_hand_is_written_again_at_the_next_run(tmp_path):
    """The next run skips patching Factures only when the file is the one its last write
    left; a save by the user (here clearing an Étape cell) makes it patch again."""
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    run(workbook, "2026-11-22")
    stamp = workbook.read_bytes()
    run(workbook, "2026-11-22")
    assert workbook.read_bytes() == stamp  # nothing to do: untouched
    book = openpyxl.load_workbook(workbook)
    letters = header_letters(workbook)
    sheet = book["Factures"]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet[f"B{r}"].value == "F-ALPHA")
    sheet[f"{letters['Étape']}{row}"] = None
    book.save(workbook)
    run(workbook, "2026-11-22")
    again = openpyxl.load_workbook(workbook)["Factures"]
    assert again[f"{letters['Étape']}{row}"].value == "Premier rappel (22/11/2026)"


# ------------------------------------------------------------ content types as LibreOffice lists them

def _without_rels_default(workbook: Path) -> None:
    """Some LibreOffice versions type each relationship part by an Override, with no Default
    for `.rels`."""
    found = parts(workbook)
    types = found["[Content_Types].xml"]
    found["[Content_Types].xml"] = re.sub(rb'<Default Extension="rels"[^>]*/>', b"", types)
    assert found["[Content_Types].xml"] != types
    with zipfile.ZipFile(workbook, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in found.items():
            archive.writestr(name, data)


def test_every_part_added_gets_a_content_type_without_a_rels_default(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    _without_rels_default(workbook)
    result = run(workbook, "2026-11-22")
    assert result.exit_code in (0, 1), result.output
    assert "type de contenu" not in result.output and "écriture refusée" not in result.output
    after = parts(workbook)
    assert "xl/worksheets/_rels/sheet5.xml.rels" in after  # the Journal's hyperlinks
    root = etree.fromstring(after["[Content_Types].xml"])
    ns = {"ct": "http://schemas.openxmlformats.org/package/2006/content-types"}
    defaults = {d.get("Extension").lower() for d in root.findall("ct:Default", ns)}
    overrides = {o.get("PartName").lstrip("/") for o in root.findall("ct:Override", ns)}
    for name in after:
        if name != "[Content_Types].xml":
            assert name in overrides or name.rsplit(".", 1)[-1].lower() in defaults, name
    assert overrides <= set(after)
    book = openpyxl.load_workbook(workbook)
    assert {"Journal", "À appeler"} <= set(book.sheetnames)
    assert book["Journal"]["C2"].value


def test_a_part_removed_takes_its_override_with_it(tmp_path):
    from relances.xlsx.package import Package

    workbook = user_project(tmp_path, "libreoffice.xlsx")
    package = Package.open(workbook)
    assert package.content_types()[1]["xl/drawings/_rels/drawing2.xml.rels"]
    package.remove("xl/drawings/_rels/drawing2.xml.rels")
    assert "xl/drawings/_rels/drawing2.xml.rels" not in package.content_types()[1]
    assert not [p for p in package.check() if "partie absente" in p]
