"""The e-invoicing platform's lifecycle statuses as collection signals (issue 22, item 3):
read from CSV and CDAR exports, recorded in the journal, acted on by the client account."""

from __future__ import annotations

import datetime
import email
import email.policy
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from relances.cli import relancer
from relances.compte import tenir
from relances.config import load_config
from relances.efacture.modeles import StatutFacture
from relances.efacture.statuts import lire_statuts, ressemble_statuts
from relances.importation_statuts import importer_statuts
from relances.policy import decide
from relances.records import Classeur
from relances.suivi import follow_up, signalement_text

from conftest import TODAY, classeur, config, d, days, facture, invoice_row
from test_fidelite import TOOL_COLUMNS, TOOL_PARTS, cells, header_letters, parts

DUE = TODAY - days(40)  # every invoice is well into its schedule


def statut(numero: str, code: int, jour: str, motif: str = "") -> StatutFacture:
    return StatutFacture(numero=numero, code=code, jour=d(jour), motif=motif)


def book(*statuts: StatutFacture, factures=None) -> Classeur:
    factures = factures or [facture("F-1", echeance=DUE), facture("F-2", echeance=DUE,
                                                                  montant="500")]
    return Classeur(classeur(factures).factures, classeur(factures).clients,
                    statuts=tuple(statuts))


def chased(c: Classeur, today=TODAY, cfg=None) -> dict[str, set[str]]:
    """Invoice -> channels of today's actions."""
    plan = decide(c, [], today, cfg or config())
    found: dict[str, set[str]] = {}
    for action in plan.actions:
        for numero in action.factures:
            found.setdefault(numero, set()).add(action.canal)
    return found


def prochaine(c: Classeur, numero: str, today=TODAY) -> str:
    return follow_up(c, [], today, config())[numero].prochaine_action


# ------------------------------------------------------------ what each code does


def test_without_statuses_both_invoices_are_chased():
    assert set(chased(book())) == {"F-1", "F-2"}


@pytest.mark.parametrize("code, texte", [
    (210, "refusée par le client le 10/11/2026 (motif : prix erroné) : à régulariser (avoir ?)"),
    (213, "rejetée par la plateforme le 10/11/2026 (motif : prix erroné) : à régulariser "
          "(avoir ?)"),
    (208, "aucune : suspendue sur la plateforme depuis le 10/11/2026 (motif : prix erroné)"),
    (207, "aucune : en litige sur la plateforme depuis le 10/11/2026 (prix erroné)"),
    (212, "aucune : encaissée le 10/11/2026 (plateforme)"),
])
def test_a_status_that_holds_stops_the_chase_and_says_why(code, texte):
    c = book(statut("F-1", code, "2026-11-10", "prix erroné"))
    assert "F-1" not in chased(c) and "F-2" in chased(c)
    assert prochaine(c, "F-1") == texte


@pytest.mark.parametrize("code", [200, 201, 202, 203, 204, 205, 206, 209, 214])
def test_a_status_without_effect_changes_nothing(code):
    c = book(statut("F-1", code, "2026-11-10"))
    assert chased(c) == chased(book())
    assert prochaine(c, "F-1") == prochaine(book(), "F-1")


def test_refused_and_rejected_invoices_are_reported_to_put_right():
    c = book(statut("F-1", 210, "2026-11-10"), statut("F-2", 213, "2026-11-12"))
    plan = decide(c, [], TODAY, config())
    texts = [signalement_text(s) for s in plan.signalements
             if s.code == "plateforme_a_regulariser"]
    assert texts == ["Alpha : F-1 refusée par le client le 10/11/2026 : à régulariser (avoir ?)",
                     "Alpha : F-2 rejetée par la plateforme le 12/11/2026 : à régulariser "
                     "(avoir ?)"]


def test_a_refused_invoice_is_not_claimed_in_the_clients_grouped_message():
    c = book(statut("F-1", 210, "2026-11-10"))
    plan = decide(c, [], TODAY, config())
    (action,) = [a for a in plan.actions if a.is_message]
    assert action.factures == ("F-2",)
    assert action.montant_reclame == Decimal("500")


