"""E-invoice checks: the values read (amounts, dates, codes) and the EN 16931 business rules
that matter to a collection tool — totals that add up, a currency the workbook can hold,
a number, a seller and a buyer. Pure: a record in, an error out; no file is read here."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

from ..errors import RelancesError
from .modeles import FactureElectronique

CENT = Decimal("0.01")
TOLERANCE = Decimal("0.01")

# UNTDID 1001 document types EN 16931 allows (BT-3): the credit notes, then the invoices.
TYPES_AVOIR = {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
TYPES_FACTURE = {"71", "80", "82", "84", "102", "218", "219", "326", "331", "380", "382",
                 "383", "384", "385", "386", "387", "388", "389", "390", "393", "394", "395",
                 "456", "457", "527", "575", "623", "633", "751", "780", "875", "876", "877",
                 "935"}


class EfactureError(RelancesError):
    """An e-invoice file cannot be read or fails a check; the message names the file first."""


class Invalide(ValueError):
    """A value or a rule failed; the reader adds the file name in front of the message."""


def montant(texte: str | None, element: str, requis: bool = True) -> Decimal | None:
    """A Decimal from an amount element's text (« 1200.00 »): never a float."""
    if texte is None or not texte.strip():
        if requis:
            raise Invalide(f"montant absent ({element})")
        return None
    texte = texte.strip()
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", texte):
        raise Invalide(f"montant illisible « {texte[:40]} » ({element})")
    try:
        return Decimal(texte)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only numbers
        raise Invalide(f"montant illisible « {texte[:40]} » ({element})") from None


def date_cii(texte: str | None, format: str | None, element: str) -> datetime.date | None:
    """A CII date: format 102 is YYYYMMDD (the only one EN 16931 allows for these dates)."""
    if texte is None or not texte.strip():
        return None
    texte = texte.strip()
    if (format or "102") != "102":
        raise Invalide(f"date « {texte[:40]} » au format {format[:10]} ({element}) : "
                       "seul le format 102 (AAAAMMJJ) est lu")
    try:
        if not re.fullmatch(r"\d{8}", texte):
            raise ValueError
        return datetime.date(int(texte[:4]), int(texte[4:6]), int(texte[6:]))
    except ValueError:
        raise Invalide(f"date illisible « {texte[:40]} » ({element}, attendu AAAAMMJJ)") from None


def date_iso(texte: str | None, element: str) -> datetime.date | None:
    """A UBL date: YYYY-MM-DD."""
    if texte is None or not texte.strip():
        return None
    texte = texte.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", texte):
            raise ValueError
        return datetime.date.fromisoformat(texte)
    except ValueError:
        raise Invalide(f"date illisible « {texte[:40]} » ({element}, attendu AAAA-MM-JJ)") from None


def est_avoir(code: str, element: str) -> bool:
    """True for a credit-note type code, False for an invoice; an unknown code is refused."""
    if code in TYPES_AVOIR:
        return True
    if code in TYPES_FACTURE:
        return False
    raise Invalide(f"type de document « {code[:20]} » inconnu ({element}, BT-3) : "
                   "ni une facture ni un avoir")


def euros(valeur: Decimal) -> str:
    """« 1 200,00 € », as every message of the tool writes money."""
    from ..formats import montant as en_euros

    return en_euros(valeur)


def pourcent(taux: Decimal) -> str:
    """« 5,5 % »."""
    from ..formats import pourcent as en_pourcent

    return en_pourcent(taux)


def controler(facture: FactureElectronique, totaux: dict[str, Decimal | None]) -> None:
    """The rules that matter here; `totaux` holds BT-109 net, BT-110 VAT, BT-113 prepaid,
    BT-114 rounding as read (None when absent). Raises Invalide naming the rule and values."""
    if not facture.numero:
        raise Invalide("numéro de facture absent (BT-1, règle BR-02)")
    if not facture.vendeur.nom:
        raise Invalide("nom du vendeur absent (BT-27, règle BR-06)")
    if not facture.acheteur.nom:
        raise Invalide("nom de l’acheteur absent (BT-44, règle BR-07)")
    if facture.devise != "EUR":
        raise Invalide(f"facture {facture.numero} en « {facture.devise[:10]} » (BT-5) : "
                       "le classeur est tenu en euros, seules les factures en EUR sont importées")
    net, tva = totaux.get("net"), totaux.get("tva") or Decimal(0)
    payee, arrondi = totaux.get("payee") or Decimal(0), totaux.get("arrondi") or Decimal(0)
    ttc = facture.montant_ttc
    if net is not None and abs(net + tva - ttc) > TOLERANCE:
        raise Invalide(f"les totaux ne concordent pas (règle BR-CO-15) : total TTC {euros(ttc)} "
                       f"(BT-112) ≠ total HT {euros(net)} (BT-109) + TVA {euros(tva)} (BT-110)")
    if abs(ttc - payee + arrondi - facture.a_payer) > TOLERANCE:
        raise Invalide(f"les totaux ne concordent pas (règle BR-CO-16) : net à payer "
                       f"{euros(facture.a_payer)} (BT-115) ≠ total TTC {euros(ttc)} (BT-112) "
                       f"− déjà payé {euros(payee)} (BT-113) + arrondi {euros(arrondi)} (BT-114)")
    if facture.tva:
        somme = sum((ligne.montant for ligne in facture.tva), Decimal(0))
        if abs(somme - tva) > TOLERANCE:
            raise Invalide(f"les totaux ne concordent pas (règle BR-CO-14) : TVA totale "
                           f"{euros(tva)} (BT-110) ≠ somme du détail par taux {euros(somme)} "
                           "(BT-117)")
        for ligne in facture.tva:
            attendu = (ligne.base * ligne.taux / 100).quantize(CENT, ROUND_HALF_UP)
            if abs(attendu - ligne.montant) > TOLERANCE:
                raise Invalide(f"TVA à {pourcent(ligne.taux)} : {euros(ligne.montant)} (BT-117) ≠ base "
                               f"{euros(ligne.base)} (BT-116) × {pourcent(ligne.taux)} = "
                               f"{euros(attendu)}")
    if ttc < 0:
        genre = "un avoir" if facture.avoir else "une facture"
        raise Invalide(f"total TTC négatif {euros(ttc)} (BT-112) sur {genre} : ambigu, "
                       "non importé ; un avoir s’émet en montants positifs (type 381)")
