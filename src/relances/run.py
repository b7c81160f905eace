"""The daily run: read -> decide -> render everything -> deliver with the journal -> write back.

`run_daily` is the whole job as a function of (config, today, now): it prints nothing and reads
no clock. It returns a `Resultat` that `cli` turns into a summary, a JSON plan and an exit
status. Errors that stop everything are `RelancesError`s; everything else (bad rows, one failed
delivery, a workbook that could not be saved) is collected and reported, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Mapping

from . import formats, rien_de_neuf
from .adresses import parse_expediteur
from .appels import call_list, close_calls
from .compte import Livre, as_seen, tenir
from .config import Config
from .delivery import (DossierDelivery, SmtpDelivery, SmtpUncertain, build_email,
                       read_password, slug, write_atomic)
from .encaissements import FIN_RELEVE, prepare, stale
from .errors import ConfigError, DeliveryError, JournalError, RelancesError
from .etapes import ECHEANCIER, FERME, INFO_AGENCE, PROMESSE, REMERCIEMENT, TRANSMISSION
from .journal import AlreadyDone, Entree, Journal
from .lettre import enclose, merge, render_pdfs
from .montants import compute_demande
from .pannes import write_failed
from .policy import decide, missing_identity
from .rapports import compute
from .records import Action, Anomalie, Classeur, Client, Facture, Fait, Plan, client_key
from .render import LANGUES, Renderer, Rendu
from .reprise import taken_over
from .resultat import Execution, Resultat
from .session import (TacheSimulee, bind, bring_up_to_date, give_references, open_calls,
                      references_of, workbook_lock)
from .xlsx import read_classeur

log = logging.getLogger("relances")


Progress = Callable[[int], None]


def make_delivery(config: Config, environ: Mapping[str, str]) -> DossierDelivery | SmtpDelivery:
    """The delivery `[envoi] mode` asks for; the password comes from `environ` or the keyring."""
    base = config.classeur.parent
    envoi = config.envoi
    if envoi.mode != "smtp":
        return DossierDelivery(base)
    password = read_password(envoi.utilisateur, envoi.hote, environ) if envoi.utilisateur else None
    return SmtpDelivery(base, envoi.hote, envoi.port, envoi.securite, envoi.utilisateur, password,
                        envoi.copie_cachee, envoi.limite_par_minute)


def settle(config: Config, action_id: int, sent: bool) -> Entree:
    """--confirmer-envoi / --renvoyer: close an uncertain action, or free it to be sent again."""
    journal = Journal.open(config.journal)
    try:
        return journal.settle(action_id, sent)
    finally:
        journal.close()


@dataclass(frozen=True)
class Verification:
    ok: bool
    message: str


def verify(config: Config, today: datetime.date, environ: Mapping[str, str] | None = None
           ) -> list[Verification]:
    """--verifier: config, workbook, every template, output folder, SMTP login; sends nothing."""
    checks = [Verification(True, f"configuration lue : {config.path}")]
    if refus := config.refus_identite():
        checks.append(Verification(False, refus))
    checks += [Verification(False, f"configuration : {w}") for w in config.avertissements]
    try:
        lecture = read_classeur(config.classeur, config.colonnes, config.lignes_max)
        classeur = lecture.classeur
        checks.append(Verification(True, f"classeur lu : {config.classeur.name}, "
                                         f"{len(classeur.factures)} facture(s), "
                                         f"{len(classeur.clients)} client(s)"))
        checks += [Verification(False, f"{a.where(config.classeur.name)} : {a.message}")
                   for a in classeur.anomalies]
        journal = Journal.open(config.journal, readonly=True)
        try:
            bind(journal, lecture, config, readonly=True)
            checks.append(Verification(True, f"classeur et journal vont ensemble "
                                             f"({config.journal.name})"))
            checks += _verify_bank(journal, config, today)
        finally:
            journal.close()
    except RelancesError as exc:
        checks.append(Verification(False, str(exc)))
    checks += _verify_templates(config, today)
    try:
        config.envoi.dossier.mkdir(parents=True, exist_ok=True)
        probe = config.envoi.dossier / ".relances-verification"
        probe.write_bytes(b"")
        probe.unlink()
        checks.append(Verification(True, f"dossier de sortie accessible en écriture : "
                                         f"{config.envoi.dossier}"))
    except OSError as exc:
        checks.append(Verification(False, write_failed(config.envoi.dossier, exc)))
    if config.envoi.mode != "smtp":
        checks.append(Verification(True, "envoi en mode dossier : les e-mails sont écrits en .eml, "
                                         "rien ne part (pas de serveur à vérifier)"))
    else:
        delivery = make_delivery(config, os.environ if environ is None else environ)
        try:
            delivery.check()
            login = f", connecté en tant que {config.envoi.utilisateur}" if config.envoi.utilisateur else ""
            checks.append(Verification(True, f"serveur SMTP {delivery.where} joignable{login} "
                                             "(aucun message envoyé)"))
        except RelancesError as exc:
            checks.append(Verification(False, str(exc)))
    if config.boite is not None:
        checks += _verify_mailbox(config, today, os.environ if environ is None else environ)
    return checks


def _verify_mailbox(config: Config, today: datetime.date, environ: Mapping[str, str]
                    ) -> list[Verification]:
    """[boite]: log in, count, and sort what the next run would read — the same days, the
    messages the journal has not seen —; nothing stored."""
    from .boite.effets import depuis, vus_du_journal
    from .boite.imap import verifier_boite

    vus, debut = set(), today
    try:
        journal = Journal.open(config.journal, readonly=True)
        try:
            vus, debut = vus_du_journal(journal), depuis(journal, today) or today
        finally:
            journal.close()
    except RelancesError:
        pass  # no journal yet (or unreadable, said above): nothing seen, nothing sent
    return [Verification(ok, text) for ok, text in verifier_boite(config, environ, vus, debut)]


def _verify_bank(journal: Journal, config: Config, today: datetime.date
                 ) -> list[Verification]:
    """The bank statements: the last one imported, the lines waiting for a decision, and
    whether the stale-data guard would stop today's sending."""
    checks = []
    fin = journal.meta(FIN_RELEVE)
    gel = stale(journal, config, today)
    if gel:
        checks.append(Verification(False, f"relevés bancaires : {gel}"))
    elif fin:
        checks.append(Verification(True, "relevés bancaires : le dernier importé s’arrête au "
                                         f"{formats.date_courte(datetime.date.fromisoformat(fin))}"))
    waiting = journal.pointages("a_verifier")
    if waiting:
        checks.append(Verification(False, f"relevés bancaires : {len(waiting)} paiement(s) à "
                                          "vérifier (feuille À vérifier, colonne Décision) ; "
                                          "leurs clients ne sont pas relancés d’ici là"))
    return checks


