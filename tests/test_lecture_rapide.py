"""Issue 23: the workbook read through python-calamine directly (no pandas in the daily run),
and a second run the same day with nothing new that gives the last result back."""

from __future__ import annotations

import datetime
import json
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from relances.cli import relancer
from relances.rien_de_neuf import DESACTIVE, chemin
from relances.config import load_config
from relances.xlsx.lecture import _Classeur

from conftest import ROOT, TODAY, days, invoice_row

REPRIS = "résultat repris"


# ------------------------------------------------------------ the read


def test_cells_keep_the_types_the_records_were_always_read_from(tmp_path):
    path = tmp_path / "cellules.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Factures"
    sheet.append(["NA", "None", " ", "n/a", "Alpha", " NA"])
    sheet.append([1.0, 1.5, True, datetime.date(2026, 3, 15),
                  datetime.datetime(2026, 3, 15, 10, 30), datetime.time(9, 15)])
    sheet["C4"] = "x"  # a gap row, and a row shorter than the widest
    book.save(path)
    rows = _Classeur(path).rows("Factures")
    assert len(rows) == 4 and {len(row) for row in rows} == {6}
    # Texts meaning "missing" read as empty (NaN), as the pandas reader read them; not " NA",
    # nor a blank (empty all the same for the records).
    assert all(isinstance(v, float) and math.isnan(v) for v in rows[0][:2] + rows[0][3:4])
    assert rows[0][2] == " "
    assert rows[0][4:] == ["Alpha", " NA"]
    whole, half, flag, day, moment, hour = rows[1]
    assert (type(whole), whole) == (int, 1) and (type(half), half) == (float, 1.5)
    assert flag is True
    assert (type(day), day) == (datetime.datetime, datetime.datetime(2026, 3, 15))
    assert moment == datetime.datetime(2026, 3, 15, 10, 30) and hour == datetime.time(9, 15)
    assert all(isinstance(v, float) and math.isnan(v) for v in rows[2])
    assert rows[3][2] == "x"
    first = _Classeur(path).rows("Factures", 2)  # the first rows only, read alike
    assert len(first) == 2 and first[1] == rows[1]


def test_the_daily_run_does_not_import_pandas(project):
    code = ("import sys, datetime; from pathlib import Path; "
            "from relances.config import load_config; from relances.run import run_daily; "
            f"config = load_config(Path({str(project / 'config.toml')!r})); "
            "run_daily(config, datetime.date(2026, 11, 22), "
            "datetime.datetime(2026, 11, 22, 8), dry_run=True); "
            "print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# ------------------------------------------------------------ nothing new


def run(folder: Path, *args: str, date: str = "2026-11-22"):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", date, *args])
    assert "Traceback" not in result.output
    return result


def reprises(folder: Path) -> int:
    return (folder / "relances.log").read_text(encoding="utf-8").count(REPRIS)


@pytest.fixture
def quiet(small_project):
    """A workbook whose one reminder goes out on the first run; the second has nothing to do
    (and keeps its result), the third may take it back."""
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(5)),
                            invoice_row(numero="F-2", echeance=TODAY + days(20))])
    first = run(folder)
    assert first.exit_code == 0, first.output
    second = run(folder, "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["actions"] == []
    assert chemin(load_config(folder / "config.toml")).exists()
    return folder


@pytest.mark.parametrize("json_", [False, True])
def test_nothing_new_gives_the_same_summary_as_the_whole_run(quiet, monkeypatch, json_):
    args = ("--json",) if json_ else ()
    taken = run(quiet, *args)
    assert reprises(quiet) == 1
    monkeypatch.setenv(DESACTIVE, "1")
    whole = run(quiet, *args)
    assert reprises(quiet) == 1
    assert (taken.exit_code, taken.output) == (whole.exit_code, whole.output)
    assert "Rien à faire" in taken.output or json_


def _edit_cell(folder: Path) -> None:
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    sheet = book["Factures"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=header.index("Statut") + 1, value="peut-être")
    book.save(folder / "relances.xlsx")


def _journal_entry(folder: Path) -> None:
    with sqlite3.connect(folder / "relances.journal.sqlite") as db:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('essai', '1')")


def _config(folder: Path) -> None:
    with open(folder / "config.toml", "a", encoding="utf-8") as handle:
        handle.write("\n# modifié\n")


def _template(folder: Path) -> None:
    config = load_config(folder / "config.toml")
    templates = config.lettres
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "note.txt").write_text("nouveau", encoding="utf-8")


@pytest.mark.parametrize("change", [_edit_cell, _journal_entry, _config, _template, None])
def test_any_change_makes_the_run_do_its_whole_work(quiet, change):
    if change is not None:
        change(quiet)
    result = run(quiet, "--json", date="2026-11-23" if change is None else "2026-11-22")
    assert reprises(quiet) == 0, change
    if change is _edit_cell:  # the edit is seen
        assert "Statut inconnu « peut-être » (facture F-2)" in result.output


def test_a_run_with_something_to_do_keeps_no_result(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(5))])
    run(folder)
    assert not chemin(load_config(folder / "config.toml")).exists()


# ------------------------------------------------------------------ the unknown-cell scan

CELL_FORMS = [
    '<c r="A{n}" t="s"><v>0</v></c>',
    '<c r="A{n}" s="2"><f>B{n}-C{n}</f><v>12.5</v></c>',
    '<c r="A{n}"><f>B{n}*2</f><v></v></c>',  # a formula without its value
    '<c r="A{n}"><f>B{n}*2</f></c>',
    '<c r="A{n}"><f t="shared" si="0"/><v>3</v></c>',
    '<c r="A{n}"><f t="shared" si="0"/></c>',
    '<c r="A{n}"><f t="shared" ref="A1:A9" si="0">B1</f><v> </v></c>',
    '<c r="A{n}" t="e"><v>#N/A</v></c>',
    "<c r='A{n}' t = 'e'><v>#REF!</v></c>",
    '<c r="A{n}" t="str"><f>""</f><v></v></c>',
    '<c r="A{n}"><f>B{n}</f >\n<v>1</v></c>',
    '<c r="A{n}" t="inlineStr"><is><t>"e" au milieu &lt;f&gt;</t></is></c>',
    '<c r="A{n}"/>',
]


@given(st.lists(st.sampled_from(range(len(CELL_FORMS))), max_size=40))
def test_the_fast_scan_finds_what_the_regex_finds(forms):
    """SheetPatch._suspects (bytes searched first) finds exactly the places the `_SUSPECT`
    regex finds, whatever the cells: errors, formulas with and without their cached value,
    shared formulas, whitespace inside tags, text that looks like markup."""
    from relances.xlsx import sheet as S
    from relances.xlsx.styles import Styles
    rows = "".join(f'<row r="{n}">{CELL_FORMS[k].format(n=n)}</row>'
                   for n, k in enumerate(forms, start=1))
    data = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxml'
            'formats.org/spreadsheetml/2006/main"><sheetData>' + rows +
            "</sheetData></worksheet>").encode()
    patch = S.SheetPatch(data, [], Styles(None, ""), False, "test")
    expected = [hit.start() for hit in S._SUSPECT.finditer(data, patch.body_start,
                                                            patch.body_end)]
    assert patch._suspects() == expected
