"""ISO 20022 bank-to-customer statements: camt.053 (statement), also camt.052 (intraday
report) and camt.054 (credit notification), whose entries have the same shape.

Parsed with defusedxml, document type declarations refused: a statement comes from outside,
and an XML bomb or an external entity must not reach the machine. Every namespace version
(camt.053.001.02 to .13) is read alike. Only booked entries count; an entry that gathers
several transfers (a batch) gives one operation per transfer, with its own amount, payer and
remittance information.

A debit marked as a reversal (`RvslInd` true) or carrying return information (`RtrInf`) takes
back a credit: it is read as a reversal, with the end-to-end id or reference of the payment it
cancels when the bank gives it. A credit marked as a reversal gives back a debit: it is not a
client's payment, and is set aside.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from ..cells import quote
from ..records import CENT, Anomalie
from .operations import (Operation, Releve, after_end, capped, day_of, fingerprints,
                         hashed_key, rank_identical, statement_end, text_of)


class CamtError(ValueError):
    """The file cannot be read as camt; the message is French."""


def read_camt(data: bytes, fichier: str, today: datetime.date | None = None) -> Releve:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring
    from xml.etree.ElementTree import ParseError

    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise CamtError("fichier XML refusé : il déclare un type de document ou des entités, "
                        "ce qu’un relevé bancaire ne fait jamais") from None
    except ParseError as exc:
        raise CamtError(f"XML mal formé ({exc})") from None
    kind = "camt.053"
    statements = root.findall(".//{*}Stmt")
    if not statements:
        statements = root.findall(".//{*}Rpt")
        kind = "camt.052"
    if not statements:
        statements = root.findall(".//{*}Ntfctn")
        kind = "camt.054"
    if not statements:
        raise CamtError("aucun relevé (Stmt, Rpt ou Ntfctn) dans ce fichier ISO 20022")
    anomalies: list[Anomalie] = []
    found: list[dict] = []
    debits, ignorees, fins, days = 0, [], [], []
    rank = 0
    for statement in statements:
        compte = text_of(statement, "{*}Acct/{*}Id/{*}IBAN") or text_of(
            statement, "{*}Acct/{*}Id/{*}Othr/{*}Id")
        fin = day_of(text_of(statement, "{*}FrToDt/{*}ToDtTm")) or day_of(
            text_of(statement, "{*}CreDtTm"))
        if fin is not None:
            fins.append(fin)
        for entry in statement.findall("{*}Ntry"):
            rank += 1
            where = f"écriture {rank}"
            status = text_of(entry, "{*}Sts/{*}Cd") or text_of(entry, "{*}Sts")
            if status and status.upper() not in ("BOOK", "BOOKED"):
                ignorees.append(f"{where} : statut {status} (non comptabilisée)")
                continue
            sens = text_of(entry, "{*}CdtDbtInd").upper()
            if sens not in ("CRDT", "DBIT"):
                anomalies.append(Anomalie(fichier, rank, f"{where} : sens illisible "
                                          f"{quote(sens)} (CRDT ou DBIT attendu)"))
                continue
            jour = day_of(text_of(entry, "{*}BookgDt/{*}Dt") or text_of(entry, "{*}BookgDt/{*}DtTm")
                        or text_of(entry, "{*}ValDt/{*}Dt"))
            if jour is None:
                anomalies.append(Anomalie(fichier, rank, f"{where} : date de comptabilisation "
                                          "illisible"))
                continue
            late = after_end(jour, fin, today)
            if late:
                anomalies.append(Anomalie(fichier, rank, f"{where} : {late}"))
                continue
            days.append(jour)
            reversal = text_of(entry, "{*}RvslInd").lower() in ("true", "1")
            if sens == "CRDT" and reversal:
                ignorees.append(f"{where} : contre-passation d’un débit, pas un paiement reçu")
                continue
            annulation = sens == "DBIT"
            if annulation and not reversal and entry.find(".//{*}TxDtls/{*}RtrInf") is None:
                debits += 1
                continue
            try:
                total, devise = _amount(entry.find("{*}Amt"))
            except CamtError as exc:
                anomalies.append(Anomalie(fichier, rank, f"{where} : {exc}"))
                continue
            if devise != "EUR":
                ignorees.append(f"{where} : devise {devise}, non rapprochée")
                continue
            entry_ref = text_of(entry, "{*}AcctSvcrRef") or text_of(entry, "{*}NtryRef")
            entry_info = text_of(entry, "{*}AddtlNtryInf")
            details = entry.findall("{*}NtryDtls/{*}TxDtls")
            if len(details) <= 1:
                detail = details[0] if details else None
                found.append(_operation(entry, detail, total, jour, compte, entry_ref,
                                        entry_info, rank, 0, annulation))
                continue
            for index, detail in enumerate(details, start=1):
                try:
                    amount = detail.find("{*}Amt")
                    if amount is None:
                        amount = detail.find("{*}AmtDtls/{*}TxAmt/{*}Amt")
                    montant, devise = _amount(amount)
                except CamtError:
                    # A batch without amounts per transfer can only be taken whole.
                    found.append(_operation(entry, None, total, jour, compte, entry_ref,
                                            entry_info + " " + " ".join(
                                                _remittance(d) for d in details), rank, 0,
                                            annulation))
                    break
                found.append(_operation(entry, detail, montant, jour, compte, entry_ref,
                                        entry_info, rank, index, annulation))
    keys: list[str] = [""] * len(found)
    for annulation in (False, True):
        group = [(i, f) for i, f in enumerate(found) if f["annulation"] is annulation]
        ids = [f["id"] for _, f in group]
        use_ids = all(ids) and len(set(ids)) == len(ids)
        ranks = rank_identical([(f["jour"], f["montant"], f["libelle"]) for _, f in group])
        for (i, f), same in zip(group, ranks):
            keys[i] = f["id"] if use_ids else hashed_key(f["compte"], f["jour"], f["montant"],
                                                         f["libelle"], same)
    empreintes = fingerprints([(f["jour"], -f["montant"] if f["annulation"] else f["montant"],
                                f["libelle"]) for f in found])
    operations = []
    for f, cle, empreinte in zip(found, keys, empreintes):
        where = f"écriture {f['rang']}"
        operations.append(Operation(
            cle=cle, jour=f["jour"], montant=f["montant"],
            libelle=capped(f["libelle"], where, "libellé", fichier, f["rang"], anomalies),
            contrepartie=capped(f["contrepartie"], where, "contrepartie", fichier, f["rang"],
                                anomalies),
            reference=capped(f["reference"], where, "référence", fichier, f["rang"],
                             anomalies),
            compte=f["compte"], fichier=fichier, ligne=f["rang"], id_banque=f["id_banque"],
            empreinte=empreinte, annulation=f["annulation"], annule=f["annule"]))
    fin = statement_end(fins, days, today, ignorees)
    return Releve(fichier, kind, tuple(operations), fin, debits, tuple(ignorees),
                  tuple(anomalies))


def _operation(entry, detail, montant: Decimal, jour: datetime.date, compte: str,
               entry_ref: str, entry_info: str, rank: int, index: int,
               annulation: bool = False) -> dict:
    source = detail if detail is not None else entry
    bank_ref = ""
    if detail is not None:
        bank_ref = (text_of(detail, "{*}Refs/{*}AcctSvcrRef") or text_of(detail, "{*}Refs/{*}TxId")
                    # a return carries the end-to-end id of the payment it takes back:
                    # not its own
                    or ("" if annulation else _meaningful(text_of(detail,
                                                                  "{*}Refs/{*}EndToEndId"))))
    if not bank_ref and entry_ref:
        bank_ref = f"{entry_ref}/{index}" if index else entry_ref
    payer = ""
    if detail is not None:
        payer = (text_of(detail, "{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm")
                 or text_of(detail, "{*}RltdPties/{*}Dbtr/{*}Nm")
                 or text_of(detail, "{*}RltdPties/{*}UltmtDbtr/{*}Nm"))
    libelle = " ".join(p for p in (_remittance(source) if detail is not None else "",
                                   text_of(source, "{*}AddtlTxInf"), entry_info) if p)
    reference = ""
    if detail is not None:
        reference = text_of(detail, "{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref")
    annule = ""
    if annulation and detail is not None:
        # The payment taken back, as the bank names it: the end-to-end id the payer gave it
        # (carried over into its return), else its structured reference.
        annule = (_meaningful(text_of(detail, "{*}Refs/{*}EndToEndId"))
                  or _meaningful(text_of(detail, "{*}RtrInf/{*}OrgnlBkTx/{*}Refs/{*}EndToEndId"))
                  or reference)
    return {"id": f"{compte}:{bank_ref}" if bank_ref and compte else bank_ref,
            "id_banque": bank_ref, "annulation": annulation, "annule": annule[:100],
            "jour": jour, "montant": montant, "libelle": " ".join(libelle.split()),
            "contrepartie": payer, "reference": reference, "compte": compte, "rang": rank}


def _remittance(detail) -> str:
    return " ".join(" ".join((e.text or "").split())
                    for e in detail.findall("{*}RmtInf/{*}Ustrd") if e.text)


def _meaningful(reference: str) -> str:
    return "" if reference.upper() in ("", "NOTPROVIDED", "NOT PROVIDED") else reference


def _amount(element) -> tuple[Decimal, str]:
    if element is None or not (element.text or "").strip():
        raise CamtError("montant absent")
    text = element.text.strip()
    if not re.fullmatch(r"\d{1,15}(\.\d{1,5})?", text):
        raise CamtError(f"montant illisible {quote(text)}")
    try:
        amount = Decimal(text).quantize(CENT)
    except InvalidOperation:
        raise CamtError(f"montant illisible {quote(text)}") from None
    return amount, (element.get("Ccy") or "EUR").upper()