def test_an_encashed_invoice_counts_as_paid_in_the_account():
    c = book(statut("F-1", 212, "2026-11-10"))
    livre = tenir(c, [], TODAY, config())
    compte = livre.compte("Alpha")
    assert [f.numero for f in compte.ouvertes] == ["F-2"]
    assert compte.net == Decimal("500")
    numeros, montant = compte.a_appeler(c.clients["alpha"], TODAY)
    assert [f.numero for f in numeros] == ["F-2"] and montant == Decimal("500")
    suivi = follow_up(c, [], TODAY, config())["F-1"]
    assert suivi.reste_du == 0 and suivi.jours_retard is None
    # Payé is the user's: the record read from the workbook keeps what was typed.
    assert [f.paye for f in c.factures if f.numero == "F-1"] == [Decimal("0")]


def test_payment_transmitted_holds_written_steps_for_the_configured_delay():
    c = book(statut("F-1", 211, "2026-11-20"))
    assert "F-1" not in chased(c)
    assert prochaine(c, "F-1").startswith("paiement annoncé le 20/11/2026")
    # Once the delay is over ([regles] delai_paiement_annonce_jours, 7 by default), it goes on.
    assert "F-1" in chased(c, today=d("2026-11-28"))


def test_the_latest_status_wins_and_a_later_one_lifts_a_hold():
    c = book(statut("F-1", 207, "2026-11-01"), statut("F-1", 205, "2026-11-10"))
    assert "F-1" in chased(c)
    c = book(statut("F-1", 205, "2026-11-10"), statut("F-1", 210, "2026-11-12"))
    assert "F-1" not in chased(c)


def test_same_day_statuses_follow_the_order_read():
    c = book(statut("F-1", 210, "2026-11-10"), statut("F-1", 205, "2026-11-10"))
    assert "F-1" in chased(c)
    c = book(statut("F-1", 205, "2026-11-10"), statut("F-1", 210, "2026-11-10"))
    assert "F-1" not in chased(c)


def test_a_dispute_counts_from_the_first_of_its_statuses():
    c = book(statut("F-1", 207, "2026-11-03"), statut("F-1", 207, "2026-11-10"))
    assert prochaine(c, "F-1") == "aucune : en litige sur la plateforme depuis le 03/11/2026"


# ------------------------------------------------------------ reading the exports


def write(path: Path, text: str, encoding="utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_csv_export_is_read_whatever_its_headers_spelling(tmp_path):
    path = write(tmp_path / "statuts.csv",
                 "Numero facture,STATUT,Date du statut,Commentaire,SIREN vendeur\r\n"
                 "F-1,212 - Encaissée,2026-11-10T09:30:00,,732 829 320\r\n"
                 "F-2,Refusée,10/11/2026,Prix erroné,\r\n", encoding="cp1252")
    statuts, anomalies = lire_statuts(path, None)
    assert anomalies == []
    assert [(s.numero, s.code, s.jour, s.motif, s.vendeur) for s in statuts] == [
        ("F-1", 212, d("2026-11-10"), "", "732829320"),
        ("F-2", 210, d("2026-11-10"), "Prix erroné", "")]
    assert statuts[1].source == "statuts.csv, ligne 3"
    assert ressemble_statuts(path.read_bytes())


def test_bad_rows_are_reported_with_their_column_and_value_and_the_others_read(tmp_path):
    path = write(tmp_path / "s.csv", "N° facture;Code statut;Date\nF-1;999;01/11/2026\n"
                                     "F-2;210;31/02/2026\n;210;01/11/2026\nF-3;207;01/11/2026\n")
    statuts, anomalies = lire_statuts(path, None)
    # A row naming its invoice holds it (an unknown value is never empty): code ILLISIBLE,
    # on the row's day when that can be read, else the import's (date.min until then).
    assert [(s.numero, s.code, s.jour) for s in statuts] == [
        ("F-1", 0, d("2026-11-01")), ("F-2", 0, datetime.date.min), ("F-3", 207, d("2026-11-01"))]
    assert [(a.sheet, a.row) for a in anomalies] == [("s.csv", 2), ("s.csv", 3), ("s.csv", 4)]
    assert anomalies[0].message.endswith("facture F-1 retenue (pas de relance) jusqu’à un "
                                         "statut lisible")
    assert "colonne « Code statut » : statut inconnu « 999 »" in anomalies[0].message
    assert "colonne « Date » : date illisible « 31/02/2026 »" in anomalies[1].message
    assert "colonne « N° facture » vide" in anomalies[2].message


def test_an_unreadable_row_holds_its_invoice_until_a_readable_status_comes():
    held = book(StatutFacture("F-1", 0, d("2026-11-20"), motif="colonne « Code statut » : "
                              "statut inconnu « 2l2 »", source="statuts.csv, ligne 7"))
    assert set(chased(held)) == {"F-2"}
    assert prochaine(held, "F-1") == ("aucune : statut de la plateforme illisible (statuts.csv, "
                                      "ligne 7) ; corrigez l’export et importez-le de nouveau")
    lifted = book(*held.statuts, statut("F-1", 205, "2026-11-21"))
    assert set(chased(lifted)) == {"F-1", "F-2"}


def test_a_platforms_own_headers_are_mapped_by_the_config(tmp_path):
    path = write(tmp_path / "export.csv", "Ref;Etat cycle;Horodatage;Ref client\n"
                                          "F-1;211;2026-11-10;X\n")
    statuts, anomalies = lire_statuts(path, None)
    assert statuts == [] and "introuvable" in anomalies[0].message
    assert "[statuts.colonnes]" in anomalies[0].message
    statuts, anomalies = lire_statuts(path, {"numero": "Ref", "code": "Etat cycle"})
    assert anomalies == [] and [(s.numero, s.code) for s in statuts] == [("F-1", 211)]


def test_the_config_reads_statuts_colonnes(tmp_path):
    from conftest import copy_config

    path = copy_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8")
                    + '\n[statuts.colonnes]\nnumero = "Ref"\ncode = "Etat cycle"\n',
                    encoding="utf-8")
    cfg = load_config(path)
    assert cfg.statuts_colonnes == {"numero": "Ref", "code": "Etat cycle"}
    assert not [w for w in cfg.avertissements if "statuts" in w]


