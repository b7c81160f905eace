"""The wording a credit controller and a lawyer asked for (issue 20, item 5), read back from
what a real run produces: letters as PDF text (pypdf), emails parsed with `email`."""

from __future__ import annotations

import email
import email.policy
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from relances.cli import relancer
from relances.exemple import write_workbook
from relances.lettre_donnees import meme_personne, telephone_international

from conftest import TODAY, client_row, copy_config, days, invoice_row

MM = 72 / 25.4


def etape(nom: str, ago: int) -> str:
    return f"{nom} ({(TODAY - days(ago)):%d/%m/%Y})"


@pytest.fixture(scope="module")
def sortie(tmp_path_factory) -> Path:
    """One run over a professional SCI, a private individual with a credit note, another one
    handed to the agency, English clients (formal notice, final reminder, broken promise)."""
    folder = tmp_path_factory.mktemp("redaction")
    copy_config(folder)
    config = folder / "config.toml"
    text = config.read_text(encoding="utf-8")
    for old, new in (("# joindre_courrier = true", "joindre_courrier = true"),
                     ("# [recouvrement]  ", "[recouvrement]  "),
                     ('# email = "dossiers@agence.fr"', 'email = "dossiers@agence.fr"')):
        assert old in text
        text = text.replace(old, new, 1)
    config.write_text(text, encoding="utf-8")
    rows = [
        invoice_row(client="Julie Bernard", numero="F-10", echeance=TODAY - days(40),
                    etape=etape("dernier_rappel", 12)),
        invoice_row(client="Julie Bernard", numero="AV-1", echeance=TODAY - days(30),
                    montant=Decimal("-150")),
        invoice_row(client="Paul Durand", numero="F-20", echeance=TODAY - days(80),
                    montant=Decimal("2300"), etape=etape("mise_en_demeure", 30)),
        invoice_row(client="Harbour Ltd", numero="F-30", echeance=TODAY - days(40),
                    montant=Decimal("2500"), etape=etape("dernier_rappel", 12)),
        invoice_row(client="Bay Ltd", numero="F-50", echeance=TODAY - days(30),
                    montant=Decimal("900"), etape=etape("appel", 10), promesse=TODAY - days(2)),
        invoice_row(client="SCI Les Tilleuls", numero="F-60", echeance=TODAY - days(40),
                    montant=Decimal("3600"), paye=Decimal("1000"),
                    etape=etape("dernier_rappel", 12)),
    ]
    clients = [
        client_row(nom="Julie Bernard", contact="Julie Bernard", type_="particulier",
                   civilite="Madame", email="julie@exemple.fr"),
        client_row(nom="Paul Durand", contact="Paul Durand", type_="particulier",
                   civilite="Monsieur", email="paul@exemple.fr"),
        client_row(nom="Harbour Ltd", contact="James Wright", langue="en", civilite="Monsieur",
                   email="accounts@harbour.co.uk"),
        client_row(nom="Bay Ltd", contact="John Smith", langue="en", civilite="Monsieur",
                   email="accounts@bay.co.uk"),
        client_row(nom="SCI Les Tilleuls", contact="Anne Girard", civilite="Madame",
                   forme="SCI", siren="512 348 764", email="gestion@sci-tilleuls.fr"),
    ]
    write_workbook(folder / "relances.xlsx", rows, clients)
    for day in (TODAY, TODAY + days(1)):  # the dossier goes to the agency the next day
        result = CliRunner().invoke(relancer, ["--config", str(config), "--date", day.isoformat()])
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return folder / "sortie"


def pdf(sortie: Path, motif: str) -> Path:
    (found,) = [p for p in sortie.rglob("*.pdf") if motif in str(p) and "imprimer" not in p.name]
    return found


def text_of(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(path).pages).replace("\u00a0", " ")


def joined(text: str) -> str:
    return " ".join(text.split())


def eml(sortie: Path, motif: str) -> email.message.EmailMessage:
    (found,) = [p for p in sortie.rglob("*.eml") if motif in p.name]
    return email.message_from_bytes(found.read_bytes(), policy=email.policy.default)


def top_mm(path: Path, wanted: str) -> tuple[int, float]:
    """(page index, distance from the top in mm) of the first line starting with `wanted`."""
    for index, page in enumerate(PdfReader(path).pages):
        height, found = float(page.mediabox.height), []

        def visit(text, cm, tm, font, size):
            if text.replace("\u00a0", " ").strip().startswith(wanted):
                found.append((height - (tm[5] * cm[3] + cm[5])) / MM)

        page.extract_text(visitor_text=visit)
        if found:
            return index, min(found)
    raise AssertionError(f"{wanted!r} not found")


