"""A ranking written out: terminal text, CSV, JSON or an .xlsx sheet (text always as text)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from .columns import LABELS, column, default_fields
from .files import atomic_write
from .result import RankingResult
from .sheets.table import no_data_text, to_rows


def records(result: RankingResult, fields: tuple[str, ...] | None = None) -> list[dict]:
    fields = fields or tuple(result.frame.columns)
    rows = to_rows(result, fields, headers=False) if not result.empty else []
    return [dict(zip(fields, row, strict=True)) for row in rows]


def as_json(result: RankingResult) -> str:
    document = {
        "query": result.query.describe(),
        "date_type": result.date_type,
        "date_value": result.date_value,
        "total": result.total,
        "fetched_at": result.fetched_at.isoformat(),
        "stale": result.stale,
        "rows": records(result),
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


def as_csv(result: RankingResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF rows, so a name holding \r or \n is quoted
    fields = tuple(result.frame.columns)
    writer.writerow(fields)
    for record in records(result, fields):
        writer.writerow(["" if v is None else v for v in record.values()])
    return buffer.getvalue()


def as_text(result: RankingResult) -> str:
    """A readable table for a terminal: the default columns, numbers grouped, rates in %."""
    if result.empty:
        return no_data_text(result)
    fields = default_fields(result.query.endpoint)
    frame = result.frame.loc[:, list(fields)].copy()
    for field in fields:
        show = column(field).kind.show
        if show is not None:
            frame[field] = frame[field].astype(object).map(lambda v, show=show: "" if pd.isna(v) else show(v))
    frame.columns = [LABELS[f] for f in fields]
    header = (f"{result.query.describe()} | answered {result.date_type} {result.date_value}"
              f" | {len(result.frame)} of {result.total} rows | fetched {result.fetched_at:%Y-%m-%d %H:%M} UTC")
    if result.stale:
        header += f" | STALE: {result.stale_reason}"
    return header + "\n" + frame.to_string(index=False, na_rep="")


def write_xlsx(result: RankingResult, path: Path) -> None:
    """One sheet holding the table; every API text is written as a string, never a formula."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.create_sheet("Ranking")
    book.remove(book.worksheets[0])
    sheet.append([f"{result.query.describe()}; answered {result.date_type} {result.date_value}; "
                  f"fetched {result.fetched_at:%Y-%m-%d %H:%M} UTC"])
    fields = tuple(result.frame.columns)
    for row_number, row in enumerate(to_rows(result, fields, headers=True), start=2):
        # A period without data is one cell, so the row may be shorter than the fields.
        for number, (field, value) in enumerate(zip(fields, row, strict=False), start=1):
            cell = sheet.cell(row=row_number, column=number, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would take "=..." for a formula
            elif field.endswith("_inc_rate") and isinstance(value, float):
                cell.number_format = "0.0%"
    sheet.freeze_panes = "A3"
    with atomic_write(path) as temporary:
        book.save(temporary)


def write_csv(result: RankingResult, path: Path) -> None:
    with atomic_write(path) as temporary:
        temporary.write_text(as_csv(result), encoding="utf-8-sig", newline="")
