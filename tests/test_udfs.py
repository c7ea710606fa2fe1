"""The Excel functions: what a cell shows, and the VBA wrappers xlwings would import into Excel."""

import importlib
import io
import sys
import types

import pytest

from xl_fastmoss.fake_server import Fault

DAY = "2026-04-01"


@pytest.fixture
def udfs(fake_env):
    import xl_fastmoss.udfs as module

    return module


# -- what a cell shows ---------------------------------------------------------------------

def test_fm_mostpromoted_returns_a_rectangle_with_labels_and_typed_cells(udfs, server):
    table = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    assert len(table) == 11 and {len(row) for row in table} == {13}
    assert table[0] == ["Rank", "Shop", "Seller ID", "Region", "New creators", "Total creators", "Products sold",
                        "Units sold", "GMV (local)", "Currency", "GMV (USD)", "Units growth", "GMV growth"]
    assert table[1] == [1, "LOOKFANTASTIC", "7494006325298104216", "GB", 55, 47691, 252, 984, 24915.88, "GBP",
                        30895.69, 0.288, 0.4339]
    assert all(isinstance(row[2], str) and len(row[2]) == 19 for row in table[1:])
    assert server.call_count == 1


def test_blank_growth_rates_are_empty_cells(udfs):
    table = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 500)
    rates = [row[11] for row in table[1:]] + [row[12] for row in table[1:]]
    assert None in rates and all(r is None or isinstance(r, float) for r in rates)
    assert not any(isinstance(v, float) and v != v for row in table for v in row)  # no NaN reaches a cell


def test_options_choose_rows_fields_and_headers(udfs):
    table = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 3, "fields", "rank,seller_id,gmv_inc_rate",
                                 "headers=FALSE")
    assert table == [[1, "7494006325298104216", 0.4339], [2, table[1][1], table[1][2]], [3, table[2][1], table[2][2]]]


def test_excel_dates_and_empty_cells_are_accepted(udfs, server):
    import datetime as dt

    table = udfs.FM_MOSTPROMOTED(None, None, "week", dt.datetime(2026, 3, 30))
    assert len(table) == 11
    assert server.calls[-1].body["filter"] == {"date_info": {"type": "week", "value": "2026-14"}}


def test_a_recalculation_costs_no_call(udfs, server):
    udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 200)
    udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 200)
    udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 50)
    assert server.call_count == 2


@pytest.mark.parametrize("args, text", [
    (("XX", 14, "day", DAY), "FastMoss: region: 'XX' is not allowed"),
    (("US", 14, "year", DAY), "FastMoss: date_type: 'year' is not allowed; use day, week or month"),
    (("US", 14, "day", DAY, "colour", "red"), "FastMoss: option: 'colour' is not allowed"),
    (("US", 14, "day", "2099-01-01"), "not completed yet"),
])
def test_a_bad_argument_is_one_readable_cell_and_no_call(udfs, server, args, text):
    result = udfs.FM_MOSTPROMOTED(*args)
    assert len(result) == 1 and len(result[0]) == 1 and text in result[0][0]
    assert server.call_count == 0


def test_no_key_tells_the_user_how_to_set_one(server, monkeypatch):
    monkeypatch.setenv("FASTMOSS_BASE_URL", server.base_url)
    import xl_fastmoss.udfs as udfs

    result = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    assert result == [["FastMoss: no API key. Run `xl-fastmoss config --set-key` in a terminal "
                       "(or set FASTMOSS_API_KEY), then recalculate"]]


def test_an_api_error_names_the_cause_and_request_id(udfs, server):
    server.inject(Fault.API_CODE, code=30001)
    [[text]] = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    assert text.startswith("FastMoss: FastMoss denied permission (code 30001)") and "request_id" in text


def test_an_empty_period_is_one_cell_saying_so(udfs, server):
    server.inject(Fault.EMPTY_LIST)
    [[text]] = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    assert text.startswith("No data yet for most_promoted, US, category 14, day 2026-04-01")


@pytest.mark.usefixtures("recent_periods")
def test_a_failed_fetch_shows_the_older_table_marked_stale(fake_env, monkeypatch):
    import time

    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "0.5")
    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    import xl_fastmoss.udfs as udfs

    fresh = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    time.sleep(0.6)  # the cached copy is now past its time-to-live
    fake_env.inject(Fault.HTTP_STATUS, status=503, times=5)
    shown = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    assert len(shown) == len(fresh) and shown[1:] == fresh[1:] and shown[0][1:] == fresh[0][1:]  # no row more
    assert shown[0][0].startswith("Rank (stale: data as of ")
    assert shown[0][0].endswith("; the refresh failed: FastMoss server error (HTTP 503))")
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert status["Stale tables"] == 1
    assert "HTTP 503" in status["Stale: most_promoted, US, category 14, day 2026-04-01"]


