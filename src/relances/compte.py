"""The client account: the unit of every decision (SPEC §5). Pure core: no file, no wording.

`tenir(classeur, history, today, config)` is computed once per run and read by everyone — the
decision, the amounts of every message, letter and dossier, the call list, the dashboard:

- **Échanges** taken into account (promises, disputes, « paiement annoncé », « rappeler le »);
- **the platform's lifecycle statuses** (e-invoicing reform) likewise (`with_statuts`);
- **one allocation** (lettrage) per client: a credit note that names an invoice (Facture liée)
  goes to it; the other credit notes and the payments naming no invoice (sheet Paiements) go
  to the client's oldest open invoices — undisputed ones first —; each euro is allocated once.
  A credit note marked Payée or used up by the user (Payé) is closed; what an invoice was paid
  beyond its amount is a credit too. An invoice fully covered is settled;
- **payment plans** (Échéanciers) on what is left once credits are counted;
- **one dossier state** per client, that only moves forward while its invoices are open:
  amiable → mise en demeure → chez l'agence; a client whose dossier is settled leaves it;
- **the deadlines given**: per invoice, the last day of the latest deadline a message gave
  (stored in the journal with the message); nothing further for it before the day after.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Iterable, Mapping

from .config import Config
from .efacture.modeles import StatutFacture
from .etapes import deadline_end, etape_named, is_notice
from .records import (ZERO, Classeur, Echange, Facture, Fait, Imputation, Reglement,
                      Versement, client_key)

AMIABLE, MISE_EN_DEMEURE, AGENCE = "amiable", "mise_en_demeure", "agence"
ETATS = (AMIABLE, MISE_EN_DEMEURE, AGENCE)


@dataclass(frozen=True)
class Compte:
    """One client's account as of the run date."""

    cle: str
    factures: tuple[Facture, ...]  # invoices and credit notes, as allocated
    credit: Decimal = ZERO  # credits left over once every open invoice is covered (≥ 0)
    etat: str = AMIABLE
    mise_en_demeure: datetime.date | None = None  # first formal notice of the open dossier
    remise: datetime.date | None = None  # first hand-off of the open dossier
    sous_mise_en_demeure: frozenset[str] = frozenset()  # open invoices a notice covered
    dossier: frozenset[str] = frozenset()  # open invoices with the agency
    remises: tuple[datetime.date, ...] = ()  # every day invoices went to the agency
    limites: Mapping[str, datetime.date] = field(default_factory=dict)  # invoice -> last day
    # Ever put under formal notice or handed off: the tone stays firm even once that dossier
    # is settled (a client who needed a formal notice gets no « simple oubli » again).
    ferme: bool = False

    @functools.cached_property
    def ouvertes(self) -> tuple[Facture, ...]:
        """The invoices still owed something (credit notes excluded)."""
        return tuple(f for f in self.factures
                     if f.montant > 0 and f.statut != "payee" and f.reste_du > 0)

    @functools.cached_property
    def a_relancer(self) -> Decimal:
        """What may be chased of this client today: the open invoices without Statut (a plan's
        instalments fallen due only), less credits left over."""
        due = ZERO
        for f in self.factures:  # (one plain loop: read for every invoice of a large book)
            if f.montant > 0 and not f.statut:
                reste = f.montant - f.paye - f.impute
                if reste > 0:
                    due += f.exigible if f.exigible is not None else reste
        return due - self.credit

    @property
    def net(self) -> Decimal:
        """What the client owes once every credit is allocated (Statut Litige, Pause… included:
        they stop chasing, not the debt)."""
        return sum((f.reste_du for f in self.ouvertes), ZERO) - self.credit

    @property
    def exigible(self) -> Decimal:
        """What may be asked for today: a plan's instalments fallen due, else all that is left."""
        return sum((f.a_reclamer for f in self.ouvertes), ZERO)

    def limite(self, numero: str) -> datetime.date | None:
        return self.limites.get(numero)

    def a_appeler(self, client, today: datetime.date) -> tuple[tuple[Facture, ...], Decimal]:
        """The invoices a call is about and the one amount it asks for — the net: the overdue,
        undisputed invoices without Statut not held by a promise to come, a pause, a payment
        being checked or a plan kept (a plan's: its instalments fallen due), less credits left
        over. With the agency, all of them (the agency calls)."""
        mine = [f for f in self.ouvertes if not _disputed(f) and not f.statut
                and f.echeance < today]
        if self.etat != AGENCE:
            mine = [f for f in mine if not _held(f, client, today)]
        return tuple(mine), sum((f.a_reclamer for f in mine), ZERO) - self.credit


