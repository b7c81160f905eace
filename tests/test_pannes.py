"""Faults tell the truth: a full disk while backing up or writing, a read-only folder, the
journal giving way after messages went out — a French message naming the file and the cause,
nothing half-written, the workbook untouched, and never « rien n'a pu être fait » after sending.

The disks are real: small tmpfs and read-only bind mounts (root in a container can mount; where
it cannot, these tests are skipped), and a file size limit (RLIMIT_FSIZE) that makes the system
refuse writes for real wherever mounting is impossible. Every mount is undone in the fixture's
teardown.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import relances
from relances.cli import rapport, relancer

from conftest import ROOT, TODAY, copy_config
from test_smtp import Recorder, smtp_config
from test_smtp import smtp_server  # noqa: F401 (the fixture, used by name)

SRC = Path(relances.__file__).resolve().parent.parent  # the relances under test


@pytest.fixture
def mounts():
    """mount(target, *options): a real mount, undone after the test (skips where the machine
    does not allow mounting)."""
    done: list[Path] = []

    def mount(target: Path, *args: str) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"mount impossible ici ({result.stderr.strip() or result.returncode})")
        done.append(target)
        return target

    yield mount
    for target in reversed(done):
        subprocess.run(["umount", "-l", str(target)], check=False)


def tmpfs(mount, target: Path, size: str) -> Path:
    return mount(target, "-t", "tmpfs", "-o", f"size={size}", "tmpfs")


def read_only(mount, target: Path) -> Path:
    mount(target, "--bind", str(target))
    subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
    return target


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the disk under `folder`, leaving about `leave` bytes free."""
    filler = folder / "remplissage"
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(filler, "wb") as out:
        try:
            out.write(b"\0" * max(free - leave, 0))
        except OSError:
            pass
    return filler


def company(folder: Path, big: bool = False, sortie: Path | None = None) -> Path:
    """The example company in `folder`; `big`: its workbook carries a sheet of 2 MB of
    incompressible notes (so that a copy of it does not fit where the journal still does);
    `sortie`: its output folder elsewhere."""
    folder.mkdir(parents=True, exist_ok=True)
    copy_config(folder)
    config = folder / "config.toml"
    text = config.read_text("utf-8").replace('dossier = "factures"',
                                             f'dossier = "{ROOT / "exemple" / "factures"}"', 1)
    if sortie is not None:
        text = text.replace('dossier = "sortie"', f'dossier = "{sortie}"', 1)
    config.write_text(text, "utf-8")
    workbook = folder / "relances.xlsx"
    shutil.copy(ROOT / "exemple" / "relances.xlsx.example", workbook)
    if big:
        book = openpyxl.load_workbook(workbook)
        notes = book.create_sheet("Archives")
        noise = random.Random(19)
        for _ in range(700):
            notes.append(["".join(noise.choices(string.ascii_letters + string.digits, k=4000))])
        book.save(workbook)
    return folder


def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), "--date",
                                           TODAY.isoformat(), *args])
    assert "Traceback" not in result.output
    return result


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".relances-")
                  or p.name.endswith(".partiel"))


