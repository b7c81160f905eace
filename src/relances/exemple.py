"""The example workbook: `relances.xlsx.example`, and large generated ones for benchmarks.

`python -m relances.exemple exemple/relances.xlsx.example` rebuilds the shipped example. Its dates are
set around 22 November 2026 (`REFERENCE`); `--aujourdhui` shifts every date so that the same
cases happen on another day. Rows cover every rule of SPEC §5.
"""

from __future__ import annotations

import datetime
import random
import sys
from decimal import Decimal
from pathlib import Path

REFERENCE = datetime.date(2026, 11, 22)

CLIENTS_HEADERS = ("Client", "Contact", "Email", "Téléphone", "Adresse", "Langue", "Type",
                   "Profil", "Pause jusqu’au", "Civilité", "SIREN", "Forme", "Pays")
FACTURES_HEADERS = ("Client", "N° facture", "Date facture", "Échéance", "Montant TTC", "Payé",
                    "Reste dû", "Jours de retard", "Statut", "Étape", "Relances envoyées",
                    "Dernière relance", "Prochaine action", "Date prochaine action",
                    "Promesse de paiement", "Notes")
# Clients' civility, company number and legal form, by name (the columns after Pause jusqu'au).
IDENTITES = {
    "Boulangerie Martin": ("Monsieur", "842 156 333", "SARL"),
    "Garage Leroy": ("Madame", "", ""),
    "Menuiserie Petit": ("Monsieur", "", "EURL"),
    "SCI Les Tilleuls": ("Madame", "512 348 764", "SCI"),
    "Transports Moreau": ("Monsieur", "908 172 638", "SAS"),
    "Café du Commerce": ("Madame", "", ""),
    "Imprimerie Blanc": ("Madame", "", ""),
    "Cabinet Roux": ("Madame", "734 501 281", "SELARL"),
    "Julie Rousseau": ("Madame", "", ""),
    "Harbour Trading Ltd": ("Monsieur", "", "Ltd"),
}

# Client, contact, email, phone, address, language, type, profile, paused until (days from ref).
CLIENTS = [
    ("Boulangerie Martin", "Paul Martin", "compta@boulangerie-martin.fr", "04 78 12 34 56",
     "3 place Bellecour\n69002 Lyon", "fr", "professionnel", "", None),
    ("Garage Leroy", "Sophie Leroy", "s.leroy@garage-leroy.fr; compta@garage-leroy.fr",
     "04 78 98 76 54", "45 avenue Jean Jaurès\n69007 Lyon", "fr", "professionnel",
     "", None),
    ("Menuiserie Petit", "Luc Petit", "luc@menuiserie-petit.fr", "06 12 34 56 78",
     "8 chemin des Saules\n69100 Villeurbanne", "fr", "professionnel", "mauvais payeur", None),
    ("SCI Les Tilleuls", "Anne Girard", "gestion@sci-tilleuls.fr", "04 72 33 44 55",
     "17 rue Garibaldi\n69006 Lyon", "fr", "professionnel", "", None),
    ("Transports Moreau", "Karim Moreau", "k.moreau@transports-moreau.fr", "04 74 55 66 77",
     "ZI des Platières\n69440 Mornant", "fr", "professionnel", "", None),
    ("Café du Commerce", "Nadia Benali", "", "04 78 00 11 22",
     "1 rue de la République\n69001 Lyon", "fr", "professionnel", "", None),
    ("Dupuis Conseil", "Éric Dupuis", "eric.dupuis@dupuis-conseil.fr", "06 98 76 54 32",
     "22 quai Saint-Antoine\n69002 Lyon", "fr", "professionnel", "", None),
    ("Imprimerie Blanc", "Claire Blanc", "claire@imprimerie-blanc.fr", "04 78 44 33 22",
     "5 rue Mercière\n69002 Lyon", "fr", "professionnel", "", 8),
    ("Julie Rousseau", "Julie Rousseau", "julie.rousseau@exemple.fr", "06 11 22 33 44",
     "9 allée des Pins\n69380 Lozanne", "fr", "particulier", "", None),
    ("Cabinet Roux", "Hélène Roux", "h.roux@cabinet-roux.fr", "04 72 11 22 33",
     "9 rue Sala\n69002 Lyon", "fr", "professionnel", "stratégique", None),
    ("Harbour Trading Ltd", "James Wright", "accounts@harbour-trading.co.uk", "+44 20 7946 0000",
     "14 Dock Street\nLondon E1 8JN\nRoyaume-Uni", "en", "professionnel", "", None),
]