@dataclass(frozen=True)
class Livre:
    """Every client account of the book, and the workbook as the rules see it."""

    classeur: Classeur
    comptes: Mapping[str, Compte]

    def compte(self, client: str) -> Compte:
        key = client_key(client)
        return self.comptes.get(key) or Compte(key, ())


def tenir(classeur: Classeur, history: Iterable[Fait], today: datetime.date,
          config: Config) -> Livre:
    """The book as of `today`: Échanges, allocation, plans, dossier states, deadlines."""
    seen = as_seen(classeur, today)
    faits_by_client: dict[str, list[Fait]] = defaultdict(list)
    for fait in history:
        faits_by_client[client_key(fait.client)].append(fait)
    by_client: dict[str, list[Facture]] = defaultdict(list)
    for facture in seen.factures:
        by_client[client_key(facture.client)].append(facture)
    credits = _credits_left(seen)
    comptes = {}
    for key in set(by_client) | set(faits_by_client):
        factures = tuple(by_client.get(key, ()))
        client = seen.clients.get(key)
        comptes[key] = _compte(key, factures, faits_by_client.get(key, []),
                               credits.get(key, ZERO), client, config)
    return Livre(seen, comptes)


def as_seen(classeur: Classeur, today: datetime.date) -> Classeur:
    """The workbook as the rules see it: Échanges, the allocation and Échéanciers applied.
    Idempotent."""
    return with_plans(allocate(with_statuts(with_echanges(classeur))), today)


# ------------------------------------------------------------------ platform statuses

# The reform's lifecycle codes that act on a chase; the others (200 Déposée … 206, 209…) say
# nothing about the money and leave the invoice as it was.
EN_LITIGE, SUSPENDUE, REFUSEE, PAIEMENT_TRANSMIS, ENCAISSEE, REJETEE = 207, 208, 210, 211, 212, 213
# A row of an export naming the invoice but unreadable otherwise (efacture.statuts.ILLISIBLE):
# held until a readable status comes.
ILLISIBLE = 0
EFFETS = frozenset({EN_LITIGE, SUSPENDUE, REFUSEE, PAIEMENT_TRANSMIS, ENCAISSEE, REJETEE,
                    ILLISIBLE})
A_REGULARISER = frozenset({REFUSEE, REJETEE})


def with_statuts(classeur: Classeur) -> Classeur:
    """The workbook once the platform's statuses are taken into account: per invoice number,
    the latest status by date wins (same date: the later one read); when it acts:

    - 212 Encaissée: paid (Statut « payee » as the account sees it; Payé is left as typed);
    - 210 Refusée, 213 Rejetée, 208 Suspendue: held (not chased, not claimed with the others);
    - 207 En litige: a dispute, from the first 207 of the latest run of them;
    - 211 Paiement transmis: a payment announced that day (written steps wait a while).

    A later status without effect (205 Approuvée…) lifts the earlier one. Idempotent."""
    if not classeur.statuts:
        return classeur
    by_numero: dict[str, list[tuple[int, StatutFacture]]] = defaultdict(list)
    for rang, statut in enumerate(classeur.statuts):
        by_numero[statut.numero].append((rang, statut))
    factures = []
    for facture in classeur.factures:
        mine = sorted(by_numero.get(facture.numero, ()), key=lambda rs: (rs[1].jour, rs[0]))
        if not mine or mine[-1][1].code not in EFFETS or facture.montant <= 0:
            factures.append(facture)
            continue
        latest = mine[-1][1]
        # Since when: the first of the latest run of the same code (a dispute stays one).
        first = latest
        for _rang, statut in reversed(mine):
            if statut.code != latest.code:
                break
            first = statut
        since = replace(latest, jour=first.jour)
        if facture.plateforme == since:
            factures.append(facture)  # taken into account already
            continue
        changes: dict = {"plateforme": since}
        if latest.code == ENCAISSEE:
            changes["statut"] = "payee"
        elif latest.code in (SUSPENDUE, ILLISIBLE, *A_REGULARISER):
            changes["statut"] = facture.statut or "plateforme"
        elif latest.code == EN_LITIGE and not facture.litige:
            motif = f" ({since.motif})" if since.motif else ""
            changes["litige"] = (f"en litige sur la plateforme depuis le "
                                 f"{since.jour:%d/%m/%Y}{motif}")
        elif latest.code == PAIEMENT_TRANSMIS:
            if facture.annonce is None or since.jour > facture.annonce:
                changes["annonce"] = since.jour
        factures.append(replace(facture, **changes))
    return replace(classeur, factures=tuple(factures))


