"""End to end: the command line on real workbooks in tmp_path, across several run dates."""

from __future__ import annotations

import datetime
import email
import email.policy
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from relances.cli import relancer
from relances.config import load_config
from relances.run import run_daily

from conftest import ROOT, TODAY, days, invoice_row


def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), *args])
    assert "Traceback" not in result.output
    return result


def emails_in(folder: Path) -> list[Path]:
    """The emails written by runs (not their copies in a hand-off dossier)."""
    return sorted((folder / "sortie").glob("*/emails/*.eml"))


def parse(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def sheet_values(path: Path, sheet: str) -> list[tuple]:
    book = openpyxl.load_workbook(path)
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


def column(path: Path, header: str) -> dict[str, object]:
    rows = sheet_values(path, "Factures")
    index = rows[0].index(header)
    return {row[1]: row[index] for row in rows[1:] if row[1]}


# ------------------------------------------------------------ the example workbook

def test_the_example_workbook_sends_each_case_its_step(project):
    result = run(project, "--date", "2026-11-22")
    assert result.exit_code == 1, result.output  # Café du Commerce has no address
    assert "Café du Commerce : aucune adresse e-mail utilisable" in result.output
    sent = {parse(p)["X-Relances-Etape"]: parse(p) for p in emails_in(project)}
    assert set(sent) == {"rappel", "dernier_rappel", "promesse_non_tenue"}
    assert "Appels à passer" in result.output and "Garage Leroy" in result.output
    assert list((project / "sortie").rglob("*mise_en_demeure.pdf"))
    steps = column(project / "relances.xlsx", "Étape")
    assert steps["F-2026-031"] == "Premier rappel (22/11/2026)"
    # A call is a task until an exchange records it: Étape tells only what happened.
    assert steps["F-2026-012"] == "Premier rappel (08/11/2026)"
    assert steps["F-2026-007"] == "Dernier rappel (22/11/2026)"
    assert steps["F-2026-003"] == "Mise en demeure (22/11/2026)"
    assert steps["F-2026-001"] == "Recouvrement (22/11/2026)"
    assert steps["F-2026-019"] is None  # disputed
    nexts = column(project / "relances.xlsx", "Prochaine action")
    assert nexts["F-2026-019"] == "aucune (statut Litige)"
    assert nexts["F-2026-045"] == "Premier rappel le 30/11/2026"
    dates = column(project / "relances.xlsx", "Date prochaine action")
    assert dates["F-2026-045"] == datetime.datetime(2026, 11, 30)  # a real date, to filter on
    assert dates["F-2026-019"] is None
    # Dossier mode: nothing left; the summary and the journal say « prepared », not « sent ».
    assert "E-mails préparés (à envoyer depuis votre messagerie)" in result.output
    assert "E-mails envoyés" not in result.output
    assert all(parse(p)["X-Unsent"] == "1" for p in emails_in(project))


def test_emails_are_standard_messages_with_both_parts(project):
    run(project, "--date", "2026-11-22")
    (path,) = [p for p in emails_in(project) if "boulangerie-martin" in p.name]
    message = parse(path)
    assert message["To"].addresses[0].addr_spec == "compta@boulangerie-martin.fr"
    assert message["To"].addresses[0].display_name == "Paul Martin"
    assert message["From"].addresses[0].display_name == "Atelier Dupont — Comptabilité"
    assert message["Message-ID"].endswith("@atelier-dupont.fr>")
    assert message["Subject"] == "Factures F-2026-031, F-2026-044\u00a0: petit rappel"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "1\u202f180,00\u00a0€" in text and "1\u202f534,60\u00a0€" in text
    assert "F-2026-044" in html and "<table" in html and "{{" not in html
    assert "oubli" in text  # the first reminder assumes an oversight
    assert text.startswith("Bonjour Monsieur Martin,")  # Civilité: Monsieur
    assert "vous trouverez les factures en pièce jointe" in text.lower()
    # The invoices themselves travel with the reminder (SPEC §2), and nothing else does.
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert set(attachments) == {"F-2026-031.pdf", "F-2026-044.pdf"}
    assert attachments["F-2026-031.pdf"] == (project / "factures" / "F-2026-031.pdf").read_bytes()


def test_the_last_reminder_states_penalties_indemnity_and_deadline(project):
    run(project, "--date", "2026-11-22")
    (path,) = [p for p in emails_in(project) if "dernier_rappel" in p.name]
    text = parse(path).get_body(("plain",)).get_content()
    # Menuiserie Petit is a known bad payer (Profil « mauvais payeur »): 5 days, not 8.
    assert "12,15\u202f%" in text and "40,00\u00a0€" in text and "27 novembre 2026" in text
    assert "L441-10" in text and "D441-5" in text


def test_the_broken_promise_message_quotes_the_promised_date(project):
    run(project, "--date", "2026-11-22")
    (path,) = [p for p in emails_in(project) if "promesse_non_tenue" in p.name]
    message = parse(path)
    assert "20 novembre 2026" in message["Subject"]
    assert "pour le 20 novembre 2026 au plus tard" in message.get_body(("plain",)).get_content()


def test_a_second_run_the_same_day_does_nothing_twice(project):
    run(project, "--date", "2026-11-22")
    first = emails_in(project)
    result = run(project, "--date", "2026-11-22")
    assert "Rien à faire aujourd’hui." in result.output
    assert emails_in(project) == first


def test_runs_over_weeks_walk_each_invoice_through_its_steps_once(project):
    for offset in range(0, 70):
        day = datetime.date(2026, 11, 22) + days(offset)
        result = run(project, "--date", day.isoformat())
        assert result.exit_code in (0, 1), result.output
    db = sqlite3.connect(project / "relances.journal.sqlite")
    keys = db.execute("SELECT facture, cle, COUNT(*) FROM faits GROUP BY facture, cle").fetchall()
    assert all(count == 1 for _, _, count in keys)
    done = {(f, c) for f, c, _ in keys}
    assert ("F-2026-031", "recouvrement") in done  # went all the way
    assert ("F-2026-019", "rappel") not in done  # disputed, never chased
    sent = db.execute("SELECT COUNT(*) FROM actions WHERE statut = 'prepare'").fetchone()[0]
    assert sent == len(emails_in(project))


# ------------------------------------------------------------ the workbook survives

def snapshot(path: Path) -> dict:
    book = openpyxl.load_workbook(path)
    factures, clients = book["Factures"], book["Clients"]
    tool = {"Étape", "Relances envoyées", "Dernière relance", "Prochaine action",
            "Date prochaine action", "Jours de retard"}
    headers = [c.value for c in factures[1]]
    cells = {(c.coordinate): (c.value, c.number_format, c.font.b, c.fill.fgColor.rgb)
             for row in factures.iter_rows() for c in row if headers[c.column - 1] not in tool}
    return dict(
        cells=cells,
        clients=[[(c.value, c.number_format) for c in row] for row in clients.iter_rows()],
        widths={k: v.width for k, v in factures.column_dimensions.items()},
        freeze=(factures.freeze_panes, clients.freeze_panes),
        cf=[(str(r.sqref), [x.formula for x in r.rules]) for r in factures.conditional_formatting],
        dv=[(str(v.sqref), v.formula1) for v in factures.data_validations.dataValidation],
        names=sorted(book.defined_names),
        filter=factures.auto_filter.ref,
        sheets=book.sheetnames[:2],
    )


def test_only_tool_owned_cells_change(project):
    before = snapshot(project / "relances.xlsx")
    run(project, "--date", "2026-11-22")
    after = snapshot(project / "relances.xlsx")
    assert after == before
    assert column(project / "relances.xlsx", "Reste dû")["F-2026-003"] == "=E8-N(F8)"
    assert sheet_values(project / "relances.xlsx", "Journal")[0] == (
        "N°", "Date", "Client", "Factures", "Étape", "Canal", "Destinataire", "Montant",
        "Fichier", "Résultat")


def test_a_backup_is_kept_and_rotated(project):
    for offset in range(8):
        run(project, "--date", (TODAY + days(offset)).isoformat())
    backups = list((project / "sauvegardes").glob("relances-*.xlsx"))
    assert 1 <= len(backups) <= 5


def test_missing_tool_columns_are_added_and_plain_values_are_filled(small_project):
    folder = small_project([invoice_row(numero="F-9", echeance=TODAY - days(4))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    sheet = book["Factures"]
    sheet.delete_cols(10, 5)  # drop Étape .. Date prochaine action
    sheet["G2"] = 5  # a plain value in Reste dû: the tool's to correct
    book.save(folder / "relances.xlsx")
    assert run(folder, "--date", TODAY.isoformat()).exit_code == 0
    assert column(folder / "relances.xlsx", "Étape")["F-9"] == "Premier rappel (22/11/2026)"
    assert column(folder / "relances.xlsx", "Reste dû")["F-9"] == 1000
    assert column(folder / "relances.xlsx", "Notes")["F-9"] is None


def test_an_edit_saved_during_the_run_is_kept(project):
    config = load_config(project / "config.toml")

    def edit_meanwhile(total):
        book = openpyxl.load_workbook(project / "relances.xlsx")
        book["Factures"]["P2"] = "Note tapée pendant l’exécution"
        book.save(project / "relances.xlsx")
        return None

    result = run_daily(config, TODAY, datetime.datetime(2026, 11, 22, 8, 0),
                       start_progress=edit_meanwhile)
    assert result.ecriture is not None and not result.ecriture_erreur
    assert column(project / "relances.xlsx", "Notes")["F-2026-031"] == "Note tapée pendant l’exécution"
    assert column(project / "relances.xlsx", "Étape")["F-2026-031"] == "Premier rappel (22/11/2026)"


def test_a_failed_save_is_caught_up_from_the_journal(project):
    config = load_config(project / "config.toml")
    lock = project / "~$relances.xlsx"

    def open_in_excel(total):
        lock.write_text("")
        return None

    result = run_daily(config, TODAY, datetime.datetime(2026, 11, 22, 8, 0),
                       start_progress=open_in_excel)
    assert "ouvert dans Excel" in result.ecriture_erreur
    assert column(project / "relances.xlsx", "Étape")["F-2026-031"] is None
    lock.unlink()
    result = run(project, "--date", TODAY.isoformat())
    assert "Rien à faire aujourd’hui." in result.output
    assert column(project / "relances.xlsx", "Étape")["F-2026-031"] == "Premier rappel (22/11/2026)"


# ------------------------------------------------------------ dry run and JSON

def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_dry_run_changes_nothing(project):
    before = tree(project)
    result = run(project, "--date", "2026-11-22", "--dry-run")
    assert "Simulation" in result.output and "E-mails à envoyer (5)" in result.output
    assert tree(project) == before


def test_json_prints_the_plan_and_nothing_else(project):
    result = CliRunner().invoke(relancer, ["--config", str(project / "config.toml"),
                                           "--date", "2026-11-22", "--json", "--dry-run"])
    plan = json.loads(result.stdout)
    assert plan["date"] == "2026-11-22"
    martin = next(a for a in plan["actions"] if a["client"] == "Boulangerie Martin")
    assert martin == {"client": "Boulangerie Martin", "invoices": ["F-2026-031", "F-2026-044"],
                      "step": "rappel", "channel": "email", "to": "compta@boulangerie-martin.fr",
                      "amount_due": 1534.6, "amount_claimed": 1534.6, "label": "Premier rappel",
                      "invoice_steps": {"F-2026-031": "rappel", "F-2026-044": "rappel"},
                      "credit_notes": [], "deadline": None, "complement": 0}
    call = next(a for a in plan["actions"] if a["channel"] == "appel")
    assert call["to"] is None
    assert plan["errors"] == [{"sheet": "Clients", "row": 7, "message": (
        "Café du Commerce : aucune adresse e-mail utilisable, « Premier rappel » non envoyé "
        "(factures F-2026-040)")}]


# ------------------------------------------------------------ bad input, exit statuses

def test_everything_fine_exits_0(small_project):
    folder = small_project([invoice_row(echeance=TODAY - days(4))])
    result = run(folder, "--date", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    assert len(emails_in(folder)) == 1


def test_a_bad_row_is_reported_with_sheet_row_and_value_and_the_rest_goes_on(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4)),
                            invoice_row(numero="F-2", echeance="31/02/2026"),
                            invoice_row(client="Beta", numero="F-3", montant="12,5 euros ?")])
    result = run(folder, "--date", TODAY.isoformat(), "--json")
    assert result.exit_code == 1
    plan = json.loads(result.stdout)
    # (F-3's unreadable amount may be a credit note: Beta is held, Alpha goes on.)
    assert [a["invoices"] for a in plan["actions"]] == [["F-1"]]
    assert plan["errors"][0] == {"sheet": "Factures", "row": 3, "message":
                                 "Échéance : date inexistante « 31/02/2026 » (facture F-2)"}
    assert plan["errors"][1]["row"] == 4 and "« 12,5 euros ? »" in plan["errors"][1]["message"]


def test_a_duplicate_invoice_number_is_never_chased(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4)),
                            invoice_row(numero="F-1", echeance=TODAY - days(40))])
    result = run(folder, "--date", TODAY.isoformat(), "--json")
    plan = json.loads(result.stdout)
    assert plan["actions"] == [] and len(plan["errors"]) == 2 and result.exit_code == 1


