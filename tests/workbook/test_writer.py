import datetime as dt
import math
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import openpyxl
import pytest
from lxml import etree
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName as OpenpyxlName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from package_helpers import rewrite_zip

from xl_fastmoss.sheets.formulas import replace_spill_refs
from xl_fastmoss.workbook.addresses import split_cell
from xl_fastmoss.workbook.reader import CellError, WorkbookError, WorkbookFile
from xl_fastmoss.workbook.writer import write_values_copy

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS = {"m": MAIN}
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"


# ---------------------------------------------------------------------------------------------
# Building input files


def replace_text(old, new):
    def edit(data):
        assert old.encode() in data, old
        return data.replace(old.encode(), new.encode(), 1)

    return edit


def tiny_png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00")) + chunk(b"IEND", b""))


PICTURE_ANCHOR = (
    '<twoCellAnchor><from><col>0</col><colOff>0</colOff><row>21</row><rowOff>0</rowOff></from>'
    '<to><col>1</col><colOff>0</colOff><row>23</row><rowOff>0</rowOff></to>'
    '<pic><nvPicPr><cNvPr id="2" name="Logo"/><cNvPicPr/></nvPicPr>'
    '<blipFill><a:blip xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:embed="rIdImg"/>'
    '<a:stretch xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:fillRect/></a:stretch>'
    '</blipFill><spPr><a:prstGeom xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'prst="rect"/></spPr></pic><clientData/></twoCellAnchor>'
)


