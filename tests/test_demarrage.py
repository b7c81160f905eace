"""A lean start: a run imports only what it uses — no PDF engine unless a letter is written, no
chart library unless a report is asked, no spreadsheet writer, no template engine when there
is nothing to write, no mailbox or e-invoice library on a daily run.

Each run is a real one, in a process of its own (the scripts under scripts/, as a user starts
them), watched by an import hook that notes which of the heavy libraries got imported, and
from which file of relances."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, TODAY, days, invoice_row

HEAVY = ("typst", "pypdf", "segno", "matplotlib", "openpyxl", "pandas", "imapclient", "facturx",
         "jinja2")

# A heavy library a run may import, and from where only (none left: the read is calamine's).
ONLY_FROM: dict[str, str] = {}

PROBE = r"""
import json, runpy, sys, traceback

watched, report, script = set(sys.argv[1].split(",")), sys.argv[2], sys.argv[3]
imported = {}


class Watch:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in watched and top not in imported:
            ours = [f.filename.replace("\\", "/") for f in traceback.extract_stack()
                    if "/relances/" in f.filename.replace("\\", "/")]
            imported[top] = ours[-1].rpartition("/src/")[2] if ours else "?"
        return None


sys.meta_path.insert(0, Watch())
sys.argv = sys.argv[3:]
code = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as exc:
    code = exc.code
with open(report, "w", encoding="utf-8") as out:
    json.dump({"exit": code, "imported": imported}, out)
"""


def imports_of(folder: Path, script: str, *args: str) -> dict[str, str]:
    """Which heavy libraries one run of `script` imported, each with the relances file that
    imported it."""
    report = folder / "imports.json"
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY), str(report),
                           str(ROOT / "scripts" / script), "--date", TODAY.isoformat(), *args],
                          cwd=folder, capture_output=True, text=True)
    assert "Traceback" not in done.stderr, done.stderr
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["exit"] in (0, 1), done.stderr
    return result["imported"]


def unexpected(imported: dict[str, str]) -> dict[str, str]:
    return {name: where for name, where in imported.items()
            if ONLY_FROM.get(name) != where}


def test_a_run_with_nothing_due_imports_no_heavy_library(small_project):
    folder = small_project([invoice_row(echeance=TODAY + days(20))])  # not due yet

    assert unexpected(imports_of(folder, "relancer.py", "--dry-run")) == {}
    assert unexpected(imports_of(folder, "relancer.py", "--dry-run", "--json")) == {}
    imports_of(folder, "relancer.py")  # the first real run writes the workbook's statuses
    assert unexpected(imports_of(folder, "relancer.py")) == {}  # the second has nothing to do


def test_a_run_with_a_letter_due_imports_the_pdf_engine(project):
    # The example has a formal notice to post and reminders to email on its reference day.
    imported = imports_of(project, "relancer.py")
    assert imported["typst"] == "relances/lettre.py"
    assert imported["jinja2"] == "relances/render.py"
    assert {"matplotlib", "openpyxl", "imapclient", "facturx"}.isdisjoint(imported)
    assert list(project.glob("sortie/*/courriers/*.pdf"))  # a letter was written


def test_only_the_report_as_pdf_imports_the_chart_library(project):
    assert "matplotlib" not in imports_of(project, "rapport.py")
    assert "matplotlib" not in imports_of(project, "rapport.py", "--json")
    imported = imports_of(project, "rapport.py", "--pdf", "encours.pdf")
    assert imported["matplotlib"] == "relances/rapports/pdf.py"
    assert (project / "encours.pdf").read_bytes().startswith(b"%PDF")
