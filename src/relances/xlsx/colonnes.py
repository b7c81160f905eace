"""The workbook's vocabulary: sheet names, the headers users type, and how they are matched.

One mapping from sheet headers to record fields lives here; the reader and the writer both use
it, so a column is found the same way when it is read and when the tool writes into it.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from ..cells import is_empty
from ..records import normalise

FACTURES, CLIENTS, JOURNAL = "Factures", "Clients", "Journal"
ECHANGES, A_APPELER, ECHEANCIERS, PAIEMENTS = "Échanges", "À appeler", "Échéanciers", "Paiements"
A_VERIFIER = "À vérifier"
# Sheet À vérifier (tool-owned): the column that names each statement line, and the one where
# the user writes what it pays.
OPERATION_HEADER, DECISION_HEADER = "Opération", "Décision"

# Field -> the header SPEC §3 gives it (written when the tool adds the column) and other
# spellings users commonly type. Matching is case-, accent-, space- and punctuation-insensitive.
FACTURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "client": ("Client", "Nom client", "Raison sociale"),
    "numero": ("N° facture", "No facture", "Numéro facture", "Numéro de facture", "N° de facture",
               "Num facture", "Facture", "Référence facture"),
    "date_facture": ("Date facture", "Date de facture", "Date d’émission", "Date émission"),
    "echeance": ("Échéance", "Date d’échéance", "Date échéance", "Date limite de paiement"),
    "montant": ("Montant TTC", "Montant", "Total TTC", "Montant facture"),
    "paye": ("Payé", "Montant payé", "Réglé", "Encaissé", "Déjà payé"),
    "reste_du": ("Reste dû", "Reste à payer", "Solde", "Restant dû"),
    "jours_retard": ("Jours de retard", "Retard", "Jours retard", "Retard (jours)"),
    "statut": ("Statut", "État"),
    "etape": ("Étape", "Étape de relance"),
    "relances_envoyees": ("Relances envoyées", "Nombre de relances", "Nb relances"),
    "derniere_relance": ("Dernière relance", "Date dernière relance"),
    "prochaine_action": ("Prochaine action",),
    "date_prochaine_action": ("Date prochaine action", "Date de la prochaine action"),
    "promesse": ("Promesse de paiement", "Promesse", "Date promise", "Paiement promis le"),
    "notes": ("Notes", "Note", "Commentaire", "Commentaires", "Remarques"),
    "email": ("Email", "E-mail", "Courriel", "Adresse e-mail", "Mail"),
    "fichier": ("Fichier facture", "PDF facture", "Fichier PDF"),
    "nouvelle_echeance": ("Nouvelle échéance", "Échéance accordée", "Délai accordé jusqu'au"),
    # A credit note's invoice: the account puts the credit on it (else on the oldest).
    "facture_liee": ("Facture liée", "Facture d’origine", "Avoir sur", "Facture concernée",
                     "Facture avoir", "Imputer sur"),
}
CLIENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "client": ("Client", "Nom", "Nom client", "Raison sociale"),
    "contact": ("Contact", "Interlocuteur", "Nom du contact"),
    "email": ("Email", "E-mail", "Courriel", "Adresse e-mail", "Mail"),
    "telephone": ("Téléphone", "Tél", "Tel", "Portable"),
    "adresse": ("Adresse", "Adresse postale"),
    "langue": ("Langue",),
    "type": ("Type", "Type de client"),
    "profil": ("Profil",),
    "pause": ("Pause jusqu’au", "Pause", "En pause jusqu’au"),
    "civilite": ("Civilité", "Titre"),
    "siren": ("SIREN", "SIRET", "N° d’entreprise", "Numéro d’entreprise", "BCE", "N° BCE"),
    "forme": ("Forme", "Forme juridique"),
    "pays": ("Pays", "Country", "Pays du client", "Pays de résidence"),
    "tva": ("N° TVA", "TVA intracommunautaire", "Numéro de TVA", "N° de TVA",
            "N° TVA intracommunautaire"),
}
# Sheet Échanges (user-owned; created with these headers when missing, never rewritten).
ECHANGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("Date", "Date de l'échange", "Le"),
    "client": ("Client",),
    "factures": ("Factures", "Facture", "N° facture", "N° factures"),
    "interlocuteur": ("Interlocuteur", "Contact", "Qui"),
    "fonction": ("Fonction", "Rôle"),
    "coordonnees": ("Coordonnées", "Téléphone", "Email"),
    "canal": ("Canal",),
    "dit": ("Ce qui a été dit", "Ce qui a été convenu", "Résumé", "Notes"),
    "promesse": ("Promesse de paiement", "Promesse", "Date promise"),
    "montant_promis": ("Montant promis",),
    "resultat": ("Résultat",),
    "rappeler_le": ("Rappeler le", "À rappeler le"),
}
REQUIRED = ("client", "numero", "echeance", "montant")
TOOL_FIELDS = ("etape", "relances_envoyees", "derniere_relance", "prochaine_action",
               "date_prochaine_action")
JOURNAL_HEADERS = ("Date", "Client", "Factures", "Étape", "Canal", "Destinataire", "Fichier",
                   "Résultat")


def index_headers(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Normalised header -> field name."""
    return {normalise(header): name for name, headers in columns.items() for header in headers}


