"""The dashboard: every figure checked on a workbook whose figures are known, the sheet and its
native charts written by the run and read back (openpyxl, LibreOffice), and rapport.py in the
terminal, as JSON, as a one-page PDF and across several companies."""

from __future__ import annotations

import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from relances.cli import rapport, relancer
from relances.config import load_config
from relances.rapports import compute
from relances.run import report
from relances.xlsx import read_classeur

from conftest import (ROOT, TODAY, client_row, copy_config, days, fait, invoice_row,
                      libreoffice_resave, needs_libreoffice)

D = Decimal

# Known figures, as of TODAY (22/11/2026): see each line.
ROWS = [
    invoice_row("Alpha", "F-1001", TODAY - days(5), D("1000"), promesse=TODAY + days(3)),  # 1-30
    invoice_row("Alpha", "F-1002", TODAY + days(10), D("500")),                            # not due
    invoice_row("Beta", "F-1003", TODAY - days(45), D("3000"), promesse=TODAY - days(2)),  # 31-60
    invoice_row("Gamma", "F-1004", TODAY - days(100), D("200")),                           # > 90
    invoice_row("Gamma", "F-1005", TODAY - days(20), D("300"), paye=D("300")),             # paid
    invoice_row("Delta", "F-1006", TODAY - days(70), D("800"), statut="Litige"),           # 61-90
    invoice_row("Epsilon", "AV-1", TODAY - days(10), D("-100")),                           # credit
    invoice_row("Epsilon", "F-0900", TODAY - days(200), D("700"), paye=D("700"),
                date_facture=TODAY - days(230)),                                           # old, paid
]
CLIENTS = [client_row(n, email=f"compta@{n.lower()}.fr") for n in
           ("Alpha", "Beta", "Gamma", "Delta", "Epsilon")]


@pytest.fixture
def known(small_project) -> Path:
    return small_project(ROWS, CLIENTS)


def tableau_of(project: Path, history=()):
    config = load_config(project / "config.toml")
    lecture = read_classeur(config.classeur)
    return compute(lecture.classeur, history, TODAY, config.libelle)


def test_every_figure_of_the_dashboard(known):
    t = tableau_of(known, [fait("F-1003", "rappel", TODAY - days(40), client="Beta"),
                           fait("F-1003", "dernier_rappel", TODAY - days(20), client="Beta")])
    assert (t.encours, t.echu, t.avoirs) == (D("5500.00"), D("5000.00"), D("100.00"))
    assert (t.factures_ouvertes, t.clients_debiteurs) == (5, 4)
    assert [(b.libelle, b.montant, b.nombre) for b in t.balance] == [
        ("Non échu", D("500.00"), 1), ("1 à 30 jours", D("1000.00"), 1),
        ("31 à 60 jours", D("3000.00"), 1), ("61 à 90 jours", D("800.00"), 1),
        ("Plus de 90 jours", D("200.00"), 1)]
    # Sales over the last 90 days: every invoice dated 40 days ago (5 800 €), not F-0900.
    assert t.ventes_periode == D("5800.00")
    assert t.dso == D("83.8")  # (5 500 − 100) ÷ 5 800 × 90 = 83.79…
    assert [(x.client, x.montant, x.part, x.cumul, x.pareto) for x in t.debiteurs] == [
        ("Beta", D("3000.00"), D("54.5"), D("54.5"), True),
        ("Alpha", D("1500.00"), D("27.3"), D("81.8"), True),   # crosses 80 %: one of the few
        ("Delta", D("800.00"), D("14.5"), D("96.4"), False),
        ("Gamma", D("200.00"), D("3.6"), D("100.0"), False)]
    assert t.debiteurs[1].echu == D("1000.00")
    assert {(e.libelle, e.montant, e.nombre) for e in t.par_etape} == {
        ("Dernier rappel", D("3000.00"), 1), ("Aucune relance", D("2000.00"), 3),
        ("Aucune relance (non échue)", D("500.00"), 1)}
    assert [(p.client, p.factures, p.jour) for p in t.promesses_a_venir] == [
        ("Alpha", ("F-1001",), TODAY + days(3))]
    assert [(p.client, p.montant) for p in t.promesses_non_tenues] == [("Beta", D("3000.00"))]
    assert (t.litiges, t.litiges_nombre) == (D("800.00"), 1)
    assert t.echeanciers == ()


def test_nothing_invoiced_lately_gives_no_dso(small_project):
    project = small_project([invoice_row("Alpha", "F-1", TODAY - days(200), D("100"),
                                         date_facture=TODAY - days(230))])
    t = tableau_of(project)
    assert t.dso is None and t.encours == D("100.00")
    assert [b.nombre for b in t.balance] == [0, 0, 0, 0, 1]


