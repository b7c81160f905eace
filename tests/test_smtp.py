"""SMTP delivery against a real SMTP server on loopback (aiosmtpd): no mock of smtplib."""

from __future__ import annotations

import email
import email.policy
import socket
import sqlite3
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from relances import delivery
from relances.cli import relancer

from conftest import ROOT, TODAY

PASSWORD = "s3cret-Mot-de-passe"
EXAMPLE_EMAILS = 5  # the example workbook's emails on 22/11/2026


class Recorder:
    """Keeps what the server accepted; can refuse a recipient, answer 4xx once, or hang up."""

    def __init__(self, refuse=(), busy_once=(), drop_at_mail=None):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse, self.busy = set(refuse), set(busy_once)
        self.drop_at_mail, self.mails = drop_at_mail, 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails += 1
        if self.mails == self.drop_at_mail:
            server.transport.close()  # the server goes away before answering
            return "421 4.3.0 Au revoir"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Destinataire inconnu"
        if address in self.busy:
            self.busy.discard(address)
            return "451 4.3.2 Reessayez plus tard"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content))
        return "250 Message accepte"  # ASCII: also valid for a server without SMTPUTF8

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(data, policy=email.policy.default)
                for _, _, data in self.messages]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    """smtp_server(recorder, tls=False, auth=False) -> port; stopped after the test."""
    controllers = []
    monkeypatch.setattr(delivery, "RETRY_PAUSE", 0.01)

    def start(recorder: Recorder, tls: bool = False, auth: bool = False,
              utf8: bool = True) -> int:
        kwargs = {"enable_SMTPUTF8": utf8}
        if tls:
            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(server_context)
            ca_file = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the client trusts this CA
            kwargs.update(tls_context=server_context, require_starttls=True)
        if auth:
            def check(server, session, envelope, mechanism, data):
                ok = _text(data.login) == "compta@atelier-dupont.fr" and _text(data.password) == PASSWORD
                return AuthResult(success=ok, handled=False)  # handled=False: answer 535 on failure

            kwargs.update(authenticator=check, auth_required=True, auth_require_tls=tls)
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


def smtp_config(folder: Path, port: int, securite: str = "aucune", utilisateur: str = "",
                extra: str = "") -> None:
    path = folder / "config.toml"
    text = path.read_text(encoding="utf-8").replace('mode = "dossier"', 'mode = "smtp"', 1)
    lines = ['hote = "127.0.0.1"', f"port = {port}", f'securite = "{securite}"']
    if utilisateur:
        lines.append(f'utilisateur = "{utilisateur}"')
    text = text.replace("[envoi]\n", "[envoi]\n" + "\n".join(lines) + "\n" + extra, 1)
    path.write_text(text, encoding="utf-8")


def run(folder: Path, *args: str, env: dict | None = None):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", TODAY.isoformat(), *args], env=env)
    assert "Traceback" not in result.output
    return result