# ------------------------------------------------------------------ Échanges


def with_echanges(classeur: Classeur) -> Classeur:
    """The workbook once Échanges is taken into account (SPEC §5):

    - a promise counts like the Promesse de paiement column, for the invoices the exchange lists
      (all of the client's invoices when it lists none); the latest promised date wins;
      « paiement annoncé » with a date is a promise;
    - « paiement annoncé » without a date holds the written steps for a while (`annonce`);
    - « rappeler le » sets the day of the next call to the client (`rappeler_le`, on all of its
      invoices: a call is about the client): the latest day asked (as the call list reads it);
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
        theirs = by_client.get(client_key(facture.client), ())
        mine = [e for e in theirs if e.concerne(facture)]
        # A call is about the client: a « rappeler le » holds every call to that client.
        rappels = [e for e in theirs if e.rappeler_le is not None]
        if not mine and not rappels:
            factures.append(facture)
            continue
        promesses = [e.promesse for e in mine if e.promesse is not None]
        disputes = [e for e in mine if e.resultat == "litige"]
        annonces = [e.jour for e in mine if e.resultat == "paiement annoncé" and e.promesse is None]
        changes: dict = {}
        if promesses and (facture.promesse is None or max(promesses) > facture.promesse):
            changes["promesse"] = max(promesses)
        if disputes and not facture.litige:
            first = min(disputes, key=lambda e: (e.jour, e.row or 0))
            changes["litige"] = (f"litige noté le {first.jour:%d/%m/%Y} (feuille Échanges, "
                                 f"ligne {first.row})")
        if annonces and (facture.annonce is None or max(annonces) > facture.annonce):
            changes["annonce"] = max(annonces)
        if rappels:
            latest = max(rappels, key=lambda e: (e.rappeler_le, e.jour, e.row or 0))
            if facture.rappeler_le != latest.rappeler_le:
                changes["rappeler_le"] = latest.rappeler_le
        factures.append(replace(facture, **changes) if changes else facture)
    return replace(classeur, factures=tuple(factures))


# ------------------------------------------------------------------ the mailbox


def ajoute_par_l_outil(echange: Echange, classeur: Classeur) -> bool:
    """An Échanges row the tool appended for a reply read from the mailbox, its Résultat still
    empty: it shows the reply but does not record that the user dealt with it."""
    courriel = classeur.courriels.get(client_key(echange.client))
    return (courriel is not None and not echange.resultat
            and (echange.jour, echange.coordonnees.strip().lower()) in courriel.lignes)


def reponse_en_suspens(classeur: Classeur, nom: str, today: datetime.date, jours: int
                       ) -> tuple[datetime.date, bool] | None:
    """The client's latest reply read from the mailbox that no exchange records yet (any
    Échanges row for the client dated on or after it, other than the tool's own row while its
    Résultat is empty): (its day, whether the `jours`-day pause is over); None when none."""
    courriel = classeur.courriels.get(client_key(nom))
    if courriel is None or courriel.reponse is None or courriel.reponse > today:
        return None
    key = client_key(nom)
    if any(client_key(e.client) == key and e.jour >= courriel.reponse
           and not ajoute_par_l_outil(e, classeur) for e in classeur.echanges):
        return None
    return courriel.reponse, today >= courriel.reponse + datetime.timedelta(days=jours)


# ------------------------------------------------------------------ allocation


def _is_credit_note(facture: Facture) -> bool:
    """An open credit note: negative, something left, no Statut (Payée closes it)."""
    return facture.montant < 0 and facture.reste_du < 0 and not facture.statut


def _overpaid(facture: Facture) -> bool:
    """An invoice paid beyond its amount (not marked Payée): its surplus is a credit."""
    return (facture.montant > 0 and bool(facture.paye or facture.impute)
            and facture.reste_du < 0 and facture.statut != "payee")


def _receives(facture: Facture) -> bool:
    """An invoice a credit may go to: something left, not marked Payée."""
    return facture.montant > 0 and facture.reste_du > 0 and facture.statut != "payee"


def _disputed(facture: Facture) -> bool:
    return bool(facture.litige) or facture.statut == "litige"


def _refused(facture: Facture) -> bool:
    """Suspended, refused or rejected on the e-invoicing platform (a payment announced there
    is not: an unnamed payment is most likely that one)."""
    return facture.plateforme is not None and facture.plateforme.code in (
        SUSPENDUE, ILLISIBLE, *A_REGULARISER)


def _held(facture: Facture, client, today: datetime.date) -> bool:
    """Not to be called about: promised (date to come), paused, or its payment being checked."""
    if facture.promesse is not None and facture.promesse >= today:
        return True
    if facture.bloque or (client is not None and client.bloque):
        return True
    if facture.versements and facture.a_reclamer <= 0:
        return True  # a plan kept
    pause = client.pause_jusqu_au if client is not None else None
    return pause is not None and pause >= today


def _unnamed(reglement: Reglement) -> bool:
    """A payment of sheet Paiements that names a client and no invoice nor reference: it is the
    account's to allocate (the reader places the others)."""
    return (bool(reglement.client) and not reglement.factures and not reglement.reference
            and reglement.montant > 0 and not reglement.statut)


