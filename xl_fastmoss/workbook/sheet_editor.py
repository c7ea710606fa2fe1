"""One worksheet part edited in place, row by row: the rows an edit does not touch stay the bytes they were.

lxml holds a parsed sheet at about 880 bytes a cell (a sheet of 500,000 cells: 440 MB) and
builds an element for every cell written; a values copy writes tables into sheets that may hold
tens of thousands of rows. So the sheet stays its bytes, with an index of where each row starts;
a row the copy reads or changes is parsed alone with lxml (inside the root's start tag, so its
namespaces resolve), and the cells a table brings are written as XML text. On output the
untouched rows are copied as they were and the changed ones written in their place.

What is not UTF-8, has no ``sheetData``, rows without a number, or comments, CDATA or processing
instructions among its rows is first parsed whole and serialised again (comments and
processing instructions among the rows are dropped there: they mean nothing to Excel, which
drops them on its next save), so that the row index can rely on every ``<row`` being a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .addresses import MAX_COLUMN, MAX_ROW, cell_name, column_letters, column_number, range_text
from .package import PARSER, WorkbookError, local_name, namespace_of, parse_xml, serialise
from .xstring import encode_xstring

__all__ = ["CellAreas", "FormulaCell", "SheetEditor"]

Position = tuple[int, int]
#: How a value goes into a cell: ``("empty",)``, ``("s", text)``, ``("n", text)``, ``("b", "1")``,
#: ``("e", "#N/A")``, ``("str", text)`` (a formula's text result) or ``("date", serial, format id)``.
Content = tuple

_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_FORMULA_TAGS = frozenset({"f", "formula", "formula1", "formula2"})
_BEFORE_SHEET_DATA = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols")
_SIMPLE_CELL_ATTRIBUTES = frozenset({"r", "s", "t", "cm", "vm", "ph"})
_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([^\"']+)")
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?(worksheet|chartsheet|dialogsheet|macrosheet)(?=[\s>/])"
                   rb"(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_INHERITED = re.compile(rb'\s+xmlns(?::([\w.-]+))?="([^"]*)"')
_ROW_NUMBER = re.compile(rb"\sr\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_SPANS = re.compile(rb"\sspans\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_REF_ATTRIBUTE = re.compile(rb"\sref\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")
#: What follows an element's name up to the end of its start tag (quoted values may hold ``>``).
_ATTRIBUTES_TO_END = rb"(?=[\s>/])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
_START_TAG = re.compile(rb"<[^\s>/]+(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_TYPE_ATTRIBUTE = re.compile(rb'\st="([A-Za-z]+)"')
_ATTRIBUTE = re.compile(rb'\s([\w:.-]+)="([^"]*)"')
#: Rows parsed at once when a range is only read (its tree is dropped afterwards).
_BATCH_ROWS = 2000
#: The most bytes :meth:`SheetEditor.chunks` gives at once.
_PIECE = 1 << 20


def _skipping(pattern: bytes) -> re.Pattern[bytes]:
    """``pattern`` found outside comments, CDATA sections and processing instructions (group 1)."""
    return re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|(" + pattern + rb")", re.DOTALL)


def _first(regex: re.Pattern[bytes], data: bytes, start: int = 0, end: int | None = None) -> re.Match[bytes] | None:
    for match in regex.finditer(data, start, len(data) if end is None else end):
        if match.group(1) is not None:
            return match
    return None


def _escape_text(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _escape_attribute(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;"))


def _unescape(text: bytes) -> str:
    decoded = text.decode("utf-8")
    if "&" in decoded:
        decoded = decoded.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return decoded


def attribute_number(text: str | None, where: str, what: str, default: int) -> int:
    """A whole number attribute of a sheet (a row number, a style index), or a one-line error."""
    if text is None:
        return default
    if not re.fullmatch(r"\s*\d{1,9}\s*", text):
        raise WorkbookError(f"{where}: {what} is {text!r}, not a whole number")
    return int(text)


_COLUMNS: dict[str, int] = {}


def _column_of(ref: str) -> int | None:
    """The column of a cell reference such as ``B7``; None when it is none."""
    match = _CELL_REF.fullmatch(ref)
    if match is None:
        return None
    letters = match.group(1).upper()
    column = _COLUMNS.get(letters)
    if column is None:
        column = _COLUMNS[letters] = column_number(letters)
    row = int(match.group(2))
    return column if column <= MAX_COLUMN and 1 <= row <= MAX_ROW else None


_LETTERS: list[str] = []


def _letters(column: int) -> str:
    while len(_LETTERS) <= column:
        _LETTERS.append(column_letters(len(_LETTERS)))
    return _LETTERS[column]


class CellAreas:
    """Cells as blocks and single positions: what an edit changed, tested cheaply against an area."""

    def __init__(self) -> None:
        self.blocks: list[tuple[int, int, int, int]] = []
        self.cells: set[Position] = set()
        #: The block holding them all: an area outside it touches none.
        self.bounds: tuple[int, int, int, int] | None = None

    def add(self, position: Position) -> None:
        self.cells.add(position)
        self._grow(position[0], position[1], position[0], position[1])

    def add_block(self, first_row: int, first_column: int, last_row: int, last_column: int) -> None:
        if (first_row, first_column) == (last_row, last_column):
            self.cells.add((first_row, first_column))
        else:
            self.blocks.append((first_row, first_column, last_row, last_column))
        self._grow(first_row, first_column, last_row, last_column)

    def copy(self) -> CellAreas:
        copied = CellAreas()
        copied.blocks, copied.cells, copied.bounds = list(self.blocks), set(self.cells), self.bounds
        return copied

    def _grow(self, r1: int, c1: int, r2: int, c2: int) -> None:
        if self.bounds is None:
            self.bounds = (r1, c1, r2, c2)
        else:
            b1, d1, b2, d2 = self.bounds
            self.bounds = (min(b1, r1), min(d1, c1), max(b2, r2), max(d2, c2))

    def __bool__(self) -> bool:
        return bool(self.blocks or self.cells)

    def __contains__(self, position: Position) -> bool:
        if position in self.cells:
            return True
        row, column = position
        return any(r1 <= row <= r2 and c1 <= column <= c2 for r1, c1, r2, c2 in self.blocks)

    def touches(self, first_row: int, first_column: int, last_row: int, last_column: int) -> bool:
        """Whether a cell of the area is among these."""
        if self.bounds is None:
            return False
        b1, d1, b2, d2 = self.bounds
        if first_row > b2 or last_row < b1 or first_column > d2 or last_column < d1:
            return False
        for r1, c1, r2, c2 in self.blocks:
            if r1 <= last_row and first_row <= r2 and c1 <= last_column and first_column <= c2:
                return True
        if not self.cells:
            return False
        if (last_row - first_row + 1) * (last_column - first_column + 1) < len(self.cells):
            return any((r, c) in self.cells for r in range(first_row, last_row + 1)
                       for c in range(first_column, last_column + 1))
        return any(first_row <= r <= last_row and first_column <= c <= last_column for r, c in self.cells)


@dataclass(frozen=True)
class FormulaCell:
    """A cell's formula as the sheet stores it, and whether the cell holds a value computed from it."""

    position: Position
    text: str
    #: ``normal``, ``array``, ``shared`` or ``dataTable``.
    kind: str
    ref: str | None
    shared_index: str | None
    #: The cell is marked as a dynamic array's anchor (``cm``).
    dynamic: bool
    cached: bool


