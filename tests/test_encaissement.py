"""Imported payments you can trust: never counted twice (bank ids, fingerprints), never lost
(the journal writes a vanished row again), reversals that cancel the payment they take back,
a sheet À vérifier that stays one a person can read, and one bad statement that never cancels
the day's reminders.

Statement lines carrying a bank id, a fingerprint or a reversal are built by hand, as the
readers give them (banque/operations.py), and imported into the example workbook through the
import itself; the rest goes through the command line.
"""

from __future__ import annotations

import datetime
import functools
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, given, settings, strategies as st

from relances import encaissements
from relances.banque.operations import Operation, Releve, hashed_key
from relances.cli.resumes import import_summary
from relances.config import load_config
from relances.encaissements import prepare
from relances.journal import Journal
from relances.pointage import DOUBLON, Pointe, import_lines, import_read
from relances.records import Facture, Reglement
from relances.xlsx import read_classeur
from relances.xlsx.paiements import apply_payments

from conftest import ROOT, copy_config
from test_banque import RELEVES, planned, run_pointer, run_relancer, sheet_rows

D = Decimal
TODAY = datetime.date(2026, 11, 22)
NOW = datetime.datetime(2026, 11, 22, 9, 0)
COMPTE = "FR7630001007941234567890185"


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def line(jour: str, montant: str, libelle: str, id_banque: str = "", rang: int = 0,
         annulation: bool = False, annule: str = "", compte: str = COMPTE) -> Operation:
    """A credit as a reader gives it: its key is the bank id when there is one, else a hash
    of the account and content; its fingerprint is the content alone."""
    day, amount = d(jour), D(montant)
    cle = f"{compte}:{id_banque}" if id_banque else hashed_key(compte, day, amount, libelle, rang)
    return Operation(cle, day, amount, libelle, compte=compte, fichier="banque.xml",
                     id_banque=id_banque, empreinte=hashed_key("", day, amount, libelle, rang),
                     annulation=annulation, annule=annule)


def import_lines_of(project: Path, *operations: Operation) -> tuple[Pointe, str]:
    """Import hand-built statement lines into the project's workbook; (result, summary)."""
    config = load_config(project / "config.toml")
    releve = Releve("banque.xml", "camt.053", tuple(operations), max(o.jour for o in operations))
    pointe = import_read(config, Pointe(releves=[releve]), TODAY, NOW)
    text = import_summary(pointe, config, TODAY)
    return pointe, text.replace("\u202f", " ").replace("\xa0", " ")