def journal_rows(folder: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(folder / "relances.journal.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM actions WHERE canal = 'email' AND statut != 'repris' ORDER BY id").fetchall()
    finally:
        db.close()


def journal_sheet(folder: Path) -> list[tuple]:
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    return list(book["Journal"].iter_rows(min_row=2, values_only=True))


def test_plain_smtp_sends_each_message_once_exactly_as_kept_in_the_eml(project, smtp_server):
    recorder = Recorder()
    smtp_config(project, smtp_server(recorder),
                extra='repondre_a = "relances@atelier-dupont.fr"\ncopie_cachee = "archive@atelier-dupont.fr"\n')
    result = run(project)
    assert result.exit_code == 1, result.output  # Café du Commerce has no address: reported
    assert len(recorder.messages) == EXAMPLE_EMAILS
    rows = journal_rows(project)
    assert [r["statut"] for r in rows] == ["envoye"] * EXAMPLE_EMAILS
    for (sender, recipients, data), row in zip(recorder.messages, rows):
        assert sender == "compta@atelier-dupont.fr"
        assert recipients[-1] == "archive@atelier-dupont.fr"  # the BCC archive, envelope only
        assert (project / row["fichier"]).read_bytes().replace(b"\r\n", b"\n") == \
            data.replace(b"\r\n", b"\n")  # the proof is the message sent
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert message["Message-ID"] == row["message_id"]
        assert message["Message-ID"].endswith("@atelier-dupont.fr>")
        assert message["Reply-To"] == "relances@atelier-dupont.fr"
        assert "Bcc" not in message and message["Date"]
    by_to = {m["To"].addresses[0].addr_spec: m for m in recorder.parsed()}
    martin = by_to["compta@boulangerie-martin.fr"]
    assert martin["From"].addresses[0].display_name == "Atelier Dupont — Comptabilité"
    headers = [data.split(b"\r\n\r\n")[0] for _, _, data in recorder.messages]
    assert all(h.isascii() and b"=?utf-8?" in h for h in headers)  # RFC 2047 display names
    assert {p.get_filename() for p in martin.iter_attachments()} == {"F-2026-031.pdf", "F-2026-044.pdf"}
    english = by_to["accounts@harbour-trading.co.uk"]
    assert "gentle reminder" in english["Subject"]
    assert english["X-Unsent"] is None  # a sent message is no draft
    sheet = journal_sheet(project)
    assert any(row[8] and row[8].endswith(".eml") and row[9] == "envoyé" for row in sheet)


def test_a_client_display_name_with_accents_is_encoded(small_project, smtp_server):
    from conftest import client_row, days, invoice_row

    folder = small_project([invoice_row(client="Société Générale Éts", echeance=TODAY - days(4))],
                           [client_row(nom="Société Générale Éts", contact="")])
    recorder = Recorder()
    smtp_config(folder, smtp_server(recorder))
    assert run(folder).exit_code == 0
    (message,) = recorder.parsed()
    assert message["To"].addresses[0].display_name == "Société Générale Éts"
    assert b"Soci\xc3\xa9t\xc3\xa9" not in recorder.messages[0][2].split(b"\r\n\r\n")[0]


def test_starttls_with_login_and_the_password_never_written_anywhere(project, smtp_server):
    recorder = Recorder()
    smtp_config(project, smtp_server(recorder, tls=True, auth=True), securite="starttls",
                utilisateur="compta@atelier-dupont.fr")
    result = run(project, env={"RELANCES_SMTP_MOT_DE_PASSE": PASSWORD})
    assert result.exit_code == 1, result.output
    assert len(recorder.messages) == EXAMPLE_EMAILS
    assert PASSWORD not in result.output
    for path in project.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_refused_login_sends_nothing_and_exits_2(project, smtp_server):
    recorder = Recorder()
    port = smtp_server(recorder, tls=True, auth=True)
    smtp_config(project, port, securite="starttls", utilisateur="compta@atelier-dupont.fr")
    result = run(project, env={"RELANCES_SMTP_MOT_DE_PASSE": "mauvais"})
    assert result.exit_code == 2
    assert f"127.0.0.1:{port}" in result.output and "mot de passe refusé" in result.output
    assert "mauvais" not in result.output
    assert recorder.messages == []
    assert all(r["statut"] != "envoye" for r in journal_rows(project))
    assert not list(project.rglob("*.eml"))


def test_no_server_at_all_is_a_clear_exit_2(project):
    port = free_port()
    smtp_config(project, port)
    result = run(project)
    assert result.exit_code == 2
    assert f"Erreur : 127.0.0.1:{port} : serveur injoignable" in result.output
    assert journal_rows(project) == []  # nothing recorded, so nothing marked as sent
    assert not list(project.rglob("*.eml"))


def test_a_refused_recipient_fails_that_action_only(project, smtp_server):
    recorder = Recorder(refuse={"luc@menuiserie-petit.fr"})
    smtp_config(project, smtp_server(recorder))
    result = run(project)
    assert result.exit_code == 1
    assert len(recorder.messages) == EXAMPLE_EMAILS - 1
    assert "ÉCHEC" in result.output and "550" in result.output
    statuts = {r["client"]: r["statut"] for r in journal_rows(project)}
    assert statuts["Menuiserie Petit"] == "echec"
    assert list(statuts.values()).count("envoye") == EXAMPLE_EMAILS - 1
    assert any(row[2] == "Menuiserie Petit" and row[9].startswith("échec") for row in journal_sheet(project))
    # The step is free again: the next run tries once more (and the server now accepts).
    recorder.refuse.clear()
    run(project)
    assert len(recorder.messages) == EXAMPLE_EMAILS


def test_a_transient_refusal_is_retried_after_a_pause(project, smtp_server):
    recorder = Recorder(busy_once={"luc@menuiserie-petit.fr"})
    smtp_config(project, smtp_server(recorder))
    run(project)
    assert len(recorder.messages) == EXAMPLE_EMAILS
    assert all(r["statut"] == "envoye" for r in journal_rows(project))


def test_a_dropped_connection_is_reopened_once_and_nothing_is_sent_twice(project, smtp_server):
    recorder = Recorder(drop_at_mail=2)
    smtp_config(project, smtp_server(recorder))
    result = run(project)
    assert result.exit_code == 1, result.output  # only the client without an address
    recipients = [r[1][0] for r in recorder.messages]
    assert len(recipients) == EXAMPLE_EMAILS == len(set(recipients))


def test_a_crash_between_sending_and_the_journal_is_never_resent_on_its_own(project, smtp_server):
    recorder = Recorder()
    port = smtp_server(recorder)
    smtp_config(project, port)
    # A real process, killed right after its first SMTP transaction, before the journal knows.
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT / 'src')!r})
        from relances import journal
        original = journal.Journal.finish
        def finish(self, action_id, statut, detail=""):
            if statut == "envoye":
                os._exit(137)
            return original(self, action_id, statut, detail)
        journal.Journal.finish = finish
        from relances.cli import relancer
        relancer(["--config", {str(project / 'config.toml')!r}, "--date", "{TODAY}"])
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    assert len(recorder.messages) == 1

    result = run(project)  # the next morning's run
    assert len(recorder.messages) == EXAMPLE_EMAILS  # the 4 others; the first not again
    first = email.message_from_bytes(recorder.messages[0][2], policy=email.policy.default)
    sent_to = [r[1][0] for r in recorder.messages]
    assert sent_to.count(first["To"].addresses[0].addr_spec) == 1
    assert "peut-être parti" in result.output and "--renvoyer" in result.output
    (uncertain,) = [r for r in journal_rows(project) if r["statut"] == "incertain"]
    assert any(row[9].startswith("incertain") for row in journal_sheet(project))
    assert run(project).output.count("peut-être parti") == 1  # still not resent

    # The user looked in the server's log: it did not leave. Ask for it again.
    answer = run(project, "--renvoyer", str(uncertain["id"]))
    assert answer.exit_code == 0 and "sera refaite" in answer.output
    run(project)
    assert sent_to.count(first["To"].addresses[0].addr_spec) == 1
    assert [r[1][0] for r in recorder.messages].count(first["To"].addresses[0].addr_spec) == 2


