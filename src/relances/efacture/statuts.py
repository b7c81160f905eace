"""The e-invoicing platform's lifecycle statuses, read from its export: a CSV file, or the
reform's CDAR XML message (UN/CEFACT Cross Domain Acknowledgement and Response). Reading stage.

`lire_statuts(chemin, colonnes)` returns the statuses read and, as data, every row that could
not be (file, row, column, value, in French): one bad row never stops the others. The codes
are the French reform's (AFNOR XP Z12-012, external specifications of the DGFiP):
200 Déposée … 207 En litige, 208 Suspendue, 210 Refusée, 211 Paiement transmis, 212 Encaissée,
213 Rejetée; what each does to a chase is the core's (`compte.with_statuts`).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from pathlib import Path

from ..records import Anomalie, normalise
from .modeles import StatutFacture

CODES = {
    200: "Déposée", 201: "Émise", 202: "Reçue", 203: "Mise à disposition",
    204: "Prise en charge", 205: "Approuvée", 206: "Approuvée partiellement",
    207: "En litige", 208: "Suspendue", 209: "Complétée", 210: "Refusée",
    211: "Paiement transmis", 212: "Encaissée", 213: "Rejetée",
}
# Labels as platforms write them (normalised) -> code; the codes' own labels included.
LIBELLES = {normalise(v): k for k, v in CODES.items()} | {
    normalise(v): k for v, k in (
        ("Déposé", 200), ("Submitted", 200), ("Émis", 201), ("Issued", 201), ("Reçu", 202),
        ("Received", 202), ("Mis à disposition", 203), ("Made available", 203),
        ("Pris en charge", 204), ("In hand", 204), ("Approuvé", 205), ("Approved", 205),
        ("Approuvé partiellement", 206), ("Partially approved", 206), ("Litige", 207),
        ("In dispute", 207), ("Suspendu", 208), ("Suspended", 208), ("Complété", 209),
        ("Completed", 209), ("Refusé", 210), ("Refused", 210), ("Payment sent", 211),
        ("Payment transmitted", 211), ("Paiement envoyé", 211), ("Encaissé", 212),
        ("Payment received", 212), ("Cashed", 212), ("Payée", 212), ("Rejeté", 213),
        ("Rejected", 213))}

CHAMPS = ("numero", "code", "date", "motif", "vendeur")
OBLIGATOIRES = ("numero", "code", "date")
# Headers platforms use (normalised) -> field.
ENTETES = {normalise(h): champ for champ, headers in {
    "numero": ("N° facture", "Numéro de facture", "Numéro facture", "Numero facture",
               "N° de facture", "Facture", "Référence facture", "Invoice number", "Invoice no",
               "Invoice ID", "Numéro", "N°"),
    "code": ("Code statut", "Statut", "Code", "Code du statut", "Status", "Status code", "État",
             "Libellé statut"),
    "date": ("Date", "Date du statut", "Date statut", "Date de statut", "Status date",
             "Date et heure", "Horodatage"),
    "motif": ("Motif", "Commentaire", "Motif du statut", "Raison", "Reason", "Comment",
              "Message"),
    "vendeur": ("SIREN vendeur", "SIREN du vendeur", "SIREN émetteur", "SIREN fournisseur",
                "Seller SIREN", "SIREN"),
}.items() for h in headers}

# A row that names its invoice but cannot be read otherwise: that invoice is held.
ILLISIBLE = 0


TAILLE_MAX = 50 * 1024 * 1024  # an export larger than this is not a status export


def lire_statuts(chemin: Path, colonnes: dict[str, str] | None = None
                 ) -> tuple[list[StatutFacture], list[Anomalie]]:
    """The statuses of a platform's export (CSV or CDAR XML); `colonnes` ([statuts.colonnes])
    maps a field (numero, code, date, motif, vendeur) to the platform's own header."""
    chemin = Path(chemin)
    nom = chemin.name
    try:
        if chemin.stat().st_size > TAILLE_MAX:
            return [], [Anomalie(nom, None, f"fichier de plus de {TAILLE_MAX // 2**20} Mo : "
                                 "ce n’est pas un export de statuts ; ignoré")]
        donnees = chemin.read_bytes()
    except OSError as exc:
        return [], [Anomalie(nom, None, f"lecture impossible ({exc.strerror or exc})")]
    if donnees.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _lire_xml(donnees, nom)
    return _lire_csv(donnees, nom, colonnes or {})


