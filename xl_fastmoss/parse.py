"""Ranking payloads to typed tables: pure functions, no I/O.

A vendor response that drifts (a field missing, of another type, absurdly large, NaN) degrades
to blank cells and a warning on the result, never to an exception. :func:`read_page` is what
the transport runs on every answer before it is cached or shown: a page it refuses is neither.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from .columns import COLUMNS, ID, RATE, Column, columns_for
from .endpoints import Endpoint
from .errors import InvalidResponse

_INT64_MAX = 2**63 - 1


#: Decimal exponents beyond this make no float: "1e1000005%" is a blank, not an overflow.
_LARGEST_EXPONENT = 300


#: A table's columns as typed arrays (pandas extension arrays or numpy arrays), in column order.
Columns = dict[str, Any]


@dataclass
class Page:
    """One page as the API answered it; ``columns`` and ``row_warnings`` once :func:`read_page` read its rows."""

    #: The rows as the JSON had them, until :func:`read_page` reads them into ``columns``; then
    #: empty, so that a refresh does not hold every page's JSON until its last page answers.
    rows: list
    total: int | None
    date_type: str | None
    date_value: str | None
    request_id: str | None
    warnings: list[str] = field(default_factory=list)
    #: The rows as typed columns, ranks counted from the page's first rank. Not a frame: a table
    #: of several pages is made into one frame from its pages' columns (:func:`frame_of`).
    columns: Columns | None = None
    #: (rank, warning) for each field that became a blank.
    row_warnings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.columns["rank"]) if self.columns is not None else len(self.rows)

    @property
    def frame(self) -> pd.DataFrame | None:
        """The rows as a frame of their own, made on each access."""
        if self.columns is None:
            return None
        return frame_of([{name: array.copy() for name, array in self.columns.items()}])


def read_page(payload: object, endpoint: Endpoint, first_rank: int, page_size: int) -> Page:
    """The envelope checked and at most ``page_size`` rows read into a typed frame.

    Raises InvalidResponse when the envelope is not the documented one, or when the rows cannot
    become a table for any reason, so that such a page is never cached.
    """
    page = read_envelope(payload)
    rows = page.rows[:page_size]
    try:
        page.columns, page.row_warnings = typed_columns(rows, endpoint, first_rank)
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as error:
        suffix = f" [request_id {page.request_id}]" if page.request_id else ""
        raise InvalidResponse(f"FastMoss answered rows that cannot be read as a table "
                              f"({type(error).__name__}){suffix}") from None
    page.rows = []
    return page


def read_envelope(payload: object) -> Page:
    """Check the documented envelope of a successful (code 0) answer and return its page.

    Raises InvalidResponse when ``data`` or ``data.list`` is missing or of the wrong kind.
    """
    if not isinstance(payload, dict):
        raise InvalidResponse("FastMoss answered JSON that is not an object")
    request_id = _text(payload.get("request_id"))
    data = payload.get("data")
    suffix = f" [request_id {request_id}]" if request_id else ""
    if not isinstance(data, dict):
        raise InvalidResponse(f"FastMoss answered code 0 without a `data` object{suffix}")
    rows = data.get("list")
    if rows is None and data.get("total") == 0:
        rows = []
    if not isinstance(rows, list):
        raise InvalidResponse(f"FastMoss answered code 0 without a `data.list` array{suffix}")
    warnings = []
    total = data.get("total")
    if not _is_int(total) or total < 0:
        if total is not None:
            warnings.append(f"data.total {_short(total)} is not a count; ignored")
        total = None
    return Page(rows=rows, total=total, date_type=_text(data.get("date_type")),
                date_value=_text(data.get("date_value")), request_id=request_id, warnings=warnings)


def rows_to_frame(rows: list, endpoint: Endpoint, first_rank: int = 1,
                  warnings: list[str] | None = None) -> pd.DataFrame:
    """A DataFrame of ``rows`` (``data.list`` items) with fixed columns and dtypes.

    ``rank`` counts from ``first_rank``; fields that cannot be read become blanks and add a
    line to ``warnings``.
    """
    frame, found = rows_and_warnings(rows, endpoint, first_rank)
    if warnings is not None:
        warnings.extend(text for _, text in found)
    return frame


def rows_and_warnings(rows: list, endpoint: Endpoint,
                      first_rank: int = 1) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """:func:`rows_to_frame`, with each warning beside the rank of the row it is about."""
    columns, found = typed_columns(rows, endpoint, first_rank)
    return frame_of([columns]), found


def typed_columns(rows: list, endpoint: Endpoint, first_rank: int = 1) -> tuple[Columns, list[tuple[int, str]]]:
    """The endpoint's columns of ``rows`` as typed arrays, and each warning beside its rank."""
    if all(type(row) is dict and type(row.get("shop_info")) is dict for row in rows):
        values, found = _read_by_column(rows, first_rank)
    else:
        values, found = {c.name: [] for c in COLUMNS}, []
        for i, row in enumerate(rows):
            rank = first_rank + i
            warnings: list[str] = []
            _flatten(row, rank, warnings, values)
            found += [(rank, text) for text in warnings]
    return {c: _typed_array(values[c], c) for c in columns_for(endpoint)}, found


