"""Words of the workbook's tool cells: Étape, Relances envoyées, Prochaine action. Rendering.

The decision core says where each invoice stands as data (`policy.situations`); this module
puts it into the French the workbook shows. The Étape cell tells only what happened: a call
appears once an exchange recorded it, dated that day, never the day it was planned.
"""

from __future__ import annotations

import datetime
from typing import Iterable

from .compte import Livre, tenir
from .config import Config
from .formats import date_courte
from .formats import montant as montant_text
from .policy import Motif, Situation, situations, usable_emails
from .records import STATUTS, ZERO, Anomalie, Classeur, Echange, Fait, Signalement, Suivi, client_key


def motif_text(motif: Motif) -> str:
    """Why nothing is due, in words."""
    code, jour = motif.code, motif.jour
    if code == "avoir":
        return "aucune (avoir)"
    if code == "payee":
        return "aucune (payée)"
    if code == "encaissee":
        return f"aucune : encaissée le {date_courte(jour)} (plateforme)"
    if code == "statut_illisible":
        return (f"aucune : statut de la plateforme illisible ({motif.detail}) ; corrigez "
                "l’export et importez-le de nouveau")
    if code in ("refusee", "rejetee", "suspendue"):
        motif_donne = f" (motif : {motif.detail})" if motif.detail else ""
        if code == "suspendue":
            return (f"aucune : suspendue sur la plateforme depuis le {date_courte(jour)}"
                    f"{motif_donne}")
        qui = "refusée par le client" if code == "refusee" else "rejetée par la plateforme"
        return f"{qui} le {date_courte(jour)}{motif_donne} : à régulariser (avoir ?)"
    if code == "soldee_avoir":
        return f"aucune : soldée (avoir {motif.detail} imputé)"
    if code == "statut":
        return f"aucune (statut {STATUTS.get(motif.detail, motif.detail)})"
    if code in ("litige", "bloque"):
        return f"aucune : {motif.detail}"
    if code == "agence":
        return f"aucune : facture transmise au recouvrement le {date_courte(jour)}"
    if code == "echeancier":
        return (f"échéancier respecté : prochaine échéance le {date_courte(jour)} "
                f"({montant_text(motif.montant)})")
    if code == "pause_illisible":
        return "aucune (pause client illisible)"
    if code == "pause":
        return f"aucune : client en pause jusqu’au {date_courte(jour)}"
    if code == "crediteur":
        return "aucune (solde du client créditeur)"
    if code == "promesse":
        return f"attente du paiement promis le {date_courte(jour)}"
    if code == "annonce":
        until = datetime.date.fromisoformat(motif.detail)
        return (f"paiement annoncé le {date_courte(jour)} : relances écrites suspendues "
                f"jusqu’au {date_courte(until)}")
    if code == "reponse" and motif.detail:
        return (f"message illisible de {motif.detail} reçu le {date_courte(jour)} : à lire "
                "dans la boîte, puis à noter dans Échanges")
    if code == "reponse":
        return f"réponse reçue le {date_courte(jour)} : à lire, puis à noter dans Échanges"
    if code == "absence":
        return f"absent jusqu’au {date_courte(jour)} (réponse automatique)"
    if code == "fin":
        return f"aucune : dernière étape ({motif.detail}) faite le {date_courte(jour)}"
    return "aucune (aucune étape applicable)"


def signalement_text(signalement: Signalement) -> str:
    """A notice of the plan, in words."""
    s = signalement
    if s.code == "agence_a_prevenir":
        return (f"{s.client} : {s.facture}, confiée à l’agence de recouvrement, est soldée : "
                "prévenez l’agence (aucun remerciement n’est envoyé au débiteur)")
    if s.code == "plateforme_a_regulariser":
        return f"{s.client} : {s.facture} {motif_text(s.motif)}"
    why = (motif_text(s.motif) if s.motif is not None
           else f"prochaine étape, {s.etape}, le {date_courte(s.jour)}")
    return (f"{s.client} : {s.facture}, {s.jours} jours de retard, n’est pas chez l’agence : "
            f"{why}")


