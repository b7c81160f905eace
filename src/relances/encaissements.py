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
from decimal import Decimal

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
# Sheet À vérifier shows at most this many lines one by one; the others are grouped (by file
# and day), so that the sheet stays one a person can work through, and Excel can open.
A_VERIFIER_MAX = 10_000
GROUPE = "(regroupées)"  # the Opération cell of a grouped row: no decision is read there


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
    # Lines written earlier whose row has gone from Paiements: appended again.
    reecrits: list[Pointage] = field(default_factory=list)
    # Décision cells that could not be applied, kept as typed when the sheet is rewritten.
    saisies: dict[str, str] = field(default_factory=dict)


def prepare(lecture: Lecture, journal: Journal, readonly: bool = False,
            extra: tuple[Pointage, ...] = ()) -> tuple[Lecture, Preparation]:
    """The workbook's records as the journal knows them (see the module's docstring).

    With `readonly` (a dry run), decisions are applied in memory only: the plan shown is the
    one a real run would make. `extra` are lines a simulated import would have recorded."""
    preparation = Preparation()
    # The platform's lifecycle statuses imported (importation_statuts): inputs of every run.
    statuts = tuple(journal.statuts())
    if statuts:
        lecture = replace(lecture, classeur=replace(lecture.classeur, statuts=statuts))
    known = journal.pointages()
    cles = {k.cle for k in known}
    pointages = [*known, *(p for p in extra if p.cle not in cles)]
    if not pointages:
        return lecture, preparation
    classeur = lecture.classeur
    by_cle = {p.cle: p for p in pointages}
    for decision in lecture.decisions:
        if decision.cle == GROUPE:
            preparation.anomalies.append(Anomalie("À vérifier", decision.row, (
                f"Décision « {decision.texte} » sur une ligne regroupée : non lue ; décidez "
                "les lignes détaillées au-dessus, les regroupées apparaîtront à leur place")))
            continue
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

    # A row the user cancelled in Paiements (Statut « annulé ») cancels its imported payment:
    # it counts no more, and is not written again if the row goes.
    ours = {source_of(p.cle): p for p in pointages if p.statut == "affecte"}
    for reglement in classeur.reglements:
        pointage = ours.get(reglement.source.strip())
        if reglement.statut == "annule" and pointage is not None:
            motif = (f"annulé dans la feuille Paiements (colonne Statut, ligne {reglement.row})")
            if not readonly:
                journal.cancel_operation(pointage.cle, motif)
            by_cle[pointage.cle] = replace(pointage, statut="annule", motif=motif)
    pointages = list(by_cle.values())

    # Lines whose row is already in Paiements (a crash after the save, before the journal
    # knew): written. The others are counted now, and appended by the next write-back; so is
    # a line written earlier whose row is gone (sheet renamed, backup restored, a save over
    # the append): the journal is the record of imported payments.
    in_sheet = {r.source.strip() for r in classeur.reglements if r.source}
    found = [p.cle for p in pointages
             if p.statut == "affecte" and not p.ecrit and source_of(p.cle) in in_sheet]
    if found and not readonly:
        journal.mark_written(found)
    pending = [p for p in pointages if p.statut == "affecte"
               and source_of(p.cle) not in in_sheet]
    preparation.reecrits = [p for p in pending if p.ecrit]
    classeur = apply_reglements(classeur, [reglement_of(p) for p in pending],
                                "Paiements (relevé importé)")
    waiting = [p for p in pointages if p.statut == "a_verifier"]
    classeur = _hold(classeur, waiting)
    preparation.a_verifier = waiting
    preparation.a_ecrire = pending
    classeur = replace(classeur, anomalies=classeur.anomalies + tuple(preparation.anomalies))
    return replace(lecture, classeur=classeur), preparation


def describe(pointage: Pointage) -> str:
    """« Paiement du 12/11/2026 de 480,00 € (Garage Leroy, F-2026-031) »."""
    from . import formats

    who = ", ".join(x for x in (pointage.client, *pointage.factures) if x)
    return (f"Paiement du {pointage.jour:%d/%m/%Y} de {formats.montant(abs(pointage.montant))}"
            + (f" ({who})" if who else ""))


def _jour(horodatage: str) -> str:
    try:
        return f"{datetime.date.fromisoformat(horodatage[:10]):%d/%m/%Y}"
    except ValueError:
        return "?"


