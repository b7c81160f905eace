"""One worksheet part: cells patched in place, or a tool-owned sheet built whole.

`SheetPatch` works on the sheet's bytes. It finds the rows of `<sheetData>` once, and when a
cell must change it rewrites only that `<c>` element (and, for a new column, the header row's
new cell, the `<cols>` width and the `<dimension>`). Every other byte of the part — other cells,
formulas with their cached values, merged cells, conditional formats, validations, extLst,
print settings — is copied as it was. A cell that holds a formula is never overwritten.

`build_sheet` writes a whole sheet for a tool-owned sheet such as Journal: header row, frozen
pane, widths, dates and amounts with their formats, text always as text (inline strings).
"""

from __future__ import annotations

import bisect
import datetime
import functools
import heapq
import io
import html
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO, Iterable, Sequence

from ..errors import WorkbookError
from .impression import print_scale, row_height
from .package import MAIN_NS, PKG_REL_NS, REL_NS, xml_attr, xml_text
from .styles import Styles, attributes


@dataclass(frozen=True)
class Lien:
    """A cell showing `texte` and opening `cible` (a path relative to the workbook) when
    clicked: a real cell hyperlink, not a HYPERLINK formula."""

    texte: str
    cible: str


Value = str | int | Decimal | datetime.date | Lien | None
HYPERLINK_REL = REL_NS + "/hyperlink"

_ROW = re.compile(rb"<((?:\w+:)?)row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row\s*>)", re.S)
_ROW_START = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(/?)>")
_CELL = re.compile(rb"<((?:\w+:)?)c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c\s*>)", re.S)
_V = re.compile(rb"<(?:\w+:)?v\b[^>]*>(.*?)</(?:\w+:)?v\s*>", re.S)
_V_EMPTY = re.compile(rb"<(?:\w+:)?v\b[^>]*/>")
_T = re.compile(rb"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t\s*>", re.S)
_RPH = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh\s*>", re.S)
_F = re.compile(rb"<(?:\w+:)?f\b")
_R = re.compile(rb"\br\s*=\s*[\"'](\d+)[\"']")
_ERROR = re.compile(rb"\st\s*=\s*[\"']e[\"']")
_ERROR_OR_FORMULA = re.compile(rb"\st\s*=\s*[\"']e[\"']|<(?:\w+:)?f[\s>/]")
# Where a cell may not hold a value: an error, or a formula not followed by a non-empty cached
# value. A formula with its value (the common case, one per row for a Reste dû column) is not
# a hit, so the sheet is scanned at the speed of the regex engine.
_SUSPECT = re.compile(rb"\st\s*=\s*[\"']e[\"']|(?:</(?:\w+:)?f\s*>|<(?:\w+:)?f\b[^>]*/>)"
                      rb"(?!\s*<(?:\w+:)?v\b[^>/]*>\s*[^<\s])")
