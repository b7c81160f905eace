"""Decision stage: who to chase today, how, and what comes next. Pure: same inputs, same plan.

`decide(classeur, history, today, config)` turns the workbook's records and the journal's
history into a `Plan` of actions (SPEC §5). `follow_up(...)` gives each invoice row its
tool-owned cells (last step, messages sent, next action). Both read the schedule through one
function, `_next_step`, so what the workbook announces is what a later run does.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Sequence

from email_validator import EmailNotValidError, validate_email

from .cells import CellError, read_date
from .config import Config, default_libelle
from .montants import compute_demande, open_credit_notes
from .formats import date_courte
from .formats import montant as montant_text
from .records import (
    PROMESSE_NON_TENUE,
    STATUTS,
    ZERO,
    Action,
    Anomalie,
    Classeur,
    Client,
    Echange,
    Etape,
    Versement,
    Facture,
    Fait,
    Plan,
    Suivi,
    client_key,
    normalise,
)

CANAL_ORDER = {"email": 0, "courrier": 1, "appel": 2, "recouvrement": 3}
ONE_DAY = datetime.timedelta(days=1)
# The hand-off dossier sent to the collection agency ([recouvrement] email), once per hand-off.
TRANSMISSION = Etape("transmission", 0, "email", modele="transmission_recouvrement",
                     libelle="Dossier transmis à l’agence", penalites=True)
# Thanks, when an invoice that was chased is found paid ([regles] remerciement = true).
REMERCIEMENT = Etape("remerciement", 0, "email", modele="remerciement", libelle="Remerciement")
# A missed instalment of a payment plan: its own reminder, quoting the plan.
ECHEANCIER = Etape("echeance_manquee", 0, "email", modele="echeance_manquee", delai_jours=5,
                   libelle="Échéance manquée")
# The reminder of a broken promise sets a new, short deadline.
PROMESSE = Etape(PROMESSE_NON_TENUE, 0, "email", modele=PROMESSE_NON_TENUE, delai_jours=5,
                 libelle=default_libelle(PROMESSE_NON_TENUE))


def promesse_cle(promesse: datetime.date) -> str:
    """Journal key of the broken-promise reminder: one per promised date."""
    return f"{PROMESSE_NON_TENUE}:{promesse.isoformat()}"


@dataclass(frozen=True)
class _Next:
    """Where one invoice stands: the step it waits for and from when, or why nothing happens."""

    etape: Etape | None = None  # None: nothing to do (see raison)
    cle: str = ""
    date: datetime.date | None = None  # due from this date (may be in the past)
    promesse: datetime.date | None = None
    raison: str = ""

    def due(self, today: datetime.date) -> bool:
        return self.etape is not None and self.date is not None and self.date <= today


class _History:
    """The journal's facts, indexed the ways the rules ask for them."""

    def __init__(self, faits: Iterable[Fait]):
        # Keyed by (client, invoice number): the same number for another client is another
        # invoice, never "already reminded".
        self.by_facture: dict[tuple[str, str], list[Fait]] = defaultdict(list)
        self.messages_by_client: dict[str, list[Fait]] = defaultdict(list)
        self.remises: dict[str, datetime.date] = {}
        for fait in faits:
            if fait.canal == "recouvrement":
                key = client_key(fait.client)
                self.remises[key] = min(fait.jour, self.remises.get(key, fait.jour))
            self.by_facture[(client_key(fait.client), fait.facture)].append(fait)
            if fait.canal in ("email", "courrier"):
                self.messages_by_client[client_key(fait.client)].append(fait)

    def of(self, facture: Facture) -> list[Fait]:
        return self.by_facture.get((client_key(facture.client), facture.numero), [])

    def last_message(self, client: str) -> datetime.date | None:
        faits = self.messages_by_client.get(client_key(client))
        return max((f.jour for f in faits), default=None) if faits else None

    def handed_off(self, client: str) -> datetime.date | None:
        """When this client's file went to the collection agency (None: it did not)."""
        return self.remises.get(client_key(client))

    def channel_used_on(self, client: str, canal: str, day: datetime.date) -> bool:
        return any(f.canal == canal and f.jour == day
                   for f in self.messages_by_client.get(client_key(client), ()))


