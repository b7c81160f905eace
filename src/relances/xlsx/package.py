"""The .xlsx package as parts: read once, patched part by part, written back exactly.

An .xlsx file is a zip of XML parts tied together by relationships (`_rels/*.rels`) and a
content-type table (`[Content_Types].xml`). No Python library edits one in place without
re-serialising everything it understands and dropping the rest, so this module keeps every part
as the bytes it found and lets the writer replace or add only the parts it owns. Parts that are
not replaced are written back unchanged, byte for byte.

`inspect()` is also the gate for formats we cannot patch: `.xls`, `.xlsb`, `.ods`, Strict Open
XML, an encrypted workbook or a CSV renamed are refused with a French message before anything
is sent.
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from xml.parsers import expat

if TYPE_CHECKING:  # lxml is imported by the first part parsed into a tree
    from lxml import etree

from ..errors import WorkbookError, WorkbookLocked
from ..pannes import is_fault

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
OFFICE_DOCUMENT = REL_NS + "/officeDocument"
WORKSHEET_REL = REL_NS + "/worksheet"
STYLES_REL = REL_NS + "/styles"
SHARED_STRINGS_REL = REL_NS + "/sharedStrings"
CALC_CHAIN_REL = REL_NS + "/calcChain"
CUSTOM_PROPS_REL = REL_NS + "/custom-properties"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
CUSTOM_PROPS_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
RELS_CT = "application/vnd.openxmlformats-package.relationships+xml"
OPENABLE_MAIN_CT = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": ".xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": ".xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": ".xltx",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": ".xltm",
}
XLSB_MAIN_CT = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"


@functools.cache
def safe_parser() -> etree.XMLParser:
    """The XML parser for parts read from the user's file: no entities, no network, no DTD."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                           load_dtd=False)


_SAVE_WHAT_TO_DO = ("Ouvrez-le dans Excel ou LibreOffice et enregistrez-le au format « Classeur "
                    "Excel (.xlsx) », puis indiquez ce fichier dans config.toml.")


# xml.sax.saxutils's escape and quoteattr, written out: importing that module imports
# urllib.request, http.client and ssl, which a run that sends nothing does not need.
_ATTR = str.maketrans({"&": "&amp;", ">": "&gt;", "<": "&lt;", "\n": "&#10;", "\r": "&#13;",
                       "\t": "&#9;"})


def xml_attr(value: str) -> str:
    """An attribute value escaped and quoted, as xml.sax.saxutils.quoteattr does it."""
    value = value.translate(_ATTR)
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


def xml_text(value: str) -> str:
    """Text content escaped; a carriage return as a reference, or XML would read it as \\n."""
    return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace(
        "\r", "&#13;")


def parse_xml(data: bytes, where: str) -> etree._Element:
    """Parse one part; a DOCTYPE (entity declarations, external references) is refused."""
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data[:65536]:
        raise WorkbookError(f"{where} : déclaration DOCTYPE ou ENTITY refusée (fichier suspect)")
    from lxml import etree

    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise WorkbookError(f"{where} : XML illisible ({exc})") from None


def well_formed(data: bytes, where: str) -> str:
    """'' if `data` is well-formed XML, else a French line saying where it breaks (expat: a
    checking pass that builds no tree, twice as fast as parsing it)."""
    parser = expat.ParserCreate()
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        return f"{where} : XML mal formé ({expat.ErrorString(exc.code)}, ligne {exc.lineno})"
    return ""


def well_formed_spooled(head: bytes, body: BinaryIO, where: str) -> str:
    """well_formed() for a part given as its head and a file holding the rest."""
    parser = expat.ParserCreate()
    body.seek(0)
    try:
        parser.Parse(head, False)
        while block := body.read(1 << 20):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        return f"{where} : XML mal formé ({expat.ErrorString(exc.code)}, ligne {exc.lineno})"
    return ""


class WorkbookChanged(WorkbookError):
    """The file on disk is no longer the one read: the user saved it meanwhile."""

    def __init__(self, path: Path):
        super().__init__(f"{path.name} : le classeur a été modifié pendant l’exécution")


# What reading a member of a zip rewritten under our feet (or damaged) can raise.
ZIP_ERRORS = (OSError, EOFError, ValueError, RuntimeError, NotImplementedError,
              zipfile.BadZipFile, zlib.error)


