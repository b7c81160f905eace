"""The user's sheets Échanges, Échéanciers and Paiements: a sheet or a row the tool cannot read
holds the clients it may concern, never releases them; a renamed sheet is found again."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from relances.cli import relancer

from conftest import TODAY, client_row, days, invoice_row

ECHANGES = ("Date", "Client", "Factures", "Interlocuteur", "Fonction", "Coordonnées", "Canal",
            "Ce qui a été dit", "Promesse de paiement", "Montant promis", "Résultat",
            "Rappeler le")
PAIEMENTS = ("Date", "Montant", "Client", "Factures", "Libellé", "Source", "Référence")
ECHEANCIERS = ("N° facture", "Date", "Montant")
HEADERS = {"Échanges": ECHANGES, "Paiements": PAIEMENTS, "Échéanciers": ECHEANCIERS}


def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", TODAY.isoformat(), *args])
    assert "Traceback" not in result.output and "erreur inattendue" not in result.output, \
        result.output
    return result


def plan(folder: Path) -> dict:
    return json.loads(run(folder, "--json", "--dry-run").stdout)


def chased(result: dict) -> set[str]:
    return {a["client"] for a in result["actions"]}


@pytest.fixture
def book(small_project):
    """Alpha (F-2026-002, F-2026-003) and Beta (F-2026-010) are late; `make(sheets)` adds user
    sheets, each a header then rows (or a callable that changes the openpyxl sheet)."""

    def make(sheets: dict[str, list] | None = None, headers: dict | None = None,
             change=None) -> Path:
        folder = small_project(
            [invoice_row(numero="F-2026-002", echeance=TODAY - days(20)),
             invoice_row(numero="F-2026-003", echeance=TODAY - days(15)),
             invoice_row(client="Beta", numero="F-2026-010", echeance=TODAY - days(20))],
            [client_row(), client_row("Beta", "b@beta.fr")])
        path = folder / "relances.xlsx"
        workbook = openpyxl.load_workbook(path)
        for name, rows in (sheets or {}).items():
            sheet = workbook.create_sheet(name)
            sheet.append((headers or {}).get(name, HEADERS.get(name)))
            for row in rows:
                sheet.append(row)
        if change:
            change(workbook)
        workbook.save(path)
        return folder

    return make


def errors(result: dict, sheet: str | None = None) -> list[str]:
    return [e["message"] for e in result["errors"] if sheet is None or e["sheet"] == sheet]


# ------------------------------------------------------------ headers that hide a column


@pytest.mark.parametrize("sheet, headers, column", [
    ("Échanges", ("Date", "Client", "Promesse de paiement", "Date de l'échange"), "Date"),
    ("Paiements", ("Date", "Montant", "Client", "Montant reçu"), "Montant"),
    ("Échéanciers", ("N° facture", "Date", "Montant", "Montant de l'échéance"), "Montant"),
])
def test_a_column_that_matters_twice_in_a_user_sheet_holds_everyone(book, sheet, headers,
                                                                     column):
    folder = book({sheet: []}, headers={sheet: headers})
    result = plan(folder)
    assert result["actions"] == []
    (message,) = errors(result, sheet)
    assert f"feuille {sheet} illisible : colonne « {column} » en double" in message
    assert f"« {headers[-1]} »" in message  # the columns are named with their headers
    assert "aucun client n’est relancé" in message


def test_a_merged_header_over_a_needed_column_of_paiements_holds_everyone(book):
    def merge(workbook):
        workbook["Paiements"].merge_cells("B1:C1")  # « Montant » now also covers Client

    folder = book({"Paiements": [(TODAY - days(2), 1000, "Alpha", "F-2026-002")]},
                  change=merge)
    result = plan(folder)
    assert result["actions"] == []
    (message,) = errors(result, "Paiements")
    assert "cellules d’en-tête fusionnées (B1:C1) sur la colonne « Montant »" in message


@pytest.mark.parametrize("sheet, headers, missing", [
    ("Échanges", ("Jour", "Client", "Promesse de paiement"), "« Date »"),
    ("Paiements", ("Date", "Somme", "Client", "Factures"), "« Montant »"),
    ("Échéanciers", ("Numéro", "Date", "Montant"), "« N° facture »"),
])
def test_a_needed_column_not_found_holds_everyone_and_names_the_headers_read(book, sheet,
                                                                            headers, missing):
    folder = book({sheet: [("x", "y", "z")]}, headers={sheet: headers})
    result = plan(folder)
    assert result["actions"] == []
    (message,) = errors(result, sheet)
    assert f"colonne(s) {missing} introuvable(s) en ligne 1" in message
    assert f"« {headers[0]} »" in message


# ------------------------------------------------------------ rows that cannot be read


def test_an_unreadable_payment_of_a_client_missing_from_clients_holds_its_invoices(book):
    def drop_beta(workbook):  # Beta's address is then in Factures' own Email column
        workbook["Clients"].delete_rows(3)
        factures = workbook["Factures"]
        factures["Q1"] = "Email"
        factures["Q4"] = "b@beta.fr"

    folder = book({"Paiements": [(TODAY - days(2), "mille", "Beta", "F-2026-010")]},
                  change=drop_beta)
    result = plan(folder)
    assert chased(result) == {"Alpha"}
    assert any("mille" in m and "Beta non relancé" in m for m in errors(result, "Paiements"))


def test_an_unreadable_payment_of_an_unknown_client_holds_everyone(book):
    folder = book({"Paiements": [(TODAY - days(2), "mille", "Gamma", None)]})
    result = plan(folder)
    assert result["actions"] == []
    (message,) = errors(result, "Paiements")
    assert "client « Gamma » inconnu : aucun client relancé" in message


def test_an_exchange_without_client_that_promises_holds_the_invoices_it_lists(book):
    folder = book({"Échanges": [(TODAY - days(2), None, "F-2026-010", None, None, None, None,
                                 "virement vendredi", TODAY + days(5))]})
    result = plan(folder)
    assert chased(result) == {"Alpha"}
    (message,) = errors(result, "Échanges")
    assert message.startswith("Client vide — Beta non relancé")


def test_an_exchange_promising_for_an_unknown_client_holds_everyone(book):
    folder = book({"Échanges": [(TODAY - days(2), "Alfa", None, None, None, None, None,
                                 "virement vendredi", TODAY + days(5))]})
    result = plan(folder)
    assert result["actions"] == []
    (message,) = errors(result, "Échanges")
    assert "client « Alfa » absent de la feuille Factures" in message
    assert "aucun client relancé" in message


def test_an_instalment_without_invoice_number_holds_everyone(book):
    folder = book({"Échéanciers": [(None, TODAY + days(10), 500)]})
    result = plan(folder)
    assert result["actions"] == []
    (message,) = errors(result, "Échéanciers")
    assert message.startswith("N° facture (A2) : vide — aucun client relancé")


# ------------------------------------------------------------ invoice numbers that match none


@pytest.mark.parametrize("sheet, row, column", [
    ("Échanges", (TODAY - days(2), "Alpha", "F-2026-02", None, None, None, None, "vendredi",
                  TODAY + days(5)), "C"),
    ("Paiements", (TODAY - days(2), 1000, None, "F-2026-02", "VIR"), "D"),
    ("Échéanciers", ("F-2026-02", TODAY + days(10), 1000), "A"),
])
def test_a_number_close_to_an_invoice_is_reported_and_holds_its_client(book, sheet, row, column):
    folder = book({sheet: [row]})
    result = plan(folder)
    assert "Alpha" not in chased(result)
    messages = [m for m in errors(result, sheet) if "F-2026-02 :" in m]
    (message,) = messages
    assert (": F-2026-02 : aucune facture de ce numéro ; vouliez-vous dire F-2026-002 ?"
            in message)
    assert f"({column}2)" in message and "Alpha non relancé" in message or \
        "aucun client relancé" in message


@pytest.mark.parametrize("typed", ["f 2026 002", "F2026-0002", "F-2026-0O2", "F-2026-02"])
def test_numbers_written_otherwise_or_one_key_away_are_close(typed):
    from relances.xlsx.feuilles import Numeros
    from conftest import facture

    numeros = Numeros([facture("F-2026-002"), facture("F-2026-010", client="Beta")])
    assert [f.numero for f in numeros.proches(typed)] == ["F-2026-002"]
    assert numeros.proches("F-2027-099") == []


def test_a_payment_naming_a_number_that_matches_nothing_holds_its_client(book):
    folder = book({"Paiements": [(TODAY - days(2), 1000, "Alpha", "X-99", "VIR")]})
    result = plan(folder)
    assert chased(result) == {"Beta"}
    (message,) = errors(result, "Paiements")
    assert message.startswith("Factures (D2) : X-99 : aucune facture de ce numéro — paiement "
                              "non compté, Alpha non relancé")


# ------------------------------------------------------------ a promise that cannot be right


def test_a_promise_dated_before_its_exchange_is_reported_and_not_chased_on(book):
    folder = book({"Échanges": [(TODAY - days(2), "Alpha", "F-2026-002", None, None, None,
                                 None, "virement", TODAY - days(12))]})
    result = plan(folder)
    assert chased(result) == {"Alpha", "Beta"}  # Alpha for F-2026-003 only
    (alpha,) = [a for a in result["actions"] if a["client"] == "Alpha"]
    assert alpha["invoices"] == ["F-2026-003"] and alpha["step"] != "promesse_non_tenue"
    (message,) = errors(result, "Échanges")
    assert message == ("Alpha : Promesse de paiement (I2) : 10/11/2026, antérieure à la date de "
                       "l’échange (20/11/2026) : promesse non retenue — facture(s) F-2026-002 "
                       "non relancée(s) tant que la ligne n’est pas corrigée")


# ------------------------------------------------------------ a renamed user sheet


def test_a_renamed_echanges_sheet_is_found_by_its_headers_and_never_doubled(book):
    folder = book({"Echanges 2026": [(TODAY - days(2), "Alpha", None, None, None, None, None,
                                      "virement", TODAY + days(5))]},
                  headers={"Echanges 2026": ECHANGES})
    result = plan(folder)
    assert chased(result) == {"Beta"}  # Alpha's promise is read
    assert any("feuille « Échanges » introuvable : « Echanges 2026 » a ses en-têtes" in m
               for m in errors(result))
    run(folder)  # a real run writes the workbook back
    names = openpyxl.load_workbook(folder / "relances.xlsx").sheetnames
    assert "Echanges 2026" in names and "Échanges" not in names
    assert "Paiements" in names and "Échéanciers" in names  # really missing: created


def test_imported_payments_go_to_the_renamed_paiements_sheet(book):
    from relances.cli import pointer

    folder = book({"Feuil3": [(TODAY - days(9), 50, "Alpha", "F-2026-003", "chèque")]},
                  headers={"Feuil3": PAIEMENTS})
    statement = folder / "releve.csv"
    statement.write_text(
        "Date;Libellé;Montant\n"
        f"{TODAY - days(1):%d/%m/%Y};VIR SEPA BETA REF F-2026-010;1000,00\n",
        encoding="utf-8")
    result = CliRunner().invoke(pointer, ["--config", str(folder / "config.toml"), "--date",
                                          TODAY.isoformat(), str(statement)])
    assert "Traceback" not in result.output, result.output
    workbook = openpyxl.load_workbook(folder / "relances.xlsx")
    assert "Paiements" not in workbook.sheetnames
    rows = list(workbook["Feuil3"].iter_rows(min_row=2, values_only=True))
    assert [r[1:4] for r in rows] == [(50, "Alpha", "F-2026-003"), (1000, "Beta", "F-2026-010")]


def test_two_sheets_that_could_be_paiements_are_reported_and_hold_everyone(book):
    folder = book({"Feuil3": [(TODAY - days(2), 1000, "Alpha", "F-2026-002")],
                   "Feuil4": [(TODAY - days(3), 500, "Beta", "F-2026-010")]},
                  headers={"Feuil3": PAIEMENTS, "Feuil4": PAIEMENTS})
    result = plan(folder)
    assert result["actions"] == []
    assert any("plusieurs feuilles ont ses en-têtes (« Feuil3 », « Feuil4 »)" in m
               for m in errors(result))
    run(folder)
    assert "Paiements" not in openpyxl.load_workbook(folder / "relances.xlsx").sheetnames
