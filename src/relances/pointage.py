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
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from .banque import AVerifier, Affectation, Releve, match_operations, read_releve
from .banque.operations import Operation
from .banque.rapprochement import Candidat
from .banque.releves import ReleveError
from .config import Config
from .encaissements import FIN_RELEVE, Preparation, describe, prepare
from .journal import Journal, Pointage
from .reprise import taken_over
from .records import Anomalie, normalise
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
    # Reversals that cancelled a payment imported earlier: the lines recorded, and what the
    # summary says of each.
    contrepassations: list[Pointage] = field(default_factory=list)
    annulations: list[str] = field(default_factory=list)
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
            releve = read_releve(fichier, config.banque, today)
        except ReleveError as exc:
            resultat.anomalies.append(Anomalie(None, None, str(exc)))
            continue
        resultat.releves.append(releve)
        resultat.anomalies.extend(releve.anomalies)
    return import_read(config, resultat, today, now)


def import_read(config: Config, resultat: Pointe, today: datetime.date,
                now: datetime.datetime) -> Pointe:
    """The import of statements already read (`resultat.releves`)."""
    dry_run = resultat.dry_run
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
        # The references given (and those printed before they were kept, given now).
        references, collisions = give_references(journal, lecture.classeur, journal.history(),
                                                 (), today, readonly)
        resultat.anomalies.extend(collisions)
        import_lines(journal, lecture, resultat, now, readonly, references)
        if readonly:
            return resultat
        # The Étape column's history, kept by hand before the first run, is taken over as a
        # daily run does: the write-back below must not empty those cells.
        journal.take_over(taken_over(raw.classeur, journal.known_factures(), config), now)
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


def import_lines(journal: Journal, lecture, resultat: Pointe, now: datetime.datetime,
                 readonly: bool, references=None) -> None:
    """The statements' lines sorted out and recorded in the journal (unless `readonly`): the
    lines already imported set aside, new credits matched, same-looking lines with another
    bank id sent to review, reversals put against the payment they cancel."""
    connues = _Connues(journal.operation_keys())
    nouvelles: list[Operation] = []
    doublons: list[Operation] = []
    reversals: list[Operation] = []
    for releve in resultat.releves:
        for operation in releve.operations:
            verdict = connues.verdict(operation)
            if verdict == "deja":
                resultat.deja += 1
                continue
            connues.add(operation)
            (doublons if verdict == "doublon" else reversals if operation.annulation
             else nouvelles).append(operation)
    order = lambda o: (o.jour, o.fichier, o.ligne or 0)  # noqa: E731
    nouvelles.sort(key=order)
    factures = lecture.classeur.factures
    outcomes = match_operations(nouvelles, factures, references)
    outcomes += [AVerifier(o, DOUBLON, _candidats(o, factures))
                 for o in sorted(doublons, key=order)]
    resultat.affectations = [o for o in outcomes if isinstance(o, Affectation)]
    resultat.a_verifier = [o for o in outcomes if isinstance(o, AVerifier)]
    if not readonly:
        journal.record_operations([_pointage(o) for o in outcomes], now)
    known = journal.pointages() if not readonly else [
        *journal.pointages(), *(_pointage(o) for o in outcomes)]
    for operation in sorted(reversals, key=order):
        outcome = _reverse(operation, known, factures)
        if isinstance(outcome, AVerifier):
            resultat.a_verifier.append(outcome)
            line = _pointage(outcome)
        else:
            line, credit, message = outcome
            resultat.contrepassations.append(line)
            resultat.annulations.append(message)
            if credit.statut in ("a_verifier", "ignore") and not readonly:
                journal.cancel_operation(credit.cle, line.motif)
        known.append(line)
        if not readonly:
            journal.record_operations([line], now)


def simulated(pointe: Pointe) -> tuple[Pointage, ...]:
    """The lines a simulated import would record, for a simulated run to count them."""
    return (*(_pointage(o) for o in [*pointe.affectations, *pointe.a_verifier]),
            *pointe.contrepassations)


def _pointage(outcome: Affectation | AVerifier) -> Pointage:
    operation = outcome.operation
    reference = getattr(outcome, "reference", "") or operation.reference
    common = dict(cle=operation.cle, jour=operation.jour, montant=operation.montant,
                  libelle=operation.libelle, contrepartie=operation.contrepartie,
                  reference=reference, fichier=operation.fichier, ecrit=False,
                  id_banque=operation.id_banque, empreinte=operation.empreinte)
    if isinstance(outcome, Affectation):
        return Pointage(**common, statut="affecte", client=outcome.client,
                        factures=outcome.factures,
                        motif=outcome.motif + (" (paiement partiel)" if outcome.partiel else ""),
                        candidats=())
    return Pointage(**common, statut="a_verifier", client="", factures=(), motif=outcome.motif,
                    candidats=tuple((c.client, c.numero, c.reste) for c in outcome.candidats))


# ------------------------------------------------------------------ never twice

DOUBLON = ("même jour, montant et libellé qu’une opération déjà importée : doublon d’export "
           "ou second paiement ?")


