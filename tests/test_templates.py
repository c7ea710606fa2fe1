"""The dashboard template xl_fastmoss/templates/FastMossDashboard.xlsm: structure, VBA wiring, refresh and rendering.

Structure is read with openpyxl (keep_vba=True) and, for what openpyxl does not model (shapes,
dynamic-array marks), straight from the package with zipfile and lxml. The rendering test needs
LibreOffice: it is skipped without ``soffice``, except under CI, which installs it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula

from xl_fastmoss import macros
from xl_fastmoss.columns import LABELS, default_fields
from xl_fastmoss.endpoints import ALL_REGIONS, ENDPOINTS
from xl_fastmoss.sheets.formulas import CellRef, parse_formula
from xl_fastmoss.workbook.addresses import split_cell
from xl_fastmoss.workbook.package import PackageParts

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "xl_fastmoss" / "templates"
BOOK = FOLDER / "FastMossDashboard.xlsm"

SHEETS = ["Read me", "Daily", "Weekly", "Monthly", "Markets", "Shop rankings", "Trends", "xlwings.conf"]
DASHBOARDS = ["Daily", "Weekly", "Monthly", "Markets", "Shop rankings", "Trends"]
INPUT_FILL = "FFF2CC"

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pr": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
    "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
}
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


# -- helpers -----------------------------------------------------------------------------------


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it runs
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


class Package(PackageParts):
    """Parts of a workbook file, with the links between sheets, drawings and charts."""

    def __init__(self, path: Path):
        super().__init__(PackageParts.from_path(path).parts)

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        return {rid: (rel.kind, rel.target) for rid, rel in self.relationships(part).items()}

    def sheet_part(self, name: str) -> str:
        rels = self.rels("xl/workbook.xml")
        for sheet in self.xml("xl/workbook.xml").iter(f"{{{NS['m']}}}sheet"):
            if sheet.get("name") == name:
                return rels[sheet.get(f"{{{REL}}}id")][1]
        raise KeyError(name)

    def drawing(self, sheet: str) -> str | None:
        part = self.sheet_part(sheet)
        element = self.xml(part).find("m:drawing", NS)
        if element is None:
            return None
        kind, target = self.rels(part)[element.get(f"{{{REL}}}id")]
        assert kind == "drawing"
        return target

    def charts(self, sheet: str) -> list:
        drawing = self.drawing(sheet)
        if drawing is None:
            return []
        rels = self.rels(drawing)
        return [self.xml(rels[c.get(f"{{{REL}}}id")][1])
                for c in self.xml(drawing).iter(f"{{{NS['c']}}}chart")]

    def shapes(self, sheet: str) -> list:
        drawing = self.drawing(sheet)
        return [] if drawing is None else list(self.xml(drawing).iter(f"{{{NS['xdr']}}}sp"))


def _vba_modules(path: Path) -> dict[str, str]:
    olevba = pytest.importorskip("oletools.olevba", reason="oletools (olevba) is a test dependency")
    parser = olevba.VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _fm_cells(wb):
    """(sheet, cell, formula text) of every FM_ formula."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                text = value.text if isinstance(value, ArrayFormula) else value
                if isinstance(text, str) and text.startswith("=") and parse_formula(text):
                    yield ws, cell, text


def _is_input(cell) -> bool:
    return cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb[-6:] == INPUT_FILL


@pytest.fixture(scope="module")
def wb():
    return load_workbook(BOOK, keep_vba=True)


@pytest.fixture(scope="module")
def package():
    return Package(BOOK)


@pytest.fixture(scope="module")
def vba():
    return _vba_modules(BOOK)


# -- sheets and inputs -----------------------------------------------------------------------------


def test_the_template_has_the_dashboards_a_read_me_and_the_config_sheet_in_order(wb):
    assert wb.sheetnames == SHEETS
    assert wb.active.title == "Daily"


def test_the_xlwings_conf_sheet_is_active_and_names_the_udf_module(wb):
    assert "_xlwings.conf" not in wb.sheetnames
    ws = wb["xlwings.conf"]
    config = {}
    row = 1
    while ws.cell(row, 1).value:  # xlwings reads keys from A1 down to the first empty cell
        config[ws.cell(row, 1).value.upper()] = ws.cell(row, 2).value
        row += 1
    assert config["UDF MODULES"] == "xl_fastmoss.udfs"
    assert config["DEBUG UDFS"] is False
    # A key with an empty value would hide the interpreter set in the xlwings ribbon.
    assert not {"INTERPRETER_WIN", "INTERPRETER_MAC", "INTERPRETER", "PYTHONPATH", "CONDA PATH",
                "CONDA ENV"} & set(config)