def allocate(classeur: Classeur) -> Classeur:
    """Each client's credits put on its invoices, each euro once (see the module's doc).
    Idempotent: an allocated book has no credit left to allocate."""
    if any(f.imputations or f.impute for f in classeur.factures):
        return classeur  # allocated already: each euro once
    credit_notes = [f for f in classeur.factures if _is_credit_note(f) or _overpaid(f)]
    payments = [r for r in classeur.reglements if _unnamed(r)]
    if not credit_notes and not payments:
        return classeur
    by_client: dict[str, list[Facture]] = defaultdict(list)
    for facture in classeur.factures:
        by_client[client_key(facture.client)].append(facture)
    keys = {client_key(f.client) for f in credit_notes} | {client_key(r.client) for r in payments}
    changed: dict[tuple[str, str], Facture] = {}
    for key in keys:
        factures = by_client.get(key, [])
        left = {f.numero: f.reste_du for f in factures if _receives(f)}
        put: dict[str, list[Imputation]] = defaultdict(list)
        used: dict[str, Decimal] = defaultdict(lambda: ZERO)
        # Oldest first; undisputed invoices before the disputed, suspended or refused ones (a
        # client who disputes one invoice and pays without a word is paying the others).
        order = sorted((f for f in factures if f.numero in left),
                       key=lambda f: (_disputed(f) or _refused(f), f.echeance,
                                      f.date_facture or f.echeance, f.numero))

        def spread(amount: Decimal, nature: str, origine: str, jour, targets) -> Decimal:
            for facture in targets:
                if amount <= 0:
                    break
                part = min(amount, left[facture.numero])
                if part <= 0:
                    continue
                left[facture.numero] -= part
                amount -= part
                put[facture.numero].append(Imputation(nature, origine, facture.numero, part,
                                                      jour))
            return amount

        # An invoice paid more than its amount: the surplus is the client's money, a credit
        # like a credit note's (after them).
        notes = sorted((f for f in factures if _is_credit_note(f)),
                       key=lambda f: (f.date_facture or f.echeance, f.numero))
        notes += sorted((f for f in factures if _overpaid(f)),
                        key=lambda f: (f.echeance, f.numero))
        # Credit notes naming their invoice first, so that an unnamed one never takes its place.
        notes.sort(key=lambda f: not f.facture_liee)
        for note in notes:
            available = -note.reste_du
            nature = "avoir" if note.montant < 0 else "paiement"
            named = [f for f in order if f.numero == note.facture_liee]
            rest = spread(available, nature, note.numero, note.date_facture, named)
            rest = spread(rest, nature, note.numero, note.date_facture, order)
            used[note.numero] += available - rest
        mine = sorted((r for r in payments if client_key(r.client) == key),
                      key=lambda r: (r.jour, r.row or 0))
        for reglement in mine:
            spread(reglement.montant, "paiement", reglement.jour.isoformat(), reglement.jour,
                   order)
        for facture in factures:
            if put.get(facture.numero):
                parts = tuple(put[facture.numero])
                changed[(key, facture.numero)] = replace(
                    facture, impute=facture.impute + sum((p.montant for p in parts), ZERO),
                    imputations=facture.imputations + parts)
            elif used.get(facture.numero):
                changed[(key, facture.numero)] = replace(
                    facture, impute=facture.impute - used[facture.numero])
    if not changed:
        return classeur
    return replace(classeur, factures=tuple(
        changed.get((client_key(f.client), f.numero), f) for f in classeur.factures))