def frame_of(parts: list[Columns]) -> pd.DataFrame:
    """One frame of the columns of ``parts`` (at least one, all with the same columns), one part
    after the other. It holds the parts' arrays (one part) or their joins, not copies: a write to
    it reaches them, and through them every table made of the same pages. A table's frame is
    handed out only through :meth:`.result.RankingResult.first`, whose frame is a copy.

    Arrays, not Series: a frame made of Series aligns their indexes first, which costs more than
    reading the rows; and the columns of several pages are joined an array at a time, which costs
    less than joining frames of them.
    """
    if len(parts) == 1:
        data = dict(parts[0])
    else:
        data = {name: _joined([part[name] for part in parts]) for name in parts[0]}
    return pd.DataFrame(data, columns=list(data), copy=False)


def _joined(arrays: list) -> Any:
    if isinstance(arrays[0], np.ndarray):
        return np.concatenate(arrays)
    return type(arrays[0])._concat_same_type(arrays)  # the extension array interface's join


def _typed_array(values: list, column: str) -> Any:
    """One column's values (of its type, or None for a blank) as an array of its dtype; whole
    numbers and decimals are handed to numpy whole, which pd.array would look at one by one."""
    dtype = _DTYPES[column]
    if dtype is _INT64:
        if _NONE in set(map(type, values)):
            return pd.arrays.IntegerArray(np.array([0 if v is None else v for v in values], dtype=np.int64),
                                          np.array([v is None for v in values], dtype=bool))
        return pd.arrays.IntegerArray(np.array(values, dtype=np.int64), np.zeros(len(values), dtype=bool))
    if dtype is _FLOAT64:
        return np.array(values, dtype=np.float64)  # None is NaN, pandas' blank of a float column
    return pd.array(values, dtype=dtype)


_INT64, _FLOAT64 = pd.Int64Dtype(), np.dtype(np.float64)
#: Each column's pandas dtype, looked up once (a dtype given by name is looked up in pandas'
#: registry on every call, which costs as much as building the array) and compared by identity
#: (== of two pandas dtypes costs 25 us).
_DTYPES: dict[str, Any] = {
    c.name: {"Int64": _INT64, "float64": _FLOAT64}.get(c.dtype) or pd.api.types.pandas_dtype(c.dtype) for c in COLUMNS}

# How each column's value is read when it already has the plain type the API documents; any
# other value takes the general path (_read, _seller_id), which blanks it with a warning.
_TEXT, _WHOLE, _DECIMAL, _PERCENT, _ID = range(5)
_FAST_PATH = {"string": _TEXT, "Int64": _WHOLE, "float64": _DECIMAL}
#: A percentage as the API writes it ("-11.63%"): short enough to be exact in Decimal arithmetic,
#: so float(text + "e-2") is the same correctly rounded float as float(Decimal(text) / 100).
_PLAIN_PERCENT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,12})?%?")
_NONE = type(None)
_STR, _INT, _FLOAT, _NUMBER, _ID_TYPES, _DICT = {str}, {int}, {float}, {float, int}, {int, str}, {dict}
#: Rates the API writes for "no figure" (a new shop): blanks without a warning.
BLANK_RATES = frozenset({"", "-", "--", "N/A", "n/a"})
_READERS = tuple((c, c.source, _ID if c.kind is ID else _PERCENT if c.kind is RATE else _FAST_PATH[c.dtype])
                 for c in COLUMNS[1:])