def with_echanges(classeur: Classeur) -> Classeur:
    """The workbook as the rules see it once Échanges is taken into account (SPEC §5):

    - a promise recorded there counts like the Promesse de paiement column, for the invoices
      the exchange lists (all of the client's invoices when it lists none); the latest promised
      date wins;
    - a « litige » stops chasing those invoices until the user changes that row.

    Idempotent: applying it twice changes nothing more.
    """
    if not classeur.echanges:
        return classeur
    by_client: dict[str, list[Echange]] = defaultdict(list)
    for echange in classeur.echanges:
        by_client[client_key(echange.client)].append(echange)
    factures = []
    for facture in classeur.factures:
        mine = [e for e in by_client.get(client_key(facture.client), ()) if e.concerne(facture)]
        promesses = [e.promesse for e in mine if e.promesse is not None]
        disputes = [e for e in mine if e.resultat == "litige"]
        changes = {}
        if promesses and (facture.promesse is None or max(promesses) > facture.promesse):
            changes["promesse"] = max(promesses)
        if disputes and not facture.litige:
            first = min(disputes, key=lambda e: (e.jour, e.row or 0))
            changes["litige"] = (f"litige noté le {date_courte(first.jour)} (feuille Échanges, "
                                 f"ligne {first.row})")
        factures.append(replace(facture, **changes) if changes else facture)
    return replace(classeur, factures=tuple(factures))


def with_plans(classeur: Classeur, today: datetime.date) -> Classeur:
    """Invoices with a payment plan (sheet Échéanciers) are chased on their instalments: the
    payments (Payé) cover them oldest first; what is due today is the instalments fallen due
    and not covered (everything left, once the last instalment's date has passed)."""
    if not classeur.versements:
        return classeur
    plans: dict[str, list[Versement]] = defaultdict(list)
    for versement in classeur.versements:
        plans[versement.numero].append(versement)
    factures = []
    for facture in classeur.factures:
        plan = sorted(plans.get(facture.numero, ()), key=lambda v: (v.jour, v.row or 0))
        if not plan or facture.montant <= 0:
            factures.append(facture)
            continue
        left = max(facture.paye, ZERO)
        covered = []
        for versement in plan:
            part = min(versement.montant, left)
            left -= part
            covered.append(replace(versement, paye=part))
        if today > plan[-1].jour:
            exigible = max(facture.reste_du, ZERO)
        else:
            exigible = sum((v.reste for v in covered if v.jour < today), ZERO)
        factures.append(replace(facture, versements=tuple(covered),
                                exigible=min(exigible, max(facture.reste_du, ZERO))))
    return replace(classeur, factures=tuple(factures))


def as_seen(classeur: Classeur, today: datetime.date) -> Classeur:
    """The workbook as the rules see it: Échanges and Échéanciers taken into account."""
    return with_plans(with_echanges(classeur), today)


def promise_exchange(classeur: Classeur, facture: Facture,
                     promesse: datetime.date) -> Echange | None:
    """The exchange where this promise was made, to quote it (None: typed in Factures)."""
    found = [e for e in classeur.echanges if e.promesse == promesse and e.concerne(facture)]
    return max(found, key=lambda e: (e.jour, e.row or 0), default=None)


