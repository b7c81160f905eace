#!/usr/bin/env python3
"""Benchmark of the daily run: wall time and peak memory, on the example and on large workbooks.

    python scripts/benchmark.py [--tailles 1000,10000,50000] [--courriers 100] [--smtp 200]

For each size, a generated workbook is measured, each measure in its own process so that the
peak resident memory is that process's alone: openpyxl's load (memory) and load + save (time)
of the file, the tool's write-back alone (every invoice row's cells change), a full daily run,
and a second run the same day (which must not rewrite the file). Figures go to the issue notes,
not to tests.
"""

from __future__ import annotations

import argparse
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


# Linux gives an exec'd child the RSS high-water mark of the process it was forked from: a
# child started by this (large) process would report at least our own peak. So each measured
# command is started by a small go-between, whose children start from its small footprint.
GO_BETWEEN = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump([time.perf_counter() - start, usage.ru_maxrss / 1024,
               os.waitstatus_to_exitcode(status)], report)
"""


def measured(command: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak resident MiB, exit status, stdout) of one child process, on its own."""
    import json

    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        done = subprocess.run([sys.executable, "-c", GO_BETWEEN, report.name, *command],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        seconds, peak, status = json.loads(Path(report.name).read_text())
    return seconds, peak, status, done.stdout


def timed_run(folder: Path, *args: str) -> tuple[float, float, int]:
    """(seconds, peak MiB, exit status) of one run of the script."""
    seconds, peak, status, _ = measured(
        [sys.executable, str(ROOT / "scripts" / "relancer.py"), "--config",
         str(folder / "config.toml"), "--date", REFERENCE.isoformat(), *args])
    return seconds, peak, status


OPENPYXL_LOAD = "import openpyxl, sys; openpyxl.load_workbook(sys.argv[1])"
OPENPYXL_LOAD_SAVE = ("import openpyxl, sys, time; t = time.perf_counter(); "
                      "b = openpyxl.load_workbook(sys.argv[1]); b.save(sys.argv[2]); "
                      "print(time.perf_counter() - t)")


def write_back_only(path: str) -> None:
    """Child process: the write-back of a run that changes every invoice row, timed alone."""
    from relances.config import load_config
    from relances.policy import follow_up
    from relances.xlsx import write_back

    config = load_config(Path(path).parent / "config.toml")
    lecture = read_classeur(Path(path))
    suivis = follow_up(lecture.classeur, [], REFERENCE, config)
    rows = {f.row: (f.numero, suivis[f.numero]) for f in lecture.classeur.factures}
    start = time.perf_counter()
    ecriture = write_back(Path(path), lecture.empreinte, rows, [], identifiant="benchmark")
    print(time.perf_counter() - start, ecriture.lignes)


def bench_sizes(sizes: list[int]) -> None:
    """Write-back and full run against openpyxl's load + save of the same file."""
    print("factures | openpyxl charge+enregistre | écriture relances (ratio) | "
          "exécution complète | pic mémoire openpyxl (chargement) | pic exécution (ratio) | "
          "2e exécution")
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            prepare(folder)
            workbook = folder / "relances.xlsx"
            build_large(workbook, count)
            pristine = folder / "pristine.xlsx"
            shutil.copy(workbook, pristine)
            _, openpyxl_peak, _, _ = measured([sys.executable, "-c", OPENPYXL_LOAD, str(workbook)])
            _, _, _, out = measured([sys.executable, "-c", OPENPYXL_LOAD_SAVE, str(workbook),
                                     str(folder / "openpyxl.xlsx")])
            openpyxl_seconds = float(out)
            _, _, _, out = measured([sys.executable, __file__, "--ecriture", str(workbook)])
            write_seconds = float(out.split()[0])
            shutil.copy(pristine, workbook)
            seconds, peak, status = timed_run(folder)
            mtime = workbook.stat().st_mtime_ns
            again, _, _ = timed_run(folder)
            untouched = "non réécrit" if workbook.stat().st_mtime_ns == mtime else "RÉÉCRIT"
            print(f"{count:>8} | {openpyxl_seconds:8.2f} s | {write_seconds:6.2f} s "
                  f"({write_seconds / openpyxl_seconds:.2f} ×) | {seconds:7.2f} s (statut "
                  f"{status}) | {openpyxl_peak:6.0f} Mio | {peak:6.0f} Mio "
                  f"({peak / openpyxl_peak:.2f} ×) | {again:.2f} s, {untouched}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--tailles", default="1000,10000,50000",
                        help="nombres de factures des classeurs générés")
    parser.add_argument("--courriers", type=int, default=100)
    parser.add_argument("--smtp", type=int, default=200)
    parser.add_argument("--ecriture", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.ecriture:
        write_back_only(options.ecriture)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(folder)
        shutil.copy(ROOT / "exemple" / "relances.xlsx.example", folder / "relances.xlsx")
        shutil.copytree(ROOT / "exemple" / "factures", folder / "factures")
        seconds, peak, status = timed_run(folder)
        print(f"exemple ({status=}) : {seconds:.2f} s, pic mémoire {peak:.0f} Mio", flush=True)
    bench_sizes([int(n) for n in options.tailles.split(",") if n])
    bench_letters(options.courriers)
    bench_smtp(options.smtp)


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
