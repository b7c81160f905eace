"""Invoice numbers in bank labels: written loosely, but with letters that fit and never as a
piece of a date or of a longer number. Pure.

`FACT 2026-031`, `F2026031`, `fac.2026/031` all write F-2026-031; `AC-2026-031` does not (its
letters are another prefix), nor does `15/11/2026` write invoice 2026 or 11-2026.
"""

from __future__ import annotations

import re
import unicodedata

# Words a label may put before any invoice number.
GENERIC = frozenset("""FACT FACTURE FACTURES FAC FACTU FCT FT INV INVOICE N NO NR NUM NUMERO REF
""".split())
_NUMBER_WORDS = frozenset("N NO NR NUM NUMERO REF".split())  # « FACTURE N° », « AC REF »
# Short words of labels that are not invoice prefixes; any other word of one to three letters
# before a number is taken for one (« AC 2026-031 » is not FA-2026-031).
_PROSE = frozenset("""VIR VIRT SEPA INST DE DU DES LE LA LES ET OU SUR PAR UN UNE AU AUX EN
NOS VOS SES MES TES SON SA SAS SRL BV NV CIE STE ETS MR MME MLE DR ME CB CHQ TPE RE A M
""".split())
_SEPARATORS = r"[\s\-/._:]"
_BEFORE = re.compile(r"([A-Z]+)([\s\-/._:°#]*)$")

_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_MONTHS = (r"(?:JANV(?:IER)?|FEVR?(?:IER)?|MARS|AVR(?:IL)?|MAI|JUIN|JUIL(?:LET)?|AOUT|"
           r"SEPT?(?:EMBRE)?|OCT(?:OBRE)?|NOV(?:EMBRE)?|DEC(?:EMBRE)?)")
_DATES = re.compile(
    rf"(?<!\d){_DAY}([/.\-]){_MONTH}\1(?:\d{{4}}|\d{{2}})(?!\d)"        # 15/11/2026, 15.11.26
    rf"|(?<!\d)\d{{4}}([/.\-]){_MONTH}\2{_DAY}(?!\d)"                   # 2026-11-15
    rf"|(?<![A-Z0-9])(?:{_DAY}\s*)?{_MONTHS}\.?\s*(?:\d{{4}}|\d{{2}})(?!\d)")  # 15 NOV 2026
# Eight digits next to a date word: 20261115 in « DU 20261115 », « DATE 15112026 ».
_DATE_WORD = re.compile(r"\b(?:DU|LE|AU|DATE|DATEE|DATE DU|EMIS|ECHEANCE|ECH)\b[\s:.]*(\d{8})"
                        r"(?!\d)")


def number_pattern(numero: str) -> re.Pattern | None:
    """The invoice number as a bank label may write it, letters aside: any separator (or none)
    between its groups, no digit touching it and no other number glued to it by a separator
    (`2026-031` does not write invoice 2026). Numbers with fewer than four digits are not
    looked for: they would be found in amounts and dates."""
    groups = re.findall(r"[A-Za-z]+|\d+", numero)
    digits = "".join(g for g in groups if g.isdigit())
    if len(digits) < 4:
        return None
    while groups and not groups[0].isdigit():
        groups = groups[1:]  # the prefix is checked apart (`prefix_of`, `compatible`)
    body = rf"{_SEPARATORS}*".join(re.escape(g) for g in groups)
    return re.compile(r"(?<![0-9])(?<![0-9][\-/._:])" + body + r"(?![0-9])(?![\-/._:][0-9])",
                      re.IGNORECASE)


def prefix_of(numero: str) -> str:
    """The letters an invoice number starts with (`FA-2026-031` -> `FA`), in capitals."""
    return re.sub(r"[^A-Z]", "", fold(re.match(r"[^0-9]*", numero).group(0)))


def compatible(said: str, prefix: str) -> bool:
    """Whether letters a label puts before a number may stand for an invoice's prefix: none,
    the same, a shortening or lengthening (`F`, `FA`, `FACT` for `F` or `FA`), or a generic
    word (`FACTURE`, `INV`, `N°`)."""
    if not said or said == prefix or said in GENERIC:
        return True
    return bool(prefix) and (said.startswith(prefix) or prefix.startswith(said))


class Libelle:
    """A label searched for invoice numbers; its dates are found once, when first needed."""

    def __init__(self, text: str, prefixes: frozenset[str]):
        self.text = fold(text)
        self.prefixes = prefixes  # the prefixes of the book's invoices
        self._dates: list[tuple[int, int, bool]] | None = None

    def writes(self, numero: str, pattern: re.Pattern) -> bool:
        """Whether the label writes invoice `numero` (whose `pattern` is given)."""
        prefix = prefix_of(numero)
        for match in pattern.finditer(self.text):
            if self._in_date(match) or not compatible(self._said(match.start()), prefix):
                continue
            return True
        return False

    def _said(self, start: int) -> str:
        """The letters that introduce the number starting at `start`: glued to it or joined by
        a separator, or a word before it that looks like an invoice prefix."""
        found = _BEFORE.search(self.text, 0, start)
        if found is None:
            return ""
        word, gap = found.group(1), found.group(2)
        if word in _NUMBER_WORDS:
            before = _BEFORE.search(self.text, 0, found.start())
            if before is not None and self._prefix_like(before.group(1)):
                return before.group(1)
            return word
        if gap.strip(" ") or not gap:  # glued, or joined by - / . _ : °
            return word
        if self._prefix_like(word) or (len(word) <= 3 and word not in _PROSE):
            return word
        return ""

    def _prefix_like(self, word: str) -> bool:
        return word in GENERIC or any(
            word == p or (len(word) <= max(4, len(p)) and compatible(word, p))
            for p in self.prefixes if p)

    def _in_date(self, match: re.Match) -> bool:
        """Whether the number is a part of a date (the whole date may be the number)."""
        if self._dates is None:
            self._dates = [(m.start(), m.end(), True) for m in _DATES.finditer(self.text)]
            self._dates += [(m.start(1), m.end(1), False) for m in _DATE_WORD.finditer(self.text)]
        start, end = match.span()
        return any(s < end and start < e and (not whole or (s, e) != (start, end))
                   for s, e, whole in self._dates)


def fold(text: str) -> str:
    """The text in capitals without accents, each character kept in its place."""
    out = []
    for c in text:
        base = unicodedata.normalize("NFKD", c)[:1].upper()
        out.append(base if len(base) == 1 else c)
    return "".join(out)
