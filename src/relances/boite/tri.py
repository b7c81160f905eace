"""Sorting one message of the mailbox: bytes -> a `Retour` (reply, bounce, automatic reply,
ignored, unreadable). Pure: no network, no clock, no file.

A message is data, never instructions: attachments are never opened, HTML is reduced to its
text with the standard parser (nothing rendered, no link followed), and whatever goes wrong
while parsing makes the message ILLISIBLE with the reason instead of an exception.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import re
import unicodedata
from dataclasses import replace
from email.message import EmailMessage, Message
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from .absence import retour_le
from .retours import ABSENCE, IGNORE, ILLISIBLE, REBOND, REPONSE, Retour

FUSEAU = "Europe/Paris"
TEXTE_LIGNES, TEXTE_CARACTERES = 8, 500
MOTIF_CARACTERES = 200
NOM_CARACTERES = 200  # a display name, an address, a subject: cut beyond
ENTETES_MAX, CHAMP_MAX = 512 * 1024, 16 * 1024  # beyond, the message is not parsed
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")

# Subjects of delivery failure reports that are not RFC 3464 (and of those that are).
SUJETS_REBOND = re.compile(
    r"undeliver|undelivered mail|returned mail|delivery status notification \(failure\)|"
    r"delivery (has )?failed|mail delivery failed|failure notice|delivery failure|"
    r"non remis|non distribuable|échec de (la )?(remise|distribution)|"
    r"message not delivered|could not be delivered|rejected|nicht zustellbar", re.I)
# A delivery only delayed (it may still arrive): not a bounce.
SUJETS_RETARD = re.compile(r"delay|retard|still being retried|warning: could not send|"
                           r"delivery status notification \(delay\)", re.I)
EXPEDITEURS_SYSTEME = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|"
                                 r"microsoftexchange[0-9a-f]*)@", re.I)
# How an automatic reply's subject begins (« Absent du bureau : Rappel… », "Out of Office: …").
SUJETS_ABSENCE = re.compile(
    r"^\W*(\[[^\]]*\]\s*)?(absent|absence|out of (the )?office|automatic reply|auto[- ]?reply|"
    r"autoreply|auto:|r[ée]ponse automatique|message automatique|automatische antwort|"
    r"abwesend|on vacation|en cong[ée]s?|away from|hors du bureau)", re.I)


def trier(donnees: bytes, cle: str, interne: datetime.datetime | None) -> Retour:
    """Sort one message; `cle` is its "UIDVALIDITY:UID", `interne` the server's INTERNALDATE
    (the date when the message has no readable Date header)."""
    trop = _entetes_trop_longs(donnees)
    if trop:  # the standard parser takes minutes on such headers: not parsed
        return _illisible(donnees, cle, interne, f"message illisible ({trop})")
    try:
        message = email.message_from_bytes(donnees, policy=email.policy.default)
        retour = Retour(nature=IGNORE, cle=cle, message_id=_header(message, "Message-ID"),
                        jour=_jour(message, interne), sujet=_court(_header(message, "Subject")),
                        **_expediteur(message))
    except Exception as exc:  # malformed beyond what the parser forgives
        return _illisible(donnees, cle, interne, f"message illisible ({type(exc).__name__})")
    try:
        return _sort(message, donnees, retour)
    except Exception as exc:
        return replace(retour, nature=ILLISIBLE,
                       motif=f"message illisible ({type(exc).__name__} : {_short(str(exc))})")


def _sort(message: EmailMessage, donnees: bytes, retour: Retour) -> Retour:
    rebond = _rebond(message, donnees, retour)
    if rebond is not None:
        return rebond
    if _automatique(message, retour):
        texte = _texte(message)
        return replace(retour, nature=ABSENCE, texte=_nouveau_texte(texte),
                       en_reponse_a=_references(message),
                       retour_le=retour_le(f"{retour.sujet}\n{texte}", retour.jour))
    if _en_masse(message):
        return retour
    return replace(retour, nature=REPONSE, texte=_nouveau_texte(_texte(message)),
                   en_reponse_a=_references(message))


# -- headers -------------------------------------------------------------------------------

def _entetes_trop_longs(donnees: bytes) -> str:
    """Why the header section is too long to be parsed safely ('' when it is not)."""
    fin = re.search(rb"\r?\n\r?\n", donnees)
    tete = donnees[:fin.start()] if fin else donnees
    if len(tete) > ENTETES_MAX:
        return f"en-têtes de {len(tete) // 1024} Ko"
    champ = max((len(c) for c in re.split(rb"\r?\n(?![ \t])", tete)), default=0)
    if champ > CHAMP_MAX:
        return f"un en-tête de {champ // 1024} Ko"
    return ""


def _illisible(donnees: bytes, cle: str, interne: datetime.datetime | None, motif: str
               ) -> Retour:
    """An unreadable message, with its sender's address when a From line gives one (a client's
    unreadable message may be a reply: the caller holds that client as for a reply)."""
    fin = re.search(rb"\r?\n\r?\n", donnees)
    tete = donnees[:fin.start()] if fin else donnees[:ENTETES_MAX]
    champ = re.search(rb"(?im)^from:(.*(?:\r?\n[ \t].*)*)", tete)
    adresses = re.findall(rb"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+", champ.group(1)) if champ else []
    expediteur = adresses[-1].decode("ascii", "replace").lower() if adresses else ""
    return Retour(nature=ILLISIBLE, cle=cle, message_id="", jour=_jour(None, interne),
                  expediteur=expediteur[:NOM_CARACTERES], motif=motif)


def _court(text: str, limit: int = NOM_CARACTERES) -> str:
    """A header's text made safe to show: bytes that were not UTF-8 replaced, direction
    overrides and control characters removed, cut to `limit` characters."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join(" " if c in "\t\r\n" else c for c in text
                   if c not in BIDI and unicodedata.category(c) not in ("Cc", "Cs")
                   or c in "\t\r\n")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _header(message: Message, name: str) -> str:
    """A header as one line of text; "" when absent; never an exception on a bad header."""
    try:
        value = message.get(name)
    except Exception:
        value = message.get_all(name, failobj=[""])[0] if hasattr(message, "get_all") else ""
    if value is None:
        return ""
    text = str(value)
    return " ".join(text.split())


