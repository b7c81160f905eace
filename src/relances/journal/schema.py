"""The journal's tables (SQLite): what each one keeps, and how a journal written by an older
version is brought up to date (`migrate`). The journal itself is `relances.journal`."""

from __future__ import annotations

import sqlite3

from ..records import client_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id           INTEGER PRIMARY KEY,
    jour         TEXT NOT NULL,   -- the run date (ISO)
    horodatage   TEXT NOT NULL,   -- when it was recorded (ISO, local time)
    client       TEXT NOT NULL,
    factures     TEXT NOT NULL,   -- JSON list of invoice numbers
    etape        TEXT NOT NULL,
    canal        TEXT NOT NULL,
    destinataire TEXT NOT NULL DEFAULT '',
    fichier      TEXT NOT NULL DEFAULT '',
    message_id   TEXT NOT NULL DEFAULT '',
    montant      TEXT NOT NULL DEFAULT '',
    statut       TEXT NOT NULL,   -- en_cours | envoye | prepare | a_faire | fait | sans_objet
                                  -- | echec | incertain
    detail       TEXT NOT NULL DEFAULT '',
    date_limite  TEXT NOT NULL DEFAULT ''  -- last day the message gave the client (ISO)
);
"""
FAITS = """
CREATE TABLE IF NOT EXISTS faits (
    action_id INTEGER NOT NULL REFERENCES actions(id),
    client    TEXT NOT NULL,      -- client_key(client): an invoice number is unique per client
    facture   TEXT NOT NULL,
    cle       TEXT NOT NULL,      -- step name, or promesse_non_tenue:YYYY-MM-DD
    UNIQUE (client, facture, cle)
);
CREATE INDEX IF NOT EXISTS faits_action ON faits(action_id);
"""
META = """
CREATE TABLE IF NOT EXISTS meta (
    cle    TEXT PRIMARY KEY,
    valeur TEXT NOT NULL
);
"""
OPERATIONS = """
CREATE TABLE IF NOT EXISTS operations (
    cle          TEXT PRIMARY KEY, -- the bank's id of the line, or a stable hash of it
    jour         TEXT NOT NULL,    -- booking date (ISO)
    montant      TEXT NOT NULL,    -- Decimal as text
    libelle      TEXT NOT NULL DEFAULT '',
    contrepartie TEXT NOT NULL DEFAULT '',
    reference    TEXT NOT NULL DEFAULT '',
    fichier      TEXT NOT NULL DEFAULT '',
    importe_le   TEXT NOT NULL,    -- when it was imported (ISO, local time)
    statut       TEXT NOT NULL,    -- affecte | a_verifier | ignore | annule
    client       TEXT NOT NULL DEFAULT '',
    factures     TEXT NOT NULL DEFAULT '[]',  -- JSON list of invoice numbers
    motif        TEXT NOT NULL DEFAULT '',    -- how it was matched, or why it waits
    candidats    TEXT NOT NULL DEFAULT '[]',  -- JSON [[client, numero, reste], ...]
    ecrit        INTEGER NOT NULL DEFAULT 0,  -- 1: its row is in sheet Paiements
    id_banque    TEXT NOT NULL DEFAULT '',    -- the bank's own id of the line ('' if none)
    empreinte    TEXT NOT NULL DEFAULT '',    -- its content, whatever the export format
    annule       TEXT NOT NULL DEFAULT ''     -- a reversal: the key of the credit it cancels
);
"""
OPERATION_COLUMNS = {"id_banque": "TEXT NOT NULL DEFAULT ''",
                     "empreinte": "TEXT NOT NULL DEFAULT ''",
                     "annule": "TEXT NOT NULL DEFAULT ''"}
SCHEMA = SCHEMA + FAITS + META + OPERATIONS
# annule: a credit the bank took back (or the user cancelled in Paiements' Statut column),
# or a reversal with nothing left to undo; it counts no more. A reversal that undoes a payment
# is an "affecte" line of negative amount, its `annule` naming the credit.
STATUTS_OPERATION = ("affecte", "a_verifier", "ignore", "annule")

# The payment references given (see references.py): once given, never changed.
REFERENCES = """
CREATE TABLE IF NOT EXISTS references_paiement (
    client    TEXT NOT NULL,          -- client_key(client)
    facture   TEXT NOT NULL,
    sequence  INTEGER NOT NULL UNIQUE,
    ogm       TEXT NOT NULL UNIQUE,   -- as printed: +++900/0000/00116+++
    rf        TEXT NOT NULL UNIQUE,   -- as printed: RF68 REF0 0000 07
    jour      TEXT NOT NULL,          -- the day they were first given (ISO)
    anciennes TEXT NOT NULL DEFAULT '[]',  -- JSON: references printed before, shared
    PRIMARY KEY (client, facture)
);
"""
SCHEMA = SCHEMA + REFERENCES

# The e-invoices imported into sheet Factures (importation.py), recorded once their row is in
# the workbook (or found there already): never imported twice. cle: a hash of the seller's
# SIREN, the number, the date and the amount; jour: the invoice's date (ISO); tva: JSON
# [{"taux": "20.00", "base": "1000.00", "montant": "200.00"}] as the e-invoice gives it.
FACTURES_IMPORTEES = """
CREATE TABLE IF NOT EXISTS factures_importees (cle TEXT PRIMARY KEY, numero TEXT, client TEXT, fichier TEXT, jour TEXT, tva TEXT);
"""
# The files of [factures] dossier an import has read (import_automatique reads only the new or
# changed ones): path, size and modification time as seen.
FICHIERS_LUS = """
CREATE TABLE IF NOT EXISTS fichiers_lus (
    chemin TEXT PRIMARY KEY,
    taille INTEGER NOT NULL,
    mtime  TEXT NOT NULL,
    lu_le  TEXT NOT NULL
);
"""
# The lifecycle statuses imported from the user's e-invoicing platform (importation_statuts):
# inputs like Échanges, read by every run; one row per status, in the order read.
STATUTS_FACTURES = """
CREATE TABLE IF NOT EXISTS statuts_factures (
    id         INTEGER PRIMARY KEY,
    numero     TEXT NOT NULL,     -- the invoice number
    code       INTEGER NOT NULL,  -- the reform's code: 200 Déposée … 212 Encaissée, 213 Rejetée
    jour       TEXT NOT NULL,     -- the status's date (ISO)
    motif      TEXT NOT NULL DEFAULT '',
    vendeur    TEXT NOT NULL DEFAULT '',  -- the seller's SIREN, when the export gave it
    source     TEXT NOT NULL DEFAULT '',  -- « statuts.csv, ligne 12 »
    importe_le TEXT NOT NULL,
    UNIQUE (numero, code, jour, motif)
);
"""
SCHEMA = SCHEMA + STATUTS_FACTURES

# Every message read from the mailbox ([boite]), so that none is processed twice.
MESSAGES = """
CREATE TABLE IF NOT EXISTS messages (
    cle          TEXT PRIMARY KEY,   -- "UIDVALIDITY:UID" in the folder read
    message_id   TEXT NOT NULL DEFAULT '',
    nature       TEXT NOT NULL,      -- see boite.retours.NATURES
    jour         TEXT NOT NULL,      -- the message's day (ISO)
    expediteur   TEXT NOT NULL DEFAULT '',
    nom          TEXT NOT NULL DEFAULT '',
    sujet        TEXT NOT NULL DEFAULT '',
    texte        TEXT NOT NULL DEFAULT '',   -- a reply's new text (kept for Échanges)
    en_reponse_a TEXT NOT NULL DEFAULT '[]', -- JSON list of Message-IDs
    en_echec     TEXT NOT NULL DEFAULT '[]', -- JSON list: a bounce's failed addresses
    motif        TEXT NOT NULL DEFAULT '',
    retour_le    TEXT NOT NULL DEFAULT '',   -- an out-of-office's return date (ISO)
    client       TEXT NOT NULL DEFAULT '',   -- the client it was matched to ('' none)
    action_id    INTEGER,                    -- a bounce: the journal entry not delivered
    fait         TEXT NOT NULL DEFAULT '',   -- what the run did with it, in words
    ecrit        INTEGER NOT NULL DEFAULT 0, -- 1: a reply's row is in sheet Échanges
    lu_le        TEXT NOT NULL               -- when it was read (ISO, local time)
);
"""
SCHEMA = SCHEMA + MESSAGES


def migrate(db: sqlite3.Connection) -> None:
    """Journals written before deadlines were stored get the column (empty: computed from the
    step); journals written before steps were keyed by client: add the client to each fact."""
    actions = [row[1] for row in db.execute("PRAGMA table_info(actions)")]
    if actions and "date_limite" not in actions:
        db.execute("ALTER TABLE actions ADD COLUMN date_limite TEXT NOT NULL DEFAULT ''")
    # Journals from before e-invoices were imported: their tables (empty).
    db.execute(FACTURES_IMPORTEES)
    db.execute(FICHIERS_LUS)
    # Statement lines imported before bank ids and fingerprints were kept: '' (their key still
    # recognises them).
    operations = [row[1] for row in db.execute("PRAGMA table_info(operations)")]
    for name, kind in OPERATION_COLUMNS.items():
        if operations and name not in operations:
            db.execute(f"ALTER TABLE operations ADD COLUMN {name} {kind}")
    columns = [row[1] for row in db.execute("PRAGMA table_info(faits)")]
    if not columns or "client" in columns:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        rows = db.execute("SELECT f.action_id, a.client, f.facture, f.cle FROM faits f "
                          "JOIN actions a ON a.id = f.action_id").fetchall()
        db.execute("ALTER TABLE faits RENAME TO faits_avant_client")
        db.execute("DROP INDEX IF EXISTS faits_action")
        for statement in FAITS.split(";"):
            if statement.strip():
                db.execute(statement)
        db.executemany("INSERT OR IGNORE INTO faits (action_id, client, facture, cle) "
                       "VALUES (?, ?, ?, ?)",
                       [(a, client_key(c), f, k) for a, c, f, k in rows])
        db.execute("DROP TABLE faits_avant_client")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
