"""A ranking or a shop's history written out: terminal text, CSV, JSON or an .xlsx sheet.

A compared ranking (``compare``) carries ``previous_rank``, ``rank_change`` and ``new`` after its
rank; a history (:class:`~xl_fastmoss.shop_history.HistoryResult`) one row per period.

Shop names and every other text come from the API as the seller typed them, and each output
makes them harmless to its reader:

- the terminal table (:func:`as_text`) shows control characters escaped (``\\x1b``, ``\\n``), so
  a name can neither move the cursor, recolour or retitle the terminal, nor break the table;
- a CSV file made for Excel (:func:`write_csv`) puts ``'`` before a text cell a spreadsheet
  would run as a formula, unless asked for the raw text;
- CSV and JSON on stdout (:func:`as_csv`, :func:`as_json`) are data for programs: text as sent
  (JSON escapes what a terminal would act on, which any JSON reader undoes);
- the .xlsx sheet (:func:`write_xlsx`) holds every text as a string cell, never a formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from .columns import CHANGE, LABELS, column, default_fields, default_history_fields
from .files import atomic_write
from .result import RankingResult
from .sheets.table import history_rows, no_data_text, to_rows
from .shop_history import HistoryResult
from .workbook.xstring import encode_xstring

Written = RankingResult | HistoryResult

#: What a terminal acts on or reorders rather than shows: the C0 and C1 control characters and
#: DEL (ESC and CSI start escape sequences), line and paragraph separators, the bidirectional
#: embeddings, overrides and isolates ("Trojan Source"), and lone surrogates, which no encoding
#: can write.
_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNPRINTABLE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
#: Those json leaves as they are (it escapes C0 itself, and writes a line break between items).
_UNPRINTABLE_IN_JSON = re.compile(f"[{_BEYOND_C0}]")
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_SURROGATE = re.compile("[\ud800-\udfff]")
#: The first characters that make a spreadsheet read a CSV cell as a formula: OWASP's list
#: (https://owasp.org/www-community/attacks/CSV_Injection: = + - @ tab CR) and NUL from ASVS 5.0
#: V1.2.10 (LibreOffice drops a leading NUL and runs the formula behind it).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape (``\\x1b``,
    ``\\t``, ``\\u202e``), for a line on a terminal."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED_ESCAPES.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def guard_formula(text: str) -> str:
    """``text`` with a ``'`` before it when a spreadsheet opening a CSV file would run it as a
    formula (``=HYPERLINK(...)``, ``-10+20``, ``@SUM(...)``); other text as it is."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def records(result: Written, fields: tuple[str, ...] | None = None) -> list[dict]:
    fields = fields or tuple(result.frame.columns)
    rows = _rows(result, fields, headers=False) if not result.empty else []
    return [dict(zip(fields, row, strict=True)) for row in rows]


def _rows(result: Written, fields: tuple[str, ...], headers: bool) -> list[list]:
    if isinstance(result, HistoryResult):
        return history_rows(result, fields, headers)
    return to_rows(result, fields, headers)


def _shown_fields(result: Written) -> tuple[str, ...]:
    if isinstance(result, HistoryResult):
        return default_history_fields(result.query.ranking.endpoint)
    return default_fields(result.query.endpoint, compare="rank_change" in result.frame.columns)


def _about(result: Written) -> dict:
    """What the API said about the table, for the JSON document."""
    if isinstance(result, HistoryResult):
        query = result.query
        return {"query": query.describe(), "seller_id": query.seller_id, "ranking": query.ranking.endpoint.name,
                "date_type": query.ranking.date_type, "start": query.periods[0], "end": query.periods[-1],
                "depth": query.depth, "found": result.found}
    about = {"query": result.query.describe(), "date_type": result.date_type, "date_value": result.date_value,
             "total": result.total}
    if "compared_with" in result.frame.attrs:
        about["compared_with"] = result.frame.attrs["compared_with"]
    return about


def _title(result: Written) -> str:
    """One line saying what the table is and when it was fetched."""
    if isinstance(result, HistoryResult):
        return (f"{result.query.describe()} | found in {result.found} of {len(result.frame)} "
                f"{result.query.ranking.date_type}s | fetched {result.fetched_at:%Y-%m-%d %H:%M} UTC")
    compared = result.frame.attrs.get("compared_with")
    return (f"{result.query.describe()} | answered {result.date_type} {result.date_value}"
            + (f" | compared with {compared}" if compared else "")
            + f" | {len(result.frame)} of {result.total} rows | fetched {result.fetched_at:%Y-%m-%d %H:%M} UTC")


