"""Command line, what every command shares: options, exit statuses, the log file, and one
way to fail — a French message, never a traceback (which goes to the log)."""

from __future__ import annotations

import datetime
import logging
import re
import sys
import tempfile
import traceback
from decimal import Decimal
from pathlib import Path

import click

from .. import formats
from ..cells import quote as cells_quote
from ..config import Config, load_config
from ..errors import RelancesError
from ..records import Anomalie


EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2


PROGRESS_FROM = 20  # a progress bar only when there are many actions


log = logging.getLogger("relances")
log.addHandler(logging.NullHandler())  # no log file (dry run): nothing on the terminal either


def parse_date(ctx, param, value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"date invalide « {value} » (format attendu : AAAA-MM-JJ, "
                                 "par exemple 2026-11-22)") from None


def common_options(command):
    """--config, --classeur and --date: the same for every script (SPEC §6)."""
    for option in reversed((
            click.option("--config", "config_path", default="config.toml", show_default=True,
                         type=click.Path(path_type=Path), help="Fichier de configuration."),
            click.option("--classeur", type=click.Path(path_type=Path),
                         help="Classeur à traiter (remplace la clé classeur de config.toml)."),
            click.option("--date", "date_", metavar="AAAA-MM-JJ", callback=parse_date,
                         help="Faire comme si nous étions ce jour-là (par défaut : "
                              "aujourd’hui)."))):
        command = option(command)
    return command


def companies(dossier: Path) -> list[Path]:
    """The config.toml of each company folder directly below `dossier`, by folder name."""
    if not dossier.is_dir():
        fail(f"{dossier} : dossier introuvable")
    found = sorted(p / "config.toml" for p in dossier.iterdir()
                   if p.is_dir() and (p / "config.toml").is_file())
    if not found:
        fail(f"{dossier} : aucun sous-dossier ne contient de config.toml (une entreprise par "
              "sous-dossier, voir le README, « Plusieurs entreprises »)")
    return found


def run_command(command: click.Command, name: str) -> None:
    """A script's entry: click's own errors (an unknown option, a bad number) in French too."""
    try:
        command.main(prog_name=name, standalone_mode=False)
    except click.exceptions.NoSuchOption as exc:
        hint = f" (vouliez-vous dire {', '.join(exc.possibilities)} ?)" if exc.possibilities else ""
        fail(f"option inconnue « {exc.option_name} »{hint} ; voir --help")
    except click.exceptions.MissingParameter as exc:
        if exc.param is not None and exc.param.param_type_name == "argument":
            fail(f"indiquez au moins un fichier ({exc.param.human_readable_name}) ; "
                  "voir --help")
        hint = exc.param.opts[0] if exc.param is not None and exc.param.opts else "une option"
        fail(f"{hint} : valeur manquante ; voir --help")
    except click.exceptions.BadParameter as exc:
        hint = exc.param.opts[0] if exc.param is not None and exc.param.opts else "une option"
        message = exc.message if exc.param is not None and exc.param.name == "date_" else (
            "un nombre entier est attendu" if exc.param is not None and
            exc.param.type is click.INT else "valeur invalide")
        fail(f"{hint} : {message} ; voir --help")
    except click.exceptions.UsageError as exc:
        extra = re.search(r"extra arguments? \((.*)\)", exc.message)
        what = f"argument inattendu « {extra.group(1)} »" if extra else "ligne de commande invalide"
        fail(f"{what} ; voir --help")
    except click.exceptions.Abort:
        fail("interrompu")


def listed(title: str, anomalies: list[Anomalie], classeur: str = "") -> list[str]:
    """A titled block of problems or warnings, each with where it is (sheet, row)."""
    if not anomalies:
        return []
    lines = ["", f"{title} ({len(anomalies)}) :"]
    for anomalie in anomalies:
        where = anomalie.where(classeur if anomalie.sheet else "")
        lines.append(f"  - {where} : {anomalie.message}" if where else f"  - {anomalie.message}")
    return lines


RESUME_A_VERIFIER_MAX = 50  # lines waiting shown one by one in the summary; the sheet has all


