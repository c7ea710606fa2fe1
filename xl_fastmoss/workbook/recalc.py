"""Cached values for the formulas of a values copy, so that a copy opened without recalculation
(Protected View, a viewer, a reader library) shows the right numbers.

The project does the plumbing itself: which cells changed, which formulas depend on them
(directly, through a defined name or another formula), the order they are computed in, reading
each input's values from the copy and writing the results back. The expressions themselves are
computed by the ``formulas`` package (EUPL 1.1+, maintained by the EC's Joint Research Centre),
imported only when a copy has a formula to compute: its first use costs about a second, as it
loads numpy and scipy. A formula it cannot compute (a function it lacks, an external workbook,
a spill that would change size) keeps its old cached value and is named in the report.

Only the formulas that may have changed are computed: those depending on a changed cell, those
without a cached value, and volatile ones (TODAY, NOW, RAND, OFFSET, INDIRECT...). A sheet of
data may hold tens of thousands of formulas over its own rows, and the engine takes about half a
millisecond to read one; so the references of each formula are first read by a small tokenizer
(:func:`_cheap_areas`, a superset of what the engine finds, or "cannot tell"), and only the
formulas that may be stale by those are read by the engine to decide.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .addresses import MAX_COLUMN, MAX_ROW, cell_name, column_number, split_cell, split_range
from .reader import WorkbookFile
from .sheet_editor import CellAreas, FormulaCell
from .xstring import decode_xstring

if TYPE_CHECKING:
    from .sheet_editor import SheetEditor

__all__ = ["recalculate", "Recalculation"]

#: A range input larger than this (after clipping whole columns to the used area) is not read.
MAX_INPUT_CELLS = 1_000_000
#: Formulas computed inside formulas deeper than this are taken for a loop.
MAX_DEPTH = 200
_VOLATILE = re.compile(r"\b(?:_xlfn\.)?(?:NOW|TODAY|RAND|RANDBETWEEN|RANDARRAY|OFFSET|INDIRECT|CELL|INFO)\s*\(",
                       re.IGNORECASE)

Position = tuple[int, int]
Area = tuple[str, int, int, int, int]  # sheet casefolded, first row, first column, last row, last column


@dataclass(frozen=True)
class _Name:
    """A defined name's definition, and the sheet its unqualified references mean."""

    text: str
    sheet: str


class NotComputed(Exception):
    """A formula the engine cannot compute; the message says why."""


@dataclass
class _Formula:
    sheet: str
    position: Position
    #: The formula as stored; empty for a cell of a shared formula, whose text is its group's
    #: first cell's (``master``) translated to it.
    stored_text: str
    #: The cells the formula fills: its own, or its array's range.
    area: tuple[int, int, int, int]
    array: bool = False
    dynamic: bool = False
    cached: bool = True
    #: (text, cell) of the first cell of the shared formula this cell belongs to.
    master: tuple[str, str] | None = None
    #: The areas the formula reads as the engine finds them; None until asked (:meth:`Recalculation.inputs`).
    inputs: list[Area] | None = None
    #: A superset of ``inputs`` read without the engine, or None when the tokenizer cannot tell.
    cheap_inputs: list[Area] | None = None
    problem: str | None = None
    _text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.stored_text
            if self.master is not None and not self.stored_text:
                self._text = _translate(self.master[0], self.master[1], cell_name(*self.position))
        return self._text

    @property
    def volatile(self) -> bool:
        return bool(_VOLATILE.search(self.text))

    @property
    def may_be_volatile(self) -> bool:
        return bool(_VOLATILE.search(self.master[0] if self.master and not self.stored_text else self.stored_text))

    @property
    def where(self) -> str:
        return f"{self.sheet}!{cell_name(*self.position)}"


