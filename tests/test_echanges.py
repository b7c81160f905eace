"""Conversations: sheet Échanges read and never written, calls as tasks, sheet À appeler,
disputes listed, the broken-promise reminder quoting what the client said."""

from __future__ import annotations

import datetime
import email
import email.policy
import io
import json
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from relances.appels import call_list, close_calls
from relances.policy import decide, promesse_cle, with_echanges
from relances.suivi import follow_up
from relances.records import Echange

from conftest import (NOM_TEST, SIRET_TEST, TODAY, classeur, client_row, config, d, days, facture,
                      fait, invoice_row)


def echange(jour=TODAY, client="Alpha", factures=(), **kw) -> Echange:
    return Echange(jour=jour, client=client, factures=tuple(factures), **kw)


def plan_of(factures, echanges=(), history=(), today=TODAY):
    book = classeur(factures)
    book = book.__class__(book.factures, book.clients, (), tuple(echanges))
    return decide(book, list(history), today, config())


def book_of(factures, echanges=(), clients=None):
    book = classeur(factures, clients)
    return book.__class__(book.factures, book.clients, (), tuple(echanges))


# ------------------------------------------------------------------ the rules


def test_a_promise_recorded_in_echanges_holds_the_invoices_it_lists():
    invoices = [facture("F-1", echeance=TODAY - days(10)), facture("F-2", echeance=TODAY - days(10))]
    plan = plan_of(invoices, [echange(TODAY - days(2), factures=["F-1"],
                                      promesse=TODAY + days(3), resultat="promesse")])
    assert [a.factures for a in plan.actions] == [("F-2",)]


def test_a_promise_listing_no_invoice_holds_all_the_clients_invoices():
    invoices = [facture("F-1", echeance=TODAY - days(10)), facture("F-2", echeance=TODAY - days(10))]
    plan = plan_of(invoices, [echange(TODAY - days(2), promesse=TODAY + days(3))])
    assert plan.actions == ()


def test_the_latest_promised_date_wins_and_its_breach_is_reminded_once():
    invoice = facture("F-1", echeance=TODAY - days(30), promesse=TODAY - days(10))
    held = plan_of([invoice], [echange(TODAY - days(9), promesse=TODAY + days(2))],
                   [fait("F-1", "rappel", TODAY - days(27))])
    assert held.actions == ()
    broken = plan_of([invoice], [echange(TODAY - days(9), promesse=TODAY - days(1))],
                     [fait("F-1", "rappel", TODAY - days(27))])
    assert [(a.etape, a.promesse) for a in broken.actions] == [
        ("promesse_non_tenue", TODAY - days(1))]


def test_a_dispute_recorded_in_echanges_stops_chasing_until_the_row_changes():
    invoice = facture("F-1", echeance=TODAY - days(10))
    dispute = echange(TODAY - days(3), factures=["F-1"], resultat="litige", row=4)
    assert plan_of([invoice], [dispute]).actions == ()
    book = book_of([invoice], [dispute])
    suivi = follow_up(book, [], TODAY, config())["F-1"]
    assert suivi.prochaine_action == ("aucune : litige noté le 19/11/2026 (feuille Échanges, "
                                      "ligne 4)")
    cleared = echange(TODAY - days(3), factures=["F-1"], resultat="autre", row=4)
    assert [a.etape for a in plan_of([invoice], [cleared]).actions] == ["rappel"]


def test_with_echanges_is_idempotent():
    book = book_of([facture(echeance=TODAY - days(10))],
                   [echange(promesse=TODAY + days(3)), echange(resultat="litige", row=3)])
    once = with_echanges(book)
    assert with_echanges(once) == once


# ------------------------------------------------------------------ calls are tasks


class Task:
    def __init__(self, id, client, factures, jour, etape="appel"):
        self.id, self.client, self.factures, self.jour = id, client, tuple(factures), jour
        self.etape = etape


