"""Sheet « Tableau de bord » as package parts: the worksheet, its drawing and its native charts
(DrawingML), written by hand the way Excel writes them, with their cached values so that Excel
and LibreOffice show them without recalculating.

The parts keep their names from one run to the next (read back from the relationships), so
that a run with the same figures changes no byte and the workbook is not rewritten.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from ..records import normalise
from ..rapports.feuille import Feuille, Graphique
from .colonnes import DATE_FORMAT, EURO_FORMAT
from .package import MAIN_NS, REL_NS, WORKSHEET_CT, Package, rels_name, xml_attr, xml_text
from .sheet import EXCEL_EPOCH, EXCEL_EPOCH_1904, column_letter, encode_cell
from .styles import Styles

DRAWING_REL = REL_NS + "/drawing"
CHART_REL = REL_NS + "/chart"
DRAWING_CT = "application/vnd.openxmlformats-officedocument.drawing+xml"
CHART_CT = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
XDR_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
PERCENT_FORMAT = '0.0" %"'
BLUE, ORANGE = "305496", "ED7D31"


def write_dashboard(package: Package, styles: Styles, name: str, feuille: Feuille,
                    date1904: bool, add_sheet) -> None:
    """Write the dashboard sheet and its charts; `add_sheet(package, part, name)` lists a new
    sheet in the workbook (ecriture's own helper)."""
    existing = package.sheet(name, normalise)
    if existing is not None:
        part = existing.part
    else:
        part = package.new_part_name("xl/worksheets/sheet{n}.xml")
    # Parts already there keep their names: same figures, same bytes.
    old_rels = package.rels(part) if existing is not None else {}
    drawing = next((t for kind, t in old_rels.values() if kind == DRAWING_REL and t), None)
    old_charts = []
    if drawing is not None:
        old_charts = sorted(t for kind, t in package.rels(drawing).values()
                            if kind == CHART_REL and t)
    charts: list[str] = []
    for index in range(len(feuille.graphiques)):
        if index < len(old_charts):
            charts.append(old_charts[index])
        else:
            charts.append(_free_name(package, "xl/charts/chart{n}.xml", charts))
    for extra in old_charts[len(charts):]:
        package.remove(extra)
        package.remove_override(extra)
    has_charts = bool(charts)
    if has_charts and drawing is None:
        drawing = package.new_part_name("xl/drawings/drawing{n}.xml")

    package.replace(part, _sheet(feuille, styles, date1904, name, has_charts))
    if existing is None:
        package.add_override(part, WORKSHEET_CT)
        add_sheet(package, part, name)
    if has_charts:
        package.replace(rels_name(part), _rels([(DRAWING_REL, _relative(part, drawing))]))
        package.replace(drawing, _drawing(feuille.graphiques))
        package.replace(rels_name(drawing), _rels(
            [(CHART_REL, _relative(drawing, chart)) for chart in charts]))
        _, overrides = package.content_types()
        if drawing not in overrides:
            package.add_override(drawing, DRAWING_CT)
        for chart, graphique in zip(charts, feuille.graphiques):
            package.replace(chart, _chart(graphique, name))
            if chart not in overrides:
                package.add_override(chart, CHART_CT)
    else:
        if rels_name(part) in package.parts:
            package.remove(rels_name(part))
        if drawing is not None:
            package.remove(drawing)
            package.remove_override(drawing)
            package.remove(rels_name(drawing))


def _free_name(package: Package, pattern: str, taken: Sequence[str]) -> str:
    number = 1
    while pattern.format(n=number) in package.parts or pattern.format(n=number) in taken:
        number += 1
    return pattern.format(n=number)


def _relative(source: str, target: str) -> str:
    import posixpath

    return posixpath.relpath(target, posixpath.dirname(source))


def _rels(entries: list[tuple[str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="rId{n}" Type="{kind}" Target="{xml_text(target)}"/>'
                   for n, (kind, target) in enumerate(entries, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'relationships">{body}</Relationships>').encode()


def _sheet(feuille: Feuille, styles: Styles, date1904: bool, name: str,
           has_charts: bool) -> bytes:
    epoch = EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH
    kinds = {
        "titre": styles.text(bold=True, size=14, color=BLUE),
        "entete": styles.header(),
        "gras": styles.text(bold=True),
        "note": styles.text(italic=True, color="595959"),
        "euro": styles.with_format(0, EURO_FORMAT),
        "pourcent": styles.with_format(0, PERCENT_FORMAT),
        "date": styles.with_format(0, DATE_FORMAT),
        "": 0,
    }
    rows = []
    last_column = 1
    for number, cells in enumerate(feuille.lignes, start=1):
        encoded = []
        for column, cell in enumerate(cells, start=1):
            if cell is None:
                continue
            value = cell.valeur
            if isinstance(value, float):
                value = Decimal(repr(value))
            encoded.append(encode_cell(f"{column_letter(column)}{number}", value,
                                       kinds.get(cell.genre, 0), epoch))
            last_column = max(last_column, column)
        rows.append(f'<row r="{number}">{"".join(encoded)}</row>' if encoded
                    else f'<row r="{number}"/>')
    cols = "".join(f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
                   for i, w in enumerate(feuille.largeurs, start=1))
    last = f"{column_letter(max(last_column, len(feuille.largeurs)))}{max(len(rows), 1)}"
    drawing = '<drawing r:id="rId1"/>' if has_charts else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView showGridLines="0" workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f'<cols>{cols}</cols><sheetData>{"".join(rows)}</sheetData>'
        '<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" '
        'footer="0.3"/><pageSetup paperSize="9" orientation="landscape" fitToWidth="1" '
        'fitToHeight="0"/><headerFooter><oddFooter>&amp;L&amp;A&amp;RPage &amp;P / &amp;N'
        f'</oddFooter></headerFooter>{drawing}</worksheet>'
    ).encode("utf-8")


def _drawing(graphiques: Sequence[Graphique]) -> bytes:
    anchors = []
    for number, g in enumerate(graphiques, start=1):
        first_col, first_row, last_col, last_row = g.place
        anchors.append(
            '<xdr:twoCellAnchor editAs="oneCell">'
            f'<xdr:from><xdr:col>{first_col - 1}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{first_row - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
            f'<xdr:to><xdr:col>{last_col}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{last_row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>'
            '<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr>'
            f'<xdr:cNvPr id="{number + 1}" name="Graphique {number}" '
            f'descr="{xml_text(g.titre)}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            f'<a:graphic><a:graphicData uri="{C_NS}">'
            f'<c:chart xmlns:c="{C_NS}" xmlns:r="{REL_NS}" r:id="rId{number}"/>'
            '</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>'
            '</xdr:twoCellAnchor>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<xdr:wsDr xmlns:xdr="{XDR_NS}" xmlns:a="{A_NS}">{"".join(anchors)}</xdr:wsDr>'
            ).encode("utf-8")


def _range(sheet: str, column: int, rows: tuple[int, int]) -> str:
    quoted = "'" + sheet.replace("'", "''") + "'"
    letter = column_letter(column)
    return xml_text(f"{quoted}!${letter}${rows[0]}:${letter}${rows[1]}")


def _strings(sheet: str, column: int, rows: tuple[int, int], values: Sequence[str]) -> str:
    points = "".join(f'<c:pt idx="{i}"><c:v>{xml_text(v)}</c:v></c:pt>'
                     for i, v in enumerate(values))
    return (f"<c:strRef><c:f>{_range(sheet, column, rows)}</c:f><c:strCache>"
            f'<c:ptCount val="{len(values)}"/>{points}</c:strCache></c:strRef>')


def _numbers(sheet: str, column: int, rows: tuple[int, int], values: Sequence[float],
             code: str) -> str:
    points = "".join(f'<c:pt idx="{i}"><c:v>{v:.10g}</c:v></c:pt>' for i, v in enumerate(values))
    return (f"<c:numRef><c:f>{_range(sheet, column, rows)}</c:f><c:numCache>"
            f"<c:formatCode>{xml_text(code)}</c:formatCode><c:ptCount val=\"{len(values)}\"/>"
            f"{points}</c:numCache></c:numRef>")


def _title(text: str, size: int = 1200) -> str:
    return ('<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr>'
            f'<a:defRPr sz="{size}" b="1"/></a:pPr><a:r><a:rPr lang="fr-FR" sz="{size}" b="1"/>'
            f'<a:t>{xml_text(text)}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/>'
            '</c:title>')


def _fill(color: str) -> str:
    return f'<c:spPr><a:solidFill><a:srgbClr val="{color}"/></a:solidFill></c:spPr>'


def _axes(cat_id: int, val_id: int, code: str, position: str = "l", deleted: bool = False,
          crosses: str = "autoZero", maximum: float | None = None,
          gridlines: bool = True) -> str:
    scaling = '<c:orientation val="minMax"/>' + (
        f'<c:max val="{maximum:g}"/><c:min val="0"/>' if maximum is not None else "")
    cat = (f'<c:catAx><c:axId val="{cat_id}"/><c:scaling><c:orientation val="minMax"/>'
           f'</c:scaling><c:delete val="{int(deleted)}"/><c:axPos val="b"/>'
           '<c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="none"/>'
           '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
           f'<c:crossAx val="{val_id}"/><c:crosses val="autoZero"/><c:auto val="1"/>'
           '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>')
    val = (f'<c:valAx><c:axId val="{val_id}"/><c:scaling>{scaling}</c:scaling>'
           f'<c:delete val="0"/><c:axPos val="{position}"/>'
           + ('<c:majorGridlines/>' if gridlines else "") +
           f'<c:numFmt formatCode={xml_attr(code)} sourceLinked="0"/>'
           '<c:majorTickMark val="out"/><c:minorTickMark val="none"/>'
           f'<c:tickLblPos val="nextTo"/><c:crossAx val="{cat_id}"/>'
           f'<c:crosses val="{crosses}"/><c:crossBetween val="between"/></c:valAx>')
    return cat + val


def _chart(g: Graphique, sheet: str) -> bytes:
    euro_axis = '#,##0" €"'
    categories = _strings(sheet, g.categories, g.lignes, g.etiquettes)
    bars = ('<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/>'
            '<c:varyColors val="0"/><c:ser><c:idx val="0"/><c:order val="0"/>'
            '<c:tx><c:v>Montant dû</c:v></c:tx>' + _fill(BLUE) +
            f'<c:invertIfNegative val="0"/><c:cat>{categories}</c:cat>'
            f'<c:val>{_numbers(sheet, g.valeurs, g.lignes, g.nombres, EURO_FORMAT)}</c:val>'
            '</c:ser><c:gapWidth val="60"/><c:axId val="5001"/><c:axId val="5002"/>'
            '</c:barChart>')
    if g.kind == "pareto" and g.cumul is not None:
        line = ('<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>'
                '<c:ser><c:idx val="1"/><c:order val="1"/><c:tx><c:v>Part cumulée</c:v></c:tx>'
                f'<c:spPr><a:ln w="28575"><a:solidFill><a:srgbClr val="{ORANGE}"/></a:solidFill>'
                '</a:ln></c:spPr><c:marker><c:symbol val="circle"/><c:size val="5"/></c:marker>'
                f'<c:cat>{categories}</c:cat>'
                f'<c:val>{_numbers(sheet, g.cumul, g.lignes, g.cumuls, PERCENT_FORMAT)}</c:val>'
                '<c:smooth val="0"/></c:ser><c:marker val="1"/>'
                '<c:axId val="5003"/><c:axId val="5004"/></c:lineChart>')
        axes = (_axes(5001, 5002, euro_axis)
                + _axes(5003, 5004, '0" %"', position="r", deleted=True, crosses="max",
                        maximum=100, gridlines=False))
        legend = ('<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>')
    else:
        line, axes, legend = "", _axes(5001, 5002, euro_axis), ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<c:chartSpace xmlns:c="{C_NS}" xmlns:a="{A_NS}" xmlns:r="{REL_NS}">'
        '<c:roundedCorners val="0"/><c:chart>' + _title(g.titre) +
        '<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>' + bars + line + axes +
        '</c:plotArea>' + legend + '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/>'
        '</c:chart><c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="900"/></a:pPr>'
        '<a:endParaRPr lang="fr-FR"/></a:p></c:txPr></c:chartSpace>'
    ).encode("utf-8")
