"""The refresh macros (xl_fastmoss.macros) in the Excel model: by workbook, sheet, range and selection.

A small workbook typed as an analyst would (FM_ formulas entered through Formula2, an example of
one typed as text on a notes sheet) is opened in the model (tests/excel_model), which calculates
the FM_ cells through xlwings' own UDF code against the fake FastMoss server. The macros run
through RunPython, in a child process (Use UDF Server off) or in the UDF server; what is checked
is what the sheet then shows, and the calls the fake API received.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from excel_model import ExcelModel
from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.fake_server import FAKE_API_KEY, Fault
from xl_fastmoss.sheets.calls import read_call
from xl_fastmoss.sheets.functions import STALE_MARK
from xl_fastmoss.sheets.table import to_rows

MORNING = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai
DAY = "2026-04-01"
FORMULAS = {
    "Daily!A4": ("FM_MOSTPROMOTED", "US", 14, "day", DAY, "rows", 150),
    "Daily!P4": ("FM_MOSTPROMOTED", "GB", 14, "day", DAY),
    "Daily!AC4": ("FM_MOSTPROMOTED", "US", 14, "day", DAY, "rows", 20),
    "Weekly!A4": ("FM_TOPSELLING", "DE", 14, "week", "2026-13"),
}
EXAMPLE_AS_TEXT = '=FM_TOPSELLING("FR",14,"day","2026-03-30")'
UDF_SERVER = pytest.mark.parametrize("use_udf_server", [False, True], ids=["own-process", "udf-server"])


def _formula(function, *args) -> str:
    def literal(value):
        return f'"{value}"' if isinstance(value, str) else str(value)
    return f"={function}({','.join(literal(a) for a in args)})"


@pytest.fixture
def workbook(fake_env, tmp_path, monkeypatch, recent_periods):
    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    wb = Workbook()
    daily = wb.active
    daily.title = "Daily"
    daily["A2"], daily["B2"] = "Last refresh", "not yet"
    wb.create_sheet("Weekly")
    notes = wb.create_sheet("Notes")
    notes["A1"] = EXAMPLE_AS_TEXT
    notes["A1"].data_type = "s"  # an example typed as text: '=FM_...
    conf = wb.create_sheet("xlwings.conf")
    conf["A1"], conf["B1"] = "UDF Modules", "xl_fastmoss.udfs"
    conf["A2"], conf["B2"] = "Use UDF Server", False
    wb.defined_names["FM_LastRefresh"] = DefinedName("FM_LastRefresh", attr_text="Daily!$B$2")
    path = tmp_path / "book" / "Analysis.xlsx"
    path.parent.mkdir()
    wb.save(path)
    return path


@pytest.fixture
def excel(workbook, server):
    """The workbook open in a new Excel, its FM_ formulas typed in and their tables landed."""
    with time_machine.travel(MORNING, tick=True), ExcelModel() as model:
        book = model.open(workbook)
        for address, (function, *args) in FORMULAS.items():
            sheet, _, cell = address.partition("!")
            book.sheets[sheet][cell].formula2 = _formula(function, *args)
        model.wait_until_idle(60)
        yield model, book


def set_udf_server(book, on: bool) -> None:
    book.sheets["xlwings.conf"]["B2"].value = on


def run(excel, book, function: str = "main", argument: str = "") -> None:
    """RunPython "import xl_fastmoss.macros as m; m.<function>(...)", as a button's Sub would."""
    call = f"m.{function}({argument})"
    outcome = excel.run_python(book, f"import xlwings as xw;import xl_fastmoss.macros as m;{call}")
    assert outcome.message_box is None, outcome.message_box
    excel.wait_until_idle(60)


def answer(tmp_path, function, *args) -> list[list]:
    """The table the API answers now, as the sheet holds it (None is "", numbers are doubles)."""
    region, category, date_type, date_value, *options = args
    call = read_call(function, region, category, date_type, date_value, tuple(options))
    with FastMossClient(Settings.load(cache_dir=tmp_path / "independent")) as client:
        rows = to_rows(client.fetch(call.request, refresh=True), call.fields, call.headers)
    return [["" if v is None else float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row]
            for row in rows]


def tables(excel, book) -> dict[str, list[list]]:
    return {address: excel.table(book, address) for address in FORMULAS}


