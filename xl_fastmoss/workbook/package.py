"""A workbook file as an Open XML package: a zip of parts, their relationships and content types.

The one place that knows how parts are named and found (case-insensitively, as Excel does),
how relationship targets resolve, how content types are declared, and how an edited part is
serialised under the XML declaration it had. The reader, the writer, the template builder and
the tests all go through it.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..files import atomic_write

PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_DOC_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
CONTENT_TYPES_PART = "[Content_Types].xml"

#: Never resolves entities nor reaches the network: a workbook may be hostile.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)

_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?\s*<\?xml[^>]*\?>\s*")
_DEFAULT_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


class WorkbookError(Exception):
    """A workbook file cannot be read or written as asked; the message names the file."""


@dataclass(frozen=True)
class Relationship:
    id: str
    #: The relationship type's last segment: ``worksheet``, ``styles``, ``vbaProject``...
    kind: str
    type: str
    #: The part it points to (resolved, no leading ``/``), or the URL of an external target.
    target: str
    external: bool = False


def local_name(tag: object) -> str:
    """``{namespace}sheet`` -> ``sheet``; comments and processing instructions -> ``""``."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace_of(element: etree._Element) -> str:
    return element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""


def parse_xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, PARSER)


def rels_part_of(part: str) -> str:
    """``xl/workbook.xml`` -> ``xl/_rels/workbook.xml.rels`` (``""`` -> ``_rels/.rels``)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def resolve_target(source_part: str, target: str) -> str:
    """The part a relationship target points to, relative to the part that holds it."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def read_relationships(data: bytes, source_part: str) -> dict[str, Relationship]:
    """The relationships in a ``.rels`` part, by id."""
    found = {}
    for element in parse_xml(data):
        if local_name(element.tag) != "Relationship":
            continue
        rel_type = element.get("Type", "")
        external = element.get("TargetMode") == "External"
        target = element.get("Target", "")
        found[element.get("Id", "")] = Relationship(
            element.get("Id", ""), rel_type.rsplit("/", 1)[-1], rel_type,
            target if external else resolve_target(source_part, target), external)
    return found


def serialise(root: etree._Element, original: bytes = b"") -> bytes:
    """The tree as UTF-8, under the XML declaration the part had (a standard one otherwise)."""
    body = etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=False)
    match = _DECLARATION.match(original)
    if match:
        declaration = match.group(0)
        encoding = re.search(rb"encoding\s*=\s*[\"']([^\"']+)", declaration)
        if encoding is None or encoding.group(1).lower().replace(b"-", b"") == b"utf8":
            return declaration + body
    return _DEFAULT_DECLARATION + body


class PackageFile:
    """A package on disk, read part by part; part names are matched case-insensitively."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            with zipfile.ZipFile(self.path) as archive:
                self.names = archive.namelist()
        except zipfile.BadZipFile as error:
            raise WorkbookError(f"{self.path}: not a readable Excel workbook ({error})") from None
        except OSError as error:
            raise WorkbookError(f"{self.path}: cannot be read ({error})") from None
        self._by_lower = {name.lower(): name for name in self.names}

    def part(self, name: str) -> str | None:
        """The part's name as stored, or None when the package has no such part."""
        return self._by_lower.get(name.lower())

    def read(self, name: str) -> bytes:
        stored = self.part(name)
        if stored is None:
            raise WorkbookError(f"{self.path}: the part {name} is missing")
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(stored)

    def relationships(self, source_part: str) -> dict[str, Relationship]:
        """The relationships of a part (``""`` for the package's own), by id."""
        rels = self.part(rels_part_of(source_part))
        return read_relationships(self.read(rels), source_part) if rels else {}

    def office_document(self) -> str:
        """The workbook part (``xl/workbook.xml`` as a rule)."""
        for rel in self.relationships("").values():
            if rel.kind == "officeDocument" and self.part(rel.target):
                return self.part(rel.target) or rel.target
        if self.part("xl/workbook.xml"):
            return self.part("xl/workbook.xml") or ""
        raise WorkbookError(f"{self.path}: no workbook part in the package")


def with_override(content_types: bytes, part: str, content_type: str) -> bytes:
    """``[Content_Types].xml`` declaring ``part`` as ``content_type``."""
    root = parse_xml(content_types)
    for element in root:
        if local_name(element.tag) == "Override" and _same_part(element.get("PartName", ""), part):
            element.set("ContentType", content_type)
            break
    else:
        etree.SubElement(root, f"{{{CONTENT_TYPES_NS}}}Override", PartName="/" + part, ContentType=content_type)
    return serialise(root, content_types)


def without_override(content_types: bytes, part: str) -> bytes:
    """``[Content_Types].xml`` without the Override of ``part``."""
    root = parse_xml(content_types)
    for element in [e for e in root if local_name(e.tag) == "Override" and _same_part(e.get("PartName", ""), part)]:
        root.remove(element)
    return serialise(root, content_types)


