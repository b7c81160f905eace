"""Letters: a Typst template and the letter's data -> PDF/A; the day's letters -> one file.

A letter is a `.typ` template (shipped in `relances/lettres/`, overridden file by file by the
user's `lettres/` folder, `en/` first for an English client) and its data: one JSON document
the template reads with `json(bytes(sys.inputs.donnees))`. User text is always data, never
markup: a client named `#import "x"` or `*$]` prints as itself. Fonts are the ones in
`lettres/polices/` (system fonts ignored), so a letter looks the same on every machine.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import os
import re
from pathlib import Path

from .errors import TemplateError

log = logging.getLogger("relances")

PDF_STANDARD = "a-2b"  # PDF/A-2b: the archival format; Typst writes its XMP identification


def lettre(modele: str, langue: str, donnees: dict, racine: Path | None = None,
           date: datetime.date | None = None) -> str:
    """A letter as `Rendu.lettre` holds it: the template's name, the language, the data, the
    folder whose files the template may read (the logo's: `image("/logo.png")`), and the date
    written in the PDF's metadata, as one JSON text."""
    return json.dumps({"modele": modele, "langue": langue, "donnees": donnees,
                       "racine": str(racine) if racine else None,
                       "date": date.isoformat() if date else None}, ensure_ascii=False)


class Imprimeur:
    """Compiles letters with Typst; one per run, so templates and fonts are read once."""

    def __init__(self, lettres: Path):
        try:
            import typst
        except ImportError as exc:  # a broken install: pip install relances brings it
            raise TemplateError(f"courriers PDF impossibles : le module typst ne se charge pas "
                                f"({exc}) ; réinstallez relances avec pip") from None
        from .emplacements import fonts_folder

        self.lettres = lettres
        self._typst = typst
        self._compiler = typst.Compiler(font_paths=[str(fonts_folder(lettres))],
                                        ignore_system_fonts=True)
        self._templates: dict[str, dict[str, bytes]] = {}

    def templates(self, langue: str) -> dict[str, bytes]:
        """Every `.typ` template by name, the first found winning (user's, then shipped)."""
        if langue not in self._templates:
            from .emplacements import template_folders

            found: dict[str, bytes] = {}
            for folder in template_folders(self.lettres, langue):
                for path in sorted(folder.glob("*.typ")):
                    found.setdefault(path.name, path.read_bytes())
            self._templates[langue] = found
        return self._templates[langue]

    def where(self, name: str, langue: str = "fr") -> str:
        """`lettres/mise_en_demeure.lettre.typ`: the file that was used, to name in messages."""
        from .emplacements import relative_name, template_folders

        for folder in template_folders(self.lettres, langue):
            if (folder / name).is_file():
                return relative_name(folder / name)
        return f"lettres/{name}"

    def pdf(self, lettre_: str, where: str = "") -> bytes:
        """One letter (`lettre()`'s JSON) as PDF/A bytes."""
        return self._compile(lettre_, "pdf")

    def texte(self, lettre_: str) -> str:
        """The letter's words exactly as printed, no-break spaces included (a PDF's text cannot
        tell them from spaces): Typst's HTML export, tags taken out. For tests and checks."""
        import html

        out = self._compile(lettre_, "html").decode("utf-8")
        out = re.sub(r"<(title|head)\b.*?</\1>", " ", out, flags=re.S)
        out = re.sub(r"</?(?:span|strong|em|b)\b[^>]*>", "", out)
        return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", out))).strip()

    def _compile(self, lettre_: str, format: str) -> bytes:
        document = json.loads(lettre_)
        modele, langue = document["modele"], document["langue"]
        templates = self.templates(langue)
        if modele not in templates:
            raise TemplateError(f"{self.where(modele, langue)} : modèle introuvable (ni dans "
                                f"{self.lettres}, ni parmi les modèles livrés)")
        files = dict(templates)
        files["main.typ"] = f'#include "{modele}"\n'.encode()
        day = document.get("date")
        stamp = (datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(12),
                                           datetime.timezone.utc) if day else None)
        arguments = dict(input=files, root=document.get("racine"), format=format, timestamp=stamp,
                         sys_inputs={"donnees": json.dumps(document["donnees"],
                                                           ensure_ascii=False)})
        try:
            try:
                options = {"pdf_standards": [PDF_STANDARD]} if format == "pdf" else {}
                return self._compiler.compile(**arguments, **options)
            except Exception as exc:
                if "could not be displayed" not in str(exc):
                    raise
                # A character no shipped font draws (an emoji in a name): PDF/A forbids it,
                # the letter is still made, as a plain PDF.
                log.warning("%s : %s ; courrier en PDF simple (pas PDF/A)", modele,
                            _message(exc, modele))
                return self._compiler.compile(**arguments)
        except Exception as exc:  # TypstError: the message names the file and the line
            raise TemplateError(f"{self.where(modele, langue)} : mise en page PDF impossible "
                                f"({_message(exc, modele)})") from None


def _message(exc: Exception, modele: str) -> str:
    """Typst's diagnostic, on one line, without the internal entry point."""
    text = " ".join(str(exc).split())
    return re.sub(r"\bmain\.typ\b", modele, text)[:600]


def enclose(pdf: bytes, copies: tuple[Path, ...] | list[Path]) -> bytes:
    """The letter followed by the invoice copies it encloses, as one PDF."""
    if not copies:
        return pdf
    from pypdf import PdfReader, PdfWriter

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


PARALLELE_A_PARTIR_DE = 8  # letters in a batch from which threads pay for their compilers


def render_pdfs(lettres: Path, items: list[tuple[str, str]]) -> list[bytes]:
    """PDF bytes of each (letter, where), in order. Typst releases the GIL while it compiles:
    a large batch is laid out by one compiler per thread (a compiler serves one letter at a
    time), one thread per core."""
    if not items:
        return []
    workers = min(os.cpu_count() or 1, 4, len(items) // PARALLELE_A_PARTIR_DE)
    if workers < 2:
        imprimeur = Imprimeur(lettres)
        return [imprimeur.pdf(lettre_, where) for lettre_, where in items]
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()

    def one(item: tuple[str, str]) -> bytes:
        if not hasattr(local, "imprimeur"):
            local.imprimeur = Imprimeur(lettres)
        return local.imprimeur.pdf(*item)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, items))
