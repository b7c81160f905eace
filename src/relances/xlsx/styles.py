"""The styles part (`xl/styles.xml`), extended without renumbering anything.

Every cell of a sheet points at a cell format (`xf`) by its position in `<cellXfs>`. Existing
positions must never move, so this module only appends: a format that puts a date or euro
number format on a copy of a cell's own format, a bold header. Before appending it looks for an
identical entry already there (a previous run's), so styles.xml does not grow run after run.
Everything is done on the part's bytes: the parts we do not append to keep their bytes.
"""

from __future__ import annotations

import html
import re

from ..errors import WorkbookError
from .package import MAIN_NS, parse_xml, xml_attr

# Built-in number formats Excel does not write into styles.xml (ECMA-376, 18.8.30).
BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
    11: "0.00E+00", 12: "# ?/?", 13: "# ??/??", 14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm",
    17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
    22: "m/d/yy h:mm", 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)",
    39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)", 45: "mm:ss", 46: "[h]:mm:ss",
    47: "mmss.0", 48: "##0.0E+0", 49: "@",
}
FIRST_CUSTOM_FORMAT = 164

MINIMAL_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{MAIN_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
    '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
    'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf '
    'numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1">'
    '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
).encode()

_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')


def attributes(start_tag: bytes) -> dict[str, str]:
    found = {}
    for name, double, single in _ATTR.findall(start_tag):
        value = (double or single).decode()
        found[name.decode()] = html.unescape(value) if "&" in value else value
    return found


def _section(data: bytes, name: str) -> re.Match | None:
    """The `<name ...>...</name>` element (or `<name/>`) of the style sheet, with its prefix."""
    return re.search(rb"<((?:\w+:)?)" + name + rb"\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?" + name
                     + rb"\s*>)", data, re.S)


def _children(body: bytes, name: bytes) -> list[bytes]:
    pattern = re.compile(rb"<(?:\w+:)?" + name + rb"\b[^>]*?(?:/>|>.*?</(?:\w+:)?" + name
                         + rb"\s*>)", re.S)
    return [m.group(0) for m in pattern.finditer(body)]


