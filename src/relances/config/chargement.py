"""Configuration stage: config.toml -> a frozen, validated `Config`, paths resolved.

Everything is checked once, here, with French messages naming the key
(`config.toml: etapes[2].apres_jours : un entier est attendu`). Later stages receive only the
slice they need and never see raw TOML.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..adresses import PORTS, SECURITES, parse_expediteur
from ..banque.operations import OptionsReleve
from ..errors import ConfigError
from ..penalites import Semestre, TableTaux, read_table
from ..records import PROMESSE_NON_TENUE, Etape, normalise
from .modeles import (CANAUX, DEFAULT_ETAPES, DEFAULT_POLITIQUES, DEFAULT_PROFILS, MODES_ENVOI,
                      Boite, Config, Entreprise, Envoi, Paiement, Penalites, Regles, default_libelle)

KNOWN_KEYS = {
    "": {"classeur", "lignes_max", "fuseau_horaire", "lettres", "entreprise", "envoi", "factures", "regles",
         "penalites", "etapes", "colonnes", "politiques", "profils", "recouvrement",
         "paiement", "banque", "boite"},
    "recouvrement": {"email"},
    "boite": {"hote", "port", "securite", "utilisateur", "dossier", "pause_reponse_jours",
              "respecter_absence", "obligatoire"},
    "banque": {"separateur", "encodage", "decimale", "format_date", "entete", "colonnes"},
    "paiement": {"reference", "qr"},
    "entreprise": {"pays", "nom", "adresse", "email", "telephone", "siret", "iban", "signataire",
                   "logo", "ville", "forme", "tva", "bic", "rcs", "alsace_moselle"},
    "envoi": {"mode", "dossier", "expediteur", "hote", "port", "securite", "utilisateur",
              "repondre_a", "copie_cachee", "limite_par_minute", "recapitulatif"},
    "factures": {"dossier", "taille_max_mo", "import_automatique"},
    "regles": {"ecart_minimum_jours", "delai_recommande_jours", "remerciement",
               "paiements_a_jour_max_jours", "delai_paiement_annonce_jours"},
    "penalites": {"taux_annuel", "taux", "indemnite_forfaitaire", "taux_bce",
                  "taux_interet_legal", "depuis_nouvelle_echeance", "clause_consommateur"},
    "etapes": {"nom", "apres_jours", "canal", "modele", "delai_jours", "montant_minimum",
               "joindre_courrier", "libelle", "penalites"},
}

# [statuts.colonnes]: a platform's own headers for the status export's columns.
KNOWN_KEYS[""] = KNOWN_KEYS[""] | {"statuts"}
KNOWN_KEYS["statuts"] = {"colonnes"}
CHAMPS_STATUTS = ("numero", "code", "date", "motif", "vendeur")


MAX_JOURS = 3650  # ten years: any day count beyond is a typing slip


class _Reader:
    """Typed access to one TOML table, with the key path in every message."""

    def __init__(self, name: str, table: dict, prefix: str, warnings: list[str]):
        self.name, self.table, self.prefix, self.warnings = name, table, prefix, warnings

    def where(self, key: str) -> str:
        return f"{self.name}: {self.prefix}{key}"

    def check_keys(self, known: set[str]) -> None:
        for key in self.table:
            if key not in known:
                self.warnings.append(f"{self.where(key)} : clé inconnue, ignorée")

    def text(self, key: str, default: str) -> str:
        value = self.table.get(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"{self.where(key)} : un texte entre guillemets est attendu")
        return value

    def integer(self, key: str, default: int | None, minimum: int | None = None,
                maximum: int = MAX_JOURS, what: str = "un nombre entier de jours") -> int | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.where(key)} : {what} est attendu")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self.where(key)} : {minimum} ou plus est attendu (lu : {value})")
        lowest = -maximum if minimum is None else minimum
        if not lowest <= value <= maximum:
            raise ConfigError(f"{self.where(key)} : entre {lowest} et {maximum} est attendu "
                              f"(lu : {value})")
        return value

    def decimal(self, key: str, default: Decimal | None,
                maximum: Decimal = Decimal("1000000000")) -> Decimal | None:
        value = self.table.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{self.where(key)} : un nombre est attendu")
        try:
            number = Decimal(str(value).replace(",", "."))
        except InvalidOperation:
            raise ConfigError(f"{self.where(key)} : un nombre est attendu (lu : {value!r})") from None
        if not number.is_finite():
            raise ConfigError(f"{self.where(key)} : un nombre est attendu (lu : {value!r})")
        if number < 0:
            raise ConfigError(f"{self.where(key)} : un nombre positif est attendu")
        if number > maximum:
            raise ConfigError(f"{self.where(key)} : {maximum} au plus est attendu (lu : {value!r})")
        return number

    def table_of(self, key: str) -> dict:
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where(key)} : une section [{key}] est attendue")
        return value


def load_config(path: Path | str, classeur: Path | str | None = None) -> Config:
    """Read and validate config.toml; `classeur` (from --classeur) overrides its `classeur`."""
    path = Path(path).resolve()
    name = path.name
    if path.is_dir():
        raise ConfigError(f"{path} : c’est un dossier ; indiquez le fichier de configuration "
                          f"(par exemple --config {Path(path, 'config.toml')})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path} : fichier de configuration introuvable "
            "(copiez config.toml du projet, ou indiquez-le avec --config)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} : syntaxe TOML invalide : {_french_toml_error(exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name} : lecture impossible (le fichier doit être enregistré en "
                          "UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"{name} : lecture impossible ({exc.strerror or exc})") from None

    warnings: list[str] = []
    base = path.parent
    top = _Reader(name, raw, "", warnings)
    top.check_keys(KNOWN_KEYS[""])

    classeur_path = Path(classeur) if classeur else base / top.text("classeur", "relances.xlsx")
    fuseau = top.text("fuseau_horaire", "Europe/Paris")
    try:
        zoneinfo.ZoneInfo(fuseau)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{top.where('fuseau_horaire')} : fuseau horaire inconnu « {fuseau} »"
                          " (exemple : \"Europe/Paris\")") from None

    return Config(
        path=path,
        classeur=classeur_path.resolve(),
        lettres=(base / top.text("lettres", "lettres")).resolve(),
        fuseau_horaire=fuseau,
        entreprise=_read_entreprise(_Reader(name, top.table_of("entreprise"), "entreprise.", warnings), base),
        envoi=_read_envoi(_Reader(name, top.table_of("envoi"), "envoi.", warnings), base),
        factures_dossier=_read_factures(_Reader(name, top.table_of("factures"), "factures.", warnings), base),
        factures_taille_max=_Reader(name, top.table_of("factures"), "factures.", []).integer(
            "taille_max_mo", 10, minimum=1, maximum=100, what="un nombre entier de Mo")
        * 1024 * 1024,
        factures_import_automatique=_boolean(_Reader(name, top.table_of("factures"),
                                                     "factures.", []), "import_automatique"),
        regles=_read_regles(_Reader(name, top.table_of("regles"), "regles.", warnings)),
        penalites=_read_penalites(_Reader(name, top.table_of("penalites"), "penalites.", warnings)),
        etapes=_read_etapes(name, raw.get("etapes"), warnings),
        paiement=_read_paiement(_Reader(name, top.table_of("paiement"), "paiement.", warnings)),
        banque=_read_banque(_Reader(name, top.table_of("banque"), "banque.", warnings)),
        recouvrement_email=_read_recouvrement(_Reader(name, top.table_of("recouvrement"),
                                                      "recouvrement.", warnings)),
        statuts_colonnes=_read_statuts(_Reader(name, top.table_of("statuts"), "statuts.",
                                               warnings)),
        politiques=(politiques := _read_politiques(_Reader(name, top.table_of("politiques"),
                                                           "politiques.", warnings))),
        profils=_read_profils(_Reader(name, top.table_of("profils"), "profils.", warnings),
                              politiques),
        colonnes=_read_colonnes(_Reader(name, top.table_of("colonnes"), "colonnes.", warnings)),
        lignes_max=top.integer("lignes_max", 200_000, minimum=10, maximum=1_048_576,
                               what="un nombre entier de lignes"),
        boite=_read_boite(_Reader(name, top.table_of("boite"), "boite.", warnings))
        if "boite" in raw else None,
        avertissements=tuple(warnings),
    )


def _french_toml_error(exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    if match := re.search(r"\(at line (\d+), column (\d+)\)", message):
        line, column = match.groups()
        return f"ligne {line}, colonne {column} ({message[:match.start()].strip()})"
    return message


def _read_entreprise(r: _Reader, base: Path) -> Entreprise:
    r.check_keys(KNOWN_KEYS["entreprise"])
    pays = r.text("pays", "FR").upper()
    if pays not in ("FR", "BE"):
        raise ConfigError(f"{r.where('pays')} : \"FR\" ou \"BE\" est attendu (lu : {pays!r})")
    logo = r.text("logo", "")
    logo_path = (base / logo).resolve() if logo else None
    if logo_path is not None and not logo_path.is_file():
        raise ConfigError(f"{r.where('logo')} : fichier introuvable « {logo} » "
                          f"(cherché dans {logo_path.parent}) ; corrigez le chemin ou retirez la clé")
    iban = r.text("iban", "").strip()
    if iban:
        from stdnum import iban as iban_check
        try:
            iban = iban_check.format(iban_check.validate(iban))
        except Exception:
            raise ConfigError(f"{r.where('iban')} : IBAN invalide « {iban} » (longueur ou clé "
                              "de contrôle) ; recopiez-le depuis votre RIB") from None
    return Entreprise(
        iban=iban,
        nom=r.text("nom", "Mon entreprise"),
        adresse=r.text("adresse", ""),
        email=r.text("email", ""),
        telephone=r.text("telephone", ""),
        siret=r.text("siret", ""),
        signataire=r.text("signataire", ""),
        pays=pays,
        logo=logo_path,
        ville=r.text("ville", ""),
        bic=r.text("bic", ""),
        tva=r.text("tva", ""),
        forme=r.text("forme", ""),
        rcs=r.text("rcs", ""),
        alsace_moselle=_boolean(r, "alsace_moselle"),
    )


def _read_envoi(r: _Reader, base: Path) -> Envoi:
    r.check_keys(KNOWN_KEYS["envoi"])
    if "mot_de_passe" in r.table:
        raise ConfigError(
            f"{r.where('mot_de_passe')} : ne mettez jamais le mot de passe dans config.toml ; "
            "utilisez la variable d’environnement RELANCES_SMTP_MOT_DE_PASSE, ou enregistrez-le "
            "dans le trousseau du système avec `python scripts/relancer.py "
            "--enregistrer-mot-de-passe`, puis retirez la ligne mot_de_passe"
        )
    mode = r.text("mode", "dossier")
    if mode not in MODES_ENVOI:
        raise ConfigError(f"{r.where('mode')} : \"dossier\" ou \"smtp\" est attendu (lu : {mode!r})")
    securite = r.text("securite", "starttls")
    if securite not in SECURITES:
        raise ConfigError(f"{r.where('securite')} : une valeur parmi {', '.join(SECURITES)} "
                          f"est attendue (lu : {securite!r})")
    envoi = Envoi(
        mode=mode,
        dossier=(base / r.text("dossier", "sortie")).resolve(),
        expediteur=r.text("expediteur", ""),
        hote=r.text("hote", "").strip(),
        port=r.integer("port", PORTS[securite], minimum=1, maximum=65535,
                       what="un numéro de port"),
        securite=securite,
        utilisateur=r.text("utilisateur", "").strip(),
        repondre_a=_address(r, "repondre_a"),
        copie_cachee=_address(r, "copie_cachee"),
        limite_par_minute=r.integer("limite_par_minute", 0, minimum=0, maximum=100_000,
                                    what="un nombre entier de messages"),
        recapitulatif=_address(r, "recapitulatif"),
    )
    if mode == "smtp":
        if not envoi.hote:
            raise ConfigError(f"{r.where('hote')} : obligatoire avec mode = \"smtp\" "
                              "(exemple : \"smtp.example.fr\")")
        if not envoi.expediteur:
            raise ConfigError(f"{r.where('expediteur')} : obligatoire avec mode = \"smtp\" "
                              "(exemple : \"Atelier Dupont <compta@atelier-dupont.fr>\")")
        parse_expediteur(envoi.expediteur, r.where("expediteur"))
    return envoi


IMAP_PORTS = {"ssl": 993, "starttls": 143}


def _read_boite(r: _Reader) -> Boite:
    """[boite]: the IMAP mailbox read before each run (issue 21)."""
    r.check_keys(KNOWN_KEYS["boite"])
    if "mot_de_passe" in r.table:
        raise ConfigError(
            f"{r.where('mot_de_passe')} : ne mettez jamais le mot de passe dans config.toml ; "
            "utilisez la variable d’environnement RELANCES_IMAP_MOT_DE_PASSE, ou enregistrez-le "
            "dans le trousseau du système avec `python scripts/relancer.py "
            "--enregistrer-mot-de-passe`, puis retirez la ligne mot_de_passe")
    securite = r.text("securite", "ssl").strip()
    if securite not in IMAP_PORTS:
        raise ConfigError(f"{r.where('securite')} : \"ssl\" ou \"starttls\" est attendu "
                          f"(lu : {securite!r})")
    hote = r.text("hote", "").strip()
    if not hote:
        raise ConfigError(f"{r.where('hote')} : obligatoire dans [boite] "
                          "(exemple : \"imap.example.fr\")")
    utilisateur = r.text("utilisateur", "").strip()
    if not utilisateur:
        raise ConfigError(f"{r.where('utilisateur')} : obligatoire dans [boite] "
                          "(l’identifiant de la boîte, souvent l’adresse e-mail)")
    dossier = r.text("dossier", "INBOX").strip()
    if not dossier:
        raise ConfigError(f"{r.where('dossier')} : le nom d’un dossier de la boîte est attendu "
                          "(par défaut \"INBOX\")")
    return Boite(
        hote=hote,
        utilisateur=utilisateur,
        port=r.integer("port", IMAP_PORTS[securite], minimum=1, maximum=65535,
                       what="un numéro de port"),
        securite=securite,
        dossier=dossier,
        pause_reponse_jours=r.integer("pause_reponse_jours", 10, minimum=0, maximum=365),
        respecter_absence=(_boolean(r, "respecter_absence") if "respecter_absence" in r.table
                           else True),
        obligatoire=_boolean(r, "obligatoire"),
    )


def _address(r: _Reader, key: str) -> str:
    """One email address, checked for syntax (no DNS lookup)."""
    from email_validator import EmailNotValidError, validate_email

    text = r.text(key, "").strip()
    if not text:
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ConfigError(f"{r.where(key)} : adresse e-mail invalide « {text} »") from None


def _read_factures(r: _Reader, base: Path) -> Path | None:
    r.check_keys(KNOWN_KEYS["factures"])
    if "dossier" not in r.table:
        # A `factures` folder beside config.toml is used without being named.
        default = base / "factures"
        return default.resolve() if default.is_dir() else None
    dossier = r.text("dossier", "")
    return (base / dossier).resolve() if dossier else None


def _read_regles(r: _Reader) -> Regles:
    r.check_keys(KNOWN_KEYS["regles"])
    return Regles(ecart_minimum_jours=r.integer("ecart_minimum_jours", 5, minimum=0),
                  delai_recommande_jours=r.integer("delai_recommande_jours", 15, minimum=0,
                                                   maximum=90),
                  remerciement=_boolean(r, "remerciement"),
                  paiements_a_jour_max_jours=r.integer("paiements_a_jour_max_jours", None,
                                                       minimum=0, maximum=90),
                  delai_paiement_annonce_jours=r.integer("delai_paiement_annonce_jours", 7,
                                                         minimum=0, maximum=60))


def _read_banque(r: _Reader) -> OptionsReleve:
    """[banque]: what to impose on CSV statements when detection is not enough."""
    import codecs

    from ..banque.format_csv import CHAMPS

    r.check_keys(KNOWN_KEYS["banque"])
    separateur = r.text("separateur", "")
    if separateur in ("tab", "tabulation", "\\t"):
        separateur = "\t"
    if len(separateur) > 1:
        raise ConfigError(f"{r.where('separateur')} : un seul caractère est attendu "
                          "(\";\", \",\" ou \"tab\")")
    encodage = r.text("encodage", "")
    if encodage:
        try:
            codecs.lookup(encodage)
        except LookupError:
            raise ConfigError(f"{r.where('encodage')} : encodage inconnu « {encodage} » "
                              "(exemples : \"cp1252\", \"utf-8\")") from None
    decimale = r.text("decimale", "")
    if decimale not in ("", ",", "."):
        raise ConfigError(f"{r.where('decimale')} : \",\" ou \".\" est attendu")
    format_date = r.text("format_date", "")
    if format_date:
        import datetime

        try:
            sample = datetime.date(2026, 11, 22).strftime(format_date)
            datetime.datetime.strptime(sample, format_date)
            if "%d" not in format_date or "%m" not in format_date:
                raise ValueError
        except ValueError:
            raise ConfigError(f"{r.where('format_date')} : format de date invalide "
                              f"« {format_date} » (exemple : \"%d/%m/%Y\")") from None
    entete = r.integer("entete", None, minimum=1, maximum=1000, what="un numéro de ligne")
    colonnes_r = _Reader(r.name, r.table_of("colonnes"), f"{r.prefix}colonnes.", r.warnings)
    colonnes_r.check_keys(set(CHAMPS))
    colonnes: dict[str, str] = {}
    for key, value in colonnes_r.table.items():
        if key not in CHAMPS:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)) or (
                isinstance(value, int) and not 1 <= value <= 1000):
            raise ConfigError(f"{colonnes_r.where(key)} : le titre de la colonne entre "
                              "guillemets, ou son numéro (1 pour la première), est attendu")
        colonnes[key] = str(value)
    numbered = [k for k, v in colonnes.items() if v.isdigit()]
    if numbered and len(numbered) != len(colonnes):
        raise ConfigError(f"{colonnes_r.where(numbered[0])} : donnez toutes les colonnes par "
                          "leur titre, ou toutes par leur numéro")
    return OptionsReleve(separateur=separateur, encodage=encodage, decimale=decimale,
                         format_date=format_date, entete=entete, colonnes=colonnes)


def _read_statuts(r: _Reader) -> dict[str, str]:
    """[statuts] colonnes: field (numero, code, date, motif, vendeur) -> the platform's header."""
    r.check_keys(KNOWN_KEYS["statuts"])
    colonnes_r = _Reader(r.name, r.table_of("colonnes"), f"{r.prefix}colonnes.", r.warnings)
    colonnes_r.check_keys(set(CHAMPS_STATUTS))
    colonnes: dict[str, str] = {}
    for key, value in colonnes_r.table.items():
        if key not in CHAMPS_STATUTS:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{colonnes_r.where(key)} : le titre de la colonne dans l’export "
                              "de la plateforme, entre guillemets, est attendu")
        colonnes[key] = value.strip()
    return colonnes