@pytest.mark.usefixtures("recent_periods")
def test_a_stale_table_without_headers_keeps_its_shape_and_fm_status_lists_it(fake_env, monkeypatch):
    import time

    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "0.5")
    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    import xl_fastmoss.udfs as udfs

    fresh = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "headers", False)
    time.sleep(0.6)
    fake_env.inject(Fault.HTTP_STATUS, status=503, times=5)
    assert udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "headers", False) == fresh  # no cell to spare for a mark
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert status["Stale tables"] == 1


def test_fm_status_reports_key_calls_and_fetch_time(udfs, server):
    udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 150)
    udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 150)
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert status["API key"] == "configured"
    assert status["API calls this session"] == 2
    assert status["Tables from memory"] >= 1
    assert status["Newest data shown (UTC)"] != "none yet"


# -- the wrappers Excel imports --------------------------------------------------------------

@pytest.fixture
def real_xlwings_decorators(monkeypatch):
    """xlwings' Windows decorators in place of the no-op ones it uses off Windows."""
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = type("com_error", (Exception,), {})
    win32com = types.ModuleType("win32com")
    win32com_client = types.ModuleType("win32com.client")
    win32com_client.Dispatch = lambda *a, **k: None
    win32com.client = win32com_client
    for name, module in [("pythoncom", pythoncom), ("pywintypes", pywintypes), ("win32com", win32com),
                         ("win32com.client", win32com_client)]:
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "xlwings.udfs", raising=False)
    xlwings_udfs = importlib.import_module("xlwings.udfs")
    import xlwings as xw

    for name, real in [("func", xlwings_udfs.xlfunc), ("arg", xlwings_udfs.xlarg), ("ret", xlwings_udfs.xlret),
                       ("sub", xlwings_udfs.xlsub)]:
        monkeypatch.setattr(xw, name, real)
    monkeypatch.delitem(sys.modules, "xl_fastmoss.udfs", raising=False)
    module = importlib.import_module("xl_fastmoss.udfs")
    yield xlwings_udfs, module
    sys.modules.pop("xl_fastmoss.udfs", None)


def test_the_functions_carry_real_xlwings_metadata(real_xlwings_decorators):
    _, module = real_xlwings_decorators
    info = module.FM_MOSTPROMOTED.__xlfunc__
    assert info["async_mode"] == "threading" and info["volatile"] is False
    assert [a["name"] for a in info["args"]] == ["region", "category_id", "date_type", "date_value", "options"]
    assert info["args"][4]["vararg"] is True
    assert all(not a["doc"].startswith("Positional argument") for a in info["args"])
    assert info["ret"]["doc"].startswith("TikTok Shop shops ranked by creators")
    assert "expand" not in info["ret"]["options"]  # Excel 365 spills by itself
    assert module.FM_STATUS.__xlfunc__["volatile"] is True


def test_the_generated_vba_wrappers_are_what_excel_imports(real_xlwings_decorators):
    xlwings_udfs, module = real_xlwings_decorators
    buffer = io.StringIO()
    workbook = types.SimpleNamespace(Name="FastMossDashboard.xlsm")
    xlwings_udfs.generate_vba_wrapper("xl_fastmoss.udfs", module, buffer, workbook)
    vba = buffer.getvalue()
    for name in ("FM_MOSTPROMOTED", "FM_TOPSELLING", "FM_FULLYMANAGED", "FM_STATUS"):
        assert f"Function {name}(" in vba
    assert "Function FM_MOSTPROMOTED(region, category_id, date_type, date_value, ParamArray options())" in vba
    assert "Application.Volatile" in vba.split("Function FM_STATUS(")[1].split("End Function")[0]
    assert "Application.Volatile" not in vba.split("Function FM_MOSTPROMOTED(")[1].split("End Function")[0]
    assert 'Py.CallUDF("xl_fastmoss.udfs", "FM_MOSTPROMOTED"' in vba
    assert "ThisWorkbook" in vba


def test_the_insert_function_dialog_does_not_run_a_paid_ranking(real_xlwings_decorators):
    """xlwings' guard for call_in_wizard=False leaves the wrapper before it calls Python (udfs.py:629-633)."""
    xlwings_udfs, module = real_xlwings_decorators
    buffer = io.StringIO()
    xlwings_udfs.generate_vba_wrapper("xl_fastmoss.udfs", module, buffer, types.SimpleNamespace(Name="Book.xlsm"))
    vba = buffer.getvalue()
    guard = 'If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function'
    for name in ("FM_MOSTPROMOTED", "FM_TOPSELLING", "FM_FULLYMANAGED"):  # every function that calls the API
        body = vba.split(f"Function {name}(")[1].split("End Function")[0]
        assert body.index(guard) < body.index("XLPy.CallUDF"), name
        assert getattr(module, name).__xlfunc__["call_in_wizard"] is False
    # FM_STATUS makes no call: the dialog may show it.
    assert guard not in vba.split("Function FM_STATUS(")[1].split("End Function")[0]


