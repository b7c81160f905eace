"""Reading the mailbox: the `[boite]` IMAP folder -> sorted `Retour`s (stage: read).

Read-only by construction: the folder is opened with EXAMINE (`readonly=True`), messages are
fetched with BODY.PEEK (so none is marked read), and no command that changes the mailbox
(STORE, EXPUNGE, MOVE, COPY, APPEND) is ever sent. TLS certificates are verified. What was
seen before (`vus`: "UIDVALIDITY:UID" keys and Message-IDs, kept by the caller's journal) is
skipped; a message bigger than `taille_max` is not downloaded and comes back ILLISIBLE.
"""

from __future__ import annotations

import datetime
import ssl
from collections import Counter
from dataclasses import dataclass, replace
from typing import Mapping

from ..errors import RelancesError
from .retours import ILLISIBLE, NATURES, Retour

ENV_PASSWORD = "RELANCES_IMAP_MOT_DE_PASSE"
KEYRING_SERVICE = "relances"
TAILLE_MAX = 10 * 1024 * 1024
LOT = 200  # messages fetched per command: a big folder is never loaded at once
TIMEOUT = 30
HEADERS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)]"


class BoiteInjoignable(RelancesError):
    """The mailbox cannot be read (server, TLS, login or folder); the message says why."""


@dataclass(frozen=True)
class LectureBoite:
    retours: list[Retour]  # the messages not seen before, sorted, in UID order
    total: int  # messages in the folder
    uidvalidity: int


def keyring_user(utilisateur: str, hote: str) -> str:
    """The IMAP password's name in the system keyring (apart from the SMTP one)."""
    return f"imap:{utilisateur}@{hote}"


def read_password(boite, environ: Mapping[str, str]) -> str | None:
    """The IMAP password: environment variable first, then the system keyring."""
    if environ.get(ENV_PASSWORD):
        return environ[ENV_PASSWORD]
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_user(boite.utilisateur, boite.hote))
    except Exception:  # no keyring backend on this machine (a server without a desktop)
        return None


def lire_boite(boite, mot_de_passe: str | None, vus: set[str], depuis: datetime.date | None,
               taille_max: int = TAILLE_MAX, ssl_context: ssl.SSLContext | None = None
               ) -> LectureBoite:
    """Read and sort the messages of `boite.dossier` received since `depuis` (None: all)
    that are not in `vus`. Raises BoiteInjoignable (in French) when the folder cannot be read."""
    import imapclient

    client = _connecter(boite, mot_de_passe, ssl_context)
    try:
        try:
            info = client.select_folder(boite.dossier, readonly=True)
        except imapclient.exceptions.IMAPClientError as exc:
            raise BoiteInjoignable(
                f"{boite.where} : dossier « {boite.dossier} » introuvable ou illisible "
                f"({_cause(exc)}) ; vérifiez boite.dossier (par défaut \"INBOX\")") from None
        uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        total = int(info.get(b"EXISTS", 0))
        uids = sorted(client.search(["SINCE", depuis]) if depuis else client.search("ALL"))
        nouveaux = [uid for uid in uids if f"{uidvalidity}:{uid}" not in vus]
        retours: list[Retour] = []
        for start in range(0, len(nouveaux), LOT):
            retours += _lot(client, nouveaux[start:start + LOT], uidvalidity, vus, taille_max)
        return LectureBoite(retours=retours, total=total, uidvalidity=uidvalidity)
    except BoiteInjoignable:
        raise
    except Exception as exc:  # the connection broke, or the server answered nonsense
        raise BoiteInjoignable(f"{boite.where} : lecture de la boîte interrompue "
                               f"({_cause(exc)})") from None
    finally:
        try:
            client.logout()
        except Exception:
            pass


def _lot(client, uids: list[int], uidvalidity: int, vus: set[str], taille_max: int
         ) -> list[Retour]:
    """One batch: sizes and a few headers first, then the bodies of what is to be read."""
    from .tri import trier

    entetes = client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE", HEADERS])
    a_lire, retours = [], {}
    for uid in uids:
        data = entetes.get(uid)
        if data is None:  # expunged meanwhile by another client
            continue
        cle = f"{uidvalidity}:{uid}"
        headers = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"") or b""
        interne = data.get(b"INTERNALDATE")
        entete = trier(headers, cle, interne)
        if entete.message_id and entete.message_id in vus:
            continue
        taille = int(data.get(b"RFC822.SIZE", 0))
        if taille > taille_max:
            retours[uid] = replace(
                entete, nature=ILLISIBLE,
                motif=f"message trop volumineux ({taille // 1024} Ko, au-delà de "
                      f"{taille_max // (1024 * 1024)} Mo) : non téléchargé")
        else:
            a_lire.append(uid)
            retours[uid] = entete
    if a_lire:
        corps = client.fetch(a_lire, ["BODY.PEEK[]", "INTERNALDATE"])
        for uid in a_lire:
            data = corps.get(uid)
            if data is None:
                del retours[uid]
                continue
            retours[uid] = trier(data.get(b"BODY[]") or b"", retours[uid].cle,
                                 data.get(b"INTERNALDATE"))
    return [retours[uid] for uid in uids if uid in retours]


