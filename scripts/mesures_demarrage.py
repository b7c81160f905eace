#!/usr/bin/env python3
"""Start-up and `--tous` measures of the daily run (issue 23), for scripts/benchmark.py:

- `import_time(args)`: what a run of scripts/relancer.py spends importing, read from
  `python -X importtime` (every import of the process, those a run makes on the way included),
  with the libraries that cost the most;
- `tous_parallele(folder, parallele=N)`: the wall time of `relancer.py --tous` over generated
  company folders, N companies at a time (`--parallele 1`: one after the other).

    python scripts/mesures_demarrage.py [--entreprises 20] [--factures 1000] [--repetitions 3]

prints both, for the example's workbook (a first run, then a second one with nothing to do)
and for `--tous` sequential against parallel.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELANCER = ROOT / "scripts" / "relancer.py"
sys.path.insert(0, str(ROOT / "src"))
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def _environ(pycache: str) -> dict[str, str]:
    # As a user's installation runs: with its compiled modules (PYTHONDONTWRITEBYTECODE would
    # count compiling relances each time), kept out of the source tree.
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environ["PYTHONPYCACHEPREFIX"] = pycache
    return environ


def parse_importtime(stderr: str) -> tuple[float, dict[str, float]]:
    """(seconds spent importing, seconds per top-level package) from `-X importtime` lines.
    A package's figure is the cumulative time of its outermost imports (its own dependencies
    included); relances' figure is its own modules' time alone (`relances (son code)`)."""
    rows = [(int(m[1]), int(m[2]), len(m[3]) // 2, m[4])
            for m in map(LINE.match, stderr.splitlines()) if m]
    total = sum(cumulative for _, cumulative, level, _ in rows if level == 0)
    by_package: dict[str, float] = {}
    stack: list[tuple[int, str]] = []
    # Children are printed before their parent: read backwards, parents come first.
    for own, cumulative, level, name in reversed(rows):
        while stack and stack[-1][0] >= level:
            stack.pop()
        package = name.partition(".")[0]
        parent = stack[-1][1].partition(".")[0] if stack else None
        stack.append((level, name))
        if package == "relances":
            by_package["relances (son code)"] = by_package.get("relances (son code)", 0) + own
        elif parent != package:
            by_package[package] = by_package.get(package, 0) + cumulative
    return total / 1e6, {name: us / 1e6 for name, us in by_package.items()}


def import_time(command_args: list[str], cwd: Path | None = None, repetitions: int = 5,
                top: int = 10) -> tuple[float, list[tuple[str, float]]]:
    """(median seconds spent importing, the `top` packages by median seconds) of
    `python -X importtime scripts/relancer.py *command_args`, after one run that compiles the
    modules. Each run is a process of its own; the command should leave its folder as it
    found it (--dry-run, or a second run with nothing to do)."""
    with tempfile.TemporaryDirectory() as pycache:
        command = [sys.executable, "-X", "importtime", str(RELANCER), *command_args]
        environ = _environ(pycache)
        subprocess.run(command, cwd=cwd, env=environ, capture_output=True)
        totals, packages = [], {}
        for _ in range(repetitions):
            done = subprocess.run(command, cwd=cwd, env=environ, capture_output=True,
                                  text=True)
            total, by_package = parse_importtime(done.stderr)
            totals.append(total)
            for name, seconds in by_package.items():
                packages.setdefault(name, []).append(seconds)
    medians = {name: statistics.median(values + [0.0] * (repetitions - len(values)))
               for name, values in packages.items()}
    ranked = sorted(medians.items(), key=lambda item: -item[1])[:top]
    return statistics.median(totals), ranked


def companies(folder: Path, n_companies: int, invoices: int, actions: int = 20) -> Path:
    """`folder/cabinet-modele`: `n_companies` company folders, each with the benchmark's
    config.toml and a workbook of `invoices` invoices where `actions` reminders are due —
    made once, copied for each measure."""
    model = folder / "cabinet-modele"
    if (model / f"entreprise-{n_companies - 1:02d}" / "relances.xlsx").exists():
        return model
    sys.path.insert(0, str(ROOT / "scripts"))
    from classeurs_mesure import build_due, prepare  # the benchmark's own generator

    first = model / "entreprise-00"
    first.mkdir(parents=True, exist_ok=True)
    prepare(first)
    config = first / "config.toml"
    config.write_text(config.read_text("utf-8").replace('dossier = "factures"', 'dossier = ""'),
                      "utf-8")
    build_due(first / "relances.xlsx", invoices, actions)
    for k in range(1, n_companies):
        shutil.copytree(first, model / f"entreprise-{k:02d}", dirs_exist_ok=True)
    return model


def tous_parallele(folder: Path, n_companies: int = 20, invoices: int = 1000,
                   parallele: int | None = None, repetitions: int = 1) -> float:
    """Median wall seconds of `relancer.py --tous` (real runs, emails written to the output
    folder) over `n_companies` fresh companies of `invoices` invoices, `parallele` at a time
    (None: the default, the number of cores)."""
    from relances.exemple import REFERENCE

    model = companies(Path(folder), n_companies, invoices)
    times = []
    for _ in range(repetitions):
        cabinet = Path(folder) / "cabinet"
        shutil.rmtree(cabinet, ignore_errors=True)
        shutil.copytree(model, cabinet)
        command = [sys.executable, str(RELANCER), "--tous", str(cabinet), "--date",
                   REFERENCE.isoformat()]
        if parallele is not None:
            command += ["--parallele", str(parallele)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"--tous : statut {done.returncode}\n{done.stderr[-2000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entreprises", type=int, default=20)
    parser.add_argument("--factures", type=int, default=1000)
    parser.add_argument("--repetitions", type=int, default=3)
    options = parser.parse_args()
    from relances.exemple import REFERENCE

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sys.path.insert(0, str(ROOT / "scripts"))
        from classeurs_mesure import prepare

        prepare(folder)
        shutil.copy(ROOT / "exemple" / "relances.xlsx.example", folder / "relances.xlsx")
        shutil.copytree(ROOT / "exemple" / "factures", folder / "factures")
        date = ["--date", REFERENCE.isoformat()]
        for title, args in (("simulation (--dry-run)", ["--dry-run"]),
                            ("2e exécution, rien à faire", None)):
            if args is None:  # the first real run does the day's work; the second measured
                subprocess.run([sys.executable, str(RELANCER), *date], cwd=folder,
                               capture_output=True)
                args = []
            total, ranked = import_time([*args, *date], cwd=folder,
                                        repetitions=options.repetitions)
            print(f"Imports, {title} : {total:.3f} s (médiane de {options.repetitions})")
            for name, seconds in ranked:
                print(f"  {name:28} {seconds * 1000:7.1f} ms")
        cores = os.cpu_count() or 1
        one = tous_parallele(folder, options.entreprises, options.factures, 1,
                             options.repetitions)
        many = tous_parallele(folder, options.entreprises, options.factures, cores,
                              options.repetitions)
        print(f"--tous, {options.entreprises} entreprises de {options.factures} factures : "
              f"l’une après l’autre {one:.2f} s, --parallele {cores} {many:.2f} s "
              f"({many / one:.2f} × ; visé ≤ 0,6 sur 2 cœurs)")


if __name__ == "__main__":
    main()