def test_a_call_is_done_once_an_exchange_is_recorded_on_or_after_its_day():
    task = Task(7, "Alpha", ["F-1"], TODAY - days(2))
    book = book_of([facture(echeance=TODAY - days(12))],
                   [echange(TODAY - days(5), resultat="injoignable")])
    assert close_calls([task], book) == []  # an older exchange does not count
    book = book_of([facture(echeance=TODAY - days(12))],
                   [echange(TODAY - days(1), interlocuteur="Paul", resultat="promesse")])
    (done,) = close_calls([task], book)
    assert (done.action_id, done.statut) == (7, "fait")
    assert done.detail == "échange du 21/11/2026, Paul : promesse"
    paid = book_of([facture(echeance=TODAY - days(12), paye="1000")])
    assert [(c.statut, c.detail) for c in close_calls([task], paid)] == [
        ("sans_objet", "factures réglées")]


def test_the_call_list_puts_the_biggest_debts_first_and_marks_the_pareto_clients():
    invoices = [facture("A-1", "Alpha", TODAY - days(20), "9000"),
                facture("B-1", "Beta", TODAY - days(20), "500"),
                facture("C-1", "Gamma", TODAY - days(20), "500"),
                facture("D-1", "Delta", TODAY - days(20), "2000")]
    tasks = [Task(1, "Beta", ["B-1"], TODAY - days(3)), Task(2, "Gamma", ["C-1"], TODAY - days(5)),
             Task(3, "Alpha", ["A-1"], TODAY), Task(4, "Delta", ["D-1"], TODAY)]
    rows, disputes = call_list(book_of(invoices), tasks, [], TODAY)
    # Biggest first; Gamma before Beta: same amount, planned earlier.
    assert [r.client for r in rows] == ["Alpha", "Delta", "Gamma", "Beta"]
    # 9,000 of 12,000 is 75 %: Alpha and Delta make up the first 80 %.
    assert [r.pareto for r in rows] == [True, True, False, False]
    assert rows[0].montant_du == Decimal("9000") and rows[0].jours_retard == 20
    assert disputes == []


def test_a_call_back_date_puts_the_client_on_the_list_until_a_later_exchange():
    invoices = [facture("F-1", echeance=TODAY - days(20))]
    asked = echange(TODAY - days(4), rappeler_le=TODAY - days(1), resultat="rappeler le")
    rows, _ = call_list(book_of(invoices, [asked]), [], [], TODAY)
    assert [(r.client, r.depuis) for r in rows] == [("Alpha", TODAY - days(1))]
    assert "à rappeler le 21/11/2026" in rows[0].motif
    later = echange(TODAY, resultat="promesse", promesse=TODAY + days(5))
    assert call_list(book_of(invoices, [asked, later]), [], [], TODAY)[0] == []
    not_yet = echange(TODAY - days(4), rappeler_le=TODAY + days(1))
    assert call_list(book_of(invoices, [not_yet]), [], [], TODAY)[0] == []


def test_disputes_are_listed_with_their_age():
    invoices = [facture("F-1", echeance=TODAY - days(30), statut="litige"),
                facture("F-2", echeance=TODAY - days(10))]
    book = with_echanges(book_of(invoices, [echange(TODAY - days(6), factures=["F-2"],
                                                    resultat="litige", row=2)]))
    _, disputes = call_list(book, [], [], TODAY)
    assert [(l.facture, l.jours, l.source) for l in disputes] == [
        ("F-1", 30, "colonne Statut"), ("F-2", 6, "feuille Échanges")]


# ------------------------------------------------------------------ end to end


def run(folder: Path, day: datetime.date, *args: str):
    from relances.cli import relancer
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", day.isoformat(), *args])
    assert "Traceback" not in result.output
    return result