def bank_lines(preparation) -> list[str]:
    """Decisions taken in À vérifier, and the statement lines still waiting there."""
    lines = []
    if preparation.decisions:
        lines.append("")
        lines.append(f"Décisions prises dans la feuille À vérifier ({len(preparation.decisions)}) :")
        lines.extend(f"  - {d}" for d in preparation.decisions)
    if preparation.a_verifier:
        lines.append("")
        lines.append(f"Paiements à vérifier (feuille À vérifier, colonne Décision) — "
                     f"{len(preparation.a_verifier)} :")
        waiting = sorted(preparation.a_verifier, key=lambda p: (p.jour, p.cle))
        for p in waiting[:RESUME_A_VERIFIER_MAX]:
            lines.append(f"  - {formats.date_courte(p.jour)} {formats.montant(p.montant)} "
                         f"{cells_quote(p.libelle or p.contrepartie)} : {p.motif}")
            if p.candidats:
                shown = ", ".join(f"{numero} ({client})" for client, numero, _ in p.candidats)
                lines.append(f"    factures possibles : {shown} — clients non relancés d’ici là")
        if len(waiting) > RESUME_A_VERIFIER_MAX:
            rest = waiting[RESUME_A_VERIFIER_MAX:]
            total = sum((p.montant for p in rest), Decimal("0.00"))
            lines.append(f"  … et {len(rest)} autre(s), {formats.montant(total)} en tout : "
                         "voir la feuille À vérifier")
    return lines


def fail(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(EXIT_FAILED)


def crash(config: Config, dry_run: bool) -> None:
    fail(crash_message(config, dry_run))


def crash_message(config: Config, dry_run: bool) -> str:
    """A bug: its traceback kept in the log file, one line for the user."""
    fallback = Path(tempfile.gettempdir()) / "relances-erreur.log"
    where = "détails non enregistrés (aucun fichier de log accessible en écriture)"
    for target in ((fallback,) if dry_run else (config.log_file, fallback)):
        try:  # a read-only folder: the next place; never a traceback on the user's screen
            with open(target, "a", encoding="utf-8") as out:
                out.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n")
                out.write(traceback.format_exc())
            where = f"détails dans {target}"
            break
        except OSError:
            continue
    return (f"erreur inattendue ({sys.exc_info()[1]!r}) — {where}. "
            "Rien n’a été envoyé deux fois : le journal garde trace de chaque action.")


def log_to(path: Path) -> None:
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:  # a read-only folder must not stop the run (nor print the log lines)
        log.addHandler(logging.NullHandler())
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def run_import(config_path: Path, classeur: Path | None, date_: datetime.date | None,
               dry_run: bool, as_json: bool, quoi: str, chemins, faire, en_json, en_texte,
               fin) -> None:
    """What every import command does around its import (pointer.py, importer.py): read the
    config, log, take the day, import (`faire(config, chemins, today, now)`), print the
    result as text (`en_texte(result, config, today)`) or JSON (`en_json(result, today)`), log
    how it ended (`fin(result)`), and exit 0, or 1 when something was left aside."""
    import json
    import zoneinfo

    try:
        config = load_config(config_path, classeur)
    except RelancesError as exc:
        fail(str(exc))
    if not dry_run:
        log_to(config.log_file)
    now = datetime.datetime.now(zoneinfo.ZoneInfo(config.fuseau_horaire))
    today = date_ or now.date()
    log.info("import de %s : %s%s", quoi, ", ".join(str(c) for c in chemins),
             " (simulation)" if dry_run else "")
    try:
        result = faire(config, list(chemins), today, now)
    except RelancesError as exc:
        log.error("%s", exc)
        fail(str(exc))
    except Exception:
        crash(config, dry_run)
    for warning in config.avertissements:
        click.echo(f"Attention : {warning}", err=True)
    if as_json:
        click.echo(json.dumps(en_json(result, today), ensure_ascii=False))
    else:
        click.echo(en_texte(result, config, today))
    log.info("fin de l’import : %s", fin(result))
    sys.exit(EXIT_PARTIAL if result.has_problems else EXIT_OK)