def test_an_uncertain_message_can_be_confirmed_as_sent(project, smtp_server, tmp_path):
    recorder = Recorder()
    smtp_config(project, smtp_server(recorder))
    run(project)
    db = sqlite3.connect(project / "relances.journal.sqlite")
    db.execute("UPDATE actions SET statut = 'incertain' WHERE id = (SELECT min(id) FROM actions "
               "WHERE canal = 'email')")
    db.commit()
    db.close()
    (uncertain,) = [r for r in journal_rows(project) if r["statut"] == "incertain"]
    answer = run(project, "--confirmer-envoi", str(uncertain["id"]))
    assert answer.exit_code == 0 and "notée comme envoyée" in answer.output
    assert run(project, "--confirmer-envoi", str(uncertain["id"])).exit_code == 2  # not uncertain
    assert "peut-être" not in run(project).output


def test_an_address_with_a_line_break_is_refused_and_never_sent(small_project, smtp_server):
    from conftest import client_row, days, invoice_row

    folder = small_project([invoice_row(echeance=TODAY - days(4))],
                           [client_row(email="compta@alpha.fr\nBcc: victime@ailleurs.fr")])
    recorder = Recorder()
    smtp_config(folder, smtp_server(recorder))
    result = run(folder)
    assert result.exit_code == 1
    assert recorder.messages == []
    assert "aucune adresse e-mail utilisable" in result.output


