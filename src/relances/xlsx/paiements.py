"""Reading stage, sheets Paiements and Échéanciers: payments received and payment plans.

A payment that names its invoices (or carries their payment reference) is counted on them
here; one that names only its client is left to the client account (`compte`), which
allocates it; one that cannot be placed holds its client and says so. An instalment that
cannot be read stops chasing its invoice.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import replace
from decimal import Decimal

from ..cells import CellError, is_empty, quote, read_date, read_montant, read_text
from ..records import (Anomalie, Classeur, Client, Facture, Reglement, Versement, client_key,
                       normalise)
from .colonnes import ECHEANCIER_FIELD_BY_HEADER, PAIEMENT_FIELD_BY_HEADER, PAIEMENTS, find_header
from .feuilles import Numeros, Retenues
from .lignes import cell_of, unknown_in
from .sheet import column_letter

# The optional Statut column of sheet Paiements: a row the user cancels (rather than deleting
# it, which the journal would undo for an imported payment) no longer counts.
PAIEMENT_FIELDS = {**PAIEMENT_FIELD_BY_HEADER, normalise("Statut"): "statut",
                   normalise("État"): "statut"}
STATUT_ANNULE = frozenset(normalise(w) for w in (
    "annulé", "annulée", "annulés", "annulées", "annule", "annulation", "supprimé",
    "supprimée", "supprime", "à supprimer", "ignoré", "ignorée", "ignorer", "à ignorer",
    "doublon"))
STATUT_COMPTE = frozenset(normalise(w) for w in (
    "ok", "reçu", "reçue", "encaissé", "encaissée", "validé", "validée", "pointé", "pointée",
    "payé", "payée"))


def apply_reglements(classeur: Classeur, reglements: list[Reglement],
                     sheet: str = PAIEMENTS) -> Classeur:
    """The workbook's records with more payments counted (statement lines recorded in the
    journal and not yet written into sheet Paiements)."""
    if not reglements:
        return classeur
    clients = dict(classeur.clients)
    anomalies = list(classeur.anomalies)
    factures = apply_payments(sheet, list(classeur.factures), reglements, clients, anomalies)
    return replace(classeur, factures=tuple(factures), clients=clients,
                   anomalies=tuple(anomalies),
                   reglements=classeur.reglements + tuple(reglements))


def read_payments(sheet: str, rows: list[list[object]], anomalies: list[Anomalie],
                   clients: dict[str, Client], inconnues: dict[tuple[int, int], str],
                   retenues: Retenues, factures: list[Facture]) -> list[Reglement]:
    """Sheet Paiements: money received. A row that cannot be read may be a payment: the client
    it names (or everyone, when it names none we know) is not chased until it is corrected."""
    if not rows:
        return []
    header_index, columns = find_header(rows, PAIEMENT_FIELDS, {}, ("date", "montant"))
    if "montant" not in columns:
        anomalies.append(Anomalie(sheet, header_index + 1, "colonne « Montant » introuvable : "
                                  "feuille Paiements ignorée"))
        return []
    known = set(clients) | {client_key(f.client) for f in factures}
    reglements = []
    for index, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        unknown = unknown_in(index, columns, inconnues,
                              {"date": "Date", "montant": "Montant", "client": "Client",
                               "factures": "Factures", "reference": "Référence",
                               "statut": "Statut"})
        if not unknown and all(is_empty(v) for v in row):
            continue
        problems = [f"{label} : {what}" for _, label, what in unknown]
        jour = montant = None
        if not unknown:
            try:
                jour = read_date(cell_of(row, columns, "date"))
            except CellError as exc:
                problems.append(f"Date : {exc}")
            try:
                montant = read_montant(cell_of(row, columns, "montant"))
            except CellError as exc:
                problems.append(f"Montant : {exc}")
            if montant is None and not any(p.startswith("Montant") for p in problems):
                problems.append("Montant vide")
        statut = read_text(cell_of(row, columns, "statut")).strip()
        annule = normalise(statut) in STATUT_ANNULE
        if statut and not annule and normalise(statut) not in STATUT_COMPTE:
            problems.append(f"Statut : valeur {quote(statut)} inconnue (« annulé » : la ligne "
                            "ne compte pas ; vide : elle compte)")
        nom = read_text(cell_of(row, columns, "client"))
        source = read_text(cell_of(row, columns, "source"))
        if problems and source:
            # Unreadable, it counts no more; its Source stays known (an imported payment is
            # not written again under a row the user has to correct).
            reglements.append(Reglement(jour=datetime.date.min, montant=Decimal("0"),
                                        client=nom, source=source, row=index,
                                        statut="illisible"))
        if problems:
            why = f"paiement illisible (feuille {sheet}, ligne {index})"
            if (nom and not any(name == "client" for name, _, _ in unknown)
                    and client_key(nom) in known):
                who = f"{nom} non relancé"
                retenues.client(nom, why)
            else:
                who = (f"client {quote(nom)} inconnu : aucun client relancé" if nom
                       and not any(name == "client" for name, _, _ in unknown)
                       else "aucun client relancé")
                retenues.all(why)
            for message in problems:
                anomalies.append(Anomalie(sheet, index, f"{message} — {who} tant que la ligne "
                                          "n’est pas corrigée (un paiement reçu ?)"))
            continue
        listed = tuple(n.strip() for n in re.split(r"[;,\n]+", read_text(
            cell_of(row, columns, "factures"))) if n.strip())
        reglements.append(Reglement(
            jour=jour or datetime.date.min, montant=montant, client=nom, factures=listed,
            libelle=read_text(cell_of(row, columns, "libelle")), source=source,
            reference=read_text(cell_of(row, columns, "reference")), row=index,
            statut="annule" if annule else ""))
    return reglements


def apply_payments(sheet: str, factures: list[Facture], reglements: list[Reglement],
                    clients: dict[str, Client], anomalies: list[Anomalie],
                    references=None) -> list[Facture]:
    """An invoice's amount paid is its Payé plus its rows in Paiements (SPEC §5). A row names
    its invoices (Factures) or carries their payment reference; spread over several invoices,
    it pays the oldest first. A payment that cannot be placed holds its client, and says so.
    `references`: the payment references the journal gave (a `Repertoire`)."""
    from ..references import Repertoire, compact, reference

    if not reglements:
        return factures
    by_numero: dict[str, list[Facture]] = {}
    for facture in factures:
        by_numero.setdefault(facture.numero, []).append(facture)
    by_reference: dict[str, list[Facture]] = {}
    if any(r.reference and not r.factures for r in reglements):
        # The references given, and for an invoice without, those derived from its number.
        given = (references or Repertoire()).by_cle
        for facture in factures:
            attribution = given.get((client_key(facture.client), facture.numero))
            refs = ((attribution.ogm, attribution.rf, *attribution.anciennes) if attribution
                    else (reference(facture.numero, "rf"), reference(facture.numero, "ogm")))
            for ref in refs:
                by_reference.setdefault(compact(ref), []).append(facture)
    extra: dict[tuple[str, str], Decimal] = {}
    owners = set(clients) | {client_key(f.client) for f in factures}
    for reglement in reglements:
        if reglement.statut:
            continue  # cancelled by the user, or unreadable (reported): it does not count
        if (reglement.client and not reglement.factures and not reglement.reference
                and reglement.montant > 0 and client_key(reglement.client) in owners):
            continue  # a payment naming only its client: the account allocates it (compte.py)
        targets: list[Facture] = []
        ambiguous: list[Facture] = []  # a number or reference that fits several invoices

        def fitting(found: list[Facture]) -> list[Facture]:
            return [f for f in found if not reglement.client
                    or client_key(f.client) == client_key(reglement.client)]

        for numero in reglement.factures:
            found = fitting(by_numero.get(numero, []))
            (targets if len(found) == 1 else ambiguous).extend(found)
        if not reglement.factures and reglement.reference:
            found = fitting(by_reference.get(compact(reglement.reference), []))
            (targets if len(found) == 1 else ambiguous).extend(found)
        if ambiguous or not targets:
            # Crediting the wrong invoice could chase a client who has paid: hold instead.
            why = (f"paiement du {reglement.jour:%d/%m/%Y} ({reglement.montant}) non affecté : "
                   + ("sa facture ou sa référence correspond à plusieurs factures "
                      f"({', '.join(f'{f.numero} de {f.client}' for f in ambiguous)}) ; "
                      "précisez le client ou la facture" if ambiguous else
                      "indiquez la facture (colonne Factures) ou sa référence"))
            held = {client_key(f.client) for f in ambiguous}
            if reglement.client:
                held.add(client_key(reglement.client))
            held &= set(clients)
            place = (f"feuille {sheet}, ligne {reglement.row}" if reglement.row is not None
                     else f"relevé importé : {reglement.source}")
            for key in held:
                clients[key] = replace(clients[key], bloque=f"{why} ({place})")
            who = ", ".join(clients[key].nom for key in sorted(held))
            anomalies.append(Anomalie(sheet, reglement.row, (
                f"{who} : {why} — non relancé d’ici là" if held
                else f"{why} ; précisez aussi le client")))
            continue
        left = reglement.montant
        targets.sort(key=lambda f: (f.echeance, f.numero), reverse=left < 0)
        for i, facture in enumerate(targets):
            key = (client_key(facture.client), facture.numero)
            if left < 0:
                # A payment taken back (« Annulation… », a bank reversal): newest invoice
                # first, each up to what it had received.
                paid = facture.paye + extra.get(key, Decimal("0"))
                part = left if i == len(targets) - 1 else max(left, -max(paid, Decimal("0")))
            else:
                due = facture.reste_du - extra.get(key, Decimal("0"))
                part = left if i == len(targets) - 1 else min(left, max(due, Decimal("0")))
            extra[key] = extra.get(key, Decimal("0")) + part
            left -= part
    return [replace(f, paye=f.paye + extra[(client_key(f.client), f.numero)])
            if (client_key(f.client), f.numero) in extra else f for f in factures]


def read_plans(sheet: str, rows: list[list[object]], anomalies: list[Anomalie],
                factures: list[Facture], inconnues: dict[tuple[int, int], str],
                retenues: Retenues, numeros: Numeros
                ) -> tuple[list[Facture], list[Versement]]:
    """Sheet Échéanciers: N° facture, Date, Montant. An instalment that cannot be read stops
    chasing its invoice (its plan is unknown), and says why; one whose invoice cannot be told
    stops chasing the client of the invoice it may have meant, or everyone."""
    if not rows:
        return factures, []
    header_index, columns = find_header(rows, ECHEANCIER_FIELD_BY_HEADER, {},
                                        ("numero", "date", "montant"))
    if not all(name in columns for name in ("numero", "date", "montant")):
        anomalies.append(Anomalie(sheet, header_index + 1, "colonnes « N° facture », « Date » "
                                  "et « Montant » attendues : feuille Échéanciers ignorée"))
        return factures, []
    by_numero: dict[str, list[Facture]] = {}
    for facture in factures:
        by_numero.setdefault(facture.numero, []).append(facture)
    blocked: dict[str, str] = {}
    versements: list[Versement] = []
    for index, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        numero = read_text(cell_of(row, columns, "numero"))
        unknown = unknown_in(index, columns, inconnues,
                              {"numero": "N° facture", "date": "Date", "montant": "Montant"})
        if not numero and not unknown and all(is_empty(v) for v in row):
            continue
        column = columns["numero"]
        where = f"N° facture ({column_letter(column + 1)}{index})"
        if not numero or any(name == "numero" for name, _, _ in unknown):
            # Whose plan is it? Nobody's invoice may be chased past it.
            what = next((what for name, _, what in unknown if name == "numero"), "vide")
            anomalies.append(Anomalie(sheet, index, f"{where} : {what} — aucun client relancé "
                                      "tant que la ligne n’est pas corrigée"))
            retenues.all(f"échéancier illisible (feuille {sheet}, ligne {index})")
            continue
        problems = [f"{label} : {what}" for _, label, what in unknown]
        jour = montant = None
        if not unknown:
            try:
                jour = read_date(cell_of(row, columns, "date"))
            except CellError as exc:
                problems.append(f"Date : {exc}")
            try:
                montant = read_montant(cell_of(row, columns, "montant"))
            except CellError as exc:
                problems.append(f"Montant : {exc}")
            if jour is None and not any(p.startswith("Date") for p in problems):
                problems.append("Date vide")
            if montant is None and not any(p.startswith("Montant") for p in problems):
                problems.append("Montant vide")
            elif montant is not None and montant <= 0:
                problems.append(f"Montant {montant} : un montant positif est attendu")
        if numero not in by_numero and numeros.connu(numero):
            anomalies.append(Anomalie(sheet, index, f"facture {quote(numero)} non lue dans la "
                                      "feuille Factures : échéance ignorée"))
            continue
        if numero not in by_numero:
            message, proches = numeros.unknown(numero, where)
            why = f"échéancier d’une facture inconnue {quote(numero)} (feuille {sheet}, ligne " \
                  f"{index})"
            for facture in proches:
                retenues.client(facture.client, why)
            if not proches:
                retenues.all(why)
            who = ", ".join(sorted({f.client for f in proches}))
            anomalies.append(Anomalie(sheet, index, (
                f"{message} — {f'{who} non relancé' if who else 'aucun client relancé'} tant que "
                "la ligne n’est pas corrigée")))
            continue
        if len(by_numero[numero]) > 1:
            problems.append("ce numéro de facture existe pour plusieurs clients")
        if problems:
            for message in problems:
                anomalies.append(Anomalie(sheet, index, f"{message} — facture {numero} non "
                                          "relancée tant que la ligne n’est pas corrigée"))
            blocked[numero] = f"échéancier illisible (feuille {sheet}, ligne {index})"
            continue
        versements.append(Versement(numero, jour, montant, index))
    if blocked:
        # An unreadable plan: its invoice is held, as with any unknown value.
        factures = [replace(f, bloque=blocked[f.numero]) if f.numero in blocked else f
                    for f in factures]
    return factures, versements