# Client, number, invoiced (days from ref), due (days from ref), amount, paid, status,
# step already done by hand (name, days from ref), promised date (days from ref), note.
FACTURES = [
    ("Boulangerie Martin", "F-2026-031", -34, -4, "1180.00", None, "", None, None,
     "Échue depuis 4 jours : premier rappel"),
    ("Boulangerie Martin", "F-2026-044", -33, -3, "354.60", None, "", None, None,
     "Échue depuis 3 jours : groupée avec F-2026-031"),
    ("Garage Leroy", "F-2026-012", -47, -17, "4800.00", None, "", ("rappel", -14), None,
     "Rappel fait : appel à passer"),
    ("Garage Leroy", "F-2026-019", -82, -52, "2150.00", None, "Litige", None, None,
     "Conteste la livraison du 02/09 : ne pas relancer"),
    ("Menuiserie Petit", "F-2026-007", -55, -25, "1920.00", None, "", ("appel", -12), None,
     "A dit au téléphone attendre un virement de son client"),
    ("Menuiserie Petit", "F-2026-015", -40, -10, "640.00", "640.00", "Payée", None, -12,
     "Promesse tenue : payée le 10/11"),
    ("SCI Les Tilleuls", "F-2026-003", -73, -43, "3600.00", "1000.00", "",
     ("dernier_rappel", -17), None, "Acompte de 1 000 € reçu le 20/10"),
    ("Transports Moreau", "F-2026-001", -98, -68, "7250.00", None, "",
     ("mise_en_demeure", -30), None, "Mise en demeure envoyée en recommandé"),
    ("Transports Moreau", "F-2026-038", -36, -6, "980.00", None, "Pause", None, None,
     "Échéancier accordé : 3 × 326,67 €"),
    ("Café du Commerce", "F-2026-040", -37, -7, "265.00", None, "", None, None,
     "Pas d’adresse e-mail : à compléter dans Clients"),
    ("Dupuis Conseil", "F-2026-036", -53, -23, "1560.00", None, "", ("appel", -13), -2,
     "Promesse de virement pour le 20/11 (Éric Dupuis, au téléphone le 09/11)"),
    ("Dupuis Conseil", "F-2026-045", -25, 5, "720.00", None, "", None, None,
     "Pas encore échue"),
    ("Imprimerie Blanc", "F-2026-029", -42, -12, "890.00", None, "", None, None,
     "Client en pause : fermeture annuelle"),
    ("Julie Rousseau", "F-2026-027", -35, -5, "900.00", "300.00", "", None, None,
     "Particulier, payé en partie"),
    ("Julie Rousseau", "F-2026-050", -2, 28, "450.00", None, "", None, None,
     "Pas encore échue"),
    ("Cabinet Roux", "F-2026-046", -34, -4, "3200.00", None, "", None, None,
     "Client stratégique : un appel de courtoisie avant tout écrit"),
    ("Harbour Trading Ltd", "F-2026-033", -36, -6, "2400.00", None, "", None, None,
     "Client anglais : rappel en anglais"),
    ("Julie Rousseau", "AV-2026-002", -20, -20, "-120.00", None, "", None, None,
     "Avoir : geste commercial"),
]


