"""`relancer.py --planifier`: the daily job as a Task Scheduler task (XML parsed back) or a
crontab line (parsed back, run by a real shell, installed into real crontabs)."""

from __future__ import annotations

import datetime
import os
import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from defusedxml import ElementTree

from conftest import ROOT, copy_config
from relances import planification as p
from relances.cli.planifier import schedule

NS = {"t": p.TASK_NS}
SCRIPT = ROOT / "scripts" / "relancer.py"
LAUNCHER = (os.path.abspath(sys.executable), str(SCRIPT))
# A folder name cmd, cron and the shell each read their own way: space, accent, &, %.
AWKWARD = "Boulangerie Éric & fils 100%"


def company(parent: Path, name: str = AWKWARD, filled: bool = True) -> Path:
    folder = parent / name
    folder.mkdir(parents=True)
    if filled:
        return copy_config(folder)
    shutil.copy(ROOT / "config.toml", folder / "config.toml")
    return folder / "config.toml"


def relancer(*args: str, env: dict | None = None, cwd: Path | None = None):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


@pytest.mark.parametrize("text, expected", [
    ("07:30", datetime.time(7, 30)), ("7:30", datetime.time(7, 30)),
    ("7h30", datetime.time(7, 30)), ("18h", datetime.time(18, 0)),
    ("0:00", datetime.time(0, 0)), ("23:59", datetime.time(23, 59))])
def test_hour_is_read_as_people_write_it(text, expected):
    assert p.parse_heure(text) == expected


@pytest.mark.parametrize("text", ["25:00", "7:60", "7", "730", "sept heures", "", "7:5"])
def test_impossible_hour_is_refused_in_french(text):
    with pytest.raises(p.PlanificationError, match="heure invalide .* HH:MM"):
        p.parse_heure(text)


# --- Windows: the task XML ----------------------------------------------------------------


def test_task_runs_weekdays_at_the_hour_even_after_a_missed_start_in_the_configs_folder(
        tmp_path):
    config = company(tmp_path)
    tache = p.tache(config, LAUNCHER, datetime.time(7, 30))
    written = p.write_tache_xml(tache, datetime.date(2026, 11, 23))
    assert written == config.parent / "relances-planifie.xml"
    raw = written.read_bytes()
    assert raw.startswith(b"\xff\xfe")  # UTF-16 with its BOM, as schtasks /XML reads it
    task = ElementTree.fromstring(raw)
    assert task.tag == f"{{{p.TASK_NS}}}Task"
    trigger = task.find("t:Triggers/t:CalendarTrigger", NS)
    assert trigger.findtext("t:StartBoundary", namespaces=NS) == "2026-11-23T07:30:00"
    jours = trigger.find("t:ScheduleByWeek/t:DaysOfWeek", NS)
    assert [j.tag.split("}")[1] for j in jours] == ["Monday", "Tuesday", "Wednesday",
                                                     "Thursday", "Friday"]
    assert trigger.findtext("t:ScheduleByWeek/t:WeeksInterval", namespaces=NS) == "1"
    settings = task.find("t:Settings", NS)
    assert settings.findtext("t:StartWhenAvailable", namespaces=NS) == "true"
    assert settings.findtext("t:DisallowStartIfOnBatteries", namespaces=NS) == "false"
    assert settings.findtext("t:StopIfGoingOnBatteries", namespaces=NS) == "false"
    assert settings.findtext("t:ExecutionTimeLimit", namespaces=NS) == "PT1H"
    exec_ = task.find("t:Actions/t:Exec", NS)
    assert exec_.findtext("t:WorkingDirectory", namespaces=NS) == str(config.parent)
    assert exec_.findtext("t:Command", namespaces=NS) == "cmd.exe"
    # What cmd /s /c runs: its outer quotes stripped, every path inside kept in one piece.
    arguments = exec_.findtext("t:Arguments", namespaces=NS)
    assert arguments.startswith('/d /s /c "') and arguments.endswith('"')
    command, redirect = arguments[len('/d /s /c "'):-1].split(" >> ")
    assert shlex.split(command) == [*LAUNCHER, "--config", str(config)]
    assert shlex.split(redirect) == [str(config.parent / "relances-planifie.log"), "2>&1"]
    assert f'"{config}"' in command  # & and spaces inside quotes: not read by cmd


