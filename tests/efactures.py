"""Builders of e-invoices for tests: CII XML (every Factur-X profile), UBL 2.1 invoices and
credit notes (Peppol BIS Billing 3.0), Factur-X PDFs made by the factur-x library on a real
PDF. Simple parameters, valid against the standards' XSD unless a test asks for a broken one.

    xml = cii_xml(numero="F-2026-101", lignes_tva=[("20.00", "1000.00")])
    pdf = facturx_pdf(xml, tmp_path / "F-2026-101.pdf")
    xml = ubl_xml(numero="A-7", avoir=True, facture_liee="F-2026-101")
"""

from __future__ import annotations

import datetime
from decimal import Decimal, ROUND_HALF_UP
from pathlib import Path
from xml.sax.saxutils import escape

from relances.efacture.modeles import Partie

VENDEUR = Partie(nom="Atelier Durand SARL", siren="732829320", tva="FR44732829320",
                 adresse="12 rue des Lilas\n69003 Lyon", email="factures@atelier-durand.fr",
                 pays="FR")
ACHETEUR = Partie(nom="Boulangerie Martin SAS", siren="552100554", tva="FR61552100554",
                  adresse="3 place du Marché\n38000 Grenoble", email="compta@boulangerie-martin.fr",
                  pays="FR")
ACHETEUR_BE = Partie(nom="Brasserie Dupuis SRL", siren="0403019261", tva="BE0403019261",
                     adresse="Rue de la Station 12\n5000 Namur", email="factures@dupuis.be",
                     pays="BE")

PROFILS_CII = {
    "MINIMUM": "urn:factur-x.eu:1p0:minimum",
    "BASIC WL": "urn:factur-x.eu:1p0:basicwl",
    "BASIC": "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
    "EN16931": "urn:cen.eu:en16931:2017",
    "EXTENDED": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
    "XRECHNUNG": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
}
PEPPOL = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
CENT = Decimal("0.01")


def _totaux(lignes_tva, payee, total_ttc):
    lignes = [(Decimal(taux), Decimal(base)) for taux, base in lignes_tva]
    lignes = [(taux, base, (base * taux / 100).quantize(CENT, ROUND_HALF_UP))
              for taux, base in lignes]
    ht = sum((base for _, base, _ in lignes), Decimal("0.00"))
    tva = sum((montant for _, _, montant in lignes), Decimal("0.00"))
    ttc = Decimal(total_ttc) if total_ttc is not None else ht + tva
    return lignes, ht, tva, ttc, ttc - Decimal(payee)


def _lignes_adresse(partie: Partie) -> tuple[str, str, str]:
    """(street, postcode, city) from « 12 rue des Lilas\\n69003 Lyon »."""
    lines = [line for line in partie.adresse.split("\n") if line.strip()]
    rue = lines[0] if lines else ""
    cp, _, ville = (lines[-1] if len(lines) > 1 else "").partition(" ")
    return rue, cp, ville


def _categorie(taux: Decimal) -> str:
    return "S" if taux else "Z"


