"""The README is the user's reference: its commands must be the ones that work."""

from __future__ import annotations

import re

from conftest import ROOT


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_ci_runs_exactly_the_readmes_test_command():
    install_and_test = shell_blocks()[1]
    assert install_and_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readmes_first_command_runs_the_shipped_example():
    first = shell_blocks()[0]
    assert "cp relances.xlsx.example relances.xlsx" in first
    assert "scripts/relancer.py --date 2026-11-22" in first
