import datetime as dt
import zipfile

import openpyxl
import pytest
from lxml import etree
from openpyxl.workbook.defined_name import DefinedName as OpenpyxlName

from xl_fastmoss.errors import FastMossError
from xl_fastmoss.workbook import (
    CellError,
    DefinedName,
    FmCell,
    WorkbookError,
    WorkbookFile,
    find_fm_cells,
)
from xl_fastmoss.workbook.reader import decode_xstring, is_date_format, serial_to_datetime

from package_helpers import rewrite_zip

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def set_saved_value(path, part, cell, value, kind=None):
    """Give a formula cell the cached value Excel would have saved (openpyxl writes none)."""

    def edit(data):
        root = etree.fromstring(data)
        c = root.find(f".//{{{MAIN}}}c[@r='{cell}']")
        v = c.find(f"{{{MAIN}}}v")
        if v is None:
            v = etree.SubElement(c, f"{{{MAIN}}}v")
        v.text = value
        if kind:
            c.set("t", kind)
        return etree.tostring(root)

    rewrite_zip(path, {part: edit})


@pytest.fixture
def book_path(tmp_path):
    wb = openpyxl.Workbook()
    dashboard = wb.active
    dashboard.title = "Dashboard"
    inputs = wb.create_sheet("Inputs")
    my_inputs = wb.create_sheet("My Inputs")

    inputs["A1"] = "US"
    inputs["A2"] = "GB"
    inputs["B2"] = 14
    inputs["B3"] = dt.datetime(2026, 4, 1)
    inputs["B3"].number_format = "yyyy-mm-dd"
    inputs["B4"] = "=SUM(C1:D1)*14"
    inputs["C1"], inputs["D1"], inputs["C2"], inputs["D2"] = 1, 2, 3, 4.5
    inputs["E1"] = "=1/0"
    inputs["E2"] = '=A1&"x"'
    inputs["F1"] = 46113  # a serial without a date format stays a number
    inputs["F2"] = "Tab\there"
    my_inputs["C2"] = True
    my_inputs["B5"] = "=fm_topselling(Region)"

    dashboard["B3"] = '=FM_MOSTPROMOTED(Region, Inputs!B2, "day", Inputs!B3)'
    dashboard["B10"] = (
        "=FM_TOPSELLING(\"US\",,DateType,'My Inputs'!C2,Inputs!$B$4,Inputs!B5,Inputs!C1:D2,"
        "Inputs!C1:C1,Inputs!E1,Inputs!E2)"
    )
    dashboard["B20"] = '=INDEX(FM_TOPSELLING("US"),1,1)'
    dashboard["B30"] = '=FM_FULLYMANAGED("US", TODAY(), Nowhere, Missing!A1, Broken)'
    dashboard["B40"] = '="FM_MOSTPROMOTED("'
    dashboard["B41"] = "=SUM(Inputs!C1:D2)"

    wb.defined_names["Region"] = OpenpyxlName("Region", attr_text="Inputs!$A$1")
    wb.defined_names["DateType"] = OpenpyxlName("DateType", attr_text='"week"')
    wb.defined_names["Broken"] = OpenpyxlName("Broken", attr_text="#REF!")
    dashboard.defined_names["Region"] = OpenpyxlName("Region", attr_text="Inputs!$A$2")

    path = tmp_path / "inputs.xlsx"
    wb.save(path)
    set_saved_value(path, "xl/worksheets/sheet2.xml", "B4", "42")
    set_saved_value(path, "xl/worksheets/sheet2.xml", "E1", "#DIV/0!", "e")
    set_saved_value(path, "xl/worksheets/sheet2.xml", "E2", "USx", "str")
    return path


def test_open_reads_sheets_and_their_parts(book_path):
    book = WorkbookFile.open(book_path)
    assert book.worksheet_names == ["Dashboard", "Inputs", "My Inputs"]
    assert book.sheet("my inputs").part == "xl/worksheets/sheet3.xml"
    assert book.sheet("Inputs").index == 1
    with pytest.raises(KeyError):
        book.sheet("Nowhere")


def test_defined_names_keep_their_scope(book_path):
    book = WorkbookFile.open(book_path)
    assert DefinedName("Region", "Inputs!$A$1") in book.defined_names
    assert DefinedName("Region", "Inputs!$A$2", scope="Dashboard") in book.defined_names
    assert book.defined_name("region", "Dashboard").text == "Inputs!$A$2"
    assert book.defined_name("Region", "My Inputs").text == "Inputs!$A$1"
    assert book.defined_name("Region").text == "Inputs!$A$1"
    assert book.defined_name("Nowhere") is None


