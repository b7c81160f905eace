"""The one-page PDF report: the dashboard's figures and its two charts, to send to an
accountant or a banker. Charts are drawn by matplotlib as SVG (text as paths: the same on every
machine), the page by a Typst template (`rapport.typ`, overridable in your lettres/ folder),
like the letters: the figures go to it as data, already written out in French."""

from __future__ import annotations

import io
from decimal import Decimal

from .. import formats
from ..typographie import compose
from .indicateurs import Tableau

BLUE, ORANGE = "#305496", "#ED7D31"


def render_pdf(tableau: Tableau, config, nom: str = "") -> bytes:
    from ..lettre import Imprimeur, lettre

    t, montant = tableau, formats.montant
    somme = lambda items, attr: montant(sum((getattr(i, attr) for i in items),  # noqa: E731
                                            Decimal("0")))
    donnees = {
        "nom": nom or config.entreprise.nom,
        "date": formats.date_longue(t.date), "date_courte": formats.date_courte(t.date),
        "factures_ouvertes": str(t.factures_ouvertes),
        "clients_debiteurs": str(t.clients_debiteurs),
        "chiffres": [
            {"libelle": "Encours", "valeur": montant(t.encours)},
            {"libelle": "Dont échu", "valeur": montant(t.echu)},
            {"libelle": "DSO (90 jours)", "valeur": f"{formats.nombre(t.dso)} jours"
             if t.dso is not None else "non calculable"},
            {"libelle": "En litige", "valeur": montant(t.litiges)},
            {"libelle": "Avoirs ouverts", "valeur": montant(t.avoirs)}],
        "methode_dso": t.methode_dso,
        "balance_lignes": [[r.libelle, montant(r.montant), str(r.nombre)] for r in t.balance],
        "etapes": [[r.libelle, montant(r.montant), str(r.nombre)] for r in t.par_etape],
        "debiteurs": [[d.client, montant(d.montant), formats.pourcent(d.part),
                       formats.pourcent(d.cumul)] for d in t.debiteurs[:10]],
        "pareto_lignes": [i for i, d in enumerate(t.debiteurs[:10]) if d.pareto],
        "nombre_debiteurs": str(len(t.debiteurs)),
        "promesses": [
            ["Promesses attendues sous 7 jours", str(len(t.promesses_a_venir)),
             somme(t.promesses_a_venir, "montant")],
            ["Promesses non tenues", str(len(t.promesses_non_tenues)),
             somme(t.promesses_non_tenues, "montant")],
            ["Litiges en cours", str(t.litiges_nombre), montant(t.litiges)],
            ["Échéanciers en cours", str(len(t.echeanciers)), somme(t.echeanciers, "reste")],
            ["Appels à passer", str(t.appels), montant(t.appels_montant)]],
    }
    donnees = _composed(donnees)
    donnees["balance"] = _balance_svg(tableau).decode("utf-8")
    donnees["pareto"] = _pareto_svg(tableau).decode("utf-8") if tableau.debiteurs else ""
    return Imprimeur(config.lettres).pdf(lettre("rapport.typ", "fr", donnees, date=t.date))


def _composed(value):
    """French typography on every string (the charts stay as drawn)."""
    if isinstance(value, str):
        return compose(value, "fr")
    if isinstance(value, dict):
        return {k: _composed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_composed(v) for v in value]
    return value


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter

    pyplot.rcParams.update({"svg.fonttype": "path", "font.size": 8,
                            "axes.spines.top": False, "axes.spines.right": False})
    figure, axes = pyplot.subplots(figsize=(width, height))
    axes.yaxis.set_major_formatter(FuncFormatter(
        lambda value, _: formats.montant_arrondi(Decimal(int(value)))))
    return pyplot, figure, axes


def _save(pyplot, figure) -> bytes:
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="svg", metadata={"Date": None})
    pyplot.close(figure)
    return out.getvalue()


def _balance_svg(tableau: Tableau) -> bytes:
    pyplot, figure, axes = _figure(4.4, 2.6)
    labels = [t.libelle.replace(" jours", "\njours") for t in tableau.balance]
    axes.bar(labels, [float(t.montant) for t in tableau.balance], color=BLUE)
    axes.set_title("Balance âgée", fontsize=9, fontweight="bold")
    axes.tick_params(axis="x", labelsize=7)
    return _save(pyplot, figure)


def _pareto_svg(tableau: Tableau, limit: int = 10) -> bytes:
    from matplotlib.ticker import FuncFormatter

    pyplot, figure, axes = _figure(4.4, 2.6)
    debiteurs = tableau.debiteurs[:limit]
    names = [d.client if len(d.client) <= 14 else d.client[:13] + "…" for d in debiteurs]
    axes.bar(names, [float(d.montant) for d in debiteurs],
             color=[BLUE if d.pareto else "#9DB0D6" for d in debiteurs])
    axes.tick_params(axis="x", labelsize=6, rotation=45)
    for label in axes.get_xticklabels():
        label.set_horizontalalignment("right")
    line = axes.twinx()
    line.plot(names, [float(d.cumul) for d in debiteurs], color=ORANGE, marker="o",
              markersize=3)
    line.set_ylim(0, 105)
    line.axhline(80, color=ORANGE, linewidth=0.6, linestyle="--")
    line.yaxis.set_major_formatter(FuncFormatter(
        lambda value, _: formats.pourcent(Decimal(int(value)))))
    line.spines["top"].set_visible(False)
    axes.set_title("Débiteurs : montant dû et part cumulée", fontsize=9, fontweight="bold")
    return _save(pyplot, figure)