def test_the_password_in_config_toml_is_refused_with_where_to_put_it(project):
    smtp_config(project, 25, extra='mot_de_passe = "x"\n')
    result = run(project)
    assert result.exit_code == 2
    assert "RELANCES_SMTP_MOT_DE_PASSE" in result.output and "--enregistrer-mot-de-passe" in result.output


def test_verifier_checks_the_login_without_sending(project, smtp_server):
    recorder = Recorder()
    smtp_config(project, smtp_server(recorder, tls=True, auth=True), securite="starttls",
                utilisateur="compta@atelier-dupont.fr")
    good = run(project, "--verifier", env={"RELANCES_SMTP_MOT_DE_PASSE": PASSWORD})
    assert good.exit_code == 0, good.output
    assert "Tout est prêt" in good.output and "joignable, connecté" in good.output
    bad = run(project, "--verifier", env={"RELANCES_SMTP_MOT_DE_PASSE": "non"})
    assert bad.exit_code == 1 and "PROBLÈME" in bad.output and "mot de passe refusé" in bad.output
    assert recorder.messages == []
    assert not (project / "relances.journal.sqlite").exists()


def test_verifier_names_a_broken_template(project):
    (project / "lettres").mkdir(exist_ok=True)
    (project / "lettres" / "rappel.texte.txt").write_text("Bonjour {{ client.inconnu }}", "utf-8")
    result = run(project, "--verifier")
    assert result.exit_code == 1
    assert "PROBLÈME modèle rappel (fr)" in result.output and "inconnu" in result.output


class MemoryKeyring:
    """A keyring backend kept in memory: the real `keyring` API, without a desktop keychain."""

    def __new__(cls):
        import keyring.backend

        class Backend(keyring.backend.KeyringBackend):
            priority = 1
            store: dict = {}

            def get_password(self, service, username):
                return self.store.get((service, username))

            def set_password(self, service, username, password):
                self.store[(service, username)] = password

            def delete_password(self, service, username):
                self.store.pop((service, username), None)

        return Backend()


def test_the_password_stored_in_the_keyring_is_used_to_log_in(project, smtp_server):
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        recorder = Recorder()
        smtp_config(project, smtp_server(recorder, tls=True, auth=True), securite="starttls",
                    utilisateur="compta@atelier-dupont.fr")
        stored = CliRunner().invoke(relancer, ["--config", str(project / "config.toml"),
                                               "--enregistrer-mot-de-passe"],
                                    input=f"{PASSWORD}\n{PASSWORD}\n")
        assert stored.exit_code == 0, stored.output
        assert "enregistré dans le trousseau" in stored.output
        assert keyring.get_password("relances", "compta@atelier-dupont.fr@127.0.0.1") == PASSWORD
        result = run(project, env={"RELANCES_SMTP_MOT_DE_PASSE": ""})
        assert len(recorder.messages) == EXAMPLE_EMAILS, result.output
    finally:
        keyring.set_keyring(previous)


