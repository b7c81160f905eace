"""What every run owes to bank statements: the journal's lines taken into account.

`prepare` is what every run (daily run or statement import) does first with the statement
lines the journal holds: the user's decisions typed in À vérifier are taken, the payments not
yet in Paiements are counted, and a client who may be the payer of a line waiting for review is
not chased meanwhile. `stale` says when the payment data is too old to chase on.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass, field, replace

from .config import Config
from .journal import Journal, Pointage
from .records import Anomalie, Classeur, Reglement, client_key, normalise
from .xlsx.lecture import Decision, Lecture
from .xlsx.paiements import apply_reglements

log = logging.getLogger("relances")

SOURCE = "relevé"  # sheet Paiements' Source of an imported line: « relevé <its key> »
IGNORER = frozenset(normalise(w) for w in (
    "ignorer", "ignoré", "ignorée", "ignore", "à ignorer", "pas un client",
    "pas un paiement client", "déjà saisi", "déjà saisie", "non", "aucune", "rien"))
FIN_RELEVE = "releve_fin"  # journal meta: the last day covered by a statement imported


def source_of(cle: str) -> str:
    return f"{SOURCE} {cle}"


# ------------------------------------------------------------------ every run


@dataclass
class Preparation:
    """What `prepare` found, for the summary."""

    decisions: list[str] = field(default_factory=list)       # decisions taken, described
    anomalies: list[Anomalie] = field(default_factory=list)  # decisions that cannot be read
    a_verifier: list[Pointage] = field(default_factory=list)  # lines still waiting
    a_ecrire: list[Pointage] = field(default_factory=list)   # lines to append to Paiements
    # Décision cells that could not be applied, kept as typed when the sheet is rewritten.
    saisies: dict[str, str] = field(default_factory=dict)


def prepare(lecture: Lecture, journal: Journal, readonly: bool = False,
            extra: tuple[Pointage, ...] = ()) -> tuple[Lecture, Preparation]:
    """The workbook's records as the journal knows them (see the module's docstring).

    With `readonly` (a dry run), decisions are applied in memory only: the plan shown is the
    one a real run would make. `extra` are lines a simulated import would have recorded."""
    preparation = Preparation()
    known = journal.pointages()
    pointages = [*known, *(p for p in extra if p.cle not in {k.cle for k in known})]
    if not pointages:
        return lecture, preparation
    classeur = lecture.classeur
    by_cle = {p.cle: p for p in pointages}
    for decision in lecture.decisions:
        pointage = by_cle.get(decision.cle)
        if pointage is None or pointage.statut != "a_verifier":
            continue  # already decided: the sheet still shows it until it is rewritten
        decided, message = read_decision(decision, pointage, classeur)
        if decided is None:
            preparation.anomalies.append(Anomalie("À vérifier", decision.row, message))
            preparation.saisies[decision.cle] = decision.texte
            continue
        if not readonly:
            journal.decide_operation(decided.cle, decided.statut, decided.client,
                                     decided.factures, decided.motif)
        by_cle[decided.cle] = decided
        preparation.decisions.append(message)
    pointages = list(by_cle.values())

    # Lines whose row is already in Paiements (a crash after the save, before the journal
    # knew): written. The others are counted now, and appended by the next write-back.
    in_sheet = {r.source.strip() for r in classeur.reglements if r.source}
    found = [p.cle for p in pointages
             if p.statut == "affecte" and not p.ecrit and source_of(p.cle) in in_sheet]
    if found and not readonly:
        journal.mark_written(found)
    pending = [p for p in pointages if p.statut == "affecte" and not p.ecrit
               and p.cle not in found]
    classeur = apply_reglements(classeur, [reglement_of(p) for p in pending],
                                "Paiements (relevé importé)")
    waiting = [p for p in pointages if p.statut == "a_verifier"]
    classeur = _hold(classeur, waiting)
    preparation.a_verifier = waiting
    preparation.a_ecrire = pending
    classeur = replace(classeur, anomalies=classeur.anomalies + tuple(preparation.anomalies))
    return replace(lecture, classeur=classeur), preparation


def reglement_of(pointage: Pointage) -> Reglement:
    return Reglement(jour=pointage.jour, montant=pointage.montant, client=pointage.client,
                     factures=pointage.factures, libelle=_libelle(pointage),
                     source=source_of(pointage.cle), reference=pointage.reference)


def _libelle(pointage: Pointage) -> str:
    parts = [pointage.libelle]
    if pointage.contrepartie and normalise(pointage.contrepartie) not in normalise(
            pointage.libelle):
        parts.append(pointage.contrepartie)
    return " — ".join(p for p in parts if p)


def paiement_rows(pending: list[Pointage]) -> list[tuple]:
    """Rows appended to sheet Paiements: Date, Montant, Client, Factures, Libellé, Source,
    Référence (the payment reference the bank carried, when it gave one apart)."""
    return [(p.jour, p.montant, p.client, ", ".join(p.factures), _libelle(p),
             source_of(p.cle), p.reference) for p in pending]


def a_verifier_rows(waiting: list[Pointage], saisies: dict[str, str] | None = None
                    ) -> list[tuple]:
    """Rows of sheet À vérifier, oldest first, in A_VERIFIER_COLONNES' order; a decision the
    user typed that could not be applied stays in its cell, to be corrected."""
    from . import formats

    rows = []
    for p in sorted(waiting, key=lambda p: (p.jour, p.cle)):
        candidats = " ; ".join(f"{numero} ({client}, reste {formats.montant(reste)})"
                               for client, numero, reste in p.candidats)
        rows.append((p.cle, p.jour, p.montant, p.libelle, candidats,
                     (saisies or {}).get(p.cle), p.motif, p.contrepartie, p.reference,
                     p.fichier))
    return rows


def read_decision(decision: Decision, pointage: Pointage, classeur: Classeur
                  ) -> tuple[Pointage | None, str]:
    """(the line as decided, a description) or (None, why the decision cannot be read)."""
    texte = decision.texte.strip()
    what = f"Décision « {texte} » (opération {pointage.cle} du {pointage.jour:%d/%m/%Y})"
    if normalise(texte) in IGNORER:
        return (replace(pointage, statut="ignore", motif=f"ignorée sur décision (« {texte} »)"),
                f"{what} : ignorée, rien n’est affecté")
    by_numero: dict[str, list] = {}
    for facture in classeur.factures:
        by_numero.setdefault(normalise(facture.numero), []).append(facture)
    asked = [t.strip() for t in re.split(r"[,;\n]+|\s+et\s+", texte) if t.strip()]
    found = []
    for numero in asked:
        matches = by_numero.get(normalise(numero), [])
        if not matches:
            return None, (f"{what} : facture « {numero} » introuvable dans Factures ; écrivez "
                          "les n° de facture payés (séparés par des virgules) ou « ignorer »")
        if len(matches) > 1:
            return None, (f"{what} : la facture « {numero} » existe pour plusieurs clients "
                          f"({', '.join(f.client for f in matches)}) ; saisissez ce paiement "
                          "dans Paiements avec le client, puis écrivez « ignorer » ici")
        found.append(matches[0])
    clients = {client_key(f.client) for f in found}
    if len(clients) != 1:
        return None, (f"{what} : ces factures sont de clients différents ; saisissez ce "
                      "paiement dans Paiements ligne par ligne, puis écrivez « ignorer » ici")
    numeros = tuple(f.numero for f in found)
    return (replace(pointage, statut="affecte", client=found[0].client, factures=numeros,
                    motif="décision dans À vérifier"),
            f"{what} : affectée à {', '.join(numeros)} ({found[0].client})")


def _hold(classeur: Classeur, waiting: list[Pointage]) -> Classeur:
    """A client who may have paid (a candidate of a line waiting for review) is not chased
    until the user has decided."""
    reasons: dict[str, str] = {}
    for pointage in waiting:
        for client, _numero, _reste in pointage.candidats:
            key = client_key(client)
            reasons.setdefault(key, f"paiement du {pointage.jour:%d/%m/%Y} à vérifier (feuille "
                                    f"À vérifier, opération {pointage.cle}) : peut-être le sien")
    if not reasons:
        return classeur
    clients = dict(classeur.clients)
    for key, why in reasons.items():
        if key in clients and not clients[key].bloque:
            clients[key] = replace(clients[key], bloque=why)
    factures = tuple(replace(f, bloque=reasons[client_key(f.client)])
                     if client_key(f.client) in reasons and client_key(f.client) not in clients
                     and not f.bloque else f for f in classeur.factures)
    return replace(classeur, clients=clients, factures=factures)


def stale(journal: Journal, config: Config, today: datetime.date) -> str | None:
    """Why the payment data is too old to chase on, or None ([regles]
    paiements_a_jour_max_jours; off when not set)."""
    limite = config.regles.paiements_a_jour_max_jours
    if limite is None:
        return None
    fin = journal.meta(FIN_RELEVE)
    if fin is None:
        return (f"aucun relevé bancaire importé, alors que [regles] paiements_a_jour_max_jours "
                f"= {limite} : importez le relevé du jour (python scripts/pointer.py RELEVÉ, ou "
                "relancer.py --releve RELEVÉ) ; rien n’est envoyé d’ici là")
    day = datetime.date.fromisoformat(fin)
    age = (today - day).days
    if age > limite:
        return (f"le dernier relevé bancaire importé s’arrête au {day:%d/%m/%Y}, il y a {age} "
                f"jours (plus de {limite}, [regles] paiements_a_jour_max_jours) : un client a "
                "pu payer depuis. Rien n’est envoyé ; importez un relevé récent (python "
                "scripts/pointer.py RELEVÉ, ou relancer.py --releve RELEVÉ)")
    return None


