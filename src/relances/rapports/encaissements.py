"""Report stage: the payments received in a period, per invoice, with the VAT they carry.

What a service company declares as « encaissé » (e-reporting of payments, VAT on receipts):
each payment of sheet Paiements — typed, or imported from a statement, not cancelled — and
each statement line counted but not yet written there, put on its invoices the way the run
puts it (`xlsx.paiements.apply_payments` for a payment naming its invoices or reference; the
client account's allocation for one naming only its client). The VAT split per rate is the
invoice's own, pro rata, when the e-invoice was imported (journal table `factures_importees`);
otherwise it is said to be unknown, never guessed. Reads only: nothing is written.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from .. import formats
from ..config import Config
from ..errors import JournalError
from ..records import ZERO, Classeur, Facture, Reglement, client_key

CENT = Decimal("0.01")
TVA_INCONNUE = "TVA inconnue (facture non importée)"
NON_AFFECTE = "paiement non affecté à une facture : TVA inconnue"
AVANCE = "avance du client, non affectée à une facture : TVA inconnue"


@dataclass(frozen=True)
class Ventilation:
    """The part of an amount received that falls on one VAT rate: base and VAT."""

    taux: Decimal  # in percent: 20, 5.5
    base: Decimal
    tva: Decimal


@dataclass(frozen=True)
class Encaissement:
    """Money received on one day for one invoice (or for none that could be told)."""

    jour: datetime.date
    client: str
    numero: str  # '' : not put on an invoice
    montant: Decimal
    ventilation: tuple[Ventilation, ...] = ()
    remarque: str = ""
    source: str = ""  # where it comes from: « Paiements, ligne 5 », « relevé importé »


@dataclass
class Encaissements:
    debut: datetime.date
    fin: datetime.date
    lignes: list[Encaissement] = field(default_factory=list)
    # What may make the list incomplete: unreadable payments, statement lines to review.
    avertissements: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((e.montant for e in self.lignes), ZERO)


# ------------------------------------------------------------------ reading


def read_encaissements(config: Config, debut: datetime.date,
                       fin: datetime.date) -> Encaissements:
    """The period's payments, from the workbook and the journal (both only read)."""
    from ..compte import allocate, with_echanges, with_statuts
    from ..encaissements import prepare
    from ..journal import Journal
    from ..session import bind, references_of
    from ..xlsx import read_classeur

    references = references_of(config)
    lecture = read_classeur(config.classeur, config.colonnes, config.lignes_max, references)
    journal = Journal.open(config.journal, readonly=True)
    try:
        bind(journal, lecture, config, readonly=True)
        lecture, preparation = prepare(lecture, journal, readonly=True)
    finally:
        journal.close()
    tva, illisibles = read_tva(config.journal)
    classeur = lecture.classeur
    paye = lecture.paye_saisi if lecture.paye_saisi is not None else {
        f.row: f.paye for f in lecture.classeur.factures if f.row is not None}
    lignes = collect(classeur, allocate(with_statuts(with_echanges(classeur))), paye,
                     references, tva, illisibles, debut, fin)
    rapport = Encaissements(debut, fin, lignes)
    paiements = {"Paiements", "Paiements (relevé importé)"} | {
        lue for user, lue in lecture.feuilles if user == "Paiements" and lue}
    rapport.avertissements = [
        f"{anomalie.where(config.classeur.name) or config.classeur.name} : {anomalie.message}"
        for anomalie in classeur.anomalies if anomalie.sheet in paiements]
    for pointage in preparation.a_verifier:
        if debut <= pointage.jour <= fin and pointage.montant > 0:
            rapport.avertissements.append(
                f"ligne de relevé du {pointage.jour:%d/%m/%Y} "
                f"({formats.montant(pointage.montant)}, {pointage.libelle}) à vérifier dans "
                "la feuille À vérifier : non comptée tant qu’elle n’est pas décidée")
    return rapport


def read_tva(journal: Path) -> tuple[dict[str, list[tuple[str, list]]], dict[str, str]]:
    """The VAT breakdown of each imported e-invoice, by number: (client, lines) pairs; and the
    numbers whose breakdown cannot be read, with why. Nothing when no invoice was imported."""
    import sqlite3

    if not journal.exists():
        return {}, {}
    try:
        db = sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True)
        try:
            known = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                               "AND name = 'factures_importees'").fetchone()
            rows = db.execute("SELECT numero, client, tva FROM factures_importees"
                              ).fetchall() if known else []
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise JournalError(f"{journal.name} : factures importées illisibles ({exc})") from None
    found: dict[str, list[tuple[str, list]]] = defaultdict(list)
    illisibles: dict[str, str] = {}
    for numero, client, text in rows:
        try:
            lignes = [(Decimal(str(item["taux"])), Decimal(str(item["base"])),
                       Decimal(str(item["montant"]))) for item in json.loads(text or "[]")]
        except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
            illisibles[str(numero)] = f"ventilation de TVA illisible dans le journal ({exc})"
            continue
        found[str(numero)].append((client or "", lignes))
    return dict(found), illisibles