def test_importing_the_udf_module_loads_nothing_heavy_it_does_not_need_yet():
    """Excel waits for this import on the first call of a session; caches and workbooks load later."""
    import subprocess
    import sys

    code = ("import sys, xl_fastmoss.udfs; "
            "print(sorted(m for m in ('requests_cache', 'redis', 'openpyxl', 'lxml', 'xl_fastmoss.fake_server') "
            "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


# -- FM_HISTORY and the compare option ------------------------------------------------------------

def _top_seller(udfs, day):
    return udfs.FM_MOSTPROMOTED("US", 14, "day", day, "rows", 1, "fields", "seller_id", "headers", False)[0][0]


def test_fm_history_spills_a_header_and_one_row_per_period(udfs, server):
    shop = _top_seller(udfs, "2026-05-12")
    table = udfs.FM_HISTORY(shop, "US", 14.0, "day", "2026-05-06", "2026-05-12", "fields",
                            "date_value,rank,name,usd_gmv,note")
    assert table[0] == ["Period", "Rank", "Shop", "GMV (USD)", "Note"]
    assert [row[0] for row in table[1:]] == [f"2026-05-{d:02d}" for d in range(6, 13)]
    assert table[-1][1] == 1 and all(isinstance(row[1], int) or row[1] is None for row in table[1:])
    assert {len(row) for row in table} == {5}


def test_fm_history_shows_a_period_without_the_shop_as_a_blank_rank_and_a_note(udfs, server):
    table = udfs.FM_HISTORY("7000000000000000001", "US", 14, "day", "2026-05-11", "2026-05-12")
    assert [row[1] for row in table[1:]] == [None, None]
    assert [row[-1] for row in table[1:]] == ["not in the top 100", "not in the top 100"]


def test_fm_history_refuses_a_seller_id_that_lost_its_digits_in_one_cell_and_no_call(udfs, server):
    [[text]] = udfs.FM_HISTORY(7.494006325298104e18, "US", 14, "day", "-29", "latest")
    assert text.startswith("FastMoss: seller_id: 7.494006325298104e+18 is not allowed; a number that lost digits")
    [[text]] = udfs.FM_HISTORY("7494006325298104216", "US", 14, "day", "2026-01-01", "2026-05-01")
    assert "a range holds at most 90 days" in text
    assert server.call_count == 0


def test_a_ranking_cell_with_compare_shows_the_movement(udfs, server):
    table = udfs.FM_MOSTPROMOTED("US", 14, "day", "2026-05-12", "compare", "previous", "rows", 100,
                                 "fields", "rank,previous_rank,rank_change,new")
    assert table[0] == ["Rank", "Previous rank", "Rank change", "New"]
    for rank, previous, change, new in table[1:]:
        assert (previous is None) == new and (change is None) == new
        assert new or change == previous - rank
    assert any(row[3] for row in table[1:]) and server.call_count == 2


@pytest.mark.usefixtures("recent_periods")
def test_fm_status_names_a_history_it_showed_stale(fake_env, monkeypatch):
    import time

    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "0.5")
    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    import xl_fastmoss.udfs as udfs

    fresh = udfs.FM_HISTORY("7494006325298104216", "US", 14, "day", "2026-05-11", "2026-05-12")
    time.sleep(0.6)
    fake_env.inject(Fault.HTTP_STATUS, status=503, times=5)
    shown = udfs.FM_HISTORY("7494006325298104216", "US", 14, "day", "2026-05-11", "2026-05-12")
    assert shown[1:] == fresh[1:] and shown[0][1:] == fresh[0][1:]  # the same table, no row added
    assert shown[0][0].startswith("Period (stale: data as of ") and "HTTP 503" in shown[0][0]
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert any(label.startswith("Stale: history of seller 7494006325298104216") for label in status)


def test_fm_history_carries_real_xlwings_metadata_and_a_vba_wrapper(real_xlwings_decorators):
    xlwings_udfs, module = real_xlwings_decorators
    info = module.FM_HISTORY.__xlfunc__
    assert [a["name"] for a in info["args"]] == ["seller_id", "region", "category_id", "date_type", "start", "end",
                                                 "options"]
    assert info["async_mode"] == "threading" and info["call_in_wizard"] is False
    buffer = io.StringIO()
    xlwings_udfs.generate_vba_wrapper("xl_fastmoss.udfs", module, buffer,
                                      types.SimpleNamespace(Name="FastMossDashboard.xlsm"))
    assert ("Function FM_HISTORY(seller_id, region, category_id, date_type, start, end, ParamArray options())"
            in buffer.getvalue())
