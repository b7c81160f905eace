"""Late-payment penalties: what the law lets the creditor claim, to the cent. Pure.

France, professional debtor (art. L441-10 of the Code de commerce): interest on the remaining
amount from the day after the due date to the letter's date, `remaining × rate × days / 365`;
the rate is the contract's, never below three times the legal interest rate, or, with
`taux = "legal"`, the ECB main refinancing rate + 10 points. Either way the reference rate is
the one in force on 1 January (for January–June) or 1 July (for July–December), so a period
spanning half-years is computed piece by piece. Plus a fixed 40 EUR indemnity per invoice.

France, private individual (art. 1231-6 of the Code civil): interest at the legal rate only,
running from the formal notice (mise en demeure); no fixed indemnity.

Belgium, professional debtor (law of 2 August 2002): the ECB rate + 8 points, rounded up to the
next half point, per half-year (or the contract's rate); 40 EUR per invoice.

Belgium, private individual (Code de droit économique, book XIX, inserted by the law of
4 August 2022, in force since 1 December 2022): the first reminder is free and nothing may be
claimed before the end of a 14-day window (art. XIX.2), which starts the business day after an
email is sent, the third business day after a letter is posted (`fin_delai_consommateur_be`).
Then, and only when the contract provides it (`[penalites] clause_consommateur`), interest at
no more than the reference rate above and a fixed indemnity capped by the legal scale
(art. XIX.4: 20 EUR up to 150 EUR; 30 EUR + 10 % of the part between 150 and 500 EUR; 65 EUR +
5 % of the part above 500 EUR, at most 2,000 EUR). Without such a clause, nothing at all.

Which law: the debtor's law protects the debtor. A consumer gets the consumer rules of the
country he lives in (`pays_de_la_loi`), whatever the creditor's; a professional debtor, the
creditor's country's law.

Interest is computed on the amount still due today: payment dates are not known, so a partial
payment is treated as if made on the due date, which is in the debtor's favour.

Rounding, so that a letter's figures can be redone by hand: an invoice's days are cut into
periods of one rate (consecutive half-years at the same rate make one period); each period's
interest, `base × rate × days / 365`, is rounded half-up to the cent; the invoice's interest is
the sum of its periods, the letter's the sum of its invoices. Every line printed adds up to
the total printed.
"""

from __future__ import annotations

import datetime
import functools
import re
import tomllib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Mapping

from .calendrier import Calendrier

ZERO = Decimal("0")
CENT = Decimal("0.01")
DAYS_A_YEAR = Decimal(365)
SHIPPED_TABLE = Path(__file__).with_name("taux.toml")


@dataclass(frozen=True, order=True)
class Semestre:
    annee: int
    numero: int  # 1: January–June, 2: July–December

    @classmethod
    def of(cls, day: datetime.date) -> Semestre:
        return cls(day.year, 1 if day.month <= 6 else 2)

    @classmethod
    def parse(cls, text: str) -> Semestre | None:
        match = re.fullmatch(r"\s*(\d{4})-?S([12])\s*", text, re.IGNORECASE)
        return cls(int(match[1]), int(match[2])) if match else None

    @property
    def debut(self) -> datetime.date:
        return datetime.date(self.annee, 1 if self.numero == 1 else 7, 1)

    @property
    def fin(self) -> datetime.date:
        return datetime.date(self.annee, 6, 30) if self.numero == 1 else datetime.date(self.annee, 12, 31)

    def __str__(self) -> str:
        return f"{self.annee}-S{self.numero}"


@dataclass(frozen=True)
class TableTaux:
    """Reference rates per half-year, in % a year."""

    bce: Mapping[Semestre, Decimal]
    interet_legal: Mapping[Semestre, Decimal]

    def rate(self, name: str, semestre: Semestre) -> tuple[Decimal, bool]:
        """(rate, known). An unknown half-year takes the closest known one before it (or after)."""
        table: Mapping[Semestre, Decimal] = getattr(self, name)
        if semestre in table:
            return table[semestre], True
        earlier = [s for s in table if s < semestre]
        nearest = max(earlier) if earlier else min(table)
        return table[nearest], False


