"""OFX and QFX statements (OFX 1.x SGML and 2.x XML), parsed by ofxtools.

ofxtools' tag parser builds the element tree (SGML without closing tags, 1.x and 2.x alike).
The header is read here rather than by ofxtools: banks write it loosely, and its regular
expressions take time in the square of a long header; CDATA sections are taken out here too,
in one pass (ofxtools' pattern for them rescans the rest of the line for each one left open).
The transactions are then read from the element tree rather than through ofxtools' typed
models: French banks write names longer than the standard's 32 characters and amounts with a
decimal comma, which the models refuse or warn about, and a posting date is kept as the bank's
own day instead of being moved to UTC.

A correction (`<CORRECTACTION>DELETE` with `<CORRECTFITID>`) of a credit, and a debit whose
label says it takes back a payment received (« RETOUR VIR », « REJET PRLV », « IMPAYE »…; OFX
has no transaction type for it), are read as reversals.
"""

from __future__ import annotations

import datetime
import re
import warnings

from ..cells import quote
from ..records import Anomalie
from .format_csv import CsvError, amount_mark, parse_amount
from .operations import (Operation, Releve, after_end, capped, day_of, fingerprints,
                         hashed_key, rank_identical, says_reversal, statement_end, text_of)


class OfxError(ValueError):
    """The file cannot be read as OFX; the message is French."""


_CODECS = {"1252": "cp1252", "WINDOWS-1252": "cp1252", "ISO-8859-1": "latin_1",
           "8859-1": "latin_1", "ISO-8859-15": "iso8859_15"}


def body_of(data: bytes) -> str:
    """The OFX body from its `<OFX>` tag, decoded as its header says, CDATA sections made
    plain text. An OFX file without a body is refused."""
    found = re.search(rb"<OFX>", data, re.IGNORECASE)
    if found is None:
        raise OfxError("aucune balise <OFX> après l’en-tête : le fichier ne contient pas de "
                       "relevé ; exportez-le à nouveau depuis la banque")
    header = data[:found.start()]
    charset = re.search(rb"CHARSET:\s*([\w-]+)", header)
    declared = re.search(rb"encoding=[\"']([\w-]+)", header)
    name = (charset or declared).group(1).decode("ascii").upper() if (charset or declared) \
        else ""
    raw = data[found.start():]
    if name in _CODECS:
        text = raw.decode(_CODECS[name], errors="replace")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    return _without_cdata(text)


def _without_cdata(text: str) -> str:
    """CDATA sections as plain text, in one pass; an unterminated `<![CDATA[` is dropped."""
    opening = "<![CDATA["
    if opening not in text:
        return text
    parts, position, closable = [], 0, True
    while True:
        start = text.find(opening, position)
        if start < 0:
            parts.append(text[position:])
            return "".join(parts)
        parts.append(text[position:start])
        end = text.find("]]>", start + len(opening)) if closable else -1
        if end < 0:
            closable = False  # no section after this one can be closed either
            position = start + len(opening)
            continue
        parts.append(text[start + len(opening):end].replace("<", " ").replace(">", " "))
        position = end + 3


