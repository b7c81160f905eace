"""Delivery stage: rendered messages -> standard email messages -> delivered.

Messages are built with the standard library only (`email.message.EmailMessage`): From and To
with display names encoded as RFC 2047 requires, a real plain-text part and an HTML part, a
Message-ID on the sender's domain. How they leave is a small interface, `Delivery`:
`DossierDelivery` writes each message as an `.eml` file (it opens in Thunderbird or Outlook);
an SMTP delivery plugs in beside it.
"""

from __future__ import annotations

import datetime
import email.policy
import os
import re
import tempfile
import unicodedata
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

from .errors import ConfigError, DeliveryError
from .journal import Entree
from .render import Rendu

POLICY = email.policy.SMTP  # CRLF line ends, as an .eml file and the wire both expect


def parse_expediteur(text: str, where: str) -> Address:
    """`Atelier Dupont — Comptabilité <compta@atelier-dupont.fr>` -> Address."""
    name, addr = parseaddr(text)
    if "@" not in addr or any(c in text for c in "\r\n"):
        raise ConfigError(f"{where} : adresse d'expéditeur invalide « {text} » "
                          "(exemple : \"Atelier Dupont <compta@atelier-dupont.fr>\")")
    user, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def build_email(rendu: Rendu, expediteur: Address, now: datetime.datetime) -> EmailMessage:
    """One standard message: both parts exactly as rendered, then the letter and invoice copies.

    Attachments are only what the run made (the letter's PDF) and PDFs found in the invoices
    folder by `Renderer`: nothing read from a cell can name a file elsewhere.
    """
    message = EmailMessage(policy=POLICY)
    message["From"] = expediteur
    display = rendu.client.contact or rendu.client.nom
    message["To"] = [Address(display_name=display, addr_spec=to)
                     for to in rendu.action.destinataires]
    message["Subject"] = rendu.sujet
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=expediteur.domain)
    message["X-Relances-Etape"] = rendu.action.etape
    message["X-Relances-Factures"] = ", ".join(rendu.action.factures)
    message.set_content(rendu.texte, subtype="plain", charset="utf-8")
    message.add_alternative(rendu.html, subtype="html", charset="utf-8")
    if rendu.pdf:
        numeros = re.sub(r'[\\/:*?"<>|\s]+', "-", "-".join(rendu.action.factures))
        message.add_attachment(rendu.pdf, maintype="application", subtype="pdf",
                               filename=f"{rendu.action.etape.replace('_', '-')}-{numeros}.pdf")
    for piece in rendu.pieces:
        try:
            data = piece.read_bytes()
        except OSError as exc:
            raise DeliveryError(f"{piece} : lecture impossible ({exc.strerror or exc})") from None
        message.add_attachment(data, maintype="application", subtype="pdf", filename=piece.name)
    return message


def slug(text: str, limit: int = 40) -> str:
    """File-name-safe ASCII form of a client name: `Société Générale Éts` -> `societe-generale-ets`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit] or "client"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a crash never leaves half a message behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Delivery(Protocol):
    """How a built message leaves. `eml` is where its exact bytes are kept as proof."""

    def deliver(self, message: EmailMessage, eml: Path) -> None: ...

    def delivered(self, entry: Entree) -> bool | None:
        """After a crash: was this "en cours" message delivered? None when it cannot be known."""

    def close(self) -> None: ...


class DossierDelivery:
    """`[envoi] mode = "dossier"`: each message becomes an .eml file; nothing leaves the machine.

    Journal paths are relative to `base` (the workbook's folder).
    """

    def __init__(self, base: Path):
        self.base = base

    def deliver(self, message: EmailMessage, eml: Path) -> None:
        try:
            write_atomic(eml, message.as_bytes(policy=POLICY))
        except OSError as exc:
            raise DeliveryError(f"{eml} : écriture impossible ({exc.strerror or exc})") from None

    def delivered(self, entry: Entree) -> bool | None:
        # The file is written atomically: present means complete, absent means never written.
        return bool(entry.fichier) and (self.base / entry.fichier).is_file()

    def close(self) -> None:
        pass
