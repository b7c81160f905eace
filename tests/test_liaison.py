"""A workbook and its journal belong together; formats we cannot patch are refused up front."""

from __future__ import annotations

import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from relances.cli import relancer
from relances.exemple import write_workbook
from relances.journal import Journal
from relances.xlsx import fingerprint
from relances.xlsx.proprietes import read_identifiant

from conftest import (ROOT, TODAY, client_row, days, invoice_row, libreoffice_resave,
                      needs_libreoffice)



def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", "2026-11-22", *args])
    assert "Traceback" not in result.output
    return result


def emails(folder: Path) -> list[Path]:
    return sorted((folder / "sortie").rglob("*.eml"))


def test_a_first_run_labels_the_workbook_and_the_journal(project):
    assert read_identifiant(project / "relances.xlsx") is None
    run(project)
    label = read_identifiant(project / "relances.xlsx")
    assert label
    db = sqlite3.connect(project / "relances.journal.sqlite")
    meta = dict(db.execute("SELECT cle, valeur FROM meta"))
    assert meta.pop("derniere_ecriture").startswith(fingerprint(project / "relances.xlsx"))
    assert meta == {"classeur": label, "classeur_confirme": "1"}


def test_another_workbook_beside_the_examples_journal_is_refused(project):
    """The README's trap: the example ran, then the user puts their own workbook in its place,
    with invoice numbers the example also has. Nothing may be taken as already done."""
    run(project)
    sent = emails(project)
    own = [invoice_row(client="Ma Cliente", numero="F-2026-003", echeance=TODAY - days(50),
                       etape=None),
           invoice_row(client="Ma Cliente", numero="F-2026-001", echeance=TODAY - days(70))]
    write_workbook(project / "relances.xlsx", own,
                   [client_row("Ma Cliente", "compta@ma-cliente.fr")])
    for args in ((), ("--dry-run",), ("--json",)):
        result = run(project, *args)
        assert result.exit_code == 2, result.output
        assert "n’est pas le classeur de ce journal" in result.output
        assert "Passer à votre propre classeur" in result.output
    assert emails(project) == sent
    assert read_identifiant(project / "relances.xlsx") is None  # left as it was


def test_a_workbook_labelled_by_another_journal_is_refused(project, tmp_path):
    other = tmp_path / "autre"
    shutil.copytree(project, other)
    run(project)
    run(other)
    assert read_identifiant(project / "relances.xlsx") != read_identifiant(other / "relances.xlsx")
    shutil.copy(project / "relances.xlsx", other / "relances.xlsx")
    result = run(other)
    assert result.exit_code == 2
    assert "il porte l’identifiant d’un autre journal" in result.output


def test_a_new_journal_adopts_a_labelled_workbook_then_holds_to_it(project):
    run(project)
    label = read_identifiant(project / "relances.xlsx")
    (project / "relances.journal.sqlite").unlink()  # the journal was lost: start again
    result = run(project)
    assert result.exit_code in (0, 1), result.output
    db = sqlite3.connect(project / "relances.journal.sqlite")
    assert dict(db.execute("SELECT cle, valeur FROM meta"))["classeur"] == label
    write_workbook(project / "relances.xlsx", [invoice_row()], [client_row()])
    assert run(project).exit_code == 2


def test_the_journal_follows_the_workbook_it_was_given_back(project, tmp_path):
    run(project)
    label = read_identifiant(project / "relances.xlsx")
    kept = tmp_path / "garde.xlsx"
    shutil.copy(project / "relances.xlsx", kept)
    write_workbook(project / "relances.xlsx", [invoice_row()], [client_row()])
    assert run(project).exit_code == 2
    shutil.copy(kept, project / "relances.xlsx")  # the right workbook is back
    result = run(project)
    assert result.exit_code in (0, 1), result.output
    assert read_identifiant(project / "relances.xlsx") == label


def test_a_workbook_moved_with_its_journal_keeps_working(project, tmp_path):
    run(project)
    moved = tmp_path / "ailleurs"
    shutil.copytree(project, moved)
    result = CliRunner().invoke(relancer, ["--config", str(moved / "config.toml"),
                                           "--date", "2026-11-23"])
    assert result.exit_code in (0, 1), result.output


@needs_libreoffice
def test_the_label_survives_a_save_by_libreoffice(project, tmp_path):
    run(project)
    label = read_identifiant(project / "relances.xlsx")
    done, converted = libreoffice_resave(project / "relances.xlsx", tmp_path / "lo")
    assert done.returncode == 0, done.stderr
    shutil.copy(converted, project / "relances.xlsx")
    assert read_identifiant(project / "relances.xlsx") == label
    result = CliRunner().invoke(relancer, ["--config", str(project / "config.toml"),
                                           "--date", "2026-11-23"])
    assert result.exit_code in (0, 1), result.output
    assert "Rien à faire" in result.output or "n’est pas le classeur" not in result.output


def test_a_journal_from_before_the_label_adopts_its_workbook(project):
    """Users upgrading: their journal has history but no label; it is theirs, not refused."""
    run(project)
    db = sqlite3.connect(project / "relances.journal.sqlite")
    db.execute("DELETE FROM meta")
    db.commit()
    db.close()
    with zipfile.ZipFile(project / "relances.xlsx") as archive:
        data = {n: archive.read(n) for n in archive.namelist()}
    data["docProps/custom.xml"] = data["docProps/custom.xml"].replace(b"relances-identifiant",
                                                                      b"autre-propriete")
    with zipfile.ZipFile(project / "relances.xlsx", "w") as archive:
        for name, content in data.items():
            archive.writestr(name, content)
    result = run(project)
    assert result.exit_code in (0, 1), result.output
    assert "Rien à faire aujourd’hui." in result.output


