"""Large workbooks for the workbook-scale scenarios, written part by part the way Excel writes them.

``write_large_workbook`` makes a dashboard of 3 FM_ formulas beside sheets of ordinary data
(numbers, dates, shared strings, error values, formulas over their own rows); ``write_tall_sheet``
a sheet whose FM_ tables are written above tens of thousands of existing rows. Both write the
XML by hand (openpyxl would take longer to write them than the scenarios take to run) and keep
to what Excel itself writes: shared strings, row spans, ``x14ac:dyDescent``, cached values.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmarks.tables import DAY, WEEK, Table

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
WORKSHEET_OPEN = (
    f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac xr xr2 xr3" '
    'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
    'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2" '
    'xmlns:xr3="http://schemas.microsoft.com/office/spreadsheetml/2016/revision3">'
)
STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
    '</numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
#: The 3 FM_ tables of the large workbook's dashboard, and where each formula stands.
LARGE_TABLES: tuple[tuple[str, Table], ...] = (
    ("A3", Table("FM_MOSTPROMOTED", "US", 14, "day", DAY, rows=100)),
    ("AB3", Table("FM_TOPSELLING", "GB", 14, "week", WEEK, rows=100)),
    ("A120", Table("FM_FULLYMANAGED", "US", None, "day", DAY, rows=50)),
)
#: Columns of a data row: id, date, shop, region, units, price, total (a formula), status, rate, score.
DATA_COLUMNS = 10
_SHOPS = 2_000
_REGIONS = ("US", "GB", "DE", "FR", "MX", "ID")
_STATUSES = ("shipped", "open", "returned")
_HEADERS = ("Order", "Date", "Shop", "Region", "Units", "Price", "Total", "Status", "Rate", "Score")


def column_letters(column: int) -> str:
    letters = ""
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


class _Strings:
    """The shared strings table, filled as the sheets are written."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def xml(self) -> str:
        items = "".join(f"<si><t>{text}</t></si>" for text in self.index)
        return f'<sst xmlns="{MAIN}" count="{len(self.index)}" uniqueCount="{len(self.index)}">{items}</sst>'


def _data_rows(strings: _Strings, first_row: int, rows: int, offset: int = 0) -> Iterator[str]:
    """Rows of ordinary data from ``first_row``: a header row, then ``rows - 1`` orders."""
    header = "".join(f'<c r="{column_letters(c + 1)}{first_row}" t="s"><v>{strings(text)}</v></c>'
                     for c, text in enumerate(_HEADERS))
    yield f'<row r="{first_row}" spans="1:{DATA_COLUMNS}" x14ac:dyDescent="0.25">{header}</row>'
    for number in range(first_row + 1, first_row + rows):
        order = offset + number
        units, price = order % 17 + 1, round(3.5 + order % 250 * 0.37, 2)
        rate = '<c r="I{r}" t="e"><v>#N/A</v></c>' if order % 50 == 0 else f'<c r="I{{r}}"><v>{order % 97 / 97}</v></c>'
        yield (
            f'<row r="{number}" spans="1:{DATA_COLUMNS}" x14ac:dyDescent="0.25">'
            f'<c r="A{number}"><v>{100_000 + order}</v></c>'
            f'<c r="B{number}" s="1"><v>{45_000 + order % 700}</v></c>'
            f'<c r="C{number}" t="s"><v>{strings(f"Shop {order % _SHOPS:04d}")}</v></c>'
            f'<c r="D{number}" t="s"><v>{strings(_REGIONS[order % len(_REGIONS)])}</v></c>'
            f'<c r="E{number}"><v>{units}</v></c>'
            f'<c r="F{number}" s="2"><v>{price}</v></c>'
            f'<c r="G{number}" s="2"><f>E{number}*F{number}</f><v>{round(units * price, 2)}</v></c>'
            f'<c r="H{number}" t="s"><v>{strings(_STATUSES[order % len(_STATUSES)])}</v></c>'
            + rate.format(r=number) +
            f'<c r="J{number}"><v>{order % 1000}</v></c></row>'
        )


def _sheet(rows: Iterator[str] | Sequence[str], dimension: str) -> str:
    return (f'{WORKSHEET_OPEN}<dimension ref="{dimension}"/><sheetViews><sheetView workbookViewId="0"/>'
            f'</sheetViews><sheetFormatPr defaultRowHeight="15" x14ac:dyDescent="0.25"/>'
            f'<sheetData>{"".join(rows)}</sheetData>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')


