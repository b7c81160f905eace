"""Issue 21 end to end, as a user lives it: reminders sent over SMTP (aiosmtpd), a client's
reply and a Postfix bounce dropped into a real IMAP mailbox (Dovecot), the next runs on the
command line with a real workbook."""

from __future__ import annotations

import datetime
import email
import email.policy
import io
import sqlite3
from email.message import EmailMessage
from email.utils import format_datetime

import openpyxl
from click.testing import CliRunner

from relances.cli import relancer

from conftest import ROOT, TODAY, client_row, days, invoice_row
from dovecot import PASSWORD
from test_smtp import Recorder, smtp_config, smtp_server  # noqa: F401 (a fixture)

PARIS = datetime.timezone(datetime.timedelta(hours=1))


def run(folder, day, *args):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", day.isoformat(), *args],
                                env={"RELANCES_IMAP_MOT_DE_PASSE": PASSWORD})
    assert "Traceback" not in result.output, result.output
    return result


def reply_to(reminder: email.message.EmailMessage) -> bytes:
    reply = EmailMessage()
    reply["From"] = "Anne Alpha <compta@alpha.fr>"
    reply["To"] = reminder["From"]
    reply["Subject"] = "Re: " + reminder["Subject"]
    reply["Date"] = format_datetime(datetime.datetime(2026, 11, 23, 9, 15, tzinfo=PARIS))
    reply["Message-ID"] = "<reponse-1@alpha.fr>"
    reply["In-Reply-To"] = reminder["Message-ID"]
    reply["References"] = reminder["Message-ID"]
    quoted = "\n".join("> " + line for line in
                       reminder.get_body(("plain",)).get_content().splitlines())
    reply.set_content("Bonjour,\n\nLa facture est fausse : le bon de commande dit 800 €.\n\n"
                      "Cordialement,\nAnne\n\nLe 22/11/2026, Atelier a écrit :\n" + quoted + "\n")
    return bytes(reply)


def bounce_of(reminder: email.message.EmailMessage) -> bytes:
    """A Postfix DSN (tests/fixtures/courriels/rebond-postfix.eml) for our own reminder."""
    dsn = (ROOT / "tests" / "fixtures" / "courriels" / "rebond-postfix.eml").read_bytes()
    return dsn.replace(b"<179542452812.4242.1234567890@atelier-dupont.fr>",
                       reminder["Message-ID"].encode())


def set_email(path, client: str, address: str) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book["Clients"]
    headers = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[headers.index("Client")].value == client:
            row[headers.index("Email")].value = address
    book.save(path)