def run(project: Path, command, *args: str):
    result = CliRunner().invoke(command, ["--config", str(project / "config.toml"),
                                          "--date", TODAY.isoformat(), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def dashboard_values(path: Path) -> dict[str, object]:
    sheet = openpyxl.load_workbook(path)["Tableau de bord"]
    return {row[0].value: row[1].value for row in sheet.iter_rows() if row[0].value}


def test_the_run_writes_the_dashboard_sheet_with_two_native_charts(known):
    workbook = known / "relances.xlsx"
    run(known, relancer)
    book = openpyxl.load_workbook(workbook)
    sheet = book["Tableau de bord"]
    assert sheet["A1"].value == "Tableau de bord au 22/11/2026"
    values = dashboard_values(workbook)
    assert values["Encours clients (factures ouvertes)"] == 5500
    assert values["dont échu"] == 5000
    assert values["31 à 60 jours"] == 3000
    assert values["Beta  ★"] == 3000 and values["Delta"] == 800
    assert sheet["B6"].number_format == '#,##0.00\\ "€";[Red]\\-#,##0.00\\ "€"'
    charts = sheet._charts
    assert len(charts) == 2
    assert [type(c).__name__ for c in charts] == ["BarChart", "BarChart"]
    # The Pareto chart is bars plus a line on a second axis, read from the sheet's cells.
    assert any(type(extra).__name__ == "LineChart" for extra in charts[1]._charts)
    # A second run the same day changes nothing: the file is left alone.
    stamp = workbook.read_bytes()
    again = run(known, relancer)
    assert "Classeur déjà à jour" in again.output and workbook.read_bytes() == stamp


@needs_libreoffice
def test_libreoffice_opens_the_dashboard_and_its_charts(known, tmp_path):
    run(known, relancer)
    done, converted = libreoffice_resave(known / "relances.xlsx", tmp_path / "lo")
    assert done.returncode == 0, done.stderr
    values = dashboard_values(converted)
    assert values["Encours clients (factures ouvertes)"] == 5500
    assert len(openpyxl.load_workbook(converted)["Tableau de bord"]._charts) == 2


def test_rapport_reads_only_and_prints_the_figures(known):
    workbook = known / "relances.xlsx"
    data = workbook.read_bytes()
    result = run(known, rapport)
    assert result.exit_code == 0, result.output
    text = result.output.replace("\u202f", " ").replace("\xa0", " ")
    assert "Encours clients au 22/11/2026 — relances.xlsx" in text
    assert "Encours (factures ouvertes)  5 500,00 €  5 facture(s), 4 client(s)" in text
    assert "DSO sur 90 jours" in text and "83,8 jours" in text
    assert "Beta ★" in text and "Plus de 90 jours" in text
    assert workbook.read_bytes() == data and not (known / "relances.journal.sqlite").exists()


def test_rapport_json_has_every_figure(known):
    figures = json.loads(run(known, rapport, "--json").output)
    assert (figures["receivable"], figures["overdue"], figures["dso_days"]) == (5500, 5000, 83.8)
    assert [b["amount"] for b in figures["aged_balance"]] == [500, 1000, 3000, 800, 200]
    assert [(d["client"], d["cumulative_share"], d["pareto"])
            for d in figures["top_debtors"]] == [("Beta", 54.5, True), ("Alpha", 81.8, True),
                                                 ("Delta", 96.4, False), ("Gamma", 100, False)]
    assert figures["disputes"] == {"amount": 800, "count": 1}
    assert figures["promises_due"][0]["invoices"] == ["F-1001"]
    assert figures["broken_promises"][0]["client"] == "Beta"
    assert figures["actions_today"] >= 1


def test_rapport_pdf_is_one_page_with_two_charts(known, tmp_path):
    target = tmp_path / "rapport.pdf"
    result = run(known, rapport, "--pdf", str(target))
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(target.read_bytes()))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text().replace("\u202f", " ").replace("\xa0", " ")
    assert "Encours clients" in text and "5 500,00 €" in text and "Balance âgée" in text
    # The two charts are vector drawings in the page (SVG turned into PDF paths).
    content = reader.pages[0].get_contents().get_data()
    assert content.count(b" re") + content.count(b" l\n") > 20


def company(folder: Path, rows, broken: bool = False) -> None:
    from relances.exemple import write_workbook

    folder.mkdir()
    copy_config(folder)
    if broken:
        (folder / "config.toml").write_text("[regles\n", "utf-8")
    write_workbook(folder / "relances.xlsx", rows, CLIENTS)


def test_rapport_tous_gives_one_row_per_company_and_names_the_broken_one(tmp_path):
    company(tmp_path / "alpha-sarl", ROWS)
    company(tmp_path / "beta-sas", ROWS[:2])
    company(tmp_path / "casse", ROWS, broken=True)
    (tmp_path / "pas-une-entreprise").mkdir()
    result = CliRunner().invoke(rapport, ["--tous", str(tmp_path), "--date", "2026-11-22"])
    assert result.exit_code == 2
    lines = result.output.replace("\u202f", " ").replace("\xa0", " ").splitlines()
    assert any(l.strip().startswith("alpha-sarl") and "5 500,00 €" in l for l in lines)
    assert any(l.strip().startswith("beta-sas") and "1 500,00 €" in l for l in lines)
    assert any(l.strip().startswith("casse") and "ERREUR" in l and "config.toml" in l
               for l in lines)
    figures = json.loads(CliRunner().invoke(rapport, ["--tous", str(tmp_path), "--date",
                                                      "2026-11-22", "--json"]).output)
    assert [c["company"] for c in figures["companies"]] == ["alpha-sarl", "beta-sas", "casse"]
    assert "error" in figures["companies"][2]


def test_report_counts_what_the_run_would_do(known):
    tableau = report(load_config(known / "config.toml"), TODAY)
    assert tableau.extra["actions"] >= 1 and tableau.appels >= 0
