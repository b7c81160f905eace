"""A client book lived day by day, and the invariants a day must keep (issue 18).

Three parts, kept apart so that each can follow the API when it changes:

- `Book`: the oracle. The book as the user keeps it (clients, invoices and credit notes, the
  Payé column, Paiements rows, Échanges, Échéanciers, payments waiting in À vérifier) and the
  model's own bookkeeping of it (`allocate`: the client account, SPEC §5), written from the
  spec, never from the code under test.
- `Harness`: one day through the real pipeline — the records as the read stage gives them
  (`apply_reglements`, `pointage.prepare`), the real `decide`, every message rendered by the
  real `Renderer`, each action recorded in a real `Journal` as `run._carry_out` does, then the
  real `follow_up`, `call_list` and dashboard (`rapports.indicateurs.compute`). PDFs are not
  made (speed); the letters' HTML is.
- `check_*`: the invariants, one function each, given the `Day` just lived and what earlier
  days said (`Ledger`: deadlines given, credit notes deducted). Each returns the violations
  found as sentences naming the day, the client and the invoices.

Places that will follow the API (issue 18's « shape of the code »):
  `CREDIT_NOTE_NAMES_INVOICE` / `Book.to_facture` — the coming Factures column naming the
  invoice a credit note is for; `deadline_given` — an `Action.date_limite` or a `Fait.limite`;
  `record_action` — how a run writes an action to the journal (run._carry_out).
"""

from __future__ import annotations

import datetime
import functools
import html
import itertools
import re
import shutil
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from relances import formats
from relances.appels import call_list
from relances.cli import plan_json
from relances.boite.effets import avec_courriels
from relances.config import Boite, Config, Entreprise, Envoi, Paiement, Regles
from relances.journal import Journal, Pointage, Vu
from relances.encaissements import prepare
from relances.compte import tenir
from relances.policy import as_seen, deadline_end, decide
from relances.suivi import follow_up
from relances.rapports.indicateurs import compute
from relances.records import (ZERO, Action, Classeur, Client, Echange, Facture, Reglement,
                              Versement, client_key)
from relances.render import Renderer
from relances.resultat import Resultat
from relances.xlsx.lecture import Lecture
from relances.xlsx.paiements import apply_reglements
from relances.efacture.modeles import StatutFacture

ROOT = Path(__file__).resolve().parent.parent
ONE_DAY = datetime.timedelta(days=1)

# The coming optional Factures column naming the invoice a credit note is for. Until it exists
# every credit note is unnamed; when it does: set this to True and name the field in
# `Book.to_facture` (one line each).
CREDIT_NOTE_NAMES_INVOICE = True

# « paiement annoncé » without a date holds written steps this long (issue 18, point 6).
DELAI_PAIEMENT_ANNONCE = 7

# [boite] pause_reponse_jours: a reply pauses the client's written steps this long (issue 21).
PAUSE_REPONSE = 10
# The schedule's written steps, in order (every shipped policy names them alike).
WRITTEN_STEPS = ("rappel", "dernier_rappel", "mise_en_demeure")
TO_THE_AGENCY = ("transmission", "paiement_agence")  # emails to the agency, not the client

COURTEOUS = ("rappel", "rappel_courtois")  # the « simple oubli » wording
NOT_A_CHASE = ("remerciement", "transmission", "paiement_agence")  # thanks; to the agency


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


# ====================================================================== the book (oracle)


@dataclass
class Ligne:
    """One row of sheet Factures as the user keeps it (an invoice, or a credit note when
    `montant` is negative)."""

    numero: str
    client: str
    date_facture: datetime.date
    echeance: datetime.date
    montant: Decimal
    paye: Decimal = ZERO
    statut: str = ""  # "" | payee | litige | pause | contentieux
    promesse: datetime.date | None = None  # the Promesse de paiement column
    imputee_sur: str | None = None  # a credit note naming its invoice (column to come)

    @property
    def avoir(self) -> bool:
        return self.montant < 0


@dataclass(frozen=True)
class Rebond:
    """An email that came back undelivered: its journal entry, each invoice's step in it."""

    client: str                       # client key
    entree: int                       # the journal entry made « non remis »
    jour: datetime.date               # the day the email was sent
    faits: tuple[tuple[str, str], ...]  # (invoice, its step) the entry had done
    adresses: tuple[str, ...]         # lower-cased
    le: datetime.date                 # the day it came back


@dataclass
class Attente:
    """A bank line waiting in À vérifier: the client may have paid `numero`."""

    cle: str
    client: str
    numero: str
    montant: Decimal
    jour: datetime.date
    decidee: bool = False


@dataclass
class Compte:
    """The model's client account on one day: what remains of each invoice once every
    payment and credit note is allocated (each euro once), and what is left of each credit."""

    reste: dict[str, Decimal]          # open invoices (no Statut Payée) -> remaining
    avoirs: dict[str, Decimal]         # open credit notes -> amount not yet allocated
    paye_hors_avoirs: dict[str, Decimal]  # invoice -> what payments (not credits) covered

    @property
    def net(self) -> Decimal:
        return sum(self.reste.values(), ZERO)

    def settled(self, numero: str) -> bool:
        return self.reste.get(numero, ZERO) <= 0