CDAR = """<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossDomainAcknowledgementAndResponse
  xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument><ram:ID>CDV-1</ram:ID></rsm:ExchangedDocument>
  <rsm:AcknowledgementDocument>
    <ram:IssueDateTime><udt:DateTimeString format="102">20261112</udt:DateTimeString></ram:IssueDateTime>
    <ram:ReferenceReferencedDocument>
      <ram:IssuerAssignedID>F-1</ram:IssuerAssignedID>
      <ram:ProcessConditionCode>210</ram:ProcessConditionCode>
      <ram:StatusDate><udt:DateTimeString format="102">20261110</udt:DateTimeString></ram:StatusDate>
      <ram:StatusReason>Prix erroné</ram:StatusReason>
    </ram:ReferenceReferencedDocument>
    <ram:ReferenceReferencedDocument>
      <ram:IssuerAssignedID>F-2</ram:IssuerAssignedID>
      <ram:ProcessConditionCode>212</ram:ProcessConditionCode>
    </ram:ReferenceReferencedDocument>
  </rsm:AcknowledgementDocument>
</rsm:CrossDomainAcknowledgementAndResponse>
"""


def test_a_cdar_message_is_read(tmp_path):
    path = write(tmp_path / "cdv.xml", CDAR, encoding="utf-8")
    statuts, anomalies = lire_statuts(path, None)
    assert anomalies == []
    assert [(s.numero, s.code, s.jour, s.motif) for s in statuts] == [
        ("F-1", 210, d("2026-11-10"), "Prix erroné"),
        ("F-2", 212, d("2026-11-12"), "")]  # no status date: the message's
    assert ressemble_statuts(path.read_bytes())


def test_a_hostile_xml_is_refused_not_expanded(tmp_path):
    path = write(tmp_path / "xxe.xml", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
                 '"file:///etc/passwd">]><rsm:CrossDomainAcknowledgementAndResponse '
                 'xmlns:rsm="urn:x">&x;</rsm:CrossDomainAcknowledgementAndResponse>',
                 encoding="utf-8")
    statuts, anomalies = lire_statuts(path, None)
    assert statuts == [] and "DTD" in anomalies[0].message


# ------------------------------------------------------------ import and run, end to end


