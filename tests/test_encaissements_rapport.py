"""rapport.py --encaissements: the payments of a period, per invoice, with their VAT per rate
(issue 22, e-reporting of payments), on a real workbook and a real journal."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from conftest import TODAY, client_row, d, days, invoice_row
from relances.cli.rapport import rapport
from relances.config import load_config
from relances.journal import Journal
from relances.rapports.encaissements import ventiler

PAIEMENTS = ("Date", "Montant", "Client", "Factures", "Libellé", "Source", "Référence",
             "Statut")

def book(small_project, paiements, importees=()):
    """A workbook with its sheet Paiements, and a journal holding the imported e-invoices."""
    import openpyxl

    folder = small_project(
        [invoice_row(numero="F-1", montant=Decimal("1200")),
         invoice_row(numero="F-2", montant=Decimal("300")),
         invoice_row(numero="F-4", montant=Decimal("100"), paye=Decimal("40"),
                     echeance=TODAY - days(30)),
         invoice_row(numero="F-5", montant=Decimal("200"), echeance=TODAY - days(10)),
         invoice_row(client="Beta", numero="F-3", montant=Decimal("1000"))],
        [client_row(), client_row("Beta", "b@beta.fr")])
    path = folder / "relances.xlsx"
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.create_sheet("Paiements")
    sheet.append(PAIEMENTS)
    for row in paiements:
        sheet.append(row)
    workbook.save(path)
    journal = Journal.open(load_config(folder / "config.toml").journal)
    journal.record_imported([
        (f"cle-{numero}", numero, client, f"{numero}.pdf", "2026-10-01",
         json.dumps([{"taux": t, "base": b, "montant": m} for t, b, m in lignes]))
        for numero, client, lignes in importees])
    journal.close()
    return folder


def run(folder, *args):
    result = CliRunner().invoke(rapport, ["--config", str(folder / "config.toml"),
                                          "--encaissements", *args])
    return result


def parse(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


ROWS = [
    (d("2026-10-28"), 200, "Alpha", "F-1", "VIR ALPHA", "banque", None, None),  # before
    (d("2026-11-05"), 700, "Alpha", "F-1", "VIR ALPHA", "banque", None, None),  # partial
    (d("2026-11-10"), 400, "Beta", None, "VIR BETA", "banque", None, None),  # client only
    (d("2026-11-12"), 500, "Alpha", "F-2", "erreur", "à la main", None, "annulé"),
    (d("2026-11-15"), 300, "Alpha", "F-2", "chèque", "à la main", None, None),
    (d("2026-11-20"), 250, "Alpha", "F-5; F-4", "VIR ALPHA", "banque", None, None),
    (d("2026-12-01"), 100, "Alpha", "F-1", "VIR ALPHA", "banque", None, None),  # after
]
IMPORTEES_F1_F3 = [
    ("F-1", "Alpha", [("20.00", "500.00", "100.00"), ("10.00", "545.45", "54.55")]),
    ("F-3", "Beta SA", [("20.00", "833.33", "166.67")]),
]


def test_the_periods_payments_are_listed_per_invoice_with_their_vat_per_rate(small_project):
    folder = book(small_project, ROWS, IMPORTEES_F1_F3)
    result = run(folder, "2026-11-01", "30/11/2026")
    assert result.exit_code == 0, result.output
    rows = parse(result.stdout_bytes)
    assert list(rows[0]) == ["Date encaissement", "Client", "N° facture", "Montant encaissé",
                             "Base HT 20\u202f%", "TVA 20\u202f%", "Base HT 10\u202f%",
                             "TVA 10\u202f%", "Remarque", "Source"]
    got = [(r["Date encaissement"], r["Client"], r["N° facture"], r["Montant encaissé"],
            r["Base HT 20\u202f%"], r["TVA 20\u202f%"], r["Base HT 10\u202f%"],
            r["TVA 10\u202f%"], r["Remarque"]) for r in rows]
    assert got == [
        # 700 of 1 200: 7/12 of each line of the invoice's breakdown, to the cent.
        ("05/11/2026", "Alpha", "F-1", "700,00", "291,67", "58,33", "318,18", "31,82", ""),
        # Beta named no invoice: the client account put it on F-3 (the buyer's name on the
        # e-invoice, « Beta SA », is not the workbook's: the number alone tells it).
        ("10/11/2026", "Beta", "F-3", "400,00", "333,33", "66,67", "", "", ""),
        ("15/11/2026", "Alpha", "F-2", "300,00", "", "", "", "",
         "TVA inconnue (facture non importée)"),
        # Oldest first, each up to what it still owed: F-4 had 40 paid (Payé column).
        ("20/11/2026", "Alpha", "F-4", "60,00", "", "", "", "",
         "TVA inconnue (facture non importée)"),
        ("20/11/2026", "Alpha", "F-5", "190,00", "", "", "", "",
         "TVA inconnue (facture non importée)"),
    ]
    assert rows[0]["Source"] == "Paiements, ligne 3"
    assert "compte client" in rows[1]["Source"]
    for r in rows:  # base and VAT add up to the amount received
        parts = [r[k] for k in r if k.startswith(("Base", "TVA")) and r[k]]
        if parts:
            assert sum(Decimal(p.replace(",", ".")) for p in parts) == \
                Decimal(r["Montant encaissé"].replace(",", "."))


def test_the_csv_is_written_to_a_file_and_the_workbook_left_alone(small_project):
    folder = book(small_project, ROWS, IMPORTEES_F1_F3)
    before = (folder / "relances.xlsx").read_bytes()
    target = folder / "encaissements.csv"
    result = run(folder, "01/11/2026", "2026-11-30", "--sortie", str(target))
    assert result.exit_code == 0, result.output
    assert "5 ligne(s) d’encaissement du 01/11/2026 au 30/11/2026" in result.stdout
    assert "1\u202f650,00\u00a0€" in result.stdout
    assert [r["N° facture"] for r in parse(target.read_bytes())] == [
        "F-1", "F-3", "F-2", "F-4", "F-5"]
    assert (folder / "relances.xlsx").read_bytes() == before
    # The workbook is never taken for the output.
    result = run(folder, "2026-11-01", "2026-11-30", "--sortie", str(folder / "relances.xlsx"))
    assert result.exit_code == 2 and "le classeur" in result.stderr
    assert (folder / "relances.xlsx").read_bytes() == before


def test_without_imported_invoices_every_vat_is_said_unknown(small_project):
    folder = book(small_project, ROWS[:3])
    rows = parse(run(folder, "2026-10-01", "2026-10-31").stdout_bytes)
    assert [(r["Date encaissement"], r["N° facture"], r["Montant encaissé"], r["Remarque"])
            for r in rows] == [("28/10/2026", "F-1", "200,00",
                                "TVA inconnue (facture non importée)")]
    assert list(rows[0]) == ["Date encaissement", "Client", "N° facture", "Montant encaissé",
                             "Remarque", "Source"]


def test_an_unreadable_payment_is_reported_and_the_exit_status_says_incomplete(small_project):
    folder = book(small_project, [ROWS[1], (d("2026-11-08"), "quarante", "Alpha", "F-2",
                                            "", "", None, None)], IMPORTEES_F1_F3)
    result = run(folder, "2026-11-01", "2026-11-30")
    assert result.exit_code == 1
    assert [r["N° facture"] for r in parse(result.stdout_bytes)] == ["F-1"]
    assert "Attention" in result.stderr and "quarante" in result.stderr


@pytest.mark.parametrize("args, message", [
    (("2026-11-31", "2026-12-01"), "n’est pas une date qui existe"),
    (("novembre", "2026-12-01"), "AAAA-MM-JJ ou JJ/MM/AAAA"),
    (("2026-12-01", "2026-11-01"), "précède le début"),
])
def test_a_bad_period_is_refused_in_french(small_project, args, message):
    folder = book(small_project, ROWS)
    result = run(folder, *args)
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("montant, lignes, attendu", [
    ("700", [("20", "500", "100"), ("10", "545.45", "54.55")],
     [("20", "291.67", "58.33"), ("10", "318.18", "31.82")]),
    ("100", [("20", "33.33", "6.67"), ("5.5", "33.33", "1.83"), ("0", "24.84", "0")],
     [("20", "33.33", "6.67"), ("5.5", "33.33", "1.83"), ("0", "24.84", "0.00")]),
    ("0.01", [("20", "50", "10"), ("10", "36.36", "3.64")], [("20", "0.01", "0.00"),
                                                            ("10", "0.00", "0.00")]),
    ("-50", [("20", "100", "20")], [("20", "-41.67", "-8.33")]),
])
def test_the_vat_split_adds_up_to_the_cent(montant, lignes, attendu):
    parts = ventiler(Decimal(montant), [tuple(Decimal(x) for x in ligne) for ligne in lignes])
    assert [(p.taux, p.base, p.tva) for p in parts] == [
        (Decimal(t), Decimal(b), Decimal(m)) for t, b, m in attendu]
    assert sum(p.base + p.tva for p in parts) == Decimal(montant)