def build_example(path: Path, today: datetime.date = REFERENCE) -> Path:
    """Write the example workbook, its dates placed relative to `today`."""
    rows = []
    for client, numero, issued, due, amount, paid, status, step, promise, note in FACTURES:
        rows.append(dict(
            client=client, numero=numero,
            date_facture=today + datetime.timedelta(days=issued),
            echeance=today + datetime.timedelta(days=due),
            montant=Decimal(amount), paye=Decimal(paid) if paid else None, statut=status,
            etape=(f"{step[0]} ({(today + datetime.timedelta(days=step[1])):%d/%m/%Y})"
                   if step else None),
            promesse=today + datetime.timedelta(days=promise) if promise is not None else None,
            notes=note,
        ))
    clients = [(*c[:8], today + datetime.timedelta(days=c[8]) if c[8] is not None else None,
                *IDENTITES.get(c[0], ("", "", "")))
               for c in CLIENTS]
    return write_workbook(path, rows, clients)


def build_large(path: Path, count: int, today: datetime.date = REFERENCE,
                seed: int = 2026) -> Path:
    """A workbook of `count` invoices over count/5 clients, due dates spread over 120 days."""
    rng = random.Random(seed)
    n_clients = max(count // 5, 1)
    clients = [(f"Client {i:05d}", f"Contact {i}", f"compta{i}@client{i}.fr",
                "04 00 00 00 00", f"{i} rue du Test\n69000 Lyon", "fr", "professionnel", "", None)
               for i in range(n_clients)]
    rows = []
    for i in range(count):
        due = today - datetime.timedelta(days=rng.randint(-30, 90))
        amount = Decimal(rng.randint(5000, 900000)) / 100
        paid = amount if rng.random() < 0.2 else None
        rows.append(dict(
            client=f"Client {rng.randrange(n_clients):05d}", numero=f"F-{i:06d}",
            date_facture=due - datetime.timedelta(days=30), echeance=due, montant=amount,
            paye=paid, statut="Payée" if paid else "", etape=None, promesse=None, notes=None,
        ))
    return write_workbook(path, rows, clients)


def write_workbook(path: Path, rows: list[dict], clients: list[tuple]) -> Path:
    """A workbook shaped as SPEC §3 says, styled the way a careful user would."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="305496")
    euro = '#,##0.00\\ "€";[Red]\\-#,##0.00\\ "€"'
    date = "DD/MM/YYYY"

    book = Workbook()
    sheet = book.active
    sheet.title = "Factures"
    sheet.append(FACTURES_HEADERS)
    for index, row in enumerate(rows, start=2):
        sheet.append((row["client"], row["numero"], row["date_facture"], row["echeance"],
                      row["montant"], row["paye"], f"=E{index}-N(F{index})", None,
                      row["statut"] or None, row["etape"], None, None, None, None,
                      row["promesse"], row["notes"]))
        for column in "CDLNO":
            sheet[f"{column}{index}"].number_format = date
        for column in "EFG":
            sheet[f"{column}{index}"].number_format = euro
    last = len(rows) + 1
    total = last + 1
    sheet.cell(total, 1, "Total").font = Font(bold=True)
    for column in "EFG":
        cell = sheet[f"{column}{total}"]
        cell.value = f"=SUM({column}2:{column}{last})"
        cell.number_format, cell.font = euro, Font(bold=True)
    for cell in sheet[1]:
        cell.font, cell.fill = header_font, header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = (22, 13, 12, 12, 13, 12, 12, 10, 12, 26, 10, 12, 34, 15, 14, 48)
    for cell, width in zip(sheet[1], widths):
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:P{last}"
    statut = DataValidation(type="list", formula1='"Payée,Litige,Pause,Contentieux"',
                            allow_blank=True, showErrorMessage=True,
                            errorTitle="Statut", error="Choisissez un statut dans la liste.")
    statut.add(f"I2:I{max(last, 2) + 500}")
    sheet.add_data_validation(statut)
    sheet.conditional_formatting.add(
        f"H2:H{last}", CellIsRule(operator="greaterThan", formula=["30"],
                                  fill=PatternFill("solid", fgColor="F8CBAD")))

    other = book.create_sheet("Clients")
    other.append(CLIENTS_HEADERS)
    for client in clients:
        other.append(tuple(client) + (None,) * (len(CLIENTS_HEADERS) - len(client)))
        other.cell(other.max_row, 9).number_format = date
        other.cell(other.max_row, 5).alignment = Alignment(wrap_text=True)
    for cell in other[1]:
        cell.font, cell.fill = header_font, header_fill
    for cell, width in zip(other[1], (22, 18, 40, 16, 32, 8, 14, 16, 14, 11, 14, 8)):
        other.column_dimensions[cell.column_letter].width = width
    other.freeze_panes = "A2"
    langue = DataValidation(type="list", formula1='"fr,en"', allow_blank=True)
    langue.add("F2:F500")
    other.add_data_validation(langue)

    book.defined_names["TotalReste"] = _defined_name(f"Factures!$G${total}")
    book.save(path)
    return path


def _defined_name(reference: str):
    from openpyxl.workbook.defined_name import DefinedName

    return DefinedName("TotalReste", attr_text=reference)


def write_invoices(dossier: Path, today: datetime.date = REFERENCE) -> list[Path]:
    """One small PDF per example invoice, named after its number, as an accounting tool would
    (laid out by Typst, the letters' fonts)."""
    import json

    import typst

    from . import formats
    from .emplacements import PACKAGE_LETTRES

    dossier.mkdir(parents=True, exist_ok=True)
    compiler = typst.Compiler(font_paths=[str(PACKAGE_LETTRES / "polices")],
                              ignore_system_fonts=True)
    written = []
    addresses = {c[0]: c[4] for c in CLIENTS}
    for client, numero, issued, due, amount, *_ in FACTURES:
        if Decimal(amount) <= 0:
            continue
        data = dict(
            numero=numero, client=client, adresse=addresses[client].splitlines(),
            date=formats.date_courte(today + datetime.timedelta(days=issued)),
            echeance=formats.date_courte(today + datetime.timedelta(days=due)),
            ht=formats.montant(Decimal(amount) / Decimal("1.2")),
            tva=formats.montant(Decimal(amount) - Decimal(amount) / Decimal("1.2")),
            ttc=formats.montant(Decimal(amount)))
        path = dossier / f"{numero}.pdf"
        path.write_bytes(compiler.compile(input=INVOICE_TYP.encode("utf-8"),
                                          sys_inputs={"donnees": json.dumps(data)}))
        written.append(path)
    return written


INVOICE_TYP = r"""#let d = json(bytes(sys.inputs.donnees))
#set page(paper: "a4", margin: 20mm)
#set text(font: "Lato", size: 10pt, lang: "fr")
*Atelier Dupont SARL* \ 12 rue des Lilas \ 69003 Lyon \ SIRET 123 456 782 00002
#pad(left: 95mm)[*#d.client* #for l in d.adresse [\ #l]]
#text(size: 18pt, fill: rgb("#305496"), weight: "bold")[Facture #d.numero]

Date~: #d.date — Échéance~: #d.echeance
#v(6mm)
#table(columns: (1fr, auto), stroke: (bottom: 0.5pt + rgb("#cccccc")), inset: 2mm,
  align: (left, right), [*Désignation*], [*Montant*],
  [Travaux de menuiserie et fournitures], d.ht, [TVA 20\u{202f}%], d.tva,
  [*Total TTC*], strong(d.ttc))
#v(6mm)
#text(size: 8pt)[Pénalités de retard~: 12,15\u{202f}% l’an~; indemnité forfaitaire pour frais de
recouvrement~: 40~€ (art. L441-10 du Code de commerce).]
"""


def main(argv: list[str]) -> int:
    """`python -m relances.exemple FICHIER [--aujourdhui AAAA-MM-JJ] [--factures DOSSIER]`."""
    if not argv or argv[0] in ("-h", "--help"):
        print(main.__doc__)
        return 0
    today = REFERENCE
    if "--aujourdhui" in argv:
        today = datetime.date.fromisoformat(argv[argv.index("--aujourdhui") + 1])
    path = build_example(Path(argv[0]), today)
    print(f"Classeur d’exemple écrit : {path} (dates autour du {today:%d/%m/%Y})")
    if "--factures" in argv:
        dossier = Path(argv[argv.index("--factures") + 1])
        print(f"{len(write_invoices(dossier, today))} facture(s) PDF écrite(s) dans {dossier}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