def _verify_templates(config: Config, today: datetime.date) -> list[Verification]:
    """Render every message and letter template on a made-up invoice, in French and English,
    and check that letters can carry the creditor's identity."""
    checks = []
    missing = missing_identity(config)
    if missing and any(e.canal == "courrier" or e.joindre_courrier for e in config.toutes_etapes):
        checks.append(Verification(False, (
            f"courriers : un courrier doit identifier le créancier ; renseignez "
            f"{', '.join(missing)} dans {config.path.name} (aucun courrier ne sera produit "
            "d’ici là)")))
    steps = list({e.modele: e for e in config.toutes_etapes if e.modele}.values())
    steps += [PROMESSE, ECHEANCIER, REMERCIEMENT, TRANSMISSION, INFO_AGENCE,
              dataclasses.replace(config.etapes[0], modele=FERME, libelle="Rappel")]
    letters = []
    for langue in LANGUES:
        client = Client(nom="Client Exemple", contact="Camille Exemple", emails=("c@exemple.fr",),
                        adresse="1 rue de l’Exemple\n69000 Lyon", langue=langue,
                        civilite="Madame")
        facture = Facture(numero="F-EXEMPLE", client=client.nom,
                          echeance=today - datetime.timedelta(days=40), montant=Decimal("1234.56"),
                          date_facture=today - datetime.timedelta(days=70))
        classeur = Classeur((facture,), {client_key(client.nom): client})
        renderer = Renderer(dataclasses.replace(config, factures_dossier=None), classeur, today)
        for etape in steps:
            demande = compute_demande([facture], [], etape, False, [], today, config)
            action = Action(client.nom, (facture.numero,), etape.nom, etape.canal,
                            client.emails, facture.reste_du, etape.modele, etape.delai_jours,
                            today - datetime.timedelta(days=2), etape.joindre_courrier,
                            (etape.nom,), etape.titre, montant_reclame=demande.total)
            try:
                rendu = renderer.render(action)
            except RelancesError as exc:
                checks.append(Verification(False, f"modèle {etape.modele} ({langue}) : {exc}"))
                continue
            if rendu.has_letter:
                letters.append((rendu.lettre, f"lettres/{etape.modele}.lettre.typ"))
            checks.append(Verification(True, f"modèle {etape.modele} ({langue}) : rendu sans "
                                             "erreur"))
    try:
        render_pdfs(config.lettres, letters)
        if letters:
            checks.append(Verification(True, f"{len(letters)} courrier(s) mis en page en PDF"))
    except RelancesError as exc:
        checks.append(Verification(False, str(exc)))
    return checks


