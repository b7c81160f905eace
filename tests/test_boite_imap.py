"""Reading the mailbox against a real Dovecot on loopback (tests/dovecot.py): what comes back
is sorted, nothing on the server changes, and every failure is a French BoiteInjoignable."""

from __future__ import annotations

import datetime
import re
import ssl
from dataclasses import replace
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from relances.boite.imap import BoiteInjoignable, lire_boite, verifier_boite
from relances.boite.retours import ABSENCE, IGNORE, ILLISIBLE, REBOND, REPONSE
from relances.cli import relancer
from relances.config import Boite, load_config
from relances.delivery import build_email
from relances.errors import ConfigError
from relances.records import Action
from relances.render import Rendu

from conftest import ROOT, client
from dovecot import PASSWORD

COURRIELS = ROOT / "tests" / "fixtures" / "courriels"
DEPUIS = datetime.date(2026, 11, 1)
PARIS = datetime.timezone(datetime.timedelta(hours=1))


def boite_de(serveur, user: str, securite: str = "ssl", **kw) -> Boite:
    port = serveur.port_ssl if securite == "ssl" else serveur.port_starttls
    return Boite(hote="127.0.0.1", utilisateur=user, port=port, securite=securite, **kw)


def lire(serveur, user: str, vus=(), securite="ssl", **kw):
    return lire_boite(boite_de(serveur, user, securite), PASSWORD, set(vus), DEPUIS,
                      ssl_context=serveur.context(), **kw)


def notre_rappel() -> EmailMessage:
    """A reminder exactly as the tool builds it (delivery.build_email)."""
    from email.headerregistry import Address

    rendu = Rendu(action=Action(client="Beta Industries", factures=("F-2026-031",),
                                etape="rappel", canal="email",
                                destinataires=("compta@beta-industries.fr",)),
                  client=client("Beta Industries", ("compta@beta-industries.fr",)),
                  sujet="Facture F-2026-031 : premier rappel",
                  texte="Bonjour,\n\nSauf erreur de notre part, la facture F-2026-031 de "
                        "1 200,00 € reste impayée.\n\nCordialement,\nAtelier Dupont",
                  html="<p>Bonjour,</p><p>Sauf erreur de notre part…</p>")
    return build_email(rendu, Address("Atelier Dupont", "compta", "atelier-dupont.fr"),
                       datetime.datetime(2026, 11, 23, 10, 2, tzinfo=PARIS))


def reponse_a(rappel: EmailMessage) -> bytes:
    """The client's answer from Thunderbird: new text on top, our reminder quoted below."""
    reponse = EmailMessage()
    reponse["From"] = "Julie Martin <julie.martin@beta-industries.fr>"
    reponse["To"] = rappel["From"]
    reponse["Subject"] = "Re: " + rappel["Subject"]
    reponse["Date"] = format_datetime(datetime.datetime(2026, 11, 24, 9, 15, tzinfo=PARIS))
    reponse["Message-ID"] = "<3f2a9c1e-5b7d@beta-industries.fr>"
    reponse["In-Reply-To"] = rappel["Message-ID"]
    reponse["References"] = rappel["Message-ID"]
    quoted = "\n".join("> " + line for line in rappel.get_body(("plain",)).get_content().splitlines())
    reponse.set_content(
        "Bonjour,\n\nNous avons payé cette facture hier par virement, voici la référence :\n"
        "VIR-2026-11-23-0042.\n\nBien à vous,\n-- \nJulie Martin\nComptabilité fournisseurs\n"
        "Beta Industries — 04 72 00 00 00\n\n"
        "Le lun. 23 nov. 2026 à 10:02, Atelier Dupont <compta@atelier-dupont.fr> a écrit :\n"
        + quoted + "\n")
    return bytes(reponse)


def fixture(name: str) -> bytes:
    return (COURRIELS / name).read_bytes()


def test_a_reply_to_our_reminder_is_a_reponse_with_its_new_text_only(boite_imap):
    serveur, user = boite_imap
    rappel = notre_rappel()
    serveur.deliver(user, [reponse_a(rappel)])
    (retour,) = lire(serveur, user).retours
    assert retour.nature == REPONSE
    assert retour.en_reponse_a == (rappel["Message-ID"],)
    assert retour.expediteur == "julie.martin@beta-industries.fr" and retour.nom == "Julie Martin"
    assert retour.texte == ("Bonjour,\n\nNous avons payé cette facture hier par virement, voici "
                            "la référence :\nVIR-2026-11-23-0042.\n\nBien à vous,")
    assert retour.jour == datetime.date(2026, 11, 24)
    assert retour.message_id == "<3f2a9c1e-5b7d@beta-industries.fr>"