def _fm_cell(ref: str, table: Table) -> str:
    return f'<c r="{ref}" t="str"><f>{table.formula()[1:]}</f><v>waiting</v></c>'


def _package(path: Path, sheets: Sequence[tuple[str, str]], strings: _Strings, defined_names: str = "") -> None:
    """Write the workbook: ``sheets`` as (name, worksheet XML), with shared strings and styles."""
    sheet_entries = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                            for i, (name, _) in enumerate(sheets, start=1))
    sheet_rels = "".join(f'<Relationship Id="rId{i}" Type="{DOC_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                         for i in range(1, len(sheets) + 1))
    n = len(sheets)
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
                        for i in range(1, n + 1))
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}"
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            f'<workbookPr/><sheets>{sheet_entries}</sheets>{defined_names}<calcPr calcId="191029"/></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="{PKG_REL}">'
            f'{sheet_rels}<Relationship Id="rId{n + 1}" Type="{DOC_REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"),
        "xl/styles.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + STYLES,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        for i, (_, xml) in enumerate(sheets, start=1):
            archive.writestr(f"xl/worksheets/sheet{i}.xml",
                             '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + xml)
        archive.writestr("xl/sharedStrings.xml",
                         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + strings.xml())


def write_large_workbook(path: Path, cells: int = 500_000, data_sheets: int = 4) -> int:
    """A dashboard of the 3 :data:`LARGE_TABLES` beside ``data_sheets`` sheets of ``cells`` ordinary cells.

    The dashboard also holds a total over one table and a count of another's spill
    (``ROWS(A3#)``); a summary sheet reads the first table's spill from another sheet. The data
    sheets hold error values (``#N/A``) and formulas over their own rows, none reading a table.
    Returns the number of ordinary cells written.
    """
    strings = _Strings()
    dashboard = [f'<row r="1" spans="1:52"><c r="A1" t="s"><v>{strings("Top shops")}</v></c>'
                 '<c r="AZ1"><f>ROWS(_xlfn.ANCHORARRAY(A3))</f><v>1</v></c>'
                 '<c r="BA1"><f>SUM(C4:C8)</f><v>0</v></c></row>']
    by_row: dict[int, list[str]] = {}
    for ref, table in LARGE_TABLES:
        row = int("".join(ch for ch in ref if ch.isdigit()))
        by_row.setdefault(row, []).append(_fm_cell(ref, table))
    dashboard += [f'<row r="{row}">{"".join(found)}</row>' for row, found in sorted(by_row.items())]
    summary = ['<row r="1"><c r="A1"><f>SUM(_xlfn.ANCHORARRAY(Dashboard!A3))</f><v>0</v></c>'
               '<c r="B1"><f>Dashboard!B4</f><v>0</v></c></row>']
    sheets = [("Dashboard", _sheet(dashboard, "A1:BA120")), ("Summary", _sheet(summary, "A1:B1"))]
    rows_per_sheet = -(-cells // (DATA_COLUMNS * data_sheets))
    written = 0
    for number in range(1, data_sheets + 1):
        rows = _data_rows(strings, 1, rows_per_sheet, offset=number * rows_per_sheet)
        sheets.append((f"Data{number}", _sheet(rows, f"A1:J{rows_per_sheet}")))
        written += rows_per_sheet * DATA_COLUMNS
    names = ('<definedNames><definedName name="FM_LastRefresh">Dashboard!$AZ$2</definedName>'
             '<definedName name="_xlnm._FilterDatabase" localSheetId="2" hidden="1">Data1!$A$1:$J$2</definedName>'
             "</definedNames>")
    _package(path, sheets, strings, names)
    return written


def write_tall_sheet(path: Path, tables: Sequence[tuple[str, Table]], existing_rows: int, first_data_row: int) -> int:
    """One sheet: FM_ formulas at the cells of ``tables``, ``existing_rows`` of data from ``first_data_row``.

    The tables' rows are new rows the writer puts above every existing row. Returns the cells
    of existing data.
    """
    strings = _Strings()
    by_row: dict[int, list[str]] = {}
    for ref, table in tables:
        row = int("".join(ch for ch in ref if ch.isdigit()))
        by_row.setdefault(row, []).append(_fm_cell(ref, table))
    rows = [f'<row r="{row}">{"".join(found)}</row>' for row, found in sorted(by_row.items())]
    data = _data_rows(strings, first_data_row, existing_rows)
    sheet = _sheet(iter([*rows, *data]), f"A1:J{first_data_row + existing_rows - 1}")
    _package(path, [("Data", sheet)], strings)
    return existing_rows * DATA_COLUMNS