def _read_by_column(rows: list[dict], first_rank: int) -> tuple[dict[str, list], list[tuple[int, str]]]:
    """The columns of rows that are all objects with a shop_info object, a column at a time: a
    column whose every value has the documented plain type is read in one pass; any other is
    read value by value as :func:`_flatten` reads it, with the same warnings in the same order."""
    values: dict[str, list] = {"rank": list(range(first_rank, first_rank + len(rows)))}
    found: list[tuple[int, int, str]] = []
    shop_infos = [row["shop_info"] for row in rows]  # every row has one: see typed_columns
    #: The objects at a path of every row, or None where one of them is not an object: then
    #: each value under that path is looked up on its own.
    holders: dict[tuple[str, ...], list[dict] | None] = {(): rows, ("shop_info",): shop_infos}

    def held_at(prefix: tuple[str, ...]) -> list[dict] | None:
        if prefix not in holders:
            parents = held_at(prefix[:-1])
            objects: list = [] if parents is None else [parent.get(prefix[-1]) for parent in parents]
            holders[prefix] = objects if parents is not None and set(map(type, objects)) <= _DICT else None
        return holders[prefix]

    for order, (read, path, fast) in enumerate(_READERS):
        parents, name = held_at(path[:-1]), path[-1]
        raw = [parent.get(name) for parent in parents] if parents is not None else [_lookup(row, path) for row in rows]
        if read.name == "currency" and not all(raw):
            raw = [value or info.get("currency") for value, info in zip(raw, shop_infos, strict=True)]
        plain = _plain_column(fast, raw)
        if plain is not None:
            values[read.name] = plain
            continue
        column_values = values[read.name] = []
        for i, value in enumerate(raw):
            warnings: list[str] = []
            column_values.append(_value(read, fast, value, first_rank + i, warnings))
            found += [(first_rank + i, order, text) for text in warnings]
    found.sort(key=lambda warning: warning[:2])  # a row's warnings in column order, as _flatten gives them
    return values, [(rank, text) for rank, _order, text in found]


def _plain_column(fast: int, raw: list) -> list | None:
    """The column's values when each has the plain type the API documents or is null (a blank,
    no warning: see _value and _read), else None. Types are looked at with ``map`` (a loop in C):
    this runs for every column of every page read, stored pages included."""
    types = set(map(type, raw))
    present = [v for v in raw if v is not None] if _NONE in types else raw
    types.discard(_NONE)
    if not present:
        return raw
    if fast == _TEXT:
        return raw if types == _STR else None
    if fast == _WHOLE:
        return raw if types == _INT and -_INT64_MAX <= min(present) and max(present) <= _INT64_MAX else None
    if fast == _DECIMAL:
        if types == _FLOAT and all(map(math.isfinite, present)) and -1e308 < min(present) and max(present) < 1e308:
            return raw
        if types <= _NUMBER and all((-1e308 < v < 1e308) for v in present):  # NaN compares false
            return [None if v is None else float(v) for v in raw]
        return None
    if fast == _PERCENT:
        if types != _STR:
            return None
        rates = [v for v in present if v not in BLANK_RATES] if not BLANK_RATES.isdisjoint(present) else present
        if not all(map(_PLAIN_PERCENT.fullmatch, rates)):
            return None
        return [None if v is None or v in BLANK_RATES else float(v.removesuffix("%") + "e-2") for v in raw]
    if fast == _ID:
        if types == _STR and all(map(str.isdigit, present)):
            return raw
        if types <= _ID_TYPES and all(type(v) is int or v.isdigit() for v in present):
            return [None if v is None else str(v) for v in raw]
    return None


