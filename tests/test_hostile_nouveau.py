"""Hostile inputs to this session's new readers (issues 21, 22): mail a client's software or
an attacker may send, e-invoice files and folders nobody should have made. Each gives a clear
French message or is handled: never a traceback, never a hang, one bad item never stops the
others."""

from __future__ import annotations

import datetime
import os
import time

import openpyxl

from relances.boite.effets import enrich, echange_rows, lire_et_trier
from relances.boite.retours import ILLISIBLE, REPONSE
from relances.boite.tri import trier
from relances.efacture.modeles import Partie
from relances.policy import decide
from relances.suivi import follow_up

from conftest import TODAY, days, facture
from efactures import cii_xml, facturx_pdf
from test_fidelite import user_project
from test_importation import run_importer
from test_boite_effets import NOW, _sent, book_with, cfg, journal, reader  # noqa: F401

D = datetime.date
HEAD = (b"From: Anne Alpha <compta@alpha.fr>\r\nTo: compta@atelier-dupont.fr\r\n"
        b"Subject: Re: facture F-1\r\nDate: Fri, 20 Nov 2026 10:00:00 +0100\r\n"
        b"Message-ID: <m1@alpha.fr>\r\n")


def sorted_in_time(data: bytes):
    start = time.monotonic()
    retour = trier(data, "7:1", None)
    assert time.monotonic() - start < 10
    return retour


