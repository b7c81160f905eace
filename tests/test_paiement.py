"""Payment references and the EPC payment QR code: built by well-kept libraries, read back by a
real QR decoder, and always asking exactly the amount the message asks for."""

from __future__ import annotations

import email
import email.policy
import io
import json
from dataclasses import replace
from decimal import Decimal

import pytest
from PIL import Image
from stdnum import iso11649
from stdnum.be import ogm_vcs

from relances.config import Paiement, load_config
from relances.errors import ConfigError
from relances.policy import decide
from relances.references import reference
from relances.render import Renderer

from conftest import ENTREPRISE, TODAY, classeur, config, days, facture, fait

IBAN = "FR76 3000 1007 9412 3456 7890 185"


def decode(png: bytes) -> str:
    import zxingcpp
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return found.text


@pytest.mark.parametrize("numero", ["F-2026-027", "2026/031", "fac.2026-031", "X"])
def test_references_are_valid_and_stable(numero):
    rf = reference(numero, "rf")
    assert iso11649.is_valid(rf) and rf == reference(numero, "rf")
    ogm = reference(numero, "ogm")
    assert ogm.startswith("+++") and ogm.endswith("+++") and ogm_vcs.is_valid(ogm[3:-3])
    assert reference(numero, "numero") == numero


def test_the_reference_follows_the_country_unless_chosen():
    assert Paiement().mode("FR") == "rf" and Paiement().mode("BE") == "ogm"
    assert Paiement(reference="numero").mode("BE") == "numero"


