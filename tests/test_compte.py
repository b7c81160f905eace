"""The client account (compte.py) and the decisions read from it: tables over the core.

Each rule of SPEC §5 on the client account, in the domain's words: credits counted once, a
settled invoice never chased, one dossier per client that only moves forward, no debt left
behind, the tone that follows the dossier, deadlines kept to the day, Échanges that mean what
they say, plans that charge only what is due, and the call list that calls the right people.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from decimal import Decimal

import pytest

from relances.appels import call_list
from relances.compte import AGENCE, AMIABLE, MISE_EN_DEMEURE, tenir
from relances.montants import compute_demande
from relances.policy import decide
from relances.rapports import compute
from relances.records import Echange, Fait, Reglement, Versement
from relances.render import Renderer
from relances.suivi import follow_up, signalement_text

from conftest import TODAY, classeur, client, config, d, days, facture, fait

D = Decimal


def livre_of(factures, history=(), today=TODAY, clients=None, **kw):
    book = classeur(factures, clients)
    if kw:
        book = replace(book, **kw)
    return book, tenir(book, list(history), today, config())


def plan_of(book, history=(), today=TODAY, **cfg):
    return decide(book, list(history), today, config(**cfg))


def amounts(plan):
    return [(a.client, a.factures, a.etape, a.montant_reclame) for a in plan.actions]


# ------------------------------------------------------------ allocation


def test_a_client_who_paid_net_of_his_credit_note_is_settled_and_never_chased():
    # He paid 800 of 1,000 and deducted the 200 credit note himself: nothing left to do.
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(40), montant="1000", paye="800"),
        facture("AV-1", echeance=TODAY - days(30), montant="-200")])
    compte = livre.compte("Alpha")
    assert compte.net == 0 and compte.ouvertes == ()
    assert plan_of(book, [fait("F-1", "rappel", TODAY - days(37))]).actions == ()
    suivi = follow_up(book, [], TODAY, config())
    assert suivi["F-1"].prochaine_action == "aucune : soldée (avoir AV-1 imputé)"
    assert suivi["AV-1"].prochaine_action == "aucune (avoir)"


def test_one_credit_note_is_deducted_once_across_the_clients_invoices():
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(25), montant="300"),
        facture("F-2", echeance=TODAY - days(5), montant="500"),
        facture("AV-1", echeance=TODAY - days(20), montant="-200")])
    f1, f2, av = livre.classeur.factures
    assert (f1.reste_du, f2.reste_du, av.reste_du) == (D("100"), D("500"), D("0"))
    assert livre.compte("Alpha").net == D("600")
    # One message for both: 600, the credit note shown once.
    plan = plan_of(book)
    assert [a.montant_reclame for a in plan.actions] == [D("600.00")]
    assert plan.actions[0].avoirs == ("AV-1",)
    text = Renderer(config(), book, TODAY, []).render(plan.actions[0]).texte
    assert text.count("AV-1") == 1 and "imputé sur F-1" in text
    assert "Montant à régler\u00a0: 600,00\u00a0€" in text


def test_a_credit_note_naming_an_invoice_goes_to_it_not_to_the_oldest():
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(25), montant="300"),
        facture("F-2", echeance=TODAY - days(5), montant="500"),
        facture("AV-1", echeance=TODAY - days(20), montant="-200", facture_liee="F-2")])
    f1, f2, _ = livre.classeur.factures
    assert (f1.reste_du, f2.reste_du) == (D("300"), D("300"))


def test_a_credit_note_larger_than_its_invoice_spills_onto_the_oldest_others():
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(25), montant="300"),
        facture("F-2", echeance=TODAY - days(5), montant="100"),
        facture("AV-1", echeance=TODAY - days(20), montant="-250", facture_liee="F-2")])
    f1, f2, av = livre.classeur.factures
    assert (f1.reste_du, f2.reste_du, av.reste_du) == (D("150"), D("0"), D("0"))


@pytest.mark.parametrize("statut, paye", [("Payée", "0"), ("", "-200")])
def test_a_credit_note_marked_paid_or_used_up_is_closed(statut, paye):
    from relances.records import normalise
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(25), montant="300"),
        facture("AV-1", echeance=TODAY - days(20), montant="-200", paye=paye,
                statut=normalise(statut))])
    assert livre.classeur.factures[0].reste_du == D("300")
    assert livre.compte("Alpha").credit == 0


def test_credits_beyond_every_invoice_leave_the_client_in_credit():
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(25), montant="100"),
        facture("AV-1", echeance=TODAY - days(20), montant="-250")])
    compte = livre.compte("Alpha")
    assert compte.credit == D("150") and compte.net == D("-150")
    assert plan_of(book).actions == ()
    tableau = compute(livre, [], TODAY)
    assert tableau.encours == 0 and tableau.avoirs == D("150.00")


def test_an_unnamed_payment_pays_the_oldest_undisputed_invoices_first():
    book, livre = livre_of(
        [facture("F-1", echeance=TODAY - days(40), montant="300", statut="litige"),
         facture("F-2", echeance=TODAY - days(30), montant="200"),
         facture("F-3", echeance=TODAY - days(10), montant="400")],
        reglements=(Reglement(TODAY - days(2), D("250"), client="Alpha"),))
    f1, f2, f3 = livre.classeur.factures
    assert (f1.reste_du, f2.reste_du, f3.reste_du) == (D("300"), D("0"), D("350"))
    assert f2.imputations[0].nature == "paiement"


def test_a_credit_note_marked_paid_is_not_counted_by_the_dashboard():
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(25), montant="300"),
        facture("AV-1", echeance=TODAY - days(20), montant="-200", statut="payee")])
    assert compute(livre, [], TODAY).avoirs == 0
    assert compute(livre, [], TODAY).encours == D("300.00")


# ------------------------------------------------------------ dossier state


def test_a_formal_notice_covers_all_the_clients_overdue_invoices_at_once():
    old = facture("F-1", echeance=TODAY - days(40), montant="1000")
    newer = facture("F-2", echeance=TODAY - days(12), montant="400")
    history = [fait("F-1", "rappel", TODAY - days(37)), fait("F-1", "dernier_rappel", TODAY - days(20)),
               fait("F-2", "rappel", TODAY - days(9))]
    plan = plan_of(classeur([old, newer]), history)
    [notice] = [a for a in plan.actions if a.canal == "courrier"]
    assert notice.factures == ("F-1", "F-2") and notice.autres == ("F-2",)
    assert notice.cles == ("mise_en_demeure", "mise_en_demeure")
    assert notice.montant_du == D("1400")
    # No email to that client on the day of the letter.
    assert [a.canal for a in plan.actions if a.client == "Alpha"] == ["courrier"]


def test_state_moves_forward_and_a_settled_dossier_is_left():
    invoice = facture("F-1", echeance=TODAY - days(70), montant="1000")
    notice = [fait("F-1", "mise_en_demeure", TODAY - days(30), canal="courrier")]
    handed = notice + [fait("F-1", "recouvrement", TODAY - days(5), canal="recouvrement")]
    assert livre_of([invoice])[1].compte("Alpha").etat == AMIABLE
    assert livre_of([invoice], notice)[1].compte("Alpha").etat == MISE_EN_DEMEURE
    assert livre_of([invoice], handed)[1].compte("Alpha").etat == AGENCE
    paid = replace(invoice, paye=D("1000"))
    assert livre_of([paid], handed)[1].compte("Alpha").etat == AMIABLE


def test_after_a_hand_off_other_invoices_keep_their_steps_firmly_and_join_as_a_complement():
    handed = facture("F-1", echeance=TODAY - days(100), montant="1000")
    new = facture("F-2", echeance=TODAY - days(4), montant="300")
    history = [fait("F-1", "mise_en_demeure", TODAY - days(60), canal="courrier"),
               fait("F-1", "recouvrement", TODAY - days(30), canal="recouvrement")]
    plan = plan_of(classeur([handed, new]), history)
    [action] = plan.actions
    # A firm first reminder, never « simple oubli ».
    assert (action.factures, action.etape, action.modele, action.ton) == (
        ("F-2",), "rappel", "rappel_ferme", "ferme")
    # Months later, F-2 reaches the hand-off: a complement of the same dossier.
    later = TODAY + days(60)
    history += [fait("F-2", "rappel", TODAY), fait("F-2", "dernier_rappel", TODAY + days(16)),
                fait("F-2", "mise_en_demeure", TODAY + days(31), canal="courrier")]
    plan = plan_of(classeur([handed, new]), history, today=later)
    [handoff] = [a for a in plan.actions if a.canal == "recouvrement"]
    assert handoff.factures == ("F-2",) and handoff.complement == 1


def test_a_payment_from_a_client_with_the_agency_tells_the_agency_not_the_debtor():
    paid = facture("F-1", echeance=TODAY - days(100), montant="1000", paye="1000")
    history = [fait("F-1", "dernier_rappel", TODAY - days(80)),
               fait("F-1", "recouvrement", TODAY - days(30), canal="recouvrement")]
    cfg = dict(recouvrement_email="dossiers@agence.fr",
               regles=replace(config().regles, remerciement=True))
    plan = plan_of(classeur([paid]), history, **cfg)
    assert [(a.etape, a.destinataires) for a in plan.actions] == [
        ("paiement_agence", ("dossiers@agence.fr",))]
    text = Renderer(config(**cfg), classeur([paid]), TODAY, history).render(plan.actions[0]).texte
    assert "soldée" in text and "Alpha" in text
    # Without an agency address: said in the summary's notices, nothing sent.
    plan = plan_of(classeur([paid]), history, regles=cfg["regles"])
    assert plan.actions == () and "prévenez l’agence" in signalement_text(plan.signalements[0])


def test_a_thank_you_after_penalties_were_claimed_does_not_waive_them():
    paid = facture("F-1", echeance=TODAY - days(50), montant="1000", paye="1000")
    history = [fait("F-1", "mise_en_demeure", TODAY - days(10), canal="courrier")]
    cfg = dict(regles=replace(config().regles, remerciement=True))
    plan = plan_of(classeur([paid]), history, **cfg)
    [merci] = plan.actions
    text = Renderer(config(**cfg), classeur([paid]), TODAY, history).render(merci).texte
    assert "ne pas tenir compte" not in text and "renonciation" in text


def test_every_invoice_over_ninety_days_is_with_the_agency_or_said_to_be_held():
    promised = facture("F-1", echeance=TODAY - days(120), montant="1000",
                       promesse=TODAY + days(3))
    plan = plan_of(classeur([promised]))
    assert plan.actions == ()
    [signal] = plan.signalements
    text = signalement_text(signal)
    assert "120 jours de retard" in text and "paiement promis" in text


# ------------------------------------------------------------ deadlines


def test_a_deadline_stored_in_the_journal_is_kept_whatever_the_schedule_says():
    invoice = facture("F-1", echeance=TODAY - days(40), montant="1000")
    history = [fait("F-1", "rappel", TODAY - days(37)),
               replace(fait("F-1", "dernier_rappel", TODAY - days(12)), limite=TODAY + days(2))]
    assert plan_of(classeur([invoice]), history).actions == ()
    assert plan_of(classeur([invoice]), history, today=TODAY + days(2)).actions == ()
    assert [a.etape for a in plan_of(classeur([invoice]), history,
                                      today=TODAY + days(3)).actions] == ["mise_en_demeure"]


def test_the_message_that_gives_a_date_carries_it_to_the_journal():
    invoice = facture("F-1", echeance=TODAY - days(25), montant="1000")
    history = [fait("F-1", "rappel", TODAY - days(22)),
               fait("F-1", "appel", TODAY - days(15), canal="appel")]
    plan = plan_of(classeur([invoice]), history)
    [action] = [a for a in plan.actions if a.etape == "dernier_rappel"]
    # Eight days from Sunday 22 November: Monday 30 November, a business day, inclusive.
    assert action.date_limite == d("2026-11-30")


def test_a_missed_instalment_deadline_is_kept_to_the_day():
    invoice = facture("F-1", echeance=TODAY - days(60), montant="900")
    plan = (Versement("F-1", TODAY - days(10), D("300")), Versement("F-1", TODAY + days(20), D("600")))
    book = replace(classeur([invoice]), versements=plan)
    [action] = plan_of(book).actions
    assert action.etape == "echeance_manquee" and action.date_limite is not None
    history = [replace(fait("F-1", f"echeance_manquee:{(TODAY - days(10)).isoformat()}", TODAY),
                       limite=action.date_limite)]
    assert plan_of(book, history, today=action.date_limite).actions == ()


def test_a_plan_spreads_what_remained_what_was_paid_before_pays_no_instalment():
    """Half paid, then a plan in three for the other half: the first instalment missed is
    chased (the half paid before does not cover it), never a hand-off of the whole."""
    invoice = facture("F-1", echeance=TODAY - days(80), montant="1180", paye="590")
    plan = (Versement("F-1", TODAY - days(5), D("196.67")),
            Versement("F-1", TODAY + days(25), D("196.67")),
            Versement("F-1", TODAY + days(55), D("196.66")))
    book = replace(classeur([invoice]), versements=plan)
    [action] = plan_of(book).actions
    assert action.etape == "echeance_manquee" and action.montant_du == D("196.67")
    paid = replace(book, factures=(replace(invoice, paye=D("786.67")),))
    assert plan_of(paid).actions == ()  # the instalment paid: the plan is kept


# ------------------------------------------------------------ Échanges


def echange(**kw):
    kw.setdefault("jour", TODAY - days(1))
    kw.setdefault("client", "Alpha")
    return Echange(**kw)


def test_payment_announced_without_a_date_holds_written_steps_then_calls():
    invoice = facture("F-1", echeance=TODAY - days(10), montant="1000")
    said = echange(jour=TODAY - days(2), resultat="paiement annoncé")
    book = replace(classeur([invoice]), echanges=(said,))
    assert plan_of(book).actions == ()
    assert "paiement annoncé le" in follow_up(book, [], TODAY, config())["F-1"].prochaine_action
    later = TODAY + days(6)
    livre = tenir(book, [], later, config())
    rows, _ = call_list(livre, [], [], later)
    assert [r.client for r in rows] == ["Alpha"] and "paiement annoncé" in rows[0].motif


def test_payment_announced_with_a_date_is_a_promise():
    invoice = facture("F-1", echeance=TODAY - days(10), montant="1000")
    said = echange(resultat="paiement annoncé", promesse=TODAY + days(3))
    book = replace(classeur([invoice]), echanges=(said,))
    assert plan_of(book).actions == ()
    assert follow_up(book, [], TODAY, config())["F-1"].prochaine_action.startswith(
        "attente du paiement promis")


def test_a_call_back_date_sets_the_next_call():
    invoice = facture("F-1", echeance=TODAY - days(15), montant="1000")
    asked = echange(resultat="rappeler le", rappeler_le=TODAY + days(4))
    book = replace(classeur([invoice]), echanges=(asked,))
    history = [fait("F-1", "rappel", TODAY - days(12))]
    assert [a.canal for a in plan_of(book, history).actions] == []
    plan = plan_of(book, history, today=TODAY + days(4))
    assert "appel" in [a.etape for a in plan.actions]


# ------------------------------------------------------------ plans


def test_a_plan_charges_interest_only_on_instalments_due_each_from_its_own_date():
    invoice = facture("F-1", echeance=d("2026-09-01"), montant="900")
    plan = (Versement("F-1", d("2026-10-01"), D("300")), Versement("F-1", d("2026-11-01"), D("300")),
            Versement("F-1", d("2026-12-01"), D("300")))
    book = tenir(replace(classeur([invoice]), versements=plan), [], TODAY, config())
    seen = book.classeur.factures[0]
    etape = config().etape("mise_en_demeure")
    demande = compute_demande([seen], [], etape, False, [], TODAY, config())
    ligne = demande.penalites.ligne("F-1")
    assert demande.principal == D("600")
    # 300 × 12.15 % × 52 days + 300 × 12.15 % × 21 days (not 600 × 52 days).
    expected = (D("300") * D("12.15") / 100 * 52 / 365 + D("300") * D("12.15") / 100 * 21 / 365)
    assert abs(ligne.interets - expected) <= D("0.02")
    assert ligne.base == D("600")


# ------------------------------------------------------------ call list


def _calls(book, history=(), today=TODAY, taches=()):
    livre = tenir(book, list(history), today, config())
    return call_list(livre, list(taches), list(history), today)[0]


class _T:
    def __init__(self, client, factures, jour, id=1, etape="appel"):
        self.id, self.client, self.factures, self.jour, self.etape = id, client, factures, jour, etape


def test_the_call_list_skips_clients_whose_credit_notes_cover_everything():
    book = classeur([facture("F-1", echeance=TODAY - days(15), montant="300"),
                     facture("AV-1", echeance=TODAY - days(5), montant="-300")])
    assert _calls(book, taches=[_T("Alpha", ("F-1",), TODAY - days(2))]) == []


def test_the_call_list_shows_the_net_amount_and_skips_held_clients():
    book = classeur([facture("F-1", echeance=TODAY - days(15), montant="1000"),
                     facture("AV-1", echeance=TODAY - days(5), montant="-300"),
                     facture("G-1", client="Beta", echeance=TODAY - days(15), montant="500",
                             promesse=TODAY + days(2))])
    rows = _calls(book, taches=[_T("Alpha", ("F-1",), TODAY - days(2)),
                                _T("Beta", ("G-1",), TODAY - days(2), id=2)])
    assert [(r.client, r.montant_du) for r in rows] == [("Alpha", D("700"))]


def test_the_call_list_puts_clients_with_the_agency_apart():
    book = classeur([facture("F-1", echeance=TODAY - days(100), montant="1000"),
                     facture("G-1", client="Beta", echeance=TODAY - days(15), montant="500")])
    history = [fait("F-1", "recouvrement", TODAY - days(20), canal="recouvrement")]
    rows = _calls(book, history, taches=[_T("Alpha", ("F-1",), TODAY - days(30)),
                                         _T("Beta", ("G-1",), TODAY - days(2), id=2)])
    assert [(r.client, r.agence, r.pareto) for r in rows] == [
        ("Beta", False, True), ("Alpha", True, False)]
    assert "chez l’agence" in rows[1].motif


def test_a_formal_notice_never_takes_an_invoice_whose_deadline_still_runs():
    old = facture("F-1", echeance=TODAY - days(60), montant="1000")
    recent = facture("F-2", echeance=TODAY - days(25), montant="400")
    history = [fait("F-1", "rappel", TODAY - days(57)),
               fait("F-1", "dernier_rappel", TODAY - days(30)),
               fait("F-2", "rappel", TODAY - days(22)),
               replace(fait("F-2", "dernier_rappel", TODAY - days(6)), limite=TODAY + days(2))]
    plan = plan_of(classeur([old, recent]), history)
    [notice] = plan.actions
    assert notice.factures == ("F-1",)


# ------------------------------------------------------------ history is evidence


def test_a_letters_history_tells_only_what_happened():
    invoice = facture("F-1", echeance=TODAY - days(50), montant="1000")
    history = [replace(fait("F-1", "rappel", TODAY - days(47)), statut="prepare"),
               replace(fait("F-1", "appel", TODAY - days(40), canal="appel"), statut="a_faire"),
               fait("F-1", "dernier_rappel", TODAY - days(20))]
    called = echange(jour=TODAY - days(38), interlocuteur="Paul Alpha", canal="téléphone",
                     dit="Le paiement part vendredi", resultat="autre")
    book = replace(classeur([invoice]), echanges=(called,))
    plan = plan_of(book, history)
    [notice] = plan.actions
    renderer = Renderer(config(), book, TODAY, history)
    lines = [c.description for c in renderer.context(notice)["historique"]]
    # The draft is « préparé », never sent; the planned call is not a call: the exchange is.
    assert lines[0] == "premier rappel (e-mail préparé)"
    assert not any(line.startswith("appel") for line in lines)
    assert any("Paul Alpha" in line for line in lines)
    assert lines[-1] == "dernier rappel (e-mail)"


def test_the_allocation_is_made_once_whoever_asks_again():
    book = replace(classeur([facture("F-1", echeance=TODAY - days(20), montant="500"),
                             facture("AV-1", echeance=TODAY - days(5), montant="-100")]),
                   reglements=(Reglement(TODAY - days(2), D("150"), client="Alpha"),))
    once = tenir(book, [], TODAY, config()).classeur
    twice = tenir(once, [], TODAY, config()).classeur
    assert once.factures[0].reste_du == twice.factures[0].reste_du == D("250")


def test_what_an_invoice_was_overpaid_goes_to_the_clients_other_invoices():
    book, livre = livre_of([
        facture("F-1", echeance=TODAY - days(25), montant="300", paye="450"),
        facture("F-2", echeance=TODAY - days(5), montant="500")])
    f1, f2 = livre.classeur.factures
    assert (f1.reste_du, f2.reste_du) == (D("0"), D("350"))
    assert livre.compte("Alpha").net == D("350")


# ------------------------------------------------------------ the debtor's law


def test_a_belgian_consumer_of_a_french_company_gets_fourteen_days_kept_to_the_day():
    invoice = facture("F-1", echeance=TODAY - days(5), montant="300")
    consumer = client("Alpha", type="particulier", pays="BE")
    book = classeur([invoice], [consumer])
    [action] = plan_of(book).actions
    # Sent on Sunday 22 November: the window starts Monday 23rd, ends Sunday 6 December,
    # moved to Monday 7 December (a Belgian business day).
    assert action.etape == "rappel" and action.date_limite == d("2026-12-07")
    history = [replace(fait("F-1", "rappel", TODAY), limite=action.date_limite)]
    for day in range(1, 16):
        assert plan_of(book, history, today=TODAY + days(day)).actions == (), day
    later = plan_of(book, history, today=d("2026-12-08"))
    assert later.actions and later.actions[0].montant_reclame == D("300")
    # No penalty before the window ends, whatever the step.
    notice = config().etape("mise_en_demeure")
    demande = compute_demande([invoice], [], notice, consumer, history, d("2026-12-07"),
                              config())
    assert demande.penalites.total == 0


def test_a_missed_instalment_joins_the_clients_formal_notice_as_also_overdue():
    notice_due = facture("F-1", echeance=TODAY - days(45), montant="1000")
    planned = facture("F-2", echeance=TODAY - days(60), montant="600")
    history = [fait("F-1", "rappel", TODAY - days(42)),
               fait("F-1", "dernier_rappel", TODAY - days(20))]
    plan = (Versement("F-2", TODAY - days(3), D("300")), Versement("F-2", TODAY + days(27), D("300")))
    book = replace(classeur([notice_due, planned]), versements=plan)
    [notice] = plan_of(book, history).actions
    assert (notice.etape, notice.canal, notice.modele) == ("mise_en_demeure", "courrier",
                                                           "mise_en_demeure")
    assert notice.autres == ("F-2",) and notice.montant_du == D("1300")
    Renderer(config(), book, TODAY, history).render(notice)  # renders as the notice it is


def test_after_a_formal_notice_the_tone_stays_firm_even_once_that_dossier_is_settled():
    settled = facture("F-1", echeance=TODAY - days(80), montant="1000", paye="1000")
    new = facture("F-2", echeance=TODAY - days(4), montant="300")
    history = [fait("F-1", "mise_en_demeure", TODAY - days(40), canal="courrier")]
    livre = tenir(classeur([settled, new]), history, TODAY, config())
    assert livre.compte("Alpha").etat == AMIABLE
    [action] = plan_of(classeur([settled, new]), history).actions
    assert action.modele == "rappel_ferme"


def test_a_notice_that_cannot_be_posted_never_holds_back_the_clients_emails():
    old = facture("F-1", echeance=TODAY - days(45), montant="1000")
    newer = facture("F-2", echeance=TODAY - days(5), montant="400")
    history = [fait("F-1", "rappel", TODAY - days(42)), fait("F-1", "dernier_rappel", TODAY - days(20))]
    homeless = client("Alpha", adresse="")
    plan = plan_of(classeur([old, newer], [homeless]), history)
    # The letter is not produced (said in the problems); F-2's reminder goes all the same.
    assert [(a.canal, a.factures) for a in plan.actions] == [("email", ("F-2",))]
    assert "adresse postale manquante" in plan.anomalies[0].message


def test_a_credit_notes_facture_liee_is_read_from_a_real_workbook_and_checked(tmp_path):
    import openpyxl
    from relances.xlsx import read_classeur
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Factures"
    sheet.append(["Client", "N° facture", "Échéance", "Montant TTC", "Facture d'origine"])
    sheet.append(["Alpha", "F-1", TODAY - days(30), 500, None])
    sheet.append(["Alpha", "F-2", TODAY - days(10), 800, None])
    sheet.append(["Alpha", "AV-1", TODAY - days(5), -200, "F-2"])
    sheet.append(["Alpha", "AV-2", TODAY - days(5), -100, "F-9"])
    clients = book.create_sheet("Clients")
    clients.append(["Client", "Email"])
    clients.append(["Alpha", "compta@alpha.fr"])
    book.save(tmp_path / "relances.xlsx")
    lecture = read_classeur(tmp_path / "relances.xlsx")
    [problem] = [a for a in lecture.classeur.anomalies if "Facture liée" in a.message]
    assert (problem.sheet, problem.row) == ("Factures", 5)
    assert "« F-9 » n’est pas une facture de Alpha" in problem.message and "(E5)" in problem.message
    seen = tenir(lecture.classeur, [], TODAY, config()).classeur
    reste = {f.numero: f.reste_du for f in seen.factures}
    # AV-1 on F-2 as named; AV-2 (its invoice unknown) on the oldest, F-1.
    assert (reste["F-1"], reste["F-2"]) == (D("400"), D("600"))


def test_an_unreadable_row_that_may_be_a_credit_note_holds_its_client(tmp_path):
    import openpyxl
    from relances.xlsx import read_classeur
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Factures"
    sheet.append(["Client", "N° facture", "Échéance", "Montant TTC"])
    sheet.append(["Alpha", "F-1", TODAY - days(30), 500])
    sheet.append(["Alpha", "AV-1", TODAY - days(5), "moins cent"])  # a credit note? unknown
    sheet.append(["Beta", "G-1", TODAY - days(30), 400])
    sheet.append(["Beta", "G-2", "31/02/2026", 300])  # unreadable, but surely not a credit
    clients = book.create_sheet("Clients")
    clients.append(["Client", "Email"])
    clients.append(["Alpha", "compta@alpha.fr"])
    clients.append(["Beta", "compta@beta.fr"])
    book.save(tmp_path / "relances.xlsx")
    lecture = read_classeur(tmp_path / "relances.xlsx")
    assert "peut-être un avoir" in lecture.classeur.clients["alpha"].bloque
    assert not lecture.classeur.clients["beta"].bloque
    plan = decide(lecture.classeur, [], TODAY, config())
    assert [a.client for a in plan.actions] == ["Beta"]
