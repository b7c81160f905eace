"""Reading the user's own e-invoices: a Factur-X / ZUGFeRD PDF (its embedded CII XML), a CII
XML or a UBL 2.1 Invoice / CreditNote, into `FactureElectronique` records, checked.

These files come from outside: the XML is parsed without DTD, entities or network access, a
document type declaration is refused outright (external entities, « billion laughs »), and
sizes are capped before anything is parsed. The kind of file is told by its content, never by
its name. Every failure is an `EfactureError` whose message names the file first, in French.
"""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from .cii import RACINE as RACINE_CII
from .cii import lire_cii
from .controles import EfactureError, Invalide
from .modeles import FactureElectronique
from .ubl import RACINES as RACINES_UBL
from .ubl import lire_ubl

__all__ = ["EfactureError", "lire_efacture", "nature"]

MAX_XML = 20 * 1024 * 1024
MAX_PDF = 50 * 1024 * 1024
# The names the standards give the invoice embedded in a PDF (Factur-X, ZUGFeRD 2, XRechnung).
NOMS_FACTURX = {"factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"}
ZUGFERD_1 = "CrossIndustryDocument"
# Lifecycle status messages: CDAR (the French reform's), Peppol Invoice Response (UBL).
RACINES_STATUTS = {"CrossDomainAcknowledgementAndResponse", "ApplicationResponse"}
PAS_FACTURX = "ce PDF ne contient pas de facture électronique (Factur-X)"


def lire_efacture(chemin: Path) -> list[FactureElectronique]:
    """The invoice (or credit note) of the e-invoice file at `chemin`, read and checked: a
    list of one. Raises EfactureError naming the file when it is not an e-invoice, cannot be
    read safely or fails a check."""
    chemin = Path(chemin)
    nom = chemin.name
    data = _lire(chemin)
    debut = data[:1024].lstrip()
    try:
        if not data.strip():
            raise Invalide("fichier vide")
        if b"%PDF-" in data[:1024]:
            xml, piece = _xml_du_pdf(data)
            facture = _lire_xml(xml, chemin, f"pièce jointe {piece}")
            return [replace(facture, format="factur-x")]
        if _ressemble_xml(debut):
            return [_lire_xml(data, chemin, "")]
        raise Invalide("ce n’est ni un PDF Factur-X ni un XML de facture électronique "
                       "(CII ou UBL)")
    except Invalide as exc:
        raise EfactureError(f"{nom} : {exc}") from None


def nature(chemin: Path) -> str | None:
    """« facture » for an e-invoice (a PDF carrying factur-x.xml / zugferd-invoice.xml /
    xrechnung.xml, a CII or UBL XML), « statuts » for a lifecycle status export (CSV, CDAR or
    Peppol Invoice Response XML), None for anything else. A cheap look at the content, for the
    importer to dispatch files; `lire_efacture` does the real reading and checking. Raises
    EfactureError when the file cannot be read at all."""
    chemin = Path(chemin)
    taille = _taille(chemin)
    with _ouvrir(chemin) as fichier:
        debut = fichier.read(64 * 1024)
    if b"%PDF-" in debut[:1024]:
        if taille > MAX_PDF:
            return "facture"  # lire_efacture says why it is not read
        try:
            pieces = _pieces(_lire(chemin))
        except Invalide:
            return None
        if any(_est_candidate(nom, contenu) for nom, contenu in pieces):
            return "facture"
        return None
    if _ressemble_xml(debut.lstrip()):
        racine = _racine(debut)
        if racine is None:
            return None
        espace, local = racine
        if f"{{{espace}}}{local}" in RACINES_UBL | {RACINE_CII} or local == ZUGFERD_1:
            return "facture"
        if local in RACINES_STATUTS:
            return "statuts"
        return None
    if chemin.suffix.lower() == ".csv" and b"\0" not in debut:
        return "statuts"
    return None


# -- files ------------------------------------------------------------------------------------


def _taille(chemin: Path) -> int:
    try:
        return chemin.stat().st_size
    except FileNotFoundError:
        raise EfactureError(f"{chemin} : fichier introuvable") from None
    except OSError as exc:
        raise EfactureError(f"{chemin} : lecture impossible ({exc.strerror or exc})") from None


def _ouvrir(chemin: Path):
    if chemin.is_dir():
        raise EfactureError(f"{chemin} : c’est un dossier, pas une facture")
    try:
        return chemin.open("rb")
    except OSError as exc:
        raise EfactureError(f"{chemin} : lecture impossible ({exc.strerror or exc})") from None


def _lire(chemin: Path) -> bytes:
    """The file's bytes, refused before reading when over the limit of its kind."""
    taille = _taille(chemin)
    with _ouvrir(chemin) as fichier:
        debut = fichier.read(1024)
        limite = MAX_PDF if b"%PDF-" in debut else MAX_XML
        if taille > limite:
            genre = "PDF" if limite == MAX_PDF else "fichier"
            raise EfactureError(f"{chemin.name} : {genre} de {_mo(taille)}, plus que les "
                                f"{_mo(limite)} admis : non lu")
        try:
            return debut + fichier.read()
        except OSError as exc:
            raise EfactureError(f"{chemin} : lecture impossible ({exc.strerror or exc})") from None


