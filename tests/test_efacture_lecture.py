"""Reading e-invoices: Factur-X PDFs made by the factur-x library, CII and UBL samples written
per the standards, and hostile files that must give a French EfactureError, never a hang nor
a traceback."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relances.efacture.lecture import EfactureError, lire_efacture, nature
from relances.errors import RelancesError
from relances.formats import montant

from efactures import (ACHETEUR_BE, PROFILS_CII, ajouter_piece, cii_xml, facturx_pdf,
                       pdf_simple, ubl_xml)

FIXTURES = Path(__file__).parent / "fixtures" / "efactures"
NIVEAUX = {"MINIMUM": "minimum", "BASIC WL": "basicwl", "BASIC": "basic",
           "EN16931": "en16931", "EXTENDED": "extended"}


def lire(path: Path, data: bytes | None = None):
    if data is not None:
        path.write_bytes(data)
    [facture] = lire_efacture(path)
    return facture


def refus(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    debut = time.monotonic()
    with pytest.raises(EfactureError) as exc:
        lire_efacture(path)
    assert time.monotonic() - debut < 2
    message = str(exc.value)
    assert message.startswith(f"{path.name} : "), message
    assert isinstance(exc.value, RelancesError)
    return message


@pytest.mark.parametrize("profil", ["MINIMUM", "BASIC WL", "BASIC", "EN16931", "EXTENDED"])
def test_facturx_pdf_of_every_profile_is_read_back(tmp_path, profil):
    from facturx import get_xml_from_pdf, get_level
    from lxml import etree

    xml = cii_xml("F-2026-101", profil=profil, lignes_tva=[("20.00", "1000.00"), ("5.5", "200.00")],
                  echeance=datetime.date(2026, 10, 31), conditions="30 jours fin de mois")
    path = tmp_path / "F-2026-101.pdf"
    facturx_pdf(xml, path)  # checked against the profile's XSD by the library
    nom, embarque = get_xml_from_pdf(path.read_bytes(), check_xsd=True)
    assert nom == "factur-x.xml" and get_level(etree.fromstring(embarque)) == NIVEAUX[profil]
    assert nature(path) == "facture"
    facture = lire(path)
    assert (facture.format, facture.profil) == ("factur-x", {"EN16931": "EN 16931"}.get(profil, profil))
    assert (facture.numero, facture.date, facture.avoir) == ("F-2026-101", datetime.date(2026, 10, 1), False)
    assert facture.fichier == path
    assert facture.montant_ttc == facture.a_payer == Decimal("1411.00")
    assert facture.vendeur.nom == "Atelier Durand SARL" and facture.vendeur.siren == "732829320"
    assert facture.acheteur.nom == "Boulangerie Martin SAS" and facture.acheteur.siren == "552100554"
    if profil == "MINIMUM":  # no breakdown, no terms: fine
        assert facture.tva == () and facture.echeance is None
    else:
        assert [(l.taux, l.base, l.montant) for l in facture.tva] == [
            (Decimal("20.00"), Decimal("1000.00"), Decimal("200.00")),
            (Decimal("5.5"), Decimal("200.00"), Decimal("11.00"))]
        assert facture.echeance == datetime.date(2026, 10, 31)
        assert facture.conditions == "30 jours fin de mois"
        assert facture.acheteur.email == "compta@boulangerie-martin.fr"
        assert facture.acheteur.adresse == "3 place du Marché\n38000 Grenoble"


def test_cii_credit_note_in_a_facturx_pdf_references_its_invoice(tmp_path):
    xml = cii_xml("AV-3", avoir=True, facture_liee="F-2026-101", lignes_tva=[("20.00", "100.00")])
    facture = lire(tmp_path / "AV-3.pdf", facturx_pdf(xml))
    assert facture.avoir and facture.montant_ttc == Decimal("120.00")
    assert facture.facture_liee == "F-2026-101"


def test_xrechnung_cii_is_read_with_its_profile(tmp_path):
    facture = lire(tmp_path / "x.xml", cii_xml(profil="XRECHNUNG"))
    assert (facture.format, facture.profil) == ("cii", "XRECHNUNG")


def test_en16931_cii_with_two_rates_a_deposit_and_the_buyer_email():
    path = FIXTURES / "cii-en16931-deux-taux.xml"
    assert nature(path) == "facture"
    facture = lire(path)
    assert (facture.format, facture.profil, facture.numero) == ("cii", "EN 16931", "FA-2026-0457")
    assert facture.date == datetime.date(2026, 10, 15)
    assert facture.echeance == datetime.date(2026, 12, 31)
    assert facture.conditions.startswith("Paiement à 45 jours fin de mois.")
    assert (facture.montant_ttc, facture.a_payer) == (Decimal("3883.35"), Decimal("2883.35"))
    assert [(l.taux, l.montant) for l in facture.tva] == [(Decimal("20.00"), Decimal("500.00")),
                                                          (Decimal("5.5"), Decimal("46.05"))]
    assert facture.acheteur.siren == "55210055400013"  # SIRET, scheme 0009
    assert facture.acheteur.email == "compta@boulangerie-martin.fr"
    assert facture.acheteur.adresse == "3 place du Marché\nBâtiment B\n38000 Grenoble"
    assert facture.acheteur.tva == "FR61552100554"
    assert facture.vendeur.email == "compta@atelier-durand.fr"  # the seller's contact
    assert facture.commande == "BC-2026-88" and facture.reference_paiement == "FA-2026-0457"


def test_belgian_peppol_invoice_with_structured_communication():
    facture = lire(FIXTURES / "ubl-peppol-belge.xml")
    assert (facture.format, facture.profil, facture.numero) == ("ubl", "Peppol BIS 3.0", "2026/0112")
    assert facture.reference_paiement == "+++123/4567/89002+++"
    assert facture.vendeur.siren == "0202239951" and facture.vendeur.nom == "Menuiserie Lambert SRL"
    assert facture.acheteur.siren == "0403019261"  # from the 9925 (Belgian VAT) endpoint
    assert facture.acheteur.email == "factures@dupuis.be"
    assert facture.acheteur.adresse == "Rue de la Station 12\n5000 Namur\nBELGIQUE"
    assert facture.acheteur.pays == "BE"
    assert facture.tva[0].taux == Decimal("21") and facture.montant_ttc == Decimal("2553.10")
    assert facture.echeance == datetime.date(2026, 12, 3) and facture.commande == "PO-4471"


def test_ubl_credit_note_is_positive_and_names_the_invoice_it_credits():
    facture = lire(FIXTURES / "ubl-avoir.xml")
    assert facture.avoir and facture.montant_ttc == Decimal("300.00")
    assert facture.facture_liee == "FA-2026-0457" and facture.numero == "AV-2026-0012"
    assert facture.acheteur.siren == "55210055400013"


def test_ubl_builder_round_trip_with_email_endpoint_and_prepaid(tmp_path):
    from dataclasses import replace

    acheteur = replace(ACHETEUR_BE, siren="")  # no number: the endpoint is the email (EM)
    xml = ubl_xml("B-1", acheteur=acheteur, payee="21.00", echeance=datetime.date(2026, 11, 30),
                  lignes_tva=[("21", "100.00"), ("6", "50.00")], reference_paiement="+++090/9337/55493+++")
    facture = lire(tmp_path / "b.xml", xml)
    assert facture.acheteur.email == "factures@dupuis.be" and facture.acheteur.siren == ""
    assert (facture.montant_ttc, facture.a_payer) == (Decimal("174.00"), Decimal("153.00"))
    assert facture.echeance == datetime.date(2026, 11, 30)
    assert facture.reference_paiement == "+++090/9337/55493+++"


def test_fixtures_are_valid_against_the_standards_xsd():
    from facturx import xml_check_xsd

    assert xml_check_xsd((FIXTURES / "cii-en16931-deux-taux.xml").read_bytes(), "factur-x", "en16931")
    assert xml_check_xsd((FIXTURES / "ubl-peppol-belge.xml").read_bytes(), "ubl-2.1-invoice")
    assert xml_check_xsd((FIXTURES / "ubl-avoir.xml").read_bytes(), "ubl-2.1-creditnote")
    assert xml_check_xsd(ubl_xml(avoir=True, facture_liee="F-1", acheteur=ACHETEUR_BE),
                         "ubl-2.1-creditnote")


# -- checks -----------------------------------------------------------------------------------


def test_totals_that_do_not_add_up_are_refused_naming_the_rule(tmp_path):
    message = refus(tmp_path / "f.xml", cii_xml(total_ttc="1250.00"))
    assert "BR-CO-15" in message
    assert montant(Decimal("1250")) in message and montant(Decimal("1000")) in message
    message = refus(tmp_path / "u.xml", ubl_xml(total_ttc="1250.00"))
    assert "BR-CO-15" in message


def test_due_amount_and_breakdown_are_checked(tmp_path):
    xml = cii_xml(payee="100.00").replace(b"<ram:DuePayableAmount>1100.00",
                                         b"<ram:DuePayableAmount>1200.00")
    assert "BR-CO-16" in refus(tmp_path / "a.xml", xml)
    xml = cii_xml().replace(b"<ram:CalculatedAmount>200.00", b"<ram:CalculatedAmount>190.00")
    assert "BR-CO-14" in refus(tmp_path / "b.xml", xml)
    xml = (cii_xml().replace(b"<ram:CalculatedAmount>200.00", b"<ram:CalculatedAmount>210.00")
           .replace(b"<ram:TaxTotalAmount currencyID=\"EUR\">200.00",
                    b"<ram:TaxTotalAmount currencyID=\"EUR\">210.00")
           .replace(b"<ram:GrandTotalAmount>1200.00", b"<ram:GrandTotalAmount>1210.00")
           .replace(b"<ram:DuePayableAmount>1200.00", b"<ram:DuePayableAmount>1210.00"))
    message = refus(tmp_path / "c.xml", xml)
    assert "TVA à 20,0\u202f%" in message and montant(Decimal("210")) in message


def test_other_currency_is_refused(tmp_path):
    assert "« USD »" in refus(tmp_path / "usd.xml", cii_xml(devise="USD"))
    assert "euros" in refus(tmp_path / "usd2.xml", ubl_xml(devise="USD"))


def test_unreadable_date_and_missing_names_are_refused(tmp_path):
    assert "« 20261341 »" in refus(tmp_path / "d.xml", cii_xml(date_brute="20261341"))
    xml = ubl_xml().replace(b"2026-10-01", b"01/10/2026")
    assert "« 01/10/2026 »" in refus(tmp_path / "u.xml", xml)
    xml = cii_xml().replace(b"<ram:Name>Boulangerie Martin SAS</ram:Name>", b"<ram:Name/>")
    assert "BR-07" in refus(tmp_path / "n.xml", xml)
    assert "BR-02" in refus(tmp_path / "v.xml", cii_xml(numero=""))


def test_negative_invoice_and_unknown_type_are_refused(tmp_path):
    xml = cii_xml(lignes_tva=[("20.00", "-100.00")])
    assert "négatif" in refus(tmp_path / "neg.xml", xml)
    assert "« 999 »" in refus(tmp_path / "t.xml", cii_xml(type_code="999"))


def test_corrective_and_self_billed_invoices_are_invoices(tmp_path):
    assert not lire(tmp_path / "a.xml", cii_xml(type_code="384")).avoir
    assert not lire(tmp_path / "b.xml", ubl_xml(type_code="389")).avoir
    assert lire(tmp_path / "c.xml", cii_xml(type_code="261")).avoir


# -- hostile files ----------------------------------------------------------------------------


def test_external_entity_is_refused_and_nothing_is_read(tmp_path):
    xml = cii_xml().replace(b"<rsm:CrossIndustryInvoice ",
                            b'<!DOCTYPE rsm:CrossIndustryInvoice [<!ENTITY x SYSTEM '
                            b'"file:///etc/passwd">]>\n<rsm:CrossIndustryInvoice ')
    xml = xml.replace(b"Boulangerie Martin SAS", b"&x;")
    message = refus(tmp_path / "xxe.xml", xml)
    assert "DOCTYPE" in message and "root:" not in message


def test_billion_laughs_is_refused_fast(tmp_path):
    lol = b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)) + b']>\n<rsm:CrossIndustryInvoice>&lol9;</rsm:CrossIndustryInvoice>'
    assert "DOCTYPE" in refus(tmp_path / "lol.xml", lol)


def test_utf16_doctype_is_refused_after_parsing(tmp_path):
    xml = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]>'
           '<a>&e;</a>').encode("utf-16")
    assert "DOCTYPE" in refus(tmp_path / "u16.xml", xml)


def test_oversized_files_are_refused_before_parsing(tmp_path):
    path = tmp_path / "gros.xml"
    with path.open("wb") as f:
        f.write(cii_xml()[:-30])
        f.truncate(50 * 1024 * 1024)  # sparse: fast to make
    with pytest.raises(EfactureError, match="gros\\.xml : fichier de 50\u00a0Mo, plus que les 20\u00a0Mo"):
        lire_efacture(path)
    pdf = tmp_path / "gros.pdf"
    with pdf.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        f.truncate(51 * 1024 * 1024)
    with pytest.raises(EfactureError, match="gros\\.pdf : PDF de 51\u00a0Mo, plus que les 50\u00a0Mo"):
        lire_efacture(pdf)


def test_pdf_with_two_different_invoice_xml_is_refused(tmp_path):
    pdf = ajouter_piece(facturx_pdf(cii_xml("F-1")), "zugferd-invoice.xml", cii_xml("F-2"))
    message = refus(tmp_path / "deux.pdf", pdf)
    assert "plusieurs XML" in message and "zugferd-invoice.xml" in message
    pdf = facturx_pdf(cii_xml("F-1"), pieces={"facture.xml": ubl_xml("F-1")})
    assert "« facture.xml »" in refus(tmp_path / "ubl-en-plus.pdf", pdf)


def test_pdf_with_an_unrelated_xml_attachment_is_read(tmp_path):
    pdf = facturx_pdf(cii_xml("F-1"), pieces={"bordereau.xml": b"<bordereau/>"})
    assert lire(tmp_path / "f.pdf", pdf).numero == "F-1"


def test_hostile_xml_inside_a_pdf_is_refused(tmp_path):
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           b"<x>&e;</x>")
    pdf = ajouter_piece(pdf_simple(), "factur-x.xml", xxe)
    message = refus(tmp_path / "xxe.pdf", pdf)
    assert "factur-x.xml" in message and "DOCTYPE" in message


@pytest.mark.parametrize("pdfa", [True, False])
def test_pdf_without_xml_is_not_an_einvoice(tmp_path, pdfa):
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_simple(pdfa=pdfa))
    assert nature(path) is None
    assert refus(path, path.read_bytes()).endswith(
        "ce PDF ne contient pas de facture électronique (Factur-X)")


@pytest.mark.parametrize("nom,data,attendu", [
    ("photo.pdf", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200), "ni un PDF Factur-X"),
    ("vide.pdf", b"", "fichier vide"),
    ("tronque.xml", cii_xml()[:400], "XML mal formé"),
    ("casse.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", "PDF illisible"),
    ("autre.xml", b'<?xml version="1.0"?><commande/>', "« commande »"),
    ("zugferd1.xml", b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:'
                     b'invoice:1p0"/>', "ZUGFeRD 1.0"),
])
def test_files_that_are_not_einvoices_get_a_french_message(tmp_path, nom, data, attendu):
    assert attendu in refus(tmp_path / nom, data)


def test_nature_dispatches_files(tmp_path):
    cas = {"f.xml": cii_xml(), "u.xml": ubl_xml(), "a.xml": ubl_xml(avoir=True),
           "s.csv": b"numero;statut;date\nF-1;210;2026-11-02\n",
           "cdar.xml": b'<rsm:CrossDomainAcknowledgementAndResponse xmlns:rsm="urn:un:unece:'
                       b'uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"/>',
           "r.xml": b'<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
                    b'ApplicationResponse-2"/>',
           "n.txt": b"bonjour", "x.xml": b"<a/>", "v.xml": b"", "p.pdf": pdf_simple()}
    for nom, data in cas.items():
        (tmp_path / nom).write_bytes(data)
    assert {nom: nature(tmp_path / nom) for nom in cas} == {
        "f.xml": "facture", "u.xml": "facture", "a.xml": "facture", "s.csv": "statuts",
        "cdar.xml": "statuts", "r.xml": "statuts", "n.txt": None, "x.xml": None,
        "v.xml": None, "p.pdf": None}
    with pytest.raises(EfactureError, match="introuvable"):
        nature(tmp_path / "absent.xml")


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=600),
                 st.binary(max_size=300).map(lambda b: b"%PDF-1.7\n" + b),
                 st.binary(max_size=300).map(lambda b: cii_xml()[:200] + b),
                 st.integers(0, len(cii_xml())).map(lambda n: cii_xml()[:n])))
def test_any_bytes_give_a_list_or_an_efacture_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("h") / "f.xml"
    path.write_bytes(data)
    try:
        assert len(lire_efacture(path)) == 1
    except EfactureError as exc:
        assert str(exc).startswith("f.xml : ")
    assert nature(path) in ("facture", "statuts", None)
