"""Addresses and SMTP settings shared by the configuration and the delivery stage.

Kept apart from `delivery` so that reading config.toml does not pull in rendering and sending
(the old import circle config -> delivery -> render -> config).
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr

from .errors import ConfigError

SECURITES = ("starttls", "ssl", "aucune")
PORTS = {"starttls": 587, "ssl": 465, "aucune": 25}


def parse_expediteur(text: str, where: str) -> Address:
    """`Atelier Dupont — Comptabilité <compta@atelier-dupont.fr>` -> Address."""
    name, addr = parseaddr(text)
    if "@" not in addr or any(c in text for c in "\r\n"):
        raise ConfigError(f"{where} : adresse d’expéditeur invalide « {text} » "
                          "(exemple : \"Atelier Dupont <compta@atelier-dupont.fr>\")")
    user, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)
