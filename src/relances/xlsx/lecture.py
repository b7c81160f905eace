"""Reading stage: the user's workbook (python-calamine) turned into records.

Reading goes through python-calamine directly (a Rust reader, many times faster than openpyxl,
without pandas' import and frame-building cost): each sheet's rows as Python values, of the
types the records were always read from (see `_cells`). Unreadable rows
become anomalies (sheet, row, reason) and the run goes on. Rows keep their sheet row number,
which is how the writer finds them again (the file's fingerprint proves it has not moved).
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

from ..cells import CellError, is_empty, read_date, read_montant, read_text, split_emails
from ..errors import WorkbookError
from ..records import STATUTS, Anomalie, Classeur, Client, Facture, client_key, normalise
from .colonnes import (A_VERIFIER, CLIENT_FIELD_BY_HEADER, CLIENTS, DECISION_HEADER,
                       OPERATION_HEADER, ECHANGES, ECHEANCIERS,
                       PAIEMENTS,
                       FACTURE_COLUMNS, FACTURES,
                       FIELD_BY_HEADER, REQUIRED, duplicates, find_header)
from .controle import LIGNES_MAX, check_workbook
from .sheet import column_letter
from .package import fingerprint
from .lignes import cell_of, unknown_in
from .feuilles import (GENRE, Numeros, Retenues, check_headers, check_payment_numbers, locate,
                       unreadable)
from .echanges import read_echanges
from .paiements import apply_payments, read_payments, read_plans
from .proprietes import read_identifiant


@dataclass(frozen=True)
class Lecture:
    """A read workbook: its records, the fingerprint of the bytes they came from, and the
    identifier that binds it to its journal (None until a first run stored one)."""

    classeur: Classeur
    empreinte: str
    identifiant: str | None = None
    decisions: tuple["Decision", ...] = ()  # what the user wrote in sheet À vérifier
    # User sheets not found by their name: (user sheet, the sheet read in its place, or None
    # when several could be it). The write-back creates none of them, and appends there.
    feuilles: tuple[tuple[str, str | None], ...] = ()
    # Factures' Payé column by row as typed, before sheet Paiements is counted (where a payment
    # spread over several invoices starts from); None when there was nothing to count.
    paye_saisi: dict[int, Decimal] | None = None


@dataclass(frozen=True)
class Decision:
    """A Décision cell of sheet À vérifier: what the user says statement line `cle` pays."""

    cle: str
    texte: str
    row: int


# ---------------------------------------------------------------- reading


def read_classeur(path: Path, colonnes: dict[str, str] | None = None,
                  lignes_max: int = LIGNES_MAX, references=None) -> Lecture:
    """Read sheets Factures and Clients into records; unreadable rows become anomalies.
    `references`: the payment references given (sheet Paiements' Référence column)."""
    path = Path(path)
    if path.is_dir():
        raise WorkbookError(f"{path} : c’est un dossier ; indiquez le fichier du classeur "
                            "(clé classeur de config.toml, ou --classeur)")
    if not path.exists():
        raise WorkbookError(
            f"{path} : classeur introuvable. Mettez votre classeur à cet endroit, "
            "ou indiquez le bon fichier avec --classeur ou la clé classeur de config.toml."
        )
    # The checks, the identifier and the records must come from the same bytes: a save by
    # the user in between would mix two versions. The fingerprint is taken before and after.
    for _attempt in range(3):
        empreinte = fingerprint(path)
        try:
            lecture = _read_once(path, colonnes, lignes_max, empreinte, references)
        except WorkbookError:
            if _fingerprint_or_none(path) == empreinte:
                raise
            continue  # read in the middle of a save: what failed was the save, read again
        if fingerprint(path) == empreinte:
            return lecture
    raise WorkbookError(f"{path.name} : le classeur change sans cesse pendant sa lecture "
                        "(enregistrement en cours ?) ; relancez dans un instant.")


def _fingerprint_or_none(path: Path) -> str | None:
    try:
        return fingerprint(path)
    except OSError:
        return None  # gone for a moment: some applications save that way


def _read_once(path: Path, colonnes: dict[str, str] | None, lignes_max: int,
               empreinte: str, references=None) -> Lecture:
    # Format, zip bounds, DOCTYPE, sheet length, patchability: refused up front. Unknown cells
    # (error values, formulas without a cached value) are found here, not read as empty.
    controle = check_workbook(path, lignes_max)
    try:
        identifiant = read_identifiant(path)
        book = _Classeur(controle.source)
        names = {normalise(name): name for name in book.sheet_names}
        factures_name = names.get(normalise(FACTURES))
        if factures_name is None:
            raise WorkbookError(
                f"{path.name} : feuille « {FACTURES} » introuvable "
                f"(feuilles présentes : {', '.join(book.sheet_names)})"
            )
        factures_rows = book.rows(factures_name)
        clients_name = names.get(normalise(CLIENTS))
        clients_rows = book.rows(clients_name) if clients_name else []
        # The user's sheets, by their name or, renamed, by their headers.
        anomalies: list[Anomalie] = []
        retenues = Retenues()
        feuilles = locate(names, lambda name: book.rows(name, 11),
                          lambda name: _has_data(book, name), anomalies, retenues)
        echanges_name = feuilles.get(ECHANGES, names.get(normalise(ECHANGES)))
        echanges_rows = book.rows(echanges_name) if echanges_name else []
        plans_name = feuilles.get(ECHEANCIERS, names.get(normalise(ECHEANCIERS)))
        plans_rows = book.rows(plans_name) if plans_name else []
        paid_name = feuilles.get(PAIEMENTS, names.get(normalise(PAIEMENTS)))
        paid_rows = book.rows(paid_name) if paid_name else []
        review_name = names.get(normalise(A_VERIFIER))
        review_rows = book.rows(review_name) if review_name else []
    except WorkbookError:
        raise
    except Exception as exc:  # calamine raises its own types for corrupt or foreign files
        raise WorkbookError(f"{path.name} : lecture impossible ({exc})") from None

    if clients_name is None:
        anomalies.append(Anomalie(None, None, f"feuille « {CLIENTS} » introuvable : aucune "
                                  "adresse ni coordonnée client ; seules les adresses de la "
                                  "colonne Email de Factures servent"))
    inconnues = controle.inconnues
    fusions = controle.fusions
    _check_headers(path.name, factures_name, factures_rows, FIELD_BY_HEADER, colonnes or {},
                   REQUIRED, FACTURE_STOPPING, fusions.get(factures_name, []))
    if clients_name is not None:
        # « Raison sociale » then « Nom » (the contact's) is common: the first names the
        # client, as always; only a second Email or Pause column could hide what stops chasing.
        _check_headers(path.name, clients_name, clients_rows, CLIENT_FIELD_BY_HEADER, {},
                       ("client",), {k: v for k, v in CLIENT_STOPPING.items() if k != "client"},
                       fusions.get(clients_name, []))
    clients = _read_clients(clients_name or CLIENTS, clients_rows, anomalies,
                            inconnues.get(clients_name or "", {}))
    # An unknown value is never empty, a credit note neither: the clients concerned are held.
    factures = _read_factures(factures_name, factures_rows, colonnes or {}, anomalies, path.name,
                              inconnues.get(factures_name, {}), retenues.clients)
    if clients_name is not None:
        unknown_clients: set[str] = set()
        for facture in factures:
            key = client_key(facture.client)
            if key not in clients and key not in unknown_clients:
                unknown_clients.add(key)
                anomalies.append(Anomalie(factures_name, facture.row, f"client « {facture.client} » "
                                          f"absent de la feuille Clients (facture {facture.numero})"
                                          " : ni contact, ni adresse postale ; seule la colonne "
                                          "Email de Factures peut servir"))
    # A user sheet whose headers cannot be trusted is not read: nobody is chased.
    for genre, name, rows in ((ECHANGES, echanges_name, echanges_rows),
                              (ECHEANCIERS, plans_name, plans_rows),
                              (PAIEMENTS, paid_name, paid_rows)):
        why = check_headers(GENRE[genre], rows, fusions.get(name, [])) if name else ""
        if why:
            unreadable(name, why, anomalies, retenues)
            rows.clear()
    numeros = Numeros(factures, _numbers_of(factures_rows, colonnes or {}))
    echanges = read_echanges(echanges_name or ECHANGES, echanges_rows, anomalies, clients,
                              factures, inconnues.get(echanges_name or "", {}), retenues,
                              numeros)
    factures, versements = read_plans(plans_name or ECHEANCIERS, plans_rows, anomalies,
                                       factures, inconnues.get(plans_name or "", {}), retenues,
                                       numeros)
    reglements = read_payments(paid_name or PAIEMENTS, paid_rows, anomalies, clients,
                                inconnues.get(paid_name or "", {}), retenues, factures)
    signales = check_payment_numbers(paid_name or PAIEMENTS, paid_rows, reglements, numeros,
                                     clients, anomalies, retenues)
    paye_saisi = ({f.row: f.paye for f in factures if f.row is not None} if reglements
                  else None)
    factures = apply_payments(paid_name or PAIEMENTS, factures,
                              [r for r in reglements if r.row not in signales], clients,
                              anomalies, references)
    factures = retenues.apply(clients, factures)
    return Lecture(Classeur(tuple(factures), clients, tuple(anomalies), tuple(echanges),
                            tuple(versements), tuple(reglements)), empreinte, identifiant,
                   _read_decisions(review_rows), tuple(feuilles.items()), paye_saisi)


def _read_decisions(rows: list[list[object]]) -> tuple[Decision, ...]:
    """The filled Décision cells of sheet À vérifier, with their statement line's key."""
    if not rows:
        return ()
    header = [normalise(read_text(v)) for v in rows[0]]
    try:
        cle_col = header.index(normalise(OPERATION_HEADER))
        decision_col = next(i for i, h in enumerate(header)
                            if h.startswith(normalise(DECISION_HEADER)))
    except (ValueError, StopIteration):
        return ()
    found = []
    for index, row in enumerate(rows[1:], start=2):
        cle = read_text(row[cle_col]) if cle_col < len(row) else ""
        texte = read_text(row[decision_col]) if decision_col < len(row) else ""
        if cle and texte:
            found.append(Decision(cle, texte, index))
    return tuple(found)


# Texts pandas' reader (this one's predecessor) took as missing: they still read as empty, so
# that every cell reads as it always did.
VIDES = frozenset(("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                   "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan",
                   "null"))
_VIDE = float("nan")


class _Classeur:
    """The workbook through python-calamine: its worksheets' names, and each one's rows."""

    def __init__(self, source) -> None:
        from python_calamine import CalamineWorkbook, SheetTypeEnum

        self.book = (CalamineWorkbook.from_path(str(source)) if isinstance(source, Path)
                     else CalamineWorkbook.from_filelike(source))
        self.sheet_names = [sheet.name for sheet in self.book.sheets_metadata
                            if sheet.typ == SheetTypeEnum.WorkSheet]
        self._lues: dict[str, list[list[object]]] = {}

    def rows(self, name: str, nrows: int | None = None) -> list[list[object]]:
        """The sheet's rows from A1 (row 1 at index 0), as lists of equal length."""
        rows = self._lues.get(name)
        if rows is None:
            sheet = self.book.get_sheet_by_name(name)
            if nrows is not None:
                return _cells(sheet.to_python(skip_empty_area=False, nrows=nrows))
            rows = self._lues[name] = _cells(sheet.to_python(skip_empty_area=False))
        return rows if nrows is None else rows[:nrows]


def _cells(rows: list[list[object]]) -> list[list[object]]:
    """calamine's values as the records read them: a whole number held as a float becomes an
    int, a date a datetime at midnight, an empty cell or a text meaning "missing" NaN. The rows
    are calamine's own lists, changed in place (only the cells that change are touched)."""
    vides, vide, date, moment = VIDES, _VIDE, datetime.date, datetime.datetime
    for row in rows:
        for i, value in enumerate(row):
            kind = value.__class__
            if kind is str:
                if value in vides:
                    row[i] = vide
            elif kind is float:
                if value.is_integer():
                    row[i] = int(value)
            elif kind is date:
                row[i] = moment(value.year, value.month, value.day)
    return rows


def _numbers_of(rows: list[list[object]], colonnes: dict[str, str]) -> set[str]:
    """Every invoice number of sheet Factures, its unreadable and duplicate rows' too."""
    header_index, columns = find_header(rows, FIELD_BY_HEADER, colonnes, REQUIRED)
    return {read_text(cell_of(row, columns, "numero")) for row in rows[header_index + 1:]}


def _has_data(book: "_Classeur", name: str) -> bool:
    """Whether a sheet holds something under its header row."""
    rows = book.rows(name)
    return sum(1 for row in rows if not all(is_empty(v) for v in row)) > 1


# Clients cells whose unknown value stops chasing that client.
CLIENT_STOPPING = {"client": "Client", "email": "Email", "pause": "Pause jusqu’au"}
# Factures cells whose unknown value stops chasing that invoice.
FACTURE_STOPPING = {"client": "Client", "numero": "N° facture", "echeance": "Échéance",
                    "montant": "Montant TTC", "paye": "Payé", "statut": "Statut",
                    "promesse": "Promesse de paiement", "email": "Email",
                    "nouvelle_echeance": "Nouvelle échéance", "facture_liee": "Facture liée"}


def _check_headers(filename: str, sheet: str, rows: list[list[object]], fields: dict[str, str],
                   colonnes: dict[str, str], needed: tuple[str, ...], stopping: dict[str, str],
                   fusions: list[tuple[int, int, int, int]]) -> None:
    """A header that could hide a column stops the run: a paid invoice must never be chased
    because its Payé column was merged away or stood twice."""
    if not rows:
        return
    header_index, _ = find_header(rows, fields, colonnes, needed)
    header_row = header_index + 1
    for top, left, bottom, right in fusions:
        if top <= header_row <= bottom and right > left:
            cells = f"{column_letter(left)}{top}:{column_letter(right)}{bottom}"
            raise WorkbookError(
                f"{filename}:{sheet} : cellules d’en-tête fusionnées ({cells}) : une colonne "
                "peut s’y cacher. Défusionnez-les et donnez un en-tête à chaque colonne, "
                "puis relancez.")
    for name, positions in duplicates(rows[header_index], fields, colonnes).items():
        if name in stopping:
            letters = " et ".join(column_letter(p + 1) for p in positions)
            raise WorkbookError(
                f"{filename}:{sheet} : colonne « {stopping[name]} » en double (colonnes "
                f"{letters}) : relances ne sait pas laquelle croire. Renommez ou supprimez "
                "l’une d’elles, puis relancez.")


# Pays as users type it (normalised) -> the country code the law is chosen by.
PAYS = {"fr": "FR", "france": "FR", "be": "BE", "belgique": "BE", "belgium": "BE",
        "belgie": "BE", "belgien": "BE"}
# Civilité as users type it (normalised) -> the form letters use.
CIVILITES = {
    **dict.fromkeys(("madame", "mme", "mrs", "ms", "miss", "mademoiselle", "mlle", "mad"),
                    "Madame"),
    **dict.fromkeys(("monsieur", "m", "mr", "mister", "msieur"), "Monsieur"),
}


def company_number(text: str) -> str:
    """A SIREN / SIRET (France) or an enterprise number (Belgium), formatted; '' if invalid."""
    from stdnum.be import vat as be
    from stdnum.fr import siren, siret

    digits = "".join(c for c in text if c.isdigit())
    if not digits:
        return ""
    if len(digits) == 9 and siren.is_valid(digits):
        return siren.format(digits)
    if len(digits) == 14 and siret.is_valid(digits):
        return siret.format(digits)
    if len(digits) in (9, 10) and be.is_valid(digits):
        number = be.compact(digits)
        return f"{number[:4]}.{number[4:7]}.{number[7:]}"
    return ""


def _read_clients(sheet: str, rows: list[list[object]], anomalies: list[Anomalie],
                  inconnues: dict[tuple[int, int], str] | None = None) -> dict[str, Client]:
    if not rows:
        return {}
    header_index, columns = find_header(rows, CLIENT_FIELD_BY_HEADER, {}, ("client",))
    if "client" not in columns:
        anomalies.append(Anomalie(sheet, header_index + 1,
                                  "colonne « Client » introuvable : feuille Clients ignorée"))
        return {}
    clients: dict[str, Client] = {}
    inconnues = inconnues or {}
    rows_unknown = {r for r, _ in inconnues}
    for index, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        nom = read_text(cell_of(row, columns, "client"))
        unknown = unknown_in(index, columns, inconnues, CLIENT_STOPPING) \
            if index in rows_unknown else []
        if not nom:
            for _, label, what in unknown:
                anomalies.append(Anomalie(sheet, index, f"{label} : {what} — ligne ignorée tant "
                                          "que la cellule n’est pas corrigée"))
            continue

        def problem(message: str) -> None:
            anomalies.append(Anomalie(sheet, index, f"{nom} : {message}"))

        langue = normalise(read_text(cell_of(row, columns, "langue"))) or "fr"
        if langue not in ("fr", "en"):
            problem(f"Langue inconnue « {read_text(cell_of(row, columns, 'langue'))} » "
                    "(fr ou en) : français utilisé")
            langue = "fr"
        type_ = normalise(read_text(cell_of(row, columns, "type"))) or "professionnel"
        if type_ not in ("professionnel", "particulier"):
            problem(f"Type inconnu « {read_text(cell_of(row, columns, 'type'))} » "
                    "(professionnel ou particulier) : professionnel retenu")
            type_ = "professionnel"
        pays_raw = read_text(cell_of(row, columns, "pays"))
        pays = PAYS.get(normalise(pays_raw), "")
        if pays_raw and not pays:
            problem(f"Pays inconnu « {pays_raw} » (FR ou BE) : pays de l’entreprise retenu")
        profil = read_text(cell_of(row, columns, "profil"))  # its policy: config's [profils]
        civilite_raw = read_text(cell_of(row, columns, "civilite"))
        civilite = CIVILITES.get(normalise(civilite_raw), "")
        if civilite_raw and not civilite:
            problem(f"Civilité inconnue « {civilite_raw} » (Madame, Monsieur ou vide) : "
                    "« Madame, Monsieur » utilisé")
        siren_raw = read_text(cell_of(row, columns, "siren"))
        siren = company_number(siren_raw)
        if siren_raw and not siren:
            problem(f"SIREN « {siren_raw} » : ni un SIREN, ni un SIRET, ni un numéro "
                    "d’entreprise belge valide (chiffre de contrôle) ; non repris dans les courriers")
        try:
            pause = read_date(cell_of(row, columns, "pause"))
        except CellError as exc:
            # A pause we cannot read must not silently let the chase go on.
            problem(f"Pause jusqu’au : {exc} ; client traité comme en pause")
            pause = datetime.date.max
        for _, label, what in unknown:
            problem(f"{label} : {what} — client non relancé tant que la cellule n’est pas "
                    "corrigée")
            pause = datetime.date.max
        key = client_key(nom)
        if key in clients:
            first = clients[key]
            problem(f"client en double dans la feuille Clients (déjà en ligne {first.row}, "
                    f"« {first.nom} ») : ce client n’est pas relancé tant qu’il y a deux lignes")
            clients[key] = Client(nom=first.nom, row=first.row,
                                  bloque=f"client en double dans la feuille Clients (lignes "
                                         f"{first.row} et {index})")
            continue
        clients[key] = Client(
            nom=nom,
            contact=read_text(cell_of(row, columns, "contact")),
            emails=split_emails(cell_of(row, columns, "email")),
            telephone=read_text(cell_of(row, columns, "telephone")),
            adresse=read_text(cell_of(row, columns, "adresse")),
            langue=langue,
            type=type_,
            profil=profil,
            pause_jusqu_au=pause,
            row=index,
            civilite=civilite,
            siren=siren,
            forme=read_text(cell_of(row, columns, "forme")),
            pays=pays,
            tva=read_text(cell_of(row, columns, "tva")),
        )
    return clients


def _maybe_credit(row: list[object], columns: dict[str, int], unknown_montant: bool) -> bool:
    """A row that could not be read may be a credit note when its amount is unknown,
    unreadable or negative: then its client's other invoices may be owed less than they say."""
    if unknown_montant:
        return True
    try:
        montant = read_montant(cell_of(row, columns, "montant"))
    except CellError:
        return True
    return montant is None or montant < 0


def _read_factures(sheet: str, rows: list[list[object]], colonnes: dict[str, str],
                   anomalies: list[Anomalie], filename: str,
                   inconnues: dict[tuple[int, int], str] | None = None,
                   retenus: dict[str, str] | None = None) -> list[Facture]:
    """Sheet Factures' invoices. `retenus` gets the clients to hold (client key -> why): a row
    that cannot be read and may be a credit note holds its whole client."""
    retenus = retenus if retenus is not None else {}
    header_index, columns = find_header(rows, FIELD_BY_HEADER, colonnes, REQUIRED)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        labels = ", ".join(f"« {FACTURE_COLUMNS[name][0]} »" for name in missing)
        raise WorkbookError(
            f"{filename}:{sheet} : colonne(s) {labels} introuvable(s) en ligne {header_index + 1}. "
            "Renommez l’en-tête ou associez-le dans la section [colonnes] de config.toml."
        )
    factures: list[Facture] = []
    inconnues = inconnues or {}
    rows_unknown = {r for r, _ in inconnues}
    for index, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        numero = read_text(cell_of(row, columns, "numero"))
        if index in rows_unknown:
            unknown = unknown_in(index, columns, inconnues, FACTURE_STOPPING)
            if not numero and not any(name == "numero" for name, _, _ in unknown):
                unknown = []  # a totals row: its formulas are not invoices
            if unknown:
                # An unknown value is never empty: this invoice is not chased, and why is said.
                what = f"facture {numero}" if numero else "ligne"
                for _, label, value in unknown:
                    anomalies.append(Anomalie(sheet, index, f"{label} : {value} — {what} non "
                                              "relancée tant que la cellule n’est pas corrigée"))
                _hold_if_credit(row, columns, index, sheet, retenus,
                                any(name == "montant" for name, _, _ in unknown))
                continue
        if not numero:
            continue  # blank row, or a totals row
        facture, problems = _read_facture(row, columns, numero, index)
        anomalies.extend(Anomalie(sheet, index, message) for message in problems)
        if facture is None:
            _hold_if_credit(row, columns, index, sheet, retenus, False)
        if facture is not None:
            factures.append(facture)
    counts = Counter(f.numero for f in factures)
    duplicates = {numero for numero, count in counts.items() if count > 1}
    for facture in factures:
        if facture.numero in duplicates:
            anomalies.append(Anomalie(sheet, facture.row, f"N° facture « {facture.numero} » en "
                                      "double : aucune de ces lignes n’est relancée"))
    # A credit note's Facture liée must be one of its client's invoices: else it is said, and
    # the account puts the credit on the client's oldest invoices.
    theirs = {(client_key(f.client), f.numero) for f in factures if f.montant > 0}
    column = columns.get("facture_liee")
    for facture in factures:
        if facture.facture_liee and (client_key(facture.client), facture.facture_liee) not in theirs:
            where = f" ({column_letter(column + 1)}{facture.row})" if column is not None else ""
            anomalies.append(Anomalie(sheet, facture.row, (
                f"Facture liée{where} : « {facture.facture_liee} » n’est pas une facture de "
                f"{facture.client} ; l’avoir {facture.numero} est imputé sur ses plus anciennes "
                "factures ouvertes")))
    return [f for f in factures if f.numero not in duplicates]


def _hold_if_credit(row: list[object], columns: dict[str, int], index: int, sheet: str,
                    retenus: dict[str, str], unknown_montant: bool) -> None:
    if "client" not in columns or not _maybe_credit(row, columns, unknown_montant):
        return
    try:
        client = read_text(cell_of(row, columns, "client"))
    except CellError:
        return
    if client:
        retenus.setdefault(client_key(client), (
            f"ligne {index} de la feuille {sheet} illisible, peut-être un avoir : ses autres "
            "factures ne sont pas relancées tant qu’elle n’est pas corrigée"))


def _read_facture(row: list[object], columns: dict[str, int], numero: str,
                  index: int) -> tuple[Facture | None, list[str]]:
    problems: list[str] = []

    def field(name: str, label: str, reader: Callable[[object], object]) -> object:
        try:
            return reader(cell_of(row, columns, name))
        except CellError as exc:
            problems.append(f"{label} : {exc} (facture {numero})")
            return None

    client = read_text(cell_of(row, columns, "client"))
    echeance = field("echeance", "Échéance", read_date)
    montant = field("montant", "Montant TTC", read_montant)
    paye = field("paye", "Payé", read_montant)
    date_facture = field("date_facture", "Date facture", read_date)
    promesse = field("promesse", "Promesse de paiement", read_date)
    nouvelle = field("nouvelle_echeance", "Nouvelle échéance", read_date)
    statut_raw = read_text(cell_of(row, columns, "statut"))
    if not client:
        problems.append(f"Client vide (facture {numero})")
    if echeance is None and not any("Échéance" in p for p in problems):
        problems.append(f"Échéance vide (facture {numero})")
    if montant is None and not any("Montant TTC" in p for p in problems):
        problems.append(f"Montant TTC vide (facture {numero})")
    statut = normalise(statut_raw)
    if statut_raw and statut not in STATUTS:
        problems.append(f"Statut inconnu « {statut_raw} » (facture {numero}) : "
                        f"attendu vide ou {', '.join(STATUTS.values())}")
    if problems:
        return None, problems
    return Facture(
        numero=numero,
        client=client,
        echeance=echeance,
        montant=montant,
        paye=paye if paye is not None else Decimal("0.00"),
        date_facture=date_facture,
        statut=statut,
        promesse=promesse,
        emails=split_emails(cell_of(row, columns, "email")),
        etape_classeur=read_text(cell_of(row, columns, "etape")),
        fichier=read_text(cell_of(row, columns, "fichier")),
        row=index,
        nouvelle_echeance=nouvelle,
        facture_liee=read_text(cell_of(row, columns, "facture_liee")) if montant < 0 else "",
    ), []