class Recalculation:
    """The formulas of the sheets being edited, and what changed in them.

    ``editors`` are the writer's sheet editors by sheet name (their formula cells and values);
    ``changed`` the cells whose values the copy changed, by sheet name.
    """

    def __init__(self, book: WorkbookFile, editors: dict[str, SheetEditor], changed: dict[str, CellAreas],
                 date1904: bool = False):
        self.book = book
        self.editors = {name.casefold(): (name, editor) for name, editor in editors.items()}
        self.changed = {name.casefold(): cells for name, cells in changed.items()}
        self.date1904 = date1904
        self.formulas: dict[tuple[str, Position], _Formula] = {}
        self.not_computed: list[str] = []
        self._values: dict[tuple[str, Position], Any] = {}
        self._computing: set[tuple[str, Position]] = set()
        self._engine: Any = None

    # -- which formulas ------------------------------------------------------------------------

    def collect(self) -> None:
        for key, (name, editor) in self.editors.items():
            cells = editor.formula_cells()
            # Excel stores a shared formula once, in the group's first cell.
            shared = {cell.shared_index: (cell.text, cell_name(*cell.position)) for cell in cells
                      if cell.kind == "shared" and cell.text and cell.shared_index is not None}
            for cell in cells:
                self.formulas[(key, cell.position)] = self._formula(name, cell, shared)

    def _formula(self, sheet: str, cell: FormulaCell, shared: dict[str, tuple[str, str]]) -> _Formula:
        position = cell.position
        area = (position[0], position[1], position[0], position[1])
        array = cell.kind == "array"
        if array and cell.ref:
            with contextlib.suppress(ValueError):
                area = split_range(cell.ref)
        master = shared.get(cell.shared_index or "") if cell.kind == "shared" and not cell.text else None
        formula = _Formula(sheet, position, cell.text, area, array, cell.dynamic, cell.cached, master)
        if cell.kind == "dataTable":
            formula.problem = "a what-if data table, which only Excel computes"
            formula.inputs = formula.cheap_inputs = []
        elif master is None and not cell.text.strip():
            formula.problem = "its formula text is empty"
            formula.inputs = formula.cheap_inputs = []
        elif master is not None:
            master_row, master_column = split_cell(master[1])
            shift = (position[0] - master_row, position[1] - master_column)
            formula.cheap_inputs = self._cheap(master[0], sheet, shift)
        else:
            formula.cheap_inputs = self._cheap(cell.text, sheet)
        return formula

    def _cheap(self, text: str, sheet: str, shift: tuple[int, int] = (0, 0)) -> list[Area] | None:
        found = _cheap_areas(text, shift)
        if found is None:
            return None
        areas = []
        for target, r1, c1, r2, c2 in found:
            try:
                key = self._sheet_name(target if target is not None else sheet).casefold()
            except NotComputed:
                return None
            areas.append((key, r1, c1, r2, c2))
        return areas

    def inputs(self, formula: _Formula) -> list[Area]:
        """The areas the formula reads, read by the engine (once); a formula it cannot read gets its problem."""
        if formula.inputs is None:
            if not formula.text.strip():
                formula.problem = formula.problem or "its formula text is empty"
                formula.inputs = []
            else:
                try:
                    formula.inputs = self._inputs_of(formula.text, formula.sheet)
                except NotComputed as error:
                    formula.problem = str(error)
                    formula.inputs = []
        return formula.inputs

    def _inputs_of(self, text: str, sheet: str, depth: int = 0) -> list[Area]:
        """The areas a formula reads, defined names followed to what they refer to."""
        areas = []
        for name in self._references(text):
            areas.extend(self._areas(name, sheet, depth))
        return areas

    def _references(self, text: str) -> list[str]:
        from formulas.tokens.operand import Range

        try:
            tokens = self.engine.Parser().ast("=" + text)[0]
        except Exception as error:  # the engine's parser raises its own error types
            raise NotComputed(f"the formula engine cannot read it ({type(error).__name__})") from None
        return [token.attr["name"] for token in tokens if isinstance(token, Range)]

    def _areas(self, name: str, sheet: str, depth: int) -> list[Area]:
        target = self._resolve(name, sheet)
        if not isinstance(target, _Name):
            return [target]
        if depth > 10:
            raise NotComputed(f"the name {name} is defined in terms of itself")
        return self._inputs_of(target.text, target.sheet, depth + 1)

    def _resolve(self, name: str, sheet: str) -> Area | _Name:
        """A reference as the engine names it: an area, or a defined name's (text, sheet)."""
        attr = self._range_parts(name)
        if attr is None:
            if name.endswith("#"):
                return self._spill_area(name[:-1], sheet)
            defined = self.book.defined_name(name, sheet)
            if defined is None:
                raise NotComputed(f"it uses the name {name}, which is not defined")
            return _Name(defined.text, defined.scope or sheet)
        if attr.get("excel_id") or attr.get("filename"):
            raise NotComputed("it refers to another workbook")
        target = self._sheet_name(attr.get("sheet") or sheet)
        r1, r2 = int(attr["r1"]), int(attr["r2"])
        c1, c2 = int(attr["n1"]), int(attr["n2"])
        return (target.casefold(), max(r1, 1), max(c1, 1), min(r2, MAX_ROW), min(c2, MAX_COLUMN))

    def _range_parts(self, name: str) -> dict | None:
        from formulas.errors import AnchorRangeName, InvalidRangeName

        try:
            return dict(self.engine.Ranges().push(name).ranges[0])
        except (InvalidRangeName, AnchorRangeName):
            return None
        except Exception as error:
            raise NotComputed(f"the formula engine cannot read {name} ({type(error).__name__})") from None

    def _spill_area(self, anchor: str, sheet: str) -> Area:
        prefix, _, cell = anchor.rpartition("!")
        target = self._sheet_name(prefix.strip("'").replace("''", "'") if prefix else sheet)
        try:
            row, column = split_cell(cell)
        except ValueError:
            raise NotComputed(f"it refers to {anchor}#, which is no cell") from None
        formula = self.formulas.get((target.casefold(), (row, column)))
        if formula is None or not formula.array:
            raise NotComputed(f"it refers to the spill of {anchor}, which holds no array")
        return (target.casefold(), *formula.area)

    def _sheet_name(self, name: str) -> str:
        if name.casefold() in self.editors:
            return self.editors[name.casefold()][0]
        if self.book.has_sheet(name):
            return self.book.sheet(name).name
        raise NotComputed(f"it refers to the sheet {name}, which does not exist")

    # -- which are stale -----------------------------------------------------------------------

    def stale(self) -> list[_Formula]:
        """The formulas whose cached value may be wrong: changed inputs, no value, volatile.

        First by the tokenizer's superset of each formula's references (the engine reads only
        the formulas it cannot tell about), then by the engine's among the formulas found so.
        """
        candidates = self._closure(self.formulas, lambda f: f.cheap_inputs if f.cheap_inputs is not None
                                   else self.inputs(f), lambda f: f.may_be_volatile)
        among = {key: formula for key, formula in self.formulas.items() if key in candidates}
        return list(self._closure(among, self.inputs, lambda f: f.volatile).values())

    def _closure(self, formulas: dict[tuple[str, Position], _Formula], inputs: Callable[[_Formula], list[Area]],
                 volatile: Callable[[_Formula], bool]) -> dict[tuple[str, Position], _Formula]:
        dirty_cells: dict[str, CellAreas] = {key: cells.copy() for key, cells in self.changed.items()}
        dirty: dict[tuple[str, Position], _Formula] = {}
        pending = dict(formulas)
        progress = True
        while progress:
            progress = False
            for key, formula in list(pending.items()):
                if not formula.cached or volatile(formula) or any(_touches(area, dirty_cells)
                                                                  for area in inputs(formula)):
                    dirty[key] = formula
                    del pending[key]
                    dirty_cells.setdefault(key[0], CellAreas()).add_block(*formula.area)
                    progress = True
        return dirty

    # -- computing -----------------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        if self._engine is None:
            import formulas

            self._engine = formulas
        return self._engine

    def compute(self, formulas_: list[_Formula], write: Callable[[_Formula, list[list[object]]], None]) -> None:
        """Compute each formula and hand its values to ``write``; name those that cannot be."""
        self._stale = {(f.sheet.casefold(), f.position): f for f in formulas_}
        with _quiet_engine():
            for formula in formulas_:
                key = (formula.sheet.casefold(), formula.position)
                if self._values.get(key) is _NOT_COMPUTED:
                    continue  # named already
                try:  # computed already when an earlier formula read it: written now, as its own
                    values = self._evaluate(formula, 0)
                except NotComputed as error:
                    self.not_computed.append(f"{formula.where}: ={formula.text} could not be computed ({error}); "
                                             "Excel computes it when the copy is opened for editing")
                    self._values[key] = _NOT_COMPUTED
                    continue
                write(formula, values)

    def _evaluate(self, formula: _Formula, depth: int) -> list[list[object]]:
        key = (formula.sheet.casefold(), formula.position)
        if key in self._values:
            value = self._values[key]
            if value is _NOT_COMPUTED:
                raise NotComputed(f"it depends on {formula.where}, which could not be computed")
            return value
        self.inputs(formula)
        if formula.problem:
            raise NotComputed(formula.problem)
        if key in self._computing or depth > MAX_DEPTH:
            raise NotComputed("it is part of a circular reference")
        self._computing.add(key)
        try:
            result = self._run(formula.text, formula.sheet, depth)
            values = self._shape(formula, result)
        finally:
            self._computing.discard(key)
        self._values[key] = values
        return values

    def _run(self, text: str, sheet: str, depth: int) -> object:
        try:
            function = self.engine.Parser().ast("=" + text)[1].compile()
        except Exception as error:
            raise NotComputed(f"the formula engine cannot read it ({type(error).__name__})") from None
        arguments = [self._argument(name, sheet, depth) for name in function.inputs]
        try:
            return function(*arguments)
        except NotComputed:
            raise
        except Exception as error:
            raise NotComputed(_engine_reason(error)) from None

    def _argument(self, name: str, sheet: str, depth: int) -> object:
        target = self._resolve(name, sheet)
        if isinstance(target, _Name):
            if self._range_parts(target.text) is None and not target.text.endswith("#"):
                return self._run(target.text, target.sheet, depth + 1)
            target = self._resolve(target.text, target.sheet)
            if isinstance(target, _Name):
                raise NotComputed(f"the name {name} refers to another name")
        return self._range_value(target, depth)

    def _range_value(self, area: Area, depth: int) -> object:
        import numpy as np

        key, r1, c1, r2, c2 = area
        if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_INPUT_CELLS:
            # A whole column or row: only its used part holds values (ROWS(A:A) is the price).
            last_row, last_column = self._used_area(key)
            r2, c2 = min(r2, max(last_row, r1)), min(c2, max(last_column, c1))
        if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_INPUT_CELLS:
            raise NotComputed(f"it reads {(r2 - r1 + 1) * (c2 - c1 + 1):,} cells, more than {MAX_INPUT_CELLS:,}")
        empty = self._empty()
        values = np.full((r2 - r1 + 1, c2 - c1 + 1), empty, dtype=object)
        for (r, c), value in self._cells_in(key, r1, c1, r2, c2, depth):
            values[r - r1, c - c1] = value
        ranges = self.engine.Ranges()
        return ranges.push(_area_text(r1, c1, r2, c2), values)

    def _cells_in(self, key: str, r1: int, c1: int, r2: int, c2: int, depth: int) -> Iterator[tuple[Position, object]]:
        if key in self.editors:
            editor = self.editors[key][1]
            for position, kind, text in editor.raw_values(r1, c1, r2, c2):
                stale = self._stale_covering(key, position)
                if stale is not None:
                    values = self._evaluate(stale, depth + 1)
                    yield position, values[position[0] - stale.area[0]][position[1] - stale.area[1]]
                else:
                    value = self._raw_value(kind, text)
                    if value is not None:
                        yield position, value
            return
        name = self.book.sheet(self._original_name(key)).name
        for ref, data in self.book.cells(name).items():
            r, c = split_cell(ref)
            if r1 <= r <= r2 and c1 <= c <= c2 and data.value is not None:
                yield (r, c), self._from_reader(data.value)

    def _stale_covering(self, key: str, position: Position) -> _Formula | None:
        stale = getattr(self, "_stale", {})
        formula = stale.get((key, position))
        if formula is not None:
            return formula
        for formula in stale.values():
            if formula.array and formula.sheet.casefold() == key:
                r1, c1, r2, c2 = formula.area
                if r1 <= position[0] <= r2 and c1 <= position[1] <= c2:
                    return formula
        return None

    def _original_name(self, key: str) -> str:
        for info in self.book.sheets:
            if info.name.casefold() == key:
                return info.name
        return key

    def _used_area(self, key: str) -> tuple[int, int]:
        if key in self.editors:
            return self.editors[key][1].used_area()
        cells = [split_cell(ref) for ref in self.book.cells(self._original_name(key))]
        if not cells:
            return (1, 1)
        return max(r for r, _ in cells), max(c for _, c in cells)

    def _raw_value(self, kind: str, text: str | None) -> object:
        """A cell's value from its type and value text, as Excel would read it."""
        if kind == "inlineStr":
            return text
        if text is None:
            return None
        if kind == "s":
            try:
                return self.book.shared_strings[int(text)]
            except (ValueError, IndexError):
                return None
        if kind == "str":
            return decode_xstring(text)
        if kind == "b":
            return text.strip() in ("1", "true")
        if kind == "e":
            return self._error(text)
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and abs(number) < 2**53 else number

    def _from_reader(self, value: object) -> object:
        from .reader import CellError

        if isinstance(value, CellError):
            return self._error(str(value))
        if isinstance(value, (dt.datetime, dt.date)):
            base = dt.datetime(1904, 1, 1) if self.date1904 else dt.datetime(1899, 12, 30)
            moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
            delta = moment - base
            serial = delta.days + delta.seconds / 86400
            return serial - 1 if not self.date1904 and serial < 61 else serial
        return value

    def _error(self, text: str) -> object:
        from formulas.tokens.operand import Error

        return Error.errors.get(text, Error.errors["#VALUE!"])

    def _empty(self) -> object:
        import schedula

        return schedula.EMPTY

    def _shape(self, formula: _Formula, result: object) -> list[list[object]]:
        """The result as the rows of the formula's area, each value a plain Python value."""
        import numpy as np

        if hasattr(result, "value") and type(result).__name__ == "Ranges":
            result = result.value
        array = np.asarray(result, dtype=object)
        if array.ndim == 0:
            array = array.reshape(1, 1)
        elif array.ndim == 1:
            array = array.reshape(1, -1)
        r1, c1, r2, c2 = formula.area
        rows, columns = r2 - r1 + 1, c2 - c1 + 1
        if array.shape == (1, 1) and not formula.array:
            return [[self._plain(array[0, 0])]]
        if not formula.array:
            raise NotComputed("it returns an array into one cell")
        if array.shape != (rows, columns):
            if formula.dynamic:
                raise NotComputed(f"its spill would change from {rows} x {columns} to "
                                  f"{array.shape[0]} x {array.shape[1]} cells")
            error = self._error("#N/A")
            padded = np.full((rows, columns), error, dtype=object)
            if array.shape == (1, 1):
                padded[:, :] = array[0, 0]
            else:
                r, c = min(rows, array.shape[0]), min(columns, array.shape[1])
                padded[:r, :c] = array[:r, :c]
            array = padded
        return [[self._plain(value) for value in row] for row in array]

    def _plain(self, value: object) -> object:
        from formulas.tokens.operand import XlError

        from .reader import CellError

        if isinstance(value, XlError):
            return CellError(str(value))
        if value is self._empty():
            return 0  # Excel shows an empty reference as 0
        if hasattr(value, "item"):
            value = value.item()  # numpy scalars
        if isinstance(value, float) and not math.isfinite(value):
            return CellError("#NUM!")
        return value


