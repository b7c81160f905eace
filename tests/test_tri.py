"""Sorting one message (boite.tri) and reading an out-of-office's return date (boite.absence):
tables over real message shapes, no server."""

from __future__ import annotations

import datetime

import pytest

from relances.boite.absence import retour_le
from relances.boite.retours import ABSENCE, IGNORE, ILLISIBLE, REBOND, REPONSE
from relances.boite.tri import html_texte, trier

from conftest import ROOT

COURRIELS = ROOT / "tests" / "fixtures" / "courriels"
JOUR = datetime.date(2026, 12, 18)
INTERNE = datetime.datetime(2026, 11, 24, 8, 0)


def message(corps: str = "Bonjour", **headers: str) -> bytes:
    headers.setdefault("From", "Julie Martin <julie.martin@beta-industries.fr>")
    headers.setdefault("Subject", "Facture F-1")
    lines = [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + corps).encode()


@pytest.mark.parametrize("texte, attendu", [
    ("Je serai de retour le 5 janvier.", "2027-01-05"),
    ("Absent jusqu'au 04/01/2027 inclus.", "2027-01-05"),
    ("Je serai joignable à partir du lundi 5 janvier.", "2027-01-05"),
    ("De retour lundi 5 janv. 2027, je vous répondrai.", "2027-01-05"),
    ("Retour prévu le 05/01.", "2027-01-05"),
    ("Absente du 21 décembre au 3 janvier inclus.", "2027-01-04"),
    ("Je suis en congés jusqu’au 2 janvier 2027.", "2027-01-03"),
    ("Je serai de retour le 1er février.", "2027-02-01"),
    ("De retour le 2027-01-05.", "2027-01-05"),
    ("Je serai de retour le 22 décembre.", "2026-12-22"),
    ("I will be back on January 5.", "2027-01-05"),
    ("Returning 5 January 2027.", "2027-01-05"),
    ("I am out of the office until 4th January.", "2027-01-05"),
    ("I am away from December 21 to January 4.", "2027-01-05"),
    ("I'll be back in the office on Monday, January 5th.", "2027-01-05"),
    ("I will return on 05/01/2027.", "2027-01-05"),
    # No return stated: nothing, rather than a date that would hold emails wrongly.
    ("Je suis absent du bureau.", None),
    ("Merci pour votre message du 5 janvier.", None),
    ("Je suis en congés à partir du 20 décembre.", None),
    ("I am out of the office from 20 December.", None),
    ("Facture F-2026-031 du 12/11/2026.", None),
    ("De retour très bientôt.", None),
    ("Back soon!", None),
    ("Je reviens vers vous dès que possible.", None),
    ("Absent until further notice.", None),
    ("Je serai de retour le 31 février.", None),
])
def test_return_date_phrasings(texte, attendu):
    expected = datetime.date.fromisoformat(attendu) if attendu else None
    assert retour_le(texte, JOUR) == expected


@pytest.mark.parametrize("name, nature", [
    ("rebond-postfix.eml", REBOND), ("rebond-exchange.eml", REBOND),
    ("rebond-gmail.eml", REBOND), ("rebond-qmail.eml", REBOND),
    ("retard-dsn.eml", IGNORE), ("absence-fr.eml", ABSENCE), ("absence-en.eml", ABSENCE),
    ("lettre-info.eml", IGNORE),
])
def test_sample_messages_are_sorted(name, nature):
    assert trier((COURRIELS / name).read_bytes(), "7:1", INTERNE).nature == nature


def test_a_non_standard_qmail_report_is_read_with_flufl_bounce():
    retour = trier((COURRIELS / "rebond-qmail.eml").read_bytes(), "7:1", INTERNE)
    assert retour.adresses_en_echec == ("factures@epsilon-btp.fr",)
    assert "no mailbox here" in retour.motif
    assert retour.en_reponse_a == ("<179542470001.4242.7777777777@atelier-dupont.fr>",)


def test_a_delay_notice_is_not_a_bounce():
    retour = trier((COURRIELS / "retard-dsn.eml").read_bytes(), "7:1", INTERNE)
    assert retour.nature == IGNORE and retour.adresses_en_echec == ()
    assert "retard" in retour.motif