@pytest.mark.parametrize("name, adresse, motif, original", [
    ("rebond-postfix.eml", "compta@beta-industries.fr", "User unknown",
     "<179542452812.4242.1234567890@atelier-dupont.fr>"),
    ("rebond-exchange.eml", "j.martin@gamma-conseil.fr", "RecipientNotFound",
     "<179542453377.4242.9876543210@atelier-dupont.fr>"),
    ("rebond-gmail.eml", "paiement.delta@gmail.com", "does not exist",
     "<179542459912.4242.5555555555@atelier-dupont.fr>"),
])
def test_delivery_reports_are_bounces_with_address_reason_and_original(boite_imap, name, adresse,
                                                                       motif, original):
    serveur, user = boite_imap
    serveur.deliver(user, [fixture(name)])
    (retour,) = lire(serveur, user).retours
    assert retour.nature == REBOND
    assert retour.adresses_en_echec == (adresse,)
    assert motif in retour.motif and len(retour.motif) <= 200
    assert retour.en_reponse_a[0] == original


def test_out_of_office_replies_give_their_return_date(boite_imap):
    serveur, user = boite_imap
    serveur.deliver(user, [fixture("absence-fr.eml"), fixture("absence-en.eml")])
    fr, en = lire(serveur, user).retours
    assert (fr.nature, fr.retour_le) == (ABSENCE, datetime.date(2027, 1, 4))
    assert (en.nature, en.retour_le) == (ABSENCE, datetime.date(2026, 12, 5))  # until 4th: back the 5th


def test_a_newsletter_is_ignored(boite_imap):
    serveur, user = boite_imap
    serveur.deliver(user, [fixture("lettre-info.eml")])
    (retour,) = lire(serveur, user).retours
    assert retour.nature == IGNORE and retour.expediteur == "newsletter@fournitures-pro.fr"


def _octets_envoyes(serveur, user: str) -> list[int]:
    """What the server sent each of `user`'s IMAP sessions, from Dovecot's logout lines."""
    return [int(n) for n in re.findall(rf"imap\({re.escape(user)}\).*Logged out in=\d+ out=(\d+)",
                                       serveur.log())]


