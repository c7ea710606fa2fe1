"""The refresh buttons in Excel: fetch the FM_ tables of a workbook, a sheet or a selection fresh.

Plain functions of an xlwings Book, Sheet or Range (:func:`refresh`, :func:`refresh_sheet`,
:func:`refresh_range`, :func:`refresh_selection`); the buttons, xlwings' "Run main" and a ribbon
reach them through the workbook's module and ``xw.Book.caller()`` (:func:`main`,
:func:`main_active_sheet`, :func:`main_selection`). A refresh:

1. finds the FM_ formulas of its scope: the cells Excel lists as formulas
   (``SpecialCells(xlCellTypeFormulas)``, through xlwings' ``Range.get_special_cells``) whose
   ``Formula2`` calls an FM_ function. Never the text a range reads: text typed as
   ``=FM_...`` and the cells of a spilled table are not formulas;
2. estimates what the refresh will cost (:mod:`.estimate`, the cache taken into account) and,
   above ``FASTMOSS_CONFIRM_CALLS`` calls (default 50) or beyond what is left of a daily budget,
   shows the estimate in a message box (xlwings' ``App.alert``, OK / Cancel) and goes on only
   on OK; then fetches every distinct table fresh at once into the shared cache
   (:func:`.sheets.plan.fetch_plan`), final answers of settled periods from the cache;
3. records what it refreshed and what failed (:mod:`.refresh_record`): with "Use UDF Server" off,
   the ribbon's default, RunPython runs this in a new Python process, and the UDF server that
   calculates the FM_ cells would otherwise keep serving the tables in its memory;
4. stamps ``FM_LastRefresh`` and lists what failed on the "FastMoss refresh" sheet;
5. marks each FM_ cell dirty. Excel calls a non-volatile function again only when its cell is
   dirty: ``Application.Calculate`` skips FM_ cells whose arguments did not change, and so did
   this refresh until it called ``Range.Dirty``, which "in automatic calculation mode ...
   instructs Excel to perform a recalculation" (https://learn.microsoft.com/office/vba/api/excel.range.dirty).
   In manual mode the refresh then calculates (``Application.Calculate``). The cells read the
   new pages from the cache without another call; a table whose fetch failed shows its last
   data, marked stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .asking import asked_by
from .client import FastMossClient, default_client
from .errors import FastMossError
from .estimate import Estimate, estimate
from .sheets.cells import FmCell, find_fm_cells
from .sheets.formulas import parse_formula
from .sheets.plan import STAMP_NAME, failures, fetch_plan, plan_refresh
from .sheets.table import error_text
from .workbook.addresses import split_cell, split_range

REPORT_SHEET = "FastMoss refresh"
CONFIRM_TITLE = "FastMoss refresh"


# -- what the buttons call -------------------------------------------------------------------

def main() -> None:
    """xlwings' "Run main" and the template's refresh buttons: every FM_ table of the calling workbook."""
    refresh(_caller())


def main_active_sheet() -> None:
    """The FM_ tables of the calling workbook's active sheet (for a button or a ribbon)."""
    refresh_sheet(_caller().sheets.active)


def main_selection() -> None:
    """The FM_ tables that the selection touches (for a button or a ribbon)."""
    refresh_selection(_caller())


def _caller():
    import xlwings as xw

    return xw.Book.caller()


# -- refreshing a scope ------------------------------------------------------------------------

def refresh(book) -> list[str]:
    """Refresh every FM_ table of ``book`` (an xlwings Book); returns the failures, also written to the book."""
    anchors = [anchor for sheet in book.sheets for anchor in fm_anchors(sheet)]
    return _refresh(book, anchors, "")


def refresh_sheet(sheet) -> list[str]:
    """Refresh the FM_ tables of one sheet (an xlwings Sheet); returns the failures."""
    return _refresh(sheet.book, fm_anchors(sheet), f" of the sheet {sheet.name}")


