"""What config.toml says, as frozen records: the creditor, sending, rules, penalties, steps
and policies, with their working defaults. `chargement` reads and checks the file into them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .. import formats
from ..banque.operations import OptionsReleve
from ..calendrier import Calendrier
from ..penalites import (Regime, Semestre, TableTaux, calendrier_de, pays_de_la_loi,
                         plancher_legal, read_table)
from ..records import PROMESSE_NON_TENUE, Client, Etape, normalise

CANAUX = ("email", "courrier", "appel", "recouvrement")
MODES_ENVOI = ("dossier", "smtp")


@dataclass(frozen=True)
class Entreprise:
    nom: str = "Mon entreprise"
    adresse: str = ""
    email: str = ""
    telephone: str = ""
    siret: str = ""
    iban: str = ""
    signataire: str = ""
    pays: str = "FR"
    logo: Path | None = None
    ville: str = ""     # « Lyon, le 22 novembre 2026 »; default: the address's last line
    bic: str = ""
    tva: str = ""       # intra-community VAT number
    forme: str = ""     # legal form and capital, for the letters' footer: "SARL au capital de 10 000 €"
    rcs: str = ""       # « RCS Lyon 123 456 782 » (FR) or « RPM Bruxelles » (BE), letters' footer
    alsace_moselle: bool = False  # public holidays of Alsace-Moselle (Good Friday, 26 December)

    @property
    def numero_entreprise(self) -> str:
        """SIRET in France; in Belgium the same key holds the BCE company number."""
        return self.siret

    @property
    def adresse_lignes(self) -> list[str]:
        return [line.strip() for line in self.adresse.splitlines() if line.strip()]

    @property
    def lieu(self) -> str:
        if self.ville:
            return self.ville
        last = self.adresse_lignes[-1] if self.adresse_lignes else ""
        return re.sub(r"^(B-|F-)?\d{4,5}\s+", "", last).strip()  # "69003 Lyon" -> "Lyon"


@dataclass(frozen=True)
class Envoi:
    mode: str = "dossier"
    dossier: Path = Path("sortie")
    expediteur: str = ""
    hote: str = ""
    port: int = 587
    securite: str = "starttls"
    utilisateur: str = ""  # empty: no login (a local relay)
    repondre_a: str = ""
    copie_cachee: str = ""
    limite_par_minute: int = 0  # 0: no limit
    recapitulatif: str = ""  # the owner's address: a digest of each run, failures included


@dataclass(frozen=True)
class Boite:
    """[boite]: the IMAP mailbox read before each run (read-only; the password is never here)."""

    hote: str
    utilisateur: str
    port: int = 993
    securite: str = "ssl"  # "ssl" (implicit TLS) or "starttls"
    dossier: str = "INBOX"
    pause_reponse_jours: int = 10  # a client's reply pauses its written steps this long
    respecter_absence: bool = True  # no email before an out-of-office's stated return date
    obligatoire: bool = False  # mailbox unreadable: plan but send nothing, exit 1

    @property
    def where(self) -> str:
        return f"{self.hote}:{self.port}"


@dataclass(frozen=True)
class Penalites:
    taux_annuel: Decimal | None = Decimal("12.15")
    taux_legal: bool = False
    indemnite_forfaitaire: Decimal = Decimal("40")
    # Extra time granted (Nouvelle échéance) moves the chase; penalties still run from the
    # original due date unless this is true.
    depuis_nouvelle_echeance: bool = False
    table: TableTaux = field(default_factory=lambda: TableTaux(**read_table()))
    # The contract (general terms) provides damages for a consumer's late payment: without it a
    # Belgian consumer owes neither interest nor indemnity (art. XIX.4 CDE).
    clause_consommateur: bool = False

    def regime(self, pays: str, particulier: bool, pays_client: str = "") -> Regime:
        """The law for a debtor: `pays` is the creditor's country, `pays_client` the debtor's
        (empty: the creditor's). A consumer is protected by his own country's law."""
        return Regime(pays=pays_de_la_loi(pays, particulier, pays_client),
                      particulier=particulier,
                      taux_fixe=None if self.taux_legal else self.taux_annuel,
                      indemnite=self.indemnite_forfaitaire,
                      clause_consommateur=self.clause_consommateur)

    def clause_illicite(self, pays_creancier: str, semestre: Semestre, fichier: str) -> str:
        """The warning every run gives while `taux_annuel` is below the French legal floor of
        `semestre` (3 × the legal interest rate, art. L441-10 C. com.): such a clause is
        unlawful and fined (art. L441-16); "" when the rate is lawful or not a French one."""
        if pays_creancier != "FR" or self.taux_legal or self.taux_annuel is None:
            return ""
        plancher, legal, connu = plancher_legal(self.table, semestre)
        if self.taux_annuel >= plancher:
            return ""
        taux = lambda value: f"{formats.nombre(value)}\u202f%"  # noqa: E731
        return (f"{fichier} : [penalites] taux_annuel = {taux(self.taux_annuel)} est inférieur "
                f"au minimum légal de {taux(plancher)} (trois fois le taux de l’intérêt légal, "
                f"{taux(legal)} en {semestre}{'' if connu else ', dernier taux connu'}) : les "
                f"pénalités de retard sont calculées à {taux(plancher)}. Un taux inférieur dans vos conditions générales est illicite "
                "(article L441-10 du Code de commerce) et passible d’une amende administrative "
                "(article L441-16) : corrigez vos conditions générales, puis taux_annuel")

    def regime_for(self, pays_creancier: str, client: Client) -> Regime:
        """The law for this client (its Type and Pays), the creditor being in `pays_creancier`."""
        return self.regime(pays_creancier, client.type == "particulier", client.pays)


@dataclass(frozen=True)
class Paiement:
    """[paiement]: how clients pay. `reference`: rf | ogm | numero ("" = by country)."""

    reference: str = ""
    qr: bool = True

    def mode(self, pays: str) -> str:
        return self.reference or ("ogm" if pays == "BE" else "rf")


@dataclass(frozen=True)
class Regles:
    ecart_minimum_jours: int = 5
    # A registered letter's deadline runs from its receipt: the next step waits this long more.
    delai_recommande_jours: int = 15
    remerciement: bool = False  # a thank-you email when an invoice that was chased is paid
    # When set: no message goes out if the last bank statement imported ends longer ago.
    paiements_a_jour_max_jours: int | None = None
    # « paiement annoncé » without a date (Échanges): written steps wait this many days, then
    # the client goes on the call list.
    delai_paiement_annonce_jours: int = 7


LIBELLES = {
    "rappel": "Premier rappel",
    "appel": "Appel",
    "dernier_rappel": "Dernier rappel",
    "mise_en_demeure": "Mise en demeure",
    "recouvrement": "Recouvrement",
    PROMESSE_NON_TENUE: "Promesse non tenue",
    "echeance_manquee": "Échéance manquée",
    "remerciement": "Remerciement",
    "transmission": "Dossier transmis à l’agence",
}


def default_libelle(nom: str) -> str:
    """« Premier rappel » for rappel; a step of the user's own: its name, readable."""
    return LIBELLES.get(nom) or nom.replace("_", " ").capitalize()


DEFAULT_ETAPES = (
    Etape("rappel", 3, "email", modele="rappel", libelle=LIBELLES["rappel"]),
    Etape("appel", 10, "appel", montant_minimum=Decimal("500"), libelle=LIBELLES["appel"]),
    Etape("dernier_rappel", 20, "email", modele="dernier_rappel", delai_jours=8,
          libelle=LIBELLES["dernier_rappel"]),
    Etape("mise_en_demeure", 35, "courrier", modele="mise_en_demeure", delai_jours=8,
          libelle=LIBELLES["mise_en_demeure"], penalites=True),
    Etape("recouvrement", 60, "recouvrement", libelle=LIBELLES["recouvrement"],
          penalites=True),
)

# Named policies shipped with relances (SPEC §2): known bad payers get a faster schedule, key
# accounts a call before any written reminder and softer wording. `[politiques.NOM]` in
# config.toml replaces one of them or adds another; `[profils]` maps Profil values onto them.
DEFAULT_POLITIQUES: dict[str, tuple[Etape, ...]] = {
    "rapide": (
        Etape("rappel", 0, "email", modele="rappel", libelle=LIBELLES["rappel"]),
        Etape("appel", 5, "appel", montant_minimum=Decimal("300"), libelle=LIBELLES["appel"]),
        Etape("dernier_rappel", 10, "email", modele="dernier_rappel", delai_jours=5,
              libelle=LIBELLES["dernier_rappel"]),
        Etape("mise_en_demeure", 20, "courrier", modele="mise_en_demeure", delai_jours=8,
              libelle=LIBELLES["mise_en_demeure"], penalites=True),
        Etape("recouvrement", 45, "recouvrement", libelle=LIBELLES["recouvrement"],
              penalites=True),
    ),
    "grands_comptes": (
        Etape("appel_courtois", 3, "appel", libelle="Appel de courtoisie"),
        Etape("rappel", 10, "email", modele="rappel_courtois", libelle=LIBELLES["rappel"]),
        Etape("appel", 20, "appel", libelle=LIBELLES["appel"]),
        Etape("dernier_rappel", 30, "email", modele="dernier_rappel", delai_jours=10,
              libelle=LIBELLES["dernier_rappel"]),
        Etape("mise_en_demeure", 50, "courrier", modele="mise_en_demeure", delai_jours=8,
              libelle=LIBELLES["mise_en_demeure"], penalites=True),
        Etape("recouvrement", 80, "recouvrement", libelle=LIBELLES["recouvrement"],
              penalites=True),
    ),
}
DEFAULT_PROFILS = {"mauvaispayeur": "rapide", "strategique": "grands_comptes"}


@dataclass(frozen=True)
class Config:
    path: Path
    classeur: Path
    lettres: Path
    fuseau_horaire: str = "Europe/Paris"
    entreprise: Entreprise = field(default_factory=Entreprise)
    envoi: Envoi = field(default_factory=Envoi)
    factures_dossier: Path | None = None
    factures_taille_max: int = 10 * 1024 * 1024  # bytes: a bigger copy is not attached
    # [factures] import_automatique: each run first imports the folder's new e-invoices.
    factures_import_automatique: bool = False
    regles: Regles = field(default_factory=Regles)
    penalites: Penalites = field(default_factory=Penalites)
    etapes: tuple[Etape, ...] = DEFAULT_ETAPES
    politiques: dict[str, tuple[Etape, ...]] = field(
        default_factory=lambda: dict(DEFAULT_POLITIQUES))
    profils: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROFILS))
    recouvrement_email: str = ""  # [recouvrement] email: the agency receives each dossier
    # [statuts.colonnes]: the platform's status export headers (numero, code, date, motif,
    # vendeur -> header as written)
    statuts_colonnes: dict[str, str] = field(default_factory=dict)
    paiement: "Paiement" = field(default_factory=lambda: Paiement())
    banque: OptionsReleve = field(default_factory=OptionsReleve)  # [banque]: CSV statements
    colonnes: dict[str, str] = field(default_factory=dict)  # normalised user header -> field
    lignes_max: int = 200_000  # a longer Factures or Clients sheet is refused (stray value?)
    boite: Boite | None = None  # [boite]: the mailbox to read; None: none is read
    avertissements: tuple[str, ...] = ()

    @property
    def journal(self) -> Path:
        """The SQLite journal lives beside the workbook it describes."""
        return self.classeur.with_name(self.classeur.stem + ".journal.sqlite")

    @property
    def log_file(self) -> Path:
        return self.path.with_name("relances.log")

    def politique_of(self, profil: str) -> str | None:
        """The named policy a Profil maps onto; None: the default (top-level [[etapes]])."""
        return self.profils.get(normalise(profil)) if profil else None

    def etapes_of(self, profil: str = "") -> tuple[Etape, ...]:
        """The steps a client with this Profil walks through."""
        name = self.politique_of(profil)
        return self.politiques.get(name, self.etapes) if name else self.etapes

    def etape(self, nom: str, profil: str = "") -> Etape | None:
        """A step by name: in the client's policy first, then the default, then any policy."""
        for etapes in (self.etapes_of(profil), self.etapes, *self.politiques.values()):
            found = next((e for e in etapes if e.nom == nom), None)
            if found is not None:
                return found
        return None

    @property
    def toutes_etapes(self) -> list[Etape]:
        """Every step of every policy, default first (templates to check, names to know)."""
        return [*self.etapes, *(e for etapes in self.politiques.values() for e in etapes)]

    @functools.cached_property
    def calendrier(self) -> Calendrier:
        return Calendrier(self.entreprise.pays, self.entreprise.alsace_moselle)

    def calendrier_pays(self, pays: str) -> Calendrier:
        """Business days in `pays`: the creditor's own calendar, or that country's (a debtor's
        deadlines that the law counts in his country's days)."""
        return self.calendrier if not pays or pays == self.entreprise.pays else calendrier_de(pays)

    def regime_of(self, client: Client) -> Regime:
        """The late-payment law for this client: `Penalites.regime_for` with our country."""
        return self.penalites.regime_for(self.entreprise.pays, client)

    def identite_manquante(self) -> list[str]:
        """What stops a real run: the creditor's identity (nom, adresse, siret) and IBAN,
        missing or still the example's (`exemple/config.toml`), and an email to send from.
        Keys to fill, in file order. The example's identity is accepted only in the example's
        own folder (`exemple/`): a copy of its config elsewhere would sign as someone else."""
        entreprise = self.entreprise
        exemple = self.path.parent.name == "exemple"
        manquantes = []
        for key in IDENTITE_OBLIGATOIRE:
            value = getattr(entreprise, key).strip()
            if not value or (key == "nom" and value == Entreprise.nom) or (
                    not exemple and _compact(value) == _compact(EXEMPLE_IDENTITE.get(key, ""))):
                manquantes.append(f"entreprise.{key}")
        if not self.envoi.expediteur.strip() and not entreprise.email.strip():
            manquantes.append("entreprise.email")
        return manquantes

    def refus_identite(self) -> str:
        """Why no real run can be done yet (the keys to fill and where), or ""."""
        manquantes = self.identite_manquante()
        if not manquantes:
            return ""
        return (f"{self.path.name} : l’identité de votre entreprise n’est pas remplie : "
                f"{', '.join(manquantes)} (vides, ou encore ceux de l’exemple) ; rien n’a été "
                f"envoyé ni écrit. Renseignez-les dans {self.path}, section [entreprise], puis "
                "relancez (--dry-run montre en attendant ce qui serait fait)")

    def libelle(self, nom: str) -> str:
        """What people read for a step name (the journal keeps names)."""
        etape = self.etape(nom)
        return etape.titre if etape else default_libelle(nom)


# The creditor's identity a real run needs, and the example's values (exemple/config.toml):
# a run that would sign as « Atelier Dupont » is refused.
IDENTITE_OBLIGATOIRE = ("nom", "adresse", "siret", "iban")
EXEMPLE_IDENTITE = {"nom": "Atelier Dupont SARL", "siret": "123 456 782 00002",
                    "iban": "FR76 3000 1007 9412 3456 7890 185"}


def _compact(text: str) -> str:
    return "".join(text.split()).casefold()