def _cii_partie(role: str, partie: Partie, profil: str) -> str:
    e = escape
    schema = {9: "0002", 14: "0009", 10: "0208"}.get(len(partie.siren), "0002")
    legal = (f"<ram:SpecifiedLegalOrganization><ram:ID schemeID=\"{schema}\">{e(partie.siren)}"
             f"</ram:ID></ram:SpecifiedLegalOrganization>" if partie.siren else "")
    if profil == "MINIMUM":
        if role == "Seller":
            return (f"<ram:SellerTradeParty><ram:Name>{e(partie.nom)}</ram:Name>{legal}"
                    f"<ram:PostalTradeAddress><ram:CountryID>{partie.pays or 'FR'}</ram:CountryID>"
                    f"</ram:PostalTradeAddress>"
                    f"<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">{e(partie.tva)}</ram:ID>"
                    f"</ram:SpecifiedTaxRegistration></ram:SellerTradeParty>")
        return f"<ram:BuyerTradeParty><ram:Name>{e(partie.nom)}</ram:Name>{legal}</ram:BuyerTradeParty>"
    rue, cp, ville = _lignes_adresse(partie)
    contact = ""
    if partie.email and profil in ("EN16931", "EXTENDED", "XRECHNUNG") and role == "Seller":
        contact = (f"<ram:DefinedTradeContact><ram:PersonName>Service comptable</ram:PersonName>"
                   f"<ram:EmailURIUniversalCommunication><ram:URIID>{e(partie.email)}</ram:URIID>"
                   f"</ram:EmailURIUniversalCommunication></ram:DefinedTradeContact>")
    uri = (f"<ram:URIUniversalCommunication><ram:URIID schemeID=\"EM\">{e(partie.email)}"
           f"</ram:URIID></ram:URIUniversalCommunication>" if partie.email else "")
    tva = (f"<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">{e(partie.tva)}</ram:ID>"
           f"</ram:SpecifiedTaxRegistration>" if partie.tva else "")
    return (f"<ram:{role}TradeParty><ram:Name>{e(partie.nom)}</ram:Name>{legal}{contact}"
            f"<ram:PostalTradeAddress><ram:PostcodeCode>{e(cp)}</ram:PostcodeCode>"
            f"<ram:LineOne>{e(rue)}</ram:LineOne><ram:CityName>{e(ville)}</ram:CityName>"
            f"<ram:CountryID>{partie.pays or 'FR'}</ram:CountryID></ram:PostalTradeAddress>"
            f"{uri}{tva}</ram:{role}TradeParty>")


def _cii_date(jour: datetime.date, prefix="udt") -> str:
    return f'<{prefix}:DateTimeString format="102">{jour:%Y%m%d}</{prefix}:DateTimeString>'


