"""Text as a workbook stores it (ECMA-376 ST_Xstring): ``_xHHHH_`` for what XML cannot hold.

A carriage return and the control characters XML 1.0 refuses are written ``_x000D_``...; a
literal ``_x0041_`` in the text is protected as ``_x005F_x0041_`` so that no reader decodes it.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_LOOKS_ESCAPED = re.compile(r"_(?=[xX][0-9A-Fa-f]{4}_)")
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def encode_xstring(text: str) -> str:
    """``text`` as a cell or shared string holds it."""
    if "_x" in text or "_X" in text:
        text = _LOOKS_ESCAPED.sub("_x005F_", text)
    if _NOT_IN_XML.search(text) is None:
        return text
    return _NOT_IN_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def decode_xstring(text: str) -> str:
    """Undo the ``_xHHHH_`` escapes (``_x000D_`` is a carriage return)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