def as_json(result: Written) -> str:
    """The table and what the API said about it as JSON: ids as text, blanks as null, text
    as sent, with control and bidirectional characters as ``\\u`` escapes."""
    document = {
        **_about(result),
        "fetched_at": result.fetched_at.isoformat(),
        "stale": result.stale,
        "rows": records(result),
    }
    text = json.dumps(document, ensure_ascii=False, indent=1)
    # Outside C0 these can stand only inside strings, where \uXXXX is the same text.
    return _UNPRINTABLE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def as_csv(result: Written, *, guard_formulas: bool = False, escape_controls: bool = False) -> str:
    """The ranking as CSV (RFC 4180: CRLF rows, a text holding a comma, quote or line break
    quoted), one header row of field names; text as sent unless asked otherwise.

    ``guard_formulas`` prefixes ``'`` to text cells a spreadsheet would run as formulas;
    ``escape_controls`` shows control characters escaped, for a terminal. Lone surrogates, which
    UTF-8 cannot hold, become U+FFFD.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    fields = tuple(result.frame.columns)
    writer.writerow(fields)
    for record in records(result, fields):
        writer.writerow([_csv_cell(v, guard_formulas, escape_controls) for v in record.values()])
    return buffer.getvalue()


def _csv_cell(value: object, guard_formulas: bool, escape_controls: bool) -> object:
    if value is None:
        return ""
    if not isinstance(value, str):
        # Numbers are never prefixed. A negative one, -0.1393 (a growth rate), starts with "-",
        # but csv writes a float or int as Python spells it, digits with at most a sign, a point
        # and an exponent: no spreadsheet reads that as a formula (it needs an operator or a
        # function after the sign), and a ' would turn it into text that no longer sums.
        return value
    if escape_controls:
        value = printable(value)
    else:
        value = _SURROGATE.sub("\ufffd", value)
    return guard_formula(value) if guard_formulas else value


def as_text(result: Written) -> str:
    """A readable table for a terminal: the default columns, numbers grouped, rates in %,
    control characters in any text shown escaped."""
    if isinstance(result, RankingResult) and result.empty:
        return printable(no_data_text(result))
    fields = _shown_fields(result)
    frame = result.frame.loc[:, list(fields)].copy()
    for field in fields:
        show = column(field).kind.show
        if show is not None:
            frame[field] = frame[field].astype(object).map(lambda v, show=show: "" if pd.isna(v) else show(v))
        elif column(field).dtype == "string":
            frame[field] = frame[field].astype(object).map(lambda v: "" if pd.isna(v) else printable(v))
        else:  # a blank rank (a shop new to a compared ranking, or absent from a period) is no <NA>
            frame[field] = frame[field].astype(object).map(lambda v: "" if pd.isna(v) else v)
    frame.columns = [LABELS[f] for f in fields]
    header = _title(result)
    if result.stale:
        header += f" | STALE: {result.stale_reason}"
    return printable(header) + "\n" + frame.to_string(index=False, na_rep="")


def write_xlsx(result: Written, path: Path) -> None:
    """One sheet holding the table; every API text is written as a string, never a formula,
    exactly as sent (characters XML cannot hold as the ``_xHHHH_`` escapes Excel reads)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.create_sheet("History" if isinstance(result, HistoryResult) else "Ranking")
    book.remove(book.worksheets[0])
    title = _title(result).replace(" | ", "; ")
    sheet.cell(row=1, column=1, value=encode_xstring(title)).data_type = "s"
    fields = tuple(result.frame.columns)
    for row_number, row in enumerate(_rows(result, fields, headers=True), start=2):
        # A period without data is one cell, so the row may be shorter than the fields.
        for number, (field, value) in enumerate(zip(fields, row, strict=False), start=1):
            if isinstance(value, str):
                cell = sheet.cell(row=row_number, column=number, value=encode_xstring(value))
                cell.data_type = "s"  # openpyxl would take "=..." for a formula
            else:
                cell = sheet.cell(row=row_number, column=number, value=value)
                if field.endswith("_inc_rate") and isinstance(value, float):
                    cell.number_format = "0.0%"
                elif column(field).kind is CHANGE and isinstance(value, int):
                    cell.number_format = CHANGE.excel_format or "General"
    sheet.freeze_panes = "A3"
    with atomic_write(path) as temporary:
        book.save(temporary)




def write_csv(result: Written, path: Path, *, raw: bool = False) -> None:
    """A CSV file made for Excel (UTF-8 with a byte order mark, so Excel reads it as UTF-8).

    Text a spreadsheet would run as a formula gets a ``'`` before it (see :func:`guard_formula`);
    ``raw=True`` writes every text exactly as sent.
    """
    with atomic_write(path) as temporary:
        temporary.write_text(as_csv(result, guard_formulas=not raw), encoding="utf-8-sig", newline="")
