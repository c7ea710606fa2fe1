import datetime as dt

import pytest
from package_helpers import inputs_workbook, minimal_xlsx

from xl_fastmoss.workbook.reader import (
    CellError,
    DefinedName,
    WorkbookError,
    WorkbookFile,
    decode_xstring,
    is_date_format,
    serial_to_datetime,
)


@pytest.fixture
def book_path(tmp_path):
    return inputs_workbook(tmp_path)


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


def test_a_file_that_is_not_a_workbook_is_a_workbook_error(tmp_path):
    path = tmp_path / "not.xlsx"
    path.write_bytes(b"plain text")
    with pytest.raises(WorkbookError) as caught:
        WorkbookFile.open(path)
    assert "not a readable Excel workbook" in str(caught.value)