class _NotComputedMark:
    pass


_NOT_COMPUTED = _NotComputedMark()


def recalculate(book: WorkbookFile, editors: dict[str, SheetEditor], changed: dict[str, CellAreas],
                write: Callable[[_Formula, list[list[object]]], None], date1904: bool = False) -> list[str]:
    """Compute the formulas of ``editors`` whose cached values ``changed`` made stale.

    ``write(formula, rows)`` stores each result; returns one line per formula left as it was.
    """
    recalculation = Recalculation(book, editors, changed, date1904)
    recalculation.collect()
    if not recalculation.formulas:
        return []
    stale = recalculation.stale()
    recalculation.compute(stale, write)
    return recalculation.not_computed


def _touches(area: Area, dirty_cells: dict[str, CellAreas]) -> bool:
    key, r1, c1, r2, c2 = area
    cells = dirty_cells.get(key)
    return bool(cells) and cells.touches(r1, c1, r2, c2)  # type: ignore[union-attr]


#: What the tokenizer tells apart in a formula: text in quotes, a function's name, a reference
#: (maybe to another sheet; a cell, a block, whole columns or whole rows, each corner's parts
#: with their ``$``), a name, and what it cannot read (structured references, spills, external
#: books, error literals, arrays).
_TOKEN = re.compile(r"""
    "(?:[^"]|"")*"
  | (?P<function>[A-Za-z_\\][\w.\\]*)\s*\(
  | (?:(?P<sheet>'(?:[^']|'')+'|[^\W\d][\w.]*)!)?
    (?:(?P<ca>\$?)(?P<c>[A-Za-z]{1,3})(?P<ra>\$?)(?P<r>[0-9]+)
         (?::(?P<ca2>\$?)(?P<c2>[A-Za-z]{1,3})(?P<ra2>\$?)(?P<r2>[0-9]+))?
      |(?P<cola>\$?)(?P<col>[A-Za-z]{1,3}):(?P<cola2>\$?)(?P<col2>[A-Za-z]{1,3})
      |(?P<rowa>\$?)(?P<row>[0-9]+):(?P<rowa2>\$?)(?P<row2>[0-9]+))(?![\w.(!#\[\\])
  | (?P<word>[^\W\d][\w.\\]*)
  | (?P<odd>[\[\]#!'{}@\\])
""", re.VERBOSE)
_COLUMN_NUMBERS: dict[str, int] = {}
_WORD = _TOKEN.groupindex["word"]
_PARTS = tuple(_TOKEN.groupindex[name] for name in (
    "sheet", "ca", "c", "ra", "r", "ca2", "c2", "ra2", "r2", "cola", "col", "cola2", "col2", "rowa", "row", "rowa2",
    "row2"))


