"""MS-OVBA compression ([MS-OVBA] 2.4.1) to an exact size, for a module stream rewritten in place.

Hand-written because no library does this: ``olefile`` rewrites a stream only at its existing
size, and a module stream's source container runs to the end of its stream ([MS-OVBA] 2.3.4.3:
CompressedSourceCode follows the MODULEOFFSET bytes of PerformanceCache), so the new source must
compress to exactly the bytes the old one took. ``ms-ovba-compression`` (PyPI) and Office compress
greedily to the smallest container; padding it with further chunks is not allowed, since every
chunk but the last decompresses to 4096 bytes ([MS-OVBA] 2.4.1.1.3, and ms-ovba-compression's
decompressor refuses more), so the padding has to be inside the one chunk. This encoder writes
the same token sequences (2.4.1.1.7: a flag byte, then up to eight literal or copy tokens) and
chooses, among the copy tokens the greedy parse could use, which to write as literals, so that
the container has exactly the size asked. Sources of up to 4096 bytes (one chunk) only.
"""

from __future__ import annotations

CHUNK = 4096
SIGNATURE = b"\x01"  # CompressedContainer.SignatureByte, 2.4.1.1.1
_COPY, _LITERAL = 2, 1  # bytes of a copy token and of a literal token


class CompressionError(ValueError):
    """The source cannot be encoded in one chunk of the size asked."""


def _bit_count(position: int) -> int:
    """CopyToken Help (2.4.1.3.19.1): offset bits for a token at ``position`` of its chunk."""
    return max((position - 1).bit_length(), 4)


def _max_length(position: int) -> int:
    return (0xFFFF >> _bit_count(position)) + 3


def _longest_matches(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of the longest earlier match at each position (length 0 when under 3)."""
    earlier: dict[bytes, list[int]] = {}  # where each 3 bytes occurred: a match starts with them
    matches = []
    for i in range(len(data)):
        best_length, best_offset = 0, 0
        limit = min(_max_length(i), len(data) - i) if i else 0
        for j in reversed(earlier.get(data[i:i + 3], ())):  # nearest first, as Matching (2.4.1.3.19.4) does
            length = 0
            while length < limit and data[j + length] == data[i + length]:
                length += 1
            if length > best_length:
                best_length, best_offset = length, i - j
        matches.append((best_offset, best_length) if best_length >= 3 else (0, 0))
        earlier.setdefault(data[i:i + 3], []).append(i)
    return matches


def compress_to_size(data: bytes, size: int) -> bytes:
    """A CompressedContainer of exactly ``size`` bytes that decompresses to ``data``.

    Raises CompressionError when no single-chunk encoding has that size (the source is too
    long or too short for the space).
    """
    if not 0 < len(data) <= CHUNK:
        raise CompressionError(f"{len(data)} bytes of source: one chunk holds 1 to {CHUNK}")
    chunk_data = size - len(SIGNATURE) - 2  # the chunk header is 2 bytes
    matches = _longest_matches(data)
    n = len(data)
    # reach[i][m]: bitset of the byte counts that can encode data[i:] when m tokens of the
    # current token sequence are already written (a flag byte precedes tokens 0, 8, 16 ...).
    reach = [[0] * 8 for _ in range(n + 1)]
    reach[n] = [1] * 8
    for i in range(n - 1, -1, -1):
        offset, longest = matches[i]
        for m in range(8):
            flag = 1 if m == 0 else 0
            after = (m + 1) % 8
            bits = reach[i + 1][after] << (_LITERAL + flag)
            for length in range(3, longest + 1):
                bits |= reach[i + length][after] << (_COPY + flag)
            reach[i][m] = bits
    if chunk_data < 0 or not reach[0][0] >> chunk_data & 1:
        smallest = (reach[0][0] & -reach[0][0]).bit_length() - 1 + 3
        raise CompressionError(f"{n} bytes of source compress to {smallest} to {reach[0][0].bit_length() - 1 + 3} "
                               f"bytes in one chunk, not {size}")
    return SIGNATURE + _header(chunk_data) + _encode(data, matches, reach, chunk_data)


def _encode(data: bytes, matches, reach, remaining: int) -> bytes:
    out = bytearray()
    i, m, flag_at = 0, 0, -1
    while i < len(data):
        flag = 1 if m == 0 else 0
        if flag:
            flag_at = len(out)
            out.append(0)
        after = (m + 1) % 8
        offset, longest = matches[i]
        choice = None
        for length in range(longest, 2, -1):  # longest first, as a greedy compressor would
            rest = remaining - _COPY - flag
            if rest >= 0 and reach[i + length][after] >> rest & 1:
                choice = length
                break
        if choice is None:
            out.append(data[i])
            remaining -= _LITERAL + flag
            i += 1
        else:
            bits = _bit_count(i)
            token = ((offset - 1) << (16 - bits)) | (choice - 3)  # 2.4.1.3.19.3 Pack CopyToken
            out += token.to_bytes(2, "little")
            out[flag_at] |= 1 << m
            remaining -= _COPY + flag
            i += choice
        m = after
    if remaining != 0:
        raise AssertionError("the encoder missed its size")
    return bytes(out)


def _header(chunk_data: int) -> bytes:
    """CompressedChunkHeader (2.4.1.1.5): size - 3 in 12 bits, signature 0b011, compressed flag 1."""
    value = (chunk_data + 2 - 3) | (0b011 << 12) | (1 << 15)
    return value.to_bytes(2, "little")