def add_exchange(path: Path, values: dict) -> None:
    """As a user does: open the workbook, type a row in Échanges, save."""
    book = openpyxl.load_workbook(path)
    sheet = book["Échanges"]
    headers = [c.value for c in sheet[1]]
    row = sheet.max_row + 1
    for name, value in values.items():
        sheet.cell(row, headers.index(name) + 1, value)
    book.save(path)


def sheet_part(path: Path, name: str) -> bytes:
    book = openpyxl.load_workbook(path)
    index = book.sheetnames.index(name)
    with zipfile.ZipFile(path) as archive:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        workbook = archive.read("xl/workbook.xml").decode()
        import re
        rid = re.findall(r'<sheet [^>]*?r:id="(rId\d+)"', workbook)[index]
        target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"', rels) or re.search(
            rf'Target="([^"]+)"[^>]*Id="{rid}"', rels)
        return archive.read("xl/" + target.group(1).lstrip("/").removeprefix("xl/"))


def to_call(path: Path) -> list[tuple]:
    return list(openpyxl.load_workbook(path)["À appeler"].iter_rows(min_row=2, values_only=True))


def test_a_call_stays_on_the_list_until_the_conversation_is_written_down(small_project):
    start = d("2026-11-20")
    folder = small_project(
        [invoice_row(numero="F-1", echeance=start - days(10), montant=Decimal("1200"),
                     etape=f"Premier rappel ({start - days(7):%d/%m/%Y})")],
        [client_row(contact="Paul Alpha")])
    path = folder / "relances.xlsx"
    first = run(folder, start)
    assert "Appels à passer" in first.output and "Alpha (Paul Alpha" in first.output
    assert [r[1] for r in to_call(path)] == ["Alpha"]
    assert "Échanges" in openpyxl.load_workbook(path).sheetnames  # created for the user
    # The next day: still to call; the Étape cell tells only what happened (the reminder).
    second = run(folder, start + days(1))
    assert "Alpha (Paul Alpha" in second.output
    book = openpyxl.load_workbook(path)
    headers = [c.value for c in book["Factures"][1]]
    etape = book["Factures"].cell(2, headers.index("Étape") + 1).value
    assert etape == "Premier rappel (13/11/2026)"
    assert to_call(path)[0][3] == "04 00 00 00 00"
    assert book["À appeler"]["D2"].hyperlink.target == "tel:0400000000"
    # The user calls and writes it down: a promise for the 27th.
    add_exchange(path, {"Date": start + days(1), "Client": "Alpha", "Interlocuteur": "Paul Alpha",
                        "Fonction": "comptable", "Canal": "Téléphone",
                        "Ce qui a été dit": "Virement la semaine prochaine",
                        "Promesse de paiement": d("2026-11-27"), "Montant promis": 1200,
                        "Résultat": "promesse"})
    typed = sheet_part(path, "Échanges")
    third = run(folder, start + days(2))
    assert "Appels à passer" not in third.output
    assert to_call(path) == []
    db = sqlite3.connect(folder / "relances.journal.sqlite")
    (statut, detail), = db.execute(
        "SELECT statut, detail FROM actions WHERE canal = 'appel'").fetchall()
    assert (statut, detail) == ("fait", "échange du 21/11/2026, Paul Alpha : promesse")
    journal = list(openpyxl.load_workbook(path)["Journal"].iter_rows(values_only=True))
    assert any(r[9] == "appel fait (échange du 21/11/2026, Paul Alpha : promesse)" for r in journal)
    # Now the call happened: Étape tells it, on the day of the exchange, not the day planned.
    book = openpyxl.load_workbook(path)
    assert book["Factures"].cell(2, headers.index("Étape") + 1).value == "Appel (21/11/2026)"
    # Held until the promised date; the day after it, the reminder quotes the exchange.
    for offset in range(3, 8):
        result = run(folder, start + days(offset))
        assert "Promesse non tenue" not in result.output
    broken = run(folder, d("2026-11-28"))
    assert "Promesse non tenue → Alpha" in broken.output
    (eml,) = (folder / "sortie" / "2026-11-28" / "emails").glob("*.eml")
    text = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default) \
        .get_body(("plain",)).get_content()
    # Paul Alpha is the client's contact, the reader: the message speaks to him (issue 20).
    assert ("Le 21 novembre 2026, vous nous aviez annoncé (téléphone) le "
            "règlement de la facture F-1, soit 1\u202f200,00\u00a0€, pour le 27 novembre 2026."
            in text)
    assert "au plus tard le 3 décembre 2026" in text  # a new, short deadline (5 days)
    # The user's sheet was never written by the tool.
    assert sheet_part(path, "Échanges") == typed


