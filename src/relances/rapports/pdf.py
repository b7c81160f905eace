"""The one-page PDF report: the dashboard's figures and its two charts, to send to an
accountant or a banker. Charts are drawn by matplotlib as SVG (text as paths: the same on every
machine), the page by a Jinja2 template (`rapport.html`, overridable in your lettres/ folder)
and WeasyPrint, like the letters."""

from __future__ import annotations

import base64
import io
from decimal import Decimal

from .. import formats
from ..typographie import compose
from .indicateurs import Tableau

BLUE, ORANGE = "#305496", "#ED7D31"


def render_pdf(tableau: Tableau, config, nom: str = "") -> bytes:
    from markupsafe import Markup

    from ..lettre import Imprimeur
    from ..render import fonts_folder, make_environment

    env = make_environment(config.lettres)
    env.filters.update(montant_arrondi=formats.montant_arrondi, pourcent=formats.pourcent)
    html = env.get_template("rapport.html").render(
        t=tableau, nom=nom or config.entreprise.nom, entreprise=config.entreprise,
        polices=fonts_folder(config.lettres).as_uri(),
        balance=Markup(_data_uri(_balance_svg(tableau))),
        pareto=Markup(_data_uri(_pareto_svg(tableau))) if tableau.debiteurs else "")
    return Imprimeur(config.lettres).pdf(compose(html, "fr", html=True), "rapport.html")


def _data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


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
