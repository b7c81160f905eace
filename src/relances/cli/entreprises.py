"""`relancer.py --tous`: companies kept apart — no two sharing a workbook, journal or output
folder, and each run in a process of its own, stopped when it takes too long; up to
`--parallele` of them at a time, the summary in the companies' order whatever finishes first.

A process (not a thread) because a company can hang where Python cannot interrupt it: an SMTP
server that accepts and never answers, a workbook on a network share that stopped answering.
`subprocess` with a timeout stops it the same way on Windows, macOS and Linux. Threads only
wait for the processes; a Ctrl-C or SIGTERM stops every process still running.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import Config, load_config
from ..errors import RelancesError
from .commun import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, companies, fail

if TYPE_CHECKING:
    from concurrent.futures import Future

DELAI_MAX = 600  # seconds one company may take with --tous (--delai-max)
ARRETEE = "ARRÊTÉE"

# What each company must have to itself, and how a clash is named.
PROPRES = (("classeur", "le même classeur"), ("journal", "le même journal"),
           ("sortie", "le même dossier de sortie"))


def _paths(config: Config) -> dict[str, Path]:
    return {"classeur": config.classeur, "journal": config.journal,
            "sortie": config.envoi.dossier}


def same_place(path: Path) -> tuple:
    """What identifies a file or folder: the file itself when it exists (a symbolic link, a
    hard link, another spelling of the same path are the same), else its absolute path —
    without case where the file system ignores it (Windows, macOS)."""
    resolved = path.resolve()
    try:
        stat = resolved.stat()
        return ("fichier", stat.st_dev, stat.st_ino)
    except OSError:
        text = os.path.normcase(str(resolved))
        return ("chemin", text.casefold() if sys.platform in ("win32", "darwin") else text)


def shared_paths(configs: dict[str, Config]) -> list[str]:
    """Each workbook, journal or output folder that two companies share, in French: « alpha
    et beta ont le même classeur : /srv/…/relances.xlsx »."""
    seen: dict[tuple, tuple[str, str]] = {}
    clashes, pairs = [], set()
    for name, config in configs.items():
        for kind, path in _paths(config).items():
            key = same_place(path)
            if key not in seen:
                seen[key] = (name, kind)
                continue
            other, other_kind = seen[key]
            if other == name or frozenset((other, name)) in pairs:
                continue
            pairs.add(frozenset((other, name)))
            what = dict(PROPRES)[kind] if kind == other_kind else "le même fichier ou dossier"
            clashes.append(f"{other} et {name} ont {what} : {path.resolve()}")
    return clashes


@dataclass(frozen=True)
class Execution:
    """One company's run as its process ended: its exit status, its summary text or JSON plan
    (None when it failed), the error to show in the combined summary, and what it wrote on
    standard error — passed on in the companies' order, not as processes finish."""

    code: int
    sortie: object
    erreur: str | None
    messages: str = ""


class Processus:
    """The companies' processes still running, so that an interruption stops them all: none
    is started once stopping began, none is left behind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen] = {}
        self.arrete = False

    def start(self, command: list[str], **options) -> subprocess.Popen | None:
        with self._lock:
            if self.arrete:
                return None
            process = subprocess.Popen(command, **options)
            self._running[process.pid] = process
            return process

    def done(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._running.pop(process.pid, None)

    def stop_all(self) -> None:
        with self._lock:
            self.arrete = True
            running = list(self._running.values())
        for process in running:
            process.terminate()  # TerminateProcess on Windows, SIGTERM elsewhere
        for process in running:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_company(config_path: Path, date_: datetime.date | None, dry_run: bool,
                as_json: bool, delai: int, processus: Processus | None = None) -> Execution:
    """One company's daily run, in its own process stopped after `delai` seconds."""
    import relances

    command = [sys.executable, "-c", "from relances.cli.relancer import main; main()",
               "--config", str(config_path)]
    if date_ is not None:
        command += ["--date", date_.isoformat()]
    command += ["--dry-run"] * dry_run + ["--json"] * as_json
    environ = dict(os.environ, PYTHONIOENCODING="utf-8")
    # The same relances as this one, wherever it was imported from (scripts/ puts src/ first).
    root = str(Path(relances.__file__).resolve().parent.parent)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, (root, environ.get("PYTHONPATH"))))
    processus = processus or Processus()
    process = processus.start(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=environ, cwd=config_path.parent)
    if process is None:
        return Execution(EXIT_FAILED, None, INTERROMPUE)
    try:
        out, err = process.communicate(timeout=delai)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        stopped = (f"{ARRETEE} après {delai} s (--delai-max) : son exécution est peut-être "
                   "incomplète. Le journal garde trace de chaque action : une nouvelle "
                   "exécution ne refait pas ce qui est parti et vérifie ce qui était en cours "
                   f"(python scripts/relancer.py --config {config_path})")
        said = f"Erreur : {config_path.parent.name} : {stopped}"
        return Execution(EXIT_PARTIAL, None, stopped, "\n".join(filter(None, (_text(err), said))))
    finally:
        processus.done(process)
    messages = _text(err)
    if process.returncode not in (EXIT_OK, EXIT_PARTIAL, EXIT_FAILED):
        # Killed (by us when interrupted, by the system when out of memory) or a crash of the
        # interpreter itself: nothing says how far it went.
        what = INTERROMPUE if processus.arrete else (
            f"processus arrêté (statut {process.returncode}) : son exécution est peut-être "
            "incomplète ; relancez-la seule, le journal garde trace de chaque action")
        return Execution(EXIT_FAILED, None, what, messages)
    error = _last_error(messages) if process.returncode == EXIT_FAILED else None
    text = out.decode("utf-8", "replace")
    if not as_json:
        return Execution(process.returncode, text.rstrip("\n") or None, error, messages)
    try:
        return Execution(process.returncode, json.loads(text) if text.strip() else None, error,
                         messages)
    except ValueError:
        return Execution(EXIT_FAILED, None, error or "résultat illisible (JSON attendu)",
                         messages)


