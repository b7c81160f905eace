"""Read stage: steps a user noted by hand in the Étape column, taken over as history.

A user who starts with relances mid-way writes `Dernier rappel (05/11/2026)` (or the step's
name, `dernier_rappel (05/11/2026)`) in Étape and the schedule goes on from there instead of
starting over with a first reminder.
"""

from __future__ import annotations

import re

from .cells import CellError, read_date
from .config import Config
from .records import Classeur, Etape, Fait, client_key, normalise

_ETAPE_CELL = re.compile(r"^\s*(.+?)\s*\((\d{1,2}/\d{1,2}/\d{4})\)\s*$")


def _step_named(text: str, config: Config, profil: str = "") -> Etape | None:
    """The step a user (or an earlier run) wrote in Étape: by name or by label."""
    wanted = normalise(text)
    for etapes in (config.etapes_of(profil), config.toutes_etapes):
        found = next((e for e in etapes if wanted in (normalise(e.nom), normalise(e.titre))),
                     None)
        if found is not None:
            return found
    return None


def taken_over(classeur: Classeur, known: set[tuple[str, str]], config: Config) -> list[Fait]:
    """Steps a user recorded by hand in the Étape column, for invoices the journal never saw.

    `known` holds every (client key, invoice number) the journal mentions, failed attempts
    included: for those, the Étape cell is the tool's own writing and the journal is the truth.
    """
    faits = []
    for facture in classeur.factures:
        match = _ETAPE_CELL.match(facture.etape_classeur)
        if (client_key(facture.client), facture.numero) in known or not match:
            continue
        etape = _step_named(match.group(1), config, classeur.client_of(facture).profil)
        try:
            jour = read_date(match.group(2))
        except CellError:
            continue
        if etape is not None and jour is not None:
            faits.append(Fait(facture=facture.numero, cle=etape.nom, etape=etape.nom,
                              canal=etape.canal, client=facture.client, jour=jour,
                              statut="repris"))
    return faits