def test_an_unknown_status_is_reported_and_the_invoice_not_chased(small_project):
    folder = small_project([invoice_row(echeance=TODAY - days(4), statut="Réglée ?")])
    result = run(folder, "--date", TODAY.isoformat(), "--json")
    plan = json.loads(result.stdout)
    assert plan["actions"] == [] and result.exit_code == 1
    assert "Statut inconnu « Réglée ? »" in plan["errors"][0]["message"]


def test_a_second_run_at_the_same_time_is_refused(project):
    from filelock import FileLock

    with FileLock(str(project / ".relances.xlsx.verrou")):
        result = run(project, "--date", "2026-11-22")
    assert result.exit_code == 2 and "une autre exécution" in result.output
    assert not emails_in(project)


def test_headers_are_matched_loosely_and_through_colonnes(small_project):
    folder = small_project([invoice_row(echeance=TODAY - days(4))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    sheet = book["Factures"]
    sheet["B1"], sheet["D1"], sheet["E1"] = "n° FACTURE", "echeance", "Total à payer"
    book.save(folder / "relances.xlsx")
    config = folder / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") +
                      '\n[colonnes]\n"Total à payer" = "Montant TTC"\n', encoding="utf-8")
    result = run(folder, "--date", TODAY.isoformat(), "--json")
    assert json.loads(result.stdout)["actions"][0]["amount_due"] == 1000.0


@pytest.mark.parametrize("prepare, message", [
    (lambda f: (f / "config.toml").unlink(), "fichier de configuration introuvable"),
    (lambda f: (f / "config.toml").write_text("classeur = \n", encoding="utf-8"),
     "config.toml : syntaxe TOML invalide : ligne 1"),
    (lambda f: (f / "config.toml").write_text("[[etapes]]\nnom='x'\napres_jours='trois'\ncanal='email'\n",
                                              encoding="utf-8"),
     "config.toml: etapes[1].apres_jours : un nombre entier de jours est attendu"),
    (lambda f: (f / "relances.xlsx").unlink(), "classeur introuvable"),
    (lambda f: (f / "relances.xlsx").write_text("pas un classeur"),
     "ce n’est pas un classeur Excel .xlsx"),
    (lambda f: (f / "~$relances.xlsx").write_text(""), "ouvert dans Excel ou LibreOffice"),
])
def test_nothing_possible_exits_2_with_a_french_message(project, prepare, message):
    prepare(project)
    result = run(project, "--date", "2026-11-22")
    assert result.exit_code == 2
    assert message in result.output
    assert not emails_in(project)


def test_a_missing_column_names_it_and_the_way_out(small_project):
    folder = small_project([invoice_row()])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Factures"]["D1"] = "Quand"
    book.save(folder / "relances.xlsx")
    result = run(folder)
    assert result.exit_code == 2
    assert "colonne(s) « Échéance » introuvable(s)" in result.output and "[colonnes]" in result.output


def test_a_template_error_stops_the_run_before_anything_is_sent(project):
    (project / "lettres").mkdir(exist_ok=True)
    (project / "lettres" / "rappel.texte.txt").write_text("Bonjour {{ client.surnom }}")
    result = run(project, "--date", "2026-11-22")
    assert result.exit_code == 2
    assert "lettres/rappel.texte.txt : variable inconnue" in result.output
    assert not emails_in(project)
    db = sqlite3.connect(project / "relances.journal.sqlite")
    assert db.execute("SELECT COUNT(*) FROM actions WHERE statut != 'repris'").fetchone()[0] == 0


def test_a_bad_sender_address_stops_the_run_before_anything_is_sent(project):
    config = project / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'expediteur = "Atelier Dupont — Comptabilité <compta@atelier-dupont.fr>"',
        'expediteur = "Atelier Dupont"'), encoding="utf-8")
    result = run(project, "--date", "2026-11-22")
    assert result.exit_code == 2
    assert "envoi.expediteur : adresse d’expéditeur invalide" in result.output
    assert not emails_in(project)


