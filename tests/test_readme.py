"""The README is the user's reference: its commands must be the ones that work."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

from conftest import ROOT


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_ci_runs_exactly_the_readmes_test_command():
    install_and_test = shell_blocks()[1]
    assert install_and_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readmes_first_command_runs_the_example_in_its_own_folder(tmp_path):
    """The part of the first command after the install, run in a copy of the project."""
    first = shell_blocks()[0]
    # pip alone: no system package to install first
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")
    steps = first.split(" && ")[2:]
    assert steps[0] == "cp exemple/relances.xlsx.example exemple/relances.xlsx"
    for folder in ("exemple", "scripts", "src"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("relances.xlsx", "*.sqlite*", "sortie",
                                                      "sauvegardes", "*.log", "__pycache__"))
    for step in steps:
        words = [sys.executable if w == ".venv/bin/python" else w for w in shlex.split(step)]
        done = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1), done.stderr
    assert "Café du Commerce : aucune adresse e-mail utilisable" in done.stdout
    assert len(list((tmp_path / "exemple" / "sortie").rglob("*.eml"))) == 5
    assert (tmp_path / "exemple" / "sortie" / "2026-11-22" / "2026-11-22-a-imprimer.pdf").exists()
    # The formal notice holds on one page, signature included; the invoice copy follows it.
    from pypdf import PdfReader

    (notice,) = (tmp_path / "exemple" / "sortie").rglob("*mise_en_demeure.pdf")
    pages = [page.extract_text() for page in PdfReader(notice).pages]
    assert len(pages) == 2 and "Marie Dupont" in pages[0] and "Pièce jointe" in pages[0]
    assert (tmp_path / "exemple" / "relances.journal.sqlite").exists()
    assert not (tmp_path / "relances.journal.sqlite").exists()  # the root stays the user's


def test_the_examples_config_is_the_projects_but_for_its_paths_and_identity():
    import tomllib

    ours = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    example = tomllib.loads((ROOT / "exemple" / "config.toml").read_text(encoding="utf-8"))
    # The project's names nobody (to fill in); the example's is Atelier Dupont's.
    for key in ("nom", "adresse", "email", "telephone", "siret", "iban", "signataire"):
        assert ours["entreprise"].pop(key) == "" and example["entreprise"].pop(key)
    assert ours["envoi"].pop("expediteur") == "" and example["envoi"].pop("expediteur")
    assert ours.pop("classeur") == example.pop("classeur") == "relances.xlsx"
    assert ours == example