def run_daily(config: Config, today: datetime.date, now: datetime.datetime,
              dry_run: bool = False, start_progress: Callable[[int], Progress] | None = None,
              environ: Mapping[str, str] | None = None, extra: tuple = ()) -> Resultat:
    """Do today's run. `start_progress(n)` is called with the number of actions to carry out.
    `extra`: statement lines of a simulated import, counted by a dry run."""
    path = config.classeur
    environ = os.environ if environ is None else environ
    if dry_run:
        return _plan_only(config, today, extra, environ, now)[0]
    if refus := config.refus_identite():  # nothing signed with a blank or borrowed name
        raise ConfigError(refus)
    with workbook_lock(path):
        # Same day, same files, nothing done last time: the same result, not rebuilt.
        if (resultat := rien_de_neuf.reprendre(config, today)) is not None:
            return resultat
        resultat = _run_locked(config, today, now, start_progress,
                               make_delivery(config, environ), environ)
        rien_de_neuf.retenir(config, today, resultat)
        return resultat


def _plan_only(config: Config, today: datetime.date, extra: tuple = (),
               environ: Mapping[str, str] | None = None, now: datetime.datetime | None = None
               ) -> tuple[Resultat, list[Fait]]:
    lecture = read_classeur(config.classeur, config.colonnes, config.lignes_max,
                            references_of(config))
    journal = Journal.open(config.journal, readonly=True)
    try:
        bind(journal, lecture, config, readonly=True)
        lecture, preparation = prepare(lecture, journal, readonly=True, extra=extra)
        # The mailbox is read (nothing stored): the plan reflects what came back.
        lecture, courrier, gel_boite = _read_mailbox(
            config, journal, lecture, today, now, os.environ if environ is None else environ,
            readonly=True)
        gel = stale(journal, config, today) or gel_boite
        history = journal.history()
        history += taken_over(lecture.classeur, journal.known_factures(), config)
        livre = tenir(lecture.classeur, history, today, config)  # the client accounts, once
        plan = decide(lecture.classeur, history, today, config, livre)
        _, collisions = give_references(journal, lecture.classeur, history, plan.actions,
                                        today, readonly=True)
        # The calls a real run would list: the open ones it would not close, and today's.
        taches = open_calls(journal)
        closed = {c.action_id for c in close_calls(taches, livre.classeur)}
        taches = [t for t in taches if t.id not in closed]
        taches += [TacheSimulee(0, a.client, a.factures, today, a.etape) for a in plan.actions
                   if a.canal == "appel"]
    finally:
        journal.close()
    resultat = Resultat(plan, lecture.classeur, dry_run=True,
                        anomalies=[*lecture.classeur.anomalies, *plan.anomalies,
                                   *collisions], preparation=preparation, gel=gel or "")
    resultat.livre = livre
    resultat.boite = courrier
    resultat.appels, resultat.litiges = call_list(livre, taches, history, today, config.libelle,
                                                  config.regles.delai_paiement_annonce_jours,
                                                  _pause_reponse(config))
    return resultat, history


