"""What a message asks for: one amount, computed once, shown the same everywhere. Pure.

The message's table, its sentence « nous vous demandons de régler … », the terminal summary,
the Journal sheet and the `--json` plan all take their figure from `Demande.total`:

- the principal: what remains of every invoice the message lists, once the client account
  (`compte`) has put the client's credit notes and payments on them — each euro once;
- plus the late-payment penalties, only when the step claims them (`penalites = true`, the
  formal notice by default), and only for the invoices at the message's own step: an invoice
  reminded for the first time in the same message is never charged penalties by it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Sequence

from .etapes import is_notice
from .penalites import Calcul, Penalite, compute_all, fin_delai_consommateur_be
from .records import ZERO, Client, Etape, Facture, Fait


@dataclass(frozen=True)
class Demande:
    principal: Decimal   # what is left of every invoice listed, credits already allocated
    penalites: Calcul    # at the message's date, on the invoices at the message's step
    avec_penalites: bool  # the amount asked includes them

    @property
    def penalites_reclamees(self) -> Decimal:
        return self.penalites.total if self.avec_penalites else ZERO

    @property
    def total(self) -> Decimal:
        """The one amount the message asks for."""
        return self.principal + self.penalites_reclamees


def compute_demande(principales: Sequence[Facture], autres: Sequence[Facture],
                    etape: Etape, client: Client | bool,
                    faits: Iterable[Fait], today: datetime.date, config) -> Demande:
    """The amount asked by a message at `etape` on `today` to `client` (its Type and Pays
    choose the law; a bool: a consumer of the creditor's country); `faits`: these invoices'
    history."""
    if isinstance(client, bool):
        client = Client(nom="", type="particulier" if client else "professionnel")
    # With a payment plan, only the instalments fallen due are asked for.
    principal = sum((f.a_reclamer for f in (*principales, *autres)), ZERO)
    regime = config.regime_of(client)
    dates = _penalty_dates(principales, etape, faits, today, config, regime)
    if config.penalites.depuis_nouvelle_echeance:
        principales = [replace(f, echeance=f.echeance_relance) for f in principales]
    plain = [f for f in principales if not f.versements]
    calcul = compute_all(plain, today, regime, config.penalites.table, dates)
    # A plan's penalties run on each missed instalment from its own date, never on one not due.
    plans = [_plan_penalty(f, today, regime, config, dates) for f in principales if f.versements]
    if plans:
        by_numero = {p.numero: p for p in (*calcul.lignes, *plans)}
        calcul = replace(calcul, lignes=tuple(by_numero[f.numero] for f in principales))
    return Demande(principal, calcul, etape.penalites)


def _plan_penalty(facture: Facture, today: datetime.date, regime, config, dates) -> Penalite:
    """One invoice's penalties under a plan: the sum of its missed instalments' own."""
    last = max(v.jour for v in facture.versements)
    missed = [v for v in facture.versements if v.reste > 0 and (v.jour < today or today > last)]
    left = facture.a_reclamer
    parts = []
    for versement in missed:
        base = min(versement.reste, left)
        if base <= 0:
            break
        left -= base
        parts.append(replace(facture, montant=base, paye=ZERO, impute=ZERO,
                             echeance=versement.jour, versements=(), exigible=None))
    lignes = compute_all(parts, today, regime, config.penalites.table, dates).lignes
    if not lignes:
        return compute_all([replace(facture, montant=ZERO, paye=ZERO, impute=ZERO,
                                    versements=(), exigible=None)],
                           today, regime, config.penalites.table, dates).lignes[0]
    whole = replace(facture, montant=sum((p.base for p in lignes), ZERO), paye=ZERO, impute=ZERO,
                    echeance=missed[0].jour, versements=(), exigible=None)
    indemnite = compute_all([whole], today, regime, config.penalites.table, dates).lignes[0]
    return Penalite(
        numero=facture.numero, base=sum((p.base for p in lignes), ZERO),
        depuis=min((p.depuis for p in lignes if p.depuis), default=None),
        periodes=tuple(period for p in lignes for period in p.periodes),
        interets=sum((p.interets for p in lignes), ZERO), indemnite=indemnite.indemnite,
        taux_manquants=tuple(dict.fromkeys(m for p in lignes for m in p.taux_manquants)))


def _penalty_dates(factures: Sequence[Facture], etape: Etape, faits: Iterable[Fait],
                   today: datetime.date, config, regime
                   ) -> dict[str, tuple[datetime.date | None, ...]]:
    """Per invoice: (date of its formal notice, date of its first message, this one included;
    and for a Belgian consumer the last day of the window that first message opened — as
    stored in the journal with it, else computed from its channel)."""
    by_facture: dict[str, list[Fait]] = {}
    for fait in faits:
        by_facture.setdefault(fait.facture, []).append(fait)
    notice_now = is_notice(etape.nom, etape.modele)
    dates = {}
    for facture in factures:
        history = by_facture.get(facture.numero, ())
        notices = [f.jour for f in history if is_notice(f.etape, _modele(config, f.etape))]
        messages = sorted((f for f in history if f.canal in ("email", "courrier")),
                          key=lambda f: f.jour)
        if notice_now:
            notices.append(today)
        first = messages[0].jour if messages else (today if etape.is_message else None)
        fin = None
        if regime.consommateur_be and first is not None:
            canal = messages[0].canal if messages else etape.canal
            fin = window_end(first, canal, config)
        dates[facture.numero] = (min(notices, default=None), first, fin)
    return dates


def window_end(jour: datetime.date, canal: str, config) -> datetime.date:
    """Last day of the 14 days a first message to a Belgian consumer opens (art. XIX.2)."""
    return fin_delai_consommateur_be(jour, "email" if canal == "email" else "courrier",
                                     config.calendrier_pays("BE"))


def _modele(config, nom: str) -> str | None:
    found = config.etape(nom)  # step names mean the same in every policy
    return found.modele if found else None
