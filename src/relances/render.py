"""Rendering stage: Jinja2 templates -> the subject, text, HTML and letter of each action.

Every message and letter of a run is rendered before any is sent, so that a template error
stops the run before anything leaves. Templates are strict: a variable that does not exist is
an error, not an empty string. HTML is autoescaped; plain text is not. Amounts and dates go
through Babel filters (`montant`, `date_longue`, `date_courte`) in the client's language, and
every rendered text through `typographie.compose` (French spacing, apostrophes, numbers that
never break).

Templates ship with the package (`relances/lettres/`); a `lettres/` folder beside config.toml
overrides them file by file. A client whose Langue is `en` gets the `en/` templates, each
missing one falling back to the French one.

An email uses `NAME.sujet.txt`, `NAME.texte.txt` and `NAME.html`; a letter (canal courrier, or
an email step with `joindre_courrier = true`) uses the Typst template `NAME.lettre.typ`, fed
with the letter's data (`lettre_donnees.py`) and turned into a PDF by `lettre.py`.
"""

from __future__ import annotations

import datetime
import functools
import re
import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from . import formats
from .config import Config
from .errors import TemplateError
from .compte import Livre, as_seen
from .lettre_donnees import forme_distincte, meme_personne, telephone_international
from .etapes import INFO_AGENCE, REMERCIEMENT, TRANSMISSION, date_limite, etape_named, is_notice
from .montants import compute_demande
from .penalites import (Penalite, Semestre, bareme_belge, debut_delai_consommateur_be,
                        fin_delai_consommateur_be)
from .policy import promise_exchange
from .records import Action, Anomalie, Classeur, Client, Facture, Fait, client_key
from .emplacements import fonts_folder, relative_name, template_folders
from .qr_paiement import QR_CID, payment_qr
from .references import Repertoire
from .typographie import compose, elide, formules

if TYPE_CHECKING:  # Jinja2 is imported by the first message rendered, not at start
    import jinja2

PARTS = (("sujet", "{}.sujet.txt"), ("texte", "{}.texte.txt"), ("html", "{}.html"))
LETTRE = "{}.lettre.typ"
DOSSIER = "dossier_recouvrement.typ"
LANGUES = ("fr", "en")
LIBELLES_EN = {"rappel": "First reminder", "appel": "Phone call", "dernier_rappel": "Final reminder",
               "mise_en_demeure": "Formal notice", "recouvrement": "Collection",
               "promesse_non_tenue": "Broken-promise reminder"}
CANAUX = {"fr": {"email": "e-mail", "courrier": "courrier", "appel": "appel téléphonique",
                 "recouvrement": "recouvrement"},
          "en": {"email": "email", "courrier": "letter", "appel": "phone call",
                 "recouvrement": "collection"}}


@dataclass(frozen=True)
class LigneFacture:
    """An invoice as templates see it: `{{ facture.numero }}`, `{{ facture.reste_du|montant }}`."""

    numero: str
    date_facture: datetime.date | None
    echeance: datetime.date
    montant: Decimal
    paye: Decimal
    reste_du: Decimal
    jours_retard: int
    interets: Decimal = Decimal("0")
    indemnite: Decimal = Decimal("0")
    a_regler: Decimal | None = None  # a plan's missed instalments (None: all that remains)
    reference: str = ""  # the payment reference to quote (RF, OGM or the number)
    versements: tuple = ()  # the plan's instalments: jour, montant, paye, reste

    @property
    def penalites(self) -> Decimal:
        return self.interets + self.indemnite


@dataclass(frozen=True)
class LigneAvoir:
    """A credit note the account put on the invoices of a message: shown once."""

    numero: str
    date_facture: datetime.date | None
    montant: Decimal  # negative
    reste: Decimal    # the part of it deducted from this message's invoices (negative)
    factures: tuple[str, ...] = ()  # the invoices it was put on