# ------------------------------------------------------------------ the payments, placed


def collect(classeur: Classeur, alloue: Classeur, paye: dict[int, Decimal], references,
            tva: dict, illisibles: dict, debut: datetime.date, fin: datetime.date
            ) -> list[Encaissement]:
    """Pure: the payments of [debut, fin] put on their invoices. `classeur` is the workbook as
    read (payments counted), `alloue` the same once the client account allocated the payments
    naming only their client, `paye` the Payé column by row as typed (`Lecture.paye_saisi`)."""
    owners = set(classeur.clients) | {client_key(f.client) for f in classeur.factures}
    numeros = {f.numero for f in classeur.factures}
    parts = _named_parts(classeur, paye, references, owners, numeros, debut, fin)
    lignes: list[Encaissement] = []
    unnamed: dict[tuple[str, datetime.date], list[Reglement]] = defaultdict(list)
    for index, reglement in enumerate(classeur.reglements):
        if reglement.statut or not debut <= reglement.jour <= fin or not reglement.montant:
            continue
        source = _source(reglement)
        if _unnamed(reglement, owners):
            unnamed[(client_key(reglement.client), reglement.jour)].append(reglement)
            continue
        placed = [(f, part) for f, part in parts.get(index, []) if part]
        if not placed:
            lignes.append(Encaissement(reglement.jour, reglement.client, "", reglement.montant,
                                       (), NON_AFFECTE, source))
            continue
        for facture, part in placed:
            lignes.append(_with_tva(Encaissement(reglement.jour, facture.client, facture.numero,
                                                 part, source=source), tva, illisibles))
    # The client account's allocation: what each client's unnamed payments of a day paid.
    factures_of: dict[str, list[Facture]] = defaultdict(list)
    for facture in alloue.factures:
        factures_of[client_key(facture.client)].append(facture)
    for (key, jour), reglements in unnamed.items():
        source = _source(*reglements) + " (affecté par le compte client)"
        recu = sum((r.montant for r in reglements), ZERO)
        par_facture: dict[str, Decimal] = defaultdict(lambda: ZERO)
        client = reglements[0].client
        for facture in factures_of.get(key, []):
            for imputation in facture.imputations:
                if imputation.nature == "paiement" and imputation.origine == jour.isoformat():
                    par_facture[facture.numero] += imputation.montant
                    client = facture.client
        for numero, part in sorted(par_facture.items()):
            lignes.append(_with_tva(Encaissement(jour, client, numero, part, source=source),
                                    tva, illisibles))
        reste = recu - sum(par_facture.values(), ZERO)
        if reste:
            lignes.append(Encaissement(jour, client, "", reste, (), AVANCE, source))
    lignes.sort(key=lambda e: (e.jour, client_key(e.client), e.numero))
    return lignes


def _unnamed(reglement: Reglement, owners: set[str]) -> bool:
    """A payment naming only a known client: the client account allocates it (as
    `apply_payments` leaves it to `compte.allocate`)."""
    return (bool(reglement.client) and not reglement.factures and not reglement.reference
            and reglement.montant > 0 and client_key(reglement.client) in owners)


def _source(*reglements: Reglement) -> str:
    rows = [str(r.row) for r in reglements if r.row is not None]
    imported = any(r.row is None for r in reglements)
    text = ""
    if rows:
        text = f"Paiements, ligne{'s' if len(rows) > 1 else ''} {', '.join(rows)}"
    if imported:
        text = (f"{text} et relevé importé" if text
                else "relevé importé (pas encore dans Paiements)")
    return text