def _credits_left(classeur: Classeur) -> dict[str, Decimal]:
    """Per client: credits the allocation could not place (credit notes and payments)."""
    left: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for facture in classeur.factures:
        if _is_credit_note(facture) or _overpaid(facture):
            left[client_key(facture.client)] += -facture.reste_du
    return dict(left)


# ------------------------------------------------------------------ payment plans


def with_plans(classeur: Classeur, today: datetime.date) -> Classeur:
    """Invoices with a payment plan (sheet Échéanciers) are chased on their instalments: what
    was paid or credited beyond the part of the invoice the plan does not spread covers them
    oldest first; what is due today is the instalments fallen
    due and not covered (everything left, once the last instalment's date has passed)."""
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
        # A plan spreads what remained when it was agreed: what was paid before it (the
        # invoice's amount beyond the instalments) pays no instalment.
        before = max(facture.montant - sum((v.montant for v in plan), ZERO), ZERO)
        left = max(facture.paye + facture.impute - before, ZERO)
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


# ------------------------------------------------------------------ dossier and deadlines


def _compte(key: str, factures: tuple[Facture, ...], faits: list[Fait], credit: Decimal,
            client, config: Config) -> Compte:
    if not faits:  # (most clients of a large book: nothing done yet, nothing to look up)
        return Compte(cle=key, factures=factures, credit=credit)
    open_numbers = {f.numero for f in factures
                    if f.montant > 0 and f.statut != "payee" and f.reste_du > 0}
    notices: dict[str, datetime.date] = {}
    remises: dict[str, datetime.date] = {}
    limites: dict[str, datetime.date] = {}
    profil = client.profil if client else ""
    for fait in faits:
        etape = etape_named(fait.etape, config, profil)
        if fait.canal == "recouvrement":
            remises[fait.facture] = min(fait.jour, remises.get(fait.facture, fait.jour))
        elif is_notice(fait.etape, etape.modele if etape else None):
            notices[fait.facture] = min(fait.jour, notices.get(fait.facture, fait.jour))
        end = fait.limite
        if end is None and etape is not None:
            end = deadline_end(etape, fait.jour, config)
        if end is not None and end > limites.get(fait.facture, datetime.date.min):
            limites[fait.facture] = end
    dossier = frozenset(n for n in remises if n in open_numbers)
    noticed = frozenset(n for n in notices if n in open_numbers)
    etat = AGENCE if dossier else MISE_EN_DEMEURE if noticed else AMIABLE
    return Compte(
        cle=key, factures=factures, credit=credit, etat=etat,
        mise_en_demeure=min((notices[n] for n in noticed), default=None),
        remise=min((remises[n] for n in dossier), default=None),
        sous_mise_en_demeure=noticed, dossier=dossier,
        remises=tuple(sorted(set(remises.values()))), limites=limites,
        ferme=bool(notices or remises))
