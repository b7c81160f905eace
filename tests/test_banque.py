"""Bank statements: read in every format, matched to invoices, written into Paiements and À
vérifier, never imported twice, and taken into account before anyone is chased.

Statement fixtures (tests/fixtures/releves/) are small files shaped as the banks export them:
a Crédit Agricole CSV in cp1252 with a preamble, a multi-line label and Débit/Crédit columns;
a BNP Paribas Fortis CSV with a structured communication and a foreign currency line; a Qonto
CSV with a point as decimal mark; an OFX 1.02 (SGML) file with a decimal comma; a camt.053 with
two statements, a batch entry, a debit and a pending entry; and a camt file declaring entities.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from relances.banque import AVerifier, Affectation, read_releve
from relances.banque.operations import Operation, OptionsReleve
from relances.banque.rapprochement import match_operations, number_pattern
from relances.banque.releves import ReleveError
from relances.cli import pointer, relancer
from relances.config import load_config
from relances.errors import ConfigError
from relances.records import normalise
from relances.xlsx.package import Package

from conftest import ROOT, facture, libreoffice_resave, needs_libreoffice

RELEVES = ROOT / "tests" / "fixtures" / "releves"
D = Decimal


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def op(libelle="", montant="100.00", contrepartie="", reference="", cle="x") -> Operation:
    return Operation(cle, d("2026-11-20"), D(montant), libelle, contrepartie, reference)


# ------------------------------------------------------------------ reading


def credits(name: str, **options) -> list[tuple]:
    releve = read_releve(RELEVES / name, OptionsReleve(**options))
    assert not releve.anomalies, releve.anomalies
    return [(o.jour, o.montant, o.libelle, o.contrepartie, o.reference)
            for o in releve.operations]


def test_a_cp1252_csv_with_preamble_multiline_label_and_two_amount_columns():
    releve = read_releve(RELEVES / "credit-agricole.csv")
    assert releve.format == "CSV" and releve.debits == 1 and releve.fin == d("2026-11-20")
    assert credits("credit-agricole.csv") == [
        (d("2026-11-20"), D("1534.60"), "VIR SEPA BOULANGERIE MARTIN FACT F2026031 F2026044",
         "", ""),
        (d("2026-11-18"), D("480.00"), "VIR INST RF06 F202 6027 ROUSSEAU JULIE", "", ""),
        (d("2026-11-17"), D("2000.00"), "VIR SEPA GARAGE LEROY ACOMPTE", "", ""),
        (d("2026-11-16"), D("265.00"), "REMISE CHEQUE 1234567", "", ""),
    ]
    # Each line keeps the line it starts on, after the multi-line label too.
    assert [o.ligne for o in releve.operations] == [6, 9, 10, 11]


def test_a_belgian_csv_with_signed_amounts_bank_ids_and_another_currency():
    releve = read_releve(RELEVES / "bnp-paribas-fortis.csv")
    assert [o.cle for o in releve.operations] == ["BE68539007547034:2026-00125",
                                                  "BE68539007547034:2026-00123"]
    assert releve.debits == 1
    assert releve.ignorees == ("ligne 5 : devise USD, non rapprochée",)
    first = releve.operations[0]
    assert first.contrepartie == "BOULANGERIE MARTIN SRL"
    assert "+++000/2026/03189+++" in first.libelle


def test_a_csv_with_a_decimal_point_commas_and_iso_dates():
    assert credits("qonto.csv") == [
        (d("2026-11-20"), D("3200.00"), "", "CABINET ROUX", "Virement facture novembre"),
        (d("2026-11-18"), D("980.00"), "", "TRANSPORTS MOREAU", ""),
    ]


def test_an_ofx_file_with_a_decimal_comma_and_long_names():
    releve = read_releve(RELEVES / "releve.ofx")
    assert releve.format == "OFX" and releve.fin == d("2026-11-21") and releve.debits == 1
    assert [(o.cle, o.jour, o.montant) for o in releve.operations] == [
        ("0000123456F:2026112000001", d("2026-11-20"), D("1534.60")),
        ("0000123456F:2026111800003", d("2026-11-18"), D("480.00")),  # the bank's own day
        ("0000123456F:2026111700004", d("2026-11-17"), D("265.00")),
    ]
    assert releve.operations[0].libelle.endswith("FACT F-2026-031 ET F-2026-044")


def test_a_camt053_with_statements_batches_structured_references_and_pending_entries():
    releve = read_releve(RELEVES / "camt053.xml")
    assert releve.format == "camt.053" and releve.fin == d("2026-11-21")
    assert releve.debits == 1 and releve.ignorees == ("écriture 4 : statut PDNG (non "
                                                      "comptabilisée)",)
    iban = "FR7630001007941234567890185"
    assert [(o.cle, o.montant, o.contrepartie, o.reference) for o in releve.operations] == [
        (f"{iban}:BQ-0001", D("480.00"), "ROUSSEAU JULIE", "RF06F2026027"),
        (f"{iban}:BQ-0002-1", D("1534.60"), "BOULANGERIE MARTIN", ""),  # one batch, two
        (f"{iban}:BQ-0002-2", D("2120.00"), "IMPRIMERIE BLANC", ""),    # transfers
        (f"{iban}:BQ-0005", D("890.00"), "IMPRIMERIE BLANC", ""),
    ]


def test_an_xml_file_declaring_entities_is_refused():
    with pytest.raises(ReleveError, match="déclare un type de document"):
        read_releve(RELEVES / "camt053-entites.xml")


@pytest.mark.parametrize("content, message", [
    (b"%PDF-1.7\n", "relevé PDF"),
    (b"PK\x03\x04rest", "fichier Excel"),
    (b"Bonjour;tout;le;monde\n1;2;3;4\n", "en-tête introuvable"),
    (b"<html><body>non</body></html>", "ni un relevé camt.053"),
])
def test_what_is_not_a_statement_is_said_in_french(tmp_path, content, message):
    path = tmp_path / "releve.csv"
    path.write_bytes(content)
    with pytest.raises(ReleveError, match=message):
        read_releve(path)


@pytest.mark.parametrize("content", [
    b"", b"Date;Libelle;Montant\n",
    b"Date;Libelle;Montant\n20/11/2026;\"" + b"A" * 200_000 + b"\";10,00\n",
    b";".join([b"c"] * 100_000) + b"\n",
    b"Date;Libelle;Montant\n20/11/2026;\"VIR A;10,00\n",
    b"OFXHEADER:100\n<OFX><STMTTRN><TRNAMT>abc</OFX>",
    b'<?xml version="1.0"?><Document><BkToCstmrStmt>' + b"<a>" * 50_000 + b"</a>" * 50_000
    + b"</BkToCstmrStmt></Document>",
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>'
    b'<Ntry><Amt Ccy="EUR">1e99999</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-02-31'
    b'</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>',
])
def test_hostile_statements_give_a_message_never_a_traceback(tmp_path, content):
    path = tmp_path / "releve.csv"
    path.write_bytes(content)
    try:
        releve = read_releve(path)
    except ReleveError as exc:
        assert str(exc).startswith("releve.csv : ")
        return
    assert all(a.row is not None for a in releve.anomalies)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=400),
                 st.text(alphabet="Date;Libellé,Montant Crédit Débit\n\r\"0123456789/.-+€",
                         max_size=400).map(lambda t: t.encode("utf-8"))))
def test_any_bytes_read_or_refused_in_french(tmp_path, content):
    path = tmp_path / "releve.csv"
    path.write_bytes(content)
    try:
        read_releve(path)
    except ReleveError:
        pass


def test_a_utf16_export_is_read(tmp_path):
    path = tmp_path / "releve.txt"
    path.write_bytes("Date\tLibellé\tMontant\n20/11/2026\tVIR ALPHA\t10,00\n".encode("utf-16"))
    (operation,) = read_releve(path).operations
    assert operation.libelle == "VIR ALPHA" and operation.montant == D("10.00")


def test_a_line_with_a_date_and_no_amount_is_reported(tmp_path):
    path = tmp_path / "releve.csv"
    path.write_text("Date;Libellé;Montant\n20/11/2026;VIR A;\n21/11/2026;VIR B;5,00\n", "utf-8")
    releve = read_releve(path)
    assert [o.libelle for o in releve.operations] == ["VIR B"]
    assert [(a.row, a.message) for a in releve.anomalies] == [(2, "ligne 2 : montant vide")]


def test_bad_lines_are_reported_with_their_line_and_the_others_read(tmp_path):
    path = tmp_path / "releve.csv"
    path.write_text("Date;Libellé;Montant\n20/11/2026;VIR A;100,00\n31/02/2026;VIR B;50,00\n"
                    "21/11/2026;VIR C;douze\n22/11/2026;VIR D;30,00\nSolde final;;1000,00\n",
                    "utf-8")
    releve = read_releve(path)
    assert [o.libelle for o in releve.operations] == ["VIR A", "VIR D"]
    assert [(a.row, a.message) for a in releve.anomalies] == [
        (3, "ligne 3, colonne « Date » : date illisible « 31/02/2026 »"),
        (4, "ligne 4, colonne « Montant » : montant illisible « douze »"),
    ]
    assert "Solde final" in releve.ignorees[0]  # the footer is set aside, and said


def test_config_overrides_read_a_headerless_export(tmp_path):
    path = tmp_path / "lcl.csv"
    path.write_text("20.11.26;Virement Alpha;+1.234,56\n21.11.26;Carte;-12,00\n", "cp1252")
    with pytest.raises(ReleveError, match="en-tête introuvable"):
        read_releve(path)
    options = OptionsReleve(colonnes={"date": "1", "libelle": "2", "montant": "3"})
    releve = read_releve(path, options)
    assert [(o.jour, o.montant, o.libelle) for o in releve.operations] == [
        (d("2026-11-20"), D("1234.56"), "Virement Alpha")]


def test_identical_lines_of_one_day_are_two_payments_and_keys_are_stable(tmp_path):
    path = tmp_path / "releve.csv"
    path.write_text("Date;Libellé;Montant\n20/11/2026;VIR ALPHA;50,00\n20/11/2026;VIR ALPHA;50,00\n",
                    "utf-8")
    first = [o.cle for o in read_releve(path).operations]
    assert len(set(first)) == 2
    path.write_text("Date;Libellé;Montant\n19/11/2026;AUTRE;10,00\n20/11/2026;VIR ALPHA;50,00\n"
                    "20/11/2026;vir  alpha;50,00\n", "utf-8")  # a longer export of the same days
    again = [o.cle for o in read_releve(path).operations]
    assert again[1:] == first


def test_banque_config_is_checked(tmp_path):
    path = tmp_path / "config.toml"
    for text, message in (
            ('[banque]\nseparateur = ";;"\n', "banque.separateur : un seul caractère"),
            ('[banque]\nencodage = "klingon"\n', "banque.encodage : encodage inconnu"),
            ('[banque]\ndecimale = "virgule"\n', "banque.decimale"),
            ('[banque]\nformat_date = "%Y"\n', "banque.format_date : format de date invalide"),
            ('[banque.colonnes]\ndate = 1\nmontant = "Montant"\n', "toutes par leur numéro"),
            ('[regles]\npaiements_a_jour_max_jours = -1\n', "paiements_a_jour_max_jours")):
        path.write_text(text, "utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(path)
    path.write_text('[banque]\nseparateur = "tab"\nencodage = "cp1252"\n'
                    '[banque.colonnes]\ndate = "Jour"\n', "utf-8")
    banque = load_config(path).banque
    assert banque.separateur == "\t" and banque.colonnes == {"date": "Jour"}


# ------------------------------------------------------------------ matching

OPEN = [
    facture("F-2026-031", "Boulangerie Martin", d("2026-11-18"), "1180.00"),
    facture("F-2026-044", "Boulangerie Martin", d("2026-11-19"), "354.60"),
    facture("F-2026-050", "Boulangerie Martin", d("2026-11-25"), "200.00"),
    facture("F-2026-012", "Garage Leroy", d("2026-11-05"), "4800.00"),
    facture("F-2026-019", "Garage Leroy", d("2026-10-01"), "2150.00"),
    facture("F-2026-027", "Julie Rousseau", d("2026-11-17"), "900.00", "300.00"),
    facture("AV-2026-002", "Julie Rousseau", d("2026-11-02"), "-120.00"),
    facture("F-2026-040", "Café du Commerce", d("2026-11-15"), "265.00"),
    facture("F-2026-029", "Imprimerie Blanc", d("2026-11-10"), "890.00", "890.00"),
]


def outcome(operation: Operation, factures=OPEN):
    (found,) = match_operations([operation], factures)
    return found


@pytest.mark.parametrize("libelle, reference", [
    ("VIR INST RF92 F202 6031", ""),
    ("VIR SEPA", "RF92F2026031"),
    ("COMMUNICATION +++000/2026/03189+++", ""),
    ("", "000202603189"),
])
def test_a_structured_reference_pays_its_invoice(libelle, reference):
    found = outcome(op(libelle, "1180.00", reference=reference))
    assert isinstance(found, Affectation) and found.factures == ("F-2026-031",)
    assert found.motif == "référence de paiement" and not found.partiel


@pytest.mark.parametrize("libelle", ["FACT 2026-031", "F2026031", "fac.2026/031",
                                     "paiement facture F-2026-031 merci", "F 2026 031"])
def test_an_invoice_number_written_loosely_is_found(libelle):
    found = outcome(op(libelle, "1180.00"))
    assert isinstance(found, Affectation) and found.factures == ("F-2026-031",)


@pytest.mark.parametrize("libelle", ["VIR 12026031", "VIR 2026-0315", "REF 202603100"])
def test_an_invoice_number_inside_a_longer_number_is_not_found(libelle):
    assert isinstance(outcome(op(libelle, "1180.00")), AVerifier)


def test_short_invoice_numbers_are_not_looked_for_in_labels():
    assert number_pattern("12") is None and number_pattern("F-7") is None
    assert number_pattern("2026-12") is not None


def test_a_partial_payment_reduces_what_is_due():
    found = outcome(op("FACT F-2026-012 ACOMPTE", "1000.00"))
    assert isinstance(found, Affectation) and found.partiel
    # The next line of the same statement sees what remains: 3 800 €.
    first, second = match_operations([op("F-2026-012", "1000.00", cle="a"),
                                      op("F-2026-012", "3800.00", cle="b")], OPEN)
    assert isinstance(second, Affectation) and not second.partiel


def test_more_than_the_invoice_owes_is_for_a_person_to_decide():
    found = outcome(op("FACT F-2026-040", "300.00"))
    assert isinstance(found, AVerifier) and "dépasse ce qui reste dû" in found.motif


def test_a_payment_for_an_invoice_already_paid_is_for_a_person_to_decide():
    found = outcome(op("FACT F-2026-029", "890.00"))
    assert isinstance(found, AVerifier) and "déjà soldée" in found.motif
    assert [c.numero for c in found.candidats] == ["F-2026-029"]


def test_two_invoices_named_and_paid_together():
    found = outcome(op("FACT F2026031 F2026044", "1534.60"))
    assert isinstance(found, Affectation)
    assert found.factures == ("F-2026-031", "F-2026-044")


def test_a_client_named_and_the_exact_amount_of_one_of_its_invoices():
    found = outcome(op("VIR SEPA BOULANGERIE MARTIN SARL", "354.60"))
    assert isinstance(found, Affectation) and found.factures == ("F-2026-044",)
    assert found.motif == "client nommé, montant exact d’une facture"
    # A name the bank cut short only may be that client's: a person confirms, the client waits.
    cut = outcome(op("VIR SEPA BOULANGERIE MARTI", "354.60"))
    assert isinstance(cut, AVerifier) and "peut-être nommé" in cut.motif
    assert {c.client for c in cut.candidats} == {"Boulangerie Martin"}


def test_a_client_named_as_payer_and_the_exact_sum_of_several_invoices():
    found = outcome(op("VIREMENT", "1380.00", contrepartie="Boulangerie Martin SARL"))
    assert isinstance(found, Affectation) and found.factures == ("F-2026-031", "F-2026-050")
    assert found.motif == "client nommé, somme exacte de 2 factures"


def test_two_ways_to_add_up_the_amount_are_not_guessed():
    factures = [facture(f"F-{n}", "Alpha", d("2026-11-01"), m)
                for n, m in (("1001", "100"), ("1002", "200"), ("1003", "300"), ("1004", "400"))]
    found = outcome(op("VIR ALPHA", "500.00"), factures)
    assert isinstance(found, AVerifier) and "plusieurs combinaisons" in found.motif


def test_a_client_named_without_a_fitting_amount_lists_its_invoices():
    found = outcome(op("VIR SEPA GARAGE LEROY", "2000.00"))
    assert isinstance(found, AVerifier)
    assert {c.numero for c in found.candidats} == {"F-2026-012", "F-2026-019"}


def test_nothing_recognised_suggests_the_invoices_of_that_amount():
    found = outcome(op("REMISE CHEQUE 1234567", "265.00"))
    assert isinstance(found, AVerifier)
    assert [(c.client, c.numero) for c in found.candidats] == [("Café du Commerce",
                                                                "F-2026-040")]


def test_a_payment_of_what_was_asked_with_the_credit_note_deducted_is_not_partial():
    found = outcome(op("VIR RF06 F202 6027", "480.00"))
    assert isinstance(found, Affectation) and not found.partiel
    assert "avoir AV-2026-002 déduit" in found.motif


def test_a_structured_communication_shared_by_two_invoices_is_not_guessed():
    # An OGM keeps only the digits: F-2026-031 and G-2026-031 have the same one.
    factures = [*OPEN, facture("G-2026-031", "Garage Leroy", d("2026-11-01"), "1180.00")]
    found = outcome(op("+++000/2026/03189+++", "1180.00"), factures)
    assert isinstance(found, AVerifier) and "plusieurs clients" in found.motif


# ------------------------------------------------------------------ the import, end to end


class Ran:
    """A command's exit status and output, its no-break spaces made plain for comparing."""

    def __init__(self, result):
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.output
        self.exit_code = result.exit_code
        self.output = result.output.replace("\u202f", " ").replace("\xa0", " ")


