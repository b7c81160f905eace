"""Reading stage, the user's sheets Échanges, Échéanciers and Paiements as a whole.

A user sheet is found by its name or, renamed, by its headers. Its headers are checked as
Factures' are (a column that matters twice, a merged header over one, a needed column not
found): a sheet the tool cannot read holds every client, and says so once. A row that cannot
be read holds the clients it may concern (`Retenues`). An invoice number that matches none is
reported with the invoice it may have meant (`proches`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable

from ..cells import is_empty, quote, read_text
from ..records import Anomalie, Client, Facture, Reglement, client_key, normalise
from .colonnes import (A_APPELER, A_VERIFIER, CLIENTS, ECHANGE_COLUMNS, ECHANGES,
                       ECHEANCIER_COLUMNS, ECHEANCIERS, FACTURES, JOURNAL, PAIEMENT_COLUMNS,
                       PAIEMENT_FIELD_BY_HEADER, PAIEMENTS, duplicates, find_header, index_headers, match_headers)
from .sheet import column_letter

TOUS = "aucun client n’est relancé tant que ce n’est pas corrigé"


@dataclass
class Retenues:
    """Who must not be chased because something the user wrote could not be read: clients
    (by client key), invoices (by client key and number), or everyone."""

    clients: dict[str, str] = field(default_factory=dict)
    factures: dict[tuple[str, str], str] = field(default_factory=dict)
    tous: str = ""

    def client(self, nom: str, why: str) -> None:
        self.clients.setdefault(client_key(nom), why)

    def facture(self, facture: Facture, why: str) -> None:
        self.factures.setdefault((client_key(facture.client), facture.numero), why)

    def all(self, why: str) -> None:
        self.tous = self.tous or why

    def apply(self, clients: dict[str, Client], factures: list[Facture]) -> list[Facture]:
        """Hold them: `clients` is changed in place; an invoice whose client is not in sheet
        Clients (or that alone is held) carries the hold itself."""
        for key, client in list(clients.items()):
            why = self.tous or self.clients.get(key, "")
            if why and not client.bloque:
                clients[key] = replace(client, bloque=why)
        held = []
        for facture in factures:
            key = client_key(facture.client)
            why = self.factures.get((key, facture.numero), "")
            if not why and key not in clients:
                why = self.tous or self.clients.get(key, "")
            held.append(replace(facture, bloque=why) if why and not facture.bloque else facture)
        return held


# ------------------------------------------------------------------ the sheets and their headers


@dataclass(frozen=True)
class Genre:
    """What a user sheet is: its headers, the fields it cannot be read without, and the fields
    whose column, twice or hidden, could chase a client wrongly."""

    nom: str
    columns: dict[str, tuple[str, ...]]
    needed: tuple[str, ...]
    labels: dict[str, str]

    @property
    def fields(self) -> dict[str, str]:
        return index_headers(self.columns)


GENRES = (
    Genre(ECHANGES, ECHANGE_COLUMNS, ("date", "client"),
          {"date": "Date", "client": "Client", "factures": "Factures",
           "promesse": "Promesse de paiement", "montant_promis": "Montant promis",
           "resultat": "Résultat", "rappeler_le": "Rappeler le"}),
    Genre(ECHEANCIERS, ECHEANCIER_COLUMNS, ("numero", "date", "montant"),
          {"numero": "N° facture", "date": "Date", "montant": "Montant"}),
    Genre(PAIEMENTS, PAIEMENT_COLUMNS, ("date", "montant"),
          {"date": "Date", "montant": "Montant", "client": "Client", "factures": "Factures",
           "reference": "Référence"}),
)
GENRE = {g.nom: g for g in GENRES}
# Sheets that are never a renamed user sheet.
AUTRES = (FACTURES, CLIENTS, JOURNAL, A_APPELER, A_VERIFIER, "Tableau de bord")


def check_headers(genre: Genre, rows: list[list[object]],
                  fusions: list[tuple[int, int, int, int]]) -> str:
    """Why this user sheet cannot be read ('' when it can): a needed column not found, a
    column that matters twice, a merged header cell over one of them."""
    if not rows:
        return ""
    fields = genre.fields
    header_index, columns = find_header(rows, fields, {}, genre.needed)
    header_row = header_index + 1
    missing = [n for n in genre.needed if n not in columns]
    if missing:
        seen = [quote(read_text(v)) for v in rows[header_index] if not is_empty(v)]
        return (f"colonne(s) {', '.join(f'« {genre.labels[n]} »' for n in missing)} "
                f"introuvable(s) en ligne {header_row} (en-têtes lus : "
                f"{', '.join(seen) or 'aucun'}) ; renommez l’en-tête")
    for name, positions in duplicates(rows[header_index], fields).items():
        if name in genre.labels:
            both = " et ".join(f"{column_letter(p + 1)} {quote(read_text(rows[header_index][p]))}"
                               for p in positions)
            return (f"colonne « {genre.labels[name]} » en double (colonnes {both}) : relances "
                    "ne sait pas laquelle croire ; renommez ou supprimez l’une d’elles")
    for top, left, bottom, right in fusions:
        if top <= header_row <= bottom and right > left:
            hidden = [genre.labels[n] for n, p in columns.items()
                      if n in genre.labels and left <= p + 1 <= right]
            if hidden:
                cells = f"{column_letter(left)}{top}:{column_letter(right)}{bottom}"
                return (f"cellules d’en-tête fusionnées ({cells}) sur la colonne "
                        f"« {hidden[0]} » : une colonne peut s’y cacher ; défusionnez-les et "
                        "donnez un en-tête à chaque colonne")
    return ""


def unreadable(sheet: str, why: str, anomalies: list[Anomalie], retenues: Retenues) -> None:
    """A whole user sheet that cannot be read: said once, and nobody is chased."""
    anomalies.append(Anomalie(sheet, None, f"feuille {sheet} illisible : {why} — {TOUS}"))
    retenues.all(f"feuille {sheet} illisible")


def _score(genre: Genre, header: list[object]) -> int:
    """How much a header row looks like this user sheet's (0: not at all): headers it knows,
    and twice those it writes itself when it creates the sheet."""
    found = match_headers(header, genre.fields)
    if not all(n in found for n in genre.needed):
        return 0
    own = {normalise(spellings[0]) for spellings in genre.columns.values()}
    return len(found) + sum(1 for h in header if not is_empty(h) and normalise(str(h)) in own)


def locate(names: dict[str, str], head: Callable[[str], list[list[object]]],
           has_data: Callable[[str], bool], anomalies: list[Anomalie],
           retenues: Retenues) -> dict[str, str | None]:
    """The user sheets not found by their name, found again by their headers: user sheet ->
    the sheet read in its place, or None when several could be it (none is read, none is
    created). `names` maps normalised names to the workbook's; `head` gives a sheet's first
    rows, `has_data` whether it holds rows under its header."""
    missing = [g for g in GENRES if normalise(g.nom) not in names]
    if not missing:
        return {}
    taken = {normalise(n) for n in (*AUTRES, *(g.nom for g in GENRES))}
    best: dict[str, list[str]] = {}
    for key, name in names.items():
        if key in taken:
            continue
        rows = head(name)
        scores = {}
        for genre in GENRES:
            index, _ = find_header(rows, genre.fields, {}, genre.needed)
            if index < len(rows):
                scores[genre.nom] = _score(genre, rows[index])
        top = max(scores.values(), default=0)
        for nom, score in scores.items():
            if score and score == top:
                best.setdefault(nom, []).append(name)
    found: dict[str, str | None] = {}
    for genre in missing:
        candidates = best.get(genre.nom, [])
        if not candidates:
            continue
        full = [c for c in candidates if has_data(c)]
        if len(full) > 1 or (not full and len(candidates) > 1):
            listed = ", ".join(f"« {c} »" for c in (full or candidates))
            found[genre.nom] = None
            if full:
                anomalies.append(Anomalie(None, None, (
                    f"feuille « {genre.nom} » introuvable, et plusieurs feuilles ont ses "
                    f"en-têtes ({listed}) : aucune n’est lue ; renommez celle qui sert "
                    f"« {genre.nom} » — {TOUS}")))
                retenues.all(f"feuille « {genre.nom} » introuvable (plusieurs feuilles ont "
                             "ses en-têtes)")
            else:
                anomalies.append(Anomalie(None, None, (
                    f"feuille « {genre.nom} » introuvable, et plusieurs feuilles vides ont ses "
                    f"en-têtes ({listed}) : aucune n’est lue ni créée ; renommez celle qui "
                    f"sert « {genre.nom} »")))
            continue
        (name,) = full or candidates
        found[genre.nom] = name
        anomalies.append(Anomalie(name, None, (
            f"feuille « {genre.nom} » introuvable : « {name} » a ses en-têtes, elle est lue "
            f"à sa place{' (les paiements importés y sont ajoutés)' if genre.nom == PAIEMENTS else ''} ; "
            f"renommez-la « {genre.nom} » pour ne plus voir ce message")))
    return found


# ------------------------------------------------------------------ invoice numbers


def _groupes(numero: str) -> tuple[str, ...]:
    """An invoice number without its case, spaces, separators and leading zeros."""
    return tuple(g.lstrip("0") or "0" if g.isdigit() else g
                 for g in re.findall(r"\d+|[^\W\d_]+", numero.casefold()))


def _one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]


class Numeros:
    """The invoices by number, and the ones an unknown number may have meant."""

    def __init__(self, factures: list[Facture], vus: set[str] = frozenset()):
        self.vus = set(vus)  # every number of sheet Factures, its unreadable rows' too
        self.by_numero: dict[str, list[Facture]] = {}
        for facture in factures:
            self.by_numero.setdefault(facture.numero, []).append(facture)
            self.vus.add(facture.numero)
        self._by_groupes: dict[tuple[str, ...], list[Facture]] | None = None

    @property
    def by_groupes(self) -> dict[tuple[str, ...], list[Facture]]:
        """The invoices by number written any way: made the first time a number is unknown."""
        if self._by_groupes is None:
            self._by_groupes = {}
            for numero, factures in self.by_numero.items():
                self._by_groupes.setdefault(_groupes(numero), []).extend(factures)
        return self._by_groupes

    def connu(self, numero: str) -> bool:
        """Whether sheet Factures has this number (read, or on a row it could not read)."""
        return numero in self.vus

    def proches(self, numero: str) -> list[Facture]:
        """Invoices whose number is this one written otherwise, or one keystroke away."""
        same = self.by_groupes.get(_groupes(numero), [])
        if same:
            return same
        plain = re.sub(r"\s+", "", numero.casefold())
        return [f for numero_, found in self.by_numero.items()
                if _one_edit(plain, re.sub(r"\s+", "", numero_.casefold())) for f in found]

    def unknown(self, numero: str, where: str) -> tuple[str, list[Facture]]:
        """(what to say of a number that matches no invoice, the invoices it may have meant)."""
        proches = self.proches(numero)
        if not proches:
            return f"{where} : {numero} : aucune facture de ce numéro", []
        meant = sorted({f.numero for f in proches})
        shown = " ou ".join(meant[:3]) + (" …" if len(meant) > 3 else "")
        return (f"{where} : {numero} : aucune facture de ce numéro ; vouliez-vous dire "
                f"{shown} ?"), proches


def check_payment_numbers(sheet: str, rows: list[list[object]], reglements: list[Reglement],
                          numeros: Numeros, clients: dict[str, Client],
                          anomalies: list[Anomalie], retenues: Retenues) -> set[int]:
    """Sheet Paiements' invoice numbers that match no invoice: said, with the invoice they
    may have meant, whose client is held, and so is the client the row names (everyone when
    it names none we know). The rows said here (their numbers) are not counted on invoices."""
    if not rows:
        return set()
    _, columns = find_header(rows, PAIEMENT_FIELD_BY_HEADER, {}, ("date", "montant"))
    column = columns.get("factures")
    known = set(clients) | {client_key(f.client) for found in numeros.by_numero.values()
                            for f in found}
    said: set[int] = set()
    for reglement in reglements:
        if reglement.row is None:
            continue
        where = (f"Factures ({column_letter(column + 1)}{reglement.row})" if column is not None
                 else "Factures")
        for numero in reglement.factures:
            if numeros.connu(numero):
                continue
            message, proches = numeros.unknown(numero, where)
            why = (f"paiement citant une facture inconnue {quote(numero)} (feuille {sheet}, "
                   f"ligne {reglement.row})")
            held = {f.client for f in proches}
            if reglement.client and client_key(reglement.client) in known:
                held.add(reglement.client)
            for nom in held:
                retenues.client(nom, why)
            if not reglement.client or client_key(reglement.client) not in known:
                retenues.all(why)
                who = "aucun client relancé"
            else:
                who = f"{', '.join(sorted(held))} non relancé"
            anomalies.append(Anomalie(sheet, reglement.row, (
                f"{message} — paiement non compté, {who} tant que la ligne n’est pas corrigée")))
            said.add(reglement.row)
    return said