def test_config_checks_the_iban_and_the_reference_kind(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[entreprise]\niban = "FR76 3000 1007 9412 3456 7890 186"\n', "utf-8")
    with pytest.raises(ConfigError, match="entreprise.iban : IBAN invalide"):
        load_config(path)
    path.write_text(f'[entreprise]\niban = "{IBAN}"\n[paiement]\nreference = "sepa"\n', "utf-8")
    with pytest.raises(ConfigError, match="paiement.reference"):
        load_config(path)
    path.write_text('[entreprise]\niban = "fr7630001007941234567890185"\n', "utf-8")
    assert load_config(path).entreprise.iban == IBAN  # written the usual way


def render_one(cfg, factures, history=()):
    book = classeur(factures)
    plan = decide(book, list(history), TODAY, cfg)
    (action,) = [a for a in plan.actions if a.is_message]
    return action, Renderer(cfg, book, TODAY, list(history)).render(action)


def test_the_qr_code_asks_exactly_what_the_message_asks():
    from relances.delivery import build_email
    from email.headerregistry import Address
    cfg = config(entreprise=replace(ENTREPRISE, iban=IBAN))
    action, rendu = render_one(cfg, [facture("F-2026-027", echeance=TODAY - days(4),
                                             montant="1234.56")])
    payload = decode(rendu.qr_png).split("\n")
    assert payload[:4] == ["BCD", "002", "2", "SCT"]
    assert payload[5:8] == ["Atelier Dupont SARL", IBAN.replace(" ", ""), "EUR1234.56"]
    assert payload[9] == "RF06F2026027" == reference("F-2026-027", "rf").replace(" ", "")
    assert action.montant_reclame == Decimal("1234.56")
    assert "en indiquant en référence RF06 F202 6027" in rendu.texte.replace("\u00a0", " ")
    # In the email, the code is an image inside the HTML part, not a loose attachment.
    message = build_email(rendu, Address("Atelier", "compta", "atelier-dupont.fr"),
                          __import__("datetime").datetime(2026, 11, 22, 8, 0))
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    html = parsed.get_body(("html",)).get_content()
    assert 'src="cid:qr-paiement@relances"' in html
    assert "Scannez pour payer avec votre application bancaire" in html
    images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<qr-paiement@relances>"
    assert decode(images[0].get_content()).split("\n")[7] == "EUR1234.56"


def test_with_a_credit_note_and_several_invoices_the_code_carries_the_net_amount_and_refs():
    cfg = config(entreprise=replace(ENTREPRISE, iban=IBAN))
    action, rendu = render_one(cfg, [facture("F-1", echeance=TODAY - days(4), montant="500"),
                                     facture("F-2", echeance=TODAY - days(4), montant="300"),
                                     facture("AV-1", echeance=TODAY - days(9), montant="-100")])
    payload = decode(rendu.qr_png).split("\n")
    assert Decimal(payload[7].removeprefix("EUR")) == action.montant_reclame == Decimal("700.00")
    assert payload[10] == f"{reference('F-1', 'rf')} {reference('F-2', 'rf')}"


def test_a_formal_notice_carries_the_code_with_its_penalties():
    from pypdf import PdfReader
    from relances.lettre import render_pdfs
    cfg = config(entreprise=replace(ENTREPRISE, iban=IBAN))
    history = [fait("F-1", "rappel", TODAY - days(40)), fait("F-1", "dernier_rappel", TODAY - days(20))]
    book = classeur([facture("F-1", echeance=TODAY - days(45))])
    (notice,) = [a for a in decide(book, history, TODAY, cfg).actions if a.canal == "courrier"]
    rendu = Renderer(cfg, book, TODAY, history).render(notice)
    assert "<svg" in json.loads(rendu.lettre)["donnees"]["qr"]  # the code, as data
    pdf = render_pdfs(cfg.lettres, [(rendu.lettre, "t")])[0]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Scannez pour payer" in text and "RF98 F1" in text
    assert notice.montant_reclame == Decimal("1054.98")


def test_no_code_without_an_iban_or_when_turned_off():
    _, rendu = render_one(config(), [facture(echeance=TODAY - days(4))])
    assert rendu.qr_png == b"" and "cid:" not in rendu.html
    cfg = config(entreprise=replace(ENTREPRISE, iban=IBAN), paiement=Paiement(qr=False))
    _, rendu = render_one(cfg, [facture(echeance=TODAY - days(4))])
    assert rendu.qr_png == b""


def test_belgium_uses_the_structured_communication():
    cfg = config(entreprise=replace(ENTREPRISE, iban="BE68 5390 0754 7034", pays="BE"))
    _, rendu = render_one(cfg, [facture("F-2026-027", echeance=TODAY - days(4))])
    assert "+++000/2026/02785+++" in rendu.texte
    assert decode(rendu.qr_png).split("\n")[10] == "+++000/2026/02785+++"


# ------------------------------------------------------------------ sheet Paiements


def payments_project(small_project, rows):
    import openpyxl
    from conftest import client_row, invoice_row
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(20), montant=Decimal("500")),
                            invoice_row(numero="F-2", echeance=TODAY - days(10), montant=Decimal("300")),
                            invoice_row(client="Beta", numero="F-3", echeance=TODAY - days(10))],
                           [client_row(), client_row("Beta", "b@beta.fr")])
    path = folder / "relances.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet("Paiements")
    sheet.append(("Date", "Montant", "Client", "Factures", "Libellé", "Source", "Référence"))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return folder


def plan_of(folder):
    import json
    from click.testing import CliRunner
    from relances.cli import relancer
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), "--date",
                                           TODAY.isoformat(), "--json", "--dry-run"])
    return json.loads(result.stdout)


def test_payments_add_to_paye_oldest_invoice_first(small_project):
    folder = payments_project(small_project, [
        (TODAY - days(3), 600, "Alpha", "F-1, F-2", "VIR ALPHA", "banque", None)])
    plan = plan_of(folder)
    # 600 €: F-1 (500) paid in full, 100 € on F-2: 200 € left to ask.
    (alpha,) = [a for a in plan["actions"] if a["client"] == "Alpha"]
    assert alpha["invoices"] == ["F-2"] and alpha["amount_due"] == 200.0


def test_a_payment_is_matched_by_its_reference(small_project):
    folder = payments_project(small_project, [
        (TODAY - days(3), 300, None, None, "VIR", "banque", reference("F-2", "rf"))])
    plan = plan_of(folder)
    (alpha,) = [a for a in plan["actions"] if a["client"] == "Alpha"]
    assert alpha["invoices"] == ["F-1"]