def run_pointer(project: Path, *args: str) -> Ran:
    return Ran(CliRunner().invoke(pointer, ["--config", str(project / "config.toml"),
                                            "--date", "2026-11-22", *args]))


def run_relancer(project: Path, *args: str) -> Ran:
    return Ran(CliRunner().invoke(relancer, ["--config", str(project / "config.toml"),
                                             "--date", "2026-11-22", *args]))


def sheet_rows(path: Path, name: str) -> list[tuple]:
    book = openpyxl.load_workbook(path)
    return [tuple(c.value for c in row) for row in book[name].iter_rows(min_row=2)
            if any(c.value is not None for c in row)]


def planned(project: Path, *args: str) -> dict[str, list[str]]:
    result = run_relancer(project, "--dry-run", "--json", *args)
    plan = json.loads(result.output)
    return {a["client"]: a["invoices"] for a in plan["actions"]}


def test_an_import_writes_sure_payments_and_what_to_review_then_chasing_stops(project):
    statement = str(RELEVES / "credit-agricole.csv")
    before = planned(project)
    assert "Boulangerie Martin" in before and "Garage Leroy" in before

    result = run_pointer(project, statement)
    assert result.exit_code == 0, result.output
    assert "Paiements reconnus — 2, total 2 014,60 €" in result.output
    assert "2 ligne(s) ajoutée(s) à Paiements" in result.output
    workbook = project / "relances.xlsx"
    paiements = sheet_rows(workbook, "Paiements")
    assert [(r[0].date(), r[1], r[2], r[3]) for r in paiements] == [
        (d("2026-11-18"), 480, "Julie Rousseau", "F-2026-027"),
        (d("2026-11-20"), 1534.6, "Boulangerie Martin", "F-2026-031, F-2026-044"),
    ]
    assert all(r[5].startswith("relevé h") for r in paiements)
    assert [r[6] for r in paiements] == ["RF06 F202 6027", None]  # the reference it carried
    review = sheet_rows(workbook, "À vérifier")
    assert [(r[1].date(), r[2]) for r in review] == [(d("2026-11-16"), 265),
                                                    (d("2026-11-17"), 2000)]
    assert "F-2026-040 (Café du Commerce" in review[0][4]

    after = planned(project)
    assert "Boulangerie Martin" not in after     # paid: never chased again
    assert "Garage Leroy" not in after           # maybe paid: held until the user decides
    assert "Julie Rousseau" not in after
    assert "Menuiserie Petit" in after           # the others still are

    stamp = workbook.stat().st_mtime_ns, workbook.read_bytes()
    again = run_pointer(project, statement)
    assert "Déjà importées : 4 opération(s)" in again.output
    assert "Aucun nouveau crédit à rapprocher." in again.output
    assert (workbook.stat().st_mtime_ns, workbook.read_bytes()) == stamp  # untouched


