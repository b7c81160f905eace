"""The platform's lifecycle statuses imported: read, checked against the workbook, recorded in
the journal (table `statuts_factures`), and the workbook brought up to date (Prochaine
action) the way a statement import does — under the workbook's lock, bound to its journal.

What the statuses do to a chase is the core's (`compte.with_statuts`): every run reads them
from the journal, like Échanges.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .config import Config
from .efacture.modeles import StatutFacture
from .efacture.statuts import lire_statuts
from .journal import Journal
from .records import Anomalie
from .session import bind, references_of, refresh_workbook, workbook_lock
from .xlsx import read_classeur


@dataclass
class BilanStatuts:
    """What an import of statuses did, for the summary and --json."""

    lus: int = 0  # statuses read from the files
    appliques: int = 0  # of them, new in the journal and about an invoice of the workbook
    inconnus: list[str] = field(default_factory=list)  # invoice numbers not in the workbook
    anomalies: list[Anomalie] = field(default_factory=list)
    statuts: list[StatutFacture] = field(default_factory=list)  # those kept (recorded)
    dry_run: bool = False
    ecriture: object | None = None
    ecriture_erreur: str = ""


def importer_statuts(config: Config, chemins: list[Path], today: datetime.date,
                     dry_run: bool = False,
                     now: datetime.datetime | None = None) -> BilanStatuts:
    """Read the status exports `chemins`, keep those about the workbook's invoices (of our
    own company), record them and bring the workbook up to date — unless `dry_run`."""
    bilan = BilanStatuts(dry_run=dry_run)
    lus: list[StatutFacture] = []
    for chemin in chemins:
        statuts, anomalies = lire_statuts(Path(chemin), config.statuts_colonnes)
        lus.extend(statuts)
        bilan.anomalies.extend(anomalies)
    bilan.lus = len(lus)
    now = now or datetime.datetime.combine(today, datetime.time(12))
    if dry_run:
        _import_locked(config, bilan, lus, today, now, readonly=True)
        return bilan
    with workbook_lock(config.classeur):
        _import_locked(config, bilan, lus, today, now, readonly=False)
    return bilan


def _siren(config: Config) -> str:
    """Our SIREN: the first nine digits of [entreprise] siret ('' unknown, or Belgian)."""
    digits = re.sub(r"\D", "", config.entreprise.siret)
    return digits[:9] if config.entreprise.pays == "FR" and len(digits) in (9, 14) else ""


def _import_locked(config: Config, bilan: BilanStatuts, lus: list[StatutFacture],
                   today: datetime.date, now: datetime.datetime, readonly: bool) -> None:
    raw = read_classeur(config.classeur, config.colonnes, config.lignes_max,
                        references_of(config))
    numeros = {f.numero for f in raw.classeur.factures}
    ours = _siren(config)
    kept: list[StatutFacture] = []
    inconnus: dict[str, None] = {}  # (a list searched for each row took minutes on 100 000)
    for statut in lus:
        if statut.jour == datetime.date.min:  # an unreadable row's date: the import's day
            statut = replace(statut, jour=today)
        if statut.vendeur and ours and statut.vendeur != ours:
            bilan.anomalies.append(Anomalie(None, None, (
                f"{statut.source} : facture {statut.numero} d’un autre vendeur (SIREN "
                f"{statut.vendeur}, le vôtre est {ours}) : statut ignoré")))
            continue
        if statut.numero not in numeros:
            inconnus[statut.numero] = None
            continue
        kept.append(statut)
    bilan.inconnus = list(inconnus)
    bilan.statuts = kept
    journal = Journal.open(config.journal, readonly=readonly)
    try:
        identifiant = bind(journal, raw, config, readonly=readonly)
        if readonly:
            known = {_cle(s) for s in journal.statuts()}
            bilan.appliques = len({_cle(s) for s in kept} - known)
            return
        bilan.appliques = journal.record_statuts(kept, now)
        mise_a_jour = refresh_workbook(config, raw, journal, today, identifiant)
        bilan.ecriture = mise_a_jour.ecriture
        bilan.ecriture_erreur = mise_a_jour.ecriture_erreur
        bilan.anomalies.extend(mise_a_jour.avertissements)
    finally:
        journal.close()


def _cle(statut: StatutFacture) -> tuple:
    return statut.numero, statut.code, statut.jour, statut.motif