def cii_xml(numero: str = "F-2026-101", *, date: datetime.date = datetime.date(2026, 10, 1),
            vendeur: Partie = VENDEUR, acheteur: Partie = ACHETEUR,
            lignes_tva=(("20.00", "1000.00"),), echeance: datetime.date | None = None,
            avoir: bool = False, profil: str = "EN16931", devise: str = "EUR",
            conditions: str = "", facture_liee: str = "", reference_paiement: str = "",
            commande: str = "", payee: str = "0.00", total_ttc: str | None = None,
            type_code: str | None = None, date_brute: str | None = None) -> bytes:
    """A CII invoice (Factur-X payload) of `profil` (a key of PROFILS_CII); one line per VAT
    rate from `lignes_tva` = [(rate, base)]; totals computed unless `total_ttc` forces one;
    `date_brute` replaces the issue date's text (to test a broken date)."""
    e = escape
    if profil == "MINIMUM":
        payee = "0.00"  # MINIMUM has no prepaid amount (BT-113)
    lignes, ht, tva, ttc, du = _totaux(lignes_tva, payee, total_ttc)
    code = type_code or ("381" if avoir else "380")
    complet = profil not in ("MINIMUM", "BASIC WL")
    items = ""
    if complet:
        for rang, (taux, base, _) in enumerate(lignes, 1):
            items += (
                f"<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument>"
                f"<ram:LineID>{rang}</ram:LineID></ram:AssociatedDocumentLineDocument>"
                f"<ram:SpecifiedTradeProduct><ram:Name>Prestation {rang}</ram:Name>"
                f"</ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement>"
                f"<ram:NetPriceProductTradePrice><ram:ChargeAmount>{base}</ram:ChargeAmount>"
                f"</ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>"
                f"<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode=\"C62\">1"
                f"</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>"
                f"<ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax>"
                f"<ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>{_categorie(taux)}"
                f"</ram:CategoryCode><ram:RateApplicablePercent>{taux}</ram:RateApplicablePercent>"
                f"</ram:ApplicableTradeTax><ram:SpecifiedTradeSettlementLineMonetarySummation>"
                f"<ram:LineTotalAmount>{base}</ram:LineTotalAmount>"
                f"</ram:SpecifiedTradeSettlementLineMonetarySummation>"
                f"</ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>")
    order = (f"<ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>{e(commande)}"
             f"</ram:IssuerAssignedID></ram:BuyerOrderReferencedDocument>" if commande else "")
    agreement = (f"<ram:ApplicableHeaderTradeAgreement>{_cii_partie('Seller', vendeur, profil)}"
                 f"{_cii_partie('Buyer', acheteur, profil)}{order}</ram:ApplicableHeaderTradeAgreement>")
    settlement = ""
    if reference_paiement and profil != "MINIMUM":
        settlement += f"<ram:PaymentReference>{e(reference_paiement)}</ram:PaymentReference>"
    settlement += f"<ram:InvoiceCurrencyCode>{devise}</ram:InvoiceCurrencyCode>"
    if profil != "MINIMUM":
        if reference_paiement or complet:
            settlement += ("<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58"
                           "</ram:TypeCode></ram:SpecifiedTradeSettlementPaymentMeans>")
        for taux, base, montant in lignes:
            settlement += (
                f"<ram:ApplicableTradeTax><ram:CalculatedAmount>{montant}</ram:CalculatedAmount>"
                f"<ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>{base}</ram:BasisAmount>"
                f"<ram:CategoryCode>{_categorie(taux)}</ram:CategoryCode>"
                f"<ram:RateApplicablePercent>{taux}</ram:RateApplicablePercent>"
                f"</ram:ApplicableTradeTax>")
        if conditions or echeance:
            settlement += "<ram:SpecifiedTradePaymentTerms>"
            if conditions:
                settlement += f"<ram:Description>{e(conditions)}</ram:Description>"
            if echeance:
                settlement += f"<ram:DueDateDateTime>{_cii_date(echeance)}</ram:DueDateDateTime>"
            settlement += "</ram:SpecifiedTradePaymentTerms>"
    summation = f"<ram:LineTotalAmount>{ht}</ram:LineTotalAmount>" if profil != "MINIMUM" else ""
    summation += (f"<ram:TaxBasisTotalAmount>{ht}</ram:TaxBasisTotalAmount>"
                  f"<ram:TaxTotalAmount currencyID=\"{devise}\">{tva}</ram:TaxTotalAmount>"
                  f"<ram:GrandTotalAmount>{ttc}</ram:GrandTotalAmount>")
    if Decimal(payee):
        summation += f"<ram:TotalPrepaidAmount>{Decimal(payee)}</ram:TotalPrepaidAmount>"
    summation += f"<ram:DuePayableAmount>{du}</ram:DuePayableAmount>"
    settlement += (f"<ram:SpecifiedTradeSettlementHeaderMonetarySummation>{summation}"
                   f"</ram:SpecifiedTradeSettlementHeaderMonetarySummation>")
    if facture_liee and profil != "MINIMUM":
        settlement += (f"<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{e(facture_liee)}"
                       f"</ram:IssuerAssignedID></ram:InvoiceReferencedDocument>")
    issue = (f'<udt:DateTimeString format="102">{e(date_brute)}</udt:DateTimeString>'
             if date_brute is not None else _cii_date(date))
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rsm:CrossIndustryInvoice '
        'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
        'xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" '
        'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
        'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">'
        f"<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        f"<ram:ID>{PROFILS_CII[profil]}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        f"</rsm:ExchangedDocumentContext>"
        f"<rsm:ExchangedDocument><ram:ID>{e(numero)}</ram:ID><ram:TypeCode>{code}</ram:TypeCode>"
        f"<ram:IssueDateTime>{issue}</ram:IssueDateTime></rsm:ExchangedDocument>"
        f"<rsm:SupplyChainTradeTransaction>{items}{agreement}"
        f"<ram:ApplicableHeaderTradeDelivery/>"
        f"<ram:ApplicableHeaderTradeSettlement>{settlement}</ram:ApplicableHeaderTradeSettlement>"
        f"</rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>\n")
    return text.encode("utf-8")