def test_huge_headers_make_an_unreadable_message_quickly_with_its_sender():
    huge = 5 * 1024 * 1024
    for data in (HEAD + b"X-Big: " + b"a" * huge + b"\r\n\r\nJe paie demain.\r\n",
                 HEAD.replace(b"Subject: Re: facture F-1", b"Subject: " + b"b " * (huge // 2))
                 + b"\r\nJe paie demain.\r\n",
                 HEAD.replace(b"Anne Alpha <", b'"' + b"N " * (huge // 2) + b'" <')
                 + b"\r\nJe paie demain.\r\n"):
        retour = sorted_in_time(data)
        assert retour.nature == ILLISIBLE
        assert retour.expediteur == "compta@alpha.fr"
        assert retour.motif == "message illisible (en-têtes de 5120 Ko)"


def test_a_message_nested_a_thousand_times_is_unreadable_with_its_sender():
    body = b"Je paie demain."
    for level in range(1000):
        body = (b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
                + body + b"\r\n--b%d--\r\n" % level)
    retour = sorted_in_time(HEAD + b"MIME-Version: 1.0\r\n" + body)
    assert (retour.nature, retour.expediteur) == (ILLISIBLE, "compta@alpha.fr")
    assert retour.motif.startswith("message illisible (")


def test_names_and_subjects_are_cut_and_made_printable():
    long_name = HEAD.replace(b"Anne Alpha <", b'"' + b"N" * 10_000 + b'" <')
    retour = sorted_in_time(long_name + b"\r\nJe paie demain.\r\n")
    assert retour.nature == REPONSE and len(retour.nom) == 200 and retour.nom.endswith("…")
    # Direction overrides (a name shown backwards), raw bytes that are not UTF-8.
    tricky = HEAD.replace(b"Anne Alpha <", "\u202eahplA ennA\u202c \xe9 <".encode()
                          ).replace(b"Subject: Re: facture F-1", b"Subject: Re: caf\xe9")
    retour = sorted_in_time(tricky + "\r\n\u202e=1+1\r\n".encode())
    assert retour.nom == "ahplA ennA é"
    assert retour.sujet == "Re: caf\ufffd"
    assert "\u202e" not in retour.texte
    assert all(not 0xD800 <= ord(c) <= 0xDFFF for c in retour.nom + retour.sujet)


def test_an_unreadable_message_from_a_client_holds_its_written_steps_like_a_reply(journal):
    book = book_with([facture("F-1", echeance=TODAY - days(12)),
                      facture("F-2", "Beta", echeance=TODAY - days(12))])
    _sent(journal, TODAY - days(8))
    _sent(journal, TODAY - days(8), client_="Beta", message_id="<b@x>")
    illisible = trier(HEAD + b"X-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\nPaid.\r\n", "7:30",
                      datetime.datetime(2026, 11, 21, 9, tzinfo=datetime.timezone.utc))
    inconnu = trier(HEAD.replace(b"compta@alpha.fr", b"x@inconnu.fr")
                    + b"X-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\nPaid.\r\n", "7:31", None)
    courrier = lire_et_trier(cfg(), journal, book, TODAY, NOW, {},
                             lecteur=reader(illisible, inconnu))
    assert [(v.client, v.fait) for v in courrier.a_voir] == [
        ("Alpha", "message illisible de compta@alpha.fr : à lire dans la boîte (message "
                  "illisible (en-têtes de 1024 Ko)) ; relances écrites de Alpha en pause "
                  "jusqu’à ce que l’échange soit noté"),
        ("", "non lu : message illisible (en-têtes de 1024 Ko)")]
    seen = enrich(book, journal.messages(), journal.entries())
    plan = decide(seen, [], TODAY, cfg())
    assert {a.client for a in plan.actions} == {"Beta"}  # Alpha's written steps wait
    suivis = follow_up(seen, [], TODAY, cfg())
    assert suivis["F-1"].prochaine_action == (
        "message illisible de compta@alpha.fr reçu le 21/11/2026 : à lire dans la boîte, "
        "puis à noter dans Échanges")
    assert echange_rows(journal.messages()) == ([], ())  # nothing to write in Échanges


# ------------------------------------------------------------------ e-invoices


def _buyer(nom: str) -> Partie:
    return Partie(nom=nom, adresse="1 rue A\n69000 Lyon", email="compta@acheteur.fr", pays="FR")


def _cii(numero: str, **kw) -> bytes:
    kw.setdefault("echeance", D(2026, 10, 31))
    return cii_xml(numero, **kw)


def test_a_hostile_folder_of_e_invoices_is_imported_item_by_item(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    folder = tmp_path / "recues"
    (folder / "sous").mkdir(parents=True)
    os.symlink(folder, folder / "sous" / "boucle")  # a symlink loop
    os.symlink("/etc/passwd", folder / "passwd.xml")
    os.mkfifo(folder / "tube.xml")  # opening it would wait for ever
    (folder / "dossier.pdf").mkdir()
    (folder / "vide.pdf").write_bytes(b"")
    (folder / "ligne\nnouvelle.xml").write_bytes(_cii("F-NL"))
    (folder / os.fsdecode(b"nom-\xff.xml")).write_bytes(_cii("F-BYTES"))
    (folder / "bonne.xml").write_bytes(_cii("F-BONNE"))
    (folder / "facture\u00a0insécable.xml").write_bytes(_cii("F-NBSP"))  # a fine name
    facturx_pdf(_cii("F-BONNE"), folder / "bonne-encore.pdf")  # the same invoice twice
    (folder / "long-nom.xml").write_bytes(_cii("F-LONG", acheteur=_buyer("A" * 40_000)))
    (folder / "long-numero.xml").write_bytes(_cii("N" * 300))
    formules = ['=HYPERLINK("http://x","clic")', "+33 1 23", "-2+3", "@SUM(A1)"]
    for rang, nom in enumerate(formules):
        (folder / f"formule-{rang}.xml").write_bytes(_cii(f"=F-{rang}", acheteur=_buyer(nom)))
    (folder / "millieme.xml").write_text(
        _cii("F-MILLIEME").decode().replace("1200.00", "1200.001"))
    (folder / "an-1900.xml").write_bytes(_cii("F-1900", date=D(1900, 1, 1),
                                              echeance=D(1900, 1, 31)))
    (folder / "an-9999.xml").write_bytes(_cii("F-9999", echeance=D(9999, 12, 31)))
    result = run_importer(workbook, str(folder), str(tmp_path / "absent.xml"),
                          str(folder / "tube.xml"))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    out = result.output
    assert "Factures ajoutées : 6" in out  # F-BONNE, F-NBSP and the four « formulas »
    for said in ("recues/tube.xml : pas un fichier ordinaire (tube, périphérique ou lien vers "
                 "rien) : non lu",
                 "ligne?nouvelle.xml : nom de fichier illisible (octets hors UTF-8 ou "
                 "caractères de contrôle) : renommez le fichier",
                 "nom-\ufffd.xml : nom de fichier illisible",
                 "absent.xml : fichier ou dossier introuvable",
                 "F-BONNE : déjà importée",
                 "F-LONG : nom de l’acheteur de 40000 caractères (« AAAA",
                 "NNNN… : numéro de facture de 300 caractères (au plus 100) : non importée",
                 "F-MILLIEME : montant à payer 1200.001 avec plus de deux décimales",
                 "F-1900 : date de facture du 01/01/1900 invraisemblable",
                 "F-9999 : échéance du 31/12/9999 invraisemblable pour une facture du "
                 "01/10/2026"):
        assert said in out, said
    assert "vide.pdf :\n    - ignoré : fichier vide" in out
    assert "long-nom.xml : long-nom.xml" not in out  # the file is named once
    sheet = openpyxl.load_workbook(workbook)["Factures"]
    added = {row[1].value: row for row in sheet.iter_rows(min_row=2) if row[1].value}
    assert {"F-BONNE", "F-NBSP", "=F-0", "=F-1", "=F-2", "=F-3"} <= set(added)
    for rang, nom in enumerate(formules):  # text, never a formula
        cells = added[f"=F-{rang}"]
        assert (cells[0].value, cells[0].data_type, cells[1].data_type) == (nom, "s", "s")
    assert not any("F-LONG" == n or "F-1900" == n for n in added)


def test_a_status_export_of_100_000_unknown_invoices_is_read_in_seconds(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    export = tmp_path / "statuts.csv"
    export.write_text("N° facture;Code statut;Date\n" + "".join(
        f"X-{n};212;2026-11-01\n" for n in range(100_000)), encoding="utf-8")
    start = time.monotonic()
    result = run_importer(workbook, str(export))
    assert time.monotonic() - start < 10
    assert "Statuts de la plateforme : 100000 lu(s), 0 pris en compte" in result.output
    assert ("factures absentes du classeur (100000) : X-0, X-1, X-2" in result.output
            and "X-19 et 99980 autre(s)" in result.output)


def test_status_problems_name_their_file_and_row(tmp_path):
    workbook = user_project(tmp_path, "libreoffice.xlsx")
    (tmp_path / "sans-espaces.xml").write_text(
        "<?xml version='1.0'?><CrossDomainAcknowledgementAndResponse><ExchangedDocument>"
        "<ID>X</ID></ExchangedDocument></CrossDomainAcknowledgementAndResponse>")
    (tmp_path / "statuts.csv").write_text("N° facture;Code statut;Date\nF-GAMMA;212;"
                                          "2026-11-01\nF-DELTA;999;2026-11-02\n")
    result = run_importer(workbook, str(tmp_path / "sans-espaces.xml"),
                          str(tmp_path / "statuts.csv"))
    assert "Traceback" not in result.output
    assert ("  - sans-espaces.xml : aucun document référencé (ReferenceReferencedDocument)"
            in result.output)
    assert ("  - statuts.csv, ligne 3 : colonne « Code statut » : statut inconnu « 999 »"
            in result.output)
    # F-DELTA exists: its unreadable row holds it, and counts as read and taken into account.
    assert "Statuts de la plateforme : 2 lu(s), 2 pris en compte" in result.output


def test_a_reply_that_looks_like_a_formula_goes_into_echanges_as_text(tmp_path):
    from test_ajout import _workbook

    from relances.xlsx import fingerprint, write_back
    from relances.xlsx.ajout import Ajout
    from relances.xlsx.colonnes import ECHANGES

    path = tmp_path / "relances.xlsx"
    _workbook(path)
    retour = trier(HEAD.replace(b"Anne Alpha", b"=cmd|' /C calc'!A0")
                   + b'\r\n=HYPERLINK("http://x","clic")\r\n', "7:40", None)
    row = {"date": D(2026, 11, 20), "client": "Alpha", "canal": "e-mail",
           "interlocuteur": retour.nom, "coordonnees": retour.expediteur, "dit": retour.texte}
    write_back(path, fingerprint(path), {}, [], ajouts=(Ajout(ECHANGES, (row,)),))
    sheet = openpyxl.load_workbook(path)["Echanges"]
    cells = {c.value: c.data_type for c in sheet[3] if c.value is not None}
    assert cells['=HYPERLINK("http://x","clic")'] == "s"
    assert cells["=cmd|' /C calc'!A0"] == "s"
