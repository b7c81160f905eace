"""Payment references are unique per invoice and stable once printed (issue 19, item 2):
real workbooks, real runs through the command line, real journals, statements as banks
export them."""

from __future__ import annotations

import datetime
import email
import email.policy
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from stdnum.be import ogm_vcs

from relances.banque import AVerifier, Affectation, match_operations
from relances.banque.operations import Operation
from relances.cli import pointer, relancer
from relances.journal import Journal
from relances.records import Action, client_key
from relances.references import (Attribution, Repertoire, attribuer, compact, ogm_of, reference,
                                 rf_of)

from conftest import TODAY, client_row, days, facture, invoice_row

OGM = re.compile(r"\+\+\+\d{3}/\d{4}/\d{5}\+\+\+")


def project_ogm(small_project, rows, clients=None) -> Path:
    folder = small_project(rows, clients or [client_row(), client_row("Beta", "b@beta.fr",
                                                                     "Bob Beta")])
    config = folder / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('# reference = "rf"', 'reference = "ogm"', 1),
                      encoding="utf-8")
    return folder


def two_invoices(small_project) -> Path:
    return project_ogm(small_project, [
        invoice_row(numero="FA-2026-031", echeance=TODAY - days(5)),
        invoice_row(client="Beta", numero="AC-2026-031", echeance=TODAY - days(5))])


