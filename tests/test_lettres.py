"""Letters and attachments end to end: PDFs parsed back with pypdf, emails with the `email` package."""

from __future__ import annotations

import email
import email.policy
import io
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from relances.cli import relancer
from relances.xlsx import fingerprint

from conftest import IBAN_TEST, NOM_TEST, SIRET_TEST, TODAY, client_row, days, invoice_row

MM = 72 / 25.4  # PDF points per millimetre
NNBSP = "\u202f"  # French thousands separator: a narrow no-break space


def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", TODAY.isoformat(), *args])
    assert "Traceback" not in result.output
    return result


def letters(folder: Path) -> list[Path]:
    return sorted((folder / "sortie").rglob("courriers/*.pdf"))


def text_of(pdf: Path | bytes) -> str:
    """The PDF's text; no-break spaces read as spaces (pypdf cannot tell them apart in a font
    subset that draws both with one glyph). Narrow ones are kept: amounts are checked with them."""
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


def position_mm(pdf: Path, wanted: str) -> tuple[float, float]:
    """(left, top) in millimetres from the page's top-left corner of the line starting `wanted`."""
    page = PdfReader(pdf).pages[0]
    height = float(page.mediabox.height)
    found = []

    def visit(text, cm, tm, font, size):
        if text.replace("\u00a0", " ").strip().startswith(wanted):
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((x / MM, (height - y) / MM))

    page.extract_text(visitor_text=visit)
    assert found, f"{wanted!r} not found on page 1"
    return min(found, key=lambda xy: xy[1])  # the highest on the page