def _pause_reponse(config: Config) -> int:
    return config.boite.pause_reponse_jours if config.boite else 10


def _read_mailbox(config: Config, journal: Journal, lecture, today: datetime.date,
                  now: datetime.datetime | None, environ: Mapping[str, str],
                  readonly: bool = False):
    """Read `[boite]` before deciding (boite.effets): (the workbook read with what the mailbox
    said of each client, what was read, why nothing may be sent: '' or the guard's words)."""
    from .boite.effets import avec_courriels, lire_et_trier

    if config.boite is None:
        return lecture, None, ""
    now = now or datetime.datetime.combine(today, datetime.time())
    courrier = lire_et_trier(config, journal, lecture.classeur, today, now, environ,
                             readonly=readonly)
    lecture = dataclasses.replace(lecture, classeur=avec_courriels(
        lecture.classeur, journal, courrier.nouveaux if readonly else ()))
    gel = ""
    if courrier.injoignable:
        log.warning("boîte aux lettres non lue : %s", courrier.injoignable)
        if config.boite.obligatoire:
            gel = (f"boîte aux lettres non lue ({courrier.injoignable}) et [boite] "
                   "obligatoire = true : rien n’est envoyé sans avoir lu les réponses")
    return lecture, courrier, gel


def report(config: Config, today: datetime.date):
    """rapport.py: the dashboard's figures as of `today`, reading only (the workbook, the
    journal, and the plan a dry run would make); the Tableau's `extra` holds the number of
    actions due today and of problems."""
    resultat, history = _plan_only(config, today)
    tableau = compute(resultat.livre, history, today, config.libelle, resultat.appels)
    tableau.extra.update(actions=len(resultat.plan.actions),
                         problemes=len(resultat.anomalies) + bool(resultat.gel),
                         gel=resultat.gel)
    return tableau


def run_preview(config: Config, today: datetime.date, now: datetime.datetime,
                dossier: Path, extra: tuple = ()) -> Resultat:
    """--apercu: write what today's run would send and print into `dossier`, and nothing else.

    No journal entry, no workbook write, no message sent: for proofreading templates. Emails
    are .eml files (attachments included); letters are .pdf.
    """
    resultat, history = _plan_only(config, today, extra)
    journal = Journal.open(config.journal, readonly=True)
    try:
        entrees = journal.entries()
        references, _ = give_references(journal, resultat.classeur, history,
                                        resultat.plan.actions, today, readonly=True)
    finally:
        journal.close()
    rendus, avertissements = _render_all(config, resultat.livre, resultat.plan, today, history,
                                         entrees, references)
    resultat.avertissements = avertissements
    resultat.apercu_dossier = dossier
    expediteur = _expediteur(config, resultat.plan)
    for number, action in enumerate(resultat.plan.actions, start=1):
        rendu = rendus.get(action)
        if rendu is None:
            continue
        stem = f"{number:03d}-{slug(action.client)}-{action.etape}"
        if action.canal == "email":
            if action.etape == TRANSMISSION.nom and not rendu.annexes:
                return Execution(action, "echec", "", "dossier de recouvrement introuvable dans "
                                 f"{config.envoi.dossier} : rien n’est envoyé à l’agence ; "
                                 "vérifiez qu’il n’a pas été déplacé")
            try:
                message = build_email(rendu, expediteur, now, config.envoi.repondre_a)
            except (DeliveryError, ValueError, TypeError) as exc:
                # An invoice copy vanished, or a value no header can hold: this message only.
                resultat.anomalies.append(Anomalie(None, None, f"{action.client} : aperçu de "
                                                   f"« {action.etape} » impossible ({exc})"))
                continue
            resultat.apercu.append(_write(dossier / f"{stem}.eml", message.as_bytes()))
        if rendu.has_letter:
            resultat.apercu.append(_write(dossier / f"{stem}.pdf", rendu.pdf))
    return resultat


def _write(path: Path, data: bytes) -> Path:
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise DeliveryError(write_failed(path, exc)) from None
    return path


