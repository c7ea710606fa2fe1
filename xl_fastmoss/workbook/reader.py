"""Read a workbook file (.xlsx/.xlsm) with zipfile and lxml: sheets, names, saved cell values.

Nothing here recalculates: a formula cell is worth the value Excel saved with it, which is all
a file offers. Nothing here knows what the formulas call.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from lxml import etree

from .addresses import cell_name, split_cell, split_range
from .package import (
    DOC_REL_NS,
    STRICT_DOC_REL_NS,
    PackageFile,
    WorkbookError,
    local_name,
    namespace_of,
    parse_xml,
)
from .survey import SheetSurvey, survey_sheet
from .xstring import decode_xstring

__all__ = [
    "WorkbookError",
    "CellError",
    "SheetInfo",
    "DefinedName",
    "CellData",
    "WorkbookFile",
    "is_date_format",
    "decode_xstring",
]

class CellError(str):
    """An error value saved in a cell (``#N/A``, ``#NAME?``...); compares equal to its text."""

    def __repr__(self) -> str:
        return f"CellError({str(self)!r})"


@dataclass(frozen=True)
class SheetInfo:
    name: str
    #: Zip part of the sheet, e.g. ``xl/worksheets/sheet1.xml``; None if the part is missing.
    part: str | None
    #: Position among the workbook's ``<sheet>`` entries (what ``localSheetId`` counts).
    index: int
    #: ``worksheet``, ``chartsheet``, ``dialogsheet`` or ``macrosheet``.
    kind: str
    state: str = "visible"


@dataclass(frozen=True)
class DefinedName:
    name: str
    #: What the name refers to, as stored (``Sheet1!$B$2``, ``"US"``...), no leading ``=``.
    text: str
    #: The sheet the name is scoped to, None for a workbook-wide name.
    scope: str | None = None
    hidden: bool = False


@dataclass(frozen=True)
class CellData:
    ref: str
    value: object
    formula: str | None = None
    #: ``normal``, ``array``, ``shared`` or ``dataTable``; None when the cell has no formula.
    formula_type: str | None = None
    #: The ``ref`` attribute of the formula: the array's range, or the shared group's range.
    formula_ref: str | None = None
    shared_index: int | None = None
    style: int = 0




def _rich_text(element: etree._Element) -> str:
    """Text of an ``<si>`` or ``<is>``: its ``<t>`` and its runs' ``<t>``, not phonetic runs."""
    parts = []
    for child in element:
        name = local_name(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            for grandchild in child:
                if local_name(grandchild.tag) == "t":
                    parts.append(grandchild.text or "")
    return decode_xstring("".join(parts))


# ---------------------------------------------------------------------------------------------
# Dates

_DATE_BUILTINS = frozenset(range(14, 23)) | {45, 46, 47}
# 27-36 and 50-58 are the built-in date and time formats of East Asian versions of Excel;
# a workbook saved there refers to them by number only.
_DATE_BUILTINS_EAST_ASIAN = frozenset(range(27, 37)) | frozenset(range(50, 59))
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]')


def is_date_format(number_format_id: int, format_code: str | None = None) -> bool:
    """True when a number format shows a date or a time.

    Built-in formats 14-22 and 45-47 (and the East Asian 27-36, 50-58); a custom format when it
    has d, m, y, h or s outside quoted text, escapes and brackets.
    """
    if format_code is None:
        return number_format_id in _DATE_BUILTINS or number_format_id in _DATE_BUILTINS_EAST_ASIAN
    code = _FORMAT_NOISE.sub("", format_code)
    if code.strip().lower() == "general":
        return False
    return bool(re.search(r"[dmyhsDMYHS]", code))


def serial_to_datetime(serial: float, date1904: bool = False) -> dt.datetime | None:
    """An Excel date serial as a datetime (to the millisecond); None outside Excel's dates."""
    if not math.isfinite(serial) or serial < 0 or serial >= 2_958_466:
        return None
    if date1904:
        base = dt.datetime(1904, 1, 1)
    else:
        base = dt.datetime(1899, 12, 30)
        if serial < 60:
            # Excel counts a 29 February 1900 that never was: serials before it are a day off.
            serial += 1
    return base + dt.timedelta(milliseconds=round(serial * 86_400_000))


# ---------------------------------------------------------------------------------------------
# The package


class WorkbookFile:
    """A workbook package opened for reading: sheets, shared strings, names, saved values.

    Use :meth:`open`. Sheet names are matched case-insensitively, as Excel does. A sheet's cells
    are parsed on first use only; :meth:`survey` tells what its formulas hold without parsing it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.workbook_part = ""
        self.sheets: list[SheetInfo] = []
        self.shared_strings_part: str | None = None
        self._shared_strings: list[str] | None = None
        self.defined_names: list[DefinedName] = []
        self.date1904 = False
        #: Indices into cellXfs whose number format shows a date or a time.
        self.date_styles: frozenset[int] = frozenset()
        self.style_count = 0
        self.styles_part: str | None = None
        self.package = PackageFile(path)
        self._cells: dict[str, dict[str, CellData]] = {}
        self._surveys: dict[str, SheetSurvey] = {}

    @classmethod
    def open(cls, path: str | Path) -> "WorkbookFile":
        """Read the workbook structure; cell values are read per sheet on first use."""
        book = cls(Path(path))
        try:
            book._load()
        except (zipfile.BadZipFile, etree.XMLSyntaxError, KeyError, ValueError) as exc:
            book.close()
            raise WorkbookError(f"{book.path}: not a readable Excel workbook ({exc})") from exc
        except OSError as exc:
            book.close()
            raise WorkbookError(f"{book.path}: cannot be read ({exc})") from exc
        except BaseException:
            book.close()
            raise
        return book

    def close(self) -> None:
        """Let go of the file (see :class:`PackageFile`)."""
        self.package.close()

    def __enter__(self) -> WorkbookFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- structure --------------------------------------------------------------------------

    def _load(self) -> None:
        package = self.package
        self.workbook_part = package.office_document()
        workbook = parse_xml(package.read(self.workbook_part))
        ns = namespace_of(workbook)
        rels = {rid: rel for rid, rel in package.relationships(self.workbook_part).items() if not rel.external}

        properties = workbook.find(f"{{{ns}}}workbookPr")
        if properties is not None:
            self.date1904 = properties.get("date1904", "0").lower() in ("1", "true")

        sheets_element = workbook.find(f"{{{ns}}}sheets")
        sheet_elements = [
            element
            for element in (sheets_element if sheets_element is not None else [])
            if local_name(element.tag) == "sheet"
        ]
        for index, sheet in enumerate(sheet_elements):
            rel_id = sheet.get(f"{{{DOC_REL_NS}}}id") or sheet.get(f"{{{STRICT_DOC_REL_NS}}}id")
            kind, part = "worksheet", None
            if rel_id in rels:
                kind, part = rels[rel_id].kind, package.part(rels[rel_id].target)
            self.sheets.append(
                SheetInfo(sheet.get("name", ""), part, index, kind, sheet.get("state", "visible"))
            )

        names_element = workbook.find(f"{{{ns}}}definedNames")
        for element in names_element if names_element is not None else []:
            if local_name(element.tag) != "definedName":
                continue
            scope = None
            local_id = element.get("localSheetId")
            if local_id is not None:
                scope = next((s.name for s in self.sheets if s.index == _whole(local_id)), None)
            self.defined_names.append(
                DefinedName(
                    element.get("name", ""),
                    (element.text or "").strip(),
                    scope,
                    element.get("hidden", "0").lower() in ("1", "true"),
                )
            )

        for rel in rels.values():
            part = package.part(rel.target)
            if rel.kind == "sharedStrings" and part:
                self.shared_strings_part = part
            elif rel.kind == "styles" and part:
                self.styles_part = part
                self._load_styles(package.read(part))

    @property
    def shared_strings(self) -> list[str]:
        """The shared strings table, read on first use (a sheet that is only copied needs none)."""
        if self._shared_strings is None:
            self._shared_strings = self._read_shared_strings() if self.shared_strings_part else []
        return self._shared_strings

    def _read_shared_strings(self) -> list[str]:
        """Each ``<si>`` as it is parsed, so that the table's tree is never held whole."""
        assert self.shared_strings_part is not None
        strings: list[str] = []
        parser = etree.XMLPullParser(events=("end",), tag="{*}si", resolve_entities=False, no_network=True,
                                     huge_tree=True)
        try:
            for chunk in self.package.chunks(self.shared_strings_part):
                parser.feed(chunk)
                self._take_strings(parser, strings)
            parser.close()
            self._take_strings(parser, strings)
        except etree.XMLSyntaxError as error:
            raise WorkbookError(f"{self.path}: the shared strings cannot be read ({error})") from None
        return strings

    @staticmethod
    def _take_strings(parser: etree.XMLPullParser, strings: list[str]) -> None:
        for _, si in parser.read_events():
            if not isinstance(si, etree._Element):
                continue
            parent = si.getparent()
            if parent is not None and parent.getparent() is None:  # an <si> of the table, not nested
                strings.append(_rich_text(si))
                si.clear()
                while si.getprevious() is not None:
                    del parent[0]

    def _load_styles(self, data: bytes) -> None:
        root = parse_xml(data)
        ns = namespace_of(root)
        custom = {}
        formats = root.find(f"{{{ns}}}numFmts")
        for element in formats if formats is not None else []:
            if element.get("numFmtId") is not None:
                custom[_whole(element.get("numFmtId"))] = element.get("formatCode", "")
        xfs = root.find(f"{{{ns}}}cellXfs")
        dates = set()
        count = 0
        for index, xf in enumerate(xfs if xfs is not None else []):
            count = index + 1
            format_id = _whole(xf.get("numFmtId", "0"))
            if is_date_format(format_id, custom.get(format_id)):
                dates.add(index)
        self.date_styles = frozenset(dates)
        self.style_count = count

    # -- sheets -----------------------------------------------------------------------------

    @property
    def worksheet_names(self) -> list[str]:
        return [s.name for s in self.sheets if s.kind == "worksheet" and s.part]

    def sheet(self, name: str) -> SheetInfo:
        """The worksheet called ``name`` (any case); KeyError when there is none."""
        wanted = name.casefold()
        for info in self.sheets:
            if info.name.casefold() == wanted and info.kind == "worksheet" and info.part:
                return info
        raise KeyError(name)

    def sheet_part(self, name: str) -> str:
        """The zip part of the worksheet called ``name``; KeyError when there is none."""
        part = self.sheet(name).part
        assert part is not None  # sheet() finds worksheets with a part only
        return part

    def has_sheet(self, name: str) -> bool:
        try:
            self.sheet(name)
        except KeyError:
            return False
        return True

    def survey(self, sheet: str) -> SheetSurvey:
        """What the worksheet's formulas hold, from a scan of its bytes (the part is verified too)."""
        part = self.sheet_part(sheet)
        if part not in self._surveys:
            self._surveys[part] = survey_sheet(self.package.chunks(part))
        return self._surveys[part]

    def worksheets_mentioning(self, text: str) -> list[str]:
        """The worksheets with a formula that may hold ``text`` (ASCII letters in any case), in order.

        A sheet left out holds it in no formula; none is parsed to tell.
        """
        return [name for name in self.worksheet_names if self.survey(name).mentions(text)]

    def cells(self, sheet: str) -> dict[str, CellData]:
        """Every cell of a worksheet that holds a value or a formula, by address (``"B3"``)."""
        info = self.sheet(sheet)
        if info.name not in self._cells:
            assert info.part is not None  # sheet() finds worksheets with a part only
            try:
                self._cells[info.name] = dict(self._parse_cells(self.package.read(info.part)))
            except (ValueError, etree.XMLSyntaxError) as error:
                raise WorkbookError(f"{self.path}: the sheet {info.name} cannot be read ({error})") from None
        return self._cells[info.name]

    def formula_cells(self, sheet: str) -> list[CellData]:
        """The cells of a worksheet that hold a formula, row by row."""
        return [cell for cell in self.cells(sheet).values() if cell.formula]

    def value(self, sheet: str, cell: str) -> object:
        """The saved value of one cell; None when it is empty."""
        data = self.cells(sheet).get(cell.replace("$", "").upper())
        return None if data is None else data.value

    def values(self, sheet: str, range_: str) -> list[list[object]]:
        """The saved values of a range, row by row."""
        r1, c1, r2, c2 = split_range(range_.replace("$", ""))
        cells = self.cells(sheet)
        rows = []
        for row in range(r1, r2 + 1):
            values = []
            for column in range(c1, c2 + 1):
                data = cells.get(cell_name(row, column))
                values.append(None if data is None else data.value)
            rows.append(values)
        return rows

    def _parse_cells(self, data: bytes) -> Iterator[tuple[str, CellData]]:
        root = parse_xml(data)
        ns = namespace_of(root)
        sheet_data = root.find(f"{{{ns}}}sheetData")
        if sheet_data is None:
            return
        row_number = 0
        for row in sheet_data:
            if local_name(row.tag) != "row":
                continue
            try:
                row_number = _whole(row.get("r")) if row.get("r") else row_number + 1
            except ValueError:
                raise ValueError(f"a row has r={row.get('r')!r}, which is no row number") from None
            column = 0
            for c in row:
                if local_name(c.tag) != "c":
                    continue
                ref_text = c.get("r")
                try:
                    column = split_cell(ref_text)[1] if ref_text else column + 1
                except ValueError:
                    raise ValueError(f"row {row_number} has a cell r={ref_text!r}, which is no cell address") from None
                ref = cell_name(row_number, column)
                try:
                    cell = self._parse_cell(c, ns, ref)
                except ValueError as error:
                    raise ValueError(f"the cell {ref}: {error}" if ref not in str(error) else str(error)) from None
                if cell is not None:
                    yield ref, cell

    def _parse_cell(self, c: etree._Element, ns: str, ref: str) -> CellData | None:
        style = _whole(c.get("s") or "0")
        kind = c.get("t", "n")
        if kind not in _CELL_TYPES:
            raise ValueError(f"the cell {ref} has the type t={kind!r}, which is none of {', '.join(_CELL_TYPES)}")
        f = c.find(f"{{{ns}}}f")
        v = c.find(f"{{{ns}}}v")
        text = v.text if v is not None else None
        value: object = None
        if kind == "inlineStr":
            inline = c.find(f"{{{ns}}}is")
            value = _rich_text(inline) if inline is not None else None
        elif text is None:
            value = None
        elif kind == "s":
            index = _whole(text)
            value = self.shared_strings[index] if 0 <= index < len(self.shared_strings) else None
        elif kind == "str":
            value = decode_xstring(text)
        elif kind == "b":
            value = text.strip() in ("1", "true")
        elif kind == "e":
            value = CellError(text)
        elif kind == "d":
            try:
                value = dt.datetime.fromisoformat(text.strip())
            except ValueError:
                value = text
        else:
            try:
                value = _number(text)
            except ValueError:
                value = text
            else:
                if style in self.date_styles:
                    value = serial_to_datetime(value, self.date1904) or value
        if f is None:
            if value is None:
                return None
            return CellData(ref, value, style=style)
        shared_index = f.get("si")
        return CellData(
            ref,
            value,
            formula=f.text,
            formula_type=f.get("t", "normal"),
            formula_ref=f.get("ref"),
            shared_index=_whole(shared_index) if shared_index is not None else None,
            style=style,
        )

    # -- names ------------------------------------------------------------------------------

    def defined_name(self, name: str, sheet: str | None = None) -> DefinedName | None:
        """The name as a formula on ``sheet`` sees it: the sheet's own name, else the book's."""
        wanted = name.casefold()
        if sheet is not None:
            scope = sheet.casefold()
            for defined in self.defined_names:
                if (
                    defined.name.casefold() == wanted
                    and defined.scope
                    and defined.scope.casefold() == scope
                ):
                    return defined
        for defined in self.defined_names:
            if defined.name.casefold() == wanted and defined.scope is None:
                return defined
        return None


#: The cell types of ECMA-376 (ST_CellType).
_CELL_TYPES = ("b", "d", "e", "inlineStr", "n", "s", "str")


def _whole(text: str | None) -> int:
    """A whole number as a part stores it (an attribute, an index); ValueError naming it otherwise."""
    if text is None or not re.fullmatch(r"\s*[+-]?\d{1,18}\s*", text):
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)


def _number(text: str) -> int | float:
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)
