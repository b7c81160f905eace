"""Reading stage: turn one cell's value into a date, an amount or text, the French way.

Cells come from python-calamine as `datetime`, `date`, `float`, `int`, `str` or empty. Text is
read the way a French user types it: day before month, always; decimal comma; spaces, dots or
non-breaking spaces between thousands; an optional euro sign. A value that could mean two
different things is refused rather than guessed.
"""

from __future__ import annotations

import datetime
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .records import CENT

EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Beyond these a value is a typing slip, and date arithmetic (due date + 60 days) would
# overflow: the row is reported, never chased.
FIRST_YEAR, LAST_YEAR = 1900, 2200
MAX_MONTANT = Decimal("1000000000000")  # a thousand billion euros


class CellError(ValueError):
    """The cell's value cannot be read; the message is French and quotes the value."""


def is_empty(value: object) -> bool:
    if value is None:
        return True
    kind = type(value)  # the reader's plain types first: one test each, 800,000 cells a run
    if kind is str:
        return not value.strip()
    if kind is int or kind is bool:
        return False
    if kind is float:
        return math.isnan(value)
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    # pandas' NaT and NA compare unequal to themselves.
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def quote(value: object, limit: int = 60) -> str:
    """A cell's value as shown in a message: one line, control characters made visible,
    a long text cut (a 40,000-character cell must not fill the summary)."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    text = value.isoformat() if isinstance(value, datetime.date) else str(value)
    text = re.sub(r"[\x00-\x1f\x7f]", "\N{REPLACEMENT CHARACTER}", " ".join(text.split()))
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text)} caractères)"
    return f"« {text} »"


_DATE_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def read_date(value: object) -> datetime.date | None:
    """A date from a real Excel date, an ISO or day-first text, or an Excel serial number."""
    if is_empty(value):
        return None
    if isinstance(value, datetime.datetime):
        return _in_range(value.date(), value)
    if isinstance(value, datetime.date):
        return _in_range(value, value)
    if isinstance(value, bool):
        raise CellError(f"date illisible {quote(value)}")
    if isinstance(value, (int, float)):
        # A date cell that lost its date format still holds Excel's serial day number.
        if float(value).is_integer() and 1 <= value <= 2958465:
            return _in_range(EXCEL_EPOCH + datetime.timedelta(days=int(value)), value)
        raise CellError(f"date illisible {quote(value)}")
    text = str(value).strip()
    # "15/03/2026 00:00:00" and "2026-03-15T00:00:00" keep only their date part.
    head = re.split(r"[ T]", text, maxsplit=1)[0]
    if match := _DATE_ISO.match(head):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DATE_DMY.match(head):
        day, month, year = (int(g) for g in match.groups())
        if year < 100:
            year += 2000
    else:
        raise CellError(f"date illisible {quote(value)} (attendu : JJ/MM/AAAA)")
    try:
        return _in_range(datetime.date(year, month, day), value)
    except ValueError:
        raise CellError(f"date inexistante {quote(value)}") from None


def _in_range(day: datetime.date, value: object) -> datetime.date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise CellError(f"date hors limites {quote(value)} (entre {FIRST_YEAR} et {LAST_YEAR})")
    return day


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_CURRENCY = re.compile(r"(€|eur(os?)?)", re.IGNORECASE)


def read_montant(value: object) -> Decimal | None:
    """An amount in euros, to the cent. Text such as `1 234,56 €` or `1.234,56` is accepted."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise CellError(f"montant illisible {quote(value)}")
    if isinstance(value, Decimal):
        return _bounded(value, value)
    if isinstance(value, int):
        return _bounded(Decimal(value), value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"montant illisible {quote(value)}")
        # repr() gives the shortest decimal that round-trips: 1234.56, not 1234.5599999…
        return _bounded(Decimal(repr(value)), value)
    return _read_montant_text(str(value))


def _bounded(amount: Decimal, value: object) -> Decimal:
    if not amount.is_finite() or abs(amount) >= MAX_MONTANT:
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)[:40]
        raise CellError(f"montant hors limites « {shown} » (moins de mille milliards attendu)")
    return amount.quantize(CENT, ROUND_HALF_UP)


def _read_montant_text(raw: str) -> Decimal:
    text = _CURRENCY.sub("", raw)
    text = _SPACES.sub("", text)
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.startswith("-") or text.startswith("\u2212"):
        negative, text = True, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    if not text or not re.fullmatch(r"[\d.,]+", text) or not text[0].isdigit():
        raise CellError(f"montant illisible {quote(raw)}")
    if re.fullmatch(r"\d{1,3}[.,]\d{3}", text):
        raise CellError(
            f"montant ambigu {quote(raw)} : écrivez par exemple 1234 ou 1,234 sans ambiguïté"
        )
    has_comma, has_dot = "," in text, "." in text
    if has_comma and has_dot:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
    elif has_comma:
        decimal_sep = "," if text.count(",") == 1 else None
    elif has_dot:
        decimal_sep = "." if text.count(".") == 1 else None
    else:
        decimal_sep = None
    if decimal_sep is None:
        fraction = ""
        thousands = text.replace(",", ".")
        if "." in thousands and not re.fullmatch(r"\d{1,3}(\.\d{3})+", thousands):
            raise CellError(f"montant illisible {quote(raw)}")
        integer = thousands.replace(".", "")
    else:
        integer, _, fraction = text.rpartition(decimal_sep)
        grouped = integer.replace("," if decimal_sep == "." else ".", " ")
        if " " in grouped and not re.fullmatch(r"\d{1,3}( \d{3})+", grouped):
            raise CellError(f"montant illisible {quote(raw)}")
        integer = grouped.replace(" ", "")
        if not fraction or not fraction.isdigit() or not integer:
            raise CellError(f"montant illisible {quote(raw)}")
        if len(fraction) > 2:
            raise CellError(f"montant illisible {quote(raw)} : plus de deux décimales")
    try:
        amount = Decimal(f"{integer}.{fraction or '0'}")
    except InvalidOperation:
        raise CellError(f"montant illisible {quote(raw)}") from None
    amount = _bounded(amount, raw.strip())
    return -amount if negative else amount


def read_text(value: object) -> str:
    """Text of a cell, trimmed; numbers typed as invoice numbers lose Excel's `.0`."""
    if type(value) is str:
        return value.strip()
    if is_empty(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return str(value).strip()


_EMAIL_SPLIT = re.compile(r"[;,]")


def split_emails(value: object) -> tuple[str, ...]:
    """The addresses of one cell: several may be separated by `;` or `,`."""
    text = read_text(value)
    if not text:
        return ()
    return tuple(part.strip() for part in _EMAIL_SPLIT.split(text) if part.strip())