def test_a_bad_exchange_row_is_reported_and_its_client_not_chased(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10)),
                            invoice_row(client="Beta", numero="F-2", echeance=TODAY - days(10))],
                           [client_row(), client_row("Beta", "b@beta.fr")])
    run(folder, TODAY - days(30))  # creates the sheet
    add_exchange(folder / "relances.xlsx", {"Date": TODAY - days(2), "Client": "Alpha",
                                            "Promesse de paiement": "31/02/2026",
                                            "Résultat": "promesse"})
    result = run(folder, TODAY, "--json", "--dry-run")
    plan = json.loads(result.stdout)
    assert [a["client"] for a in plan["actions"]] == ["Beta"]
    (error,) = [e for e in plan["errors"] if e["sheet"] == "Échanges"]
    assert error["row"] == 2 and "31/02/2026" in error["message"]
    assert "non relancé" in error["message"]


def test_the_formal_notice_recalls_what_the_client_said():
    from relances.render import Renderer

    invoice = facture("F-1", echeance=TODAY - days(45))
    history = [fait("F-1", "rappel", TODAY - days(40)),
               fait("F-1", "appel", TODAY - days(30), canal="appel"),
               fait("F-1", "dernier_rappel", TODAY - days(20)),
               fait("F-1", promesse_cle(TODAY - days(25)), TODAY - days(24))]
    said = echange(TODAY - days(29), interlocuteur="Paul Alpha", fonction="comptable",
                   canal="Téléphone", promesse=TODAY - days(25), montant_promis=Decimal("1000"),
                   resultat="promesse")
    book = book_of([invoice], [said], [client_row_client()])
    plan = decide(book, history, TODAY, config())
    (notice,) = [a for a in plan.actions if a.canal == "courrier"]
    import re
    import io
    from pypdf import PdfReader
    from relances.lettre import render_pdfs
    lettre = Renderer(config(), book, TODAY, history).render(notice).lettre
    pdf = render_pdfs(config().lettres, [(lettre, "t")])[0]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    text = re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))
    assert ("le 24 octobre 2026 : échange (téléphone) avec Paul Alpha, comptable : promesse de "
            "paiement pour le 28/10/2026 (1 000,00 €) ;") in text
    assert "Nos relances et nos échanges précédents" in text


def client_row_client():
    from conftest import client
    return client("Alpha")


# ------------------------------------------------------------------ profiles and policies


def profiled(profil: str):
    from conftest import client
    return [client("Alpha", profil=profil)]


def test_a_known_bad_payer_is_reminded_on_the_due_date_and_escalated_faster():
    invoice = facture(echeance=TODAY)
    plan = decide(classeur([invoice], profiled("mauvais payeur")), [], TODAY, config())
    assert [a.etape for a in plan.actions] == ["rappel"]
    assert decide(classeur([invoice]), [], TODAY, config()).actions == ()  # default: day 3
    history = [fait("F-1", "rappel", TODAY - days(10))]
    late = facture(echeance=TODAY - days(10), montant="200")  # below the call's minimum
    plan = decide(classeur([late], profiled("Mauvais payeur")), history, TODAY, config())
    assert [(a.etape, a.delai_jours) for a in plan.actions] == [("dernier_rappel", 5)]


