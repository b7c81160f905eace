"""Decision stage: who to chase today, how, and what comes next. Pure: same inputs, same plan.

`decide(classeur, history, today, config)` turns the workbook's records and the journal's
history into a `Plan` of actions (SPEC §5), reading every figure and state from the client
account (`compte.tenir`, computed once per run and passed in by the run). `situations(...)`
says where each invoice stands — the step it waits for and from when, or why nothing happens —
as data; `suivi` puts it into words for the workbook. Both read the schedule through one
function, `_next_step`, so what the workbook announces is what a later run does.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Sequence

from .compte import (AMIABLE, ENCAISSEE, ILLISIBLE, REFUSEE, REJETEE, SUSPENDUE, Compte, Livre,
                     as_seen, reponse_en_suspens, tenir, with_echanges, with_plans)
from .config import Config
from .etapes import (COURTOIS, ECHEANCIER, FERME, INFO_AGENCE, ONE_DAY, PROMESSE, REMERCIEMENT,
                     TRANSMISSION, date_limite, deadline_end, is_notice, promesse_cle)
from .montants import compute_demande, window_end
from .records import (PROMESSE_NON_TENUE, ZERO, Action, Anomalie, Classeur, Client,
                      Echange, Etape, Facture, Fait, Plan, Signalement, client_key, normalise)

__all__ = ["decide", "situations", "as_seen", "with_echanges", "with_plans", "tenir",
           "promise_exchange", "missing_identity", "usable_emails", "date_limite",
           "deadline_end", "promesse_cle", "PROMESSE", "ECHEANCIER", "REMERCIEMENT",
           "TRANSMISSION", "INFO_AGENCE", "Motif", "Situation", "failing_emails"]

CANAL_ORDER = {"email": 0, "courrier": 1, "appel": 2, "recouvrement": 3}
# Why an invoice is held by the platform's latest status (compte.with_statuts).
PLATEFORME = {SUSPENDUE: "suspendue", REFUSEE: "refusee", REJETEE: "rejetee",
              ILLISIBLE: "statut_illisible"}
LONG_RETARD_JOURS = 90  # past this, an invoice is with the agency or held with a stated reason


@dataclass(frozen=True)
class Motif:
    """Why nothing is due for an invoice, as data; `suivi` puts it into words."""

    code: str  # see suivi.MOTIFS
    jour: datetime.date | None = None
    detail: str = ""
    montant: Decimal | None = None


@dataclass(frozen=True)
class _Next:
    """Where one invoice stands: the step it waits for and from when, or why nothing happens."""

    etape: Etape | None = None  # None: nothing to do (see motif)
    cle: str = ""
    date: datetime.date | None = None  # due from this date (may be in the past)
    promesse: datetime.date | None = None
    motif: Motif | None = None

    def due(self, today: datetime.date) -> bool:
        return self.etape is not None and self.date is not None and self.date <= today


@dataclass(frozen=True)
class Situation:
    """Where one invoice stands, for the workbook's Prochaine action (see suivi)."""

    facture: Facture
    client: Client
    compte: Compte
    suivant: _Next
    # First day another message may reach this client on the step's channel (None: today).
    plancher_message: datetime.date | None = None
    echec: tuple[str, ...] = ()  # addresses a message bounced from (see usable_emails)


class _History:
    """The journal's facts, indexed the ways the rules ask for them."""

    def __init__(self, faits: Iterable[Fait]):
        # Keyed by (client, invoice number): the same number for another client is another
        # invoice, never "already reminded".
        self.by_facture: dict[tuple[str, str], list[Fait]] = defaultdict(list)
        self.messages_by_client: dict[str, list[Fait]] = defaultdict(list)
        for fait in faits:
            self.by_facture[(client_key(fait.client), fait.facture)].append(fait)
            if fait.canal in ("email", "courrier"):
                self.messages_by_client[client_key(fait.client)].append(fait)

    def of(self, facture: Facture) -> list[Fait]:
        return self.by_facture.get((client_key(facture.client), facture.numero), [])

    def last_message(self, client: str) -> datetime.date | None:
        faits = self.messages_by_client.get(client_key(client))
        return max((f.jour for f in faits), default=None) if faits else None

    def channel_used_on(self, client: str, canal: str, day: datetime.date) -> bool:
        return any(f.canal == canal and f.jour == day
                   for f in self.messages_by_client.get(client_key(client), ()))