def parse(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def set_config(folder: Path, old: str, new: str) -> None:
    path = folder / "config.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_formal_notice_carries_every_mention_the_law_expects(project):
    run(project)
    (pdf,) = letters(project)
    reader = PdfReader(pdf)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    assert reader.metadata.title == "Mise en demeure — SCI Les Tilleuls"
    text = text_of(pdf)
    text = " ".join(text.split(" \n")).replace("\n", " ")  # lines joined: sentences whole
    for mention in (
        "LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION",
        NOM_TEST, "SCI Les Tilleuls", "17 rue Garibaldi",  # both parties
        "À l’attention de Mme Anne Girard", "Madame,",  # to whom, civility
        "SCI Les Tilleuls (SIREN 512 348 764)",  # the debtor's legal identity
        "Lyon, le 22 novembre 2026",  # place and date
        "mise en demeure", "F-2026-003",
        f"3{NNBSP}600,00 €", f"1{NNBSP}000,00 €", f"2{NNBSP}600,00 €",  # amount, paid, remaining
        # 2,600 € × 12.15 % × 43 days / 365 = 37.2156… -> 37.22; + 40 € indemnity
        "37,22 €", "40,00 €", f"Montant à régler 2{NNBSP}677,22 €",
        "Intérêts de retard arrêtés au 22/11/2026",
        f"au taux annuel de 12,15{NNBSP}%", "article L441-10 du Code de commerce",
        "article D441-5", "jusqu’à parfait paiement",
        "dans un délai de huit jours à compter de la réception de la présente",
        "le 5 novembre 2026 : dernier rappel (e-mail)",  # the history of reminders
        "injonction de payer", "sur justification",  # what follows, costs within the law
        IBAN_TEST, "Référence à indiquer : RF72 F202 6003",  # how to pay
        "Veuillez agréer, Madame, l’expression de nos salutations distinguées.",
        "Marie Dupont, gérante",  # signature
        f"SIRET {SIRET_TEST}",  # footer
        "Pièce jointe : copie de la facture F-2026-003",
        "Scannez pour payer avec votre application bancaire",
    ):
        assert mention in text, mention
    assert "frais restant à votre charge" not in text
    # The invoice copy is appended after the letter.
    assert len(reader.pages) >= 2 and "F-2026-003" in reader.pages[-1].extract_text()


def test_the_recipient_block_sits_in_the_window_of_a_dl_envelope(project):
    run(project)
    (pdf,) = letters(project)
    # DL window: 100 × 45 mm, 20 mm from the right edge; folded in three, on the A4 page that
    # is about 95-195 mm from the left and 45-90 mm from the top.
    left, top = position_mm(pdf, "SCI Les Tilleuls")
    assert 100 <= left <= 115 and 45 <= top <= 60
    left, top = position_mm(pdf, "69006 Lyon")
    assert 100 <= left <= 115 and top <= 85
    left, top = position_mm(pdf, NOM_TEST)  # the sender stays top left
    assert left < 30 and top < 30


def test_thousands_separators_never_break_a_line(project):
    run(project)
    (pdf,) = letters(project)
    text = text_of(pdf)
    assert not re.search(r"\d[\u202f ]?\n\d{3},\d\d", text)  # "2" / "677,22 €" on two lines
    assert not re.search(r"\d,\d\d\n€", text)  # amount and currency apart
    assert text.count(f"2{NNBSP}677,22") == 3  # object line, total, demand
    # Invoice and article numbers never break across lines.
    assert not re.search(r"F-\n|F-2026-\n|L441-\n|D441-\n", text)


def test_all_letters_of_the_day_are_merged_into_one_file_to_print(project):
    run(project)
    bundle = project / "sortie" / "2026-11-22" / "2026-11-22-a-imprimer.pdf"
    assert len(PdfReader(bundle).pages) == sum(len(PdfReader(p).pages) for p in letters(project))
    assert "SCI Les Tilleuls" in text_of(bundle)


def test_an_email_step_can_attach_its_letter_with_the_same_figures(project):
    set_config(project, 'modele = "dernier_rappel"', 'modele = "dernier_rappel"\njoindre_courrier = true')
    # Menuiserie Petit follows the default schedule, not the bad payers' one.
    with open(project / "config.toml", "a", encoding="utf-8") as out:
        out.write('\n[profils]\n"mauvais payeur" = "defaut"\n')
    run(project)
    (eml,) = [p for p in (project / "sortie").rglob("*.eml") if "dernier_rappel" in p.name]
    message = parse(eml)
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert set(attachments) == {"dernier-rappel-F-2026-007.pdf", "F-2026-007.pdf"}
    letter = text_of(attachments["dernier-rappel-F-2026-007.pdf"])
    body = message.get_body(("plain",)).get_content()
    # The last reminder asks for the principal and states the penalties apart, the same way
    # in the email and in its letter: 1,920 € × 12.15 % × 25 days / 365 = 15.98 € + 40 €.
    assert f"régler la somme de 1{NNBSP}920,00 €" in letter
    assert f"régler la somme de 1{NNBSP}920,00\u00a0€" in body
    assert "ces pénalités s’élèvent à 55,98 €" in letter
    assert "ces pénalités s’élèvent à 55,98\u00a0€" in body
    assert f"1{NNBSP}975,98" not in letter + body  # never a second, different amount asked
    assert "Menuiserie Petit" in letter and "dernier rappel" in letter.lower()
    assert "Monsieur," in letter and "Bonjour Monsieur Petit," in body


def test_a_private_individual_gets_no_fixed_indemnity_and_interest_from_the_notice(small_project):
    folder = small_project(
        [invoice_row(client="Julie Rousseau", numero="F-9", echeance=TODAY - days(40),
                     etape=f"dernier_rappel ({(TODAY - days(12)):%d/%m/%Y})")],
        [client_row(nom="Julie Rousseau", contact="", type_="particulier")])
    result = run(folder)
    assert result.exit_code == 0, result.output
    text = text_of(letters(folder)[0])
    assert "Madame, Monsieur," in text
    assert "Indemnité" not in text and "40 €" not in text and "40,00 €" not in text
    assert "taux légal" in text and "1231-6" in text
    assert f"Montant à régler 1{NNBSP}000,00 €" in text  # interest runs from today only
    assert "sur justification" not in text  # no cost sentence for a private individual


def test_an_english_client_gets_english_emails_and_letters(small_project):
    # F-1 falls due after the formal notice of F-2: its first reminder is the firm one.
    folder = small_project(
        [invoice_row(client="Harbour Ltd", numero="F-1", echeance=TODAY + days(10)),
         invoice_row(client="Harbour Ltd", numero="F-2", echeance=TODAY - days(40),
                     montant=2500, etape=f"dernier_rappel ({(TODAY - days(12)):%d/%m/%Y})")],
        [client_row(nom="Harbour Ltd", contact="James Wright", langue="en", civilite="Monsieur")])
    run(folder)
    (pdf,) = letters(folder)
    text = text_of(pdf)
    assert "Formal notice to pay" in text and "Lyon, 22 November 2026" in text
    assert "€2,500.00" in text and "For the attention of Mr James Wright" in text
    assert "Dear Mr Wright," in text and "Yours sincerely," in text
    assert "Amount payable" in text and "within eight days of receiving this letter" in text
    assert not list((folder / "sortie").rglob("*.eml"))  # no email on the day of a letter
    run(folder, "--date", (TODAY + days(15)).isoformat())
    (eml,) = list((folder / "sortie").rglob("*.eml"))
    body = parse(eml).get_body(("plain",)).get_content()
    assert body.startswith("Dear Mr Wright,") and "Kind regards," in body
    assert "Payment of the following overdue invoice has not reached us" in body
    assert "overlooked" not in body  # never « a simple oversight » under formal notice


def test_a_missing_english_template_falls_back_to_french(small_project):
    # A step of the user's own, with French templates only: an English client gets them
    # rather than nothing, with English formats.
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4))],
                           [client_row(langue="en")])
    set_config(folder, 'modele = "rappel"', 'modele = "rappel_maison"')
    (folder / "lettres").mkdir()
    (folder / "lettres" / "rappel_maison.sujet.txt").write_text("Petit rappel maison", "utf-8")
    (folder / "lettres" / "rappel_maison.texte.txt").write_text("{{ montant_demande|montant }}",
                                                                "utf-8")
    (folder / "lettres" / "rappel_maison.html").write_text("<p>x</p>", "utf-8")
    result = run(folder)
    assert result.exit_code == 0, result.output
    (eml,) = list((folder / "sortie").rglob("*.eml"))
    message = parse(eml)
    assert "rappel maison" in message["Subject"]
    assert "€1,000.00" in message.get_body(("plain",)).get_content()  # still English formats


