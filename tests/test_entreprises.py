"""relancer.py --tous keeps companies apart: two companies that resolve to the same workbook,
journal or output folder are refused before anything runs; a company that hangs is stopped
after --delai-max and the others still run."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from relances.cli import relancer
from relances.exemple import write_workbook

from conftest import ROOT, TODAY, client_row, copy_config, invoice_row


def company(folder: Path, example: bool = False, **config: str) -> Path:
    """A company folder: its config.toml (keys of [envoi] or the top level replaced), and a
    workbook — the example's, or one invoice overdue for Alpha."""
    folder.mkdir(parents=True)
    path = copy_config(folder)
    text = path.read_text("utf-8")
    for key, value in config.items():
        line = next(l for l in text.splitlines() if l.startswith(f"{key} = "))
        text = text.replace(line, f'{key} = "{value}"', 1)
    path.write_text(text, "utf-8")
    if example:
        shutil.copy(ROOT / "exemple" / "relances.xlsx.example", folder / "relances.xlsx")
    else:
        write_workbook(folder / "relances.xlsx", [invoice_row()], [client_row()])
    return folder


def tous(cabinet: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--tous", str(cabinet), "--date", TODAY.isoformat(),
                                           *args])
    assert "Traceback" not in result.output
    return result


def nothing_ran(*folders: Path) -> bool:
    return not any((f / name).exists() for f in folders
                   for name in ("relances.journal.sqlite", "sortie", "relances.log"))


def test_two_companies_on_the_same_workbook_are_refused_before_anything_runs(tmp_path):
    alpha = company(tmp_path / "alpha")
    beta = company(tmp_path / "beta")
    (beta / "relances.xlsx").unlink()
    (beta / "relances.xlsx").symlink_to(alpha / "relances.xlsx")  # another name, same file
    result = tous(tmp_path)
    assert result.exit_code == 2
    assert (f"Erreur : alpha et beta ont le même classeur : {alpha / 'relances.xlsx'}"
            in result.output)
    assert "rien n’a été fait" in result.output and "=== alpha ===" not in result.output
    assert nothing_ran(alpha, beta)


def test_two_companies_writing_to_one_output_folder_are_refused(tmp_path):
    commun = tmp_path / "commun" / "sortie"
    alpha = company(tmp_path / "alpha", dossier="../commun/sortie")
    beta = company(tmp_path / "beta", dossier=f"{tmp_path}/./commun/../commun/sortie")
    gamma = company(tmp_path / "gamma")
    result = tous(tmp_path, "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"Erreur : alpha et beta ont le même dossier de sortie : {commun}" in result.output
    assert nothing_ran(alpha, beta, gamma) and not commun.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFO on this system")
def test_a_hanging_company_is_stopped_and_the_others_still_run(tmp_path):
    # alpha's workbook is a FIFO nobody writes to: reading it blocks for ever, for real.
    alpha = company(tmp_path / "alpha")
    (alpha / "relances.xlsx").unlink()
    os.mkfifo(alpha / "relances.xlsx")
    beta = company(tmp_path / "beta")

    start = time.monotonic()
    result = tous(tmp_path, "--delai-max", "8")
    assert time.monotonic() - start < 60
    assert result.exit_code == 1  # not 0: alpha's run may be incomplete
    out = result.output
    stopped = ("ARRÊTÉE après 8 s (--delai-max) : son exécution est peut-être incomplète. Le "
               "journal garde trace de chaque action : une nouvelle exécution ne refait pas ce "
               "qui est parti")
    assert f"Erreur : alpha : {stopped}" in out
    assert f"  - alpha : {stopped}" in out
    assert "  - beta : fait" in out
    assert len(list(beta.glob("sortie/*/emails/*.eml"))) == 1  # beta really ran

    plan = json.loads(tous(tmp_path, "--delai-max", "4", "--dry-run", "--json").stdout)
    assert plan["exit_status"] == 1
    first, second = plan["companies"]
    assert first["company"] == "alpha" and first["exit_status"] == 1
    assert first["error"].startswith("ARRÊTÉE après 4 s") and "plan" not in first
    assert second == {"company": "beta", "exit_status": 0, "plan": second["plan"]}
    assert second["plan"]["actions"] == []  # the real run above sent it: nothing twice


def test_delai_max_belongs_to_tous(tmp_path):
    company(tmp_path / "alpha")
    result = CliRunner().invoke(relancer, ["--config", str(tmp_path / "alpha" / "config.toml"),
                                           "--delai-max", "5"])
    assert result.exit_code == 2 and "--delai-max ne sert qu’avec --tous" in result.output
    result = CliRunner().invoke(relancer, ["--tous", str(tmp_path), "--delai-max", "0"])
    assert result.exit_code == 2 and "au moins 1" in result.output


def test_each_company_runs_with_the_same_relances_from_any_folder(tmp_path):
    """The companies' processes import this relances even when run from elsewhere through
    scripts/relancer.py (which puts src/ on the path itself)."""
    import subprocess

    company(tmp_path / "alpha")
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "relancer.py"), "--tous",
                           str(tmp_path), "--date", TODAY.isoformat(), "--dry-run", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=environ)
    assert done.returncode == 0, done.stderr
    (alpha,) = json.loads(done.stdout)["companies"]
    assert alpha["company"] == "alpha" and len(alpha["plan"]["actions"]) == 1