def _read_penalites(r: _Reader) -> Penalites:
    r.check_keys(KNOWN_KEYS["penalites"])
    taux = r.table.get("taux")
    if taux is not None and taux != "legal":
        raise ConfigError(f"{r.where('taux')} : seule la valeur \"legal\" est possible "
                          "(pour un taux fixe, utilisez taux_annuel)")
    shipped = read_table()
    return Penalites(
        taux_annuel=None if taux == "legal" else r.decimal("taux_annuel", Decimal("12.15"),
                                                           maximum=Decimal("100")),
        taux_legal=taux == "legal",
        indemnite_forfaitaire=r.decimal("indemnite_forfaitaire", Decimal("40"),
                                        maximum=Decimal("10000")),
        depuis_nouvelle_echeance=_boolean(r, "depuis_nouvelle_echeance"),
        clause_consommateur=_boolean(r, "clause_consommateur"),
        table=TableTaux(bce={**shipped["bce"], **_read_rates(r, "taux_bce")},
                        interet_legal={**shipped["interet_legal"],
                                       **_read_rates(r, "taux_interet_legal")}),
    )


def _read_rates(r: _Reader, key: str) -> dict[Semestre, Decimal]:
    """[penalites.taux_bce] "2026-S2" = 2.15 — rates that complete or correct the shipped table."""
    rates = _Reader(r.name, r.table_of(key), f"{r.prefix}{key}.", r.warnings)
    table: dict[Semestre, Decimal] = {}
    for label in rates.table:
        semestre = Semestre.parse(str(label))
        if semestre is None:
            raise ConfigError(f"{rates.where(label)} : un semestre est attendu, sous la forme "
                              "\"2026-S1\" (janvier-juin) ou \"2026-S2\"")
        table[semestre] = rates.decimal(label, None, maximum=Decimal("100"))
    return table