def test_a_payment_naming_only_its_client_pays_its_oldest_invoices(small_project):
    folder = payments_project(small_project, [
        (TODAY - days(3), 250, "Alpha", None, "VIR ALPHA", "banque", None),
        (TODAY - days(2), "quarante", "Beta", "F-3", None, None, None)])
    plan = plan_of(folder)
    # Alpha's 250 € go to F-1, its oldest invoice (the client account's allocation): Alpha is
    # chased for what is left. Beta's unreadable payment holds Beta.
    [action] = plan["actions"]
    assert action["client"] == "Alpha" and action["amount_due"] == 550.0
    messages = [e["message"] for e in plan["errors"] if e["sheet"] == "Paiements"]
    assert not any("paiement du 19/11/2026" in m for m in messages)
    assert any("quarante" in m and "Beta non relancé" in m for m in messages)


def test_a_payment_of_an_unknown_client_holds_nobody_wrongly_and_says_so(small_project):
    folder = payments_project(small_project, [
        (TODAY - days(3), 250, "Gamma", None, "VIR GAMMA", "banque", None)])
    plan = plan_of(folder)
    messages = [e["message"] for e in plan["errors"] if e["sheet"] == "Paiements"]
    assert any("paiement du 19/11/2026" in m and "non affecté" in m for m in messages)


def test_the_paiements_sheet_is_created_for_the_user_and_never_rewritten(small_project):
    import openpyxl
    from click.testing import CliRunner
    from relances.cli import relancer
    from conftest import invoice_row
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4))])
    CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), "--date",
                                  TODAY.isoformat()])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    assert [c.value for c in book["Paiements"][1]] == [
        "Date", "Montant", "Client", "Factures", "Libellé", "Source", "Référence"]
    book["Paiements"].append((TODAY, 1000, "Alpha", "F-1", "chèque", "à la main", None))
    book.save(folder / "relances.xlsx")
    CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), "--date",
                                  (TODAY + days(1)).isoformat()])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    assert [c.value for c in book["Paiements"][2]][1:4] == [1000, "Alpha", "F-1"]
    headers = [c.value for c in book["Factures"][1]]
    assert book["Factures"].cell(2, headers.index("Prochaine action") + 1).value == \
        "aucune (payée)"


def test_a_payment_whose_invoice_number_two_clients_share_is_never_given_to_either(small_project):
    import openpyxl
    from conftest import client_row, invoice_row
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10)),
                            invoice_row(client="Beta", numero="F-1", echeance=TODAY - days(10))],
                           [client_row(), client_row("Beta", "b@beta.fr")])
    path = folder / "relances.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet("Paiements")
    sheet.append(("Date", "Montant", "Client", "Factures", "Libellé", "Source", "Référence"))
    sheet.append((TODAY - days(2), 1000, None, "F-1", "VIR", "banque", None))
    book.save(path)
    plan = plan_of(folder)
    # Whose F-1 was paid? Neither is chased (a number twice is never chased), and the
    # payment is not given to one of them.
    assert plan["actions"] == []
    (error,) = [e for e in plan["errors"] if e["sheet"] == "Paiements"]
    assert "non affecté" in error["message"]


def test_a_payment_reference_two_invoices_share_is_never_given_to_either(small_project):
    folder = payments_project(small_project, [
        (TODAY - days(3), 300, None, None, "VIR", "banque", reference("F-2", "ogm"))])
    import openpyxl
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Factures"]["B2"] = "FAC-2"  # F-1 renamed: its structured communication is F-2's
    book.save(folder / "relances.xlsx")
    plan = plan_of(folder)
    assert [a for a in plan["actions"] if a["client"] == "Alpha"] == []
    assert any("plusieurs" in e["message"] for e in plan["errors"] if e["sheet"] == "Paiements")


def test_the_qr_png_is_pixel_for_pixel_segnos_own():
    """The code's PNG is drawn row by row (ten times faster than segno's writer): the same
    image, pixel for pixel, at the same scale and border."""
    import segno
    from relances.qr_paiement import _png
    code = segno.make_qr("BCD\n002\n2\nSCT\n\nAtelier Dupont SARL\nFR7630001007941234567890185"
                         "\nEUR1234.56", error="m", mask=2)
    ours = Image.open(io.BytesIO(_png(code.matrix))).convert("L")
    theirs = io.BytesIO()
    code.save(theirs, kind="png", scale=4, border=2)
    theirs = Image.open(theirs).convert("L")
    assert ours.size == theirs.size
    assert ours.tobytes() == theirs.tobytes()