def promise_exchange(classeur: Classeur, facture: Facture,
                     promesse: datetime.date) -> Echange | None:
    """The exchange where this promise was made, to quote it (None: typed in Factures)."""
    found = [e for e in classeur.echanges if e.promesse == promesse and e.concerne(facture)]
    return max(found, key=lambda e: (e.jour, e.row or 0), default=None)


@dataclass(frozen=True)
class _Boite:
    """What the mailbox says of one client, for today: a reply pausing its written steps, a
    pause over (a call is due), an absence keeping emails away until a day."""

    reponse: Motif | None = None  # written steps wait (reply not yet recorded in Échanges)
    absent: datetime.date | None = None  # no email before this day
    echec: tuple[str, ...] = ()  # addresses whose message came back undelivered
    non_remis: frozenset[tuple[str, str]] = frozenset()  # (invoice, step) to be done again


def _boite(classeur: Classeur, client: Client, today: datetime.date, config: Config) -> _Boite:
    courriel = classeur.courriels.get(client_key(client.nom))
    if courriel is None or config.boite is None:
        return _Boite()
    reponse = None
    suspens = reponse_en_suspens(classeur, client.nom, today, config.boite.pause_reponse_jours)
    if suspens is not None and not suspens[1]:
        reponse = Motif("reponse", jour=suspens[0], detail=courriel.illisible)
    absent = courriel.absent_jusqu_au
    if not config.boite.respecter_absence or absent is None or absent <= today:
        absent = None
    return _Boite(reponse, absent, courriel.adresses_en_echec, frozenset(courriel.non_remis))


