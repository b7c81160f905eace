"""Command line: flags -> `run_daily` arguments, result -> French summary or JSON, exit status.

The only module that prints, reads the clock or exits. Exit statuses (SPEC §6): 0 all done;
1 done, but some rows or actions failed (listed); 2 nothing could be done.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import re
import sys
import tempfile
import traceback
import zoneinfo
from decimal import Decimal
from pathlib import Path

import click

from . import formats
from .config import Config, load_config
from .errors import RelancesError
from .cells import quote as cells_quote
from .records import Action, Anomalie
from .suivi import as_anomalie
from .pointage import Pointe, import_releves, simulated
from .recapitulatif import send_digest
from .delivery import write_atomic
from .rapports.pdf import render_pdf
from .resultat import Resultat
from .run import relative, report, run_daily, run_preview, settle, verify

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2
PROGRESS_FROM = 20  # a progress bar only when there are many actions

log = logging.getLogger("relances")
log.addHandler(logging.NullHandler())  # no log file (dry run): nothing on the terminal either


def _parse_date(ctx, param, value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"date invalide « {value} » (format attendu : AAAA-MM-JJ, "
                                 "par exemple 2026-11-22)") from None


def _common_options(command):
    """--config, --classeur and --date: the same for every script (SPEC §6)."""
    for option in reversed((
            click.option("--config", "config_path", default="config.toml", show_default=True,
                         type=click.Path(path_type=Path), help="Fichier de configuration."),
            click.option("--classeur", type=click.Path(path_type=Path),
                         help="Classeur à traiter (remplace la clé classeur de config.toml)."),
            click.option("--date", "date_", metavar="AAAA-MM-JJ", callback=_parse_date,
                         help="Faire comme si nous étions ce jour-là (par défaut : "
                              "aujourd’hui)."))):
        command = option(command)
    return command


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@_common_options
@click.option("--dry-run", is_flag=True,
              help="Simulation : ne rien envoyer, ne rien écrire, montrer ce qui serait fait.")
@click.option("--json", "as_json", is_flag=True,
              help="Écrire le plan en JSON sur la sortie standard, et rien d’autre.")
@click.option("--apercu", metavar="DOSSIER", type=click.Path(path_type=Path),
              help="Écrire dans DOSSIER les e-mails (.eml) et courriers (.pdf) que l’exécution "
                   "produirait, et rien d’autre : pour relire les modèles.")
@click.option("--verifier", is_flag=True,
              help="Vérifier la configuration, le classeur, les modèles et la connexion SMTP, "
                   "sans rien envoyer.")
@click.option("--enregistrer-mot-de-passe", "store_password", is_flag=True,
              help="Enregistrer le mot de passe SMTP dans le trousseau du système.")
@click.option("--confirmer-envoi", "confirm_id", type=int, metavar="N",
              help="L’action incertaine n° N est bien partie : la clore.")
@click.option("--renvoyer", "resend_id", type=int, metavar="N",
              help="L’action incertaine n° N n’est pas partie : la refaire à la prochaine exécution.")
@click.option("--releve", "releves", multiple=True, metavar="FICHIER",
              type=click.Path(path_type=Path),
              help="Importer d’abord ce relevé bancaire (CSV, OFX, camt.053), comme "
                   "scripts/pointer.py, puis relancer ; l’option peut être répétée.")
@click.option("--tous", metavar="DOSSIER", type=click.Path(path_type=Path),
              help="Faire l’exécution du jour de chaque entreprise : chaque sous-dossier de "
                   "DOSSIER qui contient un config.toml, l’un après l’autre.")
def relancer(config_path: Path, classeur: Path | None, date_: datetime.date | None,
             dry_run: bool, as_json: bool, apercu: Path | None, verifier: bool,
             store_password: bool, confirm_id: int | None, resend_id: int | None,
             releves: tuple[Path, ...], tous: Path | None) -> None:
    """Relance les factures impayées du classeur : e-mails, courriers, appels à passer.

    Lit le classeur, décide qui relancer et comment, envoie les messages, tient le journal
    et écrit l'état de chaque facture dans le classeur.
    """
    if tous is not None:
        _run_all(tous, date_, dry_run, as_json, bool(classeur or apercu or verifier or releves
                                                    or confirm_id or resend_id or store_password))
    try:
        config = load_config(config_path, classeur)
    except RelancesError as exc:
        _fail(str(exc))
    tz = zoneinfo.ZoneInfo(config.fuseau_horaire)
    now = datetime.datetime.now(tz)
    today = date_ or now.date()
    if store_password:
        _store_password(config)
    if confirm_id is not None or resend_id is not None:
        _settle(config, confirm_id, resend_id)
    if verifier:
        _verify(config, today)
    code, output = _daily(config, today, now, dry_run, as_json, apercu, releves)
    if output is not None:
        click.echo(json.dumps(output, ensure_ascii=False) if as_json else output)
    sys.exit(code)


def _daily(config: Config, today: datetime.date, now: datetime.datetime, dry_run: bool,
           as_json: bool, apercu: Path | None = None, releves: tuple[Path, ...] = ()
           ) -> tuple[int, object]:
    """One company's daily run: (exit status, its summary text or JSON plan — None when it
    failed, the error being on standard error). The digest, when configured, is delivered
    whatever happened."""
    real = not dry_run and not apercu
    if real and (refus := config.refus_identite()):
        # Before anything: no log, no journal, no workbook write, no digest.
        click.echo(f"Erreur : {refus}", err=True)
        return EXIT_FAILED, None
    if manquantes := config.identite_manquante():
        click.echo(f"Attention : simulation seulement ; avant un envoi réel, renseignez "
                   f"{', '.join(manquantes)} dans {config.path.name}, section [entreprise]",
                   err=True)
    if real:
        _log_to(config.log_file)
    log.info("début : %s, date %s%s", config.classeur, today, " (simulation)" if dry_run else "")
    with contextlib.ExitStack() as stack:
        def start_progress(total: int):
            if total < PROGRESS_FROM or as_json or not sys.stderr.isatty():
                return None
            bar = stack.enter_context(click.progressbar(length=total, label="Relances",
                                                        file=sys.stderr))
            return bar.update

        pointe = None
        try:
            if releves:
                pointe = import_releves(config, list(releves), today, now,
                                        dry_run=dry_run or bool(apercu))
            # A simulated import's payments count in the simulated plan, as they would.
            extra = simulated(pointe) if pointe is not None and pointe.dry_run else ()
            if apercu:
                resultat = run_preview(config, today, now, apercu, extra=extra)
            else:
                resultat = run_daily(config, today, now, dry_run=dry_run,
                                     start_progress=start_progress, extra=extra)
        except RelancesError as exc:
            log.error("%s", exc)
            return _failed(config, today, now, str(exc), real, pointe), None
        except Exception:  # a bug: keep the traceback for us, one clear line for the user
            return _failed(config, today, now, _crash_message(config, not real), real,
                           pointe), None
    for warning in config.avertissements:
        click.echo(f"Attention : {warning}", err=True)
    text = summary(resultat, config)
    if pointe is not None:
        text = import_summary(pointe, config, today) + "\n\n" + text
    log.info("fin : %d action(s), %d problème(s)", len(resultat.plan.actions),
             len(problems(resultat)))
    failed = resultat.has_problems or (pointe is not None and pointe.has_problems)
    code = EXIT_PARTIAL if failed else EXIT_OK
    if real and config.envoi.recapitulatif:
        envoye = send_digest(config, _digest_subject(resultat, config, today),
                             _digest_text(resultat, text, today), today, now,
                             [resultat.impression] if resultat.impression else [])
        text += f"\n\n{envoye.message[0].upper()}{envoye.message[1:]}."
        if not envoye.ok:
            code = EXIT_PARTIAL
    if as_json:
        plan = plan_json(resultat)
        if pointe is not None:
            plan["statements"] = import_json(pointe, today)
        return code, plan
    return code, text


def _failed(config: Config, today: datetime.date, now: datetime.datetime, message: str,
            real: bool, pointe=None) -> int:
    """The run could not be done: say it on standard error, and in the digest."""
    click.echo(f"Erreur : {message}", err=True)
    if real and config.envoi.recapitulatif:
        body = ("La relance du jour N’A PAS PU SE FAIRE. Rien n’a été envoyé deux fois : le "
                "journal garde trace de chaque action.\n\n"
                f"Raison : {message}\n\nQue faire : corrigez la cause (fermez le classeur "
                "dans Excel, vérifiez la connexion au serveur d’envoi, importez le relevé "
                "bancaire…), puis relancez : python scripts/relancer.py\n")
        if pointe is not None:
            body += "\n" + import_summary(pointe, config, today) + "\n"
        envoye = send_digest(config, f"ÉCHEC des relances du {formats.date_courte(today)} — "
                                     f"{config.entreprise.nom} : {message[:90]}", body, today,
                             now)
        click.echo(f"{envoye.message[0].upper()}{envoye.message[1:]}.", err=True)
    return EXIT_FAILED


def _digest_subject(resultat: Resultat, config: Config, today: datetime.date) -> str:
    by_canal = {c: sum(1 for a in resultat.plan.actions if a.canal == c)
                for c in ("email", "courrier", "appel", "recouvrement")}
    parts = [f"{by_canal['email']} e-mail(s)", f"{by_canal['courrier']} courrier(s)",
             f"{len(resultat.appels)} appel(s)"]
    found = len(problems(resultat, config))
    head = "RIEN ENVOYÉ — " if resultat.gel else ""
    return (f"{head}Relances du {formats.date_courte(today)} — {config.entreprise.nom} : "
            + ", ".join(parts) + (f" — {found} problème(s) à corriger" if found else ""))


def _digest_text(resultat: Resultat, text: str, today: datetime.date) -> str:
    """The summary, and the promises the owner should watch this week (from the dashboard
    the write-back computed)."""
    from .rapports import compute

    tableau = resultat.tableau or compute(resultat.livre or resultat.classeur, [], today)
    lines = [text, ""]
    for title, promesses in (("Promesses attendues dans les 7 jours", tableau.promesses_a_venir),
                             ("Promesses non tenues, encore impayées",
                              tableau.promesses_non_tenues)):
        lines.append(f"{title} : {len(promesses) or 'aucune'}")
        lines.extend(f"  - {p.client} : {formats.montant(p.montant)} le "
                     f"{formats.date_courte(p.jour)} ({', '.join(p.factures)})"
                     for p in promesses)
    lines += ["", "— relances, exécution du " + formats.date_longue(today)]
    return "\n".join(lines)


def _run_all(dossier: Path, date_: datetime.date | None, dry_run: bool, as_json: bool,
             other_options: bool) -> None:
    """--tous: the daily run of every company below `dossier`, one after the other; one
    combined summary, and the worst exit status."""
    if other_options:
        _fail("--tous ne se combine qu’avec --date, --dry-run et --json ; chaque entreprise "
              "prend son classeur et ses relevés dans sa propre config.toml")
    results = []
    for path in companies(dossier):
        name = path.parent.name
        try:
            config = load_config(path)
        except RelancesError as exc:
            click.echo(f"Erreur : {name} : {exc}", err=True)
            results.append((name, EXIT_FAILED, None, str(exc)))
            continue
        now = datetime.datetime.now(zoneinfo.ZoneInfo(config.fuseau_horaire))
        if not as_json:
            click.echo(f"=== {name} ===")
        code, output = _daily(config, date_ or now.date(), now, dry_run, as_json)
        if output is not None and not as_json:
            click.echo(output)
            click.echo("")
        results.append((name, code, output, None))
    worst = max(code for _, code, _, _ in results)
    if as_json:
        click.echo(json.dumps({"companies": [
            {"company": name, "exit_status": code, **({"plan": output} if output else {}),
             **({"error": error} if error else {})}
            for name, code, output, error in results], "exit_status": worst},
            ensure_ascii=False))
        sys.exit(worst)
    words = {EXIT_OK: "fait", EXIT_PARTIAL: "fait, avec des problèmes (voir plus haut)",
             EXIT_FAILED: "RIEN N’A PU ÊTRE FAIT"}
    click.echo(f"Ensemble — {len(results)} entreprise(s), statut de sortie {worst} :")
    for name, code, _, error in results:
        click.echo(f"  - {name} : {words[code]}" + (f" ({error})" if error else ""))
    sys.exit(worst)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("releves", metavar="RELEVÉ…", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@_common_options
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
        _fail(str(exc))
    if not dry_run:
        _log_to(config.log_file)
    tz = zoneinfo.ZoneInfo(config.fuseau_horaire)
    now = datetime.datetime.now(tz)
    today = date_ or now.date()
    log.info("import de relevés : %s%s", ", ".join(str(r) for r in releves),
             " (simulation)" if dry_run else "")
    try:
        pointe = import_releves(config, list(releves), today, now, dry_run=dry_run)
    except RelancesError as exc:
        log.error("%s", exc)
        _fail(str(exc))
    except Exception:
        _crash(config, dry_run)
    for warning in config.avertissements:
        click.echo(f"Attention : {warning}", err=True)
    if as_json:
        click.echo(json.dumps(import_json(pointe, today), ensure_ascii=False))
    else:
        click.echo(import_summary(pointe, config, today))
    log.info("fin de l’import : %d reconnu(s), %d à vérifier, %d problème(s)",
             len(pointe.affectations), len(pointe.a_verifier), len(pointe.anomalies))
    sys.exit(EXIT_PARTIAL if pointe.has_problems else EXIT_OK)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@_common_options
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
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{pdf_path} : écriture impossible ({exc.strerror or exc})")
    except Exception:
        _crash(config, True)
    if as_json:
        click.echo(json.dumps(report_json(tableau), ensure_ascii=False))
    else:
        click.echo(report_text(tableau, config.classeur.name))
        if pdf_path is not None:
            click.echo(f"\nRapport PDF : {pdf_path}")
    sys.exit(EXIT_OK)  # the report was made; today's problems are the daily run's to report


def companies(dossier: Path) -> list[Path]:
    """The config.toml of each company folder directly below `dossier`, by folder name."""
    if not dossier.is_dir():
        _fail(f"{dossier} : dossier introuvable")
    found = sorted(p / "config.toml" for p in dossier.iterdir()
                   if p.is_dir() and (p / "config.toml").is_file())
    if not found:
        _fail(f"{dossier} : aucun sous-dossier ne contient de config.toml (une entreprise par "
              "sous-dossier, voir le README, « Plusieurs entreprises »)")
    return found


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
    click.echo(_columns(table, right=(1, 2, 3, 4, 5)))
    sys.exit(worst)


def _columns(rows: list[tuple], right: tuple[int, ...] = ()) -> str:
    """Rows as aligned columns (the last column is never padded)."""
    widths = [max(len(str(row[i])) for row in rows if i < len(row))
              for i in range(max(len(r) for r in rows))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = str(cell)
            if i == len(row) - 1:
                cells.append(text.rjust(widths[i]) if i in right and len(text) <= widths[i]
                             else text)
            else:
                cells.append(text.rjust(widths[i]) if i in right else text.ljust(widths[i]))
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def report_text(t, name: str) -> str:
    m = formats.montant
    lines = [f"Encours clients au {formats.date_courte(t.date)} — {name}", ""]
    dso = f"{formats.nombre(t.dso)} jours" if t.dso is not None else "non calculable"
    lines.append(_columns([
        ("Encours (factures ouvertes)", m(t.encours),
         f"{t.factures_ouvertes} facture(s), {t.clients_debiteurs} client(s)"),
        ("dont échu", m(t.echu), ""),
        ("Avoirs ouverts", m(t.avoirs), ""),
        ("DSO sur 90 jours", dso, ""),
        ("En litige", m(t.litiges), f"{t.litiges_nombre} facture(s)"),
        ("Appels à passer", str(t.appels), m(t.appels_montant) if t.appels else ""),
    ], right=(1,)))
    lines.append(f"  ({t.methode_dso})")
    lines += ["", "Balance âgée :"]
    lines.append(_columns([(b.libelle, m(b.montant), f"{b.nombre} facture(s)")
                           for b in t.balance], right=(1,)))
    if t.debiteurs:
        lines += ["", "Principaux débiteurs (★ : ceux qui doivent 80 % de l’encours) :"]
        lines.append(_columns([("Client", "Dû", "Part", "Cumul")] + [
            (d.client + (" ★" if d.pareto else ""), m(d.montant), formats.pourcent(d.part),
             formats.pourcent(d.cumul)) for d in t.debiteurs[:15]], right=(1, 2, 3)))
        if len(t.debiteurs) > 15:
            lines.append(f"  … et {len(t.debiteurs) - 15} autre(s)")
    if t.par_etape:
        lines += ["", "Montants par étape atteinte :"]
        lines.append(_columns([(e.libelle, m(e.montant), f"{e.nombre} facture(s)")
                               for e in t.par_etape], right=(1,)))
    for title, promesses in (("Promesses attendues dans les 7 jours", t.promesses_a_venir),
                             ("Promesses non tenues", t.promesses_non_tenues)):
        lines += ["", f"{title} : {len(promesses) or 'aucune'}"]
        if promesses:
            lines.append(_columns([(p.client, m(p.montant), formats.date_courte(p.jour),
                                    ", ".join(p.factures)) for p in promesses], right=(1,)))
    lines += ["", f"Échéanciers en cours : {len(t.echeanciers) or 'aucun'}"]
    if t.echeanciers:
        lines.append(_columns([(p.client, p.facture, m(p.reste), f"exigible {m(p.exigible)}")
                               for p in t.echeanciers], right=(2,)))
    if t.extra:
        lines += ["", f"Aujourd’hui : {t.extra.get('actions', 0)} action(s) prévue(s), "
                      f"{t.extra.get('problemes', 0)} problème(s) (détail : relancer.py "
                      "--dry-run)."]
        if t.extra.get("gel"):
            lines.append(f"Rien ne serait envoyé : {t.extra['gel']}.")
    return "\n".join(lines)


def report_json(t) -> dict:
    """The dashboard's figures, English keys like the plan's; amounts as numbers."""
    def promesse(p) -> dict:
        return {"client": p.client, "invoices": list(p.factures), "date": p.jour.isoformat(),
                "amount": float(p.montant)}

    return {
        "date": t.date.isoformat(),
        "receivable": float(t.encours), "overdue": float(t.echu),
        "credit_notes": float(t.avoirs), "open_invoices": t.factures_ouvertes,
        "debtors_count": t.clients_debiteurs,
        "dso_days": float(t.dso) if t.dso is not None else None,
        "dso_method": t.methode_dso, "sales_period": float(t.ventes_periode),
        "aged_balance": [{"bucket": b.libelle, "amount": float(b.montant), "count": b.nombre}
                         for b in t.balance],
        "top_debtors": [{"client": d.client, "amount": float(d.montant),
                         "share": float(d.part), "cumulative_share": float(d.cumul),
                         "pareto": d.pareto, "invoices": d.factures, "overdue": float(d.echu)}
                        for d in t.debiteurs],
        "by_step": [{"step": e.libelle, "amount": float(e.montant), "count": e.nombre}
                    for e in t.par_etape],
        "promises_due": [promesse(p) for p in t.promesses_a_venir],
        "broken_promises": [promesse(p) for p in t.promesses_non_tenues],
        "disputes": {"amount": float(t.litiges), "count": t.litiges_nombre},
        "plans": [{"client": p.client, "invoice": p.facture, "remaining": float(p.reste),
                   "due_now": float(p.exigible),
                   "next": p.prochaine.isoformat() if p.prochaine else None}
                  for p in t.echeanciers],
        "calls": {"count": t.appels, "amount": float(t.appels_montant)},
        "actions_today": t.extra.get("actions", 0),
        "problems": t.extra.get("problemes", 0),
    }


def import_json(pointe: Pointe, today: datetime.date) -> dict:
    """The import as one JSON object, English keys like the plan's."""
    def operation(o) -> dict:
        return {"id": o.cle, "date": o.jour.isoformat(), "amount": float(o.montant),
                "label": o.libelle, "payer": o.contrepartie, "reference": o.reference,
                "file": o.fichier}

    errors = [*pointe.anomalies]
    if pointe.ecriture_erreur:
        errors.append(Anomalie(None, None, pointe.ecriture_erreur))
    return {
        "date": today.isoformat(),
        "dry_run": pointe.dry_run,
        "files": [{"file": r.fichier, "format": r.format, "credits": len(r.operations),
                   "debits": r.debits, "end": r.fin.isoformat() if r.fin else None,
                   "ignored": list(r.ignorees)} for r in pointe.releves],
        "matched": [{**operation(a.operation), "client": a.client,
                     "invoices": list(a.factures), "rule": a.motif, "partial": a.partiel}
                    for a in pointe.affectations],
        "to_review": [{**operation(v.operation), "reason": v.motif,
                       "candidates": [{"client": c.client, "invoice": c.numero,
                                       "remaining": float(c.reste)} for c in v.candidats]}
                      for v in pointe.a_verifier],
        "already_imported": pointe.deja,
        "total_matched": float(pointe.total),
        "errors": [{"sheet": a.sheet, "row": a.row, "message": a.message} for a in errors],
    }


