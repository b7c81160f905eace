"""Typst letters: user text is data, never markup; templates overridden by the user's folder;
a broken template named in French; PDF/A. PDFs parsed back with pypdf."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from relances.errors import TemplateError
from relances.lettre import enclose, render_pdfs
from relances.policy import decide
from relances.render import Renderer

from conftest import TODAY, classeur, client, config, days, facture, fait

HOSTILE = ['#import "x"', "]", "*gras*", "$x^2$", "<label>", "@ref", "\\", "_souligné_",
           "عميل شركة", "Café 🚀 ☕"]


def notice(nom: str = "Alpha", cfg=None, **kw):
    """The formal notice of one client: (rendu, config)."""
    cfg = cfg or config()
    history = [fait("F-1", "rappel", TODAY - days(40), client=nom),
               fait("F-1", "dernier_rappel", TODAY - days(20), client=nom)]
    book = classeur([facture("F-1", client=nom, echeance=TODAY - days(45))],
                    [client(nom, adresse="8 place Bellecour\n69002 Lyon", **kw)])
    (action,) = [a for a in decide(book, history, TODAY, cfg).actions if a.canal == "courrier"]
    return Renderer(cfg, book, TODAY, history).render(action), cfg


def text_of(pdf: bytes) -> str:
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


@pytest.mark.parametrize("nom", HOSTILE + ["Société " + "très longue " * 25])
def test_a_client_name_is_printed_as_itself_never_read_as_markup(nom):
    rendu, cfg = notice(nom)
    pdf = render_pdfs(cfg.lettres, [(rendu.lettre, "t")])[0]
    text = text_of(pdf)
    assert f"Mise en demeure — {nom}" == PdfReader(io.BytesIO(pdf)).metadata.title
    if "🚀" in nom:  # no shipped font draws it: the rest still prints
        assert "Café" in text
    elif "شركة" in nom:  # right to left: pypdf reads its words in visual order
        assert all(word in text for word in nom.split())
    elif len(nom) < 40:
        assert nom in text  # on the envelope window and in the body
    else:
        assert nom[:30] in text


def test_the_letter_is_pdf_a_with_its_title_and_author_even_with_invoice_copies(tmp_path):
    rendu, cfg = notice("SCI Les Tilleuls")
    pdf = render_pdfs(cfg.lettres, [(rendu.lettre, "t")])[0]
    copy = tmp_path / "F-1.pdf"
    copy.write_bytes(pdf)
    xmp = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"<pdfaid:part>2</pdfaid:part>" in xmp and b"<pdfaid:conformance>B" in xmp
    for document in (pdf, enclose(pdf, [copy])):
        reader = PdfReader(io.BytesIO(document))
        assert reader.metadata.title == "Mise en demeure — SCI Les Tilleuls"
        assert reader.metadata.author == cfg.entreprise.nom


def test_a_template_in_the_users_folder_changes_the_wording_of_the_notice(tmp_path):
    """The README's worked example: the demand paragraph rewritten, the rest shipped."""
    from relances.emplacements import PACKAGE_LETTRES

    (tmp_path / "lettres").mkdir()
    shipped = (PACKAGE_LETTRES / "mise_en_demeure.lettre.typ").read_text("utf-8")
    own = shipped.replace("#d.textes.mise_en_demeure_demande", (
        "Par la présente, nous vous mettons en demeure de nous régler *#d.montant_demande* sous\n"
        "*quinze jours* à compter de la réception de ce courrier."))
    assert own != shipped
    (tmp_path / "lettres" / "mise_en_demeure.lettre.typ").write_text(own, "utf-8")
    rendu, cfg = notice(cfg=config(lettres=tmp_path / "lettres"))
    text = text_of(render_pdfs(cfg.lettres, [(rendu.lettre, "t")])[0])
    assert "sous quinze jours à compter de la réception de ce courrier" in text
    assert "dans un délai de huit jours" not in text
    assert "Montant à régler" in text  # the shipped layout, _lettre.typ, still used


def test_a_broken_user_template_stops_with_its_name_and_typsts_error(tmp_path):
    (tmp_path / "lettres").mkdir()
    (tmp_path / "lettres" / "mise_en_demeure.lettre.typ").write_text(
        '#import "_lettre.typ": *\n#show: lettre.with(titre: "x")\n#d.inconnu\n', "utf-8")
    rendu, cfg = notice(cfg=config(lettres=tmp_path / "lettres"))
    with pytest.raises(TemplateError) as error:
        render_pdfs(cfg.lettres, [(rendu.lettre, "t")])
    message = str(error.value)
    assert message.startswith("lettres/mise_en_demeure.lettre.typ : mise en page PDF impossible")
    assert "inconnu" in message and "Traceback" not in message


def test_the_payment_block_is_never_split_and_carries_its_qr_code():
    from dataclasses import replace

    cfg = config()
    cfg = replace(cfg, entreprise=replace(cfg.entreprise, iban="FR76 3000 1007 9412 3456 7890 185"))
    rendu, cfg = notice(cfg=cfg)
    pdf = render_pdfs(cfg.lettres, [(rendu.lettre, "t")])[0]
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    (page,) = [t for t in pages if "Règlement par virement" in t]
    assert "Scannez pour payer" in page and "Référence à indiquer" in page


def test_nothing_needs_weasyprint_or_pango():
    """Letters need pip alone (issue 20): no module of the product imports WeasyPrint, and
    the project does not depend on it (the test environment is installed from pyproject)."""
    import importlib.util
    import tomllib

    source = Path(__file__).resolve().parent.parent / "src" / "relances"
    importing = [p.name for p in source.rglob("*.py")
                 if re.search(r"^\s*(import|from)\s+weasyprint", p.read_text(encoding="utf-8"),
                              re.MULTILINE)]
    assert importing == []
    project = tomllib.loads((source.parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["test"]
    assert not [d for d in wanted if d.lower().startswith(("weasyprint", "pango", "cairo"))]
    assert any(d.startswith("typst") for d in project["project"]["dependencies"])
    assert importlib.util.find_spec("typst") is not None


def test_a_batch_is_laid_out_in_parallel_each_letter_in_its_place():
    """A day's letters are compiled by several threads (Typst releases the GIL): each PDF is
    its own letter, in the order given, the same as one by one."""
    from relances.lettre import PARALLELE_A_PARTIR_DE, Imprimeur

    noms = [f"Client {i:02d}" for i in range(2 * PARALLELE_A_PARTIR_DE + 3)]
    rendus = [notice(nom) for nom in noms]
    cfg = rendus[0][1]
    pdfs = render_pdfs(cfg.lettres, [(rendu.lettre, nom) for (rendu, _), nom in zip(rendus, noms)])
    assert [PdfReader(io.BytesIO(p)).metadata.title for p in pdfs] == \
        [f"Mise en demeure — {nom}" for nom in noms]
    alone = Imprimeur(cfg.lettres).pdf(rendus[5][0].lettre)
    assert text_of(pdfs[5]) == text_of(alone)