def _ubl_partie(partie: Partie) -> str:
    e = escape
    rue, cp, ville = _lignes_adresse(partie)
    if partie.pays == "BE":
        endpoint = f'<cbc:EndpointID schemeID="0208">{e(partie.siren)}</cbc:EndpointID>'
        legal_scheme = "0208"
    else:
        endpoint = f'<cbc:EndpointID schemeID="0009">{e(partie.siren)}</cbc:EndpointID>'
        legal_scheme = {9: "0002", 14: "0009"}.get(len(partie.siren), "0002")
    if not partie.siren and partie.email:
        endpoint = f'<cbc:EndpointID schemeID="EM">{e(partie.email)}</cbc:EndpointID>'
    tva = (f"<cac:PartyTaxScheme><cbc:CompanyID>{e(partie.tva)}</cbc:CompanyID>"
           f"<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
           if partie.tva else "")
    legal = (f'<cbc:CompanyID schemeID="{legal_scheme}">{e(partie.siren)}</cbc:CompanyID>'
             if partie.siren else "")
    contact = (f"<cac:Contact><cbc:ElectronicMail>{e(partie.email)}</cbc:ElectronicMail>"
               f"</cac:Contact>" if partie.email else "")
    return (f"<cac:Party>{endpoint}<cac:PostalAddress><cbc:StreetName>{e(rue)}</cbc:StreetName>"
            f"<cbc:CityName>{e(ville)}</cbc:CityName><cbc:PostalZone>{e(cp)}</cbc:PostalZone>"
            f"<cac:Country><cbc:IdentificationCode>{partie.pays or 'FR'}</cbc:IdentificationCode>"
            f"</cac:Country></cac:PostalAddress>{tva}<cac:PartyLegalEntity>"
            f"<cbc:RegistrationName>{e(partie.nom)}</cbc:RegistrationName>{legal}"
            f"</cac:PartyLegalEntity>{contact}</cac:Party>")


def ubl_xml(numero: str = "F-2026-101", *, date: datetime.date = datetime.date(2026, 10, 1),
            vendeur: Partie = VENDEUR, acheteur: Partie = ACHETEUR,
            lignes_tva=(("20.00", "1000.00"),), echeance: datetime.date | None = None,
            avoir: bool = False, devise: str = "EUR", conditions: str = "",
            facture_liee: str = "", reference_paiement: str = "", commande: str = "",
            payee: str = "0.00", total_ttc: str | None = None,
            type_code: str | None = None) -> bytes:
    """A Peppol BIS Billing 3.0 UBL Invoice, or CreditNote when `avoir` (amounts positive);
    one line per VAT rate from `lignes_tva` = [(rate, base)]."""
    e = escape
    lignes, ht, tva, ttc, du = _totaux(lignes_tva, payee, total_ttc)
    racine = "CreditNote" if avoir else "Invoice"
    code = type_code or ("381" if avoir else "380")
    head = (f"<cbc:CustomizationID>{PEPPOL}</cbc:CustomizationID>"
            f"<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>"
            f"<cbc:ID>{e(numero)}</cbc:ID><cbc:IssueDate>{date.isoformat()}</cbc:IssueDate>")
    if echeance and not avoir:
        head += f"<cbc:DueDate>{echeance.isoformat()}</cbc:DueDate>"
    head += f"<cbc:{racine}TypeCode>{code}</cbc:{racine}TypeCode>"
    head += f"<cbc:DocumentCurrencyCode>{devise}</cbc:DocumentCurrencyCode>"
    head += "<cbc:BuyerReference>n/a</cbc:BuyerReference>"
    if commande:
        head += f"<cac:OrderReference><cbc:ID>{e(commande)}</cbc:ID></cac:OrderReference>"
    if facture_liee:
        head += (f"<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{e(facture_liee)}"
                 f"</cbc:ID></cac:InvoiceDocumentReference></cac:BillingReference>")
    head += (f"<cac:AccountingSupplierParty>{_ubl_partie(vendeur)}</cac:AccountingSupplierParty>"
             f"<cac:AccountingCustomerParty>{_ubl_partie(acheteur)}</cac:AccountingCustomerParty>")
    head += "<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>"
    if echeance and avoir:
        head += f"<cbc:PaymentDueDate>{echeance.isoformat()}</cbc:PaymentDueDate>"
    if reference_paiement:
        head += f"<cbc:PaymentID>{e(reference_paiement)}</cbc:PaymentID>"
    head += ("<cac:PayeeFinancialAccount><cbc:ID>FR7630004000031234567890143</cbc:ID>"
             "</cac:PayeeFinancialAccount></cac:PaymentMeans>")
    if conditions:
        head += f"<cac:PaymentTerms><cbc:Note>{e(conditions)}</cbc:Note></cac:PaymentTerms>"
    head += f'<cac:TaxTotal><cbc:TaxAmount currencyID="{devise}">{tva}</cbc:TaxAmount>'
    for taux, base, montant in lignes:
        head += (f'<cac:TaxSubtotal><cbc:TaxableAmount currencyID="{devise}">{base}'
                 f'</cbc:TaxableAmount><cbc:TaxAmount currencyID="{devise}">{montant}'
                 f'</cbc:TaxAmount><cac:TaxCategory><cbc:ID>{_categorie(taux)}</cbc:ID>'
                 f'<cbc:Percent>{taux}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID>'
                 f'</cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>')
    head += "</cac:TaxTotal>"
    c = f'currencyID="{devise}"'
    head += (f"<cac:LegalMonetaryTotal><cbc:LineExtensionAmount {c}>{ht}</cbc:LineExtensionAmount>"
             f"<cbc:TaxExclusiveAmount {c}>{ht}</cbc:TaxExclusiveAmount>"
             f"<cbc:TaxInclusiveAmount {c}>{ttc}</cbc:TaxInclusiveAmount>")
    if Decimal(payee):
        head += f"<cbc:PrepaidAmount {c}>{Decimal(payee)}</cbc:PrepaidAmount>"
    head += f"<cbc:PayableAmount {c}>{du}</cbc:PayableAmount></cac:LegalMonetaryTotal>"
    ligne = "CreditNoteLine" if avoir else "InvoiceLine"
    quantite = "CreditedQuantity" if avoir else "InvoicedQuantity"
    for rang, (taux, base, _) in enumerate(lignes, 1):
        head += (f'<cac:{ligne}><cbc:ID>{rang}</cbc:ID><cbc:{quantite} unitCode="C62">1'
                 f'</cbc:{quantite}><cbc:LineExtensionAmount {c}>{base}</cbc:LineExtensionAmount>'
                 f'<cac:Item><cbc:Name>Prestation {rang}</cbc:Name><cac:ClassifiedTaxCategory>'
                 f'<cbc:ID>{_categorie(taux)}</cbc:ID><cbc:Percent>{taux}</cbc:Percent>'
                 f'<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>'
                 f'</cac:Item><cac:Price><cbc:PriceAmount {c}>{base}</cbc:PriceAmount></cac:Price>'
                 f'</cac:{ligne}>')
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<{racine} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{racine}-2" '
            'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
            'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
            f"{head}</{racine}>\n")
    return text.encode("utf-8")


