#!/usr/bin/env python3
"""Benchmark of the daily run: wall time and peak memory, on the example and on large workbooks.

    python scripts/benchmark.py [--tailles 1000,10000,50000] [--repetitions 3] [--actions 200]
                                [--courriers 100] [--smtp 200] [--releve-lignes 20000]

For each size, a generated workbook (with `--actions` first reminders due, whatever the size)
is measured, each measure in its own process so that the peak resident memory is that
process's alone, as medians of `--repetitions` runs: the bare library operations on the same
file (python-calamine read of every sheet, openpyxl load, openpyxl load + save), a plan-only run
(--dry-run --json), a full run in dossier mode, a second run the same day (which must not
rewrite the file), emails built per second; then letters per second and the SMTP cost. It
prints ratios tool / baseline against the aims: plan ≤ 1.5 × the calamine read; full run ≤
0.5 × openpyxl load + save plus the rendering of its messages; peak memory ≤ 1.0 × openpyxl's
load. Figures go to the issue notes, not to tests.

Then bank statements (`--releve-lignes`, 0 to skip): a generated statement of that many lines,
as a French bank's CSV (cp1252, `;`, decimal comma, Débit and Crédit) and as OFX 1.x, read by
`read_releve` against the bare library read of the same file (csv.reader over the decoded
text; ofxtools' TreeBuilder, the reader's own library path), and a plan-only import of the CSV
(`pointer.py --dry-run --json`) against a workbook of 1,000 invoices, against the CSV read plus
the calamine read of that workbook: seconds, lines per second, peak memory, with the ratios.
"""

from __future__ import annotations

import argparse
import os
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

from classeurs_mesure import build_due, prepare  # noqa: E402


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


# The bare library operation the read is held to: python-calamine, every sheet to Python lists.
CALAMINE_READ = ("import sys; from python_calamine import CalamineWorkbook; "
                 "b = CalamineWorkbook.from_path(sys.argv[1]); "
                 "[b.get_sheet_by_name(n).to_python() for n in b.sheet_names]")


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
            # The first run with nothing to do does the whole work (and keeps its result);
            # the following ones, nothing new, give it back.
            first_noop, _, _ = timed_run(folder)
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
            print(f"    1re exécution sans rien à faire (travail complet) : {first_noop:.2f} s "
                  f"({first_noop / calamine:.2f} × la lecture)", flush=True)
            targets = [("plan seul ≤ 1,5 × lecture calamine", plan / calamine, 1.5),
                       ("2e exécution sans rien à faire ≤ 1,5 × lecture", again / calamine, 1.5),
                       ("pic mémoire exécution ≤ 1,0 × chargement openpyxl",
                        full_peak / load_peak, 1.0),
                       ("pic mémoire plan ≤ 1,0 × chargement openpyxl",
                        plan_peak / load_peak, 1.0)]
            for label, ratio, aim in targets:
                print(f"    cible {label} : {ratio:.2f} × — "
                      f"{'atteint' if ratio <= aim else 'non atteint'}", flush=True)
            print(f"    cible e-mails ≥ 300 par seconde : {rate:.0f} — "
                  f"{'atteint' if rate >= 300 else 'non atteint'}", flush=True)


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
    parser.add_argument("--releve-lignes", type=int, default=20000,
                        help="lignes du relevé généré (CSV et OFX) ; 0 : pas de mesure "
                             "des relevés")
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
    bench_tous()
    bench_letters(options.courriers)
    bench_smtp(options.smtp)
    if options.releve_lignes > 0:
        bench_releves(options.releve_lignes, options.repetitions, options.actions)


