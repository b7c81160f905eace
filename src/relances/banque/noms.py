"""Client names in bank labels: which clients a label surely names, and which it may name. Pure.

A client is surely named when all its distinctive words stand whole in the label (or the
payer's name), and no other client's name fits better there: « BOULANGERIE MARTIN » names
Boulangerie Martin, not Martin. A bank may cut a long name, but only at the very end of a
field: a last word cut short there (« PETIT » for Petitjean) makes the client *possibly* named —
enough to hold it, never enough to credit it — unless another client's name fits that word
whole (« M PETIT » is Petit, when Petit is a client).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .operations import Operation

CUT_MIN = 5  # letters a cut word must keep to be taken for the beginning of a name

# Words that do not tell one client from another.
LEGAL = frozenset("""sarl sas sasu eurl sa sprl srl snc sci scp scm selarl selas ei eirl ets
etablissements etabl societe ste cie compagnie et de du des la le les l d au aux en bv bvba
nv asbl scrl sc scs gie gmbh ltd the and of vir sepa virement recu""".split())


@dataclass(frozen=True)
class Nommes:
    """The clients (keys) a label names: surely, and possibly (a name cut short)."""

    surs: frozenset[str] = frozenset()
    possibles: frozenset[str] = frozenset()

    @property
    def tous(self) -> frozenset[str]:
        return self.surs | self.possibles


class Noms:
    """Clients' distinctive words, indexed by their first word, and by the beginnings a bank
    may cut their last word to."""

    def __init__(self, clients: dict[str, str]):
        self.clients = clients  # key -> name as the user writes it
        self.words: dict[str, tuple[str, ...]] = {}
        self.by_first: dict[str, list[str]] = {}
        self.by_cut: dict[str, list[str]] = {}
        for key, nom in clients.items():
            significant = tuple(w for w in words_of(nom) if w not in LEGAL and len(w) >= 2)
            if not significant or max(len(w) for w in significant) < 3:
                continue
            self.words[key] = significant
            self.by_first.setdefault(significant[0], []).append(key)
            last = significant[-1]
            for n in range(CUT_MIN, len(last)):
                self.by_cut.setdefault(last[:n], []).append(key)

    def named(self, operation: Operation) -> Nommes:
        present = set(words_of(operation.texte))
        exact = {k for w in present for k in self.by_first.get(w, ())
                 if all(x in present for x in self.words[k])}
        # When one client's words include another's (« Martin », « Boulangerie Martin »), the
        # longer name is meant.
        sets = {k: frozenset(self.words[k]) for k in exact}
        surs = {k for k in exact if not any(sets[k] < other for other in sets.values())}
        possibles: set[str] = set()
        for field in (operation.libelle, operation.contrepartie):
            field_words = words_of(field)
            if not field_words or len(field_words[-1]) < CUT_MIN:
                continue
            piece = field_words[-1]
            for key in self.by_cut.get(piece, ()):
                if key in exact:
                    continue
                head = self.words[key][:-1]
                if not all(x in present for x in head):
                    continue
                # A client whose name fits the same words whole is the one meant.
                if any(piece in sets[k] and set(head) <= sets[k] for k in surs):
                    continue
                possibles.add(key)
        return Nommes(frozenset(surs), frozenset(possibles))


def words_of(text: str) -> list[str]:
    """The words of a text, without case or accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.findall(r"[a-z0-9]+", plain)
