"""Letters: rendered HTML -> PDF with WeasyPrint; the day's letters -> one file to print.

WeasyPrint is imported only when a run has a letter to make: it is the slowest import of the
project. Fonts are the ones shipped in lettres/polices/ (declared with @font-face in
_lettre.css), so a letter looks the same on every machine.
"""

from __future__ import annotations

import io
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .errors import TemplateError

log = logging.getLogger("relances")


class Imprimeur:
    """Turns letters' HTML into PDF bytes; one per run, so fonts are loaded once."""

    def __init__(self, lettres: Path):
        try:
            import weasyprint
            from weasyprint.text.fonts import FontConfiguration
        except (ImportError, OSError) as exc:  # OSError: Pango missing from the system
            raise TemplateError(
                "courriers PDF impossibles : WeasyPrint ne se charge pas "
                f"({exc}). Sous Debian/Ubuntu : sudo apt install libpango-1.0-0 "
                "libpangoft2-1.0-0 libharfbuzz-subset0 ; voir le README, section Installation."
            ) from None
        from .render import template_folders

        self._weasyprint = weasyprint
        self.fonts = FontConfiguration()
        # Relative links (an image beside the templates) resolve in the first templates folder.
        self.base_url = template_folders(lettres)[0].as_uri() + "/"

    def pdf(self, html: str, where: str) -> bytes:
        """One letter as PDF bytes. `where` names the template in messages."""
        try:
            document = self._weasyprint.HTML(string=html, base_url=self.base_url)
            return document.write_pdf(font_config=self.fonts)
        except Exception as exc:  # WeasyPrint raises many kinds; the user needs the template
            raise TemplateError(f"{where} : mise en page PDF impossible ({exc})") from None


def enclose(pdf: bytes, copies: tuple[Path, ...] | list[Path]) -> bytes:
    """The letter followed by the invoice copies it encloses, as one PDF."""
    if not copies:
        return pdf
    from pypdf import PdfWriter

    from pypdf import PdfReader

    letter = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter()
    writer.append(letter)
    if letter.metadata:
        writer.add_metadata(dict(letter.metadata))  # title and author stay the letter's
    for path in copies:
        try:
            writer.append(str(path))
        except Exception as exc:  # a damaged copy: the letter says what it encloses
            raise TemplateError(f"{path.name} : copie de facture illisible, impossible de la "
                                f"joindre au courrier ({exc})") from None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def merge(pdfs: list[Path]) -> bytes:
    """Several PDF files one after the other, as one PDF (the day's letters, to print at once)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for path in pdfs:
        writer.append(str(path))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PARALLEL_FROM = 12  # below this many letters, starting worker processes costs more than it saves
_worker: Imprimeur | None = None


def render_pdfs(lettres: Path, items: list[tuple[str, str]]) -> list[bytes]:
    """PDF bytes of each (html, where), in order; on several cores when there are many."""
    if not items:
        return []
    imprimeur = Imprimeur(lettres)  # fails here, clearly, if WeasyPrint cannot load
    workers = min(os.cpu_count() or 1, 4)
    if len(items) < PARALLEL_FROM or workers < 2:
        return [imprimeur.pdf(html, where) for html, where in items]
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(lettres,)) as pool:
        return list(pool.map(_worker_pdf, items, chunksize=max(1, len(items) // (workers * 4))))


def _start_worker(lettres: Path) -> None:
    global _worker
    _worker = Imprimeur(lettres)


def _worker_pdf(item: tuple[str, str]) -> bytes:
    return _worker.pdf(*item)