def report(excel, book) -> list[str]:
    sheet, lines = excel.sheet(book, "FastMoss refresh"), []
    while sheet.shown(len(lines) + 1, 1) is not None:
        lines.append(sheet.shown(len(lines) + 1, 1))
    return lines


# -- the workbook ----------------------------------------------------------------------------------

@UDF_SERVER
def test_a_refresh_asks_each_page_once_and_every_table_shows_the_new_data(excel, server, tmp_path, use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    before = tables(excel, book)
    server.revision += 1
    server.reset_calls()
    run(excel, book, "main", "")
    # US: two pages for 150 rows, shared with the 20-row table; GB and DE one page each. The
    # recalculated cells read the pages the refresh fetched: no call of their own.
    assert server.call_count == 4
    assert excel.shown(book, "Daily!B2").startswith("Refreshed 4 FastMoss tables at 2026-04-02 ")
    for address, (function, *args) in FORMULAS.items():
        now = answer(tmp_path, function, *args)
        assert now != before[address]
        assert excel.table(book, address) == now, address


@UDF_SERVER
def test_text_that_looks_like_an_fm_formula_is_not_refreshed(excel, server, use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    server.reset_calls()
    run(excel, book)
    assert not any(call.body["filter"].get("region") == "FR" for call in server.calls)
    assert "FastMoss refresh" not in [s.name for s in book.sheets]  # nothing failed, nothing refused
    assert excel.shown(book, "Notes!A1") == EXAMPLE_AS_TEXT


@UDF_SERVER
def test_a_failed_table_keeps_its_last_data_marked_stale_and_is_reported(excel, server, tmp_path, use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    last = excel.table(book, "Daily!A4")
    server.revision += 1
    server.inject(Fault.HTTP_STATUS, status=503, page=2, times=100)  # only the 150-row table has a page 2
    run(excel, book)
    shown = excel.table(book, "Daily!A4")
    assert shown[1:] == last[1:] and shown[0][1:] == last[0][1:]
    assert shown[0][0].startswith("Rank" + STALE_MARK + "data as of 2026-04-02 ") and "HTTP 503" in shown[0][0]
    assert excel.table(book, "Daily!P4") == answer(tmp_path, *FORMULAS["Daily!P4"])  # the others refreshed
    # The 20-row US table is the same query: it too failed, and keeps its last 20 rows.
    assert excel.table(book, "Daily!AC4")[1:] == last[1:21] and STALE_MARK in excel.table(book, "Daily!AC4")[0][0]
    lines = report(excel, book)
    assert lines[0].startswith("Refreshed 4 FastMoss tables at ") and "; 2 failed" in lines[0]
    assert [line.split(": ", 1)[0] for line in lines[1:]] == ["Daily!A4", "Daily!AC4"]
    assert all(line.endswith("FastMoss: FastMoss server error (HTTP 503)") for line in lines[1:]), lines
    record = (tmp_path / "cache" / "refreshes.json").read_text()
    assert "HTTP 503" in record and FAKE_API_KEY not in record


# -- a sheet, a range, the selection ---------------------------------------------------------------------

@UDF_SERVER
def test_refreshing_the_active_sheet_refreshes_its_tables_only(excel, server, tmp_path, use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    before = tables(excel, book)
    server.revision += 1
    server.reset_calls()
    excel.select(book, "Weekly!C3")
    run(excel, book, "main_active_sheet")
    assert server.call_count == 1
    assert excel.table(book, "Weekly!A4") == answer(tmp_path, *FORMULAS["Weekly!A4"])
    assert {a: t for a, t in tables(excel, book).items() if a != "Weekly!A4"} == {
        a: t for a, t in before.items() if a != "Weekly!A4"}
    assert excel.shown(book, "Daily!B2").startswith("Refreshed 1 FastMoss table of the sheet Weekly at ")


@UDF_SERVER
def test_refreshing_the_selection_refreshes_the_tables_it_touches(excel, server, tmp_path, use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    before = tables(excel, book)
    server.revision += 1
    server.reset_calls()
    excel.select(book, "Daily!Q7,AD4")  # a cell inside GB's table, and the 20-row US table's anchor
    run(excel, book, "main_selection")
    assert server.call_count == 2  # GB's page and US's first page: 20 rows ask for one
    refreshed = {"Daily!P4", "Daily!AC4"}
    for address in refreshed:
        assert excel.table(book, address) == answer(tmp_path, *FORMULAS[address]), address
    assert {a: t for a, t in tables(excel, book).items() if a not in refreshed} == {
        a: t for a, t in before.items() if a not in refreshed}
    assert excel.shown(book, "Daily!B2").startswith("Refreshed 2 FastMoss tables of Daily!Q7,AD4 at ")


def test_refresh_range_is_a_plain_function_of_an_xlwings_range(excel, server, tmp_path):
    excel, book = excel
    server.revision += 1
    server.reset_calls()
    assert xl_macros().refresh_range(book.sheets["Daily"]["P4:P5"]) == []
    excel.wait_until_idle(60)
    assert server.call_count == 1
    assert excel.table(book, "Daily!P4") == answer(tmp_path, *FORMULAS["Daily!P4"])


@UDF_SERVER
def test_a_selection_without_a_table_refreshes_nothing_and_says_so(excel, server, use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    server.reset_calls()
    excel.select(book, "Weekly!Z50")
    run(excel, book, "main_selection")
    assert server.call_count == 0
    assert excel.shown(book, "Daily!B2") == "not yet"
    assert report(excel, book) == ["No FastMoss table of Weekly!Z50: nothing was refreshed"]


def xl_macros():
    from xl_fastmoss import macros

    return macros


# -- the estimate before spending ------------------------------------------------------------------------

def confirm_above(monkeypatch, calls: int) -> None:
    """FASTMOSS_CONFIRM_CALLS for the refresh, in this process (the UDF server) and its children."""
    from xl_fastmoss.client import reset_default_client

    monkeypatch.setenv("FASTMOSS_CONFIRM_CALLS", str(calls))
    reset_default_client()


def confirmations(excel) -> list:
    return [d for d in excel.dialogs if d.title == "FastMoss refresh"]


@UDF_SERVER
def test_a_refresh_above_the_threshold_shows_its_estimate_and_cancel_fetches_nothing(excel, server, monkeypatch,
                                                                                    use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    confirm_above(monkeypatch, 3)
    before = tables(excel, book)
    server.revision += 1
    server.reset_calls()
    excel.click_in_message_box("cancel")
    run(excel, book)
    (asked,) = confirmations(excel)
    assert asked.text.startswith("This refresh will make about 4 API calls (400 rows) for 3 queries; ")
    assert "above 3 calls" in asked.text
    assert server.call_count == 0 and tables(excel, book) == before
    assert excel.shown(book, "Daily!B2") == "not yet"


@UDF_SERVER
def test_a_refresh_above_the_threshold_goes_on_when_the_analyst_clicks_ok(excel, server, tmp_path, monkeypatch,
                                                                          use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    confirm_above(monkeypatch, 3)
    server.revision += 1
    server.reset_calls()
    excel.click_in_message_box("ok")
    run(excel, book)
    assert len(confirmations(excel)) == 1 and server.call_count == 4
    assert excel.table(book, "Daily!P4") == answer(tmp_path, *FORMULAS["Daily!P4"])


@UDF_SERVER
def test_a_refresh_within_the_threshold_asks_nothing(excel, server, monkeypatch, use_udf_server):
    excel, book = excel
    set_udf_server(book, use_udf_server)
    confirm_above(monkeypatch, 4)  # the whole workbook is 4 calls: not above
    server.revision += 1
    server.reset_calls()
    run(excel, book)  # an OK / Cancel box nobody scripted a click for would fail the model
    assert confirmations(excel) == [] and server.call_count == 4


@pytest.mark.parametrize(("budget", "left_text"), [(6, "2 calls are"), (5, "1 call is")])
def test_a_refresh_beyond_what_is_left_of_the_budget_asks_even_below_the_threshold(
        excel, server, monkeypatch, budget, left_text):
    excel, book = excel
    set_udf_server(book, True)  # in this process, on the morning the cells were calculated
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", str(budget))  # the cells took 4 of them on opening
    confirm_above(monkeypatch, 50)
    server.revision += 1
    server.reset_calls()
    excel.click_in_message_box("ok")
    run(excel, book)
    (asked,) = confirmations(excel)
    assert f"Only {left_text} left of today's budget of {budget}: calls past a budget are refused" in asked.text
    assert server.call_count == budget - 4
    lines = report(excel, book)
    assert "failed" in lines[0] and any(f"the daily budget of {budget} calls is used up" in line for line in lines[1:])
