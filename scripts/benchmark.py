#!/usr/bin/env python3
"""Benchmark of the daily run: wall time and peak memory, on the example and on large workbooks.

    python scripts/benchmark.py [--tailles 1000,10000,50000] [--repetitions 3] [--actions 200]
                                [--courriers 100] [--smtp 200]

For each size, a generated workbook (with `--actions` first reminders due, whatever the size)
is measured, each measure in its own process so that the peak resident memory is that
process's alone, as medians of `--repetitions` runs: the bare library operations on the same
file (pandas + calamine read, openpyxl load, openpyxl load + save), a plan-only run
(--dry-run --json), a full run in dossier mode, a second run the same day (which must not
rewrite the file), emails built per second; then letters per second and the SMTP cost. It
prints ratios tool / baseline against the aims: plan ≤ 1.5 × the calamine read; full run ≤
0.5 × openpyxl load + save plus the rendering of its messages; peak memory ≤ 1.0 × openpyxl's
load. Figures go to the issue notes, not to tests.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from relances.exemple import REFERENCE, write_workbook  # noqa: E402
from relances.xlsx import read_classeur  # noqa: E402


# The shipped config.toml names nobody (a real run refuses it): the benchmark's company.
IDENTITE = {"nom": "Atelier Mesure SARL", "adresse": "1 rue des Essais\\n69003 Lyon",
            "email": "compta@atelier-mesure.fr", "siret": "732 829 320 00074",
            "iban": "FR76 3000 4000 0312 3456 7890 143", "signataire": "Marie Mesure",
            "expediteur": "Atelier Mesure <compta@atelier-mesure.fr>"}


def prepare(folder: Path) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for key, value in IDENTITE.items():
        text = re.sub(rf'^{key} = ""', lambda _: f'{key} = "{value}"', text, count=1,
                      flags=re.MULTILINE)
    (folder / "config.toml").write_text(text, encoding="utf-8")


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
    from relances.suivi import follow_up
    from relances.xlsx import write_back

    config = load_config(Path(path).parent / "config.toml")
    lecture = read_classeur(Path(path))
    suivis = follow_up(lecture.classeur, [], REFERENCE, config)
    rows = {f.row: (f.numero, suivis[f.numero]) for f in lecture.classeur.factures}
    start = time.perf_counter()
    ecriture = write_back(Path(path), lecture.empreinte, rows, [], identifiant="benchmark")
    print(time.perf_counter() - start, ecriture.lignes)


CALAMINE_READ = ("import pandas as pd, sys; "
                 "pd.read_excel(sys.argv[1], sheet_name=None, engine='calamine')")


def build_due(path: Path, count: int, actions: int) -> Path:
    """A workbook of `count` invoices over count/5 clients where `actions` clients have an
    invoice at its first reminder today, the others' invoices not yet due or paid: a run
    with a known number of messages, whatever the size; formulas carry their cached values."""
    import datetime
    import random
    from decimal import Decimal

    rng = random.Random(2026)
    n_clients = max(count // 5, actions, 1)
    clients = [(f"Client {i:05d}", f"Contact {i}", f"compta{i}@client{i}.fr",
                "04 00 00 00 00", f"{i} rue du Test\n69000 Lyon", "fr", "professionnel", "", None)
               for i in range(n_clients)]
    rows = []
    for i in range(count):
        client = i % n_clients
        amount = Decimal(rng.randint(5000, 900000)) / 100
        if client < actions and i < n_clients:
            due = REFERENCE - datetime.timedelta(days=4)   # first reminder due today
            paid = None
        else:
            due = REFERENCE + datetime.timedelta(days=rng.randint(1, 60))
            paid = amount if rng.random() < 0.2 else None
        rows.append(dict(client=f"Client {client:05d}", numero=f"F-{i:06d}",
                         date_facture=due - datetime.timedelta(days=30), echeance=due,
                         montant=amount, paye=paid, statut="Payée" if paid else "", etape=None,
                         promesse=None, notes=None))
    write_workbook(path, rows, clients)
    return with_cached_values(path, rows)


def with_cached_values(path: Path, rows: list[dict]) -> Path:
    """Excel and LibreOffice store each formula's last value beside it; openpyxl stores none,
    and a formula without its value is an unknown value that the tool must examine. The
    workbook gets the values Excel would have saved (Reste dû = Montant TTC − Payé, and the
    totals), so that it is measured as users' files are."""
    import re
    import zipfile
    from decimal import Decimal

    rests = [r["montant"] - (r["paye"] or Decimal(0)) for r in rows]
    sums = {"E": sum((r["montant"] for r in rows), Decimal(0)),
            "F": sum((r["paye"] or Decimal(0) for r in rows), Decimal(0)),
            "G": sum(rests, Decimal(0))}

    def value(match: re.Match) -> bytes:
        column, row = match.group(2).decode(), int(match.group(3))
        if column == "G" and 2 <= row < len(rows) + 2:
            number = rests[row - 2]
        elif column in sums and row == len(rows) + 2:
            number = sums[column]
        else:
            return match.group(0)
        return match.group(1) + b"<v>" + format(number, "f").encode() + b"</v>"

    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    pattern = re.compile(rb'(<c r="([A-Z]+)(\d+)"[^>]*><f>[^<]*</f>)<v\s*/?>(?:</v>)?')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts:
            if info.filename == "xl/worksheets/sheet1.xml":
                data = pattern.sub(value, data)
            target.writestr(info, data)
    return path


