"""Sheet « Tableau de bord »: the dashboard's figures laid out in cells, and its two charts
(aged balance, Pareto of debtors), independent of the file format. xlsx/tableau.py turns the
layout into the worksheet, drawing and chart parts."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import formats
from .indicateurs import Tableau

TABLEAU_DE_BORD = "Tableau de bord"
DEBITEURS_MAX = 15  # debtors listed (and charted)
LARGEURS = (34, 16, 12, 12, 14, 3, 28, 16, 12)


@dataclass(frozen=True)
class Cellule:
    valeur: object
    genre: str = ""  # titre | entete | gras | euro | pourcent | date | note | ""


@dataclass(frozen=True)
class Graphique:
    """A chart of the sheet: `kind` barres (aged balance) or pareto (bars + cumulative line).
    Ranges are (first row, last row) in `colonne` (categories) and the value columns; `place`
    is (first column, first row, last column, last row) of its frame, 1-based."""

    kind: str
    titre: str
    lignes: tuple[int, int]
    categories: int
    valeurs: int
    cumul: int | None
    place: tuple[int, int, int, int]
    etiquettes: tuple[str, ...] = ()
    nombres: tuple[float, ...] = ()
    cumuls: tuple[float, ...] = ()


@dataclass
class Feuille:
    lignes: list[list[Cellule | None]] = field(default_factory=list)
    graphiques: list[Graphique] = field(default_factory=list)
    largeurs: tuple[float, ...] = LARGEURS

    def add(self, *cells) -> int:
        """Append a row; returns its 1-based row number."""
        self.lignes.append([c if isinstance(c, Cellule) or c is None else Cellule(c)
                            for c in cells])
        return len(self.lignes)

    def blank(self) -> None:
        self.lignes.append([])


def layout(tableau: Tableau, nom: str = "") -> Feuille:
    """The dashboard sheet: key figures, aged balance, debtors (Pareto), steps, promises,
    disputes, plans and calls, each block titled, charts beside the first two tables."""
    f = Feuille()
    euro, pct = "euro", "pourcent"
    f.add(Cellule(f"Tableau de bord{' — ' + nom if nom else ''} au "
                  f"{formats.date_courte(tableau.date)}", "titre"))
    f.add(Cellule("Recalculé à chaque exécution de relances : ne rien saisir sur cette "
                  "feuille.", "note"))
    f.blank()
    f.add(Cellule("Chiffres clés", "entete"), Cellule("", "entete"))
    f.add("Encours clients (factures ouvertes)", Cellule(tableau.encours, euro))
    f.add("dont échu", Cellule(tableau.echu, euro))
    f.add("Avoirs ouverts (à déduire)", Cellule(tableau.avoirs, euro))
    f.add("Factures ouvertes", tableau.factures_ouvertes)
    f.add("Clients débiteurs", tableau.clients_debiteurs)
    f.add(f"DSO sur {90} jours (jours)",
          Cellule(tableau.dso if tableau.dso is not None else "non calculable", "gras"))
    f.add(Cellule(tableau.methode_dso, "note"))
    f.add("En litige", Cellule(tableau.litiges, euro))
    f.add("Appels à passer", tableau.appels)
    f.blank()

    f.add(Cellule("Balance âgée", "entete"), Cellule("Montant", "entete"),
          Cellule("Factures", "entete"))
    first = len(f.lignes) + 1
    for tranche in tableau.balance:
        f.add(tranche.libelle, Cellule(tranche.montant, euro), tranche.nombre)
    last = len(f.lignes)
    f.graphiques.append(Graphique(
        "barres", "Balance âgée (€)", (first, last), 1, 2, None, (7, 4, 10, 19),
        tuple(t.libelle for t in tableau.balance),
        tuple(float(t.montant) for t in tableau.balance)))
    f.blank()

    f.add(Cellule("Principaux débiteurs", "entete"), Cellule("Montant dû", "entete"),
          Cellule("Part", "entete"), Cellule("Cumul", "entete"), Cellule("dont échu", "entete"))
    debiteurs = tableau.debiteurs[:DEBITEURS_MAX]
    first = len(f.lignes) + 1
    for d in debiteurs:
        f.add(Cellule(d.client + ("  ★" if d.pareto else ""), "gras" if d.pareto else ""),
              Cellule(d.montant, euro), Cellule(d.part, pct), Cellule(d.cumul, pct),
              Cellule(d.echu, euro))
    last = len(f.lignes)
    if debiteurs:
        f.graphiques.append(Graphique(
            "pareto", "Débiteurs : montant dû et part cumulée", (first, last), 1, 2, 4,
            (7, 21, 10, 38), tuple(d.client for d in debiteurs),
            tuple(float(d.montant) for d in debiteurs), tuple(float(d.cumul) for d in debiteurs)))
    pareto = [d for d in tableau.debiteurs if d.pareto]
    if pareto:
        f.add(Cellule(f"★ {len(pareto)} client(s) sur {len(tableau.debiteurs)} doivent 80 % "
                      "de l’encours : commencez par eux.", "note"))
    if len(tableau.debiteurs) > DEBITEURS_MAX:
        f.add(Cellule(f"… et {len(tableau.debiteurs) - DEBITEURS_MAX} autre(s) client(s).",
                      "note"))
    f.blank()

    f.add(Cellule("Montants par étape atteinte", "entete"), Cellule("Montant", "entete"),
          Cellule("Factures", "entete"))
    for etape in tableau.par_etape:
        f.add(etape.libelle, Cellule(etape.montant, euro), etape.nombre)
    f.blank()

    f.add(Cellule("Promesses attendues dans les 7 jours", "entete"), Cellule("Montant", "entete"),
          Cellule("Le", "entete"), Cellule("Factures", "entete"))
    for p in tableau.promesses_a_venir:
        f.add(p.client, Cellule(p.montant, euro), Cellule(p.jour, "date"), ", ".join(p.factures))
    if not tableau.promesses_a_venir:
        f.add(Cellule("Aucune.", "note"))
    f.blank()
    f.add(Cellule("Promesses non tenues", "entete"), Cellule("Montant", "entete"),
          Cellule("Promis le", "entete"), Cellule("Factures", "entete"))
    for p in tableau.promesses_non_tenues:
        f.add(p.client, Cellule(p.montant, euro), Cellule(p.jour, "date"), ", ".join(p.factures))
    if not tableau.promesses_non_tenues:
        f.add(Cellule("Aucune.", "note"))
    f.blank()

    f.add(Cellule("Échéanciers en cours", "entete"), Cellule("Reste dû", "entete"),
          Cellule("Exigible", "entete"), Cellule("Prochaine", "entete"),
          Cellule("Facture", "entete"))
    for plan in tableau.echeanciers:
        f.add(plan.client, Cellule(plan.reste, euro), Cellule(plan.exigible, euro),
              Cellule(plan.prochaine, "date"), plan.facture)
    if not tableau.echeanciers:
        f.add(Cellule("Aucun.", "note"))
    return f
