"""Journal stage: the durable record of every action, in SQLite beside the workbook.

Each action is written *before* its effect ("en_cours") and updated after it ("envoye",
"a_faire", "echec"). A unique index on (client, invoice, step) makes a second recording of
the same step impossible, so a second run the same day, or a run after a crash at any point, never does
a step twice. An action left "en_cours" by a crash is settled at the next start: delivered,
free to redo, or "incertain" when nobody can know (then it is shown and never redone alone).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

from ..efacture.modeles import StatutFacture
from ..errors import JournalError
from ..pannes import sqlite_cause
from ..boite.retours import Retour
from ..records import Action, Fait, client_key
from ..references import Attribution, Repertoire
from ..xlsx import Lien
from .schema import OPERATION_COLUMNS, SCHEMA, STATUTS_OPERATION, migrate

RESULTATS = {
    "en_cours": "en cours",
    "envoye": "envoyé",
    "prepare": "préparé (à envoyer depuis votre messagerie)",
    "a_faire": "à faire",
    "echec": "échec",
    "incertain": "incertain : vérifiez s’il est parti (--confirmer-envoi ou --renvoyer)",
    "repris": "repris de la colonne Étape du classeur",
    "fait": "fait",
    "sans_objet": "sans objet",
    "non_remis": "non remis",  # an email that bounced: not done, never cited
}


class AlreadyDone(JournalError):
    """The journal already holds this step for one of the action's invoices."""


@dataclass(frozen=True)
class Pointage:
    """A statement line the journal holds, and what became of it."""

    cle: str
    jour: datetime.date
    montant: Decimal
    libelle: str
    contrepartie: str
    reference: str
    fichier: str
    statut: str  # affecte | a_verifier | ignore
    client: str
    factures: tuple[str, ...]
    motif: str
    candidats: tuple[tuple[str, str, Decimal], ...]
    ecrit: bool
    importe_le: str = ""
    id_banque: str = ""
    empreinte: str = ""
    annule: str = ""  # a reversal: the key of the credit it cancels


@dataclass(frozen=True)
class Vu:
    """A message read from the mailbox, and what became of it (table messages)."""

    retour: Retour
    client: str = ""  # the client it was matched to, as the workbook writes it ('' none)
    action_id: int | None = None  # a bounce: the entry it made « non remis »
    fait: str = ""  # what the run did with it, in words
    ecrit: bool = False  # a reply: its row is in sheet Échanges


@dataclass(frozen=True)
class Entree:
    id: int
    jour: datetime.date
    client: str
    factures: tuple[str, ...]
    etape: str
    canal: str
    destinataire: str
    fichier: str
    message_id: str
    statut: str
    detail: str
    montant: str = ""
    horodatage: str = ""  # when it was recorded (ISO, local time)

    @property
    def resultat(self) -> str:
        text = RESULTATS.get(self.statut, self.statut)
        if self.statut == "a_faire":
            text = {"appel": "appel à passer", "courrier": "courrier à poster",
                    "recouvrement": "dossier à transmettre"}.get(self.canal, text)
        elif self.statut == "fait" and self.canal == "appel":
            text = "appel fait"
        elif self.statut == "non_remis":
            return f"{text} : {self.detail}" if self.detail else text
        return f"{text} ({self.detail})" if self.detail else text


