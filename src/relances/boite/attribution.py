"""Whose message is it: a reply or an out-of-office to a client, a bounce to a journal entry. Pure.

A reply (or an automatic reply) belongs to a client when it answers a message we sent (its
`In-Reply-To`/`References` name a Message-ID the journal kept), else when its sender's address
is one client's Email, else when its sender's domain is the email domain of exactly one client
and is not a public webmail domain (gmail.com, orange.fr, skynet.be…: thousands of people share
those). Two clients, or none: nobody is held, the message is listed for the user.

A bounce belongs to the journal entry of the message that was not delivered: by its
Message-ID, else by a failed address among the recipients of the emails of the 15 days before
it (the latest).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol

from .retours import Retour

# Shared mailbox providers: a domain from here names nobody.
WEBMAILS = frozenset((
    "gmail.com", "googlemail.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr",
    "laposte.net", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "pm.me",
    "skynet.be", "telenet.be", "proximus.be", "voo.be", "scarlet.be", "aol.com", "msn.com",
    "ymail.com", "bbox.fr", "numericable.fr", "club-internet.fr", "aliceadsl.fr", "web.de",
    "mail.com", "yandex.com", "yandex.ru", "zoho.com", "tutanota.com", "hey.com", "gmx.com",
))
# Families spread over many country domains: outlook.fr, hotmail.be, yahoo.co.uk, gmx.de…
WEBMAIL_FAMILIES = ("outlook", "hotmail", "live", "yahoo", "gmx")

REBOND_JOURS = 15  # a bounce without the original Message-ID: emails of the 15 days before


def public_domain(domaine: str) -> bool:
    domaine = domaine.lower().strip(".")
    return domaine in WEBMAILS or domaine.split(".")[0] in WEBMAIL_FAMILIES


def domain_of(adresse: str) -> str:
    return adresse.rpartition("@")[2].lower() if "@" in adresse else ""


@dataclass(frozen=True)
class Attribue:
    """Who a message belongs to: `client` ('' nobody) and how, or the clients it could be."""

    client: str = ""
    comment: str = ""  # "message", "adresse", "domaine"
    candidats: tuple[str, ...] = ()  # two or more: ambiguous, nobody held


def match_reply(retour: Retour, envois: Mapping[str, str],
                adresses: Mapping[str, Iterable[str]]) -> Attribue:
    """`envois`: Message-ID we sent -> client; `adresses`: client -> its Email addresses (from
    Clients and Factures)."""
    for message_id in retour.en_reponse_a:
        if message_id in envois:
            return Attribue(envois[message_id], "message")
    expediteur = retour.expediteur.lower()
    if not expediteur:
        return Attribue()
    exact = sorted({client for client, mails in adresses.items()
                    if expediteur in {a.strip().lower() for a in mails}})
    if len(exact) == 1:
        return Attribue(exact[0], "adresse")
    if exact:
        return Attribue(candidats=tuple(exact))
    domaine = domain_of(expediteur)
    if not domaine or public_domain(domaine):
        return Attribue()
    same = sorted({client for client, mails in adresses.items()
                   if domaine in {domain_of(a.strip()) for a in mails}})
    if len(same) == 1:
        return Attribue(same[0], "domaine")
    return Attribue(candidats=tuple(same))


class Envoi(Protocol):
    """A journal entry (journal.Entree fits)."""

    id: int
    jour: datetime.date
    client: str
    canal: str
    destinataire: str
    message_id: str
    statut: str


DELIVERED = ("envoye", "prepare", "incertain")


def match_bounce(retour: Retour, entrees: Iterable[Envoi]) -> Envoi | None:
    """The email a bounce reports as not delivered, or None."""
    sent = [e for e in entrees if e.canal == "email"]
    for message_id in retour.en_reponse_a:
        found = [e for e in sent if message_id and e.message_id == message_id]
        if found:  # (one already « non remis »: a second report of the same failure)
            return found[-1]
    emails = [e for e in sent if e.statut in DELIVERED]
    failed = {a.lower() for a in retour.adresses_en_echec}
    if not failed:
        return None
    since = retour.jour - datetime.timedelta(days=REBOND_JOURS)
    found = [e for e in emails if since <= e.jour <= retour.jour
             and failed & {a.strip().lower() for a in e.destinataire.split(",")}]
    return max(found, key=lambda e: (e.jour, e.id), default=None)
