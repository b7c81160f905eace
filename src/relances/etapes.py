"""The steps the tool adds to the user's schedule, and the deadlines steps give. Pure core.

The user's `[[etapes]]` are the schedule; a broken promise, a missed instalment, a thank-you,
the dossier sent to the agency and a payment the agency must hear of are steps of the tool's
own. A message that gives a date stores it (`Action.date_limite`, then the journal): one rule,
`deadline_end`, says which day that is, for every step and template.
"""

from __future__ import annotations

import datetime

from .config import Config, default_libelle
from .records import PROMESSE_NON_TENUE, Etape

ONE_DAY = datetime.timedelta(days=1)

# The hand-off dossier sent to the collection agency ([recouvrement] email), once per hand-off.
TRANSMISSION = Etape("transmission", 0, "email", modele="transmission_recouvrement",
                     libelle="Dossier transmis à l’agence", penalites=True)
# A payment received from a client whose dossier is with the agency: the agency is told, the
# debtor gets no thank-you.
INFO_AGENCE = Etape("paiement_agence", 0, "email", modele="paiement_recouvrement",
                    libelle="Paiement signalé à l’agence")
# Thanks, when an invoice that was chased is found paid ([regles] remerciement = true).
REMERCIEMENT = Etape("remerciement", 0, "email", modele="remerciement", libelle="Remerciement")
# A missed instalment of a payment plan: its own reminder, quoting the plan.
ECHEANCIER = Etape("echeance_manquee", 0, "email", modele="echeance_manquee", delai_jours=5,
                   libelle="Échéance manquée")
# The reminder of a broken promise sets a new, short deadline.
PROMESSE = Etape(PROMESSE_NON_TENUE, 0, "email", modele=PROMESSE_NON_TENUE, delai_jours=5,
                 libelle=default_libelle(PROMESSE_NON_TENUE))
SPECIALES = {e.nom: e for e in (TRANSMISSION, INFO_AGENCE, REMERCIEMENT, ECHEANCIER, PROMESSE)}

# Templates that assume an oversight (« simple oubli »): never for a client under formal notice
# or with the agency, who gets the firm first reminder instead.
COURTOIS = frozenset({"rappel", "rappel_courtois"})
FERME = "rappel_ferme"


def promesse_cle(promesse: datetime.date) -> str:
    """Journal key of the broken-promise reminder: one per promised date."""
    return f"{PROMESSE_NON_TENUE}:{promesse.isoformat()}"


def is_notice(etape: str, modele: str | None) -> bool:
    """A formal notice: the step or its template is called mise_en_demeure."""
    return "mise_en_demeure" in (etape, modele)


def etape_named(nom: str, config: Config, profil: str = "") -> Etape | None:
    """A step of the schedule or of the tool's own, by name."""
    return SPECIALES.get(nom) or config.etape(nom, profil)


def date_limite(etape: Etape, day: datetime.date, config: Config) -> datetime.date | None:
    """The date a message sent on `day` gives the client, on a business day; None: none given.

    A letter's deadline runs from its receipt (« huit jours à compter de la réception »): it has
    no date of its own, see `deadline_end`.
    """
    if not etape.delai_jours or etape.canal == "courrier":
        return None
    return config.calendrier.prochain_ouvre(day + datetime.timedelta(days=etape.delai_jours))


def deadline_end(etape: Etape, day: datetime.date, config: Config) -> datetime.date | None:
    """Last day (inclusive, a business day) of the deadline a step done on `day` gave; None
    when it gave none. A registered letter's runs from its receipt, so the delivery window
    (`[regles] delai_recommande_jours`) is added."""
    if not etape.delai_jours:
        return None
    delai = etape.delai_jours
    if etape.canal == "courrier":
        delai += config.regles.delai_recommande_jours
    return config.calendrier.prochain_ouvre(day + datetime.timedelta(days=delai))