class Journal:
    """Open with `Journal.open(path)`; `readonly=True` for dry runs (no file is created)."""

    def __init__(self, connection: sqlite3.Connection | None, path: Path):
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> "Journal":
        path = Path(path)
        try:
            if readonly:
                if not path.exists():
                    return cls(None, path)
                db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            else:
                db = sqlite3.connect(path, isolation_level=None)
                db.execute("PRAGMA synchronous = FULL")
                migrate(db)
                db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise JournalError(f"{path.name} : journal illisible "
                               f"({sqlite_cause(exc)})") from None
        db.row_factory = sqlite3.Row
        return cls(db, path)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def _rows(self, sql: str, *params) -> list[sqlite3.Row]:
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path.name} : lecture impossible ({exc})") from None

    # -------------------------------------------------------------- reading

    def history(self) -> list[Fait]:
        """Every step done or under way, per invoice (failed attempts are not history)."""
        select = ("SELECT f.facture, f.cle, a.etape, a.canal, a.client, a.jour, a.statut{} "
                  "FROM faits f JOIN actions a ON a.id = f.action_id ORDER BY a.id")
        try:
            rows = self._rows(select.format(", a.date_limite"))
        except JournalError:
            rows = self._rows(select.format(""))  # a read-only journal from before deadlines
        # Each invoice's own step (its key), not the message's: an invoice reminded for the
        # first time inside a last reminder has had its first reminder, no more.
        return [Fait(facture=r["facture"], cle=r["cle"], etape=r["cle"].split(":")[0],
                     canal=r["canal"], client=r["client"],
                     jour=datetime.date.fromisoformat(r["jour"]), statut=r["statut"],
                     limite=_day(r["date_limite"] if "date_limite" in r.keys() else ""))
                for r in rows]

    def known_factures(self) -> set[tuple[str, str]]:
        """(client key, invoice number) of every invoice any action ever named, whatever
        became of the action."""
        return {(client_key(row["client"]), numero)
                for row in self._rows("SELECT client, factures FROM actions")
                for numero in json.loads(row["factures"])}

    def is_empty(self) -> bool:
        return not self._rows("SELECT 1 FROM actions LIMIT 1")

    # -------------------------------------------------------------- the workbook it belongs to

    def meta(self, cle: str) -> str | None:
        try:
            rows = self._rows("SELECT valeur FROM meta WHERE cle = ?", cle)
        except JournalError:
            return None  # a read-only journal from before the meta table
        return rows[0]["valeur"] if rows else None

    def set_meta(self, cle: str, valeur: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO meta (cle, valeur) VALUES (?, ?) ON CONFLICT(cle) "
                       "DO UPDATE SET valeur = excluded.valeur", (cle, valeur))

    def entries(self, statut: str | None = None) -> list[Entree]:
        sql = "SELECT * FROM actions" + (" WHERE statut = ?" if statut else "") + " ORDER BY id"
        return [self._entry(row) for row in self._rows(sql, *([statut] if statut else []))]

    @staticmethod
    def _entry(row: sqlite3.Row) -> Entree:
        return Entree(id=row["id"], jour=datetime.date.fromisoformat(row["jour"]),
                      client=row["client"], factures=tuple(json.loads(row["factures"])),
                      etape=row["etape"], canal=row["canal"], destinataire=row["destinataire"],
                      fichier=row["fichier"], message_id=row["message_id"],
                      statut=row["statut"], detail=row["detail"], montant=row["montant"],
                      horodatage=row["horodatage"])

    def pointages(self, statut: str | None = None) -> list[Pointage]:
        """The statement lines imported, oldest first."""
        sql = ("SELECT * FROM operations" + (" WHERE statut = ?" if statut else "")
               + " ORDER BY jour, importe_le, cle")
        rows = self._operation_rows(sql, *([statut] if statut else []))
        return [Pointage(
            cle=r["cle"], jour=datetime.date.fromisoformat(r["jour"]),
            montant=Decimal(r["montant"]), libelle=r["libelle"],
            contrepartie=r["contrepartie"], reference=r["reference"], fichier=r["fichier"],
            statut=r["statut"], client=r["client"], factures=tuple(json.loads(r["factures"])),
            motif=r["motif"],
            candidats=tuple((c, n, Decimal(m)) for c, n, m in json.loads(r["candidats"])),
            ecrit=bool(r["ecrit"]), importe_le=r["importe_le"],
            **{name: r[name] for name in OPERATION_COLUMNS if name in r.keys()})
            for r in rows]

    def operation_keys(self) -> list[tuple[str, str, str]]:
        """(key, bank id, fingerprint) of every line imported ('' where it was not kept)."""
        return [(r["cle"], *(r[n] if n in r.keys() else "" for n in ("id_banque", "empreinte")))
                for r in self._operation_rows("SELECT * FROM operations")]

    def _operation_rows(self, sql: str, *params) -> list[sqlite3.Row]:
        try:
            return self._rows(sql, *params)
        except JournalError as exc:
            if "no such table" in str(exc):
                return []  # a read-only journal from before statements were imported
            raise

    # -------------------------------------------------------------- writing

    def record_operations(self, pointages: list[Pointage], now: datetime.datetime) -> int:
        """Record newly imported statement lines; a line already known is left as it is (its
        key is the primary key). Returns how many were new."""
        added = 0
        with self._transaction() as db:
            for p in pointages:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO operations (cle, jour, montant, libelle, contrepartie,"
                    " reference, fichier, importe_le, statut, client, factures, motif, candidats,"
                    " id_banque, empreinte, annule)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (p.cle, p.jour.isoformat(), str(p.montant), p.libelle, p.contrepartie,
                     p.reference, p.fichier, now.isoformat(timespec="seconds"), p.statut,
                     p.client, json.dumps(list(p.factures), ensure_ascii=False), p.motif,
                     json.dumps([[c, n, str(m)] for c, n, m in p.candidats],
                                ensure_ascii=False), p.id_banque, p.empreinte, p.annule))
                added += cursor.rowcount
        return added

    def decide_operation(self, cle: str, statut: str, client: str = "",
                         factures: tuple[str, ...] = (), motif: str = "") -> bool:
        """The user's decision on a line waiting in À vérifier; False when it no longer waits."""
        assert statut in STATUTS_OPERATION
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE operations SET statut = ?, client = ?, factures = ?, motif = ? "
                "WHERE cle = ? AND statut = 'a_verifier'",
                (statut, client, json.dumps(list(factures), ensure_ascii=False), motif, cle))
            return cursor.rowcount == 1

    def cancel_operation(self, cle: str, motif: str) -> bool:
        """A credit that counts no more (the bank took it back, or the user cancelled its row
        in Paiements); False when it was already cancelled."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE operations SET statut = 'annule', motif = ? "
                "WHERE cle = ? AND statut != 'annule'", (motif, cle))
            return cursor.rowcount == 1

    def mark_written(self, cles: list[str]) -> None:
        """These lines' rows are now in sheet Paiements: never to be appended again, even if
        the user deletes them there."""
        if not cles:
            return
        with self._transaction() as db:
            db.executemany("UPDATE operations SET ecrit = 1 WHERE cle = ?",
                           [(c,) for c in cles])

    # -------------------------------------------------------------- imported e-invoices

    def imported_keys(self) -> set[str]:
        """The keys of the e-invoices imported so far (importation.cle)."""
        return {row["cle"] for row in self._optional("SELECT cle FROM factures_importees")}

    def record_imported(self, rows: list[tuple[str, str, str, str, str, str]]) -> None:
        """E-invoices now in sheet Factures: (cle, numero, client, fichier, jour, tva JSON);
        one already recorded is left as it is."""
        if not rows:
            return
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO factures_importees (cle, numero, client, "
                           "fichier, jour, tva) VALUES (?, ?, ?, ?, ?, ?)", rows)

    def files_read(self) -> dict[str, tuple[int, str]]:
        """The files an import has read: path -> (size, modification time)."""
        return {row["chemin"]: (row["taille"], row["mtime"])
                for row in self._optional("SELECT * FROM fichiers_lus")}

    def record_files_read(self, rows: list[tuple[str, int, str]],
                          now: datetime.datetime) -> None:
        """(path, size, modification time) of files just read, replacing what was known."""
        if not rows:
            return
        with self._transaction() as db:
            db.executemany("INSERT INTO fichiers_lus (chemin, taille, mtime, lu_le) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT(chemin) DO UPDATE SET "
                           "taille = excluded.taille, mtime = excluded.mtime, "
                           "lu_le = excluded.lu_le",
                           [(*row, now.isoformat(timespec="seconds")) for row in rows])

    def _optional(self, sql: str, *params) -> list[sqlite3.Row]:
        """Rows of a table a read-only journal from before it may lack (then none)."""
        try:
            return self._rows(sql, *params)
        except JournalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    def _transaction(self) -> "_Tx":
        if self._db is None:
            raise JournalError(f"{self.path.name} : journal ouvert en lecture seule")
        return _Tx(self._db, self.path)

    def begin(self, action: Action, jour: datetime.date, now: datetime.datetime,
              statut: str = "en_cours", fichier: Callable[[int], str] | None = None,
              message_id: str = "") -> tuple[int, str]:
        """Record the action before its effect; AlreadyDone if a step is already recorded.

        `fichier` names the action's file from its journal id, in the same transaction, so that
        the journal knows where to look for it whatever happens next.
        """
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO actions (jour, horodatage, client, factures, etape, canal, "
                "destinataire, fichier, message_id, montant, statut, date_limite) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (jour.isoformat(), now.isoformat(timespec="seconds"), action.client,
                 json.dumps(list(action.factures), ensure_ascii=False), action.etape,
                 action.canal, ", ".join(action.destinataires), "", message_id,
                 str(action.montant_reclame), statut,
                 action.date_limite.isoformat() if action.date_limite else ""))
            action_id = cursor.lastrowid
            name = fichier(action_id) if fichier else ""
            if name:
                db.execute("UPDATE actions SET fichier = ? WHERE id = ?", (name, action_id))
            try:
                db.executemany(
                    "INSERT INTO faits (action_id, client, facture, cle) VALUES (?, ?, ?, ?)",
                    [(action_id, client_key(action.client), f, c)
                     for f, c in zip(action.factures, action.cles)])
            except sqlite3.IntegrityError:
                raise AlreadyDone(f"{action.client} : « {action.etape} » déjà au journal "
                                  f"pour {', '.join(action.factures)}") from None
        return action_id, name

    def take_over(self, faits: list[Fait], now: datetime.datetime) -> None:
        """Record steps the user had noted by hand in the workbook (see policy.taken_over)."""
        if not faits:
            return
        with self._transaction() as db:
            for fait in faits:
                cursor = db.execute(
                    "INSERT INTO actions (jour, horodatage, client, factures, etape, canal, "
                    "statut) VALUES (?, ?, ?, ?, ?, ?, 'repris')",
                    (fait.jour.isoformat(), now.isoformat(timespec="seconds"), fait.client,
                     json.dumps([fait.facture], ensure_ascii=False), fait.etape, fait.canal))
                db.execute("INSERT OR IGNORE INTO faits (action_id, client, facture, cle) "
                           "VALUES (?, ?, ?, ?)",
                           (cursor.lastrowid, client_key(fait.client), fait.facture, fait.cle))

    def finish(self, action_id: int, statut: str, detail: str = "") -> None:
        with self._transaction() as db:
            db.execute("UPDATE actions SET statut = ?, detail = ? WHERE id = ?",
                       (statut, detail, action_id))

    def fail(self, action_id: int, detail: str) -> None:
        """The effect did not happen: keep the trace, free the steps to be done again."""
        with self._transaction() as db:
            db.execute("UPDATE actions SET statut = 'echec', detail = ?, fichier = '' WHERE id = ?",
                       (detail, action_id))
            db.execute("DELETE FROM faits WHERE action_id = ?", (action_id,))

    def settle(self, action_id: int, sent: bool) -> Entree:
        """The user's word on an uncertain action: it left (closed) or it did not (redo it)."""
        rows = self._rows("SELECT * FROM actions WHERE id = ?", action_id)
        if not rows:
            raise JournalError(f"{self.path.name} : aucune action n° {action_id} au journal")
        entry = self._entry(rows[0])
        if entry.statut != "incertain":
            raise JournalError(f"{self.path.name} : l’action n° {action_id} ({entry.etape} → "
                               f"{entry.client}) n’est pas incertaine mais « {entry.resultat} »")
        if sent:
            self.finish(action_id, "envoye", "confirmé par l’utilisateur")
        else:
            self.fail(action_id, "non parti selon l’utilisateur : sera renvoyé")
        return entry

    def recover(self, delivered: Callable[[Entree], bool | None],
                sent: str = "envoye") -> list[Entree]:
        """Settle actions a crash left "en_cours"; return those that became "incertain".
        `sent`: what a delivered email is called (« préparé » when nothing leaves)."""
        uncertain = []
        for entry in self.entries("en_cours"):
            verdict = delivered(entry)
            if verdict is True:
                done = sent if entry.canal == "email" else "a_faire"
                self.finish(entry.id, done, "confirmé après interruption")
            elif verdict is False:
                self.fail(entry.id, "interrompu avant l’envoi, sera refait")
            else:
                self.finish(entry.id, "incertain", "interrompu pendant l’envoi")
                uncertain.append(entry)
        return uncertain

    # -------------------------------------------------------------- platform statuses

    def statuts(self) -> list[StatutFacture]:
        """The platform's statuses imported, in the order they were read."""
        rows = self._operation_rows("SELECT * FROM statuts_factures ORDER BY id")
        return [StatutFacture(numero=r["numero"], code=r["code"],
                              jour=datetime.date.fromisoformat(r["jour"]), motif=r["motif"],
                              vendeur=r["vendeur"], source=r["source"]) for r in rows]

    def record_statuts(self, statuts: list[StatutFacture], now: datetime.datetime) -> int:
        """Keep statuses just read, all or none; one already known is left as it is. Returns
        how many were new."""
        added = 0
        with self._transaction() as db:
            for s in statuts:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO statuts_factures (numero, code, jour, motif, vendeur,"
                    " source, importe_le) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (s.numero, s.code, s.jour.isoformat(), s.motif, s.vendeur, s.source,
                     now.isoformat(timespec="seconds")))
                added += cursor.rowcount
        return added

    # -------------------------------------------------------------- the mailbox

    def messages(self) -> list[Vu]:
        """Every message read from the mailbox, oldest first."""
        try:
            rows = self._rows("SELECT * FROM messages ORDER BY jour, lu_le, cle")
        except JournalError as exc:
            if "no such table" in str(exc):
                return []  # a read-only journal from before the mailbox was read
            raise
        return [Vu(Retour(
            nature=r["nature"], cle=r["cle"], message_id=r["message_id"],
            jour=datetime.date.fromisoformat(r["jour"]), expediteur=r["expediteur"],
            nom=r["nom"], sujet=r["sujet"], texte=r["texte"],
            en_reponse_a=tuple(json.loads(r["en_reponse_a"])),
            adresses_en_echec=tuple(json.loads(r["en_echec"])), motif=r["motif"],
            retour_le=_day(r["retour_le"])), client=r["client"], action_id=r["action_id"],
            fait=r["fait"], ecrit=bool(r["ecrit"])) for r in rows]

    def record_messages(self, vus: list[Vu], now: datetime.datetime) -> None:
        """Remember messages read (a key already known is left as it is)."""
        if not vus:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO messages (cle, message_id, nature, jour, expediteur, nom,"
                " sujet, texte, en_reponse_a, en_echec, motif, retour_le, client, action_id,"
                " fait, lu_le) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(v.retour.cle, v.retour.message_id, v.retour.nature,
                  v.retour.jour.isoformat(), v.retour.expediteur, v.retour.nom,
                  v.retour.sujet, v.retour.texte,
                  json.dumps(list(v.retour.en_reponse_a), ensure_ascii=False),
                  json.dumps(list(v.retour.adresses_en_echec), ensure_ascii=False),
                  v.retour.motif,
                  v.retour.retour_le.isoformat() if v.retour.retour_le else "", v.client,
                  v.action_id, v.fait, now.isoformat(timespec="seconds")) for v in vus])

    def mark_messages_written(self, cles: list[str]) -> None:
        """These replies' rows are now in sheet Échanges: never appended again."""
        if not cles:
            return
        with self._transaction() as db:
            db.executemany("UPDATE messages SET ecrit = 1 WHERE cle = ?", [(c,) for c in cles])

    def undelivered(self, action_id: int, motif: str) -> bool:
        """An email came back as not delivered: « non remis » with the reason, its steps freed
        (not done: the same step is planned again once the address is fixed); False when the
        entry is not a message that went."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE actions SET statut = 'non_remis', detail = ? WHERE id = ? "
                "AND canal = 'email' AND statut IN ('envoye', 'prepare', 'incertain')",
                (motif, action_id))
            if cursor.rowcount != 1:
                return False
            db.execute("DELETE FROM faits WHERE action_id = ?", (action_id,))
        return True

    # -------------------------------------------------------------- payment references

    def repertoire(self) -> Repertoire:
        """The payment references given so far."""
        try:
            rows = self._rows("SELECT * FROM references_paiement ORDER BY sequence")
        except JournalError as exc:
            if "no such table" in str(exc):
                return Repertoire()  # a read-only journal from before references were kept
            raise
        return Repertoire(Attribution(
            client=r["client"], numero=r["facture"], sequence=r["sequence"], ogm=r["ogm"],
            rf=r["rf"], jour=datetime.date.fromisoformat(r["jour"]),
            anciennes=tuple(json.loads(r["anciennes"]))) for r in rows)

    def give_references(self, attributions: list[Attribution]) -> None:
        """Keep references just given, all or none; an invoice that has some keeps them."""
        if not attributions:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO references_paiement (client, facture, sequence, ogm, rf,"
                " jour, anciennes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(a.client, a.numero, a.sequence, a.ogm, a.rf, a.jour.isoformat(),
                  json.dumps(list(a.anciennes), ensure_ascii=False)) for a in attributions])


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, errors wrapped with the journal's name."""

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db, self.path = db, path

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path.name} : écriture impossible "
                               f"({sqlite_cause(exc)})") from None
        return self.db

    def __exit__(self, kind, value, traceback) -> bool:
        try:
            self.db.execute("ROLLBACK" if kind else "COMMIT")
        except sqlite3.Error as exc:
            # A full disk rolls back by itself: its cause, not the refused ROLLBACK's.
            first = value if isinstance(value, sqlite3.Error) else exc
            raise JournalError(f"{self.path.name} : écriture impossible "
                               f"({sqlite_cause(first)})") from None
        if isinstance(value, sqlite3.Error) and not isinstance(value, sqlite3.IntegrityError):
            raise JournalError(f"{self.path.name} : écriture impossible "
                               f"({sqlite_cause(value)})") from None
        return False


def _day(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def iter_sheet_rows(entries: list[Entree], libelle: Callable[[str], str] = str,
                    ) -> Iterator[tuple]:
    """The Journal sheet's rows (SPEC §3), sorted by date: N° (what --confirmer-envoi takes),
    Date (the run's date, at the time it was recorded), Client, Factures, Étape (its label),
    Canal, Destinataire, Montant (what the message asked for), Fichier (a link), Résultat."""
    for e in sorted(entries, key=lambda e: (e.jour, e.id)):
        try:
            montant = Decimal(e.montant) if e.montant else None
        except ArithmeticError:
            montant = None
        try:
            heure = datetime.datetime.fromisoformat(e.horodatage).time().replace(microsecond=0)
        except ValueError:
            heure = datetime.time()
        quand = datetime.datetime.combine(e.jour, heure)
        fichier = Lien(e.fichier, e.fichier) if e.fichier else None
        yield (e.id, quand, e.client, ", ".join(e.factures), libelle(e.etape), e.canal,
               e.destinataire, montant, fichier, e.resultat)