def _connecter(boite, mot_de_passe: str | None, ssl_context: ssl.SSLContext | None):
    """A logged-in IMAPClient over verified TLS (implicit or STARTTLS)."""
    import socket

    import imapclient

    where = boite.where
    if mot_de_passe is None:
        raise BoiteInjoignable(
            f"{where} : aucun mot de passe pour {boite.utilisateur} ; définissez la variable "
            f"d’environnement {ENV_PASSWORD} ou enregistrez-le avec "
            "`python scripts/relancer.py --enregistrer-mot-de-passe`")
    context = ssl_context or ssl.create_default_context()
    client = None
    try:
        if boite.securite == "ssl":
            client = imapclient.IMAPClient(boite.hote, boite.port, ssl=True,
                                           ssl_context=context, timeout=TIMEOUT)
        else:
            client = imapclient.IMAPClient(boite.hote, boite.port, ssl=False, timeout=TIMEOUT)
            client.starttls(context)
        client.login(boite.utilisateur, mot_de_passe)
        return client
    except imapclient.exceptions.LoginError:
        _fermer(client)
        raise BoiteInjoignable(f"{where} : identifiant ou mot de passe refusé pour "
                               f"{boite.utilisateur} ; vérifiez boite.utilisateur et le mot de "
                               "passe") from None
    except ssl.SSLCertVerificationError as exc:
        _fermer(client)
        raise BoiteInjoignable(
            f"{where} : certificat TLS du serveur refusé ({exc.verify_message or exc.reason}) ; "
            "vérifiez boite.hote (le nom doit être celui du certificat)") from None
    except ssl.SSLError as exc:
        _fermer(client)
        raise BoiteInjoignable(f"{where} : échec de la négociation TLS ({exc.reason or exc}) ; "
                               "vérifiez boite.port et boite.securite") from None
    except socket.gaierror:
        raise BoiteInjoignable(f"{where} : serveur introuvable ; vérifiez boite.hote") from None
    except ConnectionRefusedError:
        raise BoiteInjoignable(f"{where} : connexion refusée (port fermé ?) ; vérifiez "
                               "boite.hote et boite.port") from None
    except (TimeoutError, socket.timeout):
        _fermer(client)
        raise BoiteInjoignable(f"{where} : le serveur ne répond pas (délai de {TIMEOUT} s "
                               "dépassé)") from None
    except imapclient.exceptions.IMAPClientError as exc:
        _fermer(client)
        if boite.securite == "starttls" and "STARTTLS" in str(exc).upper():
            raise BoiteInjoignable(f"{where} : le serveur ne propose pas STARTTLS ; vérifiez "
                                   "boite.port et boite.securite") from None
        raise BoiteInjoignable(f"{where} : le serveur refuse la connexion ({_cause(exc)})"
                               ) from None
    except OSError as exc:
        _fermer(client)
        raise BoiteInjoignable(f"{where} : connexion impossible ({exc.strerror or exc})"
                               ) from None


def _fermer(client) -> None:
    if client is None:
        return
    try:
        client.shutdown()
    except Exception:
        pass


def _cause(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"


NOMS = {"reponse": "réponse(s)", "rebond": "message(s) non remis", "absence":
        "réponse(s) automatique(s)", "ignore": "ignoré(s)", "illisible": "illisible(s)"}


def verifier_boite(config, environ: Mapping[str, str], vus: set[str],
                   depuis: datetime.date | None = None,
                   ssl_context: ssl.SSLContext | None = None) -> list[tuple[bool, str]]:
    """--verifier: log in, count the folder's messages and say what the next run would sort
    (the messages received since `depuis` not in `vus`), by nature; nothing is stored or
    changed."""
    boite = config.boite
    if boite is None:
        return []
    try:
        lecture = lire_boite(boite, read_password(boite, environ), vus, depuis,
                             ssl_context=ssl_context)
    except BoiteInjoignable as exc:
        return [(False, f"boîte aux lettres non lue : {exc}")]
    compte = Counter(r.nature for r in lecture.retours)
    detail = ", ".join(f"{compte[n]} {NOMS[n]}" for n in NATURES if compte[n])
    checks = [(True, f"boîte aux lettres {boite.where} lue en lecture seule, connecté en tant "
                     f"que {boite.utilisateur} : dossier « {boite.dossier} », "
                     f"{lecture.total} message(s) ; la prochaine exécution en trierait "
                     f"{len(lecture.retours)}" + (f" ({detail})" if detail else ""))]
    checks += [(False, f"boîte aux lettres : message illisible « {r.sujet or r.message_id} » "
                       f"de {r.expediteur or 'expéditeur inconnu'} : {r.motif}")
               for r in lecture.retours if r.nature == ILLISIBLE]
    return checks