@pytest.mark.parametrize("sheet, inputs, formula", [
    ("Daily", {"B4": "US", "B5": 14, "B6": "latest", "B7": 20},
     '=FM_MOSTPROMOTED($B$4,$B$5,"day",$B$6,"rows",$B$7)'),
    ("Weekly", {"B4": "US", "B5": 14, "B6": "latest", "B7": 20, "B8": "units_sold"},
     '=FM_TOPSELLING($B$4,$B$5,"week",$B$6,"rows",$B$7,"sort",$B$8)'),
    ("Monthly", {"B4": "US", "B5": 14, "B6": "latest", "B7": 20, "B8": "usd_gmv"},
     '=FM_TOPSELLING($B$4,$B$5,"month",$B$6,"rows",$B$7,"sort",$B$8)'),
])
def test_period_dashboards_read_their_inputs_with_absolute_references(wb, sheet, inputs, formula):
    ws = wb[sheet]
    for ref, default in inputs.items():
        assert ws[ref].value == default
        assert _is_input(ws[ref])
        row, col = split_cell(ref)
        assert ws.cell(row, col - 1).value  # a label on its left
    assert isinstance(ws["A10"].value, ArrayFormula)
    assert ws["A10"].value.text == formula


def test_markets_puts_five_markets_side_by_side_on_the_same_inputs(wb):
    ws = wb["Markets"]
    markets = [ws[f"{col}9"].value for col in "AEIMQ"]
    assert markets == ["US", "GB", "DE", "FR", "ID"]
    for col in "AEIMQ":
        assert ws[f"{col}10"].value.text == (
            f'=FM_TOPSELLING(${col}$9,$C$4,$C$5,$C$6,"fields","rank,name,usd_gmv","rows",10,"sort",$C$7)')
    assert [ws[f"C{r}"].value for r in range(4, 8)] == [14, "day", "latest", "usd_gmv"]


def test_shop_rankings_puts_the_three_rankings_of_one_market_side_by_side(wb):
    ws = wb["Shop rankings"]
    assert ws["C4"].value == "US" and _is_input(ws["C4"])
    functions = [parse_formula(ws[f"{col}11"].value.text).call for col in "AFK"]
    assert [f.function for f in functions] == ["FM_MOSTPROMOTED", "FM_TOPSELLING", "FM_FULLYMANAGED"]
    for call in functions:
        assert call.args[0] == CellRef(None, "$C$4")
        options = {call.args[i].value: call.args[i + 1] for i in range(4, len(call.args), 2)}
        assert options["rows"].value == 10
        assert options["fields"].value.startswith("rank,name,")
        assert options["fields"].value.endswith(",usd_gmv")


def test_every_fm_formula_refers_only_to_marked_input_cells_by_absolute_reference(wb):
    found = list(_fm_cells(wb))
    assert len(found) == 13
    for ws, cell, text in found:
        scan = parse_formula(text)
        assert scan.call is not None and not scan.nested, f"{ws.title}!{cell.coordinate}"
        for argument in scan.call.args:
            if isinstance(argument, CellRef):
                assert argument.sheet is None and argument.ref.count("$") == 2, argument
                assert _is_input(ws[argument.ref.replace("$", "")]), f"{ws.title}!{argument.ref}"


def test_fm_formulas_are_dynamic_arrays_so_excel_365_spills_them(package):
    marked = 0
    for sheet in DASHBOARDS:
        root = package.xml(package.sheet_part(sheet))
        for f in root.iter(f"{{{NS['m']}}}f"):
            if (f.text or "").startswith("FM_"):
                assert f.get("t") == "array"
                assert f.getparent().get("cm") == "1"
                marked += 1
    assert marked == 13
    assert b"XLDAPR" in package.parts["xl/metadata.xml"]
    assert ("sheetMetadata", "xl/metadata.xml") in package.rels("xl/workbook.xml").values()
    assert package.content_types()["xl/metadata.xml"].endswith("sheetMetadata+xml")