def test_a_key_account_gets_a_courtesy_call_before_any_writing_then_softer_words():
    from relances.render import Renderer
    invoice = facture(echeance=TODAY - days(3))
    book = classeur([invoice], profiled("Stratégique"))
    (call,) = decide(book, [], TODAY, config()).actions
    assert (call.etape, call.canal, call.libelle) == ("appel_courtois", "appel",
                                                      "Appel de courtoisie")
    history = [fait("F-1", "appel_courtois", TODAY - days(7), canal="appel")]
    later = facture(echeance=TODAY - days(10))
    book = classeur([later], profiled("Stratégique"))
    (email_,) = decide(book, history, TODAY, config()).actions
    assert (email_.etape, email_.modele) == ("rappel", "rappel_courtois")
    text = Renderer(config(), book, TODAY, history).render(email_).texte
    assert "En faisant le point sur nos comptes" in text and "pénalités" not in text


def test_a_client_changing_profile_goes_on_from_the_steps_it_had():
    history = [fait("F-1", "rappel", TODAY - days(30)),
               fait("F-1", "appel", TODAY - days(20), canal="appel")]
    invoice = facture(echeance=TODAY - days(40), montant="200")
    # Now a bad payer: its next step by name is the last reminder; it never starts over.
    plan = decide(classeur([invoice], profiled("mauvais payeur")), history, TODAY, config())
    assert [a.etape for a in plan.actions] == ["dernier_rappel"]
    # Now a key account: the courtesy call it never had is not done after the fact.
    plan = decide(classeur([invoice], profiled("stratégique")), history, TODAY, config())
    assert [a.etape for a in plan.actions] == ["dernier_rappel"]


def test_an_unknown_profile_is_reported_and_the_default_schedule_applies():
    plan = decide(classeur([facture(echeance=TODAY - days(3))], profiled("VIP")), [], TODAY,
                  config())
    assert [a.etape for a in plan.actions] == ["rappel"]
    assert "Profil inconnu « VIP »" in plan.anomalies[0].message
    assert "[profils]" in plan.anomalies[0].message


def test_named_policies_and_profiles_come_from_config(tmp_path):
    from relances.config import load_config
    from relances.errors import ConfigError
    path = tmp_path / "config.toml"
    path.write_text('''
[politiques.vip]
[[politiques.vip.etapes]]
nom = "appel"
apres_jours = 1
canal = "appel"
[[politiques.vip.etapes]]
nom = "rappel"
apres_jours = 15
canal = "email"

[profils]
"VIP" = "vip"
"mauvais payeur" = "defaut"
''', "utf-8")
    cfg = load_config(path)
    assert [e.nom for e in cfg.etapes_of("vip ")] == ["appel", "rappel"]
    assert cfg.etapes_of("Mauvais payeur") == cfg.etapes
    assert [e.nom for e in cfg.etapes_of("stratégique")][0] == "appel_courtois"  # shipped
    path.write_text('[profils]\n"VIP" = "inexistante"\n', "utf-8")
    with pytest.raises(ConfigError, match="profils.VIP : politique « inexistante » inconnue"):
        load_config(path)


# ------------------------------------------------------------------ extra time granted


def test_extra_time_granted_moves_the_chase_but_not_the_penalties():
    from dataclasses import replace as copy

    from relances.montants import compute_demande
    invoice = facture(echeance=TODAY - days(10), nouvelle_echeance=TODAY + days(5))
    assert decide(classeur([invoice]), [], TODAY, config()).actions == ()
    assert follow_up(classeur([invoice]), [], TODAY, config())["F-1"].prochaine_action == \
        "Premier rappel le 30/11/2026"
    assert [a.etape for a in decide(classeur([invoice]), [], TODAY + days(8), config()).actions] \
        == ["rappel"]
    notice = config().etape("mise_en_demeure")
    day = TODAY + days(45)
    from_due = compute_demande([invoice], [], notice, False, [], day, config())
    cfg = config()
    cfg = copy(cfg, penalites=copy(cfg.penalites, depuis_nouvelle_echeance=True))
    from_new = compute_demande([invoice], [], notice, False, [], day, cfg)
    # 1,000 € × 12.15 % × 55 days / 365 = 18.31 €; from the new date, 40 days: 13.32 €.
    assert (from_due.penalites.interets, from_new.penalites.interets) == (
        Decimal("18.31"), Decimal("13.32"))