def test_a_reply_pauses_its_client_and_a_bounce_is_never_cited(small_project, smtp_server,
                                                                boite_imap, monkeypatch):
    serveur, user = boite_imap
    monkeypatch.setenv("SSL_CERT_FILE", str(serveur.ca_file))  # the system trusts the test CA
    folder = small_project(
        [invoice_row("Alpha", "F-1", echeance=TODAY - days(5), montant=450),
         invoice_row("Beta Industries", "F-2", echeance=TODAY - days(5), montant=400)],
        [client_row("Alpha", "compta@alpha.fr"),
         client_row("Beta Industries", "compta@beta-industries.fr", contact="Julie Martin")])
    path = folder / "relances.xlsx"
    recorder = Recorder()
    smtp_config(folder, smtp_server(recorder))
    with (folder / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[boite]\nhote = "127.0.0.1"\nport = {serveur.port_ssl}\n'
                     f'utilisateur = "{user}"\n')

    first = run(folder, TODAY)  # nothing sent before: the mailbox needs no reading
    assert first.exit_code == 0, first.output
    sent = {m["To"].addresses[0].addr_spec: m for m in recorder.parsed()}
    assert set(sent) == {"compta@alpha.fr", "compta@beta-industries.fr"}

    serveur.deliver(user, [reply_to(sent["compta@alpha.fr"]),
                           bounce_of(sent["compta@beta-industries.fr"])])
    second = run(folder, TODAY + days(2))
    assert second.exit_code == 1, second.output  # the failing address is a problem to fix
    out = second.output
    assert "Boîte aux lettres lue : 2 nouveau(x) message(s)" in out
    assert ("  - Alpha, le 23/11/2026, Anne Alpha : « Bonjour, »" in out)
    assert "Beta Industries : n° 2 (rappel, 22/11/2026) non remis" in out
    assert "« compta@beta-industries.fr » (colonne Email) en échec" in out
    # The reply is in Échanges, once, for the user to read and fill its Résultat.
    book = openpyxl.load_workbook(path)
    rows = list(book["Échanges"].iter_rows(values_only=True))
    headers = rows[0]
    (row,) = [dict(zip(headers, r)) for r in rows[1:] if any(r)]
    assert (row["Client"], row["Canal"], row["Interlocuteur"], row["Coordonnées"]) == (
        "Alpha", "e-mail", "Anne Alpha", "compta@alpha.fr")
    assert row["Date"].date() == datetime.date(2026, 11, 23)
    assert "La facture est fausse" in row["Ce qui a été dit"] and not row["Résultat"]
    factures = book["Factures"]
    fh = [c.value for c in factures[1]]
    prochaine = {r[fh.index("N° facture")]: r[fh.index("Prochaine action")]
                 for r in factures.iter_rows(min_row=2, values_only=True)}
    assert prochaine["F-1"] == "réponse reçue le 23/11/2026 : à lire, puis à noter dans Échanges"
    journal = [r for r in book["Journal"].iter_rows(values_only=True)]
    assert any(r[9] and str(r[9]).startswith("non remis : ") for r in journal)
    db = sqlite3.connect(folder / "relances.journal.sqlite")
    assert db.execute("SELECT statut FROM actions WHERE id = 2").fetchone() == ("non_remis",)
    assert db.execute("SELECT count(*) FROM messages").fetchone() == (2,)

    # The next run: each message processed once, the row not appended again.
    third = run(folder, TODAY + days(3))
    assert "Boîte aux lettres lue : 0 nouveau(x) message(s)" in third.output
    rows = list(openpyxl.load_workbook(path)["Échanges"].iter_rows(min_row=2, values_only=True))
    assert len([r for r in rows if any(r)]) == 1
    assert len(recorder.messages) == 2  # nothing more went out

    # The user fixes Beta's address: the same step again, then on to the formal notice.
    set_email(path, "Beta Industries", "julie.martin@beta-industries.fr")
    run(folder, TODAY + days(4))
    assert recorder.parsed()[-1]["X-Relances-Etape"] == "rappel"
    run(folder, TODAY + days(16))
    assert recorder.parsed()[-1]["X-Relances-Etape"] == "dernier_rappel"
    run(folder, TODAY + days(40))
    (letter,) = (folder / "sortie" / (TODAY + days(40)).isoformat() / "courriers").glob(
        "*beta-industries*.pdf")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(
        letter.read_bytes())).pages)
    assert "26 novembre 2026" in text  # the reminder that arrived is cited
    assert "22 novembre 2026" not in text  # never the one that came back


def test_an_unreachable_mailbox_warns_or_with_obligatoire_stops_the_sending(small_project):
    from dovecot import free_port

    folder = small_project([invoice_row("Alpha", "F-1", echeance=TODAY - days(5), montant=450),
                            invoice_row("Alpha", "F-2", echeance=TODAY + days(10))])
    config = folder / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text + f'\n[boite]\nhote = "127.0.0.1"\nport = {free_port()}\n'
                             'utilisateur = "compta"\n', encoding="utf-8")
    assert run(folder, TODAY).exit_code == 0  # one reminder (nothing sent before: not read)
    later = run(folder, TODAY + days(20))  # F-1's last reminder, F-2's first
    assert "Avertissements" in later.output and "boîte aux lettres non lue : " in later.output
    assert "2 action(s) aujourd’hui" in later.output  # the run went on
    config.write_text(config.read_text(encoding="utf-8") + "obligatoire = true\n",
                      encoding="utf-8")
    stopped = run(folder, TODAY + days(40))
    assert stopped.exit_code == 1
    assert "RIEN N’A ÉTÉ ENVOYÉ : boîte aux lettres non lue (" in stopped.output
    assert not (folder / "sortie" / (TODAY + days(40)).isoformat()).exists()