def test_a_bad_date_option_is_explained_in_french(project):
    result = run(project, "--date", "22/11/2026")
    assert result.exit_code == 2 and "format attendu : AAAA-MM-JJ" in result.output


def test_a_log_file_is_kept_for_scheduled_runs(project):
    run(project, "--date", "2026-11-22")
    assert "début" in (project / "relances.log").read_text(encoding="utf-8")


# ------------------------------------------------------------ crashes

def test_a_message_interrupted_before_its_file_is_done_again(project):
    run(project, "--date", "2026-11-22")
    (path,) = [p for p in emails_in(project) if "boulangerie" in p.name]
    db = sqlite3.connect(project / "relances.journal.sqlite")
    # As if the run had died after recording "en cours" and before writing the file.
    db.execute("UPDATE actions SET statut = 'en_cours' WHERE fichier LIKE '%boulangerie%'")
    db.commit()
    path.unlink()
    result = run(project, "--date", "2026-11-22")
    assert [p.name for p in emails_in(project) if "boulangerie" in p.name] != []
    assert "Boulangerie Martin" in result.output


def test_a_message_interrupted_after_its_file_is_not_done_again(project):
    run(project, "--date", "2026-11-22")
    before = emails_in(project)
    db = sqlite3.connect(project / "relances.journal.sqlite")
    db.execute("UPDATE actions SET statut = 'en_cours' WHERE fichier LIKE '%boulangerie%'")
    db.commit()
    result = run(project, "--date", "2026-11-22")
    assert emails_in(project) == before
    assert "Rien à faire aujourd’hui." in result.output
    assert db.execute("SELECT statut FROM actions WHERE fichier LIKE '%boulangerie%'").fetchone()[0] == "prepare"


