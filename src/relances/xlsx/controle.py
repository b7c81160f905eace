"""The workbook checked before anything leaves: what the writer would refuse, and what the reader
cannot be trusted with.

`check_workbook(path)` runs first in every run, dry runs included. It refuses (WorkbookError,
exit 2, French message) a file we cannot patch — format, Strict Open XML, a zip member out of
bounds (zip bomb), a DOCTYPE in any part (entity expansion), a sheet too long — and finds the
cells whose value is unknown: error values and formulas without a cached value. Those must stop
chasing, never be read as empty. It also gives the reader a source it can read: the file, or,
when sheets hold error values calamine does not know (`#SPILL!`, `#CALC!`), a copy in memory
with those cells emptied (they are reported from here, not read from there).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WorkbookError
from ..records import normalise
from .colonnes import CLIENTS, ECHANGES, ECHEANCIERS, FACTURES, PAIEMENTS
from .package import STYLES_REL, Package
from .sheet import SheetPatch
from .styles import Styles

MAX_MEMBERS = 10_000
MAX_PART_BYTES = 256 * 1024 * 1024  # one part, uncompressed: a 50,000-row sheet is ~25 MB
MAX_TOTAL_BYTES = 768 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for parts over 1 MB
LIGNES_MAX = 200_000  # rows of Factures or Clients

_WHAT_TO_DO = "Ouvrez-le dans Excel ou LibreOffice, enregistrez-le, puis relancez."


@dataclass
class Controle:
    """What the checks found: unknown cells per sheet, and where the reader should read."""

    inconnues: dict[str, dict[tuple[int, int], str]] = field(default_factory=dict)
    # Merged ranges per sheet, as (first row, first column, last row, last column).
    fusions: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict)
    source: Path | io.BytesIO | None = None


def check_workbook(path: Path, lignes_max: int = LIGNES_MAX) -> Controle:
    _check_members(path)
    package = Package.open(path)  # format gate, Strict Open XML
    styles_part = package.part_of_type(package.workbook_part, STYLES_REL)
    Styles(package.parts.get(styles_part) if styles_part else None,
           f"{path.name}:{styles_part or 'styles'}")
    controle = Controle(source=path)
    cleaned: dict[str, bytes] = {}
    for name in (FACTURES, CLIENTS, ECHANGES, ECHEANCIERS, PAIEMENTS):
        sheet = package.sheet(name, normalise)
        if sheet is None:
            continue
        patch = SheetPatch(package.parts[sheet.part], [], Styles(None, ""), False,
                           f"{path.name}:{sheet.name}")
        if patch.order and patch.order[-1] > lignes_max:
            raise WorkbookError(
                f"{path.name}:{sheet.name} : la feuille va jusqu’à la ligne {patch.order[-1]} "
                f"(au plus {lignes_max} lignes, clé lignes_max de config.toml) : une valeur "
                "égarée tout en bas ? Supprimez les lignes vides sous vos données, enregistrez, "
                "puis relancez.")
        inconnues = controle.inconnues[sheet.name] = patch.unknown_cells()
        controle.fusions[sheet.name] = patch.merged_ranges()
        # Error cells are among the unknown ones: a sheet with none is not scanned again.
        errors = any(what.startswith("valeur d’erreur") for what in inconnues.values())
        without = patch.without_errors() if errors else None
        if without is not None:
            cleaned[sheet.part] = without
    if cleaned:
        controle.source = _copy_with(path, cleaned)
    return controle


def _check_members(path: Path) -> None:
    """Refuse a zip whose members would not fit in memory, before anything decompresses them."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise WorkbookError(f"{path.name} : {len(infos)} parties dans le fichier (au plus "
                                    f"{MAX_MEMBERS}) : ce n’est pas un classeur ordinaire. "
                                    f"{_WHAT_TO_DO}")
            total = 0
            for info in infos:
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if (info.file_size > MAX_PART_BYTES or total > MAX_TOTAL_BYTES
                        or (info.file_size > 1024 * 1024 and ratio > MAX_RATIO)):
                    raise WorkbookError(
                        f"{path.name} : la partie {info.filename} décompressée ferait "
                        f"{info.file_size // (1024 * 1024)} Mo (compressée {ratio:.0f} fois) : "
                        f"fichier suspect, refusé. {_WHAT_TO_DO}")
            for info in infos:
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    with archive.open(info) as member:
                        head = member.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise WorkbookError(f"{path.name} : la partie {info.filename} déclare un "
                                            "DOCTYPE (entités XML) : fichier suspect, refusé. "
                                            f"{_WHAT_TO_DO}")
    except zipfile.BadZipFile:
        return  # not a zip: Package.open says what it is instead
    except OSError as exc:
        raise WorkbookError(f"{path.name} : lecture impossible ({exc.strerror or exc})") from None


def _copy_with(path: Path, replaced: dict[str, bytes]) -> io.BytesIO:
    """The package in memory with some parts replaced, for the reader only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for info in source.infolist():
            data = replaced.get(info.filename)
            out.writestr(info.filename, data if data is not None else source.read(info))
    buffer.seek(0)
    return buffer
