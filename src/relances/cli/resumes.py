"""Command line, the words of a result: the daily summary, the JSON plan, the report and the
import summaries. Pure functions: a result in, text or a JSON object out."""

from __future__ import annotations

import datetime
from pathlib import Path


from .. import formats
from ..cells import quote as cells_quote
from ..config import Config
from ..encaissements import grouped_line, rewritten_lines
from ..pointage import Pointe
from ..records import Action, Anomalie
from ..resultat import Resultat
from ..run import relative
from ..suivi import as_anomalie
from .commun import bank_lines, listed


def columns(rows: list[tuple], right: tuple[int, ...] = ()) -> str:
    """Rows as aligned columns (the last column is never padded)."""
    widths = [max(len(str(row[i])) for row in rows if i < len(row))
              for i in range(max(len(r) for r in rows))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = str(cell)
            if i == len(row) - 1:
                cells.append(text.rjust(widths[i]) if i in right and len(text) <= widths[i]
                             else text)
            else:
                cells.append(text.rjust(widths[i]) if i in right else text.ljust(widths[i]))
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def report_text(t, name: str) -> str:
    m = formats.montant
    lines = [f"Encours clients au {formats.date_courte(t.date)} — {name}", ""]
    dso = f"{formats.nombre(t.dso)} jours" if t.dso is not None else "non calculable"
    lines.append(columns([
        ("Encours (factures ouvertes)", m(t.encours),
         f"{t.factures_ouvertes} facture(s), {t.clients_debiteurs} client(s)"),
        ("dont échu", m(t.echu), ""),
        ("Avoirs ouverts", m(t.avoirs), ""),
        ("DSO sur 90 jours", dso, ""),
        ("En litige", m(t.litiges), f"{t.litiges_nombre} facture(s)"),
        ("Appels à passer", str(t.appels), m(t.appels_montant) if t.appels else ""),
    ], right=(1,)))
    lines.append(f"  ({t.methode_dso})")
    lines += ["", "Balance âgée :"]
    lines.append(columns([(b.libelle, m(b.montant), f"{b.nombre} facture(s)")
                           for b in t.balance], right=(1,)))
    if t.debiteurs:
        lines += ["", "Principaux débiteurs (★ : ceux qui doivent 80 % de l’encours) :"]
        lines.append(columns([("Client", "Dû", "Part", "Cumul")] + [
            (d.client + (" ★" if d.pareto else ""), m(d.montant), formats.pourcent(d.part),
             formats.pourcent(d.cumul)) for d in t.debiteurs[:15]], right=(1, 2, 3)))
        if len(t.debiteurs) > 15:
            lines.append(f"  … et {len(t.debiteurs) - 15} autre(s)")
    if t.par_etape:
        lines += ["", "Montants par étape atteinte :"]
        lines.append(columns([(e.libelle, m(e.montant), f"{e.nombre} facture(s)")
                               for e in t.par_etape], right=(1,)))
    for title, promesses in (("Promesses attendues dans les 7 jours", t.promesses_a_venir),
                             ("Promesses non tenues", t.promesses_non_tenues)):
        lines += ["", f"{title} : {len(promesses) or 'aucune'}"]
        if promesses:
            lines.append(columns([(p.client, m(p.montant), formats.date_courte(p.jour),
                                    ", ".join(p.factures)) for p in promesses], right=(1,)))
    lines += ["", f"Échéanciers en cours : {len(t.echeanciers) or 'aucun'}"]
    if t.echeanciers:
        lines.append(columns([(p.client, p.facture, m(p.reste), f"exigible {m(p.exigible)}")
                               for p in t.echeanciers], right=(2,)))
    if t.extra:
        lines += ["", f"Aujourd’hui : {t.extra.get('actions', 0)} action(s) prévue(s), "
                      f"{t.extra.get('problemes', 0)} problème(s) (détail : relancer.py "
                      "--dry-run)."]
        if t.extra.get("gel"):
            lines.append(f"Rien ne serait envoyé : {t.extra['gel']}.")
    return "\n".join(lines)


def report_json(t) -> dict:
    """The dashboard's figures, English keys like the plan's; amounts as numbers."""
    def promesse(p) -> dict:
        return {"client": p.client, "invoices": list(p.factures), "date": p.jour.isoformat(),
                "amount": float(p.montant)}

    return {
        "date": t.date.isoformat(),
        "receivable": float(t.encours), "overdue": float(t.echu),
        "credit_notes": float(t.avoirs), "open_invoices": t.factures_ouvertes,
        "debtors_count": t.clients_debiteurs,
        "dso_days": float(t.dso) if t.dso is not None else None,
        "dso_method": t.methode_dso, "sales_period": float(t.ventes_periode),
        "aged_balance": [{"bucket": b.libelle, "amount": float(b.montant), "count": b.nombre}
                         for b in t.balance],
        "top_debtors": [{"client": d.client, "amount": float(d.montant),
                         "share": float(d.part), "cumulative_share": float(d.cumul),
                         "pareto": d.pareto, "invoices": d.factures, "overdue": float(d.echu)}
                        for d in t.debiteurs],
        "by_step": [{"step": e.libelle, "amount": float(e.montant), "count": e.nombre}
                    for e in t.par_etape],
        "promises_due": [promesse(p) for p in t.promesses_a_venir],
        "broken_promises": [promesse(p) for p in t.promesses_non_tenues],
        "disputes": {"amount": float(t.litiges), "count": t.litiges_nombre},
        "plans": [{"client": p.client, "invoice": p.facture, "remaining": float(p.reste),
                   "due_now": float(p.exigible),
                   "next": p.prochaine.isoformat() if p.prochaine else None}
                  for p in t.echeanciers],
        "calls": {"count": t.appels, "amount": float(t.appels_montant)},
        "actions_today": t.extra.get("actions", 0),
        "problems": t.extra.get("problemes", 0),
    }


def import_json(pointe: Pointe, today: datetime.date) -> dict:
    """The import as one JSON object, English keys like the plan's."""
    def operation(o) -> dict:
        return {"id": o.cle, "date": o.jour.isoformat(), "amount": float(o.montant),
                "label": o.libelle, "payer": o.contrepartie, "reference": o.reference,
                "file": o.fichier}

    errors = [*pointe.anomalies]
    if pointe.ecriture_erreur:
        errors.append(Anomalie(None, None, pointe.ecriture_erreur))
    return {
        "date": today.isoformat(),
        "dry_run": pointe.dry_run,
        "files": [{"file": r.fichier, "format": r.format, "credits": len(r.operations),
                   "debits": r.debits, "end": r.fin.isoformat() if r.fin else None,
                   "ignored": list(r.ignorees)} for r in pointe.releves],
        "matched": [{**operation(a.operation), "client": a.client,
                     "invoices": list(a.factures), "rule": a.motif, "partial": a.partiel}
                    for a in pointe.affectations],
        "to_review": [{**operation(v.operation), "reason": v.motif,
                       "candidates": [{"client": c.client, "invoice": c.numero,
                                       "remaining": float(c.reste)} for c in v.candidats]}
                      for v in pointe.a_verifier],
        "already_imported": pointe.deja,
        "reversals": pointe.annulations,
        "rewritten": [p.cle for p in pointe.preparation.reecrits],
        "total_matched": float(pointe.total),
        "errors": [{"sheet": a.sheet, "row": a.row, "message": a.message} for a in errors],
    }


def import_summary(pointe: Pointe, config: Config, today: datetime.date) -> str:
    lines = [f"Relevés bancaires du {formats.date_longue(today)} — {config.classeur.name}"]
    for releve in pointe.releves:
        fin = f", jusqu’au {formats.date_courte(releve.fin)}" if releve.fin else ""
        lines.append(f"  {releve.fichier} ({releve.format}) : {len(releve.operations)} crédit(s),"
                     f" {releve.debits} débit(s) laissé(s) de côté{fin}")
        lines.extend(f"    ignoré : {i}" for i in releve.ignorees)
    if pointe.dry_run:
        lines.append("Simulation (--dry-run) : rien n’a été écrit.")
    if pointe.deja:
        lines.append(f"Déjà importées : {pointe.deja} opération(s), laissée(s) telles quelles.")
    if pointe.affectations:
        lines.append("")
        lines.append(f"Paiements reconnus — {len(pointe.affectations)}, total "
                     f"{formats.montant(pointe.total)} :")
        for a in pointe.affectations:
            o = a.operation
            lines.append(f"  - {formats.date_courte(o.jour)} {formats.montant(o.montant)} → "
                         f"{a.client} : {', '.join(a.factures)}"
                         + (" (paiement partiel)" if a.partiel else ""))
            lines.append(f"    {cells_quote(o.libelle or o.contrepartie)} — {a.motif}")
    if pointe.a_verifier:
        lines.append("")
        lines.append(f"À vérifier (feuille À vérifier : écrivez la facture payée, ou "
                     f"« ignorer », dans la colonne Décision) — {len(pointe.a_verifier)} :")
        for v in pointe.a_verifier:
            o = v.operation
            lines.append(f"  - {formats.date_courte(o.jour)} {formats.montant(o.montant)} "
                         f"{cells_quote(o.libelle or o.contrepartie)} : {v.motif}")
            if v.candidats:
                lines.append("    factures possibles : " + ", ".join(
                    f"{c.numero} ({c.client}, reste {formats.montant(c.reste)})"
                    for c in v.candidats))
    if pointe.annulations:
        lines.append("")
        lines.append(f"Paiements annulés par la banque (rejet, retour) — "
                     f"{len(pointe.annulations)} :")
        lines.extend(f"  - {a}" for a in pointe.annulations)
    if not pointe.affectations and not pointe.a_verifier and not pointe.annulations:
        lines.append("")
        lines.append("Aucun nouveau crédit à rapprocher.")
    decisions = pointe.preparation.decisions
    if decisions:
        lines.append("")
        lines.append(f"Décisions prises dans la feuille À vérifier ({len(decisions)}) :")
        lines.extend(f"  - {d}" for d in decisions)
    lines.extend(record_lines(pointe.preparation))
    found = list(pointe.anomalies)
    if pointe.ecriture_erreur:
        found.append(Anomalie(None, None, pointe.ecriture_erreur))
    lines += listed("Problèmes", found)
    lines += listed("Avertissements", [Anomalie(None, None, a.message)
                                        for a in pointe.avertissements])
    if pointe.ecriture is not None and pointe.ecriture.ecrit:
        backup = pointe.ecriture.sauvegarde
        lines.append("")
        lines.append(f"Classeur mis à jour : {config.classeur.name}"
                     + (f" (sauvegarde : {backup.name})" if backup else "")
                     + (f", {pointe.ecriture.paiements} ligne(s) ajoutée(s) à Paiements"
                        if pointe.ecriture.paiements else ""))
    return "\n".join(lines)


def record_lines(preparation) -> list[str]:
    """Imported payments written again into Paiements, and sheet À vérifier grouped."""
    lines = []
    rewritten = rewritten_lines(preparation)
    if rewritten:
        lines.append("")
        lines.append(f"Paiements importés réécrits dans la feuille Paiements ({len(rewritten)}) :")
        lines.extend(f"  - {r}" for r in rewritten)
    grouped = grouped_line(preparation.a_verifier)
    if grouped:
        lines.append("")
        lines.append(grouped)
    return lines


def _first_line(text: str, width: int = 100) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= width else line[:width - 1].rstrip() + "…"


def mailbox_lines(courrier) -> list[str]:
    """What the mailbox ([boite]) brought back since the last run, and what was done with it."""
    if courrier is None or not courrier.lu:
        return []
    lines = ["", f"Boîte aux lettres lue : {len(courrier.nouveaux)} nouveau(x) message(s) "
                 f"({courrier.total} dans le dossier)."]

    def block(title: str, vus: list, describe) -> None:
        if vus:
            lines.append(f"{title} ({len(vus)}) :")
            lines.extend(f"  - {describe(v)}" for v in vus)

    def jour(v) -> str:
        return formats.date_courte(v.retour.jour)

    block("Réponses de clients, ajoutées à Échanges (relances écrites en pause jusqu’à ce que "
          "vous notiez la suite dans Échanges)", courrier.reponses,
          lambda v: f"{v.client}, le {jour(v)}, {v.retour.nom or v.retour.expediteur} : "
                    f"« {_first_line(v.retour.texte)} »")
    block("Messages non remis (corrigez l’adresse : la même étape repartira)", courrier.rebonds,
          lambda v: f"{v.client} : {v.fait} — {v.retour.motif or 'adresse en échec'}"
                    + (f" ({', '.join(v.retour.adresses_en_echec)})"
                       if v.retour.adresses_en_echec else ""))
    block("Réponses automatiques (absence)", courrier.absences,
          lambda v: f"{v.client} : " + (
              f"de retour le {formats.date_courte(v.retour.retour_le)}" if v.retour.retour_le
              else "absent, sans date de retour"))
    block("Messages à regarder vous-même (illisibles, ou rattachés à aucun client)",
          courrier.a_voir,
          lambda v: f"{v.retour.expediteur or 'expéditeur inconnu'}, le {jour(v)}"
                    + (f", « {v.retour.sujet} »" if v.retour.sujet else "") + f" : {v.fait}")
    return lines


def mailbox_warnings(resultat: Resultat) -> list[Anomalie]:
    """A mailbox that could not be read: said (the run went on, unless it is obligatoire)."""
    courrier = resultat.boite
    if courrier is None or not courrier.injoignable or resultat.gel:
        return []
    return [Anomalie(None, None, f"boîte aux lettres non lue : {courrier.injoignable} ; les "
                                 "réponses, messages non remis et absences n’ont pas été pris "
                                 "en compte aujourd’hui")]


def problems(resultat: Resultat, config: Config | None = None) -> list[Anomalie]:
    label = config.libelle if config is not None else str
    found = list(resultat.anomalies)
    for entry in resultat.incertains:
        found.append(Anomalie(None, None, f"{entry.client} : « {label(entry.etape)} » du "
                              f"{formats.date_courte(entry.jour)} peut-être parti, peut-être pas "
                              f"(interrompu pendant l’envoi ; action n° {entry.id}, "
                              f"{entry.fichier or 'pas de fichier'}) — vérifiez dans la boîte "
                              f"d’envoi, puis --confirmer-envoi {entry.id} ou --renvoyer {entry.id}"))
    if resultat.ecriture_erreur:
        found.append(Anomalie(None, None, resultat.ecriture_erreur))
    if resultat.panne:
        found.insert(0, Anomalie(None, None, resultat.panne))
    if resultat.gel:
        found.insert(0, Anomalie(None, None, resultat.gel))
    return found


def plan_json(resultat: Resultat) -> dict:
    """SPEC §6: the plan as one JSON object, with English keys."""
    return {
        "date": resultat.plan.date.isoformat(),
        "actions": [_action_json(action) for action in resultat.plan.actions],
        "errors": [{"sheet": a.sheet, "row": a.row, "message": a.message}
                   for a in problems(resultat)],
        # Not problems, but the user must know: a payment to tell the agency about, invoices
        # long overdue held for a reason.
        "notices": [{"sheet": a.sheet, "row": a.row, "message": a.message}
                    for a in map(as_anomalie, resultat.plan.signalements)],
        # What went out before a fault (disk full, journal unwritable) stopped the run or the
        # write-back: the journal has it, the next run does not send it again.
        "sent": len(resultat.partis),
        "stopped": resultat.panne or None,
        "workbook_error": resultat.ecriture_erreur or None,
    }


def incomplete(resultat: Resultat) -> list[str]:
    """A fault after messages went out: how many, and that nothing will be sent twice."""
    if not (resultat.panne or (resultat.ecriture_erreur and resultat.partis)):
        return []
    lines = ["", f"EXÉCUTION INCOMPLÈTE : {len(resultat.partis)} envoi(s) fait(s) avant "
                 "l’incident (e-mails, courriers), inscrit(s) au journal : la prochaine "
                 "exécution ne les refera pas."]
    if resultat.ecriture_erreur:
        lines.append("Le classeur N’A PAS PU ÊTRE MIS À JOUR : la prochaine exécution le fera "
                     "depuis le journal.")
    return lines


def _action_json(action: Action) -> dict:
    return {
        "client": action.client,
        "invoices": list(action.factures),
        "step": action.etape,
        "channel": action.canal,
        "to": ", ".join(action.destinataires) if action.canal == "email" else None,
        # JSON has no decimal type; two-decimal amounts print exactly through float's repr.
        "amount_due": float(action.montant_du),
        # What the message asks for: credit notes deducted, penalties when the step claims
        # them. The summary, the Journal sheet and the message itself show this figure.
        "amount_claimed": float(action.montant_reclame),
        "label": action.titre,
        "invoice_steps": dict(zip(action.factures, (c.split(":")[0] for c in action.cles))),
        "credit_notes": list(action.avoirs),
        # The last day the message gives the client (inclusive), when it gives one.
        "deadline": action.date_limite.isoformat() if action.date_limite else None,
        "complement": action.complement,
    }


def summary(resultat: Resultat, config: Config) -> str:
    plan = resultat.plan
    lines = [f"Relances du {formats.date_longue(plan.date)} — {config.classeur.name}",
             f"{len(resultat.classeur.factures)} facture(s) lue(s), "
             f"{len(plan.actions)} action(s) aujourd’hui."]
    if resultat.apercu_dossier:
        lines.append(f"Aperçu : {len(resultat.apercu)} fichier(s) écrit(s) dans "
                     f"{resultat.apercu_dossier} ; rien n’a été envoyé, ni noté au journal, "
                     "ni écrit dans le classeur.")
        lines.extend(f"  {path.name}" for path in resultat.apercu)
    elif resultat.dry_run:
        lines.append("Simulation (--dry-run) : rien n’a été envoyé ni écrit.")
    files = {id(e.action): e for e in resultat.executions}

    def block(title: str, actions: list[Action], describe) -> None:
        if actions:
            lines.append("")
            # « E-mails préparés (à envoyer depuis votre messagerie) — 5 : » rather than
            # two parentheses in a row.
            count = f" — {len(actions)}" if title.endswith(")") else f" ({len(actions)})"
            lines.append(f"{title}{count} :")
            for action in actions:
                lines.extend("  " + line for line in describe(action))

    def detail(action: Action) -> list[str]:
        execution = files.get(id(action))
        if execution and execution.statut == "echec":
            return [f"  ÉCHEC : {execution.detail}"]
        if not execution or not execution.fichier:
            return []
        # Shown from where the command was typed: `exemple/sortie/…` when run from the project.
        return [f"  {relative(config.classeur.parent / execution.fichier, Path.cwd())}"]

    def message(action: Action) -> list[str]:
        to = ", ".join(action.destinataires)
        titre = action.titre + (f" (complément n° {action.complement})"
                                if action.complement else "")
        head = f"- {titre} → {action.client}" + (f" <{to}>" if to else "")
        lines = [f"{head} : {', '.join(action.factures)} — "
                 f"{formats.montant(action.montant_reclame)}"]
        if action.autres:
            lines.append(f"  dont {', '.join(action.autres)} à une étape antérieure "
                         "(« Sont également échues »)")
        if action.avoirs:
            lines.append(f"  avoir(s) {', '.join(action.avoirs)} déduit(s)")
        return [*lines, *detail(action)]

    by_canal = {canal: [a for a in plan.actions if a.canal == canal]
                for canal in ("email", "courrier", "appel", "recouvrement")}
    if resultat.dry_run or resultat.apercu_dossier:
        title = "E-mails à envoyer"
    elif config.envoi.mode == "smtp":
        title = "E-mails envoyés"
    else:  # dossier mode: nothing left, the user sends them
        title = "E-mails préparés (à envoyer depuis votre messagerie)"
    if resultat.apercu_dossier:
        files = {}
    block(title, by_canal["email"], message)
    block("Courriers à imprimer et poster", by_canal["courrier"], message)
    if resultat.impression:
        lines.append(f"  Tous les courriers du jour en un seul fichier : "
                     f"{relative(resultat.impression, Path.cwd())}")
    appels = [a for a in resultat.appels if not a.agence]
    if appels:
        lines.append("")
        lines.append(f"Appels à passer, du plus gros montant dû au plus petit "
                     f"({len(appels)}) :")
        for appel in appels:
            who = ", ".join(x for x in (appel.contact, appel.telephone) if x)
            mark = " [80 %]" if appel.pareto and len(appels) > 1 else ""
            lines.append(f"  - {appel.client}" + (f" ({who})" if who else "") +
                         f" : {formats.montant(appel.montant_du)} — "
                         f"{', '.join(appel.factures)}{mark}")
            lines.append(f"    depuis le {formats.date_courte(appel.depuis)} ({appel.motif}) ; "
                         f"à demander : {appel.a_demander}")
    agence = [a for a in resultat.appels if a.agence]
    if agence:
        lines.append("")
        lines.append(f"Chez l’agence de recouvrement, ne pas appeler ({len(agence)}) :")
        lines.extend(f"  - {a.client} : {formats.montant(a.montant_du)} — "
                     f"{', '.join(a.factures)} ({a.motif})" for a in agence)
    if resultat.litiges:
        lines.append("")
        lines.append(f"Litiges en cours, à ne pas laisser durer ({len(resultat.litiges)}) :")
        for litige in resultat.litiges:
            since = (f"depuis le {formats.date_courte(litige.depuis)}" if litige.depuis
                     else "depuis l’échéance")
            lines.append(f"  - {litige.client}, {litige.facture} : "
                         f"{formats.montant(litige.reste_du)}, {since} ({litige.jours} jours, "
                         f"{litige.source})")
    block("Dossiers à transmettre au recouvrement", by_canal["recouvrement"], message)
    lines += incomplete(resultat)
    if resultat.gel:
        lines.append("")
        lines.append("RIEN N’A ÉTÉ ENVOYÉ : " + resultat.gel + ".")
    elif not plan.actions:
        lines.append("")
        lines.append("Rien à faire aujourd’hui.")
    lines.extend(bank_lines(resultat.preparation))
    lines.extend(record_lines(resultat.preparation))
    lines.extend(mailbox_lines(resultat.boite))
    lines += listed("À signaler", [as_anomalie(s) for s in plan.signalements],
                     config.classeur.name)
    lines += listed("Problèmes", problems(resultat, config), config.classeur.name)
    lines += listed("Avertissements", [*mailbox_warnings(resultat), *resultat.avertissements],
                    config.classeur.name)
    if resultat.ecriture and resultat.ecriture.ecrit:
        backup = resultat.ecriture.sauvegarde
        lines.append("")
        lines.append(f"Classeur mis à jour : {config.classeur.name}"
                     + (f" (sauvegarde : {backup.name})" if backup else ""))
    elif resultat.ecriture:
        lines.append("")
        lines.append(f"Classeur déjà à jour : {config.classeur.name} n’a pas été réécrit.")
    return "\n".join(lines)

