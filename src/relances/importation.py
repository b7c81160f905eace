"""The user's own e-invoices (Factur-X, UBL, CII) into the workbook: a row of Factures for each
invoice or credit note, and its buyer in Clients when the workbook does not know him.

`decide` is the pure part: from the invoices read, the workbook and the keys the journal knows,
the rows to append and what is reported (a supplier's invoice, a number already used with other
figures, no due date). `importer` does the effects the way the statement import does: the
workbook locked, bound to its journal, the rows appended through the exact write-back (never
over a save made meanwhile: the decision is taken again on the file re-read). The journal
records an invoice as imported only once its row is in the workbook: a crash between the two
leaves a row the next import finds there with the same figures, « déjà dans le classeur », and
records then; never a row recorded but missing, never a row appended twice.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Sequence

from . import formats
from .config import Config
from .efacture.modeles import FactureElectronique, Partie
from .journal import Journal
from .records import Classeur, Client, Facture, client_key, normalise
from .session import bind, references_of, refresh_workbook, workbook_lock
from .xlsx import read_classeur
from .xlsx.ajout import Ajout
from .xlsx.colonnes import CLIENTS, FACTURES

SUFFIXES = (".pdf", ".xml")
FOURNISSEUR = "facture reçue d’un fournisseur, pas émise par vous"
PAYS_LUS = ("FR", "BE")  # what the Pays column of Clients reads back
# Beyond these, a value is not what the file claims it is (a cell holds 32 767 characters
# at most; a name or number this long is garbage or an attack on the workbook).
NUMERO_MAX, NOM_MAX = 100, 200
CENT = Decimal("0.01")
PREMIERE_ANNEE = 2000  # an invoice dated before is a typo (1900, 0001…)
ECHEANCE_MAX = datetime.timedelta(days=2 * 366)  # a due date further after the invoice: a typo


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class Ajoutee:
    """An invoice appended to Factures."""

    fichier: str
    numero: str
    client: str
    montant: Decimal  # as written in Montant TTC: negative for a credit note
    echeance: datetime.date
    date: datetime.date
    pdf: str = ""  # its Fichier facture cell ('' when none)
    nouveau_client: bool = False


@dataclass(frozen=True)
class Ecartee:
    """An invoice or a file not imported, and why."""

    fichier: str
    motif: str
    numero: str = ""


@dataclass
class Decision:
    """What an import appends, records and reports (see `decide`)."""

    factures: list[dict] = field(default_factory=list)  # Factures rows (ajout fields)
    clients: list[dict] = field(default_factory=list)  # Clients rows
    ajoutees: list[Ajoutee] = field(default_factory=list)
    ecartees: list[Ecartee] = field(default_factory=list)
    deja: list[Ecartee] = field(default_factory=list)  # imported before, or already typed in
    remarques: list[str] = field(default_factory=list)
    copies: list[tuple[Path, Path]] = field(default_factory=list)  # PDF -> invoices folder
    a_enregistrer: list[tuple] = field(default_factory=list)  # journal rows, once written
    deja_classeur: list[tuple] = field(default_factory=list)  # journal rows, right away


@dataclass
class BilanImport:
    """What an import did, for the summary and --json."""

    dry_run: bool = False
    fichiers: list[tuple[str, str]] = field(default_factory=list)  # (file, what became of it)
    ajoutees: list[Ajoutee] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    ecartees: list[Ecartee] = field(default_factory=list)
    deja: list[Ecartee] = field(default_factory=list)
    ignores: list[str] = field(default_factory=list)  # neither an e-invoice nor statuses
    remarques: list[str] = field(default_factory=list)
    ecriture: object | None = None
    ecriture_erreur: str = ""
    statuts: object | None = None  # importation_statuts.BilanStatuts, when statuses were read

    @property
    def has_problems(self) -> bool:
        statuts = self.statuts
        return bool(self.ecartees or self.ecriture_erreur or (statuts is not None and (
            statuts.anomalies or statuts.ecriture_erreur)))


# ------------------------------------------------------------------ keys and identities


def cle(facture: FactureElectronique) -> str:
    """The journal's key of an invoice: its seller, number, date and amount, hashed."""
    seller = identite(facture.vendeur) or normalise(facture.vendeur.nom)
    text = "\x1f".join((seller, facture.numero.strip(), facture.date.isoformat(),
                        str(montant(facture))))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def montant(facture: FactureElectronique) -> Decimal:
    """Montant TTC as the workbook holds it: what is to be paid, negative for a credit note."""
    return -facture.a_payer if facture.avoir else facture.a_payer