def test_the_legal_form_is_never_repeated_after_a_name_that_says_it(sortie):
    text = joined(text_of(pdf(sortie, "sci-les-tilleuls")))
    assert "SCI Les Tilleuls (SIREN 512 348 764) reste redevable" in text
    assert "(SCI" not in text and "Tilleuls, SCI" not in text


def test_one_invoice_has_one_indemnity_in_the_singular(sortie):
    text = joined(text_of(pdf(sortie, "sci-les-tilleuls")))
    assert "Indemnité forfaitaire pour frais de recouvrement 40,00 €" in text
    assert "Indemnités" not in text


def test_a_private_individual_is_addressed_once_with_a_civility(sortie):
    text = text_of(pdf(sortie, "julie-bernard"))
    assert text.count("Julie Bernard") == 1 and "Mme Julie Bernard" in text
    assert "attention" not in text


def test_a_credit_note_under_a_deduction_label_has_no_minus_sign(sortie):
    text = joined(text_of(pdf(sortie, "julie-bernard")))
    assert "Avoir déduit 150,00 €" in text and "Montant à régler 850,00 €" in text
    assert "Avoir déduit -150" not in text and "Avoirs déduits" not in text


def test_the_signatory_has_room_for_a_handwritten_signature(sortie):
    letter = pdf(sortie, "julie-bernard")
    page, formula = top_mm(letter, "Veuillez agréer")
    page_name, name = top_mm(letter, "Marie Dupont")
    assert page_name == page and name - formula >= 19  # about 17 mm left blank


def test_english_letters_have_an_international_phone_and_no_french_word(sortie):
    text = text_of(pdf(sortie, "harbour-ltd"))
    assert "Tel. +33 4 72 00 00 00" in text and "04 72 00 00 00" not in text
    for french in ("réf.", " j\n", "40 j ", "injonction", "Tél.", "()"):
        assert french not in text, french
    assert "ref. RF" in text and "40 days" in text
    body = eml(sortie, "bay-ltd").get_body(("plain",)).get_content()
    assert "Tel. +33 4 72 00 00 00" in body


def test_the_broken_promise_speaks_to_its_reader(sortie):
    body = eml(sortie, "bay-ltd").get_body(("plain",)).get_content()
    assert "You told us that invoice F-50 would be paid" in body
    assert "John Smith told us" not in body
    assert meme_personne("Éric Dupuis", "Éric Dupuis") and meme_personne("M. Dupuis", "Éric Dupuis")
    assert not meme_personne("Marc Roux", "Éric Dupuis") and not meme_personne("", "Éric Dupuis")


def test_the_dossier_speaks_of_the_debtor_to_the_agency_and_recalls_r124_4(sortie):
    text = joined(text_of(pdf(sortie, "dossier-recouvrement")))
    assert "confie à l’agence le recouvrement amiable de sa créance sur le débiteur" in text
    assert "M. Paul Durand" in text and "Contact : Monsieur" not in text
    assert "tel que la mise en demeure l’a rappelé au débiteur" in text
    assert "article R124-4 du Code des procédures civiles d’exécution" in text
    assert "deuxième et troisième alinéas de l’article L111-8" in text
    assert "restent à la charge du créancier" in text and "débiteur de mauvaise foi" in text


def test_the_agency_email_states_the_dossiers_amount(sortie):
    text = joined(text_of(pdf(sortie, "dossier-recouvrement")))
    montant = text.split("Montant à régler ")[1].split(" €")[0] + " €"
    message = eml(sortie, "transmission")
    body = " ".join(message.get_body(("plain",)).get_content().replace("\u00a0", " ").split())
    assert f"{montant} au 22 novembre 2026, comme le chiffre le dossier joint" in body
    assert montant in message["Subject"].replace("\u00a0", " ").replace("\u202f", " ")


def test_the_payment_block_and_its_qr_code_share_one_page(sortie):
    reader = PdfReader(pdf(sortie, "sci-les-tilleuls"))
    (page,) = [p.extract_text() for p in reader.pages if "Règlement par virement" in p.extract_text()]
    assert "Scannez pour payer" in page and "Référence à indiquer" in page


@pytest.mark.parametrize("numero, pays, attendu", [
    ("04 72 00 00 00", "FR", "+33 4 72 00 00 00"), ("0612345678", "FR", "+33 6 12 34 56 78"),
    ("02 123 45 67", "BE", "+32 2 123 45 67"), ("0470 12 34 56", "BE", "+32 470 12 34 56"),
    ("+44 20 7946 0000", "FR", "+44 20 7946 0000"), ("3615", "FR", "3615")])
def test_phone_numbers_are_written_for_callers_abroad(numero, pays, attendu):
    assert telephone_international(numero, pays) == attendu