def _read_paiement(r: _Reader) -> Paiement:
    r.check_keys(KNOWN_KEYS["paiement"])
    mode = r.text("reference", "").strip().lower()
    if mode and mode not in ("rf", "ogm", "numero"):
        raise ConfigError(f"{r.where('reference')} : \"rf\", \"ogm\" ou \"numero\" est "
                          f"attendu (lu : {mode!r})")
    return Paiement(reference=mode, qr=_boolean(r, "qr") if "qr" in r.table else True)


def _read_recouvrement(r: _Reader) -> str:
    """[recouvrement] email: the collection agency's address (empty: dossiers are not sent)."""
    r.check_keys(KNOWN_KEYS["recouvrement"])
    return _address(r, "email")


def _read_politiques(r: _Reader) -> dict[str, tuple[Etape, ...]]:
    """[politiques.NOM] with its [[politiques.NOM.etapes]]: replaces or adds a named policy."""
    politiques = dict(DEFAULT_POLITIQUES)
    for nom, table in r.table.items():
        if not re.fullmatch(r"[a-z0-9_]+", nom):
            raise ConfigError(f"{r.where(nom)} : un nom en minuscules sans espace est attendu "
                              "(exemple : [politiques.rapide])")
        if not isinstance(table, dict) or "etapes" not in table:
            raise ConfigError(f"{r.where(nom)} : des étapes sont attendues "
                              f"([[politiques.{nom}.etapes]])")
        unknown = [k for k in table if k != "etapes"]
        for key in unknown:
            r.warnings.append(f"{r.where(nom)}.{key} : clé inconnue, ignorée")
        politiques[nom] = _read_etapes(r.name, table["etapes"], r.warnings,
                                       f"politiques.{nom}.etapes")
    return politiques