def import_summary(pointe: Pointe, config: Config, today: datetime.date) -> str:
    lines = [f"Relevés bancaires du {formats.date_longue(today)} — {config.classeur.name}"]
    for releve in pointe.releves:
        fin = f", jusqu’au {formats.date_courte(releve.fin)}" if releve.fin else ""
        lines.append(f"  {releve.fichier} ({releve.format}) : {len(releve.operations)} crédit(s),"
                     f" {releve.debits} débit(s) laissé(s) de côté{fin}")
        lines.extend(f"    ignoré : {i}" for i in releve.ignorees)
    if pointe.dry_run:
        lines.append("Simulation (--dry-run) : rien n’a été écrit.")
    if pointe.deja:
        lines.append(f"Déjà importées : {pointe.deja} opération(s), laissée(s) telles quelles.")
    if pointe.affectations:
        lines.append("")
        lines.append(f"Paiements reconnus — {len(pointe.affectations)}, total "
                     f"{formats.montant(pointe.total)} :")
        for a in pointe.affectations:
            o = a.operation
            lines.append(f"  - {formats.date_courte(o.jour)} {formats.montant(o.montant)} → "
                         f"{a.client} : {', '.join(a.factures)}"
                         + (" (paiement partiel)" if a.partiel else ""))
            lines.append(f"    {cells_quote(o.libelle or o.contrepartie)} — {a.motif}")
    if pointe.a_verifier:
        lines.append("")
        lines.append(f"À vérifier (feuille À vérifier : écrivez la facture payée, ou "
                     f"« ignorer », dans la colonne Décision) — {len(pointe.a_verifier)} :")
        for v in pointe.a_verifier:
            o = v.operation
            lines.append(f"  - {formats.date_courte(o.jour)} {formats.montant(o.montant)} "
                         f"{cells_quote(o.libelle or o.contrepartie)} : {v.motif}")
            if v.candidats:
                lines.append("    factures possibles : " + ", ".join(
                    f"{c.numero} ({c.client}, reste {formats.montant(c.reste)})"
                    for c in v.candidats))
    if not pointe.affectations and not pointe.a_verifier:
        lines.append("")
        lines.append("Aucun nouveau crédit à rapprocher.")
    decisions = pointe.preparation.decisions
    if decisions:
        lines.append("")
        lines.append(f"Décisions prises dans la feuille À vérifier ({len(decisions)}) :")
        lines.extend(f"  - {d}" for d in decisions)
    found = list(pointe.anomalies)
    if pointe.ecriture_erreur:
        found.append(Anomalie(None, None, pointe.ecriture_erreur))
    lines += _listed("Problèmes", found)
    lines += _listed("Avertissements", [Anomalie(None, None, a.message)
                                        for a in pointe.avertissements])
    if pointe.ecriture is not None and pointe.ecriture.ecrit:
        backup = pointe.ecriture.sauvegarde
        lines.append("")
        lines.append(f"Classeur mis à jour : {config.classeur.name}"
                     + (f" (sauvegarde : {backup.name})" if backup else "")
                     + (f", {pointe.ecriture.paiements} ligne(s) ajoutée(s) à Paiements"
                        if pointe.ecriture.paiements else ""))
    return "\n".join(lines)