def cabinet(root: Path) -> Path:
    """Four companies: two with a reminder due, the example's (several, and problems), one whose
    workbook is not a workbook (nothing can be done: status 2)."""
    company(root / "alpha")
    company(root / "beta", example=True)
    gamma = company(root / "gamma")
    (gamma / "relances.xlsx").write_bytes(b"not a zip: a workbook saved half-way")
    company(root / "delta")
    return root


def same_words(result, root: Path) -> str:
    """What a run said, without what differs from one run to the next: where the companies
    are, and the time stamp of the workbook's backup."""
    import re

    return re.sub(r"\d{8}-\d{6}", "AAAAMMJJ-HHMMSS", result.output.replace(str(root), "CABINET"))


def test_parallel_runs_say_what_sequential_runs_say(tmp_path):
    one = cabinet(tmp_path / "un")
    many = cabinet(tmp_path / "plusieurs")
    for args in (("--dry-run", "--json"), ("--dry-run",), (), ("--json",)):
        sequential = tous(one, "--parallele", "1", *args)
        parallel = tous(many, "--parallele", "4", *args)
        assert sequential.exit_code == parallel.exit_code == 2, args
        assert same_words(parallel, many) == same_words(sequential, one), args
        if "--json" in args:
            assert json.loads(parallel.stdout) == json.loads(sequential.stdout)
    out = tous(many, "--dry-run").output
    # Each company's messages under its name, in the companies' order, whatever ended first.
    assert (out.index("=== alpha ===") < out.index("=== beta ===") < out.index("=== delta ===")
            < out.index("=== gamma ===") < out.index("Erreur : relances.xlsx : ce n’est pas un "
                                                     "classeur Excel") < out.index("Ensemble"))
    summary = out.split("Ensemble — ")[1]
    assert summary.splitlines()[1:] == [
        "  - alpha : fait", "  - beta : fait, avec des problèmes (voir plus haut)",
        "  - delta : fait", summary.splitlines()[4]]
    assert summary.splitlines()[4].startswith("  - gamma : RIEN N’A PU ÊTRE FAIT (")
    assert len(list((many / "alpha").glob("sortie/*/emails/*.eml"))) == 1  # really ran


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFO on this system")
def test_companies_run_at_the_same_time_and_a_hanging_one_stops_none(tmp_path):
    # Two workbooks are FIFOs nobody writes to: their runs block for ever, for real.
    for name in ("alpha", "beta"):
        folder = company(tmp_path / name)
        (folder / "relances.xlsx").unlink()
        os.mkfifo(folder / "relances.xlsx")
    gamma = company(tmp_path / "gamma")
    (gamma / "relances.xlsx").write_bytes(b"PK\x03\x04 broken")
    delta = company(tmp_path / "delta")

    start = time.monotonic()
    result = tous(tmp_path, "--delai-max", "6", "--parallele", "4")
    elapsed = time.monotonic() - start
    assert elapsed < 11  # one after the other, the two hanging ones alone take 12 s
    assert result.exit_code == 2
    lines = result.output.split("Ensemble — ")[1].splitlines()
    assert lines[0] == "4 entreprise(s), statut de sortie 2 :"
    assert lines[1].startswith("  - alpha : ARRÊTÉE après 6 s (--delai-max)")
    assert lines[2].startswith("  - beta : ARRÊTÉE après 6 s (--delai-max)")
    assert lines[3] == "  - delta : fait"
    assert lines[4].startswith("  - gamma : RIEN N’A PU ÊTRE FAIT (")
    assert len(list(delta.glob("sortie/*/emails/*.eml"))) == 1


def running_children(pid: int) -> set[int]:
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir() or not hasattr(os, "mkfifo"),
                    reason="needs /proc and FIFOs to watch the processes")
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_stopping_tous_stops_every_company_process(tmp_path, signal_name):
    import signal
    import subprocess

    for name in ("alpha", "beta"):
        folder = company(tmp_path / name)
        (folder / "relances.xlsx").unlink()
        os.mkfifo(folder / "relances.xlsx")
    parent = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "relancer.py"), "--tous",
                               str(tmp_path), "--date", TODAY.isoformat(), "--parallele", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(children := running_children(parent.pid)) < 2:
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.2)
    time.sleep(1)  # the children are past their start
    parent.send_signal(getattr(signal, signal_name))
    out, err = parent.communicate(timeout=30)
    assert parent.returncode == 2
    assert ("Erreur : interrompu : exécution arrêtée pour alpha, beta ; le journal de chaque "
            "entreprise garde trace de chaque action" in err)
    assert "Traceback" not in err
    for child in children:
        assert not Path(f"/proc/{child}").exists()  # stopped, and reaped: no orphan


def test_parallele_belongs_to_tous(tmp_path):
    company(tmp_path / "alpha")
    result = CliRunner().invoke(relancer, ["--config", str(tmp_path / "alpha" / "config.toml"),
                                           "--parallele", "2"])
    assert result.exit_code == 2 and "--parallele ne sert qu’avec --tous" in result.output
    result = CliRunner().invoke(relancer, ["--tous", str(tmp_path), "--parallele", "0"])
    assert result.exit_code == 2 and "--parallele : un nombre d’entreprises d’au moins 1" in (
        result.output)