def test_the_script_runs_as_a_subprocess():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "relancer.py"), "--help"],
                            capture_output=True, text=True, check=True)
    assert "--dry-run" in result.stdout and "--classeur" in result.stdout


def test_a_save_during_the_run_into_an_unreadable_file_is_reported_not_fatal(project):
    config = load_config(project / "config.toml")

    def break_meanwhile(total):
        (project / "relances.xlsx").write_bytes(b"plus un classeur")
        return None

    result = run_daily(config, TODAY, datetime.datetime(2026, 11, 22, 8, 0),
                       start_progress=break_meanwhile)
    assert result.executions and all(e.statut in ("prepare", "a_faire") for e in result.executions)
    assert "ce n’est pas un classeur Excel" in result.ecriture_erreur
    assert "la prochaine exécution le fera depuis le journal" in result.ecriture_erreur


def test_the_journal_sheet_is_readable_proof(project):
    run(project, "--date", "2026-11-22")
    book = openpyxl.load_workbook(project / "relances.xlsx")
    sheet = book["Journal"]
    rows = list(sheet.iter_rows(min_row=2))
    dates = [r[1].value for r in rows]
    assert dates == sorted(dates) and all(isinstance(d, datetime.datetime) for d in dates)
    assert rows[0][1].number_format == "DD/MM/YYYY HH:MM"
    labels = {r[4].value for r in rows}
    assert {"Premier rappel", "Appel", "Dernier rappel", "Mise en demeure"} <= labels
    files = [r[8] for r in rows if r[8].value]
    assert files and all(c.hyperlink is not None and c.hyperlink.target == c.value for c in files)
    assert all(c.data_type != "f" for c in files)  # a cell hyperlink, not a HYPERLINK formula
    letter = next(r for r in rows if r[4].value == "Mise en demeure" and r[8].value)
    assert letter[7].value == 2677.22  # the amount the letter claims
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.scale >= 85
    assert not sheet.sheet_properties.pageSetUpPr.fitToPage  # never shrunk to a page's width
    assert sheet.print_title_rows == "$1:$1" and sheet.auto_filter.ref.startswith("A1:J")
    # The link opens the file: its target is relative to the workbook.
    assert all((project / c.value).exists() for c in files)  # a file, or a hand-off folder