def relance(folder: Path, day: datetime.date, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), "--date",
                                           day.isoformat(), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def pointe(folder: Path, lines: list[tuple[str, str]], day: datetime.date, *args: str):
    statement = folder / "releve.csv"
    statement.write_text("Date;Libellé;Montant\n" + "".join(
        f"{day - days(1):%d/%m/%Y};{label};{amount}\n" for label, amount in lines), "cp1252")
    result = CliRunner().invoke(pointer, ["--config", str(folder / "config.toml"), "--date",
                                          day.isoformat(), *args, str(statement)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def printed_ogm(folder: Path, day: datetime.date | None = None,
                where: str = "sortie/*/emails/*.eml") -> dict[str, str]:
    """The OGM each e-mail printed, by recipient domain (alpha, beta)."""
    found = {}
    pattern = where.replace("*/", f"{day.isoformat()}/", 1) if day else where
    for path in sorted(folder.glob(pattern)):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",)).get_content()
        (ogm,) = set(OGM.findall(text))
        found[str(message["To"]).split("@")[1].split(".")[0]] = ogm
    return found


def journal_refs(folder: Path) -> dict[str, str]:
    db = sqlite3.connect(folder / "relances.journal.sqlite")
    try:
        return dict(db.execute("SELECT facture, ogm FROM references_paiement"))
    finally:
        db.close()


def paiements(folder: Path) -> list[tuple]:
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    if "Paiements" not in book.sheetnames:
        return []
    return [tuple(c.value for c in row) for row in book["Paiements"].iter_rows(min_row=2)
            if row[0].value is not None]


def review(folder: Path) -> list[tuple]:
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    return [tuple(c.value for c in row) for row in book["À vérifier"].iter_rows(min_row=2)
            if row[0].value is not None]


def old_journal(folder: Path, sent: list[tuple[str, str, datetime.date]]) -> None:
    """A journal written before references were kept: a first reminder by e-mail, which
    printed the reference derived from the invoice number, then a call made a week later."""
    journal = Journal.open(folder / "relances.journal.sqlite")
    try:
        for client, numero, day in sent:
            for etape, canal, when, statut in (("rappel", "email", day, "prepare"),
                                               ("appel", "appel", day + days(7), "fait")):
                action = Action(client, (numero,), etape, canal, ("x@x.fr",), Decimal("1000"),
                                etape, 8, when, False, (etape,), etape,
                                montant_reclame=Decimal("1000"))
                action_id, _ = journal.begin(action, when, datetime.datetime.combine(
                    when, datetime.time(9)))
                journal.finish(action_id, statut)
    finally:
        journal.close()
    db = sqlite3.connect(folder / "relances.journal.sqlite")
    db.execute("DROP TABLE references_paiement")
    db.commit()
    db.close()


# ------------------------------------------------------------------ through the command line


def test_two_invoices_with_the_same_digits_get_different_ogms_and_are_recognised(small_project):
    folder = two_invoices(small_project)
    # The references derived from the numbers were the same: that is what this fixes.
    assert reference("FA-2026-031", "ogm") == reference("AC-2026-031", "ogm")
    relance(folder, TODAY)
    ogms = printed_ogm(folder)
    assert set(ogms) == {"alpha", "beta"} and ogms["alpha"] != ogms["beta"]
    assert all(ogm_vcs.is_valid(o[3:-3]) for o in ogms.values())
    assert journal_refs(folder) == {"FA-2026-031": ogms["alpha"], "AC-2026-031": ogms["beta"]}

    result = pointe(folder, [(f"VIR SEPA {ogms['beta']}", "1000,00"),
                             (f"VIR SEPA /{compact(ogms['alpha'])}", "400,00")], TODAY)
    assert result.exit_code == 0, result.output
    rows = paiements(folder)
    assert sorted((r[2], r[3], r[1]) for r in rows) == [
        ("Alpha", "FA-2026-031", 400), ("Beta", "AC-2026-031", 1000)]
    assert {r[6] for r in rows} == set(ogms.values())  # the reference each carried


def test_a_reference_printed_once_stays_when_runs_and_invoices_change(small_project):
    folder = two_invoices(small_project)
    relance(folder, TODAY)
    first = printed_ogm(folder, TODAY)
    # The user adds invoices (one with the same digits again) and deletes Beta's.
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    sheet = book["Factures"]
    (row,) = [r for r in sheet.iter_rows(min_row=2) if r[1].value == "AC-2026-031"]
    sheet.delete_rows(row[0].row)
    sheet.insert_rows(2)
    for column, value in enumerate(("Beta", "ZZ-2026-031", TODAY - days(40),
                                    TODAY - days(2), 700), start=1):
        sheet.cell(2, column, value)
    book.save(folder / "relances.xlsx")
    later = TODAY + days(1)
    relance(folder, later)
    relance(folder, TODAY + days(16))
    zz = printed_ogm(folder, TODAY + days(16))["beta"]  # ZZ-2026-031's first reminder
    assert zz not in first.values()
    # Alpha's client pays with the reference its e-mail gave, weeks and changes later.
    pointe(folder, [(f"VIR {first['alpha']}", "1000,00")], TODAY + days(16))
    assert [(r[2], r[3]) for r in paiements(folder)] == [("Alpha", "FA-2026-031")]
    refs = journal_refs(folder)
    assert refs["FA-2026-031"] == first["alpha"] and refs["AC-2026-031"] == first["beta"]
    assert refs["ZZ-2026-031"] == zz
    assert len(set(refs.values())) == len(refs)


def test_a_dry_run_and_a_preview_give_nothing_and_show_what_a_real_run_gives(small_project):
    folder = two_invoices(small_project)
    result = relance(folder, TODAY, "--dry-run")
    assert not (folder / "relances.journal.sqlite").exists(), result.output
    relance(folder, TODAY, "--apercu", str(folder / "apercu"))
    shown = printed_ogm(folder, where="apercu/*.eml")
    assert not (folder / "relances.journal.sqlite").exists()
    relance(folder, TODAY)
    assert printed_ogm(folder) == shown and len(set(shown.values())) == 2


def test_a_run_that_stops_before_sending_gives_the_same_references_again(small_project,
                                                                         monkeypatch):
    import relances.run

    folder = two_invoices(small_project)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the computer is switched off while the e-mails are built

    monkeypatch.setattr(relances.run, "build_email", crash)
    relance(folder, TODAY)
    given = journal_refs(folder)
    assert len(given) == 2 and not list(folder.glob("sortie/*/emails/*.eml"))
    monkeypatch.undo()
    relance(folder, TODAY)
    ogms = printed_ogm(folder)
    assert {"FA-2026-031": ogms["alpha"], "AC-2026-031": ogms["beta"]} == given


def test_an_invoice_chased_before_references_were_kept_keeps_the_one_it_printed(small_project):
    folder = project_ogm(small_project, [
        invoice_row(numero="FA-2026-031", echeance=TODAY - days(25)),
        invoice_row(client="Beta", numero="AC-2026-031", echeance=TODAY - days(5))])
    old_journal(folder, [("Alpha", "FA-2026-031", TODAY - days(22))])
    result = relance(folder, TODAY)
    ogms = printed_ogm(folder)
    # Alpha's client has the derived one, and keeps it; Beta's never printed one: a new one.
    assert ogms["alpha"] == reference("FA-2026-031", "ogm")
    assert ogms["beta"] != ogms["alpha"]
    assert "imprimée pour deux factures" not in result.output


def test_a_reference_printed_for_two_invoices_is_reported_and_its_payment_reviewed(
        small_project):
    folder = project_ogm(small_project, [
        invoice_row(numero="FA-2026-031", echeance=TODAY - days(25)),
        invoice_row(client="Beta", numero="AC-2026-031", echeance=TODAY - days(25))])
    shared = reference("FA-2026-031", "ogm")
    old_journal(folder, [("Alpha", "FA-2026-031", TODAY - days(22)),
                         ("Beta", "AC-2026-031", TODAY - days(21))])
    result = pointe(folder, [(f"VIR SEPA COMMUNICATION {shared}", "1000,00")], TODAY)
    output = result.output.replace("\u202f", " ").replace("\xa0", " ")
    assert f"référence de paiement {shared} imprimée pour deux factures" in output
    assert "FA-2026-031 (Alpha) et AC-2026-031 (Beta)" in output
    assert paiements(folder) == []
    (line,) = review(folder)
    assert "FA-2026-031" in str(line) and "AC-2026-031" in str(line)
    # The earlier keeps it; the later prints a new one from now on.
    refs = journal_refs(folder)
    assert refs["FA-2026-031"] == shared and refs["AC-2026-031"] != shared
    assert "AC-2026-031 reçoit désormais " + refs["AC-2026-031"] in output


# ------------------------------------------------------------------ the pieces


def test_new_references_never_meet_a_known_one_and_rf_from_the_number_only_when_unique():
    today = TODAY
    derived = reference("X-9000000001", "ogm")  # what sequence 1 would give
    imprimees = {("alpha", "X-9000000001"): today - days(3)}
    besoins = [("alpha", "F-1"), ("beta", "F-1"), ("beta", "G-7")]
    nouvelles, collisions = attribuer(besoins, Repertoire(), imprimees,
                                      ["X-9000000001", "F-1", "F-1", "G-7"], {}, today)
    by = {a.cle: a for a in nouvelles}
    assert by[("alpha", "X-9000000001")].ogm == derived and not collisions
    ogms = [a.ogm for a in nouvelles]
    rfs = [compact(a.rf) for a in nouvelles]
    assert len(set(ogms)) == len(ogms) and len(set(rfs)) == len(rfs)
    assert by[("beta", "G-7")].rf == reference("G-7", "rf")       # unique: from the number
    assert "REF" in by[("alpha", "F-1")].rf and "REF" in by[("beta", "F-1")].rf
    # Asked again with these kept: nothing new, the same answers.
    again, _ = attribuer(besoins, Repertoire(nouvelles), imprimees, [], {}, today)
    assert again == []


def test_the_matcher_finds_invoices_by_the_references_given_and_never_guesses_a_shared_one():
    factures = [facture("FA-2026-031", "Alpha", TODAY, "500"),
                facture("FB-2026-031", "Alpha", TODAY, "500")]
    shared = reference("FA-2026-031", "ogm")
    own = ogm_of("9000000002")
    repertoire = Repertoire([
        Attribution("alpha", "FA-2026-031", 1, shared, reference("FA-2026-031", "rf"), TODAY),
        Attribution("alpha", "FB-2026-031", 2, own, rf_of("REF0000002"),
                    TODAY, anciennes=(shared,))])

    def one(label: str, montant: str = "1000.00"):
        operation = Operation(jour=TODAY, montant=Decimal(montant), libelle=label,
                              cle=label, fichier="releve.csv", ligne=1)
        (found,) = match_operations([operation], factures, repertoire)
        return found

    found = one(f"VIR {shared}")
    assert isinstance(found, AVerifier) and "imprimée pour plusieurs factures" in found.motif
    found = one(f"VIR {own}", "500.00")
    assert isinstance(found, Affectation) and found.factures == ("FB-2026-031",)
    assert found.reference == own
