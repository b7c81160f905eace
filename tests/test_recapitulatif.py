"""The daily digest to the owner — in dossier mode, through a real SMTP server on loopback, and
when the run fails — and relancer.py --tous over several company folders."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from relances.cli import relancer

from conftest import NOM_TEST, ROOT, TODAY, copy_config
from test_smtp import Recorder, free_port, smtp_config
from test_smtp import smtp_server  # noqa: F401 (the fixture, used by name)

OWNER = "patron@atelier-dupont.fr"


def with_digest(folder: Path) -> None:
    config = folder / "config.toml"
    text = config.read_text("utf-8").replace("[envoi]\n", f'[envoi]\nrecapitulatif = "{OWNER}"\n', 1)
    config.write_text(text, "utf-8")


def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", TODAY.isoformat(), *args])
    assert "Traceback" not in result.output
    return result


def digests(folder: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("sortie/2026-11-22/recapitulatif-*.eml"))]


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_in_dossier_mode_the_digest_is_written_beside_the_day_s_files(project):
    with_digest(project)
    result = run(project)
    assert result.exit_code == 1  # the example's known problem: a client without an address
    assert "Récapitulatif écrit : " in result.output
    (digest,) = digests(project)
    assert digest["To"] == OWNER
    assert digest["Subject"].startswith(f"Relances du 22/11/2026 — {NOM_TEST} : "
                                        "5 e-mail(s), 1 courrier(s), 2 appel(s)")
    assert "1 problème(s) à corriger" in digest["Subject"]
    body = plain(digest.get_body(("plain",)).get_content())
    assert "E-mails préparés (à envoyer depuis votre messagerie) — 5 :" in body
    assert "Appels à passer, du plus gros montant dû au plus petit (2) :" in body
    assert "Problèmes (1) :" in body and "Café du Commerce" in body
    assert "Promesses non tenues, encore impayées : 1" in body
    # The letters to post come with it, in one PDF.
    (attachment,) = [part for part in digest.iter_attachments()]
    assert attachment.get_filename() == "2026-11-22-a-imprimer.pdf"
    assert attachment.get_content().startswith(b"%PDF")


def test_a_run_that_cannot_be_done_still_sends_its_digest(project):
    with_digest(project)
    (project / ".~lock.relances.xlsx#").write_text("quelqu'un,machine,01.01.2026 10:00,",
                                                   "utf-8")
    result = run(project)
    assert result.exit_code == 2
    (digest,) = digests(project)
    assert digest["Subject"].startswith(f"ÉCHEC des relances du 22/11/2026 — {NOM_TEST}")
    body = digest.get_body(("plain",)).get_content()
    assert "N’A PAS PU SE FAIRE" in body and "ouvert" in body


def test_through_smtp_the_owner_gets_the_digest_after_the_clients_messages(project,
                                                                         smtp_server):
    recorder = Recorder()
    smtp_config(project, smtp_server(recorder))
    with_digest(project)
    result = run(project)
    assert "Récapitulatif envoyé à patron@atelier-dupont.fr." in result.output
    recipients = [to for _, tos, _ in recorder.messages for to in tos]
    assert recipients[-1] == OWNER and recipients.count(OWNER) == 1
    digest = recorder.parsed()[-1]
    assert "E-mails envoyés (5) :" in plain(digest.get_body(("plain",)).get_content())


def test_when_the_smtp_server_is_what_failed_the_digest_waits_in_the_folder(project):
    smtp_config(project, free_port())
    with_digest(project)
    result = run(project)
    assert result.exit_code == 2 and "serveur injoignable" in result.output
    assert "Récapitulatif non envoyé" in result.output
    (digest,) = digests(project)
    assert "serveur injoignable" in digest.get_body(("plain",)).get_content()


def test_stale_bank_data_is_said_in_the_subject(project):
    with_digest(project)
    config = project / "config.toml"
    config.write_text(config.read_text("utf-8").replace(
        "[regles]", "[regles]\npaiements_a_jour_max_jours = 3", 1), "utf-8")
    run(project)
    (digest,) = digests(project)
    assert digest["Subject"].startswith("RIEN ENVOYÉ — Relances du 22/11/2026")
    assert "aucun relevé bancaire importé" in digest.get_body(("plain",)).get_content()


def company(folder: Path, broken: bool = False) -> Path:
    folder.mkdir(parents=True)
    copy_config(folder)
    shutil.copy(ROOT / "exemple" / "relances.xlsx.example", folder / "relances.xlsx")
    shutil.copytree(ROOT / "exemple" / "factures", folder / "factures")
    if broken:
        (folder / "config.toml").write_text("[entreprise\nnom = \"Cassé\"\n", "utf-8")
    return folder


def test_tous_runs_every_company_and_reports_the_worst_status(tmp_path):
    cabinet = tmp_path / "cabinet"
    alpha, beta = company(cabinet / "alpha"), company(cabinet / "beta")
    company(cabinet / "casse", broken=True)
    (cabinet / "archives").mkdir()  # no config.toml: not a company
    result = CliRunner().invoke(relancer, ["--tous", str(cabinet), "--date", "2026-11-22"])
    assert result.exit_code == 2
    output = result.output
    assert "=== alpha ===" in output and "=== beta ===" in output
    assert "Erreur : casse : " in output and "config.toml" in output
    assert "Ensemble — 3 entreprise(s), statut de sortie 2 :" in output
    assert "  - alpha : fait, avec des problèmes" in output
    assert "  - casse : RIEN N’A PU ÊTRE FAIT" in output
    for folder in (alpha, beta):  # each with its own journal and output
        assert (folder / "relances.journal.sqlite").exists()
        assert list(folder.glob("sortie/2026-11-22/emails/*.eml"))
    again = CliRunner().invoke(relancer, ["--tous", str(cabinet), "--date", "2026-11-22",
                                          "--json"])
    combined = json.loads(again.stdout)  # the error about « casse » is on standard error
    assert [c["company"] for c in combined["companies"]] == ["alpha", "beta", "casse"]
    assert combined["companies"][0]["plan"]["actions"] == []  # nothing twice
    assert "error" in combined["companies"][2] and combined["exit_status"] == 2


def test_tous_refuses_options_that_belong_to_one_company(tmp_path):
    company(tmp_path / "alpha")
    result = CliRunner().invoke(relancer, ["--tous", str(tmp_path), "--releve", "x.csv"])
    assert result.exit_code == 2 and "--tous ne se combine" in result.output