def refresh_range(cells) -> list[str]:
    """Refresh the FM_ tables that ``cells`` (an xlwings Range) touch: an anchor, or any cell of a table."""
    sheet = cells.sheet
    # Each area's own address: Range.Address of a many-area range stops at 255 characters.
    areas = [split_range(area.Address.replace("$", "")) for area in cells.api.Areas]
    touched = [anchor for anchor in fm_anchors(sheet) if any(_overlap(anchor.area(), area) for area in areas)]
    return _refresh(sheet.book, touched, f" of {sheet.name}!{cells.address.replace('$', '')}")


def refresh_selection(book) -> list[str]:
    """Refresh the FM_ tables that the selection in ``book`` touches; returns the failures."""
    cells = book.selection
    if cells is None or cells.sheet.book.name != book.name:
        problems = [f"Nothing of {book.name} is selected: select cells of a FastMoss table, then refresh again"]
        _report(book, problems, needed=True)
        return problems
    return refresh_range(cells)


@dataclass(frozen=True)
class Anchor:
    """A cell holding an FM_ formula: where, its formula, and the xlwings Range to mark dirty."""

    sheet: str
    ref: str
    formula: str
    cell: Any  # an xlwings Range

    def area(self) -> tuple[int, int, int, int]:
        """The cells the table covers: its spill, or the one cell (an error, #SPILL!)."""
        api = self.cell.api
        address = api.SpillingToRange.Address if api.HasSpill else api.Address
        return split_range(address.replace("$", ""))


def fm_anchors(sheet) -> list[Anchor]:
    """The cells of ``sheet`` (an xlwings Sheet) holding an FM_ formula, row by row."""
    used = sheet.used_range
    if used.api.HasFormula is False:
        return []  # SpecialCells would raise "No cells were found", in Excel's own language
    found = []
    for area in used.get_special_cells("formulas"):
        # Formula first, for every cell at once (Formula2 of a legacy formula may add @); then
        # Formula2, the text Excel keeps, of the few cells that call an FM_ function.
        for r, row in enumerate(_grid(area.formula)):
            for c, text in enumerate(row):
                if not isinstance(text, str) or "fm_" not in text.lower():
                    continue
                cell = area[r, c]
                text = cell.formula2
                if isinstance(text, str) and parse_formula(text):
                    found.append(Anchor(sheet.name, cell.get_address(False, False), text, cell))
    return sorted(found, key=lambda anchor: split_cell(anchor.ref))


def _refresh(book, anchors: list[Anchor], scope: str) -> list[str]:
    if not anchors:
        problems = [f"No FastMoss table{scope or ' in the workbook'}: nothing was refreshed"]
        _report(book, problems, needed=True)
        return problems
    started = dt.datetime.now(dt.timezone.utc)
    plan = plan_refresh(find_fm_cells(LiveWorkbook(book, anchors)))
    client = default_client()
    cost = estimate(client, plan.requests, refresh=True)
    if not _confirmed(book, client, cost, scope):
        text = (f"Refresh{scope} cancelled: it would have made {cost.calls} API calls ({cost.rows} rows); "
                "nothing was fetched")
        _report(book, [text], needed=False)
        return [text]
    calls_before = client.stats.api_calls
    with asked_by(f"refresh of {book.name}{scope} (Excel)"):
        outcomes = fetch_plan(plan, client, refresh=True)
    problems = plan.problems + failures(outcomes)
    try:
        client.refresh_record.add(
            started=started, finished=dt.datetime.now(dt.timezone.utc), scope=f"{book.name}{scope}",
            tables=len(plan.tables), api_calls=client.stats.api_calls - calls_before,
            refreshed=[query for t in plan.tables for query in t.call.queries],
            failed={query: o.reason for o in outcomes if o.reason for query in o.table.call.queries})
    except FastMossError as error:
        problems.append(f"{book.name}: {error_text(error)}; cells may keep their old data until Excel restarts")
    now = dt.datetime.now().replace(microsecond=0)
    count = len(plan.tables)
    text = f"Refreshed {count} FastMoss table{'' if count == 1 else 's'}{scope} at {now:%Y-%m-%d %H:%M}"
    if problems:
        text += f"; {len(problems)} failed (see the '{REPORT_SHEET}' sheet)"
    _stamp(book, text)
    _report(book, [text, *problems], needed=bool(problems))
    _recalculate(book, anchors)
    return problems


