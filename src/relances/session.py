"""The workbook session: one run at a time on a workbook, the workbook bound to its journal,
and the write-back that brings it up to date from the journal.

Used by the daily run (`run`) and by the statement import (`pointage`): both lock the workbook,
check that it is the journal's own, and write it back the same way — never over an edit the
user saved meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .appels import call_list
from .compte import tenir
from .config import Config
from .encaissements import a_verifier_rows, paiement_rows, prepare
from .errors import WorkbookError, WorkbookLocked
from .journal import Journal, iter_sheet_rows
from .pannes import cause
from .rapports import compute
from .rapports.feuille import layout
from .records import Anomalie, Plan, client_key
from .references import Repertoire, attribuer, printed
from .resultat import Resultat
from .suivi import follow_up
from .xlsx import Lien, WorkbookChanged, check_not_open, read_classeur, write_back
from .xlsx.ajout import Ajout
from .xlsx.colonnes import ECHANGES

log = logging.getLogger("relances")


WRITE_ATTEMPTS = 3


@contextlib.contextmanager
def workbook_lock(path: Path) -> Iterator[None]:
    """One run at a time on a workbook (daily run or statement import), and none while the
    workbook is open in Excel or LibreOffice."""
    from filelock import FileLock, Timeout

    check_not_open(path)
    verrou = path.with_name(f".{path.name}.verrou")
    lock = FileLock(str(verrou), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise WorkbookLocked(f"{path.name} : une autre exécution de relances est en cours "
                             "sur ce classeur ; réessayez quand elle sera finie.") from None
    except OSError as exc:  # a read-only folder: nothing can be recorded, so nothing is done
        raise WorkbookError(f"{verrou} : écriture impossible ({cause(exc)}) ; relances écrit "
                            "dans le dossier du classeur (verrou, journal, sauvegardes). Rien "
                            "n’a été fait.") from None
    try:
        yield
    finally:
        lock.release()


IDENTIFIANT, CONFIRME = "classeur", "classeur_confirme"


def bind(journal: Journal, lecture, config: Config, readonly: bool = False) -> str:
    """The identifier that ties the workbook to this journal; refuse a workbook not its own.

    The journal remembers the identifier; the workbook carries it in its custom properties
    once a write-back has stored it there ("confirmed"). A workbook with another identifier, or
    none after the journal's own was confirmed, is another workbook: its invoices must not be
    taken for the ones this journal has chased (a number shared by chance is not the same
    invoice), so nothing is done and the user is told what to do.
    """
    ours = journal.meta(IDENTIFIANT)
    theirs = lecture.identifiant
    name, journal_name = config.classeur.name, config.journal.name
    if ours is not None:
        if theirs == ours:
            if not readonly and journal.meta(CONFIRME) != "1":
                journal.set_meta(CONFIRME, "1")
            return ours
        if theirs is None and journal.meta(CONFIRME) != "1":
            return ours  # the first write-back did not happen yet: still ours to label
        raise WorkbookError(_not_ours(name, journal_name, theirs is None))
    if theirs is not None and not journal.is_empty():
        raise WorkbookError(_not_ours(name, journal_name, False))
    identifiant = theirs or str(uuid.uuid4())
    if not readonly:
        journal.set_meta(IDENTIFIANT, identifiant)
        if theirs is not None:
            journal.set_meta(CONFIRME, "1")
    return identifiant


def _not_ours(name: str, journal_name: str, unlabelled: bool) -> str:
    why = ("il ne porte pas l’identifiant que relances a inscrit dans le classeur suivi par ce "
           "journal (nouveau classeur, ou copie enregistrée par un outil qui perd les propriétés "
           "du document)" if unlabelled else
           "il porte l’identifiant d’un autre journal")
    return (f"{name} n’est pas le classeur de ce journal ({journal_name}) : {why}. Rien n’a été "
            f"fait, pour ne pas prendre ses factures pour celles déjà relancées. Pour passer à "
            f"un nouveau classeur, déplacez {journal_name} dans un autre dossier (il garde "
            f"l’historique de l’ancien) et relancez ; pour revenir à l’ancien classeur, remettez-le "
            f"à sa place (voir « Passer à votre propre classeur » dans le README).")


@dataclass(frozen=True)
class TacheSimulee:
    """A call not yet in the journal (a dry run's), for the call list."""

    id: int
    client: str
    factures: tuple[str, ...]
    jour: datetime.date
    etape: str


def open_calls(journal: Journal) -> list:
    return [e for e in journal.entries("a_faire") if e.canal == "appel"]


def give_references(journal: Journal, classeur, history, actions, today: datetime.date,
                    readonly: bool = False) -> tuple[Repertoire, list[Anomalie]]:
    """The payment references of the run: those given before, and new ones for the invoices
    `actions` print (and those printed before references were kept), stored before anything is
    printed so that a crash can never give another one. A dry run computes the same, stores
    nothing. Also the references found printed for two invoices, to report."""
    repertoire = journal.repertoire()
    besoins = {(client_key(a.client), n) for a in actions
               if a.is_message or a.canal == "recouvrement" for n in a.factures}
    imprimees = printed(history)
    if not (besoins - set(repertoire.by_cle)) and not (set(imprimees) - set(repertoire.by_cle)):
        return repertoire, []
    noms = {key: client.nom for key, client in classeur.clients.items()}
    nouvelles, collisions = attribuer(besoins, repertoire, imprimees,
                                      (f.numero for f in classeur.factures), noms, today)
    if readonly:
        for attribution in nouvelles:
            repertoire.add(attribution)
    else:
        journal.give_references(nouvelles)
        repertoire = journal.repertoire()
    return repertoire, [Anomalie(None, None, c) for c in collisions]


def references_of(config: Config) -> Repertoire:
    """The payment references the journal gave, read before the workbook (its sheet Paiements
    may quote them)."""
    journal = Journal.open(config.journal, readonly=True)
    try:
        return journal.repertoire()
    finally:
        journal.close()


DERNIERE_ECRITURE = "derniere_ecriture"  # journal meta: "<fingerprint>:<signature>"


def _signature(by_row: dict, colonnes: dict[str, str]) -> str:
    """A digest of the tool cells a write-back puts into Factures, and of where they go (the
    user's [colonnes], the tool's own columns)."""
    import hashlib

    from .xlsx.colonnes import TOOL_FIELDS

    digest = hashlib.sha256(repr((sorted(colonnes.items()), TOOL_FIELDS)).encode())
    for row in sorted(by_row):
        numero, suivi = by_row[row]
        digest.update(f"{row}\x1f{numero}\x1f{suivi!r}\x1e".encode())
    return digest.hexdigest()


def refresh_workbook(config: Config, lu, journal: Journal, today: datetime.date,
                     identifiant: str, ajouts=None) -> Resultat:
    """Bring the workbook up to date from the journal, and nothing else (after an import of
    bank statements or e-invoices): a Resultat with no plan, holding what the write did."""
    resultat = Resultat(Plan(today, (), ()), lu.classeur)
    bring_up_to_date(config, lu, journal, today, resultat, identifiant, ajouts)
    return resultat


def bring_up_to_date(config: Config, lu, journal: Journal, today: datetime.date,
                resultat: Resultat, identifiant: str, ajouts=None) -> None:
    """Bring the workbook up to date from the journal; never over an edit saved meanwhile.
    Also sets the run's call list (sheet À appeler and the summary), from what it writes.

    `lu` is the workbook as read, before the journal's bank lines are counted: they are
    counted again here, at each attempt, from the file about to be patched.
    `ajouts(lecture)`: the rows to append to user sheets (xlsx.ajout), decided again from the
    workbook as read at each attempt (an import of e-invoices)."""
    decided = list(resultat.preparation.decisions)  # taken at the start of the run
    for _attempt in range(WRITE_ATTEMPTS):
        lecture, resultat.preparation = prepare(lu, journal)
        resultat.preparation.decisions[:0] = decided
        lecture, reponses, echanges = _with_mailbox(lecture, journal, config)
        history = journal.history()
        # Today's actions are in the journal now: the accounts as they stand after them.
        livre = tenir(lecture.classeur, history, today, config)
        suivis = follow_up(lecture.classeur, history, today, config, livre)
        by_row = {f.row: (f.numero, suivis[f.numero]) for f in lecture.classeur.factures
                  if f.row is not None and f.numero in suivis}
        rows = list(iter_sheet_rows(journal.entries(), config.libelle))
        resultat.appels, resultat.litiges = call_list(
            livre, open_calls(journal), history, today, config.libelle,
            config.regles.delai_paiement_annonce_jours,
            config.boite.pause_reponse_jours if config.boite else 10)
        resultat.tableau = compute(livre, history, today, config.libelle, resultat.appels)
        # The file is the one our last write left, and the tool cells to write are those
        # it holds: Factures need not be patched (at 50,000 rows, most of a second run).
        signature = _signature(by_row, config.colonnes or {})
        a_jour = journal.meta(DERNIERE_ECRITURE) == f"{lecture.empreinte}:{signature}"
        try:
            resultat.ecriture = write_back(
                config.classeur, lecture.empreinte, by_row, rows, config.colonnes,
                factures_a_jour=a_jour, feuilles=lecture.feuilles,
                identifiant=identifiant, a_appeler=_call_rows(resultat, today),
                tableau=layout(resultat.tableau),
                paiements=paiement_rows(resultat.preparation.a_ecrire),
                a_verifier=a_verifier_rows(resultat.preparation.a_verifier,
                                           resultat.preparation.saisies),
                ajouts=[*([Ajout(ECHANGES, echanges)] if echanges else []),
                        *(ajouts(lecture) if ajouts is not None else ())])
        except WorkbookChanged:
            log.info("classeur modifié pendant l’exécution : relecture")
            try:
                lu = lecture = read_classeur(config.classeur, config.colonnes,
                                             config.lignes_max, journal.repertoire())
            except WorkbookError as exc:  # saved meanwhile into something we cannot read
                resultat.ecriture_erreur = (f"{exc} ; classeur non mis à jour, la prochaine "
                                            "exécution le fera depuis le journal")
                return
            if lecture.identifiant not in (None, identifiant):
                resultat.ecriture_erreur = _not_ours(config.classeur.name, config.journal.name,
                                                     False)
                return
            continue
        except WorkbookError as exc:
            resultat.ecriture_erreur = str(exc)
            return
        journal.set_meta(CONFIRME, "1")
        if not resultat.ecriture.ignorees:  # else the next run patches (and reports) again
            journal.set_meta(DERNIERE_ECRITURE, f"{resultat.ecriture.empreinte}:{signature}")
        resultat.anomalies.extend(resultat.ecriture.ignorees)
        if resultat.ecriture.ajoutes.get(ECHANGES):
            journal.mark_messages_written(reponses)  # each reply appended once
        elif echanges:
            resultat.avertissements.append(Anomalie(
                "Échanges", None, f"colonnes « Date » et « Client » introuvables : "
                f"{len(echanges)} réponse(s) lue(s) dans la boîte aux lettres non écrite(s) "
                "dans la feuille ; elles seront écrites quand la feuille aura ces colonnes"))
        a_ecrire = resultat.preparation.a_ecrire
        if resultat.ecriture.paiements:
            journal.mark_written([p.cle for p in a_ecrire])
        elif a_ecrire:
            resultat.avertissements.append(Anomalie(
                "Paiements", None, f"colonnes « Date » et « Montant » introuvables : "
                f"{len(a_ecrire)} paiement(s) importé(s) non écrit(s) dans la feuille ; ils "
                "comptent quand même (le journal les garde) et seront écrits quand la feuille "
                "aura ces colonnes"))
        for ref in resultat.ecriture.formules:
            resultat.avertissements.append(Anomalie(
                "Factures", int("".join(c for c in ref if c.isdigit())),
                f"{ref} : une formule occupe une colonne de l’outil ; laissée telle quelle"))
        return
    resultat.ecriture_erreur = (f"{config.classeur.name} : modifié sans cesse pendant l’exécution, "
                                "non mis à jour ; la prochaine exécution le fera depuis le journal")


def _with_mailbox(lecture, journal: Journal, config: Config):
    """The workbook with what the mailbox said of each client (boite.effets), the replies not
    yet in Échanges: (lecture, their keys, their rows)."""
    if config.boite is None:
        return lecture, [], ()
    import dataclasses

    from .boite.effets import avec_courriels, echange_rows

    lecture = dataclasses.replace(lecture, classeur=avec_courriels(lecture.classeur, journal))
    cles, rows = echange_rows(journal.messages())
    return lecture, cles, rows


def _call_rows(resultat: Resultat, today: datetime.date) -> list[tuple]:
    """Sheet À appeler: the clients to call, then the disputes, each with its age."""
    rows = []
    for a in resultat.appels:
        digits = re.sub(r"[^\d+]", "", a.telephone)
        phone = Lien(a.telephone, f"tel:{digits}") if digits else a.telephone
        rows.append(("Agence" if a.agence else "80 %" if a.pareto else "", a.client, a.contact, phone, a.montant_du,
                     ", ".join(a.factures), a.plus_ancienne, a.jours_retard, a.depuis, a.motif,
                     a.dernieres_actions, a.promesses, a.litiges, a.a_demander))
    for litige in resultat.litiges:
        depuis = (f"depuis le {litige.depuis:%d/%m/%Y}" if litige.depuis
                  else "depuis l’échéance")
        rows.append(("Litige", litige.client, "", "", litige.reste_du, litige.facture, None,
                     litige.jours, litige.depuis,
                     f"litige {depuis} ({litige.jours} jours, {litige.source})", "", "",
                     litige.facture, "Où en est ce désaccord ? Que faut-il pour le lever ?"))
    return rows