def _cheap_areas(text: str, shift: tuple[int, int] = (0, 0)) -> list[tuple[str | None, int, int, int, int]] | None:
    """(sheet or None, first row, first column, last row, last column) of each reference of a
    formula, a superset of what the engine reads; None when the formula holds what this cannot
    read (a name, a spill, a structured or external reference...). ``shift`` moves the relative
    parts, as a shared formula's text is moved to each of its cells."""
    if "anchorarray" in text or "ANCHORARRAY" in text.upper():
        return None
    areas: list[tuple[str | None, int, int, int, int]] = []
    down, right = shift
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind is None or kind == "function":
            continue
        if kind == "odd":
            return None
        if kind == "word":
            if token.group(_WORD).upper() in ("TRUE", "FALSE"):
                continue
            return None
        sheet, ca, c, ra, r, ca2, c2, ra2, r2, cola, col, cola2, col2, rowa, row, rowa2, row2 = token.group(*_PARTS)
        if sheet is not None and sheet.startswith("'"):
            sheet = sheet[1:-1].replace("''", "'")
        if c is not None:
            r1 = int(r) + (0 if ra else down)
            c1 = _column(c) + (0 if ca else right)
            last_row, last_column = r1, c1
            if c2 is not None:
                last_row = int(r2) + (0 if ra2 else down)
                last_column = _column(c2) + (0 if ca2 else right)
        elif col is not None:
            r1, last_row = 1, MAX_ROW
            c1 = _column(col) + (0 if cola else right)
            last_column = _column(col2) + (0 if cola2 else right)
        else:
            c1, last_column = 1, MAX_COLUMN
            r1 = int(row) + (0 if rowa else down)
            last_row = int(row2) + (0 if rowa2 else down)
        if last_row < r1:
            r1, last_row = last_row, r1
        if last_column < c1:
            c1, last_column = last_column, c1
        areas.append((sheet, max(r1, 1), max(c1, 1), min(last_row, MAX_ROW), min(last_column, MAX_COLUMN)))
    return areas