def bench_tous() -> None:
    """`--tous` over 20 companies of 1,000 invoices, every core at once against one company
    after the other (scripts/mesures_demarrage.py, issue 23 item 4); and the import time of a
    run with nothing due."""
    from mesures_demarrage import import_time, tous_parallele

    with tempfile.TemporaryDirectory() as tmp:
        sequential = tous_parallele(Path(tmp), parallele=1)
        parallel = tous_parallele(Path(tmp))
    ratio = parallel / sequential
    print(f"--tous, 20 entreprises de 1 000 factures : {sequential:.1f} s l'une après l'autre, "
          f"{parallel:.1f} s en parallèle ({os.cpu_count()} cœurs)", flush=True)
    print(f"    cible --tous ≤ 0,6 × séquentiel : {ratio:.2f} × — "
          f"{'atteint' if ratio <= 0.6 else 'non atteint'}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(folder)
        shutil.copy(ROOT / "exemple" / "relances.xlsx.example", folder / "relances.xlsx")
        total, ranked = import_time(["--dry-run", "--date", REFERENCE.isoformat()], cwd=folder,
                                    repetitions=3, top=5)
    print(f"imports d'une simulation sur l'exemple : {total:.2f} s ("
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in ranked) + ")", flush=True)


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
    """Letters per second: `count` letters, rendered then laid out by Typst in one batch."""
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
        lettres = [(renderer.render(a).lettre, a.modele) for a in plan.actions]
        rendered = time.perf_counter() - start
        pdfs = render_pdfs(config.lettres, lettres)
        seconds = time.perf_counter() - start
        print(f"{len(pdfs)} courriers PDF : {seconds:.2f} s ({len(pdfs) / seconds:.1f} par "
              f"seconde ; modèles {rendered:.2f} s), {sum(map(len, pdfs)) / len(pdfs) / 1024:.0f} Kio "
              "par courrier")


# ------------------------------------------------------------------ bank statements

# The bare library operations on a statement file: Python's csv module reading every row of the
# decoded CSV into lists; ofxtools' tag parser building the element tree of the OFX body, the
# library path the project's reader takes (banque/format_ofx.py: TreeBuilder, not OFXTree's
# typed models, which refuse French banks' long names and decimal commas).
CSV_ROWS = ("import csv, io, sys; "
            "text = open(sys.argv[1], 'rb').read().decode('cp1252'); "
            "rows = list(csv.reader(io.StringIO(text, newline=''), delimiter=';'))")
OFX_TREE = ("import sys; from ofxtools.Parser import TreeBuilder; "
            "data = open(sys.argv[1], 'rb').read(); "
            "builder = TreeBuilder(); builder.feed(data[data.index(b'<OFX>'):].decode('cp1252')); "
            "builder.close()")
OFX_MODELS = ("import sys, warnings; warnings.simplefilter('ignore'); "
              "from ofxtools.Parser import OFXTree; tree = OFXTree(); tree.parse(sys.argv[1]); "
              "tree.convert()")
READ_RELEVE = ("import datetime, sys; sys.path.insert(0, sys.argv[1]); "
               "from pathlib import Path; from relances.banque.releves import read_releve; "
               "r = read_releve(Path(sys.argv[2]), None, "
               "datetime.date.fromisoformat(sys.argv[3])); "
               "print(len(r.operations), r.debits, len(r.anomalies))")

DEBITS = ("PRLV SEPA EDF", "PRLV SEPA URSSAF RHONE ALPES", "PRLV SEPA ORANGE SA",
          "CB CARREFOUR LYON 7 {d}", "CB STATION TOTAL VENISSIEUX {d}", "CB AMAZON EU SARL {d}",
          "FRAIS TENUE DE COMPTE", "VIR SEPA LOYER BUREAUX SCI DU PARC", "COTISATION CARTE PRO",
          "CHQ N° {n}", "PRLV SEPA DGFIP TVA", "CB SNCF INTERNET {d}")


