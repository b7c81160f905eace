"""The dashboard's figures, computed from the client accounts. Pure: no file, no wording
beyond the fixed labels of the aged balance and the steps, `today` a parameter.

Amounts are summed in integer cents (exact, and fast on 50,000 invoices) and handed back as
`Decimal`. An open invoice is one with a positive amount, something left to pay and no
« Payée » status; credit notes are counted apart, never netted silently.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable, Sequence

from ..records import Facture, Fait, client_key

TRANCHES = ("Non échu", "1 à 30 jours", "31 à 60 jours", "61 à 90 jours", "Plus de 90 jours")
DSO_JOURS = 90
PROMESSES_JOURS = 7
DSO_METHODE = (f"DSO = encours clients (avoirs déduits) ÷ chiffre d’affaires TTC facturé sur les {DSO_JOURS} "
               f"derniers jours × {DSO_JOURS} (méthode simple ; factures sans date de "
               "facture comptées à leur échéance moins 30 jours)")
SANS_RELANCE = "Aucune relance"
CENT = Decimal("0.01")


def euros(cents: int) -> Decimal:
    return (Decimal(int(cents)) * CENT).quantize(CENT)


@dataclass(frozen=True)
class Tranche:
    libelle: str
    montant: Decimal
    nombre: int


@dataclass(frozen=True)
class Debiteur:
    client: str
    montant: Decimal
    part: Decimal        # share of the receivable, in %
    cumul: Decimal       # cumulative share, in %
    pareto: bool         # among the few who owe 80 %
    factures: int
    echu: Decimal


@dataclass(frozen=True)
class Promesse:
    client: str
    factures: tuple[str, ...]
    jour: datetime.date
    montant: Decimal


@dataclass(frozen=True)
class Plan:
    client: str
    facture: str
    reste: Decimal
    exigible: Decimal
    prochaine: datetime.date | None


@dataclass(frozen=True)
class Tableau:
    """Every figure of the dashboard, as of `date`."""

    date: datetime.date
    encours: Decimal
    echu: Decimal
    factures_ouvertes: int
    clients_debiteurs: int
    avoirs: Decimal
    balance: tuple[Tranche, ...]
    dso: Decimal | None          # None: nothing invoiced over the period
    ventes_periode: Decimal
    debiteurs: tuple[Debiteur, ...]
    par_etape: tuple[Tranche, ...]
    promesses_a_venir: tuple[Promesse, ...]
    promesses_non_tenues: tuple[Promesse, ...]
    litiges: Decimal
    litiges_nombre: int
    echeanciers: tuple[Plan, ...]
    appels: int
    appels_montant: Decimal
    methode_dso: str = DSO_METHODE
    extra: dict = field(default_factory=dict)  # per-run figures (actions today, problems)


def compute(livre, history: Iterable[Fait], today: datetime.date,
            libelle: Callable[[str], str] = str, appels: Sequence = ()) -> Tableau:
    """The dashboard of the client accounts (`compte.Livre`: promises and disputes of
    Échanges, credits allocated, plans of Échéanciers, payments of Paiements counted), as of
    `today`. A bare `Classeur` is taken as the rules see it."""
    from ..compte import Livre, as_seen

    classeur = livre.classeur if isinstance(livre, Livre) else as_seen(livre, today)
    factures = [f for f in classeur.factures]
    ouvertes = [f for f in factures if f.montant > 0 and not f.solde]
    # Credits left once the allocation has put what it could on open invoices; a credit note
    # marked Payée (refunded, or used) is closed.
    avoirs = sum((-f.reste_du for f in factures
                  if f.montant < 0 and f.reste_du < 0 and not f.statut), Decimal("0.00"))
    appels = [a for a in appels if not getattr(a, "agence", False)]
    last_step = _last_steps(history)

    # One line per open invoice, amounts in cents (sums exact whatever their number).
    lignes = [_Ligne(f.client, client_key(f.client), f.numero,
                     int((f.reste_du * 100).to_integral_value()), (today - f.echeance).days,
                     _step_of(f, last_step, libelle, today), bool(f.statut == "litige" or f.litige))
              for f in ouvertes]
    total = sum(l.reste for l in lignes)
    echu = sum(l.reste for l in lignes if l.retard > 0)

    balance = tuple(Tranche(label, euros(sum(l.reste for l in mine)), len(mine))
                    for label, mine in _by(lignes, _tranche).items())
    debiteurs = _debiteurs(lignes, total)
    etapes = _by(lignes, lambda l: l.etape)
    par_etape = tuple(sorted((Tranche(label, euros(sum(l.reste for l in mine)), len(mine))
                              for label, mine in etapes.items()),
                             key=lambda t: -t.montant))

    since = today - datetime.timedelta(days=DSO_JOURS)
    ventes = sum((f.montant for f in factures if f.montant > 0
                  and since < _billed(f) <= today), Decimal("0.00"))
    dso = ((euros(total) - avoirs) / ventes * DSO_JOURS).quantize(Decimal("0.1")) \
        if ventes > 0 else None

    soon = today + datetime.timedelta(days=PROMESSES_JOURS)
    a_venir = _promesses(ouvertes, lambda p: today <= p <= soon)
    non_tenues = _promesses([f for f in ouvertes if not (f.statut == "litige" or f.litige)],
                            lambda p: p < today)
    litigieuses = [l.reste for l in lignes if l.litige]
    plans = tuple(Plan(f.client, f.numero, f.reste_du, max(f.a_reclamer, Decimal("0.00")),
                       next((v.jour for v in f.versements if v.reste > 0), None))
                  for f in ouvertes if f.versements)
    return Tableau(
        date=today, encours=euros(total), echu=euros(echu), factures_ouvertes=len(ouvertes),
        clients_debiteurs=len({l.cle for l in lignes}),
        avoirs=avoirs.quantize(CENT), balance=balance, dso=dso,
        ventes_periode=ventes.quantize(CENT), debiteurs=debiteurs, par_etape=par_etape,
        promesses_a_venir=a_venir, promesses_non_tenues=non_tenues,
        litiges=euros(sum(litigieuses)) if litigieuses else Decimal("0.00"),
        litiges_nombre=int(len(litigieuses)), echeanciers=plans,
        appels=len(appels), appels_montant=sum((a.montant_du for a in appels),
                                               Decimal("0.00")).quantize(CENT))


def _billed(facture: Facture) -> datetime.date:
    return facture.date_facture or facture.echeance - datetime.timedelta(days=30)


def _last_steps(history: Iterable[Fait]) -> dict[tuple[str, str], str]:
    """Each invoice's latest step done (its key's step), by (client key, invoice)."""
    latest: dict[tuple[str, str], tuple[datetime.date, str]] = {}
    for fait in history:
        if fait.statut in ("echec",):
            continue
        key = (client_key(fait.client), fait.facture)
        if key not in latest or fait.jour >= latest[key][0]:
            latest[key] = (fait.jour, fait.etape)
    return {k: v[1] for k, v in latest.items()}


def _step_of(facture: Facture, last_step: dict, libelle: Callable[[str], str],
             today: datetime.date) -> str:
    step = last_step.get((client_key(facture.client), facture.numero))
    if step:
        return libelle(step)
    return SANS_RELANCE + (" (non échue)" if facture.echeance >= today else "")


@dataclass(frozen=True)
class _Ligne:
    """One open invoice, as the dashboard counts it (`reste` in cents, `retard` in days)."""

    client: str
    cle: str
    numero: str
    reste: int
    retard: int
    etape: str
    litige: bool


# Days late of each age bracket of the balance (TRANCHES): up to and including the bound.
BORNES = (0, 30, 60, 90)


def _tranche(ligne: _Ligne) -> str:
    return next((label for label, bound in zip(TRANCHES, BORNES) if ligne.retard <= bound),
                TRANCHES[-1])


def _by(lignes: list[_Ligne], key: Callable[[_Ligne], str]) -> dict[str, list[_Ligne]]:
    """Lines grouped by `key`, groups in the order first met (every bracket, even empty)."""
    groups: dict[str, list[_Ligne]] = {label: [] for label in TRANCHES} if key is _tranche \
        else {}
    for ligne in lignes:
        groups.setdefault(key(ligne), []).append(ligne)
    return groups


def _debiteurs(lignes: list[_Ligne], total: int) -> tuple[Debiteur, ...]:
    """Clients by amount owed, with their cumulative share: the first ones up to 80 % of the
    receivable (the one that crosses 80 % included) are the Pareto few."""
    if not lignes or total <= 0:
        return ()
    par_client = sorted(_by(lignes, lambda l: l.cle).values(),
                        key=lambda mine: (-sum(l.reste for l in mine), mine[0].client))
    found = []
    running = 0
    for mine in par_client:
        montant = sum(l.reste for l in mine)
        previous, running = running, running + montant
        found.append(Debiteur(
            client=mine[0].client, montant=euros(montant),
            part=(Decimal(montant) * 100 / total).quantize(Decimal("0.1")),
            cumul=(Decimal(running) * 100 / total).quantize(Decimal("0.1")),
            pareto=previous * 100 < total * 80, factures=len(mine),
            echu=euros(sum(l.reste for l in mine if l.retard > 0))))
    return tuple(found)


def _promesses(factures: list[Facture], when: Callable[[datetime.date], bool]
               ) -> tuple[Promesse, ...]:
    grouped: dict[tuple[str, datetime.date], list[Facture]] = {}
    for facture in factures:
        if facture.promesse is not None and when(facture.promesse):
            grouped.setdefault((facture.client, facture.promesse), []).append(facture)
    return tuple(sorted((Promesse(client, tuple(f.numero for f in found), jour,
                                  sum((f.reste_du for f in found), Decimal("0.00")))
                         for (client, jour), found in grouped.items()),
                        key=lambda p: (p.jour, p.client)))