def test_each_company_gets_its_own_task_and_the_exact_schtasks_commands(tmp_path):
    one = p.tache(company(tmp_path, "boulangerie-martin"), LAUNCHER, datetime.time(7, 30))
    two = p.tache(company(tmp_path, "garage leroy"), LAUNCHER, datetime.time(7, 30))
    assert (one.nom, two.nom) == ("relances – boulangerie-martin", "relances – garage leroy")
    xml = two.dossier / p.TACHE_XML
    assert p.schtasks_creer(two, xml) == ["schtasks", "/Create", "/F", "/XML", str(xml),
                                          "/TN", "relances – garage leroy"]
    assert subprocess.list2cmdline(p.schtasks_supprimer(two)) == \
        'schtasks /Delete /F /TN "relances – garage leroy"'


def test_afficher_on_windows_writes_the_task_and_prints_the_command(tmp_path, capsys):
    config = company(tmp_path, "garage leroy")
    with pytest.raises(SystemExit) as done:
        schedule("afficher", "8h15", config, False, datetime.date(2026, 11, 23), windows=True)
    assert done.value.code == 0
    out = capsys.readouterr().out
    xml = config.parent / p.TACHE_XML
    assert f'schtasks /Create /F /XML "{xml}" /TN "relances – garage leroy"' in out
    assert "à 08:15" in out and "dès qu’il se rallume" in out
    task = ElementTree.fromstring(xml.read_bytes())
    assert task.findtext("t:Triggers/t:CalendarTrigger/t:StartBoundary",
                         namespaces=NS) == "2026-11-23T08:15:00"


@pytest.mark.skipif(sys.platform != "win32", reason="schtasks only exists on Windows; here the "
                    "task XML and the command are checked, not run")
def test_task_is_installed_and_removed_for_real_on_windows(tmp_path):
    config = company(tmp_path, "relances test planifier")
    tache = p.tache(config, LAUNCHER, datetime.time(7, 30))
    p.run_schtasks(p.schtasks_creer(tache, p.write_tache_xml(tache, datetime.date.today())))
    try:
        query = subprocess.run(["schtasks", "/Query", "/TN", tache.nom, "/XML"],
                               capture_output=True, text=True, errors="replace")
        assert query.returncode == 0 and "<StartWhenAvailable>true" in query.stdout
    finally:
        p.run_schtasks(p.schtasks_supprimer(tache))


# --- Linux, macOS: the crontab line --------------------------------------------------------


def cron_reads(line: str) -> tuple[str, str]:
    """(schedule, what cron hands to /bin/sh): cron turns \\% back into %."""
    fields = line.split(" ", 5)
    return " ".join(fields[:5]), fields[5].replace("\\%", "%")


def test_cron_line_runs_this_interpreter_on_this_config_on_weekdays(tmp_path):
    config = company(tmp_path)
    line = p.ligne_cron(p.tache(config, LAUNCHER, datetime.time(7, 30)))
    schedule_, shell = cron_reads(line)
    assert schedule_ == "30 7 * * 1-5"
    assert "%" not in line.replace("\\%", "")  # a bare % would cut the command
    assert shlex.split(shell, comments=True) == [
        "cd", str(config.parent), "&&", *LAUNCHER, "--config", str(config),
        ">>", str(config.parent / "relances-planifie.log"), "2>&1"]
    assert line.endswith(f"# relances {config}".replace("%", "\\%"))
    assert cron_reads(p.ligne_cron(p.tache(config, LAUNCHER, datetime.time(18, 5))))[0] == \
        "5 18 * * 1-5"


