"""Killed at any moment (SIGKILL, no clean-up), a run leaves a workbook that opens, a journal
that holds together, no step done twice, and a next run that finishes the job."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from relances.exemple import write_workbook

from conftest import ROOT, TODAY, copy_config, days

CLIENTS = 200


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pristine")
    copy_config(folder)
    (folder / "factures").mkdir()
    rows = [dict(client=f"Client {i:03d}", numero=f"F-{i:03d}", date_facture=TODAY - days(40),
                 echeance=TODAY - days(5 + i % 30), montant=100 + i, paye=None, statut="",
                 etape=None, promesse=None, notes=f"note {i}") for i in range(CLIENTS)]
    clients = [(f"Client {i:03d}", f"Contact {i}", f"c{i}@client{i}.fr", "04 00 00 00 00",
                f"{i} rue du Test\n69000 Lyon", "fr", "professionnel", "", None)
               for i in range(CLIENTS)]
    write_workbook(folder / "relances.xlsx", rows, clients)
    return folder


def start(folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "relancer.py"),
                             "--date", TODAY.isoformat()], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def check_consistent(folder: Path) -> None:
    """What must hold after any kill: the workbook opens, the journal is whole, no double."""
    with zipfile.ZipFile(folder / "relances.xlsx") as archive:
        assert archive.testzip() is None
    openpyxl.load_workbook(folder / "relances.xlsx", read_only=True).close()
    journal = folder / "relances.journal.sqlite"
    if journal.exists():
        db = sqlite3.connect(journal)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        doubles = db.execute("SELECT facture, cle, COUNT(*) FROM faits GROUP BY client, facture, "
                             "cle HAVING COUNT(*) > 1").fetchall()
        assert doubles == []
        db.close()
    emails = list((folder / "sortie").rglob("*.eml")) if (folder / "sortie").exists() else []
    per_client = {}
    for path in emails:
        client = path.name.split("-", 1)[1]
        per_client[client] = per_client.get(client, 0) + 1
    assert all(count == 1 for count in per_client.values()), per_client


def test_a_run_killed_at_any_moment_is_finished_by_the_next(pristine, tmp_path):
    # How long a whole run takes here, to spread the kill points over it.
    timing = tmp_path / "mesure"
    shutil.copytree(pristine, timing)
    began = time.perf_counter()
    assert start(timing).wait(timeout=120) == 0
    duration = time.perf_counter() - began
    killed_mid_run = 0
    for point in range(8):
        # A loaded machine may run faster than the timing run: a run that ended before its
        # kill point is tried again with a shorter delay (each in a fresh folder).
        for attempt in range(3):
            folder = tmp_path / f"coupure-{point}-{attempt}"
            shutil.copytree(pristine, folder)
            child = start(folder)
            time.sleep(duration * (0.15 + point * 0.11) / 2 ** attempt)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                killed_mid_run += 1
                child.wait(timeout=60)
                break
            child.wait(timeout=60)
        check_consistent(folder)
        # The next run finishes the job: every client reminded exactly once, workbook up to date.
        again = start(folder)
        assert again.wait(timeout=120) in (0, 1), again.stderr.read().decode()
        check_consistent(folder)
        emails = list((folder / "sortie").rglob("*.eml"))
        db = sqlite3.connect(folder / "relances.journal.sqlite")
        uncertain = db.execute("SELECT COUNT(*) FROM actions WHERE statut = 'incertain'").fetchone()[0]
        sent = db.execute("SELECT COUNT(*) FROM faits WHERE cle = 'rappel'").fetchone()[0]
        db.close()
        assert sent == CLIENTS and len(emails) == CLIENTS - uncertain or len(emails) == CLIENTS
        sheet = openpyxl.load_workbook(folder / "relances.xlsx")["Factures"]
        headers = [c.value for c in sheet[1]]
        steps = [row[headers.index("Étape")] for row in sheet.iter_rows(min_row=2, values_only=True)
                 if row[1]]
        assert all(step == f"Premier rappel ({TODAY:%d/%m/%Y})" for step in steps)
        notes = [row[headers.index("Notes")] for row in sheet.iter_rows(min_row=2, values_only=True)
                 if row[1]]
        assert notes == [f"note {i}" for i in range(CLIENTS)]
    assert killed_mid_run >= 4  # the loop really did cut runs short