@dataclass
class Book:
    start: datetime.date
    today: datetime.date
    clients: dict[str, Client] = field(default_factory=dict)  # by client_key
    lignes: list[Ligne] = field(default_factory=list)
    echanges: list[Echange] = field(default_factory=list)
    versements: list[Versement] = field(default_factory=list)
    reglements: list[Reglement] = field(default_factory=list)
    attentes: list[Attente] = field(default_factory=list)
    # The e-invoicing platform's lifecycle statuses, as imported (importer.py) in order.
    statuts: list[StatutFacture] = field(default_factory=list)
    # What the mailbox brought back (issue 21): replies (client key, day), the rows the tool
    # appended for them (left out once the user fills their Résultat), out-of-office replies
    # (client key, day, return date or None), bounces.
    reponses: list[tuple[str, datetime.date]] = field(default_factory=list)
    tool_rows: list[Echange] = field(default_factory=list)
    absences: list[tuple[str, datetime.date, datetime.date | None]] = field(
        default_factory=list)
    rebonds: list["Rebond"] = field(default_factory=list)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------ what the user edits

    def ligne(self, numero: str) -> Ligne:
        return next(l for l in self.lignes if l.numero == numero)

    def client(self, nom: str) -> Client:
        return self.clients[client_key(nom)]

    def invoices(self, nom: str | None = None) -> list[Ligne]:
        return [l for l in self.lignes if not l.avoir
                and (nom is None or client_key(l.client) == client_key(nom))]

    def credit_notes(self, nom: str | None = None) -> list[Ligne]:
        return [l for l in self.lignes if l.avoir
                and (nom is None or client_key(l.client) == client_key(nom))]

    def add_invoice(self, client: str, montant: Decimal, echeance: datetime.date) -> Ligne:
        numero = f"F-{next(self.counter):03d}"
        ligne = Ligne(numero, client, min(self.today, echeance - days(30)), echeance,
                      money(montant))
        self.lignes.append(ligne)
        return ligne

    def add_credit_note(self, client: str, montant: Decimal,
                        imputee_sur: str | None = None) -> Ligne:
        numero = f"AV-{next(self.counter):03d}"
        ligne = Ligne(numero, client, self.today, self.today, -money(montant),
                      imputee_sur=imputee_sur if CREDIT_NOTE_NAMES_INVOICE else None)
        self.lignes.append(ligne)
        return ligne

    def add_echange(self, client: str, **kw) -> Echange:
        echange = Echange(jour=self.today, client=client, row=len(self.echanges) + 2, **kw)
        self.echanges.append(echange)
        return echange

    def replace_echange(self, echange: Echange, **changes) -> None:
        index = next(i for i, e in enumerate(self.echanges) if e is echange)
        self.echanges[index] = replace(echange, **changes)
        self.tool_rows = [e for e in self.tool_rows if e is not echange]

    # ------------------------------------------------------------ what the mailbox said

    def tool_row(self, echange: Echange) -> bool:
        """A row the tool appended for a reply, its Résultat still empty."""
        return any(e is echange for e in self.tool_rows)

    def reponse(self, nom: str) -> tuple[datetime.date, bool] | None:
        """The client's latest reply no exchange records yet (a row of his dated on or after
        it, other than the tool's own unfilled one): (its day, whether the pause is over)."""
        key = client_key(nom)
        days_ = [jour for k, jour in self.reponses if k == key and jour <= self.today]
        if not days_:
            return None
        latest = max(days_)
        if any(client_key(e.client) == key and e.jour >= latest and not self.tool_row(e)
               for e in self.echanges):
            return None
        return latest, self.today >= latest + days(PAUSE_REPONSE)

    def absent_until(self, nom: str) -> datetime.date | None:
        """The return date the client's latest out-of-office states, while still to come."""
        mine = [until for k, _, until in self.absences if k == client_key(nom)]
        return mine[-1] if mine and mine[-1] is not None and mine[-1] > self.today else None

    def failing(self, nom: str) -> set[str]:
        """Every address a message to this client bounced from (lower-cased)."""
        return {a for r in self.rebonds if r.client == client_key(nom) for a in r.adresses}

    def add_reglement(self, client: str, montant: Decimal, factures: tuple[str, ...]) -> None:
        self.reglements.append(Reglement(jour=self.today, montant=money(montant), client=client,
                                         factures=factures, libelle="virement",
                                         row=len(self.reglements) + 2))

    def plateforme(self, ligne: Ligne) -> int | None:
        """The code of the invoice's latest platform status when it acts (207, 208, 210, 211,
        212, 213, and 0 for a row that could not be read), else None: the latest by date wins, the later imported on the same date;
        a later status without effect (205 Approuvée…) lifts the earlier ones."""
        mine = [(s.jour, i, s) for i, s in enumerate(self.statuts) if s.numero == ligne.numero]
        if not mine or ligne.avoir:
            return None
        jour, _, latest = max(mine, key=lambda t: (t[0], t[1]))
        return latest.code if latest.code in (0, 207, 208, 210, 211, 212, 213) else None

    def platform_since(self, ligne: Ligne) -> datetime.date | None:
        mine = [(s.jour, i, s) for i, s in enumerate(self.statuts) if s.numero == ligne.numero]
        return max(mine, key=lambda t: (t[0], t[1]))[2].jour if mine else None

    def closed(self, ligne: Ligne) -> bool:
        """Marked Payée by the user, or cashed according to the platform (212)."""
        return ligne.statut == "payee" or self.plateforme(ligne) == 212

    # ------------------------------------------------------------ the records the tool reads

    def to_facture(self, ligne: Ligne, row: int) -> Facture:
        return Facture(numero=ligne.numero, client=ligne.client, echeance=ligne.echeance,
                       montant=ligne.montant, paye=ligne.paye, date_facture=ligne.date_facture,
                       statut=ligne.statut, promesse=ligne.promesse, row=row,
                       facture_liee=ligne.imputee_sur or "")

    def classeur(self) -> Classeur:
        """What the read stage gives for the workbook (Paiements rows counted by the read
        stage's own `apply_reglements`)."""
        classeur = Classeur(
            factures=tuple(self.to_facture(l, i) for i, l in enumerate(self.lignes, start=2)),
            clients=dict(self.clients), echanges=tuple(self.echanges),
            versements=tuple(self.versements))
        return apply_reglements(classeur, list(self.reglements), "Paiements")

    # ------------------------------------------------------------ the model's bookkeeping

    def allocate(self) -> dict[str, Compte]:
        """SPEC §5's client account, by client key: payments and credit notes naming an invoice
        go to it, the rest to the client's oldest open invoices; each euro once; a credit note
        with Statut Payée is closed. Payments waiting in À vérifier count once decided."""
        comptes = {}
        for key, client in self.clients.items():
            mine = [l for l in self.lignes if client_key(l.client) == key]
            # Oldest first, the disputed ones last (SPEC §5 and the README: a client who
            # disputes an invoice and pays without a word pays the others).
            invoices = sorted((l for l in mine if not l.avoir and not self.closed(l)),
                              key=lambda l: (self.disputed(l) or self.plateforme(l) in (
                                  0, 208, 210, 213), l.echeance, l.numero))
            reste = {l.numero: max(l.montant - l.paye, ZERO) for l in invoices}
            paid = {l.numero: min(l.paye, l.montant) for l in invoices}
            payments = [(r.montant, r.factures) for r in self.reglements
                        if client_key(r.client) == key]
            payments += [(a.montant, (a.numero,)) for a in self.attentes
                         if a.decidee and client_key(a.client) == key]
            credits = [(l.numero, -(l.montant - l.paye), (l.imputee_sur,) if l.imputee_sur
                        else ()) for l in mine if l.avoir and l.statut != "payee"
                       and l.montant - l.paye < 0]
            left_credits = {}

            closed = {l.numero for l in mine if not l.avoir and self.closed(l)}

            def spread(amount: Decimal, named: tuple[str, ...], payment: bool) -> Decimal:
                if payment and named and all(n in closed for n in named):
                    return ZERO  # a payment of an invoice marked Payée is that payment
                # A credit note on an invoice marked Payée is the client's money: it goes to
                # his other open invoices, like an overpayment (README, Lettrage).
                order = [n for n in named if n in reste] + [l.numero for l in invoices
                                                           if l.numero not in named]
                for numero in order:
                    part = min(amount, reste[numero])
                    reste[numero] -= part
                    if payment:
                        paid[numero] += part
                    amount -= part
                    if amount <= 0:
                        break
                return amount

            # Named items first (they go to their invoice), then the others, oldest first.
            for amount, named in sorted(payments, key=lambda p: not p[1]):
                spread(amount, named, True)
            for numero, amount, named in sorted(credits, key=lambda c: not c[2]):
                left_credits[numero] = spread(amount, named, False)
            comptes[key] = Compte(reste, left_credits, paid)
        return comptes

    # ------------------------------------------------------------ why the model holds an invoice

    def holds(self, ligne: Ligne, canal: str) -> list[str]:
        """Why nothing may be done today for this invoice on `canal` (empty: it may)."""
        today = self.today
        why = []
        if ligne.statut:
            why.append(f"Statut {ligne.statut}")
        code = self.plateforme(ligne)
        if code in (0, 207, 208, 210, 212, 213):
            why.append(f"statut {code} de la plateforme")
        elif code == 211 and canal in ("email", "courrier", "recouvrement") and \
                today <= self.platform_since(ligne) + days(DELAI_PAIEMENT_ANNONCE):
            why.append(f"paiement transmis le {self.platform_since(ligne)} (plateforme)")
        client = self.client(ligne.client)
        if client.pause_jusqu_au is not None and client.pause_jusqu_au >= today:
            why.append(f"client en pause jusqu'au {client.pause_jusqu_au}")
        mine = [e for e in self.echanges if self.concerne(e, ligne)]
        if any(e.resultat == "litige" for e in mine):
            why.append("litige (Échanges)")
        promises = [e.promesse for e in mine if e.promesse] + (
            [ligne.promesse] if ligne.promesse else [])
        if promises and max(promises) >= today:
            why.append(f"paiement promis le {max(promises)}")
        if canal in ("email", "courrier", "recouvrement"):
            announced = [e for e in mine if e.resultat == "paiement annoncé" and not e.promesse
                         and today <= e.jour + days(DELAI_PAIEMENT_ANNONCE)]
            if announced:
                why.append(f"paiement annoncé le {announced[-1].jour} (sans date)")
        if canal == "appel":
            asked = [e for e in self.echanges if client_key(e.client) == client_key(ligne.client)
                     and e.rappeler_le is not None]
            if asked:
                latest = max(asked, key=lambda e: (e.rappeler_le, e.jour))
                if latest.rappeler_le > today:
                    why.append(f"rappeler le {latest.rappeler_le} (échange du {latest.jour})")
        if any(not a.decidee and a.client == ligne.client for a in self.attentes):
            why.append("paiement à vérifier (À vérifier)")
        reponse = self.reponse(ligne.client)
        if canal in ("email", "courrier", "recouvrement") and reponse and not reponse[1]:
            why.append(f"réponse du {reponse[0]} pas encore notée dans Échanges")
        if canal == "email":
            if self.absent_until(ligne.client):
                why.append(f"absent jusqu'au {self.absent_until(ligne.client)}")
            failing = self.failing(ligne.client)
            if failing and all(a.lower() in failing for a in client.emails):
                why.append(f"adresse en échec ({', '.join(client.emails)})")
        if self.plan_respected(ligne):
            why.append("échéancier respecté")
        return why

    def disputed(self, ligne: Ligne) -> bool:
        return ligne.statut == "litige" or self.plateforme(ligne) == 207 or any(
            e.resultat == "litige" for e in self.echanges if self.concerne(e, ligne))

    def concerne(self, echange: Echange, ligne: Ligne) -> bool:
        return client_key(echange.client) == client_key(ligne.client) and (
            not echange.factures or ligne.numero in echange.factures)

    def plan_respected(self, ligne: Ligne) -> bool:
        plan = sorted((v for v in self.versements if v.numero == ligne.numero),
                      key=lambda v: v.jour)
        if not plan or plan[-1].jour < self.today:
            return False
        compte = self.allocate()[client_key(ligne.client)]
        # The plan spreads what remained when it was agreed: what was paid before pays no
        # instalment.
        before = max(ligne.montant - sum((v.montant for v in plan), ZERO), ZERO)
        paid = compte.paye_hors_avoirs.get(ligne.numero, ZERO) - before
        due = sum((v.montant for v in plan if v.jour < self.today), ZERO)
        return paid >= due