def _column(letters: str) -> int:
    number = _COLUMN_NUMBERS.get(letters)
    if number is None:
        number = _COLUMN_NUMBERS[letters] = column_number(letters)
    return number


def _translate(text: str, origin: str, destination: str) -> str:
    """A shared formula's text as it reads in another cell of its range."""
    from openpyxl.formula.translate import Translator

    try:
        return Translator("=" + text, origin=origin).translate_formula(destination)[1:]
    except Exception:  # openpyxl's tokenizer refuses some texts; the formula is then named
        return ""


def _area_text(r1: int, c1: int, r2: int, c2: int) -> str:
    first, last = cell_name(r1, c1), cell_name(r2, c2)
    return first if first == last else f"{first}:{last}"


def _engine_reason(error: BaseException) -> str:
    # schedula's DispatcherError carries (message template, function name, cause).
    args = error.args
    if len(args) >= 3 and isinstance(args[0], str) and "DISPATCHING" in args[0]:
        name, cause = args[1], args[2]
        if isinstance(cause, NotImplementedError):
            return f"the formula engine has no function {name}"
        return f"the formula engine failed in {name} ({type(cause).__name__})"
    return f"the formula engine failed ({type(error).__name__})"


@contextlib.contextmanager
def _quiet_engine() -> Iterator[None]:
    """schedula logs every failed function with a traceback; the report names them instead."""
    loggers = [logging.getLogger(name) for name in ("schedula", "formulas")]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)  # their child loggers inherit it
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
