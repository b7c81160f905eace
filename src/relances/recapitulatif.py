"""The daily digest (`[envoi] recapitulatif`): after each run, one email to the owner with what
was done, what to do today and what went wrong — and above all when the run could not do its
job (workbook open in Excel, SMTP server refusing, stale bank data): an unattended run that
fails must not fail silently.

cli writes the text (it is the run's summary, plus what the owner needs that day); this
module only builds the message and delivers it: by SMTP in `smtp` mode, as an .eml file in the
day's output folder in `dossier` mode — and in that folder too when the SMTP server is the
very thing that failed.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Mapping

from .adresses import parse_expediteur
from .config import Config
from .delivery import POLICY, SmtpDelivery, one_line, read_password, write_atomic
from .errors import RelancesError
from .pannes import cause

ATTACHMENTS_MAX = 10 * 1024 * 1024  # bytes; beyond, files are listed, not attached


@dataclass(frozen=True)
class Envoye:
    """Where the digest went, for the summary."""

    ok: bool
    message: str
    fichier: Path | None = None


def build_digest(config: Config, sujet: str, texte: str, now: datetime.datetime,
                 pieces: list[Path] = ()) -> EmailMessage:
    if config.envoi.expediteur:
        sender = config.envoi.expediteur
    elif config.entreprise.email:
        sender = f"{config.entreprise.nom} <{config.entreprise.email}>"
    else:
        sender = f"relances <{config.envoi.recapitulatif}>"
    expediteur = parse_expediteur(sender, f"{config.path.name}: envoi.expediteur")
    message = EmailMessage(policy=POLICY)
    message["From"] = expediteur
    message["To"] = config.envoi.recapitulatif
    message["Subject"] = one_line(sujet)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=expediteur.domain)
    message["X-Relances-Recapitulatif"] = "1"
    message.set_content(texte, subtype="plain", charset="utf-8")
    size = 0
    for piece in pieces:
        try:
            data = piece.read_bytes()
        except OSError:
            continue
        size += len(data)
        if size > ATTACHMENTS_MAX:
            break
        message.add_attachment(data, maintype="application", subtype="pdf", filename=piece.name)
    return message


def send_digest(config: Config, sujet: str, texte: str, today: datetime.date,
                now: datetime.datetime, pieces: list[Path] = (),
                environ: Mapping[str, str] | None = None) -> Envoye:
    """Build and deliver the digest; never raises (a digest must not turn a run into a
    crash): what went wrong is in the returned message."""
    try:
        message = build_digest(config, sujet, texte, now, list(pieces))
    except (RelancesError, ValueError) as exc:
        return Envoye(False, f"récapitulatif impossible ({exc})")
    return deliver_digest(config, message, today, now, environ)


def deliver_digest(config: Config, message: EmailMessage, today: datetime.date,
                   now: datetime.datetime, environ: Mapping[str, str] | None = None) -> Envoye:
    """Send (smtp mode) or write (dossier mode) the digest; never raises: a digest that cannot
    go out is written to the output folder, and the reason returned."""
    folder = config.envoi.dossier / today.isoformat()
    target = folder / f"recapitulatif-{now:%H%M%S}.eml"
    data = message.as_bytes(policy=message.policy)
    if config.envoi.mode == "smtp":
        envoi = config.envoi
        password = (read_password(envoi.utilisateur, envoi.hote,
                                  os.environ if environ is None else environ)
                    if envoi.utilisateur else None)
        delivery = SmtpDelivery(config.classeur.parent, envoi.hote, envoi.port, envoi.securite,
                                envoi.utilisateur, password, limite_par_minute=0)
        try:
            delivery.connect()
            delivery.deliver(message, target)
            return Envoye(True, f"récapitulatif envoyé à {envoi.recapitulatif}", target)
        except RelancesError as exc:
            why = str(exc)
        finally:
            delivery.close()
        return _write(target, data, f"récapitulatif non envoyé ({why})")
    return _write(target, data, "récapitulatif écrit")


def _write(target: Path, data: bytes, what: str) -> Envoye:
    try:
        write_atomic(target, data)
    except OSError as exc:
        return Envoye(False, f"{what} ; impossible aussi de l’écrire dans {target} "
                             f"({cause(exc)})")
    return Envoye(what == "récapitulatif écrit", f"{what} : {target}", target)
