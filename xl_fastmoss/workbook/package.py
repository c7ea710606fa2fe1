"""A workbook file as an Open XML package: a zip of parts, their relationships and content types.

The one place that knows how parts are named and found (case-insensitively, as Excel does),
how relationship targets resolve, how content types are declared, and how an edited part is
serialised under the XML declaration it had. The reader, the writer, the template builder and
the tests all go through it.

A workbook file may be hostile, so every part is read here, and only here, within bounds: an
entry named with ``..`` or an absolute path, an encrypted or corrupt entry, an XML part with a
DOCTYPE, a part that decompresses past :data:`MAX_PART_BYTES` or a package past
:data:`MAX_PACKAGE_BYTES` is refused with one line naming it, checked while decompressing, not
only from the sizes the zip declares. A part a copy keeps unchanged is read through the same
way (once: :attr:`PackageFile.verified`) before its compressed bytes are copied.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..files import atomic_write
from .archive import ArchiveWriter

PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_DOC_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
CONTENT_TYPES_PART = "[Content_Types].xml"

#: Never resolves entities nor reaches the network: a workbook may be hostile.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)

#: The most one part may decompress to. A sheet of 500,000 cells is 20 to 60 MB of XML, so this
#: holds sheets of several million cells; a zip bomb stops here.
MAX_PART_BYTES = 256 * 2**20
#: The most all the parts of a package may decompress to together.
MAX_PACKAGE_BYTES = 1024 * 2**20
#: The most entries a package may have (a workbook of 1,000 sheets has about 5,000).
MAX_PARTS = 20_000
#: Bytes read at a time while decompressing or copying a part.
_CHUNK = 1 << 20
#: A DOCTYPE may only come in the prolog, before the root element: this much is searched.
_PROLOG_BYTES = 64 * 1024
_DOCTYPE = re.compile(rb"^(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*<!DOCTYPE", re.DOTALL)
#: What a Compound File (OLE) starts with: a password-protected workbook, or an old .xls.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SUPPORTED_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})

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
    # The element, not its tree: a DOCTYPE the part came with is never written back.
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    match = _DECLARATION.match(original)
    if match:
        declaration = match.group(0)
        encoding = re.search(rb"encoding\s*=\s*[\"']([^\"']+)", declaration)
        if encoding is None or encoding.group(1).lower().replace(b"-", b"") == b"utf8":
            return declaration + body
    return _DEFAULT_DECLARATION + body


class PackageFile:
    """A package on disk, read part by part; part names are matched case-insensitively.

    Opening checks every entry's name, encryption, compression method and declared size;
    :meth:`read` and :func:`part_chunks` enforce the size caps again while decompressing (a zip may
    declare sizes it does not keep to) and refuse an XML part with a DOCTYPE.

    The zip stays open from one read to the next until :meth:`close` (or the end of a ``with``
    block; the next read opens it again), so that its directory is read once: opening it again for
    each part read cost parts x parts (a workbook of 200 sheets opened it 600 times).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        #: Bytes decompressed so far by :meth:`read`, against :data:`MAX_PACKAGE_BYTES`.
        self.bytes_read = 0
        #: Parts read to their end, their CRC checked.
        self.verified: set[str] = set()
        self._archive: zipfile.ZipFile | None = None
        try:
            with open(self.path, "rb") as file:
                if file.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
                    raise WorkbookError(
                        f"{self.path}: a password-protected (encrypted) workbook or an old .xls file; "
                        "save it from Excel as .xlsx or .xlsm without a password")
            self._archive = zipfile.ZipFile(self.path)
            self.infos = self._archive.infolist()
        except zipfile.BadZipFile as error:
            raise WorkbookError(f"{self.path}: not a readable Excel workbook ({error})") from None
        except (OSError, EOFError, ValueError) as error:
            raise WorkbookError(f"{self.path}: cannot be read ({_reason(error)})") from None
        try:
            check_entries(self.path, self.infos)
        except BaseException:
            self.close()
            raise
        self.names = [info.filename for info in self.infos]
        self._by_lower = {name.lower(): name for name in self.names}

    def close(self) -> None:
        """Let go of the file (a part read after this opens it again)."""
        archive, self._archive = self._archive, None
        if archive is not None:
            archive.close()

    def __enter__(self) -> PackageFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def part(self, name: str) -> str | None:
        """The part's name as stored, or None when the package has no such part."""
        return self._by_lower.get(name.lower())

    def read(self, name: str) -> bytes:
        """A part's bytes, decompressed within the caps; an XML part with a DOCTYPE is refused."""
        return b"".join(self.chunks(name))

    def chunks(self, name: str) -> Iterator[bytes]:
        """A part's bytes as chunks, decompressed within the caps, as :meth:`read` gives them whole.

        A part read to its end has had its CRC checked: it joins :attr:`verified`.
        """
        stored = self.part(name)
        if stored is None:
            raise WorkbookError(f"{self.path}: the part {name} is missing")
        if self._archive is None:
            try:
                self._archive = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as error:
                raise WorkbookError(f"{self.path}: cannot be read ({_reason(error)})") from None
        for chunk in part_chunks(self.path, self._archive, stored):
            self.bytes_read += len(chunk)
            if self.bytes_read > MAX_PACKAGE_BYTES:
                raise WorkbookError(f"{self.path}: its parts decompress to more than "
                                    f"{_mib(MAX_PACKAGE_BYTES)}, the most a workbook may hold here")
            yield chunk
        self.verified.add(stored)

    def verify(self, name: str) -> None:
        """Read a part through without keeping it (CRC, size caps, DOCTYPE), unless done already."""
        if self.part(name) not in self.verified:
            for _ in self.chunks(name):
                pass

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