INTERROMPUE = "interrompue (Ctrl-C ou arrêt demandé) avant la fin"


def _text(stderr: bytes | None) -> str:
    return (stderr or b"").decode("utf-8", "replace").rstrip("\n")


def _last_error(stderr: str) -> str | None:
    lines = [line[len("Erreur : "):] for line in stderr.splitlines()
             if line.startswith("Erreur : ")]
    return lines[-1] if lines else None


class _Arret(Exception):
    """SIGTERM received: stop every company's process, then exit."""


def _on_sigterm(signum, frame) -> None:
    raise _Arret


def run_all(dossier: Path, date_: datetime.date | None, dry_run: bool, as_json: bool,
            delai: int, parallele: int) -> None:
    """--tous: the daily run of every company below `dossier`, each in a process of its own
    stopped after `delai` seconds, `parallele` at a time; one combined summary in the
    companies' order, and the worst exit status — the same as one after the other. Companies
    sharing a workbook, journal or output folder: nothing is run."""
    if delai < 1:
        fail("--delai-max : un nombre de secondes d’au moins 1 est attendu ; voir --help")
    if parallele < 1:
        fail("--parallele : un nombre d’entreprises d’au moins 1 est attendu (1 : l’une après "
             "l’autre) ; voir --help")
    results, configs = [], {}
    for path in companies(dossier):
        name = path.parent.name
        try:
            configs[name] = load_config(path)
        except RelancesError as exc:
            click.echo(f"Erreur : {name} : {exc}", err=True)
            results.append((name, EXIT_FAILED, None, str(exc)))
    if clashes := shared_paths(configs):
        for clash in clashes:
            click.echo(f"Erreur : {clash}", err=True)
        fail("chaque entreprise doit avoir son propre classeur (donc son journal) et son "
             "propre dossier de sortie : rien n’a été fait (voir le README, « Plusieurs "
             "entreprises »)")
    from concurrent.futures import ThreadPoolExecutor

    processus = Processus()
    pool = ThreadPoolExecutor(max_workers=min(parallele, max(len(configs), 1)))
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: no handler, Ctrl-C still stops the processes
        previous = None
    try:
        runs = {name: pool.submit(run_company, config.path, date_, dry_run, as_json, delai,
                                  processus) for name, config in configs.items()}
        for name, future in runs.items():
            if not as_json:
                click.echo(f"=== {name} ===")
            execution = _wait(future)
            if execution.messages:
                click.echo(execution.messages, err=True)
            if execution.sortie is not None and not as_json:
                click.echo(execution.sortie)
                click.echo("")
            results.append((name, execution.code, execution.sortie, execution.erreur))
    except (KeyboardInterrupt, _Arret):
        processus.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        done = {name for name, *_ in results}
        stopped = [name for name in configs if name not in done]
        fail("interrompu : " + (f"exécution arrêtée pour {', '.join(stopped)} ; "
                                if stopped else "") +
             "le journal de chaque entreprise garde trace de chaque action, une nouvelle "
             "exécution ne refait pas ce qui est parti")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        pool.shutdown(wait=False)
    results.sort(key=lambda r: r[0])
    worst = max(code for _, code, _, _ in results)
    if as_json:
        click.echo(json.dumps({"companies": [
            {"company": name, "exit_status": code, **({"plan": output} if output else {}),
             **({"error": error} if error else {})}
            for name, code, output, error in results], "exit_status": worst},
            ensure_ascii=False))
        sys.exit(worst)
    words = {EXIT_OK: "fait", EXIT_PARTIAL: "fait, avec des problèmes (voir plus haut)",
             EXIT_FAILED: "RIEN N’A PU ÊTRE FAIT"}
    click.echo(f"Ensemble — {len(results)} entreprise(s), statut de sortie {worst} :")
    for name, code, _, error in results:
        if error and error.startswith(ARRETEE):
            click.echo(f"  - {name} : {error}")
            continue
        click.echo(f"  - {name} : {words[code]}" + (f" ({error})" if error else ""))
    sys.exit(worst)


def _wait(future: Future) -> Execution:
    # A timed wait, again and again: Windows delivers Ctrl-C to a waiting thread only between
    # waits (POSIX interrupts a plain wait too).
    while True:
        try:
            return future.result(timeout=0.5)
        except TimeoutError:
            continue