def _expediteur(config: Config, plan: Plan):
    """The sender, checked before the first message goes out (None when no email is due)."""
    if not any(a.canal == "email" for a in plan.actions):
        return None
    return parse_expediteur(
        config.envoi.expediteur or f"{config.entreprise.nom} <{config.entreprise.email}>",
        f"{config.path.name}: envoi.expediteur")


def _run_locked(config: Config, today: datetime.date, now: datetime.datetime,
                start_progress: Callable[[int], Progress] | None, delivery,
                environ: Mapping[str, str] | None = None) -> Resultat:
    lu = read_classeur(config.classeur, config.colonnes, config.lignes_max, references_of(config))
    journal = Journal.open(config.journal)
    try:
        identifiant = bind(journal, lu, config)
        # Bank lines: the user's decisions taken, imported payments counted (see pointage).
        lecture, preparation = prepare(lu, journal)
        # The mailbox first: replies pause, bounces are « non remis », absences keep emails away.
        lecture, courrier, gel_boite = _read_mailbox(config, journal, lecture, today, now,
                                                     os.environ if environ is None else environ)
        gel = stale(journal, config, today) or gel_boite
        journal.recover(lambda entry: _dossier_written(config, entry)
                        if entry.canal == "recouvrement" else delivery.delivered(entry),
                        delivery.fait)
        incertains = journal.entries("incertain")
        # A call stays a task until an exchange is recorded for the client (or all is paid).
        for cloture in close_calls(open_calls(journal), as_seen(lecture.classeur, today)):
            journal.finish(cloture.action_id, cloture.statut, cloture.detail)
        journal.take_over(taken_over(lecture.classeur, journal.known_factures(), config), now)
        history = journal.history()
        livre = tenir(lecture.classeur, history, today, config)  # the client accounts, once
        plan = decide(lecture.classeur, history, today, config, livre)
        resultat = Resultat(plan, lecture.classeur, incertains=incertains,
                            anomalies=[*lecture.classeur.anomalies, *plan.anomalies],
                            preparation=preparation, gel=gel or "", livre=livre)
        resultat.boite = courrier
        if gel:
            # Payments may have come in since the last statement: plan, send nothing.
            log.warning("rien n’est envoyé : %s", gel)
            bring_up_to_date(config, lu, journal, today, resultat, identifiant)
            return resultat
        references, collisions = give_references(journal, lecture.classeur, history,
                                                 plan.actions, today)
        resultat.anomalies.extend(collisions)
        rendus, resultat.avertissements = _render_all(config, livre, plan, today,
                                                      history, journal.entries(), references)
        # A bad sender address stops the run here, before the first message goes out.
        expediteur = _expediteur(config, plan)
        if expediteur is not None and isinstance(delivery, SmtpDelivery):
            delivery.connect()  # unreachable or login refused: stop here, nothing marked sent
        progress = start_progress(len(plan.actions)) if start_progress else None
        try:
            for action in plan.actions:
                try:
                    execution = _carry_out(action, rendus.get(action), expediteur, config,
                                           journal, delivery, today, now)
                except (JournalError, OSError) as exc:
                    # The journal (or the disk) gave way: what went out stays said, nothing
                    # more is sent; the action under way is checked by the next run.
                    resultat.panne = _stopped(action, exc)
                    log.error("%s", resultat.panne)
                    break
                resultat.executions.append(execution)
                if execution.statut in ("echec", "incertain"):
                    verb = "non fait" if execution.statut == "echec" else "incertain"
                    resultat.anomalies.append(Anomalie(None, None, f"{action.client} : "
                                              f"{action.etape} {verb} — {execution.detail}"))
                elif execution.detail:
                    resultat.anomalies.append(Anomalie(None, None, f"{action.client} : "
                                              f"{action.etape} envoyé, mais {execution.detail}"))
                if progress:
                    progress(1)
        finally:
            delivery.close()
        rendus.clear()  # every message is out: their texts need not outlive the sending
        _print_file(config, today, resultat)
        try:
            bring_up_to_date(config, lu, journal, today, resultat, identifiant)
        except (RelancesError, OSError) as exc:
            if not (resultat.partis or resultat.panne):
                raise  # nothing went out: the run could not be done, and says so
            detail = write_failed(None, exc) if isinstance(exc, OSError) else str(exc)
            resultat.ecriture_erreur = (f"{config.classeur.name} non mis à jour ({detail}) ; "
                                        "la prochaine exécution le mettra à jour depuis le "
                                        "journal")
        return resultat
    finally:
        journal.close()


