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
from relances.xlsx import read_classeur  # noqa: E402


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
    parser.add_argument("--smtp", type=int, default=200)
    options = parser.parse_args()
    bench_letters(options.courriers)
    bench_smtp(options.smtp)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "exemple"
        folder.mkdir()
        prepare(folder)
        shutil.copy(ROOT / "exemple" / "relances.xlsx.example", folder / "relances.xlsx")
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


def bench_smtp(count: int) -> None:
    """`count` first reminders sent over one connection to an SMTP server on loopback (aiosmtpd),
    against the same run writing .eml files only: the difference is the SMTP cost."""
    import datetime
    import socket

    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        print("SMTP : aiosmtpd absent (pip install -e \".[test]\"), mesure sautée")
        return

    class Counter:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Counter.received += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        results = {}
        for mode in ("dossier", "smtp"):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                prepare(folder)
                config = folder / "config.toml"
                text = config.read_text(encoding="utf-8")
                if mode == "smtp":
                    text = text.replace('mode = "dossier"', f'mode = "smtp"\nhote = "127.0.0.1"\n'
                                        f'port = {port}\nsecurite = "aucune"')
                config.write_text(text.replace('dossier = "factures"', 'dossier = ""'),
                                  encoding="utf-8")
                rows = [dict(client=f"Client {i:04d}", numero=f"F-{i:05d}",
                             date_facture=REFERENCE - datetime.timedelta(days=34),
                             echeance=REFERENCE - datetime.timedelta(days=4), montant=100 + i,
                             paye=None, statut="", etape=None, promesse=None, notes=None)
                        for i in range(count)]
                clients = [(f"Client {i:04d}", f"Contact {i}", f"c{i}@client{i}.fr", "", "",
                            "fr", "professionnel", "", None) for i in range(count)]
                write_workbook(folder / "relances.xlsx", rows, clients)
                results[mode] = timed_run(folder)
        print(f"SMTP : {Counter.received} e-mails reçus par le serveur local en "
              f"{results['smtp'][0]:.2f} s (exécution complète, statut {results['smtp'][2]}) ; "
              f"la même exécution en mode dossier : {results['dossier'][0]:.2f} s ; "
              f"coût SMTP ≈ {results['smtp'][0] - results['dossier'][0]:.2f} s "
              f"({(results['smtp'][0] - results['dossier'][0]) / count * 1000:.1f} ms par message)")
        # The SMTP part alone: `count` messages handed over one connection.
        from email.message import EmailMessage

        from relances.delivery import SmtpDelivery

        with tempfile.TemporaryDirectory() as tmp:
            smtp = SmtpDelivery(Path(tmp), "127.0.0.1", port, "aucune", "", None)
            start = time.perf_counter()
            smtp.connect()
            for i in range(count):
                message = EmailMessage()
                message["From"], message["To"] = "a@exemple.fr", f"c{i}@client{i}.fr"
                message["Subject"] = f"Message {i}"
                message.set_content("Bonjour\n" * 40)
                smtp.deliver(message, Path(tmp) / f"{i}.eml")
            smtp.close()
            seconds = time.perf_counter() - start
        print(f"SMTP seul : {count} messages sur une connexion en {seconds:.2f} s "
              f"({count / seconds:.0f} par seconde, .eml de preuve compris)")
    finally:
        controller.stop()


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