@dataclass(frozen=True)
class Contact:
    """One earlier step with this client, for the history a letter recalls."""

    jour: datetime.date
    etape: str   # label
    canal: str   # label in the client's language
    factures: tuple[str, ...]
    ecrit: bool = True  # an email or a letter (not a call)
    texte: str = ""  # an exchange recorded in Échanges, told in full
    prepare: bool = False  # a draft written to the outbox folder: not known to be sent

    @property
    def description(self) -> str:
        """« premier rappel (e-mail) »; a draft is « premier rappel (e-mail préparé) »."""
        if self.texte:
            return self.texte
        if not self.ecrit:
            return self.canal
        return f"{self.etape.lower()} ({self.canal}{' préparé' if self.prepare else ''})"


@dataclass(frozen=True)
class Evenement:
    """One line of a hand-off dossier's chronology: what happened, when, how, with which file."""

    jour: datetime.date
    quoi: str
    canal: str
    factures: tuple[str, ...]
    montant: Decimal | None
    destinataire: str
    fichier: str
    resultat: str


@dataclass(frozen=True)
class Rendu:
    action: Action
    client: Client
    sujet: str = ""
    texte: str = ""
    html: str = ""
    lettre: str = ""  # the letter (template, language, data: lettre.lettre()), when there is one
    pieces: tuple[Path, ...] = ()  # invoice copies to attach to the email
    pdf: bytes = b""  # the letter as PDF, made from `lettre` by lettre.render_pdfs
    chronologie: tuple[Evenement, ...] = ()  # a hand-off dossier's: every step, every exchange
    annexes: tuple[tuple[str, bytes], ...] = ()  # other attachments: (file name, zip bytes)
    qr_png: bytes = b""  # the EPC payment QR code, shown inline in the HTML email

    @property
    def has_letter(self) -> bool:
        return bool(self.lettre)