def test_saved_values_of_every_kind(book_path):
    book = WorkbookFile.open(book_path)
    assert book.value("Inputs", "A1") == "US"
    assert book.value("Inputs", "$B$2") == 14 and type(book.value("Inputs", "B2")) is int
    assert book.value("Inputs", "D2") == 4.5
    assert book.value("Inputs", "B3") == dt.datetime(2026, 4, 1)
    assert book.value("Inputs", "F1") == 46113
    assert book.value("Inputs", "B4") == 42
    assert book.value("Inputs", "E1") == "#DIV/0!" and isinstance(book.value("Inputs", "E1"), CellError)
    assert book.value("Inputs", "E2") == "USx"
    assert book.value("Inputs", "F2") == "Tab\there"
    assert book.value("My Inputs", "C2") is True
    assert book.value("Inputs", "Z99") is None
    assert book.values("Inputs", "C1:D2") == [[1, 2], [3, 4.5]]


def test_formula_cells_carry_their_text_and_type(book_path):
    cell = WorkbookFile.open(book_path).cells("Inputs")["B4"]
    assert (cell.formula, cell.formula_type, cell.value) == ("SUM(C1:D1)*14", "normal", 42)


def test_find_fm_cells_resolves_literals_cells_and_names(book_path):
    cells = {(c.sheet, c.cell): c for c in find_fm_cells(WorkbookFile.open(book_path))}
    assert list(cells) == [
        ("Dashboard", "B3"), ("Dashboard", "B10"), ("Dashboard", "B20"), ("Dashboard", "B30"),
        ("My Inputs", "B5"),
    ]
    first = cells[("Dashboard", "B3")]
    assert first == FmCell(
        "Dashboard", "B3", 'FM_MOSTPROMOTED(Region, Inputs!B2, "day", Inputs!B3)',
        "FM_MOSTPROMOTED", ("GB", 14, "day", dt.datetime(2026, 4, 1)), None,
    )
    second = cells[("Dashboard", "B10")]
    assert second.problem is None
    assert second.function == "FM_TOPSELLING"
    assert second.args == ("US", None, "week", True, 42, None, [[1, 2], [3, 4.5]], 1, "#DIV/0!", "USx")
    assert cells[("My Inputs", "B5")].args == ("US",)
    assert cells[("My Inputs", "B5")].function == "FM_TOPSELLING"


def test_a_nested_call_is_a_problem_naming_the_cell(book_path):
    cells = {(c.sheet, c.cell): c for c in find_fm_cells(WorkbookFile.open(book_path))}
    assert cells[("Dashboard", "B20")].problem == (
        "Dashboard!B20: FM_TOPSELLING is nested inside another formula; put it alone in its cell"
    )


def test_unsupported_arguments_unknown_names_and_sheets_are_problems(book_path):
    cells = {(c.sheet, c.cell): c for c in find_fm_cells(WorkbookFile.open(book_path))}
    problem = cells[("Dashboard", "B30")].problem
    assert problem.split("; Dashboard!") == [
        "Dashboard!B30: argument 2 of FM_FULLYMANAGED (TODAY()) is a calculation; "
        "use a value, a cell reference or a defined name",
        "B30: argument 3 of FM_FULLYMANAGED uses the name Nowhere, which is not defined",
        "B30: argument 4 of FM_FULLYMANAGED refers to sheet 'Missing', which does not exist",
        "B30: argument 5 of FM_FULLYMANAGED uses the name Broken, which refers to #REF!; "
        "only a cell or a constant can be read",
    ]
    assert cells[("Dashboard", "B30")].args == ("US", None, None, None, None)


def minimal_xlsx(path, sheet_data, *, shared_strings=(), styles=None, workbook_extra=""):
    """A workbook written by hand, for what openpyxl cannot write (cm, shared formulas, sst)."""
    sst = "".join(shared_strings)
    styles = styles or (
        f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
        'formatCode="&quot;Day &quot;0"/></numFmts><cellXfs count="4"><xf numFmtId="0"/>'
        '<xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="22"/></cellXfs></styleSheet>'
    )
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets>'
            f"{workbook_extra}</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/sharedStrings" Target="sharedStrings.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{sst}</sst>',
        "xl/styles.xml": styles,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def test_shared_rich_and_escaped_strings_are_read(tmp_path):
    path = minimal_xlsx(
        tmp_path / "sst.xlsx",
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="inlineStr"><is><r><t>in</t></r><r><t>line_x000D_</t></r></is></c></row>',
        shared_strings=[
            "<si><t>plain_x000D_ and _x005F_x000D_</t></si>",
            "<si><r><t>ri</t></r><r><rPr><b/></rPr><t>ch</t></r><rPh><t>phonetic</t></rPh></si>",
        ],
    )
    book = WorkbookFile.open(path)
    assert book.shared_strings == ["plain\r and _x000D_", "rich"]
    assert book.values("Data", "A1:C1") == [["plain\r and _x000D_", "rich", "inline\r"]]