def test_without_a_keyring_the_user_is_told_to_use_the_environment(project):
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        smtp_config(project, 25, utilisateur="compta@atelier-dupont.fr")
        result = CliRunner().invoke(relancer, ["--config", str(project / "config.toml"),
                                               "--enregistrer-mot-de-passe"], input="x\nx\n")
        assert result.exit_code == 2
        assert "RELANCES_SMTP_MOT_DE_PASSE" in result.output and "Traceback" not in result.output
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize("utf8", [True, False])
def test_internationalised_addresses_are_sent_or_refused_per_message(smtp_server, small_project,
                                                                     utf8):
    from conftest import client_row, days, invoice_row

    folder = small_project(
        [invoice_row(client="Alpha", numero="F-1", echeance=TODAY - days(10)),
         invoice_row(client="Beta", numero="F-2", echeance=TODAY - days(10))],
        [client_row("Alpha", "compta@société.fr"), client_row("Beta", "josé@exemple.fr")])
    recorder = Recorder()
    smtp_config(folder, smtp_server(recorder, utf8=utf8))
    result = run(folder, env={"RELANCES_SMTP_MOT_DE_PASSE": ""})
    rcpts = {to for _, tos, _ in recorder.messages for to in tos}
    assert "compta@xn--socit-esab.fr" in rcpts  # the domain in its IDNA form
    (alpha,) = [m for m in recorder.parsed() if "F-1" in m["Subject"]]
    assert alpha["To"].addresses[0].addr_spec == "compta@xn--socit-esab.fr"
    statuses = {row["client"]: row["statut"] for row in journal_rows(folder)}
    if utf8:
        assert result.exit_code == 0, result.output
        assert "josé@exemple.fr" in rcpts
        (beta,) = [data for _, _, data in recorder.messages if b"F-2" in data]
        assert "<josé@exemple.fr>".encode() in beta  # UTF-8 header, as RFC 6531 has it
        assert statuses == {"Alpha": "envoye", "Beta": "envoye"}
    else:
        assert result.exit_code == 1
        assert "n’accepte pas les adresses non ASCII (SMTPUTF8)" in result.output
        assert "peut-être parti" not in result.output
        assert statuses == {"Alpha": "envoye", "Beta": "echec"}


@pytest.mark.parametrize("contact, adresse", [
    ("x" * 40_000, "compta@alpha.fr"),  # one word: the standard library cannot fold it
    ("Jean-" * 8_000, "compta@alpha.fr"),
    ('"\\' * 20_000, "compta@alpha.fr"),  # doubled by the quoting
    ("é" * 40_000, "josé@exemple.fr"),  # a UTF-8 header (SMTPUTF8): two octets a character
])
def test_a_40000_character_contact_is_cut_in_headers_and_the_message_goes(small_project,
                                                                          smtp_server, contact,
                                                                          adresse):
    from conftest import client_row, days, invoice_row

    folder = small_project([invoice_row(echeance=TODAY - days(4))],
                           [client_row(email=adresse, contact=contact, civilite="Madame")])
    recorder = Recorder()
    smtp_config(folder, smtp_server(recorder))
    result = run(folder)
    assert result.exit_code == 0, result.output
    ((_, _, data),) = recorder.messages
    (eml,) = (folder / "sortie").rglob("*.eml")
    for sent in (data, eml.read_bytes()):
        assert max(len(line) for line in sent.splitlines()) <= 998
        message = email.message_from_string(sent.decode(), policy=email.policy.default)
        # (Python's parser keeps the space between two encoded words, that mail readers drop.)
        name = message["To"].addresses[0].display_name.replace(" ", "")
        assert contact.startswith(name[:-1]) and name.endswith("…") and len(name) <= 100
        text = message.get_body(("plain",)).get_content()
        assert f"Bonjour Madame {contact[:30_000]}" in text  # the body keeps it whole
