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
from .commun import (EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, common_options, companies, crash,
                     fail, run_command)
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
@click.option("--encaissements", "periode", nargs=2, metavar="DEBUT FIN",
              help="Écrire en CSV les paiements reçus du DEBUT au FIN inclus (AAAA-MM-JJ ou "
                   "JJ/MM/AAAA), par facture, avec leur TVA par taux quand la facture "
                   "électronique a été importée (e-reporting des encaissements).")
@click.option("--sortie", "sortie", metavar="FICHIER", type=click.Path(path_type=Path),
              help="Avec --encaissements : écrire le CSV dans FICHIER plutôt qu’à l’écran.")
def rapport(config_path: Path, classeur: Path | None, date_: datetime.date | None,
            as_json: bool, pdf_path: Path | None, dossier: Path | None,
            periode: tuple[str, str] | None, sortie: Path | None) -> None:
    """Affiche le tableau de bord de l’encours : balance âgée, DSO, principaux débiteurs,
    étapes, promesses, litiges, échéanciers, appels.

    Ne fait que lire : ni le classeur ni le journal ne sont modifiés.
    """
    if periode:
        if as_json or pdf_path is not None or dossier is not None:
            fail("--encaissements s’utilise seul (sans --json, --pdf ni --tous)")
        _report_payments(config_path, classeur, periode, sortie)
    if sortie is not None:
        fail("--sortie va avec --encaissements DEBUT FIN ; voir --help")
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


def _report_payments(config_path: Path, classeur: Path | None, periode: tuple[str, str],
                     sortie: Path | None) -> None:
    """--encaissements: the period's payments as CSV, on stdout or in `sortie`; what may make
    the list incomplete on stderr (exit 1)."""
    from ..rapports.encaissements import read_encaissements, render_csv

    debut, fin = (_period_day(text, name) for text, name in zip(periode, ("DEBUT", "FIN")))
    if fin < debut:
        fail(f"--encaissements : la fin ({fin:%d/%m/%Y}) précède le début ({debut:%d/%m/%Y})")
    config = None
    try:
        config = load_config(config_path, classeur)
        if sortie is not None and (refus := _not_a_csv(sortie, config)):
            fail(f"{sortie} : {refus} ; rien n’a été écrit. Choisissez un autre nom, par "
                 "exemple --sortie encaissements.csv")
        rapport_ = read_encaissements(config, debut, fin)
        contenu = render_csv(rapport_)
        if sortie is not None:
            write_atomic(sortie, contenu)
    except RelancesError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(write_failed(sortie, exc))
    except Exception:
        crash(config, True)
    if sortie is None:
        click.echo(contenu, nl=False)
    else:
        click.echo(f"{len(rapport_.lignes)} ligne(s) d’encaissement du {debut:%d/%m/%Y} au "
                   f"{fin:%d/%m/%Y}, {formats.montant(rapport_.total)} au total : {sortie}")
    for avertissement in rapport_.avertissements:
        click.echo(f"Attention : {avertissement}", err=True)
    sys.exit(EXIT_PARTIAL if rapport_.avertissements else EXIT_OK)


def _period_day(text: str, name: str) -> datetime.date:
    import re

    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.date.fromisoformat(text)
        if match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
            day, month, year = (int(g) for g in match.groups())
            return datetime.date(year, month, day)
    except ValueError:
        fail(f"--encaissements : {name} « {text} » n’est pas une date qui existe")
    fail(f"--encaissements : {name} « {text} » illisible (attendu : AAAA-MM-JJ ou JJ/MM/AAAA, "
         "par exemple 2026-10-01 ou 01/10/2026)")


def _read_by_us(target: Path, config) -> str | None:
    """Why `target` must not be overwritten: it is the config, workbook, journal or log."""
    place = same_place(target)
    named = {"la configuration": config.path, "le classeur": config.classeur,
             "le journal": config.journal, "le fichier de log": config.log_file}
    for what, path in named.items():
        if same_place(path) == place:
            return f"c’est {what} ({path.name}), que rapport.py lit : il ne l’écrase pas"
    return None


def _not_a_csv(target: Path, config) -> str | None:
    """Why `target` must not be overwritten by the CSV: a file relances reads, a folder, or
    an existing file that is not a .csv."""
    lu = _read_by_us(target, config)
    if lu:
        return lu
    if target.is_dir():
        return "c’est un dossier ; indiquez un nom de fichier .csv"
    if target.exists() and target.suffix.lower() != ".csv":
        return "ce fichier existe et n’est pas un .csv : rapport.py ne remplace qu’un CSV"
    return None


def _not_a_report(target: Path, config) -> str | None:
    """Why `target` must not be overwritten by the report: a file relances reads (config,
    workbook, journal, log, a template, an invoice copy), a folder, or a file that is not a
    PDF — the report only ever replaces a PDF."""
    lu = _read_by_us(target, config)
    if lu:
        return lu
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