def test_input_cells_offer_lists_and_bounds(wb):
    def rules(ws):
        return {cell: dv for dv in ws.data_validations.dataValidation for cell in str(dv.sqref).split()}

    daily = rules(wb["Daily"])
    assert daily["B4"].type == "list" and daily["B4"].formula1.strip('"').split(",") == list(ALL_REGIONS)
    assert (daily["B7"].type, daily["B7"].formula1, daily["B7"].formula2) == ("whole", "1", "500")
    markets = rules(wb["Markets"])
    assert markets["C5"].formula1 == '"day,week,month"'
    assert markets["C7"].formula1 == '"units_sold,usd_gmv"'
    assert all(markets[f"{col}9"].type == "list" for col in "AEIMQ")
    shops = rules(wb["Shop rankings"])
    assert shops["C4"].type == "list" and shops["C6"].formula1 == '"day,week,month"'


def test_headers_are_frozen_below_each_table_header(wb):
    assert wb["Daily"].freeze_panes == "C11"  # also keeps Rank and Shop in view
    assert wb["Weekly"].freeze_panes == "C11"
    assert wb["Monthly"].freeze_panes == "C11"
    assert wb["Markets"].freeze_panes == "A11"
    assert wb["Shop rankings"].freeze_panes == "A12"


@pytest.mark.parametrize("sheet, endpoint", [
    ("Daily", "most_promoted"), ("Weekly", "top_selling"), ("Monthly", "top_selling")])
def test_number_formats_cover_the_whole_spill_region(wb, sheet, endpoint):
    ws = wb[sheet]
    fields = default_fields(ENDPOINTS[endpoint])
    expected = {"units_sold": "#,##0", "affiliate_count": "#,##0", "total_affiliate_count": "#,##0",
                "sale_product_count": "#,##0", "gmv": "#,##0.00", "usd_gmv": "#,##0.00", "currency": "@"}
    for col, name in enumerate(fields, start=1):
        header = ws.cell(10, col)
        assert header.font.b and header.fill.fill_type == "solid", LABELS[name]
        for row in (11, 30, 510):  # first row, the default 20th, the 500th
            number_format = ws.cell(row, col).number_format
            if name in expected:
                assert number_format == expected[name], (name, row)
            if name.endswith("_inc_rate"):
                assert number_format.startswith("0.0%"), (name, row)
    assert ws.column_dimensions["B"].width >= 28  # shop names


def test_stamp_cell_is_the_defined_name_fm_lastrefresh(wb):
    assert macros.STAMP_NAME == "FM_LastRefresh"
    name = wb.defined_names["FM_LastRefresh"]
    assert name.attr_text == "'Read me'!$C$4"
    assert wb["Read me"]["C4"].value
    for sheet in DASHBOARDS:  # each dashboard shows it
        ws = wb[sheet]
        assert any(isinstance(c.value, str) and "FM_LastRefresh" in c.value
                   for row in ws.iter_rows(max_row=9) for c in row), sheet


# -- charts ------------------------------------------------------------------------------------


def _chart_formulas(chart) -> dict[str, list[str]]:
    found = {"tx": [], "cat": [], "val": []}
    for series in chart.iter(f"{{{NS['c']}}}ser"):
        for kind in found:
            element = series.find(f"c:{kind}", NS)
            if element is not None:
                found[kind] += [f.text for f in element.iter(f"{{{NS['c']}}}f")]
    return found


@pytest.mark.parametrize("sheet, values", [
    ("Daily", "'Daily'!$E$11:$E$20"),  # New creators of the top 10
    ("Weekly", "'Weekly'!$E$11:$E$20"),  # Units sold
    ("Monthly", "'Monthly'!$J$11:$J$20"),  # GMV (USD)
])
def test_period_charts_plot_the_top_10_rows_of_the_table(package, sheet, values):
    (chart,) = package.charts(sheet)
    formulas = _chart_formulas(chart)
    assert formulas["val"] == [values]
    assert formulas["cat"] == [f"'{sheet}'!$B$11:$B$20"]  # shop names, as text
    assert chart.find(".//c:cat/c:strRef", NS) is not None


def test_markets_chart_compares_the_gmv_columns_of_the_five_tables(package):
    (chart,) = package.charts("Markets")
    formulas = _chart_formulas(chart)
    assert formulas["val"] == [f"'Markets'!${c}$11:${c}$20" for c in "CGKOS"]
    assert formulas["tx"] == [f"'Markets'!${c}$9" for c in "AEIMQ"]  # the market input cells


# -- the refresh button --------------------------------------------------------------------------