FIELD_BY_HEADER = index_headers(FACTURE_COLUMNS)
CLIENT_FIELD_BY_HEADER = index_headers(CLIENT_COLUMNS)
ECHANGE_FIELD_BY_HEADER = index_headers(ECHANGE_COLUMNS)
# Sheet Paiements (user-owned; created when missing, imported bank lines appended to it).
PAIEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("Date", "Date du paiement", "Reçu le"),
    "montant": ("Montant", "Montant reçu"),
    "client": ("Client",),
    "factures": ("Factures", "Facture", "N° facture", "N° factures"),
    "libelle": ("Libellé", "Libelle", "Motif"),
    "source": ("Source",),
    "reference": ("Référence", "Référence de paiement", "Communication"),
}
# Sheet Échéanciers (user-owned; created when missing, never written).
ECHEANCIER_COLUMNS: dict[str, tuple[str, ...]] = {
    "numero": ("N° facture", "Facture", "No facture", "Numéro de facture"),
    "date": ("Date", "Échéance", "Date d'échéance"),
    "montant": ("Montant", "Montant de l'échéance"),
}
PAIEMENT_FIELD_BY_HEADER = index_headers(PAIEMENT_COLUMNS)
ECHEANCIER_FIELD_BY_HEADER = index_headers(ECHEANCIER_COLUMNS)

DATE_FORMAT = "DD/MM/YYYY"
EURO_FORMAT = '#,##0.00\\ "€";[Red]\\-#,##0.00\\ "€"'
BACKUPS_KEPT = 5



def find_header(rows: list[list[object]], fields: dict[str, str], colonnes: dict[str, str],
                needed: Sequence[str]) -> tuple[int, dict[str, int]]:
    """The header is row 1; a title above it is tolerated within the first rows."""
    best: tuple[int, dict[str, int]] = (0, {})
    for index, row in enumerate(rows[:10]):
        found = match_headers(row, fields, colonnes)
        if all(name in found for name in needed):
            return index, found
        if len(found) > len(best[1]):
            best = (index, found)
    return best


def match_headers(headers: Iterable[object], fields: dict[str, str],
                  colonnes: dict[str, str] | None = None) -> dict[str, int]:
    """Field name -> column index (0-based), first match wins."""
    found: dict[str, int] = {}
    for position, header in enumerate(headers):
        if is_empty(header):
            continue
        key = normalise(str(header))
        name = (colonnes or {}).get(key) or fields.get(key)
        if name and name not in found:
            found[name] = position
    return found


def duplicates(headers: Iterable[object], fields: dict[str, str],
               colonnes: dict[str, str] | None = None) -> dict[str, list[int]]:
    """Fields whose header appears more than once: field -> column indexes (0-based)."""
    seen: dict[str, list[int]] = {}
    for position, header in enumerate(headers):
        if is_empty(header):
            continue
        key = normalise(str(header))
        name = (colonnes or {}).get(key) or fields.get(key)
        if name:
            seen.setdefault(name, []).append(position)
    return {name: positions for name, positions in seen.items() if len(positions) > 1}