def with_relationship(rels: bytes | None, rel_type: str, target: str) -> tuple[bytes, str]:
    """A ``.rels`` part (None: a new one) with a link to the part ``target``, and the link's id."""
    root = parse_xml(rels or f'<Relationships xmlns="{PKG_REL_NS}"/>'.encode())
    ids = {element.get("Id") for element in root}
    number = 1
    while f"rId{number}" in ids:
        number += 1
    etree.SubElement(root, f"{{{PKG_REL_NS}}}Relationship", Id=f"rId{number}", Type=rel_type, Target="/" + target)
    return serialise(root, rels or b""), f"rId{number}"


def without_relationships(rels: bytes, source_part: str, drop: Callable[[Relationship], bool]) -> bytes:
    """A ``.rels`` part without the relationships ``drop`` chooses."""
    root = parse_xml(rels)
    found = read_relationships(rels, source_part)
    for element in [e for e in root if local_name(e.tag) == "Relationship" and drop(found[e.get("Id", "")])]:
        root.remove(element)
    return serialise(root, rels)


def _same_part(part_name: str, part: str) -> bool:
    return part_name.lstrip("/").lower() == part.lower()


class PackageParts:
    """Every part of a package in memory, in its order, to edit and write back."""

    def __init__(self, parts: Mapping[str, bytes]):
        self.order = list(parts)
        self.parts = dict(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> PackageParts:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return cls({name: archive.read(name) for name in archive.namelist()})

    @classmethod
    def from_path(cls, path: str | Path) -> PackageParts:
        return cls.from_bytes(Path(path).read_bytes())

    def xml(self, part: str) -> etree._Element:
        return parse_xml(self.parts[part])

    def put(self, part: str, data: bytes) -> None:
        if part not in self.parts:
            self.order.append(part)
        self.parts[part] = data

    def remove(self, part: str) -> None:
        """Drop a part with its own relationships, its content type and the relationships to it."""
        for name in (part, rels_part_of(part)):
            if name in self.parts:
                del self.parts[name]
                self.order.remove(name)
        if CONTENT_TYPES_PART in self.parts:
            self.put(CONTENT_TYPES_PART, without_override(self.parts[CONTENT_TYPES_PART], part))
        for rels in [name for name in self.order if name.endswith(".rels")]:
            self.put(rels, without_relationships(self.parts[rels], _source_of(rels),
                                                 lambda rel: not rel.external and rel.target == part))

    def relationships(self, part: str) -> dict[str, Relationship]:
        rels = rels_part_of(part)
        return read_relationships(self.parts[rels], part) if rels in self.parts else {}

    def add_relationship(self, source: str, rel_type: str, target: str) -> str:
        """Link ``source`` to the part ``target``; returns the new relationship's id."""
        rels_part = rels_part_of(source)
        data, rel_id = with_relationship(self.parts.get(rels_part), rel_type, target)
        self.put(rels_part, data)
        return rel_id

    def content_types(self) -> dict[str, str]:
        """``{part: content type}`` of the parts with an Override."""
        return {e.get("PartName", "").lstrip("/"): e.get("ContentType", "")
                for e in self.xml(CONTENT_TYPES_PART) if local_name(e.tag) == "Override"}

    def set_override(self, part: str, content_type: str) -> None:
        self.put(CONTENT_TYPES_PART, with_override(self.parts[CONTENT_TYPES_PART], part, content_type))

    def tobytes(self, date_time: tuple[int, int, int, int, int, int] | None = None) -> bytes:
        """The package as a zip; ``date_time`` stamps every entry (a reproducible build)."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in self.order:
                info = zipfile.ZipInfo(name, date_time or (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, self.parts[name])
        return out.getvalue()


def _source_of(rels_part: str) -> str:
    """``xl/_rels/workbook.xml.rels`` -> ``xl/workbook.xml``."""
    folder, name = posixpath.split(rels_part)
    return posixpath.join(posixpath.dirname(folder), name.removesuffix(".rels"))


def write_package(src: Path, dst: Path, replaced: Mapping[str, bytes], removed: Iterable[str] = ()) -> None:
    """Copy the package ``src`` to ``dst`` with some parts replaced or removed, whole or not at all.

    Every other entry keeps its name, time, compression and attributes.
    """
    removed = set(removed)
    folder = dst.parent
    if not folder.is_dir():
        raise WorkbookError(f"{dst}: the folder {folder} does not exist")
    try:
        with atomic_write(dst) as temporary:
            with zipfile.ZipFile(src) as archive, zipfile.ZipFile(temporary, "w") as copy_:
                for info in archive.infolist():
                    if info.filename in removed:
                        continue
                    data = replaced.get(info.filename)
                    copy_.writestr(_entry(info), archive.read(info.filename) if data is None else data)
                for name, data in replaced.items():
                    if name not in copy_.NameToInfo:
                        copy_.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    except PermissionError as error:
        raise WorkbookError(f"{dst}: cannot be replaced ({error.strerror}); is it open in Excel?") from error


def _entry(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh entry with the original's name, time, compression and attributes."""
    date_time = info.date_time if info.date_time[0] >= 1980 else (1980, 1, 1, 0, 0, 0)
    entry = zipfile.ZipInfo(info.filename, date_time)
    entry.compress_type = info.compress_type
    entry.comment = info.comment
    entry.external_attr = info.external_attr
    entry.create_system = info.create_system
    return entry
