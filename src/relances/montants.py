"""What a message asks for: one amount, computed once, shown the same everywhere. Pure.

The message's table, its sentence « nous vous demandons de régler … », the terminal summary,
the Journal sheet and the `--json` plan all take their figure from `Demande.total`:

- the principal: what remains of every invoice the message lists;
- minus the client's open credit notes (never more than that principal);
- plus the late-payment penalties, only when the step claims them (`penalites = true`, the
  formal notice by default), and only for the invoices at the message's own step: an invoice
  reminded for the first time in the same message is never charged penalties by it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Sequence

from .penalites import Calcul, compute_all
from .records import ZERO, Etape, Facture, Fait


@dataclass(frozen=True)
class Demande:
    principal: Decimal   # remaining amount of every invoice the message lists
    avoirs: Decimal      # open credit notes deducted: zero or negative
    penalites: Calcul    # at the message's date, on the invoices at the message's step
    avec_penalites: bool  # the amount asked includes them

    @property
    def penalites_reclamees(self) -> Decimal:
        return self.penalites.total if self.avec_penalites else ZERO

    @property
    def total(self) -> Decimal:
        """The one amount the message asks for."""
        return self.principal + self.avoirs + self.penalites_reclamees


def is_notice(etape: str, modele: str | None) -> bool:
    """A formal notice: the step or its template is called mise_en_demeure."""
    return "mise_en_demeure" in (etape, modele)


def open_credit_notes(factures: Iterable[Facture]) -> list[Facture]:
    """Credit notes not used up: negative amount, something left, no Statut."""
    return [f for f in factures if f.montant < 0 and f.reste_du < 0 and not f.statut]


def compute_demande(principales: Sequence[Facture], autres: Sequence[Facture],
                    avoirs: Sequence[Facture], etape: Etape, particulier: bool,
                    faits: Iterable[Fait], today: datetime.date, config) -> Demande:
    """The amount asked by a message at `etape` on `today`; `faits`: these invoices' history."""
    # With a payment plan, only the instalments fallen due are asked for.
    principal = sum((f.a_reclamer for f in (*principales, *autres)), ZERO)
    credit = -sum((f.reste_du for f in avoirs), ZERO)
    regime = config.penalites.regime(config.entreprise.pays, particulier)
    dates = _penalty_dates(principales, etape, faits, today, config)
    if config.penalites.depuis_nouvelle_echeance:
        principales = [replace(f, echeance=f.echeance_relance) for f in principales]
    # A plan's penalties run on its missed instalments, from the oldest one's date.
    principales = [replace(f, montant=f.paye + f.a_reclamer, echeance=f.echeance_relance)
                   if f.versements else f for f in principales]
    calcul = compute_all(principales, today, regime, config.penalites.table, dates)
    return Demande(principal, -min(credit, principal), calcul, etape.penalites)


def _penalty_dates(factures: Sequence[Facture], etape: Etape, faits: Iterable[Fait],
                   today: datetime.date, config
                   ) -> dict[str, tuple[datetime.date | None, datetime.date | None]]:
    """Per invoice: (date of its formal notice, date of its first message), this one included."""
    by_facture: dict[str, list[Fait]] = {}
    for fait in faits:
        by_facture.setdefault(fait.facture, []).append(fait)
    notice_now = is_notice(etape.nom, etape.modele)
    dates = {}
    for facture in factures:
        history = by_facture.get(facture.numero, ())
        notices = [f.jour for f in history if is_notice(f.etape, _modele(config, f.etape))]
        messages = [f.jour for f in history if f.canal in ("email", "courrier")]
        if notice_now:
            notices.append(today)
        if etape.is_message:
            messages.append(today)
        dates[facture.numero] = (min(notices, default=None), min(messages, default=None))
    return dates


def _modele(config, nom: str) -> str | None:
    found = config.etape(nom)  # step names mean the same in every policy
    return found.modele if found else None