def test_an_unreadable_new_due_date_stops_chasing(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Factures"].cell(1, 17, "Nouvelle échéance")
    book["Factures"].cell(2, 17, "31/02/2026")
    book.save(folder / "relances.xlsx")
    plan = json.loads(run(folder, TODAY, "--json", "--dry-run").stdout)
    assert plan["actions"] == []
    assert "Nouvelle échéance : date inexistante" in plan["errors"][0]["message"]


# ------------------------------------------------------------------ the hand-off dossier


def test_the_hand_off_is_a_real_file_with_every_proof(small_project):
    import csv

    from pypdf import PdfReader

    start = d("2026-09-01")
    folder = small_project([invoice_row(numero="F-1", echeance=start - days(3),
                                        montant=Decimal("300"))],
                           [client_row(contact="Paul Alpha", civilite="Monsieur",
                                       siren="842 156 333", forme="SAS")])
    (folder / "factures").mkdir()
    (folder / "factures" / "F-1.pdf").write_bytes(
        Path(__file__).resolve().parent.parent.joinpath("exemple", "factures",
                                                        "F-2026-001.pdf").read_bytes())
    path = folder / "relances.xlsx"
    run(folder, start)  # first reminder; creates Échanges
    add_exchange(path, {"Date": start + days(2), "Client": "Alpha", "Interlocuteur": "Paul Alpha",
                        "Canal": "Téléphone", "Ce qui a été dit": "Conteste le délai",
                        "Résultat": "autre"})
    day = start
    while day < start + days(80):
        day += days(1)
        run(folder, day)
    (dossier,) = (folder / "sortie").glob("*/recouvrement/*-alpha")
    names = sorted(p.name for p in dossier.iterdir())
    assert "dossier-recouvrement.pdf" in names and "chronologie.csv" in names
    assert "F-1.pdf" in names  # the invoice copy
    assert len([n for n in names if n.endswith(".eml")]) == 2  # first and last reminders
    assert len([n for n in names if n.endswith("mise_en_demeure.pdf")]) == 1  # the letter
    text = " ".join(page.extract_text() for page in
                    PdfReader(dossier / "dossier-recouvrement.pdf").pages).replace("\u00a0", " ")
    text = " ".join(text.split())  # table cells wrap
    for mention in ("Dossier de recouvrement", NOM_TEST, f"SIRET {SIRET_TEST}",
                    "Alpha, SAS", "SIREN 842 156 333", "Contact : Monsieur Paul Alpha",
                    "F-1", "Montant à régler", "Premier rappel", "Dernier rappel",
                    "Mise en demeure", "Échange noté", "Conteste le délai"):
        assert mention in text, mention
    rows = list(csv.reader((dossier / "chronologie.csv").read_text("utf-8-sig").splitlines(),
                           delimiter=";"))
    assert rows[0][:3] == ["Date", "Étape", "Canal"]
    assert [r[1] for r in rows[1:]] == ["Premier rappel", "Échange noté", "Dernier rappel",
                                        "Mise en demeure"]
    # Handed off: nothing more is sent for that invoice by the tool, and the workbook says why.
    book = openpyxl.load_workbook(path)
    sheet = book["Factures"]
    headers = [c.value for c in sheet[1]]
    nexts = sheet.cell(2, headers.index("Prochaine action") + 1).value
    assert nexts.startswith("aucune : facture transmise au recouvrement le ")


# ------------------------------------------------------------------ payment plans


def planned(paye="0", today=TODAY):
    from relances.records import Versement
    invoice = facture("F-1", echeance=today - days(60), montant="900", paye=paye)
    plan = (Versement("F-1", today - days(30), Decimal("300"), 2),
            Versement("F-1", today - days(1), Decimal("300"), 3),
            Versement("F-1", today + days(29), Decimal("300"), 4))
    book = classeur([invoice])
    return book.__class__(book.factures, book.clients, (), (), plan)


def test_a_plan_respected_holds_the_chase_until_its_next_instalment():
    book = planned(paye="600")
    assert decide(book, [], TODAY, config()).actions == ()
    assert follow_up(book, [], TODAY, config())["F-1"].prochaine_action == (
        "échéancier respecté : prochaine échéance le 21/12/2026 (300,00\u00a0€)")


def test_a_missed_instalment_gets_the_plans_reminder_for_that_instalment_only():
    from relances.render import Renderer
    book = planned(paye="300")  # the second instalment (21/11) is missed
    (action,) = decide(book, [], TODAY, config()).actions
    assert (action.etape, action.cles) == ("echeance_manquee", ("echeance_manquee:2026-11-21",))
    assert action.montant_reclame == Decimal("300.00")  # not the 600 € left on the invoice
    rendu = Renderer(config(), book, TODAY).render(action)
    assert rendu.sujet == ("Échéancier\u00a0: échéance du 21 novembre 2026 non réglée, "
                           "facture F-1")
    text = rendu.texte.replace("\u00a0", " ").replace("\u202f", " ")
    assert "- 23/10/2026 : 300,00 €, réglée" in text
    assert "- 21/11/2026 : 300,00 €, non réglée" in text
    assert "- 21/12/2026 : 300,00 €, à venir" in text
    assert "la somme de 300,00 € aurait dû nous parvenir" in text
    assert "au plus tard le 27 novembre 2026" in text  # 22/11 + 5 days, a business day
    # Once reminded, the usual steps go on, counted from the missed instalment's date.
    history = [fait("F-1", "rappel", TODAY - days(55)),
               fait("F-1", "echeance_manquee:2026-11-21", TODAY)]
    assert decide(book, history, TODAY + days(5), config()).actions == ()
    later = decide(planned(paye="300", today=TODAY), history, TODAY + days(20), config())
    assert [a.etape for a in later.actions] == ["dernier_rappel"]


def test_once_the_plan_is_over_everything_left_is_due():
    from relances.records import Versement
    invoice = facture("F-1", echeance=TODAY - days(90), montant="900", paye="300")
    plan = (Versement("F-1", TODAY - days(60), Decimal("300")),
            Versement("F-1", TODAY - days(30), Decimal("300")),
            Versement("F-1", TODAY - days(5), Decimal("300")))
    book = classeur([invoice])
    book = book.__class__(book.factures, book.clients, (), (), plan)
    (action,) = decide(book, [], TODAY, config()).actions
    assert action.montant_reclame == Decimal("600.00")


def test_a_plan_typed_in_the_workbook_is_followed_and_a_bad_row_holds_its_invoice(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(60),
                                        montant=Decimal("900"), paye=Decimal("300")),
                            invoice_row(numero="F-2", echeance=TODAY - days(60))])
    path = folder / "relances.xlsx"
    run(folder, TODAY - days(70))  # creates the user's sheets
    book = openpyxl.load_workbook(path)
    assert [c.value for c in book["Échéanciers"][1]] == ["N° facture", "Date", "Montant"]
    sheet = book["Échéanciers"]
    for row in (("F-1", TODAY - days(30), 300), ("F-1", TODAY - days(1), 300),
                ("F-1", TODAY + days(29), 300), ("F-2", "bientôt", 100)):
        sheet.append(row)
    book.save(path)
    plan = json.loads(run(folder, TODAY, "--json", "--dry-run").stdout)
    assert [(a["step"], a["invoices"], a["amount_claimed"]) for a in plan["actions"]] == [
        ("echeance_manquee", ["F-1"], 300.0)]
    (error,) = [e for e in plan["errors"] if e["sheet"] == "Échéanciers"]
    assert error["row"] == 5 and "bientôt" in error["message"] and "F-2" in error["message"]