def _next_step(facture: Facture, client: Client, compte: Compte, faits: Sequence[Fait],
               today: datetime.date, config: Config, boite: _Boite = _Boite()) -> _Next:
    """The one rule book: what this invoice waits for, ignoring per-client limits.

    A step is due from its date whatever the day of the week: the user decides which days the
    tool runs. Dates shown to people (Prochaine action, deadlines) are moved to business days.
    """
    if facture.montant < 0:
        return _Next(motif=Motif("avoir"))
    if facture.statut == "payee" or facture.reste_du <= 0:  # settled (or an invoice of zero)
        if facture.statut == "payee":
            if facture.plateforme is not None and facture.plateforme.code == ENCAISSEE:
                return _Next(motif=Motif("encaissee", jour=facture.plateforme.jour))
            return _Next(motif=Motif("payee"))
        avoirs = tuple(dict.fromkeys(i.origine for i in facture.imputations
                                     if i.nature == "avoir"))
        if avoirs:
            return _Next(motif=Motif("soldee_avoir", detail=", ".join(avoirs)))
        return _Next(motif=Motif("payee"))
    if facture.plateforme is not None and facture.plateforme.code in PLATEFORME:
        statut = facture.plateforme
        detail = statut.source if statut.code == ILLISIBLE else statut.motif
        return _Next(motif=Motif(PLATEFORME[statut.code], jour=statut.jour, detail=detail))
    if facture.statut:
        return _Next(motif=Motif("statut", detail=facture.statut))
    if facture.litige:
        return _Next(motif=Motif("litige", detail=facture.litige))
    if facture.bloque:
        return _Next(motif=Motif("bloque", detail=facture.bloque))
    if client.bloque:
        return _Next(motif=Motif("bloque", detail=client.bloque))
    if facture.numero in compte.dossier:
        # Handed off: the agency takes this invoice over; relances sends nothing more for it.
        remise = min(f.jour for f in faits if f.canal == "recouvrement")
        return _Next(motif=Motif("agence", jour=remise))
    if facture.versements and facture.a_reclamer <= 0:
        coming = [v for v in facture.versements if v.reste > 0]
        if coming:
            return _Next(motif=Motif("echeancier", jour=coming[0].jour, montant=coming[0].reste))
    if client.pause_jusqu_au is not None and client.pause_jusqu_au >= today:
        if client.pause_jusqu_au == datetime.date.max:
            return _Next(motif=Motif("pause_illisible"))
        return _Next(motif=Motif("pause", jour=client.pause_jusqu_au))
    balance = compte.a_relancer
    if balance <= 0:
        return _Next(motif=Motif("crediteur"))

    done = {f.cle for f in faits}
    last_activity = max((f.jour for f in faits), default=None)
    # Never two actions on one invoice the same day: deciding again after a run yields nothing;
    # and a deadline given is kept: nothing more before the day after its last day.
    floors = [last_activity + ONE_DAY] if last_activity else []
    limite = compte.limite(facture.numero)
    if limite is not None:
        floors.append(limite + ONE_DAY)
    floor = max(floors, default=None)

    annonce = None  # « paiement annoncé » without a date: written steps wait until then
    if facture.annonce is not None:
        wait = facture.annonce + datetime.timedelta(
            days=config.regles.delai_paiement_annonce_jours)
        if wait >= today:
            annonce = Motif("annonce", jour=facture.annonce, detail=wait.isoformat())
    # A reply read from the mailbox: written steps wait until the user records the exchange.
    annonce = boite.reponse or annonce
    absence = Motif("absence", jour=boite.absent) if boite.absent else None

    if facture.promesse is not None:
        if facture.promesse >= today:
            return _Next(motif=Motif("promesse", jour=facture.promesse))
        cle = promesse_cle(facture.promesse)
        if cle not in done:
            if annonce is not None or absence is not None:
                return _Next(motif=annonce or absence)
            return _Next(etape=PROMESSE, cle=cle, promesse=facture.promesse,
                         date=_latest(facture.promesse + ONE_DAY, floor))

    if facture.versements:
        # A missed instalment gets the plan's own reminder first, once, the day after it.
        missed = [v for v in facture.versements if v.reste > 0 and v.jour < today]
        if missed:
            cle = f"{ECHEANCIER.nom}:{missed[0].jour.isoformat()}"
            if cle not in done:
                if annonce is not None or absence is not None:
                    return _Next(motif=annonce or absence)
                return _Next(etape=ECHEANCIER, cle=cle,
                             date=_latest(missed[0].jour + ONE_DAY, floor))

    # The client's policy (its Profil); a client changing profile goes on from the last step
    # it had, matched by name: it never starts over.
    etapes = config.etapes_of(client.profil)
    positions = [i for i, e in enumerate(etapes) if e.nom in done]
    last = max(positions, default=-1)
    # A step whose message came back undelivered is done again — the same step, before any
    # later one (a call done since included): what follows must rest on a message received.
    rebond = next((i for i, e in enumerate(etapes[:last]) if e.nom not in done
                   and (facture.numero, e.nom) in boite.non_remis), None)
    if rebond is not None:
        positions = [i for i in positions if i < rebond]
        last = max(positions, default=-1)
    last_day = None
    if last >= 0:
        last_etape = etapes[last]
        last_day = max(f.jour for f in faits if f.cle == last_etape.nom)
    for etape in etapes[last + 1:]:
        if etape.montant_minimum is not None and balance < etape.montant_minimum:
            continue  # below this step's threshold: counts as passed
        due = facture.echeance_relance + datetime.timedelta(days=etape.apres_jours)
        if last >= 0:
            # Execute threats, but only once the deadline given has passed.
            end = deadline_end(last_etape, last_day, config)
            if end is not None:
                due = max(due, end + ONE_DAY)
        if etape.canal == "appel" and facture.rappeler_le is not None:
            due = max(due, facture.rappeler_le)  # the client asked to be called that day
        if etape.canal != "appel" and annonce is not None:
            return _Next(motif=annonce)  # written steps and hand-off wait a while
        if etape.canal == "email" and absence is not None:
            return _Next(motif=absence)  # out of office: no email before the day it says
        return _Next(etape=etape, cle=etape.nom, date=_latest(due, floor))
    if last >= 0:
        return _Next(motif=Motif("fin", jour=last_day, detail=etapes[last].titre))
    return _Next(motif=Motif("aucune"))


