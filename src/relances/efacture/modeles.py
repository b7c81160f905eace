"""An e-invoice and a lifecycle status, as records: what the import reads from the user's own
files. Readers (`efacture.lecture`, `efacture.statuts`) fill them; `importation` writes them
into the workbook."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class Partie:
    """The seller or the buyer of an e-invoice."""

    nom: str
    siren: str = ""  # France: SIREN (9 digits) or SIRET (14); Belgium: BCE number (10 digits)
    tva: str = ""  # intra-community VAT number, as written (« FR40303265045 », « BE0123456749 »)
    adresse: str = ""  # postal address, one line per line ("\n"), country last when foreign
    email: str = ""  # its electronic address when it is an email (URIID schemeID EM)
    pays: str = ""  # ISO 3166-1 alpha-2 (« FR », « BE »)


@dataclass(frozen=True)
class LigneTva:
    """One VAT rate of the invoice's breakdown."""

    taux: Decimal  # percent: Decimal("20.00")
    base: Decimal
    montant: Decimal
    categorie: str = "S"  # UNCL5305 category code


@dataclass(frozen=True)
class FactureElectronique:
    """One invoice or credit note read from an e-invoice file. Amounts as written (positive
    for a credit note too: `avoir` says which it is)."""

    fichier: Path  # the file read (the PDF for a Factur-X)
    format: str  # "factur-x" | "ubl" | "cii"
    profil: str  # « MINIMUM », « BASIC WL », « BASIC », « EN 16931 », « EXTENDED », « Peppol BIS 3.0 »…
    avoir: bool
    numero: str
    date: datetime.date
    vendeur: Partie
    acheteur: Partie
    montant_ttc: Decimal  # grand total, VAT included
    a_payer: Decimal  # due payable amount (after prepaid amounts)
    devise: str = "EUR"
    echeance: datetime.date | None = None  # the due date, when the invoice gives one
    conditions: str = ""  # payment terms as written (« 30 jours fin de mois »…)
    facture_liee: str = ""  # a credit note: the invoice it credits, when given
    tva: tuple[LigneTva, ...] = ()
    reference_paiement: str = ""  # remittance information (Belgian structured communication…)
    commande: str = ""  # buyer's order reference, when given


@dataclass(frozen=True)
class StatutFacture:
    """One lifecycle status of an invoice, from the platform's export (codes of the French
    reform: 200 Déposée … 207 En litige, 208 Suspendue, 210 Refusée, 211 Paiement transmis,
    212 Encaissée, 213 Rejetée)."""

    numero: str  # the invoice number
    code: int
    jour: datetime.date
    motif: str = ""  # the reason given with it, when any
    vendeur: str = ""  # the seller's SIREN when the export gives it
    source: str = ""  # « fichier.csv, ligne 12 »: where it was read, for messages