def _expediteur(message: EmailMessage) -> dict[str, str]:
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
        if addresses:
            return {"expediteur": _court(addresses[0].addr_spec.lower()),
                    "nom": _court(addresses[0].display_name or "")}
    except Exception:
        pass
    name, addr = parseaddr(_header(message, "From"))
    return {"expediteur": _court(addr.lower()), "nom": _court(name)}


def _jour(message: Message | None, interne: datetime.datetime | None) -> datetime.date:
    """The Date header in Europe/Paris, else INTERNALDATE; date.min when neither exists."""
    import zoneinfo

    paris = zoneinfo.ZoneInfo(FUSEAU)
    moment = None
    if message is not None:
        try:
            moment = parsedate_to_datetime(_header(message, "Date"))
        except Exception:
            moment = None
    moment = moment or interne
    if moment is None:
        return datetime.date.min
    return (moment.astimezone(paris) if moment.tzinfo else moment).date()


def _references(message: Message) -> tuple[str, ...]:
    """In-Reply-To first, then References (newest last as written), without repeats."""
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        for found in MESSAGE_ID.findall(_header(message, name)):
            if found not in ids:
                ids.append(found)
    return tuple(ids)


def _en_masse(message: Message) -> bool:
    """Mailing lists, newsletters, notifications: nobody is answering us."""
    precedence = _header(message, "Precedence").lower()
    auto = _header(message, "Auto-Submitted").lower()
    return bool(_header(message, "List-Unsubscribe") or _header(message, "List-Id")
                or _header(message, "List-Post") or _header(message, "Feedback-ID")
                or precedence in ("bulk", "list", "junk")
                or (auto and auto != "no"))


def _automatique(message: Message, retour: Retour) -> bool:
    """An automatic reply to a person: out of office, vacation, « réponse automatique »."""
    auto = _header(message, "Auto-Submitted").lower()
    precedence = _header(message, "Precedence").lower()
    if auto.startswith("auto-replied") or precedence == "auto_reply":
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond") \
            or _header(message, "X-Autoresponder"):
        return True
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return False
    if SUJETS_ABSENCE.search(retour.sujet):
        return True
    # Exchange marks the replies of its rules; auto-generated mail that answers ours is one too.
    if _header(message, "X-MS-Exchange-Inbox-Rules-Loop") or (
            auto.startswith("auto-generated") and _references(message)):
        return True
    return False


# -- bounces -------------------------------------------------------------------------------

