"""The tool's sheets on paper: landscape A4, the header row on every page, text wrapped at a
readable size (pages added, never shrunk to a width); Factures' tool columns wide enough."""

from __future__ import annotations

import datetime
import math
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pypdf
import pytest
from click.testing import CliRunner

from relances.cli import relancer
from relances.exemple import write_workbook
from relances.xlsx.ecriture import A_APPELER_COLONNES, JOURNAL_COLONNES, write_back
from relances.xlsx.impression import MIN_PRINT_SCALE, PRINTABLE_WIDTH, lines, print_scale
from relances.records import normalise
from relances.xlsx.package import Package, fingerprint
from relances.xlsx.sheet import Lien

from conftest import SOFFICE, TODAY, client_row, days, invoice_row, needs_libreoffice

LONG = ("préparé (à envoyer depuis votre messagerie) ; le client a demandé un duplicata de la "
        "facture et un relevé de compte")


def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), *args])
    assert "Traceback" not in result.output
    return result


def journal_rows(count: int) -> list[tuple]:
    start = datetime.datetime(2026, 9, 1, 9, 30)
    return [(n, start + datetime.timedelta(hours=n), f"Client numéro {n} SARL", f"F-2026-{n:03}",
             "Premier rappel", "email", f"compta@client-{n}.fr", Decimal("1234.56"),
             Lien(f"sortie/2026-09-01/emails/{n:05}-client-{n}-rappel.eml",
                  f"sortie/2026-09-01/emails/{n:05}-client-{n}-rappel.eml"), LONG)
            for n in range(1, count + 1)]


def book_with_journal(folder: Path, count: int) -> Path:
    path = folder / "relances.xlsx"
    write_workbook(path, [invoice_row(numero="F-1")], [client_row()])
    write_back(path, fingerprint(path), {}, journal_rows(count))
    return path


def to_pdf(path: Path, out: Path) -> pypdf.PdfReader:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                               "--convert-to", "pdf", "--outdir", str(out), str(path)],
                              capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return pypdf.PdfReader(out / (path.stem + ".pdf"))


def font_sizes(page: pypdf.PageObject) -> list[float]:
    """The size each piece of text is drawn at on the page (font size × text and page scale)."""
    sizes = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            sizes.append(size * math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1]))

    page.extract_text(visitor_text=visit)
    return sizes


# ---------------------------------------------------------------- the sheets as written

@pytest.mark.parametrize("widths, scale", [
    ([PRINTABLE_WIDTH], 100), ([40] * 3, 100), ([PRINTABLE_WIDTH / 0.9], 90),
    ([PRINTABLE_WIDTH * 3], MIN_PRINT_SCALE),  # far too wide: split, not shrunk further
])
def test_print_scale_shrinks_a_little_never_much(widths, scale):
    assert print_scale(widths) == scale


@pytest.mark.parametrize("text, width, expected", [
    ("envoyé", 14, 1),
    ("repris de la colonne Étape du classeur", 15, 3),
    ("Premier rappel", 14, 1),
    ("F-2026-031, F-2026-044", 12, 2),
    ("ligne un\nligne deux", 40, 2),
    ("0" * 60, 20, 4),  # a word wider than its column is cut where the column is full
])
def test_lines_counts_the_wrapped_lines(text, width, expected):
    assert lines(text, width) == expected


def test_the_tool_sheets_fit_a_landscape_page_at_a_readable_scale():
    for colonnes in (JOURNAL_COLONNES, A_APPELER_COLONNES):
        assert print_scale(c.largeur for c in colonnes) >= MIN_PRINT_SCALE
        assert sum(c.largeur for c in colonnes) * MIN_PRINT_SCALE / 100 <= PRINTABLE_WIDTH


