"""Excel's cells, calculation and spilling, as far as the add-in depends on them.

Sources (each rule below names its own):
- RECALC: "Excel Recalculation", https://learn.microsoft.com/office/client-developer/excel/excel-recalculation
  (dirty cells, all direct and indirect dependents marked dirty, volatile functions, the
  calculation chain revised when a formula needs a cell not yet calculated).
- CALCTYPE: https://learn.microsoft.com/javascript/api/excel/excel.calculationtype ("Recalculate:
  all cells Excel has marked as dirty, that is, dependents of volatile or changed data, and cells
  programmatically marked as dirty"; "Full: mark all cells as dirty and then recalculate them").
- DIRTY: https://learn.microsoft.com/office/vba/api/excel.range.dirty ("in automatic
  calculation mode, using the Dirty method instructs Excel to perform a recalculation").
- FORMULA2: https://learn.microsoft.com/office/vba/api/excel.range.formula2 ("Formulas set using
  Range.Formula2 will always be evaluated as an array and may spill") and
  https://learn.microsoft.com/office/vba/excel/concepts/cells-and-ranges/range-formula-vs-formula2
  ("Formulas set using Range.Formula will trigger implicit intersection and never spill").
- SPILLERR: https://learn.microsoft.com/javascript/api/excel/excel.spillerrorcellvaluesubtype
  (collision: "a dynamic array attempting to spill data into a cell that isn't empty";
  worksheetEdge) and https://support.microsoft.com/office/how-to-correct-a-spill-error-ffe0f555-b479-4a17-a6e2-ef9cc9ad4023
  ("once the obstruction is cleared, the array formula will spill as intended").
- HASSPILL: https://learn.microsoft.com/office/vba/api/excel.range.hasspill and .spillparent.
- CALCPR: ECMA-376 Part 1, 18.2.2 calcPr/@fullCalcOnLoad: a full calculation when the file opens.
- The worksheet functions the template uses beside its FM_ tables (the Trends sheet's movers),
  each from its support.microsoft.com page, named where it is evaluated (``_lookup``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from dataclasses import dataclass, field

from . import formula as fx

XL_AUTOMATIC, XL_MANUAL = -4105, -4135  # XlCalculation, https://learn.microsoft.com/office/vba/api/excel.xlcalculation

# XlCVError numbers, https://learn.microsoft.com/office/vba/api/excel.xlcverror; COM hands a cell
# error over as the HRESULT 0x800A0000 + number (xlwings _xlwindows.py:444-452: #N/A = -2146826246).
ERROR_NUMBERS = {"#NULL!": 2000, "#DIV/0!": 2007, "#VALUE!": 2015, "#REF!": 2023, "#NAME?": 2029,
                 "#NUM!": 2036, "#N/A": 2042, "#GETTING_DATA": 2043, "#SPILL!": 2045, "#CALC!": 2050}


class ModelGap(NotImplementedError):
    """A call or a behaviour the model does not know; never a guess."""


@dataclass(frozen=True)
class ExcelError:
    text: str

    @property
    def com_value(self) -> int:
        return ERROR_NUMBERS[self.text] - 2146828288

    def __str__(self) -> str:
        return self.text


SPILL = ExcelError("#SPILL!")


@dataclass
class Cell:
    """A cell with content: a constant, or a formula with its last result."""

    constant: object = None
    formula: str | None = None          # as Formula2 reads it, with the "="
    tree: object = None
    array_evaluation: bool = True       # False when entered through Range.Formula (FORMULA2)
    result: object = None               # scalar, or a list of rows
    dirty: bool = False
    volatile: bool = False
    spill: tuple[int, int] | None = None  # (rows, columns) when the result spills
    precedents: list = field(default_factory=list)  # [(Sheet, area)] read by the last evaluation

    @property
    def is_formula(self) -> bool:
        return self.formula is not None


class Sheet:
    def __init__(self, book: Workbook, name: str):
        self.book, self.name = book, name
        self.cells: dict[tuple[int, int], Cell] = {}
        self.spilled_from: dict[tuple[int, int], tuple[int, int]] = {}  # spilled cell -> anchor
        self.formatted: set[tuple[int, int]] = set()
        # The cells selected in this sheet's window: each sheet keeps its own selection, A1 in a new
        # sheet, the file's <selection sqref> when opened (ECMA-376 Part 1, 18.3.1.78 selection).
        self.selection: list[tuple[int, int, int, int]] = [(1, 1, 1, 1)]

    def __repr__(self) -> str:
        return f"<Sheet {self.book.name}!{self.name}>"

    # -- what a cell shows ---------------------------------------------------------------
    def shown(self, row: int, column: int):
        """The value Excel shows: None for an empty cell."""
        cell = self.cells.get((row, column))
        if cell is not None:
            if not cell.is_formula:
                return cell.constant
            return _top_left(cell, cell.result)
        anchor = self.spilled_from.get((row, column))
        if anchor is not None:
            r0, c0 = anchor
            return self.cells[anchor].result[row - r0][column - c0]
        return None

    def spill_area(self, anchor: tuple[int, int]) -> tuple[int, int, int, int] | None:
        cell = self.cells.get(anchor)
        if cell is None or cell.spill is None:
            return None
        r, c = anchor
        return r, c, r + cell.spill[0] - 1, c + cell.spill[1] - 1

    def used_area(self) -> tuple[int, int, int, int] | None:
        """Cells with content, spilled values or formatting (formatting counts in a used range)."""
        points = set(self.cells) | set(self.spilled_from) | self.formatted
        if not points:
            return None
        rows, columns = [p[0] for p in points], [p[1] for p in points]
        return min(rows), min(columns), max(rows), max(columns)


class Workbook:
    def __init__(self, app: ExcelApp, name: str, fullname: str):
        self.app, self.name, self.fullname = app, name, fullname
        self.sheets: list[Sheet] = []
        # defined names: (sheet or None for workbook scope, NAME in upper case) -> (name, "=refers to")
        self.names: dict[tuple[Sheet | None, str], tuple[str, str]] = {}
        self.active_sheet: Sheet | None = None

    def __repr__(self) -> str:
        return f"<Workbook {self.name}>"

    def sheet(self, name: str) -> Sheet:
        for sheet in self.sheets:
            if sheet.name.lower() == name.lower():  # sheet names are case-insensitive in Excel
                return sheet
        raise KeyError(name)

    def resolve_name(self, name: str, sheet: Sheet | None):
        key = name.upper()
        found = self.names.get((sheet, key)) or self.names.get((None, key))
        if found is None:
            return None
        return found[1]


def _top_left(cell: Cell, result):
    if isinstance(result, list):
        if cell.spill is not None or not cell.array_evaluation or (len(result) == 1 and len(result[0]) == 1):
            return result[0][0]
        return SPILL
    return result


def intersects(a, b) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


@dataclass(frozen=True)
class RefValue:
    """A reference met during evaluation, dereferenced only where a value is needed."""

    sheet: Sheet
    area: tuple[int, int, int, int]

    def values(self) -> list[list]:
        r1, c1, r2, c2 = self.area
        return [[self.sheet.shown(r, c) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]


@dataclass(frozen=True)
class Dialog:
    """A dialog Excel showed: ``kind`` "MsgBox" (VBA's or xlwings' App.alert) or "InputBox"."""

    kind: str
    title: str
    text: str


class ExcelApp:
    """One Excel process: open workbooks, the calculation engine, the UDFs it can call."""

    _pids = itertools.count(4242)

    def __init__(self):
        self.lock = threading.RLock()  # COM calls reach Excel one at a time (its single-threaded apartment)
        self.workbooks: list[Workbook] = []
        self.calculation = XL_AUTOMATIC  # Excel's default mode
        self.pid = next(self._pids)       # the Excel process id xlwings reads (see windows_xlwings)
        self.udfs: dict[str, object] = {}  # upper-case name -> udf_server.Udf
        # The workbook of the active window; the one opened last until another is activated
        # (https://learn.microsoft.com/office/vba/api/excel.workbooks.open: the opened workbook is active).
        self.active_workbook: Workbook | None = None
        self._calculating = False
        self._in_progress: set = set()
        self.calculations = 0  # evaluations of formulas, for the model's own tests
        # Open add-ins: hidden workbooks, never the active one and not in Application.Workbooks
        # ("The Workbooks collection doesn't include open add-ins", VBA:excel.workbooks).
        self.addins: list = []
        # What the analyst saw in dialogs (message boxes, input boxes), and what they will type
        # into the next input boxes (a text, or False for Cancel): a dialog nobody scripted raises.
        self.dialogs: list[Dialog] = []
        self.answers: list = []
        self.clicks: list[str] = []  # the buttons the analyst will click in the next OK / Cancel boxes

    # -- content -------------------------------------------------------------------------
    def set_constant(self, sheet: Sheet, row: int, column: int, value) -> None:
        with self.lock:
            if value is None or value == "":
                sheet.cells.pop((row, column), None)
            else:
                sheet.cells[(row, column)] = Cell(constant=_excel_value(value))
            self._content_changed(sheet, row, column)

    def set_formula(self, sheet: Sheet, row: int, column: int, text: str, *, array_evaluation: bool) -> None:
        """Enter a formula (FORMULA2): the cell and its dependents become dirty (RECALC)."""
        with self.lock:
            tree = fx.parse(text, self.udfs)
            volatile = any(self.udfs[f].volatile for f in fx.functions_called(tree) if f in self.udfs)
            previous = sheet.cells.get((row, column))
            cell = Cell(formula=text, tree=tree, array_evaluation=array_evaluation, dirty=True, volatile=volatile)
            if previous is not None and previous.is_formula:  # keep showing the old result until recalculated
                cell.result, cell.spill = previous.result, previous.spill
            sheet.cells[(row, column)] = cell
            cell.precedents = self._static_precedents(sheet, tree)
            self._content_changed(sheet, row, column)

    def clear(self, sheet: Sheet, area) -> None:
        with self.lock:
            r1, c1, r2, c2 = area
            for (r, c) in [p for p in sheet.cells if r1 <= p[0] <= r2 and c1 <= p[1] <= c2]:
                self._release_spill(sheet, (r, c))
                del sheet.cells[(r, c)]
            self._invalidate(sheet, area)
            self._respill_around(sheet, area)
            self._auto_recalculate()

    def mark_dirty(self, sheet: Sheet, area) -> None:
        """Range.Dirty: the formulas of the range need recalculation; automatic mode recalculates (DIRTY)."""
        with self.lock:
            r1, c1, r2, c2 = area
            for (r, c), cell in sheet.cells.items():
                if cell.is_formula and r1 <= r <= r2 and c1 <= c <= c2:
                    cell.dirty = True
                    self._invalidate(sheet, self._cell_area(sheet, (r, c)))
            self._auto_recalculate()

    def _content_changed(self, sheet: Sheet, row: int, column: int) -> None:
        self._invalidate(sheet, (row, column, row, column))
        self._respill_around(sheet, (row, column, row, column))
        self._auto_recalculate()

    def _auto_recalculate(self) -> None:
        if self.calculation == XL_AUTOMATIC and not self._calculating:
            self.calculate()

    # -- calculation ---------------------------------------------------------------------
    def formula_cells(self):
        for book in self.workbooks:
            for sheet in book.sheets:
                for position in sorted(sheet.cells):
                    cell = sheet.cells[position]
                    if cell.is_formula:
                        yield sheet, position, cell

    def calculate(self) -> None:
        """Application.Calculate: dirty cells, dependents of volatile or changed data (CALCTYPE)."""
        with self.lock:
            for sheet, position, cell in list(self.formula_cells()):
                if cell.volatile:  # "Volatile functions ... recalculated every time" (RECALC)
                    cell.dirty = True
                    self._invalidate(sheet, self._cell_area(sheet, position))
            self._compute_dirty()

    def calculate_full(self) -> None:
        """Application.CalculateFull: every formula of every open workbook (CALCTYPE "Full")."""
        with self.lock:
            for _, _, cell in self.formula_cells():
                cell.dirty = True
            self._compute_dirty()

    def calculate_range(self, sheet: Sheet, area) -> None:
        """Range.Calculate: the formulas of the range, dirty or not; their dependents become dirty.

        https://learn.microsoft.com/office/vba/api/excel.range.calculate ("calculates ... a
        specified range of cells"). That dependents are only marked, not calculated, is this
        model's reading; a test relying on their values should call Calculate after it.
        """
        with self.lock:
            r1, c1, r2, c2 = area
            targets = [p for p, cell in sheet.cells.items()
                       if cell.is_formula and r1 <= p[0] <= r2 and c1 <= p[1] <= c2]
            self._calculating, outer = True, self._calculating
            try:
                for position in sorted(targets):
                    self._compute(sheet, position)
            finally:
                self._calculating = outer

    def _compute_dirty(self) -> None:
        if self._calculating:
            return  # the running calculation picks the new dirty cells up
        self._calculating = True
        try:
            for _ in range(100_000):
                pending = next(((s, p) for s, p, c in self.formula_cells() if c.dirty), None)
                if pending is None:
                    return
                self._compute(*pending)
            raise ModelGap("excel model: the calculation did not settle (a cycle through spills?)")
        finally:
            self._calculating = False

    def _compute(self, sheet: Sheet, position) -> None:
        key = (id(sheet), position)
        if key in self._in_progress:
            raise ModelGap(f"excel model: circular reference at {sheet.name}!{position}: not modelled")
        cell = sheet.cells[position]
        self._in_progress.add(key)
        try:
            precedents: list = []
            result = self.evaluate_top(sheet, position, cell, precedents)
        finally:
            self._in_progress.discard(key)
        self.calculations += 1
        if sheet.cells.get(position) is not cell:
            return  # the formula was replaced while it was calculated (e.g. a UDF set it again)
        old_area = self._cell_area(sheet, position)
        old_shown = _snapshot(sheet, old_area)
        cell.result, cell.dirty, cell.precedents = result, False, precedents or cell.precedents
        self._resolve_spill(sheet, position)
        new_area = self._cell_area(sheet, position)
        if old_area != new_area or old_shown != _snapshot(sheet, new_area):
            # The calculation chain is revised when a formula depends on a changed cell (RECALC).
            self._invalidate(sheet, _union(old_area, new_area), skip=(sheet, position))

    def _cell_area(self, sheet: Sheet, position):
        return sheet.spill_area(position) or (*position, *position)

    def _invalidate(self, sheet: Sheet, area, skip=None) -> None:
        """Mark every direct and indirect dependent of ``area`` dirty (RECALC)."""
        stack = [(sheet, area)]
        while stack:
            changed_sheet, changed = stack.pop()
            for other_sheet, position, cell in self.formula_cells():
                if cell.dirty or (other_sheet, position) == skip or (id(other_sheet), position) in self._in_progress:
                    continue
                if any(s is changed_sheet and intersects(a, changed) for s, a in cell.precedents):
                    cell.dirty = True
                    stack.append((other_sheet, self._cell_area(other_sheet, position)))

    # -- spilling ------------------------------------------------------------------------
    def _resolve_spill(self, sheet: Sheet, position) -> None:
        """Spill an array result from its anchor, or show #SPILL! when the area is not empty (SPILLERR)."""
        cell = sheet.cells[position]
        self._release_spill(sheet, position)
        result = cell.result
        if not isinstance(result, list) or not cell.array_evaluation:
            return
        rows, columns = len(result), len(result[0])
        if (rows, columns) == (1, 1):
            return
        r0, c0 = position
        if r0 + rows - 1 > fx.MAX_ROW or c0 + columns - 1 > fx.MAX_COLUMN:
            return  # worksheetEdge: #SPILL!
        area = [(r, c) for r in range(r0, r0 + rows) for c in range(c0, c0 + columns) if (r, c) != position]
        if any(p in sheet.cells or p in sheet.spilled_from for p in area):
            return  # collision: #SPILL!, nothing spills
        cell.spill = (rows, columns)
        for p in area:
            sheet.spilled_from[p] = position

    def _release_spill(self, sheet: Sheet, position) -> None:
        cell = sheet.cells.get(position)
        if cell is None or cell.spill is None:
            return
        for p in [p for p, anchor in sheet.spilled_from.items() if anchor == position]:
            del sheet.spilled_from[p]
        cell.spill = None

    def _respill_around(self, sheet: Sheet, area) -> None:
        """A changed cell can block or free the spill of an anchor whose array covers it (SPILLERR)."""
        for position, cell in list(sheet.cells.items()):
            if not (cell.is_formula and isinstance(cell.result, list)) or area == (*position, *position):
                continue
            r0, c0 = position
            intended = (r0, c0, r0 + len(cell.result) - 1, c0 + len(cell.result[0]) - 1)
            if intersects(intended, area):
                before = self._cell_area(sheet, position)
                self._resolve_spill(sheet, position)
                self._invalidate(sheet, _union(before, self._cell_area(sheet, position)), skip=(sheet, position))

    # -- evaluation ----------------------------------------------------------------------
    def evaluate_top(self, sheet: Sheet, position, cell: Cell, precedents: list):
        value = self._evaluate(cell.tree, sheet, position, precedents)
        if isinstance(value, RefValue):
            value = value.values()
        if isinstance(value, list):
            value = [[0.0 if v is None else v for v in row] for row in value]  # =A1 of an empty cell shows 0
            if not cell.array_evaluation:
                return [[value[0][0]]]
            return value
        return 0.0 if value is None else value

    def _evaluate(self, tree, sheet: Sheet, position, precedents: list):
        if isinstance(tree, fx.Literal):
            return tree.value
        if isinstance(tree, fx.Reference):
            return self._reference(tree, sheet, precedents)
        if isinstance(tree, fx.Name):
            refers_to = sheet.book.resolve_name(tree.name, sheet)
            if refers_to is None:
                return ExcelError("#NAME?")
            target = fx.parse(refers_to, ())
            if not isinstance(target, fx.Reference):
                raise ModelGap(f"excel model: the name {tree.name} refers to {refers_to}, not a range: not modelled")
            return self._reference(target, sheet, precedents)
        if isinstance(tree, fx.Negate):
            value = _number(self._scalar(self._evaluate(tree.operand, sheet, position, precedents)))
            return value if isinstance(value, ExcelError) else -value
        if isinstance(tree, fx.Operation):
            return _operate(tree.op, self._scalar(self._evaluate(tree.left, sheet, position, precedents)),
                            self._scalar(self._evaluate(tree.right, sheet, position, precedents)))
        if isinstance(tree, fx.Call):
            if tree.function in self.udfs:
                return self.udfs[tree.function].evaluate(self, tree, sheet, position, precedents)
            return self._builtin(tree, sheet, position, precedents)
        raise ModelGap(f"excel model: cannot evaluate {tree!r}")

    def evaluate_argument(self, tree, sheet: Sheet, position, precedents: list):
        return self._evaluate(tree, sheet, position, precedents)

    def _reference(self, ref: fx.Reference, sheet: Sheet, precedents: list) -> RefValue | ExcelError:
        target = sheet.book.sheet(ref.sheet) if ref.sheet else sheet
        area = ref.area
        if ref.spill:
            anchor = area[:2]
            precedents.append((target, (*anchor, *anchor)))
            self._settle(target, (*anchor, *anchor))
            area = target.spill_area(anchor)
            if area is None:
                cell = target.cells.get(anchor)
                return ExcelError("#REF!") if cell is None or not isinstance(cell.result, list) else SPILL
        precedents.append((target, area))
        self._settle(target, area)
        return RefValue(target, area)

    def _settle(self, sheet: Sheet, area) -> None:
        """Calculate dirty formulas a reference reads first: the chain is revised on the way (RECALC)."""
        for position, cell in list(sheet.cells.items()):
            if cell.is_formula and cell.dirty:
                if intersects(self._cell_area(sheet, position), area):
                    self._compute(sheet, position)

    def _scalar(self, value):
        if isinstance(value, RefValue):
            r1, c1, r2, c2 = value.area
            if (r1, c1) != (r2, c2):
                raise ModelGap("excel model: a multi-cell range where one value is needed (lifting) is not modelled")
            return value.sheet.shown(r1, c1)
        if isinstance(value, list):
            raise ModelGap("excel model: an array where one value is needed is not modelled")
        return value

    def _builtin(self, tree: fx.Call, sheet: Sheet, position, precedents):
        args = [self._evaluate(a, sheet, position, precedents) if not isinstance(a, fx.Missing) else None
                for a in tree.args]
        name = tree.function
        if name == "IF":
            if not 2 <= len(args) <= 3:
                raise ModelGap("excel model: IF takes 2 or 3 arguments")
            condition = self._scalar(args[0])
            if isinstance(condition, ExcelError):
                return condition
            if isinstance(condition, str):
                return ExcelError("#VALUE!")
            chosen = args[1] if condition else (args[2] if len(args) == 3 else False)
            return self._scalar(chosen) if isinstance(chosen, RefValue) and _is_one_cell(chosen) else chosen
        flat = [v for a in args for v in _flatten(a)]
        if name == "SUM":
            errors = [v for v in flat if isinstance(v, ExcelError)]
            return errors[0] if errors else float(sum(v for v in flat if isinstance(v, float)))
        if name == "COUNTA":
            return float(sum(1 for v in flat if v is not None))
        if name == "ROWS":
            if len(args) != 1:
                raise ModelGap("excel model: ROWS takes one argument")
            a = args[0]
            if isinstance(a, RefValue):
                return float(a.area[2] - a.area[0] + 1)
            return float(len(a) if isinstance(a, list) else 1)
        if name in _LOOKUPS:
            return _lookup(name, [self._scalar(a) if isinstance(a, RefValue) and _is_one_cell(a) else a
                                  for a in args])
        raise ModelGap(f"excel model: the function {name} is not modelled")

    def _static_precedents(self, sheet: Sheet, tree) -> list:
        found: list = []

        def walk(node):
            if isinstance(node, fx.Reference):
                try:
                    target = sheet.book.sheet(node.sheet) if node.sheet else sheet
                except KeyError:
                    return
                found.append((target, node.area if not node.spill else (*node.area[:2], *node.area[:2])))
            elif isinstance(node, fx.Name):
                refers_to = sheet.book.resolve_name(node.name, sheet)
                if refers_to:
                    walk(fx.parse(refers_to, ()))
            elif isinstance(node, fx.Call):
                for a in node.args:
                    walk(a)
            elif isinstance(node, fx.Operation):
                walk(node.left)
                walk(node.right)
            elif isinstance(node, fx.Negate):
                walk(node.operand)

        walk(tree)
        return found