def _rebond(message: EmailMessage, donnees: bytes, retour: Retour) -> Retour | None:
    """A delivery failure report, or None. A delay notice is IGNORE (the message may still
    arrive); a report whose recipients all went through is IGNORE too."""
    rapport = _rapport_dsn(message)
    sujet_rebond = bool(SUJETS_REBOND.search(retour.sujet))
    systeme = bool(EXPEDITEURS_SYSTEME.match(retour.expediteur))
    echecs_entete = [a.strip().lower() for a in
                     _header(message, "X-Failed-Recipients").split(",") if "@" in a]
    if rapport is None and not (sujet_rebond or systeme or echecs_entete):
        return None
    texte = _texte(message, html=True)
    if rapport is not None:
        echecs, motifs, retards = rapport
        if not echecs:
            if retards or SUJETS_RETARD.search(retour.sujet):
                return replace(retour, motif="avis de retard de distribution (pas un échec)")
            return replace(retour, motif="avis de distribution sans échec")
    else:
        if SUJETS_RETARD.search(retour.sujet) and not sujet_rebond:
            return replace(retour, motif="avis de retard de distribution (pas un échec)")
        echecs, motifs = list(echecs_entete), []
    echecs += [a for a in _flufl(donnees) if a not in echecs]
    if not echecs and not sujet_rebond:
        return None  # mail from postmaster that reports no failure: read it as any other
    motif = motifs[0] if motifs else _motif_texte(texte)
    original = _message_id_original(message, texte)
    return replace(retour, nature=REBOND, adresses_en_echec=tuple(echecs),
                   motif=_short(motif) or "non distribué (raison non précisée)",
                   en_reponse_a=tuple(dict.fromkeys([*original, *_references(message)])))


def _rapport_dsn(message: EmailMessage) -> tuple[list[str], list[str], bool] | None:
    """RFC 3464: (failed recipients, their diagnostics, any delayed) or None if not a DSN."""
    if message.get_content_type() != "multipart/report":
        return None
    if message.get_param("report-type", "").lower() != "delivery-status":
        return None
    echecs, motifs, retards = [], [], False
    for part in message.walk():
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        for bloc in _blocs_dsn(part):
            action = bloc.get("action", "").lower()
            if action == "delayed":
                retards = True
            if action != "failed":
                continue
            adresse = (bloc.get("final-recipient") or bloc.get("original-recipient") or "")
            adresse = adresse.split(";", 1)[-1].strip().strip("<>").lower()
            if adresse and adresse not in echecs:
                echecs.append(adresse)
            diagnostic = bloc.get("diagnostic-code", "").split(";", 1)[-1].strip()
            statut = bloc.get("status", "").strip()
            motif = diagnostic if statut and statut in diagnostic else " ".join(
                p for p in (statut, diagnostic) if p)
            if motif:
                motifs.append(motif)
    return echecs, motifs, retards


def _blocs_dsn(part: Message) -> list[dict[str, str]]:
    """The field groups of a delivery-status part (per-message, then per-recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses it as a list of header blocks
        texte = "\n\n".join(bloc.as_string() if hasattr(bloc, "as_string") else str(bloc)
                            for bloc in payload)
    else:
        raw = part.get_payload(decode=True) or b""
        texte = raw.decode("utf-8", "replace")
    blocs = []
    for bloc in re.split(r"\r?\n\s*\r?\n", texte):
        fields: dict[str, str] = {}
        last = None
        for line in bloc.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                last = key.strip().lower()
                fields[last] = value.strip()
        if fields:
            blocs.append(fields)
    return blocs


def _flufl(donnees: bytes) -> list[str]:
    """flufl.bounce's detectors (Postfix, qmail, Exim, Exchange, Yahoo…): permanent failures."""
    try:
        from flufl.bounce import all_failures

        _, permanent = all_failures(email.message_from_bytes(donnees))
    except Exception:
        return []
    adresses = []
    for adresse in permanent:
        text = adresse.decode("utf-8", "replace") if isinstance(adresse, bytes) else str(adresse)
        text = text.strip().strip("<>").lower()
        if "@" in text and text not in adresses:
            adresses.append(text)
    return sorted(adresses)


