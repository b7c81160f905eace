"""Payment references: each invoice gets one, stable, that banks recognise. Pure.

- `rf`: the ISO 11649 creditor reference, `RF` + two check digits + the invoice number's
  letters and digits (at most 21): `F-2026-027` -> `RF06 F202 6027`;
- `ogm`: the Belgian structured communication, ten digits from the invoice number and two
  check digits (mod 97): `F-2026-027` -> `+++000/2026/02785+++`;
- `numero`: the invoice number as it is.

Check digits come from python-stdnum (ISO 7064 mod 97-10, OGM-VCS), and every reference built
is validated by it before use.
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.iso7064 import mod_97_10

MODES = ("rf", "ogm", "numero")


def reference(numero: str, mode: str) -> str:
    """The payment reference of invoice `numero`, formatted to be read and typed."""
    if mode == "rf":
        body = re.sub(r"[^A-Z0-9]", "", numero.upper())[-21:] or "0"
        ref = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
        return iso11649.format(iso11649.validate(ref))
    if mode == "ogm":
        digits = re.sub(r"\D", "", numero)[-10:].rjust(10, "0")
        ogm = digits + ogm_vcs.calc_check_digits(digits)
        return f"+++{ogm_vcs.format(ogm_vcs.validate(ogm))}+++"
    return numero


def compact(ref: str) -> str:
    """The reference as banks carry it: `RF06F2026027`, `000202602785`."""
    return re.sub(r"[^A-Za-z0-9]", "", ref).upper()
