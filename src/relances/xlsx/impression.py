"""How a tool-owned sheet prints: its scale on a landscape A4 page, and its rows' heights.

Widths are in Excel's unit, the width of a digit of the workbook's default font (Calibri 11:
7 px). A4 landscape with 0.3" side margins holds about 150 of them in Excel, about 144 in
LibreOffice with Carlito (Calibri's metric twin, which LibreOffice uses for it): PRINTABLE_WIDTH
keeps to the smaller. Where neither font is installed LibreOffice falls back to a wider one
(DejaVu Sans: about 114 across the page), and the last columns print on a further page.

Text wraps inside its column, so a row must be as tall as its longest cell. Excel computes
that when it lays a row out, LibreOffice does not when it opens an .xlsx: it keeps the height
the file gives (15 pt when none). So the tool writes each row's height as Excel would save an
auto-fitted row — `ht` without `customHeight` — from an estimate of its lines: the row stays
automatic, and Excel or LibreOffice recompute it as soon as a cell of it is edited.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

PRINTABLE_WIDTH = 140
# Below this scale text gets hard to read on paper: the columns that do not fit print on a
# further page instead, never shrunk more.
MIN_PRINT_SCALE = 85
LINE_HEIGHT = 15  # points, a line of Calibri 11 (Excel's default row)
MAX_ROW_HEIGHT = 409  # Excel's limit
_PADDING = 0.7  # of a column's width, taken by the cell's margins
_NARROW = frozenset(" .,;:!'’|()[]ijlft")
_PIECE = re.compile(r"[^ -]+-?|-| +")  # a word (with the hyphen after it) or spaces


def print_scale(widths: Iterable[float]) -> int:
    """The print scale (percent) of a sheet whose columns have `widths`: 100 when they fit
    across a landscape A4 page, less when a little too wide, never below MIN_PRINT_SCALE."""
    total = sum(widths)
    if total <= PRINTABLE_WIDTH:
        return 100
    return max(MIN_PRINT_SCALE, math.floor(100 * PRINTABLE_WIDTH / total))


def _weight(char: str) -> float:
    """A character's width in digits (Calibri and its stand-ins), a little on the generous side:
    a row a little too tall is better than a line cut off."""
    if char in _NARROW:
        return 0.5
    if char.isdigit():
        return 1.0
    if char.isupper() or char in "mwMW@%€—":
        return 1.2
    return 0.9


def lines(text: str, width: float, bold: bool = False) -> int:
    """How many lines `text` takes wrapped in a column `width` wide: words are kept whole and
    break after a space or a hyphen; a word wider than the column is cut."""
    room = max(width - _PADDING, 1.0) / (1.1 if bold else 1.0)
    if len(text) * 1.25 <= room and "\n" not in text:
        return 1  # the usual short cell, without measuring
    count = 0
    for paragraph in text.split("\n"):
        count += 1
        used = 0.0
        for piece in _PIECE.findall(paragraph):
            size = sum(map(_weight, piece))
            if piece[0] == " ":
                used += size if used else 0.0
            elif used + size <= room:
                used += size
            elif size <= room:
                count, used = count + 1, size
            else:
                for char in piece:  # wider than the column: cut where it is full
                    step = _weight(char)
                    if used + step > room and used:
                        count, used = count + 1, 0.0
                    used += step
    return count


def row_height(texts: Iterable[tuple[str, float]], bold: bool = False) -> float | None:
    """The height (points) of a row whose cells hold (text, column width), or None when one
    line is enough (the row keeps the sheet's default height)."""
    most = max((lines(text, width, bold) for text, width in texts), default=1)
    return None if most <= 1 else min(most * LINE_HEIGHT, MAX_ROW_HEIGHT)