def statement_lines(count: int, invoices: int) -> list[tuple]:
    """`count` (day, debit, credit, name, memo, fitid) lines over the year before the
    reference day, newest first as banks list them: three debits for one credit; credits
    name a client of the generated workbook or another payer, most with an invoice number
    of the workbook (`invoices` of them) or of nobody, a few with a long label."""
    import datetime
    import random
    from decimal import Decimal

    rng = random.Random(2027)
    lines = []
    for i in range(count):
        day = REFERENCE - datetime.timedelta(days=1 + i * 365 // max(count, 1))
        amount = Decimal(rng.randint(500, 900000)) / 100
        kind = rng.random()
        if kind < 0.75:
            name = rng.choice(DEBITS).format(d=f"{day:%d%m}", n=rng.randint(1000000, 9999999))
            lines.append((day, amount, None, name, "", f"{day:%Y%m%d}{i:07d}"))
            continue
        client = rng.randint(0, max(invoices // 5, 1) * 2)   # half of them are in the workbook
        invoice = rng.randint(0, invoices * 2)
        if kind < 0.93:
            name, memo = f"VIR SEPA CLIENT {client:05d}", f"FACT F-{invoice:06d}"
        elif kind < 0.97:
            name, memo = f"VIR INST CLIENT {client:05d}", f"REGLEMENT F-{invoice:06d} ET SOLDE"
        elif kind < 0.995:
            name, memo = f"REMISE CHEQUE {rng.randint(1000000, 9999999)}", ""
        else:
            name = f"VIR SEPA SOCIETE CLIENTE {client:05d} DE LYON ET DE LA REGION RHONE-ALPES"
            memo = " ".join(f"FACT F-{rng.randint(0, invoices * 2):06d}" for _ in range(20)) \
                + " REGLEMENT GROUPE SUITE A VOTRE RELANCE DU MOIS DERNIER, MERCI"
        lines.append((day, None, amount, name, memo, f"{day:%Y%m%d}{i:07d}"))
    return lines


def french_amount(amount) -> str:
    """1 534,60: a space between thousands, a decimal comma."""
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",") if amount is not None else ""


def write_csv_statement(path: Path, lines: list[tuple]) -> Path:
    """As the Crédit Agricole exports it: cp1252, `;`, a few lines about the account above
    the table, Débit and Crédit apart, labels quoted and on two lines when they have a memo."""
    out = ["Téléchargement du 21/11/2026;;;;", "Compte courant n° 12345678901;;;;",
           "Solde au 21/11/2026 : 12 345,67 €;;;;", ";;;;",
           "Date;Libellé;Débit euros;Crédit euros;"]
    for day, debit, credit, name, memo, _ in lines:
        label = f"{name}\n{memo}" if memo else name
        out.append(f'{day:%d/%m/%Y};"{label}";{french_amount(debit)};{french_amount(credit)};')
    path.write_bytes(("\r\n".join(out) + "\r\n").encode("cp1252"))
    return path


def write_ofx_statement(path: Path, lines: list[tuple]) -> Path:
    """The same transactions as OFX 1.x SGML, the way French banks write it (no closing tags
    on values, decimal comma, names longer than the standard's 32 characters)."""
    header = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
              "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")
    start, end = min(line[0] for line in lines), max(line[0] for line in lines)
    out = [header, "<OFX>\n<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
           f"<DTSERVER>{REFERENCE:%Y%m%d}<LANGUAGE>FRA</SONRS></SIGNONMSGSRSV1>\n"
           "<BANKMSGSRSV1><STMTTRNRS><TRNUID>00000000<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
           "<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>30002<BRANCHID>00550<ACCTID>0000123456F"
           "<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
           f"<BANKTRANLIST><DTSTART>{start:%Y%m%d}<DTEND>{end:%Y%m%d}\n"]
    for day, debit, credit, name, memo, fitid in lines:
        kind, amount = ("DEBIT", f"-{french_amount(debit)}") if debit is not None \
            else ("CREDIT", french_amount(credit))
        out.append(f"<STMTTRN><TRNTYPE>{kind}<DTPOSTED>{day:%Y%m%d}<TRNAMT>"
                   f"{amount.replace(' ', '')}<FITID>{fitid}<NAME>{name}"
                   + (f"<MEMO>{memo}" if memo else "") + "\n</STMTTRN>\n")
    out.append("</BANKTRANLIST><LEDGERBAL><BALAMT>12345,67<DTASOF>"
               f"{REFERENCE:%Y%m%d}</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n")
    path.write_bytes("".join(out).encode("cp1252"))
    return path


def per_second(count: int, seconds: float) -> str:
    """Lines per second, thousands apart: 12 345."""
    return format(round(count / seconds), ",").replace(",", " ") if seconds else "—"


def bench_releves(count: int, repeats: int, actions: int) -> None:
    """A statement of `count` lines, as CSV and as OFX: the bare library read of the same file
    against `read_releve`, then a plan-only import (`pointer.py --dry-run --json`) of the CSV
    against a workbook of 1,000 invoices, whose baseline is the CSV read plus the calamine
    read of that workbook. Medians of `repeats` runs, each a process of its own."""
    import json

    invoices = 1000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(folder)
        lines = statement_lines(count, invoices)
        files = {"CSV": (write_csv_statement(folder / "releve.csv", lines), CSV_ROWS),
                 "OFX": (write_ofx_statement(folder / "releve.ofx", lines), OFX_TREE)}
        del lines
        print(f"\nRelevés de {count} lignes (un quart de crédits), médianes de {repeats} "
              "exécutions ; chaque mesure est un processus entier.")
        print("| relevé | taille | lecture nue | read_releve | lignes par seconde | "
              "pic mémoire : lecture nue / read_releve |")
        print("|---|---|---|---|---|---|")
        bare = {}
        for kind, (path, library) in files.items():
            base, base_peak, _ = median_of(repeats, lambda: measured(
                [sys.executable, "-c", library, str(path)])[:3])
            bare[kind] = base, base_peak

            def read():
                seconds, peak, status, out = measured(
                    [sys.executable, "-c", READ_RELEVE, str(ROOT / "src"), str(path),
                     REFERENCE.isoformat()])
                return seconds, peak, (status, out.split())

            tool, tool_peak, (status, counts) = median_of(repeats, read)
            library_name = "csv.reader" if kind == "CSV" else "ofxtools TreeBuilder"
            credits, debits, anomalies = counts if len(counts) == 3 else ("?", "?", "?")
            print(f"| {kind} | {path.stat().st_size / 2**20:.1f} Mio | {base:.2f} s "
                  f"({library_name}) | {tool:.2f} s ({tool / base:.2f} × ; statut {status}, "
                  f"{credits} crédits, {debits} débits, {anomalies} anomalies) | "
                  f"{per_second(count, tool)} | {base_peak:.0f} / {tool_peak:.0f} Mio "
                  f"({tool_peak / base_peak:.2f} ×) |", flush=True)

        models, models_peak, status = median_of(repeats, lambda: measured(
            [sys.executable, "-c", OFX_MODELS, str(files["OFX"][0])])[:3])
        verdict = ("" if status == 0 else " ; échoue : ses modèles refusent un MEMO de plus "
                   "de 255 caractères, comme les libellés longs de ce relevé")
        print(f"    pour comparaison, ofxtools complet sur l’OFX (OFXTree.parse + convert, les "
              f"modèles typés que le lecteur évite) : {models:.2f} s, statut {status}, pic "
              f"mémoire {models_peak:.0f} Mio{verdict}", flush=True)
        workbook = folder / "relances.xlsx"
        build_due(workbook, invoices, actions)
        calamine, calamine_peak, _ = median_of(repeats, lambda: measured(
            [sys.executable, "-c", CALAMINE_READ, str(workbook)])[:3])
        csv_path = files["CSV"][0]

        def dry_run():
            seconds, peak, status, out = measured(
                [sys.executable, str(ROOT / "scripts" / "pointer.py"), "--config",
                 str(folder / "config.toml"), "--date", REFERENCE.isoformat(), "--dry-run",
                 "--json", str(csv_path)])
            return seconds, peak, (status, out)

        tool, tool_peak, (status, out) = median_of(repeats, dry_run)
        try:
            result = json.loads(out)
            found = (f"{len(result['matched'])} rapprochés, {len(result['to_review'])} à "
                     "vérifier")
        except ValueError:
            found = "sortie JSON illisible"
        base = bare["CSV"][0] + calamine
        base_peak = max(bare["CSV"][1], calamine_peak)
        print(f"Import du CSV contre {invoices} factures (pointer.py --dry-run --json) : "
              f"{tool:.2f} s, statut {status}, {found} ; {tool / base:.2f} × [lecture csv "
              f"{bare['CSV'][0]:.2f} s + lecture calamine du classeur {calamine:.2f} s] ; "
              f"{per_second(count, tool)} lignes par seconde ; pic mémoire {tool_peak:.0f} Mio "
              f"({tool_peak / base_peak:.2f} × le plus haut des deux, {base_peak:.0f} Mio)",
              flush=True)


if __name__ == "__main__":
    main()