# _SUSPECT's parts, for unprefixed sheets (see SheetPatch._suspects): an error value ending
# where the search stops, and a formula element's end not followed by a value.
_ERROR_ENDING = re.compile(_ERROR.pattern + rb"\Z")
_FORMULA_NO_VALUE = re.compile(rb"(?:</f\s*>|<f\b[^>]*/>)(?!\s*<(?:\w+:)?v\b[^>/]*>\s*[^<\s])")
_KEEP_ATTR = re.compile(rb"\s(?:r|s)\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_R_REF = re.compile(rb"\br\s*=\s*[\"']([A-Z]+)(\d+)[\"']")
_S_ATTR = re.compile(rb'\ss="(\d+)"')
_T_ATTR = re.compile(rb'\st="(\w+)"')
_CELL_REF = re.compile(rb"<(?:\w+:)?c r=\"([A-Z]+)\d+\"")
_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
# Characters XML 1.0 cannot hold at all; they are dropped from text written into a cell.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_EPOCH_1904 = datetime.date(1904, 1, 1)


def _widen_spans(start_tag: bytes, columns: list[int]) -> bytes:
    """A row's `spans="a:b"` hint widened to cover `columns` (left alone when absent)."""
    found = re.search(rb'spans\s*=\s*"(\d+):(\d+)"', start_tag)
    if found is None:
        return start_tag
    low = min(int(found.group(1)), *columns)
    high = max(int(found.group(2)), *columns)
    return start_tag[:found.start()] + f'spans="{low}:{high}"'.encode() + start_tag[found.end():]


@functools.lru_cache(maxsize=None)
def _letters(column: int) -> bytes:
    return column_letter(column).encode()


@functools.lru_cache(maxsize=None)
def _index(letters: bytes) -> int:
    return column_index(letters.decode())


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index


def split_ref(ref: str) -> tuple[int, int]:
    """"B12" -> (12, 2)."""
    match = _REF.match(ref.upper().replace("$", ""))
    if match is None:
        raise ValueError(ref)
    return int(match.group(2)), column_index(match.group(1))


def clean_text(text: str) -> str:
    return _NOT_XML.sub("", text)


@dataclass
class Cell:
    """What a cell holds today, as read from the sheet's bytes."""

    column: int
    style: int | None
    value: object  # str, Decimal, bool, "#ERR" text for errors, or None
    formula: bool
    raw: bytes


def encode_cell(ref: str, value: Value, style: int | None, epoch: datetime.date,
                prefix: str = "") -> str:
    """One `<c>` element: empty, a boolean, a date as its serial number, a number, or text —
    always an inline string, never a formula, whatever the text starts with."""
    p = prefix
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<{p}c r="{ref}"{s}/>'
    if isinstance(value, bool):
        return f'<{p}c r="{ref}"{s} t="b"><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, datetime.datetime):
        moment = value - datetime.datetime.combine(epoch, datetime.time())
        serial = Decimal(moment.days) + Decimal(moment.seconds) / Decimal(86400)
        return f'<{p}c r="{ref}"{s}><{p}v>{serial.quantize(Decimal("0.00000001")):f}</{p}v></{p}c>'
    if isinstance(value, Lien):
        value = value.texte
    if isinstance(value, datetime.date):
        return f'<{p}c r="{ref}"{s}><{p}v>{(value - epoch).days}</{p}v></{p}c>'
    if isinstance(value, (int, Decimal)):
        number = format(value, "f") if isinstance(value, Decimal) else str(value)
        return f'<{p}c r="{ref}"{s}><{p}v>{number}</{p}v></{p}c>'
    text = clean_text(str(value))
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return (f'<{p}c r="{ref}"{s} t="inlineStr"><{p}is><{p}t{space}>{xml_text(text)}'
            f'</{p}t></{p}is></{p}c>')


def _as_read(value: object) -> str:
    """A cell's value as the reader (python-calamine) gives it as text: a number goes
    through a float, as there (1E+30 reads 1000000000000000019884624838656)."""
    if isinstance(value, Decimal):
        value = float(value)
        if value.is_integer():
            return str(int(value))
    return "" if value is None else str(value).strip()


def _unknown(cell: bytes) -> str:
    """What a cell holds instead of a value, or '' when it has one."""
    head = cell[:cell.find(b">") + 1]
    if _ERROR.search(head):
        value = _V.search(cell)
        return (f"valeur d’erreur {html.unescape(value.group(1).decode()).strip()}"
                if value else "valeur d’erreur")
    if _F.search(cell):
        value = _V.search(cell)
        text = value.group(1).strip() if value else b""
        if re.search(rb"\st\s*=\s*[\"']str[\"']", head):  # a text result may be ""
            has_value = value is not None or _V_EMPTY.search(cell) is not None
        else:
            has_value = bool(text)
        if not has_value:
            return "formule sans valeur calculée"
    return ""


def _decode(attrs: dict[str, str], body: bytes, shared: Sequence[str]) -> tuple[object, bool]:
    kind = attrs.get("t", "n")
    formula = bool(_F.search(body))
    if kind == "inlineStr":
        inline = _RPH.sub(b"", body)
        return "".join(html.unescape(t.decode("utf-8")) for t in _T.findall(inline)), formula
    match = _V.search(body)
    text = html.unescape(match.group(1).decode("utf-8")) if match else None
    if text is None:
        return None, formula
    if kind == "s":
        try:
            return shared[int(text)], formula
        except (ValueError, IndexError):
            return None, formula
    if kind in ("str", "e", "d"):
        return text, formula
    if kind == "b":
        return text.strip() in ("1", "true"), formula
    try:
        return Decimal(text.strip()), formula
    except ArithmeticError:
        return text, formula


class SheetPatch:
    """A worksheet's bytes and the cells to change in them.

    `set(row, column, value, number_format)` records a wish; `bytes()` applies them all. A wish
    that would not change the cell is dropped, so a second run on the same day changes nothing.
    """

    def __init__(self, data: bytes, shared: Sequence[str], styles: Styles, date1904: bool,
                 where: str):
        self.data, self.shared, self.styles, self.where = data, shared, styles, where
        self.epoch = EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH
        head = data[:200]
        if b"encoding" in head and not re.search(rb'encoding=["\']utf-?8["\']', head, re.I):
            raise WorkbookError(f"{where} : encodage XML autre qu’UTF-8, non pris en charge")
        start = re.search(rb"<((?:\w+:)?)sheetData\b[^>]*?(/?)>", data)
        if start is None:
            raise WorkbookError(f"{where} : feuille sans données (sheetData absent)")
        self.prefix = start.group(1)
        self._prefix_text = self.prefix.decode()
        if start.group(2):  # <sheetData/>: no rows yet; opened so that rows can go in
            tag = self.prefix + b"sheetData"
            data = data[:start.start()] + b"<" + tag + b"></" + tag + b">" + data[start.end():]
            self.data = data
            self.body_start = self.body_end = start.start() + len(tag) + 2
        else:
            end = re.compile(rb"</(?:\w+:)?sheetData\s*>").search(data, start.end())
            if end is None:
                raise WorkbookError(f"{where} : XML de la feuille tronqué")
            self.body_start, self.body_end = start.end(), end.start()
        self.rows: dict[int, tuple[int, int]] = {}  # row number -> (start, end) in data
        self.order: list[int] = []
        previous = 0
        closing = b"</" + self.prefix + b"row>"
        for match in _ROW_START.finditer(data, self.body_start, self.body_end):
            if match.group(2):  # <row …/>: an empty row
                row_end = match.end()
            else:
                row_end = data.find(closing, match.end(), self.body_end)
                if row_end < 0:
                    raise WorkbookError(f"{where} : XML de la feuille tronqué")
                row_end += len(closing)
            found = _R.search(match.group(1))
            number = int(found.group(1)) if found else previous + 1
            previous = number
            self.rows[number] = (match.start(), row_end)
            self.order.append(number)
        if self.order != sorted(self.order):
            raise WorkbookError(f"{where} : lignes dans le désordre, feuille non modifiable")
        self._wishes: dict[int, dict[int, tuple[Value, str | None, int | None]]] = {}
        self._widths: dict[int, float] = {}
        self._expected: dict[int, tuple[int, str]] = {}
        self.formula_refused: list[tuple[int, int]] = []
        # (row, column, value found) of rows that did not hold what they were read with.
        self.unmatched: list[tuple[int, int, object]] = []
        self.cells_added = 0
        # `<c…` tags other than cells (rich text: <color>, <charset>…) inside replaced cells,
        # so that count_cells() before and after can be compared exactly.
        self.tags_removed = 0
        self.rows_changed: set[int] = set()
        self._cols = self._read_cols()
        self._column_styles: dict[int, int] = {}

    # ------------------------------------------------------------ reading

    def cells(self, row: int) -> list[Cell]:
        span = self.rows.get(row)
        if span is None:
            return []
        return self._parse_row(self.data[span[0]:span[1]])[1]

    def _referenced(self, span: tuple[int, int]) -> bool:
        """Every cell of the row starts `<c r="…"` and the row is not self-closing."""
        start, end = span
        data = self.data
        if data[end - 2:end] == b"/>":
            return False
        cell = b"<" + self.prefix + b"c"
        referenced = data.count(cell + b' r="', start, end)
        if data.count(cell, start, end) == referenced:
            return True  # the common case: no other element name starts with "c" here
        opened = (data.count(cell + b" ", start, end) + data.count(cell + b">", start, end)
                  + data.count(cell + b"/", start, end) + data.count(cell + b"\t", start, end)
                  + data.count(cell + b"\n", start, end) + data.count(cell + b"\r", start, end))
        return opened == referenced

    def _cell_of(self, match: re.Match, column: int) -> Cell:
        head = match.group(2)
        found_s, found_t = _S_ATTR.search(head), _T_ATTR.search(head)
        attrs = {"t": found_t.group(1).decode()} if found_t else {}
        style = int(found_s.group(1)) if found_s else None
        value, formula = _decode(attrs, match.group(3) or b"", self.shared)
        return Cell(column, style, value, formula, match.group(0))

    def _suspects(self) -> list[int]:
        """Where `_SUSPECT` matches in the rows, found by searching bytes first — an error
        value (`"e"` quoted) or a formula element's end (`</f`, `<f…/>`) — and checking each
        place with the same pattern's parts: the whole-sheet regex scan was the slowest part
        of reading a large workbook. Sheets whose elements carry a namespace prefix (rare)
        are scanned by `_SUSPECT` itself."""
        data, start, end = self.data, self.body_start, self.body_end
        if self.prefix or data.find(b":f", start, end) >= 0:
            return [hit.start() for hit in _SUSPECT.finditer(data, start, end)]
        found = []
        for quoted in (b'"e"', b"'e'"):
            i = data.find(quoted, start, end)
            while i >= 0:
                hit = _ERROR_ENDING.search(data, max(start, i - 64), i + 3)
                if hit is not None:
                    found.append(hit.start())
                i = data.find(quoted, i + 1, end)
        for tag in (b"</f", b"<f"):
            i = data.find(tag, start, end)
            while i >= 0:
                if _FORMULA_NO_VALUE.match(data, i, end):
                    found.append(i)
                i = data.find(tag, i + 1, end)
        return sorted(found)

    def _enclosing(self, pattern: re.Pattern):
        """Each cell (match of _CELL) in which `pattern` occurs, once, in order."""
        data, start, end = self.data, self.body_start, self.body_end
        done_until = -1
        opening = (b"<" + self.prefix + b"c ", b"<" + self.prefix + b"c>")
        hits = (self._suspects() if pattern is _SUSPECT
                else [hit.start() for hit in pattern.finditer(data, start, end)])
        for position in hits:
            if position < done_until:
                continue
            # A cell's start tag is just before its t="e" or its first child <f>: look back a
            # little, not to the start of the sheet (that would be quadratic).
            window = max(start, position - 4096)
            cell_start = max(data.rfind(opening[0], window, position),
                             data.rfind(opening[1], window, position))
            match = _CELL.match(data, cell_start, end) if cell_start >= 0 else None
            if match is None or match.end() <= position:
                continue
            done_until = match.end()
            yield match

    def unknown_cells(self) -> dict[tuple[int, int], str]:
        """(row, column) -> what stands where a value should be: an error value (`#N/A`,
        `#SPILL!`…) or « formule sans valeur calculée ». Such a cell must never be read as
        empty: a reader that sees it empty (calamine) would chase a paid invoice."""
        found: dict[tuple[int, int], str] = {}
        for match in self._enclosing(_SUSPECT):
            what = _unknown(match.group(0))
            if not what:
                continue
            ref = _R_REF.search(match.group(2))
            if ref is not None:
                found[(int(ref.group(2)), _index(ref.group(1)))] = what
                continue
            row = self._row_at(match.start())  # a cell placed by position
            for cell in self.cells(row) if row else []:
                if _unknown(cell.raw):
                    found[(row, cell.column)] = _unknown(cell.raw)
        return found

    def merged_ranges(self) -> list[tuple[int, int, int, int]]:
        """The sheet's merged cells as (first row, first column, last row, last column)."""
        found = []
        for match in re.finditer(rb"<(?:\w+:)?mergeCell\b[^>]*?ref\s*=\s*[\"']([A-Z]+\d+):"
                                 rb"([A-Z]+\d+)[\"']", self.data[self.body_end:]):
            try:
                top, left = split_ref(match.group(1).decode())
                bottom, right = split_ref(match.group(2).decode())
            except ValueError:
                continue
            found.append((top, left, bottom, right))
        return found

    def _row_at(self, position: int) -> int | None:
        index = bisect.bisect([self.rows[n][0] for n in self.order], position) - 1
        return self.order[index] if index >= 0 else None

    def without_errors(self) -> bytes | None:
        """The sheet with error-valued cells emptied (None when it has none), for a reader
        that stops at error values it does not know (calamine and `#SPILL!`)."""
        out, position = [], 0
        for match in self._enclosing(_ERROR):
            if not _ERROR.search(match.group(2)):
                continue
            keep = b"".join(m.group(0) for m in _KEEP_ATTR.finditer(match.group(2)))
            out.append(self.data[position:match.start()])
            out.append(b"<" + match.group(1) + b"c" + keep + b"/>")
            position = match.end()
        if not out:
            return None
        out.append(self.data[position:])
        return b"".join(out)

    def values(self, first: int, last: int) -> list[list[object]]:
        """Rows `first`..`last` as value lists (column 1 at index 0), for finding the header."""
        out = []
        for number in range(first, last + 1):
            cells = self.cells(number)
            row: list[object] = [None] * (max((c.column for c in cells), default=0))
            for cell in cells:
                row[cell.column - 1] = cell.value
            out.append(row)
        return out

    def last_column(self) -> int:
        dimension = re.search(rb"<(?:\w+:)?dimension\b[^>]*ref=\"([^\"]*)\"", self.data)
        if dimension:
            last = dimension.group(1).decode().split(":")[-1]
            try:
                return split_ref(last)[1]
            except ValueError:
                pass
        return 0

    def _parse_row(self, raw: bytes) -> tuple[re.Match, list[Cell]]:
        match = _ROW.match(raw)
        cells, previous = [], 0
        for cell in _CELL.finditer(match.group(3) or b""):
            attrs = attributes(cell.group(2))
            try:
                column = split_ref(attrs["r"])[1] if "r" in attrs else previous + 1
            except ValueError:
                column = previous + 1
            previous = column
            style = int(attrs["s"]) if attrs.get("s", "").isdigit() else None
            value, formula = _decode(attrs, cell.group(3) or b"", self.shared)
            cells.append(Cell(column, style, value, formula, cell.group(0)))
        return match, cells

    def _read_cols(self) -> list[tuple[int, int, dict[str, str]]]:
        block = re.search(rb"<(?:\w+:)?cols\b[^>]*>(.*?)</(?:\w+:)?cols\s*>", self.data, re.S)
        if block is None:
            return []
        found = []
        for col in re.finditer(rb"<(?:\w+:)?col\b([^>]*?)/?>", block.group(1)):
            attrs = attributes(col.group(1))
            try:
                found.append((int(attrs["min"]), int(attrs["max"]), attrs))
            except (KeyError, ValueError):
                continue
        return found

    def _column_style(self, column: int) -> int:
        style = self._column_styles.get(column)
        if style is None:
            style = next((int(attrs["style"]) for low, high, attrs in self._cols
                          if low <= column <= high and attrs.get("style", "").isdigit()), 0)
            self._column_styles[column] = style
        return style

    # ------------------------------------------------------------ wishing

    def set(self, row: int, column: int, value: Value, number_format: str | None = None,
            style: int | None = None) -> None:
        """Cell (row, column) should hold `value`; a General format becomes `number_format`.

        `style` forces a cell format (a new header cell copying its neighbour's)."""
        if isinstance(value, str):
            value = clean_text(value)
        self._wishes.setdefault(row, {})[column] = (value, number_format, style)

    def expect(self, row: int, column: int, text: str) -> None:
        """The row must still hold `text` in `column` (the invoice number it was read with);
        checked while patching, refused with WorkbookError otherwise."""
        self._expected[row] = (column, text)

    def _check_expected(self, number: int, value: object) -> bool:
        """Whether the row holds what it was read with; if not, it is left as it is and noted
        in `unmatched` (one row the tool cannot be sure of never stops the others)."""
        column, text = self._expected[number]
        if _as_read(value) == text:
            return True
        self.unmatched.append((number, column, value))
        return False

    def width(self, column: int, width: float) -> None:
        """A width for a column the tool adds, unless the user's `<cols>` already covers it."""
        if not any(low <= column <= high for low, high, _ in self._cols):
            self._widths[column] = width

    # ------------------------------------------------------------ writing

    def bytes(self, stream: Iterable[tuple[int, dict, tuple[int, str] | None]] = ()
              ) -> bytes | None:
        """The patched part, or None when no cell would change (see `write_body`)."""
        body = io.BytesIO()
        head = self.write_body(body, stream)
        return None if head is None else head + body.getvalue()

    def write_body(self, out: BinaryIO, stream: Iterable[tuple[int, dict, tuple[int, str] | None]]
                   = ()) -> bytes | None:
        """Write the patched part from `<sheetData>`'s content on into `out`; return the part's
        head (everything before, with `<dimension>` and `<cols>` brought up to date), or None
        when no cell would change (then `out` holds an unchanged copy, to throw away).

        `stream` gives more rows in increasing order, (row, {column: (value, format, style)}
        in column order, expected (column, text) or None), made one at a time by the caller.
        Nothing of the result is held in memory: for 50,000 rows the wishes and the patched
        sheet would otherwise weigh more than the sheet itself.
        """
        view = memoryview(self.data)
        position = self.body_start
        changed = False
        max_column = 0
        max_row = 0
        recorded = ((n, dict(sorted(self._wishes[n].items())), self._expected.get(n))
                    for n in sorted(self._wishes))
        for number, wishes, expected in heapq.merge(recorded, stream, key=lambda item: item[0]):
            if expected is not None:
                self._expected[number] = expected
            span = self.rows.get(number)
            if span is None:
                if expected is not None and not self._check_expected(number, None):
                    continue
                new_row = self._new_row(number, wishes)
                if new_row is None:
                    continue
                where = self._insert_point(number)
                out.write(view[position:where])
                out.write(new_row)
                position = where
            else:
                if self._referenced(span):
                    patched = self._patch_row_fast(number, span, wishes)
                else:
                    patched = self._patch_row(number, self.data[span[0]:span[1]], wishes)
                self._expected.pop(number, None)
                if patched is None:
                    continue
                out.write(view[position:span[0]])
                out.write(patched)
                position = span[1]
            changed = True
            self.rows_changed.add(number)
            max_column = max(max_column, *wishes)
            max_row = max(max_row, number)
        out.write(view[position:])
        view.release()
        if not changed:
            return None
        head = bytearray(self.data[:self.body_start])
        head = self._extend_dimension(head, max_row, max_column)
        if self._widths:
            head = self._add_widths(head)
        return bytes(head)

    def _insert_point(self, number: int) -> int:
        index = bisect.bisect(self.order, number)
        if index < len(self.order):
            return self.rows[self.order[index]][0]
        return self.body_end

    def _encode(self, column: int, row: int, value: Value, style: int | None) -> bytes:
        return encode_cell(f"{_letters(column).decode()}{row}", value, style, self.epoch,
                           self._prefix_text).encode()

    def _same(self, cell: Cell, value: Value) -> bool:
        current = cell.value
        if value is None or value == "":
            return current is None or current == ""
        if isinstance(value, datetime.date):
            return isinstance(current, Decimal) and current == (value - self.epoch).days
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return isinstance(current, Decimal) and current == Decimal(value)
        return isinstance(current, str) and current == value

    def _style_for(self, current: int | None, base: int, number_format: str | None,
                   forced: int | None) -> int:
        if forced is not None:
            return forced
        style = current if current is not None else base
        if number_format and self.styles.is_general(style):
            style = self.styles.with_format(style, number_format)
        return style

    def _edit(self, number: int, column: int, wish: tuple, base: int,
              match: re.Match | None) -> bytes | None:
        """The cell that should stand in (number, column), given the one there (`match` of
        _CELL, or None): its new bytes, or None to leave it (or its absence) as it is."""
        value, number_format, forced = wish
        if match is None:
            if value is None or value == "":
                return None
            return self._encode(column, number, value,
                                self._style_for(None, base, number_format, forced))
        raw = match.group(0)
        if (b"<f" in raw or b":f" in raw) and _F.search(raw):
            self.formula_refused.append((number, column))
            return None
        found_style = _S_ATTR.search(match.group(2))
        current = int(found_style.group(1)) if found_style else None
        style = self._style_for(current, base, number_format, forced)
        encoded = self._encode(column, number, value, style)
        if encoded == raw:
            return None  # exactly what a previous run wrote: nothing to decode
        if style == (current or 0) and self._same(self._cell_of(match, column), value):
            return None  # the same value, written otherwise (by Excel, LibreOffice): left as is
        self.tags_removed += raw.count(b"<" + self.prefix + b"c") - 1
        return encoded

    def _patch_row(self, number: int, raw: bytes, wishes: dict) -> bytes | None:
        match, cells = self._parse_row(raw)
        if number in self._expected:
            column = self._expected[number][0]
            if not self._check_expected(number, next((c.value for c in cells
                                                       if c.column == column), None)):
                return None
        row_attrs = attributes(match.group(2))
        row_style = (int(row_attrs["s"]) if row_attrs.get("customFormat") in ("1", "true")
                     and row_attrs.get("s", "").isdigit() else None)
        by_column = {cell.column: cell for cell in cells}
        replaced: dict[int, bytes] = {}
        added: dict[int, bytes] = {}
        for column, wish in wishes.items():
            cell = by_column.get(column)
            base = row_style if row_style is not None else self._column_style(column)
            edit = self._edit(number, column, wish, base,
                              _CELL.match(cell.raw) if cell is not None else None)
            if edit is not None:
                (added if cell is None else replaced)[column] = edit
        if not replaced and not added:
            return None
        self.cells_added += len(added)
        if added:
            # Cells without a reference are placed by position: once a cell is inserted,
            # each needs its reference.
            for cell in cells:
                if cell.column not in replaced and "r" not in attributes(
                        _CELL.match(cell.raw).group(2)):
                    ref = f' r="{column_letter(cell.column)}{number}"'.encode()
                    replaced[cell.column] = re.sub(rb"^<((?:\w+:)?)c\b",
                                                   lambda m: m.group(0) + ref, cell.raw, count=1)
        content = match.group(3) or b""
        out, position = [], 0
        pending = sorted(added.items())
        for cell_match, cell in zip(_CELL.finditer(content), cells):
            while pending and pending[0][0] < cell.column:
                out.append(content[position:cell_match.start()])
                position = cell_match.start()
                out.append(pending.pop(0)[1])
            out.append(content[position:cell_match.start()])
            out.append(replaced.get(cell.column, cell_match.group(0)))
            position = cell_match.end()
        out.append(content[position:])
        out.extend(piece for _, piece in pending)
        start_tag = self._row_start(match, row_attrs, cells, added)
        tag = match.group(1)
        return start_tag + b"".join(out) + b"</" + tag + b"row>"

    def _patch_row_fast(self, number: int, span: tuple[int, int], wishes: dict) -> bytes | None:
        """Like `_patch_row` for a row whose cells all carry their reference: only the wished
        cells are decoded; the rest of the row is copied as it is."""
        start, end = span
        data = self.data
        tag_end = data.index(b">", start) + 1
        close = data.rfind(b"</", start, end)
        row_start = data[start:tag_end]
        row_style = None
        if b"customFormat" in row_start and re.search(
                rb'customFormat\s*=\s*["\'](1|true)["\']', row_start):
            found = re.search(rb'\bs\s*=\s*["\'](\d+)["\']', row_start)
            row_style = int(found.group(1)) if found else None
        # Where each cell starts, by its column letters: one C-speed scan of the row.
        starts = {m.group(1): m.start() for m in _CELL_REF.finditer(data, tag_end, close)}
        if number in self._expected:
            position = starts.get(_letters(self._expected[number][0]))
            found = None
            if position is not None:
                cell = _CELL.match(data, position, end)
                found = _decode({"t": t.group(1).decode()} if (t := _T_ATTR.search(cell.group(2)))
                                else {}, cell.group(3) or b"", self.shared)[0]
            if not self._check_expected(number, found):
                return None
        edits: list[tuple[int, int, bytes]] = []
        ordered: list[tuple[int, int]] | None = None  # (column, start), made when first needed
        for column, wish in wishes.items():  # in column order
            base = row_style if row_style is not None else self._column_style(column)
            position = starts.get(_letters(column))
            match = _CELL.match(data, position, end) if position is not None else None
            edit = self._edit(number, column, wish, base, match)
            if edit is None:
                continue
            if match is not None:
                edits.append((match.start(), match.end(), edit))
                continue
            if ordered is None:
                ordered = sorted((_index(letters), at) for letters, at in starts.items())
            after = bisect.bisect(ordered, (column, close))
            where = ordered[after][1] if after < len(ordered) else close
            edits.append((where, where, edit))
        if not edits:
            return None
        added = [e for e in edits if e[0] == e[1]]
        self.cells_added += len(added)
        if added:
            row_start = _widen_spans(row_start, list(wishes))
        out, position = [row_start], tag_end
        for begin, finish, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
            out.append(data[position:begin])
            out.append(replacement)
            position = finish
        out.append(data[position:end])
        return b"".join(out)

    def _row_start(self, match: re.Match, attrs: dict[str, str], cells: list[Cell],
                   added: dict[int, bytes]) -> bytes:
        raw = match.group(0)
        start = raw[:raw.find(b">") + 1]
        if start.endswith(b"/>"):
            start = start[:-2].rstrip() + b">"
        if added:
            start = _widen_spans(start, list(added))
        return start

    def _new_row(self, number: int, wishes: dict) -> bytes | None:
        cells = []
        for column, (value, number_format, forced) in sorted(wishes.items()):
            if value is None or value == "":
                continue
            style = self._style_for(None, self._column_style(column), number_format, forced)
            cells.append(self._encode(column, number, value, style))
        if not cells:
            return None
        self.cells_added += len(cells)
        p = self.prefix
        return b"<" + p + b'row r="' + str(number).encode() + b'">' + b"".join(cells) + \
            b"</" + p + b"row>"

    # Both edits below touch only the part's head (before <sheetData>'s content).

    def _extend_dimension(self, data: bytearray, max_row: int, max_column: int) -> bytearray:
        found = re.compile(rb"(<(?:\w+:)?dimension\b[^>]*ref=\")([^\"]*)(\")").search(data)
        if found is None:
            return data
        try:
            parts = found.group(2).decode().split(":")
            first = split_ref(parts[0])
            last = split_ref(parts[-1])
        except ValueError:
            return data
        new_last = (max(last[0], max_row), max(last[1], max_column))
        if new_last == last:
            return data
        ref = f"{column_letter(first[1])}{first[0]}:{column_letter(new_last[1])}{new_last[0]}"
        data[found.start(2):found.end(2)] = ref.encode()
        return data

    def _add_widths(self, data: bytearray) -> bytearray:
        p = self.prefix.decode()
        entries = {column: f'<{p}col min="{column}" max="{column}" width="{width:g}" '
                           f'customWidth="1"/>'.encode()
                   for column, width in sorted(self._widths.items())}
        head_end = data.rfind(b"<" + self.prefix + b"sheetData")
        block = re.compile(rb"<((?:\w+:)?)cols\b[^>]*>(.*?)</(?:\w+:)?cols\s*>", re.S).search(
            data, 0, head_end)
        if block is None:
            new = (f"<{p}cols>".encode() + b"".join(entries.values()) + f"</{p}cols>".encode())
            data[head_end:head_end] = new
            return data
        body = bytes(block.group(2))
        out, position = [], 0
        pending = sorted(entries.items())
        for col in re.finditer(rb"<(?:\w+:)?col\b([^>]*?)/?>", body):
            low = int(attributes(col.group(1)).get("min", "0") or 0)
            while pending and pending[0][0] < low:
                out.append(body[position:col.start()])
                position = col.start()
                out.append(pending.pop(0)[1])
        out.append(body[position:])
        out.extend(entry for _, entry in pending)
        data[block.start(2):block.end(2)] = b"".join(out)
        return data


# ---------------------------------------------------------------- a tool-owned sheet, whole

@dataclass(frozen=True)
class Colonne:
    """One column of a tool-owned sheet: header, width, and the format of its numbers."""

    titre: str
    largeur: float
    format: str | None = None


def build_sheet(colonnes: Sequence[Colonne], rows: Iterable[Sequence[Value]], styles: Styles,
                date1904: bool = False, widths: dict[int, float] | None = None
                ) -> tuple[bytes, list[tuple[str, str]]]:
    """A whole worksheet part: bold header, frozen first row, a filter on the header, text kept
    as text and wrapped inside its column (rows grow in height; no row height is fixed),
    printed on A4 landscape at a readable scale (`print_scale`) with the header row on every
    page (the caller adds the print title) and the sheet's name and page number below.

    Returns the part and its hyperlinks as (cell, target): the caller gives each a
    relationship `rId1`, `rId2`… in that order.
    """
    epoch = EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH
    header = styles.wrapped(styles.header(), "center")
    formats = [styles.wrapped(styles.with_format(0, c.format) if c.format else 0)
               for c in colonnes]
    widths = {i: (widths or {}).get(i, c.largeur) for i, c in enumerate(colonnes, start=1)}
    links: list[tuple[str, str]] = []

    def start(number: int, values: Sequence[Value], bold: bool = False) -> str:
        height = row_height(((v.texte if isinstance(v, Lien) else v, widths.get(i, 10))
                             for i, v in enumerate(values, start=1) if isinstance(v, (str, Lien))),
                            bold)
        return f'<row r="{number}"' + (f' ht="{height:g}">' if height else ">")

    out = [start(1, [c.titre for c in colonnes], bold=True)]
    out.extend(encode_cell(f"{column_letter(column)}1", colonne.titre, header, epoch)
               for column, colonne in enumerate(colonnes, start=1))
    out.append("</row>")
    count = 1
    for count, row in enumerate(rows, start=2):
        out.append(start(count, row))
        for column, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            ref = f"{column_letter(column)}{count}"
            if isinstance(value, Lien) and value.cible:
                links.append((ref, value.cible))
            out.append(encode_cell(ref, value, formats[column - 1] if column <= len(formats)
                                   else 0, epoch))
        out.append("</row>")
    last = f"{column_letter(len(colonnes))}{count}"
    cols = "".join(f'<col min="{i}" max="{i}" width="{width:g}" customWidth="1"/>'
                   for i, width in widths.items())
    hyperlinks = "".join(f'<hyperlink ref="{ref}" r:id="rId{n}"/>'
                         for n, (ref, _) in enumerate(links, start=1))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f'<dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
        'sqref="A2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f'<cols>{cols}</cols><sheetData>{"".join(out)}</sheetData>'
        f'<autoFilter ref="A1:{last}"/>'
        + (f"<hyperlinks>{hyperlinks}</hyperlinks>" if links else "") +
        '<pageMargins left="0.3" right="0.3" top="0.6" bottom="0.6" header="0.3" '
        'footer="0.3"/><pageSetup paperSize="9" '
        f'scale="{print_scale(widths.values())}" orientation="landscape"/>'
        '<headerFooter><oddFooter>&amp;L&amp;A&amp;RPage &amp;P / &amp;N'
        '</oddFooter></headerFooter></worksheet>'
    ).encode("utf-8"), links


