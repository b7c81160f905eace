"""SPEC §5, rule by rule, over the pure decision function; then hypothesis properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relances.config import DEFAULT_ETAPES, Entreprise
from relances.policy import decide, promesse_cle
from relances.reprise import taken_over
from relances.suivi import follow_up
from relances.records import Etape, Fait, client_key

from conftest import TODAY, classeur, client, config, d, days, facture, fait


def plan_of(factures, history=(), today=TODAY, clients=None, **cfg):
    return decide(classeur(factures, clients), list(history), today, config(**cfg))


def steps(plan):
    return [(a.client, a.factures, a.etape, a.canal) for a in plan.actions]


# ------------------------------------------------------------ when nothing happens

@pytest.mark.parametrize("case, invoice", [
    ("not yet due", facture(echeance=TODAY + days(10))),
    ("due today, first step at +3", facture(echeance=TODAY)),
    ("2 days late, first step at +3", facture(echeance=TODAY - days(2))),
    ("paid", facture(echeance=TODAY - days(30), paye="1000")),
    ("overpaid", facture(echeance=TODAY - days(30), paye="1200")),
    ("credit note", facture(echeance=TODAY - days(30), montant="-300")),
    ("status Payée", facture(echeance=TODAY - days(30), statut="payee")),
    ("status Litige", facture(echeance=TODAY - days(30), statut="litige")),
    ("status Pause", facture(echeance=TODAY - days(30), statut="pause")),
    ("status Contentieux", facture(echeance=TODAY - days(30), statut="contentieux")),
    ("promise in the future", facture(echeance=TODAY - days(30), promesse=TODAY + days(3))),
    ("promise today", facture(echeance=TODAY - days(30), promesse=TODAY)),
])
def test_nothing_happens(case, invoice):
    assert plan_of([invoice]).actions == ()


def test_paused_client_gets_nothing_until_the_day_after_the_pause():
    invoice = facture(echeance=TODAY - days(10))
    paused = [client(pause_jusqu_au=TODAY)]
    assert plan_of([invoice], clients=paused).actions == ()
    assert steps(plan_of([invoice], clients=paused, today=TODAY + days(1))) == [
        ("Alpha", ("F-1",), "rappel", "email")]


def test_a_client_whose_credit_notes_cover_the_debt_is_not_chased():
    invoices = [facture("F-1", echeance=TODAY - days(10), montant="300"),
                facture("AV-1", echeance=TODAY - days(10), montant="-300")]
    assert plan_of(invoices).actions == ()


# ------------------------------------------------------------ when a step is due

@pytest.mark.parametrize("late, done, expected", [
    (3, [], "rappel"),
    (40, [], "rappel"),  # one step per run: the first not yet had
    (10, [("rappel", -7)], "appel"),
    (20, [("rappel", -17), ("appel", -10)], "dernier_rappel"),
    (35, [("rappel", -32), ("appel", -25), ("dernier_rappel", -15)], "mise_en_demeure"),
    (60, [("rappel", -57), ("dernier_rappel", -40), ("mise_en_demeure", -25)], "recouvrement"),
])
def test_the_next_step_not_yet_had_is_done(late, done, expected):
    history = [fait("F-1", name, TODAY + days(offset)) for name, offset in done]
    plan = plan_of([facture(echeance=TODAY - days(late))], history)
    assert [a.etape for a in plan.actions] == [expected]


@pytest.mark.parametrize("late", [0, 1, 2])
def test_a_step_is_not_due_before_its_day(late):
    assert plan_of([facture(echeance=TODAY - days(late))]).actions == ()


def test_a_negative_apres_jours_reminds_before_the_due_date():
    courtesy = (Etape("courtoisie", -5, "email", modele="rappel"), *DEFAULT_ETAPES)
    invoice = facture(echeance=TODAY + days(5))
    assert [a.etape for a in plan_of([invoice], etapes=courtesy).actions] == ["courtoisie"]
    assert plan_of([invoice], etapes=courtesy, today=TODAY - days(1)).actions == ()


def test_the_next_step_waits_until_the_deadline_given_has_passed():
    # dernier_rappel (delai 8) sent on Thursday 19/11: the client may pay until Friday 27/11;
    # the formal notice goes on the 28th, not on the deadline day itself.
    history = [fait("F-1", "rappel", TODAY - days(30)),
               fait("F-1", "dernier_rappel", d("2026-11-19"))]
    invoice = facture(echeance=TODAY - days(50))
    assert plan_of([invoice], history).actions == ()
    assert plan_of([invoice], history, today=d("2026-11-27")).actions == ()
    assert [a.etape for a in plan_of([invoice], history, today=d("2026-11-28")).actions] == [
        "mise_en_demeure"]


def test_a_deadline_falling_on_a_closed_day_moves_to_the_next_business_day():
    # Sent on Friday 13/11 + 8 days = Saturday 21/11: the client has until Monday 23/11.
    history = [fait("F-1", "rappel", TODAY - days(30)),
               fait("F-1", "dernier_rappel", d("2026-11-13"))]
    invoice = facture(echeance=TODAY - days(50))
    assert plan_of([invoice], history, today=d("2026-11-23")).actions == ()
    assert [a.etape for a in plan_of([invoice], history, today=d("2026-11-24")).actions] == [
        "mise_en_demeure"]
    # Christmas Day and Boxing Day (Alsace-Moselle) are not business days either.
    from relances.calendrier import Calendrier
    assert Calendrier("FR").prochain_ouvre(d("2026-12-25")) == d("2026-12-28")
    assert Calendrier("FR", alsace_moselle=True).ouvre(d("2026-12-26")) is False
    assert Calendrier("BE").ouvre(d("2026-07-21")) is False  # Belgian national day


def test_after_a_formal_notice_the_next_step_waits_for_the_delivery_window_too():
    # Registered letter posted 02/11: 15 days to be delivered, then 8 days from receipt.
    history = [fait("F-1", "rappel", TODAY - days(60)),
               fait("F-1", "dernier_rappel", TODAY - days(40)),
               fait("F-1", "mise_en_demeure", d("2026-11-02"), canal="courrier")]
    invoice = facture(echeance=TODAY - days(100))
    assert plan_of([invoice], history, today=d("2026-11-25")).actions == ()
    assert [a.etape for a in plan_of([invoice], history, today=d("2026-11-26")).actions] == [
        "recouvrement"]
    suivi = follow_up(classeur([invoice]), history, TODAY, config())["F-1"]
    assert suivi.prochaine_action == "Recouvrement le 26/11/2026"
    assert suivi.date_prochaine_action == d("2026-11-26")


def test_the_call_is_skipped_below_its_minimum_amount():
    history = [fait("F-1", "rappel", TODAY - days(17))]
    small = facture(echeance=TODAY - days(20), montant="499.99")
    assert [a.etape for a in plan_of([small], history).actions] == ["dernier_rappel"]
    big = facture(echeance=TODAY - days(20), montant="500")
    assert [a.etape for a in plan_of([big], history).actions] == ["appel"]


def test_the_call_minimum_counts_the_clients_total_due():
    history = [fait("F-1", "rappel", TODAY - days(17)), fait("F-2", "rappel", TODAY - days(17))]
    invoices = [facture("F-1", echeance=TODAY - days(20), montant="300"),
                facture("F-2", echeance=TODAY - days(20), montant="300")]
    assert steps(plan_of(invoices, history)) == [("Alpha", ("F-1", "F-2"), "appel", "appel")]


def test_a_step_never_goes_backwards_when_a_skipped_step_becomes_applicable():
    # The call was skipped (small total), then dernier_rappel done; a new invoice raises the
    # total above the call minimum: the old invoice goes on to mise_en_demeure, not the call.
    history = [fait("F-1", "rappel", TODAY - days(40)),
               fait("F-1", "dernier_rappel", TODAY - days(20))]
    invoices = [facture("F-1", echeance=TODAY - days(50), montant="100"),
                facture("F-2", echeance=TODAY + days(20), montant="5000")]
    assert steps(plan_of(invoices, history)) == [
        ("Alpha", ("F-1",), "mise_en_demeure", "courrier")]


def test_after_the_last_step_nothing_more_happens():
    history = [fait("F-1", e.nom, TODAY - days(100 - i)) for i, e in enumerate(DEFAULT_ETAPES)]
    assert plan_of([facture(echeance=TODAY - days(200))], history).actions == ()


# ------------------------------------------------------------ promises

def test_a_broken_promise_gets_one_reminder_quoting_it_before_any_step():
    promised = TODAY - days(2)
    invoice = facture(echeance=TODAY - days(30), promesse=promised)
    history = [fait("F-1", "rappel", TODAY - days(27))]
    plan = plan_of([invoice], history)
    assert [(a.etape, a.promesse, a.cles) for a in plan.actions] == [
        ("promesse_non_tenue", promised, (promesse_cle(promised),))]
    # Once sent, the schedule resumes (after the minimum gap between messages).
    history.append(fait("F-1", promesse_cle(promised), TODAY))
    assert plan_of([invoice], history).actions == ()
    # The reminder gave five days (to Friday 27 November, inclusive): nothing before the 28th.
    assert plan_of([invoice], history, today=TODAY + days(5)).actions == ()
    later = plan_of([invoice], history, today=TODAY + days(6))
    assert [a.etape for a in later.actions] == ["appel"]


def test_a_new_promise_broken_again_gets_its_own_reminder():
    history = [fait("F-1", promesse_cle(d("2026-11-01")), d("2026-11-02"))]
    invoice = facture(echeance=TODAY - days(40), promesse=d("2026-11-15"))
    assert [a.etape for a in plan_of([invoice], history).actions] == ["promesse_non_tenue"]


def test_a_broken_promise_is_not_held_back_by_the_minimum_gap():
    history = [fait("F-1", "rappel", TODAY - days(1))]
    invoice = facture(echeance=TODAY - days(30), promesse=TODAY - days(1))
    assert [a.etape for a in plan_of([invoice], history).actions] == ["promesse_non_tenue"]


# ------------------------------------------------------------ per client

def test_invoices_of_one_client_due_for_a_step_share_one_message():
    invoices = [facture("F-1", echeance=TODAY - days(4), montant="100"),
                facture("F-2", echeance=TODAY - days(3), montant="250.50"),
                facture("F-3", client="Beta", echeance=TODAY - days(5))]
    plan = plan_of(invoices)
    # Actions come biggest amount first within a channel.
    assert steps(plan) == [("Beta", ("F-3",), "rappel", "email"),
                           ("Alpha", ("F-1", "F-2"), "rappel", "email")]
    assert plan.actions[1].montant_du == Decimal("350.50")


def test_the_most_advanced_step_covers_the_clients_other_invoices():
    history = [fait("F-1", "rappel", TODAY - days(20)), fait("F-1", "appel", TODAY - days(12))]
    invoices = [facture("F-1", echeance=TODAY - days(25)),
                facture("F-2", echeance=TODAY - days(4))]
    plan = plan_of(invoices, history)
    assert steps(plan) == [("Alpha", ("F-1", "F-2"), "dernier_rappel", "email")]
    # Each invoice keeps its own step: F-2 gets its first reminder, listed apart, no penalty.
    action = plan.actions[0]
    assert action.cles == ("dernier_rappel", "rappel")
    assert action.principales == ("F-1",) and action.autres == ("F-2",)
    assert action.montant_du == action.montant_reclame == Decimal("2000.00")


def test_a_formal_notice_claims_penalties_on_its_own_invoices_only():
    history = [fait("F-1", step, TODAY - days(ago), canal=canal) for step, ago, canal in
               (("rappel", 40, "email"), ("appel", 30, "appel"), ("dernier_rappel", 20, "email"))]
    history.append(fait("F-2", "rappel", TODAY - days(40)))
    invoices = [facture("F-1", echeance=TODAY - days(45)),
                facture("F-2", echeance=TODAY - days(45), montant="500")]
    plan = plan_of(invoices, history)
    notice = next(a for a in plan.actions if a.canal == "courrier")
    # One demand for the client: F-2, overdue, is in it too (« également échue »), without
    # penalties since it never had its last reminder; both go on under the notice.
    assert notice.factures == ("F-1", "F-2") and notice.autres == ("F-2",)
    assert notice.cles == ("mise_en_demeure", "mise_en_demeure")
    # 1000 € + 12,15 % over 45 days (14,98 €) + 40 € indemnity, plus F-2's 500 €.
    assert notice.montant_reclame == Decimal("1554.98")
    assert notice.montant_du == Decimal("1500.00")


def test_open_credit_notes_are_deducted_once_from_what_is_asked():
    invoices = [facture("F-1", echeance=TODAY - days(4), montant="1000"),
                facture("AV-1", echeance=TODAY - days(30), montant="-150"),
                facture("AV-2", echeance=TODAY - days(30), montant="-50", statut="payee")]
    action = plan_of(invoices).actions[0]
    assert action.factures == ("F-1",) and action.avoirs == ("AV-1",)
    # The account put AV-1 on F-1: what is left is what is due, and asked.
    assert action.montant_du == Decimal("850.00")
    assert action.montant_reclame == Decimal("850.00")


def test_a_credit_note_covering_the_overdue_invoice_settles_it_and_nothing_is_sent():
    invoices = [facture("F-1", echeance=TODAY - days(4), montant="100"),
                facture("F-2", echeance=TODAY + days(30), montant="900"),
                facture("AV-1", echeance=TODAY - days(30), montant="-300")]
    plan = plan_of(invoices)
    assert plan.actions == () and plan.anomalies == ()
    suivis = follow_up(classeur(invoices), [], TODAY, config())
    assert suivis["F-1"].prochaine_action == "aucune : soldée (avoir AV-1 imputé)"
    assert suivis["F-2"].reste_du == Decimal("700")


def test_no_letter_without_the_creditors_identity():
    history = [fait("F-1", step, TODAY - days(ago)) for step, ago in
               (("rappel", 40), ("dernier_rappel", 20))]
    invoice = facture(echeance=TODAY - days(45))
    plan = plan_of([invoice], history, entreprise=Entreprise(nom="Atelier Dupont"))
    assert plan.actions == ()
    message = plan.anomalies[0].message
    assert "« Mise en demeure » non produit" in message
    assert "renseignez entreprise.adresse, entreprise.siret dans config.toml" in message


def test_one_message_per_channel_but_a_call_and_an_email_may_go_together():
    history = [fait("F-1", "rappel", TODAY - days(10))]
    invoices = [facture("F-1", echeance=TODAY - days(12)),
                facture("F-2", echeance=TODAY - days(4))]
    assert steps(plan_of(invoices, history, ecart=0)) == [
        ("Alpha", ("F-2",), "rappel", "email"), ("Alpha", ("F-1",), "appel", "appel")]


def test_no_message_within_the_minimum_gap_of_the_previous_one():
    history = [fait("F-1", "rappel", TODAY - days(2))]
    invoices = [facture("F-1", echeance=TODAY - days(10), montant="100"),
                facture("F-2", echeance=TODAY - days(4), montant="100")]
    assert plan_of(invoices, history).actions == ()
    assert steps(plan_of(invoices, history, today=TODAY + days(3))) == [
        ("Alpha", ("F-2",), "rappel", "email")]


def test_calls_are_not_held_back_by_the_gap_between_messages():
    history = [fait("F-1", "rappel", TODAY - days(7)), fait("F-2", "rappel", TODAY - days(2))]
    invoices = [facture("F-1", echeance=TODAY - days(10)), facture("F-2", echeance=TODAY - days(5))]
    assert steps(plan_of(invoices, history)) == [("Alpha", ("F-1",), "appel", "appel")]


def test_a_client_without_email_gets_an_error_naming_it_and_still_its_calls():
    history = [fait("F-1", "rappel", TODAY - days(7), client="Gamma")]
    invoices = [facture("F-1", client="Gamma", echeance=TODAY - days(10)),
                facture("F-2", client="Gamma", echeance=TODAY - days(4))]
    plan = plan_of(invoices, history, clients=[client("Gamma", emails=())], ecart=0)
    assert steps(plan) == [("Gamma", ("F-1",), "appel", "appel")]
    assert len(plan.anomalies) == 1 and "Gamma" in plan.anomalies[0].message


def test_an_invalid_address_is_reported_and_never_used():
    plan = plan_of([facture(echeance=TODAY - days(4))],
                   clients=[client(emails=("pas une adresse", "ok@alpha.fr"))])
    assert plan.actions[0].destinataires == ("ok@alpha.fr",)
    assert "pas une adresse" in plan.anomalies[0].message


def test_the_factures_email_column_wins_over_the_clients_sheet():
    invoice = facture(echeance=TODAY - days(4), emails=("direct@alpha.fr",))
    assert plan_of([invoice]).actions[0].destinataires == ("direct@alpha.fr",)


def test_a_step_already_in_the_journal_is_never_done_again():
    invoice = facture(echeance=TODAY - days(4))
    history = [fait("F-1", "rappel", TODAY)]
    assert plan_of([invoice], history).actions == ()


def test_client_names_match_across_sheets_whatever_their_case_and_accents():
    invoice = facture(client="societe generale ETS", echeance=TODAY - days(4))
    plan = plan_of([invoice], clients=[client("Société Générale Éts", ("a@sg.fr",))])
    assert plan.actions[0].destinataires == ("a@sg.fr",)


# ------------------------------------------------------------ follow-up cells

def test_follow_up_says_what_comes_next_and_when():
    invoice = facture(echeance=d("2026-11-10"))
    history = [fait("F-1", "rappel", d("2026-11-13"))]
    suivi = follow_up(classeur([invoice]), history, TODAY, config())["F-1"]
    assert suivi.etape == "Premier rappel (13/11/2026)"
    assert suivi.relances_envoyees == 1
    assert suivi.derniere_relance == d("2026-11-13")
    assert suivi.prochaine_action == "Appel à faire (depuis le 20/11/2026)"
    assert suivi.date_prochaine_action == TODAY
    after = follow_up(classeur([invoice]), history + [fait("F-1", "appel", TODAY, canal="appel")],
                      TODAY, config())["F-1"]
    assert after.prochaine_action == "Dernier rappel le 30/11/2026"
    assert after.date_prochaine_action == d("2026-11-30")
    assert after.relances_envoyees == 1  # a call is not a message


@pytest.mark.parametrize("invoice, text", [
    (facture(paye="1000"), "aucune (payée)"),
    (facture(statut="litige"), "aucune (statut Litige)"),
    (facture(promesse=d("2026-11-28")), "attente du paiement promis le 28/11/2026"),
])
def test_follow_up_says_why_nothing_happens(invoice, text):
    assert follow_up(classeur([invoice]), [], TODAY, config())["F-1"].prochaine_action == text


def test_steps_written_by_hand_in_the_workbook_are_taken_over():
    invoice = facture(echeance=TODAY - days(25), etape_classeur="appel (10/11/2026)")
    faits = taken_over(classeur([invoice]), set(), config())
    assert [(f.cle, f.jour) for f in faits] == [("appel", d("2026-11-10"))]
    assert [a.etape for a in plan_of([invoice], faits).actions] == ["dernier_rappel"]
    # ... but never over what the journal knows.
    assert taken_over(classeur([invoice]), {("alpha", "F-1")}, config()) == []


# ------------------------------------------------------------ properties

NAMES = [e.nom for e in DEFAULT_ETAPES]


@st.composite
def situations(draw):
    n = draw(st.integers(1, 6))
    invoices, history = [], []
    for i in range(n):
        numero = f"F-{i}"
        who = draw(st.sampled_from(["Alpha", "Beta", "Gamma"]))
        due = TODAY + days(draw(st.integers(-120, 20)))
        montant = Decimal(draw(st.integers(-50000, 900000))) / 100
        paye = Decimal(draw(st.sampled_from([0, 0, 0, 1, 2]))) * montant / 2
        statut = draw(st.sampled_from(["", "", "", "payee", "litige"]))
        promesse = draw(st.one_of(st.none(), st.integers(-10, 10).map(lambda k: TODAY + days(k))))
        invoices.append(facture(numero, who, due, str(montant), str(paye), statut=statut,
                                promesse=promesse))
        done = draw(st.integers(0, len(NAMES)))
        for k in range(done):
            canal = DEFAULT_ETAPES[k].canal
            history.append(fait(numero, NAMES[k], due + days(DEFAULT_ETAPES[k].apres_jours + 1),
                                client=who, canal=canal))
    clients = [client(c, draw(st.sampled_from([(), (f"{c.lower()}@x.fr",)])))
               for c in ["Alpha", "Beta", "Gamma"]]
    today = TODAY + days(draw(st.integers(0, 40)))
    return invoices, history, clients, today


def apply(plan, history, classeur_):
    numeros = {f.numero: f for f in classeur_.factures}
    added = [Fait(facture=n, cle=c, etape=c.split(":")[0], canal=a.canal, client=numeros[n].client,
                  jour=plan.date, statut="envoye")
             for a in plan.actions for n, c in zip(a.factures, a.cles)]
    return [*history, *added]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(situations())
def test_a_paid_or_stopped_invoice_is_never_chased(situation):
    invoices, history, clients, today = situation
    plan = decide(classeur(invoices, clients), history, today, config())
    chased = {n for a in plan.actions for n in a.factures}
    for invoice in invoices:
        if invoice.reste_du <= 0 or invoice.statut or (invoice.promesse and invoice.promesse >= today):
            assert invoice.numero not in chased


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(situations())
def test_deciding_again_after_applying_the_plan_yields_nothing(situation):
    invoices, history, clients, today = situation
    book = classeur(invoices, clients)
    plan = decide(book, history, today, config())
    again = decide(book, apply(plan, history, book), today, config())
    assert again.actions == ()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(situations(), st.integers(1, 30))
def test_a_step_never_goes_backwards(situation, span):
    invoices, history, clients, today = situation
    book = classeur(invoices, clients)
    reached = {}
    for offset in range(0, span, 3):
        day = today + days(offset)
        plan = decide(book, history, day, config())
        for action in plan.actions:
            for numero, cle in zip(action.factures, action.cles):  # each invoice its own step
                if cle in NAMES:
                    rank = NAMES.index(cle)
                    assert rank > reached.get(numero, -1)
                    reached[numero] = rank
        history = apply(plan, history, book)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(situations())
def test_at_most_one_action_per_client_and_channel(situation):
    invoices, history, clients, today = situation
    plan = decide(classeur(invoices, clients), history, today, config())
    keys = [(client_key(a.client), a.canal) for a in plan.actions]
    assert len(keys) == len(set(keys))
    # and each invoice appears in at most one action
    numeros = [n for a in plan.actions for n in a.factures]
    assert len(numeros) == len(set(numeros))
