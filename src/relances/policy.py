"""Decision stage: who to chase today, how, and what comes next. Pure: same inputs, same plan.

`decide(classeur, history, today, config)` turns the workbook's records and the journal's
history into a `Plan` of actions (SPEC §5). `follow_up(...)` gives each invoice row its
tool-owned cells (last step, messages sent, next action). Both read the schedule through one
function, `_next_step`, so what the workbook announces is what a later run does.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

from email_validator import EmailNotValidError, validate_email

from .cells import CellError, read_date
from .config import Config
from .formats import date_courte
from .records import (
    PROMESSE_NON_TENUE,
    STATUTS,
    ZERO,
    Action,
    Anomalie,
    Classeur,
    Client,
    Etape,
    Facture,
    Fait,
    Plan,
    Suivi,
    client_key,
)

CANAL_ORDER = {"email": 0, "courrier": 1, "appel": 2, "recouvrement": 3}


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


def _balances(classeur: Classeur) -> dict[str, Decimal]:
    """Each client's net amount due on its open invoices (credit notes deducted)."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for facture in classeur.factures:
        if not facture.statut:
            totals[client_key(facture.client)] += facture.reste_du
    return totals


def _next_step(facture: Facture, client: Client, balance: Decimal, faits: Sequence[Fait],
               today: datetime.date, config: Config) -> _Next:
    """The one rule book: what this invoice waits for, ignoring per-client limits."""
    if facture.montant < 0:
        return _Next(raison="aucune (avoir)")
    if facture.reste_du <= 0:
        return _Next(raison="aucune (payée)")
    if facture.statut:
        return _Next(raison=f"aucune (statut {STATUTS[facture.statut]})")
    if client.bloque:
        return _Next(raison=f"aucune : {client.bloque}")
    if client.pause_jusqu_au is not None and client.pause_jusqu_au >= today:
        if client.pause_jusqu_au == datetime.date.max:
            return _Next(raison="aucune (pause client illisible)")
        return _Next(raison=f"aucune : client en pause jusqu'au {date_courte(client.pause_jusqu_au)}")
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
            return _Next(etape=Etape(PROMESSE_NON_TENUE, 0, "email", modele=PROMESSE_NON_TENUE),
                         cle=cle, date=_latest(facture.promesse + datetime.timedelta(days=1), floor),
                         promesse=facture.promesse)

    etapes = config.etapes
    positions = [i for i, e in enumerate(etapes) if e.nom in done]
    last = max(positions, default=-1)
    if last >= 0:
        last_etape = etapes[last]
        last_day = max(f.jour for f in faits if f.cle == last_etape.nom)
    for etape in etapes[last + 1:]:
        if etape.montant_minimum is not None and balance < etape.montant_minimum:
            continue  # below this step's threshold: counts as passed
        due = facture.echeance + datetime.timedelta(days=etape.apres_jours)
        if last >= 0 and last_etape.delai_jours:
            due = max(due, last_day + datetime.timedelta(days=last_etape.delai_jours))
        return _Next(etape=etape, cle=etape.nom, date=_latest(due, floor))
    if last >= 0:
        return _Next(raison=f"aucune : dernière étape ({etapes[last].nom}) faite le "
                            f"{date_courte(last_day)}")
    return _Next(raison="aucune (aucune étape applicable)")


def _latest(day: datetime.date, floor: datetime.date | None) -> datetime.date:
    return max(day, floor) if floor else day


def _message_floor(client: str, canal: str, history: _History, today: datetime.date,
                   config: Config, is_promesse: bool) -> datetime.date | None:
    """First day this client may get another message on `canal`, or None when it may today."""
    floors = []
    if history.channel_used_on(client, canal, today):
        floors.append(today + datetime.timedelta(days=1))
    last = history.last_message(client)
    if last is not None and not is_promesse:
        gap = last + datetime.timedelta(days=config.regles.ecart_minimum_jours)
        if gap > today:
            floors.append(gap)
    return max(floors) if floors else None


def usable_emails(facture_emails: Sequence[str], client: Client) -> tuple[tuple[str, ...], list[str]]:
    """Addresses to write to (Factures' column wins over Clients), and the ones refused."""
    candidates = facture_emails or client.emails
    good, bad = [], []
    for address in candidates:
        try:
            good.append(validate_email(address, check_deliverability=False).normalized)
        except EmailNotValidError:
            bad.append(address)
    return tuple(dict.fromkeys(good)), bad