class Styles:
    """styles.xml, read once; `bytes()` gives the part with what was appended, if anything."""

    def __init__(self, data: bytes | None, where: str):
        self.where = where
        self.created = data is None
        self.data = MINIMAL_STYLES if data is None else data
        parse_xml(self.data, where)  # well-formed, no DOCTYPE
        self.prefix = b""
        root = re.search(rb"<((?:\w+:)?)styleSheet\b", self.data)
        if root is None:
            raise WorkbookError(f"{where} : feuille de styles illisible")
        self.prefix = root.group(1)
        self._new: dict[bytes, list[bytes]] = {b"numFmts": [], b"fonts": [], b"fills": [],
                                               b"cellXfs": []}
        self.xfs = self._read(b"cellXfs", b"xf")
        self._general: dict[int, bool] = {}
        self._with_format: dict[tuple[int, str], int] = {}
        self._wrapped: dict[tuple[int, str], int] = {}
        self.fonts = self._read(b"fonts", b"font")
        self.fills = self._read(b"fills", b"fill")
        if not self.xfs:
            raise WorkbookError(f"{where} : aucun format de cellule (cellXfs) : classeur abîmé")
        formats = _section(self.data, b"numFmts")
        self.formats = dict(BUILTIN_FORMATS)
        if formats is not None and formats.group(3):
            for entry in _children(formats.group(3), b"numFmt"):
                attrs = attributes(entry)
                if attrs.get("numFmtId", "").isdigit():
                    self.formats[int(attrs["numFmtId"])] = attrs.get("formatCode", "")

    def _read(self, section: bytes, child: bytes) -> list[bytes]:
        found = _section(self.data, section)
        return _children(found.group(3) or b"", child) if found is not None else []

    @property
    def changed(self) -> bool:
        return self.created or any(self._new.values())

    # ------------------------------------------------------------ asking

    def number_format(self, xf: int) -> str:
        if not 0 <= xf < len(self.xfs):
            return "General"
        start = re.match(rb"<[^>]*>", self.xfs[xf]).group(0)
        number = attributes(start).get("numFmtId", "0")
        return self.formats.get(int(number), "General") if number.isdigit() else "General"

    def is_general(self, xf: int) -> bool:
        known = self._general.get(xf)
        if known is None:
            known = self._general[xf] = self.number_format(xf).lower() == "general"
        return known

    def with_format(self, xf: int, code: str) -> int:
        """The index of a format like `xf` but showing numbers as `code`; appended if new."""
        if not 0 <= xf < len(self.xfs):
            xf = 0
        known = self._with_format.get((xf, code))
        if known is not None:
            return known
        self._with_format[(xf, code)] = index = self._with_format_new(xf, code)
        return index

    def _with_format_new(self, xf: int, code: str) -> int:
        number = self._format_id(code)
        entry = self.xfs[xf]
        start = re.match(rb"<[^>]*?(/?)>", entry)
        attrs = attributes(start.group(0))
        attrs["numFmtId"] = str(number)
        attrs["applyNumberFormat"] = "1"
        tag = self.prefix + b"xf"
        new_start = b"<" + tag + b"".join(
            b" " + k.encode() + b"=" + xml_attr(v).encode() for k, v in attrs.items())
        new = new_start + (b"/>" if start.group(1) else b">" + entry[start.end():])
        return self._add(b"cellXfs", self.xfs, new)

    def header(self) -> int:
        """Bold white on dark blue, the tool-owned sheets' header row."""
        base = self.fonts[0] if self.fonts else b"<font/>"
        inner = re.sub(rb"<(?:\w+:)?(?:b|color)\b[^>]*/>", b"", base)
        start = re.match(rb"<[^>]*?(/?)>", inner)
        body = b"" if start.group(1) else inner[start.end():]
        body = re.sub(rb"</(?:\w+:)?font\s*>$", b"", body)
        p = self.prefix
        font = (b"<" + p + b"font><" + p + b"b/>" + body + b"<" + p + b'color rgb="FFFFFFFF"/></'
                + p + b"font>")
        font_id = self._add(b"fonts", self.fonts, font)
        fill = (b"<" + p + b"fill><" + p + b'patternFill patternType="solid"><' + p
                + b'fgColor rgb="FF305496"/><' + p + b'bgColor indexed="64"/></' + p
                + b"patternFill></" + p + b"fill>")
        fill_id = self._add(b"fills", self.fills, fill)
        xf = (b"<" + p + b'xf numFmtId="0" fontId="' + str(font_id).encode() + b'" fillId="'
              + str(fill_id).encode() + b'" borderId="0" xfId="0" applyFont="1" applyFill="1"/>')
        return self._add(b"cellXfs", self.xfs, xf)

    def wrapped(self, xf: int, vertical: str = "top") -> int:
        """The index of a format like `xf` whose text wraps inside the column (the row grows
        in height when the workbook is opened), aligned to `vertical`; appended if new."""
        if not 0 <= xf < len(self.xfs):
            xf = 0
        known = self._wrapped.get((xf, vertical))
        if known is not None:
            return known
        entry = self.xfs[xf]
        start = re.match(rb"<[^>]*?(/?)>", entry)
        attrs = attributes(start.group(0))
        attrs["applyAlignment"] = "1"
        p = self.prefix
        new_start = b"<" + p + b"xf" + b"".join(
            b" " + k.encode() + b"=" + xml_attr(v).encode() for k, v in attrs.items()) + b">"
        inner = b"" if start.group(1) else re.sub(rb"</(?:\w+:)?xf\s*>$", b"", entry[start.end():])
        # <alignment> comes first among an xf's children (then protection, extLst).
        inner = re.sub(rb"<(?:\w+:)?alignment\b[^>]*?(?:/>|>.*?</(?:\w+:)?alignment\s*>)", b"",
                       inner, flags=re.S)
        alignment = b"<" + p + b'alignment vertical="' + vertical.encode() + b'" wrapText="1"/>'
        new = new_start + alignment + inner + b"</" + p + b"xf>"
        self._wrapped[(xf, vertical)] = index = self._add(b"cellXfs", self.xfs, new)
        return index

    def text(self, bold: bool = False, italic: bool = False, size: float | None = None,
             color: str | None = None) -> int:
        """A cell format with the workbook's default font made bold, italic, bigger or
        coloured (`color` as RRGGBB): the dashboard's titles and notes."""
        base = self.fonts[0] if self.fonts else b"<font/>"
        inner = re.sub(rb"<(?:\w+:)?(?:b|i|color)\b[^>]*/>", b"", base)
        if size is not None:
            inner = re.sub(rb"<(?:\w+:)?sz\b[^>]*/>", b"", inner)
        start = re.match(rb"<[^>]*?(/?)>", inner)
        body = b"" if start.group(1) else inner[start.end():]
        body = re.sub(rb"</(?:\w+:)?font\s*>$", b"", body)
        p = self.prefix
        extra = (b"<" + p + b"b/>" if bold else b"") + (b"<" + p + b"i/>" if italic else b"")
        if size is not None:
            extra += b"<" + p + b'sz val="' + f"{size:g}".encode() + b'"/>'
        tail = b"<" + p + b'color rgb="FF' + color.encode() + b'"/>' if color else b""
        font = b"<" + p + b"font>" + extra + body + tail + b"</" + p + b"font>"
        font_id = self._add(b"fonts", self.fonts, font)
        xf = (b"<" + p + b'xf numFmtId="0" fontId="' + str(font_id).encode()
              + b'" fillId="0" borderId="0" xfId="0" applyFont="1"/>')
        return self._add(b"cellXfs", self.xfs, xf)

    def _format_id(self, code: str) -> int:
        for number, existing in self.formats.items():
            if existing == code:
                return number
        number = max([FIRST_CUSTOM_FORMAT - 1, *self.formats]) + 1
        self.formats[number] = code
        self._new[b"numFmts"].append(b"<" + self.prefix + b'numFmt numFmtId="' + str(number).encode()
                                     + b'" formatCode=' + xml_attr(code).encode() + b"/>")
        return number

    def _add(self, section: bytes, entries: list[bytes], entry: bytes) -> int:
        def key(raw: bytes) -> bytes:
            return re.sub(rb"\s+", b" ", re.sub(rb"<(/?)\w+:", rb"<\1", raw)).strip()

        wanted = key(entry)
        for index, existing in enumerate(entries):
            if key(existing) == wanted:
                return index
        entries.append(entry)
        self._new[section].append(entry)
        return len(entries) - 1

    # ------------------------------------------------------------ writing

    def bytes(self) -> bytes:
        data = self.data
        for section in (b"cellXfs", b"fills", b"fonts", b"numFmts"):  # back to front
            added = self._new[section]
            if not added:
                continue
            found = _section(data, section)
            if found is None:
                if section != b"numFmts":
                    raise WorkbookError(f"{self.where} : section {section.decode()} absente")
                root = re.search(rb"<(?:\w+:)?styleSheet\b[^>]*>", data)
                block = (b"<" + self.prefix + b'numFmts count="' + str(len(added)).encode()
                         + b'">' + b"".join(added) + b"</" + self.prefix + b"numFmts>")
                data = data[:root.end()] + block + data[root.end():]
                continue
            body = found.group(3) or b""
            count = len(_children(body, {b"cellXfs": b"xf", b"fills": b"fill", b"fonts": b"font",
                                         b"numFmts": b"numFmt"}[section])) + len(added)
            attrs = re.sub(rb'\scount\s*=\s*("[^"]*"|\'[^\']*\')', b"", found.group(2))
            tag = found.group(1) + section
            block = (b"<" + tag + b' count="' + str(count).encode() + b'"' + attrs.rstrip(b"/")
                     + b">" + body + b"".join(added) + b"</" + tag + b">")
            data = data[:found.start()] + block + data[found.end():]
        return data
