"""The refresh button in Excel: fetch every FM_ table fresh, then recalculate.

``refresh(book)`` is a plain function of an xlwings Book; the button's macro and xlwings'
"Run main" get the book from ``xw.Book.caller()``. All distinct queries are fetched at once in
Python, so the FM_ cells then recalculate from a warm cache without waiting on the API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .client import default_client
from .sheets.cells import FmCell, find_fm_cells
from .sheets.plan import STAMP_NAME, failures, fetch_plan, plan_refresh

REPORT_SHEET = "FastMoss refresh"


def main() -> None:
    """xlwings' "Run main" and the refresh button call this."""
    import xlwings as xw

    refresh(xw.Book.caller())


def refresh(book) -> list[str]:
    """Refresh every FM_ table of ``book``; returns the failures (also written to the book)."""
    plan = plan_refresh(find_formula_cells(book))
    outcomes = fetch_plan(plan, default_client(), refresh=True)
    book.app.calculate()
    problems = plan.problems + failures(outcomes)
    _stamp(book, len(plan.tables), problems)
    return problems


def find_formula_cells(book) -> list[FmCell]:
    """Every FM_ formula of the book, with its arguments read from the live cells."""
    return find_fm_cells(LiveWorkbook(book))


@dataclass(frozen=True)
class _LiveFormula:
    ref: str
    formula: str
    formula_type: str | None = None
    formula_ref: str | None = None


@dataclass(frozen=True)
class _LiveName:
    text: str
    scope: str | None


class LiveWorkbook:
    """An open workbook (an xlwings Book) as :func:`sheets.cells.find_fm_cells` reads it."""

    def __init__(self, book):
        self.book = book

    @property
    def worksheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.book.sheets]

    def formula_cells(self, sheet: str) -> list[_LiveFormula]:
        used = self.book.sheets[sheet].used_range
        formulas = used.formula
        if not isinstance(formulas, (list, tuple)):
            formulas = ((formulas,),)
        elif formulas and not isinstance(formulas[0], (list, tuple)):
            formulas = (formulas,)
        found = []
        for r, row in enumerate(formulas):
            for c, text in enumerate(row):
                if isinstance(text, str) and text.startswith("="):
                    found.append(_LiveFormula(used[r, c].get_address(False, False), text))
        return found

    def has_sheet(self, name: str) -> bool:
        return self._sheet(name) is not None

    def values(self, sheet: str, range_: str) -> list[list[object]]:
        cells = self._sheet(sheet).range(range_)
        value = cells.value
        rows, columns = cells.shape
        if rows == 1 and columns == 1:
            return [[value]]
        if rows == 1 or columns == 1:  # xlwings gives a one-row or one-column range as a list
            return [list(value)] if rows == 1 else [[v] for v in value]
        return [list(row) for row in value]

    def defined_name(self, name: str, sheet: str | None = None) -> _LiveName | None:
        wanted = name.casefold()
        book_wide = None
        for defined in self.book.names:
            scope, _, bare = defined.name.rpartition("!")
            if bare.casefold() != wanted:
                continue
            scope = scope.strip("'").replace("''", "'") or None
            if scope is None:
                book_wide = _LiveName(defined.refers_to.lstrip("="), None)
            elif sheet is not None and scope.casefold() == sheet.casefold():
                return _LiveName(defined.refers_to.lstrip("="), scope)
        return book_wide

    def _sheet(self, name: str):
        wanted = name.casefold()
        return next((s for s in self.book.sheets if s.name.casefold() == wanted), None)


def _stamp(book, tables: int, problems: list[str]) -> None:
    """Write when the refresh ran and what failed: the named cell FM_LastRefresh, and a report sheet."""
    now = dt.datetime.now().replace(microsecond=0)
    text = f"Refreshed {tables} FastMoss tables at {now:%Y-%m-%d %H:%M}"
    if problems:
        text += f"; {len(problems)} failed (see the '{REPORT_SHEET}' sheet)"
    try:
        book.names[STAMP_NAME].refers_to_range.value = text
    except Exception:
        pass  # the workbook has no stamp cell
    names = [s.name for s in book.sheets]
    if not problems and REPORT_SHEET not in names:
        return
    if REPORT_SHEET in names:
        report = book.sheets[REPORT_SHEET]
    else:
        report = book.sheets.add(REPORT_SHEET, after=book.sheets[-1])
    report.clear_contents()
    report.range("A1").value = [[text]] + [[p] for p in problems]
