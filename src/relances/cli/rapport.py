"""`rapport.py`: the dashboard's figures, on screen, in JSON or as a one-page PDF."""

from __future__ import annotations

import datetime
import json
import sys
import zoneinfo
from decimal import Decimal
from pathlib import Path

import click

from .. import formats
from ..config import load_config
from ..delivery import write_atomic
from ..errors import RelancesError
from ..rapports.pdf import render_pdf
from ..run import report
from .commun import EXIT_FAILED, EXIT_OK, common_options, companies, crash, fail, run_command
from .resumes import columns, report_json, report_text


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.option("--json", "as_json", is_flag=True,
              help="Écrire les chiffres en JSON sur la sortie standard, et rien d’autre.")
@click.option("--pdf", "pdf_path", metavar="FICHIER", type=click.Path(path_type=Path),
              help="Écrire aussi un rapport PDF d’une page, avec ses deux graphiques.")
@click.option("--tous", "dossier", metavar="DOSSIER", type=click.Path(path_type=Path),
              help="Une ligne par entreprise : chaque sous-dossier de DOSSIER qui contient un "
                   "config.toml.")
def rapport(config_path: Path, classeur: Path | None, date_: datetime.date | None,
            as_json: bool, pdf_path: Path | None, dossier: Path | None) -> None:
    """Affiche le tableau de bord de l’encours : balance âgée, DSO, principaux débiteurs,
    étapes, promesses, litiges, échéanciers, appels.

    Ne fait que lire : ni le classeur ni le journal ne sont modifiés.
    """
    if dossier is not None:
        _report_all(dossier, date_, as_json)
    try:
        config = load_config(config_path, classeur)
        tz = zoneinfo.ZoneInfo(config.fuseau_horaire)
        today = date_ or datetime.datetime.now(tz).date()
        tableau = report(config, today)
        if pdf_path is not None:
            write_atomic(pdf_path, render_pdf(tableau, config))
    except RelancesError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{pdf_path} : écriture impossible ({exc.strerror or exc})")
    except Exception:
        crash(config, True)
    if as_json:
        click.echo(json.dumps(report_json(tableau), ensure_ascii=False))
    else:
        click.echo(report_text(tableau, config.classeur.name))
        if pdf_path is not None:
            click.echo(f"\nRapport PDF : {pdf_path}")
    sys.exit(EXIT_OK)  # the report was made; today's problems are the daily run's to report


def _report_all(dossier: Path, date_: datetime.date | None, as_json: bool) -> None:
    rows, worst = [], EXIT_OK
    for path in companies(dossier):
        name = path.parent.name
        try:
            config = load_config(path)
            today = date_ or datetime.datetime.now(zoneinfo.ZoneInfo(config.fuseau_horaire)).date()
            tableau = report(config, today)
        except RelancesError as exc:
            rows.append({"company": name, "error": str(exc)})
            worst = EXIT_FAILED
            continue
        except Exception as exc:  # one company's bug must not hide the others
            rows.append({"company": name, "error": f"erreur inattendue ({exc!r})"})
            worst = EXIT_FAILED
            continue
        rows.append({"company": name, "date": tableau.date.isoformat(),
                     "receivable": float(tableau.encours), "overdue": float(tableau.echu),
                     "dso_days": float(tableau.dso) if tableau.dso is not None else None,
                     "actions_today": tableau.extra.get("actions", 0),
                     "problems": tableau.extra.get("problemes", 0)})
    if as_json:
        click.echo(json.dumps({"companies": rows}, ensure_ascii=False))
        sys.exit(worst)
    header = ("Entreprise", "Encours", "Échu", "DSO", "Actions", "Problèmes")
    table = [header]
    for row in rows:
        if "error" in row:
            table.append((row["company"], "ERREUR", "", "", "", row["error"]))
            continue
        table.append((row["company"], formats.montant(Decimal(str(row["receivable"]))),
                      formats.montant(Decimal(str(row["overdue"]))),
                      f"{formats.nombre(Decimal(str(row['dso_days'])))} j"
                      if row["dso_days"] is not None else "—",
                      str(row["actions_today"]), str(row["problems"])))
    click.echo(f"Encours par entreprise — {dossier}")
    click.echo(columns(table, right=(1, 2, 3, 4, 5)))
    sys.exit(worst)


def main_rapport() -> None:
    """scripts/rapport.py."""
    run_command(rapport, "rapport.py")

