"""Late-payment penalties, checked to the cent against figures worked out by hand."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from relances.calendrier import Calendrier
from relances.config import Penalites
from relances.penalites import (Regime, Semestre, TableTaux, bareme_belge, compute, compute_all,
                                fin_delai_consommateur_be, pays_de_la_loi, read_table)
from relances.records import Client

D = Decimal
TABLE = TableTaux(
    bce={Semestre(2026, 1): D("2.15"), Semestre(2026, 2): D("2.40")},
    interet_legal={Semestre(2026, 1): D("2.62"), Semestre(2026, 2): D("2.70")},
)
FR_PRO = Regime("FR", False, D("12.15"), D("40"))


def test_fixed_rate_from_the_day_after_the_due_date_to_the_letter():
    # 1,000 € due 30/09/2026, letter 22/11/2026: 53 days; 1000 × 12.15 % × 53 / 365 = 17.6425
    p = compute("F1", D("1000.00"), date(2026, 9, 30), date(2026, 11, 22), FR_PRO, TABLE)
    assert p.jours == 53
    assert p.depuis == date(2026, 10, 1)
    assert p.interets == D("17.64")
    assert p.indemnite == D("40")
    assert p.total == D("57.64")
    assert p.taux_manquants == ()


def test_partial_payment_interest_on_what_remains():
    # Invoice 1,200 €, 200 € paid: the same 1,000 € base as above.
    p = compute("F1", D("1200.00") - D("200.00"), date(2026, 9, 30), date(2026, 11, 22),
                FR_PRO, TABLE)
    assert (p.base, p.interets, p.indemnite) == (D("1000.00"), D("17.64"), D("40"))


def test_legal_rate_is_computed_piecewise_across_a_half_year_boundary():
    # 2,500 € due 31/05/2026, letter 15/08/2026.
    # June: 30 days at 2.15 + 10 = 12.15 % -> 24.965753… -> 24.97; 1 July-15 August: 46 days
    # at 2.40 + 10 = 12.40 % -> 39.068493… -> 39.07; each line rounded, the total their sum:
    # 64.04 (rounding once would give 64.03, a figure the letter's lines do not add up to).
    regime = Regime("FR", False, None, D("40"))
    p = compute("F1", D("2500"), date(2026, 5, 31), date(2026, 8, 15), regime, TABLE)
    assert [(x.debut, x.fin, x.jours, x.taux, x.base, x.montant) for x in p.periodes] == [
        (date(2026, 6, 1), date(2026, 6, 30), 30, D("12.15"), D("2500"), D("24.97")),
        (date(2026, 7, 1), date(2026, 8, 15), 46, D("12.40"), D("2500"), D("39.07")),
    ]
    assert p.interets == D("64.04")


def test_contract_rate_below_three_times_the_legal_rate_is_raised_to_that_floor():
    # 5 % < 3 × 2.62 % = 7.86 %: 1,000 € for 30 days at 7.86 % = 6.4603 -> 6.46
    regime = Regime("FR", False, D("5"), D("40"))
    p = compute("F1", D("1000"), date(2026, 3, 31), date(2026, 4, 30), regime, TABLE)
    assert p.periodes[0].taux == D("7.86") and p.periodes[0].plancher
    assert p.interets == D("6.46")
    calcul = compute_all([_F("F1", D("1000"), date(2026, 3, 31))], date(2026, 4, 30), regime, TABLE)
    assert calcul.plancher and calcul.taux_du_jour == D("7.86")


def test_french_private_individual_legal_interest_from_the_formal_notice_and_no_indemnity():
    regime = Regime("FR", True, D("12.15"), D("40"))
    before = compute("F1", D("800"), date(2026, 1, 15), date(2026, 2, 2), regime, TABLE)
    assert (before.interets, before.indemnite, before.depuis) == (D("0"), D("0"), None)
    # Notice dated 02/02/2026, letter 04/03/2026: 30 days at 2.62 %: 800 × .0262 × 30 / 365 = 1.7227
    after = compute("F1", D("800"), date(2026, 1, 15), date(2026, 3, 4), regime, TABLE,
                    mise_en_demeure=date(2026, 2, 2))
    assert after.depuis == date(2026, 2, 3)
    assert (after.jours, after.interets, after.indemnite) == (30, D("1.72"), D("0"))


def test_belgium_professional_ecb_plus_eight_rounded_up_to_the_half_point():
    # 2.15 + 8 = 10.15 -> 10.5 %; 1,000 € for 30 days (1 February-2 March) = 8.6301 -> 8.63
    regime = Regime("BE", False, None, D("40"))
    p = compute("F1", D("1000"), date(2026, 1, 31), date(2026, 3, 2), regime, TABLE)
    assert p.periodes[0].taux == D("10.5")
    assert (p.jours, p.interets, p.indemnite) == (30, D("8.63"), D("40"))


def test_belgium_private_individual_nothing_until_the_end_of_the_fourteen_days():
    regime = Regime("BE", True, None, D("40"), clause_consommateur=True)
    # Email on Sunday 01/02/2026: the window runs Monday 02/02 to Sunday 15/02, moved to Monday
    # 16/02 (a closed day); nothing is due up to that day inclusive.
    fin = fin_delai_consommateur_be(date(2026, 2, 1), "email", Calendrier("BE"))
    assert fin == date(2026, 2, 16)
    early = compute("F1", D("600"), date(2026, 1, 20), date(2026, 2, 16), regime, TABLE,
                    fin_delai=fin)
    assert (early.interets, early.indemnite) == (D("0"), D("0"))
    # From 17 February to 2 March: 14 days at 10.5 %: 600 × .105 × 14 / 365 = 2.4164 -> 2.42;
    # indemnity on the scale: 65 + 5 % × 100 = 70.
    late = compute("F1", D("600"), date(2026, 1, 20), date(2026, 3, 2), regime, TABLE,
                   fin_delai=fin)
    assert (late.depuis, late.jours, late.interets, late.indemnite) == (
        date(2026, 2, 17), 14, D("2.42"), D("70.00"))
    # The old parameter still works: the reminder's date, counted as an email.
    assert compute("F1", D("600"), date(2026, 1, 20), date(2026, 3, 2), regime, TABLE,
                   premier_rappel=date(2026, 2, 1)) == late
    never_reminded = compute("F1", D("600"), date(2026, 1, 20), date(2026, 3, 2), regime, TABLE)
    assert never_reminded.total == 0


@pytest.mark.parametrize("reste, attendu", [
    ("100", "20.00"), ("150", "20.00"), ("150.01", "30.00"), ("300", "45.00"),
    ("500", "65.00"), ("1000", "90.00"), ("38000", "1940.00"), ("50000", "2000.00"),
])
def test_belgian_consumer_indemnity_scale(reste, attendu):
    assert bareme_belge(D(reste)) == D(attendu)


def test_interest_is_rounded_half_up_to_the_cent():
    # 4,562.50 € × 1 % × 1 day / 365 = 0.125 exactly: half-up gives 0.13 (banker's would give 0.12)
    regime = Regime("BE", False, D("1"), D("0"))
    p = compute("F1", D("4562.50"), date(2026, 3, 1), date(2026, 3, 2), regime, TABLE)
    assert p.interets == D("0.13")


def test_a_half_year_missing_from_the_table_uses_the_last_known_rate_and_says_so():
    regime = Regime("FR", False, None, D("40"))
    p = compute("F1", D("1000"), date(2026, 12, 31), date(2027, 1, 30), regime, TABLE)
    assert p.periodes[0].taux == D("12.40")
    assert p.taux_manquants == ("taux BCE 2027-S1",)


def test_nothing_is_due_on_a_paid_invoice_or_before_the_due_date():
    assert compute("F1", D("0"), date(2026, 1, 1), date(2026, 3, 1), FR_PRO, TABLE).total == 0
    p = compute("F1", D("100"), date(2026, 3, 1), date(2026, 3, 1), FR_PRO, TABLE)
    assert (p.interets, p.jours) == (D("0"), 0)


def test_the_shipped_table_covers_every_half_year_since_2015():
    table = read_table()
    for name in ("bce", "interet_legal"):
        semestres = sorted(table[name])
        assert semestres[0] == Semestre(2015, 1)
        assert len(semestres) == (semestres[-1].annee - 2015) * 2 + semestres[-1].numero


@given(reste=st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2),
       jours=st.integers(min_value=1, max_value=800))
def test_interest_is_the_exact_formula_within_half_a_cent(reste, jours):
    """Over any number of half-years at one rate, pieces add up to the one-piece formula."""
    echeance = date(2025, 1, 1)
    table = TableTaux(bce={Semestre(2025, 1): D("3.15")}, interet_legal={Semestre(2025, 1): D("3.71")})
    regime = Regime("FR", False, D("12"), D("40"))
    whole = compute("F", reste, echeance, echeance.fromordinal(echeance.toordinal() + jours),
                    regime, table)
    assert whole.jours == jours
    exact = reste * D("12") / 100 * jours / 365
    assert abs(whole.interets - exact) <= D("0.005")


class _F:
    def __init__(self, numero, reste_du, echeance):
        self.numero, self.reste_du, self.echeance = numero, reste_du, echeance


def test_config_completes_the_table_of_rates_and_names_a_bad_half_year(tmp_path):
    from relances.config import load_config
    from relances.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text('[penalites]\ntaux = "legal"\n[penalites.taux_bce]\n"2026-S2" = 2.40\n',
                    encoding="utf-8")
    table = load_config(path).penalites.table
    assert table.rate("bce", Semestre(2026, 2)) == (D("2.40"), True)
    assert table.rate("bce", Semestre(2025, 1)) == (D("3.15"), True)  # shipped values kept
    path.write_text('[penalites.taux_interet_legal]\n"2026-T3" = 2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"penalites\.taux_interet_legal\.2026-T3 : un semestre"):
        load_config(path)


# ------------------------------------------------------------------ the debtor's law protects him

# Every case of 1,000 € due 31/03/2026, claimed on 30/04/2026 (30 days late), after a first
# reminder by email on Wednesday 01/04/2026 (Belgian window 02/04 to 15/04 inclusive) and a formal
# notice on 10/04/2026. Expected: (law's country, interest, indemnity).
RAPPEL, NOTICE, LETTRE = date(2026, 4, 1), date(2026, 4, 10), date(2026, 4, 30)


@pytest.mark.parametrize("creancier, type_, pays_client, clause, attendu", [
    # Professional debtor: the creditor's law, whatever the debtor's country or the clause.
    ("FR", "professionnel", "", False, ("FR", "9.99", "40")),       # 12.15 % × 30 d
    ("FR", "professionnel", "BE", False, ("FR", "9.99", "40")),
    ("BE", "professionnel", "", False, ("BE", "9.99", "40")),       # contract rate 12.15 %
    ("BE", "professionnel", "FR", True, ("BE", "9.99", "40")),
    # French consumer: legal interest (2.62 %) from the notice (20 days), no indemnity — also
    # when the creditor is Belgian; the clause changes nothing.
    ("FR", "particulier", "", False, ("FR", "1.44", "0")),
    ("FR", "particulier", "FR", True, ("FR", "1.44", "0")),
    ("BE", "particulier", "FR", False, ("FR", "1.44", "0")),
    ("BE", "particulier", "FR", True, ("FR", "1.44", "0")),
    # Belgian consumer: nothing without the clause, whoever the creditor.
    ("BE", "particulier", "", False, ("BE", "0", "0")),
    ("BE", "particulier", "BE", False, ("BE", "0", "0")),
    ("FR", "particulier", "BE", False, ("BE", "0", "0")),
    # With it: from 16/04 (15 days), at most ECB + 8 rounded up (10.5 % < 12.15 %), the scale.
    ("BE", "particulier", "", True, ("BE", "4.32", "90.00")),
    ("FR", "particulier", "BE", True, ("BE", "4.32", "90.00")),
])
def test_which_law_and_what_it_allows(creancier, type_, pays_client, clause, attendu):
    penalites = replace(Penalites(table=TABLE), clause_consommateur=clause)
    regime = penalites.regime_for(creancier, Client("X", type=type_, pays=pays_client))
    fin = fin_delai_consommateur_be(RAPPEL, "email", Calendrier("BE"))
    assert fin == date(2026, 4, 15)
    p = compute("F1", D("1000"), date(2026, 3, 31), LETTRE, regime, TABLE,
                mise_en_demeure=NOTICE, premier_rappel=RAPPEL, fin_delai=fin)
    assert (regime.pays, str(p.interets), str(p.indemnite)) == attendu
    # compute_all takes the same dates as (notice, reminder, end of the window).
    calcul = compute_all([_F("F1", D("1000"), date(2026, 3, 31))], LETTRE, regime, TABLE,
                         {"F1": (NOTICE, RAPPEL, fin)})
    assert calcul.total == p.total and calcul.pays == attendu[0]


@pytest.mark.parametrize("creancier, particulier, pays_client, attendu", [
    ("FR", False, "BE", "FR"), ("BE", False, "FR", "BE"), ("FR", True, "", "FR"),
    ("FR", True, "BE", "BE"), ("BE", True, "FR", "FR"), ("BE", True, "XX", "BE"),
])
def test_a_consumer_gets_his_own_countrys_law(creancier, particulier, pays_client, attendu):
    assert pays_de_la_loi(creancier, particulier, pays_client) == attendu


@pytest.mark.parametrize("envoi, canal, debut, fin", [
    # Email on Wednesday 01/04/2026: from Thursday 02/04 to Wednesday 15/04.
    ("2026-04-01", "email", "2026-04-02", "2026-04-15"),
    # Letter posted the same day: third business day after it, Monday 06/04 being Easter Monday
    # in Belgium: Thursday 02/04, Friday 03/04, Tuesday 07/04; to Monday 20/04.
    ("2026-04-01", "courrier", "2026-04-07", "2026-04-20"),
    # Email on Friday 20/11/2026: Monday 23/11 to Sunday 06/12, moved to Monday 07/12.
    ("2026-11-20", "email", "2026-11-23", "2026-12-07"),
    # Email on Thursday 10/12/2026: 11/12 to 24/12 (Thursday).
    ("2026-12-10", "email", "2026-12-11", "2026-12-24"),
    # Email on Friday 11/12/2026: 14/12 to 27/12 (Sunday) -> Monday 28/12 (26/12 is a Saturday).
    ("2026-12-11", "email", "2026-12-14", "2026-12-28"),
    # Belgian-only holiday: an email on Monday 20/07/2026 starts Wednesday 22/07 (21 July is the
    # national day); 14th day Tuesday 04/08.
    ("2026-07-20", "email", "2026-07-22", "2026-08-04"),
])
def test_the_belgian_consumers_fourteen_days(envoi, canal, debut, fin):
    from relances.penalites import debut_delai_consommateur_be
    be = Calendrier("BE")
    jour = date.fromisoformat(envoi)
    assert debut_delai_consommateur_be(jour, canal, be) == date.fromisoformat(debut)
    assert fin_delai_consommateur_be(jour, canal, be) == date.fromisoformat(fin)
    assert fin_delai_consommateur_be(jour, canal) == date.fromisoformat(fin)  # Belgium's by default


def test_a_call_is_not_a_first_reminder():
    with pytest.raises(ValueError):
        fin_delai_consommateur_be(date(2026, 4, 1), "appel")


def test_a_letter_never_ends_before_an_email_of_the_same_day():
    be = Calendrier("BE")
    for offset in range(0, 370, 3):
        jour = date(2026, 1, 1) + timedelta(days=offset)
        assert fin_delai_consommateur_be(jour, "courrier", be) >= fin_delai_consommateur_be(
            jour, "email", be) >= jour + timedelta(days=14)
