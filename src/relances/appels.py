"""Calls are tasks: who to call, why, and when a call counts as made. Pure.

A due call step is recorded in the journal as « à faire » and stays on the list (sheet
`À appeler`, the summary) run after run, until an exchange with that client is recorded in
`Échanges` on or after the day it was planned (whatever its result), or its invoices are
settled. A « rappeler le » in `Échanges` puts the client back on the list from that day until
a later exchange is recorded. Disputes are listed apart, with their age, so that none lasts
forever unnoticed. Escalation never waits for a call.

Rows are sorted by amount due, biggest first, oldest task first within equal amounts; the
clients who together make up 80 % of the amount on the list are marked (Pareto).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Protocol, Sequence

from .compte import AGENCE, Livre, ajoute_par_l_outil, as_seen, reponse_en_suspens
from .records import ZERO, Classeur, Echange, Facture, Fait, client_key

PARETO = Decimal("0.80")


class Tache(Protocol):
    """A call planned in the journal (a journal entry fits)."""

    id: int
    client: str
    factures: tuple[str, ...]
    jour: datetime.date
    etape: str


@dataclass(frozen=True)
class Cloture:
    """A call task that is over: made (an exchange was recorded) or no longer needed."""

    action_id: int
    statut: str  # fait | sans_objet
    detail: str


@dataclass(frozen=True)
class LigneAppel:
    """One client to call."""

    client: str
    contact: str
    telephone: str
    montant_du: Decimal
    factures: tuple[str, ...]
    plus_ancienne: datetime.date | None
    jours_retard: int
    depuis: datetime.date          # planned since (the oldest open task or call-back date)
    motif: str                     # « Appel (étape) », « Rappeler (demandé le …) »
    dernieres_actions: str
    promesses: str
    litiges: str
    a_demander: str
    pareto: bool = False
    agence: bool = False  # with the collection agency: listed apart, not to be called by us


@dataclass(frozen=True)
class LigneLitige:
    """An invoice in dispute, and for how long."""

    client: str
    facture: str
    reste_du: Decimal
    depuis: datetime.date | None  # when it was recorded (Échanges), None: Statut column
    jours: int | None
    source: str


def _settled(facture: Facture | None) -> bool:
    return facture is None or facture.reste_du <= 0 or facture.statut == "payee"


def close_calls(taches: Iterable[Tache], classeur: Classeur) -> list[Cloture]:
    """The open call tasks that are over: an exchange recorded on or after the day the call was
    planned (whatever its result), or every invoice of the task settled."""
    by_client: dict[str, list[Echange]] = defaultdict(list)
    for echange in classeur.echanges:
        by_client[client_key(echange.client)].append(echange)
    factures = {(client_key(f.client), f.numero): f for f in classeur.factures}
    closed = []
    for tache in taches:
        key = client_key(tache.client)
        # (the row the tool appended for a reply read from the mailbox is no call made)
        after = [e for e in by_client.get(key, ()) if e.jour >= tache.jour
                 and not ajoute_par_l_outil(e, classeur)]
        if after:
            first = min(after, key=lambda e: (e.jour, e.row or 0))
            who = f", {first.interlocuteur}" if first.interlocuteur else ""
            what = f" : {first.resultat}" if first.resultat else ""
            closed.append(Cloture(tache.id, "fait", f"échange du {first.jour:%d/%m/%Y}{who}"
                                                    f"{what}"))
        elif all(_settled(factures.get((key, n))) for n in tache.factures):
            closed.append(Cloture(tache.id, "sans_objet", "factures réglées"))
    return closed


def _open(facture: Facture) -> bool:
    return facture.montant > 0 and not facture.solde


def call_list(livre: Livre, taches: Sequence[Tache], history: Iterable[Fait],
              today: datetime.date, libelle=str, delai_annonce: int = 7,
              pause_reponse: int = 10) -> tuple[list[LigneAppel], list[LigneLitige]]:
    """(clients to call, disputes), from the open call tasks, the call-backs asked for in
    Échanges, the payments announced and not received, and the client accounts: only clients
    who owe a positive amount once credits are allocated and are not held (promise to come,
    pause, payment being checked, dispute only); clients with the agency are listed apart.
    """
    if isinstance(livre, Classeur):  # a bare workbook: as the rules see it, no history
        livre = Livre(as_seen(livre, today), {})
    classeur = livre.classeur
    by_client_factures: dict[str, list[Facture]] = defaultdict(list)
    for facture in classeur.factures:
        by_client_factures[client_key(facture.client)].append(facture)
    echanges: dict[str, list[Echange]] = defaultdict(list)
    for echange in classeur.echanges:
        echanges[client_key(echange.client)].append(echange)
    faits: dict[str, list[Fait]] = defaultdict(list)
    for fait in history:
        faits[client_key(fait.client)].append(fait)

    wanted: dict[str, tuple[datetime.date, str, str]] = {}  # key -> (since, motif, name)
    not_before: dict[str, datetime.date] = {}  # key -> the day the client asked to be called
    for tache in taches:
        key = client_key(tache.client)
        since = min(tache.jour, wanted[key][0]) if key in wanted else tache.jour
        motif = f"étape « {libelle(tache.etape)} » du {tache.jour:%d/%m/%Y}"
        if key in wanted:
            motif = f"{wanted[key][1]} ; {motif}"
        wanted[key] = (since, motif, tache.client)
    for key, mine in echanges.items():
        asked = [e for e in mine if e.rappeler_le is not None]
        if not asked:
            continue
        # The day the client asked to be called (the latest asked): not before it.
        latest = max(asked, key=lambda e: (e.rappeler_le, e.jour, e.row or 0))
        if latest.rappeler_le > today:
            not_before[key] = latest.rappeler_le
            continue
        if any(e.jour >= latest.rappeler_le for e in mine):
            continue  # called back already
        if not any(_open(f) for f in by_client_factures.get(key, ())):
            continue
        motif = f"à rappeler le {latest.rappeler_le:%d/%m/%Y} (échange du {latest.jour:%d/%m/%Y})"
        since = min(latest.rappeler_le, wanted[key][0]) if key in wanted else latest.rappeler_le
        wanted[key] = (since, motif if key not in wanted else f"{wanted[key][1]} ; {motif}",
                       latest.client)
    # « Paiement annoncé » without a date, and nothing came: written steps waited; now a call.
    for key, factures in by_client_factures.items():
        announced = [f.annonce for f in factures if _open(f) and f.annonce is not None]
        if not announced:
            continue
        said = max(announced)
        until = said + datetime.timedelta(days=delai_annonce)
        if until >= today or any(e.jour > said for e in echanges.get(key, ())):
            continue
        motif = (f"paiement annoncé le {said:%d/%m/%Y}, rien reçu au {until:%d/%m/%Y} : "
                 "rappeler")
        since = min(until, wanted[key][0]) if key in wanted else until
        wanted[key] = (since, motif if key not in wanted else f"{wanted[key][1]} ; {motif}",
                       factures[0].client)

    # A reply read from the mailbox and no exchange recorded once the pause is over: a call.
    for key, courriel in classeur.courriels.items():
        factures = by_client_factures.get(key, ())
        suspens = (reponse_en_suspens(classeur, factures[0].client, today, pause_reponse)
                   if factures and courriel.reponse else None)
        if suspens is None or not suspens[1] or not any(_open(f) for f in factures):
            continue
        until = suspens[0] + datetime.timedelta(days=pause_reponse)
        motif = (f"message illisible reçu le {suspens[0]:%d/%m/%Y}, sans suite enregistrée"
                 if courriel.illisible else
                 f"répondu le {suspens[0]:%d/%m/%Y} sans suite enregistrée")
        since = min(until, wanted[key][0]) if key in wanted else until
        wanted[key] = (since, motif if key not in wanted else f"{wanted[key][1]} ; {motif}",
                       factures[0].client)
    for key in not_before:
        wanted.pop(key, None)  # no call before the day the client asked, whatever the reason
    rows = []
    for key, (since, motif, name) in wanted.items():
        client = classeur.clients.get(key)
        compte = livre.compte(name)
        if not compte.factures:  # a bare workbook: the client's account as it reads
            compte = replace(compte, factures=tuple(by_client_factures.get(key, ())))
        mine = [f for f in by_client_factures.get(key, ()) if _open(f)]
        agence = compte.etat == AGENCE
        overdue, due = compte.a_appeler(client, today)
        if due <= 0 or compte.net <= 0:
            continue  # nothing owed once credits are counted, or held: no call
        if agence:
            motif = (f"chez l’agence depuis le {compte.remise:%d/%m/%Y} : ne pas appeler, "
                     "voir avec l’agence")
        oldest = min((f.echeance for f in overdue), default=None)
        rows.append(LigneAppel(
            client=client.nom if client else name,
            contact=client.contact if client else "",
            telephone=client.telephone if client else "",
            montant_du=due,
            factures=tuple(f.numero for f in sorted(overdue, key=lambda f: (f.echeance, f.numero))),
            plus_ancienne=oldest,
            jours_retard=max((today - oldest).days, 0) if oldest else 0,
            depuis=since,
            motif=motif,
            dernieres_actions=_last_actions(faits.get(key, ()), libelle),
            promesses=_promises(echanges.get(key, ()), by_client_factures.get(key, ()), today),
            litiges=", ".join(f.numero for f in mine if f.litige or f.statut == "litige"),
            a_demander="" if agence else _what_to_ask(echanges.get(key, ()), mine, today),
            agence=agence,
        ))
    # Clients with the agency come last, apart, outside the Pareto of who to call.
    rows.sort(key=lambda r: (r.agence, -r.montant_du, r.depuis, r.client))
    total = sum((r.montant_du for r in rows if not r.agence), ZERO)
    marked, running = [], ZERO
    for row in rows:
        if row.agence:
            marked.append(row)
            continue
        share_before = running / total if total else Decimal(1)
        running += row.montant_du
        marked.append(replace(row, pareto=share_before < PARETO))
    return marked, _disputes(classeur, today)


CANAUX = {"email": "e-mail", "courrier": "courrier", "appel": "téléphone",
          "recouvrement": "recouvrement"}


def _last_actions(faits: Iterable[Fait], libelle) -> str:
    """« 22/11 appel à passer ; 08/11 Premier rappel (e-mail) »: the three latest."""
    seen = sorted({(f.jour, f.etape, f.canal, f.statut) for f in faits}, reverse=True)[:3]
    return " ; ".join(
        f"{jour:%d/%m} " + ("appel à passer" if canal == "appel" and statut == "a_faire"
                            else f"{libelle(etape)} ({CANAUX.get(canal, canal)})")
        for jour, etape, canal, statut in seen)


def _promises(echanges: Iterable[Echange], factures: Sequence[Facture],
              today: datetime.date) -> str:
    made = [e for e in echanges if e.promesse is not None]
    if not made:
        return ""
    kept = broken = pending = 0
    for echange in made:
        concerned = [f for f in factures if echange.concerne(f)]
        if concerned and all(not _open(f) for f in concerned):
            kept += 1
        elif echange.promesse >= today:
            pending += 1
        else:
            broken += 1
    parts = [f"{len(made)} faite(s)"]
    parts += [f"{kept} tenue(s)"] if kept else []
    parts += [f"{broken} non tenue(s)"] if broken else []
    parts += [f"{pending} en cours"] if pending else []
    return ", ".join(parts)


def _what_to_ask(echanges: Sequence[Echange], factures: Sequence[Facture],
                 today: datetime.date) -> str:
    broken = [e for e in echanges if e.promesse is not None and e.promesse < today
              and any(_open(f) for f in factures if e.concerne(f))]
    disputed = [f for f in factures if f.litige or f.statut == "litige"]
    if broken:
        last = max(broken, key=lambda e: e.promesse)
        ask = (f"Le paiement promis pour le {last.promesse:%d/%m/%Y} n’est pas arrivé : "
               "pourquoi ? Quelle date ferme, et qui valide le paiement ?")
    elif len(disputed) == len(factures):
        ask = ""
    else:
        ask = ("Le paiement est-il parti ? Sinon, pour quelle date, et qui le valide ? Un "
               "problème avec la facture ?")
    if disputed:
        ask += (" " if ask else "") + (f"Où en est le désaccord sur "
                                       f"{', '.join(f.numero for f in disputed)} ? Que faut-il "
                                       "pour le lever ?")
    return ask


def _disputes(classeur: Classeur, today: datetime.date) -> list[LigneLitige]:
    found = []
    for facture in classeur.factures:
        if not (facture.litige or facture.statut == "litige") or facture.reste_du <= 0:
            continue
        since = None
        if facture.litige:
            concerning = [e for e in classeur.echanges
                          if e.resultat == "litige" and e.concerne(facture)]
            since = min((e.jour for e in concerning), default=None)
        source = "feuille Échanges" if facture.litige else "colonne Statut"
        if since is None and facture.plateforme is not None and facture.plateforme.code == 207:
            since, source = facture.plateforme.jour, "plateforme"
        found.append(LigneLitige(
            client=facture.client, facture=facture.numero, reste_du=facture.reste_du,
            depuis=since, jours=(today - (since or facture.echeance)).days, source=source))
    found.sort(key=lambda l: (-(l.jours or 0), l.client, l.facture))
    return found