def _latest(day: datetime.date, floor: datetime.date | None) -> datetime.date:
    return max(day, floor) if floor else day


def _message_floor(client: str, canal: str, history: _History, today: datetime.date,
                   config: Config, is_promesse: bool) -> datetime.date | None:
    """First day this client may get another message on `canal`, or None when it may today."""
    floors = []
    if history.channel_used_on(client, canal, today):
        floors.append(today + ONE_DAY)
    last = history.last_message(client)
    if last is not None and not is_promesse:
        gap = last + datetime.timedelta(days=config.regles.ecart_minimum_jours)
        if gap > today:
            floors.append(gap)
    return max(floors) if floors else None


def usable_emails(facture_emails: Sequence[str], client: Client, echec: Sequence[str] = ()
                  ) -> tuple[tuple[str, ...], list[str]]:
    """Addresses to write to (Factures' column wins over Clients), and the ones refused;
    `echec`: addresses a message bounced from (lower-cased), left out while still there."""
    good, bad = _checked(tuple(facture_emails or client.emails))
    if echec:
        good = tuple(a for a in good if a.lower() not in echec)
    return good, list(bad)


def failing_emails(facture_emails: Sequence[str], client: Client, echec: Sequence[str]
                   ) -> list[str]:
    """The addresses of the cell that a message bounced from, as the cell writes them."""
    return [a for a in (facture_emails or client.emails) if a.strip().lower() in echec]


