"""UN/CEFACT Cross Industry Invoice (D16B, the Factur-X / ZUGFeRD 2 payload) read into a
`FactureElectronique`. Every Factur-X profile shares these paths; MINIMUM and BASIC WL simply
lack some of them (lines, VAT breakdown, payment terms), which is fine here."""

from __future__ import annotations

from pathlib import Path

from .controles import Invalide, controler, date_cii, est_avoir, montant
from .modeles import FactureElectronique, LigneTva, Partie

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}
RACINE = "{%s}CrossIndustryInvoice" % NS["rsm"]

# GuidelineSpecifiedDocumentContextParameter/ID → the profile's usual name.
PROFILS = {
    "urn:factur-x.eu:1p0:minimum": "MINIMUM",
    "urn:factur-x.eu:1p0:basicwl": "BASIC WL",
    "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic": "BASIC",
    "urn:cen.eu:en16931:2017": "EN 16931",
    "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": "EXTENDED",
    "urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr": "EXTENDED-CTC-FR",
    "urn:zugferd.de:2p0:minimum": "MINIMUM",
    "urn:zugferd.de:2p0:basicwl": "BASIC WL",
    "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic": "BASIC",
    "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended": "EXTENDED",
}

# Legal registration schemes (ISO 6523 ICD) whose identifier is what the workbook keeps.
SCHEMAS_SIREN = {"0002", "0009", "0208"}


def profil_de(urn: str) -> str:
    """« EN 16931 », « XRECHNUNG »…: the profile named by the guideline URN."""
    urn = urn.strip()
    if urn in PROFILS:
        return PROFILS[urn]
    if "xrechnung" in urn.lower():
        return "XRECHNUNG"
    if "peppol" in urn.lower():
        return "Peppol BIS 3.0"
    if urn.startswith("urn:cen.eu:en16931:2017"):
        return "EN 16931"
    return urn[:80]


def _texte(element, chemin: str) -> str:
    found = element.find(chemin, NS) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def identifiant(texte: str, schema: str) -> str:
    """A SIREN / SIRET / BCE number without its spaces and dots, when the scheme says it is
    one (or says nothing and it looks like one); "" otherwise."""
    chiffres = "".join(c for c in texte if c.isalnum())
    if schema in SCHEMAS_SIREN or (not schema and chiffres.isdigit()
                                   and len(chiffres) in (9, 10, 14)):
        return chiffres
    return ""


def nom_pays(code: str) -> str:
    """« BELGIQUE » for BE: the last line of a postal address sent abroad from France."""
    from babel import Locale

    return Locale("fr").territories.get(code, code).upper()


def _partie(element) -> Partie:
    if element is None:
        return Partie(nom="")
    legal = element.find("ram:SpecifiedLegalOrganization/ram:ID", NS)
    siren = identifiant(legal.text or "", legal.get("schemeID", "")) if legal is not None else ""
    if not siren:
        for ident in element.findall("ram:ID", NS) + element.findall("ram:GlobalID", NS):
            siren = identifiant(ident.text or "", ident.get("schemeID", "-"))
            if siren:
                break
    tva = ""
    for registration in element.findall("ram:SpecifiedTaxRegistration/ram:ID", NS):
        if registration.get("schemeID", "VA") == "VA":
            tva = (registration.text or "").strip()
    email = ""
    uri = element.find("ram:URIUniversalCommunication/ram:URIID", NS)
    if uri is not None and uri.get("schemeID") == "EM":
        email = (uri.text or "").strip()
    if not email:
        email = _texte(element, "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID")
    adresse = element.find("ram:PostalTradeAddress", NS)
    pays = _texte(adresse, "ram:CountryID").upper()
    lignes = [_texte(adresse, f"ram:Line{n}") for n in ("One", "Two", "Three")]
    ville = " ".join(x for x in (_texte(adresse, "ram:PostcodeCode"),
                                 _texte(adresse, "ram:CityName")) if x)
    lignes.append(ville)
    if pays and pays != "FR":
        lignes.append(nom_pays(pays))
    texte_adresse = "\n".join(x for x in lignes if x) if (ville or any(lignes[:3])) else ""
    return Partie(nom=_texte(element, "ram:Name"), siren=siren, tva=tva, adresse=texte_adresse,
                  email=email, pays=pays)


