"""`relancer.py --planifier [afficher|installer|retirer]`: the daily job of this config, shown,
installed or removed — a Task Scheduler task on Windows, a crontab line elsewhere."""

from __future__ import annotations

import datetime
import os
import shutil
import sys
from pathlib import Path

import click

from .. import planification as p
from ..config import load_config
from ..errors import RelancesError
from .commun import EXIT_OK, fail

ACTIONS = ("afficher", "installer", "retirer")


def launcher() -> tuple[str, ...]:
    """What the job runs: this very interpreter (a venv's, not the one it links to) and the
    relancer.py being used; installed without a checkout, the `relancer` command."""
    python = os.path.abspath(sys.executable)
    used = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if used is not None and used.name == "relancer.py" and used.is_file():
        return python, str(used.resolve())
    checkout = Path(__file__).resolve().parents[3] / "scripts" / "relancer.py"
    if checkout.is_file():
        return python, str(checkout)
    for folder in (Path(python).parent, None):
        found = shutil.which("relancer", path=str(folder) if folder else None)
        if found:
            return (os.path.abspath(found),)
    fail("impossible de trouver scripts/relancer.py ni la commande relancer : lancez "
         "--planifier depuis le dossier du projet (python scripts/relancer.py --planifier)")
    raise AssertionError  # fail() exits


def schedule(action: str, heure: str | None, config_path: Path, other_options: bool,
             today: datetime.date, windows: bool = sys.platform == "win32") -> None:
    """Show, install or remove the daily job; exits."""
    if action is None:
        fail("--heure ne sert qu’avec --planifier (l’heure de la tâche quotidienne)")
    if action not in ACTIONS:
        fail(f"--planifier : « {action} » inconnu ; attendu afficher, installer ou retirer")
    if other_options:
        fail("--planifier ne se combine qu’avec --config et --heure : la tâche lance "
             "l’exécution du jour de cette configuration")
    try:
        quand = p.parse_heure(heure or p.HEURE_DEFAUT)
        config = load_config(config_path)
        tache = p.tache(config.path, launcher(), quand)
        if windows:
            _windows(action, tache, today)
        else:
            _cron(action, tache)
    except RelancesError as exc:
        fail(str(exc))
    if action != "retirer" and (manquantes := config.identite_manquante()):
        click.echo(f"Attention : l’exécution planifiée refusera d’envoyer (statut 2) tant "
                   f"que {config.path.name} ne renseigne pas {', '.join(manquantes)}.",
                   err=True)
    sys.exit(EXIT_OK)


def _when(tache: p.Tache) -> str:
    return (f"les jours ouvrés (du lundi au vendredi) à {tache.heure:%H:%M}, dans "
            f"{tache.dossier} ; ce que chaque exécution affiche s’ajoute à {tache.sortie}")


def _cron(action: str, tache: p.Tache) -> None:
    ligne = p.ligne_cron(tache)
    if action == "afficher":
        click.echo(f"Tâche quotidienne de {tache.config} : {_when(tache)}.")
        click.echo("")
        click.echo("Ligne de la table cron (Linux, macOS) :")
        click.echo("")
        click.echo(ligne)
        click.echo("")
        click.echo("Pour l’installer : ajoutez « installer » (--planifier installer) ; pour "
                   "la retirer : --planifier retirer.")
        return
    if not shutil.which("crontab"):
        fail("la commande crontab est introuvable sur cet ordinateur ; ajoutez vous-même "
             f"cette ligne à la table cron de l’utilisateur :\n\n{ligne}\n")
    if action == "installer":
        remplacee = p.install_cron(tache)
        click.echo(f"Tâche {'remplacée' if remplacee else 'installée'} dans votre table cron "
                   f"(crontab -l pour la voir) : {_when(tache)}.")
        if sys.platform == "darwin":
            click.echo("Sur un Mac, cron ne part que si l’ordinateur est allumé et éveillé à "
                       "cette heure (voir le README, « Lancer chaque matin automatiquement »).")
    elif p.remove_cron(tache):
        click.echo(f"Tâche de {tache.config} retirée de votre table cron.")
    else:
        click.echo(f"Aucune tâche relances pour {tache.config} dans votre table cron : rien "
                   "à retirer.")


def _windows(action: str, tache: p.Tache, today: datetime.date) -> None:
    import subprocess

    if action == "retirer":
        message = p.run_schtasks(p.schtasks_supprimer(tache))
        (tache.dossier / p.TACHE_XML).unlink(missing_ok=True)
        click.echo(f"Tâche « {tache.nom} » retirée du Planificateur de tâches. "
                   f"{message}".strip())
        return
    xml = p.write_tache_xml(tache, today)
    creer = p.schtasks_creer(tache, xml)
    if action == "afficher":
        click.echo(f"Tâche quotidienne « {tache.nom} » : {_when(tache)} ; si l’ordinateur est "
                   "éteint ou en veille à cette heure, elle part dès qu’il se rallume.")
        click.echo("")
        click.echo(f"Définition pour le Planificateur de tâches : {xml}")
        click.echo("Pour l’installer, dans une invite de commandes :")
        click.echo("")
        click.echo(subprocess.list2cmdline(creer))
        click.echo("")
        click.echo("ou ajoutez « installer » (--planifier installer) ; pour la retirer : "
                   "--planifier retirer.")
        return
    message = p.run_schtasks(creer)
    click.echo(f"Tâche « {tache.nom} » installée dans le Planificateur de tâches : "
               f"{_when(tache)} ; si l’ordinateur est éteint ou en veille à cette heure, elle "
               f"part dès qu’il se rallume. {message}".strip())
