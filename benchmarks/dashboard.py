"""The dashboard of scenarios 4 and 8: 12 queries, each as a top-10 card and a full table."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook

from benchmarks.tables import DAY, MONTH, WEEK, Table
from xl_fastmoss.query import pages_for

DASHBOARD_QUERIES = (
    Table("FM_MOSTPROMOTED", "US", 14, "day", DAY, rows=250),
    Table("FM_MOSTPROMOTED", "GB", 14, "day", DAY),
    Table("FM_MOSTPROMOTED", "US", 14, "week", WEEK, rows=250),
    Table("FM_MOSTPROMOTED", "DE", 3, "month", MONTH),
    Table("FM_TOPSELLING", "US", 14, "day", DAY, rows=250),
    Table("FM_TOPSELLING", "US", 14, "day", DAY, sort="usd_gmv"),
    Table("FM_TOPSELLING", "ID", None, "week", WEEK),
    Table("FM_TOPSELLING", "MX", 5, "month", MONTH),
    Table("FM_FULLYMANAGED", "US", None, "day", DAY, rows=250),
    Table("FM_FULLYMANAGED", "GB", 1, "week", WEEK),
    Table("FM_MOSTPROMOTED", None, 14, "day", DAY),
    Table("FM_TOPSELLING", "FR", 7, "month", MONTH, sort="usd_gmv"),
)

#: (sheet, cell, table) of each FM_ formula of the dashboard.
DashboardCells = list[tuple[str, str, Table]]


def dashboard_cells() -> DashboardCells:
    """Each query twice, as dashboards do: a top-10 card and the full table below it."""
    cells = []
    for number, query in enumerate(DASHBOARD_QUERIES, start=1):
        sheet = f"Board{number}"
        cells.append((sheet, "A1", query.with_rows(10, fields="rank,name,usd_gmv")))
        cells.append((sheet, "A14", query))
    return cells


def distinct_pages(cells: DashboardCells) -> int:
    """How many different pages the cells need: what one refresh of them should cost in calls."""
    return len({(table.function, json.dumps(table.naive_body(page), sort_keys=True))
                for _, _, table in cells for page in range(1, pages_for(table.rows) + 1)})


def save_dashboard(cells: DashboardCells, path: Path) -> None:
    """The dashboard as an .xlsx: one sheet per query, each FM_ formula in its cell."""
    book = Workbook()
    book.remove(book.active)
    for sheet, cell, table in cells:
        if sheet not in book.sheetnames:
            book.create_sheet(sheet)
        book[sheet][cell] = table.formula()
    book.save(path)


def extra_wave_note(where: str, waves: int, ideal: int) -> str:
    """The note explaining a refresh that took more waves of calls than its pages need."""
    return (
        f"{where}: a refresh took {waves} waves where {ideal} suffice. Slots go out first come, first "
        "served, and a query's pages 2-3 join the line only once its first page is read; when a 3-page "
        "query's first page is answered late, its pages 2-3 land in one wave more.")
