"""Templates render strictly and safely; the journal refuses to record a step twice."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from relances.errors import TemplateError
from relances.journal import AlreadyDone, Journal
from relances.records import Action
from relances.render import Renderer

from conftest import TODAY, classeur, client, config, facture

NOW = datetime.datetime(2026, 11, 22, 8, 0)


def rappel(numeros=("F-1",), montant="1234.56", nom="Alpha") -> Action:
    return Action(client=nom, factures=numeros, etape="rappel", canal="email",
                  destinataires=("a@alpha.fr",), montant_du=Decimal(montant), modele="rappel",
                  cles=tuple("rappel" for _ in numeros))


def test_amounts_and_dates_are_formatted_the_french_way():
    book = classeur([facture(montant="1234.56", echeance=datetime.date(2026, 11, 1))])
    rendu = Renderer(config(), book, TODAY).render(rappel())
    assert "1\u202f234,56\u00a0€" in rendu.texte
    assert "01/11/2026" in rendu.texte
    assert rendu.sujet == "Votre facture F-1 — petit rappel"


def test_html_is_autoescaped_and_text_is_not():
    nasty = "Tom & <Jerry>"
    book = classeur([facture()], [client(contact=nasty)])
    rendu = Renderer(config(), book, TODAY).render(rappel())
    assert "Tom &amp; &lt;Jerry&gt;" in rendu.html and "<Jerry>" not in rendu.html
    assert nasty in rendu.texte


def test_a_missing_variable_is_an_error_naming_the_template(tmp_path):
    (tmp_path / "rappel.sujet.txt").write_text("{{ facture.inconnue }}")
    (tmp_path / "rappel.texte.txt").write_text("x")
    (tmp_path / "rappel.html").write_text("x")
    with pytest.raises(TemplateError, match="rappel.sujet.txt : variable inconnue"):
        Renderer(config(lettres=tmp_path), classeur([facture()]), TODAY).render(rappel())


def test_a_missing_template_is_an_error_naming_it(tmp_path):
    with pytest.raises(TemplateError, match="rappel.sujet.txt : modèle introuvable"):
        Renderer(config(lettres=tmp_path), classeur([facture()]), TODAY).render(rappel())


def test_a_subject_never_spans_two_lines(tmp_path):
    for name in ("rappel.texte.txt", "rappel.html"):
        (tmp_path / name).write_text("x")
    (tmp_path / "rappel.sujet.txt").write_text("Ligne un\nBcc: intrus@x.fr")
    rendu = Renderer(config(lettres=tmp_path), classeur([facture()]), TODAY).render(rappel())
    assert "\n" not in rendu.sujet


def test_every_shipped_template_renders_for_every_step():
    book = classeur([facture(promesse=TODAY - datetime.timedelta(days=2))])
    renderer = Renderer(config(), book, TODAY)
    for modele in ("rappel", "dernier_rappel", "promesse_non_tenue", "mise_en_demeure"):
        action = Action(client="Alpha", factures=("F-1",), etape=modele, canal="email",
                        destinataires=("a@alpha.fr",), montant_du=Decimal("1000"),
                        modele=modele, delai_jours=8, promesse=TODAY - datetime.timedelta(days=2))
        rendu = renderer.render(action)
        assert rendu.sujet and "F-1" in rendu.texte and "F-1" in rendu.html


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
