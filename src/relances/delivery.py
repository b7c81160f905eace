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
from email.utils import format_datetime, make_msgid, quote
from pathlib import Path
from typing import Protocol

from .errors import DeliveryError
from .pannes import write_failed
from .journal import Entree
from .render import Rendu

POLICY = email.policy.SMTP  # CRLF line ends, as an .eml file and the wire both expect
POLICY_UTF8 = email.policy.SMTPUTF8  # for a non-ASCII local part (josé@…): RFC 6531


def wire_address(address: str) -> str:
    """The address as it travels: an internationalised domain in its ASCII (IDNA) form,
    `compta@société.fr` -> `compta@xn--socit-esab.fr`; a non-ASCII local part stays as it is
    and needs a server that speaks SMTPUTF8."""
    from email_validator import EmailNotValidError, validate_email

    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return address
    return valid.ascii_email or valid.normalized


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """A header value: one line, no control character (a line break from a cell could
    otherwise start a header of its own, and the standard library refuses it anyway)."""
    # Line breaks and runs of spaces become one space; no-break spaces (French typography)
    # are kept.
    return _CONTROL.sub("", re.sub(r"[ \t\r\n\v\f\x1c-\x1f\x85\u2028\u2029]+", " ",
                                   str(text)).strip(" "))


DISPLAY_NAME_MAX = 100  # characters: at most 4 octets each, well within a header line


def display_name(text: str) -> str:
    """A recipient's name as its header shows it: one line, cut when it is absurdly long.
    The standard library folds a name at its spaces only: a 40,000-character word would make
    a 40,000-octet line, over RFC 5322's 998, and the server would refuse the message."""
    text = one_line(text)
    return text if len(text) <= DISPLAY_NAME_MAX else text[:DISPLAY_NAME_MAX - 1].rstrip() + "…"


def build_email(rendu: Rendu, expediteur: Address, now: datetime.datetime,
                repondre_a: str = "") -> EmailMessage:
    """One standard message: both parts exactly as rendered, then the letter and invoice copies.

    Attachments are only what the run made (the letter's PDF) and PDFs found in the invoices
    folder by `Renderer`: nothing read from a cell can name a file elsewhere.
    """
    recipients = [wire_address(to) for to in rendu.action.destinataires]
    utf8 = not all(to.isascii() for to in recipients)
    message = EmailMessage(policy=POLICY_UTF8 if utf8 else POLICY)
    message["From"] = expediteur
    # A display name is one line: a line break in a cell can never start a new header.
    display = display_name(rendu.client.contact or rendu.client.nom)
    if utf8:
        message["To"] = ", ".join(f'"{quote(display)}" <{to}>' for to in recipients)
    else:
        message["To"] = [Address(display_name=display, addr_spec=to) for to in recipients]
    message["Subject"] = one_line(rendu.sujet)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=expediteur.domain)
    if repondre_a:
        message["Reply-To"] = repondre_a
    message["X-Relances-Etape"] = one_line(rendu.action.etape)
    message["X-Relances-Factures"] = one_line(", ".join(rendu.action.factures))
    message.set_content(rendu.texte, subtype="plain", charset="utf-8")
    message.add_alternative(rendu.html, subtype="html", charset="utf-8")
    if rendu.qr_png:
        # The payment QR code, shown inside the HTML part (cid:), not as an attachment.
        from .qr_paiement import QR_CID
        html_part = message.get_body(("html",))
        html_part.add_related(rendu.qr_png, maintype="image", subtype="png",
                              cid=f"<{QR_CID}>", filename="paiement-qr.png")
    if rendu.pdf:
        numeros = re.sub(r'[\\/:*?"<>|\s]+', "-", one_line("-".join(rendu.action.factures)))[:80]
        message.add_attachment(rendu.pdf, maintype="application", subtype="pdf",
                               filename=f"{rendu.action.etape.replace('_', '-')}-{numeros}.pdf")
    for name, data in rendu.annexes:
        message.add_attachment(data, maintype="application", subtype="zip", filename=name)
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

    fait = "prepare"  # the journal's word for a message this delivery has dealt with

    def __init__(self, base: Path):
        self.base = base

    def deliver(self, message: EmailMessage, eml: Path) -> None:
        # Outlook and Thunderbird open an .eml carrying X-Unsent as a draft, ready to send.
        message["X-Unsent"] = "1"
        try:
            write_atomic(eml, message.as_bytes(policy=message.policy))
        except OSError as exc:
            raise DeliveryError(write_failed(eml, exc)) from None

    def delivered(self, entry: Entree) -> bool | None:
        # The file is written atomically: present means complete, absent means never written.
        return bool(entry.fichier) and (self.base / entry.fichier).is_file()

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ SMTP