def ressemble_statuts(donnees: bytes) -> bool:
    """A status export, by its first bytes: a CDAR message, or a CSV whose header names an
    invoice number and a status (for `efacture.lecture.nature`)."""
    tete = donnees[:4096]
    if b"CrossDomainAcknowledgementAndResponse" in tete:
        return True
    if tete.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return False
    premiere = _decode(tete).splitlines()[0] if tete.strip() else ""
    champs = {ENTETES.get(normalise(h)) for h in re.split(r"[;,\t]", premiere)}
    return {"numero", "code"} <= champs


# ------------------------------------------------------------------ CSV


def _decode(donnees: bytes) -> str:
    try:
        return donnees.decode("utf-8-sig")
    except UnicodeDecodeError:
        return donnees.decode("cp1252", errors="replace")


def _lire_csv(donnees: bytes, nom: str, colonnes: dict[str, str]
              ) -> tuple[list[StatutFacture], list[Anomalie]]:
    texte = _decode(donnees)
    lignes = texte.splitlines()
    if not lignes or not lignes[0].strip():
        return [], [Anomalie(nom, None, "fichier vide : aucun statut lu")]
    entete = lignes[0]
    separateur = max((";", ",", "\t"), key=entete.count)
    lecteur = csv.reader(io.StringIO(texte, newline=""), delimiter=separateur)
    titres = next(lecteur)
    # The user's [statuts.colonnes] first, then the headers platforms use.
    voulus = {normalise(h): champ for champ, h in colonnes.items()}
    position: dict[str, int] = {}
    for i, titre in enumerate(titres):
        cle = normalise(titre)
        if cle in voulus:
            champ = voulus[cle]
        elif ENTETES.get(cle) and ENTETES[cle] not in colonnes:
            champ = ENTETES[cle]
        else:
            continue
        position.setdefault(champ, i)
    manquants = [c for c in OBLIGATOIRES if c not in position]
    if manquants:
        attendus = {"numero": "« N° facture »", "code": "« Code statut »", "date": "« Date »"}
        noms = ", ".join(f"« {colonnes[c]} »" if c in colonnes else attendus[c]
                         for c in manquants)
        pluriel = "s" if len(manquants) > 1 else ""
        return [], [Anomalie(nom, 1, (
            f"colonne{pluriel} {noms} introuvable{pluriel} dans l’en-tête "
            f"({', '.join(f'« {t} »' for t in titres)}) ; indiquez les titres de l’export dans "
            "[statuts.colonnes] du fichier de configuration"))]
    statuts: list[StatutFacture] = []
    anomalies: list[Anomalie] = []
    for valeurs in lecteur:
        ligne = lecteur.line_num
        if not any(v.strip() for v in valeurs):
            continue

        def cell(champ: str) -> str:
            i = position.get(champ)
            return valeurs[i].strip() if i is not None and i < len(valeurs) else ""

        def titre(champ: str) -> str:
            return titres[position[champ]]

        statut, erreur = _statut(cell("numero"), cell("code"), cell("date"), cell("motif"),
                                 cell("vendeur"), f"{nom}, ligne {ligne}", titre)
        if erreur:
            anomalies.append(Anomalie(nom, ligne, erreur))
        if statut is not None:
            statuts.append(statut)
    return statuts, anomalies


def _statut(numero: str, code: str, jour: str, motif: str, vendeur: str, source: str, titre
            ) -> tuple[StatutFacture | None, str]:
    """One status from its texts, or why it cannot be read (column and value named). A row
    naming its invoice but unreadable otherwise gives a status of code ILLISIBLE as well: an
    unknown value is never empty, that invoice is held until a readable status comes (its day
    is the row's when readable, else `datetime.date.min`: the import's day, set by the
    importer)."""
    if not numero:
        return None, f"colonne « {titre('numero')} » vide : numéro de facture attendu"
    lu = _code(code)
    day = _jour(jour)
    siren = re.sub(r"\D", "", vendeur)[:9]
    erreur = ""
    if lu is None:
        erreur = (f"colonne « {titre('code')} » : statut inconnu « {code} » (attendu : un "
                  "code de la réforme, 200 à 213, ou son libellé, par exemple 212 ou "
                  "« Encaissée »)")
    elif day is None:
        erreur = (f"colonne « {titre('date')} » : date illisible « {jour} » (attendu : "
                  "JJ/MM/AAAA ou AAAA-MM-JJ)")
    elif vendeur and len(siren) != 9:
        erreur = (f"colonne « {titre('vendeur')} » : SIREN illisible « {vendeur} » "
                  "(9 chiffres attendus)")
    if erreur:
        return StatutFacture(numero=numero, code=ILLISIBLE, jour=day or datetime.date.min,
                             motif=erreur, source=source), (
            f"{erreur} ; facture {numero} retenue (pas de relance) jusqu’à un statut lisible")
    return StatutFacture(numero=numero, code=lu, jour=day, motif=motif, vendeur=siren,
                         source=source), ""


