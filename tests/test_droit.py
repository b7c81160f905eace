"""The debtor's law protects the debtor: the Clients sheet's Pays column, the consumer clause of
config.toml, and the law each client gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from relances.config import load_config
from relances.errors import ConfigError
from relances.exemple import write_workbook
from relances.records import Client
from relances.xlsx.lecture import read_classeur

from conftest import ROOT, client_row, invoice_row


def test_the_pays_column_is_read_and_an_unknown_country_is_reported(tmp_path: Path):
    path = write_workbook(tmp_path / "relances.xlsx", [invoice_row(client="Alpha")], [
        client_row("Alpha", pays="BE"), client_row("Beta", pays="Belgique"),
        client_row("Gamma", pays="fr"), client_row("Delta"), client_row("Epsilon", pays="Suisse"),
    ])
    classeur = read_classeur(path).classeur
    pays = {c.nom: c.pays for c in classeur.clients.values()}
    assert pays == {"Alpha": "BE", "Beta": "BE", "Gamma": "FR", "Delta": "", "Epsilon": ""}
    (anomalie,) = [a for a in classeur.anomalies if "Pays" in a.message]
    assert (anomalie.sheet, anomalie.row) == ("Clients", 6)
    assert anomalie.message == ("Epsilon : Pays inconnu « Suisse » (FR ou BE) : pays de "
                                "l’entreprise retenu")


@pytest.mark.parametrize("header", ["Pays", "Country", "pays du client"])
def test_the_pays_column_has_aliases(tmp_path: Path, header):
    from openpyxl import load_workbook

    path = write_workbook(tmp_path / "relances.xlsx", [invoice_row(client="Alpha")],
                          [client_row("Alpha", pays="BE")])
    book = load_workbook(path)
    sheet = book["Clients"]
    sheet.cell(1, sheet.max_column).value = header
    book.save(path)
    assert read_classeur(path).classeur.clients["alpha"].pays == "BE"


def config_with(tmp_path: Path, penalites: str, pays: str = "FR"):
    text = (ROOT / "exemple" / "config.toml").read_text("utf-8")
    text = text.replace('pays = "FR"', f'pays = "{pays}"', 1)
    path = tmp_path / "config.toml"
    path.write_text(text + f"\n[penalites]\n{penalites}\n" if "[penalites]" not in text
                    else text.replace("[penalites]", f"[penalites]\n{penalites}", 1), "utf-8")
    return path


def test_clause_consommateur_is_false_by_default_and_checked(tmp_path: Path):
    assert load_config(ROOT / "exemple" / "config.toml").penalites.clause_consommateur is False
    assert load_config(config_with(tmp_path, "clause_consommateur = true")
                       ).penalites.clause_consommateur is True
    with pytest.raises(ConfigError) as error:
        load_config(config_with(tmp_path, 'clause_consommateur = "oui"'))
    assert str(error.value) == ("config.toml: penalites.clause_consommateur : true ou false est "
                                "attendu (sans guillemets)")


@pytest.mark.parametrize("creancier, type_, pays, attendu", [
    ("FR", "professionnel", "BE", ("FR", False)),
    ("FR", "particulier", "BE", ("BE", True)),
    ("FR", "particulier", "", ("FR", True)),
    ("BE", "particulier", "FR", ("FR", True)),
    ("BE", "professionnel", "FR", ("BE", False)),
])
def test_each_client_gets_its_law(tmp_path: Path, creancier, type_, pays, attendu):
    config = load_config(config_with(tmp_path, "clause_consommateur = true", creancier))
    regime = config.regime_of(Client("X", type=type_, pays=pays))
    assert (regime.pays, regime.particulier) == attendu
    assert regime.clause_consommateur
    assert regime == config.penalites.regime(creancier, type_ == "particulier", pays)
