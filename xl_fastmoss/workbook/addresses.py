"""A1 cell addresses: column letters, cells, ranges, and sheet names as a formula writes them."""

from __future__ import annotations

import re

__all__ = [
    "MAX_COLUMN",
    "MAX_ROW",
    "R1C1_LIKE",
    "absolute_cell",
    "cell_name",
    "column_letters",
    "column_number",
    "is_cell_ref",
    "quote_sheet",
    "range_text",
    "split_cell",
    "split_range",
]

MAX_ROW = 1_048_576
MAX_COLUMN = 16_384

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_SIMPLE_SHEET = re.compile(r"^[A-Za-z_\u00A1-\uFFFF][A-Za-z0-9_.\u00A1-\uFFFF]*$")
R1C1_LIKE = re.compile(r"^(R|C|R\d*C\d*|R\d+|C\d+)$", re.IGNORECASE)


def column_number(letters: str) -> int:
    """``"A"`` -> 1, ``"XFD"`` -> 16384."""
    number = 0
    for char in letters.upper():
        number = number * 26 + (ord(char) - 64)
    return number


def column_letters(number: int) -> str:
    """1 -> ``"A"``, 16384 -> ``"XFD"``."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def is_cell_ref(text: str) -> bool:
    """True for a single-cell A1 reference inside the sheet's limits (``$`` markers allowed)."""
    match = _CELL.match(text)
    if not match:
        return False
    row = int(match.group(2))
    return 1 <= row <= MAX_ROW and column_number(match.group(1)) <= MAX_COLUMN


def split_cell(text: str) -> tuple[int, int]:
    """``"$B$3"`` -> ``(3, 2)`` as (row, column); raises ValueError for anything else."""
    match = _CELL.match(text)
    if match is None or not is_cell_ref(text):
        raise ValueError(f"not a cell reference: {text!r}")
    return int(match.group(2)), column_number(match.group(1))


def cell_name(row: int, column: int) -> str:
    """``(3, 2)`` -> ``"B3"``."""
    return f"{column_letters(column)}{row}"


def absolute_cell(text: str) -> str:
    """``"B3"`` or ``"$B3"`` -> ``"$B$3"``."""
    row, column = split_cell(text)
    return f"${column_letters(column)}${row}"


def split_range(text: str) -> tuple[int, int, int, int]:
    """``"B3:O13"`` (or one cell) -> (first row, first column, last row, last column)."""
    first, _, last = text.partition(":")
    r1, c1 = split_cell(first)
    r2, c2 = split_cell(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def range_text(first_row: int, first_column: int, last_row: int, last_column: int) -> str:
    """The A1 text of a block, a single cell when it is one cell."""
    first = cell_name(first_row, first_column)
    if (first_row, first_column) == (last_row, last_column):
        return first
    return f"{first}:{cell_name(last_row, last_column)}"


def quote_sheet(name: str) -> str:
    """A sheet name as a formula prefix needs it: ``Data`` or ``'My Sheet'`` (no ``!``)."""
    if _SIMPLE_SHEET.match(name) and not is_cell_ref(name) and not R1C1_LIKE.match(name):
        return name
    return "'" + name.replace("'", "''") + "'"
