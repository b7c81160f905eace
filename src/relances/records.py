"""Domain records: what the workbook says, what the journal remembers, what a run decides.

Every record is a frozen dataclass. Money is `Decimal`, dates are `datetime.date`. Records read
from the workbook carry the sheet row they came from, so that any message about them can point
the user at the right cell.
"""

from __future__ import annotations

import datetime
import functools
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from .efacture.modeles import StatutFacture

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Statut values that stop every automatic action (normalised spelling -> label shown).
STATUTS = {
    "payee": "Payée",
    "litige": "Litige",
    "pause": "Pause",
    "contentieux": "Contentieux",
}

@dataclass(frozen=True)
class Anomalie:
    """A problem found while reading or deciding: reported, never fatal to the run."""

    sheet: str | None
    row: int | None
    message: str

    def where(self, classeur: str = "") -> str:
        """`relances.xlsx:Factures!12` style location, or '' when there is none."""
        place = self.sheet or ""
        if self.row is not None:
            place = f"{place}!{self.row}" if place else f"ligne {self.row}"
        if classeur and place:
            return f"{classeur}:{place}"
        return classeur or place


@dataclass(frozen=True)
class Client:
    nom: str
    contact: str = ""
    emails: tuple[str, ...] = ()
    telephone: str = ""
    adresse: str = ""
    langue: str = "fr"
    type: str = "professionnel"
    profil: str = ""
    pause_jusqu_au: datetime.date | None = None
    row: int | None = None
    bloque: str = ""  # why this client must not be chased at all (e.g. two rows in Clients)
    civilite: str = ""  # "Madame", "Monsieur" or "" (unknown)
    siren: str = ""     # the debtor's company number (SIREN, or BCE in Belgium), when known
    forme: str = ""     # the debtor's legal form ("SAS", "SRL"…), when known
    pays: str = ""      # where the debtor lives, FR or BE ("": the creditor's country)
    tva: str = ""       # the debtor's intra-community VAT number, as typed (N° TVA)


@dataclass(frozen=True)
class Facture:
    numero: str
    client: str
    echeance: datetime.date
    montant: Decimal
    paye: Decimal = ZERO
    date_facture: datetime.date | None = None
    statut: str = ""  # normalised key of STATUTS, or ''
    promesse: datetime.date | None = None
    emails: tuple[str, ...] = ()  # Factures' own Email column, wins over Clients
    etape_classeur: str = ""  # the Étape cell as found, to take over history kept by hand
    fichier: str = ""  # Fichier facture: the invoice's PDF in [factures] dossier, if not numero.pdf
    row: int | None = None
    litige: str = ""  # a dispute recorded in Échanges: where and since when (stops chasing)
    bloque: str = ""  # why this invoice must not be chased (an unreadable plan)
    nouvelle_echeance: datetime.date | None = None  # extra time granted: chasing follows it
    # A payment plan (sheet Échéanciers): its instalments, and what is due of them today.
    versements: tuple["Versement", ...] = ()
    exigible: Decimal | None = None  # None: no plan, the whole remaining amount is due
    # A credit note's Facture liée: the invoice it credits ('' = the client's oldest).
    facture_liee: str = ""
    # The client account's allocation (compte.py): credits put on this invoice beyond Payé
    # (credit notes, payments naming no invoice); on a credit note, the part used (negative).
    impute: Decimal = ZERO
    imputations: tuple["Imputation", ...] = ()
    # « paiement annoncé » without a date in Échanges: the day it was said (written steps wait).
    annonce: datetime.date | None = None
    # « rappeler le » in Échanges: no call task before this day.
    rappeler_le: datetime.date | None = None
    # The platform's latest lifecycle status that acts on the chase (207, 208, 210, 211, 212,
    # 213), when the user imported the platform's statuses (compte.with_statuts).
    plateforme: StatutFacture | None = None

    @property
    def a_reclamer(self) -> Decimal:
        """What may be asked for today: the missed instalments of a plan, else all that remains."""
        return self.exigible if self.exigible is not None else self.reste_du

    @property
    def echeance_relance(self) -> datetime.date:
        """The date the schedule counts from: the oldest instalment not paid when there is a
        plan, else the extra time granted, else the due date."""
        if self.versements:
            unpaid = [v.jour for v in self.versements if v.reste > 0]
            return min(unpaid) if unpaid else max(v.jour for v in self.versements)
        if self.nouvelle_echeance is not None and self.nouvelle_echeance > self.echeance:
            return self.nouvelle_echeance
        return self.echeance

    @property  # (not cached: an attribute added to 50,000 records unshares their dicts)
    def reste_du(self) -> Decimal:
        """What is still owed once Payé and the account's allocation are counted."""
        return self.montant - self.paye - self.impute

    @property
    def solde(self) -> bool:
        """Settled: nothing left to ask for (paid, credited, or marked Payée)."""
        return self.montant > 0 and (self.statut == "payee" or self.reste_du <= 0)

    def jours_retard(self, today: datetime.date) -> int:
        """Days past due as of `today` (negative before the due date)."""
        return (today - self.echeance).days