def test_a_message_over_the_size_limit_is_reported_and_not_downloaded(boite_imap):
    import time

    serveur, user = boite_imap
    gros = EmailMessage()
    gros["From"] = "Beta <compta@beta-industries.fr>"
    gros["Subject"] = "Justificatifs"
    gros["Message-ID"] = "<gros@beta-industries.fr>"
    gros.set_content("Voici les pièces.")
    gros.add_attachment(b"%PDF-1.4 " + b"x" * 400_000, maintype="application", subtype="pdf",
                        filename="scan.pdf")
    serveur.deliver(user, [bytes(gros)])
    (retour,) = lire(serveur, user, taille_max=100_000).retours
    assert retour.nature == ILLISIBLE and "trop volumineux" in retour.motif
    assert retour.message_id == "<gros@beta-industries.fr>" and retour.sujet == "Justificatifs"
    deadline = time.monotonic() + 5
    while len(_octets_envoyes(serveur, user)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _octets_envoyes(serveur, user)[-1] < 20_000  # the 400 KB body never left the server


def test_reading_changes_nothing_on_the_server(boite_imap):
    serveur, user = boite_imap
    messages = [reponse_a(notre_rappel()), fixture("rebond-postfix.eml"),
                fixture("absence-fr.eml"), fixture("lettre-info.eml")]
    serveur.deliver(user, messages)
    lecture = lire(serveur, user)
    assert len(lecture.retours) == lecture.total == 4
    second = serveur.client(user)
    try:
        second.select_folder("INBOX", readonly=True)
        flags = second.fetch(second.search("ALL"), ["FLAGS"])
    finally:
        second.logout()
    assert len(flags) == 4
    assert all(b"\\Seen" not in data[b"FLAGS"] and b"\\Deleted" not in data[b"FLAGS"]
               for data in flags.values())


def test_what_was_seen_is_skipped_by_key_or_message_id(boite_imap):
    serveur, user = boite_imap
    serveur.deliver(user, [fixture("absence-fr.eml"), fixture("absence-en.eml"),
                           fixture("lettre-info.eml")])
    first = lire(serveur, user)
    assert [r.cle for r in first.retours] == [f"{first.uidvalidity}:{uid}" for uid in (1, 2, 3)]
    again = lire(serveur, user, vus={first.retours[0].cle, "<nl-2026-47.123@fournitures-pro.fr>"})
    assert [r.message_id for r in again.retours] == ["<LO2P265MB0002.ooo@omega-ltd.co.uk>"]
    assert again.total == 3


def test_only_messages_received_since_the_given_day_are_read(boite_imap):
    serveur, user = boite_imap
    client_imap = serveur.client(user)
    try:
        client_imap.append("INBOX", fixture("absence-fr.eml"),
                           msg_time=datetime.datetime(2026, 10, 1, 12, 0, tzinfo=PARIS))
        client_imap.append("INBOX", fixture("absence-en.eml"),
                           msg_time=datetime.datetime(2026, 11, 24, 12, 0, tzinfo=PARIS))
    finally:
        client_imap.logout()
    (retour,) = lire(serveur, user).retours
    assert retour.message_id == "<LO2P265MB0002.ooo@omega-ltd.co.uk>"


def test_starttls_reads_the_same_mailbox(boite_imap):
    serveur, user = boite_imap
    serveur.deliver(user, [fixture("rebond-gmail.eml")])
    (retour,) = lire(serveur, user, securite="starttls").retours
    assert retour.nature == REBOND


@pytest.mark.parametrize("cas, attendu", [
    ("mot_de_passe", "identifiant ou mot de passe refusé pour"),
    ("port_ferme", "connexion refusée"),
    ("certificat", "certificat TLS du serveur refusé"),
    ("dossier", "dossier « Archives/Clients » introuvable"),
    ("sans_mot_de_passe", "RELANCES_IMAP_MOT_DE_PASSE"),
])
def test_a_mailbox_that_cannot_be_read_says_why_in_french(boite_imap, cas, attendu):
    from dovecot import free_port

    serveur, user = boite_imap
    boite, password, context = boite_de(serveur, user), PASSWORD, serveur.context()
    if cas == "mot_de_passe":
        password = "faux"
    elif cas == "port_ferme":
        boite = replace(boite, port=free_port())
    elif cas == "certificat":
        context = ssl.create_default_context()  # the system's authorities: not the test CA
    elif cas == "dossier":
        boite = replace(boite, dossier="Archives/Clients")
    else:
        password = None
    with pytest.raises(BoiteInjoignable) as error:
        lire_boite(boite, password, set(), DEPUIS, ssl_context=context)
    assert attendu in str(error.value) and str(error.value).startswith(f"127.0.0.1:{boite.port} : ")


def test_the_check_counts_what_the_next_run_would_sort(boite_imap, tmp_path):
    serveur, user = boite_imap
    serveur.deliver(user, [reponse_a(notre_rappel()), fixture("rebond-exchange.eml"),
                           fixture("rebond-qmail.eml"), fixture("lettre-info.eml")])
    config = load_config(_config(tmp_path, serveur, user))
    environ = {"RELANCES_IMAP_MOT_DE_PASSE": PASSWORD}
    ((ok, text),) = verifier_boite(config, environ, set(), ssl_context=serveur.context())
    assert ok, text
    assert "4 message(s)" in text and "en trierait 4 (1 réponse(s), 2 message(s) non remis, " \
                                     "1 ignoré(s))" in text
    # As the next run reads: only since the day it starts from, only what it has not seen.
    ((ok, text),) = verifier_boite(config, environ, set(), datetime.date(2100, 1, 1),
                                   ssl_context=serveur.context())
    assert ok and "4 message(s)" in text and "en trierait 0" in text
    ((ok, text),) = verifier_boite(config, {}, set(), ssl_context=serveur.context())
    assert not ok and "RELANCES_IMAP_MOT_DE_PASSE" in text


def _config(folder: Path, serveur, user: str, extra: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(f'[boite]\nhote = "127.0.0.1"\nport = {serveur.port_ssl}\n'
                    f'utilisateur = "{user}"\n{extra}', encoding="utf-8")
    return path


# -- [boite] in config.toml ----------------------------------------------------------------

def test_boite_section_defaults(tmp_path):
    (tmp_path / "config.toml").write_text('[boite]\nhote = "imap.example.fr"\n'
                                          'utilisateur = "compta@example.fr"\n', encoding="utf-8")
    boite = load_config(tmp_path / "config.toml").boite
    assert boite == Boite(hote="imap.example.fr", utilisateur="compta@example.fr", port=993,
                          securite="ssl", dossier="INBOX", pause_reponse_jours=10,
                          respecter_absence=True, obligatoire=False)
    (tmp_path / "config.toml").write_text('[boite]\nhote = "imap.example.fr"\nsecurite = '
                                          '"starttls"\nutilisateur = "u"\n', encoding="utf-8")
    assert load_config(tmp_path / "config.toml").boite.port == 143
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    assert load_config(tmp_path / "config.toml").boite is None


@pytest.mark.parametrize("lignes, attendu", [
    ('utilisateur = "u"', "boite.hote : obligatoire"),
    ('hote = "h"', "boite.utilisateur : obligatoire"),
    ('hote = "h"\nutilisateur = "u"\nsecurite = "tls"', "boite.securite : \"ssl\" ou \"starttls\""),
    ('hote = "h"\nutilisateur = "u"\nport = 0', "boite.port : 1 ou plus"),
    ('hote = "h"\nutilisateur = "u"\npause_reponse_jours = "dix"', "boite.pause_reponse_jours"),
    ('hote = "h"\nutilisateur = "u"\nrespecter_absence = "oui"', "boite.respecter_absence : true"),
    ('hote = "h"\nutilisateur = "u"\nmot_de_passe = "x"', "RELANCES_IMAP_MOT_DE_PASSE"),
])
def test_bad_boite_values_name_the_key(tmp_path, lignes, attendu):
    (tmp_path / "config.toml").write_text(f"[boite]\n{lignes}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "config.toml")
    assert attendu in str(error.value) and str(error.value).startswith("config.toml: ")


def test_storing_passwords_covers_smtp_and_imap(project):
    import keyring

    from test_smtp import MemoryKeyring, smtp_config

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        smtp_config(project, 587, securite="starttls", utilisateur="compta@atelier-dupont.fr",
                    extra="")
        with (project / "config.toml").open("a", encoding="utf-8") as config:
            config.write('\n[boite]\nhote = "imap.atelier-dupont.fr"\n'
                         'utilisateur = "compta@atelier-dupont.fr"\n')
        stored = CliRunner().invoke(relancer, ["--config", str(project / "config.toml"),
                                               "--enregistrer-mot-de-passe"],
                                    input="smtp-pw\nsmtp-pw\nimap-pw\nimap-pw\n")
        assert stored.exit_code == 0, stored.output
        assert "Mot de passe IMAP enregistré" in stored.output
        assert keyring.get_password("relances", "compta@atelier-dupont.fr@127.0.0.1") == "smtp-pw"
        assert keyring.get_password(
            "relances", "imap:compta@atelier-dupont.fr@imap.atelier-dupont.fr") == "imap-pw"
    finally:
        keyring.set_keyring(previous)


def test_verifier_on_the_command_line_reads_the_mailbox(project, boite_imap, monkeypatch):
    serveur, user = boite_imap
    serveur.deliver(user, [fixture("rebond-postfix.eml"), fixture("absence-fr.eml")])
    monkeypatch.setenv("SSL_CERT_FILE", str(serveur.ca_file))  # the system trusts the test CA
    with (project / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[boite]\nhote = "127.0.0.1"\nport = {serveur.port_ssl}\n'
                     f'utilisateur = "{user}"\n')
    result = CliRunner().invoke(relancer, ["--config", str(project / "config.toml"), "--verifier"],
                                env={"RELANCES_IMAP_MOT_DE_PASSE": PASSWORD})
    assert "en trierait 2 (1 message(s) non remis, 1 réponse(s) automatique(s))" in result.output, \
        result.output
    assert result.exit_code == 0, result.output
