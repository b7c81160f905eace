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
from ..pannes import cause, write_failed
from ..rapports.pdf import render_pdf
from ..run import report
from .commun import EXIT_FAILED, EXIT_OK, common_options, companies, crash, fail, run_command
from .entreprises import same_place
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
        if pdf_path is not None and (refus := _not_a_report(pdf_path, config)):
            fail(f"{pdf_path} : {refus} ; rien n’a été écrit. Choisissez un autre nom, par "
                 "exemple --pdf encours.pdf")
        tz = zoneinfo.ZoneInfo(config.fuseau_horaire)
        today = date_ or datetime.datetime.now(tz).date()
        tableau = report(config, today)
        if pdf_path is not None:
            write_atomic(pdf_path, render_pdf(tableau, config))
    except RelancesError as exc:
        fail(str(exc))
    except OSError as exc:  # a full disk, a read-only folder: the temporary file is gone
        fail(write_failed(pdf_path, exc))
    except Exception:
        crash(config, True)
    if as_json:
        click.echo(json.dumps(report_json(tableau), ensure_ascii=False))
    else:
        click.echo(report_text(tableau, config.classeur.name))
        if pdf_path is not None:
            click.echo(f"\nRapport PDF : {pdf_path}")
    sys.exit(EXIT_OK)  # the report was made; today's problems are the daily run's to report


def _not_a_report(target: Path, config) -> str | None:
    """Why `target` must not be overwritten by the report: a file relances reads (config,
    workbook, journal, log, a template, an invoice copy), a folder, or a file that is not a
    PDF — the report only ever replaces a PDF."""
    place = same_place(target)
    named = {"la configuration": config.path, "le classeur": config.classeur,
             "le journal": config.journal, "le fichier de log": config.log_file}
    for what, path in named.items():
        if same_place(path) == place:
            return f"c’est {what} ({path.name}), que rapport.py lit : il ne l’écrase pas"
    for folder, what in ((config.lettres, "un modèle du dossier des modèles"),
                         (config.factures_dossier, "une copie de facture")):
        if folder is not None and target.exists() and \
                same_place(target.parent) == same_place(folder):
            return f"c’est {what} ({folder}) : rapport.py ne l’écrase pas"
    if target.is_dir():
        return "c’est un dossier ; indiquez un nom de fichier .pdf"
    if target.exists():
        try:
            with open(target, "rb") as existing:
                head = existing.read(5)
        except OSError as exc:
            return f"lecture impossible ({cause(exc)})"
        if head != b"%PDF-":
            return "ce fichier existe et n’est pas un PDF : rapport.py ne remplace qu’un PDF"
    return None


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