class _Connues:
    """The lines already imported, known by key, by bank id and by fingerprint: the same
    operation exported once without its bank id and once with it, or from another format of
    the same account, is recognised."""

    def __init__(self, keys: list[tuple[str, str, str]]):
        self.cles: set[str] = set()
        self.ids: set[str] = set()
        self.empreintes: dict[str, set[str]] = {}
        for cle, id_banque, empreinte in keys:
            self._add(cle, id_banque, empreinte)

    def verdict(self, operation: Operation) -> str:
        """"deja" (imported already), "doublon" (the same content as a line imported, but a
        bank id of its own: a person decides) or "nouvelle"."""
        if operation.cle in self.cles or (operation.id_banque
                                          and operation.id_banque in self.ids):
            return "deja"
        ids = self.empreintes.get(operation.empreinte) if operation.empreinte else None
        if ids is None:
            return "nouvelle"
        if operation.id_banque and "" not in ids:
            return "doublon"  # the bank tells them apart: another id, the same content
        return "deja"

    def add(self, operation: Operation) -> None:
        self._add(operation.cle, operation.id_banque, operation.empreinte)

    def _add(self, cle: str, id_banque: str, empreinte: str) -> None:
        self.cles.add(cle)
        if id_banque:
            self.ids.add(id_banque)
        if empreinte:
            self.empreintes.setdefault(empreinte, set()).add(id_banque)


def _candidats(operation: Operation, factures) -> tuple[Candidat, ...]:
    """The invoices a line may be about, as matching it alone would find them."""
    outcome = match_operations([operation], factures)[0]
    if isinstance(outcome, AVerifier):
        return outcome.candidats
    by_numero = {(f.client, f.numero): f for f in factures}
    return tuple(Candidat(outcome.client, n, by_numero[(outcome.client, n)].reste_du
                          if (outcome.client, n) in by_numero else operation.montant)
                 for n in outcome.factures)


# ------------------------------------------------------------------ reversals

ANNULATION_JOURS = 90  # a reversal takes back a credit of at most this many days before


def _reverse(operation: Operation, known: list[Pointage], factures
             ) -> AVerifier | tuple[Pointage, Pointage, str]:
    """The credit a reversal cancels: (the reversal's line, the credit, the summary's word),
    or the reversal sent to À vérifier when no single credit imported fits."""
    undone = {p.annule for p in known if p.annule}
    credits = [p for p in known if p.montant > 0 and not p.annule and p.cle not in undone]
    found = []
    if operation.annule:
        found = [p for p in credits if operation.annule in (p.cle, p.id_banque, p.reference)
                 or p.cle.endswith(f":{operation.annule}")]
    if not found:
        found = [p for p in credits if p.montant == operation.montant
                 and 0 <= (operation.jour - p.jour).days <= ANNULATION_JOURS
                 and _same_payer(p, operation)]
    if len(found) != 1:
        return _unmatched(operation, credits, found, factures)
    credit = found[0]
    what = credit.libelle or credit.contrepartie
    motif = (f"paiement du {credit.jour:%d/%m/%Y}" + (f" « {what} »" if what else "")
             + f" (relevé {credit.cle}) repris par la banque le {operation.jour:%d/%m/%Y}")
    line = Pointage(
        cle=operation.cle, jour=operation.jour, montant=-operation.montant,
        libelle=operation.libelle, contrepartie=operation.contrepartie,
        reference=operation.reference, fichier=operation.fichier,
        statut="affecte" if credit.statut == "affecte" else "annule",
        client=credit.client, factures=credit.factures, motif=motif, candidats=(),
        ecrit=False, id_banque=operation.id_banque, empreinte=operation.empreinte,
        annule=credit.cle)
    head = f"{describe(credit)} annulé par la banque le {operation.jour:%d/%m/%Y}"
    if credit.statut == "affecte":
        tail = ("la facture est de nouveau à relancer" if len(credit.factures) <= 1
                else "les factures sont de nouveau à relancer")
    elif credit.statut == "a_verifier":
        tail = "il n’attend plus dans la feuille À vérifier"
    else:
        tail = "il n’était affecté à aucune facture : rien à reprendre"
    return line, credit, f"{head} : {tail}"


def _same_payer(credit: Pointage, operation: Operation) -> bool:
    """The reversal names the credit's client (its words in any order: « ROUSSEAU JULIE »), or
    carries its label or payer."""
    texte = normalise(operation.texte)
    words = {normalise(w) for w in re.split(r"\W+", operation.texte) if w}
    client = {normalise(w) for w in re.split(r"\W+", credit.client) if len(w) > 1}
    if client and client <= words:
        return True
    return any(n and n in texte for n in (normalise(credit.libelle),
                                          normalise(credit.contrepartie)))


def _unmatched(operation: Operation, credits: list[Pointage], found: list[Pointage],
               factures) -> AVerifier:
    """A reversal no single imported credit fits: a person decides which payment it cancels;
    meanwhile the clients it may concern are not chased."""
    same = found or [p for p in credits if p.montant == operation.montant
                     and 0 <= (operation.jour - p.jour).days <= ANNULATION_JOURS]
    by_numero = {(f.client, f.numero): f for f in factures}
    candidats = [Candidat(p.client, n, by_numero[(p.client, n)].reste_du
                          if (p.client, n) in by_numero else p.montant)
                 for p in same for n in p.factures]
    if not candidats:
        candidats = list(_candidats(replace(operation, annulation=False), factures))
    why = ("plusieurs paiements importés pourraient être celui-ci" if len(found) > 1 else
           "aucun paiement importé ne correspond")
    return AVerifier(replace(operation, montant=-operation.montant), (
        f"annulation par la banque (rejet ou retour) : {why} ; écrivez la facture dont le "
        "paiement est annulé, ou « ignorer »"), tuple(dict.fromkeys(candidats)))
