"""OASIS UBL 2.1 Invoice and CreditNote (Peppol BIS Billing 3.0, XRechnung UBL, the French
CIUS) read into a `FactureElectronique`. A CreditNote's amounts are positive: its root says it
is a credit note, whatever its type code."""

from __future__ import annotations

from pathlib import Path

from .cii import identifiant, nom_pays, profil_de
from .controles import Invalide, controler, date_iso, est_avoir, montant
from .modeles import FactureElectronique, LigneTva, Partie

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
FACTURE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
AVOIR = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
RACINES = {"{%s}Invoice" % FACTURE, "{%s}CreditNote" % AVOIR}
NS = {"cac": CAC, "cbc": CBC}

# Peppol electronic address schemes that carry a company number: 9925 is the Belgian VAT
# number (BE + the 10-digit BCE number), 0208 the BCE number, 0009 SIRET, 0002 SIREN.
SCHEMAS_ADRESSE = {"0002", "0009", "0208", "9925"}


def _texte(element, chemin: str) -> str:
    found = element.find(chemin, NS) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _partie(element) -> Partie:
    party = element.find("cac:Party", NS) if element is not None else None
    if party is None:
        return Partie(nom="")
    nom = _texte(party, "cac:PartyLegalEntity/cbc:RegistrationName") or _texte(
        party, "cac:PartyName/cbc:Name")
    siren = ""
    legal = party.find("cac:PartyLegalEntity/cbc:CompanyID", NS)
    if legal is not None:
        siren = identifiant(legal.text or "", legal.get("schemeID", ""))
    endpoint = party.find("cbc:EndpointID", NS)
    schema = endpoint.get("schemeID", "") if endpoint is not None else ""
    if not siren and schema in SCHEMAS_ADRESSE:
        texte = (endpoint.text or "").strip()
        siren = identifiant(texte[2:] if schema == "9925" else texte, "0208" if schema == "9925"
                            else schema)
    if not siren:
        for ident in party.findall("cac:PartyIdentification/cbc:ID", NS):
            siren = identifiant(ident.text or "", ident.get("schemeID", "-"))
            if siren:
                break
    tva = ""
    for scheme in party.findall("cac:PartyTaxScheme", NS):
        if _texte(scheme, "cac:TaxScheme/cbc:ID").upper() == "VAT":
            tva = _texte(scheme, "cbc:CompanyID")
    email = (endpoint.text or "").strip() if schema == "EM" else ""
    email = email or _texte(party, "cac:Contact/cbc:ElectronicMail")
    adresse = party.find("cac:PostalAddress", NS)
    pays = _texte(adresse, "cac:Country/cbc:IdentificationCode").upper()
    lignes = [_texte(adresse, "cbc:StreetName"), _texte(adresse, "cbc:AdditionalStreetName")]
    if adresse is not None:
        lignes += [(x.text or "").strip() for x in adresse.findall("cac:AddressLine/cbc:Line", NS)]
    ville = " ".join(x for x in (_texte(adresse, "cbc:PostalZone"),
                                 _texte(adresse, "cbc:CityName")) if x)
    texte_adresse = ""
    if ville or any(lignes):
        if pays and pays != "FR":
            lignes += [ville, nom_pays(pays)]
        else:
            lignes.append(ville)
        texte_adresse = "\n".join(x for x in lignes if x)
    return Partie(nom=nom, siren=siren, tva=tva, adresse=texte_adresse, email=email, pays=pays)


def lire_ubl(racine, fichier: Path) -> FactureElectronique:
    """The invoice or credit note of a UBL document (`racine`: its parsed root). Raises Invalide."""
    credit_note = racine.tag == "{%s}CreditNote" % AVOIR
    nom_code = "CreditNoteTypeCode" if credit_note else "InvoiceTypeCode"
    code = _texte(racine, f"cbc:{nom_code}")
    avoir = credit_note or est_avoir(code, f"{nom_code}, BT-3")
    if credit_note and code:
        est_avoir(code, f"{nom_code}, BT-3")  # an unknown code is still refused
    date = date_iso(_texte(racine, "cbc:IssueDate"), "IssueDate, BT-2")
    if date is None:
        raise Invalide("date de facture absente (IssueDate, BT-2)")
    echeance = date_iso(_texte(racine, "cbc:DueDate"), "DueDate, BT-9")
    for moyen in racine.findall("cac:PaymentMeans", NS):
        echeance = echeance or date_iso(_texte(moyen, "cbc:PaymentDueDate"),
                                        "PaymentDueDate, BT-9")
    devise = _texte(racine, "cbc:DocumentCurrencyCode").upper()
    totaux = racine.find("cac:LegalMonetaryTotal", NS)
    if totaux is None:
        raise Invalide("totaux absents (LegalMonetaryTotal)")

    def somme(nom: str, bt: str, requis: bool = False):
        return montant(_texte(totaux, f"cbc:{nom}") or None, f"{nom}, {bt}", requis)

    tva_totale, lignes = None, []
    for total in racine.findall("cac:TaxTotal", NS):
        found = total.find("cbc:TaxAmount", NS)
        # BT-110 is in the document currency; a second TaxTotal (BT-111) has no breakdown.
        if found is None or found.get("currencyID", devise).upper() != devise:
            continue
        tva_totale = montant(found.text, "TaxTotal/TaxAmount, BT-110")
        for sous in total.findall("cac:TaxSubtotal", NS):
            lignes.append(LigneTva(
                taux=montant(_texte(sous, "cac:TaxCategory/cbc:Percent") or "0",
                             "TaxCategory/Percent, BT-119"),
                base=montant(_texte(sous, "cbc:TaxableAmount"), "TaxableAmount, BT-116"),
                montant=montant(_texte(sous, "cbc:TaxAmount"), "TaxSubtotal/TaxAmount, BT-117"),
                categorie=_texte(sous, "cac:TaxCategory/cbc:ID") or "S"))
        break
    reference = ""
    for moyen in racine.findall("cac:PaymentMeans", NS):
        reference = reference or _texte(moyen, "cbc:PaymentID")
    conditions = "\n".join(x for x in (_texte(t, "cbc:Note") for t in
                                       racine.findall("cac:PaymentTerms", NS)) if x)
    facture = FactureElectronique(
        fichier=fichier, format="ubl",
        profil=profil_de(_texte(racine, "cbc:CustomizationID")) or "UBL 2.1", avoir=avoir,
        numero=_texte(racine, "cbc:ID"), date=date,
        vendeur=_partie(racine.find("cac:AccountingSupplierParty", NS)),
        acheteur=_partie(racine.find("cac:AccountingCustomerParty", NS)),
        montant_ttc=somme("TaxInclusiveAmount", "BT-112", requis=True),
        a_payer=somme("PayableAmount", "BT-115", requis=True), devise=devise, echeance=echeance,
        conditions=conditions,
        facture_liee=_texte(racine, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
        tva=tuple(lignes), reference_paiement=reference,
        commande=_texte(racine, "cac:OrderReference/cbc:ID"))
    controler(facture, {"net": somme("TaxExclusiveAmount", "BT-109"), "tva": tva_totale,
                        "payee": somme("PrepaidAmount", "BT-113"),
                        "arrondi": somme("PayableRoundingAmount", "BT-114")})
    return facture