def read_table(path: Path = SHIPPED_TABLE) -> dict[str, dict[Semestre, Decimal]]:
    """The shipped table of rates (taux.toml): {"bce": {...}, "interet_legal": {...}}."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: {Semestre.parse(key): Decimal(str(value)) for key, value in raw[name].items()}
            for name in ("bce", "interet_legal")}


PAYS = ("FR", "BE")
CANAUX_ECRITS = {"email": 1, "courrier": 3}  # business days after sending: the window starts


def pays_de_la_loi(pays_creancier: str, particulier: bool, pays_client: str = "") -> str:
    """The country whose late-payment law applies: a consumer's own country (empty: the
    creditor's), a professional debtor's creditor's."""
    if particulier and pays_client in PAYS:
        return pays_client
    return pays_creancier


@functools.lru_cache(maxsize=None)
def calendrier_de(pays: str) -> Calendrier:
    """A country's business days (read-only once built: shared)."""
    return Calendrier(pays)


def fin_delai_consommateur_be(jour_envoi: datetime.date, canal: str,
                              calendrier: Calendrier | None = None) -> datetime.date:
    """Last day, inclusive, of the 14 days a Belgian consumer's first reminder gives (art. XIX.2
    CDE): they start the business day after an email is sent, the third business day after a
    letter is posted; the 14th day, if a closed day, moves to the next business day.
    `calendrier`: the consumer's (Belgian) business days, by default Belgium's."""
    if canal not in CANAUX_ECRITS:
        raise ValueError(f"canal {canal!r} : un rappel écrit (email ou courrier) est attendu")
    calendrier = calendrier or calendrier_de("BE")
    debut = calendrier.apres_ouvres(jour_envoi, CANAUX_ECRITS[canal])
    return calendrier.prochain_ouvre(debut + datetime.timedelta(days=13))


def debut_delai_consommateur_be(jour_envoi: datetime.date, canal: str,
                                calendrier: Calendrier | None = None) -> datetime.date:
    """First day of that window (the reminder quotes both)."""
    if canal not in CANAUX_ECRITS:
        raise ValueError(f"canal {canal!r} : un rappel écrit (email ou courrier) est attendu")
    return (calendrier or calendrier_de("BE")).apres_ouvres(jour_envoi, CANAUX_ECRITS[canal])


@dataclass(frozen=True)
class Regime:
    """Which law applies to one client, and the creditor's terms."""

    pays: str = "FR"  # the law's country (`pays_de_la_loi`): a consumer's own
    particulier: bool = False
    taux_fixe: Decimal | None = Decimal("12.15")  # None: the legal rate (ECB + 10 / + 8)
    indemnite: Decimal = Decimal("40")
    # The contract provides damages for a consumer's late payment (Belgium, art. XIX.4 CDE:
    # without such a clause a Belgian consumer owes neither interest nor indemnity).
    clause_consommateur: bool = False

    @property
    def consommateur_be(self) -> bool:
        return self.particulier and self.pays == "BE"


@dataclass(frozen=True)
class Periode:
    """Days at one rate (one half-year, or consecutive ones at the same rate): `debut` and
    `fin` both counted; `montant` = base × taux / 100 × jours / 365, rounded to the cent."""

    debut: datetime.date
    fin: datetime.date
    jours: int
    taux: Decimal
    plancher: bool = False  # the contract rate was raised to 3 × the legal interest rate
    base: Decimal = ZERO
    montant: Decimal = ZERO


@dataclass(frozen=True)
class Penalite:
    """What one invoice costs its debtor on top of the amount due, at one date."""

    numero: str
    base: Decimal                 # remaining amount the interest is computed on
    depuis: datetime.date | None  # first day of interest; None when none runs yet
    periodes: tuple[Periode, ...]
    interets: Decimal
    indemnite: Decimal
    taux_manquants: tuple[str, ...] = ()

    @property
    def jours(self) -> int:
        return sum(p.jours for p in self.periodes)

    @property
    def total(self) -> Decimal:
        return self.interets + self.indemnite