def _code(texte: str) -> int | None:
    """212, « 212 - Encaissée », « VRBL:FR:212 », « Encaissée »."""
    found = re.search(r"(?<!\d)(2\d\d)(?!\d)", texte)
    if found:
        return int(found.group(1))
    return LIBELLES.get(normalise(texte))


def _jour(texte: str) -> datetime.date | None:
    texte = texte.strip()
    for motif, ordre in ((r"(\d{4})-(\d{1,2})-(\d{1,2})", "ymd"),
                         (r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", "dmy"),
                         (r"(\d{4})(\d{2})(\d{2})", "ymd")):
        found = re.match(motif + r"(?:$|[ T])", texte)
        if found:
            parts = dict(zip(ordre, map(int, found.groups())))
            try:
                return datetime.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    return None


# ------------------------------------------------------------------ CDAR XML


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _first(element, *noms: str):
    """The first descendant (document order) with one of these local names, trying each name
    in turn."""
    for nom in noms:
        for child in element.iter():
            if child is not element and _local(child.tag) == nom:
                return child
    return None


def _texte(element) -> str:
    """An element's text, or its DateTimeString's (CII dates are wrapped)."""
    if element is None:
        return ""
    return " ".join(t.strip() for t in element.itertext() if t.strip())


def _lire_xml(donnees: bytes, nom: str) -> tuple[list[StatutFacture], list[Anomalie]]:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        racine = fromstring(donnees, forbid_dtd=True, forbid_entities=True,
                            forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        why = ("déclaration DTD ou entités refusées" if isinstance(exc, DefusedXmlException)
               else f"XML illisible : {exc}")
        return [], [Anomalie(nom, None, f"{why} ; fichier ignoré")]
    if _local(racine.tag) != "CrossDomainAcknowledgementAndResponse":
        return [], [Anomalie(nom, None, (
            "ce n’est pas un message de statuts CDAR (élément racine "
            f"« {_local(racine.tag)} »)"
            " ; fichier ignoré"))]
    statuts: list[StatutFacture] = []
    anomalies: list[Anomalie] = []
    documents = [e for e in racine.iter() if _local(e.tag) == "AcknowledgementDocument"]
    rang = 0
    for document in documents or [racine]:
        emis = _first(document, "IssueDateTime")
        for reference in (e for e in document.iter()
                          if _local(e.tag) == "ReferenceReferencedDocument"):
            rang += 1
            numero = _texte(_first(reference, "IssuerAssignedID"))
            # (an Element without children is false: compared with None, never `or`)
            code = _first(reference, "ProcessConditionCode", "StatusCode")
            if code is None:
                code = _first(document, "ProcessConditionCode", "StatusCode")
            code = _texte(code)
            date = _first(reference, "StatusDate", "StatusDateTime", "ProcessDateTime",
                          "EffectiveDateTime")
            if date is None:
                date = emis
            motif = _texte(_first(reference, "StatusReason", "Reason", "ReasonCode",
                                  "StatusReasonCode", "Description"))
            vendeur_el = _first(reference, "IssuerTradeParty", "SellerTradeParty")
            vendeur = _texte(_first(vendeur_el, "ID", "GlobalID")) if vendeur_el is not None else ""
            statut, erreur = _statut(numero, code, _texte(date), motif, vendeur,
                                     f"{nom}, document {rang}", _NOMS_XML.get)
            if erreur:
                anomalies.append(Anomalie(nom, rang, erreur))
            if statut is not None:
                statuts.append(statut)
    if not rang:
        anomalies.append(Anomalie(nom, None, "aucun document référencé "
                                  "(ReferenceReferencedDocument) : aucun statut lu"))
    return statuts, anomalies


_NOMS_XML = {"numero": "IssuerAssignedID", "code": "ProcessConditionCode",
             "date": "StatusDate / ProcessDateTime", "vendeur": "IssuerTradeParty"}