def _stopped(action: Action, exc: Exception) -> str:
    detail = write_failed(None, exc) if isinstance(exc, OSError) else str(exc)
    return (f"arrêt en cours de route : {detail} ; rien d’autre n’a été envoyé. "
            f"« {action.etape} » à {action.client}, en cours à ce moment, est peut-être "
            "partie : la prochaine exécution le vérifiera avant de la refaire (ou la "
            "signalera incertaine)")


def _render_all(config: Config, livre: Livre, plan: Plan, today: datetime.date,
                history: list[Fait], entrees: list[Entree] | None = None,
                references=None) -> tuple[dict[Action, Rendu], list[Anomalie]]:
    """Every message, letter and hand-off dossier of the run, PDFs included, before anything
    is sent; every figure from the client accounts (`livre`)."""
    renderer = Renderer(config, livre.classeur, today, history, entrees or [], livre=livre,
                        references=references)
    rendus = {action: renderer.render(action) for action in plan.actions
              if action.is_message or action.canal == "recouvrement"}
    with_letter = [action for action, rendu in rendus.items() if rendu.has_letter]
    pdfs = render_pdfs(config.lettres, [
        (rendus[a].lettre, f"lettres/{a.modele or 'dossier_recouvrement'}.lettre.typ")
        for a in with_letter])
    for action, pdf in zip(with_letter, pdfs):
        # A posted letter encloses the invoice copies, appended to its PDF (an email carries
        # them as attachments of their own).
        copies = rendus[action].pieces if action.canal == "courrier" else ()
        rendus[action] = dataclasses.replace(rendus[action], pdf=enclose(pdf, copies))
    return rendus, renderer.avertissements


def _print_file(config: Config, today: datetime.date, resultat: Resultat) -> None:
    """All of the day's letters in one PDF (`AAAA-MM-JJ-a-imprimer.pdf`), to print at once."""
    if not any(e.action.canal == "courrier" and e.statut == "a_faire" for e in resultat.executions):
        return
    folder = config.envoi.dossier / today.isoformat()
    letters = sorted((folder / "courriers").glob("*.pdf"))
    target = folder / f"{today.isoformat()}-a-imprimer.pdf"
    try:
        write_atomic(target, merge(letters))
        resultat.impression = target
    except Exception as exc:  # the letters themselves are written; only the bundle is missing
        resultat.avertissements.append(Anomalie(None, None, f"{target.name} : fichier à imprimer "
                                                f"non créé ({exc}) ; imprimez les courriers un à un"))


def relative(path: Path, base: Path) -> str:
    """`path` as written in the journal and the summary: relative to `base` when it can be."""
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive, on Windows
        return str(path)