def test_the_same_statement_exported_again_over_a_longer_period_adds_only_the_new_lines(project):
    statement = project / "releve.csv"
    statement.write_text("Date;Libellé;Montant\n20/11/2026;VIR SEPA BOULANGERIE MARTIN FACT "
                         "F2026031;1180,00\n", "cp1252")
    run_pointer(project, str(statement))
    statement.write_text("Date;Libellé;Montant\n20/11/2026;VIR SEPA BOULANGERIE MARTIN FACT "
                         "F2026031;1180,00\n21/11/2026;VIR SEPA BOULANGERIE MARTIN FACT "
                         "F2026044;354,60\n", "cp1252")
    result = run_pointer(project, str(statement))
    assert "Déjà importées : 1 opération(s)" in result.output
    assert [r[3] for r in sheet_rows(project / "relances.xlsx", "Paiements")] == [
        "F-2026-031", "F-2026-044"]


def test_a_dry_run_import_writes_nothing_and_json_says_it_all(project):
    workbook = project / "relances.xlsx"
    data = workbook.read_bytes()
    result = run_pointer(project, "--dry-run", "--json", str(RELEVES / "camt053.xml"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert workbook.read_bytes() == data and not (project / "relances.journal.sqlite").exists()
    assert report["dry_run"] is True and report["total_matched"] == 2904.6
    assert [(m["client"], m["invoices"], m["rule"]) for m in report["matched"]] == [
        ("Julie Rousseau", ["F-2026-027"], "référence de paiement ; avoir AV-2026-002 déduit "
                                           "par le client (imputé d’office : rien à saisir)"),
        ("Boulangerie Martin", ["F-2026-031", "F-2026-044"], "n° de facture dans le libellé"),
        ("Imprimerie Blanc", ["F-2026-029"], "n° de facture dans le libellé"),
    ]
    assert [(r["amount"], r["payer"]) for r in report["to_review"]] == [
        (2120.0, "IMPRIMERIE BLANC")]
    assert report["files"][0]["format"] == "camt.053" and report["files"][0]["end"] == \
        "2026-11-21"


def test_an_ofx_import_and_a_decision_typed_in_a_verifier(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "releve.ofx"))
    review = sheet_rows(workbook, "À vérifier")
    assert [(r[2], r[3]) for r in review] == [(265, "REMISE CHEQUE 1234567")]
    assert "Café du Commerce" not in planned(project)  # held while the cheque waits

    # The user writes what the cheque pays (scratch edit of the tool's sheet, as in Excel).
    book = openpyxl.load_workbook(workbook)
    book["À vérifier"]["F2"] = "F-2026-040"
    book.save(workbook)
    result = run_relancer(project)
    assert "Décisions prises dans la feuille À vérifier (1)" in result.output
    assert "affectée à F-2026-040 (Café du Commerce)" in result.output
    assert sheet_rows(workbook, "À vérifier") == []
    assert [(r[1], r[3]) for r in sheet_rows(workbook, "Paiements")][-1] == (265, "F-2026-040")
    assert "Café du Commerce" not in planned(project)  # paid now


def test_a_decision_that_cannot_be_applied_stays_in_its_cell_and_is_reported(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    book = openpyxl.load_workbook(workbook)
    book["À vérifier"]["F2"] = "F-2026-999"
    book["À vérifier"]["F3"] = "ignorer"
    book.save(workbook)
    assert "Garage Leroy" in planned(project)  # the ignored line no longer holds anyone
    result = run_relancer(project)
    assert "À vérifier!2 : Décision « F-2026-999 »" in result.output
    assert "facture « F-2026-999 » introuvable" in result.output
    review = sheet_rows(workbook, "À vérifier")
    assert len(review) == 1 and review[0][5] == "F-2026-999"  # kept, to be corrected


def test_a_crash_after_the_save_does_not_append_the_rows_twice(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    db = sqlite3.connect(project / "relances.journal.sqlite")
    with db:
        db.execute("UPDATE operations SET ecrit = 0")  # as if the run died before noting it
    db.close()
    run_relancer(project)
    assert len(sheet_rows(workbook, "Paiements")) == 2
    db = sqlite3.connect(project / "relances.journal.sqlite")
    assert db.execute("SELECT COUNT(*) FROM operations WHERE ecrit = 1").fetchone() == (2,)


def test_payments_imported_while_the_workbook_is_open_still_count(project):
    workbook = project / "relances.xlsx"
    lock = project / ".~lock.relances.xlsx#"
    lock.write_text("quelqu'un,machine,01.01.2026 10:00,", "utf-8")
    result = run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    assert result.exit_code == 2 and "ouvert" in result.output
    lock.unlink()
    # The journal did not record anything either: the import is simply done again.
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    assert len(sheet_rows(workbook, "Paiements")) == 2


def test_hand_kept_history_is_kept_by_an_import(project):
    workbook = project / "relances.xlsx"
    steps = {r[1]: r[9] for r in sheet_rows(workbook, "Factures") if r[1]}
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    after = {r[1]: r[9] for r in sheet_rows(workbook, "Factures") if r[1]}
    # Taken over and shown with its label, as a first daily run does; never emptied.
    assert steps["F-2026-001"] == "mise_en_demeure (23/10/2026)"
    assert after["F-2026-001"] == "Mise en demeure (23/10/2026)"


def test_pointer_says_what_is_wrong_in_french(project, tmp_path):
    missing = run_pointer(project, str(tmp_path / "absent.csv"))
    assert missing.exit_code == 1 and "absent.csv : fichier introuvable" in missing.output
    assert "Traceback" not in missing.output
    result = CliRunner().invoke(pointer, ["--config", str(project / "config.toml")])
    assert result.exit_code == 2


def test_the_pointer_script_runs_as_a_command(project):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "pointer.py"), "--config",
                           str(project / "config.toml"), "--date", "2026-11-22",
                           str(RELEVES / "qonto.csv")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Cabinet Roux : F-2026-046" in done.stdout
    assert "Transports Moreau : F-2026-038" in done.stdout
    empty = subprocess.run([sys.executable, str(ROOT / "scripts" / "pointer.py")],
                           capture_output=True, text=True, timeout=60)
    assert empty.returncode == 2 and "indiquez au moins un fichier" in empty.stderr


# ------------------------------------------------------------------ the daily run


def guard(project: Path, jours: int) -> None:
    config = project / "config.toml"
    text = config.read_text("utf-8").replace("[regles]", f"[regles]\npaiements_a_jour_max_jours"
                                                         f" = {jours}", 1)
    config.write_text(text, "utf-8")


def test_stale_payment_data_plans_but_sends_nothing(project):
    guard(project, 3)
    result = run_relancer(project)
    assert result.exit_code == 1
    assert "RIEN N’A ÉTÉ ENVOYÉ : aucun relevé bancaire importé" in result.output
    assert not (project / "sortie").exists()
    plan = json.loads(run_relancer(project, "--dry-run", "--json").output)
    assert plan["actions"] and "aucun relevé bancaire importé" in plan["errors"][0]["message"]

    old = project / "ancien.csv"
    old.write_text("Date;Libellé;Montant\n10/11/2026;VIR DIVERS;10,00\n", "utf-8")
    run_pointer(project, str(old))
    result = run_relancer(project)
    assert result.exit_code == 1 and "s’arrête au 10/11/2026, il y a 12 jours" in result.output
    assert not (project / "sortie").exists()

    run_pointer(project, str(RELEVES / "credit-agricole.csv"))  # up to 20/11: two days ago
    result = run_relancer(project)
    assert "RIEN N’A ÉTÉ ENVOYÉ" not in result.output
    assert (project / "sortie").exists()


def test_relancer_releve_imports_then_runs(project):
    result = run_relancer(project, "--releve", str(RELEVES / "credit-agricole.csv"))
    assert "Paiements reconnus — 2" in result.output
    assert "Relances du 22 novembre 2026" in result.output
    assert "Boulangerie Martin" not in result.output.split("Relances du")[1].split(
        "Paiements à vérifier")[0]
    assert len(sheet_rows(project / "relances.xlsx", "Paiements")) == 2


def test_a_dry_run_with_releve_counts_the_statement_and_writes_nothing(project):
    workbook = project / "relances.xlsx"
    data = workbook.read_bytes()
    plan = planned(project, "--releve", str(RELEVES / "credit-agricole.csv"))
    assert "Boulangerie Martin" not in plan and "Garage Leroy" not in plan
    assert "Menuiserie Petit" in plan
    assert workbook.read_bytes() == data and not (project / "relances.journal.sqlite").exists()
    result = run_relancer(project, "--dry-run", "--json", "--releve",
                          str(RELEVES / "credit-agricole.csv"))
    assert json.loads(result.output)["statements"]["total_matched"] == 2014.6


# ------------------------------------------------------------------ a LibreOffice workbook


def import_into_libreoffice_workbook(tmp_path: Path) -> Path:
    """The LibreOffice fixture (whose Paiements sheet has four columns and a formula pointing
    at it) after the import of one payment of Gamma."""
    from test_fidelite import user_project

    workbook = user_project(tmp_path, "libreoffice.xlsx")
    statement = tmp_path / "releve.csv"
    statement.write_text("Date;Libellé;Montant\n20/11/2026;VIR GAMMA FACTURE F-GAMMA;450,00\n",
                         "cp1252")
    result = run_pointer(workbook.parent, str(statement))
    assert result.exit_code == 0, result.output
    return workbook


def test_a_libreoffice_paiements_sheet_gets_rows_and_keeps_everything_else(tmp_path):
    from test_fidelite import parts

    before = parts(ROOT / "tests" / "fixtures" / "libreoffice.xlsx")
    workbook = import_into_libreoffice_workbook(tmp_path)
    after = parts(workbook)
    book = openpyxl.load_workbook(workbook)
    paiements_part = Package.open(workbook).sheet("Paiements", normalise).part
    for name, data in before.items():
        if name in (paiements_part, "xl/worksheets/sheet1.xml", "xl/workbook.xml",
                    "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml",
                    "docProps/custom.xml"):
            continue
        assert after[name] == data, f"{name} a changé"
    rows = [[c.value for c in row] for row in book["Paiements"].iter_rows()]
    assert rows[0] == ["Date", "Montant", "Client", "Factures", "Libellé", "Source",
                       "Référence"]
    assert rows[1][:4] == [datetime.datetime(2026, 11, 14), 600, "Bêta & Fils", "F-PAYEE"]
    assert rows[3][1:4] == [450, "Gamma", "F-GAMMA"]
    assert book["Paiements"]["A4"].number_format.upper().startswith("DD/MM/YYYY")


@needs_libreoffice
def test_libreoffice_reads_the_appended_payments(tmp_path):
    workbook = import_into_libreoffice_workbook(tmp_path)
    done, resaved = libreoffice_resave(workbook, tmp_path / "lo")
    assert done.returncode == 0, done.stderr
    converted = openpyxl.load_workbook(resaved)
    assert converted["Paiements"]["D4"].value == "F-GAMMA"
    assert converted["Paiements"]["B4"].value == 450


def test_verifier_tells_the_bank_data_state(project):
    guard(project, 3)
    result = run_relancer(project, "--verifier")
    assert "PROBLÈME relevés bancaires : aucun relevé bancaire importé" in result.output
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    result = run_relancer(project, "--verifier")
    assert "OK   relevés bancaires : le dernier importé s’arrête au 20/11/2026" in result.output
    assert "2 paiement(s) à vérifier" in result.output


def test_hostile_labels_are_written_as_plain_text(project):
    statement = project / "releve.csv"
    statement.write_text('Date;Libellé;Montant\n20/11/2026;"=HYPERLINK(""http://x"")\x01 '
                         'F-2026-040";265,00\n20/11/2026;"@SUM(A1)";12,00\n', "utf-8")
    result = run_pointer(project, str(statement))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(project / "relances.xlsx")
    paiements = book["Paiements"]
    assert paiements["E2"].data_type == "s" and paiements["E2"].value.startswith("=HYPERLINK")
    review = book["À vérifier"]
    assert review["D2"].data_type == "s" and review["D2"].value == "@SUM(A1)"


@pytest.mark.parametrize("statement, factures", [
    ("releve.ofx", "F-2026-031, F-2026-044"),
    ("camt053.xml", "F-2026-031, F-2026-044"),
    ("bnp-paribas-fortis.csv", "F-2026-031"),  # by its structured communication
])
def test_each_format_pays_boulangerie_martin_once(project, statement, factures):
    assert "Boulangerie Martin" in planned(project)
    first = run_pointer(project, str(RELEVES / statement))
    assert first.exit_code == 0, first.output
    rows = sheet_rows(project / "relances.xlsx", "Paiements")
    assert ("Boulangerie Martin", factures) in [(r[2], r[3]) for r in rows]
    again = run_pointer(project, str(RELEVES / statement))
    assert "Aucun nouveau crédit à rapprocher." in again.output
    assert sheet_rows(project / "relances.xlsx", "Paiements") == rows
    if factures != "F-2026-031":
        assert "Boulangerie Martin" not in planned(project)
    else:  # F-2026-044 is still due: its own reminder only
        assert planned(project)["Boulangerie Martin"] == ["F-2026-044"]


# ------------------------------------------------------------------ a property

amounts = st.integers(min_value=1, max_value=500).map(lambda n: Decimal(n) * 10)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Alpha", "Bêta SARL", "Gamma"]), amounts,
                          st.integers(0, 2)), min_size=1, max_size=8),
       st.lists(st.tuples(amounts, st.sampled_from(["VIR ALPHA", "BETA", "FACT F-10003",
                                                     "F10001 F10002", "CHEQUE", "GAMMA"])),
                min_size=1, max_size=6))
def test_a_sure_match_never_takes_more_than_its_invoices_owe(rows, lines):
    factures = [facture(f"F-{10000 + i}", client, d("2026-11-01"), str(montant),
                        str(montant * paid / 4))
                for i, (client, montant, paid) in enumerate(rows)]
    operations = [op(libelle, str(montant), cle=str(i))
                  for i, (montant, libelle) in enumerate(lines)]
    reste = {f.numero: f.reste_du for f in factures}
    for found in match_operations(operations, factures):
        if not isinstance(found, Affectation):
            continue
        owed = [reste[n] for n in found.factures]
        assert all(r > 0 for r in owed)  # never an invoice already paid
        assert found.operation.montant <= sum(owed)  # never more than they owe
        assert {f.client for f in factures if f.numero in found.factures} == {found.client}
        left = found.operation.montant
        for numero in found.factures:
            part = min(left, reste[numero])
            reste[numero] -= part
            left -= part