def test_steps_are_keyed_by_client_and_invoice(project):
    run(project)
    db = sqlite3.connect(project / "relances.journal.sqlite")
    rows = db.execute("SELECT client, facture, cle FROM faits WHERE facture = 'F-2026-031'")
    assert rows.fetchall() == [("boulangeriemartin", "F-2026-031", "rappel")]


def test_an_old_journal_is_migrated_to_client_keys(tmp_path):
    path = tmp_path / "relances.journal.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE actions (id INTEGER PRIMARY KEY, jour TEXT NOT NULL, horodatage TEXT NOT NULL,
            client TEXT NOT NULL, factures TEXT NOT NULL, etape TEXT NOT NULL, canal TEXT NOT NULL,
            destinataire TEXT NOT NULL DEFAULT '', fichier TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '', montant TEXT NOT NULL DEFAULT '',
            statut TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
        CREATE TABLE faits (action_id INTEGER NOT NULL, facture TEXT NOT NULL,
            cle TEXT NOT NULL, UNIQUE (facture, cle));
        INSERT INTO actions VALUES (1, '2026-11-20', '2026-11-20T08:00:00', 'Bêta & Fils',
            '["F-1"]', 'rappel', 'email', '', '', '', '10.00', 'envoye', '');
        INSERT INTO faits VALUES (1, 'F-1', 'rappel');
    """)
    db.close()
    journal = Journal.open(path)
    (fait,) = journal.history()
    assert (fait.client, fait.facture, fait.cle) == ("Bêta & Fils", "F-1", "rappel")
    assert journal.known_factures() == {("beta&fils", "F-1")}
    journal.close()
    rows = sqlite3.connect(path).execute("SELECT client, facture FROM faits").fetchall()
    assert rows == [("beta&fils", "F-1")]


# ------------------------------------------------------------ formats we refuse, up front

def _xlsx_with(path: Path, replace: dict[str, bytes]) -> None:
    source = ROOT / "exemple" / "relances.xlsx.example"
    with zipfile.ZipFile(source) as archive:
        data = {n: archive.read(n) for n in archive.namelist()}
    data.update(replace)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in data.items():
            archive.writestr(name, content)


def _strict(path: Path) -> None:
    with zipfile.ZipFile(ROOT / "exemple" / "relances.xlsx.example") as archive:
        workbook = archive.read("xl/workbook.xml")
    _xlsx_with(path, {"xl/workbook.xml": workbook.replace(
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        b"http://purl.oclc.org/ooxml/spreadsheetml/main")})


def _xlsb(path: Path) -> None:
    with zipfile.ZipFile(ROOT / "exemple" / "relances.xlsx.example") as archive:
        types = archive.read("[Content_Types].xml")
    _xlsx_with(path, {"[Content_Types].xml": types.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.binary.macroEnabled.main")})


def _ods(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504), "(.xls)"),
    (lambda p: p.write_text("Client;N° facture\nAlpha;F-1\n", encoding="utf-8"),
     "CSV ou autre format renommé"),
    (_ods, "OpenDocument (.ods)"),
    (_xlsb, "binaire Excel (.xlsb)"),
    (_strict, "Open XML strict"),
])
def test_a_workbook_we_cannot_patch_is_refused_before_anything_is_sent(project, make, message):
    make(project / "relances.xlsx")
    result = run(project)
    assert result.exit_code == 2, result.output
    assert message in result.output and "enregistrez-le au format" in result.output
    assert not emails(project)
    assert not (project / "relances.journal.sqlite").exists()


def test_verifier_says_when_the_workbook_is_not_the_journals(project):
    run(project)
    assert "classeur et journal vont ensemble" in run(project, "--verifier").output
    write_workbook(project / "relances.xlsx", [invoice_row()], [client_row()])
    result = run(project, "--verifier")
    assert result.exit_code == 1
    assert "PROBLÈME relances.xlsx n’est pas le classeur de ce journal" in result.output


def test_a_save_while_the_workbook_is_read_is_read_again(small_project, monkeypatch):
    """The user fixes a cell and saves between the checks and the records: both must come
    from one version, or the old version's « unknown value » would block the fixed invoice.
    (A save cannot be timed into the middle of a read: the hook stands in for the user.)"""
    from relances.xlsx import fingerprint, lecture

    folder = small_project([invoice_row(numero="F-1")])
    path = folder / "relances.xlsx"
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<c r="F2"[^>]*?(?:/>|>.*?</c>)', b'<c r="F2" s="3" t="e"><v>#N/A</v></c>',
        parts["xl/worksheets/sheet1.xml"], count=1, flags=re.S)
    assert b"#N/A" in parts["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    real, saves = lecture.check_workbook, []

    def check_then_user_saves(checked, lignes_max):
        result = real(checked, lignes_max)
        if not saves:
            saves.append(checked)
            write_workbook(checked, [invoice_row(numero="F-1", paye=0)], [client_row()])
        return result

    monkeypatch.setattr(lecture, "check_workbook", check_then_user_saves)
    read = lecture.read_classeur(path)
    assert [f.numero for f in read.classeur.factures] == ["F-1"]
    assert not read.classeur.anomalies
    assert read.empreinte == fingerprint(path)
