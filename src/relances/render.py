"""Rendering stage: Jinja2 templates in lettres/ -> subject, plain text and HTML of each action.

Every message of a run is rendered before any is sent, so that a template error stops the run
before anything leaves. Templates are strict: a variable that does not exist is an error, not
an empty string. HTML is autoescaped; plain text is not. Amounts and dates go through Babel
filters (`montant`, `date_longue`, `date_courte`) in the client's language.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jinja2

from . import formats
from .config import Config
from .errors import TemplateError
from .records import Action, Classeur, Client, Facture

PARTS = (("sujet", "{}.sujet.txt"), ("texte", "{}.texte.txt"), ("html", "{}.html"))


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


@dataclass(frozen=True)
class Rendu:
    action: Action
    client: Client
    sujet: str
    texte: str
    html: str


def make_environment(lettres: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(lettres)),
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
    """Renders the actions of one run: one workbook, one date."""

    def __init__(self, config: Config, classeur: Classeur, today: datetime.date):
        self.config, self.classeur, self.today = config, classeur, today
        self.env = make_environment(config.lettres)
        self.factures = {f.numero: f for f in classeur.factures}

    def context(self, action: Action) -> dict:
        today = self.today
        factures = [_ligne(self.factures[n], today) for n in action.factures]
        client = self.classeur.client_of(self.factures[action.factures[0]])
        delai = action.delai_jours
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
            "penalites": self.config.penalites,
            "destinataires": action.destinataires,
            "langue": client.langue,
        }

    def render(self, action: Action) -> Rendu:
        if not action.modele:
            raise TemplateError(f"étape « {action.etape} » : aucun modèle à rendre")
        context = self.context(action)
        parts = {name: self._render(pattern.format(action.modele), context)
                 for name, pattern in PARTS}
        sujet = " ".join(parts["sujet"].split())  # one line: a subject never carries a newline
        if not sujet:
            raise TemplateError(f"{self._where(PARTS[0][1].format(action.modele))} : sujet vide")
        return Rendu(action, context["client"], sujet, parts["texte"].strip() + "\n", parts["html"])

    def _where(self, name: str) -> str:
        return f"{self.config.lettres.name}/{name}"

    def _render(self, name: str, context: dict) -> str:
        try:
            return self.env.get_template(name).render(context)
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


def _ligne(facture: Facture, today: datetime.date) -> LigneFacture:
    return LigneFacture(numero=facture.numero, date_facture=facture.date_facture,
                        echeance=facture.echeance, montant=facture.montant, paye=facture.paye,
                        reste_du=facture.reste_du, jours_retard=max(facture.jours_retard(today), 0))
