"""Acting on what the mailbox brought back, before the run decides.

`lire_et_trier` reads the `[boite]` folder (through `boite.imap`: the one place the reader is
called), matches each new message (`attribution`), and, unless it is a dry run, remembers it in
the journal and turns a bounced email's entry into « non remis ». `enrich` gives the workbook's
records what the rules read of it (`records.Courriel` per client), from the journal's messages;
`echange_rows` are the replies to append to sheet Échanges.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Callable, Mapping

from ..config import Config
from ..errors import RelancesError
from ..records import Classeur, Courriel, client_key
from .attribution import match_bounce, match_reply
from .retours import ABSENCE, ILLISIBLE, REBOND, REPONSE, Retour

FENETRE_JOURS = 60  # the mailbox is read back this far at most

# (vus, depuis) -> (retours, total): the reader; `boite.imap.lire_boite` by default.
Lecteur = Callable[[set[str], datetime.date], tuple[list[Retour], int]]


@dataclass
class Courrier:
    """What a run read from the mailbox and did with it: for the summary and the digest."""

    lu: bool = False  # the mailbox was read
    injoignable: str = ""  # why it could not be read ('' : read, or nothing to read)
    total: int = 0  # messages in the folder
    nouveaux: list = field(default_factory=list)  # journal.Vu: the new messages, sorted

    def de_nature(self, nature: str, attribues: bool | None = None) -> list:
        return [v for v in self.nouveaux if v.retour.nature == nature
                and (attribues is None or bool(v.client or v.action_id) == attribues)]

    @property
    def reponses(self) -> list:
        return self.de_nature(REPONSE, True)

    @property
    def rebonds(self) -> list:
        return self.de_nature(REBOND, True)

    @property
    def absences(self) -> list:
        return self.de_nature(ABSENCE, True)

    @property
    def a_voir(self) -> list:
        """Replies matching two clients or none, bounces matching no email we sent,
        out-of-office replies of nobody known, unreadable messages: for the user."""
        return [v for v in self.nouveaux if v.retour.nature == ILLISIBLE
                or (v.retour.nature in (REPONSE, REBOND, ABSENCE) and not v.client
                    and not v.fait.startswith("envoyé par nous"))]


def depuis(journal, today: datetime.date) -> datetime.date | None:
    """The first day to read: the day before the first email the journal sent, at most 60 days
    back; None when nothing was ever sent (nothing can come back)."""
    sent = [e.jour for e in journal.entries() if e.canal == "email" and e.message_id]
    if not sent:
        return None
    return max(min(sent) - datetime.timedelta(days=1),
               today - datetime.timedelta(days=FENETRE_JOURS))


def vus_du_journal(journal) -> set[str]:
    """What the journal has seen of the mailbox: each message's key and Message-ID."""
    messages = journal.messages()
    return {v.retour.cle for v in messages} | {v.retour.message_id for v in messages
                                                if v.retour.message_id}


def _reader(config: Config, environ: Mapping[str, str]) -> Lecteur:
    """The IMAP reader of `[boite]` (boite.imap)."""
    from .imap import lire_boite, read_password

    boite = config.boite
    password = read_password(boite, environ)

    def read(vus: set[str], debut: datetime.date) -> tuple[list[Retour], int]:
        lecture = lire_boite(boite, password, vus, debut)
        return lecture.retours, lecture.total

    return read


def lire_et_trier(config: Config, journal, classeur: Classeur, today: datetime.date,
                  now: datetime.datetime, environ: Mapping[str, str], readonly: bool = False,
                  lecteur: Lecteur | None = None) -> Courrier:
    """Read what came back since the last run and act on it (see the module's docstring).
    A mailbox that cannot be read is said in `Courrier.injoignable`, never raised."""
    from ..journal import Vu

    if config.boite is None:
        return Courrier()
    debut = depuis(journal, today)
    if debut is None:
        return Courrier()
    vus = vus_du_journal(journal)
    try:
        retours, total = (lecteur or _reader(config, environ))(vus, debut)
    except RelancesError as exc:
        return Courrier(injoignable=str(exc))
    courrier = Courrier(lu=True, total=total)
    nous = _our_addresses(config)
    entrees = journal.entries()
    envois = {e.message_id: e.client for e in entrees if e.canal == "email" and e.message_id}
    adresses = _addresses(classeur)
    for retour in retours:
        if retour.cle in vus or (retour.message_id and retour.message_id in vus):
            continue
        vus |= {retour.cle, retour.message_id}
        retour = dataclasses.replace(retour, jour=min(retour.jour, today))
        courrier.nouveaux.append(_sort(retour, nous, envois, adresses, entrees, journal,
                                       readonly, Vu))
    if not readonly:
        journal.record_messages(courrier.nouveaux, now)
    return courrier


