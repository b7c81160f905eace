"""Matching never guesses between clients: a name fits only when no other client's fits it
better, an invoice number only with its letters and never inside a date, a paid invoice named
is a double payment to review. Whenever two clients could be meant, the line waits in À
vérifier holding both."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from relances.banque import AVerifier, Affectation
from relances.banque.noms import CUT_MIN
from relances.banque.operations import Operation
from relances.banque.rapprochement import match_operations
from relances.records import client_key

from conftest import facture

D = Decimal
JOUR = datetime.date(2026, 11, 1)


def op(libelle="", montant="100.00", contrepartie="", cle="x") -> Operation:
    return Operation(cle, datetime.date(2026, 11, 20), D(montant), libelle, contrepartie)


def outcome(operation: Operation, factures):
    (found,) = match_operations([operation], factures)
    return found


def held(found: AVerifier) -> set[str]:
    """The clients a line waiting in À vérifier keeps from being chased."""
    return {c.client for c in found.candidats}


# ------------------------------------------------------------------ names

PETIT = facture("F-101", "Petit", JOUR, "250.00")
PETITJEAN = facture("F-102", "Petitjean SARL", JOUR, "250.00")
MARTIN = facture("F-201", "Boulangerie Martin", JOUR, "480.00")
MARTINEAU = facture("F-202", "Boulangerie Martineau", JOUR, "500.00")


def test_a_name_fitting_whole_wins_over_a_longer_name_it_begins():
    found = outcome(op("VIR M PETIT", "250.00"), [PETIT, PETITJEAN])
    assert isinstance(found, Affectation) and found.client == "Petit"
    found = outcome(op("VIR BOULANGERIE MARTIN", "480.00"), [MARTIN, MARTINEAU])
    assert isinstance(found, Affectation) and found.client == "Boulangerie Martin"


def test_a_word_that_only_begins_a_name_is_for_a_person_to_confirm():
    found = outcome(op("VIR M PETIT", "250.00"), [PETITJEAN])
    assert isinstance(found, AVerifier) and held(found) == {"Petitjean SARL"}
    found = outcome(op("VIR BOULANGERIE MARTIN", "480.00"), [MARTINEAU])
    assert isinstance(found, AVerifier) and held(found) == {"Boulangerie Martineau"}
    # In the payer's name too, at its very end.
    found = outcome(op("VIREMENT RECU", "250.00", contrepartie="M PETIT"), [PETITJEAN])
    assert isinstance(found, AVerifier) and held(found) == {"Petitjean SARL"}


def test_a_word_cut_anywhere_but_at_the_end_names_nobody():
    found = outcome(op("VIR PETIT LOYER NOVEMBRE", "260.00"), [PETITJEAN])
    assert isinstance(found, AVerifier) and found.candidats == ()


def test_two_names_cut_the_same_way_hold_both_clients():
    found = outcome(op("VIR SEPA BOULANGERIE MARTI", "480.00"), [MARTIN, MARTINEAU])
    assert isinstance(found, AVerifier)
    assert held(found) == {"Boulangerie Martin", "Boulangerie Martineau"}


def test_two_clients_with_the_same_distinctive_words_are_never_told_apart_by_the_amount():
    martin_sa = facture("F-301", "Martin SA", JOUR, "100.00")
    martin_sas = facture("F-302", "Martin SAS", JOUR, "480.00")
    found = outcome(op("VIR MARTIN", "480.00"), [martin_sa, martin_sas])
    assert isinstance(found, AVerifier) and held(found) == {"Martin SA", "Martin SAS"}


def test_a_label_naming_two_clients_holds_both():
    leroy = facture("F-401", "Garage Leroy", JOUR, "300.00")
    found = outcome(op("VIR GARAGE LEROY", "480.00", contrepartie="BOULANGERIE MARTIN"),
                    [MARTIN, leroy])
    assert isinstance(found, AVerifier)
    assert held(found) == {"Boulangerie Martin", "Garage Leroy"}


def test_a_longer_name_whose_cut_word_does_not_cover_the_label_is_not_dropped():
    # « BOULANGERIE MARTIN »: Martin fits one word whole, Boulangerie Martineau both, one cut.
    martin = facture("F-501", "Martin", JOUR, "480.00")
    found = outcome(op("VIR BOULANGERIE MARTIN", "480.00"), [martin, MARTINEAU])
    assert isinstance(found, AVerifier)
    assert held(found) == {"Martin", "Boulangerie Martineau"}


def test_a_client_whose_invoices_are_all_paid_still_counts_as_a_fitting_name():
    paid = facture("F-601", "Boulangerie Martin", JOUR, "480.00", "480.00")
    other = facture("F-602", "Martin", JOUR, "480.00")
    found = outcome(op("VIR BOULANGERIE MARTIN", "480.00"), [paid, other])
    assert isinstance(found, AVerifier) and "aucune facture ouverte" in found.motif


# ------------------------------------------------------------------ invoice numbers

FA = facture("FA-2026-031", "Alpha", JOUR, "300.00")
AC = facture("AC-2026-031", "Bravo", JOUR, "300.00")


@pytest.mark.parametrize("libelle", ["AC-2026-031", "AC2026031", "AC 2026 031",
                                     "VIR AC.2026/031"])
def test_an_invoice_number_with_other_letters_is_not_that_invoice(libelle):
    found = outcome(op(libelle, "290.00"), [FA])
    assert isinstance(found, AVerifier) and found.candidats == ()
    found = outcome(op(libelle, "300.00"), [FA, AC])
    assert isinstance(found, Affectation) and found.factures == ("AC-2026-031",)


@pytest.mark.parametrize("libelle", ["FA-2026-031", "F2026031", "FACT 2026-031",
                                     "FACTURE N° 2026031", "VIREMENT 2026-031", "INV2026031",
                                     "REGLEMENT FACT. FA 2026 031 DU 15/11/2026"])
def test_an_invoice_number_with_its_letters_shortened_lengthened_or_generic(libelle):
    found = outcome(op(libelle, "300.00"), [FA, facture("AC-2026-044", "Bravo", JOUR, "300")])
    assert isinstance(found, Affectation) and found.factures == ("FA-2026-031",)


def test_a_number_without_letters_that_two_prefixes_share_holds_both_clients():
    found = outcome(op("FACTURE 2026-031", "300.00"), [FA, AC])
    assert isinstance(found, AVerifier) and "plusieurs clients" in found.motif
    assert held(found) == {"Alpha", "Bravo"}


@pytest.mark.parametrize("libelle", ["VIR DU 15/11/2026", "ECHEANCE 15-11-2026",
                                     "PAIEMENT 15.11.26", "LE 2026-11-15",
                                     "VIR DU 20261115", "15 NOVEMBRE 2026", "ACOMPTE NOV 2026"])
def test_a_number_inside_a_date_is_no_invoice(libelle):
    factures = [facture("2026", "Alpha", JOUR, "300.00"),
                facture("11-2026", "Bravo", JOUR, "300.00"),
                facture("2026-1115", "Charlie", JOUR, "300.00"),
                facture("F-1126", "Delta", JOUR, "300.00")]
    found = outcome(op(libelle, "300.00"), factures)
    assert isinstance(found, AVerifier) and not found.motif.startswith("n° de facture")


def test_a_number_shaped_like_a_date_is_found_when_written_whole():
    found = outcome(op("FACT 2026-11-15", "300.00"), [facture("2026-11-15", "Alpha", JOUR,
                                                               "300.00")])
    assert isinstance(found, Affectation)


def test_a_number_glued_to_another_by_a_dash_is_not_found():
    found = outcome(op("FACT 2026-031", "300.00"), [facture("2026", "Alpha", JOUR, "300.00")])
    assert isinstance(found, AVerifier) and found.candidats[0].numero == "2026"  # by amount


# ------------------------------------------------------------------ paid invoices named

PAID = facture("F-2026-029", "Imprimerie Blanc", JOUR, "890.00", "890.00")
OPEN_ROUX = facture("F-2026-046", "Cabinet Roux", JOUR, "890.00")
OPEN_BLANC = facture("F-2026-047", "Imprimerie Blanc", JOUR, "890.00")


@pytest.mark.parametrize("libelle", ["FACT F-2026-029 F-2026-046", "FACT F-2026-029 F-2026-047",
                                     "FACT F-2026-029"])
def test_a_paid_invoice_named_is_a_double_payment_never_moved_to_another(libelle):
    found = outcome(op(libelle, "890.00"), [PAID, OPEN_ROUX, OPEN_BLANC])
    assert isinstance(found, AVerifier) and "déjà soldée" in found.motif
    assert "F-2026-029" in {c.numero for c in found.candidats}
    assert "Imprimerie Blanc" in held(found)


def test_a_paid_invoice_named_by_its_reference_is_a_double_payment():
    found = outcome(op("VIR +++000/2026/02987+++ F-2026-046", "890.00"),
                    [PAID, OPEN_ROUX])
    assert isinstance(found, AVerifier) and "déjà soldée" in found.motif
    assert held(found) == {"Imprimerie Blanc"}


def test_a_number_of_one_client_in_a_label_naming_another_holds_both():
    found = outcome(op("VIR CABINET ROUX FACT F-2026-047", "890.00"), [OPEN_ROUX, OPEN_BLANC])
    assert isinstance(found, AVerifier) and "mais le libellé nomme Cabinet Roux" in found.motif
    assert held(found) == {"Cabinet Roux", "Imprimerie Blanc"}
    found = outcome(op("FACT F-2026-047", "890.00", contrepartie="CABINET ROUX"),
                    [OPEN_ROUX, OPEN_BLANC])
    assert isinstance(found, AVerifier) and held(found) == {"Cabinet Roux", "Imprimerie Blanc"}


def test_a_number_shared_by_two_clients_is_told_apart_by_a_name_fitting_whole():
    roux = facture("F-2026-050", "Cabinet Roux", JOUR, "890.00")
    blanc = facture("F-2026-050", "Imprimerie Blanc", JOUR, "890.00")
    found = outcome(op("VIR IMPRIMERIE BLANC F-2026-050", "890.00"), [roux, blanc])
    assert isinstance(found, Affectation) and found.client == "Imprimerie Blanc"
    # But a number of another client's, written beside, could be what is paid.
    found = outcome(op("VIR IMPRIMERIE BLANC F-2026-050 F-2026-046", "890.00"),
                    [roux, blanc, OPEN_ROUX])
    assert isinstance(found, AVerifier) and held(found) == {"Cabinet Roux", "Imprimerie Blanc"}


# ------------------------------------------------------------------ the property

# Names that are prefixes of each other or share words; prefixes that share digits.
NOMS = ["Petit", "Petitjean", "Martin", "Boulangerie Martin", "Boulangerie Martineau",
        "Garage Martin SARL", "Martin SAS", "Blanc", "Imprimerie Blanc"]
PREFIXES = ["F", "FA", "AC", "AV", ""]
CORPS = ["2026-031", "2026-044", "2026-0311", "11-2026", "2026"]
GENERIQUES = {"FACT", "FACTURE"}


def significant(nom: str) -> tuple[str, ...]:
    return tuple(w for w in nom.lower().split() if w not in ("sarl", "sas"))


def written_prefix_fits(written: str, prefix: str) -> bool:
    written = written.upper()
    return (written in ("", prefix) or written in GENERIQUES
            or bool(prefix) and (written.startswith(prefix) or prefix.startswith(written)))


pieces = st.one_of(
    st.tuples(st.just("nom"), st.sampled_from(NOMS)),
    st.tuples(st.just("coupe"), st.sampled_from(NOMS), st.integers(1, 6)),
    st.tuples(st.just("num"), st.sampled_from(CORPS), st.sampled_from(PREFIXES + ["FACT "]),
              st.sampled_from(["-", "", " "])),
    st.tuples(st.just("mot"), st.sampled_from(["VIR SEPA", "DU 15/11/2026", "15-11-2026",
                                               "LE 2026-11-15", "ACOMPTE", "M", "MERCI",
                                               "1 250,00 EUR", "REF 12345678"])),
)


def render(piece) -> str:
    kind = piece[0]
    if kind == "nom":
        return piece[1].upper()
    if kind == "coupe":
        upper = piece[1].upper()
        return upper[:max(1, len(upper) - piece[2])]
    if kind == "num":
        _, corps, prefix, sep = piece
        return f"{prefix}{sep if prefix and not prefix.endswith(' ') else ''}{corps}"
    return piece[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NOMS), st.sampled_from(PREFIXES),
                          st.sampled_from(CORPS), st.integers(1, 30), st.booleans()),
                min_size=1, max_size=10),
       st.lists(st.tuples(st.lists(pieces, min_size=1, max_size=4),
                          st.lists(pieces, max_size=2), st.integers(1, 30)),
                min_size=1, max_size=5))
def test_no_statement_line_is_ever_credited_to_a_client_by_a_guess(livre, lignes):
    factures, seen = [], set()
    for nom, prefix, corps, dizaines, payee in livre:
        numero = f"{prefix}-{corps}" if prefix else corps
        if (client_key(nom), numero) in seen:
            continue
        seen.add((client_key(nom), numero))
        montant = D(dizaines * 10)
        factures.append(facture(numero, nom, JOUR, str(montant), str(montant) if payee else "0"))
    operations = [Operation(str(i), datetime.date(2026, 11, 20), D(dizaines * 10),
                            " ".join(render(p) for p in libelle),
                            " ".join(render(p) for p in contrepartie))
                  for i, (libelle, contrepartie, dizaines) in enumerate(lignes)]
    pieces_of = {str(i): [*libelle, *contrepartie] for i, (libelle, contrepartie, _)
                 in enumerate(lignes)}
    reste = {(client_key(f.client), f.numero): f.reste_du for f in factures}
    client_of = {client_key(f.client): f.client for f in factures}

    for found in match_operations(operations, factures):
        operation = found.operation
        words = re.findall(r"[a-z0-9]+", operation.texte.lower())
        whole = {k for k in client_of if set(significant(client_of[k])) <= set(words)}
        if isinstance(found, Affectation):
            key = client_key(found.client)
            owed = [reste[(key, n)] for n in found.factures]
            assert all(r > 0 for r in owed)                        # (a), open invoices only
            assert operation.montant <= sum(owed)                   # (b)
            if found.motif.startswith("n° de facture"):             # (c), by number
                for numero in found.factures:
                    prefix = re.match(r"[A-Z]*", numero).group(0)
                    corps = numero[len(prefix) + 1:] if prefix else numero
                    assert any(p[0] == "num" and p[1] == corps
                               and written_prefix_fits(p[2].strip(), prefix)
                               for p in pieces_of[operation.cle]), (operation, numero)
            else:                                                   # (c), by name
                assert found.motif.startswith("client nommé")
                mine = set(significant(found.client))
                assert key in whole
                # No other client fits as well: none whole (unless its words are a part of
                # this one's), none cut at the end of a field except where this name fits.
                for other in whole - {key}:
                    assert set(significant(client_of[other])) < mine
                for other, nom in client_of.items():
                    *head, last = significant(nom)
                    for field in (operation.libelle, operation.contrepartie):
                        end = re.findall(r"[a-z0-9]+", field.lower())[-1:]
                        if other != key and other not in whole and end \
                                and len(end[0]) >= CUT_MIN \
                                and last.startswith(end[0]) and last != end[0] \
                                and set(head) <= set(words):
                            assert end[0] in mine and set(head) <= mine
            left = operation.montant
            for numero in found.factures:
                part = min(left, reste[(key, numero)])
                reste[(key, numero)] -= part
                left -= part
        else:
            # Every client the label names whole (the longest of nested names) and that
            # still owes something is held.
            named = {k for k in whole if not any(
                set(significant(client_of[k])) < set(significant(client_of[o]))
                for o in whole)}
            owing = {k for k in named if any(r > 0 for (c, _), r in reste.items() if c == k)}
            if len(named) > 1:
                assert owing <= {client_key(c.client) for c in found.candidats}, found