def pdf_simple(texte: str = "Facture", pdfa: bool = True) -> bytes:
    """A one-page PDF made by Typst (PDF/A-3b unless `pdfa` is false), no attachment."""
    import typst

    source = f'#set page(width: 210mm, height: 297mm)\n#set text(font: "Libertinus Serif")\n{texte}\n'
    options = {"pdf_standards": ["a-3b"]} if pdfa else {}
    return typst.compile(source.encode("utf-8"), format="pdf", **options)


def facturx_pdf(xml: bytes, path: Path | None = None, *, pieces: dict[str, bytes] | None = None,
                check_xsd: bool = True) -> bytes:
    """A Factur-X PDF: `xml` embedded as factur-x.xml by the factur-x library into a Typst
    PDF/A-3; `pieces` are other attachments ({filename: data}). Written to `path` if given."""
    from facturx import generate_from_binary

    attachments = {name: {"filedata": data, "description": name}
                   for name, data in (pieces or {}).items()}
    pdf = generate_from_binary(pdf_simple(), xml, check_xsd=check_xsd,
                               attachments=attachments or None, lang="fr-FR")
    if path is not None:
        path.write_bytes(pdf)
    return pdf


def ajouter_piece(pdf: bytes, nom: str, data: bytes) -> bytes:
    """`pdf` with one more embedded file, added by pypdf (factur-x refuses to embed a second
    file under a reserved name such as zugferd-invoice.xml: a hostile PDF may still do it)."""
    from io import BytesIO

    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=BytesIO(pdf))
    writer.add_attachment(nom, data)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