def test_every_dashboard_has_a_refresh_button_that_runs_the_quickstart_macro(package, vba):
    for sheet in ["Read me"] + DASHBOARDS:
        drawing = package.drawing(sheet)
        assert package.content_types()[drawing].endswith("drawing+xml")
        buttons = [sp for sp in package.shapes(sheet) if sp.get("macro")]
        assert len(buttons) == 1, sheet
        (button,) = buttons
        assert "".join(button.itertext()) == "Refresh FastMoss data"
        macro = button.get("macro")
        assert macro == "[0]!SampleCall"  # how Excel names a Sub of the shape's own workbook
        sub = macro.split("!", 1)[1]
        assert re.search(rf"^Sub {sub}\(\)", "\n".join(vba.values()), re.MULTILINE)


def test_the_macro_imports_the_python_module_named_like_the_workbook(vba):
    code = vba["Module1"]
    body = code[code.index("Sub SampleCall()"):code.index("End Sub")]
    # The module is the workbook's name without its extension.
    assert "Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name" in body
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in body
    assert (FOLDER / f"{BOOK.stem}.py").is_file()


def test_the_vba_project_is_the_xlwings_standalone_one(package, vba):
    assert {"xlwings", "Module1", "ThisWorkbook"} <= set(vba)
    assert "Function RunPython" in vba["xlwings"]
    workbook = package.xml("xl/workbook.xml")
    assert workbook.find("m:workbookPr", NS).get("codeName") == "ThisWorkbook"
    assert package.content_types()["xl/workbook.xml"] == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def test_the_templates_xlwings_vba_is_the_pinned_and_the_installed_xlwings(vba):
    """The VBA names its DLL by version: with any other xlwings every button and FM_ cell fails (error 53)."""
    import importlib.metadata
    import tomllib

    (constant,) = re.findall(r'^Public Const XLWINGS_VERSION As String = "([^"]+)"', vba["xlwings"], re.MULTILINE)
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d.split(";")[0].split("#")[0].strip() for d in dependencies if re.match(r"xlwings\b", d)]
    assert pin == f"xlwings=={constant}", "pin xlwings exactly to the template's version, or rebuild the template"
    assert importlib.metadata.version("xlwings") == constant, (
        "the installed xlwings is not the template's: pip install -e . again, then python -m tools.build_template")
    dlls = set(re.findall(r'"(xlwings(?:32|64)-[^"]+\.dll)"', vba["xlwings"]))
    assert dlls == {f"xlwings32-{constant}.dll", f"xlwings64-{constant}.dll"}


def test_a_stale_tables_header_row_turns_orange(wb):
    from xl_fastmoss.sheets.functions import STALE_MARK

    anchors = [(ws.title, cell.coordinate) for ws, cell, _ in _fm_cells(wb)]
    for sheet, anchor in anchors:
        ws = wb[sheet]
        rules = [(str(rng.sqref), rule) for rng in ws.conditional_formatting for rule in rng.rules]
        row, col = split_cell(anchor)
        header = [(sqref, rule) for sqref, rule in rules if sqref.startswith(f"{anchor}:") and
                  split_cell(sqref.split(":")[1])[0] == row]
        assert len(header) == 1, f"{sheet}!{anchor}"
        (_, rule), = header
        assert rule.formula == [f'ISNUMBER(SEARCH("{STALE_MARK}",${anchor[:-len(str(row))]}${row}))']
        assert rule.dxf.fill.fgColor.rgb.endswith("C55A11")


def test_the_python_module_beside_the_workbook_refreshes_through_the_package(monkeypatch):
    calls = []
    monkeypatch.setattr(macros, "main", lambda: calls.append("refresh"))
    monkeypatch.setattr(macros, "main_active_sheet", lambda: calls.append("sheet"))
    monkeypatch.setattr(macros, "main_selection", lambda: calls.append("selection"))
    module = _load_module("FastMossDashboard", FOLDER / "FastMossDashboard.py")
    module.main()
    module.refresh_active_sheet()
    module.refresh_selection()
    assert calls == ["refresh", "sheet", "selection"]


def test_the_committed_template_is_what_the_build_script_writes(tmp_path):
    pytest.importorskip("oletools.olevba")
    from tools import build_template as build

    core = Package(BOOK).xml("docProps/core.xml")
    built_with = core.findtext("{http://purl.org/dc/elements/1.1/}description")
    if built_with != build.BUILT_WITH:
        pytest.skip(f"the template was built with other versions ({built_with!r}); bytes would differ")
    assert build.main(["--output-dir", str(tmp_path)]) == 0
    built, committed = Package(tmp_path / BOOK.name), Package(BOOK)
    assert sorted(built.parts) == sorted(committed.parts)
    # The VBA is xlwings' own and changes with its version; everything else is ours.
    changed = [p for p in built.parts if p != "xl/vbaProject.bin" and built.parts[p] != committed.parts[p]]
    assert not changed, f"run python -m tools.build_template: {changed} differ"


