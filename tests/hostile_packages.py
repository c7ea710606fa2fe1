"""Workbook packages a careless or hostile world makes, written byte by byte where zipfile would refuse.

``write_zip`` lays out local headers, data and the central directory itself, so an entry may
declare a size it does not keep to, carry an encryption flag, name ``../`` or use another
compression method; ``bomb_entry`` makes a small deflate stream that decompresses to gigabytes
in well under a second (blocks ended by a full flush are independent and can be repeated).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from package_helpers import MAIN

CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)
ROOT_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
FM_SHEET = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><f>FM_MOSTPROMOTED("US",14,"day",'
            '"2026-04-01","rows",3)</f></c></row></sheetData></worksheet>')


@dataclass
class Entry:
    name: str
    #: The bytes stored (already compressed when ``method`` is 8).
    stored: bytes
    crc: int
    size: int
    method: int = 8
    flags: int = 0


def entry(name: str, text: str | bytes, **changes) -> Entry:
    """A well-formed deflated entry; ``changes`` override what it declares."""
    data = text.encode() if isinstance(text, str) else text
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    made = Entry(name, compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data))
    for key, value in changes.items():
        setattr(made, key, value)
    return made


def bomb_entry(name: str, size: int, *, declared: int | None = None) -> Entry:
    """An XML part decompressing to ``size`` bytes from a few MB; it may declare another size."""
    chunk = b"<row><c><v>0</v></c></row>" * 40_000  # about 1 MB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    head = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    opener = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = opener.compress(head) + opener.flush(zlib.Z_FULL_FLUSH)
    count = max(1, (size - len(head)) // len(chunk))
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    total = len(head) + count * len(chunk)
    # The CRC is never reached: the part is refused by its size first (a true size) or cut
    # short at the size it declares (a false one), which then fails the CRC check.
    return Entry(name, start + block * count + final, 0, total if declared is None else declared)


def write_zip(path, entries: list[Entry]) -> None:
    """A zip archive of ``entries`` exactly as they declare themselves."""
    body = bytearray()
    directory = bytearray()
    for item in entries:
        name = item.name.encode()
        offset = len(body)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, item.flags, item.method, 0, 0x21,
                            item.crc, len(item.stored), item.size, len(name), 0) + name + item.stored
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, item.flags, item.method, 0, 0x21,
                                 item.crc, len(item.stored), item.size, len(name), 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    with open(path, "wb") as file:
        file.write(bytes(body) + bytes(directory) + end)


def workbook(path, sheet: Entry | None = None, *extra: Entry) -> None:
    """A one-sheet workbook (an FM_ formula in Data!A1 unless ``sheet`` says otherwise)."""
    write_zip(path, [
        entry("[Content_Types].xml", CONTENT_TYPES),
        entry("_rels/.rels", ROOT_RELS),
        entry("xl/workbook.xml", WORKBOOK),
        entry("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        sheet or entry("xl/worksheets/sheet1.xml", FM_SHEET),
        *extra,
    ])