def _store_password(config: Config) -> None:
    from .delivery import KEYRING_SERVICE, keyring_user

    envoi = config.envoi
    if not envoi.hote or not envoi.utilisateur:
        _fail(f"{config.path.name}: renseignez d’abord envoi.hote et envoi.utilisateur")
    password = click.prompt(f"Mot de passe SMTP de {envoi.utilisateur} sur {envoi.hote}",
                            hide_input=True, confirmation_prompt="Confirmez le mot de passe",
                            err=True)
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, keyring_user(envoi.utilisateur, envoi.hote), password)
    except Exception as exc:
        _fail(f"trousseau du système indisponible ({type(exc).__name__}) ; utilisez plutôt la "
              "variable d’environnement RELANCES_SMTP_MOT_DE_PASSE")
    click.echo(f"Mot de passe enregistré dans le trousseau du système pour {envoi.utilisateur} "
               f"sur {envoi.hote}.")
    sys.exit(EXIT_OK)


def _settle(config: Config, confirm_id: int | None, resend_id: int | None) -> None:
    if confirm_id is not None and resend_id is not None:
        _fail("--confirmer-envoi et --renvoyer ne vont pas ensemble : choisissez l’un des deux")
    sent = confirm_id is not None
    try:
        entry = settle(config, confirm_id if sent else resend_id, sent)
    except RelancesError as exc:
        _fail(str(exc))
    what = f"{config.libelle(entry.etape)} → {entry.client} du {formats.date_courte(entry.jour)}"
    click.echo(f"Action n° {entry.id} ({what}) : " + (
        "notée comme envoyée." if sent else
        "notée comme non partie ; elle sera refaite à la prochaine exécution."))
    sys.exit(EXIT_OK)