def journal_rows(project: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(project / "relances.journal.sqlite")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# ------------------------------------------------------------------ never counted twice


def test_a_line_exported_without_then_with_its_bank_id_is_imported_once(project):
    first, _ = import_lines_of(project, line("2026-11-18", "480.00", "VIR RF06 F202 6027"))
    assert len(first.affectations) == 1
    again, text = import_lines_of(project, line("2026-11-18", "480.00", "vir  rf06 f202 6027",
                                                id_banque="BQ-0001"))
    assert again.deja == 1 and not again.affectations and not again.a_verifier
    assert "Déjà importées : 1 opération(s)" in text
    # ... and the other way round, the id kept from the first export.
    import_lines_of(project, line("2026-11-20", "1534.60", "VIR MARTIN F2026031 F2026044",
                                  id_banque="BQ-0002"))
    other, _ = import_lines_of(project, line("2026-11-20", "1534.60",
                                             "VIR MARTIN F2026031 F2026044"))
    assert other.deja == 1
    assert len(sheet_rows(project / "relances.xlsx", "Paiements")) == 2


def test_the_same_content_with_another_bank_id_goes_to_review_never_applied_twice(project):
    import_lines_of(project, line("2026-11-18", "480.00", "VIR RF06 F202 6027", "BQ-0001"))
    second, text = import_lines_of(project, line("2026-11-18", "480.00", "VIR RF06 F202 6027",
                                                 "BQ-0099"))
    assert not second.affectations and len(second.a_verifier) == 1
    assert "doublon d’export ou second paiement ?" in text
    assert [r[2] for r in sheet_rows(project / "relances.xlsx", "Paiements")] == [
        "Julie Rousseau"]
    review = sheet_rows(project / "relances.xlsx", "À vérifier")
    assert len(review) == 1 and "F-2026-027 (Julie Rousseau" in review[0][4]


def test_an_old_journal_gets_the_new_columns_and_its_keys_still_work(project):
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    path = project / "relances.journal.sqlite"
    db = sqlite3.connect(path)
    with db:  # back to the table as it was before bank ids and fingerprints were kept
        for column in ("id_banque", "empreinte", "annule"):
            db.execute(f"ALTER TABLE operations DROP COLUMN {column}")
    db.close()
    assert Journal.open(path, readonly=True).operation_keys()[0][1:] == ("", "")
    again = run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    assert "Déjà importées : 4 opération(s)" in again.output
    columns = [r[1] for r in journal_rows(project, "PRAGMA table_info(operations)")]
    assert columns[-3:] == ["id_banque", "empreinte", "annule"]


# A few lines, some of them identical (same day, amount and label), paying example invoices.
CONTENTS = [("2026-11-18", "480.00", "VIR RF06 F202 6027 ROUSSEAU"),
            ("2026-11-20", "1534.60", "VIR MARTIN FACT F2026031 F2026044"),
            ("2026-11-19", "100.00", "VIR DIVERS"),
            ("2026-11-19", "100.00", "VIR DIVERS"),
            ("2026-11-17", "3200.00", "VIR CABINET ROUX F-2026-046")]


@functools.cache
def example_lecture():
    return read_classeur(ROOT / "exemple" / "relances.xlsx.example")


def export(indices: list[int], with_ids: bool) -> Releve:
    """An export of the lines `indices`, in that order, with or without their bank ids."""
    operations, seen = [], {}
    for i in indices:
        content = CONTENTS[i]
        rang = seen.get(content, 0)
        seen[content] = rang + 1
        operations.append(line(*content, id_banque=f"BQ-{i}" if with_ids else "", rang=rang))
    return Releve("export", "camt.053", tuple(operations), None)


exports = st.tuples(st.lists(st.sampled_from(range(len(CONTENTS))), unique=True, min_size=1),
                    st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(first=exports, second=exports)
def test_an_overlapping_export_changes_nothing_for_the_lines_already_imported(
        tmp_path_factory, first, second):
    journal = Journal.open(tmp_path_factory.mktemp("j") / "journal.sqlite")
    lecture = example_lecture()
    try:
        import_lines(journal, lecture, Pointe(releves=[export(*first)]), NOW, readonly=False)
        before = {p.cle: p for p in journal.pointages()}
        counted = prepare(lecture, journal)[1].a_ecrire
        pointe = Pointe(releves=[export(*second)])
        import_lines(journal, lecture, pointe, NOW, readonly=False)
        after = journal.pointages()
        # What was imported stays as it was, and is still counted once.
        assert all(before[p.cle] == p for p in after if p.cle in before)
        assert {p.cle for p in counted} <= {p.cle for p in prepare(lecture, journal)[1].a_ecrire}
        # Each content counts at most as many times as one export shows it.
        for content in set(CONTENTS):
            n = max(sum(CONTENTS[i] == content for i in ids) for ids, _ in (first, second))
            assert sum(1 for p in after if p.statut == "affecte" and (
                p.jour.isoformat(), str(p.montant), p.libelle) == content) <= n
        overlap = sum(min(sum(CONTENTS[i] == c for i in first[0]),
                          sum(CONTENTS[i] == c for i in second[0])) for c in set(CONTENTS))
        # Lines seen before are set aside, or (the bank telling two identical ones apart by
        # their ids) sent to review: never applied a second time.
        assert pointe.deja + sum(v.motif == DOUBLON for v in pointe.a_verifier) >= overlap
        # The first export again: nothing new at all.
        third = Pointe(releves=[export(*first)])
        import_lines(journal, lecture, third, NOW, readonly=False)
        assert third.deja == len(first[0]) and len(journal.pointages()) == len(after)
    finally:
        journal.close()


# ------------------------------------------------------------------ never lost


def test_an_imported_payment_whose_row_vanished_still_counts_and_is_written_again_once(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    book = openpyxl.load_workbook(workbook)
    # A save made from an older copy: the appended rows are gone (a renamed sheet is found
    # again by its headers, test_feuilles).
    sheet = book["Paiements"]
    sheet.delete_rows(2, sheet.max_row)
    book.save(workbook)
    assert "Julie Rousseau" not in planned(project)  # the journal still counts them
    result = run_relancer(project)
    assert "Paiements importés réécrits dans la feuille Paiements (2) :" in result.output
    assert "Paiement du 18/11/2026 de 480,00 € (Julie Rousseau, F-2026-027), importé le " \
        in result.output
    assert ": sa ligne n’est plus dans la feuille Paiements (ligne supprimée, feuille " \
        "renommée, sauvegarde restaurée ?) ; il compte toujours" in result.output
    assert [r[2] for r in sheet_rows(workbook, "Paiements")] == ["Julie Rousseau",
                                                                "Boulangerie Martin"]
    again = run_relancer(project)
    assert "réécrits" not in again.output
    assert len(sheet_rows(workbook, "Paiements")) == 2  # once


def test_a_deleted_row_is_written_again_and_a_row_cancelled_by_its_statut_is_not(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    book = openpyxl.load_workbook(workbook)
    book["Paiements"].delete_rows(2)  # Julie Rousseau's payment
    book.save(workbook)
    run_relancer(project)
    rows = sheet_rows(workbook, "Paiements")
    assert [r[2] for r in rows] == ["Boulangerie Martin", "Julie Rousseau"]

    book = openpyxl.load_workbook(workbook)
    book["Paiements"]["H1"] = "Statut"
    book["Paiements"]["H3"] = "Annulée"
    book.save(workbook)
    assert planned(project)["Julie Rousseau"] == ["F-2026-027"]  # no longer counts
    run_relancer(project)
    assert journal_rows(project, "SELECT statut FROM operations WHERE client = "
                                 "'Julie Rousseau'") == [("annule",)]
    book = openpyxl.load_workbook(workbook)
    book["Paiements"].delete_rows(3)  # gone for good now: the journal knows it was cancelled
    book.save(workbook)
    run_relancer(project, "--date", "2026-11-23")
    assert [r[2] for r in sheet_rows(workbook, "Paiements")] == ["Boulangerie Martin"]


def test_a_statut_that_cannot_be_read_is_reported_and_holds_its_client(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    book = openpyxl.load_workbook(workbook)
    book["Paiements"]["H1"] = "Statut"
    book["Paiements"]["H3"] = "à voir"  # Boulangerie Martin's payment
    book.save(workbook)
    result = run_relancer(project, "--dry-run")
    assert "Paiements!3 : Statut : valeur « à voir » inconnue" in result.output
    assert "Boulangerie Martin non relancé tant que la ligne n’est pas corrigée" in \
        result.output
    assert "Boulangerie Martin" not in planned(project)
    run_relancer(project)
    assert len(sheet_rows(workbook, "Paiements")) == 2  # its row is there: not written again


# ------------------------------------------------------------------ reversals


def test_a_reversal_cancels_its_payment_and_the_invoice_is_chased_again(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    assert "Julie Rousseau" not in planned(project)
    pointe, text = import_lines_of(project, line(
        "2026-11-20", "480.00", "RETOUR VIR INST ROUSSEAU JULIE MOTIF AC04", "BQ-R1",
        annulation=True))
    assert ("Paiement du 18/11/2026 de 480,00 € (Julie Rousseau, F-2026-027) annulé par la "
            "banque le 20/11/2026 : la facture est de nouveau à relancer") in text
    rows = sheet_rows(workbook, "Paiements")
    assert [(r[1], r[2], r[3], r[5]) for r in rows][-1] == (
        -480, "Julie Rousseau", "F-2026-027", f"relevé {COMPTE}:BQ-R1")
    assert rows[-1][4].startswith("Annulation : paiement du 18/11/2026")
    assert rows[0][1] == 480  # the user's row is left as it was
    assert planned(project)["Julie Rousseau"] == ["F-2026-027"]
    again, _ = import_lines_of(project, line(
        "2026-11-20", "480.00", "RETOUR VIR INST ROUSSEAU JULIE MOTIF AC04", "BQ-R1",
        annulation=True))
    assert again.deja == 1 and len(sheet_rows(workbook, "Paiements")) == 3


def test_a_reversal_naming_the_line_it_cancels_and_a_credit_waiting_for_review(project):
    import_lines_of(project, line("2026-11-16", "265.00", "REMISE CHEQUE 1234567", "BQ-7"))
    assert len(sheet_rows(project / "relances.xlsx", "À vérifier")) == 1
    _, text = import_lines_of(project, line("2026-11-19", "265.00", "CHEQUE IMPAYE", "BQ-8",
                                            annulation=True, annule="BQ-7"))
    assert "il n’attend plus dans la feuille À vérifier" in text
    assert sheet_rows(project / "relances.xlsx", "À vérifier") == []
    assert journal_rows(project, "SELECT statut FROM operations ORDER BY jour") == [
        ("annule",), ("annule",)]
    assert "Paiements à vérifier" not in run_relancer(project, "--dry-run").output


def test_a_reversal_that_matches_no_payment_waits_for_review_and_holds_its_clients(project):
    assert "Garage Leroy" in planned(project)
    pointe, text = import_lines_of(project, line(
        "2026-11-20", "2150.00", "RETOUR VIR GARAGE LEROY", "BQ-R9", annulation=True))
    assert not pointe.annulations and len(pointe.a_verifier) == 1
    assert "aucun paiement importé ne correspond" in text
    review = sheet_rows(project / "relances.xlsx", "À vérifier")
    assert review[0][2] == -2150 and "Garage Leroy" in review[0][4]
    assert "Garage Leroy" not in planned(project)


def test_a_negative_row_the_user_types_takes_back_the_newest_invoice_first():
    factures = [Facture(numero=n, client="A", echeance=d(e), montant=D("100"), paye=D("100"))
                for n, e in (("F-1", "2026-10-01"), ("F-2", "2026-10-15"))]
    taken = apply_payments("Paiements", factures, [Reglement(
        d("2026-11-20"), D("-150"), "A", ("F-1", "F-2"), "Annulation : chèque impayé")],
        {}, anomalies := [])
    assert [f.paye for f in taken] == [D("50"), D("0")] and not anomalies


def test_a_user_typed_cancellation_in_paiements_makes_the_invoice_due_again(project):
    workbook = project / "relances.xlsx"
    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    book = openpyxl.load_workbook(workbook)
    book["Paiements"].append([datetime.datetime(2026, 11, 21), -480, "Julie Rousseau",
                              "F-2026-027", "Annulation : virement rejeté"])
    book.save(workbook)
    result = run_relancer(project, "--dry-run")
    assert "Paiements!4" not in result.output
    assert planned(project)["Julie Rousseau"] == ["F-2026-027"]


# ------------------------------------------------------------------ bounded, and robust


def test_a_verifier_groups_what_a_sheet_should_not_show(project, monkeypatch):
    monkeypatch.setattr(encaissements, "A_VERIFIER_MAX", 1)
    result = run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    assert ("Feuille À vérifier : 2 opérations attendent, plus qu’une feuille ne doit en "
            "montrer ; les 1 plus anciennes y sont détaillées, les 1 autres regroupées en 1 "
            "ligne(s)") in result.output
    review = sheet_rows(project / "relances.xlsx", "À vérifier")
    assert [(r[0], r[2]) for r in review] == [(review[0][0], 265),
                                             ("(regroupées)", 2000)]
    assert "regroupées par fichier et par jour" in review[1][6]
    plan = planned(project)
    assert "Garage Leroy" not in plan and "Café du Commerce" not in plan  # all still held


def test_one_unreadable_statement_never_cancels_the_days_reminders(project):
    bad = project / "releve.pdf"
    bad.write_bytes(b"%PDF-1.7\n")
    result = run_relancer(project, "--releve", str(bad), "--releve", str(project / "absent.csv"),
                          "--releve", str(RELEVES / "credit-agricole.csv"))
    assert result.exit_code == 1  # partial: something to fix, the rest done
    assert "releve.pdf : relevé PDF" in result.output and "absent.csv : fichier introuvable" \
        in result.output
    assert "Paiements reconnus — 2" in result.output
    assert "Relances du 22 novembre 2026" in result.output
    assert (project / "sortie").exists()
    assert len(sheet_rows(project / "relances.xlsx", "Paiements")) == 2


def test_the_summary_shows_the_first_lines_waiting_and_counts_the_rest(project, monkeypatch):
    from relances.cli import commun

    run_pointer(project, str(RELEVES / "credit-agricole.csv"))
    monkeypatch.setattr(commun, "RESUME_A_VERIFIER_MAX", 1)
    result = run_relancer(project)
    assert "Paiements à vérifier (feuille À vérifier, colonne Décision) — 2 :" in result.output
    assert "« REMISE CHEQUE 1234567 »" in result.output  # the oldest, shown
    assert "« VIR SEPA GARAGE LEROY ACOMPTE »" not in result.output
    assert "… et 1 autre(s), 2 000,00 € en tout : voir la feuille À vérifier" in result.output