def _carry_out(action: Action, rendu: Rendu | None, expediteur, config: Config,
               journal: Journal, delivery: DossierDelivery | SmtpDelivery, today: datetime.date,
               now: datetime.datetime) -> Execution:
    base = config.classeur.parent
    folder = config.envoi.dossier / today.isoformat()
    try:
        if action.canal == "email":
            if action.etape == TRANSMISSION.nom and not rendu.annexes:
                return Execution(action, "echec", "", "dossier de recouvrement introuvable dans "
                                 f"{config.envoi.dossier} : rien n’est envoyé à l’agence ; "
                                 "vérifiez qu’il n’a pas été déplacé")
            try:
                message = build_email(rendu, expediteur, now, config.envoi.repondre_a)
            except DeliveryError as exc:  # an invoice copy vanished since it was found
                return Execution(action, "echec", "", str(exc))
            except (ValueError, TypeError) as exc:  # a value no header can hold
                return Execution(action, "echec", "", f"message impossible à construire ({exc})")

            def eml_name(action_id: int) -> str:
                name = f"{action_id:05d}-{slug(action.client)}-{action.etape}.eml"
                return relative(folder / "emails" / name, base)

            action_id, fichier = journal.begin(action, today, now, fichier=eml_name,
                                               message_id=message["Message-ID"])
            try:
                delivery.deliver(message, base / fichier)
            except SmtpUncertain as exc:  # maybe sent: never redone on its own
                journal.finish(action_id, "incertain", str(exc))
                log.warning("incertain : %s → %s (%s)", action.etape, action.client, exc)
                return Execution(action, "incertain", fichier, f"n° {action_id} : {exc}")
            except DeliveryError as exc:
                journal.fail(action_id, str(exc))
                log.warning("échec : %s → %s (%s)", action.etape, action.client, exc)
                return Execution(action, "echec", "", str(exc))
            refused = getattr(delivery, "refused", [])
            detail = f"adresse(s) refusée(s) : {', '.join(refused)}" if refused else ""
            journal.finish(action_id, delivery.fait, detail)
            log.info("%s : %s → %s (%s)", "envoyé" if delivery.fait == "envoye" else "préparé",
                     action.etape, action.client, fichier)
            return Execution(action, delivery.fait, fichier, detail)
        if action.canal == "courrier":
            # The letter, to print and post.
            return _write_journaled(action, journal, today, now, base, folder / "courriers",
                                    f"-{action.etape}.pdf",
                                    lambda path: write_atomic(path, rendu.pdf))
        if action.canal == "recouvrement" and rendu is not None:
            # The hand-off folder, for the agency.
            return _write_journaled(action, journal, today, now, base, folder / "recouvrement",
                                    "", lambda path: _write_dossier(path, rendu, config, base))
        journal.begin(action, today, now, statut="a_faire")
        return Execution(action, "a_faire")
    except AlreadyDone as exc:
        # Only a concurrent writer could get here: the plan was made from this journal.
        log.warning("%s", exc)
        return Execution(action, "deja_fait", detail=str(exc))


def _write_journaled(action: Action, journal: Journal, today: datetime.date,
                     now: datetime.datetime, base: Path, folder: Path, suffix: str,
                     write: Callable[[Path], None]) -> Execution:
    """Record the action, then write its file (or folder), named after its journal number;
    a failed write frees the step to be done again."""
    def name(action_id: int) -> str:
        return relative(folder / f"{action_id:05d}-{slug(action.client)}{suffix}", base)

    action_id, fichier = journal.begin(action, today, now, fichier=name)
    try:
        write(base / fichier)
    except OSError as exc:
        detail = write_failed(fichier, exc)
        journal.fail(action_id, detail)
        return Execution(action, "echec", fichier, detail)
    journal.finish(action_id, "a_faire")
    return Execution(action, "a_faire", fichier)


def _dossier_written(config: Config, entry: Entree) -> bool:
    """After a crash: a hand-off is done when its chronology, the last file, was written."""
    return bool(entry.fichier) and (config.classeur.parent / entry.fichier /
                                    "chronologie.csv").is_file()


CHRONOLOGIE = ("Date", "Étape", "Canal", "Factures", "Montant", "Destinataire ou interlocuteur",
               "Fichier", "Résultat")


def _write_dossier(folder: Path, rendu: Rendu, config: Config, base: Path) -> None:
    """The hand-off folder: the dossier PDF, the invoice copies, every email and letter sent to
    the client (as kept), and the chronology as a spreadsheet (CSV, `;`, UTF-8)."""
    import csv
    import io
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "dossier-recouvrement.pdf", rendu.pdf)
    for copy in rendu.pieces:
        shutil.copyfile(copy, folder / copy.name)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CHRONOLOGIE)
    for event in rendu.chronologie:
        writer.writerow((event.jour.strftime("%d/%m/%Y"), event.quoi, event.canal,
                         ", ".join(event.factures),
                         formats.nombre(event.montant) if event.montant is not None else "",
                         event.destinataire, event.fichier, event.resultat))
        if event.fichier and (base / event.fichier).is_file():
            shutil.copyfile(base / event.fichier, folder / Path(event.fichier).name)
    write_atomic(folder / "chronologie.csv", ("\ufeff" + out.getvalue()).encode("utf-8"))


