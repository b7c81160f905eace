"""French typography and forms of address, applied to every rendered message and letter.

Templates are written with plain spaces and straight apostrophes; `compose` turns the rendered
text into French typography in one pass, so no template carries hand-typed entities:

- no-break space (U+00A0) before `:` and inside « guillemets »; narrow no-break space
  (U+202F) before `; ! ?` and `%`;
- no-break space between a number and its unit (« 40 € », « 8 jours », « 10 points »), after
  `n°` and `art.`;
- typographic apostrophe ’ between letters;
- in HTML, invoice numbers, article numbers and dates (`F-2026-027`, `L441-10`, `22/11/2026`)
  wrapped so that they never break across lines (the characters themselves are kept, so a
  number copied from a message is the number in the workbook).

HTML is processed outside tags only, and never inside <style>, <script> or <title>.

`elide` puts « de », « le », « que »… before a name the French way (« d’Atelier Dupont »,
« l’entreprise »); `Formules` gives the salutation and closing formula of a client.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NBSP, NNBSP = "\u00a0", "\u202f"

UNITS = (r"€|EUR|%|jours?|j|mois|ans?|semaines?|heures?|h|points?|Mo|ko|mm|pages?|"
         r"factures?|days?|months?|years?")

_APOSTROPHE = re.compile(r"(?<=[^\W\d_])(?:'|&#39;|&#x27;)(?=[^\W\d_])")
_BEFORE_COLON = re.compile(r"(?<=\S)[ \u00a0\u202f]?:(?=\s|$|<)")
_BEFORE_TALL = re.compile(r"(?<=[^\s?!;])[ \u00a0\u202f]?([;!?])(?=\s|$|<|[»)\"])")
_PERCENT = re.compile(r"(?<=\d)[ \u00a0\u202f]?%")
_OPEN_QUOTE = re.compile(r"«[ \u00a0\u202f]?")
_CLOSE_QUOTE = re.compile(r"[ \u00a0\u202f]?»")
_UNIT = re.compile(rf"(?<=\d) (?=(?:{UNITS})(?![^\W\d_]))")
_NUMERO = re.compile(r"\b([nN]°|[Aa]rt\.|[Aa]rticles?|N°) (?=\w)")
# A token holding a digit and a hyphen or a slash: invoice and article numbers, dates.
_UNBREAKABLE = re.compile(r"(?<![\w/.-])(?=[\w./-]*\d)(?=[\w./-]*[-/])\w[\w./-]*\w")
_TAG = re.compile(r"(<[^>]*>)")
_SKIPPED = ("style", "script", "title")
_ENTITY = re.compile(r"&#?\w+;")


def compose(text: str, langue: str, html: bool = False) -> str:
    """`text` (plain or HTML) with the typography of its language applied."""
    if not html:
        return _french(text) if langue == "fr" else text
    out, skipping = [], None
    for piece in _TAG.split(text):
        if piece.startswith("<") and piece.endswith(">"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", piece)
            tag = name.group(1).lower() if name else ""
            if tag in _SKIPPED:
                skipping = None if piece.startswith("</") else tag
            out.append(piece)
        elif skipping or not piece.strip():
            out.append(piece)
        else:
            out.append(_unbreakable(_french(piece) if langue == "fr" else piece))
    return "".join(out)


def _french(text: str) -> str:
    text = _APOSTROPHE.sub("’", text)
    text = _protect_entities(text, lambda t: _BEFORE_TALL.sub(NNBSP + r"\1", t))
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _PERCENT.sub(NNBSP + "%", text)
    text = _OPEN_QUOTE.sub("«" + NBSP, text)
    text = _CLOSE_QUOTE.sub(NBSP + "»", text)
    text = _UNIT.sub(NBSP, text)
    return _NUMERO.sub(r"\1" + NBSP, text)


def _protect_entities(text: str, change) -> str:
    """Apply `change` to the text between HTML entities (whose `;` is not punctuation)."""
    parts = _ENTITY.split(text)
    entities = _ENTITY.findall(text)
    changed = [change(part) for part in parts]
    return "".join(p + (entities[i] if i < len(entities) else "") for i, p in enumerate(changed))


def _unbreakable(text: str) -> str:
    return _UNBREAKABLE.sub(lambda m: f'<span style="white-space:nowrap">{m.group(0)}</span>',
                            text)


# ------------------------------------------------------------------ elision


ELIDED = {"de": "d’", "le": "l’", "la": "l’", "que": "qu’", "ce": "c’", "je": "j’",
          "ne": "n’", "se": "s’", "lorsque": "lorsqu’", "puisque": "puisqu’"}


def starts_with_vowel_sound(word: str) -> bool:
    """A vowel, an accented vowel, œ/æ or a (mute, by default) h: « d’Hélène », « d’Œuvre »."""
    word = word.lstrip(" «\"'(")
    if not word:
        return False
    first = unicodedata.normalize("NFD", word[0])[0].lower()
    return first in "aeiouyhœæ"


def elide(mot: str, suivant: str) -> str:
    """« de » + « Atelier Dupont » -> « d’Atelier Dupont »; « de Boulangerie Martin »."""
    suivant = str(suivant)
    if mot.lower() in ELIDED and starts_with_vowel_sound(suivant):
        short = ELIDED[mot.lower()]
        if mot[:1].isupper():
            short = short[0].upper() + short[1:]
        return short + suivant
    return f"{mot} {suivant}"


# ------------------------------------------------------------------ forms of address


@dataclass(frozen=True)
class Formules:
    """How one client is addressed, in its language."""

    salutation: str  # a letter's first line: « Madame, » / « Dear Ms Wright, »
    bonjour: str     # an email's first line: « Bonjour Madame Girard, » / « Dear Ms Wright, »
    politesse: str   # a letter's closing formula, one sentence
    attention: str   # « À l’attention de Mme Anne Girard », or ''
    cordialement: str  # an email's closing: « Bien cordialement, » / « Kind regards, »


def surname(contact: str) -> str:
    """« Anne Girard » -> « Girard »; « Jean de La Fontaine » -> « de La Fontaine »."""
    words = contact.split()
    return " ".join(words[1:]) if len(words) > 1 else contact.strip()


def formules(civilite: str, contact: str, langue: str) -> Formules:
    contact = " ".join(contact.split())
    if langue == "en":
        title = {"Madame": "Ms", "Monsieur": "Mr"}.get(civilite, "")
        if title and contact:
            dear = f"Dear {title} {surname(contact)},"
            return Formules(dear, dear, "Yours sincerely,", f"For the attention of {title} "
                            f"{contact}", "Kind regards,")
        attention = f"For the attention of {contact}" if contact else ""
        return Formules("Dear Sir or Madam,", "Hello,", "Yours faithfully,", attention,
                        "Kind regards,")
    appel = civilite or "Madame, Monsieur"
    short = {"Madame": "Mme", "Monsieur": "M."}.get(civilite, "")
    if civilite and contact:
        bonjour = f"Bonjour {civilite} {surname(contact)},"
    elif civilite:
        bonjour = f"Bonjour {civilite},"
    else:
        bonjour = "Bonjour,"  # never « Bonjour Luc Petit, »
    who = f"{short} {contact}" if short and contact else contact
    attention = f"À l’attention {elide('de', who)}" if who else ""
    return Formules(f"{appel},", bonjour,
                    f"Veuillez agréer, {appel}, l’expression de nos salutations distinguées.",
                    attention, "Bien cordialement,")