def compute(numero: str, reste_du: Decimal, echeance: datetime.date, date: datetime.date,
            regime: Regime, table: TableTaux, *, mise_en_demeure: datetime.date | None = None,
            premier_rappel: datetime.date | None = None,
            fin_delai: datetime.date | None = None) -> Penalite:
    """Penalties of one invoice claimed in a letter dated `date`.

    `mise_en_demeure`: date of the formal notice (French private individuals: interest runs
    from it). Belgian private individuals: nothing is due up to `fin_delai`, the last day of
    the window their first reminder gave (`fin_delai_consommateur_be`), inclusive; given only
    `premier_rappel` (the reminder's date), the window is counted as for an email.
    """
    if reste_du <= 0:
        return Penalite(numero, reste_du, None, (), ZERO, ZERO)
    if regime.consommateur_be:
        if fin_delai is None and premier_rappel is not None:
            fin_delai = fin_delai_consommateur_be(premier_rappel, "email")
        if fin_delai is None or not regime.clause_consommateur:
            return Penalite(numero, reste_du, None, (), ZERO, ZERO)
    start = _last_day_without_interest(echeance, regime, mise_en_demeure, fin_delai)
    spans: list[tuple[datetime.date, datetime.date, Decimal, bool]] = []
    missing: list[str] = []
    if start is not None and date > start:
        day = start + datetime.timedelta(days=1)
        while day <= date:
            semestre = Semestre.of(day)
            fin = min(semestre.fin, date)
            taux, plancher, missing_here = _rate(semestre, regime, table)
            missing += [m for m in missing_here if m not in missing]
            if spans and spans[-1][2:] == (taux, plancher):
                spans[-1] = (spans[-1][0], fin, taux, plancher)  # the same rate goes on
            else:
                spans.append((day, fin, taux, plancher))
            day = fin + datetime.timedelta(days=1)
    periodes = tuple(periode(reste_du, debut, fin, taux, plancher)
                     for debut, fin, taux, plancher in spans)
    indemnite = _indemnite(reste_du, date, regime, fin_delai)
    return Penalite(numero, reste_du, periodes[0].debut if periodes else None, periodes,
                    sum((p.montant for p in periodes), ZERO), indemnite, tuple(missing))


def periode(base: Decimal, debut: datetime.date, fin: datetime.date, taux: Decimal,
            plancher: bool = False) -> Periode:
    """One line of interest: its days (both ends counted) and its amount to the cent."""
    jours = (fin - debut).days + 1
    montant = (base * taux / 100 * jours / DAYS_A_YEAR).quantize(CENT, ROUND_HALF_UP)
    return Periode(debut, fin, jours, taux, plancher, base, montant)


def plancher_legal(table: TableTaux, semestre: Semestre) -> tuple[Decimal, Decimal, bool]:
    """(floor, legal interest rate, that rate is in the table) of a half-year: a French
    professional's contract rate may not be below three times the legal interest rate
    (art. L441-10 C. com.)."""
    legal, known = table.rate("interet_legal", semestre)
    return 3 * legal, legal, known


def _last_day_without_interest(echeance, regime, mise_en_demeure, fin_delai):
    if not regime.particulier:
        return echeance
    if regime.pays == "BE":
        return fin_delai
    return mise_en_demeure


def _rate(semestre: Semestre, regime: Regime, table: TableTaux) -> tuple[Decimal, bool, list[str]]:
    """(annual rate in %, floor applied, missing table entries) for one half-year."""
    missing: list[str] = []

    def lookup(name: str) -> Decimal:
        value, known = table.rate(name, semestre)
        if not known:
            missing.append(f"{'taux BCE' if name == 'bce' else 'taux de l’intérêt légal'} {semestre}")
        return value

    if regime.pays == "BE":
        reference = ((lookup("bce") + 8) * 2).to_integral_value(ROUND_CEILING) / 2
        if regime.particulier and regime.taux_fixe is not None:
            return min(regime.taux_fixe, reference), False, missing
        return (reference if regime.taux_fixe is None else regime.taux_fixe), False, missing
    if regime.particulier:
        return lookup("interet_legal"), False, missing
    if regime.taux_fixe is None:
        return lookup("bce") + 10, False, missing
    plancher = 3 * lookup("interet_legal")
    if regime.taux_fixe < plancher:  # the clause is unlawful (L441-16): the law's rate applies
        return plancher, True, missing
    return regime.taux_fixe, False, missing


