"""The return date an automatic reply states, French or English: « de retour le 5 janvier »,
« absent jusqu'au 04/01/2027 inclus », "back on January 5", "until 4th January". Pure.

`retour_le` is the first day the person is back: a "until"/« jusqu'au » date is the last day
away, so the day after it is returned. A date without a year is the next such date on or after
the message's day. Numbers are read day first (04/01 is the 4th of January), as in France.
When no phrase clearly states a return, nothing is returned: a wrong date would hold emails.
"""

from __future__ import annotations

import datetime
import re

MOIS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "février": 2, "fevr": 2, "févr": 2, "fev": 2,
    "fév": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
    "aout": 8, "août": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "décembre": 12, "dec": 12, "déc": 12,
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12,
}
_MOIS = "|".join(sorted(MOIS, key=len, reverse=True))
_SEMAINE = (r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|"
            r"wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\.?,?\s+)?")
_JOUR = r"(?P<{0}>[0-3]?\d)(?:er|st|nd|rd|th)?"
_AN = r"(?:,?\s+(?P<{0}>(?:19|20)\d\d))?"


def _date_pattern(n: str) -> str:
    """One date, its groups suffixed with `n` (two dates in one pattern for a range)."""
    return (_SEMAINE + "(?:le\\s+|the\\s+)?(?:"
            + _JOUR.format(f"j1{n}") + r"\s+(?:of\s+)?(?P<m1" + n + ">" + _MOIS + r")\.?"
            + _AN.format(f"a1{n}")
            + "|(?P<m2" + n + ">" + _MOIS + r")\.?\s+" + _JOUR.format(f"j2{n}") + r"\b"
            + _AN.format(f"a2{n}")
            + r"|(?P<j3" + n + r">[0-3]?\d)[/.\-](?P<m3" + n + r">[01]?\d)"
            + r"(?:[/.\-](?P<a3" + n + r">(?:19|20)?\d\d))?(?!\d)"
            + r"|(?P<a4" + n + r">(?:19|20)\d\d)-(?P<m4" + n + r">[01]\d)-(?P<j4" + n
            + r">[0-3]\d)"
            + ")")


DATE = _date_pattern("")
_GAP = r"[^.!?\n]{0,45}?"  # words between the phrase and its date, in the same sentence
# (pattern, days to add): the first day back, or the last day away (+1).
PHRASES = (
    (re.compile(r"\b(?:du|from|between)\s+" + _date_pattern("a") + r"\s*(?:inclus\s+)?"
                r"(?:au|to|until|till|through|thru|and|-|–)\s+" + _date_pattern("b"), re.I), 1),
    (re.compile(r"(?:de retour|retour pr[ée]vu|reviens\s+le|reviendrai|rentre\s+le|"
                r"reprendrai|reprise|back|return|returning|will be in)\b" + _GAP + DATE, re.I), 0),
    (re.compile(r"(?:jusqu['’]\s?(?:au|à|a)|until|till|through|thru)\s+(?:et y compris\s+)?"
                + DATE, re.I), 1),
    (re.compile(r"(?:joignable|disponible|available|reachable)\b" + _GAP + DATE, re.I), 0),
    (re.compile(r"(?:[àa] partir du|d[èe]s le|[àa] compter du)\s+" + DATE, re.I), 0),
)
# « absent à partir du 20 décembre » gives the first day away, not the return.
DEBUT_ABSENCE = re.compile(r"absent|absence|cong[ée]|vacances|ferm[ée]", re.I)


def retour_le(texte: str, jour: datetime.date) -> datetime.date | None:
    """The first day back stated in an automatic reply's text, or None."""
    texte = texte[:5000]
    for index, (pattern, ajout) in enumerate(PHRASES):
        for match in pattern.finditer(texte):
            if index == len(PHRASES) - 1:
                debut = max(texte.rfind(".", 0, match.start()), texte.rfind("\n", 0, match.start()))
                avant = texte[debut + 1:match.start()]
                if DEBUT_ABSENCE.search(avant) and not re.search(r"retour|back", avant, re.I):
                    continue
            suffix = "b" if index == 0 else ""
            date = _date(match, suffix, jour)
            if date is not None:
                date += datetime.timedelta(days=ajout)
                if date <= jour + datetime.timedelta(days=400):
                    return date
    return None


def _date(match: re.Match, n: str, jour: datetime.date) -> datetime.date | None:
    groups = match.groupdict()
    for form in "1234":
        j, m, a = groups.get(f"j{form}{n}"), groups.get(f"m{form}{n}"), groups.get(f"a{form}{n}")
        if j is None or m is None:
            continue
        mois = int(m) if m.isdigit() else MOIS.get(m.lower())
        if not mois:
            return None
        if a is None:
            return _prochaine(int(j), mois, jour)
        annee = int(a) + (2000 if len(a) == 2 else 0)
        try:
            return datetime.date(annee, mois, int(j))
        except ValueError:
            return None
    return None


def _prochaine(j: int, mois: int, jour: datetime.date) -> datetime.date | None:
    """The next `j`/`mois` on or after `jour`."""
    for annee in (jour.year, jour.year + 1):
        try:
            date = datetime.date(annee, mois, j)
        except ValueError:
            continue
        if date >= jour:
            return date
    return None