TIMEOUT = 30  # seconds a server may take to answer one command
RETRIES = 3  # attempts for a transient (4xx) refusal
RETRY_PAUSE = 2.0  # seconds before the first retry, doubled at each one
ENV_PASSWORD = "RELANCES_SMTP_MOT_DE_PASSE"
KEYRING_SERVICE = "relances"


class SmtpUnavailable(DeliveryError):
    """The server cannot be reached or refuses the login: nothing can be sent this run."""


class SmtpUncertain(DeliveryError):
    """The connection broke after the message was handed over: it may or may not have left."""


def keyring_user(utilisateur: str, hote: str) -> str:
    return f"{utilisateur}@{hote}"


def read_password(utilisateur: str, hote: str, environ: dict[str, str]) -> str | None:
    """The SMTP password: environment variable first, then the system keyring."""
    if environ.get(ENV_PASSWORD):
        return environ[ENV_PASSWORD]
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_user(utilisateur, hote))
    except Exception:  # no keyring backend on this machine (a server without a desktop)
        return None


class SmtpDelivery:
    """`[envoi] mode = "smtp"`: one connection per run, each message sent at most once.

    The exact bytes sent are written to the .eml file first (proof), then handed to the server
    in one SMTP transaction. A dropped connection before the message data is sent is reopened
    once and the message sent; a drop while the data is in flight makes the message uncertain,
    never resent on its own.
    """

    fait = "envoye"

    def __init__(self, base: Path, hote: str, port: int, securite: str, utilisateur: str,
                 password: str | None, copie_cachee: str = "", limite_par_minute: int = 0,
                 pause: float | None = None, sleep=None, clock=None):
        import time

        self.base = base  # journal paths are relative to the workbook's folder
        self.hote, self.port, self.securite = hote, port, securite
        self.utilisateur, self._password = utilisateur, password
        self.copie_cachee, self.limite = copie_cachee, limite_par_minute
        self.pause = RETRY_PAUSE if pause is None else pause
        self.sleep, self.clock = sleep or time.sleep, clock or time.monotonic
        self._smtp = None
        self._sent_at: list[float] = []
        self.refused: list[str] = []  # per message: recipients refused while others accepted

    @property
    def where(self) -> str:
        return f"{self.hote}:{self.port}"

    def connect(self) -> None:
        """Open and authenticate the connection; SmtpUnavailable (in French) when impossible."""
        import smtplib
        import socket
        import ssl

        context = ssl.create_default_context()
        try:
            if self.securite == "ssl":
                smtp = smtplib.SMTP_SSL(self.hote, self.port, timeout=TIMEOUT, context=context)
            else:
                smtp = smtplib.SMTP(self.hote, self.port, timeout=TIMEOUT)
            smtp.ehlo()
            if self.securite == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise SmtpUnavailable(f"{self.where} : le serveur ne propose pas STARTTLS ; "
                                          "vérifiez envoi.port et envoi.securite")
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.utilisateur:
                if self._password is None:
                    smtp.close()
                    raise SmtpUnavailable(
                        f"{self.where} : aucun mot de passe pour {self.utilisateur} ; définissez "
                        f"la variable d’environnement {ENV_PASSWORD} ou enregistrez-le avec "
                        "`python scripts/relancer.py --enregistrer-mot-de-passe`")
                smtp.login(self.utilisateur, self._password)
        except SmtpUnavailable:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpUnavailable(f"{self.where} : identifiant ou mot de passe refusé pour "
                                  f"{self.utilisateur} ({exc.smtp_code})") from None
        except ssl.SSLError as exc:
            raise SmtpUnavailable(f"{self.where} : connexion chiffrée impossible ({exc.reason or exc}) ;"
                                  " vérifiez envoi.securite et envoi.port") from None
        except (OSError, smtplib.SMTPException) as exc:
            reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else
                      "délai dépassé" if isinstance(exc, socket.timeout) else str(exc))
            raise SmtpUnavailable(f"{self.where} : serveur injoignable ({reason})") from None
        self._smtp = smtp

    def deliver(self, message: EmailMessage, eml: Path) -> None:
        import smtplib

        data = message.as_bytes(policy=message.policy)
        recipients = [a.addr_spec for a in message["To"].addresses]
        if not all(to.isascii() for to in recipients) and self._smtp is not None \
                and not self._smtp.has_extn("smtputf8"):
            # Refused before anything is written or sent: never « peut-être parti ».
            raise DeliveryError(f"{self.where} : le serveur n’accepte pas les adresses non ASCII "
                                f"(SMTPUTF8) : {', '.join(r for r in recipients if not r.isascii())}"
                                " non envoyé ; demandez au client une autre adresse")
        try:
            write_atomic(eml, data)  # the proof: exactly the bytes handed to the server
        except OSError as exc:
            raise DeliveryError(write_failed(eml, exc)) from None
        sender = message["From"].addresses[0].addr_spec
        self._throttle()
        try:
            self._send(sender, recipients, data)
        except SmtpUncertain:
            raise
        except DeliveryError:
            eml.unlink(missing_ok=True)  # not sent: no proof of a message that never left
            raise
        except smtplib.SMTPException as exc:
            eml.unlink(missing_ok=True)
            raise DeliveryError(f"{self.where} : refusé ({exc})") from None

    def _send(self, sender: str, recipients: list[str], data: bytes) -> None:
        import smtplib

        for attempt in range(RETRIES):
            try:
                self._transaction(sender, recipients, data)
                return
            except _Transient as exc:
                if attempt == RETRIES - 1:
                    raise DeliveryError(f"{self.where} : refus temporaire répété ({exc})") from None
                self.sleep(self.pause * 2 ** attempt)
            except smtplib.SMTPServerDisconnected:
                # Dropped before the data went out: safe to reconnect, once, and send.
                self._smtp = None
                try:
                    self.connect()
                except SmtpUnavailable as exc:
                    raise DeliveryError(f"connexion perdue, reconnexion impossible : {exc}") from None
                try:
                    self._transaction(sender, recipients, data)
                    return
                except smtplib.SMTPServerDisconnected:
                    self._smtp = None
                    raise DeliveryError(f"{self.where} : connexion perdue deux fois") from None

    def _transaction(self, sender: str, recipients: list[str], data: bytes) -> None:
        """MAIL, RCPT, DATA by hand, to know whether a drop happened before or during DATA."""
        import smtplib

        smtp = self._smtp
        if smtp is None:
            raise smtplib.SMTPServerDisconnected("pas de connexion")
        self.refused = []
        utf8 = not all(to.isascii() for to in recipients)
        code, reply = smtp.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else [])
        if code != 250:
            self._reset_and_raise(code, reply, "expéditeur")
        accepted = []
        for to in recipients:
            code, reply = smtp.rcpt(to)
            if code in (250, 251):
                accepted.append(to)
            elif 400 <= code < 500:
                self._reset_and_raise(code, reply, to)
            else:
                self.refused.append(f"{to} ({code} {_text(reply)})")
        if not accepted:
            smtp.rset()
            raise DeliveryError(f"{self.where} : destinataire refusé : {', '.join(self.refused)}")
        if self.copie_cachee:
            code, reply = smtp.rcpt(self.copie_cachee)  # archive copy; its refusal stops nothing
            if code not in (250, 251):
                self.refused.append(f"{self.copie_cachee} ({code} {_text(reply)})")
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            raise SmtpUncertain(f"{self.where} : connexion coupée pendant l’envoi du message : "
                                "il est peut-être parti") from None
        if code != 250:
            self._reset_and_raise(code, reply, "message")

    def _reset_and_raise(self, code: int, reply: bytes, what: str) -> None:
        try:
            self._smtp.rset()
        except Exception:
            pass
        if 400 <= code < 500:
            raise _Transient(f"{code} {_text(reply)}")
        raise DeliveryError(f"{self.where} : {what} refusé ({code} {_text(reply)})")

    def _throttle(self) -> None:
        """At most `limite_par_minute` messages in any sliding minute."""
        if not self.limite:
            return
        now = self.clock()
        self._sent_at = [t for t in self._sent_at if now - t < 60]
        if len(self._sent_at) >= self.limite:
            self.sleep(60 - (now - self._sent_at[0]))
        self._sent_at.append(self.clock())

    def delivered(self, entry: Entree) -> bool | None:
        """No .eml yet: the crash came before the message was handed over, it can be redone.
        Otherwise an interrupted SMTP transaction cannot be checked from here: the user decides."""
        if entry.fichier and (self.base / entry.fichier).is_file():
            return None
        return False

    def check(self) -> None:
        """--verifier: connect and log in, send nothing."""
        self.connect()
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:
                pass
            self._smtp = None


class _Transient(Exception):
    """A 4xx answer: worth trying again shortly."""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
