"""Scheduling: the daily job of one config, as a Windows Task Scheduler task or a crontab line.

Pure parts (the task XML, the crontab line, a crontab with our line put in or taken out) and
the two effects they need (reading and writing a crontab, running schtasks), which raise
`PlanificationError` with a French message. Nothing here prints; `cli.planifier` does.
"""

from __future__ import annotations

import datetime
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .errors import RelancesError


class PlanificationError(RelancesError):
    """The daily job could not be read, installed or removed."""


HEURE_DEFAUT = "07:30"
SORTIE = "relances-planifie.log"   # what each scheduled run printed, beside config.toml
TACHE_XML = "relances-planifie.xml"  # the task, written beside config.toml for schtasks
TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
JOURS_OUVRES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
DUREE_MAX = "PT1H"  # a run stuck on a frozen network share is stopped after an hour


def parse_heure(texte: str) -> datetime.time:
    """« 07:30 », « 7:30 », « 7h30 », « 7h » -> a time; anything else: PlanificationError."""
    found = re.fullmatch(r"\s*(\d{1,2})\s*(?::|h|H)\s*(\d{2})?\s*", texte or "")
    if found and (found.group(2) or "h" in texte.lower()):
        heure, minute = int(found.group(1)), int(found.group(2) or 0)
        if heure < 24 and minute < 60:
            return datetime.time(heure, minute)
    raise PlanificationError(f"--heure : heure invalide « {texte} » (format attendu : HH:MM, "
                             "par exemple 07:30)")


@dataclass(frozen=True)
class Tache:
    """The daily job of one config: `commande` run in the config's folder on weekdays at
    `heure`, its output appended to `sortie`."""

    config: Path                # absolute
    commande: tuple[str, ...]   # absolute interpreter, script, --config, absolute config
    heure: datetime.time

    @property
    def dossier(self) -> Path:
        return self.config.parent

    @property
    def sortie(self) -> Path:
        return self.dossier / SORTIE

    @property
    def nom(self) -> str:
        """The Windows task's name: one per company folder."""
        return f"relances – {self.dossier.name or self.dossier}"

    @property
    def marque(self) -> str:
        """Ends our crontab line, so that installing again replaces it and retirer finds it."""
        return f"# relances {_cron_text(str(self.config))}"


def tache(config: Path, lanceur: tuple[str, ...], heure: datetime.time) -> Tache:
    """The job running `lanceur` (interpreter and script, or an executable) on `config`."""
    config = Path(config).resolve()
    for part in (*lanceur, str(config)):
        if "\n" in part or "\r" in part or '"' in part:
            raise PlanificationError(f"{part!r} : un chemin contenant un saut de ligne ou un "
                                     "guillemet ne peut pas être planifié ; renommez le dossier")
    return Tache(config, (*lanceur, "--config", str(config)), heure)


# --- Linux, macOS: cron ------------------------------------------------------------------


def _cron_text(text: str) -> str:
    # cron turns an unescaped % into a newline (the rest becomes standard input)
    return text.replace("%", "\\%")


def ligne_cron(t: Tache) -> str:
    """`30 7 * * 1-5 cd '<folder>' && '<python>' '<script>' --config '<config>' >> '<log>'
    2>&1  # relances <config>`: weekdays at the hour, output appended beside the config."""
    commande = " ".join(shlex.quote(part) for part in t.commande)
    shell = (f"cd {shlex.quote(str(t.dossier))} && {commande} "
             f">> {shlex.quote(str(t.sortie))} 2>&1")
    return f"{t.heure.minute} {t.heure.hour} * * 1-5 {_cron_text(shell)}  {t.marque}"


def _ours(line: str, marque: str) -> bool:
    return not line.lstrip().startswith("#") and line.rstrip().endswith(marque)


def crontab_avec(existant: str, t: Tache) -> str:
    """The crontab with our line, once: an older line of the same config is replaced in place."""
    lines = existant.splitlines()
    nouvelle = ligne_cron(t)
    places = [i for i, line in enumerate(lines) if _ours(line, t.marque)]
    if places:
        lines[places[0]] = nouvelle
        lines = [line for i, line in enumerate(lines) if i not in places[1:]]
    else:
        lines.append(nouvelle)
    return "\n".join(lines) + "\n"


def crontab_sans(existant: str, t: Tache) -> tuple[str, bool]:
    """The crontab without our line (every other line kept), and whether there was one."""
    lines = existant.splitlines()
    kept = [line for line in lines if not _ours(line, t.marque)]
    return ("\n".join(kept) + "\n" if kept else ""), len(kept) != len(lines)


def _crontab(args: list[str], utilisateur: str | None, entree: str | None = None
             ) -> subprocess.CompletedProcess:
    command = ["crontab", *(["-u", utilisateur] if utilisateur else []), *args]
    try:
        return subprocess.run(command, input=entree, capture_output=True, text=True,
                              timeout=60)
    except FileNotFoundError:
        raise PlanificationError("la commande crontab est introuvable sur cet ordinateur") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PlanificationError(f"crontab : {exc}") from None


def read_crontab(utilisateur: str | None = None) -> str:
    """The current crontab; none yet reads as empty."""
    done = _crontab(["-l"], utilisateur)
    if done.returncode == 0:
        return done.stdout
    if "no crontab" in done.stderr.lower():
        return ""
    raise PlanificationError(f"crontab -l : {done.stderr.strip() or 'échec'}")