def _balances(classeur: Classeur) -> dict[str, Decimal]:
    """Each client's net amount due on its open invoices (credit notes deducted)."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for facture in classeur.factures:
        if not facture.statut:
            due = facture.reste_du if facture.montant < 0 else facture.a_reclamer
            totals[client_key(facture.client)] += due
    return totals


def _next_step(facture: Facture, client: Client, balance: Decimal, faits: Sequence[Fait],
               today: datetime.date, config: Config,
               remise: datetime.date | None = None) -> _Next:
    """The one rule book: what this invoice waits for, ignoring per-client limits.

    A step is due from its date whatever the day of the week: the user decides which days the
    tool runs. Dates shown to people (Prochaine action, deadlines) are moved to business days.
    """
    if facture.montant < 0:
        return _Next(raison="aucune (avoir)")
    if facture.reste_du <= 0:
        return _Next(raison="aucune (payée)")
    if facture.statut:
        return _Next(raison=f"aucune (statut {STATUTS[facture.statut]})")
    if facture.litige:
        return _Next(raison=f"aucune : {facture.litige}")
    if facture.bloque:
        return _Next(raison=f"aucune : {facture.bloque}")
    if client.bloque:
        return _Next(raison=f"aucune : {client.bloque}")
    if remise is not None:
        # Handed off: the agency takes over; relances sends that client nothing more.
        return _Next(raison=f"aucune : dossier du client transmis au recouvrement le "
                            f"{date_courte(remise)}")
    if facture.versements and facture.a_reclamer <= 0:
        coming = [v for v in facture.versements if v.reste > 0]
        if coming:
            return _Next(raison=f"échéancier respecté : prochaine échéance le "
                                f"{date_courte(coming[0].jour)} ({montant_text(coming[0].reste)})")
    if client.pause_jusqu_au is not None and client.pause_jusqu_au >= today:
        if client.pause_jusqu_au == datetime.date.max:
            return _Next(raison="aucune (pause client illisible)")
        return _Next(raison=f"aucune : client en pause jusqu’au {date_courte(client.pause_jusqu_au)}")
    if balance <= 0:
        return _Next(raison="aucune (solde du client créditeur)")

    done = {f.cle for f in faits}
    last_activity = max((f.jour for f in faits), default=None)
    # Never two actions on one invoice the same day: deciding again after a run yields nothing.
    floor = last_activity + datetime.timedelta(days=1) if last_activity else None

    if facture.promesse is not None:
        if facture.promesse >= today:
            return _Next(raison=f"attente du paiement promis le {date_courte(facture.promesse)}")
        cle = promesse_cle(facture.promesse)
        if cle not in done:
            return _Next(etape=PROMESSE, cle=cle, promesse=facture.promesse,
                         date=_latest(facture.promesse + ONE_DAY, floor))

    # The client's policy (its Profil); a client changing profile goes on from the last step
    # it had, matched by name: it never starts over.
    if facture.versements:
        # A missed instalment gets the plan's own reminder first, once, the day after it.
        missed = [v for v in facture.versements if v.reste > 0 and v.jour < today]
        if missed:
            cle = f"{ECHEANCIER.nom}:{missed[0].jour.isoformat()}"
            if cle not in done:
                return _Next(etape=ECHEANCIER, cle=cle,
                             date=_latest(missed[0].jour + ONE_DAY, floor))

    etapes = config.etapes_of(client.profil)
    positions = [i for i, e in enumerate(etapes) if e.nom in done]
    last = max(positions, default=-1)
    if last >= 0:
        last_etape = etapes[last]
        last_day = max(f.jour for f in faits if f.cle == last_etape.nom)
    for etape in etapes[last + 1:]:
        if etape.montant_minimum is not None and balance < etape.montant_minimum:
            continue  # below this step's threshold: counts as passed
        due = facture.echeance_relance + datetime.timedelta(days=etape.apres_jours)
        if last >= 0 and last_etape.delai_jours is not None:
            # Execute threats, but only once the deadline given has passed.
            due = max(due, deadline_end(last_etape, last_day, config) + ONE_DAY)
        return _Next(etape=etape, cle=etape.nom, date=_latest(due, floor))
    if last >= 0:
        return _Next(raison=f"aucune : dernière étape ({etapes[last].titre}) faite le "
                            f"{date_courte(last_day)}")
    return _Next(raison="aucune (aucune étape applicable)")


def _transmissions(classeur: Classeur, past: _History, today: datetime.date,
                   config: Config) -> list[Action]:
    """The dossiers handed off on an earlier run, to send to the agency (one email each)."""
    if not config.recouvrement_email:
        return []
    actions = []
    by_client: dict[str, list[Facture]] = defaultdict(list)
    for facture in classeur.factures:
        faits = past.of(facture)
        handed = [f for f in faits if f.canal == "recouvrement" and f.jour < today]
        if handed and not any(f.cle == TRANSMISSION.nom for f in faits):
            by_client[client_key(facture.client)].append(facture)
    for key, factures in sorted(by_client.items()):
        client = classeur.client_of(factures[0])
        demande = compute_demande(factures, [], [], TRANSMISSION, client.type == "particulier",
                                  [f for facture in factures for f in past.of(facture)],
                                  today, config)
        actions.append(Action(
            client=client.nom, factures=tuple(f.numero for f in factures),
            etape=TRANSMISSION.nom, canal="email", destinataires=(config.recouvrement_email,),
            montant_du=demande.principal, modele=TRANSMISSION.modele,
            cles=tuple(TRANSMISSION.nom for _ in factures), libelle=TRANSMISSION.titre,
            montant_reclame=demande.total))
    return actions


def _to_thank(facture: Facture, faits: Sequence[Fait]) -> bool:
    """Paid now, chased before (an email or a letter), and not thanked yet."""
    paid = facture.montant > 0 and (facture.reste_du <= 0 or facture.statut == "payee")
    chased = any(f.canal in ("email", "courrier") for f in faits)
    return paid and chased and not any(f.cle == REMERCIEMENT.nom for f in faits)


def _latest(day: datetime.date, floor: datetime.date | None) -> datetime.date:
    return max(day, floor) if floor else day


def date_limite(etape: Etape, day: datetime.date, config: Config) -> datetime.date | None:
    """The date a message sent on `day` gives the client, on a business day; None: none given.

    A letter's deadline runs from its receipt (« huit jours à compter de la réception »): it has
    no date of its own, see `deadline_end`.
    """
    if not etape.delai_jours or etape.canal == "courrier":
        return None
    return config.calendrier.prochain_ouvre(day + datetime.timedelta(days=etape.delai_jours))


def deadline_end(etape: Etape, day: datetime.date, config: Config) -> datetime.date:
    """Last day of the deadline a step done on `day` gave; a registered letter's runs from its
    receipt, so the delivery window (`[regles] delai_recommande_jours`) is added."""
    delai = etape.delai_jours or 0
    if etape.canal == "courrier":
        delai += config.regles.delai_recommande_jours
    return config.calendrier.prochain_ouvre(day + datetime.timedelta(days=delai))


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


def usable_emails(facture_emails: Sequence[str], client: Client) -> tuple[tuple[str, ...], list[str]]:
    """Addresses to write to (Factures' column wins over Clients), and the ones refused."""
    good, bad = _checked(tuple(facture_emails or client.emails))
    return good, list(bad)


@functools.lru_cache(maxsize=1 << 14)
def _checked(candidates: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Syntax check of addresses (email-validator is slow; a client's invoices share them)."""
    good, bad = [], []
    for address in candidates:
        try:
            good.append(validate_email(address, check_deliverability=False).normalized)
        except EmailNotValidError:
            bad.append(address)
    return tuple(dict.fromkeys(good)), tuple(bad)


def decide(classeur: Classeur, history: Iterable[Fait], today: datetime.date,
           config: Config) -> Plan:
    """Today's actions (SPEC §5): one step per invoice, one message per client and channel."""
    classeur = as_seen(classeur, today)
    past = _History(history)
    balances = _balances(classeur)
    anomalies: list[Anomalie] = []

    due: dict[tuple[str, str], list[tuple[Facture, _Next]]] = defaultdict(list)
    clients: dict[str, Client] = {}
    for facture in classeur.factures:
        client = classeur.client_of(facture)
        key = client_key(facture.client)
        step = _next_step(facture, client, balances[key], past.of(facture), today, config,
                          past.handed_off(facture.client))
        if step.due(today):
            clients[key] = client
            due[(key, step.etape.canal)].append((facture, step))

    if config.regles.remerciement:
        for facture in classeur.factures:
            if _to_thank(facture, past.of(facture)):
                key = client_key(facture.client)
                clients[key] = classeur.client_of(facture)
                due[(key, "email")].append(
                    (facture, _Next(etape=REMERCIEMENT, cle=REMERCIEMENT.nom, date=today)))

    credit_notes: dict[str, list[Facture]] = defaultdict(list)
    for avoir in open_credit_notes(classeur.factures):
        credit_notes[client_key(avoir.client)].append(avoir)
    identity_gaps = missing_identity(config)

    for client in classeur.clients.values():
        if client.profil and config.politique_of(client.profil) is None \
                and normalise(client.profil) not in config.profils:
            anomalies.append(Anomalie("Clients", client.row, (
                f"{client.nom} : Profil inconnu « {client.profil} » : politique par défaut "
                f"utilisée ; associez-le à une politique dans la section [profils] de "
                f"{config.path.name} (connus : {', '.join(sorted(config.profils))})")))

    actions: list[Action] = []
    for (key, canal), items in sorted(due.items()):
        client = clients[key]
        # A broken promise is answered first and on its own: it quotes the promised date; then
        # a missed instalment of a plan, on its own too: it quotes the plan.
        promesses = ([item for item in items if item[1].etape.nom == PROMESSE_NON_TENUE]
                     or [item for item in items if item[1].etape.nom == ECHEANCIER.nom])
        merci = [item for item in items if item[1].etape.nom == REMERCIEMENT.nom]
        if merci and len(merci) < len(items):
            items = [item for item in items if item not in merci]  # chasing first; thanks later
        elif merci:
            promesses = merci  # thanks alone: no gap to respect, nothing to claim
        items = promesses or items
        if canal in ("email", "courrier"):
            if _message_floor(client.nom, canal, past, today, config, bool(promesses)):
                continue
        etapes = config.etapes_of(client.profil)
        chosen = max((step for _, step in items), key=lambda s: _rank(s.etape.nom, etapes))
        etape = chosen.etape
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
            destinataires, refused = usable_emails(emails, client)
            at = _where(factures[0], client, bool(emails))
            for address in refused:
                anomalies.append(Anomalie(*at, f"{client.nom} : adresse e-mail invalide "
                                               f"« {address} »"))
            if not destinataires:
                anomalies.append(Anomalie(*at, f"{client.nom} : aucune adresse e-mail "
                                          f"utilisable, « {etape.titre} » non envoyé "
                                          f"(factures {numeros})"))
                continue
        # What is asked, or handed off (a thank-you asks for nothing).
        claims = (etape.is_message and etape is not REMERCIEMENT) or canal == "recouvrement"
        avoirs = credit_notes.get(key, []) if claims else []
        demande = compute_demande(principales, autres, avoirs, etape,
                                  client.type == "particulier",
                                  [f for facture in factures for f in past.of(facture)],
                                  today, config)
        if claims and demande.total <= 0:
            anomalies.append(Anomalie(*where, (
                f"{client.nom} : les avoirs ouverts ({', '.join(a.numero for a in avoirs)}) "
                f"couvrent les factures à relancer ({numeros}) : « {etape.titre} » non envoyé ; "
                "imputez l’avoir (colonne Payé) ou remboursez-le")))
            continue
        actions.append(Action(
            client=client.nom,
            factures=tuple(f.numero for f in factures),
            etape=etape.nom,
            canal=canal,
            destinataires=destinataires,
            montant_du=demande.principal,
            modele=etape.modele,
            delai_jours=etape.delai_jours,
            joindre_courrier=etape.joindre_courrier,
            promesse=max((s.promesse for _, s in items if s.promesse), default=None),
            cles=tuple(step.cle for _, step in ordered),
            libelle=etape.titre,
            autres=tuple(f.numero for f in autres),
            avoirs=tuple(a.numero for a in avoirs),
            montant_reclame=demande.total if claims else demande.principal,
        ))
    actions += _transmissions(classeur, past, today, config)
    actions.sort(key=lambda a: (CANAL_ORDER[a.canal], -a.montant_reclame, a.client))
    return Plan(today, tuple(actions), tuple(anomalies))


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


_ETAPE_CELL = re.compile(r"^\s*(.+?)\s*\((\d{1,2}/\d{1,2}/\d{4})\)\s*$")


def _step_named(text: str, config: Config, profil: str = "") -> Etape | None:
    """The step a user (or an earlier run) wrote in Étape: by name or by label."""
    wanted = normalise(text)
    for etapes in (config.etapes_of(profil), config.toutes_etapes):
        found = next((e for e in etapes if wanted in (normalise(e.nom), normalise(e.titre))),
                     None)
        if found is not None:
            return found
    return None


def taken_over(classeur: Classeur, known: set[tuple[str, str]], config: Config) -> list[Fait]:
    """Steps a user recorded by hand in the Étape column, for invoices the journal never saw.

    A user who starts with relances mid-way writes `Dernier rappel (05/11/2026)` (or the step's
    name, `dernier_rappel (05/11/2026)`) in Étape and the schedule goes on from there instead
    of starting over with a first reminder. `known` holds every (client key, invoice number)
    the journal mentions, failed attempts included: for those, the Étape cell is the tool's own
    writing and the journal is the truth.
    """
    faits = []
    for facture in classeur.factures:
        match = _ETAPE_CELL.match(facture.etape_classeur)
        if (client_key(facture.client), facture.numero) in known or not match:
            continue
        etape = _step_named(match.group(1), config, classeur.client_of(facture).profil)
        try:
            jour = read_date(match.group(2))
        except CellError:
            continue
        if etape is not None and jour is not None:
            faits.append(Fait(facture=facture.numero, cle=etape.nom, etape=etape.nom,
                              canal=etape.canal, client=facture.client, jour=jour,
                              statut="repris"))
    return faits


def follow_up(classeur: Classeur, history: Iterable[Fait], today: datetime.date,
              config: Config) -> dict[str, Suivi]:
    """The tool-owned cells of every invoice, by invoice number, from the journal (including
    today's actions)."""
    classeur = as_seen(classeur, today)
    past = _History(history)
    balances = _balances(classeur)
    suivis: dict[str, Suivi] = {}
    for facture in classeur.factures:
        client = classeur.client_of(facture)
        faits = past.of(facture)
        messages = [f for f in faits if f.canal in ("email", "courrier")]
        etapes = config.etapes_of(client.profil)
        latest = max(faits, key=lambda f: (f.jour, _rank(f.etape, etapes)), default=None)
        step = _next_step(facture, client, balances[client_key(facture.client)], faits, today,
                          config, past.handed_off(facture.client))
        texte, jour = _describe(step, facture, client, past, today, config)
        suivis[facture.numero] = Suivi(
            etape=(f"{_label_of(latest, config, client.profil)} ({date_courte(latest.jour)})"
                   if latest else ""),
            relances_envoyees=len({(f.jour, f.etape) for f in messages}),
            derniere_relance=max((f.jour for f in messages), default=None),
            prochaine_action=texte,
            date_prochaine_action=jour,
            reste_du=facture.reste_du,
            jours_retard=max(facture.jours_retard(today), 0) if facture.reste_du > 0 else None,
        )
    return suivis


def _label_of(fait: Fait, config: Config, profil: str = "") -> str:
    """« Premier rappel » for a step; « Promesse non tenue » for the reminder of a promise;
    « Appel à passer » for a call still on the list."""
    if fait.canal == "appel" and fait.statut == "a_faire":
        return "Appel à passer"
    etape = config.etape(fait.etape, profil)
    return etape.titre if etape else config.libelle(fait.etape)


def _describe(step: _Next, facture: Facture, client: Client, past: _History,
              today: datetime.date, config: Config) -> tuple[str, datetime.date | None]:
    """Prochaine action's text and date (None when nothing is planned)."""
    if step.etape is None:
        return step.raison, None
    titre = step.etape.titre
    day = step.date
    if step.etape.is_message:
        floor = _message_floor(client.nom, step.etape.canal, past, today, config,
                               step.etape.nom in (PROMESSE_NON_TENUE, ECHEANCIER.nom))
        if floor and floor > day:
            day = floor
    if day > today:
        # Announced on a business day: a run on a closed day does not count on anyone.
        day = config.calendrier.prochain_ouvre(day)
        return f"{titre} le {date_courte(day)}", day
    if step.etape.canal == "email" and not usable_emails(facture.emails, client)[0]:
        return f"{titre} bloqué : adresse e-mail manquante ou invalide", today
    if step.etape.canal == "courrier" and not client.adresse.strip():
        return f"{titre} bloqué : adresse postale manquante", today
    return f"{titre} à faire (depuis le {date_courte(day)})", today
