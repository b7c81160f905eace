"""Templates render strictly and safely; the journal refuses to record a step twice."""

from __future__ import annotations

import datetime
from dataclasses import replace
from decimal import Decimal

import pytest

from relances.errors import TemplateError
from relances.journal import AlreadyDone, Journal
from relances.records import Action
from relances.render import Renderer

from conftest import TODAY, classeur, client, config, facture

NOW = datetime.datetime(2026, 11, 22, 8, 0)


def rappel(numeros=("F-1",), montant="1000", nom="Alpha") -> Action:
    return Action(client=nom, factures=numeros, etape="rappel", canal="email",
                  destinataires=("a@alpha.fr",), montant_du=Decimal(montant), modele="rappel",
                  cles=tuple("rappel" for _ in numeros), montant_reclame=Decimal(montant))


def test_amounts_and_dates_are_formatted_the_french_way():
    book = classeur([facture(montant="1234.56", echeance=datetime.date(2026, 11, 1))])
    rendu = Renderer(config(), book, TODAY).render(rappel(montant="1234.56"))
    assert "1\u202f234,56\u00a0€" in rendu.texte
    assert "01/11/2026" in rendu.texte
    assert rendu.sujet == "Facture F-1\u00a0: petit rappel"


def test_html_is_autoescaped_and_text_is_not():
    nasty = "F<1>&2"
    book = classeur([facture(nasty)], [client(contact="Tom & <Jerry>", civilite="Monsieur")])
    rendu = Renderer(config(), book, TODAY).render(rappel((nasty,)))
    assert "F&lt;1&gt;&amp;2" in rendu.html and "<1>" not in rendu.html
    assert "Monsieur &amp; &lt;Jerry&gt;" in rendu.html
    assert nasty in rendu.texte and "Bonjour Monsieur & <Jerry>," in rendu.texte


def test_a_missing_variable_is_an_error_naming_the_template(tmp_path):
    (tmp_path / "rappel.sujet.txt").write_text("{{ facture.inconnue }}")
    (tmp_path / "rappel.texte.txt").write_text("x")
    (tmp_path / "rappel.html").write_text("x")
    with pytest.raises(TemplateError, match="rappel.sujet.txt : variable inconnue"):
        Renderer(config(lettres=tmp_path), classeur([facture()]), TODAY).render(rappel())


def test_a_missing_template_is_an_error_naming_it(tmp_path):
    # The shipped templates stand in for any file the user's folder lacks; a step of the
    # user's own needs its own templates.
    action = replace(rappel(), modele="relance_douce")
    with pytest.raises(TemplateError, match="relance_douce.sujet.txt : modèle introuvable"):
        Renderer(config(lettres=tmp_path), classeur([facture()]), TODAY).render(action)


def test_a_subject_never_spans_two_lines(tmp_path):
    for name in ("rappel.texte.txt", "rappel.html"):
        (tmp_path / name).write_text("x")
    (tmp_path / "rappel.sujet.txt").write_text("Ligne un\nBcc: intrus@x.fr")
    rendu = Renderer(config(lettres=tmp_path), classeur([facture()]), TODAY).render(rappel())
    assert "\n" not in rendu.sujet


def test_an_amount_the_decision_did_not_make_is_never_sent():
    # The renderer recomputes the amount asked; a disagreement is a bug, and nothing leaves.
    with pytest.raises(TemplateError, match="montant incohérent"):
        Renderer(config(), classeur([facture()]), TODAY).render(rappel(montant="999"))


def test_the_journal_never_records_a_step_twice(tmp_path):
    journal = Journal.open(tmp_path / "j.sqlite")
    action_id, _ = journal.begin(rappel(), TODAY, NOW)
    journal.finish(action_id, "envoye")
    with pytest.raises(AlreadyDone):
        journal.begin(rappel(), TODAY, NOW)
    assert [f.cle for f in journal.history()] == ["rappel"]


def test_a_failed_action_frees_its_step_but_stays_in_the_journal(tmp_path):
    journal = Journal.open(tmp_path / "j.sqlite")
    action_id, _ = journal.begin(rappel(), TODAY, NOW)
    journal.fail(action_id, "disque plein")
    assert journal.history() == []
    assert [e.statut for e in journal.entries()] == ["echec"]
    journal.begin(rappel(), TODAY, NOW)  # may be done again


def test_a_crash_leaves_unknowable_actions_uncertain(tmp_path):
    journal = Journal.open(tmp_path / "j.sqlite")
    journal.begin(rappel(), TODAY, NOW)
    uncertain = journal.recover(lambda entry: None)
    assert [e.client for e in uncertain] == ["Alpha"]
    assert [e.statut for e in journal.entries()] == ["incertain"]
    assert [f.cle for f in journal.history()] == ["rappel"]  # never redone on its own


def test_a_dry_run_journal_creates_no_file(tmp_path):
    journal = Journal.open(tmp_path / "absent.sqlite", readonly=True)
    assert journal.history() == [] and not (tmp_path / "absent.sqlite").exists()