def _verify(config: Config, today: datetime.date) -> None:
    checks = verify(config, today)
    for check in checks:
        click.echo(f"{'OK  ' if check.ok else 'PROBLÈME'} {check.message}")
    bad = [c for c in checks if not c.ok]
    click.echo("")
    click.echo("Tout est prêt." if not bad else f"{len(bad)} problème(s) à corriger.")
    # Without the creditor's identity a real run would refuse everything: nothing is ready.
    sys.exit(EXIT_FAILED if config.identite_manquante() else EXIT_OK if not bad
             else EXIT_PARTIAL)


def main() -> None:
    """scripts/relancer.py."""
    _main(relancer, "relancer.py")


def main_pointer() -> None:
    """scripts/pointer.py."""
    _main(pointer, "pointer.py")


def main_rapport() -> None:
    """scripts/rapport.py."""
    _main(rapport, "rapport.py")


def _main(command: click.Command, name: str) -> None:
    """A script's entry: click's own errors (an unknown option, a bad number) in French too."""
    try:
        command.main(prog_name=name, standalone_mode=False)
    except click.exceptions.NoSuchOption as exc:
        hint = f" (vouliez-vous dire {', '.join(exc.possibilities)} ?)" if exc.possibilities else ""
        _fail(f"option inconnue « {exc.option_name} »{hint} ; voir --help")
    except click.exceptions.MissingParameter as exc:
        if exc.param is not None and exc.param.param_type_name == "argument":
            _fail(f"indiquez au moins un fichier ({exc.param.human_readable_name}) ; "
                  "voir --help")
        hint = exc.param.opts[0] if exc.param is not None and exc.param.opts else "une option"
        _fail(f"{hint} : valeur manquante ; voir --help")
    except click.exceptions.BadParameter as exc:
        hint = exc.param.opts[0] if exc.param is not None and exc.param.opts else "une option"
        message = exc.message if exc.param is not None and exc.param.name == "date_" else (
            "un nombre entier est attendu" if exc.param is not None and
            exc.param.type is click.INT else "valeur invalide")
        _fail(f"{hint} : {message} ; voir --help")
    except click.exceptions.UsageError as exc:
        extra = re.search(r"extra arguments? \((.*)\)", exc.message)
        what = f"argument inattendu « {extra.group(1)} »" if extra else "ligne de commande invalide"
        _fail(f"{what} ; voir --help")
    except click.exceptions.Abort:
        _fail("interrompu")


