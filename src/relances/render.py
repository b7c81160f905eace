"""Rendering stage: Jinja2 templates in lettres/ -> the subject, text, HTML and letter of each action.

Every message and letter of a run is rendered before any is sent, so that a template error
stops the run before anything leaves. Templates are strict: a variable that does not exist is
an error, not an empty string. HTML is autoescaped; plain text is not. Amounts and dates go
through Babel filters (`montant`, `date_longue`, `date_courte`) in the client's language; a
client whose Langue is `en` gets the templates of `lettres/en/`, each missing one falling back
to the French one.

An email uses `NAME.sujet.txt`, `NAME.texte.txt` and `NAME.html`; a letter (canal courrier, or
an email step with `joindre_courrier = true`) uses `NAME.lettre.html`, turned into a PDF by
`lettre.py`.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jinja2

from . import formats
from .config import Config
from .errors import TemplateError
from .penalites import Calcul, Penalite, compute_all
from .records import Action, Anomalie, Classeur, Client, Facture, Fait

PARTS = (("sujet", "{}.sujet.txt"), ("texte", "{}.texte.txt"), ("html", "{}.html"))
LETTRE = "{}.lettre.html"
LANGUES = ("fr", "en")


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

    @property
    def penalites(self) -> Decimal:
        return self.interets + self.indemnite

    @property
    def du_total(self) -> Decimal:
        """Remaining amount plus its penalties: what this invoice's line claims."""
        return self.reste_du + self.penalites


@dataclass(frozen=True)
class Rendu:
    action: Action
    client: Client
    sujet: str = ""
    texte: str = ""
    html: str = ""
    lettre: str = ""  # the letter's HTML, when the action has one
    pieces: tuple[Path, ...] = ()  # invoice copies to attach to the email
    pdf: bytes = b""  # the letter as PDF, made from `lettre` by lettre.render_pdfs

    @property
    def has_letter(self) -> bool:
        return bool(self.lettre)


def make_environment(lettres: Path, langue: str = "fr") -> jinja2.Environment:
    """Templates of `langue` (lettres/en/ for English), each missing one taken from lettres/."""
    folders = [str(lettres / langue)] if langue != "fr" else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, str(lettres)]),
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
    )
    return env


def _with_langue(function):
    @jinja2.pass_context
    def filter_(context, value):
        if value is None or isinstance(value, jinja2.Undefined):
            return value  # StrictUndefined raises when printed; None stays visible as-is
        return function(value, context.get("langue", "fr"))
    return filter_