@dataclass(frozen=True)
class Imputation:
    """One credit put on one invoice by the client account's allocation (lettrage)."""

    nature: str  # "avoir" | "paiement"
    origine: str  # the credit note's number, or the payment's date as text (ISO)
    facture: str  # the invoice credited
    montant: Decimal  # > 0
    jour: datetime.date | None = None  # the credit note's date, or the payment's


@dataclass(frozen=True)
class Versement:
    """One instalment of a payment plan (sheet Échéanciers)."""

    numero: str  # the invoice
    jour: datetime.date
    montant: Decimal
    row: int | None = None
    paye: Decimal = Decimal("0.00")  # how much of it the payments cover (oldest first)

    @property
    def reste(self) -> Decimal:
        return self.montant - self.paye


@dataclass(frozen=True)
class Reglement:
    """One row of sheet Paiements: money received (typed by the user, or imported)."""

    jour: datetime.date
    montant: Decimal
    client: str = ""
    factures: tuple[str, ...] = ()
    libelle: str = ""
    source: str = ""
    reference: str = ""
    row: int | None = None
    # '' : it counts. "annule": the user cancelled it (Statut column); "illisible": the row
    # could not be read (reported, its client held). Neither counts; both keep their Source
    # known, so that an imported payment whose row is there is not written again.
    statut: str = ""


# Résultat of an exchange (normalised spelling -> label shown).
RESULTATS_ECHANGE = {
    "promesse": "promesse",
    "litige": "litige",
    "injoignable": "injoignable",
    "paiementannonce": "paiement annoncé",
    "rappelerle": "rappeler le",
    "autre": "autre",
}


@dataclass(frozen=True)
class Echange:
    """One row of sheet Échanges: what a client said, when, who, and what follows."""

    jour: datetime.date
    client: str
    factures: tuple[str, ...] = ()  # empty: all of the client's open invoices
    interlocuteur: str = ""
    fonction: str = ""
    coordonnees: str = ""
    canal: str = ""
    dit: str = ""
    promesse: datetime.date | None = None
    montant_promis: Decimal | None = None
    resultat: str = ""  # a label of RESULTATS_ECHANGE, or ""
    rappeler_le: datetime.date | None = None
    row: int | None = None

    def concerne(self, facture: "Facture") -> bool:
        return client_key(self.client) == client_key(facture.client) and (
            not self.factures or facture.numero in self.factures)


@dataclass(frozen=True)
class Classeur:
    """Everything read from the workbook, plus what could not be read."""

    factures: tuple[Facture, ...]
    clients: dict[str, Client]  # keyed by client_key(nom)
    anomalies: tuple[Anomalie, ...] = ()
    echanges: tuple[Echange, ...] = ()
    versements: tuple[Versement, ...] = ()  # sheet Échéanciers
    reglements: tuple[Reglement, ...] = ()  # sheet Paiements
    statuts: tuple[StatutFacture, ...] = ()  # the platform's lifecycle statuses (journal)
    # What the mailbox brought back, per client_key (boite.effets): read as data by the rules.
    courriels: dict[str, "Courriel"] = field(default_factory=dict)

    def client_of(self, facture: Facture) -> Client:
        return self.clients.get(client_key(facture.client)) or Client(nom=facture.client)


@dataclass(frozen=True)
class Courriel:
    """What the mailbox brought back from one client, as the rules read it (no IMAP here)."""

    reponse: datetime.date | None = None  # the day of its latest reply
    # (day, address) of the replies the tool appended to Échanges: such a row records the
    # exchange only once the user fills its Résultat.
    lignes: tuple[tuple[datetime.date, str], ...] = ()
    absent_jusqu_au: datetime.date | None = None  # an out-of-office's return date
    # Addresses whose message came back undelivered (lower-cased): not used while still there.
    adresses_en_echec: tuple[str, ...] = ()
    # (invoice, step) of the messages that came back undelivered: those steps are done again.
    non_remis: tuple[tuple[str, str], ...] = ()
    # The sender of the latest message, when it could not be read (it holds like a reply).
    illisible: str = ""


