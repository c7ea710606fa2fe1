"""The refresh button in Excel: fetch every FM_ table fresh, then recalculate.

``refresh(book)`` is a plain function of an xlwings Book; the button's macro and xlwings'
"Run main" get the book from ``xw.Book.caller()``. All distinct queries are fetched at once in
Python, so the FM_ cells then recalculate from a warm cache without waiting on the API.
"""

from __future__ import annotations

import datetime as dt

from .client import default_client
from .formulas import CellRef, Literal, Missing, NameRef, parse_formula
from .refresh_plan import STAMP_NAME, FormulaCell, failures, fetch_plan, plan_refresh

REPORT_SHEET = "FastMoss refresh"


def main() -> None:
    """xlwings' "Run main" and the refresh button call this."""
    import xlwings as xw

    refresh(xw.Book.caller())


def refresh(book) -> list[str]:
    """Refresh every FM_ table of ``book``; returns the failures (also written to the book)."""
    cells = list(find_formula_cells(book))
    plan = plan_refresh(cells)
    outcomes = fetch_plan(plan, default_client(), refresh=True)
    book.app.calculate()
    problems = plan.problems + failures(outcomes)
    _stamp(book, len(plan.tables), problems)
    return problems


def find_formula_cells(book):
    """Every FM_ formula of the book, with its arguments read from the live cells."""
    for sheet in book.sheets:
        used = sheet.used_range
        formulas = used.formula
        if not isinstance(formulas, (list, tuple)):
            formulas = ((formulas,),)
        elif formulas and not isinstance(formulas[0], (list, tuple)):
            formulas = (formulas,)
        for r, row in enumerate(formulas):
            for c, text in enumerate(row):
                if not isinstance(text, str) or "FM_" not in text.upper():
                    continue
                cell = used[r, c].get_address(False, False)
                scan = parse_formula(text)
                if scan is None or scan.call is None and not scan.nested:
                    continue
                address = f"{sheet.name}!{cell}"
                if scan.nested:
                    yield FormulaCell(sheet.name, cell, "", (), f"{address}: an FM_ function is nested inside "
                                      "another formula; put it alone in its cell")
                    continue
                try:
                    args = tuple(_resolve(book, sheet, arg) for arg in scan.call.args)
                except LookupError as error:
                    yield FormulaCell(sheet.name, cell, scan.call.function, (), f"{address}: {error}")
                    continue
                yield FormulaCell(sheet.name, cell, scan.call.function, args)


def _resolve(book, sheet, arg):
    if isinstance(arg, Literal):
        return arg.value
    if isinstance(arg, Missing):
        return None
    if isinstance(arg, CellRef):
        target = book.sheets[arg.sheet] if arg.sheet else sheet
        return target.range(arg.ref).value
    if isinstance(arg, NameRef):
        try:
            return book.names[arg.name].refers_to_range.value
        except Exception:
            raise LookupError(f"the name {arg.name} is not defined in this workbook") from None
    raise LookupError(f"the argument {getattr(arg, 'text', arg)!r} is not a value, a cell or a name")


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
    report = book.sheets[REPORT_SHEET] if REPORT_SHEET in names else book.sheets.add(REPORT_SHEET, after=book.sheets[-1])
    report.clear_contents()
    report.range("A1").value = [[text]] + [[p] for p in problems]
