"""Acting on what the mailbox brought back (issue 21): matching, pauses on a reply, bounces
made « non remis », absences; with `Retour` records and a real journal (no IMAP here: the
reader itself is tested against Dovecot in test_boite_bout_en_bout / H21a's tests)."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from relances.appels import call_list
from relances.boite.attribution import match_bounce, match_reply, public_domain
from relances.boite.effets import Courrier, echange_rows, enrich, lire_et_trier
from relances.boite.retours import ABSENCE, IGNORE, REBOND, REPONSE, Retour
from relances.config import Boite
from relances.errors import RelancesError
from relances.journal import Journal
from relances.policy import decide
from relances.records import Action, Courriel, Echange, client_key
from relances.render import Renderer
from relances.suivi import follow_up

from conftest import TODAY, classeur, client, config, days, facture

BOITE = Boite(hote="imap.atelier-dupont.fr", utilisateur="compta@atelier-dupont.fr")
NOW = datetime.datetime.combine(TODAY, datetime.time(8))


def cfg(**kw):
    return config(boite=dataclasses.replace(BOITE, **kw))


def retour(nature=REPONSE, cle="7:1", jour=TODAY - days(1), **kw) -> Retour:
    return Retour(nature=nature, cle=cle, message_id=kw.pop("message_id", f"<{cle}@x>"),
                  jour=jour, **kw)


def with_mail(book, **courriels):
    return dataclasses.replace(book, courriels={client_key(k): v for k, v in courriels.items()})


def book_with(factures, echanges=(), clients=None):
    book = classeur(factures, clients)
    return dataclasses.replace(book, echanges=tuple(echanges))


# ------------------------------------------------------------------ matching


ENVOIS = {"<r1@atelier-dupont.fr>": "Alpha"}
ADRESSES = {"Alpha": {"Compta@Alpha.fr"}, "Beta": {"paul@beta.fr"},
            "Gamma": {"jean@gmail.com"}, "Delta": {"a@groupe.fr"}, "Epsilon": {"b@groupe.fr"}}


@pytest.mark.parametrize("kw, expected", [
    (dict(en_reponse_a=("<r1@atelier-dupont.fr>",), expediteur="x@ailleurs.fr"), "Alpha"),
    (dict(expediteur="compta@alpha.fr"), "Alpha"),  # the address, whatever its case
    (dict(expediteur="directeur@beta.fr"), "Beta"),  # the domain of exactly one client
    (dict(expediteur="jean@gmail.com"), "Gamma"),  # a webmail address itself still names
    (dict(expediteur="autre@gmail.com"), ""),  # but a webmail domain names nobody
    (dict(expediteur="x@hotmail.be"), ""),
    (dict(expediteur="c@groupe.fr"), ""),  # a domain of two clients: nobody
    (dict(expediteur="inconnu@nulle-part.fr"), ""),
])
def test_a_reply_is_matched_by_message_then_address_then_one_clients_domain(kw, expected):
    assert match_reply(retour(**kw), ENVOIS, ADRESSES).client == expected


def test_an_ambiguous_reply_names_its_candidates():
    found = match_reply(retour(expediteur="c@groupe.fr"), ENVOIS, ADRESSES)
    assert (found.client, found.candidats) == ("", ("Delta", "Epsilon"))


@pytest.mark.parametrize("domain", ["gmail.com", "outlook.fr", "yahoo.co.uk", "orange.fr",
                                    "skynet.be", "gmx.de", "proton.me"])
def test_public_webmail_domains(domain):
    assert public_domain(domain)
    assert not public_domain("atelier-dupont.fr")


@dataclasses.dataclass
class Sent:
    id: int
    jour: datetime.date
    client: str = "Alpha"
    canal: str = "email"
    destinataire: str = "compta@alpha.fr"
    message_id: str = ""
    statut: str = "envoye"
    etape: str = "rappel"


def test_a_bounce_is_matched_by_message_id_else_by_the_latest_email_to_the_failed_address():
    sent = [Sent(1, TODAY - days(20), message_id="<a@x>"), Sent(2, TODAY - days(9)),
            Sent(3, TODAY - days(4)), Sent(4, TODAY - days(2), destinataire="autre@alpha.fr")]
    assert match_bounce(retour(REBOND, en_reponse_a=("<a@x>",)), sent).id == 1
    failed = retour(REBOND, adresses_en_echec=("COMPTA@alpha.fr",))
    assert match_bounce(failed, sent).id == 3
    # Only emails of the 15 days before it.
    assert match_bounce(dataclasses.replace(failed, jour=TODAY + days(30)), sent) is None
    assert match_bounce(retour(REBOND), sent) is None


# ------------------------------------------------------------------ a reply pauses


def test_a_reply_pauses_written_steps_not_calls():
    book = book_with([facture("F-1", echeance=TODAY - days(4)),  # due for its first email
                      facture("F-2", client="Beta", echeance=TODAY - days(11),
                              montant="900")])  # due for its call
    book = dataclasses.replace(book, factures=(book.factures[0],
                                               dataclasses.replace(book.factures[1])))
    history = [_fait("F-2", "rappel", TODAY - days(8), "Beta")]
    quiet = decide(book, history, TODAY, cfg())
    assert {(a.client, a.canal) for a in quiet.actions} == {("Alpha", "email"), ("Beta", "appel")}
    replied = with_mail(book, Alpha=Courriel(reponse=TODAY - days(1)),
                        Beta=Courriel(reponse=TODAY - days(1)))
    plan = decide(replied, history, TODAY, cfg())
    assert {(a.client, a.canal) for a in plan.actions} == {("Beta", "appel")}
    suivis = follow_up(replied, history, TODAY, cfg())
    assert suivis["F-1"].prochaine_action == ("réponse reçue le 21/11/2026 : à lire, puis à "
                                              "noter dans Échanges")


def _fait(numero, cle, jour, client="Alpha", canal="email"):
    from conftest import fait
    return fait(numero, cle, jour, client, canal)


@pytest.mark.parametrize("echanges, paused", [
    ((), True),
    # The row the tool appended for the reply, Résultat empty: the user has not dealt with it.
    ((Echange(TODAY - days(1), "Alpha", canal="e-mail", coordonnees="Compta@alpha.fr"),), True),
    # ... its Résultat filled in: recorded.
    ((Echange(TODAY - days(1), "Alpha", canal="e-mail", coordonnees="compta@alpha.fr",
              resultat="autre"),), False),
    # Any other row for the client dated on or after the reply.
    ((Echange(TODAY, "Alpha", canal="Téléphone"),), False),
    ((Echange(TODAY - days(1), "Alpha", canal="e-mail", coordonnees="moi@ailleurs.fr"),), False),
    # Before the reply, or about another client: not.
    ((Echange(TODAY - days(5), "Alpha", canal="Téléphone"),), True),
    ((Echange(TODAY, "Beta", canal="Téléphone"),), True),
])
def test_the_pause_ends_when_the_user_records_the_exchange(echanges, paused):
    book = with_mail(book_with([facture("F-1", echeance=TODAY - days(4))], echanges),
                     Alpha=Courriel(reponse=TODAY - days(1),
                                    lignes=((TODAY - days(1), "compta@alpha.fr"),)))
    assert (decide(book, [], TODAY, cfg()).actions == ()) == paused


def test_after_pause_reponse_jours_the_client_is_to_call_and_written_steps_resume():
    book = with_mail(book_with([facture("F-1", echeance=TODAY - days(25), montant="400")]),
                     Alpha=Courriel(reponse=TODAY - days(10)))
    history = [_fait("F-1", "rappel", TODAY - days(16))]
    assert decide(book, history, TODAY - days(1), cfg()).actions == ()  # day 9: paused
    assert call_list(book, [], history, TODAY - days(1), pause_reponse=10)[0] == []
    plan = decide(book, history, TODAY, cfg())  # day 10
    assert [(a.etape, a.canal) for a in plan.actions] == [("dernier_rappel", "email")]
    (row,), _ = call_list(book, [], history, TODAY, pause_reponse=10)
    assert (row.client, row.motif) == ("Alpha", "répondu le 12/11/2026 sans suite enregistrée")
    # A message that could not be read is not called a reply.
    unread = with_mail(book, Alpha=Courriel(reponse=TODAY - days(10),
                                            illisible="compta@alpha.fr"))
    (row,), _ = call_list(unread, [], history, TODAY, pause_reponse=10)
    assert row.motif == "message illisible reçu le 12/11/2026, sans suite enregistrée"
    # A shorter pause, configured.
    assert decide(book, history, TODAY - days(5), cfg(pause_reponse_jours=3)).actions != ()


# ------------------------------------------------------------------ absence


def test_an_absence_keeps_emails_away_until_the_return_day_letters_still_go():
    factures = [facture("F-1", echeance=TODAY - days(4)),
                facture("F-2", client="Beta", echeance=TODAY - days(40))]
    history = [_fait("F-2", c, TODAY - days(30 - i), "Beta") for i, c in
               enumerate(("rappel", "dernier_rappel"))]
    away = Courriel(absent_jusqu_au=TODAY + days(3))
    book = with_mail(book_with(factures), Alpha=away, Beta=away)
    plan = decide(book, history, TODAY, cfg())
    assert [(a.client, a.canal) for a in plan.actions] == [("Beta", "courrier")]
    assert follow_up(book, history, TODAY, cfg())["F-1"].prochaine_action == (
        "absent jusqu’au 25/11/2026 (réponse automatique)")
    assert ("Alpha", "email") in {(a.client, a.canal)
                                  for a in decide(book, history, TODAY + days(3), cfg()).actions}
    # respecter_absence = false: shown to the user only.
    assert ("Alpha", "email") in {(a.client, a.canal) for a in decide(
        book, history, TODAY, cfg(respecter_absence=False)).actions}


# ------------------------------------------------------------------ the journal side


def _sent(journal: Journal, jour, numero="F-1", client_="Alpha", etape="rappel",
          to="compta@alpha.fr", message_id="<r1@atelier-dupont.fr>") -> int:
    action = Action(client_, (numero,), etape, "email", (to,), Decimal("1000"), modele=etape,
                    cles=(etape,))
    action_id, _ = journal.begin(action, jour, NOW, message_id=message_id)
    journal.finish(action_id, "envoye")
    return action_id


def reader(*retours, total=None):
    def read(vus, depuis):
        read.calls.append((set(vus), depuis))
        return list(retours), total if total is not None else len(retours)
    read.calls = []
    return read


@pytest.fixture
def journal(tmp_path):
    j = Journal.open(tmp_path / "relances.journal.sqlite")
    yield j
    j.close()


def test_a_bounce_makes_the_entry_non_remis_and_the_step_is_planned_again_once_fixed(journal):
    book = book_with([facture("F-1", echeance=TODAY - days(12), montant="300")])
    action_id = _sent(journal, TODAY - days(8))
    assert decide(book, journal.history(), TODAY, cfg()).actions == ()  # step done, gap
    dsn = retour(REBOND, cle="7:2", jour=TODAY - days(7), en_reponse_a=("<r1@atelier-dupont.fr>",),
                 adresses_en_echec=("compta@alpha.fr",), motif="550 5.1.1 user unknown")
    courrier = lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=reader(dsn))
    (entry,) = journal.entries()
    assert (entry.id, entry.statut, entry.resultat) == (
        action_id, "non_remis", "non remis : 550 5.1.1 user unknown")
    assert courrier.rebonds[0].action_id == action_id
    assert journal.history() == []  # not done
    # While the cell still holds the failing address: no email, and it is said where.
    seen = enrich(book, journal.messages(), journal.entries())
    plan = decide(seen, journal.history(), TODAY, cfg())
    assert plan.actions == ()
    messages = [(a.sheet, a.row, a.message) for a in plan.anomalies]
    assert any("« compta@alpha.fr » (colonne Email) en échec" in m for _, _, m in messages)
    assert follow_up(seen, journal.history(), TODAY, cfg())["F-1"].prochaine_action == (
        "Premier rappel bloqué : adresse e-mail manquante ou invalide")
    # The user fixes the address: the same step again, not the next one.
    fixed = dataclasses.replace(seen, clients={client_key("Alpha"): client(
        "Alpha", ("nouvelle@alpha.fr",))})
    (action,) = decide(fixed, journal.history(), TODAY, cfg()).actions
    assert (action.etape, action.destinataires) == ("rappel", ("nouvelle@alpha.fr",))


def test_a_bounced_step_is_done_again_even_after_a_later_step_was_done(journal):
    """Found by the simulation: the first reminder bounced, the call step was done since;
    once the address is fixed, the first reminder goes again — not the last reminder."""
    book = book_with([facture("F-1", echeance=TODAY - days(30), montant="300")])
    _sent(journal, TODAY - days(20))
    call = Action("Alpha", ("F-1",), "appel", "appel", (), Decimal("300"), cles=("appel",))
    journal.begin(call, TODAY - days(19), NOW, statut="a_faire")
    dsn = retour(REBOND, cle="7:4", jour=TODAY - days(1),
                 en_reponse_a=("<r1@atelier-dupont.fr>",), adresses_en_echec=("compta@alpha.fr",))
    lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=reader(dsn))
    seen = enrich(book, journal.messages(), journal.entries())
    fixed = dataclasses.replace(seen, clients={client_key("Alpha"): client(
        "Alpha", ("nouvelle@alpha.fr",))})
    (action,) = decide(fixed, journal.history(), TODAY, cfg()).actions
    assert (action.etape, action.destinataires) == ("rappel", ("nouvelle@alpha.fr",))
    # Without the bounce, the schedule would have gone on past the call.
    assert decide(book, journal.history(), TODAY, cfg()).actions[0].etape != "rappel"


def test_a_message_not_delivered_is_never_cited_in_a_formal_notice(journal):
    book = book_with([facture("F-1", echeance=TODAY - days(60), montant="800")])
    _sent(journal, TODAY - days(40), message_id="<r1@x>")  # bounced; the address was fixed
    _sent(journal, TODAY - days(25), etape="dernier_rappel", message_id="<r2@x>")
    dsn = retour(REBOND, cle="7:3", jour=TODAY - days(39), en_reponse_a=("<r1@x>",),
                 motif="boîte inexistante")
    lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=reader(dsn))
    history = journal.history()
    assert [f.etape for f in history] == ["dernier_rappel"]
    (notice,) = decide(book, history, TODAY, cfg()).actions
    assert notice.etape == "mise_en_demeure"
    renderer = Renderer(cfg(), book, TODAY, history, journal.entries())
    lettre = renderer.render(notice).lettre
    assert "28 octobre 2026" in lettre  # the last reminder is cited
    assert "13 octobre 2026" not in lettre  # not the one that never arrived
    assert [e.quoi for e in renderer.chronologie("Alpha")] == ["Dernier rappel"]


def test_each_message_is_processed_once_and_replies_go_to_echanges_once(journal):
    book = book_with([facture("F-1", echeance=TODAY - days(12))])
    _sent(journal, TODAY - days(8))
    reply = retour(REPONSE, cle="7:10", expediteur="compta@alpha.fr", nom="Anne Alpha",
                   texte="Payé hier, voici le justificatif.",
                   en_reponse_a=("<r1@atelier-dupont.fr>",))
    noise = retour(IGNORE, cle="7:11", expediteur="news@shop.fr", texte="Promo !")
    read = reader(reply, noise)
    first = lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=read)
    assert [v.client for v in first.reponses] == ["Alpha"]
    # The reader is told what was seen, and from when (the day before the first email).
    assert read.calls[0] == (set(), TODAY - days(9))
    second = lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=read)
    assert second.nouveaux == []
    assert {"7:10", "7:11", reply.message_id} <= read.calls[1][0]
    assert len(journal.messages()) == 2
    assert journal.messages()[1].retour.texte == ""  # nothing kept of an ignored message
    cles, rows = echange_rows(journal.messages())
    assert rows == ({"date": TODAY - days(1), "client": "Alpha", "canal": "e-mail",
                     "interlocuteur": "Anne Alpha", "coordonnees": "compta@alpha.fr",
                     "dit": "Payé hier, voici le justificatif."},)
    journal.mark_messages_written(cles)
    assert echange_rows(journal.messages()) == ([], ())


def test_a_dry_run_reads_and_stores_nothing(journal):
    book = book_with([facture("F-1", echeance=TODAY - days(12))])
    _sent(journal, TODAY - days(8))
    dsn = retour(REBOND, en_reponse_a=("<r1@atelier-dupont.fr>",))
    courrier = lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, readonly=True,
                             lecteur=reader(dsn))
    assert len(courrier.rebonds) == 1
    assert journal.messages() == [] and journal.entries()[0].statut == "envoye"


def test_an_ambiguous_or_unknown_reply_holds_nobody(journal):
    clients = [client("Delta", ("a@groupe.fr",)), client("Epsilon", ("b@groupe.fr",))]
    book = book_with([facture("F-1", "Delta", echeance=TODAY - days(4)),
                      facture("F-2", "Epsilon", echeance=TODAY - days(4))], clients=clients)
    _sent(journal, TODAY - days(3), client_="Zeta", message_id="<z@x>")
    courrier = lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=reader(
        retour(REPONSE, cle="7:20", expediteur="chef@groupe.fr"),
        retour(REPONSE, cle="7:21", expediteur="qui@ailleurs.fr"),
        retour(REPONSE, cle="7:22", expediteur="compta@atelier-dupont.fr"),  # ourselves
        retour(ABSENCE, cle="7:23", expediteur="a@groupe.fr", retour_le=TODAY + days(5))))
    assert [v.fait for v in courrier.a_voir] == [
        "plusieurs clients possibles (Delta, Epsilon) : rattachée à personne",
        "aucun client reconnu"]
    assert [v.client for v in courrier.absences] == ["Delta"]
    seen = enrich(book, journal.messages(), journal.entries())
    plan = decide(seen, [], TODAY, cfg())
    assert [a.client for a in plan.actions] == ["Epsilon"]  # Delta is away, Epsilon goes on


def test_nothing_sent_yet_nothing_read_and_an_unreachable_mailbox_is_said(journal):
    book = book_with([facture("F-1", echeance=TODAY - days(12))])
    read = reader()
    assert lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=read) == Courrier()
    assert read.calls == []
    _sent(journal, TODAY - days(200))
    lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=read)
    assert read.calls[0][1] == TODAY - days(60)  # never further back than 60 days

    def down(vus, depuis):
        raise RelancesError("imap.atelier-dupont.fr:993 : connexion refusée")
    courrier = lire_et_trier(cfg(), journal, book, TODAY, NOW, {}, lecteur=down)
    assert (courrier.lu, courrier.injoignable) == (
        False, "imap.atelier-dupont.fr:993 : connexion refusée")
