"""A letter's data, as its Typst template reads it: plain JSON values, every amount and date
already written out in the client's language (French spacing and apostrophes applied), so a
template only places them. The legal paragraphs shared with the emails (`_penalites.txt`,
`_mise_en_demeure_droit.txt`…) come rendered, as text: one wording for both.

Nothing here is markup: a template shows these strings as text, whatever they contain.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

from . import formats
from .typographie import compose, elide

TEXTES = ("penalites", "mise_en_demeure_droit", "mise_en_demeure_demande",
          "mise_en_demeure_defaut")
RAW = ("qr", "fichier", "logo")  # kept byte for byte: an SVG, a file name


def donnees(context: dict, textes: dict[str, str]) -> tuple[dict, Path | None]:
    """(the template's data, the folder it may read files from: the logo's). `context` is the Jinja context
    of the message (render.Renderer.context), `textes` the shared paragraphs rendered."""
    langue = context["langue"]
    montant = lambda value: formats.montant(value, langue)  # noqa: E731
    longue = lambda day: formats.date_longue(day, langue) if day else ""  # noqa: E731
    courte = lambda day: formats.date_courte(day, langue) if day else ""  # noqa: E731
    entreprise, client, calcul = context["entreprise"], context["client"], context["penalites"]
    racine, logo = None, ""
    if getattr(entreprise, "logo", None):
        racine, logo = Path(entreprise.logo).parent, "/" + Path(entreprise.logo).name

    def ligne(f, penalites: bool) -> dict:
        return {"numero": f.numero,
                "reference": f.reference if f.reference and f.reference != f.numero else "",
                "date": courte(f.date_facture), "echeance": courte(f.echeance),
                "montant": montant(f.montant), "paye": montant(f.paye),
                "reste": montant(f.reste_du), "retard": f"{f.jours_retard} j",
                "interets": montant(f.interets) if penalites else "",
                "indemnite": montant(f.indemnite) if penalites else ""}

    toutes = context["toutes"]
    historique = [{"jour": longue(c.jour), "description": c.description,
                   "factures": list(c.factures) if c.factures
                   and len(c.factures) < len(toutes) else [], "ecrit": c.ecrit}
                  for c in context["historique"]]
    qr = context.get("qr")
    data = {
        "langue": langue,
        "date": longue(context["date"]),
        "date_courte": courte(context["date"]),
        "entreprise": {
            "nom": entreprise.nom, "forme": entreprise.forme,
            "adresse": list(entreprise.adresse_lignes), "telephone": entreprise.telephone,
            "email": entreprise.email, "siret": entreprise.siret, "rcs": entreprise.rcs,
            "tva": entreprise.tva, "pays": entreprise.pays, "iban": entreprise.iban,
            "bic": entreprise.bic, "signataire": entreprise.signataire,
            "lieu": entreprise.lieu, "logo": logo,
            "a_l_ordre": elide("de", entreprise.nom),
        },
        "client": {
            "nom": client.nom, "forme": client.forme, "siren": client.siren,
            "adresse": [l.strip() for l in client.adresse.splitlines() if l.strip()],
            "contact": client.contact, "civilite": client.civilite,
            "telephone": getattr(client, "telephone", ""), "emails": list(client.emails),
        },
        "formules": {"salutation": context["formules"].salutation,
                     "politesse": context["formules"].politesse,
                     "attention": context["formules"].attention},
        "particulier": context["particulier"],
        "pays": context["pays"],
        "factures": [ligne(f, True) for f in context["factures"]],
        "autres": [ligne(f, False) for f in context["autres"]],
        "avoirs": [{"numero": a.numero, "date": courte(a.date_facture),
                    "montant": montant(a.montant), "reste": montant(a.reste),
                    "factures": list(a.factures)} for a in context["avoirs"]],
        "numeros": [f.numero for f in toutes],
        "avec_penalites": bool(context["reclame_penalites"]),
        "principal": montant(context["principal"]),
        "interets": montant(calcul.interets) if calcul.interets > 0 else "",
        # Computed with more than one rate: one line per period, adding up to `interets`.
        "detail_interets": [
            {"numero": numero, "debut": courte(p.debut), "fin": courte(p.fin),
             "jours": str(p.jours),
             "taux": formats.nombre(p.taux, langue) + ("%" if langue == "en" else " %"),
             "base": montant(p.base), "montant": montant(p.montant)}
            for numero, p in calcul.periodes]
        if context["reclame_penalites"] and calcul.plusieurs_taux else [],
        "indemnites": montant(calcul.indemnites) if calcul.indemnites > 0 else "",
        "penalites": montant(calcul.total) if calcul.total > 0 else "",
        "montant_avoirs": montant(context["montant_avoirs"]) if context["avoirs"] else "",
        "montant_demande": montant(context["montant_demande"]),
        "date_limite": longue(context["date_limite"]),
        "delai_jours": formats.en_lettres(context["delai_jours"] or 8, langue),
        "historique": historique,
        "reference": context["reference"] or ", ".join(f.reference for f in toutes),
        "pieces": list(context["pieces"]),
        "qr": _svg(qr["svg"]) if qr else "",
        "textes": {name: re.sub(r"[ \t\r\n]+", " ", textes.get(name, "")).strip()
                   for name in TEXTES},
    }
    if "chronologie" in context:
        data["complement"] = context["complement"] or ""
        data["remise"] = courte(context["remise"])
        data["chronologie"] = [
            {"jour": courte(e.jour), "quoi": e.quoi, "canal": e.canal,
             "factures": ", ".join(e.factures),
             "montant": montant(e.montant) if e.montant is not None else "",
             "destinataire": e.destinataire,
             "fichier": e.fichier.split("/")[-1] if e.fichier else "", "resultat": e.resultat}
            for e in context["chronologie"]]
    return _composed(data, langue), racine


def _svg(data_uri: str) -> str:
    """The SVG text of segno's data URI (« data:image/svg+xml;charset=utf-8,%3Csvg… »)."""
    from urllib.parse import unquote

    head, _, body = data_uri.partition(",")
    if head.endswith(";base64"):
        import base64

        return base64.b64decode(body).decode("utf-8")
    return unquote(body)


def _composed(value, langue: str, key: str = ""):
    """Every string in French (or English) typography, except the raw ones."""
    if isinstance(value, str):
        return value if key in RAW else compose(value, langue)
    if isinstance(value, dict):
        return {k: _composed(v, langue, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_composed(v, langue, key) for v in value]
    if isinstance(value, (Decimal, datetime.date)):  # never reaches a template unformatted
        raise TypeError(f"{key} : valeur non formatée")
    return value