def _listed(title: str, anomalies: list[Anomalie], classeur: str = "") -> list[str]:
    """A titled block of problems or warnings, each with where it is (sheet, row)."""
    if not anomalies:
        return []
    lines = ["", f"{title} ({len(anomalies)}) :"]
    for anomalie in anomalies:
        where = anomalie.where(classeur if anomalie.sheet else "")
        lines.append(f"  - {where} : {anomalie.message}" if where else f"  - {anomalie.message}")
    return lines


def _bank_lines(preparation) -> list[str]:
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
        for p in preparation.a_verifier:
            lines.append(f"  - {formats.date_courte(p.jour)} {formats.montant(p.montant)} "
                         f"{cells_quote(p.libelle or p.contrepartie)} : {p.motif}")
            if p.candidats:
                shown = ", ".join(f"{numero} ({client})" for client, numero, _ in p.candidats)
                lines.append(f"    factures possibles : {shown} — clients non relancés d’ici là")
    return lines


def _fail(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(EXIT_FAILED)


def _crash(config: Config, dry_run: bool) -> None:
    _fail(_crash_message(config, dry_run))


def _crash_message(config: Config, dry_run: bool) -> str:
    """A bug: its traceback kept in the log file, one line for the user."""
    target = (Path(tempfile.gettempdir()) / "relances-erreur.log") if dry_run else config.log_file
    try:
        with open(target, "a", encoding="utf-8") as out:
            out.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n")
            out.write(traceback.format_exc())
        where = f"détails dans {target}"
    except OSError:
        where = "détails :\n" + traceback.format_exc()
    return (f"erreur inattendue ({sys.exc_info()[1]!r}) — {where}. "
            "Rien n’a été envoyé deux fois : le journal garde trace de chaque action.")


def _log_to(path: Path) -> None:
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return  # a read-only folder must not stop the run
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


# ------------------------------------------------------------------ output


def problems(resultat: Resultat, config: Config | None = None) -> list[Anomalie]:
    label = config.libelle if config is not None else str
    found = list(resultat.anomalies)
    for entry in resultat.incertains:
        found.append(Anomalie(None, None, f"{entry.client} : « {label(entry.etape)} » du "
                              f"{formats.date_courte(entry.jour)} peut-être parti, peut-être pas "
                              f"(interrompu pendant l’envoi ; action n° {entry.id}, "
                              f"{entry.fichier or 'pas de fichier'}) — vérifiez dans la boîte "
                              f"d’envoi, puis --confirmer-envoi {entry.id} ou --renvoyer {entry.id}"))
    if resultat.ecriture_erreur:
        found.append(Anomalie(None, None, resultat.ecriture_erreur))
    if resultat.gel:
        found.insert(0, Anomalie(None, None, resultat.gel))
    return found


def plan_json(resultat: Resultat) -> dict:
    """SPEC §6: the plan as one JSON object, with English keys."""
    return {
        "date": resultat.plan.date.isoformat(),
        "actions": [_action_json(action) for action in resultat.plan.actions],
        "errors": [{"sheet": a.sheet, "row": a.row, "message": a.message}
                   for a in problems(resultat)],
        # Not problems, but the user must know: a payment to tell the agency about, invoices
        # long overdue held for a reason.
        "notices": [{"sheet": a.sheet, "row": a.row, "message": a.message}
                    for a in map(as_anomalie, resultat.plan.signalements)],
    }


def _action_json(action: Action) -> dict:
    return {
        "client": action.client,
        "invoices": list(action.factures),
        "step": action.etape,
        "channel": action.canal,
        "to": ", ".join(action.destinataires) if action.canal == "email" else None,
        # JSON has no decimal type; two-decimal amounts print exactly through float's repr.
        "amount_due": float(action.montant_du),
        # What the message asks for: credit notes deducted, penalties when the step claims
        # them. The summary, the Journal sheet and the message itself show this figure.
        "amount_claimed": float(action.montant_reclame),
        "label": action.titre,
        "invoice_steps": dict(zip(action.factures, (c.split(":")[0] for c in action.cles))),
        "credit_notes": list(action.avoirs),
        # The last day the message gives the client (inclusive), when it gives one.
        "deadline": action.date_limite.isoformat() if action.date_limite else None,
        "complement": action.complement,
    }


def summary(resultat: Resultat, config: Config) -> str:
    plan = resultat.plan
    lines = [f"Relances du {formats.date_longue(plan.date)} — {config.classeur.name}",
             f"{len(resultat.classeur.factures)} facture(s) lue(s), "
             f"{len(plan.actions)} action(s) aujourd’hui."]
    if resultat.apercu_dossier:
        lines.append(f"Aperçu : {len(resultat.apercu)} fichier(s) écrit(s) dans "
                     f"{resultat.apercu_dossier} ; rien n’a été envoyé, ni noté au journal, "
                     "ni écrit dans le classeur.")
        lines.extend(f"  {path.name}" for path in resultat.apercu)
    elif resultat.dry_run:
        lines.append("Simulation (--dry-run) : rien n’a été envoyé ni écrit.")
    files = {id(e.action): e for e in resultat.executions}

    def block(title: str, actions: list[Action], describe) -> None:
        if actions:
            lines.append("")
            # « E-mails préparés (à envoyer depuis votre messagerie) — 5 : » rather than
            # two parentheses in a row.
            count = f" — {len(actions)}" if title.endswith(")") else f" ({len(actions)})"
            lines.append(f"{title}{count} :")
            for action in actions:
                lines.extend("  " + line for line in describe(action))

    def detail(action: Action) -> list[str]:
        execution = files.get(id(action))
        if execution and execution.statut == "echec":
            return [f"  ÉCHEC : {execution.detail}"]
        if not execution or not execution.fichier:
            return []
        # Shown from where the command was typed: `exemple/sortie/…` when run from the project.
        return [f"  {relative(config.classeur.parent / execution.fichier, Path.cwd())}"]

    def message(action: Action) -> list[str]:
        to = ", ".join(action.destinataires)
        titre = action.titre + (f" (complément n° {action.complement})"
                                if action.complement else "")
        head = f"- {titre} → {action.client}" + (f" <{to}>" if to else "")
        lines = [f"{head} : {', '.join(action.factures)} — "
                 f"{formats.montant(action.montant_reclame)}"]
        if action.autres:
            lines.append(f"  dont {', '.join(action.autres)} à une étape antérieure "
                         "(« Sont également échues »)")
        if action.avoirs:
            lines.append(f"  avoir(s) {', '.join(action.avoirs)} déduit(s)")
        return [*lines, *detail(action)]

    by_canal = {canal: [a for a in plan.actions if a.canal == canal]
                for canal in ("email", "courrier", "appel", "recouvrement")}
    if resultat.dry_run or resultat.apercu_dossier:
        title = "E-mails à envoyer"
    elif config.envoi.mode == "smtp":
        title = "E-mails envoyés"
    else:  # dossier mode: nothing left, the user sends them
        title = "E-mails préparés (à envoyer depuis votre messagerie)"
    if resultat.apercu_dossier:
        files = {}
    block(title, by_canal["email"], message)
    block("Courriers à imprimer et poster", by_canal["courrier"], message)
    if resultat.impression:
        lines.append(f"  Tous les courriers du jour en un seul fichier : "
                     f"{relative(resultat.impression, Path.cwd())}")
    appels = [a for a in resultat.appels if not a.agence]
    if appels:
        lines.append("")
        lines.append(f"Appels à passer, du plus gros montant dû au plus petit "
                     f"({len(appels)}) :")
        for appel in appels:
            who = ", ".join(x for x in (appel.contact, appel.telephone) if x)
            mark = " [80 %]" if appel.pareto and len(appels) > 1 else ""
            lines.append(f"  - {appel.client}" + (f" ({who})" if who else "") +
                         f" : {formats.montant(appel.montant_du)} — "
                         f"{', '.join(appel.factures)}{mark}")
            lines.append(f"    depuis le {formats.date_courte(appel.depuis)} ({appel.motif}) ; "
                         f"à demander : {appel.a_demander}")
    agence = [a for a in resultat.appels if a.agence]
    if agence:
        lines.append("")
        lines.append(f"Chez l’agence de recouvrement, ne pas appeler ({len(agence)}) :")
        lines.extend(f"  - {a.client} : {formats.montant(a.montant_du)} — "
                     f"{', '.join(a.factures)} ({a.motif})" for a in agence)
    if resultat.litiges:
        lines.append("")
        lines.append(f"Litiges en cours, à ne pas laisser durer ({len(resultat.litiges)}) :")
        for litige in resultat.litiges:
            since = (f"depuis le {formats.date_courte(litige.depuis)}" if litige.depuis
                     else "depuis l’échéance")
            lines.append(f"  - {litige.client}, {litige.facture} : "
                         f"{formats.montant(litige.reste_du)}, {since} ({litige.jours} jours, "
                         f"{litige.source})")
    block("Dossiers à transmettre au recouvrement", by_canal["recouvrement"], message)
    if resultat.gel:
        lines.append("")
        lines.append("RIEN N’A ÉTÉ ENVOYÉ : " + resultat.gel + ".")
    elif not plan.actions:
        lines.append("")
        lines.append("Rien à faire aujourd’hui.")
    lines.extend(_bank_lines(resultat.preparation))
    lines += _listed("À signaler", [as_anomalie(s) for s in plan.signalements],
                     config.classeur.name)
    lines += _listed("Problèmes", problems(resultat, config), config.classeur.name)
    lines += _listed("Avertissements", resultat.avertissements, config.classeur.name)
    if resultat.ecriture and resultat.ecriture.ecrit:
        backup = resultat.ecriture.sauvegarde
        lines.append("")
        lines.append(f"Classeur mis à jour : {config.classeur.name}"
                     + (f" (sauvegarde : {backup.name})" if backup else ""))
    elif resultat.ecriture:
        lines.append("")
        lines.append(f"Classeur déjà à jour : {config.classeur.name} n’a pas été réécrit.")
    return "\n".join(lines)