def _indemnite(reste_du: Decimal, date: datetime.date, regime: Regime,
               fin_delai: datetime.date | None) -> Decimal:
    if not regime.particulier:
        return regime.indemnite
    if not regime.consommateur_be or not regime.clause_consommateur or regime.indemnite <= 0:
        return ZERO  # a French consumer: no fixed indemnity (art. L441-10 is for professionals)
    if fin_delai is None or date <= fin_delai:
        return ZERO
    return bareme_belge(reste_du)


def bareme_belge(reste_du: Decimal) -> Decimal:
    """Most a Belgian consumer can be charged as a fixed indemnity for one unpaid amount."""
    if reste_du <= 150:
        amount = Decimal(20)
    elif reste_du <= 500:
        amount = 30 + (reste_du - 150) * Decimal("0.10")
    else:
        amount = min(65 + (reste_du - 500) * Decimal("0.05"), Decimal(2000))
    return amount.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Calcul:
    """The penalties of one message or letter, as templates see them (`penalites.total`)."""

    regime: Regime
    date: datetime.date
    lignes: tuple[Penalite, ...] = ()
    taux_du_jour: Decimal = ZERO       # rate of the letter's half-year
    plancher: bool = False             # that rate is the legal floor, not the contract's
    taux_manquants: tuple[str, ...] = ()

    @property
    def interets(self) -> Decimal:
        return sum((p.interets for p in self.lignes), ZERO)

    @property
    def indemnites(self) -> Decimal:
        return sum((p.indemnite for p in self.lignes), ZERO)

    @property
    def total(self) -> Decimal:
        return self.interets + self.indemnites

    # What the creditor's terms say, for sentences such as "au taux annuel de 12,15 %".
    @property
    def taux_legal(self) -> bool:
        return self.regime.taux_fixe is None

    @property
    def taux_annuel(self) -> Decimal:
        return self.taux_du_jour

    @property
    def indemnite_forfaitaire(self) -> Decimal:
        return self.regime.indemnite

    @property
    def particulier(self) -> bool:
        return self.regime.particulier

    @property
    def pays(self) -> str:
        return self.regime.pays

    @property
    def clause_consommateur(self) -> bool:
        return self.regime.clause_consommateur

    def ligne(self, numero: str) -> Penalite | None:
        return next((p for p in self.lignes if p.numero == numero), None)

    # The interest line by line, so that the figure can be redone from the letter.
    @property
    def periodes(self) -> tuple[tuple[str, Periode], ...]:
        """(invoice number, period) of every period that bears interest, invoice by invoice."""
        return tuple((p.numero, periode) for p in self.lignes for periode in p.periodes)

    @property
    def taux_appliques(self) -> tuple[Decimal, ...]:
        """The rates the interest was computed with, in the order of their first day."""
        ordered = sorted((periode for _, periode in self.periodes), key=lambda p: p.debut)
        return tuple(dict.fromkeys(p.taux for p in ordered))

    @property
    def plusieurs_taux(self) -> bool:
        """The interest was computed with more than one rate: no sentence may quote just one,
        the letter shows its periods."""
        return len(self.taux_appliques) > 1


def compute_all(factures, date: datetime.date, regime: Regime, table: TableTaux,
                dates: Mapping[str, tuple[datetime.date | None, ...]] | None = None
                ) -> Calcul:
    """Penalties of several invoices (objects with numero, reste_du, echeance) at one date.

    `dates` maps an invoice number to (date of its formal notice, date of its first reminder)
    or (formal notice, first reminder, end of the Belgian consumer's window — see `compute`).
    """
    dates = dates or {}

    def one(f) -> Penalite:
        notice, rappel, fin = (*dates.get(f.numero, ()), None, None, None)[:3]
        return compute(f.numero, f.reste_du, f.echeance, date, regime, table,
                       mise_en_demeure=notice, premier_rappel=rappel, fin_delai=fin)

    lignes = tuple(one(f) for f in factures)
    taux, plancher, missing = _rate(Semestre.of(date), regime, table)
    for ligne in lignes:
        missing += [m for m in ligne.taux_manquants if m not in missing]
    return Calcul(regime, date, lignes, taux, plancher, tuple(missing))
