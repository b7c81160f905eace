"""French (and English) formatting of money and dates, through Babel only.

Used by the templates (as Jinja2 filters), the summary and the workbook's text cells, so that an
amount or a date reads the same everywhere: `1 234,56 €`, `22 novembre 2026`, `22/11/2026`.
"""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def locale_of(langue: str) -> str:
    return LOCALES.get(langue, "fr_FR")


@functools.lru_cache(maxsize=1 << 16)
def montant(value: Decimal, langue: str = "fr") -> str:
    """`1 234,56 €` in French (Babel's narrow no-break spaces), `€1,234.56` in English."""
    return format_currency(value, "EUR", locale=locale_of(langue))


def nombre(value: Decimal, langue: str = "fr") -> str:
    return format_decimal(value, locale=locale_of(langue))


@functools.lru_cache(maxsize=4096)
def date_longue(value: datetime.date, langue: str = "fr") -> str:
    """`22 novembre 2026`; the first of the month is `1er novembre 2026`, as French writes it."""
    if langue == "fr" and value.day == 1:
        return format_date(value, "d'er' MMMM y", locale="fr_FR")
    return format_date(value, "long", locale=locale_of(langue))


@functools.lru_cache(maxsize=4096)
def date_courte(value: datetime.date, langue: str = "fr") -> str:
    """`22/11/2026`."""
    return format_date(value, "dd/MM/y", locale=locale_of(langue))


def en_lettres(value: int, langue: str = "fr") -> str:
    """`huit` for 8: deadlines in letters are written out, as lawyers write them."""
    from num2words import num2words

    return num2words(int(value), lang="en" if langue == "en" else "fr")


def montant_arrondi(value: Decimal, langue: str = "fr") -> str:
    """`20 000 €`: a chart axis or a report total, to the euro."""
    return format_currency(value, "EUR", format="#,##0\u00a0¤", locale=locale_of(langue),
                           currency_digits=False)


def pourcent(value: Decimal, langue: str = "fr") -> str:
    """`26,3 %` (a share already in percent)."""
    return format_decimal(value, format="0.0", locale=locale_of(langue)) + "\u202f%"