# ====================================================================== one day, for real


@dataclass(eq=False)
class Day:
    """Everything one day produced."""

    today: datetime.date
    classeur: Classeur        # as decide() read it (payments, waiting lines applied)
    plan: object              # records.Plan
    rendus: dict              # Action -> Rendu
    contexts: dict            # Action -> the renderer's context (amounts, credit notes)
    statuts: dict             # Action -> journal status given
    suivis: dict              # numero -> Suivi (Prochaine action, Étape)
    appels: list
    history: list             # journal facts after the day
    entries: list             # journal entries after the day
    comptes: dict[str, Compte]
    seen: Classeur = None     # as_seen(classeur, today), what reports read
    libelle: object = str

    @functools.cached_property
    def tableau(self):
        """The dashboard (pandas: the slowest part of a day, made only when checked)."""
        return compute(self.seen, self.history, self.today, self.libelle, self.appels)


def make_config(folder: Path, mode: str = "dossier", remerciement: bool = False,
                agence: str = "") -> Config:
    return Config(path=folder / "config.toml", classeur=folder / "relances.xlsx",
                  lettres=folder / "lettres",
                  entreprise=Entreprise(nom="Atelier Dupont SARL",
                                        adresse="12 rue des Lilas\n69003 Lyon",
                                        siret="123 456 782 00002",
                                        email="compta@atelier-dupont.fr",
                                        telephone="04 72 00 00 00",
                                        iban="FR76 3000 1007 9412 3456 7890 185",
                                        signataire="Marie Dupont, gérante"),
                  envoi=Envoi(mode=mode, dossier=folder / "sortie",
                              expediteur="Atelier Dupont <compta@atelier-dupont.fr>"),
                  regles=Regles(remerciement=remerciement),
                  paiement=Paiement(qr=False),  # the QR code is not what is checked: speed
                  recouvrement_email=agence,
                  # The mailbox's rules (issue 21); the harness records what it brought back.
                  boite=Boite(hote="imap.atelier-dupont.fr", utilisateur="compta",
                              pause_reponse_jours=PAUSE_REPONSE, respecter_absence=True))