def numero_entreprise(text: str) -> str:
    """The company a SIREN / SIRET / BCE number or a VAT number names: 9 digits (a French
    SIREN) or 10 (a Belgian company number); '' when it names none."""
    compact = re.sub(r"[\s.\-/]", "", text).upper()
    if compact.startswith("FR") and len(compact) == 13:
        return compact[4:] if compact[4:].isdigit() else ""
    if compact.startswith("BE"):
        digits = compact[2:]
        return digits.zfill(10) if digits.isdigit() and len(digits) in (9, 10) else ""
    digits = "".join(c for c in compact if c.isdigit())
    if len(digits) == 14:
        return digits[:9]
    if len(digits) in (9, 10):
        return digits
    return ""


def identite(partie: Partie) -> str:
    """The company a party of an e-invoice is: by its SIREN / BCE, else its VAT number."""
    return numero_entreprise(partie.siren) or numero_entreprise(partie.tva)


def _compact_tva(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


# ------------------------------------------------------------------ due dates


def echeance_des_conditions(conditions: str, date: datetime.date) -> datetime.date | None:
    """The due date payment terms give, from the invoice's date: « 30 jours », « net 30 »,
    « 45 jours fin de mois » (45 days, then the end of that month), « à réception »,
    « 60 jours date de facture »; None when the terms say none of these."""
    text = " ".join(normalise(word) for word in conditions.split())
    if not text:
        return None
    if re.search(r"\b(reception|comptant|immediat)\b", text):
        return date
    days = re.search(r"\b(\d{1,3}) ?(?:jours?|j|days?)\b", text) or \
        re.search(r"\bnet ?(\d{1,3})\b", text)
    if days is None:
        return None
    due = date + datetime.timedelta(days=int(days.group(1)))
    if re.search(r"\bfin (?:de )?mois\b|\bfdm\b", text):
        due = due.replace(day=calendar.monthrange(due.year, due.month)[1])
    return due


# ------------------------------------------------------------------ the decision


def nous_sommes(vendeur: Partie, config: Config) -> bool | None:
    """Whether the seller is the creditor of this config: by company number when both are
    known, else by name; None when nothing can tell (a number missing, another name)."""
    entreprise = config.entreprise
    ours = numero_entreprise(entreprise.siret) or numero_entreprise(entreprise.tva)
    theirs = identite(vendeur)
    if ours and theirs:
        return ours == theirs
    if normalise(vendeur.nom) and normalise(vendeur.nom) == normalise(entreprise.nom):
        return True
    return None


def decide(lues: Sequence[FactureElectronique], classeur: Classeur, connues: set[str],
           config: Config, today: datetime.date | None = None) -> Decision:
    """The rows the invoices `lues` make, what is recorded and what is reported. `connues`:
    the keys the journal holds; `today`: an invoice dated more than a year after it is not
    imported (None: not checked)."""
    decision = Decision()
    clients = dict(classeur.clients)
    par_numero: dict[str, tuple[Facture | None, str, Decimal, datetime.date | None, str]] = {
        f.numero.strip().casefold(): (f, client_key(f.client), f.montant, f.date_facture,
                                      f"Factures ligne {f.row}" if f.row else "Factures")
        for f in classeur.factures}
    vues = set(connues)
    nouveaux: dict[str, str] = {}  # client_key -> name, clients added by this import
    for facture in lues:
        name = facture.fichier.name
        numero = facture.numero.strip()
        ecarter = lambda motif: decision.ecartees.append(  # noqa: E731
            Ecartee(name, f"{numero} : {motif}", numero))
        invraisemblable = _invraisemblable(facture, today)
        if invraisemblable:
            decision.ecartees.append(Ecartee(name, f"{_cut(numero, 40)} : {invraisemblable}",
                                             _cut(numero, NUMERO_MAX)))
            continue
        if facture.devise.upper() != "EUR":
            ecarter(f"en {facture.devise}, seul l’euro est suivi : non importée")
            continue
        ours = nous_sommes(facture.vendeur, config)
        if ours is None:
            why = (f"vendeur « {facture.vendeur.nom} » sans SIREN ni numéro de TVA lisible, "
                   "et d’un autre nom que le vôtre" if not identite(facture.vendeur) else
                   f"[entreprise] siret et tva vides dans {config.path.name}, et vendeur "
                   f"« {facture.vendeur.nom} » d’un autre nom que le vôtre")
            ecarter(f"{why} : impossible de vérifier que la facture est émise par vous ; "
                    "non importée")
            continue
        if not ours:
            ecarter(f"{FOURNISSEUR} (vendeur « {facture.vendeur.nom} ») : non importée")
            continue
        key = cle(facture)
        if key in vues:
            decision.deja.append(Ecartee(name, f"{numero} : déjà importée", numero))
            continue
        client, motif = _client(facture.acheteur, clients)
        if motif:
            ecarter(motif)
            continue
        nom = client.nom if client is not None else facture.acheteur.nom.strip()
        if not nom:
            ecarter("acheteur sans nom : non importée")
            continue
        echeance = facture.echeance or echeance_des_conditions(facture.conditions, facture.date)
        if echeance is None and facture.avoir:
            echeance = facture.date  # a credit note is owed nothing: its date will do
        if echeance is None:
            said = f" (« {facture.conditions} »)" if facture.conditions else ""
            ecarter(f"ni date d’échéance ni conditions de paiement lisibles{said} : non "
                    "importée ; saisissez-la à la main dans Factures")
            continue
        amount = montant(facture)
        known = par_numero.get(numero.casefold())
        if known is not None:
            _, other_client, other_amount, other_date, where = known
            differences = []
            if other_client != client_key(nom):
                differences.append(("client", other_client, nom))
            if other_amount != amount:
                differences.append(("montant", formats.montant(other_amount),
                                    formats.montant(amount)))
            if other_date is not None and other_date != facture.date:
                differences.append(("date", formats.date_courte(other_date),
                                    formats.date_courte(facture.date)))
            if differences:
                avec = " et ".join(_valeur(d, known) for d in differences)
                dit = " et ".join(_dit(d) for d in differences)
                decision.ecartees.append(Ecartee(name, (
                    f"{numero} existe déjà dans {where} avec {avec} ; la facture "
                    f"électronique dit {dit} : non importée"), numero))
                continue
            decision.deja.append(Ecartee(name, f"{numero} : déjà dans le classeur ({where})",
                                         numero))
            decision.deja_classeur.append(_journal_row(key, facture, nom))
            vues.add(key)
            continue
        pdf, copie, remarque = _fichier_facture(facture, config.factures_dossier)
        if remarque:
            decision.remarques.append(f"{name} : {remarque}")
        if copie is not None:
            decision.copies.append(copie)
        nouveau = client is None and client_key(nom) not in nouveaux
        if client is None and nouveau:
            nouveaux[client_key(nom)] = nom
            decision.clients.append(_client_row(facture.acheteur, config))
            clients[client_key(nom)] = Client(nom=nom, siren=facture.acheteur.siren,
                                              tva=facture.acheteur.tva,
                                              emails=_emails(facture.acheteur))
        elif client is not None:
            remarque = _autre_email(facture, client)
            if remarque:
                decision.remarques.append(remarque)
        decision.factures.append({
            "client": nom, "numero": numero, "date_facture": facture.date,
            "echeance": echeance, "montant": amount, "fichier": pdf,
            "facture_liee": facture.facture_liee if facture.avoir else ""})
        decision.ajoutees.append(Ajoutee(name, numero, nom, amount, echeance, facture.date,
                                         pdf, nouveau))
        decision.a_enregistrer.append(_journal_row(key, facture, nom))
        par_numero[numero.casefold()] = (None, client_key(nom), amount, facture.date,
                                         f"la facture importée de {name}")
        vues.add(key)
    return decision


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _invraisemblable(facture: FactureElectronique, today: datetime.date | None) -> str:
    """Why the invoice's figures cannot be right ('' when they can): a number or buyer's name
    far too long, an amount due in fractions of a cent, a date out of any plausible range."""
    numero, nom = facture.numero.strip(), facture.acheteur.nom.strip()
    if len(numero) > NUMERO_MAX:
        return (f"numéro de facture de {len(numero)} caractères (au plus {NUMERO_MAX}) : "
                "non importée")
    if len(nom) > NOM_MAX:
        return (f"nom de l’acheteur de {len(nom)} caractères (« {_cut(nom, 40)} », au plus "
                f"{NOM_MAX}) : non importée")
    if facture.a_payer != facture.a_payer.quantize(CENT):
        return (f"montant à payer {facture.a_payer} avec plus de deux décimales (règle "
                "BR-DEC-18) : non importée")
    date, echeance = facture.date, facture.echeance
    if date.year < PREMIERE_ANNEE or (today is not None and date > today.replace(
            year=min(today.year + 1, 9999))):
        return (f"date de facture du {formats.date_courte(date)} invraisemblable : non "
                "importée ; vérifiez le fichier")
    if echeance is not None and (echeance < date or echeance - date > ECHEANCE_MAX):
        return (f"échéance du {formats.date_courte(echeance)} invraisemblable pour une facture "
                f"du {formats.date_courte(date)} : non importée ; vérifiez le fichier")
    return ""


def _valeur(difference: tuple[str, str, str], known) -> str:
    what, old, _ = difference
    if what == "client":
        facture = known[0]
        return f"le client « {facture.client if facture is not None else old} »"
    return f"{old}" if what == "montant" else f"la date du {old}"


def _dit(difference: tuple[str, str, str]) -> str:
    what, _, new = difference
    return {"client": f"« {new} »", "montant": new, "date": f"le {new}"}[what]


def _client(acheteur: Partie, clients: dict[str, Client]) -> tuple[Client | None, str]:
    """The buyer as the workbook knows him — by SIREN / BCE, else VAT number, else name — or
    None; a reason not to import when the name is a known client with another company
    number."""
    ident = identite(acheteur)
    if ident:
        for client in clients.values():
            if numero_entreprise(client.siren) == ident or numero_entreprise(client.tva) == ident:
                return client, ""
    tva = _compact_tva(acheteur.tva)
    if tva:
        for client in clients.values():
            if client.tva and _compact_tva(client.tva) == tva:
                return client, ""
    client = clients.get(client_key(acheteur.nom.strip()))
    if client is None:
        return None, ""
    theirs = numero_entreprise(client.siren) or numero_entreprise(client.tva)
    if ident and theirs and ident != theirs:
        where = f"ligne {client.row}" if client.row else "feuille Clients"
        return None, (f"l’acheteur « {acheteur.nom} » ({ident}) porte le nom du client "
                      f"« {client.nom} » de la feuille Clients ({where}), qui a un autre "
                      f"numéro d’entreprise ({theirs}) : non importée ; renommez l’un des deux")
    return client, ""


def _emails(partie: Partie) -> tuple[str, ...]:
    return (partie.email.strip(),) if partie.email.strip() else ()


def _autre_email(facture: FactureElectronique, client: Client) -> str:
    """The invoice gives the buyer an email the workbook does not have for him: said, never
    written."""
    email = facture.acheteur.email.strip()
    if not email or email.casefold() in {e.casefold() for e in client.emails}:
        return ""
    where = f"ligne {client.row}" if client.row else "Clients"
    had = ", ".join(client.emails) if client.emails else "aucune adresse"
    return (f"{client.nom} : la facture {facture.numero} donne l’adresse {email}, la feuille "
            f"Clients ({where}) a {had} ; rien n’a été changé, corrigez-la si besoin")


def _client_row(acheteur: Partie, config: Config) -> dict:
    from .xlsx.lecture import company_number

    pays = acheteur.pays.upper()
    return {"client": acheteur.nom.strip(),
            "siren": company_number(acheteur.siren) or acheteur.siren.strip(),
            "tva": acheteur.tva.strip(), "adresse": acheteur.adresse.strip(),
            "email": acheteur.email.strip(), "type": "professionnel",
            "pays": pays if pays in PAYS_LUS and pays != config.entreprise.pays else ""}


def _journal_row(key: str, facture: FactureElectronique, client: str) -> tuple:
    tva = [{"taux": str(ligne.taux), "base": str(ligne.base), "montant": str(ligne.montant)}
           for ligne in facture.tva]
    return (key, facture.numero.strip(), client, str(facture.fichier), facture.date.isoformat(),
            json.dumps(tva))


def _fichier_facture(facture: FactureElectronique, dossier: Path | None
                     ) -> tuple[str, tuple[Path, Path] | None, str]:
    """Fichier facture for a Factur-X: its name in [factures] dossier (only a plain name
    there is attached); a PDF found elsewhere is copied in. (cell, copy to make, remark)."""
    source = facture.fichier
    if facture.format != "factur-x" or source.suffix.casefold() != ".pdf":
        return "", None, ""
    if dossier is None:
        return "", None, ("pas de dossier des factures ([factures] dossier) : son PDF ne sera "
                          "pas joint aux relances")
    try:
        if source.resolve().parent == dossier.resolve():
            return source.name, None, ""
    except OSError:
        pass
    names = [source.name]
    if Path(f"{facture.numero.strip()}.pdf").name == f"{facture.numero.strip()}.pdf":
        names.append(f"{facture.numero.strip()}.pdf")
    for name in names:
        target = dossier / name
        if not target.exists():
            return name, (source, target), ""
        if _same_bytes(source, target):
            return name, None, ""
    return "", None, (f"un autre fichier {source.name} est déjà dans {dossier} : PDF non "
                      "copié, pas joint aux relances ; renommez-le et remplissez Fichier "
                      "facture")


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


# ------------------------------------------------------------------ the files


def fichiers_de(chemins: Sequence[Path]) -> tuple[list[Path], list[Ecartee]]:
    """The files to read: those named, and the .pdf and .xml found in the folders named (and
    their subfolders), in order; a path that does not exist is reported."""
    found: list[Path] = []
    missing: list[Ecartee] = []
    for chemin in chemins:
        if chemin.is_dir():
            for p in sorted(chemin.rglob("*")):
                if p.suffix.casefold() not in SUFFIXES or p.name.startswith(".") or p.is_dir():
                    continue
                if p.is_file():
                    found.append(p)
                else:
                    missing.append(Ecartee(affichable(p), PAS_ORDINAIRE))
        elif chemin.is_file():
            found.append(chemin)
        elif chemin.exists() or chemin.is_symlink():
            missing.append(Ecartee(affichable(chemin), PAS_ORDINAIRE))
        else:
            missing.append(Ecartee(affichable(chemin), "fichier ou dossier introuvable"))
    return list(dict.fromkeys(found)), missing


BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
PAS_ORDINAIRE = ("pas un fichier ordinaire (tube, périphérique ou lien vers rien) : non lu")


def affichable(chemin: Path | str) -> str:
    """A path as it can be shown and stored: bytes that are not UTF-8 replaced by « � »,
    control characters (a newline in a name) by « ? »."""
    text = str(chemin).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("?" if unicodedata.category(c) == "Cc" or c in BIDI else c for c in text)


def nouveaux_fichiers(config: Config) -> list[Path]:
    """[factures] import_automatique: the files of the invoices folder no import has read yet,
    or changed since (size or modification time)."""
    dossier = config.factures_dossier
    if dossier is None or not dossier.is_dir():
        return []
    journal = Journal.open(config.journal, readonly=True)
    try:
        lus = journal.files_read()
    finally:
        journal.close()
    fichiers, _ = fichiers_de([dossier])
    return [p for p in fichiers if lus.get(affichable(p.resolve())) != _etat(p)]


def _etat(path: Path) -> tuple[int, str]:
    stat = path.stat()
    return stat.st_size, str(stat.st_mtime_ns)


def lire(fichiers: Sequence[Path], bilan: BilanImport
         ) -> tuple[list[FactureElectronique], list[Path]]:
    """The invoices of `fichiers`, and the files that are statuses exports; a file refused by
    the reader is reported with its message, one that is neither is listed as ignored."""
    from .efacture.lecture import EfactureError, lire_efacture, nature

    lues: list[FactureElectronique] = []
    statuts: list[Path] = []
    for fichier in fichiers:
        try:
            kind = nature(fichier)
        except EfactureError as exc:
            _refus(bilan, fichier, exc)
            continue
        if kind is None:
            bilan.ignores.append(str(fichier))
            vide = _etat(fichier)[0] == 0  # (a failed export, most likely)
            bilan.fichiers.append((str(fichier), "ignoré : fichier vide" if vide else
                                   "ignoré : ni une facture électronique ni un export de "
                                   "statuts"))
            continue
        if kind == "statuts":
            statuts.append(fichier)
            continue
        try:
            lues.extend(lire_efacture(fichier))
        except EfactureError as exc:
            _refus(bilan, fichier, exc)
    return lues, statuts


def _refus(bilan: BilanImport, fichier: Path, exc: Exception) -> None:
    """A file the reader refused: its reason, without the file name the list shows already."""
    motif = str(exc)
    for prefix in (f"{fichier} : ", f"{fichier.name} : "):
        motif = motif.removeprefix(prefix)
    bilan.ecartees.append(Ecartee(fichier.name, motif))
    bilan.fichiers.append((str(fichier), f"refusé : {motif}"))


# ------------------------------------------------------------------ the import


def importer(config: Config, chemins: Sequence[Path], today: datetime.date,
             now: datetime.datetime, dry_run: bool = False) -> BilanImport:
    """Read the e-invoices of `chemins` (files or folders) and append them to the workbook."""
    bilan = BilanImport(dry_run=dry_run)
    fichiers, missing = fichiers_de(chemins)
    # A name that is not UTF-8 or holds a newline could be neither shown nor kept: refused.
    missing += [Ecartee(affichable(p), "nom de fichier illisible (octets hors UTF-8 ou "
                        "caractères de contrôle) : renommez le fichier") for p in fichiers
                if affichable(p) != str(p)]
    fichiers = [p for p in fichiers if affichable(p) == str(p)]
    bilan.ecartees.extend(missing)
    bilan.fichiers.extend((m.fichier, m.motif) for m in missing)
    lues, statuts = lire(fichiers, bilan)
    if lues or len(statuts) < len(fichiers):
        importer_lues(config, lues, today, now, bilan, fichiers)
    if statuts:
        # The platform's statuses after the invoices: they may be about those just added.
        from .importation_statuts import importer_statuts

        bilan.statuts = importer_statuts(config, statuts, today, bilan.dry_run, now)
        for chemin in statuts:
            bilan.fichiers.append((str(chemin), "export de statuts de la plateforme"))
    return bilan


def importer_lues(config: Config, lues: Sequence[FactureElectronique], today: datetime.date,
                  now: datetime.datetime, bilan: BilanImport | None = None,
                  fichiers: Sequence[Path] = ()) -> BilanImport:
    """The import of invoices already read; `fichiers`: the files read, remembered as read
    (for import_automatique)."""
    bilan = bilan if bilan is not None else BilanImport()
    if bilan.dry_run:
        return _importer_verrouille(config, lues, today, now, bilan, fichiers, readonly=True)
    with workbook_lock(config.classeur):
        return _importer_verrouille(config, lues, today, now, bilan, fichiers, readonly=False)


def _importer_verrouille(config: Config, lues: Sequence[FactureElectronique],
                         today: datetime.date, now: datetime.datetime, bilan: BilanImport,
                         fichiers: Sequence[Path], readonly: bool) -> BilanImport:
    raw = read_classeur(config.classeur, config.colonnes, config.lignes_max, references_of(config))
    journal = Journal.open(config.journal, readonly=readonly)
    try:
        identifiant = bind(journal, raw, config, readonly=readonly)
        connues = journal.imported_keys()
        decision = decide(lues, raw.classeur, connues, config, today)
        copiees = list(decision.copies)
        if not readonly and (decision.factures or decision.clients):
            for source, target in decision.copies:
                try:
                    shutil.copy2(source, target)
                    bilan.remarques.append(f"{source.name} : PDF copié dans "
                                           f"{target.parent.name}/{target.name} (Fichier "
                                           "facture), pour être joint aux relances")
                except OSError as exc:
                    bilan.remarques.append(f"{source.name} : copie dans {target.parent} "
                                           f"impossible ({exc.strerror or exc})")
            latest: list[Decision] = [decision]

            def ajouts(lecture) -> list[Ajout]:
                # Decided again from the file about to be patched (the user may have typed
                # one of these invoices meanwhile).
                latest[0] = decide(lues, lecture.classeur, connues, config, today)
                return [Ajout(FACTURES, tuple(latest[0].factures)),
                        Ajout(CLIENTS, tuple(latest[0].clients))]

            mise_a_jour = refresh_workbook(config, raw, journal, today, identifiant, ajouts)
            decision = latest[0]
            bilan.ecriture = mise_a_jour.ecriture
            ajoutes = mise_a_jour.ecriture.ajoutes if mise_a_jour.ecriture else {}
            if mise_a_jour.ecriture_erreur:
                bilan.ecriture_erreur = (f"{mise_a_jour.ecriture_erreur} ; aucune facture "
                                         "importée, rien n’est perdu : relancez l’import")
                decision.ajoutees, decision.clients = [], []
            elif decision.factures and not ajoutes.get(FACTURES):
                bilan.ecriture_erreur = (f"{config.classeur.name} : la feuille Factures n’a "
                                         "pas les colonnes Client, N° facture, Échéance et "
                                         "Montant TTC : aucune facture importée")
                decision.ajoutees, decision.clients = [], []
            else:
                journal.record_imported(decision.a_enregistrer)
                total = mise_a_jour.ecriture.totaux.get(FACTURES)
                if total:
                    n = ajoutes[FACTURES]
                    ou = (f"la facture importée est en dessous (ligne {total + 1})" if n == 1
                          else f"les {n} factures importées sont en dessous (lignes "
                               f"{total + 1} à {total + n})")
                    bilan.remarques.append(
                        f"{config.classeur.name} : Factures ligne {total} est une ligne de "
                        f"total ; {ou}, hors de ses sommes : déplacez la ligne de total sous "
                        "les nouvelles factures (ou étendez ses formules)")
                if decision.clients and not ajoutes.get(CLIENTS):
                    bilan.remarques.append(
                        f"{config.classeur.name} : feuille Clients absente ou sans colonne "
                        "Client : client(s) "
                        f"{', '.join(c['client'] for c in decision.clients)} non ajouté(s) ; "
                        "ajoutez-les à la main (adresse e-mail) pour que leurs factures "
                        "soient relancées")
                    decision.clients = []
        if readonly:
            bilan.remarques.extend(f"{source.name} : PDF à copier dans {target.parent.name}/"
                                   f"{target.name} (Fichier facture)"
                                   for source, target in decision.copies)
        else:
            journal.record_imported(decision.deja_classeur)
            if not bilan.ecriture_erreur:
                # (the PDFs copied into the invoices folder are read already, too)
                lus = [*fichiers, *(target for _, target in copiees)]
                journal.record_files_read([(affichable(p.resolve()), *_etat(p)) for p in lus
                                           if p.exists()], now)
        _bilan(bilan, decision)
        return bilan
    finally:
        journal.close()


def _bilan(bilan: BilanImport, decision: Decision) -> None:
    bilan.ajoutees.extend(decision.ajoutees)
    bilan.clients.extend(c["client"] for c in decision.clients)
    bilan.ecartees.extend(decision.ecartees)
    bilan.deja.extend(decision.deja)
    bilan.remarques.extend(decision.remarques)
    for a in decision.ajoutees:
        bilan.fichiers.append((a.fichier, f"{a.numero} "
                               f"{'à ajouter' if bilan.dry_run else 'ajoutée'} ({a.client}, "
                               f"{formats.montant(a.montant)}, échéance "
                               f"{formats.date_courte(a.echeance)})"))
    for e in [*decision.deja, *decision.ecartees]:
        bilan.fichiers.append((e.fichier, e.motif))
