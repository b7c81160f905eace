#!/usr/bin/env python3
"""Benchmark of the daily run: wall time and peak memory, on the example and on a large workbook.

    python scripts/benchmark.py [--factures 10000] [--courriers 100]

Each run is a separate `scripts/relancer.py` process in a temporary folder, so that the peak
resident memory reported is that run's alone. Figures go to the issue notes, not to tests.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from relances.exemple import REFERENCE, build_large, write_workbook  # noqa: E402
from relances.workbook import read_classeur  # noqa: E402


def prepare(folder: Path) -> None:
    shutil.copy(ROOT / "config.toml", folder / "config.toml")
    shutil.copytree(ROOT / "lettres", folder / "lettres")


def timed_run(folder: Path, *args: str) -> tuple[float, float, int]:
    """(seconds, peak MiB, exit status) of one run of the script."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "relancer.py"),
                           "--config", str(folder / "config.toml"),
                           "--date", REFERENCE.isoformat(), *args],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factures", type=int, default=10_000)
    parser.add_argument("--courriers", type=int, default=100)
    options = parser.parse_args()
    bench_letters(options.courriers)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "exemple"
        folder.mkdir()
        prepare(folder)
        shutil.copy(ROOT / "relances.xlsx.example", folder / "relances.xlsx")
        seconds, peak, status = timed_run(folder)
        print(f"exemple ({status=}) : {seconds:.2f} s, pic mémoire {peak:.0f} Mio")

        folder = Path(tmp) / "grand"
        folder.mkdir()
        prepare(folder)
        start = time.perf_counter()
        build_large(folder / "relances.xlsx", options.factures)
        print(f"génération de {options.factures} factures : {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        lecture = read_classeur(folder / "relances.xlsx")
        print(f"lecture seule (pandas + calamine) : {time.perf_counter() - start:.2f} s, "
              f"{len(lecture.classeur.factures)} factures")
        seconds, peak, status = timed_run(folder, "--dry-run")
        print(f"simulation ({status=}) : {seconds:.2f} s, pic mémoire {peak:.0f} Mio")
        seconds, peak, status = timed_run(folder)
        emails = len(list((folder / "sortie").rglob("*.eml")))
        print(f"exécution complète ({status=}) : {seconds:.2f} s, pic mémoire {peak:.0f} Mio, "
              f"{emails} e-mails écrits")
        seconds, peak, status = timed_run(folder)
        print(f"deuxième exécution le même jour ({status=}) : {seconds:.2f} s")


def bench_letters(count: int) -> None:
    """Letters per second: `count` formal notices, rendered then laid out as PDF in one batch."""
    import datetime

    from relances.config import load_config
    from relances.lettre import render_pdfs
    from relances.policy import decide, taken_over
    from relances.render import Renderer

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(folder)
        step_day = REFERENCE - datetime.timedelta(days=12)
        rows = [dict(client=f"Client {i:04d}", numero=f"F-{i:05d}",
                     date_facture=REFERENCE - datetime.timedelta(days=70),
                     echeance=REFERENCE - datetime.timedelta(days=40), montant=1234 + i,
                     paye=None, statut="", etape=f"dernier_rappel ({step_day:%d/%m/%Y})",
                     promesse=None, notes=None) for i in range(count)]
        clients = [(f"Client {i:04d}", f"Contact {i}", f"c{i}@client{i}.fr", "04 00 00 00 00",
                    f"{i} rue du Test\n69000 Lyon", "fr", "professionnel", "", None)
                   for i in range(count)]
        write_workbook(folder / "relances.xlsx", rows, clients)
        config = load_config(folder / "config.toml")
        classeur = read_classeur(config.classeur).classeur
        history = taken_over(classeur, set(), config)
        plan = decide(classeur, history, REFERENCE, config)
        start = time.perf_counter()
        renderer = Renderer(config, classeur, REFERENCE, history)
        html = [(renderer.render(a).lettre, a.modele) for a in plan.actions]
        rendered = time.perf_counter() - start
        pdfs = render_pdfs(config.lettres, html)
        seconds = time.perf_counter() - start
        print(f"{len(pdfs)} courriers PDF : {seconds:.2f} s ({len(pdfs) / seconds:.1f} par "
              f"seconde ; modèles {rendered:.2f} s), {sum(map(len, pdfs)) / len(pdfs) / 1024:.0f} Kio "
              "par courrier")


if __name__ == "__main__":
    main()