def rewritten_lines(preparation: Preparation) -> list[str]:
    """The summary's word on imported payments whose row had gone from Paiements."""
    return [f"{describe(p)}, importé le {_jour(p.importe_le)} : sa ligne n’est plus "
            "dans la feuille Paiements (ligne supprimée, feuille renommée, sauvegarde "
            "restaurée ?) ; il compte toujours et sa ligne y est écrite à nouveau. Pour "
            "l’annuler vraiment, écrivez « annulé » dans sa colonne Statut."
            for p in preparation.reecrits]


def reglement_of(pointage: Pointage) -> Reglement:
    return Reglement(jour=pointage.jour, montant=pointage.montant, client=pointage.client,
                     factures=pointage.factures, libelle=_libelle(pointage),
                     source=source_of(pointage.cle), reference=pointage.reference)


def _libelle(pointage: Pointage) -> str:
    if pointage.annule:
        return f"Annulation : {pointage.motif}"
    parts = [pointage.libelle]
    if pointage.contrepartie and normalise(pointage.contrepartie) not in normalise(
            pointage.libelle):
        parts.append(pointage.contrepartie)
    text = " — ".join(p for p in parts if p)
    return f"Annulation : {text}" if pointage.montant < 0 else text


def paiement_rows(pending: list[Pointage]) -> list[tuple]:
    """Rows appended to sheet Paiements: Date, Montant, Client, Factures, Libellé, Source,
    Référence (the payment reference the bank carried, when it gave one apart)."""
    return [(p.jour, p.montant, p.client, ", ".join(p.factures), _libelle(p),
             source_of(p.cle), p.reference) for p in pending]


def a_verifier_rows(waiting: list[Pointage], saisies: dict[str, str] | None = None,
                    plafond: int | None = None) -> list[tuple]:
    """Rows of sheet À vérifier, oldest first, in A_VERIFIER_COLONNES' order; a decision the
    user typed that could not be applied stays in its cell, to be corrected. Past `plafond`
    lines (A_VERIFIER_MAX), the newest are grouped by statement file and day: one row each,
    with their count and total, saying so."""
    from . import formats

    plafond = A_VERIFIER_MAX if plafond is None else plafond
    ordered = sorted(waiting, key=lambda p: (p.jour, p.cle))
    rows = []
    for p in ordered[:plafond]:
        candidats = " ; ".join(f"{numero} ({client}, reste {formats.montant(reste)})"
                               for client, numero, reste in p.candidats)
        rows.append((p.cle, p.jour, p.montant, p.libelle, candidats,
                     (saisies or {}).get(p.cle), p.motif, p.contrepartie, p.reference,
                     p.fichier))
    for (jour, fichier), lines in _grouped(ordered[plafond:]).items():
        total = sum((p.montant for p in lines), Decimal("0.00"))
        rows.append((GROUPE, jour, total, f"{len(lines)} opération(s) regroupées",
                     None, None, _pourquoi_groupe(len(waiting), plafond), None, None,
                     fichier))
    return rows


def grouped_line(waiting: list[Pointage], plafond: int | None = None) -> str | None:
    """The summary's word when sheet À vérifier groups lines, or None."""
    plafond = A_VERIFIER_MAX if plafond is None else plafond
    if len(waiting) <= plafond:
        return None
    groupes = len(_grouped(sorted(waiting, key=lambda p: (p.jour, p.cle))[plafond:]))
    return (f"Feuille À vérifier : {len(waiting)} opérations attendent, plus qu’une feuille "
            f"ne doit en montrer ; les {plafond} plus anciennes y sont détaillées, les "
            f"{len(waiting) - plafond} autres regroupées en {groupes} ligne(s) (une par "
            "fichier et par jour). Décidez d’abord les lignes détaillées : les suivantes "
            "apparaîtront à leur place. Leurs clients possibles restent non relancés.")


def _grouped(lines: list[Pointage]) -> dict[tuple, list[Pointage]]:
    groups: dict[tuple, list[Pointage]] = {}
    for p in lines:
        groups.setdefault((p.jour, p.fichier), []).append(p)
    return groups


def _pourquoi_groupe(total: int, plafond: int) -> str:
    return (f"{total} opérations à vérifier, plus que les {plafond} qu’une feuille montre : "
            "regroupées par fichier et par jour ; décidez d’abord les lignes détaillées")


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


