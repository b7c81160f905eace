"""Reading sheet Échanges: what clients said, rows turned into `Echange` records. A row that
cannot be read holds the clients it may concern (a promise or a dispute it would have carried
could stop chasing), and says why."""

from __future__ import annotations

import re

from ..cells import CellError, is_empty, quote, read_date, read_montant, read_text
from ..records import (RESULTATS_ECHANGE, Anomalie, Client, Echange, Facture, client_key,
                       normalise)
from .colonnes import ECHANGE_FIELD_BY_HEADER, find_header
from .feuilles import Numeros, Retenues
from .lignes import cell_of, unknown_in
from .sheet import column_letter


def read_echanges(sheet: str, rows: list[list[object]], anomalies: list[Anomalie],
                   clients: dict[str, Client], factures: list[Facture],
                   inconnues: dict[tuple[int, int], str], retenues: Retenues,
                   numeros: Numeros) -> list[Echange]:
    """Sheet Échanges, row by row. What could hold back a chase (a promise, a dispute, the
    result) and cannot be read stops chasing the clients it may concern, and says why: the
    client it names, else the clients of the invoices it lists, else everyone."""
    if not rows:
        return []
    header_index, columns = find_header(rows, ECHANGE_FIELD_BY_HEADER, {}, ("date", "client"))
    theirs = {(client_key(f.client), f.numero) for f in factures}
    known = {key for key, _ in theirs} | set(clients)
    echanges: list[Echange] = []
    for index, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        nom = read_text(cell_of(row, columns, "client"))
        unknown = unknown_in(index, columns, inconnues, ECHANGE_STOPPING)
        if any(name == "client" for name, _, _ in unknown):
            nom = ""  # an error value names nobody
        if not nom and not unknown and all(is_empty(v) for v in row):
            continue  # a blank row
        listed = tuple(n.strip() for n in re.split(r"[;,\n]+", read_text(
            cell_of(row, columns, "factures"))) if n.strip())
        lisible = bool(nom) and client_key(nom) in known

        def block(why: str) -> str:
            """Hold who this row may concern; their names, for the message."""
            why = f"{why} (feuille {sheet}, ligne {index})"
            if lisible:
                retenues.client(nom, why)
                return nom
            concerned = sorted({f.client for f in factures if f.numero in listed})
            for client in concerned:
                retenues.client(client, why)
            if not concerned:
                retenues.all(why)
            return ", ".join(concerned) or "aucun client"

        if not nom and not unknown:
            if any(not is_empty(cell_of(row, columns, name))
                   for name in ("factures", "promesse", "montant_promis", "resultat",
                                "rappeler_le")):
                who = block("échange sans client")
                anomalies.append(Anomalie(sheet, index, f"Client vide — {_non_relance(who)} "
                                          "tant que la ligne n’est pas corrigée"))
            else:
                anomalies.append(Anomalie(sheet, index, "Client vide : échange ignoré"))
            continue
        if unknown:
            who = block("valeur inconnue dans un échange")
            for _, label, what in unknown:
                anomalies.append(Anomalie(sheet, index, f"{nom + ' : ' if nom else ''}{label} : "
                                          f"{what} — "
                                          f"{_non_relance(who)} tant que la cellule n’est pas "
                                          "corrigée"))
            continue
        problems: list[str] = []

        def field(name: str, label: str, reader):
            try:
                return reader(cell_of(row, columns, name))
            except CellError as exc:
                problems.append(f"{label} : {exc}")
                return None

        jour = field("date", "Date", read_date)
        promesse = field("promesse", "Promesse de paiement", read_date)
        rappeler = field("rappeler_le", "Rappeler le", read_date)
        montant = field("montant_promis", "Montant promis", read_montant)
        resultat_raw = read_text(cell_of(row, columns, "resultat"))
        resultat = RESULTATS_ECHANGE.get(normalise(resultat_raw), "")
        if resultat_raw and not resultat:
            problems.append(f"Résultat inconnu {quote(resultat_raw)} (attendu : "
                            f"{', '.join(RESULTATS_ECHANGE.values())})")
        if problems or jour is None:
            if jour is None and not problems:
                problems.append("Date vide")
            who = block("échange illisible")
            for message in problems:
                anomalies.append(Anomalie(sheet, index, f"{nom} : {message} — "
                                          f"{_non_relance(who)} tant que la ligne n’est pas "
                                          "corrigée"))
            continue
        if not any(key == client_key(nom) for key, _ in theirs):
            # A promise or a dispute for a misspelt client would hold nobody: say so.
            if client_key(nom) not in known and (promesse or resultat or rappeler or listed):
                who = block(f"échange d’un client inconnu {quote(nom)}")
                anomalies.append(Anomalie(sheet, index, (
                    f"client {quote(nom)} absent de la feuille Factures comme de la feuille "
                    "Clients : cet échange ne s’applique à aucune facture ; corrigez le nom — "
                    f"{_non_relance(who)} d’ici là")))
            else:
                anomalies.append(Anomalie(sheet, index, f"client {quote(nom)} absent de la "
                                          "feuille Factures : cet échange ne s’applique à "
                                          "aucune facture ; corrigez le nom"))
        column = columns.get("factures")
        where = f"Factures ({column_letter(column + 1)}{index})" if column is not None \
            else "Factures"
        for numero in listed:
            if (client_key(nom), numero) in theirs or client_key(nom) not in known:
                continue
            if numeros.connu(numero):
                message = (f"{nom} : facture {quote(numero)} absente de la feuille Factures "
                           "pour ce client")
                proches = []
            else:
                message, proches = numeros.unknown(numero, where)
            why = f"échange citant une facture inconnue {quote(numero)} (feuille {sheet}, " \
                  f"ligne {index})"
            retenues.client(nom, why)
            for facture in proches:
                retenues.client(facture.client, why)
            who = ", ".join(sorted({nom, *(f.client for f in proches)}))
            anomalies.append(Anomalie(sheet, index, f"{message} — {_non_relance(who)} tant que "
                                      "la ligne n’est pas corrigée"))
        if promesse is not None and promesse < jour:
            # A date that cannot be right: no broken promise is chased on it.
            column = columns["promesse"]
            concerned = [f for f in factures if client_key(f.client) == client_key(nom)
                         and (not listed or f.numero in listed)]
            why = (f"promesse datée d’avant l’échange qui l’a notée (feuille {sheet}, ligne "
                   f"{index})")
            for facture in concerned:
                retenues.facture(facture, why)
            held = (f"facture(s) {', '.join(f.numero for f in concerned)} non relancée(s) "
                    "tant que la ligne n’est pas corrigée" if concerned else
                    "corrigez la date")
            anomalies.append(Anomalie(sheet, index, (
                f"{nom} : Promesse de paiement ({column_letter(column + 1)}{index}) : "
                f"{promesse:%d/%m/%Y}, antérieure à la date de l’échange ({jour:%d/%m/%Y}) : "
                f"promesse non retenue — {held}")))
            promesse = None
            resultat = "" if resultat == "promesse" else resultat
        echanges.append(Echange(
            jour=jour, client=nom, factures=listed,
            interlocuteur=read_text(cell_of(row, columns, "interlocuteur")),
            fonction=read_text(cell_of(row, columns, "fonction")),
            coordonnees=read_text(cell_of(row, columns, "coordonnees")),
            canal=read_text(cell_of(row, columns, "canal")),
            dit=read_text(cell_of(row, columns, "dit")),
            promesse=promesse, montant_promis=montant,
            resultat=resultat or ("promesse" if promesse else ""),
            rappeler_le=rappeler, row=index))
    return echanges


def _non_relance(who: str) -> str:
    return "aucun client relancé" if who == "aucun client" else f"{who} non relancé"


# Échanges cells whose unknown value stops chasing that client.
ECHANGE_STOPPING = {"client": "Client", "date": "Date", "factures": "Factures",
                    "promesse": "Promesse de paiement", "resultat": "Résultat",
                    "rappeler_le": "Rappeler le"}