def make_environment(lettres: Path, langue: str = "fr") -> jinja2.Environment:
    """Templates of `langue` (en/ for English), each missing one taken from the French ones."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in template_folders(lettres, langue)]),
        autoescape=jinja2.select_autoescape(["html", "htm"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        montant=_with_langue(formats.montant),
        date_longue=_with_langue(formats.date_longue),
        date_courte=_with_langue(formats.date_courte),
        nombre=_with_langue(formats.nombre),
        en_lettres=_with_langue(formats.en_lettres),
        de=lambda nom: elide("de", nom),
        le=lambda nom: elide("le", nom),
        que=lambda nom: elide("que", nom),
    )
    env.globals["elide"] = elide
    env.tests["meme_personne"] = meme_personne  # « Éric Dupuis » is the contact: « vous »
    return env


def _with_langue(function):
    import jinja2

    @jinja2.pass_context
    def filter_(context, value):
        if value is None or isinstance(value, jinja2.Undefined):
            return value  # StrictUndefined raises when printed; None stays visible as-is
        return function(value, context.get("langue", "fr"))
    return filter_


class _Environnements(dict):
    """Each language's templates, made when a message of that language is first rendered: a
    run with nothing to write does not load Jinja2."""

    def __init__(self, lettres: Path):
        super().__init__()
        self.lettres = lettres

    def __missing__(self, langue: str) -> jinja2.Environment:
        env = self[langue] = make_environment(self.lettres, langue)
        return env


class Renderer:
    """Renders the actions of one run: one workbook, one journal history, one date.

    `avertissements` collects what the user should know but does not stop anything: an invoice
    copy not found, a half-year missing from the table of rates.
    """

    def __init__(self, config: Config, classeur: Classeur, today: datetime.date,
                 history: list[Fait] | tuple[Fait, ...] = (), entrees: Sequence = (),
                 livre: Livre | None = None, references: Repertoire | None = None):
        # The client accounts (credits allocated, Échanges and plans taken into account).
        classeur = livre.classeur if livre is not None else as_seen(classeur, today)
        self.config, self.classeur, self.today = config, classeur, today
        self.livre = livre
        self.envs = _Environnements(config.lettres)
        self.factures = {(client_key(f.client), f.numero): f for f in classeur.factures}
        self.history: dict[tuple[str, str], list[Fait]] = {}
        for fait in history:
            self.history.setdefault((client_key(fait.client), fait.facture), []).append(fait)
        self.notes = {(client_key(f.client), f.numero): f for f in classeur.factures
                      if f.montant < 0}
        self.entrees = entrees  # the journal's entries: a hand-off dossier's chronology
        # The payment references given to the invoices (derived from the number without).
        self.references = references if references is not None else Repertoire()
        self.avertissements: list[Anomalie] = []
        self._warn_floor(Semestre.of(today))

    def _warn_floor(self, semestre: Semestre) -> None:
        """A contract rate below the legal floor: said once a run, with its figures."""
        if any("[penalites] taux_annuel" in a.message for a in self.avertissements):
            return
        message = self.config.penalites.clause_illicite(self.config.entreprise.pays, semestre,
                                                        self.config.path.name)
        if message:
            self.avertissements.append(Anomalie(None, None, message))

    def _warn_missing_rates(self, missing: tuple[str, ...]) -> None:
        for manquant in missing:
            message = (f"{manquant} absent de la table des taux : dernier taux connu utilisé ; "
                       f"ajoutez-le dans {self.config.path.name}, section [penalites.taux_"
                       f"{'bce' if 'BCE' in manquant else 'interet_legal'}]")
            if not any(a.message == message for a in self.avertissements):
                self.avertissements.append(Anomalie(None, None, message))

    def context(self, action: Action) -> dict:
        today, config = self.today, self.config
        key = client_key(action.client)
        client = self.classeur.clients.get(key) or Client(nom=action.client)
        etape = etape_named(action.etape, config, client.profil)
        if etape is None:
            raise TemplateError(f"étape « {action.etape} » absente de {config.path.name}")
        principales = [self.factures[(key, n)] for n in action.principales]
        autres = [self.factures[(key, n)] for n in action.autres]
        faits = [f for n in action.factures for f in self.history.get((key, n), ())]
        # The agency's email states the figures of the dossier it sends, on the dossier's day.
        jour = max((f.jour for f in faits if f.canal == "recouvrement" and f.jour < today),
                   default=today) if action.etape == TRANSMISSION.nom else today
        demande = compute_demande(principales, autres, etape, client, faits, jour, config)
        asks = action.etape not in (REMERCIEMENT.nom, INFO_AGENCE.nom)
        if asks and demande.total != action.montant_reclame:  # one amount story, or nothing
            raise TemplateError(f"{action.client} : montant incohérent ({demande.total} rendu, "
                                f"{action.montant_reclame} décidé) ; signalez ce bug")
        calcul = demande.penalites
        self._warn_missing_rates(calcul.taux_manquants)
        for _, periode in calcul.periodes:  # raised in an earlier half-year only
            if periode.plancher:
                self._warn_floor(Semestre.of(periode.debut))
        langue = client.langue if client.langue in LANGUES else "fr"
        mode = config.paiement.mode(config.entreprise.pays)
        reference = self.references.of
        lignes = [_ligne(f, today, calcul.ligne(f.numero), reference(key, f.numero, mode))
                  for f in principales]
        lignes_autres = [_ligne(f, today, None, reference(key, f.numero, mode))
                         for f in autres]
        # Each credit note the account put on these invoices, shown once, with what it covers
        # here: the lines show what was owed before it, the total what is left.
        avoirs = self._avoirs(key, (*principales, *autres))
        deduit = sum((a.reste for a in avoirs), Decimal("0"))
        delai = action.delai_jours
        # The law the figures were computed under (a consumer's own country's: `regime_for`),
        # so that the words always match the amounts.
        pays = calcul.pays
        particulier = client.type == "particulier"
        consommateur_be = particulier and pays == "BE"
        # Belgian consumer, first reminder (art. XIX.2 CDE): the 14 days start the business day
        # after an email, the third business day after a letter is posted, in Belgian days.
        canal_rappel = "email" if action.canal == "email" else "courrier"
        calendrier_be = config.calendrier_pays("BE")
        debut_be = debut_delai_consommateur_be(today, canal_rappel, calendrier_be)
        fin_be = fin_delai_consommateur_be(today, canal_rappel, calendrier_be)
        return {
            # In English, the phone number as a caller abroad dials it.
            "entreprise": config.entreprise if langue != "en" else dataclasses.replace(
                config.entreprise, telephone=telephone_international(
                    config.entreprise.telephone, config.entreprise.pays)),
            # The legal form once: never « SCI Les Tilleuls (SCI) ».
            "client": dataclasses.replace(client, forme=forme_distincte(client.nom, client.forme)),
            "factures": lignes,
            "facture": lignes[0] if lignes else lignes_autres[0],
            "autres": lignes_autres,
            "toutes": [*lignes, *lignes_autres],
            "avoirs": avoirs,
            "principal": demande.principal - deduit,
            "montant_avoirs": deduit,
            "montant_demande": demande.total,
            "reclame_penalites": demande.avec_penalites and calcul.total > 0,
            "total": demande.total,
            "total_reclame": demande.total,
            "penalites": calcul,
            "etape": action.etape,
            "libelle": action.titre,
            "canal": action.canal,
            "date": today,
            "jour_creance": jour,
            "date_limite": (action.date_limite if action.date_limite is not None
                            else date_limite(etape, today, config)),
            "complement": action.complement,
            "ferme": action.ton == "ferme",
            # Penalties were claimed from this client for these invoices: nothing may read as
            # waiving them (a thank-you especially).
            "penalites_reclamees": any(
                _claims_penalties(f.etape, config, client.profil) for f in faits
                if f.jour < today),
            # The day the client's dossier went to the agency (a complement quotes it).
            "remise": (min(self.livre.compte(action.client).remises, default=None)
                       if self.livre is not None else None)
            or min((f.jour for f in faits if f.canal == "recouvrement"), default=None),
            "delai_jours": delai,
            "promesse": action.promesse,
            # The exchange where the promise was made, to quote it (None: typed in Factures).
            "echange": (promise_exchange(self.classeur, (principales or autres)[0],
                                         action.promesse) if action.promesse else None),
            "destinataires": action.destinataires,
            "langue": langue,
            "pays": pays,  # the law's country: the consumer's own, else the creditor's
            "pays_client": client.pays or config.entreprise.pays,
            "particulier": particulier,
            "consommateur_be": consommateur_be,
            # Damages for a consumer only under the contract's clause (art. XIX.4 CDE).
            "clause_consommateur": calcul.clause_consommateur,
            "formules": formules(client.civilite, client.contact, langue),
            "historique": self._historique(faits, langue, action.client, action.factures),
            "debut_delai_be": debut_be,
            "fin_delai_be": fin_be,
            "bareme_be": {f.numero: bareme_belge(f.reste_du) for f in (*principales, *autres)},
            "pieces": [],
            "reference": (lignes or lignes_autres)[0].reference
            if len(lignes) + len(lignes_autres) == 1 else "",
            "qr": None,  # set by render() when the message asks for money
            # A payment plan's oldest missed instalment (its reminder quotes it).
            "echeance_manquee": next((v for f in principales for v in f.versements
                                      if v.reste > 0 and v.jour < today), None),
            "polices": fonts_folder(config.lettres).as_uri(),
        }

    def _historique(self, faits: list[Fait], langue: str, client_nom: str,
                    numeros: tuple[str, ...]) -> list[Contact]:
        """Earlier steps and exchanges with this client about these invoices, oldest first
        (today excluded)."""
        grouped: dict[tuple[datetime.date, str, str, bool], list[str]] = {}
        for fait in faits:
            # A call is told through the exchange that recorded it (below), never as planned;
            # a message only prepared (dossier mode) is said so, never « sent ».
            if fait.jour >= self.today or fait.canal == "appel":
                continue
            grouped.setdefault((fait.jour, fait.etape, fait.canal, fait.statut == "prepare"),
                               []).append(fait.facture)

        def label(etape: str) -> str:
            if langue == "en" and etape in LIBELLES_EN:
                return LIBELLES_EN[etape]
            return self.config.libelle(etape)

        contacts = [Contact(jour, label(etape), CANAUX[langue].get(canal, canal),
                            tuple(dict.fromkeys(numeros)), canal in ("email", "courrier"),
                            prepare=prepare)
                    for (jour, etape, canal, prepare), numeros in sorted(grouped.items())]
        # What the client said, from Échanges: who, when, and what was promised.
        for echange in self.classeur.echanges:
            if (client_key(echange.client) != client_key(client_nom) or echange.jour >= self.today
                    or (echange.factures and not set(numeros) & set(echange.factures))):
                continue
            contacts.append(Contact(echange.jour, "échange", echange.canal, echange.factures,
                                    False, _exchange_text(echange, langue)))
        return sorted(contacts, key=lambda c: c.jour)

    def _avoirs(self, key: str, factures) -> list[LigneAvoir]:
        """The credit notes put on these invoices (plans aside), each once: its amount, and the
        part deducted here (negative)."""
        parts: dict[str, Decimal] = {}
        on: dict[str, list[str]] = {}
        for facture in factures:
            if facture.versements:
                continue
            for imputation in facture.imputations:
                if imputation.nature == "avoir":
                    parts[imputation.origine] = (parts.get(imputation.origine, Decimal("0"))
                                                 + imputation.montant)
                    on.setdefault(imputation.origine, []).append(facture.numero)
        lignes = []
        for numero, part in parts.items():
            note = self.notes.get((key, numero))
            lignes.append(LigneAvoir(numero, note.date_facture if note else None,
                                     note.montant if note else -part, -part,
                                     tuple(dict.fromkeys(on[numero]))))
        return lignes

    def chronologie(self, client_nom: str) -> list[Evenement]:
        """Every step with this client (journal) and everything it said (Échanges), by date."""
        key = client_key(client_nom)
        events = []
        for e in self.entrees:
            # Calls are history through the exchanges that recorded them (listed below).
            # (an email that came back « non remis » was not delivered: never cited)
            if (client_key(e.client) != key or e.statut in ("echec", "non_remis")
                    or e.canal == "appel"):
                continue
            try:
                montant = Decimal(e.montant) if e.montant else None
            except ArithmeticError:
                montant = None
            events.append(Evenement(e.jour, self.config.libelle(e.etape), e.canal, e.factures,
                                    montant, e.destinataire, e.fichier, e.resultat))
        for echange in self.classeur.echanges:
            if client_key(echange.client) != key:
                continue
            said = " — ".join(x for x in (echange.dit, _exchange_text(echange, "fr")) if x)
            events.append(Evenement(echange.jour, "Échange noté", echange.canal or "",
                                    echange.factures, echange.montant_promis,
                                    echange.interlocuteur, "", said))
        return sorted(events, key=lambda ev: ev.jour)

    def render(self, action: Action) -> Rendu:
        """Everything the action sends or prints: a message, a letter, or the hand-off dossier;
        nothing for a call."""
        if action.canal == "recouvrement":
            return self._render_dossier(action)
        if action.etape == TRANSMISSION.nom:
            return self._render_transmission(action)
        if not action.modele:
            raise TemplateError(f"étape « {action.etape} » : aucun modèle à rendre")
        context = self.context(action)
        env = self.envs[context["langue"]]
        langue = context["langue"]
        # A thank-you carries no invoice copy, and asks for nothing.
        pieces = () if action.etape == REMERCIEMENT.nom else self._invoice_copies(action)
        qr_png = b""
        with_letter = action.canal == "courrier" or action.joindre_courrier
        if action.etape != REMERCIEMENT.nom:
            qr = payment_qr(self.config, context, png=action.canal == "email", svg=with_letter)
            if qr is not None:
                qr_png, context["qr"] = qr[0], {"svg": qr[1], "cid": QR_CID}
        # Messages say which copies come with them; a letter encloses them (appended to its
        # PDF) and lists them.
        context["pieces"] = [p.stem for p in pieces]
        lettre = ""
        if with_letter:
            lettre = self._lettre(env, LETTRE.format(action.modele), context)
        if action.canal == "courrier":
            return Rendu(action, context["client"], lettre=lettre, pieces=pieces)
        parts = {name: self._render(env, pattern.format(action.modele), context)
                 for name, pattern in PARTS}
        # One line: a subject never carries a newline (no-break spaces stay).
        sujet = re.sub(r"[ \t\r\n\v\f]+", " ", parts["sujet"]).strip()
        if not sujet:
            raise TemplateError(f"{self._where(PARTS[0][1].format(action.modele))} : sujet vide")
        return Rendu(action, context["client"], compose(sujet, langue),
                     compose(parts["texte"].strip() + "\n", langue),
                     compose(parts["html"], langue, html=True), lettre, pieces,
                     qr_png=qr_png)

    def _render_dossier(self, action: Action) -> Rendu:
        """« Dossier de recouvrement »: who owes what since when, and every step taken."""
        context = self.context(action)
        pieces = self._invoice_copies(action)
        context["pieces"] = [p.stem for p in pieces]
        context["chronologie"] = self.chronologie(action.client)
        env = self.envs["fr"]  # for the agency: in French, whatever the client's language
        context["langue"] = "fr"
        context["formules"] = formules(context["client"].civilite, context["client"].contact,
                                       "fr")
        return Rendu(action, context["client"], lettre=self._lettre(env, DOSSIER, context),
                     pieces=pieces,
                     chronologie=tuple(context["chronologie"]))

    def _render_transmission(self, action: Action) -> Rendu:
        """The email to the collection agency, the client's dossier folder zipped with it."""
        context = self.context(action)
        context.update(langue="fr", formules=formules("", "", "fr"), pieces=[])
        env = self.envs["fr"]  # for the agency: in French, whatever the client's language
        folder = self.dossier_of(action.client)
        context["dossier"] = folder.name if folder else ""
        parts = {name: self._render(env, pattern.format(action.modele), context)
                 for name, pattern in PARTS}
        sujet = re.sub(r"[ \t\r\n\v\f]+", " ", parts["sujet"]).strip()
        annexes = ((f"{folder.name}.zip", _zip(folder)),) if folder else ()
        return Rendu(action, context["client"], compose(sujet, "fr"),
                     compose(parts["texte"].strip() + "\n", "fr"),
                     compose(parts["html"], "fr", html=True), annexes=annexes)

    def dossier_of(self, client_nom: str) -> Path | None:
        """The latest hand-off folder written for this client, if it is still there."""
        key = client_key(client_nom)
        written = [e for e in self.entrees if client_key(e.client) == key
                   and e.canal == "recouvrement" and e.fichier and e.statut != "echec"]
        for entry in sorted(written, key=lambda e: e.id, reverse=True):
            folder = self.config.classeur.parent / entry.fichier
            if folder.is_dir():
                return folder
        return None

    def _invoice_copies(self, action: Action) -> tuple[Path, ...]:
        """The invoices' PDFs from [factures] dossier; a missing one is a warning, not a failure."""
        copies = self._copies
        if copies is None:
            return ()
        dossier = self.config.factures_dossier
        pieces = []
        for numero in action.factures:
            facture = self.factures[(client_key(action.client), numero)]
            wanted = facture.fichier or f"{numero}.pdf"
            # Only a plain file name inside the invoices folder: a cell never points elsewhere.
            name = wanted if Path(wanted).name == wanted else ""
            found = copies.get(name.casefold()) or copies.get((name + ".pdf").casefold())
            if found:
                pieces.append(found)
            else:
                reason = ("un simple nom de fichier est attendu, dans le dossier des factures"
                          if not name else f"introuvable dans {dossier}")
                self.avertissements.append(Anomalie(
                    "Factures", facture.row, f"copie de la facture {numero} non jointe : "
                    f"« {wanted} » {reason}"))
        return tuple(pieces)

    @functools.cached_property
    def _copies(self) -> dict[str, Path] | None:
        """The PDFs of [factures] dossier by lower-case name, listed once; None: no folder."""
        dossier = self.config.factures_dossier
        if dossier is None:
            return None
        if not dossier.is_dir():
            self.avertissements.append(Anomalie(None, None, (
                f"dossier des factures introuvable ({dossier}) : aucune copie de facture "
                f"jointe ; créez-le ou retirez [factures] dossier de {self.config.path.name}")))
            return None
        root = dossier.resolve()
        limit = self.config.factures_taille_max
        copies = {}
        for path in dossier.iterdir():
            if path.suffix.casefold() != ".pdf" or not path.is_file():
                continue
            # A link may point anywhere: only what really lies in the folder is attached.
            real = path.resolve()
            if not real.is_relative_to(root):
                self.avertissements.append(Anomalie(None, None, (
                    f"{path.name} : lien vers un fichier hors du dossier des factures "
                    f"({real}), jamais joint")))
                continue
            size = real.stat().st_size
            if size > limit:
                self.avertissements.append(Anomalie(None, None, (
                    f"{path.name} : {formats.nombre(round(Decimal(size) / 1024 / 1024, 1))}"
                    f"\u00a0Mo, au-delà de la limite de "
                    f"{limit // (1024 * 1024)}\u00a0Mo ([factures] taille_max_mo) : jamais joint")))
                continue
            copies[path.name.casefold()] = real
        return copies

    def _lettre(self, env: jinja2.Environment, modele: str, context: dict) -> str:
        """A letter to compile: its Typst template, and its data with the legal paragraphs it
        shares with the emails rendered from their `.txt` templates."""
        from .lettre import lettre
        from .lettre_donnees import TEXTES, donnees

        textes = {name: self._render(env, f"_{name}.txt", context) for name in TEXTES}
        data, racine = donnees(context, textes)
        return lettre(modele, context["langue"], data, racine, self.today)

    def _where(self, name: str) -> str:
        for folder in template_folders(self.config.lettres, "fr"):
            for sub in ("en/", ""):
                if (folder / sub / name).is_file():
                    return relative_name(folder / sub / name)
        return f"lettres/{name}"

    def _render(self, env: jinja2.Environment, name: str, context: dict) -> str:
        import jinja2

        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{self._where(exc.name or name)} : modèle introuvable "
                                f"(ni dans {self.config.lettres}, ni parmi les modèles livrés)"
                                ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self._where(exc.name or name)}:{exc.lineno} : erreur de "
                                f"syntaxe ({exc.message})") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{self._where(name)} : variable inconnue ({exc.message})") from None
        except Exception as exc:  # a filter or a test failing on the data
            raise TemplateError(f"{self._where(name)} : rendu impossible ({exc})") from None


