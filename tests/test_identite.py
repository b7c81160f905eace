"""A safe start: the shipped config.toml names nobody, and nothing is sent or written under a
blank or borrowed identity."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from relances.cli import relancer
from relances.config import EXEMPLE_IDENTITE, load_config

from conftest import ROOT, TODAY, config_text

IDENTITE = ("nom", "adresse", "email", "telephone", "siret", "iban", "signataire")


def test_the_shipped_config_names_nobody():
    shipped = tomllib.loads((ROOT / "config.toml").read_text("utf-8"))
    assert {key: shipped["entreprise"][key] for key in IDENTITE} == dict.fromkeys(IDENTITE, "")
    assert shipped["envoi"]["expediteur"] == ""
    assert "dupont" not in (ROOT / "config.toml").read_text("utf-8").lower().replace(
        "marie dupont", "").replace("atelier dupont sarl", "")  # only as « ex. » in comments


def test_the_examples_identity_is_known_to_the_check():
    exemple = tomllib.loads((ROOT / "exemple" / "config.toml").read_text("utf-8"))["entreprise"]
    assert EXEMPLE_IDENTITE == {key: exemple[key] for key in EXEMPLE_IDENTITE}


def shipped_project(tmp_path: Path, config: str | None = None) -> Path:
    (tmp_path / "config.toml").write_text(
        config if config is not None else (ROOT / "config.toml").read_text("utf-8"), "utf-8")
    shutil.copy(ROOT / "exemple" / "relances.xlsx.example", tmp_path / "relances.xlsx")
    return tmp_path


def run(folder: Path, *args: str):
    return CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), "--date",
                                         TODAY.isoformat(), *args])


def untouched(folder: Path, workbook: bytes) -> None:
    assert (folder / "relances.xlsx").read_bytes() == workbook
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "relances.xlsx"]


def test_a_real_run_with_the_shipped_config_refuses_and_writes_nothing(tmp_path: Path):
    folder = shipped_project(tmp_path)
    workbook = (folder / "relances.xlsx").read_bytes()
    result = run(folder)
    assert result.exit_code == 2
    assert result.output == (
        "Erreur : config.toml : l’identité de votre entreprise n’est pas remplie : "
        "entreprise.nom, entreprise.adresse, entreprise.siret, entreprise.iban, entreprise.email "
        "(vides, ou encore ceux de l’exemple) ; rien n’a été envoyé ni écrit. Renseignez-les "
        f"dans {folder / 'config.toml'}, section [entreprise], puis relancez (--dry-run montre "
        "en attendant ce qui serait fait)\n")
    untouched(folder, workbook)  # no journal, no log, no output folder, no workbook write


def test_the_examples_identity_outside_its_folder_is_refused_by_name(tmp_path: Path):
    folder = shipped_project(tmp_path, (ROOT / "exemple" / "config.toml").read_text("utf-8"))
    workbook = (folder / "relances.xlsx").read_bytes()
    result = run(folder)
    assert result.exit_code == 2
    assert "entreprise.nom, entreprise.siret, entreprise.iban (vides, ou encore ceux de " \
           "l’exemple)" in result.output
    untouched(folder, workbook)


def test_verifier_reports_the_missing_identity(tmp_path: Path):
    folder = shipped_project(tmp_path)
    result = run(folder, "--verifier")
    assert result.exit_code == 2
    assert ("PROBLÈME config.toml : l’identité de votre entreprise n’est pas remplie : "
            "entreprise.nom, entreprise.adresse") in result.output
    assert not (folder / "relances.journal.sqlite").exists()


def test_a_dry_run_still_plans_and_warns(tmp_path: Path):
    folder = shipped_project(tmp_path)
    workbook = (folder / "relances.xlsx").read_bytes()
    result = run(folder, "--dry-run", "--json")
    assert result.exit_code in (0, 1)
    assert json.loads(result.stdout)["actions"]
    assert ("Attention : simulation seulement ; avant un envoi réel, renseignez entreprise.nom, "
            "entreprise.adresse, entreprise.siret, entreprise.iban, entreprise.email dans "
            "config.toml, section [entreprise]") in result.stderr
    untouched(folder, workbook)


def test_every_company_of_a_firm_is_checked(tmp_path: Path):
    (tmp_path / "sans-identite").mkdir()
    shipped_project(tmp_path / "sans-identite")
    result = CliRunner().invoke(relancer, ["--tous", str(tmp_path), "--date", TODAY.isoformat()])
    assert result.exit_code == 2
    assert "entreprise.nom" in result.output
    assert not (tmp_path / "sans-identite" / "relances.journal.sqlite").exists()


def test_the_example_runs_in_its_own_folder(tmp_path: Path):
    folder = tmp_path / "exemple"
    shutil.copytree(ROOT / "exemple", folder)
    shutil.copy(folder / "relances.xlsx.example", folder / "relances.xlsx")
    assert load_config(folder / "config.toml").identite_manquante() == []
    result = run(folder)
    assert result.exit_code == 1, result.output  # the example's client without an address
    assert (folder / "relances.journal.sqlite").exists()


@pytest.mark.parametrize("key, value", [("nom", ""), ("adresse", "  "), ("siret", ""),
                                        ("iban", ""), ("nom", "Mon entreprise")])
def test_each_missing_key_is_named(tmp_path: Path, key, value):
    import re

    text = re.sub(rf'^{key} = "[^"]*"', lambda _: f'{key} = "{value}"', config_text(), count=1,
                  flags=re.MULTILINE)
    (tmp_path / "config.toml").write_text(text, "utf-8")
    assert load_config(tmp_path / "config.toml").identite_manquante() == [f"entreprise.{key}"]


def test_a_filled_in_config_is_accepted(tmp_path: Path):
    (tmp_path / "config.toml").write_text(config_text(), "utf-8")
    config = load_config(tmp_path / "config.toml")
    assert config.identite_manquante() == [] and config.refus_identite() == ""
