"""The workbook's identifier, kept in its custom document properties (`docProps/custom.xml`).

Excel (Fichier > Informations > Propriétés > Propriétés avancées > Personnalisation) and
LibreOffice (Fichier > Propriétés > Propriétés personnalisées) copy custom properties with the
file, through « Enregistrer sous » too. That makes them the right place for the identifier that
binds a workbook to its journal: a copy of the workbook keeps it, another workbook has none.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import WorkbookError
from .package import (CUSTOM_PROPS_CT, CUSTOM_PROPS_REL, PKG_REL_NS, Package, insert_before_end,
                      parse_xml, resolve, xml_attr)

PROPERTY = "relances-identifiant"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def _custom_part(rels: bytes | None, where: str) -> str | None:
    if rels is None:
        return None
    root = parse_xml(rels, where)
    for rel in root.iter(f"{{{PKG_REL_NS}}}Relationship"):
        if rel.get("Type") == CUSTOM_PROPS_REL:
            return resolve("", rel.get("Target", ""))
    return None


def _value(data: bytes, where: str) -> str | None:
    root = parse_xml(data, where)
    for prop in root.iter(f"{{{CUSTOM_NS}}}property"):
        if prop.get("name") == PROPERTY:
            text = "".join(prop.itertext()).strip()
            return text or None
    return None


def read_identifiant(path: Path) -> str | None:
    """The identifier stored by a previous run, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            rels = archive.read("_rels/.rels") if "_rels/.rels" in names else None
            part = _custom_part(rels, f"{path.name}:_rels/.rels")
            if part is None or part not in names:
                return None
            return _value(archive.read(part), f"{path.name}:{part}")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise WorkbookError(f"{path.name} : lecture impossible ({exc})") from None


def write_identifiant(package: Package, identifiant: str) -> None:
    """Store `identifiant` in the package's custom properties, creating the part if needed."""
    part = _custom_part(package.parts.get("_rels/.rels"), "_rels/.rels")
    if part is not None and part in package.parts:
        data = package.parts[part]
        if _value(data, part) == identifiant:
            return
        package.replace(part, _with_property(data, identifiant, part))
        return
    part = "docProps/custom.xml"
    if part in package.parts:
        part = package.new_part_name("docProps/custom{n}.xml")
    data = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Properties xmlns="{CUSTOM_NS}" xmlns:vt="{VT_NS}"></Properties>').encode()
    package.replace(part, _with_property(data, identifiant, part))
    package.add_override(part, CUSTOM_PROPS_CT)
    package.add_relationship("", CUSTOM_PROPS_REL, part)


def _with_property(data: bytes, identifiant: str, where: str) -> bytes:
    root = parse_xml(data, where)
    existing = [p for p in root.iter(f"{{{CUSTOM_NS}}}property") if p.get("name") == PROPERTY]
    entry = (f'<property xmlns="{CUSTOM_NS}" fmtid="{FMTID}" pid="{{pid}}" '
             f'name={xml_attr(PROPERTY)}><vt:lpwstr xmlns:vt="{VT_NS}">{identifiant}'
             '</vt:lpwstr></property>')
    if existing:
        # Replace the old value in place: the property's own bytes, nothing around it.
        pattern = re.compile(rb'(<(?:\w+:)?property\b[^>]*name="' + PROPERTY.encode()
                             + rb'"[^>]*>.*?</(?:\w+:)?property\s*>)', re.S)
        found = pattern.search(data)
        if found is not None:
            pid = existing[0].get("pid", "2")
            return data[:found.start()] + entry.replace("{pid}", pid).encode() + data[found.end():]
    pids = [int(p.get("pid")) for p in root.iter(f"{{{CUSTOM_NS}}}property")
            if (p.get("pid") or "").isdigit()]
    pid = str(max([1, *pids]) + 1)
    try:
        return insert_before_end(data, "Properties", entry.replace("{pid}", pid), prefixed=False)
    except WorkbookError:
        raise WorkbookError(f"{where} : propriétés personnalisées illisibles") from None