def build_user_sheet(colonnes: Sequence[Colonne], styles: Styles,
                     validations: dict[str, Sequence[str]] | None = None,
                     lignes: int = 2000) -> bytes:
    """An empty sheet for the user to fill: bold header, frozen first row, each column's number
    format set on the whole column (a date typed there is a date), and drop-down lists."""
    header = styles.header()
    cols, cells, checks = [], [], []
    for i, colonne in enumerate(colonnes, start=1):
        style = styles.with_format(0, colonne.format) if colonne.format else 0
        cols.append(f'<col min="{i}" max="{i}" width="{colonne.largeur:g}" customWidth="1"'
                    + (f' style="{style}"' if style else "") + "/>")
        cells.append(encode_cell(f"{column_letter(i)}1", colonne.titre, header,
                                 EXCEL_EPOCH))
        choices = (validations or {}).get(colonne.titre)
        if choices:
            listed = ",".join(choices).replace('"', "")
            letter = column_letter(i)
            checks.append(f'<dataValidation type="list" allowBlank="1" showErrorMessage="1" '
                          f'errorTitle={xml_attr(colonne.titre)} error="Choisissez dans la liste." '
                          f'sqref="{letter}2:{letter}{lignes}"><formula1>'
                          f'{xml_text(chr(34) + listed + chr(34))}</formula1></dataValidation>')
    last = column_letter(len(colonnes))
    validation = (f'<dataValidations count="{len(checks)}">{"".join(checks)}</dataValidations>'
                  if checks else "")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last}1"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
        'sqref="A2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f'<cols>{"".join(cols)}</cols><sheetData><row r="1">{"".join(cells)}</row></sheetData>'
        f'<autoFilter ref="A1:{last}1"/>{validation}'
        '<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        '</worksheet>'
    ).encode("utf-8")


