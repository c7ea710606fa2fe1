"""FM_ cells found in a workbook, with their arguments read from the cells they refer to.

One cell type and one resolver serve both refreshes: ``xl-fastmoss refresh`` reads a workbook
file (the values Excel saved), the Excel button reads the live workbook through xlwings. Each
hands over a :class:`Workbook`; what an argument means is decided here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..workbook.addresses import split_range
from .formulas import CellRef, FormulaScan, Literal, Missing, NameRef, Unsupported, parse_argument, parse_formula

#: A range argument larger than this is refused rather than read into memory.
MAX_RANGE_CELLS = 100_000
#: Names defined in terms of names, deeper than this, are taken for a loop.
MAX_NAME_DEPTH = 10


class NameDefinition(Protocol):
    @property
    def text(self) -> str:
        """What the name refers to, as a formula writes it, without the leading ``=``."""
        ...

    @property
    def scope(self) -> str | None:
        """The sheet the name belongs to; None for a workbook-wide name."""
        ...


class FormulaCell(Protocol):
    @property
    def ref(self) -> str: ...

    @property
    def formula(self) -> str | None: ...

    @property
    def formula_type(self) -> str | None:
        """``shared`` for a formula filled over a range and stored once, ``array`` for an array."""
        ...

    @property
    def formula_ref(self) -> str | None:
        """The range a shared formula covers, or an array's."""
        ...


class Workbook(Protocol):
    """What the resolver needs of a workbook, saved or live."""

    @property
    def worksheet_names(self) -> list[str]: ...

    def formula_cells(self, sheet: str) -> Iterable[FormulaCell]:
        """The cells of ``sheet`` holding a formula, row by row."""
        ...

    def has_sheet(self, name: str) -> bool: ...

    def values(self, sheet: str, range_: str) -> list[list[object]]:
        """The values of a range, row by row."""
        ...

    def defined_name(self, name: str, sheet: str | None = None) -> NameDefinition | None:
        """The name as a formula on ``sheet`` sees it: the sheet's own name, else the book's."""
        ...


@runtime_checkable
class SurveyedWorkbook(Protocol):
    """A workbook that can tell which sheets' formulas may mention a text without reading every cell.

    A saved file does (its sheets' bytes are scanned); a live workbook need not.
    """

    def worksheets_mentioning(self, text: str) -> list[str]:
        """The worksheets with a formula that may hold ``text`` (ASCII letters in any case), in order."""
        ...


@dataclass(frozen=True)
class FmCell:
    """An FM_ formula found in a workbook, its arguments resolved to cell values.

    ``args`` holds one value per argument (None for an empty argument or an empty cell, a 2D
    list for a multi-cell range). ``problem``, when set, says why the cell cannot be refreshed,
    naming it. ``formula`` is the cell's formula text without its ``=``; ``spill_range`` the
    range of its last result when the workbook keeps it as an array.
    """

    sheet: str
    cell: str
    function: str
    args: tuple
    problem: str | None = None
    formula: str | None = None
    spill_range: str | None = None

    @property
    def address(self) -> str:
        return address(self.sheet, self.cell)


def address(sheet: str, cell: str) -> str:
    """``Dashboard!B7``, ``My Sheet!B7``: how messages name a cell (no quotes, for people)."""
    return f"{sheet}!{cell}"


def find_fm_cells(book: Workbook) -> list[FmCell]:
    """Every FM_ call in the workbook's worksheets, in sheet order then row by row.

    A call that cannot be refreshed (nested in another formula, filled over a range as a shared
    formula, with an argument that is a calculation, an unknown name or sheet) carries a
    ``problem`` naming its cell.
    """
    found = []
    # A sheet of data with no FM_ call in any formula is never read cell by cell.
    sheets = book.worksheets_mentioning("fm_") if isinstance(book, SurveyedWorkbook) else book.worksheet_names
    for sheet in sheets:
        for cell in book.formula_cells(sheet):
            if not cell.formula or "fm_" not in cell.formula.lower():
                continue
            scan = parse_formula(cell.formula)
            if scan:
                found.append(read_fm_cell(book, sheet, cell, scan))
    return found


def read_fm_cell(book: Workbook, sheet: str, cell: FormulaCell, scan: FormulaScan) -> FmCell:
    """One FM_ formula of ``sheet`` with its arguments read, or the problem that stops it."""
    where = address(sheet, cell.ref)
    formula = (cell.formula or "").removeprefix("=")
    spill = cell.formula_ref if cell.formula_type == "array" else None
    if scan.call is None:
        function = scan.functions[0]
        return FmCell(sheet, cell.ref, function, (),
                      f"{where}: {function} is nested inside another formula; put it alone in its cell",
                      formula, spill)
    call = scan.call
    problems = []
    if cell.formula_type == "shared" and cell.formula_ref and split_range(cell.formula_ref) != split_range(cell.ref):
        # Excel stores a formula filled over a range once, in its first cell. Each table spills
        # over the cells below and right, so copies of the formula would collide anyway.
        problems.append(
            f"{where}: {call.function} was filled over {cell.formula_ref} as one shared formula; "
            f"keep it in {cell.ref} only and delete the copies")
    args = []
    for position, argument in enumerate(call.args, start=1):
        value, problem = resolve_argument(book, sheet, argument)
        args.append(value)
        if problem:
            problems.append(f"{where}: argument {position} of {call.function} {problem}")
    return FmCell(sheet, cell.ref, call.function, tuple(args), "; ".join(problems) or None, formula, spill)


def resolve_argument(book: Workbook, sheet: str, argument, depth: int = 0) -> tuple[object, str | None]:
    """(value, problem): the value an argument stands for, or why there is none."""
    if isinstance(argument, Literal):
        return argument.value, None
    if isinstance(argument, Missing):
        return None, None
    if isinstance(argument, CellRef):
        target_sheet = argument.sheet if argument.sheet is not None else sheet
        if not book.has_sheet(target_sheet):
            return None, f"refers to sheet '{target_sheet}', which does not exist"
        r1, c1, r2, c2 = split_range(argument.ref.replace("$", ""))
        if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_RANGE_CELLS:
            return None, f"refers to {argument.ref}, too large a range"
        values = book.values(target_sheet, argument.ref)
        if len(values) == 1 and len(values[0]) == 1:
            return values[0][0], None
        return values, None
    if isinstance(argument, NameRef):
        lookup_sheet = argument.sheet if argument.sheet is not None else sheet
        defined = book.defined_name(argument.name, lookup_sheet)
        if defined is None:
            return None, f"uses the name {argument.name}, which is not defined"
        if depth > MAX_NAME_DEPTH:
            return None, f"uses the name {argument.name}, whose definition loops"
        target = parse_argument(defined.text)
        if isinstance(target, (Unsupported, Missing)):
            return None, (f"uses the name {argument.name}, which refers to {defined.text}; "
                          "only a cell or a constant can be read")
        # A name's unqualified reference is relative to the sheet it is used on.
        value, problem = resolve_argument(book, defined.scope or sheet, target, depth + 1)
        if problem:
            return None, f"uses the name {argument.name}, which {problem}"
        return value, None
    return None, f"({argument.text}) is a calculation; use a value, a cell reference or a defined name"
