"""OFX and QFX statements (OFX 1.x SGML and 2.x XML), parsed by ofxtools.

ofxtools does the parsing (SGML without closing tags, headers, character sets). The
transactions are then read from its element tree rather than through its typed models: French
banks write names longer than the standard's 32 characters and amounts with a decimal comma,
which the models refuse or warn about, and a posting date is kept as the bank's own day
instead of being moved to UTC.
"""

from __future__ import annotations

import datetime
import io
import re
import warnings
from decimal import Decimal

from ..cells import quote
from ..records import Anomalie
from .format_csv import CsvError, parse_amount
from .operations import (Operation, Releve, day_of, hashed_key, rank_identical,
                         text_of)


class OfxError(ValueError):
    """The file cannot be read as OFX; the message is French."""


def read_ofx(data: bytes, fichier: str) -> Releve:
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree.parse(io.BytesIO(data))
    except Exception as exc:  # ofxtools raises its own errors and ValueError, KeyError…
        raise OfxError(f"fichier OFX illisible ({exc.__class__.__name__} : "
                       f"{str(exc)[:120]})") from None
    root = tree.getroot()
    anomalies: list[Anomalie] = []
    found: list[tuple[int, datetime.date, Decimal, str, str, str, str, str]] = []
    debits, ignorees, fins = 0, [], []
    rank = 0
    for statement in [*root.iter("STMTRS"), *root.iter("CCSTMTRS")]:
        compte = text_of(statement, ".//BANKACCTFROM/ACCTID") or text_of(statement,
                                                                     ".//CCACCTFROM/ACCTID")
        devise = text_of(statement, "CURDEF") or "EUR"
        fin = day_of(text_of(statement, ".//BANKTRANLIST/DTEND"))
        if fin is not None:
            fins.append(fin)
        for transaction in statement.iter("STMTTRN"):
            rank += 1
            where = f"opération {rank}"
            try:
                jour = day_of(text_of(transaction, "DTPOSTED"))
                if jour is None:
                    raise OfxError(f"date illisible {quote(text_of(transaction, 'DTPOSTED'))}")
                montant = parse_amount(text_of(transaction, "TRNAMT"),
                                       "," if re.search(r",\d{1,2}$", text_of(transaction,
                                                                            "TRNAMT")) else ".")
            except (OfxError, CsvError) as exc:
                anomalies.append(Anomalie(fichier, rank, f"{where} : {exc}"))
                continue
            currency = text_of(transaction, "CURRENCY/CURSYM") or devise
            if montant is None or montant <= 0:
                debits += montant is not None
                continue
            if currency.upper() != "EUR":
                ignorees.append(f"{where} : devise {currency}, non rapprochée")
                continue
            libelle = " ".join(p for p in (text_of(transaction, "NAME"),
                                           text_of(transaction, "MEMO")) if p)
            contrepartie = text_of(transaction, "PAYEE/NAME")
            found.append((rank, jour, montant, libelle, contrepartie,
                          text_of(transaction, "FITID"), compte, text_of(transaction, "REFNUM")))
    ids = [f[5] for f in found]
    use_ids = all(ids) and len(set(zip(ids, (f[6] for f in found)))) == len(ids)
    ranks = rank_identical([(f[1], f[2], f[3]) for f in found])
    operations = tuple(
        Operation(cle=(f"{compte}:{fitid}" if compte else fitid) if use_ids
                  else hashed_key(compte, jour, montant, libelle, same),
                  jour=jour, montant=montant, libelle=libelle, contrepartie=contrepartie,
                  reference=refnum, compte=compte, fichier=fichier, ligne=number)
        for (number, jour, montant, libelle, contrepartie, fitid, compte, refnum), same
        in zip(found, ranks))
    days = [o.jour for o in operations]
    fin = max(fins) if fins else (max(days) if days else None)
    return Releve(fichier, "OFX", operations, fin, debits, tuple(ignorees), tuple(anomalies))