def _mo(taille: int) -> str:
    from ..formats import nombre

    return f"{nombre(round(Decimal(taille) / 2**20, 1))}\u00a0Mo"


# -- XML --------------------------------------------------------------------------------------


def _ressemble_xml(debut: bytes) -> bool:
    return debut.startswith((b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))


def _parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, dtd_validation=False)


def analyser(data: bytes):
    """The root element of `data`, parsed safely; raises Invalide for a DTD or bad XML."""
    from lxml import etree

    refus = ("XML refusé : il déclare un type de document ou des entités (DOCTYPE), ce "
             "qu’une facture électronique ne fait jamais")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Invalide(refus)
    try:
        racine = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise Invalide(f"XML mal formé ({str(exc)[:200]})") from None
    except (ValueError, LookupError) as exc:  # an unknown encoding, a stray NUL…
        raise Invalide(f"XML illisible ({str(exc)[:200]})") from None
    info = racine.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise Invalide(refus)
    return racine


def _racine(debut: bytes) -> tuple[str, str] | None:
    """(namespace, local name) of the first element of a file's beginning, or None."""
    from lxml import etree

    try:
        for _, element in etree.iterparse(io.BytesIO(debut), events=("start",),
                                          resolve_entities=False, no_network=True,
                                          load_dtd=False, huge_tree=False):
            qname = etree.QName(element)
            return qname.namespace or "", qname.localname
    except (etree.XMLSyntaxError, ValueError, LookupError):
        return None
    return None


def _lire_xml(data: bytes, chemin: Path, ou: str) -> FactureElectronique:
    lieu = f"{ou} : " if ou else ""
    try:
        racine = analyser(data)
        if racine.tag == RACINE_CII:
            return lire_cii(racine, chemin)
        if racine.tag in RACINES_UBL:
            return lire_ubl(racine, chemin)
    except Invalide as exc:
        raise Invalide(f"{lieu}{exc}") from None
    local = racine.tag.split("}")[-1] if isinstance(racine.tag, str) else "?"
    if local == ZUGFERD_1:
        raise Invalide(f"{lieu}facture ZUGFeRD 1.0 (format de 2014), non lue : demandez au "
                       "logiciel de facturation un export Factur-X ou ZUGFeRD 2")
    if local in RACINES_STATUTS:
        raise Invalide(f"{lieu}c’est un message de statuts de facture ({local}), pas une "
                       "facture")
    raise Invalide(f"{lieu}XML « {local[:60]} » : ce n’est pas une facture électronique "
                   "(CrossIndustryInvoice, Invoice ou CreditNote attendu)")


# -- PDF --------------------------------------------------------------------------------------


def _pieces(data: bytes) -> list[tuple[str, bytes]]:
    """The files embedded in a PDF: [(name, content)]."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Invalide("PDF chiffré par un mot de passe : illisible")
        return [(str(piece.name), bytes(piece.content)) for piece in reader.attachment_list]
    except Invalide:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file: all mean the same
        raise Invalide(f"PDF illisible ({type(exc).__name__} : {str(exc)[:120]})") from None


def _est_candidate(nom: str, contenu: bytes) -> bool:
    """Whether an embedded file could be the invoice: one of the standard names, or any XML
    whose root is an invoice."""
    if nom.lower() in NOMS_FACTURX:
        return True
    if not nom.lower().endswith(".xml"):
        return False
    racine = _racine(contenu[:64 * 1024])
    return racine is not None and (f"{{{racine[0]}}}{racine[1]}" in RACINES_UBL | {RACINE_CII}
                                   or racine[1] == ZUGFERD_1)


def _xml_du_pdf(data: bytes) -> tuple[bytes, str]:
    """(the invoice XML, its attachment name) of a Factur-X / ZUGFeRD PDF, extracted by the
    factur-x library once the attachment has been checked to be the only candidate and safe."""
    candidates = [(nom, contenu) for nom, contenu in _pieces(data) if _est_candidate(nom, contenu)]
    distinctes = {contenu for _, contenu in candidates}
    if not candidates:
        raise Invalide(PAS_FACTURX)
    if len(distinctes) > 1:
        noms = ", ".join(f"« {nom[:60]} »" for nom, _ in candidates)
        raise Invalide(f"ce PDF contient plusieurs XML de facture différents ({noms}) : "
                       "impossible de savoir lequel fait foi, rien n’est importé")
    nom, contenu = candidates[0]
    if len(contenu) > MAX_XML:
        raise Invalide(f"pièce jointe {nom} de {_mo(len(contenu))}, plus que les "
                       f"{_mo(MAX_XML)} admis : non lue")
    try:
        analyser(contenu)  # refuses a DTD or bad XML before the library parses it
    except Invalide as exc:
        raise Invalide(f"pièce jointe {nom} : {exc}") from None
    from facturx import get_xml_from_pdf

    try:
        trouve, xml = get_xml_from_pdf(data, check_xsd=False, filenames=[nom])
    except Exception as exc:  # the library wraps pypdf and lxml: any failure is unreadable
        raise Invalide(f"PDF illisible ({type(exc).__name__} : {str(exc)[:120]})") from None
    if not trouve:
        # factur-x.xml holding something else than CII (a UBL, a ZUGFeRD 1.0): read it anyway
        # when it is an invoice, the checks will say the rest.
        return contenu, nom
    return xml, str(trouve)