def test_a_template_in_the_users_folder_overrides_the_shipped_one_alone(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4))])
    (folder / "lettres").mkdir()
    (folder / "lettres" / "rappel.sujet.txt").write_text("Notre facture {{ facture.numero }}",
                                                         "utf-8")
    result = run(folder)
    assert result.exit_code == 0, result.output
    (eml,) = list((folder / "sortie").rglob("*.eml"))
    message = parse(eml)
    assert message["Subject"] == "Notre facture F-1"  # the user's subject
    assert "Sauf erreur de notre part" in message.get_body(("plain",)).get_content()  # shipped


def test_a_folder_with_only_a_config_and_a_workbook_works(tmp_path):
    # An accounting firm's second company: no lettres/ folder, invoices in factures/.
    from relances.exemple import write_workbook
    from conftest import config_text
    (tmp_path / "config.toml").write_text(
        config_text().replace('\n[factures]\ndossier = "factures"',
                                                          "\n[factures]"), "utf-8")
    write_workbook(tmp_path / "relances.xlsx", [invoice_row(numero="F-1", echeance=TODAY - days(4))],
                   [client_row()])
    (tmp_path / "factures").mkdir()
    (tmp_path / "factures" / "F-1.pdf").write_bytes(b"%PDF-1.4 copie")
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    (eml,) = list((tmp_path / "sortie").rglob("*.eml"))
    assert [p.get_filename() for p in parse(eml).iter_attachments()] == ["F-1.pdf"]