def _named_parts(classeur: Classeur, paye: dict[int, Decimal], references, owners: set[str],
                 numeros: set[str], debut: datetime.date, fin: datetime.date
                 ) -> dict[int, list[tuple[Facture, Decimal]]]:
    """For each payment of the period naming its invoices (or their reference): what it put on
    each, replayed with `apply_payments` itself, in the order the reading applied them, from
    the invoices as they were before any payment (`paye`: their Payé column, by row)."""
    from ..xlsx.paiements import apply_payments

    def counted(reglement: Reglement) -> bool:
        if reglement.statut or _unnamed(reglement, owners):
            return False
        # A row citing a number no invoice has is not counted (the reading said so).
        return reglement.row is None or all(n in numeros for n in reglement.factures)

    order = [(i, r) for i, r in enumerate(classeur.reglements) if counted(r)]
    # The sheet's rows first, then the statement lines not yet written there (as read).
    order.sort(key=lambda pair: pair[1].row is None)
    factures = [replace(f, paye=paye.get(f.row, f.paye)) for f in classeur.factures]
    parts: dict[int, list[tuple[Facture, Decimal]]] = {}
    batch: list[Reglement] = []

    def apply(reglements: list[Reglement]) -> list[Facture]:
        # A statement line not yet in Paiements is placed without the journal's references,
        # as `encaissements.prepare` places it.
        return apply_payments("Paiements", factures, reglements, dict(classeur.clients), [],
                              references if reglements[0].row is not None else None)

    for index, reglement in order:
        if batch and (batch[0].row is None) != (reglement.row is None):
            factures, batch = apply(batch), []
        if debut <= reglement.jour <= fin:
            if batch:
                factures, batch = apply(batch), []
            after = apply([reglement])
            parts[index] = [(f, a.paye - f.paye) for f, a in zip(factures, after)
                            if a.paye != f.paye]
            factures = after
        else:
            batch.append(reglement)
    return parts


# ------------------------------------------------------------------ VAT


def _with_tva(ligne: Encaissement, tva: dict, illisibles: dict) -> Encaissement:
    found = tva.get(ligne.numero, [])
    mine = [lignes for client, lignes in found if client_key(client) == client_key(ligne.client)]
    if not mine and len(found) == 1:
        mine = [found[0][1]]  # the buyer's name on the invoice may differ from the workbook's
    if len(mine) != 1:
        why = illisibles.get(ligne.numero) if not found else None
        remarque = (f"TVA inconnue ({why})" if why else TVA_INCONNUE if not found else
                    "TVA inconnue (plusieurs factures importées portent ce numéro)")
        return replace(ligne, remarque=remarque)
    ventilation = ventiler(ligne.montant, mine[0])
    if not ventilation:
        return replace(ligne, remarque="TVA inconnue (la facture importée ne la détaille pas)")
    return replace(ligne, ventilation=ventilation)


def ventiler(montant: Decimal, lignes: list[tuple[Decimal, Decimal, Decimal]]
             ) -> tuple[Ventilation, ...]:
    """`montant` received, split over the invoice's VAT breakdown (rate, base, VAT) pro rata,
    each base and VAT rounded to the cent so that together they make `montant` exactly
    (largest remainders get the cents rounding lost)."""
    par_taux: dict[Decimal, list[Decimal]] = {}
    for taux, base, tva in lignes:
        cumul = par_taux.setdefault(taux.normalize(), [ZERO, ZERO])
        cumul[0] += base
        cumul[1] += tva
    total = sum((b + t for b, t in par_taux.values()), ZERO)
    if not par_taux or not total:
        return ()
    exact = [montant * v / total for pair in par_taux.values() for v in pair]
    rounded = [e.quantize(CENT, ROUND_HALF_UP) for e in exact]
    ecart = montant.quantize(CENT, ROUND_HALF_UP) - sum(rounded, ZERO)
    step = CENT if ecart > 0 else -CENT
    # The components rounding moved furthest the wrong way take the missing cents.
    for i in sorted(range(len(exact)), key=lambda i: -(exact[i] - rounded[i]) * step)[
            :int(abs(ecart) / CENT)]:
        rounded[i] += step
    return tuple(Ventilation(taux, rounded[2 * n], rounded[2 * n + 1])
                 for n, taux in enumerate(par_taux))


# ------------------------------------------------------------------ rendering


def render_csv(rapport: Encaissements) -> bytes:
    """The CSV: `;`, UTF-8 with BOM (Excel opens it as it is), French decimals, one row per
    day and invoice, two columns (base, VAT) per rate met in the period."""
    import csv
    import io

    from babel.numbers import format_decimal

    def nombre(value: Decimal) -> str:
        return format_decimal(value, format="0.00", locale="fr_FR")

    taux = sorted({v.taux for e in rapport.lignes for v in e.ventilation}, reverse=True)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    header = ["Date encaissement", "Client", "N° facture", "Montant encaissé"]
    for t in taux:
        label = format_decimal(t, locale="fr_FR") + "\u202f%"
        header += [f"Base HT {label}", f"TVA {label}"]
    writer.writerow([*header, "Remarque", "Source"])
    for e in rapport.lignes:
        by_rate = {v.taux: v for v in e.ventilation}
        row = [e.jour.strftime("%d/%m/%Y"), e.client, e.numero, nombre(e.montant)]
        for t in taux:
            v = by_rate.get(t)
            row += [nombre(v.base), nombre(v.tva)] if v else ["", ""]
        writer.writerow([*row, e.remarque, e.source])
    return ("\ufeff" + out.getvalue()).encode("utf-8")

