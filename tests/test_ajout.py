"""Rows appended to the user's sheets (Échanges, Factures, Clients): under their headers
wherever the user put them, below the last row, looking like the rows above, nothing else
changed."""

from __future__ import annotations

import datetime
import zipfile
from decimal import Decimal

import openpyxl

from relances.xlsx import fingerprint, read_classeur, write_back
from relances.xlsx.ajout import Ajout
from relances.xlsx.colonnes import CLIENTS, ECHANGES, FACTURES


def _workbook(path):
    book = openpyxl.Workbook()
    factures = book.active
    factures.title = "Factures"
    # The user's own order, a column of his own, and a header called otherwise.
    factures.append(["N° facture", "Notes perso", "Client", "Montant", "Date d'échéance"])
    factures.append(["F-1", "à voir", "Alpha", 1200, datetime.date(2026, 10, 1)])
    factures["E2"].number_format = "DD/MM/YYYY"
    factures["D2"].number_format = '#,##0.00 "€"'
    clients = book.create_sheet("Clients")
    clients.append(["Client", "Email"])
    clients.append(["Alpha", "compta@alpha.fr"])
    echanges = book.create_sheet("Echanges")  # typed without its accent
    echanges.append(["Client", "Date", "Ce qui a été dit", "Résultat"])
    echanges.append(["Alpha", datetime.date(2026, 11, 2), "rappel demain", "autre"])
    echanges["B2"].number_format = "DD/MM/YYYY"
    book.save(path)


def _parts(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_rows_go_under_their_headers_below_the_last_row_and_read_back(tmp_path):
    path = tmp_path / "relances.xlsx"
    _workbook(path)
    before = _parts(path)
    ecriture = write_back(path, fingerprint(path), {}, [], ajouts=(
        Ajout(FACTURES, ({"client": "Beta SARL", "numero": "F-2", "montant": Decimal("480.00"),
                          "echeance": datetime.date(2026, 12, 31),
                          "date_facture": datetime.date(2026, 12, 1)},)),
        Ajout(CLIENTS, ({"client": "Beta SARL", "email": "compta@beta.fr",
                         "siren": "732829320"},)),
        Ajout(ECHANGES, ({"date": datetime.date(2026, 12, 3), "client": "Alpha",
                          "canal": "e-mail", "interlocuteur": "Anne Alpha",
                          "dit": "Payé hier, voici le justificatif."},)),
    ))
    assert ecriture.ajoutes == {FACTURES: 1, CLIENTS: 1, ECHANGES: 1}
    book = openpyxl.load_workbook(path)
    factures = book["Factures"]
    assert [c.value for c in factures[3]][:5] == ["F-2", None, "Beta SARL", 480,
                                                  datetime.datetime(2026, 12, 31)]
    # Looks like the row above: the due date is a date, the amount in euros.
    assert factures["E3"].number_format == factures["E2"].number_format
    assert factures["D3"].number_format == factures["D2"].number_format
    # Date facture had no column: added at the end of the header row, only because needed.
    headers = [c.value for c in factures[1]]
    assert headers[5] == "Date facture"
    assert not {"Email", "Fichier facture", "Facture liée", "Notes"} & set(headers)
    assert book["Clients"]["C1"].value == "SIREN" and book["Clients"]["C3"].value == "732829320"
    echanges = book["Echanges"]
    assert [c.value for c in echanges[3]][:4] == [
        "Alpha", datetime.datetime(2026, 12, 3), "Payé hier, voici le justificatif.", None]
    assert echanges["B3"].number_format == "DD/MM/YYYY"
    assert echanges["C3"].alignment.wrap_text == echanges["C2"].alignment.wrap_text  # as above
    assert "Échanges" not in book.sheetnames  # the renamed sheet took them; none created
    # The user's first rows are untouched: the row the tool did not append reads as before.
    assert [c.value for c in factures[2]][:5] == ["F-1", "à voir", "Alpha", 1200,
                                                  datetime.datetime(2026, 10, 1)]
    after = _parts(path)
    assert after["docProps/app.xml"] == before["docProps/app.xml"]
    lecture = read_classeur(path)
    assert {f.numero for f in lecture.classeur.factures} == {"F-1", "F-2"}
    assert [e.dit for e in lecture.classeur.echanges][-1] == "Payé hier, voici le justificatif."


def test_a_sheet_that_cannot_be_read_back_takes_nothing(tmp_path):
    path = tmp_path / "relances.xlsx"
    _workbook(path)
    book = openpyxl.load_workbook(path)
    book["Clients"]["A1"] = "Qui"  # no Client header any more
    book.save(path)
    ecriture = write_back(path, fingerprint(path), {}, [], ajouts=(
        Ajout(CLIENTS, ({"client": "Beta SARL"},)),))
    assert ecriture.ajoutes == {CLIENTS: 0}
    assert openpyxl.load_workbook(path)["Clients"].max_row == 2
