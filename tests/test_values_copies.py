"""Values copies fit to share: read where nothing recalculates (Protected View, a reader library),
they show the right number in every formula, hold no button that cannot work, and an .xlsx copy
of an .xlsm holds no macros."""

import re
import zipfile

import pytest
from click.testing import CliRunner
from lxml import etree
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from xl_fastmoss.cli import main
from xl_fastmoss.demo import TEMPLATES_DIR
from xl_fastmoss.headless import refresh_workbook
from xl_fastmoss.workbook.addresses import split_cell
from xl_fastmoss.workbook.package import PackageParts

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS = {"m": MAIN}
TEMPLATE = TEMPLATES_DIR / "FastMossDashboard.xlsm"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def sheet_values(path, sheet):
    """What a reader that never recalculates sees: the cached values, by (row, column) from 1 (calamine)."""
    found = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    top, left = found.start
    return {(top + i + 1, left + j + 1): value
            for i, row in enumerate(found.to_python()) for j, value in enumerate(row)}


def at(values, ref):
    return values.get(split_cell(ref), "")


def formula_cells(path):
    """(part, ref, formula, cached value element) of every formula in every sheet."""
    found = []
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/sheet"):
                root = etree.fromstring(package.read(name))
                for c in root.iterfind(".//m:c", NS):
                    f = c.find("m:f", NS)
                    if f is not None:
                        found.append((name, c.get("r"), f.text, c.find("m:v", NS)))
    return found


@pytest.fixture(scope="module")
def template_copies(tmp_path_factory, fake_server):
    """The template refreshed against the fake server, as an .xlsx and as an .xlsm."""
    from xl_fastmoss import FastMossClient, Settings
    from xl_fastmoss.fake_server import FAKE_API_KEY

    folder = tmp_path_factory.mktemp("copies")
    settings = Settings(api_key=FAKE_API_KEY, base_url=fake_server.base_url, cache_dir=folder / "cache")
    reports = {}
    with FastMossClient(settings) as client:
        for suffix in (".xlsx", ".xlsm"):
            output = folder / f"values{suffix}"
            reports[suffix] = refresh_workbook(TEMPLATE, output, client)
            assert reports[suffix].ok, reports[suffix].lines()
    return folder, reports


def test_every_formula_of_the_template_copy_carries_its_value(template_copies):
    folder, reports = template_copies
    copy = folder / "values.xlsx"
    cells = formula_cells(copy)
    assert len(cells) >= 10  # the stamps and the totals: every FM_ formula became values
    # A value, or the empty text of a formula that gives "" (Trends' IFERROR(...,"")), typed as text.
    assert all(v is not None and (v.text or v.getparent().get("t") == "str") for _, _, _, v in cells), [
        (p, r) for p, r, _, v in cells if v is None or not (v.text or v.getparent().get("t") == "str")]
    assert reports[".xlsx"].not_computed == []
    stamp = at(sheet_values(copy, "Read me"), "C4")
    assert stamp.startswith("Values as of ") and stamp.endswith("(xl-fastmoss refresh)")
    assert at(sheet_values(copy, "Daily"), "H7") == stamp
    markets = sheet_values(copy, "Markets")
    assert at(markets, "I7") == stamp
    for total, column in (("C21", 2), ("G21", 6), ("K21", 10), ("O21", 14), ("S21", 18)):
        shown = [markets[(r, column + 1)] for r in range(11, 21)]
        assert at(markets, total) == pytest.approx(sum(shown)) and sum(shown) > 0


def test_the_copy_has_no_button_that_runs_a_macro(template_copies):
    folder, reports = template_copies
    for suffix in (".xlsx", ".xlsm"):
        parts = PackageParts.from_path(folder / f"values{suffix}")
        drawings = [name for name in parts.order if name.startswith("xl/drawings/drawing")]
        assert drawings and not any(b"macro=" in parts.parts[name] for name in drawings)
        assert sum("button" in line for line in reports[suffix].removed) == 7
    charts = PackageParts.from_path(folder / "values.xlsx")
    assert sum(name.startswith("xl/charts/") for name in charts.order) == 5  # the charts stay