# ------------------------------------------------------------------ thanks


def test_a_paid_invoice_that_was_chased_gets_one_thank_you_when_asked_for():
    from dataclasses import replace as copy

    from relances.render import Renderer
    cfg = config()
    thanking = copy(cfg, regles=copy(cfg.regles, remerciement=True))
    paid = facture("F-1", echeance=TODAY - days(20), paye="1000")
    history = [fait("F-1", "rappel", TODAY - days(17))]
    assert decide(classeur([paid]), history, TODAY, cfg).actions == ()  # off by default
    (action,) = decide(classeur([paid]), history, TODAY, thanking).actions
    assert (action.etape, action.factures, action.montant_reclame) == (
        "remerciement", ("F-1",), Decimal("0.00"))
    rendu = Renderer(thanking, classeur([paid]), TODAY, history).render(action)
    assert "Nous avons bien reçu le règlement de la facture F-1" in rendu.texte.replace(
        "\u00a0", " ")
    assert rendu.pieces == ()
    done = history + [fait("F-1", "remerciement", TODAY)]
    assert decide(classeur([paid]), done, TODAY + days(1), thanking).actions == ()  # once
    never_chased = facture("F-2", echeance=TODAY - days(20), paye="1000")
    assert decide(classeur([never_chased]), [], TODAY, thanking).actions == ()
    # A chase due the same day for that client goes first; the thanks wait for a later run.
    other = facture("F-3", echeance=TODAY - days(4))
    plan = decide(classeur([paid, other]), history, TODAY, thanking)
    assert [a.etape for a in plan.actions] == ["rappel"]


