"""What the mailbox brought back, as records: one `Retour` per message read, already sorted.

The reader (`boite.imap`, `boite.tri`) knows IMAP and email formats and nothing of the
workbook; matching a `Retour` to a client and acting on it belong to the rest of the tool.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

# What a message is.
REPONSE = "reponse"      # a person answering (a reply to our message, or mail from a client)
REBOND = "rebond"        # a delivery failure report (RFC 3464 DSN or a common non-standard form)
ABSENCE = "absence"      # an automatic reply (out of office, Auto-Submitted, X-Autoreply…)
IGNORE = "ignore"        # anything else: newsletters, supplier invoices… (kept only as "seen")
ILLISIBLE = "illisible"  # too big or malformed: skipped and reported (motif says why)
NATURES = (REPONSE, REBOND, ABSENCE, IGNORE, ILLISIBLE)


@dataclass(frozen=True)
class Retour:
    """One message of the mailbox folder, sorted; never opened beyond its text parts."""

    nature: str  # one of NATURES
    cle: str  # "UIDVALIDITY:UID" in the folder read: the journal remembers what it has seen
    message_id: str  # its Message-ID header, "<…>" as written ("" when it has none)
    jour: datetime.date  # its Date header, else the server's INTERNALDATE
    expediteur: str = ""  # the From address, lower-cased
    nom: str = ""  # the From display name
    sujet: str = ""
    # A reply: the first lines of its new text (no quoted reminder, no signature), plain text.
    texte: str = ""
    # A reply: the Message-IDs of In-Reply-To then References. A bounce: the Message-ID of the
    # message that was not delivered (from the returned headers), when it can be found.
    en_reponse_a: tuple[str, ...] = ()
    # A bounce: the recipients that failed (lower-cased), and why (the diagnostic, short).
    adresses_en_echec: tuple[str, ...] = ()
    motif: str = ""  # a bounce's reason; an ILLISIBLE message's reason
    retour_le: datetime.date | None = None  # an out-of-office: the return date it states
