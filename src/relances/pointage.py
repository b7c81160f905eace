"""Bank statements in the daily life of the workbook: import, review, and what every run owes
to them.

`import_releves` (scripts/pointer.py) reads statement files, sets aside the lines already
imported, matches the new credits to open invoices and records every line in the journal
(`operations` table) before anything is written: sure matches to be appended to sheet
Paiements, the others to wait in sheet À vérifier. The journal is the record; the workbook is
brought up to date from it, by this import and by every daily run, so a workbook open in Excel
during the import loses nothing.

What every run owes to those lines (`prepare`) lives in `encaissements`; the lock, the binding
to the journal and the write-back in `session`.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .banque import AVerifier, Affectation, Releve, match_operations, read_releve
from .banque.operations import Operation
from .banque.releves import ReleveError
from .config import Config
from .encaissements import FIN_RELEVE, Preparation, prepare
from .journal import Journal, Pointage
from .reprise import taken_over
from .records import Anomalie
from .session import bind, give_references, references_of, refresh_workbook, workbook_lock
from .xlsx import read_classeur

log = logging.getLogger("relances")

# ------------------------------------------------------------------ the import


@dataclass
class Pointe:
    """What an import did, for the summary and --json."""

    releves: list[Releve] = field(default_factory=list)
    affectations: list[Affectation] = field(default_factory=list)
    a_verifier: list[AVerifier] = field(default_factory=list)
    deja: int = 0                 # credits already imported by an earlier run
    anomalies: list[Anomalie] = field(default_factory=list)
    preparation: Preparation = field(default_factory=Preparation)
    dry_run: bool = False
    ecriture: object | None = None
    ecriture_erreur: str = ""
    avertissements: list[Anomalie] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((a.operation.montant for a in self.affectations), Decimal("0.00"))

    @property
    def has_problems(self) -> bool:
        return bool(self.anomalies or self.ecriture_erreur)


def import_releves(config: Config, fichiers: list[Path], today: datetime.date,
                   now: datetime.datetime, dry_run: bool = False) -> Pointe:
    """Read `fichiers`, match their new credits, record them in the journal, and bring the
    workbook up to date (sheets Paiements and À vérifier, and the Factures cells that follow).
    A file that cannot be read is reported; the others are imported."""
    resultat = Pointe(dry_run=dry_run)
    for fichier in fichiers:
        try:
            releve = read_releve(fichier, config.banque)
        except ReleveError as exc:
            resultat.anomalies.append(Anomalie(None, None, str(exc)))
            continue
        resultat.releves.append(releve)
        resultat.anomalies.extend(releve.anomalies)
    if dry_run:
        return _import_locked(config, resultat, today, now, readonly=True)
    with workbook_lock(config.classeur):
        return _import_locked(config, resultat, today, now, readonly=False)


def _import_locked(config: Config, resultat: Pointe, today: datetime.date,
                   now: datetime.datetime, readonly: bool) -> Pointe:
    raw = read_classeur(config.classeur, config.colonnes, config.lignes_max, references_of(config))
    journal = Journal.open(config.journal, readonly=readonly)
    try:
        identifiant = bind(journal, raw, config, readonly=readonly)
        lecture, resultat.preparation = prepare(raw, journal, readonly)
        resultat.anomalies.extend(resultat.preparation.anomalies)
        known = journal.known_operations()
        nouvelles: list[Operation] = []
        seen: set[str] = set()
        for releve in resultat.releves:
            for operation in releve.operations:
                if operation.cle in known or operation.cle in seen:
                    resultat.deja += 1
                    continue
                seen.add(operation.cle)
                nouvelles.append(operation)
        nouvelles.sort(key=lambda o: (o.jour, o.fichier, o.ligne or 0))
        # The references given (and those printed before they were kept, given now).
        references, collisions = give_references(journal, lecture.classeur, journal.history(),
                                                 (), today, readonly)
        resultat.anomalies.extend(collisions)
        outcomes = match_operations(nouvelles, lecture.classeur.factures, references)
        resultat.affectations = [o for o in outcomes if isinstance(o, Affectation)]
        resultat.a_verifier = [o for o in outcomes if isinstance(o, AVerifier)]
        if readonly:
            return resultat
        # The Étape column's history, kept by hand before the first run, is taken over as a
        # daily run does: the write-back below must not empty those cells.
        journal.take_over(taken_over(raw.classeur, journal.known_factures(), config), now)
        journal.record_operations([_pointage(o) for o in outcomes], now)
        fins = [r.fin for r in resultat.releves if r.fin is not None]
        old = journal.meta(FIN_RELEVE)
        if fins and (old is None or max(fins).isoformat() > old):
            journal.set_meta(FIN_RELEVE, max(fins).isoformat())
        # (decisions taken above are already in the journal: the refresh will not see them)
        decided = resultat.preparation.decisions
        mise_a_jour = refresh_workbook(config, raw, journal, today, identifiant)
        mise_a_jour.preparation.decisions[:0] = decided
        resultat.ecriture = mise_a_jour.ecriture
        resultat.ecriture_erreur = mise_a_jour.ecriture_erreur
        resultat.avertissements = mise_a_jour.avertissements
        resultat.preparation = mise_a_jour.preparation
        return resultat
    finally:
        journal.close()


def simulated(pointe: Pointe) -> tuple[Pointage, ...]:
    """The lines a simulated import would record, for a simulated run to count them."""
    return tuple(_pointage(o) for o in [*pointe.affectations, *pointe.a_verifier])


def _pointage(outcome: Affectation | AVerifier) -> Pointage:
    operation = outcome.operation
    reference = getattr(outcome, "reference", "") or operation.reference
    common = dict(cle=operation.cle, jour=operation.jour, montant=operation.montant,
                  libelle=operation.libelle, contrepartie=operation.contrepartie,
                  reference=reference, fichier=operation.fichier, ecrit=False)
    if isinstance(outcome, Affectation):
        return Pointage(**common, statut="affecte", client=outcome.client,
                        factures=outcome.factures,
                        motif=outcome.motif + (" (paiement partiel)" if outcome.partiel else ""),
                        candidats=())
    return Pointage(**common, statut="a_verifier", client="", factures=(), motif=outcome.motif,
                    candidats=tuple((c.client, c.numero, c.reste) for c in outcome.candidats))
