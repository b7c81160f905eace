"""`pointer.py`: import bank statements into sheet Paiements."""

from __future__ import annotations

import datetime
import json
import sys
import zoneinfo
from pathlib import Path

import click

from ..config import load_config
from ..errors import RelancesError
from ..pointage import import_releves
from .commun import (EXIT_OK, EXIT_PARTIAL, common_options, crash, fail, log, log_to,
                     run_command)
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
    try:
        config = load_config(config_path, classeur)
    except RelancesError as exc:
        fail(str(exc))
    if not dry_run:
        log_to(config.log_file)
    tz = zoneinfo.ZoneInfo(config.fuseau_horaire)
    now = datetime.datetime.now(tz)
    today = date_ or now.date()
    log.info("import de relevés : %s%s", ", ".join(str(r) for r in releves),
             " (simulation)" if dry_run else "")
    try:
        pointe = import_releves(config, list(releves), today, now, dry_run=dry_run)
    except RelancesError as exc:
        log.error("%s", exc)
        fail(str(exc))
    except Exception:
        crash(config, dry_run)
    for warning in config.avertissements:
        click.echo(f"Attention : {warning}", err=True)
    if as_json:
        click.echo(json.dumps(import_json(pointe, today), ensure_ascii=False))
    else:
        click.echo(import_summary(pointe, config, today))
    log.info("fin de l’import : %d reconnu(s), %d à vérifier, %d problème(s)",
             len(pointe.affectations), len(pointe.a_verifier), len(pointe.anomalies))
    sys.exit(EXIT_PARTIAL if pointe.has_problems else EXIT_OK)


def main_pointer() -> None:
    """scripts/pointer.py."""
    run_command(pointer, "pointer.py")