def test_a_missing_invoice_copy_is_a_warning_not_a_failure(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4))])
    (folder / "factures").mkdir()
    result = run(folder)
    assert result.exit_code == 0, result.output
    assert "Avertissements" in result.output
    assert "copie de la facture F-1 non jointe" in result.output and "Factures!2" in result.output
    (eml,) = list((folder / "sortie").rglob("*.eml"))
    assert not list(parse(eml).iter_attachments())


def test_a_cell_cannot_attach_a_file_outside_the_invoices_folder(small_project, tmp_path):
    row = invoice_row(numero="F-1", echeance=TODAY - days(4))
    folder = small_project([row])
    (folder / "factures").mkdir()
    (folder / "secret.pdf").write_bytes(b"%PDF-1.4 secret")
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    sheet = book["Factures"]
    sheet.cell(1, 16, "Fichier facture")
    sheet.cell(2, 16, "../secret.pdf")
    book.save(folder / "relances.xlsx")
    result = run(folder)
    assert "« ../secret.pdf » un simple nom de fichier est attendu" in result.output
    (eml,) = list((folder / "sortie").rglob("*.eml"))
    assert not list(parse(eml).iter_attachments())


def test_the_invoice_file_column_names_the_copy_to_attach(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4))])
    (folder / "factures").mkdir()
    (folder / "factures" / "Facture n°1 - Alpha.pdf").write_bytes(b"%PDF-1.4 copie")
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Factures"].cell(1, 16, "Fichier facture")
    book["Factures"].cell(2, 16, "Facture n°1 - Alpha.pdf")
    book.save(folder / "relances.xlsx")
    run(folder)
    (eml,) = list((folder / "sortie").rglob("*.eml"))
    (part,) = list(parse(eml).iter_attachments())
    assert part.get_filename() == "Facture n°1 - Alpha.pdf"  # accented name survives (RFC 2231)
    assert part.get_content() == b"%PDF-1.4 copie"


def test_preview_writes_the_messages_and_letters_and_nothing_else(project, tmp_path):
    before = fingerprint(project / "relances.xlsx")
    target = tmp_path / "apercu"
    result = run(project, "--apercu", str(target))
    assert result.exit_code == 1, result.output  # Café du Commerce has no address
    assert "Aperçu" in result.output
    names = sorted(p.name for p in target.iterdir())
    assert len([n for n in names if n.endswith(".eml")]) == 5
    (letter,) = [n for n in names if n.endswith(".pdf") and "mise_en_demeure" in n]
    assert [n for n in names if n.endswith("-recouvrement.pdf")]  # the hand-off dossier too
    assert letter.endswith("-sci-les-tilleuls-mise_en_demeure.pdf")
    assert "mise en demeure" in text_of(target / letter)
    assert fingerprint(project / "relances.xlsx") == before
    assert not (project / "sortie").exists()
    assert not (project / "relances.journal.sqlite").exists()
    assert not (project / "sauvegardes").exists()


def test_the_logo_appears_at_the_top_of_the_letter(project):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\x1f\x3a\x68" * 40 for _ in range(20))  # 40 × 20 blue
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 20, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b""))
    (project / "lettres").mkdir()
    (project / "lettres" / "logo.png").write_bytes(png)
    set_config(project, '# logo = "lettres/logo.png"', 'logo = "lettres/logo.png"')
    run(project)
    (pdf,) = letters(project)
    images = PdfReader(pdf).pages[0].images
    assert len(images) == 1 and images[0].image.size == (40, 20)


def test_a_missing_logo_is_a_configuration_error(project):
    set_config(project, '# logo = "lettres/logo.png"', 'logo = "lettres/absent.png"')
    result = run(project)
    assert result.exit_code == 2 and "entreprise.logo" in result.output and "absent.png" in result.output