def check_entries(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a package whose entries are unsafe or too large by what the zip declares."""
    if len(infos) > MAX_PARTS:
        raise WorkbookError(f"{path}: {len(infos)} parts, more than the {MAX_PARTS} a workbook may have here")
    total = 0
    for info in infos:
        name = info.filename
        segments = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in segments or re.match(r"^[A-Za-z]:", name):
            raise WorkbookError(f"{path}: the part name {name!r} points outside the package; refused")
        if info.flag_bits & 0x1:
            raise WorkbookError(f"{path}: the part {name} is encrypted; save the workbook without a password")
        if info.compress_type not in _SUPPORTED_COMPRESSION:
            raise WorkbookError(f"{path}: the part {name} uses an unsupported compression "
                                f"(method {info.compress_type}); Excel writes deflate")
        if info.file_size > MAX_PART_BYTES:
            raise WorkbookError(f"{path}: the part {name} decompresses to {_mib(info.file_size)}, more than "
                                f"{_mib(MAX_PART_BYTES)}, the most one part may hold here")
        if info.compress_size > MAX_PART_BYTES:
            raise WorkbookError(f"{path}: the part {name} is stored in {_mib(info.compress_size)}, more than "
                                f"{_mib(MAX_PART_BYTES)}, the most one part may hold here")
        total += info.file_size
    if total > MAX_PACKAGE_BYTES:
        raise WorkbookError(f"{path}: its parts decompress to {_mib(total)}, more than "
                            f"{_mib(MAX_PACKAGE_BYTES)}, the most a workbook may hold here")


def part_chunks(path: Path, archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The stored part ``name`` of ``archive`` as chunks, decompressed within :data:`MAX_PART_BYTES`.

    An XML part declaring a DOCTYPE, a corrupt or encrypted entry: WorkbookError naming the part.
    """
    size = 0
    first = True
    try:
        with archive.open(name) as part:
            while chunk := part.read(_CHUNK):
                size += len(chunk)
                if size > MAX_PART_BYTES:
                    raise WorkbookError(f"{path}: the part {name} decompresses to more than "
                                        f"{_mib(MAX_PART_BYTES)}, the most one part may hold here")
                if first and _is_xml(name) and _DOCTYPE.match(chunk[:_PROLOG_BYTES]):
                    raise WorkbookError(f"{path}: the part {name} declares a DOCTYPE, which "
                                        "workbook parts may not have (ECMA-376 Part 2); refused")
                first = False
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            OSError, ValueError) as error:
        raise WorkbookError(f"{path}: the part {name} is corrupt ({_reason(error)})") from None


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB" if size >= 2**20 else f"{size:,} bytes"


