"""`pointer.py`: import bank statements into sheet Paiements."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from ..pointage import import_releves
from .commun import common_options, run_command, run_import
from .resumes import import_json, import_summary


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("releves", metavar="RELEVÉ…", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@common_options
@click.option("--dry-run", is_flag=True,
              help="Simulation : montrer ce qui serait rapproché, sans rien écrire.")
@click.option("--json", "as_json", is_flag=True,
              help="Écrire le résultat en JSON sur la sortie standard, et rien d’autre.")
def pointer(releves: tuple[Path, ...], config_path: Path, classeur: Path | None,
            date_: datetime.date | None, dry_run: bool, as_json: bool) -> None:
    """Importe des relevés bancaires (CSV, OFX, camt.053) dans la feuille Paiements.

    Chaque crédit est rapproché d’une facture ouverte : référence de paiement (RF ou
    communication structurée), n° de facture dans le libellé, montant exact d’un client nommé,
    ou somme exacte de plusieurs de ses factures. Ce qui est sûr est ajouté à Paiements ; le
    reste attend votre décision dans la feuille À vérifier. Une opération déjà importée ne
    l’est jamais deux fois.
    """
    run_import(config_path, classeur, date_, dry_run, as_json, "relevés", releves,
               lambda config, chemins, today, now: import_releves(config, chemins, today, now,
                                                                  dry_run=dry_run),
               import_json, import_summary,
               lambda pointe: (f"{len(pointe.affectations)} reconnu(s), "
                               f"{len(pointe.a_verifier)} à vérifier, "
                               f"{len(pointe.anomalies)} problème(s)"))


def main_pointer() -> None:
    """scripts/pointer.py."""
    run_command(pointer, "pointer.py")