# -- refreshed and rendered ----------------------------------------------------------------------


def _png(path: Path) -> tuple[int, int, float]:
    """(width, height, share of pixels that are not white) of an 8-bit RGB or grey PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (0, 2) and interlace == 0, header
    bpp = 3 if colour == 2 else 1
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    previous = bytearray(stride)
    coloured = 0
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        coloured += sum(1 for x in range(0, stride, bpp) if min(line[x:x + bpp]) < 0xF0)
        previous = line
    return width, height, coloured / (width * height)


@pytest.fixture
def soffice():
    from tools.render import find_soffice

    found = find_soffice()
    if found is None or shutil.which("pdftoppm") is None:
        message = "LibreOffice (soffice) and pdftoppm are needed to render workbooks"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI installs them")
        pytest.skip(message)
    return found


def test_the_refreshed_template_keeps_its_charts_vba_and_formats_not_its_buttons(client, tmp_path):
    from xl_fastmoss.headless import refresh_workbook

    output = tmp_path / "today.xlsm"
    report = refresh_workbook(BOOK, output, client)
    assert report.ok, report.lines()
    assert {(sheet, range_) for sheet, _, range_ in report.written} >= {
        ("Daily", "A10:M30"), ("Weekly", "A10:L30"), ("Markets", "Q10:S20"), ("Shop rankings", "K11:N21")}
    refreshed = Package(output)
    assert refreshed.parts["xl/vbaProject.bin"] == Package(BOOK).parts["xl/vbaProject.bin"]
    for sheet in DASHBOARDS:
        # a values copy has no refresh button: no macro can refresh a copy (issue 11, item 5)
        assert [sp.get("macro") for sp in refreshed.shapes(sheet) if sp.get("macro")] == []
        assert len(refreshed.charts(sheet)) == (0 if sheet == "Shop rankings" else 1)
    values = load_workbook(output, keep_vba=True)
    assert {("Trends", "A12:F42"), ("Trends", "A46:E146")} <= {(sheet, range_) for sheet, _, range_ in report.written}
    daily = values["Daily"]
    assert [daily.cell(10, c).value for c in (1, 2, 5)] == ["Rank", "Shop", "New creators"]
    assert isinstance(daily["E11"].value, int) and daily["E11"].number_format == "#,##0"
    assert isinstance(daily["L11"].value, float) or daily["L11"].value is None
    assert daily["L11"].number_format.startswith("0.0%")


def test_the_refreshed_template_renders_every_sheet(client, tmp_path, soffice):
    from tools.render import render_workbook
    from xl_fastmoss.headless import refresh_workbook

    output = tmp_path / "today.xlsm"
    assert refresh_workbook(BOOK, output, client).ok
    # Recalculating is safe once the FM_ formulas are values: totals and stamps show as in Excel.
    pages = render_workbook(output, tmp_path / "png", recalculate=True)
    assert len(pages) == len(SHEETS)  # one page per sheet
    sizes = {}
    for sheet, page in zip(SHEETS, pages, strict=True):
        width, height = struct.unpack(">II", page.read_bytes()[16:24])
        sizes[sheet] = (width, height)
        assert page.stat().st_size > 2_000, sheet
    assert sizes["Daily"][0] > 1200 and sizes["Daily"][1] > 400  # 13 columns and a chart, 20 rows
    assert sizes["Markets"][0] > 1200 and sizes["Markets"][1] > 500  # five tables above a chart
    assert sizes["Trends"][0] > 1200 and sizes["Trends"][1] > 2000  # the history beside its chart, the movers
    for sheet in ("Daily", "Markets", "Trends"):
        _, _, share = _png(pages[SHEETS.index(sheet)])
        assert share > 0.05, f"{sheet} renders nearly blank ({share:.1%} coloured)"


# -- Trends ------------------------------------------------------------------------------------------


def test_trends_reads_a_seller_id_typed_as_text_and_the_last_30_days(wb):
    ws = wb["Trends"]
    inputs = {"B4": "7167716654557055327", "B5": "US", "B6": 14, "B7": "-29", "B8": "latest", "B9": 100}
    for ref, default in inputs.items():
        assert ws[ref].value == default and _is_input(ws[ref]), ref
    assert ws["B4"].number_format == "@" and ws["B7"].number_format == "@"
    assert ws["A12"].value.text == ('=FM_HISTORY($B$4,$B$5,$B$6,"day",$B$7,$B$8,"depth",$B$9,"fields",'
                                    '"date_value,rank,affiliate_count,units_sold,usd_gmv,note")')
    assert ws["A46"].value.text == ('=FM_MOSTPROMOTED($B$5,$B$6,"day",$B$8,"compare","previous","rows",100,'
                                    '"fields","rank,name,previous_rank,rank_change,new")')
    assert ws.column_dimensions["X"].hidden and ws.column_dimensions["Y"].hidden  # the movers' scores
    depth = next(dv for dv in ws.data_validations.dataValidation if "B9" in str(dv.sqref))
    assert (depth.type, depth.formula1, depth.formula2) == ("whole", "1", "500") and "Depth" in depth.promptTitle


def test_the_template_reads_as_a_plan_of_a_history_and_a_comparison(server):
    from xl_fastmoss.sheets.cells import find_fm_cells
    from xl_fastmoss.sheets.plan import plan_refresh
    from xl_fastmoss.workbook.reader import WorkbookFile

    plan = plan_refresh(find_fm_cells(WorkbookFile.open(BOOK)))
    assert not plan.problems
    trends = {t.cell: t.call for t in plan.tables if t.sheet == "Trends"}
    assert len(trends["A12"].query.periods) == 30 and trends["A12"].largest_shape() == (31, 6)
    assert len(trends["A46"].first_wave()) == 2 and trends["A46"].largest_shape() == (101, 5)
    assert server.call_count == 0


def test_the_trends_chart_draws_rank_upside_down_and_gmv_on_a_second_axis(package):
    (chart,) = package.charts("Trends")
    formulas = _chart_formulas(chart)
    assert formulas["val"] == ["'Trends'!$B$13:$B$42", "'Trends'!$E$13:$E$42"]
    assert formulas["cat"] == ["'Trends'!$A$13:$A$42", "'Trends'!$A$13:$A$42"]
    assert formulas["tx"] == ["'Trends'!$B$12", "'Trends'!$E$12"]
    value_axes = chart.findall(".//c:valAx", NS)
    assert len(value_axes) == 2
    assert value_axes[0].find("c:scaling/c:orientation", NS).get("val") == "maxMin"  # rank 1 at the top
    assert chart.find(".//c:dispBlanksAs", NS).get("val") == "gap"  # a day out of the ranking is no 0


def test_the_refreshed_trends_sheet_lists_the_days_biggest_climbers_and_fallers(client, tmp_path):
    from xl_fastmoss.headless import refresh_workbook

    output = tmp_path / "today.xlsx"
    report = refresh_workbook(BOOK, output, client)
    assert report.ok and not [line for line in report.not_computed if line.startswith("Trends")], report.not_computed
    assert not [w for w in report.warnings if w.startswith("Trends")]  # blank movement is no missing value
    ws = load_workbook(output, data_only=True)["Trends"]
    assert [ws.cell(12, c).value for c in range(1, 7)] == ["Period", "Rank", "New creators", "Units sold",
                                                           "GMV (USD)", "Note"]
    assert [ws.cell(46, c).value for c in range(1, 6)] == ["Rank", "Shop", "Previous rank", "Rank change", "New"]
    movers = [[ws.cell(r, c).value for c in range(1, 6)] for r in range(47, 147)]
    climbs = sorted(((m[3], -m[0]) for m in movers if isinstance(m[3], int) and m[3] > 0), reverse=True)[:10]
    falls = sorted(((-m[3], -m[0]) for m in movers if isinstance(m[3], int) and m[3] < 0), reverse=True)[:10]
    climbers = [[ws.cell(r, c).value for c in (8, 9, 10)] for r in range(47, 57)]
    fallers = [[ws.cell(r, c).value for c in (8, 9, 10)] for r in range(60, 70)]
    name = {m[0]: m[1] for m in movers}
    assert climbers == [[-rank, name[-rank], change] for change, rank in climbs]
    assert fallers == [[-rank, name[-rank], -fall] for fall, rank in falls]
    assert ws["J71"].value == sum(m[4] is True for m in movers) > 0