def _zip(folder: Path) -> bytes:
    """Every file of a hand-off folder, in one zip to attach."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.name}")
    return out.getvalue()


def _exchange_text(echange, langue: str) -> str:
    """« échange (téléphone) avec Paul Alpha, comptable : promesse de paiement pour le
    27/11/2026 (1 200,00 €) »."""
    en = langue == "en"
    who = echange.interlocuteur + (f", {echange.fonction}" if echange.fonction else "")
    how = f" ({echange.canal.lower()})" if echange.canal else ""
    text = ("conversation" if en else "échange") + how + (
        f" with {who}" if en and who else f" avec {who}" if who else "")
    if echange.promesse:
        amount = (f" ({formats.montant(echange.montant_promis, langue)})"
                  if echange.montant_promis else "")
        text += (f": payment promised for {formats.date_courte(echange.promesse, langue)}"
                 if en else f" : promesse de paiement pour le "
                 f"{formats.date_courte(echange.promesse)}") + amount
    elif echange.resultat:
        text += f": {echange.resultat}" if en else f" : {echange.resultat}"
    return text


def _claims_penalties(nom: str, config: Config, profil: str) -> bool:
    etape = etape_named(nom, config, profil)
    return etape is not None and (etape.penalites or is_notice(etape.nom, etape.modele))


def _ligne(facture: Facture, today: datetime.date, penalite: Penalite | None,
           ref: str = "") -> LigneFacture:
    """An invoice's line: what was owed before the credit notes the account put on it (they
    are shown once, apart), and its real days late (a plan's: from its oldest missed
    instalment)."""
    avoirs = sum((i.montant for i in facture.imputations if i.nature == "avoir"), Decimal("0"))
    paiements = sum((i.montant for i in facture.imputations if i.nature == "paiement"),
                    Decimal("0"))
    if facture.versements:
        avoirs = Decimal("0")  # a plan's line shows what is left of it; its credits are in it
    retard = (today - facture.echeance_relance).days if facture.versements \
        else facture.jours_retard(today)
    return LigneFacture(numero=facture.numero, date_facture=facture.date_facture,
                        echeance=facture.echeance, montant=facture.montant,
                        paye=facture.paye + paiements,
                        reste_du=facture.reste_du + avoirs, jours_retard=max(retard, 0),
                        interets=penalite.interets if penalite else Decimal("0"),
                        indemnite=penalite.indemnite if penalite else Decimal("0"),
                        a_regler=facture.a_reclamer, versements=facture.versements,
                        reference=ref)