def test_an_xlsx_copy_of_the_xlsm_is_macro_free(template_copies):
    folder, reports = template_copies
    parts = PackageParts.from_path(folder / "values.xlsx")
    assert not any("vbaproject" in name.lower() for name in parts.order)
    assert all(rel.kind != "vbaProject" for rel in parts.relationships("xl/workbook.xml").values())
    types = parts.parts["[Content_Types].xml"].decode()
    assert "vbaProject" not in types and "macroEnabled" not in types
    assert parts.content_types()["xl/workbook.xml"] == XLSX_MAIN
    assert "the VBA project (an .xlsx holds no macros)" in reports[".xlsx"].removed
    # the .xlsm copy keeps the VBA project byte for byte
    with zipfile.ZipFile(folder / "values.xlsm") as copy, zipfile.ZipFile(TEMPLATE) as template:
        assert copy.read("xl/vbaProject.bin") == template.read("xl/vbaProject.bin")


@pytest.fixture
def chained(tmp_path):
    """Formulas over a table: a spill reference, another sheet, a chain, and one the engine lacks."""
    book = Workbook()
    daily = book.active
    daily.title = "Daily"
    daily["A3"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",5,"fields","rank,name,usd_gmv")'
    daily["E1"] = "=ROWS(A3#)"
    daily["E2"] = "=SUM(C4:C8)"
    daily["F2"] = "=E2*2"
    daily["G2"] = '=IF(E1>3,"long","short")&" table"'
    daily["H2"] = "=_xludf.MYMACRO(E2)"
    daily["E20"] = "=1+1"  # reads nothing that changed
    daily["E3"] = "=SUM(C:C)"  # a whole column: its used part is read
    summary = book.create_sheet("Summary")
    summary["A1"] = "=Daily!B4"
    summary["A2"] = "=COUNTA(Daily!B4:B8)"
    book.save(tmp_path / "chained.xlsx")
    return tmp_path / "chained.xlsx"


def test_formulas_over_a_table_get_their_values_and_what_cannot_be_computed_is_named(chained, tmp_path, client):
    output = tmp_path / "values.xlsx"
    report = refresh_workbook(chained, output, client)
    assert report.ok, report.lines()
    daily, summary = sheet_values(output, "Daily"), sheet_values(output, "Summary")
    gmv = [at(daily, f"C{r}") for r in range(4, 9)]
    assert at(daily, "E1") == 6
    assert at(daily, "E2") == pytest.approx(sum(gmv)) and at(daily, "F2") == pytest.approx(2 * sum(gmv))
    assert at(daily, "G2") == "long table"
    assert at(daily, "E20") == 2
    assert at(daily, "E3") == pytest.approx(sum(gmv))
    assert at(summary, "A1") == at(daily, "B4") and at(summary, "A2") == 5
    assert report.not_computed == [
        "Daily!H2: =_xludf.MYMACRO(E2) could not be computed (the formula engine has no function "
        "_xludf.MYMACRO); Excel computes it when the copy is opened for editing"]


def test_a_formula_computed_first_as_another_ones_input_gets_its_own_value_too(tmp_path, client):
    """E1 reads F1:F5 before they come up themselves (row by row): each of them is written all the same."""
    book = Workbook()
    daily = book.active
    daily.title = "Daily"
    daily["A3"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",5,"fields","rank,usd_gmv")'
    daily["E1"] = "=LARGE(F1:F5,1)"
    for row in range(1, 6):
        daily[f"F{row}"] = f"=B{row + 3}*2"
    book.save(tmp_path / "inputs-later.xlsx")
    output = tmp_path / "values.xlsx"
    assert refresh_workbook(tmp_path / "inputs-later.xlsx", output, client).ok
    values = sheet_values(output, "Daily")
    doubled = [at(values, f"B{row}") * 2 for row in range(4, 9)]
    assert [at(values, f"F{row}") for row in range(1, 6)] == pytest.approx(doubled)
    assert at(values, "E1") == pytest.approx(max(doubled))
    assert all(v is not None and v.text for _, ref, _, v in formula_cells(output) if ref.startswith("F"))


def test_the_command_line_names_what_was_not_computed_and_left_out(chained, tmp_path, fake_env):
    result = CliRunner().invoke(main, ["refresh", str(chained), "--output", str(tmp_path / "values.xlsx")])
    assert result.exit_code == 0, result.output
    assert "not computed: Daily!H2: =_xludf.MYMACRO(E2) could not be computed" in result.stdout


def test_the_demo_writes_an_xlsx_copy(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["FastMossDashboard-values.xlsx"]


@pytest.fixture
def with_data(tmp_path):
    """A dashboard with one FM_ table, and a sheet of data (error values, formulas) that reads no table.

    The whole file is deflated at level 1, so that a part compressed again (zipfile writes 6) would show.
    """
    book = Workbook()
    daily = book.active
    daily.title = "Daily"
    daily["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",3,"fields","rank,name")'
    daily["D1"] = "=Data!A1"
    daily["E1"] = "Top shops"
    data = book.create_sheet("Data")
    for row in range(1, 2001):
        data.append([row, f"shop {row % 17}", "#N/A", f"=A{row}*2"])
    path = tmp_path / "with-data.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        items = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    # As Excel saves them: the formulas with their values.
    items = [(name, re.sub(rb"<f>A(\d+)\*2</f><v></v>", lambda m: b"<f>A%s*2</f><v>%d</v>" % (
        m.group(1), 2 * int(m.group(1))), content)) for name, content in items]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in items:
            archive.writestr(name, content)
    return path


def stored(path, name):
    """(CRC, compressed bytes) of an entry as the zip stores it."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        header = file.read(30)
        file.seek(info.header_offset + 30 + int.from_bytes(header[26:28], "little")
                  + int.from_bytes(header[28:30], "little"))
        return info.CRC, file.read(info.compress_size)


def test_a_sheet_without_fm_formulas_is_copied_as_it_was_stored(with_data, tmp_path, client):
    output = tmp_path / "values.xlsx"
    report = refresh_workbook(with_data, output, client)
    assert report.ok, report.lines()
    assert stored(output, "xl/worksheets/sheet2.xml") == stored(with_data, "xl/worksheets/sheet2.xml")
    assert stored(output, "xl/styles.xml") == stored(with_data, "xl/styles.xml")
    assert stored(output, "xl/worksheets/sheet1.xml") != stored(with_data, "xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(output) as archive:
        assert archive.testzip() is None
    assert at(sheet_values(output, "Daily"), "A2") == 1 and at(sheet_values(output, "Data"), "D2000") == 4000


def test_the_workbook_is_opened_once_and_its_shared_strings_read_once(tmp_path, client, monkeypatch):
    from package_helpers import minimal_xlsx

    from xl_fastmoss.workbook.reader import WorkbookFile

    book = minimal_xlsx(tmp_path / "sst.xlsx", '<row r="1"><c r="A1"><f>FM_MOSTPROMOTED("US",14,"day","2026-04-01",'
                        '"rows",3,"fields","rank,name")</f></c><c r="Z1" t="s"><v>0</v></c></row>',
                        shared_strings=["<si><t>Top shops</t></si>"])
    opened, strings = [], []
    real_open, real_strings = WorkbookFile.open, WorkbookFile._read_shared_strings
    monkeypatch.setattr(WorkbookFile, "open", classmethod(lambda cls, path: opened.append(path) or real_open(path)))
    monkeypatch.setattr(WorkbookFile, "_read_shared_strings", lambda self: strings.append(1) or real_strings(self))
    output = tmp_path / "values.xlsx"
    assert refresh_workbook(book, output, client).ok
    assert len(opened) == 1 and len(strings) == 1
    assert at(sheet_values(output, "Data"), "Z1") == "Top shops" and at(sheet_values(output, "Data"), "A2") == 1


def test_a_malformed_row_in_a_sheet_being_edited_fails_the_copy_and_writes_nothing(tmp_path, client, server):
    from package_helpers import rewrite_zip

    book = Workbook()
    book.active.title = "Daily"
    book.active["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",3)'
    book.active["A900"] = 1
    path = tmp_path / "bad-row.xlsx"
    book.save(path)
    rewrite_zip(path, {"xl/worksheets/sheet1.xml": lambda old: old.replace(b"<v>1</v></c>", b"<v>1</c>")})
    from xl_fastmoss.errors import WorkbookFileError

    with pytest.raises(WorkbookFileError, match="the sheet Daily cannot be read"):
        refresh_workbook(path, tmp_path / "values.xlsx", client)
    assert not (tmp_path / "values.xlsx").exists() and server.call_count == 0