def test_cron_command_run_by_a_real_shell_reaches_relances_and_logs_beside_the_config(
        tmp_path):
    config = company(tmp_path, filled=False)  # a fresh config: the run refuses, and says why
    _, shell = cron_reads(p.ligne_cron(p.tache(config, LAUNCHER, datetime.time(7, 30))))
    done = subprocess.run(["/bin/sh", "-c", shell], cwd="/", capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == done.stderr == ""
    log = (config.parent / "relances-planifie.log").read_text(encoding="utf-8")
    assert "l’identité de votre entreprise n’est pas remplie" in log
    assert str(config) in log


def test_crontab_edits_keep_other_lines_and_replace_ours_once(tmp_path):
    one = p.tache(company(tmp_path, "a"), LAUNCHER, datetime.time(7, 30))
    two = p.tache(company(tmp_path, "b"), LAUNCHER, datetime.time(7, 30))
    other = "MAILTO=moi@example.fr\n0 1 * * * /usr/bin/sauvegarde\n"
    once = p.crontab_avec(other, one)
    later = p.tache(one.config, LAUNCHER, datetime.time(9, 0))
    twice = p.crontab_avec(p.crontab_avec(once, two), later)
    assert twice.splitlines() == [*other.splitlines(), p.ligne_cron(later), p.ligne_cron(two)]
    assert p.crontab_sans(twice, one) == (other + p.ligne_cron(two) + "\n", True)
    assert p.crontab_sans(other, one) == (other, False)
    # A commented-out copy of our line is the user's: left alone.
    assert p.crontab_sans("# " + p.ligne_cron(one), one)[1] is False


TEST_USER = "relances-planifier-test"


@pytest.fixture
def cron_user():
    """A system user of our own, so that a real crontab is edited without touching the
    crontab of whoever runs the tests (creating it needs root)."""
    if not shutil.which("crontab") or not shutil.which("useradd") or os.geteuid() != 0:
        pytest.skip("needs root and cron's crontab (apt-get install cron) to edit a test "
                    "user's real crontab")
    try:
        pwd.getpwnam(TEST_USER)
        created = False
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", TEST_USER], check=True)
        created = True
    subprocess.run(["crontab", "-u", TEST_USER, "-r"], capture_output=True)
    yield TEST_USER
    subprocess.run(["crontab", "-u", TEST_USER, "-r"], capture_output=True)
    if created:
        subprocess.run(["userdel", TEST_USER], check=True)


def test_real_crontab_install_twice_keeps_one_line_and_remove_takes_only_ours(
        tmp_path, cron_user):
    tache = p.tache(company(tmp_path), LAUNCHER, datetime.time(7, 30))
    assert p.read_crontab(cron_user) == ""  # no crontab yet reads as empty
    p.write_crontab("0 1 * * * /usr/bin/sauvegarde\n", cron_user)
    assert p.install_cron(tache, cron_user) is False
    assert p.install_cron(tache, cron_user) is True
    installed = p.read_crontab(cron_user)
    assert installed.count("# relances ") == 1 and p.ligne_cron(tache) in installed
    assert p.remove_cron(tache, cron_user) is True
    assert p.read_crontab(cron_user) == "0 1 * * * /usr/bin/sauvegarde\n"
    assert p.remove_cron(tache, cron_user) is False


# --- the command line -----------------------------------------------------------------------


CRONTAB = """#!/bin/sh
# A crontab of its own: the table in $CRONTAB_TABLE, -l and - as cron's crontab has them.
case "$1" in
  -l) if [ -f "$CRONTAB_TABLE" ]; then cat "$CRONTAB_TABLE"; else
        echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$CRONTAB_TABLE" ;;
  *) echo "crontab: option inattendue $1" >&2; exit 1 ;;
esac
"""


@pytest.fixture
def own_crontab(tmp_path):
    """An environment whose `crontab` is a small real program keeping its table in a file."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "crontab").write_text(CRONTAB)
    (bin_ / "crontab").chmod(0o755)
    table = tmp_path / "table"
    return {**os.environ, "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}",
            "CRONTAB_TABLE": str(table)}, table


def test_planifier_on_a_fresh_project_prints_the_line_running_this_script(tmp_path):
    config = company(tmp_path, "projet", filled=False)
    done = relancer("--planifier", cwd=config.parent)
    assert done.returncode == 0, done.stderr
    line = next(l for l in done.stdout.splitlines() if l.startswith("30 7 * * 1-5 "))
    assert shlex.split(cron_reads(line)[1], comments=True)[3:7] == [
        *LAUNCHER, "--config", str(config)]
    assert "refusera d’envoyer (statut 2) tant que config.toml ne renseigne pas " \
           "entreprise.nom" in done.stderr


@pytest.mark.parametrize("args, message", [
    (["--planifier", "--heure", "25:00"], "Erreur : --heure : heure invalide « 25:00 » "
                                          "(format attendu : HH:MM, par exemple 07:30)\n"),
    (["--planifier", "demain"], "Erreur : --planifier : « demain » inconnu ; attendu "
                                "afficher, installer ou retirer\n"),
    (["--heure", "8:00"], "Erreur : --heure ne sert qu’avec --planifier (l’heure de la tâche "
                          "quotidienne)\n"),
    (["--planifier", "--dry-run"], "Erreur : --planifier ne se combine qu’avec --config et "
                                   "--heure : la tâche lance l’exécution du jour de cette "
                                   "configuration\n")])
def test_planifier_mistakes_get_a_french_message_and_status_2(tmp_path, args, message):
    config = company(tmp_path)
    done = relancer(*args, "--config", str(config))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)


def test_installer_twice_then_retirer_edits_only_our_line(tmp_path, own_crontab):
    env, table = own_crontab
    one, two = company(tmp_path, "a b"), company(tmp_path)
    table.write_text("0 1 * * * /usr/bin/sauvegarde\n")
    first = relancer("--planifier", "installer", "--config", str(one), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Tâche installée dans votre table cron")
    again = relancer("--planifier", "installer", "--config", str(one), "--heure", "8h",
                     env=env)
    assert again.stdout.startswith("Tâche remplacée")
    assert relancer("--planifier", "installer", "--config", str(two), env=env).returncode == 0
    lines = table.read_text().splitlines()
    assert [line.split(" ", 5)[:2] for line in lines] == [["0", "1"], ["0", "8"], ["30", "7"]]
    removed = relancer("--planifier", "retirer", "--config", str(one), env=env)
    assert removed.stdout == f"Tâche de {one} retirée de votre table cron.\n"
    assert table.read_text().splitlines() == [lines[0], lines[2]]
    nothing = relancer("--planifier", "retirer", "--config", str(one), env=env)
    assert (nothing.returncode, nothing.stdout) == (
        0, f"Aucune tâche relances pour {one} dans votre table cron : rien à retirer.\n")


def test_without_crontab_installer_says_what_line_to_add_by_hand(tmp_path):
    config = company(tmp_path)
    empty = tmp_path / "rien"
    empty.mkdir()
    done = relancer("--planifier", "installer", "--config", str(config),
                    env={**os.environ, "PATH": str(empty)})
    assert done.returncode == 2
    assert done.stderr.startswith("Erreur : la commande crontab est introuvable sur cet "
                                  "ordinateur ; ajoutez vous-même cette ligne")
    assert p.ligne_cron(p.tache(config, LAUNCHER, datetime.time(7, 30))) in done.stderr


def test_readmes_cron_line_is_the_one_relances_writes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tache = p.tache(Path("/srv/relances/config.toml"), ("/srv/relances/.venv/bin/python",
                    "/srv/relances/scripts/relancer.py"), datetime.time(7, 30))
    assert f"`{p.ligne_cron(tache)}`" in readme
