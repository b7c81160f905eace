"""Bank lines read exactly (issue 19): a Sens column honoured, an amount ambiguous for the
file's decimal mark reported and never multiplied, a line dated after the statement's end or
after today reported without moving the statement's end, reversals read in every format,
each line's bank id and fingerprint filled in; and a bounded cost for any statement.

The fixtures in tests/fixtures/releves/ are written by hand as the banks export them; the big
statements are generated here, never committed.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from relances.banque import read_releve
from relances.banque.operations import TEXTE_MAX
from relances.banque.releves import ReleveError

from conftest import ROOT
from test_banque import run_pointer, sheet_rows

RELEVES = ROOT / "tests" / "fixtures" / "releves"
D = Decimal
TODAY = datetime.date(2026, 11, 22)


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def write(tmp_path: Path, text: str, name: str = "releve.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def messages(releve) -> list[tuple[int | None, str]]:
    return [(a.row, a.message) for a in releve.anomalies]


# ------------------------------------------------------------------ Sens column


def test_a_sens_column_makes_a_minus_line_a_debit_and_a_rejected_transfer_a_reversal():
    releve = read_releve(RELEVES / "sens-et-rejets.csv", today=TODAY)
    assert not releve.anomalies
    assert [(o.jour, o.montant, o.annulation) for o in releve.operations] == [
        (d("2026-11-18"), D("600.00"), False),
        (d("2026-11-20"), D("1534.60"), False),
        (d("2026-11-21"), D("600.00"), True),   # « REJET VIR SEPA » takes the 600 back
    ]
    assert releve.operations[2].annule == "E2E-DUPUIS-036"
    # « D », « - » and a card « ANNULATION » (not a payment received) are ordinary debits.
    assert releve.debits == 3


@pytest.mark.parametrize("header", ["Sens", "Débit/Crédit", "D/C", "Type"])
@pytest.mark.parametrize("credit, debit", [("+", "-"), ("C", "D"), ("Crédit", "Débit"),
                                           ("CRDT", "DBIT")])
def test_every_way_of_writing_the_direction_is_read(tmp_path, header, credit, debit):
    path = write(tmp_path, f"Date;Libellé;Montant;{header}\n20/11/2026;VIR A;10,00;{credit}\n"
                           f"20/11/2026;CB B;20,00;{debit}\n")
    releve = read_releve(path)
    assert [(o.libelle, o.montant) for o in releve.operations] == [("VIR A", D("10.00"))]
    assert releve.debits == 1 and not releve.anomalies


def test_a_direction_that_cannot_be_read_is_reported_with_its_column_and_value(tmp_path):
    path = write(tmp_path, "Date;Libellé;Montant;Sens\n20/11/2026;VIR A;10,00;?\n"
                           "20/11/2026;VIR B;11,00;\n20/11/2026;VIR C;-12,00;C\n"
                           "20/11/2026;VIR D;13,00;C\n")
    releve = read_releve(path)
    assert [o.libelle for o in releve.operations] == ["VIR D"]
    assert messages(releve) == [
        (2, "ligne 2, colonne « Sens » : sens illisible « ? » (attendu : crédit ou débit, C "
            "ou D, + ou -) ; ligne non importée"),
        (3, "ligne 3, colonne « Sens » : sens vide pour le montant « 11,00 » : crédit ou "
            "débit ? Ligne non importée"),
        (4, "ligne 4, colonne « Sens » : le sens « C » contredit le montant « -12,00 » ; "
            "ligne non importée"),
    ]


def test_a_type_column_naming_the_kind_of_operation_is_not_a_direction(tmp_path):
    path = write(tmp_path, "Date;Type;Libellé;Montant\n20/11/2026;Virement;VIR A;10,00\n"
                           "20/11/2026;Carte;CB B;-20,00\n")
    releve = read_releve(path)
    assert [o.libelle for o in releve.operations] == ["VIR A"] and releve.debits == 1


# ------------------------------------------------------------------ decimal mark


def test_an_amount_ambiguous_for_the_files_decimal_comma_is_reported_never_multiplied(tmp_path):
    path = write(tmp_path, "Date;Libellé;Montant\n20/11/2026;VIR A;1 234,56\n"
                           "20/11/2026;VIR B;2.50\n20/11/2026;VIR C;1.234\n"
                           "20/11/2026;VIR D;1.234,50\n20/11/2026;VIR E;7,5\n")
    releve = read_releve(path)
    assert [(o.libelle, o.montant) for o in releve.operations] == [
        ("VIR A", D("1234.56")), ("VIR D", D("1234.50")), ("VIR E", D("7.50"))]
    assert messages(releve) == [
        (3, "ligne 3, colonne « Montant » : montant « 2.50 » ambigu : ce relevé écrit les "
            "décimales avec une virgule ; ligne non importée"),
        (4, "ligne 4, colonne « Montant » : montant « 1.234 » ambigu : ce relevé écrit les "
            "décimales avec une virgule ; ligne non importée"),
    ]


def test_a_decimal_point_file_reports_an_amount_grouped_with_a_comma(tmp_path):
    path = write(tmp_path, "Date,Libellé,Crédit\n2026-11-20,VIR A,12.50\n"
                           "2026-11-20,VIR B,\"1,234\"\n2026-11-20,VIR C,\"1,234.50\"\n"
                           "2026-11-20,VIR D,\"2,50\"\n")
    releve = read_releve(path)
    assert [(o.libelle, o.montant) for o in releve.operations] == [
        ("VIR A", D("12.50")), ("VIR C", D("1234.50"))]
    assert [(row, "« 1,234 » ambigu" in m or "« 2,50 » ambigu" in m, "Crédit" in m)
            for row, m in messages(releve)] == [(3, True, True), (5, True, True)]


def test_an_ofx_amount_with_three_decimals_is_reported(tmp_path):
    text = (RELEVES / "releve.ofx").read_text("cp1252").replace("<TRNAMT>265,00",
                                                               "<TRNAMT>1,265")
    releve = read_releve(write(tmp_path, text, "releve.ofx"))
    assert [o.montant for o in releve.operations] == [D("1534.60"), D("480.00")]
    assert messages(releve) == [(4, "opération 4 : montant « 1,265 » ambigu : ce relevé "
                                    "écrit les décimales avec un point ; ligne non importée")]


# ------------------------------------------------------------------ dates


def test_a_csv_line_dated_after_today_is_reported_and_does_not_move_the_end(tmp_path):
    path = write(tmp_path, "Date;Libellé;Montant\n20/11/2026;VIR A;10,00\n"
                           "02/12/2026;VIR B;20,00\n21/11/2026;CB C;-5,00\n")
    releve = read_releve(path, today=TODAY)
    assert [o.libelle for o in releve.operations] == ["VIR A"]
    assert releve.fin == d("2026-11-21")
    assert messages(releve) == [(3, "ligne 3 : opération datée du 02/12/2026, après "
                                    "aujourd’hui (22/11/2026) ; non importée")]
    assert read_releve(path).fin == d("2026-12-02")  # without today, nothing to compare


def test_an_ofx_line_after_today_is_reported_and_its_end_kept():
    releve = read_releve(RELEVES / "annulations.ofx", today=TODAY)
    assert releve.fin == d("2026-11-21")
    assert messages(releve) == [(4, "opération 4 : opération datée du 25/11/2026, après "
                                    "aujourd’hui (22/11/2026) ; non importée")]


def test_an_ofx_end_after_today_is_brought_back_to_today(tmp_path):
    text = (RELEVES / "releve.ofx").read_text("cp1252").replace("<DTEND>20261121",
                                                               "<DTEND>20270101")
    releve = read_releve(write(tmp_path, text, "releve.ofx"), today=TODAY)
    assert releve.fin == TODAY
    assert "fin du relevé annoncée au 01/01/2027, après aujourd’hui : ramenée au 22/11/2026" \
        in releve.ignorees


def test_a_camt_entry_after_the_statements_own_end_is_reported():
    releve = read_releve(RELEVES / "camt053-annulations.xml")
    assert releve.fin == d("2026-11-20")
    assert messages(releve) == [(4, "écriture 4 : opération datée du 23/11/2026, après la fin "
                                    "du relevé (20/11/2026) ; non importée")]


def test_the_import_reports_a_line_after_today_and_imports_the_others(project):
    statement = project / "releve.csv"
    statement.write_text("Date;Libellé;Montant\n20/11/2026;VIR SEPA BOULANGERIE MARTIN FACT "
                         "F2026031;1180,00\n30/11/2026;VIR SEPA BOULANGERIE MARTIN FACT "
                         "F2026044;354,60\n", "cp1252")
    result = run_pointer(project, str(statement))
    assert "opération datée du 30/11/2026, après aujourd’hui (22/11/2026)" in result.output
    assert [r[3] for r in sheet_rows(project / "relances.xlsx", "Paiements")] == ["F-2026-031"]


# ------------------------------------------------------------------ reversals


def test_ofx_reversals_a_deleted_credit_and_a_returned_transfer():
    releve = read_releve(RELEVES / "annulations.ofx", today=TODAY)
    assert [(o.montant, o.annulation, o.annule, o.id_banque) for o in releve.operations] == [
        (D("1534.60"), True, "2026111900007", "2026112000011"),  # CORRECTACTION DELETE
        (D("480.00"), True, "", "2026112000012"),                # « RETOUR VIR »
    ]
    assert releve.debits == 1  # the EDF direct debit


def test_camt_reversals_of_a_credit_are_read_and_of_a_debit_set_aside():
    releve = read_releve(RELEVES / "camt053-annulations.xml")
    iban = "FR7630001007941234567890185"
    assert [(o.cle, o.montant, o.annulation, o.annule, o.id_banque)
            for o in releve.operations] == [
        (f"{iban}:BQ-0101", D("480.00"), True, "E2E-ROUSSEAU-027", "BQ-0101"),
        (f"{iban}:BQ-0103", D("890.00"), False, "", "BQ-0103"),
    ]
    assert releve.ignorees == ("écriture 2 : contre-passation d’un débit, pas un paiement "
                               "reçu",)
    assert releve.debits == 0


# ------------------------------------------------------------------ bank ids and fingerprints


def test_the_same_payments_as_csv_and_as_ofx_have_the_same_fingerprints():
    csv = read_releve(RELEVES / "meme-compte.csv")
    ofx = read_releve(RELEVES / "releve.ofx")
    assert [o.empreinte for o in csv.operations] == [o.empreinte for o in ofx.operations]
    assert len({o.empreinte for o in csv.operations}) == 3
    assert [o.id_banque for o in ofx.operations] == ["2026112000001", "2026111800003",
                                                     "2026111700004"]
    assert [o.id_banque for o in csv.operations] == ["", "", ""]


def test_an_export_with_operation_numbers_keeps_the_fingerprint_and_changes_the_key(tmp_path):
    without = read_releve(write(tmp_path, "Date;Libellé;Montant\n20/11/2026;VIR A;10,00\n"
                                          "20/11/2026;VIR A;10,00\n", "sans.csv"))
    numbered = read_releve(write(tmp_path, "Numéro d'opération;Date;Libellé;Montant\n"
                                           "OP-1;20/11/2026;VIR A;10,00\n"
                                           "OP-2;20/11/2026;vir a;10,00\n", "avec.csv"))
    assert [o.empreinte for o in without.operations] == [o.empreinte for o in numbered.operations]
    assert len({o.empreinte for o in without.operations}) == 2  # two payments, not one
    assert [o.cle for o in numbered.operations] == ["OP-1", "OP-2"]
    assert [o.id_banque for o in numbered.operations] == ["OP-1", "OP-2"]
    assert not {o.cle for o in without.operations} & {"OP-1", "OP-2"}


# ------------------------------------------------------------------ bounded cost


def test_a_200000_line_csv_is_read_whole(tmp_path):
    lines = [f"{1 + i % 28:02d}/10/2026;VIR CLIENT {i % 1000};{1 + i % 5000},{i % 100:02d}"
             for i in range(200_000)]
    path = write(tmp_path, "Date;Libellé;Montant\n" + "\n".join(lines) + "\nSolde;;1,00\n")
    releve = read_releve(path, today=TODAY)
    assert len(releve.operations) == 200_000 and not releve.anomalies
    assert releve.operations[-1].montant == D("5000.99") and releve.fin == d("2026-10-28")
    assert len({o.cle for o in releve.operations}) == 200_000
    assert releve.operations[-1].ligne == 200_001


def test_a_2_mb_label_is_cut_and_the_cut_said(tmp_path):
    path = write(tmp_path, "Date;Libellé;Montant\n20/11/2026;\"VIR " + "A" * 2_000_000
                 + "\";10,00\n20/11/2026;VIR B;5,00\n")
    releve = read_releve(path)
    assert [len(o.libelle) for o in releve.operations] == [TEXTE_MAX, 5]
    assert messages(releve) == [(2, "ligne 2 : libellé de 2000004 caractères, seuls les 1000 "
                                    "premiers sont gardés")]


@pytest.mark.parametrize("tail", ["<![CDATA[x", "<NAME><![CDATA[x"])
def test_an_ofx_full_of_unterminated_cdata_is_read(tmp_path, tail):
    text = (RELEVES / "releve.ofx").read_text("cp1252").replace(
        "<NAME>REMISE CHEQUE 1234567", "<NAME>REMISE CHEQUE 1234567" + tail * 100_000, 1)
    try:
        releve = read_releve(write(tmp_path, text, "releve.ofx"))
    except ReleveError as exc:
        assert str(exc).startswith("releve.ofx : fichier OFX illisible")
        return
    assert [o.montant for o in releve.operations][:2] == [D("1534.60"), D("480.00")]


def test_an_ofx_with_a_terminated_cdata_label_is_read(tmp_path):
    text = (RELEVES / "releve.ofx").read_text("cp1252").replace(
        "<NAME>REMISE CHEQUE 1234567", "<NAME><![CDATA[REMISE <CHEQUE> 1234567]]>")
    releve = read_releve(write(tmp_path, text, "releve.ofx"))
    assert releve.operations[-1].libelle == "REMISE CHEQUE 1234567"


@pytest.mark.parametrize("content", [
    b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
    b"CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n",
    b"OFXHEADER:100\n" + b" " * 2_000_000 + b"\n",
    b'<?xml version="1.0"?><?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" '
    b'OLDFILEUID="NONE" NEWFILEUID="NONE"?><OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>',
])
def test_an_ofx_with_nothing_but_its_header_is_an_error_naming_the_file(tmp_path, content):
    path = tmp_path / "banque.ofx"
    path.write_bytes(content)
    with pytest.raises(ReleveError, match=r"^banque\.ofx : aucun"):
        read_releve(path)
