"""Sheets edited row by row: what the copy does not touch stays exactly as it was, however large the
sheet, and sheets of unusual form (prefixed, unnumbered, commented, empty) take tables too."""

import zipfile

import pytest
from package_helpers import MAIN, minimal_xlsx, rewrite_zip
from python_calamine import CalamineWorkbook

from xl_fastmoss.sheets.formulas import replace_spill_refs
from xl_fastmoss.workbook.reader import WorkbookFile
from xl_fastmoss.workbook.sheet_editor import SheetEditor
from xl_fastmoss.workbook.writer import write_values_copy

SHEET = "xl/worksheets/sheet1.xml"
FM = '<c r="A1"><f>FM_MOSTPROMOTED("US")</f><v>0</v></c>'


def calamine(path, sheet="Data"):
    """(row, column) -> value as an independent reader sees them, from 1."""
    found = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    top, left = found.start
    return {(top + i + 1, left + j + 1): value for i, row in enumerate(found.to_python())
            for j, value in enumerate(row) if value != ""}


def sheet_bytes(path, part=SHEET):
    with zipfile.ZipFile(path) as archive:
        return archive.read(part)


def tall_rows(first, count):
    """Rows of data as Excel writes them: a shared string, a number, a date style, a formula and its value."""
    return "".join(
        f'<row r="{r}" spans="1:4"><c r="A{r}" t="s"><v>{r % 3}</v></c><c r="B{r}"><v>{r * 1.5}</v></c>'
        f'<c r="C{r}" s="1"><v>{45000 + r % 400}</v></c><c r="D{r}"><f>B{r}*2</f><v>{r * 3.0}</v></c></row>'
        for r in range(first, first + count))


@pytest.fixture(scope="module")
def tall(tmp_path_factory):
    """A table's formula at A1 and B1..., 50,000 rows of data from row 601."""
    path = tmp_path_factory.mktemp("tall") / "tall.xlsx"
    head = '<row r="1"><c r="A1"><f>FM_MOSTPROMOTED("US")</f><v>0</v></c><c r="H1"><f>FM_TOPSELLING("US")</f></c></row>'
    minimal_xlsx(path, head + tall_rows(601, 50_000),
                 shared_strings=["<si><t>east</t></si>", "<si><t>west</t></si>", "<si><t>north</t></si>"])
    return path


def test_tables_above_50000_rows_keep_every_existing_cell_exactly(tall, tmp_path):
    table = [["rank", "shop", "id"]] + [[i, f"shop {i}", f"74940063252981{i:05d}"] for i in range(1, 501)]
    copy = tmp_path / "copy.xlsx"
    report = write_values_copy(tall, copy, {("Data", "A1"): table, ("Data", "H1"): table[:20]}, replace_spill_refs)
    assert report.written == [("Data", "A1", "A1:C501"), ("Data", "H1", "H1:J20")] and report.conflicts == []
    before, after = sheet_bytes(tall), sheet_bytes(copy)
    # The existing rows are the same bytes, in the same order, after the new ones.
    data = before[before.index(b'<row r="601"'):before.index(b"</sheetData>")]
    assert after[after.index(b'<row r="601"'):after.index(b"</sheetData>")] == data
    assert after.index(b'<row r="501"') < after.index(b'<row r="601"')
    assert b'<dimension ref="A1:J50600"/>' in after
    # What readers see: every existing value, and the tables.
    old, new = calamine(tall), calamine(copy)
    assert {p: v for p, v in new.items() if p[0] >= 601} == {p: v for p, v in old.items() if p[0] >= 601}
    assert len([p for p in new if p[0] >= 601]) == 200_000
    assert [new[(r, 1)] for r in (1, 2, 501)] == ["rank", 1, 500] and new[(501, 3)] == "7494006325298100500"
    assert new[(20, 10)] == "7494006325298100019" and (21, 8) not in new
    book = WorkbookFile.open(copy)
    assert book.values("Data", "A601:D601") == WorkbookFile.open(tall).values("Data", "A601:D601")


def test_a_table_over_an_old_spill_keeps_the_cells_beside_it_and_their_styles(tmp_path):
    rows = ('<row r="1" spans="1:5"><c r="A1" t="str" cm="1"><f t="array" ref="A1:B3">FM_MOSTPROMOTED("US")</f>'
            '<v>old</v></c><c r="B1" s="1"><v>1</v></c><c r="E1" s="2"><v>kept</v></c></row>'
            '<row r="2" spans="1:5"><c r="A2"><v>2</v></c><c r="B2" s="1"><v>3</v></c>'
            '<c r="D2" t="s"><v>0</v></c></row>'
            '<row r="3"><c r="A3"><v>4</v></c><c r="B3" s="1"><v>5</v></c></row>')
    path = minimal_xlsx(tmp_path / "spill.xlsx", rows, shared_strings=["<si><t>beside</t></si>"])
    copy = tmp_path / "copy.xlsx"
    report = write_values_copy(path, copy, {("Data", "A1"): [["x", "y"], ["z", None]]}, replace_spill_refs)
    assert report.written == [("Data", "A1", "A1:B2")]
    xml = sheet_bytes(copy).decode()
    assert '<c r="B1" s="1" t="inlineStr">' in xml and '<c r="E1" s="2"><v>kept</v></c>' in xml
    assert '<c r="B2" s="1"/>' in xml and '<c r="D2" t="s"><v>0</v></c>' in xml
    assert '<c r="A3"' not in xml and '<c r="B3" s="1"/>' in xml  # the rest of the old spill, emptied
    assert 'spans="1:5"' in xml and 'cm=' not in xml
    assert calamine(copy) == {(1, 1): "x", (1, 2): "y", (1, 5): "kept", (2, 1): "z", (2, 4): "beside"}


