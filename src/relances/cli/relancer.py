"""`relancer.py`: the daily run (and --verifier, --tous, --planifier, passwords, uncertain sends).

The command line is the only part of relances that prints, reads the clock or exits. Exit
statuses (SPEC §6): 0 all done; 1 done, but some rows or actions failed (listed); 2 nothing
could be done."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
import zoneinfo
from pathlib import Path

import click

from .. import formats
from ..config import Config, load_config
from ..errors import RelancesError
from ..pannes import write_failed
from ..resultat import Resultat
from ..run import run_daily, run_preview, settle, verify
from .commun import (EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, PROGRESS_FROM, common_options,
                     crash_message, fail, log, log_to, run_command)
from .entreprises import DELAI_MAX, run_all
from .importer import avant_la_relance, bilan_json, bilan_texte
from .resumes import import_json, import_summary, plan_json, problems, summary


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.option("--dry-run", is_flag=True,
              help="Simulation : ne rien envoyer, ne rien écrire, montrer ce qui serait fait.")
@click.option("--json", "as_json", is_flag=True,
              help="Écrire le plan en JSON sur la sortie standard, et rien d’autre.")
@click.option("--apercu", metavar="DOSSIER", type=click.Path(path_type=Path),
              help="Écrire dans DOSSIER les e-mails (.eml) et courriers (.pdf) que l’exécution "
                   "produirait, et rien d’autre : pour relire les modèles.")
@click.option("--verifier", is_flag=True,
              help="Vérifier la configuration, le classeur, les modèles, la connexion SMTP et "
                   "la boîte aux lettres, sans rien envoyer.")
@click.option("--enregistrer-mot-de-passe", "store_password", is_flag=True,
              help="Enregistrer le mot de passe SMTP (et IMAP, avec [boite]) dans le trousseau "
                   "du système.")
@click.option("--confirmer-envoi", "confirm_id", type=int, metavar="N",
              help="L’action incertaine n° N est bien partie : la clore.")
@click.option("--renvoyer", "resend_id", type=int, metavar="N",
              help="L’action incertaine n° N n’est pas partie : la refaire à la prochaine exécution.")
@click.option("--releve", "releves", multiple=True, metavar="FICHIER",
              type=click.Path(path_type=Path),
              help="Importer d’abord ce relevé bancaire (CSV, OFX, camt.053), comme "
                   "scripts/pointer.py, puis relancer ; l’option peut être répétée.")
@click.option("--importer", "efactures", multiple=True, metavar="FICHIER",
              type=click.Path(path_type=Path),
              help="Importer d’abord cette facture électronique (Factur-X, UBL, CII) ou ce "
                   "dossier, comme scripts/importer.py, puis relancer ; l’option peut être "
                   "répétée.")
@click.option("--tous", metavar="DOSSIER", type=click.Path(path_type=Path),
              help="Faire l’exécution du jour de chaque entreprise : chaque sous-dossier de "
                   "DOSSIER qui contient un config.toml, chacune dans son processus.")
@click.option("--delai-max", "delai_max", type=int, metavar="SECONDES",
              help=f"Avec --tous : arrêter une entreprise dont l’exécution dure plus de "
                   f"SECONDES (par défaut {DELAI_MAX}) et passer aux suivantes.")
@click.option("--parallele", type=int, metavar="N",
              help="Avec --tous : faire au plus N entreprises à la fois, chacune dans son "
                   "processus (par défaut le nombre de processeurs ; 1 : l’une après l’autre).")
@click.option("--planifier", is_flag=False, flag_value="afficher", metavar="[ACTION]",
              help="Tâche quotidienne de cette configuration (Planificateur de tâches sous "
                   "Windows, cron ailleurs) : afficher (par défaut), installer ou retirer.")
@click.option("--heure", metavar="HH:MM",
              help="Avec --planifier : l’heure de la tâche, les jours ouvrés (par défaut "
                   "07:30).")
def relancer(config_path: Path, classeur: Path | None, date_: datetime.date | None,
             dry_run: bool, as_json: bool, apercu: Path | None, verifier: bool,
             store_password: bool, confirm_id: int | None, resend_id: int | None,
             releves: tuple[Path, ...], efactures: tuple[Path, ...], tous: Path | None,
             delai_max: int | None, parallele: int | None, planifier: str | None,
             heure: str | None) -> None:
    """Relance les factures impayées du classeur : e-mails, courriers, appels à passer.

    Lit le classeur, décide qui relancer et comment, envoie les messages, tient le journal
    et écrit l'état de chaque facture dans le classeur.
    """
    if planifier is not None or heure is not None:
        from .planifier import schedule

        schedule(planifier, heure, config_path, bool(
            classeur or date_ or dry_run or as_json or apercu or verifier or store_password
            or releves or efactures or tous
            or {confirm_id, resend_id, delai_max, parallele} != {None}),
            datetime.date.today())
    if tous is not None:
        if (classeur or apercu or verifier or releves or efactures or confirm_id or resend_id
                or store_password):
            fail("--tous ne se combine qu’avec --date, --dry-run, --json, --delai-max et "
                 "--parallele ; chaque entreprise prend son classeur, ses relevés et ses "
                 "factures électroniques dans sa propre config.toml")
        run_all(tous, date_, dry_run, as_json, DELAI_MAX if delai_max is None else delai_max,
                (os.cpu_count() or 1) if parallele is None else parallele)
    if delai_max is not None:
        fail("--delai-max ne sert qu’avec --tous (le délai accordé à chaque entreprise)")
    if parallele is not None:
        fail("--parallele ne sert qu’avec --tous (combien d’entreprises à la fois)")
    try:
        config = load_config(config_path, classeur)
    except RelancesError as exc:
        fail(str(exc))
    tz = zoneinfo.ZoneInfo(config.fuseau_horaire)
    now = datetime.datetime.now(tz)
    today = date_ or now.date()
    if store_password:
        _store_password(config)
    if confirm_id is not None or resend_id is not None:
        _settle(config, confirm_id, resend_id)
    if verifier:
        _verify(config, today)
    code, output = _daily(config, today, now, dry_run, as_json, apercu, releves, efactures)
    if output is not None:
        click.echo(json.dumps(output, ensure_ascii=False) if as_json else output)
    sys.exit(code)


def _daily(config: Config, today: datetime.date, now: datetime.datetime, dry_run: bool,
           as_json: bool, apercu: Path | None = None, releves: tuple[Path, ...] = (),
           efactures: tuple[Path, ...] = ()) -> tuple[int, object]:
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
        log_to(config.log_file)
    log.info("début : %s, date %s%s", config.classeur, today, " (simulation)" if dry_run else "")
    with contextlib.ExitStack() as stack:
        def start_progress(total: int):
            if total < PROGRESS_FROM or as_json or not sys.stderr.isatty():
                return None
            bar = stack.enter_context(click.progressbar(length=total, label="Relances",
                                                        file=sys.stderr))
            return bar.update

        pointe = bilan = None
        try:
            # New e-invoices first: chased in this run when due (a simulation does not see
            # those it did not write).
            bilan = avant_la_relance(config, efactures, today, now, dry_run or bool(apercu))
            if releves:
                from ..pointage import import_releves, simulated

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
        except OSError as exc:  # a full disk, a read-only folder, before anything went out
            log.error("%s", exc)
            return _failed(config, today, now, write_failed(None, exc) + " ; rien n’a été "
                           "envoyé", real, pointe), None
        except Exception:  # a bug: keep the traceback for us, one clear line for the user
            return _failed(config, today, now, crash_message(config, not real), real,
                           pointe), None
    for warning in config.avertissements:
        click.echo(f"Attention : {warning}", err=True)
    text = summary(resultat, config)
    if pointe is not None:
        text = import_summary(pointe, config, today) + "\n\n" + text
    if bilan is not None:
        text = bilan_texte(bilan, config) + "\n\n" + text
    log.info("fin : %d action(s), %d problème(s)", len(resultat.plan.actions),
             len(problems(resultat)))
    failed = resultat.has_problems or (pointe is not None and pointe.has_problems) or (
        bilan is not None and bilan.has_problems)
    code = EXIT_PARTIAL if failed else EXIT_OK
    if real and config.envoi.recapitulatif:
        from ..recapitulatif import send_digest

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
        if bilan is not None:
            plan["e_invoices"] = bilan_json(bilan)
        return code, plan
    return code, text


def _failed(config: Config, today: datetime.date, now: datetime.datetime, message: str,
            real: bool, pointe=None) -> int:
    """The run could not be done: say it on standard error, and in the digest."""
    click.echo(f"Erreur : {message}", err=True)
    if real and config.envoi.recapitulatif:
        from ..recapitulatif import send_digest

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
    head = ("RIEN ENVOYÉ — " if resultat.gel else
            "INCOMPLET — " if resultat.panne or (resultat.ecriture_erreur and resultat.partis)
            else "")
    return (f"{head}Relances du {formats.date_courte(today)} — {config.entreprise.nom} : "
            + ", ".join(parts) + (f" — {found} problème(s) à corriger" if found else ""))


def _digest_text(resultat: Resultat, text: str, today: datetime.date) -> str:
    """The summary, and the promises the owner should watch this week (from the dashboard
    the write-back computed)."""
    from ..rapports import compute

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


def _store_password(config: Config) -> None:
    """The SMTP password, and the IMAP one when [boite] is set, into the system keyring."""
    from ..boite.imap import keyring_user as imap_user
    from ..delivery import KEYRING_SERVICE, keyring_user

    envoi, boite = config.envoi, config.boite
    comptes = []  # (what, user, host, keyring name, environment variable)
    if envoi.hote and envoi.utilisateur:
        comptes.append(("SMTP", envoi.utilisateur, envoi.hote,
                        keyring_user(envoi.utilisateur, envoi.hote), "RELANCES_SMTP_MOT_DE_PASSE"))
    if boite is not None:
        comptes.append(("IMAP", boite.utilisateur, boite.hote,
                        imap_user(boite.utilisateur, boite.hote), "RELANCES_IMAP_MOT_DE_PASSE"))
    if not comptes:
        fail(f"{config.path.name}: renseignez d’abord envoi.hote et envoi.utilisateur "
             "(ou la section [boite])")
    for quoi, utilisateur, hote, nom, variable in comptes:
        password = click.prompt(f"Mot de passe {quoi} de {utilisateur} sur {hote}",
                                hide_input=True, confirmation_prompt="Confirmez le mot de passe",
                                err=True)
        try:
            import keyring

            keyring.set_password(KEYRING_SERVICE, nom, password)
        except Exception as exc:
            fail(f"trousseau du système indisponible ({type(exc).__name__}) ; utilisez plutôt "
                 f"la variable d’environnement {variable}")
        click.echo(f"Mot de passe {quoi} enregistré dans le trousseau du système pour "
                   f"{utilisateur} sur {hote}.")
    sys.exit(EXIT_OK)


def _settle(config: Config, confirm_id: int | None, resend_id: int | None) -> None:
    if confirm_id is not None and resend_id is not None:
        fail("--confirmer-envoi et --renvoyer ne vont pas ensemble : choisissez l’un des deux")
    sent = confirm_id is not None
    try:
        entry = settle(config, confirm_id if sent else resend_id, sent)
    except RelancesError as exc:
        fail(str(exc))
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
    run_command(relancer, "relancer.py")