def hyperlink_rels(links: Sequence[tuple[str, str]]) -> bytes:
    """The relationships part of a sheet's hyperlinks (`rId1`… in order), external targets."""
    from urllib.parse import quote

    entries = "".join(
        f'<Relationship Id="rId{n}" Type="{HYPERLINK_REL}" '
        f'Target={xml_attr(quote(target.replace(chr(92), "/"), safe="/:._-~"))} '
        'TargetMode="External"/>'
        for n, (_, target) in enumerate(links, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PKG_REL_NS}">{entries}</Relationships>').encode()


def read_widths(data: bytes) -> dict[int, float]:
    """Column widths of an existing sheet (to keep the user's widths on a rebuilt tool sheet)."""
    widths = {}
    for col in re.finditer(rb"<(?:\w+:)?col\b([^>]*?)/?>", data):
        attrs = attributes(col.group(1))
        try:
            low, high, width = int(attrs["min"]), int(attrs["max"]), float(attrs["width"])
        except (KeyError, ValueError):
            continue
        for column in range(low, min(high, 64) + 1):
            widths[column] = width
    return widths


_SI = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si\s*>)", re.S)


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return html.unescape(text) if "&" in text else text


def read_shared_strings(data: bytes | None) -> list[str]:
    """The shared string table: index -> text (rich text runs joined, phonetic runs left out)."""
    if not data:
        return []
    strings = []
    for match in _SI.finditer(data):
        body = match.group(1) or b""
        if b"<rPh" in body:
            body = _RPH.sub(b"", body)
        runs = _T.findall(body)
        strings.append(_unescape(runs[0]) if len(runs) == 1 else "".join(map(_unescape, runs)))
    return strings


def count_cells_in(head: bytes, body: BinaryIO, prefix: bytes = b"") -> int:
    """count_cells() of a part given as its head and its body in a file, read in blocks."""
    pattern = b"<" + prefix + b"c"
    start = re.search(rb"<(?:\w+:)?sheetData\b", head)
    total = head.count(pattern, start.end() if start else 0)
    body.seek(0)
    carry = b""
    while block := body.read(1 << 20):
        chunk = carry + block
        total += chunk.count(pattern)
        carry = chunk[-(len(pattern) - 1):]  # a "<c" cut between two blocks is counted once
    return total


def count_cells(data: bytes) -> int:
    """How many elements of the sheet's data start with `<c` — cells, and the few rich-text
    tags that do (`<color>`…): compared before and after a patch, it tells that the patch
    added only the cells it said (one pass: this runs on every write-back)."""
    start = re.search(rb"<((?:\w+:)?)sheetData\b", data)
    return data.count(b"<" + (start.group(1) if start else b"") + b"c",
                      start.end() if start else 0)