def _date(element, chemin: str, nom: str):
    found = element.find(chemin, NS) if element is not None else None
    if found is None:
        return None
    return date_cii(found.text, found.get("format"), nom)


def lire_cii(racine, fichier: Path, format: str = "cii") -> FactureElectronique:
    """The invoice of a CII document (`racine`: its parsed root element). Raises Invalide."""
    profil = profil_de(_texte(racine, "rsm:ExchangedDocumentContext/"
                                      "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"))
    document = racine.find("rsm:ExchangedDocument", NS)
    transaction = racine.find("rsm:SupplyChainTradeTransaction", NS)
    if document is None or transaction is None:
        raise Invalide("document CII incomplet : ExchangedDocument ou "
                       "SupplyChainTradeTransaction absent")
    numero = _texte(document, "ram:ID")
    code = _texte(document, "ram:TypeCode")
    avoir = est_avoir(code, "ExchangedDocument/TypeCode")
    date = _date(document, "ram:IssueDateTime/udt:DateTimeString", "IssueDateTime, BT-2")
    if date is None:
        raise Invalide("date de facture absente (IssueDateTime, BT-2)")
    accord = transaction.find("ram:ApplicableHeaderTradeAgreement", NS)
    reglement = transaction.find("ram:ApplicableHeaderTradeSettlement", NS)
    if accord is None or reglement is None:
        raise Invalide("document CII incomplet : ApplicableHeaderTradeAgreement ou "
                       "ApplicableHeaderTradeSettlement absent")
    devise = _texte(reglement, "ram:InvoiceCurrencyCode").upper()
    sommes = reglement.find("ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    if sommes is None:
        raise Invalide("totaux absents (SpecifiedTradeSettlementHeaderMonetarySummation)")

    def somme(nom: str, bt: str, requis: bool = False):
        found = sommes.find(f"ram:{nom}", NS)
        return montant(found.text if found is not None else None, f"{nom}, {bt}", requis)

    tva_totale = None
    for found in sommes.findall("ram:TaxTotalAmount", NS):
        # BT-110 is the one in the invoice currency; BT-111 (tax currency) may follow.
        if found.get("currencyID", devise).upper() == devise:
            tva_totale = montant(found.text, "TaxTotalAmount, BT-110")
            break
    ttc = somme("GrandTotalAmount", "BT-112", requis=True)
    payee, arrondi = somme("TotalPrepaidAmount", "BT-113"), somme("RoundingAmount", "BT-114")
    a_payer = somme("DuePayableAmount", "BT-115", requis=True)
    lignes = []
    for taxe in reglement.findall("ram:ApplicableTradeTax", NS):
        taux = montant(_texte(taxe, "ram:RateApplicablePercent") or "0",
                       "RateApplicablePercent, BT-119")
        lignes.append(LigneTva(taux=taux,
                               base=montant(_texte(taxe, "ram:BasisAmount"), "BasisAmount, BT-116"),
                               montant=montant(_texte(taxe, "ram:CalculatedAmount"),
                                               "CalculatedAmount, BT-117"),
                               categorie=_texte(taxe, "ram:CategoryCode") or "S"))
    termes = reglement.findall("ram:SpecifiedTradePaymentTerms", NS)
    echeance = None
    for terme in termes:
        echeance = echeance or _date(terme, "ram:DueDateDateTime/udt:DateTimeString",
                                     "DueDateDateTime, BT-9")
    conditions = "\n".join(x for x in (_texte(t, "ram:Description") for t in termes) if x)
    facture = FactureElectronique(
        fichier=fichier, format=format, profil=profil, avoir=avoir, numero=numero, date=date,
        vendeur=_partie(accord.find("ram:SellerTradeParty", NS)),
        acheteur=_partie(accord.find("ram:BuyerTradeParty", NS)),
        montant_ttc=ttc, a_payer=a_payer, devise=devise, echeance=echeance,
        conditions=conditions,
        facture_liee=_texte(reglement, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
        tva=tuple(lignes), reference_paiement=_texte(reglement, "ram:PaymentReference"),
        commande=_texte(accord, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"))
    controler(facture, {"net": somme("TaxBasisTotalAmount", "BT-109"), "tva": tva_totale,
                        "payee": payee, "arrondi": arrondi})
    return facture