def test_journal_and_a_appeler_print_landscape_with_their_header_on_every_page(project):
    run(project, "--date", "2026-11-22")
    book = openpyxl.load_workbook(project / "relances.xlsx")
    package = Package.open(project / "relances.xlsx")
    for name, colonnes in (("Journal", JOURNAL_COLONNES), ("À appeler", A_APPELER_COLONNES)):
        sheet = book[name]
        setup = sheet.page_setup
        assert setup.orientation == "landscape" and setup.paperSize == 9
        assert setup.scale >= MIN_PRINT_SCALE and not sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$1"
        assert "&P / &N" in sheet.oddFooter.right.text and sheet.oddFooter.left.text == "&A"
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert widths == [c.largeur for c in colonnes]
        texts = [c for row in sheet.iter_rows(min_row=1) for c in row
                 if isinstance(c.value, str)]
        assert texts and all(c.alignment.wrap_text for c in texts)
        # Rows are as tall as their text, and stay automatic (no height fixed by hand).
        assert b"customHeight" not in package.parts[package.sheet(name, normalise).part]
    journal = book["Journal"]
    wrapped = next(r for r in journal.iter_rows(min_row=2)
                   if r[9].value == "préparé (à envoyer depuis votre messagerie)")
    assert journal.row_dimensions[wrapped[0].row].height >= 45  # three lines in Résultat


def test_widths_left_by_the_former_layout_give_way_the_users_stay(tmp_path):
    path = book_with_journal(tmp_path, 3)
    book = openpyxl.load_workbook(path)
    sheet = book["Journal"]
    for letter, width in zip("ABCDEFGHIJ", (7, 16, 28, 26, 20, 13, 30, 14, 50, 40)):
        sheet.column_dimensions[letter].width = width  # the widths before this layout
    sheet.column_dimensions["C"].width = 35  # Client, sized by the user
    book.save(path)
    write_back(path, fingerprint(path), {}, journal_rows(4))
    sheet = openpyxl.load_workbook(path)["Journal"]
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEFGHIJ"]
    expected = [c.largeur for c in JOURNAL_COLONNES]
    expected[2] = 35
    assert widths == expected


# ---------------------------------------------------------------- Factures' tool columns

def test_tool_columns_added_to_factures_are_wide_enough_for_their_content(small_project):
    folder = small_project([invoice_row(numero="F-9", echeance=TODAY - days(4))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    sheet = book["Factures"]
    sheet.delete_cols(10, 5)  # drop Étape .. Date prochaine action, and their widths
    for letter in "JKLMNOP":
        sheet.column_dimensions.pop(letter, None)
    book.save(folder / "relances.xlsx")
    assert run(folder, "--date", TODAY.isoformat()).exit_code == 0
    sheet = openpyxl.load_workbook(folder / "relances.xlsx")["Factures"]
    width = {c.value: sheet.column_dimensions[c.column_letter].width for c in sheet[1]}
    assert width["Étape"] >= 30 and width["Prochaine action"] >= 45
    assert all(width[h] >= len(h) for h in ("Relances envoyées", "Dernière relance",
                                             "Date prochaine action"))


def test_a_tool_column_the_user_sized_keeps_its_width(project):
    before = openpyxl.load_workbook(project / "relances.xlsx")["Factures"]
    sized = {c.value: before.column_dimensions[c.column_letter].width for c in before[1]}
    run(project, "--date", "2026-11-22")
    after = openpyxl.load_workbook(project / "relances.xlsx")["Factures"]
    assert {c.value: after.column_dimensions[c.column_letter].width for c in after[1]} == sized


# ---------------------------------------------------------------- on paper (LibreOffice)

@needs_libreoffice
def test_a_long_journal_prints_on_several_landscape_pages_at_a_readable_size(tmp_path):
    reader = to_pdf(book_with_journal(tmp_path, 30), tmp_path / "pdf")
    pages = [p for p in reader.pages if p.extract_text().lstrip().startswith("Journal")]
    assert len(pages) >= 3  # rows go on to further pages rather than being shrunk onto one
    assert all(p.mediabox.width > p.mediabox.height for p in pages)
    # The header row, repeated on the rows' next page. (Where neither Calibri nor Carlito is
    # installed, LibreOffice's wider stand-in font puts the last columns on pages of their own.)
    second = pages[1].extract_text()
    assert "Date" in second and "Destinataire" in second and "F-2026-001" not in second
    sizes = [size for p in pages for size in font_sizes(p)]
    # Calibri 11 printed at 85 % or more: never shrunk to a width (it was 6 pt).
    assert min(sizes) >= 11 * MIN_PRINT_SCALE / 100 - 0.1
