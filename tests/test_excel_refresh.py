"""What an analyst sees in the dashboard template after clicking "Refresh FastMoss data".

The template runs in the Excel model (tests/excel_model) against the fake FastMoss server: the
FM_ cells are calculated through xlwings' own UDF code, the button runs the template's
SampleCall through RunPython, in a child process (Use UDF Server off) or in the UDF server.
Expected tables are what the API answers now, fetched by an independent client.

The clock seam is time-machine: the test process (the fake server's vendor day, the client's
"latest") travels to a fixed instant, and a RunPython child starts at the parent's "now".
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import time_machine
from excel_model import SPILL, ExcelModel

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.sheets.calls import read_call
from xl_fastmoss.sheets.formulas import CellRef, Literal, Missing, parse_formula
from xl_fastmoss.sheets.functions import STALE_MARK
from xl_fastmoss.sheets.table import to_rows

TEMPLATE = Path(__file__).resolve().parent.parent / "xl_fastmoss" / "templates"
ANCHORS = ("Daily!A10", "Weekly!A10", "Monthly!A10", "Markets!A10", "Markets!E10", "Markets!I10",
           "Markets!M10", "Markets!Q10", "Shop rankings!A11", "Shop rankings!F11", "Shop rankings!K11")
STATUS = "Read me!E4"
# 10:00 in Shanghai on a Thursday: "latest" day is 2026-04-01.
MORNING = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.timezone.utc)

UDF_SERVER = pytest.mark.parametrize("use_udf_server", [False, True], ids=["own-process", "udf-server"])


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=True) as traveller:
        yield traveller


@pytest.fixture
def open_dashboard(fake_env, clock, tmp_path, monkeypatch, recent_periods):
    """Opens the template, copied with its Python module, in a new Excel; its FM_ tables landed."""
    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    folder = tmp_path / "dashboard"
    folder.mkdir()
    for name in ("FastMossDashboard.xlsm", "FastMossDashboard.py"):
        shutil.copy(TEMPLATE / name, folder / name)
    opened = []

    def open_it():
        excel = ExcelModel()
        opened.append(excel)
        book = excel.open(folder / "FastMossDashboard.xlsm")
        excel.wait_until_idle(60)
        return excel, book

    yield open_it
    for excel in opened:
        excel.close()


@pytest.fixture
def dashboard(open_dashboard):
    return open_dashboard()


def set_udf_server(book, on: bool) -> None:
    book.sheets["xlwings.conf"]["B3"].value = on


def click_refresh(excel, book):
    outcome = excel.click(book)
    assert outcome.message_box is None, outcome.message_box
    excel.wait_until_idle(60)
    return outcome


def api_answer(excel, book, anchor: str, tmp_path) -> list[list]:
    """The table the API answers now for the anchor's formula, as Excel holds it (None is "")."""
    sheet_name, _, cell = anchor.rpartition("!")
    scan = parse_formula(excel.sheet(book, sheet_name).cells[_cell(cell)].formula)
    args = []
    for arg in scan.call.args:
        if isinstance(arg, Literal):
            args.append(arg.value)
        elif isinstance(arg, Missing):
            args.append(None)
        else:
            assert isinstance(arg, CellRef)
            args.append(excel.shown(book, f"{arg.sheet or sheet_name}!{arg.ref.replace('$', '')}"))
    args += [None] * (4 - len(args))
    call = read_call(scan.call.function, *args[:4], args[4:])
    with FastMossClient(Settings.load(cache_dir=tmp_path / "independent-client")) as client:
        rows = to_rows(client.fetch(call.request, refresh=True), call.fields, call.headers)
    return [["" if v is None else float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row]
            for row in rows]


def _cell(text):
    from excel_model.formula import parse_cell
    return parse_cell(text)


def shown_tables(excel, book):
    return {anchor: excel.table(book, anchor) for anchor in ANCHORS}


def report_lines(excel, book) -> list[str]:
    sheet, lines = excel.sheet(book, "FastMoss refresh"), []
    while sheet.shown(len(lines) + 1, 1) is not None:
        lines.append(sheet.shown(len(lines) + 1, 1))
    return lines


def status(excel, book) -> dict:
    return {row[0]: row[1] for row in excel.table(book, STATUS)}


# -- the button ----------------------------------------------------------------------------------