@pytest.mark.parametrize("headers, nature", [
    ({"Auto_Submitted": "auto-replied"}, ABSENCE),
    ({"X_Autoreply": "yes"}, ABSENCE),
    ({"X_Autorespond": "Vacation"}, ABSENCE),
    ({"Precedence": "auto_reply"}, ABSENCE),
    ({"Subject": "Absent du bureau : Facture F-1"}, ABSENCE),
    ({"Subject": "Out of Office: Invoice F-1"}, ABSENCE),
    ({"Subject": "Réponse automatique : Facture F-1"}, ABSENCE),
    ({"List_Unsubscribe": "<mailto:u@x.fr>"}, IGNORE),
    ({"List_Id": "<annonces.x.fr>"}, IGNORE),
    ({"Precedence": "bulk"}, IGNORE),
    ({"Auto_Submitted": "auto-generated"}, IGNORE),
    ({"Subject": "Re: absence de règlement ?"}, REPONSE),
    ({}, REPONSE),
    ({"Auto_Submitted": "no", "In_Reply_To": "<a@b>"}, REPONSE),
])
def test_headers_decide_between_person_robot_and_bulk(headers, nature):
    assert trier(message(**headers), "7:1", INTERNE).nature == nature


def test_a_reply_keeps_only_its_new_text():
    corps = ("Bonjour,\r\n\r\nLa facture est fausse : le bon de commande dit 900 €.\r\n"
             "Merci de nous envoyer un avoir.\r\n\r\nCordialement\r\n\r\n"
             "De : Atelier Dupont <compta@atelier-dupont.fr>\r\n"
             "Envoyé : lundi 23 novembre 2026 10:02\r\nÀ : Julie Martin\r\n"
             "Objet : Facture F-1 : premier rappel\r\n\r\nBonjour,\r\nSauf erreur…\r\n")
    retour = trier(message(corps, In_Reply_To="<r1@atelier-dupont.fr>",
                           References="<r0@atelier-dupont.fr> <r1@atelier-dupont.fr>"),
                   "7:1", INTERNE)
    assert retour.nature == REPONSE
    assert retour.texte == ("Bonjour,\n\nLa facture est fausse : le bon de commande dit 900 €.\n"
                            "Merci de nous envoyer un avoir.\n\nCordialement")
    assert retour.en_reponse_a == ("<r1@atelier-dupont.fr>", "<r0@atelier-dupont.fr>")


@pytest.mark.parametrize("separateur", [
    "-----Original Message-----", "---- Message d'origine ----",
    "On Mon, Nov 23, 2026 at 10:02 AM Atelier Dupont <compta@atelier-dupont.fr> wrote:",
    "Le lun. 23 nov. 2026 à 10:02, Atelier Dupont <compta@atelier-dupont.fr> a\nécrit :",
    "-- ",
])
def test_quoted_reminders_and_signatures_are_dropped(separateur):
    corps = f"Payé hier.\n\n{separateur}\nSauf erreur de notre part, la facture reste due.\n"
    assert trier(message(corps), "7:1", INTERNE).texte == "Payé hier."


def test_a_long_reply_is_cut_short():
    corps = "\n".join(f"Ligne {n} " + "mot " * 30 for n in range(30))
    texte = trier(message(corps), "7:1", INTERNE).texte
    assert len(texte) <= 501 and texte.endswith("…") and texte.count("\n") < 8


def test_html_is_read_as_text_only():
    html = ('<html><head><style>p{color:red}</style><script>fetch("http://x")</script></head>'
            '<body><p>Payé <b>hier</b>&nbsp;!</p><img src="http://tracker/x.png">'
            '<blockquote>Sauf erreur</blockquote></body></html>')
    assert "fetch" not in html_texte(html) and "color" not in html_texte(html)
    data = (b"From: a@b.fr\r\nSubject: Re: F-1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            + html.encode())
    assert trier(data, "7:1", INTERNE).texte == "Payé hier\xa0!"


def test_the_day_is_the_date_header_in_paris_else_internaldate():
    late = message(Date="Mon, 23 Nov 2026 23:30:00 -0500")  # 05:30 on the 24th in Paris
    assert trier(late, "7:1", INTERNE).jour == datetime.date(2026, 11, 24)
    assert trier(message(Date="pas une date"), "7:1", INTERNE).jour == INTERNE.date()


@pytest.mark.parametrize("donnees", [
    b"", b"\x00\xff\xfe garbage", b"From: <<<>>>\r\nSubject: =?bad?Q?x\r\n\r\n\xff\xfe",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n"
    b"Content-Type: message/delivery-status\r\n\r\nAction failed\r\n--x",
    b"Content-Type: text/plain; charset=inconnu-99\r\n\r\n\xe9t\xe9",
])
def test_malformed_messages_never_raise(donnees):
    retour = trier(donnees, "7:1", INTERNE)
    assert retour.nature in (REPONSE, IGNORE, ILLISIBLE, REBOND)
    assert retour.cle == "7:1"
