"""Matching: which open invoices each credit pays, or why a person must decide. Pure.

In order of confidence, the first rule that finds something decides:

1. a payment reference of ours (RF creditor reference or Belgian structured communication) in
   the label or the structured reference field;
2. an invoice number in the label, written loosely but with fitting letters, never inside a
   date (`numeros`: `FACT 2026-031`, `F2026031`, `fac.2026/031` all name `F-2026-031`,
   `AC-2026-031` and `15/11/2026` do not);
3. a client surely named in the label or as payer (`noms`), and exactly one of its open
   invoices for exactly that amount;
4. a client surely named, and exactly one set of its open invoices adding up to exactly that
   amount.

A reference or number that fits one invoice takes a payment up to what remains due (a partial
payment reduces it). Anything else — a paid invoice named (a double payment?), a reference
shared by two invoices, a label naming another client than the invoice's, two clients possibly
named, more money than the invoices named are owed, two ways to add up the amount, no client
found — is not applied: it goes to the user with its candidate invoices, among them those of
every client the label names, so that none is chased meanwhile. Crediting the wrong invoice
would chase a client who has paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Sequence

from ..records import Facture, client_key
from ..references import Repertoire, compact, ogm_of, reference, rf_of
from .noms import Nommes, Noms
from .numeros import Libelle, number_pattern, prefix_of
from .operations import Operation

_LEAD = re.compile(r"\D*")  # what an invoice number has before its first digit
SUBSET_MAX = 20  # open invoices of one client beyond which sums are not searched
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Candidat:
    """An open invoice a payment might be for."""

    client: str
    numero: str
    reste: Decimal


@dataclass(frozen=True)
class Affectation:
    """A sure match: `operation` pays `factures` of `client` (oldest first)."""

    operation: Operation
    client: str
    factures: tuple[str, ...]
    motif: str             # how it was recognised, for the summary
    partiel: bool = False  # less than what the invoices owe
    reference: str = ""    # the payment reference it carried, as printed on our messages


@dataclass(frozen=True)
class AVerifier:
    """No sure match: the user decides, helped by `candidats`."""

    operation: Operation
    motif: str
    candidats: tuple[Candidat, ...] = ()


def match_operations(operations: Sequence[Operation], factures: Iterable[Facture],
                     references: Repertoire | None = None) -> list[Affectation | AVerifier]:
    """Each credit's outcome, in the order given. `factures` are the invoices as they stand
    (payments already recorded included); each sure match lowers what remains for the next.
    `references`: the payment references given (the journal's); an invoice without one is
    found by the references derived from its number."""
    registre = _Registre(list(factures), references)
    outcomes: list[Affectation | AVerifier] = []
    for operation in operations:
        outcome = _match(operation, registre)
        if isinstance(outcome, Affectation):
            left = operation.montant
            for numero in outcome.factures:
                facture = registre.numero[(client_key(outcome.client), numero)]
                part = min(left, registre.reste_of(facture))
                registre.pay(facture, part)
                left -= part
        outcomes.append(outcome)
    return outcomes


class _Registre:
    """The invoices as matching goes: what remains of each, found by client, amount,
    reference and number, built once so that a statement against 50,000 invoices is fast."""

    def __init__(self, factures: list[Facture], references: Repertoire | None = None):
        # Invoices already paid stay known: a payment naming one is a double payment, or a
        # mistake, for a person to look at.
        self.payables = [f for f in factures if f.montant > 0]
        self.keys: dict[int, tuple[str, str]] = {}
        self.numero: dict[tuple[str, str], Facture] = {}
        self.reste: dict[tuple[str, str], Decimal] = {}
        self.by_client: dict[str, list[Facture]] = {}
        self.by_amount: dict[Decimal, list[Facture]] = {}
        self.clients: dict[str, str] = {}  # clients with an open invoice: key -> name
        self.avoirs: dict[str, list[Facture]] = {}  # open credit notes, per client
        for facture in factures:
            if facture.montant < 0 and facture.reste_du < 0:
                self.avoirs.setdefault(client_key(facture.client), []).append(facture)
        for facture in self.payables:
            client = client_key(facture.client)
            key = (client, facture.numero)
            self.keys[id(facture)] = key
            self.numero[key] = facture
            reste = facture.reste_du if facture.statut != "payee" else ZERO
            self.reste[key] = reste
            self.by_client.setdefault(client, []).append(facture)
            if reste > 0:
                self.by_amount.setdefault(reste, []).append(facture)
                self.clients.setdefault(client, facture.client)
        self.names = Noms({self.keys[id(f)][0]: f.client for f in self.payables})
        self.index = _Index(self.payables, references)

    def key(self, facture: Facture) -> tuple[str, str]:
        return self.keys[id(facture)]

    def client(self, facture: Facture) -> str:
        return self.keys[id(facture)][0]

    def reste_of(self, facture: Facture) -> Decimal:
        return self.reste[self.keys[id(facture)]]

    def pay(self, facture: Facture, part: Decimal) -> None:
        key = self.keys[id(facture)]
        self.reste[key] -= part
        if self.reste[key] > 0:
            self.by_amount.setdefault(self.reste[key], []).append(facture)

    def open_of(self, client: str) -> list[Facture]:
        return [f for f in self.by_client.get(client, []) if self.reste_of(f) > 0]

    def of_amount(self, montant: Decimal) -> list[Facture]:
        return [f for f in self.by_amount.get(montant, []) if self.reste_of(f) == montant]

    def credit(self, client: str) -> tuple[Decimal, str]:
        """The client's open credit notes: their total, and a note for the summary."""
        notes = self.avoirs.get(client, [])
        total = -sum((f.reste_du for f in notes), ZERO)
        shown = ", ".join(f.numero for f in notes)
        return total, (f" ; avoir {shown} déduit par le client (imputé d’office : rien à saisir)"
                       if notes else "")


class _Index:
    """Each invoice's references and number, looked up by the pieces of a label."""

    def __init__(self, payables: list[Facture], references: Repertoire | None = None):
        # The references given, by invoice; for an invoice without, the part of each derived
        # reference that comes from its number (check digits computed only for the few
        # invoices a label points at).
        self.references = references if references is not None else Repertoire()
        given = self.references.by_cle
        self.by_cle: dict[tuple[str, str], Facture] = {}
        self.rf: dict[str, list[Facture]] = {}
        self.ogm: dict[str, list[Facture]] = {}
        self.numbers: dict[str, list[Facture]] = {}
        for facture in payables:
            digits = re.sub(r"\D", "", facture.numero)
            cle = (client_key(facture.client), facture.numero)
            if cle in given:
                self.by_cle[cle] = facture
            else:
                self.rf.setdefault(re.sub(r"[^A-Z0-9]", "", facture.numero.upper())[-21:]
                                   or "0", []).append(facture)
                self.ogm.setdefault(digits[-10:].rjust(10, "0"), []).append(facture)
            if len(digits) >= 4:
                self.numbers.setdefault(digits, []).append(facture)
        self.longest = max((len(k) for k in self.numbers), default=0)
        self._patterns: dict[str, re.Pattern | None] = {}
        self.prefixes = frozenset(map(prefix_of, {_LEAD.match(f.numero).group(0)
                                                  for f in payables}))

    def _pieces(self, flat: str):
        """Each reference standing in `flat` (the label, capitals and digits only), with the
        invoices it is the reference of."""
        owners = self.references.owners
        for start in range(len(flat)):
            if flat.startswith("RF", start):
                for end in range(start + 5, min(len(flat), start + 25) + 1):
                    piece = flat[start:end]
                    found = [self.by_cle[c] for c in owners.get(piece, ()) if c in self.by_cle]
                    found += [f for f in self.rf.get(piece[4:], ())
                              if compact(reference(f.numero, "rf")) == piece]
                    if found:
                        yield piece, found
            piece = flat[start:start + 12]
            if len(piece) == 12 and piece.isdigit():
                found = [self.by_cle[c] for c in owners.get(piece, ()) if c in self.by_cle]
                found += [f for f in self.ogm.get(piece[:10], ())
                          if compact(reference(f.numero, "ogm")) == piece]
                if found:
                    yield piece, found

    def by_reference(self, flat: str) -> list[Facture]:
        """Invoices whose RF or OGM reference stands in `flat` (the label, capitals and
        digits only): a few dictionary lookups per character, whatever the invoices."""
        return [f for _, found in self._pieces(flat) for f in found]

    def shared(self, flat: str) -> str:
        """A reference in `flat` that is several invoices' (printed for two before references
        were kept), formatted as printed; "" when none."""
        for piece, found in self._pieces(flat):
            if len({id(f) for f in found}) > 1:
                return rf_of(piece[4:]) if piece.startswith("RF") else ogm_of(piece[:10])
        return ""

    def reference_in(self, facture: Facture, flat: str) -> str:
        """Which of the invoice's references the label carries, formatted as we print it."""
        attribution = self.references.by_cle.get((client_key(facture.client), facture.numero))
        printed = ((attribution.rf, attribution.ogm, *attribution.anciennes) if attribution
                   else (reference(facture.numero, "rf"), reference(facture.numero, "ogm")))
        for ref in printed:
            if compact(ref) in flat:
                return ref
        return ""

    def by_number(self, text: str) -> list[Facture]:
        """Invoices whose number the label writes (`numeros`). An invoice's digits stand
        together in the label's digits once everything else is removed: that finds the few to
        check."""
        digits = re.sub(r"\D", "", text)
        libelle = Libelle(text, self.prefixes)
        found: list[Facture] = []
        seen: set[str] = set()
        for start in range(len(digits)):
            for end in range(start + 4, min(len(digits), start + self.longest) + 1):
                piece = digits[start:end]
                if piece in seen:
                    continue
                seen.add(piece)
                for facture in self.numbers.get(piece, ()):
                    if facture.numero not in self._patterns:
                        self._patterns[facture.numero] = number_pattern(facture.numero)
                    pattern = self._patterns[facture.numero]
                    if pattern is not None and libelle.writes(facture.numero, pattern):
                        found.append(facture)
        return found


def _match(operation: Operation, registre: _Registre) -> Affectation | AVerifier:
    nommes = registre.names.named(operation)
    outcome = _decide(operation, registre, nommes)
    if not isinstance(outcome, AVerifier):
        return outcome
    # Every client the label names may be the payer: each is among the candidates, so that
    # none is chased before the user has decided.
    present = {client_key(c.client) for c in outcome.candidats}
    extra = [f for key in sorted(nommes.tous - present)
             for f in sorted(registre.open_of(key), key=lambda f: (f.echeance, f.numero))]
    if not extra:
        return outcome
    return replace(outcome, candidats=outcome.candidats + tuple(
        Candidat(f.client, f.numero, registre.reste_of(f)) for f in extra))


def _decide(operation: Operation, registre: _Registre, nommes: Nommes
            ) -> Affectation | AVerifier:
    montant = operation.montant
    text = operation.texte
    flat = re.sub(r"[^A-Z0-9]", "", text.upper())
    reste = registre.reste_of
    named = nommes.tous

    def unique(found: Iterable[Facture]) -> list[Facture]:
        return sorted({registre.key(f): f for f in found}.values(),
                      key=lambda f: (f.echeance, f.numero))

    def still_open(found: Iterable[Facture]) -> list[Facture]:
        return [f for f in unique(found) if reste(f) > 0]

    def candidats(found: Iterable[Facture]) -> tuple[Candidat, ...]:
        return tuple(Candidat(f.client, f.numero, reste(f)) for f in found)

    def who(keys: Iterable[str]) -> str:
        return ", ".join(registre.names.clients[k] for k in sorted(keys))

    for how, found in (
            ("référence de paiement", registre.index.by_reference(flat)),
            ("n° de facture dans le libellé", registre.index.by_number(text))):
        if not found:
            continue
        found = unique(found)
        paid_already = [f for f in found if reste(f) <= 0]
        found = [f for f in found if reste(f) > 0]
        if paid_already:
            # Never moved to another invoice, of this client or another: a person looks.
            shown = ", ".join(dict.fromkeys(f.numero for f in paid_already))
            also = (f" (le libellé désigne aussi {', '.join(f.numero for f in found)})"
                    if found else "")
            return AVerifier(operation, f"{how} : {shown}, déjà soldée"
                             f"{'s' if len(paid_already) > 1 else ''}{also} ; paiement en "
                             "double, ou pour une autre facture ?",
                             candidats(paid_already + found))
        by_client: dict[str, list[Facture]] = {}
        for facture in found:
            by_client.setdefault(registre.client(facture), []).append(facture)
        if len(by_client) > 1 and len(named) == 1 and nommes.surs == named \
                and named <= by_client.keys():
            # Numbers that two clients share, and the label names one of them whole: its.
            (key,) = named
            if {f.numero for f in found} == {f.numero for f in by_client[key]}:
                by_client = {key: by_client[key]}
        if len(by_client) > 1:
            return AVerifier(operation, f"{how} : correspond à des factures de plusieurs "
                             "clients", candidats(found))
        (key, invoices), = by_client.items()
        shared = registre.index.shared(flat) if how == "référence de paiement" else ""
        if shared and len(invoices) > 1:
            return AVerifier(operation, f"{how} : {shared}, imprimée pour plusieurs factures "
                             f"({', '.join(f.numero for f in invoices)}) ; laquelle est payée ?",
                             candidats(invoices))
        numeros = tuple(f.numero for f in invoices)
        if named - {key}:
            return AVerifier(operation, f"{how} : {', '.join(numeros)} de "
                             f"{invoices[0].client}, mais le libellé nomme "
                             f"{who(named - {key})} ; qui a payé ?", candidats(invoices))
        due = sum((reste(f) for f in invoices), ZERO)
        ref = ", ".join(registre.index.reference_in(f, flat) for f in invoices) \
            if how == "référence de paiement" else ""
        deduit, note = registre.credit(key)
        if deduit > 0 and montant == due - deduit:
            return Affectation(operation, invoices[0].client, numeros, how + note,
                               reference=ref)
        if len(invoices) == 1 and montant <= due:
            return Affectation(operation, invoices[0].client, numeros, how,
                               partiel=montant < due, reference=ref)
        if montant == due:
            return Affectation(operation, invoices[0].client, numeros, how, reference=ref)
        if montant > due:
            return AVerifier(operation, f"{how} : {', '.join(numeros)}, mais le montant "
                             f"dépasse ce qui reste dû ({due}) ; paie-t-il d’autres factures ?",
                             candidats(still_open(registre.open_of(key))))
        return AVerifier(operation, f"{how} : {', '.join(numeros)}, paiement partiel de "
                         "plusieurs factures ; à répartir", candidats(invoices))

    if named:
        invoices = still_open(f for k in named for f in registre.open_of(k))
        if len(named) > 1:
            return AVerifier(operation, f"plusieurs clients peuvent être nommés ({who(named)}) "
                             "; lequel a payé ?", candidats(invoices))
        if nommes.possibles:
            return AVerifier(operation, f"{who(named)} peut-être nommé (nom coupé en fin de "
                             "libellé ?) ; à confirmer", candidats(invoices))
        if not invoices:
            return AVerifier(operation, f"{who(named)} nommé, mais aucune facture ouverte")
        (key,) = named
        exact = [f for f in invoices if reste(f) == montant]
        note = ""
        if not exact:
            # The amount asked: what remains, less the client's open credit notes.
            deduit, shown = registre.credit(key)
            if deduit > 0:
                exact = [f for f in invoices if reste(f) - deduit == montant]
                note = shown
        if len(exact) == 1:
            return Affectation(operation, exact[0].client, (exact[0].numero,),
                               "client nommé, montant exact d’une facture" + note)
        if len(exact) > 1:
            return AVerifier(operation, "client nommé, plusieurs factures de ce montant",
                             candidats(exact))
        sums = _subsets(invoices, montant, reste)
        if sums is not None and len(sums) == 1:
            chosen = sums[0]
            return Affectation(operation, chosen[0].client, tuple(f.numero for f in chosen),
                               f"client nommé, somme exacte de {len(chosen)} factures")
        if sums:
            return AVerifier(operation, "client nommé, plusieurs combinaisons de factures "
                             "font ce montant", candidats(invoices))
        if sums is None:
            return AVerifier(operation, f"client nommé, plus de {SUBSET_MAX} factures "
                             "ouvertes : combinaison non cherchée", candidats(invoices))
        return AVerifier(operation, f"{who(named)} nommé, mais aucune facture ni somme de "
                         "factures ne fait ce montant (paiement partiel ?)", candidats(invoices))
    same = still_open(registre.of_amount(montant))
    if same:
        return AVerifier(operation, "ni référence, ni n° de facture, ni client reconnu ; "
                         "factures du même montant", candidats(same))
    return AVerifier(operation, "ni référence, ni n° de facture, ni client reconnu")


def _subsets(invoices: list[Facture], montant: Decimal, reste
             ) -> list[list[Facture]] | None:
    """Up to two sets of two or more invoices whose amounts due add up to `montant` exactly;
    None when there are too many invoices to search."""
    if len(invoices) > SUBSET_MAX:
        return None
    target = int(montant * 100)
    cents = [int(reste(f) * 100) for f in invoices]
    # Sum -> up to two ways to reach it (each a tuple of indexes), smallest sums first.
    ways: dict[int, list[tuple[int, ...]]] = {0: [()]}
    for i, value in enumerate(cents):
        for total, combos in [(t, list(c)) for t, c in ways.items()]:
            new = total + value
            if new > target:
                continue
            slot = ways.setdefault(new, [])
            for combo in combos:
                if len(slot) >= 2:
                    break
                slot.append(combo + (i,))
    found = [c for c in ways.get(target, []) if len(c) >= 2]
    return [[invoices[i] for i in combo] for combo in found]