@dataclass(frozen=True)
class Etape:
    """One step of the collection schedule, as configured in [[etapes]]."""

    nom: str
    apres_jours: int
    canal: str  # email | courrier | appel | recouvrement
    modele: str | None = None
    delai_jours: int | None = None
    montant_minimum: Decimal | None = None
    joindre_courrier: bool = False  # an email step that also carries its letter as a PDF
    libelle: str = ""  # what people read: « Premier rappel »; `nom` stays the machine's name
    penalites: bool = False  # the amount asked includes the late-payment penalties

    @property
    def is_message(self) -> bool:
        """Emails and letters reach the client; calls and hand-offs are tasks for the user."""
        return self.canal in ("email", "courrier")

    @property
    def titre(self) -> str:
        return self.libelle or self.nom


PROMESSE_NON_TENUE = "promesse_non_tenue"


@dataclass(frozen=True)
class Fait:
    """One invoice's share of a journal entry: this step was done (or is under way) that day."""

    facture: str
    cle: str  # step name, or "promesse_non_tenue:YYYY-MM-DD"
    etape: str
    canal: str
    client: str
    jour: datetime.date
    statut: str  # see journal.RESULTATS
    limite: datetime.date | None = None  # last day of the deadline the message gave, if any


@dataclass(frozen=True)
class Action:
    """What a run does for one client on one channel, covering one or more invoices."""

    client: str
    factures: tuple[str, ...]
    etape: str
    canal: str
    destinataires: tuple[str, ...] = ()
    montant_du: Decimal = ZERO
    modele: str | None = None
    delai_jours: int | None = None
    promesse: datetime.date | None = None
    joindre_courrier: bool = False
    # The key each invoice is recorded under in the journal (step name or promise key).
    cles: tuple[str, ...] = field(default=())
    libelle: str = ""  # the step's label, for people
    # Invoices due for an earlier step than the message's, listed as « également échues »:
    # each is recorded at its own step and no penalty is claimed for it.
    autres: tuple[str, ...] = ()
    avoirs: tuple[str, ...] = ()  # credit notes the account put on these invoices (shown)
    montant_reclame: Decimal = ZERO  # what the message asks for: the one amount of its story
    # The last day (inclusive, a business day) the message gives the client; None: no date.
    date_limite: datetime.date | None = None
    complement: int = 0  # a hand-off: 0 the dossier, n its n-th complement
    ton: str = ""  # "ferme": a client under formal notice or with the agency (no « oubli »)

    @property
    def titre(self) -> str:
        return self.libelle or self.etape

    @property
    def principales(self) -> tuple[str, ...]:
        """The invoices at the message's own step."""
        return tuple(n for n in self.factures if n not in self.autres)

    @property
    def is_message(self) -> bool:
        return self.canal in ("email", "courrier")


@dataclass(frozen=True)
class Suivi:
    """The tool-owned cells of one invoice row."""

    etape: str = ""
    relances_envoyees: int = 0
    derniere_relance: datetime.date | None = None
    prochaine_action: str = ""
    date_prochaine_action: datetime.date | None = None
    reste_du: Decimal | None = None
    jours_retard: int | None = None  # None once nothing is due any more


@dataclass(frozen=True)
class Plan:
    date: datetime.date
    actions: tuple[Action, ...]
    anomalies: tuple[Anomalie, ...]
    # Things the user must know that are not problems (a payment to tell the agency about,
    # invoices long overdue held for a reason), as data: `suivi.signalement_text` words them.
    signalements: tuple["Signalement", ...] = ()


@dataclass(frozen=True)
class Signalement:
    """A fact about one invoice the user must know, that is not a problem."""

    code: str  # "agence_a_prevenir" | "retard_long"
    client: str
    facture: str
    row: int | None = None
    jours: int = 0  # days past due
    motif: object = None  # policy.Motif: why it is held (retard_long)
    etape: str = ""  # or the step it waits for, and from when
    jour: datetime.date | None = None


@functools.lru_cache(maxsize=1 << 16)
def normalise(text: str) -> str:
    """Lower-case, accent-free, punctuation- and space-free form used to compare names."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    kept = [c for c in decomposed if c.isalnum()]
    return "".join(kept).casefold()


@functools.lru_cache(maxsize=1 << 16)
def client_key(nom: str) -> str:
    """Client names match across sheets whatever their case, accents and spacing — and nothing
    else: `☆` and `★`, `Dupont & Fils` and `Dupont Fils`, `Client²` and `Client2` are different
    clients (a wrong match would send one client's invoice to another's address)."""
    decomposed = unicodedata.normalize("NFD", str(nom))
    kept = [c for c in decomposed if not unicodedata.combining(c) and not c.isspace()]
    return unicodedata.normalize("NFC", "".join(kept)).casefold()
