"""A zip archive written entry by entry, an unchanged entry copied as the compressed bytes it had.

zipfile can only write an entry from its uncompressed bytes, so copying a package through it
decompresses and compresses every part again (CPython gh-113924 asks for a raw copy; its pull
request is open). A values copy changes a few parts of a package that may hold 50 MB of XML,
so this module writes the zip format itself (PKWARE APPNOTE 6.3: local headers, the central
directory, its end record) and copies the other entries' compressed bytes from the source's
local headers. No ZIP64: a package here holds at most 1 GiB of parts (package.MAX_PACKAGE_BYTES).

It checks nothing of what it copies: the caller verifies an entry (its CRC, its size caps)
before copying it, as :func:`package.write_package` does.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterable
from typing import BinaryIO

__all__ = ["ArchiveWriter"]

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_VERSION = 20  # what a reader needs for deflate (APPNOTE 4.4.3)
_UTF8_NAME = 0x800
#: The general purpose bits a copy keeps: the deflate options (1, 2). The data-descriptor bit
#: (3) is dropped, as sizes and CRC go in the local header.
_KEPT_FLAGS = 0x6
_LIMIT = 0xFFFFFFFF
_CHUNK = 1 << 20


class ArchiveWriter:
    """Write a zip to ``file`` (open for writing, positioned at its start); :meth:`close` ends it."""

    def __init__(self, file: BinaryIO):
        self.file = file
        self.offset = 0
        self.central: list[bytes] = []

    def copy(self, source: BinaryIO, info: zipfile.ZipInfo, entry: zipfile.ZipInfo | None = None) -> None:
        """Copy the entry ``info`` of the zip ``source`` as it is stored: no decompression.

        ``entry`` gives the copy's name, time and attributes (``info``'s by default).
        """
        source.seek(info.header_offset)
        header = source.read(_LOCAL.size)
        if len(header) != _LOCAL.size or header[:4] != _LOCAL_SIGNATURE:
            raise ValueError(f"the local header of {info.filename} is missing")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        source.seek(info.header_offset + _LOCAL.size + name_length + extra_length)
        self._header(entry or info, info.CRC, info.compress_size, info.file_size, info.flag_bits & _KEPT_FLAGS,
                     info.compress_type)
        left = info.compress_size
        while left:
            piece = source.read(min(left, _CHUNK))
            if not piece:
                raise ValueError(f"the data of {info.filename} ends early")
            self.file.write(piece)
            left -= len(piece)
        self.offset += info.compress_size

    def write(self, info: zipfile.ZipInfo, data: bytes | Iterable[bytes]) -> None:
        """Write ``data`` (bytes, or pieces compressed as they come) as the entry ``info`` (its
        name, time, compression and attributes). The file must be seekable: the local header,
        which comes first, gets the sizes and CRC once the data is written."""
        if info.compress_type == zipfile.ZIP_DEFLATED:
            compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        elif info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{info.filename}: compression method {info.compress_type} cannot be written")
        start, header_offset = self.file.tell(), self.offset
        self._header(info, 0, 0, 0, 0, info.compress_type)
        self.central.pop()
        crc = size = compressed = 0
        for piece in [data] if isinstance(data, bytes) else data:
            crc, size = zlib.crc32(piece, crc), size + len(piece)
            stored = compressor.compress(piece) if info.compress_type == zipfile.ZIP_DEFLATED else piece
            self.file.write(stored)
            compressed += len(stored)
        if info.compress_type == zipfile.ZIP_DEFLATED:
            stored = compressor.flush()
            self.file.write(stored)
            compressed += len(stored)
        end = self.file.tell()
        self.file.seek(start)
        self.offset = header_offset
        self._header(info, crc, compressed, size, 0, info.compress_type)
        self.file.seek(end)
        self.offset += compressed

    def close(self) -> None:
        """Write the central directory and its end record."""
        directory = b"".join(self.central)
        if len(self.central) > 0xFFFF or self.offset + len(directory) > _LIMIT:
            raise ValueError("the archive would need ZIP64")
        self.file.write(directory)
        self.file.write(_END.pack(b"PK\x05\x06", 0, 0, len(self.central), len(self.central), len(directory),
                                  self.offset, 0))

    def _header(self, info: zipfile.ZipInfo, crc: int, compressed: int, size: int, flags: int, method: int) -> None:
        if max(compressed, size, self.offset + compressed) >= _LIMIT:
            raise ValueError(f"{info.filename}: the archive would need ZIP64")
        try:
            name = info.filename.encode("ascii")
        except UnicodeEncodeError:
            name, flags = info.filename.encode("utf-8"), flags | _UTF8_NAME
        year, month, day, hour, minute, second = info.date_time if info.date_time[0] >= 1980 else (1980, 1, 1, 0, 0, 0)
        dos_date = (year - 1980) << 9 | month << 5 | day
        dos_time = hour << 11 | minute << 5 | second // 2
        self.file.write(_LOCAL.pack(_LOCAL_SIGNATURE, _VERSION, 0, flags, method, dos_time, dos_date,
                                    crc, compressed, size, len(name), 0) + name)
        comment = info.comment
        self.central.append(_CENTRAL.pack(
            b"PK\x01\x02", _VERSION, info.create_system, _VERSION, 0, flags, method, dos_time,
            dos_date, crc, compressed, size, len(name), 0, len(comment), 0, 0, info.external_attr,
            self.offset) + name + comment)
        self.offset += _LOCAL.size + len(name)