def median_of(repeats: int, measure) -> tuple[float, float, object]:
    """(median seconds, highest peak MiB, last extra) of `repeats` measures."""
    import statistics

    runs = [measure() for _ in range(repeats)]
    return (statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2])


def emails_per_second(folder: Path) -> tuple[float, int]:
    """Messages rendered and built (MIME, attachments) per second for the workbook's plan."""
    import datetime

    from relances.config import load_config
    from relances.delivery import build_email
    from relances.policy import decide
    from relances.render import Renderer
    from relances.adresses import parse_expediteur

    config = load_config(folder / "config.toml")
    classeur = read_classeur(config.classeur).classeur
    plan = decide(classeur, [], REFERENCE, config)
    emails = [a for a in plan.actions if a.canal == "email"]
    sender = parse_expediteur(config.envoi.expediteur, "expediteur")
    now = datetime.datetime(2026, 11, 22, 7, 30)
    start = time.perf_counter()
    renderer = Renderer(config, classeur, REFERENCE, [])
    for action in emails:
        build_email(renderer.render(action), sender, now).as_bytes()
    seconds = time.perf_counter() - start
    return (len(emails) / seconds if seconds else 0.0), len(emails)


def bench_sizes(sizes: list[int], repeats: int, actions: int) -> None:
    """Each size: the tool against the bare library operations on the same file, as medians
    of `repeats` runs, each in a process of its own (whole processes, imports included, as a
    user waits for them)."""
    print(f"Médianes de {repeats} exécutions ; chaque mesure est un processus entier.")
    print("| factures | lecture calamine | openpyxl chargement | openpyxl ch. + enr. | "
          "plan seul (--dry-run --json) | exécution complète | 2e exécution | "
          "pic mémoire : openpyxl ch. / plan / exécution |")
    print("|---|---|---|---|---|---|---|---|")
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            prepare(folder)
            config = folder / "config.toml"
            config.write_text(config.read_text("utf-8").replace('dossier = "factures"',
                                                                 'dossier = ""'), "utf-8")
            workbook = folder / "relances.xlsx"
            build_due(workbook, count, actions)
            pristine = folder / "pristine.xlsx"
            shutil.copy(workbook, pristine)
            calamine, _, _ = median_of(repeats, lambda: measured(
                [sys.executable, "-c", CALAMINE_READ, str(workbook)])[:3])
            load, load_peak, _ = median_of(repeats, lambda: measured(
                [sys.executable, "-c", OPENPYXL_LOAD, str(workbook)])[:3])
            load_save, _, _ = median_of(repeats, lambda: measured(
                [sys.executable, "-c", OPENPYXL_LOAD_SAVE, str(workbook),
                 str(folder / "openpyxl.xlsx")])[:3])
            plan, plan_peak, _ = median_of(repeats, lambda: timed_run(folder, "--dry-run",
                                                                      "--json"))
            rate, n_emails = emails_per_second(folder)

            def fresh_run():
                shutil.copy(pristine, workbook)
                for leftover in (folder / "relances.journal.sqlite", folder / "sortie"):
                    if leftover.is_dir():
                        shutil.rmtree(leftover)
                    else:
                        leftover.unlink(missing_ok=True)
                return timed_run(folder)

            full, full_peak, status = median_of(repeats, fresh_run)
            mtime = workbook.stat().st_mtime_ns
            again, _, _ = median_of(repeats, lambda: timed_run(folder))
            untouched = "non réécrit" if workbook.stat().st_mtime_ns == mtime else "RÉÉCRIT"
            messages = n_emails / rate if rate else 0.0
            budget = 0.5 * load_save + messages
            print(f"| {count} | {calamine:.2f} s | {load:.2f} s | {load_save:.2f} s | "
                  f"{plan:.2f} s ({plan / calamine:.2f} × calamine ; visé ≤ 1,5) | "
                  f"{full:.2f} s, {n_emails} e-mails, statut {status} ({full / budget:.2f} × "
                  f"[0,5 × openpyxl ch. + enr. + {messages:.2f} s de messages] ; visé ≤ 1) | "
                  f"{again:.2f} s, {untouched} | {load_peak:.0f} / {plan_peak:.0f} / "
                  f"{full_peak:.0f} Mio ({full_peak / load_peak:.2f} × ; visé ≤ 1) |",
                  flush=True)
            print(f"    e-mails construits : {rate:.0f} par seconde (rendu des modèles + MIME)",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--tailles", default="1000,10000,50000",
                        help="nombres de factures des classeurs générés")
    parser.add_argument("--repetitions", type=int, default=3,
                        help="mesures par chiffre (la médiane est donnée)")
    parser.add_argument("--actions", type=int, default=200,
                        help="e-mails dus le jour de l'exécution, quelle que soit la taille")
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
    bench_sizes([int(n) for n in options.tailles.split(",") if n], options.repetitions,
                options.actions)
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
    from relances.policy import decide
    from relances.reprise import taken_over
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