@dataclass(frozen=True)
class SourceSnapshot:
    """What a file was when a job started: its identity, size, modification time and digest.

    :meth:`check` raises when the path no longer holds that same file and content, so that a
    copy made while someone saved the file (an analyst in Excel) is never put in place.
    """

    path: Path
    identity: tuple[int, int, int, int]
    digest: str

    @classmethod
    def take(cls, path: str | Path) -> SourceSnapshot:
        path = Path(path)
        try:
            return cls(path, _identity(path), _digest(path))
        except OSError as error:
            raise WorkbookError(f"{path}: cannot be read ({_reason(error)})") from None

    def check(self) -> None:
        try:
            unchanged = _identity(self.path) == self.identity and _digest(self.path) == self.digest
        except OSError:
            unchanged = False
        if not unchanged:
            raise WorkbookError(f"{self.path}: the workbook changed while the copy was being made "
                                "(saved in Excel?); nothing was written, run the refresh again")


def _identity(path: Path) -> tuple[int, int, int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


def write_package(src: Path, dst: Path, replaced: Mapping[str, bytes | Iterable[bytes]], removed: Iterable[str] = (),
                  before_replace: Callable[[], None] | None = None, package: PackageFile | None = None) -> None:
    """Copy the package ``src`` to ``dst`` with some parts replaced or removed, whole or not at all.

    A replaced part is its bytes, or its pieces (compressed as they come, never held whole).
    Every other entry keeps its name, time, compression and attributes, and its compressed bytes
    as they are (:mod:`.archive`); each is first read through the same caps and checks as a part
    read (:class:`PackageFile`), unless ``package`` (``src`` opened) has read it whole already.
    ``before_replace`` runs once the copy is complete, before it replaces ``dst``; when it raises,
    ``dst`` is left as it was.
    """
    removed = set(removed)
    folder = dst.parent
    if not folder.is_dir():
        raise WorkbookError(f"{dst}: the folder {folder} does not exist")
    opened = package is None
    package = package or PackageFile(src)
    try:
        with atomic_write(dst) as temporary:
            try:
                _copy_entries(src, temporary, package, replaced, removed)
            except (WorkbookError, ValueError):
                if before_replace is not None:
                    before_replace()  # a source saved meanwhile explains a failed copy best
                raise
            if before_replace is not None:
                before_replace()
    except ValueError as error:
        raise WorkbookError(f"{src}: cannot be copied ({error})") from None
    except PermissionError as error:
        raise WorkbookError(f"{dst}: cannot be written ({error.strerror}); is it open in Excel, "
                            "or is the folder read-only?") from None
    except OSError as error:
        raise WorkbookError(f"{dst}: cannot be written ({_reason(error)})") from None
    finally:
        if opened:
            package.close()


def _copy_entries(src: Path, temporary: Path, package: PackageFile, replaced: Mapping[str, bytes | Iterable[bytes]],
                  removed: set[str]) -> None:
    copied = 0
    with open(src, "rb") as source, open(temporary, "wb") as out:
        archive = ArchiveWriter(out)
        written = set()
        for info in package.infos:
            if info.filename in removed:
                continue
            written.add(info.filename)
            data = replaced.get(info.filename)
            if data is not None:
                archive.write(_entry(info), data)
                continue
            package.verify(info.filename)
            copied += info.compress_size
            if copied > MAX_PACKAGE_BYTES:
                raise WorkbookError(f"{src}: its parts are stored in more than "
                                    f"{_mib(MAX_PACKAGE_BYTES)}, the most a workbook may hold here")
            archive.copy(source, info, _entry(info))
        for name, data in replaced.items():
            if name not in written:
                entry = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o600 << 16
                archive.write(entry, data)
        archive.close()


def _entry(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh entry with the original's name, time, compression and attributes."""
    date_time = info.date_time if info.date_time[0] >= 1980 else (1980, 1, 1, 0, 0, 0)
    entry = zipfile.ZipInfo(info.filename, date_time)
    entry.compress_type = info.compress_type
    entry.comment = info.comment
    entry.external_attr = info.external_attr or 0o600 << 16
    entry.create_system = info.create_system
    return entry