def _confirmed(book, client: FastMossClient, cost: Estimate, scope: str) -> bool:
    """Whether to go on: at once below the threshold and within the budgets, else as the analyst answers."""
    budgets = client.ledger.budgets
    over = []
    if budgets.calls is not None or budgets.rows is not None:
        try:
            used_calls, used_rows = client.ledger.today()
        except FastMossError:  # the ledger cannot be read: each call still checks the budgets
            used_calls, used_rows = 0, 0
        if budgets.calls is not None and cost.calls > budgets.calls - used_calls:
            over.append(_left(budgets.calls - used_calls, "call", budgets.calls))
        if budgets.rows is not None and cost.rows > budgets.rows - used_rows:
            over.append(_left(budgets.rows - used_rows, "row", budgets.rows))
    if cost.calls <= client.settings.confirm_calls and not over:
        return True
    text = (f"This refresh{scope} will make about {cost.calls:,} API calls ({cost.rows:,} rows) for "
            f"{len(cost.queries):,} queries; answers in the cache cost nothing and are not counted.")
    if over:
        text += " Only " + " and ".join(over) + ": calls past a budget are refused and their tables keep their data."
    text += ("\n\nFetch them now? (Cancel fetches nothing; FASTMOSS_CONFIRM_CALLS sets when this is asked, "
             f"now above {client.settings.confirm_calls:,} calls.)")
    return book.app.alert(text, title=CONFIRM_TITLE, buttons="ok_cancel", mode="info") == "ok"


def _left(left: int, unit: str, budget: int) -> str:
    """What is left of a daily budget, in words: "1 call is left of today's budget of 6"."""
    left = max(0, left)
    counted = f"{left:,} {unit} is" if left == 1 else f"{left:,} {unit}s are"
    return f"{counted} left of today's budget of {budget:,}"


def _recalculate(book, anchors: list[Anchor]) -> None:
    """Make Excel call the FM_ functions again: dirty cells, then (manual mode only) Calculate."""
    for anchor in anchors:
        anchor.cell.api.Dirty()
    app = book.app
    if app.calculation == "manual":
        app.calculate()


def _overlap(a, b) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _grid(value) -> list[list]:
    """What Range.Formula2 hands over, as rows: COM gives one cell as a scalar, a block as rows."""
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)]
    return [list(row) for row in value]


def find_formula_cells(book) -> list[FmCell]:
    """Every FM_ formula of the book, with its arguments read from the live cells."""
    anchors = [anchor for sheet in book.sheets for anchor in fm_anchors(sheet)]
    return find_fm_cells(LiveWorkbook(book, anchors))


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
    """An open workbook (an xlwings Book) as :func:`sheets.cells.find_fm_cells` reads it.

    Its formula cells are the FM_ ``anchors`` of the refresh's scope; arguments are read from
    any sheet of the book.
    """

    def __init__(self, book, anchors: list[Anchor]):
        self.book = book
        self._formulas: dict[str, list[_LiveFormula]] = {}
        for anchor in anchors:
            self._formulas.setdefault(anchor.sheet, []).append(_LiveFormula(anchor.ref, anchor.formula))

    @property
    def worksheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.book.sheets if sheet.name in self._formulas]

    def formula_cells(self, sheet: str) -> list[_LiveFormula]:
        return self._formulas.get(sheet, [])

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


def _stamp(book, text: str) -> None:
    """Write when the refresh ran and what failed into the named cell FM_LastRefresh, if the book has it."""
    try:
        book.names[STAMP_NAME].refers_to_range.value = text
    except Exception:
        pass  # the workbook has no stamp cell


def _report(book, lines: list[str], *, needed: bool) -> None:
    """Write ``lines`` on the report sheet, made when ``needed``; a report of an earlier refresh is replaced."""
    names = [s.name for s in book.sheets]
    if not needed and REPORT_SHEET not in names:
        return
    if REPORT_SHEET in names:
        report = book.sheets[REPORT_SHEET]
    else:
        report = book.sheets.add(REPORT_SHEET, after=book.sheets[-1])
    report.clear_contents()
    report.range("A1").value = [[line] for line in lines]