def _is_one_cell(ref: RefValue) -> bool:
    r1, c1, r2, c2 = ref.area
    return (r1, c1) == (r2, c2)


def _flatten(value):
    if isinstance(value, RefValue):
        return [v for row in value.values() for v in row]
    if isinstance(value, list):
        return [v for row in value for v in row]
    if isinstance(value, bool):
        return [1.0 if value else 0.0]
    return [value]


def _union(a, b):
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _snapshot(sheet: Sheet, area):
    r1, c1, r2, c2 = area
    return tuple(tuple(sheet.shown(r, c) for c in range(c1, c2 + 1)) for r in range(r1, r2 + 1))


def _excel_value(value):
    """What a cell holds: numbers are doubles in Excel; text, booleans, errors and dates as given."""
    if isinstance(value, bool) or isinstance(value, (str, ExcelError, dt.datetime)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    raise ModelGap(f"excel model: a cell value of type {type(value).__name__} is not modelled")


def excel_value(value):
    return None if value is None else _excel_value(value)


def _number(value):
    if isinstance(value, ExcelError):
        return value
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    return ExcelError("#VALUE!")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    raise ModelGap(f"excel model: the text of {value!r} is not modelled")


def _operate(op: str, left, right):
    for side in (left, right):
        if isinstance(side, ExcelError):
            return side
    if op == "&":
        return _text(left) + _text(right)
    if op in ("=", "<>"):
        equal = _equal(left, right)
        return equal if op == "=" else not equal
    if op in ("<", ">", "<=", ">="):
        if type(left) is not type(right) or not isinstance(left, (float, str)):
            raise ModelGap(f"excel model: comparing {left!r} {op} {right!r} is not modelled")
        a, b = (left.lower(), right.lower()) if isinstance(left, str) else (left, right)
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    a, b = _number(left), _number(right)
    for side in (a, b):
        if isinstance(side, ExcelError):
            return side
    if op == "/" and b == 0:
        return ExcelError("#DIV/0!")
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[op]


def _equal(left, right) -> bool:
    """=: an empty cell equals "" and 0; text compares without case."""
    if left is None:
        left = "" if isinstance(right, str) else (0.0 if isinstance(right, float) else left)
    if right is None:
        right = "" if isinstance(left, str) else (0.0 if isinstance(left, float) else right)
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return type(left) is type(right) and left == right


_VBA = "https://learn.microsoft.com/office/vba/api/excel.worksheetfunction."
_LOOKUPS = {
    # "Returns a value that you specify if a formula evaluates to an error; otherwise, returns the
    # result of the formula"
    "IFERROR": _VBA + "iferror",
    # "Returns a value converted to a number": a number that number, TRUE 1, FALSE 0, an error value
    # the error value, "Anything else 0" (an empty cell, text)
    "N": "https://support.microsoft.com/excel/functions/n-function",
    # "If array is empty, Large returns the #NUM! error value. If k <= 0 or if k is greater than the
    # number of data points, Large returns the #NUM! error value"
    "LARGE": _VBA + "large",
    # "If match_type is 0, Match finds the first value that is exactly equal to lookup_value";
    # "If Match is unsuccessful in finding a match, it returns the #N/A error value"
    "MATCH": _VBA + "match",
    # "Row_num and column_num must point to a cell within array; otherwise, Index returns the #REF!
    # error value"; a one-column range takes row_num alone
    "INDEX": _VBA + "index",
    # "Counts the number of cells within a range that meet the given criteria"; only a number or
    # TRUE/FALSE criterion (equality) is modelled
    "COUNTIF": _VBA + "countif",
}


def _lookup(name: str, args: list):
    """The functions of ``_LOOKUPS``, as their pages describe them; what they leave open raises ModelGap."""
    if name == "IFERROR":
        _arity(name, args, 2)
        return args[1] if isinstance(args[0], ExcelError) else args[0]
    if name == "N":
        _arity(name, args, 1)
        value = args[0]
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, (float, ExcelError)):
            return value
        if value is None or isinstance(value, str):
            return 0.0
        raise ModelGap(f"excel model: N of {value!r} is not modelled")
    if name == "LARGE":
        _arity(name, args, 2)
        values = _cells(args[0])
        for value in values:
            if isinstance(value, ExcelError):
                return value
        numbers = sorted((v for v in values if isinstance(v, float)), reverse=True)
        k = args[1]
        if not isinstance(k, float):
            raise ModelGap(f"excel model: LARGE with k {k!r} is not modelled")
        return numbers[int(k) - 1] if 1 <= k <= len(numbers) else ExcelError("#NUM!")
    if name == "MATCH":
        _arity(name, args, 3)
        if args[2] != 0.0:
            raise ModelGap("excel model: MATCH with a match_type other than 0 is not modelled")
        if isinstance(args[0], ExcelError):
            return args[0]
        values = _line_of_cells(args[1], name)
        return next((float(i) for i, v in enumerate(values, start=1) if v is not None and _equal(v, args[0])),
                    ExcelError("#N/A"))
    if name == "INDEX":
        _arity(name, args, 2)
        values, row = _line_of_cells(args[0], name), args[1]
        if isinstance(row, ExcelError):
            return row
        if not isinstance(row, float) or not row.is_integer():
            raise ModelGap(f"excel model: INDEX with row_num {row!r} is not modelled")
        if not 1 <= row <= len(values):
            return ExcelError("#REF!")
        value = values[int(row) - 1]
        if value is None:
            raise ModelGap("excel model: INDEX of an empty cell is not modelled")
        return value
    if name == "COUNTIF":
        _arity(name, args, 2)
        if not isinstance(args[1], (bool, float)):
            raise ModelGap(f"excel model: COUNTIF with the criterion {args[1]!r} is not modelled")
        return float(sum(1 for v in _cells(args[0]) if type(v) is type(args[1]) and v == args[1]))
    raise ModelGap(f"excel model: the function {name} is not modelled")


def _arity(name: str, args: list, count: int) -> None:
    if len(args) != count:
        raise ModelGap(f"excel model: {name} with {len(args)} arguments is not modelled")


def _cells(value) -> list:
    if not isinstance(value, RefValue):
        raise ModelGap(f"excel model: an array argument {value!r} is not modelled")
    return [v for row in value.values() for v in row]


def _line_of_cells(value, name: str) -> list:
    """The values of a one-row or one-column range, in order."""
    if not isinstance(value, RefValue) or (value.area[0] != value.area[2] and value.area[1] != value.area[3]):
        raise ModelGap(f"excel model: {name} over {value!r} (not one row or column of cells) is not modelled")
    return _cells(value)