def _message_id_original(message: EmailMessage, texte: str) -> list[str]:
    """The Message-ID of the message that came back: from the returned message or headers,
    else from a "Message-ID:" line quoted in the report's text."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found = MESSAGE_ID.findall(_header(inner, "Message-ID"))
                if found:
                    return found[:1]
        elif kind in ("text/rfc822-headers", "message/rfc822-headers",
                      "message/global-headers"):
            raw = part.get_payload(decode=True) or b""
            inner = email.message_from_bytes(raw, policy=email.policy.default)
            found = MESSAGE_ID.findall(_header(inner, "Message-ID"))
            if found:
                return found[:1]
    match = re.search(r"^\s*Message-ID:\s*(<[^<>\s]+>)", texte, re.I | re.M)
    return [match.group(1)] if match else []


def _motif_texte(texte: str) -> str:
    """A non-standard report's reason: the first line carrying an SMTP status."""
    for line in texte.splitlines():
        line = line.strip()
        if re.search(r"\b[45]\d\d\b|\b[45]\.\d{1,3}\.\d{1,3}\b", line) and len(line) > 8:
            return line
    for line in texte.splitlines():
        if re.search(r"unknown|does not exist|n'existe pas|n’existe pas|introuvable|"
                     r"no such|invalid|inconnu|rejected|refus", line, re.I):
            return line.strip()
    return ""


# -- text ----------------------------------------------------------------------------------

def _texte(message: EmailMessage, html: bool = True) -> str:
    """The message's text as plain text (text/plain preferred, else HTML reduced to text);
    attachments are not looked at."""
    part = message.get_body(preferencelist=("plain", "html") if html else ("plain",))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # unknown charset or bad transfer encoding
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_texte(content)
    return content


class _Texte(HTMLParser):
    SAUTS = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.morceaux: list[str] = []
        self.cache = 0  # inside <script>, <style>, <head>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self.cache += 1
        elif tag in self.SAUTS:
            self.morceaux.append("\n")
        if tag == "blockquote":
            self.morceaux.append("> ")  # what a mail client quotes

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self.cache = max(0, self.cache - 1)
        elif tag in self.SAUTS:
            self.morceaux.append("\n")

    def handle_data(self, data):
        if not self.cache:
            self.morceaux.append(data)


def html_texte(html: str) -> str:
    """HTML reduced to its text: tags dropped, scripts and styles skipped, nothing fetched."""
    parser = _Texte()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)
    # Spaces collapsed, but a no-break space (French « ! ») is kept.
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip(" \t") for line in
             "".join(parser.morceaux).splitlines()]
    return "\n".join(lines)


CITATION_DEBUT = re.compile(
    r"^\s*(-{2,}\s*(original message|message d['’]origine|message original|"
    r"mensaje original|forwarded message|message transféré)\s*-{2,}|_{10,}|"
    r"-{5,}\s*$)", re.I)
ENTETE_CITATION = re.compile(r"^\s*(de|from|envoyé|sent|à|to|objet|subject|date)\s*:", re.I)
A_ECRIT = re.compile(r"(a écrit|a ecrit|wrote|schrieb)\s*:?\s*$", re.I)


def _nouveau_texte(texte: str) -> str:
    """The first lines of what is new in a reply: quoted text, the quoted message under
    « Le … a écrit : » / Outlook's header block, and the signature are dropped; short."""
    lines = texte.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if line.rstrip() == "--" or line == "-- " or CITATION_DEBUT.match(line):
            break
        if re.match(r"^\s*(le|on)\b", stripped, re.I):
            joined = " ".join(l.strip() for l in lines[index:index + 3])
            if re.search(r"(a écrit|a ecrit|wrote)\s*:", joined, re.I) and (
                    A_ECRIT.search(stripped) or len(joined) < 300):
                break
        if re.match(r"^\s*(de|from)\s*:", stripped, re.I):
            following = lines[index + 1:index + 5]
            if sum(bool(ENTETE_CITATION.match(l)) for l in following) >= 2:
                break
        if stripped.startswith(">"):
            continue
        kept.append(stripped)
    while kept and not kept[-1]:
        kept.pop()
    while kept and not kept[0]:
        kept.pop(0)
    compact: list[str] = []
    for line in kept:
        if line or (compact and compact[-1]):
            compact.append(line)
    lignes = [line for line in compact][:TEXTE_LIGNES]
    while lignes and not lignes[-1]:
        lignes.pop()
    resultat = "".join(c for c in "\n".join(lignes) if c not in BIDI)
    if len(resultat) > TEXTE_CARACTERES or len(compact) > TEXTE_LIGNES:
        resultat = resultat[:TEXTE_CARACTERES].rsplit(" ", 1)[0].rstrip() + "…"
    return resultat


def _short(text: str, limit: int = MOTIF_CARACTERES) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
