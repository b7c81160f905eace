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
    retard = (lambda n: f"{n} day" + ("s" if n != 1 else "")) if langue == "en" else (  # noqa: E731
        lambda n: f"{n} j")
    # A private individual who is his own contact is named once, with his civility, and no
    # « À l'attention de » line repeats him.
    lui_meme = client.type == "particulier" and (
        not client.contact.strip() or _same(client.contact, client.nom))
    destinataire = client.nom
    attention = context["formules"].attention
    if lui_meme:
        titre = {"en": {"Madame": "Ms", "Monsieur": "Mr"}}.get(langue, {
            "Madame": "Mme", "Monsieur": "M."}).get(client.civilite, "")
        destinataire, attention = (f"{titre} {client.nom}" if titre else client.nom), ""
    racine, logo = None, ""
    if getattr(entreprise, "logo", None):
        racine, logo = Path(entreprise.logo).parent, "/" + Path(entreprise.logo).name

    def ligne(f, penalites: bool) -> dict:
        return {"numero": f.numero,
                "reference": f.reference if f.reference and f.reference != f.numero else "",
                "date": courte(f.date_facture), "echeance": courte(f.echeance),
                "montant": montant(f.montant), "paye": montant(f.paye),
                "reste": montant(f.reste_du), "retard": retard(f.jours_retard),
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
            "nom": client.nom, "forme": client.forme,
            "siren": client.siren, "destinataire": destinataire,
            "adresse": [l.strip() for l in client.adresse.splitlines() if l.strip()],
            "contact": "" if lui_meme else client.contact, "civilite": client.civilite,
            "telephone": getattr(client, "telephone", ""), "emails": list(client.emails),
        },
        "formules": {"salutation": context["formules"].salutation,
                     "politesse": context["formules"].politesse,
                     "attention": attention},
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
        # « Indemnité » for one invoice, « Indemnités » for several.
        "nombre_indemnites": sum(1 for f in context["factures"] if f.indemnite > 0),
        "penalites": montant(calcul.total) if calcul.total > 0 else "",
        # Under « À déduire » / « Avoirs déduits »: the amount without its minus sign.
        "montant_avoirs": montant(abs(context["montant_avoirs"])) if context["avoirs"] else "",
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


def forme_distincte(nom: str, forme: str) -> str:
    """The legal form, or '' when the name already says it (« SCI Les Tilleuls », « SCI »)."""
    mots = re.findall(r"\w+", nom.casefold())
    cle = re.findall(r"\w+", forme.casefold())
    if cle and any(mots[i:i + len(cle)] == cle for i in range(len(mots))):
        return ""
    return forme


CIVILITES = {"m", "mme", "mlle", "monsieur", "madame", "mr", "mrs", "ms", "miss"}


def meme_personne(nom: str, contact: str) -> bool:
    """Whether `nom` (who said something: « M. Dupuis », « Éric ») is the client's contact
    (« Éric Dupuis »), whom the message speaks to."""
    def mots(texte: str) -> set[str]:
        return set(re.findall(r"\w+", texte.casefold())) - CIVILITES
    return bool(mots(nom)) and mots(nom) <= mots(contact)


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def telephone_international(numero: str, pays: str) -> str:
    """« 04 72 00 00 00 » (FR) -> « +33 4 72 00 00 00 »; « 02 123 45 67 » (BE) -> « +32 2 123 45 67 ».
    A number already international, or of another country, is left as written."""
    brut = numero.strip()
    chiffres = re.sub(r"[^\d]", "", brut)
    indicatif = {"FR": "33", "BE": "32"}.get(pays)
    if not indicatif or brut.startswith("+") or brut.startswith("00"):
        return brut
    if not (chiffres.startswith("0") and len(chiffres) in (9, 10)):
        return brut
    national = chiffres[1:]
    if pays == "FR":  # 4 72 00 00 00
        groupes = [national[0]] + [national[i:i + 2] for i in range(1, len(national), 2)]
    elif len(national) == 9:  # Belgian mobile: 470 12 34 56
        groupes = [national[:3], national[3:5], national[5:7], national[7:]]
    elif national[0] in "2349":  # Brussels, Antwerp, Liège, Ghent: 2 123 45 67
        groupes = [national[0], national[1:4], national[4:6], national[6:]]
    else:  # other zones: 10 12 34 56
        groupes = [national[:2], national[2:4], national[4:6], national[6:]]
    return "+" + indicatif + " " + " ".join(groupes)


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