@pytest.fixture
def dashboard(tmp_path):
    """A dashboard as a user would keep it: a spilled FM_ table with a chart on it and more."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Dashboard"
    ws["B1"] = "Top shops"
    ws["B3"] = ArrayFormula("B3:D5", '=_xludf.FM_MOSTPROMOTED("US",14,"day")')
    for ref, value in {"C3": "shop", "D3": "gmv", "B4": 1, "C4": "old shop", "D4": 10.5,
                       "B5": 2, "C5": "older shop", "D5": 9}.items():
        ws[ref] = value  # the cached values of the previous spill
    for ref in ("D4", "D5", "B6", "C6", "D6"):
        ws[ref].number_format = "0.00"  # the template formats the table's region
    ws["H2"] = "=SUM(B3#)"
    ws["H3"] = "=COUNTA(_xlfn.ANCHORARRAY(Dashboard!$B$3))"
    ws["F10"] = '=FM_TOPSELLING("US")'
    ws["G12"] = "note"
    ws.merge_cells("A20:B20")
    ws.freeze_panes = "A3"
    ws.conditional_formatting.add(
        "B3:D10", CellIsRule(operator="greaterThan", formula=["1"], fill=PatternFill("solid", "FFFF00"))
    )
    validation = DataValidation(type="list", formula1='"US,GB"')
    ws.add_data_validation(validation)
    validation.add("A1")
    shop_list = DataValidation(type="list", formula1="$B$3#")  # a list from the spill
    ws.add_data_validation(shop_list)
    shop_list.add("A2")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=4, min_row=4, max_row=6))
    ws.add_chart(chart, "J2")

    other = wb.create_sheet("Other")
    other["A1"] = "=SUM(Dashboard!B3#)"
    other["A2"] = '="Dashboard!B3#"'
    other["A3"] = "=Dashboard!B3"

    untouched = wb.create_sheet("Untouched")
    untouched["A1"] = "=SUM(F5#)"
    untouched["B2"] = 5
    untouched.conditional_formatting.add(
        "B2:B9", CellIsRule(operator="lessThan", formula=["0"], fill=PatternFill("solid", "FF0000"))
    )
    numbers = DataValidation(type="whole", operator="between", formula1="1", formula2="500")
    untouched.add_data_validation(numbers)
    numbers.add("B2")

    wb.defined_names["TopShops"] = OpenpyxlName("TopShops", attr_text="Dashboard!$B$3#")
    ws.defined_names["Title"] = OpenpyxlName("Title", attr_text="Dashboard!$B$1")
    path = tmp_path / "dashboard.xlsx"
    wb.save(path)

    # What openpyxl cannot write: Excel's dynamic-array marks, a calculation chain, a picture.
    rewrite_zip(path, {
        "xl/worksheets/sheet1.xml": replace_text(
            '<c r="B3"><f t="array" ref="B3:D5">_xludf.FM_MOSTPROMOTED("US",14,"day")</f><v></v></c>',
            '<c r="B3" t="str" cm="1"><f t="array" ref="B3:D5">_xludf.FM_MOSTPROMOTED("US",14,"day")'
            "</f><v>rank</v></c>",
        ),
        "xl/workbook.xml": replace_text('<calcPr calcId="124519" fullCalcOnLoad="1"/>',
                                        '<calcPr calcId="124519"/>'),
        "xl/calcChain.xml": f'<calcChain xmlns="{MAIN}"><c r="H2" i="1"/><c r="B3"/></calcChain>',
        "[Content_Types].xml": replace_text(
            '<Default Extension="xml" ContentType="application/xml"/>',
            '<Default Extension="xml" ContentType="application/xml"/><Default Extension="png" '
            'ContentType="image/png"/><Override PartName="/xl/calcChain.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/>',
        ),
        "xl/_rels/workbook.xml.rels": replace_text(
            "</Relationships>",
            '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/calcChain" Target="calcChain.xml"/></Relationships>',
        ),
        "xl/drawings/drawing1.xml": replace_text("</wsDr>", PICTURE_ANCHOR + "</wsDr>"),
        "xl/drawings/_rels/drawing1.xml.rels": replace_text(
            "</Relationships>",
            '<Relationship Id="rIdImg" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/image" Target="/xl/media/image1.png"/></Relationships>',
        ),
        "xl/media/image1.png": tiny_png(),
    })
    return path


DASHBOARD_TABLE = [
    ["rank", "shop_id", "shop"],
    [1, "7494006325298104216", '=HYPERLINK("http://x","y")'],
    [2, "0012", "+1"],
    [3.25, "-2", "@x"],
]


def parts(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def names(path):
    with zipfile.ZipFile(path) as archive:
        return [info.filename for info in archive.infolist()]


def sheet_xml(path, part="xl/worksheets/sheet1.xml"):
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read(part))


def cell_xml(root, ref):
    return root.find(f".//m:c[@r='{ref}']", NS)


def assert_sorted(root):
    rows = [int(row.get("r")) for row in root.iterfind(".//m:sheetData/m:row", NS)]
    assert rows == sorted(rows) and len(rows) == len(set(rows))
    for row in root.iterfind(".//m:sheetData/m:row", NS):
        columns = [split_cell(c.get("r"))[1] for c in row.iterfind("m:c", NS)]
        assert columns == sorted(columns) and len(columns) == len(set(columns))
        assert all(split_cell(c.get("r"))[0] == int(row.get("r")) for c in row.iterfind("m:c", NS))


def write(src, tables, name="copy.xlsx"):
    dst = src.with_name(name)
    return write_values_copy(src, dst, tables, replace_spill_refs), dst


# ---------------------------------------------------------------------------------------------
# The dashboard, end to end


def test_the_report_lists_written_tables_and_conflicts(dashboard):
    report, _ = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE,
                                  ("dashboard", "f10"): [["a", "b", "c"]] * 3})
    assert (report.written, report.conflicts, report.warnings) == (
        [("Dashboard", "B3", "B3:D6")],
        ["Dashboard!F10: the table (3 rows x 3 columns, F10:H12) would overwrite filled cells "
         "G12; clear them or move the formula"],
        [],
    )
    # the FM_ formula left in place and a spill of nothing cannot be computed: named, not stale
    assert [line.split(" could not")[0] for line in report.not_computed] == [
        'Dashboard!F10: =FM_TOPSELLING("US")', "Untouched!A1: =SUM(F5#)"]
    assert "no function FM_TOPSELLING" in report.not_computed[0]


def test_only_the_parts_that_must_change_are_rewritten(dashboard):
    _, copy = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE})
    before, after = parts(dashboard), parts(copy)
    assert names(copy) == [name for name in names(dashboard) if name != "xl/calcChain.xml"]
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {
        "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/workbook.xml",
        "[Content_Types].xml", "xl/_rels/workbook.xml.rels",
    }
    # charts, drawings, the picture, styles, the untouched sheet with its own formats: identical
    for name in ("xl/charts/chart1.xml", "xl/drawings/drawing1.xml", "xl/media/image1.png",
                 "xl/styles.xml", "xl/worksheets/sheet3.xml", "docProps/core.xml"):
        assert after[name] == before[name]


def test_values_read_back_exactly_as_text_numbers_and_never_formulas(dashboard):
    _, copy = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE})
    ws = openpyxl.load_workbook(copy)["Dashboard"]
    values = [[ws.cell(r, c).value for c in range(2, 5)] for r in range(3, 7)]
    assert values == DASHBOARD_TABLE
    assert type(ws["B4"].value) is int and type(ws["B6"].value) is float
    for ref in ("C4", "D4", "C5", "D5", "C6", "D6"):
        assert ws[ref].data_type == "s"
    root = sheet_xml(copy)
    for row in range(3, 7):
        for column in "BCD":
            assert cell_xml(root, f"{column}{row}").find("m:f", NS) is None
    assert cell_xml(root, "D4").get("t") == "inlineStr"
    assert cell_xml(root, "B3").get("cm") is None


def test_styles_of_the_target_region_are_kept(dashboard):
    before = sheet_xml(dashboard)
    _, copy = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE})
    after = sheet_xml(copy)
    for ref in ("D4", "D5", "B6", "C6", "D6"):
        assert cell_xml(before, ref).get("s") is not None
        assert cell_xml(after, ref).get("s") == cell_xml(before, ref).get("s")
    assert openpyxl.load_workbook(copy)["Dashboard"]["B6"].number_format == "0.00"


def test_everything_else_in_a_rewritten_sheet_is_kept(dashboard):
    _, copy = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE})
    root = sheet_xml(copy)
    assert root.find("m:sheetViews/m:sheetView/m:pane", NS).get("state") == "frozen"
    assert root.find("m:conditionalFormatting", NS).get("sqref") == "B3:D10"
    lists = [f.text for f in root.iterfind("m:dataValidations/m:dataValidation/m:formula1", NS)]
    assert lists == ['"US,GB"', "$B$3:$D$6"]
    assert root.find("m:mergeCells/m:mergeCell", NS).get("ref") == "A20:B20"
    assert root.find("m:drawing", NS) is not None
    assert root.find("m:dimension", NS).get("ref") == "B1:H12"
    assert [child.tag.split("}")[1] for child in root] == [
        child.tag.split("}")[1] for child in sheet_xml(dashboard)
    ]
    assert_sorted(root)
    ws = openpyxl.load_workbook(copy)["Dashboard"]
    assert ws.freeze_panes == "A3"
    assert ws["F10"].value == '=FM_TOPSELLING("US")'
    assert ws["G12"].value == "note"
    assert ws["B1"].value == "Top shops"


def test_spill_references_become_the_tables_range(dashboard):
    _, copy = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE})
    wb = openpyxl.load_workbook(copy)
    assert wb["Dashboard"]["H2"].value == "=SUM(B3:D6)"
    assert wb["Dashboard"]["H3"].value == "=COUNTA(Dashboard!$B$3:$D$6)"
    assert wb["Other"]["A1"].value == "=SUM(Dashboard!B3:D6)"
    assert wb["Other"]["A2"].value == '="Dashboard!B3#"'
    assert wb["Other"]["A3"].value == "=Dashboard!B3"
    assert wb["Untouched"]["A1"].value == "=SUM(F5#)"
    assert wb.defined_names["TopShops"].attr_text == "Dashboard!$B$3:$D$6"
    assert wb["Dashboard"].defined_names["Title"].attr_text == "Dashboard!$B$1"


def test_excel_is_asked_to_recalculate_and_the_calc_chain_is_gone(dashboard):
    _, copy = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE})
    files = parts(copy)
    workbook = etree.fromstring(files["xl/workbook.xml"])
    assert workbook.find("m:calcPr", NS).attrib == {"calcId": "124519", "fullCalcOnLoad": "1"}
    assert b"calcChain" not in files["[Content_Types].xml"]
    assert b"calcChain" not in files["xl/_rels/workbook.xml.rels"]
    assert b"image/png" in files["[Content_Types].xml"]


def test_calc_pr_is_added_where_the_schema_wants_it(dashboard):
    rewrite_zip(dashboard, {"xl/workbook.xml": replace_text('<calcPr calcId="124519"/>', "")})
    _, copy = write(dashboard, {("Dashboard", "B3"): DASHBOARD_TABLE})
    workbook = etree.fromstring(parts(copy)["xl/workbook.xml"])
    children = [child.tag.split("}")[1] for child in workbook]
    assert children[children.index("definedNames") + 1] == "calcPr"
    assert workbook.find("m:calcPr", NS).get("fullCalcOnLoad") == "1"


def test_a_conflicting_table_is_not_written_at_all(dashboard):
    _, copy = write(dashboard, {("Dashboard", "F10"): [["a", "b", "c"]] * 3})
    root = sheet_xml(copy)
    assert cell_xml(root, "F10").find("m:f", NS).text == 'FM_TOPSELLING("US")'
    assert cell_xml(root, "G10") is None and cell_xml(root, "F11") is None
    # nothing was written, yet the copy still asks Excel to recalculate; calcChain stays
    assert "xl/calcChain.xml" in names(copy)
    assert parts(copy)["xl/worksheets/sheet1.xml"] == parts(dashboard)["xl/worksheets/sheet1.xml"]


# ---------------------------------------------------------------------------------------------
# Cells, one concern at a time


@pytest.fixture
def plain(tmp_path):
    """One sheet with an FM_ formula at A1 and room around it."""

    def make(**cells):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Data"
        ws["A1"] = '=FM_MOSTPROMOTED("US")'
        for ref, value in cells.items():
            ws[ref] = value
        path = tmp_path / "plain.xlsx"
        wb.save(path)
        return path

    return make


def test_text_is_escaped_the_ooxml_way_and_reads_back_unchanged(plain):
    texts = ["two\r\nlines", "\tlead", "_x000D_", "bell\x07", "emoji 😀", "lone \ud800", "x_x", " pad "]
    report, copy = write(plain(), {("Data", "A1"): [texts]})
    assert report.written == [("Data", "A1", "A1:H1")]
    assert WorkbookFile.open(copy).values("Data", "A1:H1") == [texts]
    xml = parts(copy)["xl/worksheets/sheet1.xml"].decode()
    assert '<t xml:space="preserve">two_x000D_\nlines</t>' in xml
    assert "_x005F_x000D_" in xml and "bell_x0007_" in xml and "lone _xD800_" in xml
    ws = openpyxl.load_workbook(copy)["Data"]
    assert ws["B1"].value == "\tlead" and ws["G1"].value == "x_x" and ws["H1"].value == " pad "


def test_numbers_booleans_and_special_floats(plain):
    row = [0.1, 1 / 3, 1e-300, 2.5e20, -0.0, 7494006325298104216, 10**15 - 1, True, False,
           math.nan, math.inf, None, CellError("#N/A")]
    _, copy = write(plain(), {("Data", "A1"): [row]})
    ws = openpyxl.load_workbook(copy)["Data"]
    got = [ws.cell(1, c).value for c in range(1, 14)]
    assert got[:5] == [0.1, 1 / 3, 1e-300, 2.5e20, -0.0]
    assert got[5] == "7494006325298104216" and ws["F1"].data_type == "s"
    assert got[6] == 10**15 - 1 and type(got[6]) is int
    assert got[7] is True and got[8] is False and ws["H1"].data_type == "b"
    assert got[9] is None and got[10] == "#NUM!" and got[11] is None
    assert got[12] == "#N/A" and ws["M1"].data_type == "e"
    root = sheet_xml(copy)
    assert cell_xml(root, "J1") is None and cell_xml(root, "L1") is None


def test_none_leaves_styled_cells_empty_with_their_style_and_removes_plain_ones(plain):
    path = plain(A2="old", B2="old", C3="")
    wb = openpyxl.load_workbook(path)
    wb["Data"]["A1"] = ArrayFormula("A1:B2", '=FM_MOSTPROMOTED("US")')
    wb["Data"]["B2"].number_format = "0.0"
    wb.save(path)
    _, copy = write(path, {("Data", "A1"): [["x", "y"], [None, None]]})
    root = sheet_xml(copy)
    assert cell_xml(root, "A2") is None
    styled = cell_xml(root, "B2")
    assert styled.get("s") is not None and len(styled) == 0 and styled.get("t") is None


def test_dates_get_a_date_format_when_their_cell_has_none(plain):
    path = plain()
    wb = openpyxl.load_workbook(path)
    wb["Data"]["E1"].number_format = "yyyy-mm-dd"
    wb.save(path)
    before = parts(path)
    values = [dt.datetime(2026, 4, 1), dt.date(2026, 4, 2), dt.datetime(2026, 4, 1, 13, 30),
              dt.time(6, 0), dt.datetime(2026, 4, 3)]
    _, copy = write(path, {("Data", "A1"): [values]})
    ws = openpyxl.load_workbook(copy)["Data"]
    assert [ws.cell(1, c).value for c in range(1, 6)] == [
        dt.datetime(2026, 4, 1), dt.datetime(2026, 4, 2), dt.datetime(2026, 4, 1, 13, 30),
        dt.time(6, 0), dt.datetime(2026, 4, 3),
    ]
    assert ws["A1"].number_format == "mm-dd-yy" and ws["C1"].number_format == "m/d/yy h:mm"
    assert ws["E1"].number_format == "yyyy-mm-dd"
    assert parts(copy)["xl/styles.xml"] != before["xl/styles.xml"]
    assert WorkbookFile.open(copy).values("Data", "A1:C1") == [[
        dt.datetime(2026, 4, 1), dt.datetime(2026, 4, 2), dt.datetime(2026, 4, 1, 13, 30)]]


def test_a_smaller_table_clears_the_rest_of_the_previous_spill(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["B2"] = ArrayFormula("B2:C6", '=FM_TOPSELLING("US")')
    for r in range(2, 7):
        for c in "BC":
            if (c, r) != ("B", 2):
                ws[f"{c}{r}"] = f"old {c}{r}"
    ws["C5"].number_format = "0.00"
    ws["A4"] = "keep"
    path = tmp_path / "shrink.xlsx"
    wb.save(path)
    report, copy = write(path, {("Data", "B2"): [["a", "b"], ["c", "d"]]})
    assert report.written == [("Data", "B2", "B2:C3")] and report.conflicts == []
    root = sheet_xml(copy)
    assert [cell_xml(root, ref) for ref in ("B4", "C4", "B5", "B6", "C6")] == [None] * 5
    assert len(cell_xml(root, "C5")) == 0 and cell_xml(root, "C5").get("s")
    assert root.find("m:dimension", NS).get("ref") == "A2:C5"
    ws = openpyxl.load_workbook(copy)["Data"]
    assert [[ws[f"{c}{r}"].value for c in "BC"] for r in (2, 3)] == [["a", "b"], ["c", "d"]]
    assert ws["A4"].value == "keep"


def test_a_larger_table_may_not_eat_cells_that_were_not_its_spill(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["B2"] = ArrayFormula("B2:B3", '=FM_TOPSELLING("US")')
    ws["B3"] = "old"
    ws["B4"] = "mine"
    ws["C2"] = "=1+1"
    path = tmp_path / "grow.xlsx"
    wb.save(path)
    report, _ = write(path, {("Data", "B2"): [["a", "b"]] * 3})
    assert report.conflicts == [
        "Data!B2: the table (3 rows x 2 columns, B2:C4) would overwrite filled cells C2, B4; "
        "clear them or move the formula"
    ]


def test_overlapping_tables_the_first_wins(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["B1"] = '=FM_TOPSELLING("US")'
    ws["A2"] = '=FM_MOSTPROMOTED("US")'
    path = tmp_path / "overlap.xlsx"
    wb.save(path)
    report, copy = write(path, {("Data", "A2"): [[1, 2, 3]], ("Data", "B1"): [[1], [2], [3]]})
    assert report.written == [("Data", "B1", "B1:B3")]
    assert report.conflicts == [
        "Data!A2: the table (1 row x 3 columns, A2:C2) would overwrite filled cells B2; "
        "clear them or move the formula"
    ]
    assert openpyxl.load_workbook(copy)["Data"]["A2"].value == '=FM_MOSTPROMOTED("US")'


def test_merged_cells_in_the_way_are_a_conflict(plain):
    path = plain()
    wb = openpyxl.load_workbook(path)
    wb["Data"].merge_cells("B2:C3")
    wb.save(path)
    report, _ = write(path, {("Data", "A1"): [[1, 2]] * 2})
    assert report.conflicts == [
        "Data!A1: the table (2 rows x 2 columns, A1:B2) would overlap merged cells B2:C3; "
        "clear or unmerge them, or move the formula"
    ]


def test_a_table_past_the_last_row_is_a_conflict(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active["A1048575"] = '=FM_TOPSELLING("US")'
    path = tmp_path / "edge.xlsx"
    wb.save(path)
    report, _ = write(path, {("Data", "A1048575"): [[1]] * 3})
    assert report.conflicts == [
        "Data!A1048575: the table (3 rows x 1 column) does not fit on the sheet from A1048575; "
        "move the formula up or left"
    ]


def test_new_rows_and_cells_go_in_order_and_take_column_styles(plain):
    path = plain(A50="below", C1="right", Z1="far")
    wb = openpyxl.load_workbook(path)
    wb["Data"].column_dimensions["B"].number_format = "0.0%"
    wb.save(path)
    table = [[f"r{r}c{c}" for c in range(3)] for r in range(20)]
    table[0][2] = None  # C1 holds "right": a None over it would be a conflict, so make it fit
    report, conflicting = write(path, {("Data", "A1"): table})
    assert report.conflicts and "C1" in report.conflicts[0]
    table = [[f"r{r}c{c}" for c in range(2)] for r in range(20)]
    report, copy = write(path, {("Data", "A1"): table}, name="ordered.xlsx")
    assert report.written == [("Data", "A1", "A1:B20")]
    root = sheet_xml(copy)
    assert_sorted(root)
    rows = [int(row.get("r")) for row in root.iterfind(".//m:row", NS)]
    assert rows == list(range(1, 21)) + [50]
    assert [c.get("r") for c in root.find(".//m:row", NS)] == ["A1", "B1", "C1", "Z1"]
    styles = {cell_xml(root, f"B{r}").get("s") for r in range(2, 21)}
    assert len(styles) == 1 and styles != {None}
    assert cell_xml(root, "A5").get("s") is None
    assert openpyxl.load_workbook(copy)["Data"]["B7"].number_format == "0.0%"


def test_a_shared_formula_anchor_is_a_conflict(plain):
    path = plain()
    rewrite_zip(path, {"xl/worksheets/sheet1.xml": replace_text(
        '<c r="A1"><f>FM_MOSTPROMOTED("US")</f><v></v></c>',
        '<c r="A1"><f t="shared" ref="A1:A3" si="0">FM_MOSTPROMOTED("US")</f><v>0</v></c>',
    )})
    report, _ = write(path, {("Data", "A1"): [[1]]})
    assert report.conflicts == [
        "Data!A1: the formula was filled over A1:A3 as one shared formula; keep it in A1 only "
        "and delete the copies"
    ]


def test_an_empty_table_leaves_the_anchor_empty(plain):
    report, copy = write(plain(), {("Data", "A1"): []})
    assert report.written == [("Data", "A1", "A1")]
    assert cell_xml(sheet_xml(copy), "A1") is None


def test_text_longer_than_a_cell_holds_is_cut_with_a_warning(plain):
    report, copy = write(plain(), {("Data", "A1"): [["x" * 40_000]]})
    assert report.warnings == [
        "Data!A1: text of 40000 characters cut to 32767, the most a cell holds"
    ]
    assert openpyxl.load_workbook(copy)["Data"]["A1"].value == "x" * 32_767


# ---------------------------------------------------------------------------------------------
# Safety


def test_a_ragged_table_or_an_unknown_sheet_is_refused(plain):
    path = plain()
    with pytest.raises(WorkbookError, match="not rectangular"):
        write(path, {("Data", "A1"): [[1, 2], [3]]})
    with pytest.raises(WorkbookError, match="no worksheet named 'Nope'"):
        write(path, {("Nope", "A1"): [[1]]})
    with pytest.raises(WorkbookError, match="not a cell address"):
        write(path, {("Data", "Region"): [[1]]})


def test_a_failed_write_leaves_the_destination_untouched(plain):
    path = plain()
    dst = path.with_name("existing.xlsx")
    dst.write_bytes(b"previous copy")
    with pytest.raises(WorkbookError, match=r"Data!B1: cannot write a value of type object"):
        write_values_copy(path, dst, {("Data", "A1"): [["fine", object()]]})
    assert dst.read_bytes() == b"previous copy"
    assert sorted(p.name for p in path.parent.iterdir()) == ["existing.xlsx", "plain.xlsx"]


def test_a_failed_replace_removes_the_temporary_file(plain, monkeypatch):
    path = plain()
    dst = path.with_name("existing.xlsx")
    dst.write_bytes(b"previous copy")
    source = path.read_bytes()

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(WorkbookError, match=r"existing.xlsx: cannot be written \(disk full\)"):
        write_values_copy(path, dst, {("Data", "A1"): [["x"]]})
    assert dst.read_bytes() == b"previous copy"
    assert path.read_bytes() == source
    assert sorted(p.name for p in path.parent.iterdir()) == ["existing.xlsx", "plain.xlsx"]


def test_the_source_is_never_the_destination(plain):
    path = plain()
    source = path.read_bytes()
    with pytest.raises(WorkbookError, match="must not overwrite the workbook"):
        write_values_copy(path, path.parent / "." / path.name, {("Data", "A1"): [["x"]]})
    assert path.read_bytes() == source


def test_the_copy_keeps_the_extension(plain):
    path = plain()
    with pytest.raises(WorkbookError, match=r"the copy of plain.xlsx must be \.xlsx$"):
        write_values_copy(path, path.with_name("copy.xlsm"), {("Data", "A1"): [["x"]]})
    assert not path.with_name("copy.xlsm").exists()


def test_an_existing_copy_is_replaced(plain):
    path = plain()
    dst = path.with_name("existing.xlsx")
    dst.write_bytes(b"previous copy")
    write_values_copy(path, dst, {("Data", "A1"): [["x"]]})
    assert openpyxl.load_workbook(dst)["Data"]["A1"].value == "x"


# ---------------------------------------------------------------------------------------------
# Macro-enabled workbooks


@pytest.fixture(scope="module")
def quickstart_xlsm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quickstart")
    subprocess.run(
        [sys.executable, "-m", "xlwings.cli", "quickstart", "demoqs", "--standalone"],
        cwd=folder, check=True, capture_output=True, timeout=60,
    )
    return folder / "demoqs" / "demoqs.xlsm"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # oletools' use of pyparsing
def test_an_xlsm_keeps_its_vba_project_and_content_types(quickstart_xlsm, tmp_path):
    from oletools.olevba import VBA_Parser

    path = tmp_path / "dashboard.xlsm"
    path.write_bytes(quickstart_xlsm.read_bytes())
    rewrite_zip(path, {"xl/worksheets/sheet1.xml": replace_text(
        "<sheetData />",
        '<sheetData><row r="2"><c r="B2"><f>FM_TOPSELLING("US","day")</f><v>0</v></c>'
        '<c r="D2"><f>ROWS(_xlfn.ANCHORARRAY(B2))</f><v>1</v></c></row></sheetData>',
    )})
    report, copy = write(path, {("Sheet1", "B2"): [["shop", "units"], ["a", 1], ["b", 2]]},
                         name="copy.xlsm")
    assert report.written == [("Sheet1", "B2", "B2:C4")]
    before, after = parts(path), parts(copy)
    assert names(copy) == names(path)
    assert {name for name in after if after[name] != before[name]} == {
        "xl/worksheets/sheet1.xml", "xl/workbook.xml",
    }
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert after["[Content_Types].xml"] == before["[Content_Types].xml"]
    parser = VBA_Parser(str(copy))
    try:
        modules = {name for _, _, name, _ in parser.extract_macros()}
    finally:
        parser.close()
    assert {"Module1.bas", "xlwings.bas", "Dictionary.cls", "ThisWorkbook.cls"} <= modules
    wb = openpyxl.load_workbook(copy, keep_vba=True)
    assert wb["Sheet1"]["D2"].value == "=ROWS(B2:C4)"
    assert [[c.value for c in row] for row in wb["Sheet1"]["B2:C4"]] == [
        ["shop", "units"], ["a", 1], ["b", 2],
    ]
    xml = after["xl/worksheets/sheet1.xml"]
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    assert b'mc:Ignorable="x14ac xr xr2 xr3"' in xml and b"xmlns:x14ac=" in xml


def test_new_cells_in_a_formatted_row_take_its_style_and_row_spans_follow(plain):
    path = plain()
    rewrite_zip(path, {"xl/worksheets/sheet1.xml": replace_text(
        '<row r="1">', '<row r="1" spans="1:1"><!-- spans as Excel writes them -->',
    )})
    rewrite_zip(path, {"xl/worksheets/sheet1.xml": replace_text(
        "</sheetData>", '<row r="2" spans="4:4" s="1" customFormat="1"><c r="D2" s="1"/></row></sheetData>',
    )})
    report, copy = write(path, {("Data", "A1"): [[1, 2, 3], [4, 5, 6]]})
    assert report.written == [("Data", "A1", "A1:C2")]
    root = sheet_xml(copy)
    row1, row2 = root.iterfind(".//m:row", NS)
    assert row1.get("spans") == "1:3" and row2.get("spans") == "1:4"
    assert [c.get("s") for c in row1.iterfind("m:c", NS)] == [None, None, None]
    assert [c.get("s") for c in row2.iterfind("m:c", NS)] == ["1", "1", "1", "1"]
    assert_sorted(root)