@functools.lru_cache(maxsize=1 << 14)
def _checked(candidates: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Syntax check of addresses (email-validator is slow; a client's invoices share them)."""
    from email_validator import EmailNotValidError, validate_email

    good, bad = [], []
    for address in candidates:
        try:
            good.append(validate_email(address, check_deliverability=False).normalized)
        except EmailNotValidError:
            bad.append(address)
    return tuple(dict.fromkeys(good)), tuple(bad)


def _handed_off(faits: Sequence[Fait]) -> bool:
    return any(f.canal == "recouvrement" for f in faits)


def _to_thank(facture: Facture, faits: Sequence[Fait]) -> bool:
    """Paid now, chased before (an email or a letter), and not thanked yet."""
    if facture.plateforme is not None and facture.plateforme.code == ENCAISSEE:
        return False  # the platform says so; the user may not have seen the money yet
    chased = any(f.canal in ("email", "courrier") for f in faits)
    return facture.solde and chased and not any(f.cle == REMERCIEMENT.nom for f in faits)


def _agency_to_tell(facture: Facture, faits: Sequence[Fait]) -> bool:
    """Paid now, handed off before, and the agency not told yet."""
    return (facture.solde and _handed_off(faits)
            and not any(f.cle == INFO_AGENCE.nom for f in faits))


def decide(classeur: Classeur, history: Iterable[Fait], today: datetime.date,
           config: Config, livre: Livre | None = None) -> Plan:
    """Today's actions (SPEC §5): one step per invoice, one message per client and channel,
    every figure from the client account (`livre`, computed here when not given)."""
    history = list(history)
    livre = livre or tenir(classeur, history, today, config)
    classeur = livre.classeur
    past = _History(history)
    anomalies: list[Anomalie] = []
    signalements: list[Signalement] = []

    due: dict[tuple[str, str], list[tuple[Facture, _Next]]] = defaultdict(list)
    waiting: dict[str, list[tuple[Facture, _Next]]] = defaultdict(list)
    clients: dict[str, Client] = {}
    boites: dict[str, _Boite] = {}  # what the mailbox says, per client key
    histories = []  # each invoice's facts, looked up once
    for facture in classeur.factures:
        client = classeur.client_of(facture)
        key = client_key(facture.client)
        compte = livre.comptes.get(key) or livre.compte(facture.client)
        faits = past.of(facture)
        histories.append(faits)
        if key not in boites:
            boites[key] = _boite(classeur, client, today, config)
        step = _next_step(facture, client, compte, faits, today, config, boites[key])
        if step.due(today):
            clients[key] = client
            due[(key, step.etape.canal)].append((facture, step))
        elif step.etape is not None:
            waiting[key].append((facture, step))
        _long_overdue(facture, step, today, signalements)
        if step.motif is not None and step.motif.code in ("refusee", "rejetee"):
            # Refused or rejected: the user must put it right (a credit note, a new invoice).
            signalements.append(Signalement("plateforme_a_regulariser", facture.client,
                                            facture.numero, facture.row, motif=step.motif,
                                            jour=facture.plateforme.jour))

    # Only a letter that can be posted (the client's address, the creditor's identity) takes
    # the client's other invoices, or keeps emails away on its day: else they go their way.
    identity_gaps = missing_identity(config)
    postable = {key for key, client in clients.items()
                if client.adresse.strip() and not identity_gaps}
    _one_notice_per_client(due, waiting, livre, today, postable)
    _one_dossier_per_client(due, waiting, livre, today)

    # Thanks and news for the agency: only invoices with a history can be concerned.
    for facture, faits in zip(classeur.factures, histories):
        if not faits:
            continue
        key = client_key(facture.client)
        if _agency_to_tell(facture, faits):
            if config.recouvrement_email:
                clients[key] = classeur.client_of(facture)
                due[(key, "agence")].append(
                    (facture, _Next(etape=INFO_AGENCE, cle=INFO_AGENCE.nom, date=today)))
            else:
                signalements.append(Signalement("agence_a_prevenir", facture.client,
                                                facture.numero, facture.row))
        elif (config.regles.remerciement and _to_thank(facture, faits)
              and not livre.compte(facture.client).remises):
            # (a client who was ever handed to the agency gets no thank-you: the agency and
            # the debtor talk; and a thank-you may read as waiving what the agency claims)
            clients[key] = classeur.client_of(facture)
            due[(key, "email")].append(
                (facture, _Next(etape=REMERCIEMENT, cle=REMERCIEMENT.nom, date=today)))

    for client in classeur.clients.values():
        if client.profil and config.politique_of(client.profil) is None \
                and normalise(client.profil) not in config.profils:
            anomalies.append(Anomalie("Clients", client.row, (
                f"{client.nom} : Profil inconnu « {client.profil} » : politique par défaut "
                f"utilisée ; associez-le à une politique dans la section [profils] de "
                f"{config.path.name} (connus : {', '.join(sorted(config.profils))})")))

    # A letter day is no day for an email to the same client: the letter says it all.
    letter_today = {key for (key, canal) in due if canal == "courrier" and key in postable}
    letter_today |= {client_key(f.client) for f in history
                     if f.canal == "courrier" and f.jour == today}

    actions: list[Action] = []
    for (key, canal), items in sorted(due.items()):
        client = clients[key]
        compte = livre.compte(client.nom)
        if canal == "agence":
            actions.append(_info_agence(client, items, config))
            continue
        # A broken promise is answered first and on its own: it quotes the promised date; then
        # a missed instalment of a plan, on its own too: it quotes the plan.
        # (On a letter's day, those joined the formal notice: it says it all.)
        promesses = ([item for item in items if item[1].etape.nom == PROMESSE_NON_TENUE]
                     or [item for item in items if item[1].etape.nom == ECHEANCIER.nom]
                     ) if canal == "email" else []
        merci = [item for item in items if item[1].etape.nom == REMERCIEMENT.nom]
        if merci and len(merci) < len(items):
            items = [item for item in items if item not in merci]  # chasing first; thanks later
        elif merci:
            promesses = merci  # thanks alone: no gap to respect, nothing to claim
        items = promesses or items
        if canal == "email" and key in letter_today and not merci:
            continue
        boite = boites.get(key) or _boite(classeur, client, today, config)
        if (canal in ("email", "courrier", "recouvrement") and boite.reponse) or (
                canal == "email" and boite.absent):
            continue  # a reply to read first, or out of office (thanks wait too)
        if canal in ("email", "courrier"):
            if _message_floor(client.nom, canal, past, today, config, bool(promesses)):
                continue
        etapes = config.etapes_of(client.profil)
        chosen = max((step for _, step in items), key=lambda s: _rank(s.etape.nom, etapes))
        etape = chosen.etape
        ton = ""
        if compte.etat != AMIABLE or compte.ferme or key in letter_today:
            ton = "ferme"
            if etape.modele in COURTOIS:
                # Under formal notice or with the agency: no « simple oubli ».
                etape = replace(etape, modele=FERME)
        # Each invoice keeps its own step: those at the message's step come first; the others
        # (« également échues ») are recorded at the step they really have.
        ordered = sorted(items, key=lambda item: (item[1].etape.nom != etape.nom,
                                                  item[0].echeance, item[0].numero))
        factures = [f for f, _ in ordered]
        principales = [f for f, step in ordered if step.etape.nom == etape.nom]
        autres = [f for f, step in ordered if step.etape.nom != etape.nom]
        numeros = ", ".join(f.numero for f in factures)
        where = ("Clients", client.row) if client.row else ("Factures", factures[0].row)
        destinataires: tuple[str, ...] = ()
        if canal == "courrier" or (canal == "email" and etape.joindre_courrier):
            if identity_gaps:
                anomalies.append(Anomalie(None, None, (
                    f"{client.nom} : « {etape.titre} » non produit (factures {numeros}) : "
                    f"un courrier doit identifier le créancier ; renseignez "
                    f"{', '.join(identity_gaps)} dans {config.path.name}")))
                continue
        if canal == "courrier" and not client.adresse.strip():
            # A letter that cannot be posted proves nothing: not produced, and said.
            anomalies.append(Anomalie(*where, f"{client.nom} : adresse postale manquante, "
                                      f"« {etape.titre} » non produit (factures {numeros})"))
            continue
        if canal == "email":
            emails = next((f.emails for f in factures if f.emails), ())
            destinataires, refused = usable_emails(emails, client, boite.echec)
            at = _where(factures[0], client, bool(emails))
            for address in refused:
                anomalies.append(Anomalie(*at, f"{client.nom} : adresse e-mail invalide "
                                               f"« {address} »"))
            for address in failing_emails(emails, client, boite.echec):
                anomalies.append(Anomalie(*at, (
                    f"{client.nom} : adresse e-mail « {address} » (colonne Email) en échec, "
                    "un message y est revenu non remis : elle n’est plus utilisée tant "
                    "qu’elle est là ; corrigez-la")))
            if not destinataires:
                anomalies.append(Anomalie(*at, f"{client.nom} : aucune adresse e-mail "
                                          f"utilisable, « {etape.titre} » non envoyé "
                                          f"(factures {numeros})"))
                continue
        # What is asked, or handed off (a thank-you asks for nothing). Credits are already on
        # the invoices they were allocated to: the amount is what the account says is left.
        claims = (etape.is_message and etape is not REMERCIEMENT) or canal == "recouvrement"
        demande = compute_demande(principales, autres, etape, client,
                                  [f for facture in factures for f in past.of(facture)],
                                  today, config)
        if claims and demande.total <= 0:
            continue  # nothing left to ask once credits are counted (cannot happen: settled)
        if canal == "appel":
            # One amount for a call, the net, as À appeler shows it.
            demande = replace(demande, principal=compte.a_appeler(client, today)[1],
                              avec_penalites=False)
        limite = date_limite(etape, today, config) if etape.is_message else None
        if (etape.is_message and claims and config.regime_of(client).consommateur_be
                and any(not any(f.canal in ("email", "courrier") for f in past.of(facture))
                        for facture in factures)):
            # A Belgian consumer's first reminder opens fourteen days (art. XIX.2): a deadline
            # given like any other, kept to the day.
            window = window_end(today, canal, config)
            limite = max(limite, window) if limite else window
        complement = 0
        if canal == "recouvrement":
            complement = len([d for d in compte.remises if d < today])
        actions.append(Action(
            client=client.nom,
            factures=tuple(f.numero for f in factures),
            etape=etape.nom,
            canal=canal,
            destinataires=destinataires,
            montant_du=demande.principal if claims else max(demande.principal, ZERO),
            modele=etape.modele,
            delai_jours=etape.delai_jours,
            joindre_courrier=etape.joindre_courrier,
            promesse=max((s.promesse for _, s in items if s.promesse), default=None),
            cles=tuple(step.cle for _, step in ordered),
            libelle=etape.titre,
            autres=tuple(f.numero for f in autres),
            avoirs=tuple(dict.fromkeys(i.origine for f in factures for i in f.imputations
                                       if i.nature == "avoir")),
            montant_reclame=demande.total if claims else ZERO,  # a thank-you asks nothing
            date_limite=limite,
            complement=complement,
            ton=ton,
        ))
    actions += _transmissions(classeur, livre, past, today, config)
    actions.sort(key=lambda a: (CANAL_ORDER[a.canal], -a.montant_reclame, a.client))
    return Plan(today, tuple(actions), tuple(anomalies), tuple(signalements))


def _one_notice_per_client(due: dict, waiting: dict, livre: Livre, today: datetime.date,
                           postable: set[str]) -> None:
    """A formal notice covers all of the client's overdue invoices that are being chased: the
    ones due for an earlier step today, and the ones waiting for their next step. One demand
    per client, never piecemeal notices days apart. They are recorded under the notice (and go
    on to the hand-off with it); no penalty is claimed for them by it (« également échues »)."""
    for (key, canal), items in list(due.items()):
        if canal != "courrier" or key not in postable:
            continue
        notice = next((step for _, step in items
                       if is_notice(step.etape.nom, step.etape.modele)), None)
        if notice is None:
            continue
        pulled = []
        compte = livre.comptes.get(key)
        noticed = compte.sous_mise_en_demeure if compte is not None else frozenset()
        for other_canal in ("email", "appel"):
            kept = []
            for facture, step in due.get((key, other_canal), ()):
                if (step.etape.nom == REMERCIEMENT.nom or facture.echeance_relance >= today
                        or facture.numero in noticed):
                    kept.append((facture, step))
                    continue
                pulled.append((facture, step))
            if (key, other_canal) in due:
                if kept:
                    due[(key, other_canal)] = kept
                else:
                    del due[(key, other_canal)]
        for facture, step in waiting.get(key, ()):
            limite = compte.limite(facture.numero) if compte is not None else None
            if (step.etape.canal == "recouvrement" or facture.echeance_relance >= today
                    or (limite is not None and limite >= today) or facture.numero in noticed):
                continue  # not overdue, or a deadline given to the client still runs
            pulled.append((facture, step))
        items += [(facture, replace(step, cle=notice.cle)) for facture, step in pulled
                  if not is_notice(step.etape.nom, step.etape.modele)]


def _one_dossier_per_client(due: dict, waiting: dict, livre: Livre,
                            today: datetime.date) -> None:
    """The hand-off takes every invoice the formal notice covered whose deadline has passed:
    the threat was made for all of them, one dossier goes to the agency."""
    for (key, canal), items in list(due.items()):
        if canal != "recouvrement":
            continue
        compte = livre.comptes.get(key)
        if compte is None:
            continue
        for facture, step in waiting.get(key, ()):
            limite = compte.limite(facture.numero)
            if (step.etape.canal == "recouvrement"
                    and facture.numero in compte.sous_mise_en_demeure
                    and limite is not None and limite < today):
                items.append((facture, replace(step, date=today)))


def _info_agence(client: Client, items, config: Config) -> Action:
    factures = [f for f, _ in items]
    return Action(client=client.nom, factures=tuple(f.numero for f in factures),
                  etape=INFO_AGENCE.nom, canal="email",
                  destinataires=(config.recouvrement_email,), montant_du=ZERO,
                  modele=INFO_AGENCE.modele, cles=tuple(INFO_AGENCE.nom for _ in factures),
                  libelle=INFO_AGENCE.titre, montant_reclame=ZERO)  # it asks for nothing


def _long_overdue(facture: Facture, step: _Next, today: datetime.date,
                  signalements: list) -> None:
    """Every invoice more than 90 days past due is with the agency, or said to be held."""
    if facture.montant <= 0 or facture.jours_retard(today) <= LONG_RETARD_JOURS or facture.solde:
        return
    if step.motif is not None and step.motif.code in ("agence", *PLATEFORME.values()):
        return  # (with the agency, or a platform status said why: reported as such)
    if step.etape is not None and step.etape.canal == "recouvrement" and step.due(today):
        return
    signalements.append(Signalement(
        "retard_long", facture.client, facture.numero, facture.row,
        facture.jours_retard(today), step.motif,
        step.etape.titre if step.etape is not None else "",
        max(step.date, today) if step.date is not None else None))


def _transmissions(classeur: Classeur, livre: Livre, past: _History, today: datetime.date,
                   config: Config) -> list[Action]:
    """The dossiers handed off on an earlier run, to send to the agency (one email each): the
    first dossier of a client, then each complement, numbered."""
    if not config.recouvrement_email:
        return []
    actions = []
    by_client: dict[str, list[Facture]] = defaultdict(list)
    for facture in classeur.factures:
        faits = past.of(facture)
        handed = [f for f in faits if f.canal == "recouvrement" and f.jour < today]
        if handed and not any(f.cle == TRANSMISSION.nom for f in faits) and not facture.solde:
            by_client[client_key(facture.client)].append(facture)
    for key, factures in sorted(by_client.items()):
        client = classeur.client_of(factures[0])
        compte = livre.compte(client.nom)
        sent_days = {f.jour for facture in classeur.factures
                     if client_key(facture.client) == key
                     for f in past.of(facture) if f.cle == TRANSMISSION.nom}
        faits = [f for facture in factures for f in past.of(facture)]
        remis = max(f.jour for f in faits if f.canal == "recouvrement" and f.jour < today)
        # The dossier's amount, on the dossier's day: the email and the PDF say one figure.
        demande = compute_demande(factures, [], TRANSMISSION, client, faits, remis, config)
        actions.append(Action(
            client=client.nom, factures=tuple(f.numero for f in factures),
            etape=TRANSMISSION.nom, canal="email", destinataires=(config.recouvrement_email,),
            montant_du=demande.principal, modele=TRANSMISSION.modele,
            cles=tuple(TRANSMISSION.nom for _ in factures), libelle=TRANSMISSION.titre,
            montant_reclame=demande.total, complement=len(sent_days),
            ton="ferme" if compte.etat != AMIABLE else ""))
    return actions


IDENTITE = (("nom", "entreprise.nom"), ("adresse", "entreprise.adresse"),
            ("siret", "entreprise.siret"))


def missing_identity(config: Config) -> list[str]:
    """The creditor's identity a letter must carry (name, address, company number): the keys
    still to fill."""
    entreprise = config.entreprise
    missing = [key for field, key in IDENTITE if not getattr(entreprise, field).strip()]
    if entreprise.nom.strip() == "Mon entreprise" and "entreprise.nom" not in missing:
        missing.insert(0, "entreprise.nom")
    return missing


def _rank(nom: str, etapes: Sequence[Etape]) -> int:
    """Position of a step in the schedule; a broken-promise reminder ranks before all."""
    names = [e.nom for e in etapes]
    return names.index(nom) if nom in names else -1


def _where(facture: Facture, client: Client, from_factures: bool) -> tuple[str, int | None]:
    if from_factures or client.row is None:
        return "Factures", facture.row
    return "Clients", client.row


def situations(classeur: Classeur, history: Iterable[Fait], today: datetime.date,
               config: Config, livre: Livre | None = None) -> list[Situation]:
    """Where every invoice stands (for Prochaine action), read through the same rules as
    `decide`."""
    history = list(history)
    livre = livre or tenir(classeur, history, today, config)
    past = _History(history)
    found = []
    boites: dict[str, _Boite] = {}
    for facture in livre.classeur.factures:
        client = livre.classeur.client_of(facture)
        compte = livre.compte(facture.client)
        key = client_key(client.nom)
        if key not in boites:
            boites[key] = _boite(livre.classeur, client, today, config)
        step = _next_step(facture, client, compte, past.of(facture), today, config,
                          boites[key])
        plancher = None
        if step.etape is not None and step.etape.is_message:
            plancher = _message_floor(client.nom, step.etape.canal, past, today, config,
                                      step.etape.nom in (PROMESSE_NON_TENUE, ECHEANCIER.nom))
        found.append(Situation(facture, client, compte, step, plancher, boites[key].echec))
    return found