def as_anomalie(signalement: Signalement) -> Anomalie:
    """A notice as the summary, the digest and the JSON plan list it (sheet, row, message)."""
    return Anomalie("Factures", signalement.row, signalement_text(signalement))


def follow_up(classeur: Classeur, history: Iterable[Fait], today: datetime.date,
              config: Config, livre: Livre | None = None) -> dict[str, Suivi]:
    """The tool-owned cells of every invoice, by invoice number, from the journal (including
    today's actions) and the client account."""
    history = list(history)
    livre = livre or tenir(classeur, history, today, config)
    by_facture: dict[tuple[str, str], list[Fait]] = {}
    for fait in history:
        by_facture.setdefault((client_key(fait.client), fait.facture), []).append(fait)
    echanges: dict[str, list[Echange]] = {}
    for echange in livre.classeur.echanges:
        echanges.setdefault(client_key(echange.client), []).append(echange)
    suivis: dict[str, Suivi] = {}
    for situation in situations(classeur, history, today, config, livre):
        facture, client = situation.facture, situation.client
        faits = by_facture.get((client_key(facture.client), facture.numero), [])
        messages = [f for f in faits if f.canal in ("email", "courrier")]
        done = _what_happened(faits, echanges.get(client_key(facture.client), []))
        etapes = config.etapes_of(client.profil)
        names = [e.nom for e in etapes]
        latest = max(done, key=lambda fj: (fj[1], names.index(fj[0].etape)
                                           if fj[0].etape in names else -1), default=None)
        texte, jour = _describe(situation, today, config)
        motif = situation.suivant.motif
        encaissee = motif is not None and motif.code == "encaissee"
        suivis[facture.numero] = Suivi(
            etape=(f"{_label_of(latest[0], config, client.profil)} ({date_courte(latest[1])})"
                   if latest else ""),
            relances_envoyees=len({(f.jour, f.etape) for f in messages}),
            derniere_relance=max((f.jour for f in messages), default=None),
            prochaine_action=texte,
            date_prochaine_action=jour,
            # (encaissée on the platform: paid for the account, Payé left as the user typed it)
            reste_du=ZERO if encaissee else facture.reste_du,
            jours_retard=(max(facture.jours_retard(today), 0)
                          if facture.reste_du > 0 and not encaissee else None),
        )
    return suivis


def _what_happened(faits: list[Fait], echanges: list[Echange]
                   ) -> list[tuple[Fait, datetime.date]]:
    """Each fact that is history, with the day it happened: a call only once an exchange
    recorded it (its day), never while it is a task, never the day it was planned."""
    found = []
    for fait in faits:
        if fait.canal != "appel" or fait.statut == "repris":
            found.append((fait, fait.jour))
            continue
        if fait.statut != "fait":
            continue
        made = [e.jour for e in echanges if e.jour >= fait.jour]
        if made:
            found.append((fait, min(made)))
    return found


def _label_of(fait: Fait, config: Config, profil: str = "") -> str:
    """« Premier rappel » for a step; « Promesse non tenue » for the reminder of a promise."""
    etape = config.etape(fait.etape, profil)
    return etape.titre if etape else config.libelle(fait.etape)


def _describe(situation: Situation, today: datetime.date, config: Config
              ) -> tuple[str, datetime.date | None]:
    """Prochaine action's text and date (None when nothing is planned)."""
    step, facture, client = situation.suivant, situation.facture, situation.client
    if step.etape is None:
        return motif_text(step.motif), None
    titre = step.etape.titre
    day = step.date
    if situation.plancher_message and situation.plancher_message > day:
        day = situation.plancher_message
    if day > today:
        # Announced on a business day: a run on a closed day does not count on anyone.
        day = config.calendrier.prochain_ouvre(day)
        return f"{titre} le {date_courte(day)}", day
    if step.etape.canal == "email" and not usable_emails(facture.emails, client,
                                                         situation.echec)[0]:
        return f"{titre} bloqué : adresse e-mail manquante ou invalide", today
    if step.etape.canal == "courrier" and not client.adresse.strip():
        return f"{titre} bloqué : adresse postale manquante", today
    return f"{titre} à faire (depuis le {date_courte(day)})", today