class Harness:
    """A temp folder holding a real journal; `live(book)` runs the book's current day."""

    def __init__(self, mode: str = "dossier", remerciement: bool = False, agence: str = ""):
        self.folder = Path(tempfile.mkdtemp(prefix="relances-simulation-"))
        self.config = make_config(self.folder, mode, remerciement, agence)
        self.mode = mode
        self.journal = Journal.open(self.config.journal)
        # Not under test here, and each begin/finish would wait for the disk.
        self.journal._db.execute("PRAGMA synchronous = OFF")
        self.recorded_waiting: set[str] = set()
        self.recorded_statuts = 0

    def close(self) -> None:
        self.journal.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def open_calls(self) -> list:
        return [e for e in self.journal.entries("a_faire") if e.canal == "appel"]

    def sync_waiting(self, book: Book) -> None:
        """Payments waiting in À vérifier live in the journal (operations), as statements put
        them there; a decision moves them to « affecté »."""
        new = [a for a in book.attentes if a.cle not in self.recorded_waiting]
        if new:
            self.journal.record_operations([Pointage(
                cle=a.cle, jour=a.jour, montant=a.montant, libelle="VIR SEPA", contrepartie="",
                reference="", fichier="releve.csv", statut="a_verifier", client="",
                factures=(), motif="montant ambigu", candidats=((a.client, a.numero, a.montant),),
                ecrit=False) for a in new], self.now(book.today))
            self.recorded_waiting.update(a.cle for a in new)
        for a in book.attentes:
            if a.decidee:
                self.journal.decide_operation(a.cle, "affecte", a.client, (a.numero,),
                                              "décision dans À vérifier")

    # ------------------------------------------------------------ the mailbox

    def emails_to(self, nom: str) -> list:
        """The emails that went to this client (not the agency's), oldest first."""
        return [e for e in self.journal.entries() if e.canal == "email" and e.message_id
                and client_key(e.client) == client_key(nom) and e.etape not in TO_THE_AGENCY
                and e.statut in ("envoye", "prepare", "incertain", "non_remis")]

    def receive(self, vu: Vu, today: datetime.date) -> None:
        """A message read from the mailbox, remembered as boite.effets does."""
        self.journal.record_messages([vu], self.now(today))

    def faits_of(self, action_id: int) -> tuple[tuple[str, str], ...]:
        return tuple((r[0], r[1]) for r in self.journal._db.execute(
            "SELECT facture, cle FROM faits WHERE action_id = ?", (action_id,)))

    @staticmethod
    def now(today: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(today, datetime.time(8, 0))

    def live(self, book: Book) -> Day:
        today, config, journal = book.today, self.config, self.journal
        self.sync_waiting(book)
        if len(book.statuts) > self.recorded_statuts:  # imported as importer.py does
            journal.record_statuts(book.statuts[self.recorded_statuts:], self.now(today))
            self.recorded_statuts = len(book.statuts)
        lecture, _ = prepare(Lecture(book.classeur(), "simulation"), journal)
        # The mailbox, as run._read_mailbox gives it to the decision: what the journal
        # remembers of it (the rules record it there, as boite.effets.lire_et_trier does).
        classeur = avec_courriels(lecture.classeur, journal)
        # As a run does: a call task an exchange answered is closed before deciding.
        from relances.appels import close_calls
        for cloture in close_calls(self.open_calls(), as_seen(classeur, today)):
            journal.finish(cloture.action_id, cloture.statut, cloture.detail)
        history = journal.history()
        livre = tenir(classeur, history, today, config)  # the client accounts, once
        plan = decide(classeur, history, today, config, livre)
        renderer = Renderer(config, classeur, today, history, journal.entries(), livre=livre)
        # Same templates every day: compile them once (a Renderer makes its own each run).
        self.envs = getattr(self, "envs", None) or renderer.envs
        renderer.envs = self.envs
        rendus, contexts = {}, {}
        for action in plan.actions:
            if action.is_message or action.canal == "recouvrement":
                rendus[action] = renderer.render(action)
                contexts[action] = renderer.context(action)
        statuts = {action: record_action(journal, action, rendus.get(action), today,
                                         self.now(today), self.folder, self.mode)
                   for action in plan.actions}
        history = journal.history()
        livre = tenir(classeur, history, today, config)  # after today's actions, as written
        suivis = follow_up(classeur, history, today, config, livre)
        seen = livre.classeur
        appels, _litiges = call_list(livre, self.open_calls(), history, today, config.libelle,
                                     config.regles.delai_paiement_annonce_jours,
                                     config.boite.pause_reponse_jours)
        return Day(today, classeur, plan, rendus, contexts, statuts, suivis, appels,
                   history, journal.entries(), book.allocate(), seen, config.libelle)


def record_action(journal: Journal, action: Action, rendu, today: datetime.date,
                  now: datetime.datetime, folder: Path, mode: str) -> str:
    """Record one action as run._carry_out does in dossier mode (emails « prepare ») or smtp
    mode (« envoye »); letters and hand-offs « a_faire » with their file; calls « a_faire ».
    Returns the status given ("echec": not recorded, as the run would)."""
    out = Path("sortie") / today.isoformat()
    slug = re.sub(r"[^a-z0-9]+", "-", action.client.lower()).strip("-")
    if action.canal == "email":
        if action.etape == "transmission" and not rendu.annexes:
            return "echec"
        action_id, _ = journal.begin(
            action, today, now, message_id=f"<{uuid.uuid4()}@simulation>",
            fichier=lambda i: str(out / "emails" / f"{i:05d}-{slug}-{action.etape}.eml"))
        statut = "prepare" if mode == "dossier" else "envoye"
        journal.finish(action_id, statut)
        return statut
    if action.canal == "courrier":
        action_id, _ = journal.begin(
            action, today, now,
            fichier=lambda i: str(out / "courriers" / f"{i:05d}-{slug}-{action.etape}.pdf"))
        journal.finish(action_id, "a_faire")
        return "a_faire"
    if action.canal == "recouvrement":
        action_id, fichier = journal.begin(
            action, today, now, fichier=lambda i: str(out / "recouvrement" / f"{i:05d}-{slug}"))
        dossier = folder / fichier
        dossier.mkdir(parents=True, exist_ok=True)  # what the agency email zips (no PDF here)
        (dossier / "chronologie.csv").write_text("Date;Étape\n", encoding="utf-8")
        journal.finish(action_id, "a_faire")
        return "a_faire"
    journal.begin(action, today, now, statut="a_faire")
    return "a_faire"


# ====================================================================== reading what was written


def plain(text: str) -> str:
    """Rendered text or HTML as one line of words: tags dropped, every space a plain one."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", text or ""))
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


def montant_text(value: Decimal) -> str:
    return plain(formats.montant(value))


AMOUNT = r"-?\d{1,3}(?: \d{3})*,\d{2} €"


class Dates:
    """French long dates (« 1er novembre 2026 ») back to dates, over the simulation's span."""

    def __init__(self, start: datetime.date, span: int = 800):
        self.by_text = {plain(formats.date_longue(start + days(i))): start + days(i)
                        for i in range(-400, span)}

    def parse(self, text: str) -> datetime.date | None:
        return self.by_text.get(plain(text))


LONG_DATE = r"\d{1,2}(?:er)? [a-zéû]+ \d{4}"


def texts_of(rendu) -> str:
    """All the words a rendered action shows the client (or the agency)."""
    return " ".join(plain(t) for t in (rendu.texte, rendu.lettre) if t)


def deadline_given(action: Action, rendu, day: datetime.date, config: Config,
                   dates: Dates) -> datetime.date | None:
    """The last day a message gave the client, inclusive (None: it gave none).

    Prefer the decision's own field once it exists (issue 18: the deadline is stored); else the
    date the client read (« au plus tard le … »); else, for a letter whose deadline runs « à
    compter de la réception », the tool's own end of it (`policy.deadline_end`)."""
    explicit = getattr(action, "date_limite", None)
    if explicit is not None:
        return explicit
    if rendu is not None:
        found = re.search(rf"au plus tard le ({LONG_DATE})", texts_of(rendu))
        if found:
            return dates.parse(found.group(1))
    if action.canal == "courrier" and action.delai_jours:
        etape = config.etape(action.etape)
        if etape is not None:
            return deadline_end(etape, day, config)
    return None


# ====================================================================== what earlier days said


@dataclass(frozen=True)
class Deadline:
    client: str
    factures: frozenset[str]
    given_on: datetime.date
    until: datetime.date
    etape: str


@dataclass(frozen=True)
class Deduction:
    """A credit note deducted by a demand (message, letter or dossier)."""

    demande: int            # a number per demand
    day: datetime.date
    client: str
    factures: frozenset[str]
    avoir: str
    montant: Decimal
    sur: frozenset[str] = frozenset()  # the invoices the demand says the credit was put on


@dataclass
class Ledger:
    deadlines: list[Deadline] = field(default_factory=list)
    deductions: list[Deduction] = field(default_factory=list)
    # (client key, invoice) -> the latest demand that listed it
    latest_demand: dict[tuple[str, str], int] = field(default_factory=dict)
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def undelivered(self, client: str, jour: datetime.date, etape: str) -> None:
        """A message came back undelivered: the deadline it gave was never read."""
        self.deadlines = [d for d in self.deadlines if not (
            client_key(d.client) == client_key(client) and d.given_on == jour
            and d.etape == etape)]

    def note(self, day: Day, config: Config, dates: Dates) -> None:
        """Remember what today's messages said: their deadlines, the credits they deducted."""
        for action in day.plan.actions:
            if day.statuts.get(action) == "echec" or action.etape in NOT_A_CHASE:
                continue
            rendu = day.rendus.get(action)
            until = deadline_given(action, rendu, day.today, config, dates)
            if until is not None:
                self.deadlines.append(Deadline(action.client, frozenset(action.factures),
                                               day.today, until, action.etape))
            context = day.contexts.get(action)
            if context is None:
                continue
            number = next(self.numbers)
            for numero in action.factures:
                self.latest_demand[(client_key(action.client), numero)] = number
            left = -context["montant_avoirs"]  # what this demand deducted in all
            for avoir in context["avoirs"]:
                part = min(-avoir.reste, left)
                left -= part
                if part > 0:
                    sur = frozenset(getattr(avoir, "factures", ()) or action.factures)
                    self.deductions.append(Deduction(number, day.today, action.client,
                                                     frozenset(action.factures), avoir.numero,
                                                     part, sur))


# ====================================================================== the invariants


def _where(day: Day, client: str, factures) -> str:
    return f"le {day.today.isoformat()}, {client}, factures {', '.join(sorted(factures))}"


def chases(day: Day):
    """Today's actions that chase the client (a thank-you or the agency's copy do not)."""
    for action in day.plan.actions:
        if action.etape not in NOT_A_CHASE and day.statuts.get(action) != "echec":
            yield action


def check_no_chase_when_settled_or_held(day: Day, book: Book) -> list[str]:
    """1. No message, call, letter or hand-off for a settled invoice (the model's allocation),
    a disputed one, a promised one, a paused client, a Statut set, a payment announced, a
    payment to verify, a plan kept, a call-back date not reached (calls)."""
    found = []
    for action in chases(day):
        compte = day.comptes[client_key(action.client)]
        for numero in action.factures:
            ligne = book.ligne(numero)
            why = book.holds(ligne, action.canal)
            if compte.settled(numero):
                why.insert(0, "soldée par le compte du client (paiements et avoirs imputés)")
            if why:
                found.append(f"{_where(day, action.client, [numero])} : « {action.etape} » "
                             f"({action.canal}) alors que : {' ; '.join(why)}")
    return found


def check_no_amount_above_net_owed(day: Day, book: Book) -> list[str]:
    """2. No principal asked above what the client owes net (open invoices − payments − open
    credit notes)."""
    found = []
    for action in chases(day):
        compte = day.comptes[client_key(action.client)]
        context = day.contexts.get(action)
        principal = action.montant_du + (context["montant_avoirs"] if context else ZERO)
        if principal > compte.net:
            found.append(f"{_where(day, action.client, action.factures)} : « {action.etape} » "
                         f"demande un principal de {principal} (avoirs déduits) alors que le "
                         f"client doit {compte.net} net")
    return found


def check_no_credit_counted_twice(day: Day, book: Book, ledger: Ledger) -> list[str]:
    """2b. No credit note deducted twice.

    The rule: a demand (email, letter, dossier) is *standing* for an invoice while it
    is the latest demand that listed it and the invoice is not settled. A credit note a demand
    deducted stands with it when the demand stands for an invoice the credit was put on (the
    account imputes each credit to invoices; the message says which). On every day, the
    standing deductions add up, per credit note, to no more than the note's amount."""
    found = []
    per_note: dict[str, list[Deduction]] = defaultdict(list)
    for deduction in ledger.deductions:
        # A credit put on given invoices stands in the latest demand that listed one of them
        # (a later statement of the same invoice supersedes the earlier one), while unsettled.
        key = client_key(deduction.client)
        compte = day.comptes.get(key)
        if any(ledger.latest_demand.get((key, numero)) == deduction.demande
               and compte is not None and not compte.settled(numero)
               for numero in deduction.sur):
            per_note[deduction.avoir].append(deduction)
    for numero, deductions in per_note.items():
        total = sum((d.montant for d in deductions), ZERO)
        amount = -book.ligne(numero).montant
        if total > amount:
            said = "; ".join(f"{d.day} factures {', '.join(sorted(d.factures))} : {d.montant}"
                             for d in deductions)
            found.append(f"le {day.today}, {deductions[0].client}, avoir {numero} "
                         f"({amount}) déduit {total} au total par des demandes encore en "
                         f"vigueur : {said}")
    return found


def check_deadlines_kept(day: Day, ledger: Ledger) -> list[str]:
    """3. Nothing further for invoices whose deadline (inclusive) has not passed."""
    found = []
    for action in chases(day):
        for deadline in ledger.deadlines:
            common = deadline.factures & set(action.factures)
            if (common and client_key(deadline.client) == client_key(action.client)
                    and deadline.given_on < day.today <= deadline.until):
                found.append(f"{_where(day, action.client, common)} : « {action.etape} » "
                             f"({action.canal}) avant la fin du délai donné le "
                             f"{deadline.given_on} par « {deadline.etape} » (au plus tard le "
                             f"{deadline.until})")
    return found


def check_history_is_evidence(day: Day, book: Book, dates: Dates) -> list[str]:
    """4. Letters, emails and dossiers cite a call only with the exchange that recorded it
    (same client, that day); the Étape cell never dates a call that no exchange recorded."""
    found = []

    def exchanged(client: str, jour: datetime.date) -> bool:
        return any(client_key(e.client) == client_key(client) and e.jour == jour
                   for e in book.echanges)

    for action, rendu in day.rendus.items():
        words = texts_of(rendu)
        for text in re.findall(rf"le ({LONG_DATE}) : appel téléphonique", words):
            jour = dates.parse(text)
            if jour is not None and not exchanged(action.client, jour):
                found.append(f"{_where(day, action.client, action.factures)} : « "
                             f"{action.etape} » cite un appel du {jour} qu'aucun échange "
                             f"n'a noté")
        for event in rendu.chronologie:
            if event.canal == "appel" and not exchanged(action.client, event.jour):
                found.append(f"{_where(day, action.client, action.factures)} : le dossier "
                             f"cite un appel du {event.jour} ({event.resultat}) qu'aucun "
                             f"échange n'a noté")
    for numero, suivi in day.suivis.items():
        match = re.match(r"Appel(?: de courtoisie)? \((\d{2}/\d{2}/\d{4})\)$", suivi.etape)
        if match:
            jour = datetime.datetime.strptime(match.group(1), "%d/%m/%Y").date()
            ligne = book.ligne(numero)
            if not exchanged(ligne.client, jour):
                found.append(f"{_where(day, ligne.client, [numero])} : Étape « {suivi.etape} »"
                             f" date un appel qu'aucun échange du {jour} n'a noté")
    return found


def check_drafts_never_sent(day: Day) -> list[str]:
    """4b. A draft (dossier mode, « prepare ») is never presented as sent: not in a dossier's
    chronology, not in its text."""
    found = []
    drafts = {e.id for e in day.entries if e.statut == "prepare"}
    for action, rendu in day.rendus.items():
        words = texts_of(rendu)
        for event in rendu.chronologie:
            if "envoy" in event.resultat and "à envoyer" not in event.resultat:
                if any(e.jour == event.jour and e.id in drafts and e.etape
                       and client_key(e.client) == client_key(action.client)
                       for e in day.entries):
                    found.append(f"{_where(day, action.client, action.factures)} : le dossier "
                                 f"dit « {event.resultat} » d'un brouillon du {event.jour}")
        cites_drafts = any(e.id in drafts and client_key(e.client) == client_key(action.client)
                           and e.jour < day.today for e in day.entries)
        if rendu.chronologie and cites_drafts and "envoyés au débiteur" in words:
            found.append(f"{_where(day, action.client, action.factures)} : le dossier dit « "
                         f"envoyés au débiteur » des e-mails restés brouillons (préparés)")
    return found


def check_no_courteous_after_notice(day: Day) -> list[str]:
    """5. No « oubli » template after a formal notice or a hand-off for that client, nor on the
    day of a letter; no thank-you to a client whose dossier is with the agency."""
    found = []
    earlier = defaultdict(set)
    for fait in day.history:
        if fait.etape == "mise_en_demeure" or fait.canal == "recouvrement":
            earlier[client_key(fait.client)].add((fait.jour, fait.etape))
    letters_today = {client_key(a.client) for a in day.plan.actions if a.canal == "courrier"}
    for action in day.plan.actions:
        key = client_key(action.client)
        if action.modele in COURTEOUS:
            if earlier[key]:
                jour, etape = min(earlier[key])
                found.append(f"{_where(day, action.client, action.factures)} : modèle courtois "
                             f"« {action.modele} » après « {etape} » du {jour}")
            if key in letters_today:
                found.append(f"{_where(day, action.client, action.factures)} : modèle courtois "
                             f"« {action.modele} » le jour d'un courrier")
        if action.etape == "remerciement" and any(e == "recouvrement" for _, e in earlier[key]):
            found.append(f"{_where(day, action.client, action.factures)} : remerciement au "
                         f"débiteur alors que son dossier est chez l'agence")
    return found


HELD_WORDS = ("litige", "échéancier", "promis", "pause", "statut", "vérifier", "délai")


def check_old_debts_handed_off_or_held(day: Day, book: Book, ledger: Ledger) -> list[str]:
    """6. Every invoice more than 90 days past due, not settled, is with the agency (a
    recouvrement fact for it) or held with a reason, or has a next step planned: never
    « aucune » without a reason of the list."""
    found = []
    handed = {(client_key(f.client), f.facture) for f in day.history if f.canal == "recouvrement"}
    for ligne in book.invoices():
        key = client_key(ligne.client)
        if (day.today - ligne.echeance).days <= 90 or day.comptes[key].settled(ligne.numero):
            continue
        if (key, ligne.numero) in handed:
            continue
        suivi = day.suivis.get(ligne.numero)
        text = suivi.prochaine_action if suivi else ""
        if book.holds(ligne, "recouvrement") or _deadline_running(ledger, ligne, day.today):
            continue
        planned = text and not text.startswith("aucune")
        if not planned and not any(w in text.lower() for w in HELD_WORDS):
            found.append(f"{_where(day, ligne.client, [ligne.numero])} : "
                         f"{(day.today - ligne.echeance).days} jours de retard, "
                         f"{day.comptes[key].reste[ligne.numero]} dû, ni chez l'agence ni "
                         f"retenue pour une raison : Prochaine action « {text} »")
    return found


def _deadline_running(ledger: Ledger, ligne: Ligne, today: datetime.date) -> bool:
    return any(ligne.numero in d.factures and client_key(d.client) == client_key(ligne.client)
               and d.given_on <= today <= d.until for d in ledger.deadlines)


def check_figures_agree(day: Day, book: Book) -> list[str]:
    """7. One figure everywhere: the amount a message shows is the action's montant_reclame,
    the JSON plan's and the journal's."""
    found = []
    plan = plan_json(Resultat(day.plan, day.classeur))
    journal_amounts = {(e.client, tuple(e.factures), e.etape): e.montant
                       for e in day.entries if e.jour == day.today}
    for action, data in zip(day.plan.actions, plan["actions"]):
        where = _where(day, action.client, action.factures)
        if data["amount_claimed"] != float(action.montant_reclame):
            found.append(f"{where} : JSON amount_claimed {data['amount_claimed']} ≠ "
                         f"{action.montant_reclame}")
        recorded = journal_amounts.get((action.client, action.factures, action.etape))
        if recorded is not None and Decimal(recorded) != action.montant_reclame:
            found.append(f"{where} : journal {recorded} ≠ {action.montant_reclame}")
        rendu = day.rendus.get(action)
        if rendu is None or action.etape in ("remerciement", "paiement_agence"):
            continue
        words = texts_of(rendu)
        wanted = montant_text(action.montant_reclame)
        if wanted not in words:
            found.append(f"{where} : « {action.etape} » ne montre pas {wanted} "
                         f"(montant_reclame)")
        for phrase, shown in re.findall(rf"(Montant à régler|la somme de|paiement de) :? ?"
                                        rf"({AMOUNT})", words):
            if shown != wanted:
                found.append(f"{where} : « {action.etape} » : « {phrase} {shown} » ≠ "
                             f"{wanted} (montant_reclame)")
    return found


def check_call_list(day: Day, book: Book) -> list[str]:
    """7b. À appeler: each client's net overdue amount (the model's allocation), the same as
    the call action's in the plan; only clients who owe it, not held, not with the agency."""
    found = []
    overdue_net = _net_overdue_chaseable(day, book)
    for row in day.appels:
        key = client_key(row.client)
        net = overdue_net.get(key, ZERO)
        if key not in overdue_net and any(v.numero == l.numero for l in book.invoices(row.client)
                                          for v in book.versements):
            net = row.montant_du  # a plan: see _net_overdue_chaseable
        if row.montant_du != net and not row.agence:
            found.append(f"le {day.today}, {row.client} : À appeler montre {row.montant_du}, "
                         f"le compte du client dit {net} net échu")
        if net <= 0 and not row.agence:  # (the agency's rows: what it is owed, held or not)
            found.append(f"le {day.today}, {row.client} : sur la liste À appeler sans rien "
                         f"devoir net")
        held = [w for l in book.invoices(row.client) for w in book.holds(l, "appel")
                if not day.comptes[key].settled(l.numero)]
        with_agency = [l.numero for l in book.invoices(row.client)
                       if not day.comptes[key].settled(l.numero)
                       and any(f.canal == "recouvrement" and f.facture == l.numero
                               for f in day.history)]
        if with_agency and not row.agence:
            found.append(f"le {day.today}, {row.client} : parmi les appels à passer alors que "
                         f"son dossier est chez l'agence ({', '.join(with_agency)})")
        elif row.agence and not with_agency:
            found.append(f"le {day.today}, {row.client} : listé chez l'agence sans dossier "
                         "ouvert à l'agence")
        elif row.agence:
            continue  # listed apart: the agency calls, whatever holds the client
        elif held and all(book.holds(l, "appel") for l in book.invoices(row.client)
                          if not day.comptes[key].settled(l.numero)):
            found.append(f"le {day.today}, {row.client} : sur la liste À appeler alors que "
                         f"tout est retenu ({'; '.join(sorted(set(held)))})")
    for action in day.plan.actions:
        if action.canal != "appel":
            continue
        row = next((r for r in day.appels if client_key(r.client) == client_key(action.client)),
                   None)
        if row is not None and row.montant_du != action.montant_du:
            found.append(f"{_where(day, action.client, action.factures)} : appel à "
                         f"{action.montant_du} dans le plan (JSON), {row.montant_du} sur À "
                         f"appeler")
    return found


def check_dashboard(day: Day, book: Book) -> list[str]:
    """7c. The dashboard: each debtor's figure is the client's net; a credit note marked Payée
    is not counted open. Checked on Mondays only: the dashboard (pandas) costs more than the
    rest of a day, and what it gets wrong stays wrong for days."""
    found = []
    if day.today.weekday() != 0:
        return found
    for debiteur in day.tableau.debiteurs:
        net = day.comptes[client_key(debiteur.client)].net
        if debiteur.montant != net:
            found.append(f"le {day.today}, {debiteur.client} : tableau de bord {debiteur.montant}"
                         f", le compte du client dit {net} net")
    open_credit = sum((-(l.montant - l.paye) for l in book.credit_notes()
                       if l.statut != "payee" and l.montant - l.paye < 0), ZERO)
    if day.tableau.avoirs > open_credit:
        found.append(f"le {day.today} : tableau de bord, avoirs {day.tableau.avoirs} > avoirs "
                     f"ouverts {open_credit} (un avoir Payée compté ouvert ?)")
    return found


def _net_overdue_chaseable(day: Day, book: Book) -> dict[str, Decimal]:
    """Per client: what remains, after allocation, of the overdue invoices a call is about
    (what it asks for): no Statut, not in dispute, not held by a promise to come, a pause, a
    payment waiting in À vérifier or a plan kept (a « rappeler le » is about when, not how
    much). A client with a plan gets no figure: the tool asks for the instalments fallen due,
    which the model does not compute."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    planned = {client_key(l.client) for l in book.invoices()
               if any(v.numero == l.numero for v in book.versements)}
    for ligne in book.invoices():
        key = client_key(ligne.client)
        if ligne.statut or ligne.echeance >= day.today:
            continue
        if any(not w.startswith("rappeler le") for w in book.holds(ligne, "appel")):
            continue
        totals[key] += day.comptes[key].reste.get(ligne.numero, ZERO)
    for key in planned:
        totals.pop(key, None)
    return totals


# ====================================================================== the mailbox (issue 21)


def _to_the_client(day: Day, canaux: tuple[str, ...]):
    """Today's actions on these channels that reach the client (the agency's emails do not)."""
    for action in day.plan.actions:
        if (action.canal in canaux and action.etape not in TO_THE_AGENCY
                and day.statuts.get(action) != "echec"):
            yield action


def check_reply_pauses(day: Day, book: Book) -> list[str]:
    """8. No email, letter or hand-off for a client whose reply is pending (no exchange
    recorded since, the tool's own row counting once its Résultat is filled) during the pause;
    once it is over, the client is on À appeler unless held otherwise."""
    found = []
    for action in _to_the_client(day, ("email", "courrier", "recouvrement")):
        reponse = book.reponse(action.client)
        if reponse and not reponse[1]:
            found.append(f"{_where(day, action.client, action.factures)} : « {action.etape} »"
                         f" ({action.canal}) alors que sa réponse du {reponse[0]} n'est pas "
                         f"encore notée dans Échanges")
    listed = {client_key(r.client) for r in day.appels}
    overdue = _net_overdue_chaseable(day, book)
    for key, client in book.clients.items():
        reponse = book.reponse(client.nom)
        if not reponse or not reponse[1] or key in listed:
            continue
        if overdue.get(key, ZERO) <= 0 or day.comptes[key].net <= 0:
            continue  # nothing to call about
        if any(w.startswith("rappeler le") for l in book.invoices(client.nom)
               for w in book.holds(l, "appel")):
            continue  # not before the day the client asked
        found.append(f"le {day.today}, {client.nom} : répondu le {reponse[0]}, rien noté "
                     f"depuis {PAUSE_REPONSE} jours, {overdue[key]} échu : absent d'À appeler")
    return found


def check_absence_respected(day: Day, book: Book) -> list[str]:
    """9. No email to a client before the return date its out-of-office stated."""
    found = []
    for action in _to_the_client(day, ("email",)):
        until = book.absent_until(action.client)
        if until:
            found.append(f"{_where(day, action.client, action.factures)} : « {action.etape} » "
                         f"par e-mail alors que le client est absent jusqu'au {until}")
    return found


def check_bounced_addresses(day: Day, book: Book) -> list[str]:
    """10. No email to an address a message bounced from; the bounced step is done again (same
    step) before any later written step of those invoices."""
    found = []
    for action in _to_the_client(day, ("email",)):
        failing = book.failing(action.client)
        used = sorted(a for a in action.destinataires if a.lower() in failing)
        if used:
            found.append(f"{_where(day, action.client, action.factures)} : « {action.etape} » "
                         f"envoyé à {', '.join(used)}, adresse revenue non remise")
    rank = {etape: i for i, etape in enumerate(WRITTEN_STEPS)}
    for rebond in book.rebonds:
        for numero, cle in rebond.faits:
            if cle not in rank:
                continue
            mine = [f for f in day.history if f.facture == numero
                    and client_key(f.client) == rebond.client and f.cle in rank]
            if any(f.jour <= rebond.le and rank[f.cle] >= rank[cle] for f in mine):
                continue  # that step (or a later one) was done otherwise already
            later = sorted((f for f in mine if f.jour > rebond.le and rank[f.cle] > rank[cle]),
                           key=lambda f: f.jour)
            # Done again: an email of that step went between the bounce and the later step
            # (one that bounced in turn afterwards still counts: nobody could know then).
            # A message grouping it under another step (a broken promise, a later step of the
            # client's other invoices) records it at its own step: that counts too.
            redone = (any(e.etape == cle and numero in e.factures and e.canal == "email"
                          and rebond.le <= e.jour < later[0].jour for e in day.entries)
                      or any(f.cle == cle and rebond.le <= f.jour < later[0].jour
                             for f in mine)) if later else True
            if later and not redone:
                found.append(f"le {day.today}, {rebond.client}, facture {numero} : « {cle} » "
                             f"du {rebond.jour} revenu non remis, « {later[0].cle} » le "
                             f"{later[0].jour} sans « {cle} » refait avant")
    return found


def cited_emails(rendu, dates: Dates) -> list[tuple[datetime.date, str]]:
    """The emails a rendered action cites: (day, step as read, lower-cased): its text's history
    (« le 3 octobre 2026 : premier rappel (e-mail) »), its letter's, its dossier's chronology."""
    import json

    cited = []
    for jour, label in re.findall(rf"le ({LONG_DATE}) : ([^;()]+?) \(e-mail",
                                  texts_of(rendu)):
        cited.append((dates.parse(jour), label.strip().lower()))
    if rendu.lettre:
        for contact in json.loads(rendu.lettre)["donnees"].get("historique", ()):
            match = re.match(r"(.+?) \(e-mail", plain(contact["description"]))
            if match:
                cited.append((dates.parse(contact["jour"]), match.group(1).strip().lower()))
    for event in rendu.chronologie:
        if event.canal == "email":
            cited.append((event.jour, plain(event.quoi).lower()))
    return cited


def check_undelivered_never_cited(day: Day, book: Book, dates: Dates) -> list[str]:
    """11. No letter, email, dossier or chronology cites a message that came back undelivered
    (unless another email of that step went to the client that day)."""
    found = []
    for action, rendu in day.rendus.items():
        key = client_key(action.client)
        bounced = {(r.jour, plain(day.libelle(cle)).lower()): r for r in book.rebonds
                   if r.client == key for _, cle in r.faits}
        if not bounced:
            continue
        delivered = {(f.jour, plain(day.libelle(f.etape)).lower()) for f in day.history
                     if f.canal == "email" and client_key(f.client) == key}
        for cited in cited_emails(rendu, dates):
            if cited in bounced and cited not in delivered:
                found.append(f"{_where(day, action.client, action.factures)} : « "
                             f"{action.etape} » cite « {cited[1]} » du {cited[0]}, revenu non "
                             f"remis")
    return found


INVARIANTS = {
    "1": ("no chase when settled or held", lambda day, book, ledger, dates:
          check_no_chase_when_settled_or_held(day, book)),
    "2": ("no amount above the net owed", lambda day, book, ledger, dates:
          check_no_amount_above_net_owed(day, book)),
    "2b": ("no credit note counted twice", lambda day, book, ledger, dates:
           check_no_credit_counted_twice(day, book, ledger)),
    "3": ("deadlines kept", lambda day, book, ledger, dates: check_deadlines_kept(day, ledger)),
    "4": ("a call is cited only with its exchange", lambda day, book, ledger, dates:
          check_history_is_evidence(day, book, dates)),
    "4b": ("a draft is never called sent", lambda day, book, ledger, dates:
           check_drafts_never_sent(day)),
    "5": ("no courteous template after a formal notice", lambda day, book, ledger, dates:
          check_no_courteous_after_notice(day)),
    "6": ("old debts handed off or held", lambda day, book, ledger, dates:
          check_old_debts_handed_off_or_held(day, book, ledger)),
    "7": ("figures agree: message, JSON, journal", lambda day, book, ledger, dates:
          check_figures_agree(day, book)),
    "7b": ("figures agree: À appeler", lambda day, book, ledger, dates:
           check_call_list(day, book)),
    "7c": ("figures agree: dashboard", lambda day, book, ledger, dates:
           check_dashboard(day, book)),
    "8": ("a reply pauses written steps, then a call", lambda day, book, ledger, dates:
          check_reply_pauses(day, book)),
    "9": ("no email before an absence's return date", lambda day, book, ledger, dates:
          check_absence_respected(day, book)),
    "10": ("no email to a bounced address; its step done again", lambda day, book, ledger,
           dates: check_bounced_addresses(day, book)),
    "11": ("an undelivered message is never cited", lambda day, book, ledger, dates:
           check_undelivered_never_cited(day, book, dates)),
}
