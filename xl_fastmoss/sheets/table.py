"""Rankings and histories as the rectangle a sheet shows: labels, then one row per shop (or per
period), blanks as None."""

from __future__ import annotations

import math

import pandas as pd

from ..columns import LABELS, default_fields, default_history_fields
from ..errors import FastMossError, MissingApiKey
from ..redact import scrub
from ..result import RankingResult
from ..shop_history import HistoryResult


def to_rows(result: RankingResult, fields: tuple[str, ...] | None = None, headers: bool = True) -> list[list]:
    """The table as Excel shows it; a period without data is one cell saying so."""
    query = result.query
    fields = fields or default_fields(query.endpoint, compare="rank_change" in result.frame.columns)
    if result.empty:
        return [[no_data_text(result)]]
    return _rectangle(result.frame, fields, headers)


def history_rows(result: HistoryResult, fields: tuple[str, ...] | None = None, headers: bool = True) -> list[list]:
    """A shop's history as Excel shows it: one row per period, oldest first."""
    return _rectangle(result.frame, fields or default_history_fields(result.query.ranking.endpoint), headers)


def _rectangle(frame: pd.DataFrame, fields: tuple[str, ...], headers: bool) -> list[list]:
    body = [list(row) for row in zip(*(_column_cells(frame[f]) for f in fields), strict=True)]
    return ([[LABELS[f] for f in fields]] + body) if headers else body


def _column_cells(series: pd.Series) -> list:
    """A column's values as cells, its blanks None: what :func:`_cell` makes of each, at less cost."""
    dtype = series.dtype  # not compared with ==: an extension dtype's == costs 25 us
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):  # Int64, string, boolean: blanks are pd.NA
        return series.array.to_numpy(dtype=object, na_value=None).tolist()
    if dtype.kind == "f":  # Python floats: a blank is NaN, the one float unequal to itself
        return [None if v != v else v for v in series.tolist()]
    return [_cell(v) for v in series.tolist()]


def no_data_text(result: RankingResult) -> str:
    return (f"No data yet for {result.query.describe()}: FastMoss publishes a period once it is "
            "completed; try an earlier one or latest")


def _cell(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def error_text(error: Exception) -> str:
    """One readable line for a cell: the cause, and what to do where that is known."""
    if isinstance(error, MissingApiKey):
        return ("FastMoss: no API key. Run `xl-fastmoss config --set-key` in a terminal "
                "(or set FASTMOSS_API_KEY), then recalculate")
    if isinstance(error, FastMossError):
        return f"FastMoss: {error.message}"
    return scrub(f"FastMoss: unexpected {type(error).__name__}: {error}")  # its text is nobody's: scrubbed