def _sort(retour: Retour, nous: set[str], envois, adresses, entrees, journal, readonly, Vu):
    """One new message, matched and acted upon (the journal's « non remis » for a bounce)."""
    if retour.nature in (REPONSE, ABSENCE) and retour.expediteur in nous:
        return Vu(retour, fait="envoyé par nous : ignoré")
    if retour.nature == REPONSE:
        qui = match_reply(retour, envois, adresses)
        if qui.client:
            return Vu(retour, client=qui.client, fait="ajoutée à Échanges ; relances écrites "
                                                      "en pause jusqu’à ce que l’échange soit noté")
        if qui.candidats:
            return Vu(retour, fait=f"plusieurs clients possibles ({', '.join(qui.candidats)}) : "
                                   "rattachée à personne")
        return Vu(retour, fait="aucun client reconnu")
    if retour.nature == ABSENCE:
        qui = match_reply(retour, envois, adresses)
        if not qui.client:
            return Vu(retour, fait="réponse automatique d’un expéditeur inconnu")
        if retour.retour_le:
            return Vu(retour, client=qui.client,
                      fait=f"absent jusqu’au {retour.retour_le:%d/%m/%Y}")
        return Vu(retour, client=qui.client, fait="réponse automatique sans date de retour")
    if retour.nature == REBOND:
        entree = match_bounce(retour, entrees)
        if entree is None:
            return Vu(retour, fait="aucun message envoyé ne correspond")
        motif = retour.motif or "message revenu non distribué"
        if entree.statut != "non_remis" and not readonly:
            journal.undelivered(entree.id, motif)
        return Vu(retour, client=entree.client, action_id=entree.id,
                  fait=f"n° {entree.id} ({entree.etape}, {entree.jour:%d/%m/%Y}) non remis")
    if retour.nature == ILLISIBLE:
        # It may be a reply: from a client's address, that client is held as for a reply.
        qui = match_reply(retour, envois, adresses) if retour.expediteur not in nous else None
        if qui is not None and qui.client:
            return Vu(retour, client=qui.client, fait=(
                f"message illisible de {retour.expediteur} : à lire dans la boîte "
                f"({retour.motif}) ; relances écrites de {qui.client} en pause jusqu’à ce que "
                "l’échange soit noté"))
        return Vu(retour, fait=f"non lu : {retour.motif}")
    return Vu(dataclasses.replace(retour, texte=""), fait="ignoré")


def _our_addresses(config: Config) -> set[str]:
    written = [config.envoi.expediteur, config.entreprise.email, config.envoi.repondre_a]
    return {a.lower() for _, a in getaddresses([w for w in written if w]) if a}


def _addresses(classeur: Classeur) -> dict[str, set[str]]:
    """Each client's Email addresses, from Clients and from Factures' own column."""
    found: dict[str, set[str]] = {}
    for client in classeur.clients.values():
        found.setdefault(client.nom, set()).update(client.emails)
    for facture in classeur.factures:
        if facture.emails:
            found.setdefault(classeur.client_of(facture).nom, set()).update(facture.emails)
    return found


def enrich(classeur: Classeur, vus: list, entrees: list) -> Classeur:
    """The workbook's records with what the mailbox said of each client (`Courriel`), from the
    messages the journal remembers (and, for a dry run, those just read)."""
    if not vus:
        return classeur
    by_id = {e.id: e for e in entrees}
    par_client: dict[str, dict] = {}
    for vu in sorted(vus, key=lambda v: (v.retour.jour, v.retour.cle)):
        if not vu.client:
            continue
        r = vu.retour
        state = par_client.setdefault(client_key(vu.client), {
            "reponse": None, "lignes": [], "absent_jusqu_au": None, "echec": [],
            "illisible": "", "non_remis": []})
        if r.nature == REPONSE:
            state["reponse"] = r.jour
            state["lignes"].append((r.jour, r.expediteur))
            state["illisible"] = ""
        elif r.nature == ILLISIBLE:  # may be a reply: held the same, said unreadable
            state["reponse"] = r.jour
            state["illisible"] = r.expediteur or "expéditeur inconnu"
        elif r.nature == ABSENCE:
            state["absent_jusqu_au"] = r.retour_le  # the latest says
        elif r.nature == REBOND and vu.action_id is not None:
            entree = by_id.get(vu.action_id)
            failed = r.adresses_en_echec or (
                tuple(a.strip().lower() for a in entree.destinataire.split(",") if a.strip())
                if entree else ())
            state["echec"].extend(failed)
            if entree is not None and entree.statut == "non_remis":
                state["non_remis"].extend((numero, entree.etape) for numero in entree.factures)
    courriels = {key: Courriel(reponse=s["reponse"], lignes=tuple(s["lignes"]),
                               absent_jusqu_au=s["absent_jusqu_au"],
                               adresses_en_echec=tuple(dict.fromkeys(s["echec"])),
                               illisible=s["illisible"],
                               non_remis=tuple(dict.fromkeys(s["non_remis"])))
                 for key, s in par_client.items()}
    return dataclasses.replace(classeur, courriels=courriels)


def avec_courriels(classeur: Classeur, journal, nouveaux: list = ()) -> Classeur:
    """The workbook's records with what the mailbox said of each client: from the messages
    the journal remembers, and `nouveaux` (those a dry run read and did not store)."""
    return enrich(classeur, [*journal.messages(), *nouveaux], journal.entries())


def echange_rows(vus: list) -> tuple[list[str], tuple[dict, ...]]:
    """The replies matched to a client not yet in sheet Échanges: (their keys, their rows)."""
    todo = [v for v in vus if v.retour.nature == REPONSE and v.client and not v.ecrit]
    return [v.retour.cle for v in todo], tuple(
        {"date": v.retour.jour, "client": v.client, "canal": "e-mail",
         "interlocuteur": v.retour.nom or v.retour.expediteur,
         "coordonnees": v.retour.expediteur, "dit": v.retour.texte} for v in todo)