def test_date_formats_decide_between_numbers_and_datetimes(tmp_path):
    path = minimal_xlsx(
        tmp_path / "dates.xlsx",
        '<row r="1"><c r="A1" s="1"><v>46113</v></c><c r="B1" s="2"><v>46113</v></c>'
        '<c r="C1" s="3"><v>46113.5</v></c><c r="D1"><v>46113</v></c>'
        '<c r="E1" t="d"><v>2026-04-01T12:00:00</v></c></row>',
    )
    assert WorkbookFile.open(path).values("Data", "A1:E1") == [[
        dt.datetime(2026, 4, 1), 46113, dt.datetime(2026, 4, 1, 12), 46113, dt.datetime(2026, 4, 1, 12),
    ]]


@pytest.mark.parametrize(
    "format_id, code, expected",
    [(14, None, True), (22, None, True), (45, None, True), (47, None, True), (2, None, False),
     (49, None, False), (31, None, True), (164, "yyyy-mm-dd", True), (164, "[$-409]d-mmm", True),
     (164, "[h]:mm:ss", True), (164, '"Day "0', False), (164, "0.00;[Red]-0.00", False),
     (164, "General", False), (164, '#,##0" dy"', False), (164, "\\d0", False), (164, "@", False)],
)
def test_is_date_format(format_id, code, expected):
    assert is_date_format(format_id, code) is expected


def test_serials_follow_excels_calendar():
    assert serial_to_datetime(1) == dt.datetime(1900, 1, 1)
    assert serial_to_datetime(59) == dt.datetime(1900, 2, 28)
    assert serial_to_datetime(61) == dt.datetime(1900, 3, 1)
    assert serial_to_datetime(46113.541666666664) == dt.datetime(2026, 4, 1, 13)
    assert serial_to_datetime(0, date1904=True) == dt.datetime(1904, 1, 1)
    assert serial_to_datetime(-1) is None


def test_decode_xstring():
    assert decode_xstring("a_x000D_b_x005F_x0041_") == "a\rb_x0041_"
    assert decode_xstring("no escapes_x") == "no escapes_x"


def test_dynamic_array_and_shared_formulas(tmp_path):
    path = minimal_xlsx(
        tmp_path / "arrays.xlsx",
        '<row r="3"><c r="B3" t="str" cm="1"><f t="array" ref="B3:D5">'
        '_xludf.FM_MOSTPROMOTED("US",14,"day")</f><v>rank</v></c><c r="C3" t="s"><v>0</v></c></row>'
        '<row r="10"><c r="F10"><f t="shared" ref="F10:F12" si="0">FM_TOPSELLING("US")</f>'
        '<v>0</v></c></row><row r="11"><c r="F11"><f t="shared" si="0"/><v>0</v></c></row>'
        '<row r="12"><c r="F12"><f t="shared" si="0"/><v>0</v></c>'
        '<c r="H12"><f t="shared" ref="H12" si="1">FM_FULLYMANAGED("GB")</f><v>0</v></c></row>',
        shared_strings=["<si><t>shop</t></si>"],
    )
    cells = find_fm_cells(WorkbookFile.open(path))
    assert [(c.cell, c.function, c.args, c.spill_range) for c in cells] == [
        ("B3", "FM_MOSTPROMOTED", ("US", 14, "day"), "B3:D5"),
        ("F10", "FM_TOPSELLING", ("US",), None),
        ("H12", "FM_FULLYMANAGED", ("GB",), None),
    ]
    assert cells[0].formula == '_xludf.FM_MOSTPROMOTED("US",14,"day")'
    assert cells[0].problem is None
    assert cells[1].problem == (
        "Data!F10: FM_TOPSELLING was filled over F10:F12 as one shared formula; "
        "keep it in F10 only and delete the copies"
    )
    assert cells[2].problem is None


def test_names_scoped_to_a_sheet_and_constants(tmp_path):
    path = minimal_xlsx(
        tmp_path / "names.xlsx",
        '<row r="1"><c r="A1"><v>7</v></c><c r="B1"><f>FM_TOPSELLING(Here, Const, Chain, Data!Here)</f></c></row>',
        workbook_extra=(
            '<definedNames><definedName name="Here" localSheetId="0">$A$1</definedName>'
            '<definedName name="Const">-2.5</definedName>'
            '<definedName name="Chain">Const</definedName></definedNames>'
        ),
    )
    (cell,) = find_fm_cells(WorkbookFile.open(path))
    assert cell.problem is None
    assert cell.args == (7, -2.5, -2.5, 7)


def test_a_file_that_is_not_a_workbook_is_a_workbook_error(tmp_path):
    path = tmp_path / "not.xlsx"
    path.write_bytes(b"plain text")
    with pytest.raises(WorkbookError) as caught:
        WorkbookFile.open(path)
    assert isinstance(caught.value, FastMossError)
    assert "not a readable Excel workbook" in str(caught.value)
