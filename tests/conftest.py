"""Shared builders: records in memory for the policy, real workbooks on disk for the rest."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import settings

from relances.config import Config, Entreprise, Regles
from relances.exemple import write_workbook
from relances.records import Classeur, Client, Facture, Fait, client_key

ROOT = Path(__file__).resolve().parent.parent
TODAY = datetime.date(2026, 11, 22)
SOFFICE = shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice absent")


# Property tests draw the same cases on every run unless asked otherwise: a red CI must mean
# the code changed, not the dice. Hunt for new cases with RELANCES_HYPOTHESIS_ALEATOIRE=1
# (and more examples where a test reads an environment variable for them).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("chasse", derandomize=False)
settings.load_profile("chasse" if os.environ.get("RELANCES_HYPOTHESIS_ALEATOIRE") else "ci")


def libreoffice_resave(path: Path, out: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """Open `path` in LibreOffice headless and save it again as .xlsx into `out`, as a user
    would; (the process, the file written)."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                               "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                               str(out), str(path)], capture_output=True, text=True,
                              timeout=180)
    return done, out / (path.stem + ".xlsx")


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def facture(numero="F-1", client="Alpha", echeance=TODAY, montant="1000", paye="0", **kw) -> Facture:
    return Facture(numero=numero, client=client, echeance=echeance, montant=Decimal(montant),
                   paye=Decimal(paye), **kw)


def client(nom="Alpha", emails=("compta@alpha.fr",), **kw) -> Client:
    kw.setdefault("adresse", "1 rue A\n69000 Lyon")
    return Client(nom=nom, emails=tuple(emails), **kw)


def classeur(factures, clients=None) -> Classeur:
    clients = clients if clients is not None else [client(f.client, (f"compta@{client_key(f.client)}.fr",))
                                                   for f in factures]
    return Classeur(tuple(factures), {client_key(c.nom): c for c in clients})


ENTREPRISE = Entreprise(nom="Atelier Dupont SARL", adresse="12 rue des Lilas\n69003 Lyon",
                        siret="123 456 782 00002", email="compta@atelier-dupont.fr")


def config(**kw) -> Config:
    base = Config(path=ROOT / "config.toml", classeur=ROOT / "relances.xlsx",
                  lettres=ROOT / "lettres", entreprise=ENTREPRISE)
    if "ecart" in kw:
        kw["regles"] = Regles(ecart_minimum_jours=kw.pop("ecart"))
    return replace(base, **kw)


def fait(facture_numero, cle, jour, client="Alpha", canal="email") -> Fait:
    etape = cle.split(":")[0]
    return Fait(facture=facture_numero, cle=cle, etape=etape, canal=canal, client=client,
                jour=jour, statut="envoye")


# The creditor the tests run as. The shipped config.toml names nobody (a real run refuses it)
# and the example's identity is refused outside exemple/: tests fill in one of their own.
IDENTITE_TEST = {"nom": "Atelier Durand SARL", "adresse": "12 rue des Lilas\\n69003 Lyon",
                 "email": "compta@atelier-dupont.fr", "telephone": "04 72 00 00 00",
                 "siret": "732 829 320 00074", "iban": "FR76 3000 4000 0312 3456 7890 143",
                 "signataire": "Marie Dupont, gérante",
                 "expediteur": "Atelier Dupont — Comptabilité <compta@atelier-dupont.fr>"}
NOM_TEST, SIRET_TEST, IBAN_TEST = (IDENTITE_TEST[k] for k in ("nom", "siret", "iban"))


def config_text() -> str:
    """The shipped config.toml with the tests' identity filled in."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for key, value in IDENTITE_TEST.items():
        text, found = re.subn(rf'^{key} = ""', lambda _: f'{key} = "{value}"', text, count=1,
                              flags=re.MULTILINE)
        assert found, key
    return text


def copy_config(folder: Path) -> Path:
    """config.toml into `folder`, as a user would have filled it in."""
    path = folder / "config.toml"
    path.write_text(config_text(), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped config (identity filled in), templates and example workbook, in a
    temporary folder."""
    copy_config(tmp_path)
    shutil.copy(ROOT / "exemple" / "relances.xlsx.example", tmp_path / "relances.xlsx")
    shutil.copytree(ROOT / "exemple" / "factures", tmp_path / "factures")
    return tmp_path


def invoice_row(client="Alpha", numero="F-1", echeance=TODAY - days(5), montant=Decimal("1000"),
                paye=None, statut="", etape=None, promesse=None, notes=None,
                date_facture=None) -> dict:
    return dict(client=client, numero=numero, echeance=echeance, montant=montant, paye=paye,
                statut=statut, etape=etape, promesse=promesse, notes=notes,
                date_facture=date_facture or TODAY - days(40))


def client_row(nom="Alpha", email="compta@alpha.fr", contact="Anne Alpha", pause=None,
               langue="fr", type_="professionnel", profil="", civilite="", siren="",
               forme="", pays="") -> tuple:
    return (nom, contact, email, "04 00 00 00 00", "1 rue A\n69000 Lyon", langue, type_, profil,
            pause, civilite, siren, forme, pays)


@pytest.fixture
def small_project(tmp_path: Path):
    """Make a project whose workbook holds the given rows: small_project(rows, clients)."""
    copy_config(tmp_path)

    def make(rows, clients=None) -> Path:
        write_workbook(tmp_path / "relances.xlsx", rows, clients or [client_row()])
        return tmp_path

    return make


@pytest.fixture(scope="session")
def dovecot_serveur():
    """A real Dovecot IMAP server on loopback for the session (tests/dovecot.py); skipped
    where Dovecot is not installed (the test command installs it on Debian/Ubuntu)."""
    from dovecot import DOVECOT, Dovecot

    if not Path(DOVECOT).exists():
        pytest.skip(f"Dovecot absent ({DOVECOT}) : installez dovecot-imapd")
    serveur = Dovecot()
    yield serveur
    serveur.stop()


@pytest.fixture
def boite_imap(dovecot_serveur):
    """A fresh, empty mailbox on the test server: (server, user)."""
    return dovecot_serveur, dovecot_serveur.add_user()