@dataclass
class _Row:
    """A row being edited: its parsed element (None for a new row), kept cells, written cells."""

    number: int
    index: int | None
    element: etree._Element | None
    #: Cells of the row as elements, by column (edited in place when their form is unusual).
    cells: dict[int, etree._Element]
    #: Cells written as XML text, by column.
    written: dict[int, bytes]
    changed: bool = False
    #: Cells were set or cleared: the row's spans are brought in line on output.
    touched: bool = False


class SheetEditor:
    """A worksheet part, edited by (row, column); :meth:`tobytes` gives the edited part.

    ``where`` names the sheet in error messages (``book.xlsx: the sheet Data``).
    """

    def __init__(self, data: bytes, where: str = "the sheet"):
        self.where = where
        self.changed = False
        #: The cells whose value this edit set or cleared, for the formulas that read them.
        self.touched_cells = CellAreas()
        self.rows: dict[int, _Row] = {}
        self._head: etree._Element | None = None
        self._tail: etree._Element | None = None
        self._tail_changed = False
        self._column_styles: list[tuple[int, int, str]] | None = None
        self._style_of_column: dict[int, str | None] = {}
        self._dimension: str | None = None
        try:
            self._index(data)
        except _NeedsNormalising:
            try:
                self._index(self._normalised(data), normalised=True)
            except _NeedsNormalising:
                raise WorkbookError(f"{where} cannot be edited (its rows could not be numbered)") from None

    # -- the index -----------------------------------------------------------------------------

    def _index(self, data: bytes, normalised: bool = False) -> None:
        declaration = _DECLARATION.match(data)
        encoding = _ENCODING.search(declaration.group(0)) if declaration else None
        if (data.startswith((b"\xff\xfe", b"\xfe\xff"))
                or (encoding is not None and encoding.group(1).lower().replace(b"-", b"") != b"utf8")):
            raise _NeedsNormalising
        root = _first(_skipping(_ROOT.pattern), data)
        if root is None:
            raise WorkbookError(f"{self.where} is not well-formed XML (no worksheet element)")
        inner = _ROOT.match(data, root.start(1))
        assert inner is not None
        prefix = (inner.group(1) + b":") if inner.group(1) else b""
        self.prefix = prefix
        self.text_prefix = prefix.decode()
        self.root_name = inner.group(2)
        self.root_start = inner.group(0)
        self.root_end = inner.end()
        sheet_data = _first(_skipping(rb"<" + re.escape(prefix) + rb"sheetData" + _ATTRIBUTES_TO_END), data,
                            self.root_end)
        if sheet_data is None:
            if normalised:
                raise WorkbookError(f"{self.where} has no sheetData")
            raise _NeedsNormalising
        if sheet_data.group(1).endswith(b"/>"):
            tag = sheet_data.group(1)
            opened = tag[:-2].rstrip() + b">"
            data = data[:sheet_data.start(1)] + opened + b"</" + prefix + b"sheetData>" + data[sheet_data.end(1):]
            content_start = sheet_data.start(1) + len(opened)
        else:
            content_start = sheet_data.end(1)
        end_tag = b"</" + prefix + b"sheetData"
        content_end = data.find(end_tag, content_start)
        if content_end < 0:
            raise WorkbookError(f"{self.where} is not well-formed XML (sheetData is not closed)")
        def holds(text: bytes) -> bool:
            return data.find(text, content_start, content_end) >= 0
        if holds(b"<!") or holds(b"<?"):
            raise _NeedsNormalising
        other_rows = re.compile(rb"<(?!" + re.escape(prefix) + rb"row(?=[\s>/]))(?:[A-Za-z_][\w.-]*:)?row(?=[\s>/])")
        if (holds(b":row") or (prefix and holds(b"<row"))) and other_rows.search(data, content_start, content_end):
            raise WorkbookError(f"{self.where}: its rows are written with more than one namespace prefix; "
                                "save it from Excel")
        self.data = data
        self.content_start, self.content_end = content_start, content_end
        self.tail_start = data.find(b">", content_end) + 1
        self.tail_end = data.rfind(b"</" + prefix + self.root_name)
        if self.tail_end < self.tail_start:
            raise WorkbookError(f"{self.where} is not well-formed XML (the root is not closed)")
        starts: list[int] = []
        numbers: list[int] = []
        row_start = re.compile(rb"<" + re.escape(prefix) + rb"row(?=[\s>/])(?:\s+r=\"(\d{1,9})\")?")
        number = 0
        for match in row_start.finditer(data, content_start, content_end):
            if match.group(1) is not None:
                number = int(match.group(1))
            else:
                tag_end = data.find(b">", match.end())
                found = _ROW_NUMBER.search(data, match.end(), tag_end)
                if found is None:
                    raise _NeedsNormalising  # a row numbered by its place: rows cannot be inserted
                text = (found.group(1) if found.group(1) is not None else found.group(2)).decode("utf-8", "replace")
                number = attribute_number(text, self.where, "row", number)
            starts.append(match.start())
            numbers.append(number)
        self.starts = starts
        self.ends = starts[1:] + [content_end]
        self._cell_tag = re.compile(rb"<" + re.escape(prefix) + rb"c(?=[\s/>])")
        self.numbers = numbers
        self.index_of = {n: i for i, n in enumerate(numbers)}
        self.sorted_numbers = sorted(self.index_of)

    def _normalised(self, data: bytes) -> bytes:
        """The sheet parsed whole and written back in UTF-8, with a ``sheetData`` free of comments,
        every row and cell numbered (as Excel numbers them: in order, after the one before)."""
        try:
            root = parse_xml(data)
        except etree.XMLSyntaxError as error:
            raise WorkbookError(f"{self.where} is not well-formed XML ({error})") from None
        ns = namespace_of(root)

        def tag(name: str) -> str:
            return f"{{{ns}}}{name}" if ns else name
        sheet_data = root.find(tag("sheetData"))
        if sheet_data is None:
            sheet_data = etree.SubElement(root, tag("sheetData"))
            position = 0
            for i, child in enumerate(root):
                if local_name(child.tag) in _BEFORE_SHEET_DATA:
                    position = i + 1
            root.insert(position, sheet_data)
        for node in list(sheet_data.iter(etree.Comment, etree.ProcessingInstruction)):
            parent = node.getparent()
            if parent is not None:
                tail = node.tail
                previous = node.getprevious()
                parent.remove(node)
                if tail and tail.strip():
                    if previous is not None:
                        previous.tail = (previous.tail or "") + tail
                    else:
                        parent.text = (parent.text or "") + tail
        row_number = 0
        for row in sheet_data:
            if local_name(row.tag) != "row":
                continue
            row_ref = row.get("r")
            row_number = attribute_number(row_ref, self.where, "row", row_number) if row_ref else row_number + 1
            row.set("r", str(row_number))
            column = 0
            for c in row:
                if local_name(c.tag) != "c":
                    continue
                cell_ref = c.get("r")
                if cell_ref:
                    found = _column_of(cell_ref)
                    if found is None:
                        raise WorkbookError(f"{self.where}: row {row_number} has a cell r={cell_ref!r}, "
                                            "which is no cell address")
                    column = found
                else:
                    column += 1
                c.set("r", cell_name(row_number, column))
        return serialise(root, data)

    # -- rows and cells --------------------------------------------------------------------------

    def _tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}" if self.ns else name

    @property
    def ns(self) -> str:
        return namespace_of(self.head_root())

    def _parse_rows(self, first: int, last: int) -> list[etree._Element]:
        """The rows at file positions ``first`` to ``last``, parsed together inside the root."""
        p = self.prefix
        wrapper = b"".join((self.root_start, b"<", p, b"sheetData>", self.data[self.starts[first]:self.ends[last]],
                            b"</", p, b"sheetData></", p, self.root_name, b">"))
        try:
            root = etree.fromstring(wrapper, PARSER)
        except etree.XMLSyntaxError as error:
            raise WorkbookError(f"{self.where} is not well-formed XML ({error})") from None
        rows = [child for child in root[0] if local_name(child.tag) == "row"]
        if len(rows) != last - first + 1:
            raise WorkbookError(f"{self.where} is not well-formed XML (rows {self.numbers[first]} to "
                                f"{self.numbers[last]} do not read as rows)")
        return rows

    def _cells_of(self, row: etree._Element, number: int) -> dict[int, etree._Element]:
        cells: dict[int, etree._Element] = {}
        column = 0
        for c in row:
            if local_name(c.tag) != "c":
                continue
            ref = c.get("r")
            if ref:
                found = _column_of(ref)
                if found is None:
                    raise WorkbookError(f"{self.where}: row {number} has a cell r={ref!r}, which is no cell address")
                column = found
            else:
                column += 1
            if c.get("s") is not None:
                attribute_number(c.get("s"), self.where, f"cell {cell_name(number, column)}: style", 0)
            c.set("r", cell_name(number, column))
            cells[column] = c
        return cells

    def _materialise(self, first_number: int, last_number: int) -> None:
        """Parse the existing rows numbered ``first_number`` to ``last_number`` that are not parsed yet."""
        indices = sorted(self.index_of[n] for n in self._numbers_between(first_number, last_number)
                         if n not in self.rows)
        run: list[int] = []
        for index in indices + [-1]:
            if run and (index != run[-1] + 1):
                for i, element in zip(run, self._parse_rows(run[0], run[-1]), strict=True):
                    number = self.numbers[i]
                    if self.index_of[number] == i:
                        self.rows[number] = _Row(number, i, element, self._cells_of(element, number), {})
                run = []
            if index >= 0:
                run.append(index)

    def _numbers_between(self, first: int, last: int) -> list[int]:
        from bisect import bisect_left, bisect_right

        return self.sorted_numbers[bisect_left(self.sorted_numbers, first):bisect_right(self.sorted_numbers, last)]

    def row(self, number: int, create: bool = False) -> _Row | None:
        """The row numbered ``number``, parsed; with ``create``, a new empty row when there is none."""
        found = self.rows.get(number)
        if found is None and number in self.index_of:
            self._materialise(number, number)
            found = self.rows[number]
        if found is None and create:
            found = self.rows[number] = _Row(number, None, None, {}, {})
        return found

    def prepare(self, first_row: int, last_row: int) -> None:
        """Parse the rows of an area at once (cheaper than one by one)."""
        self._materialise(first_row, last_row)

    def cell(self, position: Position) -> etree._Element | None:
        """The cell at ``position`` as an element, if the sheet holds it as one (not written as text)."""
        row = self.row(position[0])
        return None if row is None else row.cells.get(position[1])

    def child(self, element: etree._Element, name: str) -> etree._Element | None:
        return element.find(self._tag(name))

    def is_filled(self, c: etree._Element) -> bool:
        if self.child(c, "f") is not None or self.child(c, "is") is not None:
            return True
        v = self.child(c, "v")
        return v is not None and v.text is not None

    def merged_ranges(self) -> list[str]:
        block = self.tail_root().find(self._tag("mergeCells"))
        return [element.get("ref", "") for element in (block if block is not None else []) if element.get("ref")]

    # -- writing ---------------------------------------------------------------------------------

    def drop_formula(self, position: Position) -> None:
        """Take the formula (and its dynamic-array mark) out of a cell, keeping its value and style."""
        c = self.cell(position)
        if c is None:
            return
        formula = self.child(c, "f")
        if formula is not None:
            c.remove(formula)
        _drop_attribute(c, "cm")
        self._row_changed(position[0])

    def clear(self, positions: Iterable[Position]) -> None:
        """Empty the cells: a cell with a style stays, empty; one without goes."""
        for position in positions:
            if self.cell(position) is not None:
                self.write_row(position[0], position[1], [("empty",)], _no_date_style, touch=True)

    def write_row(self, number: int, first_column: int, contents: list[Content],
                  date_style: Callable[[int, int], int], touch: bool = False) -> None:
        """Write ``contents`` into row ``number`` from ``first_column`` on; each keeps its cell's style.

        A new cell takes the row's format, else its column's, as Excel does. ``date_style(style,
        format id)`` gives the cell format showing a date for a date written into a cell of ``style``.
        ``touch`` notes each cell in :attr:`touched_cells` (a table notes its block instead).
        """
        row = self.row(number, create=True)
        assert row is not None
        p = self.text_prefix
        self.changed = row.changed = row.touched = True
        element = row.element
        row_style = (element.get("s") if element is not None and element.get("customFormat") in ("1", "true")
                     else None)
        last_column = first_column + len(contents) - 1
        if not touch and not _holds_any(row.cells, first_column, last_column) and not _holds_any(
                row.written, first_column, last_column):
            self._write_new_cells(row, first_column, contents, date_style, row_style)
            return
        for offset, content in enumerate(contents):
            column = first_column + offset
            if touch:
                self.touched_cells.add((number, column))
            existing = row.cells.get(column)
            if existing is not None:
                if not self._plain(existing):
                    self._set_element(existing, content, date_style, row)
                    continue
                attributes = [(str(name), str(value)) for name, value in existing.attrib.items()
                              if name not in ("r", "t", "cm", "vm")]
                style = existing.get("s")
                assert element is not None
                element.remove(existing)
                del row.cells[column]
            elif column in row.written:
                attributes = _written_attributes(row.written[column])
                style = next((value for name, value in attributes if name == "s"), None)
            else:
                if content[0] == "empty":
                    continue
                style = row_style or self._column_style(column)
                attributes = [("s", style)] if style else []
            if content[0] == "empty" and style is None:
                row.written.pop(column, None)  # a plain cell emptied is no cell
                continue
            row.written[column] = self._cell_text(p, number, column, attributes, content, date_style)

    def _write_new_cells(self, row: _Row, first_column: int, contents: list[Content],
                         date_style: Callable[[int, int], int], row_style: str | None) -> None:
        """:meth:`write_row` into columns of a row holding no cell yet: the usual case of a table, made quick."""
        p = self.text_prefix
        number = str(row.number)
        written = row.written
        for offset, content in enumerate(contents):
            kind = content[0]
            if kind == "empty":
                continue
            column = first_column + offset
            style = row_style or self._column_style(column)
            start = f'<{p}c r="{_letters(column)}{number}"' + (f' s="{style}"' if style else "")
            if kind == "s":
                text = _escape_text(encode_xstring(content[1]))
                written[column] = (f'{start} t="inlineStr"><{p}is><{p}t xml:space="preserve">{text}</{p}t></{p}is>'
                                   f'</{p}c>').encode()
            elif kind == "n":
                written[column] = f"{start}><{p}v>{content[1]}</{p}v></{p}c>".encode()
            else:
                written[column] = self._cell_text(p, row.number, column, [("s", style)] if style else [], content,
                                                  date_style)

    def set_value(self, position: Position, content: Content) -> None:
        """Give a cell a computed value (a cell of an array formula's result), keeping its style.

        A cell the sheet does not hold is made with the style a typed value would take (and kept,
        empty, when that style is not the default).
        """
        number, column = position
        row = self.row(number, create=True)
        assert row is not None
        if content[0] == "empty" and column not in row.cells and column not in row.written:
            self.changed = row.changed = True
            element = row.element
            row_style = (element.get("s") if element is not None
                         and element.get("customFormat") in ("1", "true") else None)
            if not (row_style or self._column_style(column)):
                return
            content = ("styled-empty",)
        self.write_row(number, column, [content], _no_date_style, touch=True)

    def set_cached(self, position: Position, content: Content) -> None:
        """Give a formula cell the cached value its formula computes to, keeping the formula."""
        c = self.cell(position)
        if c is None:
            return
        self._row_changed(position[0])
        for child in list(c):
            if local_name(child.tag) in ("v", "is"):
                c.remove(child)
        for attribute in ("t", "vm"):
            _drop_attribute(c, attribute)
        if content[0] == "empty":
            return
        kind, text = content
        if kind == "s":
            kind, text = "str", encode_xstring(text)
        if kind != "n":
            c.set("t", kind)
        v = etree.Element(self._tag("v"))
        v.text = text
        formula = self.child(c, "f")
        if formula is not None:
            formula.addnext(v)
        else:
            c.insert(0, v)

    def _row_changed(self, number: int) -> None:
        row = self.row(number)
        if row is not None:
            self.changed = row.changed = True

    @staticmethod
    def _plain(c: etree._Element) -> bool:
        """A cell this editor may write as text: plain attributes, no children but f, v, is."""
        if any(name not in _SIMPLE_CELL_ATTRIBUTES for name in c.attrib):
            return False
        return all(local_name(child.tag) in ("f", "v", "is") for child in c)

    def _cell_text(self, p: str, row: int, column: int, attributes: list[tuple[str, str]], content: Content,
                   date_style: Callable[[int, int], int]) -> bytes:
        if content[0] == "date":
            style = next((value for name, value in attributes if name == "s"), None)
            new_style = date_style(attribute_number(style, self.where, "a style", 0), content[2])
            if str(new_style) != (style or "0"):
                attributes = [("s", str(new_style))] + [(n, v) for n, v in attributes if n != "s"]
            content = ("n", repr(content[1]))
        ref = f"{_letters(column)}{row}"
        attrs = "".join(f' {name}="{_escape_attribute(value)}"' for name, value in attributes)
        kind = content[0]
        if kind == "n":
            return f'<{p}c r="{ref}"{attrs}><{p}v>{content[1]}</{p}v></{p}c>'.encode()
        if kind == "s":
            text = _escape_text(encode_xstring(content[1]))
            return (f'<{p}c r="{ref}"{attrs} t="inlineStr"><{p}is><{p}t xml:space="preserve">{text}</{p}t>'
                    f"</{p}is></{p}c>").encode()
        if kind in ("empty", "styled-empty"):
            return f'<{p}c r="{ref}"{attrs}/>'.encode()
        if not attrs and kind == "n":
            return f'<{p}c r="{ref}"><{p}v>{content[1]}</{p}v></{p}c>'.encode()
        return f'<{p}c r="{ref}"{attrs} t="{kind}"><{p}v>{_escape_text(content[1])}</{p}v></{p}c>'.encode()

    def _set_element(self, c: etree._Element, content: Content, date_style: Callable[[int, int], int],
                     row: _Row) -> None:
        """Give an element cell a value (or none), keeping its style: for cells of an unusual form."""
        if content[0] == "date":
            style = attribute_number(c.get("s"), self.where, "a style", 0)
            new_style = date_style(style, content[2])
            if new_style != style:
                c.set("s", str(new_style))
            content = ("n", repr(content[1]))
        for child in list(c):
            if local_name(child.tag) in ("f", "v", "is"):
                c.remove(child)
        for attribute in ("t", "vm", "cm"):
            _drop_attribute(c, attribute)
        if content[0] in ("empty", "styled-empty"):
            if c.get("s") is None and len(c) == 0 and row.element is not None:
                row.element.remove(c)
                column = _column_of(c.get("r", ""))
                if column is not None:
                    row.cells.pop(column, None)
            return
        kind, text = content
        if kind == "s":
            c.set("t", "inlineStr")
            inline = etree.Element(self._tag("is"))
            t = etree.SubElement(inline, self._tag("t"))
            t.set(_XML_SPACE, "preserve")
            t.text = encode_xstring(text)
            c.insert(0, inline)
            return
        if kind != "n":
            c.set("t", kind)
        v = etree.Element(self._tag("v"))
        v.text = text
        c.insert(0, v)

    def _column_style(self, column: int) -> str | None:
        # As Excel does when a value is typed into an empty cell: the row's format if the row
        # has one (the caller's part), else the column's.
        if column in self._style_of_column:
            return self._style_of_column[column]
        if self._column_styles is None:
            self._column_styles = []
            cols = self.head_root().find(self._tag("cols"))
            for col in cols if cols is not None else []:
                col_style, low, high = col.get("style"), col.get("min"), col.get("max")
                if col_style and low and high:
                    self._column_styles.append((int(low), int(high), col_style))
        found = None
        for first, last, style in self._column_styles:
            if first <= column <= last:
                found = style if style != "0" else None
                break
        self._style_of_column[column] = found
        return found

    # -- formulas ------------------------------------------------------------------------------

    def replace_spill_refs(self, rewrite: Callable[[str, Any], str], mapping: Any) -> bool:
        """Rewrite the spill references of every formula (cells, conditional formats, validations)."""
        changed = False
        spill = re.compile(rb"<" + re.escape(self.prefix) + rb"f(?=[\s/>])[^>]*>[^<]*(?:#|[Aa][Nn][Cc][Hh][Oo][Rr]"
                           rb"[Aa][Rr][Rr][Aa][Yy])")
        numbers = {self.numbers[self._row_at(m.start())] for m in spill.finditer(self.data, self.content_start,
                                                                                  self.content_end)}
        for number in sorted(numbers):
            self.row(number)
        for row in self.rows.values():
            for c in row.cells.values():
                f = self.child(c, "f")
                if f is not None and f.text and self._rewrite(f, rewrite, mapping):
                    self.changed = row.changed = changed = True
        tail = self.tail_root()
        for element in tail.iter():
            if local_name(element.tag) in _FORMULA_TAGS and element.text and self._rewrite(element, rewrite, mapping):
                self.changed = self._tail_changed = changed = True
        return changed

    @staticmethod
    def _rewrite(element: etree._Element, rewrite: Callable[[str, Any], str], mapping: Any) -> bool:
        text = element.text or ""
        if "#" not in text and "anchorarray" not in text.lower():
            return False
        new_text = rewrite(text, mapping)
        if new_text == text:
            return False
        element.text = new_text
        return True

    def _row_at(self, offset: int) -> int:
        from bisect import bisect_right

        return bisect_right(self.starts, offset) - 1

    def formula_cells(self) -> list[FormulaCell]:
        """Every cell formula of the sheet, by position.

        Read from the bytes of the rows not parsed (a sheet of data may hold a formula a row): a
        cell's start tag, its ``f`` and whether a value follows; a row whose formula cell has no
        ``r`` is parsed instead.
        """
        found: list[FormulaCell] = []
        p = re.escape(self.prefix)
        slow: set[int] = set()
        data = self.data
        # The usual form first, in one pass: <c r="G2" s="1"><f>E2*F2</f><v>9.5</v></c>.
        usual = re.compile(rb'<' + p + rb'c r="([A-Z]{1,3})[0-9]+"((?: [\w:.-]+="[^"]*")*)>(<' + p
                           + rb'f>([^<&\r]*)</' + p + rb'f>)(<' + p + rb'v>[^<]+</' + p + rb'v>|<' + p + rb'is[\s/>])?')
        done: set[int] = set()
        for match in usual.finditer(data, self.content_start, self.content_end):
            index = self._row_at(match.start())
            number = self.numbers[index]
            if number in self.rows or self.index_of[number] != index:
                continue
            letters, attributes, _, text, value = match.groups()
            column = _column_of(letters.decode() + "1")
            if column is None:
                continue
            done.add(match.start(3))
            found.append(FormulaCell((number, column), text.decode("utf-8"), "normal", None, None,
                                     b" cm=" in attributes, value is not None))
        formula_tag = re.compile(rb"<" + p + rb"f(?=[\s/>])")
        cell_start = re.compile(rb"<" + p + rb"c(?=[\s>])")
        cell_end = b"</" + self.prefix + b"c"
        value = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?>([^<]+)</|<" + p + rb"is[\s/>]")
        for match in formula_tag.finditer(data, self.content_start, self.content_end):
            if match.start() in done:
                continue
            index = self._row_at(match.start())
            number = self.numbers[index]
            if number in self.rows or self.index_of[number] != index or index in slow:
                continue
            start = max(data.rfind(b"<" + self.prefix + b"c ", self.starts[index], match.start()),
                        data.rfind(b"<" + self.prefix + b"c>", self.starts[index], match.start()))
            tag = _START_TAG.match(data, start) if start >= 0 else None
            if tag is None or not cell_start.match(data, start):
                slow.add(index)
                continue
            attributes = _attributes(tag.group(0))
            column = _column_of(attributes.get("r", ""))
            if column is None:
                slow.add(index)
                continue
            end = data.find(cell_end, match.start(), self.ends[index])
            f_tag = _START_TAG.match(data, match.start())
            if end < 0 or f_tag is None:
                slow.add(index)
                continue
            f_attributes = _attributes(f_tag.group(0))
            text = ""
            if not f_tag.group(0).endswith(b"/>"):
                text = _xml_text(data[f_tag.end():data.find(b"<", f_tag.end())])
            cached = value.search(data, tag.end(), end) is not None
            found.append(FormulaCell((number, column), text, f_attributes.get("t", "normal"), f_attributes.get("ref"),
                                     f_attributes.get("si"), "cm" in attributes, cached))
        for number, cells in self._row_cells(sorted(slow)):
            found.extend(self._formulas_of(number, cells))
        for number in sorted(self.rows):
            found.extend(self._formulas_of(number, self.rows[number].cells))
        found.sort(key=lambda formula: formula.position)
        return found

    def _formulas_of(self, number: int, cells: dict[int, etree._Element]) -> Iterator[FormulaCell]:
        for column, c in cells.items():
            f = self.child(c, "f")
            if f is None:
                continue
            v = self.child(c, "v")
            cached = (v is not None and v.text is not None) or self.child(c, "is") is not None
            yield FormulaCell((number, column), f.text or "", f.get("t", "normal"), f.get("ref"), f.get("si"),
                              c.get("cm") is not None, cached)

    def _row_cells(self, indices: Iterable[int]) -> Iterator[tuple[int, dict[int, etree._Element]]]:
        """(number, cells) of untouched rows at these file positions, parsed in batches and let go."""
        run: list[int] = []
        for index in [*indices, -1]:
            if run and (index != run[-1] + 1 or len(run) >= _BATCH_ROWS):
                for i, element in zip(run, self._parse_rows(run[0], run[-1]), strict=True):
                    if self.index_of[self.numbers[i]] == i:
                        yield self.numbers[i], self._cells_of(element, self.numbers[i])
                run = []
            if index >= 0:
                run.append(index)

    def raw_values(self, first_row: int, first_column: int, last_row: int,
                   last_column: int) -> Iterator[tuple[Position, str, str | None]]:
        """``(position, type, text)`` of each cell of an area: its ``t`` and the text of its value
        (``<v>``, or an inline string's), None for a cell without one."""
        numbers = self._numbers_between(first_row, last_row)
        untouched = [self.index_of[n] for n in numbers if n not in self.rows]
        for number, cells in self._row_cells(sorted(untouched)):
            yield from self._element_values(number, cells, first_column, last_column)
        for number in sorted(n for n in self.rows if first_row <= n <= last_row):
            row = self.rows[number]
            yield from self._element_values(number, row.cells, first_column, last_column)
            for column, text in row.written.items():
                if first_column <= column <= last_column:
                    yield (number, column), *_written_value(text)

    def _element_values(self, number: int, cells: dict[int, etree._Element], first_column: int,
                        last_column: int) -> Iterator[tuple[Position, str, str | None]]:
        for column, c in cells.items():
            if not first_column <= column <= last_column:
                continue
            kind = c.get("t", "n")
            if kind == "inlineStr":
                inline = self.child(c, "is")
                text = None if inline is None else "".join(
                    t.text or "" for t in inline.iter() if local_name(t.tag) == "t")
                yield (number, column), kind, "" if text is None else text
                continue
            v = self.child(c, "v")
            yield (number, column), kind, None if v is None else v.text

    def used_area(self) -> tuple[int, int]:
        """The last row and the last column holding a cell ((1, 1) for an empty sheet)."""
        extents = self._extents()
        return (1, 1) if extents is None else (extents[2], extents[3])

    # -- the whole sheet -----------------------------------------------------------------------

    def head_root(self) -> etree._Element:
        """What comes before the rows (sheetPr, dimension, views, cols), parsed."""
        if self._head is None:
            p = self.prefix
            self._head = etree.fromstring(self.data[:self.content_start] + b"</" + p + b"sheetData></" + p
                                          + self.root_name + b">", PARSER)
        return self._head

    def tail_root(self) -> etree._Element:
        """What comes after the rows (merged cells, conditional formats...), parsed inside the root."""
        if self._tail is None:
            self._tail = etree.fromstring(self.root_start + self.data[self.tail_start:self.tail_end] + b"</"
                                          + self.prefix + self.root_name + b">", PARSER)
        return self._tail

    def _extents(self) -> tuple[int, int, int, int] | None:
        """(first row, first column, last row, last column) of the cells of the sheet, or None."""
        from bisect import bisect_left

        any_cell = self._cell_tag
        numbered = re.compile(rb"<" + re.escape(self.prefix) + rb"c\s+r=\"([A-Z]{1,3})[0-9]")
        columns: set[int] = set()
        letters: set[bytes] = set()
        parsed = [i for i, n in enumerate(self.numbers) if n in self.rows and self.index_of[n] == i]
        edges = [self.content_start] + [x for i in parsed for x in (self.starts[i], self.ends[i])] + [self.content_end]
        slow: list[int] = []
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            found = numbered.findall(self.data, start, end)
            if len(found) == len(any_cell.findall(self.data, start, end)):
                letters.update(found)
            else:  # a cell numbered by its place, or r not first: those rows are parsed
                slow.extend(range(bisect_left(self.starts, start), bisect_left(self.starts, end)))
        columns.update(column_number(text.decode()) for text in letters)
        for _, cells in self._row_cells(sorted(set(slow))):
            columns.update(cells)
        for row in self.rows.values():
            columns.update(row.cells)
            columns.update(row.written)
        if not columns:
            return None

        def holds_cells(number: int) -> bool:
            row = self.rows.get(number)
            if row is not None:
                return bool(row.cells or row.written)
            index = self.index_of[number]
            return any_cell.search(self.data, self.starts[index], self.ends[index]) is not None
        numbers = sorted(set(self.sorted_numbers) | set(self.rows))
        first = next((n for n in numbers if holds_cells(n)), None)
        last = next((n for n in reversed(numbers) if holds_cells(n)), None)
        if first is None or last is None:
            return None
        return first, min(columns), last, max(columns)

    def finish(self) -> None:
        """Bring the sheet's dimension in line with its cells (row spans follow on output)."""
        extents = self._extents()
        self._dimension = "A1" if extents is None else range_text(*extents)

    def tobytes(self) -> bytes:
        """The edited part, whole; checked to be well-formed XML."""
        return b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The edited part as pieces, for a writer that compresses as it goes: the part is never
        held whole. Checked to be well-formed XML as it is given (WorkbookError at the end)."""
        checker = etree.XMLParser(target=_Nothing(), resolve_entities=False, no_network=True,  # type: ignore[arg-type]
                                  huge_tree=True)
        try:
            for piece in self._pieces():
                for start in range(0, len(piece), _PIECE):
                    chunk = bytes(piece[start:start + _PIECE])
                    checker.feed(chunk)
                    yield chunk
            checker.close()
        except etree.XMLSyntaxError as error:
            raise WorkbookError(f"{self.where} is not well-formed XML ({error})") from None

    def _pieces(self) -> Iterator[bytes | memoryview]:
        if self._dimension is None:
            self.finish()
        data = memoryview(self.data)
        if not _DECLARATION.match(self.data):
            yield b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        yield from self._head_with_dimension()
        edits: list[tuple[int, int, int, int, _Row]] = []  # (offset, new rows first, number, end, row)
        from bisect import bisect_right

        for number, row in self.rows.items():
            if row.index is not None:
                if row.changed:
                    edits.append((self.starts[row.index], 1, number, self.ends[row.index], row))
                continue
            successor = bisect_right(self.sorted_numbers, number)
            offset = (self.starts[self.index_of[self.sorted_numbers[successor]]]
                      if successor < len(self.sorted_numbers) else self.content_end)
            edits.append((offset, 0, number, offset, row))
        edits.sort(key=lambda edit: edit[:3])
        position = self.content_start
        for offset, _, _, end, row in edits:
            if offset > position:
                yield data[position:offset]
            yield self._row_text(row)  # made when it is written: the rows' text is never all held
            position = max(position, end)
        yield data[position:self.tail_start]
        if self._tail_changed:
            tail = self.tail_root()
            yield _escape_text(tail.text or "").encode()
            inherited = tail.nsmap
            for child in tail:
                yield self._serialised(child, inherited)
        else:
            yield data[self.tail_start:self.tail_end]
        yield data[self.tail_end:]

    def _head_with_dimension(self) -> list[bytes | memoryview]:
        data = memoryview(self.data)
        ref = self._dimension
        p = re.escape(self.prefix)
        dimension = _first(_skipping(rb"<" + p + rb"dimension(?=[\s>/])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"),
                           self.data, self.root_end, self.content_start)
        if dimension is not None:
            tag = dimension.group(1)
            if _REF_ATTRIBUTE.search(tag):
                replaced = _REF_ATTRIBUTE.sub(f' ref="{ref}"'.encode(), tag, count=1)
            else:
                closing = 2 if tag.endswith(b"/>") else 1
                replaced = tag[:-closing].rstrip() + f' ref="{ref}"'.encode() + tag[-closing:]
            return [data[:dimension.start(1)], replaced, data[dimension.end(1):self.content_start]]
        element = f"<{self.text_prefix}dimension ref=\"{ref}\"/>".encode()
        head = self.head_root()
        at = self.root_end
        if len(head) and local_name(head[0].tag) == "sheetPr":
            sheet_pr = _first(_skipping(rb"<" + p + rb"sheetPr(?=[\s>/])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"),
                              self.data, self.root_end, self.content_start)
            assert sheet_pr is not None
            if sheet_pr.group(1).endswith(b"/>"):
                at = sheet_pr.end(1)
            else:
                close = self.data.find(b"</" + self.prefix + b"sheetPr", sheet_pr.end(1), self.content_start)
                at = self.data.find(b">", close) + 1
        return [data[:at], element, data[at:self.content_start]]

    def _row_text(self, row: _Row) -> bytes:
        p = self.prefix
        end_tag = b"</" + p + b"row>"
        if row.element is None or row.index is None:
            body = b"".join(row.written[c] for c in sorted(row.written))
            return b"<" + p + b'row r="' + str(row.number).encode() + b'">' + body + end_tag
        original = self.data[self.starts[row.index]:self.ends[row.index]]
        tag = _START_TAG.match(original)
        assert tag is not None  # every indexed row starts with its tag
        start_tag = tag.group(0)
        if start_tag.endswith(b"/>"):
            trailing = original[tag.end():]
            start_tag = start_tag[:-2].rstrip() + b">"
        else:
            close = original.rfind(b"</" + p + b"row")
            trailing = original[original.find(b">", close) + 1:]
        if row.touched and _SPANS.search(start_tag):
            columns = sorted(set(row.cells) | set(row.written))
            spans = f' spans="{columns[0]}:{columns[-1]}"'.encode() if columns else b""
            start_tag = _SPANS.sub(spans, start_tag, count=1)
        pieces = [start_tag, _escape_text(row.element.text or "").encode()]
        new = sorted(row.written)
        k = 0
        inherited = row.element.nsmap
        for child in row.element:
            name = local_name(child.tag)
            if name == "c":
                column = _column_of(child.get("r", "")) or 0
                while k < len(new) and new[k] < column:
                    pieces.append(row.written[new[k]])
                    k += 1
            elif name == "extLst":
                pieces.extend(row.written[c] for c in new[k:])
                k = len(new)
            pieces.append(self._serialised(child, inherited))
        pieces.extend(row.written[c] for c in new[k:])
        pieces.append(end_tag)
        pieces.append(trailing)
        return b"".join(pieces)

    @staticmethod
    def _serialised(element: etree._Element, inherited: dict) -> bytes:
        """An element as XML with its tail, without the namespace declarations it inherits."""
        text = etree.tostring(element, encoding="UTF-8", with_tail=True)
        if not isinstance(element.tag, str):
            return text
        end = text.find(b">")

        def keep(match: re.Match[bytes]) -> bytes:
            prefix = match.group(1).decode() if match.group(1) else None
            return b"" if inherited.get(prefix) == match.group(2).decode() else match.group(0)
        return _INHERITED.sub(keep, text[:end]) + text[end:]


_QUOTED_ATTRIBUTE = re.compile(rb"""\s([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CHARACTER_REFERENCE = re.compile(r"&#(x[0-9A-Fa-f]+|[0-9]+);")


def _attributes(start_tag: bytes) -> dict[str, str]:
    """The attributes of a start tag, their values decoded as an XML parser decodes them."""
    return {name.decode(): _xml_text(double if double is not None else single, attribute=True)
            for name, double, single in _QUOTED_ATTRIBUTE.findall(start_tag)}


def _xml_text(raw: bytes, attribute: bool = False) -> str:
    """Text as an XML parser gives it: line ends made one, references decoded."""
    text = raw.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if attribute and ("\n" in text or "\t" in text):
        text = text.replace("\n", " ").replace("\t", " ")
    if "&" in text:
        text = _CHARACTER_REFERENCE.sub(lambda m: chr(int(m.group(1)[1:], 16) if m.group(1)[0] == "x"
                                                      else int(m.group(1))), text)
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
        text = text.replace("&amp;", "&")
    return text


def _written_value(text: bytes) -> tuple[str, str | None]:
    """(type, value text) of a cell this editor wrote as text (its own, fixed form)."""
    end = text.find(b">")
    found = _TYPE_ATTRIBUTE.search(text, 0, end)
    kind = found.group(1).decode() if found else "n"
    if text[end - 1:end] == b"/":
        return kind, None
    opening = b'preserve">' if kind == "inlineStr" else b"v>"
    start = text.find(opening, end) + len(opening)
    return kind, _unescape(text[start:text.find(b"<", start)])


def _written_attributes(text: bytes) -> list[tuple[str, str]]:
    """The attributes of a cell this editor wrote, but its reference and type."""
    end = text.find(b">")
    return [(name.decode(), _unescape(value)) for name, value in _ATTRIBUTE.findall(text, 0, end)
            if name not in (b"r", b"t")]


def _holds_any(cells: Mapping[int, object], first_column: int, last_column: int) -> bool:
    """Whether a row's cells (by column) hold one in the columns first to last, looked up from the
    smaller side: tables side by side fill a row with many cells, and scanning them all for each
    table made writing cost tables x cells of the row."""
    if last_column - first_column < len(cells):
        return any(column in cells for column in range(first_column, last_column + 1))
    return any(first_column <= column <= last_column for column in cells)


def _drop_attribute(element: etree._Element, name: str) -> None:
    if name in element.attrib:
        del element.attrib[name]


def _no_date_style(style: int, format_id: int) -> int:
    return style


class _Nothing:
    """A parser target that keeps nothing: the part is only checked to be well-formed."""

    def close(self) -> None:
        return None


class _NeedsNormalising(Exception):
    pass