def test_tables_side_by_side_share_their_rows_in_column_order(tmp_path):
    path = minimal_xlsx(tmp_path / "side.xlsx", '<row r="1">' + FM + '<c r="C1"><f>FM_TOPSELLING("US")</f></c></row>')
    copy = tmp_path / "copy.xlsx"
    write_values_copy(path, copy, {("Data", "C1"): [["c", "d"]] * 3, ("Data", "A1"): [["a", "b"]] * 3})
    xml = sheet_bytes(copy).decode()
    for r in (1, 2, 3):
        assert xml.index(f'r="A{r}"') < xml.index(f'r="B{r}"') < xml.index(f'r="C{r}"') < xml.index(f'r="D{r}"')
    assert xml.count("<row ") == 3
    assert calamine(copy)[(3, 4)] == "d"


@pytest.mark.parametrize("case", ["prefixed", "unnumbered", "comments", "empty sheetData", "no sheetData"])
def test_sheets_of_unusual_form_take_a_table(tmp_path, case):
    rows = {
        "prefixed": None,
        "unnumbered": '<row><c><f>FM_X()</f></c></row><row/><row><c/><c/><c><v>9</v></c></row>',
        "comments": (f'<row r="1"><!-- a note -->{FM}</row><!-- between --><?keep me?>'
                     '<row r="5"><c r="C5"><v>9</v></c></row>'),
        "empty sheetData": "",
        "no sheetData": "",
    }[case]
    path = minimal_xlsx(tmp_path / "odd.xlsx", rows or "")
    if case == "prefixed":
        rewrite_zip(path, {SHEET: f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1"><x:c r="A1"><x:f>FM_X()'
                                  '</x:f></x:c></x:row><x:row r="5"><x:c r="C5"><x:v>9</x:v></x:c></x:row>'
                                  "</x:sheetData></x:worksheet>"})
    if case == "empty sheetData":
        rewrite_zip(path, {SHEET: f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>'})
    if case == "no sheetData":
        rewrite_zip(path, {SHEET: f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/></worksheet>'})
    copy = tmp_path / "copy.xlsx"
    report = write_values_copy(path, copy, {("Data", "A1"): [["a", 1], ["b", 2]]})
    assert report.written == [("Data", "A1", "A1:B2")] and report.conflicts == []
    seen = calamine(copy)
    assert {p: seen[p] for p in [(1, 1), (1, 2), (2, 1), (2, 2)]} == {(1, 1): "a", (1, 2): 1, (2, 1): "b", (2, 2): 2}
    if case in ("prefixed", "unnumbered", "comments"):
        assert seen[(5 if case != "unnumbered" else 3, 3)] == 9
    assert WorkbookFile.open(copy).values("Data", "A1:B2") == [["a", 1], ["b", 2]]


def test_rows_of_two_namespace_prefixes_are_refused_by_name():
    data = (f'<worksheet xmlns="{MAIN}" xmlns:y="{MAIN}"><sheetData><row r="1"/><y:row r="2"/></sheetData>'
            "</worksheet>").encode()
    with pytest.raises(Exception, match="more than one namespace prefix"):
        SheetEditor(data, "book.xlsx: the sheet Data")


def test_text_that_looks_like_markup_in_a_cell_is_only_text():
    data = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a:row &lt;row r="9"&gt;'
            "</t></is></c></row></sheetData></worksheet>").encode()
    editor = SheetEditor(data, "the sheet")
    assert editor.numbers == [1]
    editor.write_row(2, 1, [("n", "1")], lambda style, fmt: style)
    assert b'<row r="2"><c r="A2"><v>1</v></c></row>' in editor.tobytes()


def test_a_malformed_row_the_edit_does_not_touch_still_fails_the_output():
    data = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
            '<row r="9"><c r="A9"><v>1</c></row></sheetData></worksheet>').encode()
    editor = SheetEditor(data, "book.xlsx: the sheet Data")
    editor.write_row(1, 2, [("n", "2")], lambda style, fmt: style)
    with pytest.raises(Exception, match="book.xlsx: the sheet Data is not well-formed XML"):
        editor.tobytes()
