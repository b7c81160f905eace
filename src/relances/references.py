"""Payment references: each invoice gets its own, unique and stable, that banks recognise. Pure.

- `rf`: the ISO 11649 creditor reference, `RF` + two check digits + a body of at most 21
  letters and digits;
- `ogm`: the Belgian structured communication, ten digits and two check digits (mod 97);
- `numero`: the invoice number as it is.

`reference(numero, mode)` derives a reference from the invoice number alone: the RF from its
letters and digits (`F-2026-027` -> `RF06 F202 6027`), the OGM from its last ten digits
(`F-2026-027` -> `+++000/2026/02785+++`). Those are what the tool printed before references
were kept, and two invoices may share one (`FA-2026-031` and `AC-2026-031` have the same
OGM). So the references printed now are given once per invoice and kept in the journal
(`Attribution`), by `attribuer`:

- an invoice whose reference was already printed (history of an e-mail, letter or dossier)
  keeps the derived one, unless another invoice printed it too: then the later one gets a
  new one, and the old one, which its client may still pay with, fits both (a payment
  carrying it waits in À vérifier);
- any other invoice gets an OGM from its sequence number (`9` + nine digits), and the RF
  from its number when no other invoice of the workbook has that RF, else from its sequence;
- a reference is never given if it is one already known (given, or printed before).

`Repertoire` looks the references given up both ways: an invoice's, and a reference's
invoices. Check digits come from python-stdnum, and every reference built is validated.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

MODES = ("rf", "ogm", "numero")
WRITTEN = ("email", "courrier", "recouvrement")  # channels whose messages print a reference
Cle = tuple[str, str]  # (client key, invoice number)


def reference(numero: str, mode: str) -> str:
    """The reference derived from invoice `numero`, formatted to be read and typed."""
    if mode == "rf":
        return rf_of(rf_body(numero))
    if mode == "ogm":
        return ogm_of(ogm_body(numero))
    return numero


_SEPARATORS = str.maketrans("", "", "-/ ._")


def rf_body(numero: str) -> str:
    body = numero.upper().translate(_SEPARATORS)  # fast for the usual numbers
    if not (body.isascii() and body.isalnum()):
        body = re.sub(r"[^A-Z0-9]", "", body)
    return body[-21:] or "0"


def ogm_body(numero: str) -> str:
    return re.sub(r"\D", "", numero)[-10:].rjust(10, "0")


@functools.cache
def _stdnum():
    """python-stdnum's checks, imported by the first reference computed, not at start."""
    from stdnum import iso11649
    from stdnum.be import ogm_vcs
    from stdnum.iso7064 import mod_97_10

    return iso11649, ogm_vcs, mod_97_10


def rf_of(body: str) -> str:
    iso11649, _, mod_97_10 = _stdnum()
    ref = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    return iso11649.format(iso11649.validate(ref))


def ogm_of(digits: str) -> str:
    ogm_vcs = _stdnum()[1]
    ogm = digits + ogm_vcs.calc_check_digits(digits)
    return f"+++{ogm_vcs.format(ogm_vcs.validate(ogm))}+++"


def compact(ref: str) -> str:
    """The reference as banks carry it: `RF06F2026027`, `000202602785`."""
    return re.sub(r"[^A-Za-z0-9]", "", ref).upper()


@dataclass(frozen=True)
class Attribution:
    """The references given to one invoice, as the journal keeps them."""

    client: str     # client_key of its client
    numero: str
    sequence: int   # unique across the journal
    ogm: str        # formatted as printed
    rf: str
    jour: datetime.date                # the day they were first given
    anciennes: tuple[str, ...] = ()    # references printed before, shared with another invoice

    @property
    def cle(self) -> Cle:
        return (self.client, self.numero)


class Repertoire:
    """The references given, looked up by invoice and by reference (compact)."""

    def __init__(self, attributions: Iterable[Attribution] = ()):
        self.by_cle: dict[Cle, Attribution] = {}
        self.owners: dict[str, list[Cle]] = {}
        for attribution in attributions:
            self.add(attribution)

    def add(self, attribution: Attribution) -> None:
        self.by_cle[attribution.cle] = attribution
        for ref in (attribution.ogm, attribution.rf, *attribution.anciennes):
            owners = self.owners.setdefault(compact(ref), [])
            if attribution.cle not in owners:
                owners.append(attribution.cle)

    def of(self, client: str, numero: str, mode: str) -> str:
        """The reference to print for the invoice (`client` is its client key); derived from
        its number when none was given (templates checked on a made-up invoice)."""
        attribution = self.by_cle.get((client, numero))
        if attribution is None or mode not in ("rf", "ogm"):
            return reference(numero, mode)
        return attribution.ogm if mode == "ogm" else attribution.rf

    def known(self) -> set[str]:
        return set(self.owners)


