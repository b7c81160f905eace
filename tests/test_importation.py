"""E-invoices imported into the workbook: through scripts/importer.py on the LibreOffice-made
fixture, with real Factur-X PDFs (made by the factur-x library), CII and UBL files; the rows
read back with openpyxl, every other part byte for byte, the new invoice chased with its PDF."""

from __future__ import annotations

import datetime
import email
import email.policy
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from relances.cli import relancer
from relances.cli.importer import importer
from relances.config import load_config
from relances.efacture.modeles import Partie
from relances.importation import decide, echeance_des_conditions, numero_entreprise
from relances.records import Classeur, Client, Facture, normalise
from relances.xlsx.package import Package

from conftest import config_text, libreoffice_resave, needs_libreoffice
from efactures import VENDEUR, cii_xml, facturx_pdf, ubl_xml
from test_fidelite import parts, user_project

D = datetime.date
ALPHA = Partie(nom="ALPHA SARL", adresse="1 rue A\n69000 Lyon", email="compta@alpha.fr",
               pays="FR")
FOURNISSEUR = Partie(nom="Papeterie Fournier SA", siren="542065479", tva="FR23542065479",
                     adresse="8 rue du Papier\n75011 Paris", pays="FR")


def run_importer(workbook: Path, *args: str):
    result = CliRunner().invoke(importer, ["--config", str(workbook.parent / "config.toml"),
                                           "--date", "2026-11-22", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def run_relancer(workbook: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(workbook.parent / "config.toml"),
                                           "--date", "2026-11-22", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def invoices(folder: Path) -> Path:
    """Two invoices (a new client as a Factur-X PDF, a known one as CII) and a credit note
    (UBL) on the known client's invoice, as the user's invoicing software leaves them."""
    folder.mkdir()
    facturx_pdf(cii_xml("F-2026-101", date=D(2026, 10, 1), echeance=D(2026, 10, 31),
                        lignes_tva=(("20.00", "1000.00"),)), folder / "F-2026-101.pdf")
    (folder / "F-2026-102.xml").write_bytes(cii_xml(
        "F-2026-102", date=D(2026, 11, 2), acheteur=ALPHA, conditions="30 jours fin de mois",
        lignes_tva=(("20.00", "400.00"), ("5.50", "100.00"))))
    (folder / "AV-2026-001.xml").write_bytes(ubl_xml(
        "AV-2026-001", date=D(2026, 11, 5), acheteur=ALPHA, avoir=True,
        facture_liee="F-ALPHA", lignes_tva=(("20.00", "100.00"),)))
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")  # not an e-invoice
    return folder


def rows(workbook: Path, sheet: str) -> list[list]:
    return [[c.value for c in row] for row in openpyxl.load_workbook(workbook)[sheet].iter_rows()
            if any(c.value is not None for c in row)]


def by_header(table: list[list], row: list) -> dict:
    return {h: v for h, v in zip(table[0], row) if h}


def test_invoices_are_appended_and_everything_else_is_kept(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    before = parts(workbook)
    package = Package.open(workbook)
    factures_part = package.sheet("Factures", normalise).part
    clients_part = package.sheet("Clients", normalise).part
    result = run_importer(workbook, str(invoices(tmp_path / "export")))
    assert result.exit_code == 0, result.output
    assert "Factures ajoutées : 3" in result.output
    assert "Clients ajoutés : 1 (Boulangerie Martin SAS)" in result.output
    assert "notes.pdf" in result.output and "ignoré" in result.output
    # The fixture ends with a totals row: the user is told the new rows are below its sums.
    total = next(i for i, r in enumerate(rows(FIXTURE, "Factures"), start=1)
                 if r[0] == "Total")
    assert (f"Factures ligne {total} est une ligne de total ; les 3 factures importées "
            f"sont en dessous (lignes {total + 1} à {total + 3}), hors de ses sommes"
            in " ".join(result.output.split()))

    factures = rows(workbook, "Factures")
    added = {r[1]: by_header(factures, r) for r in factures[1:] if str(r[1]).startswith(
        ("F-2026", "AV-"))}
    new = added["F-2026-101"]
    assert (new["Client"], new["Montant TTC"], new["Fichier facture"]) == (
        "Boulangerie Martin SAS", 1200, "F-2026-101.pdf")
    assert (new["Date facture"], new["Échéance"]) == (datetime.datetime(2026, 10, 1),
                                                      datetime.datetime(2026, 10, 31))
    known = added["F-2026-102"]
    # The client's name as typed in Clients, the due date from the payment terms.
    assert known["Client"] == "Alpha SARL" and known["Montant TTC"] == 585.5
    assert known["Échéance"] == datetime.datetime(2026, 12, 31)
    assert not known.get("Fichier facture")  # a CII XML has no PDF to attach
    avoir = added["AV-2026-001"]
    assert (avoir["Montant TTC"], avoir["Facture liée"], avoir["Client"]) == (
        -120, "F-ALPHA", "Alpha SARL")
    # The PDF is where the run looks for invoice copies.
    assert (workbook.parent / "factures" / "F-2026-101.pdf").read_bytes() == \
        (tmp_path / "export" / "F-2026-101.pdf").read_bytes()

    clients = rows(workbook, "Clients")
    assert len(clients) == 6  # Alpha (known) is not added again
    buyer = by_header(clients, clients[-1])
    assert buyer["Client"] == "Boulangerie Martin SAS"
    assert buyer["Email"] == "compta@boulangerie-martin.fr"
    assert buyer["SIREN"] == "552 100 554" and buyer["N° TVA"] == "FR61552100554"
    assert buyer["Adresse"] == "3 place du Marché\n38000 Grenoble"
    assert buyer["Type"] == "professionnel"
    # The known clients' rows are as they were (the new N° TVA column is empty for them).
    original = rows(FIXTURE, "Clients")
    assert [r[:len(original[0])] for r in clients[:5]] == original[:5]
    assert all(r[len(original[0]):] == [None] * (len(r) - len(original[0]))
               for r in clients[1:5])

    after = parts(workbook)
    changed = {factures_part, clients_part, "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
               "[Content_Types].xml", "xl/styles.xml", "docProps/custom.xml"}
    for name, data in before.items():
        if name not in changed:
            assert after[name] == data, f"{name} a changé"

    # The journal knows them, with their VAT per rate (for e-reporting).
    with sqlite3.connect(workbook.with_name("libreoffice.journal.sqlite")) as db:
        recorded = dict(db.execute("SELECT numero, tva FROM factures_importees"))
    assert json.loads(recorded["F-2026-102"]) == [
        {"taux": "20.00", "base": "400.00", "montant": "80.00"},
        {"taux": "5.50", "base": "100.00", "montant": "5.50"}]

    # The daily run chases the new overdue invoice with its PDF attached.
    result = run_relancer(workbook)
    assert result.exit_code in (0, 1), result.output
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted((workbook.parent / "sortie").glob("*/emails/*.eml"))]
    (message,) = [m for m in messages if "F-2026-101" in m.get_body(("plain",)).get_content()]
    assert message["To"].addresses[0].addr_spec == "compta@boulangerie-martin.fr"
    attachments = {part.get_filename(): part.get_content()
                   for part in message.iter_attachments()}
    assert attachments["F-2026-101.pdf"] == (tmp_path / "export" / "F-2026-101.pdf").read_bytes()

    # Importing again adds nothing, and leaves the workbook as it was.
    before_again = workbook.read_bytes()
    result = run_importer(workbook, str(tmp_path / "export"))
    assert result.exit_code == 0, result.output
    assert "Factures ajoutées : 0" in result.output
    assert result.output.count("déjà importée") == 3
    assert workbook.read_bytes() == before_again


FIXTURE = Path(__file__).resolve().parent / "fixtures" / "libreoffice.xlsx"


def test_conflicts_suppliers_and_missing_due_dates_are_reported(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    folder = tmp_path / "export"
    folder.mkdir()
    alpha = Partie(nom="Alpha SARL")
    # F-ALPHA is in the workbook with 1 200,00 €.
    (folder / "F-ALPHA.xml").write_bytes(cii_xml("F-ALPHA", date=D(2026, 10, 13),
                                                 acheteur=alpha, echeance=D(2026, 11, 12),
                                                 lignes_tva=(("20.00", "1041.67"),)))
    # F-GAMMA with the same figures: already there, recorded as imported.
    (folder / "F-GAMMA.xml").write_bytes(ubl_xml("F-GAMMA", date=D(2026, 11, 2),
                                                 acheteur=Partie(nom="Gamma"),
                                                 echeance=D(2026, 12, 2),
                                                 lignes_tva=(("0.00", "450.00"),)))
    (folder / "achat.xml").write_bytes(cii_xml("FOUR-77", vendeur=FOURNISSEUR,
                                               acheteur=VENDEUR, echeance=D(2026, 12, 1)))
    (folder / "sans-echeance.xml").write_bytes(cii_xml("F-2026-130", acheteur=alpha,
                                                       conditions="selon accord"))
    facturx_pdf(cii_xml("F-2026-131", echeance=D(2026, 12, 1)), folder / "F-2026-131.pdf")
    (folder / "casse.xml").write_bytes(cii_xml("F-2026-132", total_ttc="999.00",
                                               echeance=D(2026, 12, 1)))
    result = run_importer(workbook, str(folder))
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert ("F-ALPHA existe déjà dans Factures ligne 2 avec 1 200,00 € ; la facture "
            "électronique dit 1 250,00 € : non importée") in text.replace("\u202f", " ").replace(
                "\u00a0", " ")
    assert "F-GAMMA : déjà dans le classeur (Factures ligne 4)" in text
    assert "FOUR-77 : facture reçue d’un fournisseur, pas émise par vous" in text
    assert "F-2026-130 : ni date d’échéance ni conditions de paiement lisibles (« selon " \
           "accord »)" in text
    assert "casse.xml : " in text  # refused by the reader, with its message
    assert "F-2026-131 ajoutée" in text  # one bad file never stops the others
    numeros = [r[1] for r in rows(workbook, "Factures")]
    assert numeros.count("F-ALPHA") == 1 and numeros.count("F-GAMMA") == 1
    assert "F-2026-131" in numeros and "FOUR-77" not in numeros and "F-2026-130" not in numeros
    with sqlite3.connect(workbook.with_name("libreoffice.journal.sqlite")) as db:
        assert {n for (n,) in db.execute("SELECT numero FROM factures_importees")} == {
            "F-GAMMA", "F-2026-131"}


def test_dry_run_changes_nothing_and_json_says_what_would_be_done(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    folder = invoices(tmp_path / "export")
    run_importer(workbook, str(folder / "notes.pdf"))  # creates the journal
    journal = workbook.with_name("libreoffice.journal.sqlite")
    before, journal_before = workbook.read_bytes(), journal.read_bytes()
    result = run_importer(workbook, str(folder), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert {a["number"] for a in plan["invoices_added"]} == {"F-2026-101", "F-2026-102",
                                                             "AV-2026-001"}
    assert plan["clients_added"] == ["Boulangerie Martin SAS"]
    assert plan["skipped"] == [] and plan["dry_run"] is True
    assert [Path(f).name for f in plan["ignored"]] == ["notes.pdf"]
    assert {Path(f["file"]).name for f in plan["files"]} >= {"F-2026-101.pdf", "notes.pdf"}
    assert workbook.read_bytes() == before and journal.read_bytes() == journal_before
    assert not (workbook.parent / "factures" / "F-2026-101.pdf").exists()
    # A workbook open in LibreOffice: nothing can be done.
    (workbook.parent / ".~lock.libreoffice.xlsx#").write_text("x")
    result = run_importer(workbook, str(folder))
    assert result.exit_code == 2 and "ouvert dans Excel ou LibreOffice" in result.output
    assert workbook.read_bytes() == before and journal.read_bytes() == journal_before


def test_relancer_imports_first_and_import_automatique_reads_new_files(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    folder = invoices(tmp_path / "export")
    result = run_relancer(workbook, "--importer", str(folder / "F-2026-101.pdf"))
    assert result.exit_code in (0, 1), result.output
    assert "F-2026-101 ajoutée" in result.output
    assert "Boulangerie Martin SAS" in result.output.split("Import des factures")[1]
    eml = list((workbook.parent / "sortie").glob("*/emails/*.eml"))
    assert any(b"F-2026-101" in p.read_bytes() for p in eml)

    config = workbook.parent / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "# import_automatique = true", "import_automatique = true"), encoding="utf-8")
    assert load_config(config).factures_import_automatique
    (folder / "F-2026-102.xml").rename(workbook.parent / "factures" / "F-2026-102.xml")
    result = run_relancer(workbook, "--dry-run")
    assert "F-2026-102 à ajouter" in result.output  # simulated: said, not written
    assert "F-2026-102" not in [r[1] for r in rows(workbook, "Factures")]
    result = run_relancer(workbook)
    assert "F-2026-102 ajoutée" in result.output
    assert "F-2026-101 : déjà importée" not in result.output  # its copy is known as read
    assert "F-2026-102" in [r[1] for r in rows(workbook, "Factures")]
    # Read once: the next run does not open it again, nor the PDF copied there by the import.
    assert (workbook.parent / "factures" / "F-2026-101.pdf").exists()
    result = run_relancer(workbook)
    assert "Import des factures électroniques" not in result.output


# ------------------------------------------------------------------ the decision alone


def test_due_dates_from_payment_terms():
    day = D(2026, 10, 10)
    assert echeance_des_conditions("30 jours", day) == D(2026, 11, 9)
    assert echeance_des_conditions("Paiement à 45 jours fin de mois", day) == D(2026, 11, 30)
    assert echeance_des_conditions("À réception de facture", day) == day
    assert echeance_des_conditions("60 jours date de facture", day) == D(2026, 12, 9)
    assert echeance_des_conditions("Net 30", day) == D(2026, 11, 9)
    assert echeance_des_conditions("selon accord", day) is None
    assert echeance_des_conditions("", day) is None


def test_company_numbers_from_siret_bce_and_vat():
    assert numero_entreprise("732 829 320 00074") == "732829320"
    assert numero_entreprise("FR44732829320") == "732829320"
    assert numero_entreprise("BE0403.019.261") == "0403019261"
    assert numero_entreprise("0403.019.261") == "0403019261"
    assert numero_entreprise("") == ""


def test_a_known_client_is_found_by_company_number_and_never_changed(tmp_path):
    from efactures import ACHETEUR_BE

    from relances.efacture.modeles import FactureElectronique

    (tmp_path / "config.toml").write_text(config_text(), encoding="utf-8")
    config = load_config(tmp_path / "config.toml")
    known = Client(nom="Brasserie Dupuis", emails=("compta@dupuis.be",), siren="0403.019.261",
                   row=7)
    classeur = Classeur((Facture("F-1", "Brasserie Dupuis", D(2026, 10, 1), Decimal("10")),),
                        {"brasseriedupuis": known})
    facture = FactureElectronique(
        fichier=tmp_path / "f.xml", format="ubl", profil="Peppol BIS 3.0", avoir=False,
        numero="F-2026-140", date=D(2026, 11, 1), vendeur=VENDEUR, acheteur=ACHETEUR_BE,
        montant_ttc=Decimal("121.00"), a_payer=Decimal("121.00"), echeance=D(2026, 12, 1))
    decision = decide([facture], classeur, set(), config)
    assert decision.clients == []  # known by its BCE number, under another name
    assert decision.factures[0]["client"] == "Brasserie Dupuis"
    (remarque,) = decision.remarques
    assert "factures@dupuis.be" in remarque and "compta@dupuis.be" in remarque
    assert "rien n’a été changé" in remarque
    # Same buyer name as a client with another company number: not taken for him.
    other = Client(nom="Brasserie Dupuis SRL", siren="842 156 333", row=3)
    decision = decide([facture], Classeur((), {"brasseriedupuissrl": other}), set(), config)
    assert decision.factures == [] and "autre numéro d’entreprise" in decision.ecartees[0].motif


@needs_libreoffice
def test_libreoffice_reads_the_imported_invoices(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    result = run_importer(workbook, str(invoices(tmp_path / "export")))
    assert result.exit_code == 0, result.output
    done, resaved = libreoffice_resave(workbook, tmp_path / "lo")
    assert done.returncode == 0, done.stderr
    factures = rows(resaved, "Factures")
    added = {r[1]: by_header(factures, r) for r in factures if r[1] in ("F-2026-101",
                                                                       "AV-2026-001")}
    assert added["F-2026-101"]["Montant TTC"] == 1200
    assert added["AV-2026-001"]["Facture liée"] == "F-ALPHA"
    assert rows(resaved, "Clients")[-1][0] == "Boulangerie Martin SAS"


def test_a_status_export_given_with_the_invoices_is_applied_after_them(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    folder = invoices(tmp_path / "export")
    statuts = tmp_path / "statuts.csv"
    statuts.write_text("N° facture;Code statut;Date du statut;Motif\n"
                       "F-2026-101;210;20/11/2026;Prix non conforme\n", encoding="utf-8")
    result = run_importer(workbook, str(folder), str(statuts), "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert "F-2026-101" in {a["number"] for a in plan["invoices_added"]}
    # The status is about the invoice just added: it is known, and applied.
    assert plan["statuses"] == {"read": 1, "applied": 1, "unknown_invoices": [],
                                "problems": []}
    factures = rows(workbook, "Factures")
    (row,) = [by_header(factures, r) for r in factures if r[1] == "F-2026-101"]
    assert "refusée par le client" in row["Prochaine action"]


def test_a_seller_without_company_number_is_ours_only_by_name(tmp_path):
    from relances.importation import nous_sommes

    (tmp_path / "config.toml").write_text(config_text(), encoding="utf-8")
    config = load_config(tmp_path / "config.toml")
    assert nous_sommes(Partie(nom="ATELIER DURAND SARL"), config) is True
    assert nous_sommes(Partie(nom="Autre SARL"), config) is None
    assert nous_sommes(FOURNISSEUR, config) is False
    assert nous_sommes(VENDEUR, config) is True