def write_crontab(contenu: str, utilisateur: str | None = None) -> None:
    done = _crontab(["-"], utilisateur, contenu)
    if done.returncode != 0:
        raise PlanificationError(f"crontab : {done.stderr.strip() or 'échec'} ; rien n’a été "
                                 "changé")


def install_cron(t: Tache, utilisateur: str | None = None) -> bool:
    """Put our line in the crontab; True when it replaced an older one."""
    existant = read_crontab(utilisateur)
    write_crontab(crontab_avec(existant, t), utilisateur)
    return crontab_sans(existant, t)[1]


def remove_cron(t: Tache, utilisateur: str | None = None) -> bool:
    """Take our line out of the crontab; False when it was not there (nothing written)."""
    contenu, found = crontab_sans(read_crontab(utilisateur), t)
    if found:
        write_crontab(contenu, utilisateur)
    return found


# --- Windows: Task Scheduler ---------------------------------------------------------------


def _quoted(part: str) -> str:
    """A Windows command-line argument for cmd.exe: paths always in double quotes, so that a
    space, & or ( in a folder name is not read by cmd (a path never holds a double quote)."""
    return part if part.startswith("--") else f'"{part}"'


def arguments_windows(t: Tache) -> str:
    """cmd.exe's arguments: the run, its output appended beside the config. /s: cmd strips
    exactly the outer quotes and keeps every inner one."""
    commande = " ".join(_quoted(part) for part in t.commande)
    return f'/d /s /c "{commande} >> {_quoted(str(t.sortie))} 2>&1"'


def tache_xml(t: Tache, depuis: datetime.date) -> str:
    """The Task Scheduler definition: weekdays at the hour from `depuis`, run as soon as
    possible after a missed start (a laptop closed at 7:30), on battery too, in the config's
    folder, for the user who installs it while logged on."""
    ET.register_namespace("", TASK_NS)

    def sub(parent, tag, text=None):
        element = ET.SubElement(parent, f"{{{TASK_NS}}}{tag}")
        if text is not None:
            element.text = text
        return element

    task = ET.Element(f"{{{TASK_NS}}}Task", version="1.2")
    info = sub(task, "RegistrationInfo")
    sub(info, "Description", f"Relances du jour (jours ouvrés, {t.heure:%H:%M}) : {t.config}")
    trigger = sub(sub(task, "Triggers"), "CalendarTrigger")
    sub(trigger, "StartBoundary", datetime.datetime.combine(depuis, t.heure).isoformat())
    sub(trigger, "Enabled", "true")
    weekly = sub(trigger, "ScheduleByWeek")
    jours = sub(weekly, "DaysOfWeek")
    for jour in JOURS_OUVRES:
        sub(jours, jour)
    sub(weekly, "WeeksInterval", "1")
    principal = sub(sub(task, "Principals"), "Principal", None)
    principal.set("id", "Author")
    sub(principal, "LogonType", "InteractiveToken")
    sub(principal, "RunLevel", "LeastPrivilege")
    settings = sub(task, "Settings")
    for tag, value in (("MultipleInstancesPolicy", "IgnoreNew"),
                       ("DisallowStartIfOnBatteries", "false"),
                       ("StopIfGoingOnBatteries", "false"),
                       ("AllowHardTerminate", "true"),
                       ("StartWhenAvailable", "true"),
                       ("RunOnlyIfNetworkAvailable", "false"),
                       ("AllowStartOnDemand", "true"),
                       ("Enabled", "true"),
                       ("Hidden", "false"),
                       ("WakeToRun", "false"),
                       ("ExecutionTimeLimit", DUREE_MAX)):
        sub(settings, tag, value)
    actions = sub(task, "Actions")
    actions.set("Context", "Author")
    exec_ = sub(actions, "Exec")
    sub(exec_, "Command", "cmd.exe")
    sub(exec_, "Arguments", arguments_windows(t))
    sub(exec_, "WorkingDirectory", str(t.dossier))
    ET.indent(task)
    return ('<?xml version="1.0" encoding="UTF-16"?>\n'
            + ET.tostring(task, encoding="unicode") + "\n")


def write_tache_xml(t: Tache, depuis: datetime.date) -> Path:
    """The task XML beside the config, in UTF-16 as schtasks /XML reads it."""
    path = t.dossier / TACHE_XML
    try:
        path.write_text(tache_xml(t, depuis), encoding="utf-16")
    except OSError as exc:
        raise PlanificationError(f"{path} : écriture impossible ({exc.strerror or exc})") from None
    return path


def schtasks_creer(t: Tache, xml: Path) -> list[str]:
    return ["schtasks", "/Create", "/F", "/XML", str(xml), "/TN", t.nom]


def schtasks_supprimer(t: Tache) -> list[str]:
    return ["schtasks", "/Delete", "/F", "/TN", t.nom]


def run_schtasks(command: list[str]) -> str:
    """Run schtasks; its own message on failure (in the system's language)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=60)
    except FileNotFoundError:
        raise PlanificationError("schtasks est introuvable (Planificateur de tâches de "
                                 "Windows)") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PlanificationError(f"schtasks : {exc}") from None
    if done.returncode != 0:
        raise PlanificationError(f"schtasks : {(done.stderr or done.stdout).strip() or 'échec'}")
    return done.stdout.strip()
