"""Reading one cell the French way: dates day-first, amounts with a decimal comma."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relances.cells import CellError, read_date, read_montant, read_text, split_emails
from relances.formats import date_courte, montant


@pytest.mark.parametrize("value, expected", [
    ("15/03/2026", datetime.date(2026, 3, 15)),
    ("15-03-2026", datetime.date(2026, 3, 15)),
    ("15.03.2026", datetime.date(2026, 3, 15)),
    ("2026-03-15", datetime.date(2026, 3, 15)),
    ("5/3/2026", datetime.date(2026, 3, 5)),
    ("05/03/26", datetime.date(2026, 3, 5)),
    (" 15/03/2026 00:00:00 ", datetime.date(2026, 3, 15)),
    (datetime.datetime(2026, 3, 15, 0, 0), datetime.date(2026, 3, 15)),
    (datetime.date(2026, 3, 15), datetime.date(2026, 3, 15)),
    (46096.0, datetime.date(2026, 3, 15)),  # a date cell that lost its format
    (None, None), ("", None), (float("nan"), None),
])
def test_dates_are_read_day_first(value, expected):
    assert read_date(value) == expected


@pytest.mark.parametrize("value, message", [
    ("31/02/2026", "date inexistante « 31/02/2026 »"),
    ("demain", "date illisible « demain »"),
    ("03/15/2026", "date inexistante « 03/15/2026 »"),
    (12.5, "date illisible « 12.5 »"),
])
def test_unreadable_dates_are_refused_with_the_value_quoted(value, message):
    with pytest.raises(CellError, match=message):
        read_date(value)


@pytest.mark.parametrize("value, expected", [
    ("1234,56", "1234.56"), ("1 234,56 €", "1234.56"), ("1\u202f234,56\u00a0€", "1234.56"),
    ("1.234,56", "1234.56"), ("1234.56", "1234.56"), ("1 234", "1234"), ("1.234.567", "1234567"),
    ("1,234.56", "1234.56"), ("-120,00", "-120.00"), ("(120,00)", "-120.00"), ("12 EUR", "12"),
    ("0,5", "0.50"), (1234.56, "1234.56"), (1234.5600000000002, "1234.56"), (42, "42"),
    ("1 234 567,8", "1234567.80"),
])
def test_amounts_are_read_the_french_way(value, expected):
    assert read_montant(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["1.234", "12,345", "abc", "1,2,3,4", "12,3456", "€"])
def test_ambiguous_or_unreadable_amounts_are_refused(value):
    with pytest.raises(CellError, match=r"montant (illisible|ambigu)"):
        read_montant(value)


def test_empty_amount_is_none():
    assert read_montant(None) is None and read_montant("  ") is None


@given(st.decimals(min_value=Decimal("-9999999.99"), max_value=Decimal("9999999.99"), places=2))
def test_an_amount_formatted_by_babel_reads_back_to_itself(amount):
    assert read_montant(montant(amount)) == amount


@given(st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2100, 12, 31)))
def test_a_date_formatted_the_french_way_reads_back_to_itself(day):
    assert read_date(date_courte(day)) == day
    assert read_date(day.isoformat()) == day


def test_invoice_numbers_typed_as_numbers_lose_excels_decimal_point():
    assert read_text(1042.0) == "1042"


def test_a_cell_may_hold_several_addresses():
    assert split_emails("a@x.fr; b@y.fr , c@z.fr") == ("a@x.fr", "b@y.fr", "c@z.fr")