def emls(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{TODAY.isoformat()}/emails/*.eml"))


def test_disk_full_while_writing_the_workbook_after_sending(tmp_path, mounts):
    folder = company(tmpfs(mounts, tmp_path / "entreprise", "8m"), big=True,
                     sortie=tmp_path / "sortie")
    before = (folder / "relances.xlsx").read_bytes()
    assert len(before) > 2_000_000
    filler = fill(folder, leave=1_000_000)  # room for the journal, not for a new workbook

    result = run(folder)
    assert result.exit_code == 1  # done, with a problem: not « nothing could be done »
    out = result.output
    assert "RIEN N’A PU" not in out and "N’A PAS PU SE FAIRE" not in out
    sent = len(emls(tmp_path / "sortie"))
    assert sent == 5
    assert "EXÉCUTION INCOMPLÈTE : 7 envoi(s) fait(s) avant l’incident" in out
    assert "Le classeur N’A PAS PU ÊTRE MIS À JOUR" in out
    assert (f"relances.xlsx : classeur non mis à jour, écriture impossible dans {folder} "
            "(disque plein) ; le classeur est resté tel quel") in out
    assert (folder / "relances.xlsx").read_bytes() == before
    assert leftovers(folder) == []

    # Room again: the next run sends nothing twice and brings the workbook up to date.
    filler.unlink()
    again = run(folder, "--json")
    plan = json.loads(again.stdout)
    assert plan["actions"] == [] and plan["sent"] == 0 and plan["workbook_error"] is None
    assert len(emls(tmp_path / "sortie")) == sent
    assert (folder / "relances.xlsx").read_bytes() != before


def test_disk_full_while_backing_up_leaves_no_half_backup(tmp_path, mounts):
    folder = company(tmp_path / "entreprise")
    before = (folder / "relances.xlsx").read_bytes()
    sauvegardes = tmpfs(mounts, folder / "sauvegardes", "4k")  # smaller than the workbook

    result = run(folder, "--json")
    assert result.exit_code == 1
    plan = json.loads(result.stdout)
    assert plan["sent"] == 7 and plan["stopped"] is None
    assert plan["workbook_error"].startswith(
        f"relances.xlsx : classeur non mis à jour, sauvegarde impossible dans {sauvegardes} "
        "(disque plein) ; le classeur est resté tel quel")
    assert (folder / "relances.xlsx").read_bytes() == before
    assert list(sauvegardes.iterdir()) == [] and leftovers(folder) == []


def test_a_read_only_folder_is_said_in_french_and_nothing_is_done(tmp_path, mounts):
    folder = company(tmp_path / "entreprise")
    before = (folder / "relances.xlsx").read_bytes()
    read_only(mounts, folder)

    result = run(folder)
    assert result.exit_code == 2
    assert (f"Erreur : {folder}/.relances.xlsx.verrou : écriture impossible (dossier en "
            "lecture seule) ; relances écrit dans le dossier du classeur") in result.output
    assert "Traceback" not in result.output and "Errno" not in result.output
    assert (folder / "relances.xlsx").read_bytes() == before
    assert not (folder / "relances.journal.sqlite").exists()


def test_a_read_only_output_folder_fails_each_message_in_french(tmp_path, mounts):
    sortie = read_only(mounts, tmp_path / "sortie")
    folder = company(tmp_path / "entreprise", sortie=sortie)
    result = run(folder)
    assert result.exit_code == 1
    assert "-rappel.eml : écriture impossible (dossier en lecture seule)" in result.output
    assert "-mise_en_demeure.pdf : écriture impossible (dossier en lecture seule)" in result.output
    assert "Read-only" not in result.output


class FillsTheDisk(Recorder):
    """A real SMTP server; when it accepts the second message, the company's disk is full."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == 2:
            fill(self.folder)
        return answer


def test_the_journal_giving_way_after_sending_says_what_went_out(tmp_path, mounts,
                                                                 smtp_server):
    folder = company(tmpfs(mounts, tmp_path / "entreprise", "16m"))
    recorder = FillsTheDisk(folder)
    smtp_config(folder, smtp_server(recorder))

    result = run(folder, "--json")
    assert result.exit_code == 1  # not 2: messages went out
    plan = json.loads(result.stdout)
    assert len(recorder.messages) == 2
    assert plan["sent"] == 1  # the second one is out too, but the journal could not say so
    assert plan["stopped"].startswith("arrêt en cours de route : relances.journal.sqlite : "
                                      "écriture impossible (disque plein) ; rien d’autre "
                                      "n’a été envoyé.")
    assert "est peut-être partie : la prochaine exécution le vérifiera" in plan["stopped"]
    assert "classeur non mis à jour" in plan["workbook_error"]

    # Room again: the one under way is not sent again (it is uncertain: the user decides),
    # the others go.
    (folder / "remplissage").unlink()
    again = run(folder)
    assert again.exit_code == 1
    assert "Menuiserie Petit : « Dernier rappel » du 22/11/2026 peut-être parti" in again.output
    ids = [m["Message-ID"] for m in recorder.parsed()]
    assert len(ids) == len(set(ids)) == 5
    subjects = [(m["To"], m["Subject"]) for m in recorder.parsed()]
    assert len(subjects) == len(set(subjects))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_file_size_limit_refuses_the_workbook_without_a_mount(tmp_path):
    """Where mounting is impossible the system still refuses for real: a file size limit
    (EFBIG) lets the journal grow but not the workbook's new copy."""
    import resource

    folder = company(tmp_path / "entreprise", big=True)
    before = (folder / "relances.xlsx").read_bytes()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    done = subprocess.run([sys.executable, "-c",
                           "from relances.cli.relancer import main; main()", "--config",
                           str(folder / "config.toml"), "--date", TODAY.isoformat()],
                          capture_output=True, text=True, preexec_fn=limit,
                          env=dict(os.environ, PYTHONPATH=str(SRC)))
    assert done.returncode == 1, done.stderr
    assert "EXÉCUTION INCOMPLÈTE : 7 envoi(s)" in done.stdout
    assert (f"classeur non mis à jour, écriture impossible dans {folder} (fichier trop gros "
            "pour le disque") in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert (folder / "relances.xlsx").read_bytes() == before
    assert leftovers(folder) == [] and len(emls(folder / "sortie")) == 5


@pytest.mark.parametrize("target", ["relances.xlsx", "config.toml", "relances.journal.sqlite",
                                    "lien.pdf", "notes.txt", "."])
def test_rapport_pdf_never_overwrites_what_it_reads(tmp_path, target):
    folder = company(tmp_path / "entreprise")
    run(folder)  # a journal, a log
    (folder / "notes.txt").write_text("à garder", "utf-8")
    (folder / "lien.pdf").symlink_to(folder / "relances.xlsx")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    result = CliRunner().invoke(rapport, ["--config", str(folder / "config.toml"), "--date",
                                          TODAY.isoformat(), "--pdf", str(folder / target)])
    assert result.exit_code == 2
    assert "rien n’a été écrit" in result.output and "Traceback" not in result.output
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_rapport_pdf_replaces_its_own_pdf(tmp_path):
    folder = company(tmp_path / "entreprise")
    pdf = folder / "encours.pdf"
    for _ in range(2):
        result = CliRunner().invoke(rapport, ["--config", str(folder / "config.toml"), "--date",
                                              TODAY.isoformat(), "--pdf", str(pdf)])
        assert result.exit_code == 0, result.output
        assert pdf.read_bytes().startswith(b"%PDF-")