def sheet_parts(package: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> its part (xl/worksheets/sheetN.xml)."""
    import re

    targets = dict(re.findall(rb'Id="([^"]+)"[^>]*Target="([^"]+)"',
                              package["xl/_rels/workbook.xml.rels"]))
    targets.update({k: v for v, k in re.findall(rb'Target="([^"]+)"[^>]*Id="([^"]+)"',
                                                package["xl/_rels/workbook.xml.rels"])})
    found = {}
    for name, rid in re.findall(rb'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"',
                                package["xl/workbook.xml"]):
        target = targets[rid].decode().lstrip("/")
        found[name.decode()] = target if target.startswith("xl/") else f"xl/{target}"
    return found


def status_project(small_project) -> Path:
    return small_project([invoice_row(numero="F-1", echeance=TODAY - days(20)),
                          invoice_row(numero="F-2", echeance=TODAY - days(20),
                                      montant=Decimal("500"))])


def test_import_records_known_invoices_and_reports_the_others(small_project):
    folder = status_project(small_project)
    export = write(folder / "statuts.csv",
                   "N° facture;Code statut;Date;SIREN vendeur\nF-1;210;20/11/2026;\n"
                   "F-9;212;20/11/2026;\nF-2;212;20/11/2026;552 100 554\nF-2;;x;\n")
    cfg = load_config(folder / "config.toml")
    before = (folder / "relances.xlsx").read_bytes()
    bilan = importer_statuts(cfg, [export], TODAY, dry_run=True)
    assert (bilan.lus, bilan.appliques, bilan.inconnus) == (4, 2, ["F-9"])
    assert (folder / "relances.xlsx").read_bytes() == before  # a dry run writes nothing
    assert not cfg.journal.exists()
    bilan = importer_statuts(cfg, [export], TODAY, dry_run=False)
    assert (bilan.lus, bilan.appliques, bilan.inconnus) == (4, 2, ["F-9"])
    messages = [a.message for a in bilan.anomalies]
    assert any("F-2 d’un autre vendeur (SIREN 552100554" in m for m in messages)
    assert any("colonne « Code statut »" in m for m in messages)
    rows = sqlite3.connect(cfg.journal).execute(
        "SELECT numero, code, jour FROM statuts_factures").fetchall()
    # F-2's unreadable row holds it from the import's day (its other row was another seller's).
    assert rows == [("F-1", 210, "2026-11-20"), ("F-2", 0, TODAY.isoformat())]
    # Imported again: nothing new.
    assert importer_statuts(cfg, [export], TODAY, dry_run=False).appliques == 0


def test_a_refused_invoice_is_not_chased_by_the_daily_run(small_project):
    folder = status_project(small_project)
    path = folder / "relances.xlsx"
    export = write(folder / "statuts.csv", "N° facture;Code statut;Date\nF-1;210;20/11/2026\n")
    cfg = load_config(folder / "config.toml")
    importer_statuts(cfg, [], TODAY, dry_run=False)  # a first write labels the workbook
    before = parts(path)
    importer_statuts(cfg, [export], TODAY, dry_run=False)
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", TODAY.isoformat()])
    assert "Traceback" not in result.output
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((folder / "sortie").glob("*/emails/*.eml"))]
    assert sent, result.output
    for message in sent:
        body = message.get_body(("plain",)).get_content()
        assert "F-2" in body and "F-1" not in body
    assert "F-1 refusée par le client le 20/11/2026 : à régulariser (avoir ?)" in result.output
    book = openpyxl.load_workbook(path)["Factures"]
    headers = [c.value for c in book[1]]
    rows = {r[1]: r for r in book.iter_rows(min_row=2, values_only=True) if r[1]}
    assert rows["F-1"][headers.index("Prochaine action")] == \
        "refusée par le client le 20/11/2026 : à régulariser (avoir ?)"
    # Everything else byte for byte: the parts the run does not own, and every user cell.
    after = parts(path)
    assert "Clients" in sheet_parts(before)
    tool_sheets = {part for name, part in sheet_parts(before).items()
                   if name not in ("Clients", "Paiements", "Échanges", "Échéanciers")}
    for name, data in before.items():
        if name not in TOOL_PARTS | tool_sheets:
            assert after[name] == data, name
    letters = header_letters(path)
    tool = {letters[h] for h in TOOL_COLUMNS if h in letters}
    old, new = cells(before["xl/worksheets/sheet1.xml"]), cells(after["xl/worksheets/sheet1.xml"])
    for ref, data in old.items():
        if ref.rstrip("0123456789") not in tool:
            assert new[ref] == data, ref
