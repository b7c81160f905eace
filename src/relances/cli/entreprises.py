"""`relancer.py --tous`: companies kept apart — no two sharing a workbook, journal or output
folder, and each run in a process of its own, stopped when it takes too long.

A process (not a thread) because a company can hang where Python cannot interrupt it: an SMTP
server that accepts and never answers, a workbook on a network share that stopped answering.
`subprocess` with a timeout stops it the same way on Windows, macOS and Linux.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import click

from ..config import Config
from .commun import EXIT_FAILED, EXIT_PARTIAL

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


def run_company(config_path: Path, date_: datetime.date | None, dry_run: bool,
                as_json: bool, delai: int) -> tuple[int, object, str | None]:
    """One company's daily run, in its own process: (exit status, its summary text or JSON
    plan or None, an error). Its messages on standard error are passed on as they are."""
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
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=delai, env=environ, cwd=config_path.parent)
    except subprocess.TimeoutExpired as exc:
        _pass_on(exc.stderr)
        stopped = (f"{ARRETEE} après {delai} s (--delai-max) : son exécution est peut-être "
                   "incomplète. Le journal garde trace de chaque action : une nouvelle "
                   "exécution ne refait pas ce qui est parti et vérifie ce qui était en cours "
                   f"(python scripts/relancer.py --config {config_path})")
        click.echo(f"Erreur : {config_path.parent.name} : {stopped}", err=True)
        return EXIT_PARTIAL, None, stopped
    _pass_on(done.stderr)
    out = done.stdout.decode("utf-8", "replace")
    error = _last_error(done.stderr) if done.returncode == EXIT_FAILED else None
    if not as_json:
        return done.returncode, out.rstrip("\n") or None, error
    try:
        return done.returncode, json.loads(out) if out.strip() else None, error
    except ValueError:
        return EXIT_FAILED, None, error or "résultat illisible (JSON attendu)"


def _pass_on(stderr: bytes | str | None) -> None:
    if stderr:
        text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
        click.echo(text.rstrip("\n"), err=True)


def _last_error(stderr: bytes) -> str | None:
    lines = [line[len("Erreur : "):] for line in
             stderr.decode("utf-8", "replace").splitlines() if line.startswith("Erreur : ")]
    return lines[-1] if lines else None
