"""`importer.py`: the user's e-invoices (Factur-X, UBL, CII) into sheets Factures and Clients."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import click

from .. import formats
from ..config import Config
from ..importation import BilanImport, importer as importer_factures
from .commun import common_options, run_command, run_import

INCONNUS_MONTRES = 20  # unknown invoice numbers listed in the summary (all in --json)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("chemins", metavar="FICHIER_OU_DOSSIER…", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@common_options
@click.option("--dry-run", is_flag=True,
              help="Simulation : montrer ce qui serait importé, sans rien écrire.")
@click.option("--json", "as_json", is_flag=True,
              help="Écrire le résultat en JSON sur la sortie standard, et rien d’autre.")
def importer(chemins: tuple[Path, ...], config_path: Path, classeur: Path | None,
             date_: datetime.date | None, dry_run: bool, as_json: bool) -> None:
    """Importe vos factures électroniques (Factur-X, UBL, CII) dans la feuille Factures.

    Chaque facture ou avoir émis par vous devient une ligne de Factures (client, n°, dates,
    montant TTC, PDF) ; un client inconnu est ajouté à la feuille Clients. Une facture déjà
    importée ne l’est jamais deux fois ; un dossier est parcouru (fichiers .pdf et .xml).
    """
    run_import(config_path, classeur, date_, dry_run, as_json, "factures électroniques",
               chemins,
               lambda config, fichiers, today, now: importer_factures(config, fichiers, today,
                                                                      now, dry_run=dry_run),
               lambda bilan, today: bilan_json(bilan),
               lambda bilan, config, today: bilan_texte(bilan, config),
               lambda bilan: (f"{len(bilan.ajoutees)} facture(s) ajoutée(s), "
                              f"{len(bilan.clients)} client(s) ajouté(s), "
                              f"{len(bilan.ecartees)} non importée(s)"))


def bilan_texte(bilan: BilanImport, config: Config) -> str:
    """The summary of an import, file by file, then its totals and what to look at."""
    head = "Import des factures électroniques" + (" (simulation : rien n’a été écrit)"
                                                  if bilan.dry_run else "")
    lines = [f"{head} :"]
    par_fichier: dict[str, list[str]] = {}
    for fichier, quoi in bilan.fichiers:
        par_fichier.setdefault(fichier, []).append(quoi)
    for fichier, quoi in par_fichier.items():
        lines.append(f"  {Path(fichier).name} :")
        lines.extend(f"    - {q}" for q in quoi)
    if not par_fichier:
        lines.append("  aucun fichier lu")
    verbe = "à ajouter" if bilan.dry_run else "ajoutées"
    total = sum((a.montant for a in bilan.ajoutees), Decimal("0.00"))
    lines += ["", f"Factures {verbe} : {len(bilan.ajoutees)}"
              + (f" ({formats.montant(total)})" if bilan.ajoutees else "")]
    lines.append(f"Clients {'à ajouter' if bilan.dry_run else 'ajoutés'} : {len(bilan.clients)}"
                 + (f" ({', '.join(bilan.clients)})" if bilan.clients else ""))
    lines.append(f"Déjà importées ou déjà dans le classeur : {len(bilan.deja)}")
    lines.append(f"Fichiers ignorés (ni facture électronique ni statuts) : {len(bilan.ignores)}")
    if bilan.ecartees:
        lines += ["", f"Non importées ({len(bilan.ecartees)}) :"]
        lines.extend(f"  - {e.fichier} : {e.motif}" for e in bilan.ecartees)
    if bilan.remarques:
        lines += ["", f"À savoir ({len(bilan.remarques)}) :"]
        lines.extend(f"  - {r}" for r in bilan.remarques)
    statuts = bilan.statuts
    if statuts is not None:
        lines += ["", f"Statuts de la plateforme : {statuts.lus} lu(s), {statuts.appliques} "
                  f"{'à prendre en compte' if bilan.dry_run else 'pris en compte'}"]
        if statuts.inconnus:
            inconnus = statuts.inconnus
            lines.append(f"  factures absentes du classeur ({len(inconnus)}) : "
                         f"{', '.join(inconnus[:INCONNUS_MONTRES])}"
                         + (f" et {len(inconnus) - INCONNUS_MONTRES} autre(s)"
                            if len(inconnus) > INCONNUS_MONTRES else ""))
        lines.extend(f"  - {_situe(a)}" for a in statuts.anomalies)
        if statuts.ecriture_erreur:
            lines.append(f"  classeur non mis à jour : {statuts.ecriture_erreur}")
    if bilan.ecriture_erreur:
        lines += ["", f"Classeur non modifié : {bilan.ecriture_erreur}"]
    elif bilan.ecriture is not None and getattr(bilan.ecriture, "sauvegarde", None):
        lines += ["", f"{config.classeur.name} mis à jour (sauvegarde : "
                  f"{bilan.ecriture.sauvegarde.name})."]
    return "\n".join(lines)


def _situe(anomalie) -> str:
    """A problem with the file (or sheet) and row it was found at: « statuts.csv, ligne 12 : … »."""
    if not anomalie.sheet:
        return anomalie.message
    ligne = f", ligne {anomalie.row}" if anomalie.row is not None else ""
    return f"{anomalie.sheet}{ligne} : {anomalie.message}"


def bilan_json(bilan: BilanImport) -> dict:
    """The import for --json (English keys, as SPEC's machine interfaces)."""
    return {
        "dry_run": bilan.dry_run,
        "files": [{"file": fichier, "result": quoi} for fichier, quoi in bilan.fichiers],
        "invoices_added": [{"file": a.fichier, "number": a.numero, "client": a.client,
                            "amount": str(a.montant), "invoice_date": a.date.isoformat(),
                            "due_date": a.echeance.isoformat(), "pdf": a.pdf,
                            "new_client": a.nouveau_client} for a in bilan.ajoutees],
        "clients_added": list(bilan.clients),
        "skipped": [{"file": e.fichier, "reason": e.motif} for e in bilan.ecartees],
        "already_imported": [{"file": e.fichier, "reason": e.motif} for e in bilan.deja],
        "ignored": list(bilan.ignores),
        "notes": list(bilan.remarques),
        **({"write_error": bilan.ecriture_erreur} if bilan.ecriture_erreur else {}),
        **({"statuses": {"read": bilan.statuts.lus, "applied": bilan.statuts.appliques,
                         "unknown_invoices": list(bilan.statuts.inconnus),
                         "problems": [_situe(a) for a in bilan.statuts.anomalies]}}
           if bilan.statuts is not None else {}),
    }


def avant_la_relance(config: Config, fichiers: tuple[Path, ...], today: datetime.date,
                     now: datetime.datetime, dry_run: bool) -> BilanImport | None:
    """relancer.py --importer, and [factures] import_automatique: the e-invoices imported
    before the run (None when there is none to read)."""
    from ..importation import nouveaux_fichiers

    chemins = list(fichiers)
    if config.factures_import_automatique:
        chemins += nouveaux_fichiers(config)
    if not chemins:
        return None
    return importer_factures(config, chemins, today, now, dry_run=dry_run)


def main_importer() -> None:
    """scripts/importer.py."""
    run_command(importer, "importer.py")
