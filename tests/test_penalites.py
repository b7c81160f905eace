"""Late-payment penalties, checked to the cent against figures worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from relances.penalites import (Regime, Semestre, TableTaux, bareme_belge, compute, compute_all,
                                read_table)

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
    # June: 30 days at 2.15 + 10 = 12.15 % -> 24.965753…; 1 July-15 August: 46 days at
    # 2.40 + 10 = 12.40 % -> 39.068493…; total 64.034246… -> 64.03
    regime = Regime("FR", False, None, D("40"))
    p = compute("F1", D("2500"), date(2026, 5, 31), date(2026, 8, 15), regime, TABLE)
    assert [(x.debut, x.fin, x.jours, x.taux) for x in p.periodes] == [
        (date(2026, 6, 1), date(2026, 6, 30), 30, D("12.15")),
        (date(2026, 7, 1), date(2026, 8, 15), 46, D("12.40")),
    ]
    assert p.interets == D("64.03")


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


def test_belgium_private_individual_nothing_until_fourteen_days_after_the_first_reminder():
    regime = Regime("BE", True, None, D("40"))
    early = compute("F1", D("600"), date(2026, 1, 20), date(2026, 2, 15), regime, TABLE,
                    premier_rappel=date(2026, 2, 1))
    assert (early.interets, early.indemnite) == (D("0"), D("0"))
    # From 16 February to 2 March: 15 days at 10.5 %: 600 × .105 × 15 / 365 = 2.5890 -> 2.59;
    # indemnity on the scale: 65 + 5 % × 100 = 70.
    late = compute("F1", D("600"), date(2026, 1, 20), date(2026, 3, 2), regime, TABLE,
                   premier_rappel=date(2026, 2, 1))
    assert (late.depuis, late.jours, late.interets, late.indemnite) == (
        date(2026, 2, 16), 15, D("2.59"), D("70.00"))
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