class Renderer:
    """Renders the actions of one run: one workbook, one journal history, one date.

    `avertissements` collects what the user should know but does not stop anything: an invoice
    copy not found, a half-year missing from the table of rates.
    """

    def __init__(self, config: Config, classeur: Classeur, today: datetime.date,
                 history: list[Fait] | tuple[Fait, ...] = ()):
        self.config, self.classeur, self.today = config, classeur, today
        self.envs = {langue: make_environment(config.lettres, langue) for langue in LANGUES}
        self.factures = {f.numero: f for f in classeur.factures}
        self.history: dict[str, list[Fait]] = {}
        for fait in history:
            self.history.setdefault(fait.facture, []).append(fait)
        self.avertissements: list[Anomalie] = []

    def penalites(self, action: Action, client: Client) -> Calcul:
        """Penalties of the action's invoices at today's date, under the client's law."""
        regime = self.config.penalites.regime(self.config.entreprise.pays,
                                              client.type == "particulier")
        factures = [self.factures[n] for n in action.factures]
        calcul = compute_all(factures, self.today, regime, self.config.penalites.table,
                             self._dates(action))
        for manquant in calcul.taux_manquants:
            message = (f"{manquant} absent de la table des taux : dernier taux connu utilisé ; "
                       f"ajoutez-le dans {self.config.path.name}, section [penalites.taux_"
                       f"{'bce' if 'BCE' in manquant else 'interet_legal'}]")
            if not any(a.message == message for a in self.avertissements):
                self.avertissements.append(Anomalie(None, None, message))
        return calcul

    def _dates(self, action: Action) -> dict[str, tuple[datetime.date | None, datetime.date | None]]:
        """Per invoice: (date of its formal notice, date of its first message), this one included."""
        is_notice = _is_notice(action.etape, action.modele)
        dates = {}
        for numero in action.factures:
            faits = self.history.get(numero, ())
            notices = [f.jour for f in faits if _is_notice(f.etape, self._modele(f.etape))]
            messages = [f.jour for f in faits if f.canal in ("email", "courrier")]
            if is_notice:
                notices.append(self.today)
            if action.is_message:
                messages.append(self.today)
            dates[numero] = (min(notices, default=None), min(messages, default=None))
        return dates

    def _modele(self, etape: str) -> str | None:
        found = self.config.etape(etape)
        return found.modele if found else None

    def context(self, action: Action) -> dict:
        today = self.today
        client = self.classeur.client_of(self.factures[action.factures[0]])
        calcul = self.penalites(action, client)
        factures = [_ligne(self.factures[n], today, calcul.ligne(n)) for n in action.factures]
        delai = action.delai_jours
        langue = client.langue if client.langue in LANGUES else "fr"
        return {
            "entreprise": self.config.entreprise,
            "client": client,
            "factures": factures,
            "facture": factures[0],
            "total": action.montant_du,
            "etape": action.etape,
            "canal": action.canal,
            "date": today,
            "date_limite": today + datetime.timedelta(days=delai) if delai else None,
            "delai_jours": delai,
            "promesse": action.promesse,
            "penalites": calcul,
            "total_reclame": action.montant_du + calcul.total,
            "destinataires": action.destinataires,
            "langue": langue,
            "polices": (self.config.lettres / "polices").as_uri(),
        }

    def render(self, action: Action) -> Rendu:
        """Everything the action sends or prints; nothing for a call or a hand-off."""
        if not action.modele:
            raise TemplateError(f"étape « {action.etape} » : aucun modèle à rendre")
        context = self.context(action)
        env = self.envs[context["langue"]]
        lettre = ""
        if action.canal == "courrier" or action.joindre_courrier:
            lettre = self._render(env, LETTRE.format(action.modele), context)
        if action.canal == "courrier":
            return Rendu(action, context["client"], lettre=lettre)
        parts = {name: self._render(env, pattern.format(action.modele), context)
                 for name, pattern in PARTS}
        sujet = " ".join(parts["sujet"].split())  # one line: a subject never carries a newline
        if not sujet:
            raise TemplateError(f"{self._where(PARTS[0][1].format(action.modele))} : sujet vide")
        return Rendu(action, context["client"], sujet, parts["texte"].strip() + "\n",
                     parts["html"], lettre, self._invoice_copies(action))

    def _invoice_copies(self, action: Action) -> tuple[Path, ...]:
        """The invoices' PDFs from [factures] dossier; a missing one is a warning, not a failure."""
        copies = self._copies
        if copies is None:
            return ()
        dossier = self.config.factures_dossier
        pieces = []
        for numero in action.factures:
            facture = self.factures[numero]
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

    def _where(self, name: str) -> str:
        return f"{self.config.lettres.name}/{name}"

    def _render(self, env: jinja2.Environment, name: str, context: dict) -> str:
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{self._where(exc.name or name)} : modèle introuvable "
                                f"(dossier {self.config.lettres})") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self._where(exc.name or name)}:{exc.lineno} : erreur de "
                                f"syntaxe ({exc.message})") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{self._where(name)} : variable inconnue ({exc.message})") from None
        except Exception as exc:  # a filter or a test failing on the data
            raise TemplateError(f"{self._where(name)} : rendu impossible ({exc})") from None


def _is_notice(etape: str, modele: str | None) -> bool:
    """A formal notice: the step or its template is called mise_en_demeure."""
    return "mise_en_demeure" in (etape, modele)


def _ligne(facture: Facture, today: datetime.date, penalite: Penalite | None) -> LigneFacture:
    return LigneFacture(numero=facture.numero, date_facture=facture.date_facture,
                        echeance=facture.echeance, montant=facture.montant, paye=facture.paye,
                        reste_du=facture.reste_du, jours_retard=max(facture.jours_retard(today), 0),
                        interets=penalite.interets if penalite else Decimal("0"),
                        indemnite=penalite.indemnite if penalite else Decimal("0"))