def _flatten(row: object, rank: int, warnings: list[str], values: dict[str, list]) -> None:
    """Append the row's value of each column to ``values`` (blanks where it cannot be read)."""
    values["rank"].append(rank)
    if not isinstance(row, dict):
        warnings.append(f"rank {rank}: row is not an object; left blank")
        for read, _path, _fast in _READERS:
            values[read.name].append(None)
        return
    if not isinstance(row.get("shop_info"), dict):
        warnings.append(f"rank {rank}: shop_info missing; shop columns left blank")
    for read, path, fast in _READERS:
        value = _lookup(row, path)
        if read.name == "currency":
            value = value or _lookup(row, ("shop_info", "currency"))
        values[read.name].append(_value(read, fast, value, rank, warnings))


def _value(read: Column, fast: int, value: object, rank: int, warnings: list[str]) -> object:
    """One field's value in its column's type; a blank, with a warning, where it cannot be read."""
    if fast == _TEXT and type(value) is str:
        return value
    if fast == _WHOLE and type(value) is int and -_INT64_MAX <= value <= _INT64_MAX:
        return value
    if fast == _DECIMAL and (type(value) is float or type(value) is int) and -1e308 < value < 1e308:
        return float(value)
    if fast == _PERCENT and type(value) is str and _PLAIN_PERCENT.fullmatch(value):
        return float(value.removesuffix("%") + "e-2")
    if fast == _ID and (type(value) is int or (type(value) is str and value.isdigit())):
        return str(value)
    if read.kind is ID:
        return _seller_id(value, rank, warnings)
    return _read(read, value, rank, warnings)


def _lookup(row: dict, path: tuple[str, ...]) -> object:
    """The value at ``path`` inside a row, None where an object on the way is missing."""
    value: object = row
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _read(column: Column, value: object, rank: int, warnings: list[str]) -> object:
    if value is None:
        return None
    if column.kind is RATE:
        return _rate(column.name, value, rank, warnings)
    kind = column.dtype
    if kind == "string":
        if isinstance(value, str):
            return value
        if _is_int(value) or isinstance(value, float):
            return str(value)
    elif kind == "float64":
        number = _number(value)
        if number is not None:
            return number
    elif _is_int(value) and abs(value) <= _INT64_MAX:
        return value
    elif isinstance(value, float) and value.is_integer() and abs(value) <= _INT64_MAX:
        return int(value)
    warnings.append(f"rank {rank}: {column.name} {_short(value)} is not a {_kind_name(kind)}; left blank")
    return None


def _seller_id(value: object, rank: int, warnings: list[str]) -> str | None:
    if value is None:
        return None
    if _is_int(value):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    warnings.append(f"rank {rank}: seller_id {_short(value)} is not an exact id; left blank")
    return None


def _rate(column: str, value: object, rank: int, warnings: list[str]) -> float | None:
    """A growth rate as a fraction: "28.8%" -> 0.288. Empty, "-" or null -> blank.

    NaN, infinities and exponents no float holds ("sNaN", "1e1000005%") are blanks with a warning.
    """
    number: Decimal | None = None
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip().replace(",", "")
        if text in BLANK_RATES:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
    elif _is_int(value) or isinstance(value, float):
        number = Decimal(value) if not (isinstance(value, float) and not math.isfinite(value)) else None
    if number is None or not number.is_finite() or number.adjusted() > _LARGEST_EXPONENT:
        warnings.append(f"rank {rank}: {column} {_short(value)} is not a percentage; left blank")
        return None
    fraction = float(number / 100)
    return fraction if math.isfinite(fraction) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value) if abs(value) < 1e308 else math.inf
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind_name(kind: str) -> str:
    return {"string": "text", "float64": "number", "Int64": "whole number"}[kind]


def _short(value: object) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int of thousands of digits, a list nested too deep
        return f"(a {type(value).__name__} too large to show)"
    return text if len(text) <= 40 else text[:37] + "..."
