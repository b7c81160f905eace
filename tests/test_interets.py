"""Interest shown period by period, and the legal floor of a contract rate: real workbooks,
`relancer.py` run for real, letters parsed back with pypdf, emails with the `email` package."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from relances.penalites import Regime, Semestre, TableTaux, compute_all

from conftest import ROOT, TODAY, client_row, days, invoice_row

D = Decimal
# 2,500 € due 20 May 2026, formal notice on 22 November 2026, at the legal rate (ECB + 10):
# 21 May-30 June: 41 days at 12.15 % = 34.1181 -> 34.12; 1 July-22 November: 145 days at
# 12.40 % = 123.1507 -> 123.15; total 157.27.
ECHEANCE = date(2026, 5, 20)
LEGAL_RATE_WITH_A_CHANGE = 'taux = "legal"'
ECB_2026_S2 = '\n[penalites.taux_bce]\n"2026-S2" = 2.40\n' 


def workbook(small_project, penalites: str, canal: str = "courrier", langue: str = "fr") -> Path:
    folder = small_project(
        [invoice_row(numero="F-1", echeance=ECHEANCE, montant=D("2500"),
                     etape=f"dernier_rappel ({(TODAY - days(20)):%d/%m/%Y})")],
        [client_row(langue=langue)])
    path = folder / "config.toml"
    text = path.read_text("utf-8")
    text = re.sub(r"^taux_annuel = 12\.15", lambda _: penalites, text, count=1, flags=re.M)
    if penalites == LEGAL_RATE_WITH_A_CHANGE:
        text += ECB_2026_S2
    if canal != "courrier":
        text = text.replace('canal = "courrier"', f'canal = "{canal}"', 1)
    path.write_text(text, "utf-8")
    return folder


def relancer(folder: Path) -> subprocess.CompletedProcess:
    """scripts/relancer.py in a process of its own, as the user runs it."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "relancer.py"), "--config",
         str(folder / "config.toml"), "--date", TODAY.isoformat()],
        capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def flat(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def euros(text: str) -> Decimal:
    return D(text.replace("\u202f", "").replace(" ", "").replace(",", ".").rstrip("€"))


def test_a_letter_across_a_rate_change_shows_one_line_per_period_adding_up(small_project):
    folder = workbook(small_project, LEGAL_RATE_WITH_A_CHANGE)
    result = relancer(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    (pdf,) = sorted((folder / "sortie").rglob("courriers/*.pdf"))
    text = flat("\n".join(page.extract_text() for page in PdfReader(pdf).pages))
    assert "Détail des intérêts de retard, période par période" in text
    assert "F-1 21/05/2026 30/06/2026 41 12,15 % 2 500,00 € 34,12 €" in text
    assert "F-1 01/07/2026 22/11/2026 145 12,4 % 2 500,00 € 123,15 €" in text
    assert "Total des intérêts 157,27 €" in text
    assert "Intérêts de retard arrêtés au 22/11/2026 157,27 €" in text
    # 34.12 + 123.15 = 157.27: the lines add up to the figure claimed.
    assert D("34.12") + D("123.15") == D("157.27")
    # The sentence quotes both rates, never one for a sum computed with two.
    assert "aux taux annuels successifs de 12,15 % puis 12,4 %" in text
    assert "au taux annuel de" not in text


def test_the_email_across_a_rate_change_lists_its_periods(small_project):
    folder = workbook(small_project, LEGAL_RATE_WITH_A_CHANGE, canal="email")
    result = relancer(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    (eml,) = list((folder / "sortie").rglob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",)).get_content().replace("\u00a0", " ").replace("\u202f", " ")
    lines = re.findall(r"· facture F-1, du (\S+) au (\S+) : .+ × (\S+) % × (\d+) jours / 365 "
                       r"= (.+€)", body)
    assert [(a, b, taux, jours) for a, b, taux, jours, _ in lines] == [
        ("21/05/2026", "30/06/2026", "12,15", "41"), ("01/07/2026", "22/11/2026", "12,4", "145")]
    total = re.search(r"Intérêts de retard arrêtés au 22/11/2026 : (.+€)", body)[1]
    assert sum(euros(line[-1]) for line in lines) == euros(total) == D("157.27")
    assert "aux taux annuels successifs de 12,15 % puis 12,4 %" in flat(body)
    html = flat(re.sub(r"<[^>]+>", "", message.get_body(("html",)).get_content()))
    assert "facture F-1, du 21/05/2026 au 30/06/2026 : 2 500,00 € × 12,15 % × 41 jours" in html
    assert "facture F-1, du 01/07/2026 au 22/11/2026 : 2 500,00 € × 12,4 % × 145 jours" in html


def test_an_english_letter_shows_the_same_periods_in_english(small_project):
    folder = workbook(small_project, LEGAL_RATE_WITH_A_CHANGE, langue="en")
    assert relancer(folder).returncode == 0
    (pdf,) = sorted((folder / "sortie").rglob("courriers/*.pdf"))
    text = flat("\n".join(page.extract_text() for page in PdfReader(pdf).pages))
    assert "Late-payment interest, period by period" in text
    assert "F-1 21/05/2026 30/06/2026 41 12.15% €2,500.00 €34.12" in text
    assert "F-1 01/07/2026 22/11/2026 145 12.4% €2,500.00 €123.15" in text
    assert "Total interest €157.27" in text
    assert "at the successive rates of 12.15% then 12.4% a year" in text


def test_one_rate_one_line_no_breakdown(small_project):
    # The contract's fixed rate, above the floor all along: one rate, no breakdown.
    folder = workbook(small_project, "taux_annuel = 12.15")
    result = relancer(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    (pdf,) = sorted((folder / "sortie").rglob("courriers/*.pdf"))
    text = flat("\n".join(page.extract_text() for page in PdfReader(pdf).pages))
    assert "Détail des intérêts" not in text
    assert "au taux annuel de 12,15 %" in text
    assert "illicite" not in result.stdout + result.stderr


def test_a_contract_rate_below_the_floor_is_raised_and_the_run_says_the_clause_is_unlawful(
        small_project):
    # 5 % < 3 × 2.62 % = 7.86 % (2026-S1; 2026-S2's legal rate is not in the shipped table:
    # the last known one is used). 2,500 € × 7.86 % × 186 days / 365 = 100.134… -> 100.13.
    folder = workbook(small_project, "taux_annuel = 5")
    result = relancer(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    output = flat(result.stdout + result.stderr)
    warning = ("config.toml : [penalites] taux_annuel = 5 % est inférieur au minimum légal de "
               "7,86 % (trois fois le taux de l’intérêt légal, 2,62 % en 2026-S2, dernier taux connu) : les "
               "pénalités de retard sont calculées à 7,86 %. Un taux inférieur dans vos "
               "conditions générales est illicite (article L441-10 du Code de commerce) et "
               "passible d’une amende administrative (article L441-16)")
    assert warning in output
    assert output.count("taux_annuel = 5 %") == 1  # once a run
    (pdf,) = sorted((folder / "sortie").rglob("courriers/*.pdf"))
    text = flat("\n".join(page.extract_text() for page in PdfReader(pdf).pages))
    assert "au taux annuel de 7,86 % (trois fois le taux de l'intérêt légal" in text.replace(
        "’", "'")
    assert "100,13 €" in text


def test_a_lawful_contract_rate_gives_no_warning_and_the_legal_rate_none():
    from relances.config import Penalites
    assert Penalites(taux_annuel=D("7.86")).clause_illicite("FR", Semestre(2026, 1), "c") == ""
    assert Penalites(taux_annuel=None, taux_legal=True).clause_illicite(
        "FR", Semestre(2026, 1), "c") == ""
    # Belgium has no such floor.
    assert Penalites(taux_annuel=D("1")).clause_illicite("BE", Semestre(2026, 1), "c") == ""


class _F:
    def __init__(self, numero, reste_du, echeance):
        self.numero, self.reste_du, self.echeance = numero, reste_du, echeance


def test_periods_of_several_invoices_add_up_to_the_total_and_same_rates_merge():
    table = TableTaux(bce={Semestre(2025, 2): D("2.15"), Semestre(2026, 1): D("2.15"),
                           Semestre(2026, 2): D("2.40")},
                      interet_legal={Semestre(2026, 1): D("2.62")})
    regime = Regime("FR", False, None, D("40"))
    calcul = compute_all([_F("A", D("1234.56"), date(2025, 11, 30)),
                          _F("B", D("99.99"), date(2026, 7, 31))],
                         date(2026, 11, 22), regime, table)
    # A: 2025-S2 and 2026-S1 share 12.15 %: one period from 1 December 2025 to 30 June 2026.
    assert [(n, p.debut, p.fin, p.taux) for n, p in calcul.periodes] == [
        ("A", date(2025, 12, 1), date(2026, 6, 30), D("12.15")),
        ("A", date(2026, 7, 1), date(2026, 11, 22), D("12.40")),
        ("B", date(2026, 8, 1), date(2026, 11, 22), D("12.40")),
    ]
    assert calcul.taux_appliques == (D("12.15"), D("12.40")) and calcul.plusieurs_taux
    assert sum(p.montant for _, p in calcul.periodes) == calcul.interets
    for _, p in calcul.periodes:
        assert p.jours == (p.fin - p.debut).days + 1
        assert abs(p.base * p.taux / 100 * p.jours / 365 - p.montant) <= D("0.005")