def _read_profils(r: _Reader, politiques: dict[str, tuple[Etape, ...]]) -> dict[str, str]:
    """[profils] "mauvais payeur" = "rapide": a Profil value (as typed) -> a policy name."""
    profils = dict(DEFAULT_PROFILS)
    for profil, politique in r.table.items():
        if not isinstance(politique, str):
            raise ConfigError(f"{r.where(profil)} : le nom d’une politique est attendu entre "
                              "guillemets")
        if politique not in politiques and politique not in ("defaut", "défaut"):
            raise ConfigError(f"{r.where(profil)} : politique « {politique} » inconnue "
                              f"(connues : {', '.join(sorted(politiques))}, ou \"defaut\")")
        if politique in ("defaut", "défaut"):
            profils.pop(normalise(profil), None)
            profils[normalise(profil)] = ""
        else:
            profils[normalise(profil)] = politique
    return profils


def _read_etapes(name: str, raw: object, warnings: list[str],
                 where: str = "etapes") -> tuple[Etape, ...]:
    if raw is None:
        return DEFAULT_ETAPES
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise ConfigError(f"{name}: {where} : une liste de sections [[{where}]] est attendue")
    etapes: list[Etape] = []
    for index, table in enumerate(raw, start=1):
        r = _Reader(name, table, f"{where}[{index}].", warnings)
        r.check_keys(KNOWN_KEYS["etapes"])
        nom = r.text("nom", "").strip()
        if not re.fullmatch(r"[a-z0-9_]+", nom):
            raise ConfigError(f"{r.where('nom')} : un nom en minuscules sans espace est attendu "
                              f"(exemple : \"dernier_rappel\"), lu : {nom!r}")
        if nom == PROMESSE_NON_TENUE or any(e.nom == nom for e in etapes):
            raise ConfigError(f"{r.where('nom')} : le nom « {nom} » est déjà pris")
        if "apres_jours" not in table:
            raise ConfigError(f"{r.where('apres_jours')} : obligatoire (jours après l’échéance)")
        canal = r.text("canal", "")
        if canal not in CANAUX:
            raise ConfigError(f"{r.where('canal')} : une valeur parmi {', '.join(CANAUX)} "
                              f"est attendue (lu : {canal!r})")
        modele = r.text("modele", nom) if canal in ("email", "courrier") else None
        etapes.append(Etape(
            nom=nom,
            apres_jours=r.integer("apres_jours", None),
            canal=canal,
            modele=modele,
            delai_jours=r.integer("delai_jours", None, minimum=0),
            montant_minimum=r.decimal("montant_minimum", None),
            joindre_courrier=_boolean(r, "joindre_courrier") if canal == "email" else False,
            libelle=r.text("libelle", default_libelle(nom)).strip() or default_libelle(nom),
            penalites=(_boolean(r, "penalites") if "penalites" in table
                       else modele == "mise_en_demeure" or canal == "recouvrement"),
        ))
        if "joindre_courrier" in table and canal != "email":
            warnings.append(f"{r.where('joindre_courrier')} : ne s’applique qu’aux étapes "
                            "canal = \"email\" ; ignorée")
    return tuple(etapes)


def _boolean(r: _Reader, key: str) -> bool:
    value = r.table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{r.where(key)} : true ou false est attendu (sans guillemets)")
    return value


def _read_colonnes(r: _Reader) -> dict[str, str]:
    """[colonnes] maps a user's header onto one of SPEC's columns; either side may be the key."""
    from ..xlsx.colonnes import FIELD_BY_HEADER

    mapping: dict[str, str] = {}
    for key, value in r.table.items():
        if not isinstance(value, str):
            raise ConfigError(f"{r.where(key)} : un nom de colonne entre guillemets est attendu")
        if normalise(value) in FIELD_BY_HEADER:
            mapping[normalise(key)] = FIELD_BY_HEADER[normalise(value)]
        elif normalise(key) in FIELD_BY_HEADER:
            mapping[normalise(value)] = FIELD_BY_HEADER[normalise(key)]
        else:
            raise ConfigError(f"{r.where(key)} : ni « {key} » ni « {value} » n’est une colonne "
                              "connue (exemple : \"Total TTC\" = \"Montant TTC\")")
    return mapping