def printed(history: Iterable) -> dict[Cle, datetime.date]:
    """The invoices a message printed a reference for, with the day of the first one: the
    journal's written steps (e-mail, letter, hand-off), not those taken over from the
    workbook's Étape column (the tool printed nothing then)."""
    from .records import client_key

    first: dict[Cle, datetime.date] = {}
    for fait in history:
        if fait.canal in WRITTEN and fait.statut != "repris":
            cle = (client_key(fait.client), fait.facture)
            if cle not in first or fait.jour < first[cle]:
                first[cle] = fait.jour
    return first


def attribuer(besoins: Iterable[Cle], repertoire: Repertoire,
              imprimees: Mapping[Cle, datetime.date], numeros: Iterable[str],
              noms: Mapping[str, str], today: datetime.date
              ) -> tuple[list[Attribution], list[str]]:
    """The references to give now: to each invoice of `besoins` (about to be printed) that has
    none, and to each invoice printed before references were kept (`imprimees` without an
    attribution). `numeros`: every invoice number of the workbook (an RF from the number is
    kept only when no other invoice has it). `noms`: client key -> name, for the messages.

    Returns the new attributions (to store before anything is printed) and, in French, the
    references found printed for two invoices. The same inputs give the same result: a dry
    run shows what a real run gives."""
    known = repertoire.known()
    sequence = max((a.sequence for a in repertoire.by_cle.values()), default=0)
    nouvelles: list[Attribution] = []
    collisions: list[str] = []
    holders: dict[str, Cle] = {ref: cles[0] for ref, cles in repertoire.owners.items()}
    rf_counts: Counter[str] | None = None
    legacy = sorted((c for c in imprimees if c not in repertoire.by_cle),
                    key=lambda c: (imprimees[c], c))
    derived = {c: (reference(c[1], "ogm"), reference(c[1], "rf")) for c in legacy}
    # A new reference never meets one printed before, whoever keeps it.
    reserved = known | {compact(r) for pair in derived.values() for r in pair}

    def next_sequence() -> tuple[int, str, str]:
        """A sequence number, and the OGM and RF made from it."""
        nonlocal sequence
        while True:
            sequence += 1
            ogm = ogm_of(f"9{sequence % 10**9:09d}")
            if compact(ogm) not in reserved:
                break
        body = f"REF{sequence:07d}"
        while compact(rf_of(body)) in reserved:
            body += "X"
        return sequence, ogm, rf_of(body)

    def describe(cle: Cle) -> str:
        return f"{cle[1]} ({noms.get(cle[0], cle[0])})"

    def give(attribution: Attribution) -> None:
        nouvelles.append(attribution)
        for ref in (attribution.ogm, attribution.rf):
            reserved.add(compact(ref))
            holders.setdefault(compact(ref), attribution.cle)

    # Invoices printed before: the earliest keeps its derived reference; a later one that
    # printed it too gets a new one, and the old one stays theirs both.
    for cle in legacy:
        seq, new_ogm, new_rf = next_sequence()
        given = dict(zip(("ogm", "rf"), derived[cle]))
        anciennes = []
        for mode, ref in zip(("ogm", "rf"), derived[cle]):
            holder = holders.get(compact(ref))
            if holder is None or holder == cle:
                continue
            anciennes.append(ref)
            given[mode] = new_ogm if mode == "ogm" else new_rf
            collisions.append(
                f"référence de paiement {ref} imprimée pour deux factures, {describe(holder)} "
                f"et {describe(cle)} : l’un ou l’autre client peut payer avec elle ; un "
                f"paiement qui la porte ira dans À vérifier. {cle[1]} reçoit désormais "
                f"{given[mode]}")
        give(Attribution(cle[0], cle[1], seq, given["ogm"], given["rf"], today,
                         tuple(anciennes)))

    for cle in sorted(set(besoins)):
        if cle in repertoire.by_cle or cle in derived:
            continue
        seq, ogm, rf = next_sequence()
        if rf_counts is None:  # counted once, and only when an invoice needs a new RF
            rf_counts = Counter(rf_body(n) for n in numeros)
        mine = reference(cle[1], "rf")
        if rf_counts[rf_body(cle[1])] <= 1 and compact(mine) not in reserved:
            rf = mine  # the number reads better, and no other invoice has it
        give(Attribution(cle[0], cle[1], seq, ogm, rf, today))
    return nouvelles, collisions