def read_ofx(data: bytes, fichier: str, today: datetime.date | None = None) -> Releve:
    from ofxtools.Parser import TreeBuilder

    body = body_of(data)
    builder = TreeBuilder()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            builder.feed(body)
            root = builder.close()
    except Exception as exc:  # ofxtools raises its own errors and ValueError, KeyError…
        raise OfxError(f"fichier OFX illisible ({exc.__class__.__name__} : "
                       f"{str(exc)[:120]})") from None
    del body
    statements = [*root.iter("STMTRS"), *root.iter("CCSTMTRS")]
    if not statements:
        raise OfxError("aucun relevé de compte (STMTRS) dans ce fichier OFX ; exportez-le à "
                       "nouveau depuis la banque")
    anomalies: list[Anomalie] = []
    found: list[tuple] = []
    debits, ignorees, fins, days = 0, [], [], []
    rank = 0
    for statement in statements:
        compte = text_of(statement, ".//BANKACCTFROM/ACCTID") or text_of(statement,
                                                                     ".//CCACCTFROM/ACCTID")
        devise = text_of(statement, "CURDEF") or "EUR"
        fin = day_of(text_of(statement, ".//BANKTRANLIST/DTEND"))
        if fin is not None:
            fins.append(fin)
        for transaction in statement.iter("STMTTRN"):
            rank += 1
            where = f"opération {rank}"
            written = text_of(transaction, "TRNAMT")
            try:
                jour = day_of(text_of(transaction, "DTPOSTED"))
                if jour is None:
                    raise OfxError(f"date illisible {quote(text_of(transaction, 'DTPOSTED'))}")
                montant = parse_amount(written, amount_mark(written) or ".")
            except (OfxError, CsvError) as exc:
                anomalies.append(Anomalie(fichier, rank, f"{where} : {exc}"))
                continue
            late = after_end(jour, fin, today)
            if late:
                anomalies.append(Anomalie(fichier, rank, f"{where} : {late}"))
                continue
            days.append(jour)
            if montant is None:
                anomalies.append(Anomalie(fichier, rank, f"{where} : montant vide"))
                continue
            currency = text_of(transaction, "CURRENCY/CURSYM") or devise
            if currency.upper() != "EUR":
                ignorees.append(f"{where} : devise {currency}, non rapprochée")
                continue
            libelle = " ".join(p for p in (text_of(transaction, "NAME"),
                                           text_of(transaction, "MEMO")) if p)
            fitid = text_of(transaction, "FITID")[:100]
            action = text_of(transaction, "CORRECTACTION").upper()
            corrected = text_of(transaction, "CORRECTFITID")[:100]
            annule = ""
            if action == "REPLACE":
                anomalies.append(Anomalie(fichier, rank, f"{where} : correction par la banque "
                                          f"de l’opération {quote(corrected)} "
                                          "(CORRECTACTION REPLACE) ; non importée, vérifiez "
                                          "cette opération à la main"))
                continue
            if action == "DELETE":
                if montant <= 0:
                    ignorees.append(f"{where} : annulation par la banque du débit "
                                    f"{quote(corrected)}")
                    continue
                annulation, annule = True, corrected
            elif montant <= 0:
                annulation = says_reversal(f"{text_of(transaction, 'TRNTYPE')} {libelle}")
                if not annulation:
                    debits += 1
                    continue
            else:
                annulation = False
            found.append((rank, jour, abs(montant), annulation,
                          capped(libelle, where, "libellé", fichier, rank, anomalies),
                          capped(text_of(transaction, "PAYEE/NAME"), where, "contrepartie",
                                 fichier, rank, anomalies),
                          fitid, compte[:100],
                          capped(text_of(transaction, "REFNUM"), where, "référence", fichier,
                                 rank, anomalies), annule))
    keys: dict[int, str] = {}
    for annulation in (False, True):
        group = [f for f in found if f[3] is annulation]
        ids = [f[6] for f in group]
        use_ids = all(ids) and len(set(zip(ids, (f[7] for f in group)))) == len(ids)
        ranks = rank_identical([(f[1], f[2], f[4]) for f in group])
        for f, same in zip(group, ranks):
            keys[f[0]] = ((f"{f[7]}:{f[6]}" if f[7] else f[6]) if use_ids
                          else hashed_key(f[7], f[1], f[2], f[4], same))
    empreintes = fingerprints([(f[1], -f[2] if f[3] else f[2], f[4]) for f in found])
    operations = tuple(
        Operation(cle=keys[number], jour=jour, montant=montant, libelle=libelle,
                  contrepartie=contrepartie, reference=refnum, compte=compte, fichier=fichier,
                  ligne=number, id_banque=fitid, empreinte=empreinte, annulation=annulation,
                  annule=annule)
        for (number, jour, montant, annulation, libelle, contrepartie, fitid, compte, refnum,
             annule), empreinte in zip(found, empreintes))
    fin = statement_end(fins, days, today, ignorees)
    return Releve(fichier, "OFX", operations, fin, debits, tuple(ignorees), tuple(anomalies))