def test_the_dossier_is_sent_to_the_agency_once_when_configured(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(70),
                                        etape=f"Mise en demeure ({TODAY - days(30):%d/%m/%Y})")])
    config_path = folder / "config.toml"
    config_path.write_text(config_path.read_text("utf-8")
                           + '\n[recouvrement]\nemail = "dossiers@agence-recouvrement.fr"\n',
                           "utf-8")
    first = run(folder, TODAY)
    assert "Recouvrement → Alpha" in first.output
    (dossier,) = (folder / "sortie").glob("*/recouvrement/*-alpha")
    assert not list((folder / "sortie").glob("*/emails/*.eml"))  # the agency's email: next run
    second = run(folder, TODAY + days(1))
    assert "Dossier transmis à l’agence → Alpha <dossiers@agence-recouvrement.fr>" in second.output
    (eml,) = (folder / "sortie").glob("*/emails/*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "dossiers@agence-recouvrement.fr"
    assert message["Subject"].startswith("Dossier de recouvrement\u00a0: Alpha")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == f"{dossier.name}.zip"
    with zipfile.ZipFile(io.BytesIO(attachment.get_content())) as archive:
        names = {Path(n).name for n in archive.namelist()}
    assert {"dossier-recouvrement.pdf", "chronologie.csv"} <= names
    assert "Nous n’adresserons plus rien à ce client" in message.get_body(("plain",)).get_content()
    third = run(folder, TODAY + days(2))
    assert "Rien à faire aujourd’hui." in third.output  # never twice, nothing to the client


def test_an_exchange_for_a_misspelt_client_is_reported(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    run(folder, TODAY - days(30))
    add_exchange(folder / "relances.xlsx", {"Date": TODAY - days(2), "Client": "Alfa",
                                            "Promesse de paiement": TODAY + days(3)})
    plan = json.loads(run(folder, TODAY, "--json", "--dry-run").stdout)
    (error,) = [e for e in plan["errors"] if e["sheet"] == "Échanges"]
    assert "client « Alfa » absent de la feuille Factures" in error["message"]