def file_state(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is saved again, even to the same bytes; None: it is gone."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


@dataclass
class Sheet:
    """One sheet of the workbook: its name as the user sees it and the part that holds it."""

    name: str
    part: str  # e.g. "xl/worksheets/sheet1.xml", no leading slash
    sheet_id: int
    rel_id: str


@dataclass
class Package:
    """An .xlsx read into memory, part name -> bytes, with the workbook's sheet list.

    `replace` and `add` record new bytes for a part; `save` writes every part, new or not.
    """

    path: Path
    parts: dict[str, bytes]
    order: list[str]
    workbook_part: str
    sheets: list[Sheet]
    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    # Parts too big to hold twice: their head in memory, the rest in a file (see `spool`).
    spooled: dict[str, tuple[bytes, BinaryIO]] = field(default_factory=dict)

    # ------------------------------------------------------------ reading

    @classmethod
    def open(cls, path: Path) -> "Package":
        path = Path(path)
        state = file_state(path)  # before anything is read: a later save is then seen
        try:
            inspect(path)
        except WorkbookError:
            if state is not None and file_state(path) != state:
                raise WorkbookChanged(path) from None  # caught in the middle of a save
            raise
        try:
            with zipfile.ZipFile(path) as archive:
                infos = [info for info in archive.infolist() if not info.is_dir()]
        except ZIP_ERRORS as exc:
            if file_state(path) != state:
                raise WorkbookChanged(path) from None
            raise WorkbookError(f"{path.name} : fichier zip abîmé ({exc}). "
                                f"{_SAVE_WHAT_TO_DO}") from None
        parts = _Parts(path, {info.filename: info for info in infos}, state)
        order = [info.filename for info in infos]
        workbook_part = _workbook_part(parts, path.name)
        package = cls(path, parts, order, workbook_part, [])
        package.sheets = package._read_sheets()
        return package

    def _read_sheets(self) -> list[Sheet]:
        root = parse_xml(self.parts[self.workbook_part], f"{self.path.name}:{self.workbook_part}")
        targets = {rel_id: target for rel_id, (_, target) in self.rels(self.workbook_part).items()}
        sheets = []
        for element in root.iter(f"{{{MAIN_NS}}}sheet"):
            rel_id = element.get(f"{{{REL_NS}}}id", "")
            target = targets.get(rel_id)
            if target is None:
                continue  # a chartsheet or a broken entry: not ours to touch
            sheets.append(Sheet(element.get("name", ""), target, int(element.get("sheetId", "0")),
                                rel_id))
        return sheets

    def sheet(self, name: str, normalise) -> Sheet | None:
        return next((s for s in self.sheets if normalise(s.name) == normalise(name)), None)

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationships of `part`: id -> (type, target part name), targets resolved."""
        rels_part = rels_name(part)
        data = self.parts.get(rels_part)
        if data is None:
            return {}
        root = parse_xml(data, f"{self.path.name}:{rels_part}")
        found = {}
        for rel in root.iter(f"{{{PKG_REL_NS}}}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                found[rel.get("Id", "")] = (rel.get("Type", ""), "")
                continue
            found[rel.get("Id", "")] = (rel.get("Type", ""), resolve(part, target))
        return found

    def part_of_type(self, source: str, rel_type: str) -> str | None:
        return next((t for kind, t in self.rels(source).values() if kind == rel_type), None)

    def content_types(self) -> tuple[dict[str, str], dict[str, str]]:
        """(defaults by extension, overrides by part name without leading slash)."""
        root = parse_xml(self.parts["[Content_Types].xml"], f"{self.path.name}:[Content_Types].xml")
        defaults = {d.get("Extension", "").lower(): d.get("ContentType", "")
                    for d in root.iter(f"{{{CT_NS}}}Default")}
        overrides = {o.get("PartName", "").lstrip("/"): o.get("ContentType", "")
                     for o in root.iter(f"{{{CT_NS}}}Override")}
        return defaults, overrides

    # ------------------------------------------------------------ changing

    def replace(self, part: str, data: bytes) -> None:
        if self.parts.get(part) == data:
            return
        if part not in self.parts:
            self.order.append(part)
            if part.endswith(".rels"):
                self._type_relationships()
        self.parts[part] = data
        self.changed.add(part)

    def _type_relationships(self) -> None:
        """Relationship parts the tool adds are typed by a Default for `.rels`, added when the
        package has none: LibreOffice declares an Override for each of its own instead."""
        defaults, _ = self.content_types()
        if "rels" in defaults:
            return
        data = self.parts["[Content_Types].xml"]
        entry = f'<Default Extension="rels" ContentType="{RELS_CT}"/>'
        start = re.search(rb"<((?:\w+:)?)Types\b[^>]*?(/?)>", data)
        if start is None or start.group(2):
            self.replace("[Content_Types].xml", insert_before_end(data, "Types", entry))
            return
        # First in the list, where Excel puts its Defaults.
        entry = entry.replace("<", "<" + start.group(1).decode(), 1).encode()
        self.replace("[Content_Types].xml", data[:start.end()] + entry + data[start.end():])

    def spool(self, part: str, head: bytes, body: BinaryIO) -> None:
        """Replace `part` by `head` followed by the content of `body`, copied in blocks when
        the package is written: a 50,000-row sheet is never held twice in memory."""
        self.spooled[part] = (head, body)
        self.changed.add(part)
        self.parts.pop(part, None)

    def remove(self, part: str) -> None:
        """Remove `part`, and its Override in the content types if it has one."""
        if part in self.parts:
            del self.parts[part]
            self.order.remove(part)
            self.removed.add(part)
            self.remove_override(part)

    def add_override(self, part: str, content_type: str) -> None:
        data = self.parts["[Content_Types].xml"]
        entry = f'<Override PartName={xml_attr("/" + part)} ContentType={xml_attr(content_type)}/>'
        self.replace("[Content_Types].xml", insert_before_end(data, "Types", entry))

    def remove_override(self, part: str) -> None:
        data = self.parts["[Content_Types].xml"]
        pattern = re.compile(rb'<(?:\w+:)?Override\b[^>]*PartName="/' + re.escape(part.encode())
                             + rb'"[^>]*/>')
        self.replace("[Content_Types].xml", pattern.sub(b"", data))

    def add_relationship(self, source: str, rel_type: str, target_part: str) -> str:
        """Add a relationship from `source` to `target_part`; return its new id."""
        rels_part = rels_name(source)
        existing = self.rels(source)
        number = 1
        while f"rId{number}" in existing:
            number += 1
        rel_id = f"rId{number}"
        target = posixpath.relpath(target_part, posixpath.dirname(source) or ".")
        entry = (f'<Relationship Id="{rel_id}" Type={xml_attr(rel_type)} '
                 f'Target={xml_attr(target)}/>')
        data = self.parts.get(rels_part)
        if data is None:  # typed by the "rels" default (see replace)
            data = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    b'<Relationships xmlns="' + PKG_REL_NS.encode() + b'"></Relationships>')
        self.replace(rels_part, insert_before_end(data, "Relationships", entry))
        return rel_id

    def remove_relationships_to(self, source: str, target_part: str) -> None:
        rels_part = rels_name(source)
        data = self.parts.get(rels_part)
        if data is None:
            return
        target = posixpath.relpath(target_part, posixpath.dirname(source) or ".")
        names = {target, "/" + target_part}
        pattern = re.compile(rb'<(?:\w+:)?Relationship\b[^>]*/>')

        def drop(match: re.Match) -> bytes:
            found = re.search(rb'Target="([^"]*)"', match.group(0))
            return b"" if found and found.group(1).decode() in names else match.group(0)

        self.replace(rels_part, pattern.sub(drop, data))

    def new_part_name(self, pattern: str) -> str:
        """`pattern` with {n} replaced by the first number not used by a part."""
        number = 1
        while pattern.format(n=number) in self.parts:
            number += 1
        return pattern.format(n=number)

    # ------------------------------------------------------------ checking and saving

    def check(self) -> list[str]:
        """What is wrong with the package as it would be saved (French, one line each)."""
        problems = []
        defaults, overrides = self.content_types()
        for part in self.order:
            if part == "[Content_Types].xml":
                continue
            extension = part.rsplit(".", 1)[-1].lower() if "." in part else ""
            if part not in overrides and extension not in defaults:
                problems.append(f"la partie {part} n’a pas de type de contenu")
        for part in overrides:
            if part not in self.parts:
                problems.append(f"type de contenu déclaré pour une partie absente : {part}")
        for rels_part in [p for p in self.order if p.endswith(".rels")]:
            source = source_of(rels_part)
            if source and source not in self.parts:
                continue  # relationships of a part that is gone: harmless, left as found
            for rel_id, (kind, target) in self.rels(source).items():
                if target and target not in self.parts:
                    problems.append(f"{rels_part} : la relation {rel_id} vise une partie "
                                    f"absente ({target})")
        for part in self.changed:
            if part in self.spooled:
                problem = well_formed_spooled(*self.spooled[part], part)
            elif part.endswith((".xml", ".rels")) and part in self.parts:
                problem = well_formed(self.parts[part], part)
            else:
                continue
            if problem:
                problems.append(problem)
        return problems

    def write(self, target: Path) -> None:
        """Write every part to `target`; unchanged parts keep their bytes and compression.

        The parts not yet read are copied from the file: if it is no longer the one opened
        (the user saved it meanwhile), `WorkbookChanged` is raised."""
        self.parts.check_state()
        try:
            self._write(target)
        except ZIP_ERRORS as exc:
            if is_fault(exc):  # a full disk, a read-only folder: the copy's, not the parts'
                raise
            self.parts.check_state()
            raise WorkbookError(f"{self.path.name} : partie illisible ({exc}). "
                                f"{_SAVE_WHAT_TO_DO}") from None
        self.parts.check_state()  # parts copied from another version than the one opened

    def _write(self, target: Path) -> None:
        # Deflate level 5: twice as fast as the default 6 for 1.5 % more bytes (measured on a
        # 50,000-row sheet); the parts' contents are what matter, and they are unchanged.
        with zipfile.ZipFile(self.path) as source, \
                zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as out:
            infos = {info.filename: info for info in source.infolist()}
            for part in self.order:
                info = infos.get(part)
                if part in self.spooled:
                    head, body = self.spooled[part]
                    entry = zipfile.ZipInfo(part, date_time=(1980, 1, 1, 0, 0, 0))
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    if hasattr(entry, "_compresslevel"):
                        entry._compresslevel = 5
                    body.seek(0)
                    with out.open(entry, "w") as dest:
                        dest.write(head)
                        while block := body.read(1 << 20):
                            dest.write(block)
                elif info is not None and part not in self.changed:
                    copy = zipfile.ZipInfo(part, date_time=info.date_time)
                    copy.compress_type = info.compress_type
                    copy.external_attr = info.external_attr
                    data = self.parts.loaded(part)
                    out.writestr(copy, data if data is not None else source.read(info),
                                 compresslevel=5)
                else:
                    out.writestr(zipfile.ZipInfo(part, date_time=(1980, 1, 1, 0, 0, 0)),
                                 self.parts[part], compress_type=zipfile.ZIP_DEFLATED,
                                 compresslevel=5)


class _Parts(dict):
    """Part name -> bytes, each read from the zip the first time it is asked for.

    Most parts of a big workbook (other sheets, images, pivot caches) are never looked at:
    they are read only when the package is written back, one at a time.
    """

    def __init__(self, path: Path, infos: dict[str, zipfile.ZipInfo],
                 state: tuple[int, int, int] | None = None):
        super().__init__()
        self._path, self._infos, self._state = path, infos, state
        self._gone: set[str] = set()

    def __missing__(self, part: str) -> bytes:
        if part in self._gone or part not in self._infos:
            raise KeyError(part)
        # Read where the part was in the file as opened: a save since then moved it (or
        # mixed another version in), which the file's state says.
        try:
            with zipfile.ZipFile(self._path) as archive:
                data = archive.read(self._infos[part])
        except ZIP_ERRORS as exc:
            self.check_state()
            raise WorkbookError(f"{self._path.name}:{part} : partie illisible ({exc}). "
                                f"{_SAVE_WHAT_TO_DO}") from None
        self.check_state()
        self[part] = data
        return data

    def check_state(self) -> None:
        """Raise WorkbookChanged if the file is no longer the one opened."""
        if self._state is not None and file_state(self._path) != self._state:
            raise WorkbookChanged(self._path)

    def __contains__(self, part: object) -> bool:
        return part not in self._gone and (dict.__contains__(self, part) or part in self._infos)

    def get(self, part, default=None):
        return self[part] if part in self else default

    def __delitem__(self, part: str) -> None:
        self._gone.add(part)
        if dict.__contains__(self, part):
            dict.__delitem__(self, part)

    def __setitem__(self, part: str, data: bytes) -> None:
        self._gone.discard(part)
        dict.__setitem__(self, part, data)

    def loaded(self, part: str) -> bytes | None:
        """The part's bytes if they were read already, else None (the zip has them)."""
        return dict.get(self, part)


def rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def source_of(rels_part: str) -> str:
    folder, name = posixpath.split(rels_part)
    parent = posixpath.dirname(folder)
    return posixpath.join(parent, name[: -len(".rels")]) if name != ".rels" else ""


def resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def insert_before_end(data: bytes, local_name: str, entry: str, prefixed: bool = True) -> bytes:
    """Insert `entry` just before the closing tag of the root element `local_name`; its
    element names take the root's prefix unless `prefixed` is False (an entry that declares
    its own namespaces)."""
    end = re.search(rb"</((?:\w+:)?)" + local_name.encode() + rb"\s*>\s*$", data)
    empty = None if end else re.search(rb"<((?:\w+:)?)" + local_name.encode()
                                       + rb"\b([^>]*?)/>", data)
    if end is None and empty is None:
        raise WorkbookError(f"élément {local_name} introuvable")
    prefix = (end or empty).group(1).decode()
    if prefix and prefixed:
        entry = re.sub(r"<(/?)(\w)", lambda m: f"<{m.group(1)}{prefix}{m.group(2)}", entry)
    if end is not None:
        return data[:end.start()] + entry.encode() + data[end.start():]
    tag = (prefix + local_name).encode()
    return (data[:empty.start()] + b"<" + tag + empty.group(2) + b">" + entry.encode()
            + b"</" + tag + b">" + data[empty.end():])


# ---------------------------------------------------------------- the file itself


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_not_open(path: Path) -> None:
    """Excel and LibreOffice leave a lock file beside a workbook they have open."""
    for lock in (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")):
        if lock.exists():
            raise WorkbookLocked(
                f"{path.name} : le classeur est ouvert dans Excel ou LibreOffice ({lock.name}). "
                "Fermez-le puis relancez ; s’il n’est ouvert nulle part, supprimez ce fichier."
            )



# ---------------------------------------------------------------- the format gate

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def inspect(path: Path) -> None:
    """Refuse, with what to do, a file that is not an .xlsx/.xlsm package we can patch."""
    name = path.name
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise WorkbookError(f"{name} : lecture impossible ({exc.strerror or exc})") from None
    if head.startswith(_OLE2):
        raise WorkbookError(f"{name} : classeur Excel 97-2003 (.xls) ou classeur protégé par mot "
                            f"de passe : relances ne peut pas le mettre à jour. "
                            f"{_SAVE_WHAT_TO_DO} (sans mot de passe)")
    if not head.startswith(b"PK"):
        raise WorkbookError(f"{name} : ce n’est pas un classeur Excel .xlsx (texte, CSV ou autre "
                            f"format renommé ?). {_SAVE_WHAT_TO_DO}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and b"opendocument" in archive.read("mimetype"):
                raise WorkbookError(f"{name} : classeur OpenDocument (.ods) : relances ne sait "
                                    f"mettre à jour que les classeurs .xlsx. {_SAVE_WHAT_TO_DO}")
            if "[Content_Types].xml" not in names:
                raise WorkbookError(f"{name} : archive zip sans [Content_Types].xml : ce n’est "
                                    f"pas un classeur .xlsx. {_SAVE_WHAT_TO_DO}")
            types = archive.read("[Content_Types].xml")
    except zipfile.BadZipFile as exc:
        raise WorkbookError(f"{name} : fichier zip abîmé ({exc}). {_SAVE_WHAT_TO_DO}") from None
    if XLSB_MAIN_CT.encode() in types:
        raise WorkbookError(f"{name} : classeur binaire Excel (.xlsb) : relances ne sait mettre à "
                            f"jour que les classeurs .xlsx. {_SAVE_WHAT_TO_DO}")
    if not any(ct.encode() in types for ct in OPENABLE_MAIN_CT):
        raise WorkbookError(f"{name} : aucune feuille de calcul Excel dans ce fichier. "
                            f"{_SAVE_WHAT_TO_DO}")


def _workbook_part(parts: dict[str, bytes], name: str) -> str:
    data = parts.get("_rels/.rels")
    if data is None:
        raise WorkbookError(f"{name} : _rels/.rels absent : classeur abîmé. {_SAVE_WHAT_TO_DO}")
    root = parse_xml(data, f"{name}:_rels/.rels")
    for rel in root.iter(f"{{{PKG_REL_NS}}}Relationship"):
        if rel.get("Type", "").endswith("/officeDocument"):
            part = resolve("", rel.get("Target", ""))
            if part not in parts:
                break
            head = parts[part][:2048]
            if STRICT_NS.encode() in head:
                raise WorkbookError(f"{name} : classeur au format « Open XML strict » : relances "
                                    "ne sait mettre à jour que les classeurs Excel ordinaires. "
                                    f"{_SAVE_WHAT_TO_DO}")
            return part
    raise WorkbookError(f"{name} : classeur sans feuille principale (xl/workbook.xml). "
                        f"{_SAVE_WHAT_TO_DO}")