def decide(classeur: Classeur, history: Iterable[Fait], today: datetime.date,
           config: Config) -> Plan:
    """Today's actions (SPEC §5): one step per invoice, one message per client and channel."""
    past = _History(history)
    balances = _balances(classeur)
    anomalies: list[Anomalie] = []

    due: dict[tuple[str, str], list[tuple[Facture, _Next]]] = defaultdict(list)
    clients: dict[str, Client] = {}
    for facture in classeur.factures:
        client = classeur.client_of(facture)
        key = client_key(facture.client)
        step = _next_step(facture, client, balances[key], past.of(facture), today, config)
        if step.due(today):
            clients[key] = client
            due[(key, step.etape.canal)].append((facture, step))

    actions: list[Action] = []
    for (key, canal), items in sorted(due.items()):
        client = clients[key]
        promesses = [item for item in items if item[1].etape.nom == PROMESSE_NON_TENUE]
        # A broken promise is answered first and on its own: it quotes the promised date.
        items = promesses or items
        if canal in ("email", "courrier"):
            if _message_floor(client.nom, canal, past, today, config, bool(promesses)):
                continue
        chosen = max((step for _, step in items), key=lambda s: _rank(s.etape.nom, config))
        factures = sorted((f for f, _ in items), key=lambda f: (f.echeance, f.numero))
        destinataires: tuple[str, ...] = ()
        if canal == "courrier" and not client.adresse.strip():
            # A letter that cannot be posted proves nothing: not produced, and said.
            where = ("Clients", client.row) if client.row else ("Factures", factures[0].row)
            anomalies.append(Anomalie(*where, f"{client.nom} : adresse postale manquante, "
                                      f"« {chosen.etape.nom} » non produit (factures "
                                      f"{', '.join(f.numero for f in factures)})"))
            continue
        if canal == "email":
            emails = next((f.emails for f in factures if f.emails), ())
            destinataires, refused = usable_emails(emails, client)
            where = _where(factures[0], client, bool(emails))
            for address in refused:
                anomalies.append(Anomalie(*where, f"{client.nom} : adresse e-mail invalide "
                                                  f"« {address} »"))
            if not destinataires:
                anomalies.append(Anomalie(*where, f"{client.nom} : aucune adresse e-mail "
                                          f"utilisable, « {chosen.etape.nom} » non envoyé "
                                          f"(factures {', '.join(f.numero for f in factures)})"))
                continue
        actions.append(Action(
            client=client.nom,
            factures=tuple(f.numero for f in factures),
            etape=chosen.etape.nom,
            canal=canal,
            destinataires=destinataires,
            montant_du=sum((f.reste_du for f in factures), ZERO),
            modele=chosen.etape.modele,
            delai_jours=chosen.etape.delai_jours,
            joindre_courrier=chosen.etape.joindre_courrier,
            promesse=max((s.promesse for _, s in items if s.promesse), default=None),
            cles=tuple(chosen.cle if not promesses else step.cle for _, step in
                       sorted(items, key=lambda item: (item[0].echeance, item[0].numero))),
        ))
    actions.sort(key=lambda a: (CANAL_ORDER[a.canal], -a.montant_du, a.client))
    return Plan(today, tuple(actions), tuple(anomalies))


def _rank(nom: str, config: Config) -> int:
    """Position of a step in the schedule; a broken-promise reminder ranks before all."""
    names = [e.nom for e in config.etapes]
    return names.index(nom) if nom in names else -1


def _where(facture: Facture, client: Client, from_factures: bool) -> tuple[str, int | None]:
    if from_factures or client.row is None:
        return "Factures", facture.row
    return "Clients", client.row


_ETAPE_CELL = re.compile(r"^\s*([a-z0-9_]+)\s*\((\d{1,2}/\d{1,2}/\d{4})\)\s*$")


def taken_over(classeur: Classeur, known: set[tuple[str, str]], config: Config) -> list[Fait]:
    """Steps a user recorded by hand in the Étape column, for invoices the journal never saw.

    A user who starts with relances mid-way writes `dernier_rappel (05/11/2026)` in Étape and
    the schedule goes on from there instead of starting over with a first reminder. `known`
    holds every (client key, invoice number) the journal mentions, failed attempts included:
    for those, the Étape cell is the tool's own writing and the journal is the truth.
    """
    faits = []
    for facture in classeur.factures:
        match = _ETAPE_CELL.match(facture.etape_classeur)
        if (client_key(facture.client), facture.numero) in known or not match:
            continue
        etape = config.etape(match.group(1))
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
    past = _History(history)
    balances = _balances(classeur)
    suivis: dict[str, Suivi] = {}
    for facture in classeur.factures:
        client = classeur.client_of(facture)
        faits = past.of(facture)
        messages = [f for f in faits if f.canal in ("email", "courrier")]
        latest = max(faits, key=lambda f: (f.jour, _rank(f.etape, config)), default=None)
        step = _next_step(facture, client, balances[client_key(facture.client)], faits, today,
                          config)
        suivis[facture.numero] = Suivi(
            etape=f"{latest.etape} ({date_courte(latest.jour)})" if latest else "",
            relances_envoyees=len({(f.jour, f.etape) for f in messages}),
            derniere_relance=max((f.jour for f in messages), default=None),
            prochaine_action=_describe(step, facture, client, past, today, config),
            reste_du=facture.reste_du,
            jours_retard=max(facture.jours_retard(today), 0) if facture.reste_du > 0 else None,
        )
    return suivis


def _describe(step: _Next, facture: Facture, client: Client, past: _History,
              today: datetime.date, config: Config) -> str:
    if step.etape is None:
        return step.raison
    day = step.date
    if step.etape.is_message:
        floor = _message_floor(client.nom, step.etape.canal, past, today, config,
                               step.etape.nom == PROMESSE_NON_TENUE)
        if floor and floor > day:
            day = floor
    if day > today:
        return f"{step.etape.nom} le {date_courte(day)}"
    if step.etape.canal == "email" and not usable_emails(facture.emails, client)[0]:
        return f"{step.etape.nom} bloqué : adresse e-mail manquante ou invalide"
    if step.etape.canal == "courrier" and not client.adresse.strip():
        return f"{step.etape.nom} bloqué : adresse postale manquante"
    return f"{step.etape.nom} à faire (depuis le {date_courte(day)})"