@UDF_SERVER
def test_after_the_data_moved_on_the_button_shows_the_new_data_in_every_table(dashboard, server, tmp_path,
                                                                                use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    before = shown_tables(excel, book)
    server.revision += 1
    click_refresh(excel, book)
    for anchor in ANCHORS:
        now = api_answer(excel, book, anchor, tmp_path)
        assert now != before[anchor], f"{anchor}: the fake API's data did not move on"
        shown = excel.table(book, anchor)
        assert shown == now, f"{anchor} shows {'its old data' if shown == before[anchor] else shown}"


@UDF_SERVER
def test_a_latest_table_shows_the_new_day_after_the_vendor_day_moved_on(dashboard, clock, tmp_path, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    yesterday = excel.table(book, "Daily!A10")
    clock.shift(dt.timedelta(days=1))
    click_refresh(excel, book)
    today = api_answer(excel, book, "Daily!A10", tmp_path)  # "latest" is now 2026-04-02
    assert today != yesterday
    shown = excel.table(book, "Daily!A10")
    assert shown == today, "it shows the previous day" if shown == yesterday else shown


@UDF_SERVER
def test_the_button_stamps_when_it_refreshed(dashboard, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    click_refresh(excel, book)
    assert excel.shown(book, "Read me!C4").startswith("Refreshed 13 FastMoss tables at 2026-04-02 ")
    assert excel.shown(book, "Daily!H7") == excel.shown(book, "Read me!C4")  # the formulas showing it follow


@UDF_SERVER
def test_a_refresh_where_nothing_failed_reports_no_failure(dashboard, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    click_refresh(excel, book)
    assert "failed" not in excel.shown(book, "Read me!C4")
    assert "FastMoss refresh" not in [s.name for s in book.sheets]


# -- FM_STATUS -----------------------------------------------------------------------------------

def test_fm_status_counts_the_calls_of_the_tables_shown_on_opening(dashboard, server):
    excel, book = dashboard
    book.sheets["Read me"]["E4"].formula2 = "=FM_STATUS()"
    shown = status(excel, book)
    assert shown["API key"] == "configured" and shown["Stale tables"] == 0
    assert shown["API calls this session"] == server.call_count


@UDF_SERVER
def test_fm_status_counts_the_calls_of_the_refresh(dashboard, server, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    book.sheets["Read me"]["E4"].formula2 = "=FM_STATUS()"
    server.revision += 1
    click_refresh(excel, book)
    shown = status(excel, book)
    assert shown["API calls this session"] == server.call_count
    assert shown["Stale tables"] == 0


@UDF_SERVER
def test_the_refresh_record_holds_the_calls_made_in_another_process(dashboard, server, use_udf_server):
    """How FM_STATUS counts a refresh that ran in its own process: its calls are in the record."""
    from xl_fastmoss.client import default_client

    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    book.sheets["Read me"]["E4"].formula2 = "=FM_STATUS()"
    opened = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    server.revision += 1
    click_refresh(excel, book)
    shown = status(excel, book)["API calls this session"]
    client = default_client()
    elsewhere = client.refresh_record.api_calls_elsewhere(since=opened)
    assert client.stats.api_calls + elsewhere == shown == server.call_count
    assert (elsewhere > 0) is not use_udf_server


# -- a failed fetch ------------------------------------------------------------------------------

def _fail_daily_on_refresh(excel, book, server):
    """Daily asks for 150 rows (two pages); every later page-2 call fails."""
    book.sheets["Daily"]["B7"].value = 150
    excel.wait_until_idle(60)
    server.inject(Fault.HTTP_STATUS, status=503, page=2, times=100)


@UDF_SERVER
def test_a_failed_table_is_listed_on_the_refresh_sheet(dashboard, server, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    _fail_daily_on_refresh(excel, book, server)
    click_refresh(excel, book)
    report = report_lines(excel, book)
    assert any(line.startswith("Daily!A10: ") and "HTTP 503" in line for line in report), report
    assert "failed" in excel.shown(book, "Read me!C4")


@UDF_SERVER
def test_a_failed_table_keeps_its_last_data_marked_stale(dashboard, server, tmp_path, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    book.sheets["Read me"]["E4"].formula2 = "=FM_STATUS()"
    _fail_daily_on_refresh(excel, book, server)
    last = excel.table(book, "Daily!A10")
    server.revision += 1
    click_refresh(excel, book)
    shown = excel.table(book, "Daily!A10")
    assert shown[1:] == last[1:] and shown[0][1:] == last[0][1:]  # the last data, in the same cells
    assert shown[0][0].startswith("Rank" + STALE_MARK + "data as of ") and "HTTP 503" in shown[0][0]
    assert excel.table(book, "Weekly!A10") == api_answer(excel, book, "Weekly!A10", tmp_path)  # the others moved on
    listed = status(excel, book)
    # Trends' movers read the same ranking (its first 100 rows): the refresh fetched the ranking
    # once, to Daily's 150 rows, so its failure leaves both tables on their last data.
    assert listed["Stale tables"] == 2
    assert "HTTP 503" in listed["Stale: most_promoted, US, category 14, day 2026-04-01"]
    assert "HTTP 503" in listed["Stale: most_promoted, US, category 14, day 2026-04-01, compared with day 2026-03-31"]


# -- #SPILL! ---------------------------------------------------------------------------------------
# Every table of the template, in every state it can be in, spills where it did when fresh: a state
# that needs a row or a column more would run into what is below or beside it (the Markets totals,
# the next table) and show #SPILL!.

INPUTS = {  # sheet: (period input, a period no cache holds, rows input or None)
    "Daily": ("B6", "2026-02-27", "B7"), "Weekly": ("B6", "2026-12", "B7"), "Monthly": ("B6", "2026-02", "B7"),
    "Markets": ("C6", "2026-02-27", None), "Shop rankings": ("C7", "2026-02-27", None),
}


def _shapes(tables):
    return {anchor: (len(table), len(table[0])) for anchor, table in tables.items()}


def _no_spill_error(excel, book):
    return {anchor: excel.shown(book, anchor) for anchor in ANCHORS if excel.shown(book, anchor) == SPILL}


def test_no_table_shows_spill_when_fresh(dashboard):
    excel, book = dashboard
    assert _no_spill_error(excel, book) == {}
    for anchor, table in shown_tables(excel, book).items():
        rows = 20 if anchor.split("!")[0] in ("Daily", "Weekly", "Monthly") else 10  # the inputs' defaults
        assert table[0][0] == "Rank" and len(table) == rows + 1, anchor


def test_no_table_shows_spill_when_the_api_refuses(dashboard, server):
    excel, book = dashboard
    server.inject(Fault.API_CODE, code=30001, times=1000)
    # Periods no cache holds (Trends' history holds the 30 days to 2026-04-01): each table asks the API.
    for sheet, (period, uncached, _) in INPUTS.items():
        book.sheets[sheet][period].value = uncached
    excel.wait_until_idle(60)
    for anchor, table in shown_tables(excel, book).items():
        assert len(table) == 1 and len(table[0]) == 1 and "code 30001" in table[0][0], anchor
    assert _no_spill_error(excel, book) == {}


def test_no_table_shows_spill_when_stale(open_dashboard, server, clock, monkeypatch):
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "3600")  # answers are kept an hour
    excel, book = open_dashboard()
    fresh = shown_tables(excel, book)
    clock.shift(dt.timedelta(hours=2))  # they expired, the same vendor day
    server.inject(Fault.HTTP_STATUS, status=503, times=1000)
    excel.api.CalculateFull()  # Ctrl+Alt+F9: every FM_ cell asks again and gets its stale copy
    excel.wait_until_idle(60)
    stale = shown_tables(excel, book)
    assert _no_spill_error(excel, book) == {}
    assert _shapes(stale) == _shapes(fresh)
    for anchor, table in stale.items():
        assert table[0][0].startswith("Rank" + STALE_MARK) and "HTTP 503" in table[0][0], anchor
        assert table[1:] == fresh[anchor][1:], anchor
    assert excel.shown(book, "Markets!C21") == sum(row[2] for row in stale["Markets!A10"][1:])  # the totals row


def test_no_table_shows_spill_when_stale_after_a_refresh(dashboard, server):
    excel, book = dashboard
    fresh = shown_tables(excel, book)
    server.revision += 1
    server.inject(Fault.HTTP_STATUS, status=503, times=1000)
    click_refresh(excel, book)
    stale = shown_tables(excel, book)
    assert _no_spill_error(excel, book) == {}
    assert _shapes(stale) == _shapes(fresh)
    assert all(STALE_MARK in table[0][0] for table in stale.values())


def test_no_table_shows_spill_at_the_largest_rows_its_input_allows(dashboard):
    from openpyxl import load_workbook

    excel, book = dashboard
    template = load_workbook(TEMPLATE / "FastMossDashboard.xlsm", keep_vba=True)
    for sheet, (_, _, rows) in INPUTS.items():
        if rows is None:
            continue  # Markets and Shop rankings ask for 10 rows in the formula itself
        (rule,) = [dv for dv in template[sheet].data_validations.dataValidation if rows in str(dv.sqref).split()]
        book.sheets[sheet][rows].value = int(rule.formula2)  # the most the input's validation allows
    excel.wait_until_idle(60)
    assert len(excel.table(book, "Daily!A10")) == 501
    assert _no_spill_error(excel, book) == {}


# -- by scope, through the template's module ------------------------------------------------------------

@UDF_SERVER
def test_the_active_sheet_alone_is_refreshed(dashboard, server, tmp_path, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    before = shown_tables(excel, book)
    server.revision += 1
    excel.select(book, "Markets!B2")
    outcome = excel.run_python(book, "import FastMossDashboard;FastMossDashboard.refresh_active_sheet()")
    assert outcome.message_box is None, outcome.message_box
    excel.wait_until_idle(60)
    for anchor in ANCHORS:
        expected = api_answer(excel, book, anchor, tmp_path) if anchor.startswith("Markets!") else before[anchor]
        assert excel.table(book, anchor) == expected, anchor
    assert excel.shown(book, "Read me!C4").startswith("Refreshed 5 FastMoss tables of the sheet Markets at ")


@UDF_SERVER
def test_the_tables_the_selection_touches_alone_are_refreshed(dashboard, server, tmp_path, use_udf_server):
    excel, book = dashboard
    set_udf_server(book, use_udf_server)
    before = shown_tables(excel, book)
    server.revision += 1
    server.reset_calls()
    excel.select(book, "Shop rankings!G14:H15")  # rows of the Top selling table
    outcome = excel.run_python(book, "import FastMossDashboard;FastMossDashboard.refresh_selection()")
    assert outcome.message_box is None, outcome.message_box
    excel.wait_until_idle(60)
    assert server.call_count == 1
    for anchor in ANCHORS:
        expected = api_answer(excel, book, anchor, tmp_path) if anchor == "Shop rankings!F11" else before[anchor]
        assert excel.table(book, anchor) == expected, anchor


# -- Trends: a history, a comparison and the formulas over it ----------------------------------------

def library_answer(excel, book, anchor: str, tmp_path) -> list[list]:
    """What the library answers for any FM_ table's formula, its cell arguments read from Excel."""
    from xl_fastmoss.sheets.calls import read_fm_call
    from xl_fastmoss.sheets.plan import fetch_call

    sheet_name, _, cell = anchor.rpartition("!")
    scan = parse_formula(excel.sheet(book, sheet_name).cells[_cell(cell)].formula)
    args = [arg.value if isinstance(arg, Literal) else None if isinstance(arg, Missing)
            else excel.shown(book, f"{arg.sheet or sheet_name}!{arg.ref.replace('$', '')}") for arg in scan.call.args]
    call = read_fm_call(scan.call.function, args)
    with FastMossClient(Settings.load(cache_dir=tmp_path / "independent-client")) as client:
        rows = call.rows(fetch_call(client, call))
    return [["" if v is None else float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row]
            for row in rows]


def test_trends_shows_the_shops_history_the_days_movers_and_its_biggest_climbers(dashboard, tmp_path):
    excel, book = dashboard
    history = excel.table(book, "Trends!A12")
    assert history == library_answer(excel, book, "Trends!A12", tmp_path)
    assert [row[0] for row in history[1:]][::29] == ["2026-03-03", "2026-04-01"] and len(history) == 31
    movers = excel.table(book, "Trends!A46")
    assert movers == library_answer(excel, book, "Trends!A46", tmp_path)
    assert movers[0] == ["Rank", "Shop", "Previous rank", "Rank change", "New"]
    climbs = sorted(((row[3], -row[0]) for row in movers[1:] if isinstance(row[3], float) and row[3] > 0),
                    reverse=True)
    assert len(climbs) >= 5  # the day's movers hold climbers to pick out
    top = [[excel.shown(book, f"Trends!{col}{row}") for col in "HIJ"] for row in range(47, 47 + len(climbs[:10]))]
    assert top == [[-rank, next(r[1] for r in movers if r[0] == -rank), change] for change, rank in climbs[:10]]
    assert excel.shown(book, "Trends!J71") == sum(1.0 for row in movers[1:] if row[4] is True)
