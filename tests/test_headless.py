"""`xl-fastmoss refresh` on real workbook files: values copies, all or nothing."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from xl_fastmoss.cli import main
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.headless import refresh_workbook

DAY = "2026-04-01"


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def dashboard(tmp_path):
    """Inputs on one sheet, FM_ formulas on two, a defined name and a spill reference."""
    from openpyxl.workbook.defined_name import DefinedName

    book = Workbook()
    inputs = book.active
    inputs.title = "Inputs"
    inputs["A1"], inputs["B1"] = "Market", "US"
    inputs["A2"], inputs["B2"] = "Category", 14
    inputs["A3"], inputs["B3"] = "Day", DAY
    book.defined_names["Market"] = DefinedName("Market", attr_text="Inputs!$B$1")
    inputs["A5"], inputs["B5"] = "Last refresh", "never"
    book.defined_names["FM_LastRefresh"] = DefinedName("FM_LastRefresh", attr_text="Inputs!$B$5")
    daily = book.create_sheet("Daily")
    daily["A1"] = "Top shops"
    daily["A3"] = '=FM_MOSTPROMOTED(Market,Inputs!$B$2,"day",Inputs!$B$3,"rows",5)'
    daily["P3"] = "=ROWS(A3#)"
    daily["A20"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",250,"fields","rank,name,seller_id")'
    other = book.create_sheet("Other")
    other["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",5)'
    other["P1"] = '=FM_MOSTPROMOTED("GB","","week","2026-14","headers",FALSE,"rows",3)'
    path = tmp_path / "dashboard.xlsx"
    book.save(path)
    return path


def test_every_fm_formula_becomes_its_table_as_values(dashboard, client, server, tmp_path):
    output = tmp_path / "values.xlsx"
    before = digest(dashboard)
    report = refresh_workbook(dashboard, output, client)
    assert report.ok, report.lines()
    assert digest(dashboard) == before
    book = load_workbook(output)
    daily = book["Daily"]
    assert [c.value for c in daily[3][:3]] == ["Rank", "Shop", "Seller ID"]
    assert daily["A4"].value == 1 and daily["C4"].value == "7494006325298104216"
    assert daily["A8"].value == 5 and daily["A9"].value is None
    assert daily["P3"].value == "=ROWS(A3:M8)"
    assert daily["A270"].value == 250 and daily["D21"].value is None
    stamp = book["Inputs"]["B5"].value
    assert stamp.startswith("Values as of ") and "UTC (xl-fastmoss refresh)" in stamp
    assert book["Other"]["P1"].value == 1 and book["Other"]["P3"].value == 3
    assert not any(isinstance(c.value, str) and c.value.upper().startswith("=FM_")
                   for sheet in book for row in sheet.iter_rows() for c in row)


def test_each_distinct_page_is_fetched_once(dashboard, client, server, tmp_path):
    report = refresh_workbook(dashboard, tmp_path / "values.xlsx", client)
    # US/14/day: rows 5, 5 and 250 share pages 1-3; GB/week: one page.
    assert report.distinct_queries == 3 and server.call_count == 4 == report.calls


def test_the_source_workbook_is_not_held_open_while_its_tables_are_fetched(dashboard, client, tmp_path):
    def holding():
        return [fd for fd in os.listdir("/proc/self/fd")
                if os.path.realpath(f"/proc/self/fd/{fd}") == str(dashboard.resolve())]

    held_while_fetching = []
    report = refresh_workbook(dashboard, tmp_path / "values.xlsx", client,
                              progress=lambda done, total: held_while_fetching.append(holding()))
    assert report.ok and held_while_fetching and all(held == [] for held in held_while_fetching)
    assert holding() == []


def test_formula_like_shop_names_are_written_as_text(dashboard, client, tmp_path):
    output = tmp_path / "values.xlsx"
    refresh_workbook(dashboard, output, client)
    with zipfile.ZipFile(output) as package:
        sheet_xml = package.read("xl/worksheets/sheet2.xml").decode()
    names = [c.value for c in load_workbook(output)["Daily"]["B"][20:271]]
    assert any(n.startswith(("=", "+", "-", "@")) for n in names)
    assert sheet_xml.count("<f>") + sheet_xml.count("<f ") == 1  # only =ROWS(...) stays a formula


def test_a_failed_fetch_leaves_an_existing_output_byte_for_byte(dashboard, client, server, tmp_path):
    output = tmp_path / "values.xlsx"
    output.write_bytes(b"yesterday's good copy")
    server.inject(Fault.API_CODE, code=30001, times=10)
    report = refresh_workbook(dashboard, output, client)
    assert not report.ok
    assert output.read_bytes() == b"yesterday's good copy"
    assert any("code 30001" in p and "request_id" in p for p in report.problems)
    assert report.lines()[0].endswith("left as it was:")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def daily_book(path, cells):
    """A workbook of one sheet, Daily, holding ``cells`` ({address: value or formula})."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Daily"
    for address, value in cells.items():
        sheet[address] = value
    book.save(path)
    return path


def test_a_table_that_would_overwrite_cells_is_reported_and_nothing_written(tmp_path, client, server):
    daily_book(tmp_path / "in.xlsx", {"A1": '=FM_MOSTPROMOTED("US",14,"day","2026-04-01")', "C5": "my note"})
    report = refresh_workbook(tmp_path / "in.xlsx", tmp_path / "out.xlsx", client)
    assert not report.ok and not (tmp_path / "out.xlsx").exists()
    assert report.problems[0].startswith("Daily!A1") and "C5" in report.problems[0]


def test_nested_and_invalid_calls_are_reported_by_address_before_any_call(tmp_path, client, server):
    daily_book(tmp_path / "in.xlsx", {
        "A1": '=INDEX(FM_MOSTPROMOTED("US",14,"day","2026-04-01"),2,2)',
        "A5": '=FM_MOSTPROMOTED("XX",14,"day","2026-04-01")',
        "A9": '=FM_MOSTPROMOTED("US",14,"day","2026-04-01")',
    })
    report = refresh_workbook(tmp_path / "in.xlsx", tmp_path / "out.xlsx", client)
    assert len(report.problems) == 2
    assert report.problems[0].startswith("Daily!A1") and "nested" in report.problems[0]
    assert report.problems[1].startswith("Daily!A5: FastMoss: region: 'XX'")
    assert server.call_count == 0


@pytest.mark.usefixtures("recent_periods")
def test_the_cli_refresh_exits_non_zero_naming_what_failed(dashboard, fake_env, tmp_path):
    runner = CliRunner()
    output = tmp_path / "values.xlsx"
    ok = runner.invoke(main, ["refresh", str(dashboard), "--output", str(output)])
    assert ok.exit_code == 0 and "4 tables as values" in ok.stdout
    good = digest(output)
    fake_env.inject(Fault.HTTP_STATUS, status=403, times=5)
    failed = runner.invoke(main, ["refresh", str(dashboard), "--output", str(output)])
    assert failed.exit_code == 1 and "HTTP 403" in failed.stderr and "left as it was" in failed.stderr
    assert digest(output) == good


def test_two_refreshes_of_one_output_at_once_are_refused_clearly(dashboard, client, tmp_path):
    from xl_fastmoss.headless import RefreshBusy, _output_lock

    output = tmp_path / "values.xlsx"
    with _output_lock(output):
        with pytest.raises(RefreshBusy, match="another refresh is writing .*values.xlsx right now"):
            refresh_workbook(dashboard, output, client)
    assert refresh_workbook(dashboard, output, client).ok


def test_a_kill_during_the_write_leaves_the_old_output_intact(dashboard, fake_env, tmp_path):
    """A real SIGKILL while the copy is being written: the old file stays whole."""
    output = tmp_path / "values.xlsx"
    output.write_bytes(b"old copy")
    script = textwrap.dedent(f"""
        import time, sys
        from xl_fastmoss.workbook.archive import ArchiveWriter
        real = ArchiveWriter.write
        def slow(self, *a, **k):
            real(self, *a, **k)
            print("writing", flush=True)
            time.sleep(30)
        ArchiveWriter.write = slow
        from xl_fastmoss.cli import main
        main(["refresh", {str(dashboard)!r}, "--output", {str(output)!r}])
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=os.environ.copy())
    try:
        assert process.stdout.readline().strip() == b"writing"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    assert output.read_bytes() == b"old copy"


def test_the_cli_refresh_shows_api_text_with_its_control_characters_escaped(dashboard, fake_env, tmp_path):
    """A failure line quotes the API's message; an escape sequence in it must not reach the terminal."""
    fake_env.inject(Fault.API_CODE, code=10001, message="bad \x1b]0;owned\x07 value", times=5)
    result = CliRunner().invoke(main, ["refresh", str(dashboard), "--output", str(tmp_path / "copy.xlsx")],
                                color=True)
    assert result.exit_code == 1 and "code 10001" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "bad \\x1b]0;owned\\x07 value" in result.stderr


# -- histories and compared rankings in a workbook ---------------------------------------------------

def trends_book(path):
    """A seller id typed as text in a cell, its history and the day's movers below it."""
    from xl_fastmoss.fake_server import data as world

    query = world.Query("mostPromoted", "day", "2026-05-12", region="US", category_id=14)
    shop = str(world.ranking(query, "affiliate_count")[2]["shop_info"]["seller_id"])
    book = Workbook()
    sheet = book.active
    sheet.title = "Trends"
    sheet["A1"], sheet["B1"] = "Seller", shop
    sheet["B1"].number_format = "@"
    sheet["A3"] = '=FM_HISTORY($B$1,"US",14,"day","2026-05-06","2026-05-12","fields","date_value,rank,usd_gmv,note")'
    sheet["H3"] = '=COUNT(B4:B10)'
    sheet["A20"] = ('=FM_MOSTPROMOTED("US",14,"day","2026-05-12","compare","previous","rows",20,'
                    '"fields","rank,name,previous_rank,rank_change,new")')
    book.save(path)
    return path, shop


def test_fm_history_and_compare_cells_become_their_tables_as_values(tmp_path, fake_env):
    from xl_fastmoss import FastMossClient
    from xl_fastmoss.shop_history import history

    source, shop = trends_book(tmp_path / "trends.xlsx")
    output = tmp_path / "trends-values.xlsx"
    result = CliRunner().invoke(main, ["refresh", str(source), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "2 tables as values" in result.stdout
    sheet = load_workbook(output)["Trends"]
    assert [c.value for c in sheet[3][:4]] == ["Period", "Rank", "GMV (USD)", "Note"]
    assert [sheet.cell(r, 1).value for r in range(4, 11)] == [f"2026-05-{d:02d}" for d in range(6, 13)]
    with FastMossClient() as client:  # the cache the refresh filled: no further call
        calls = fake_env.call_count
        expected = history(client, shop, "US", 14, "day", "2026-05-06", "2026-05-12")
        assert fake_env.call_count == calls
    assert [sheet.cell(r, 2).value for r in range(4, 11)] == [
        None if pd.isna(r) else int(r) for r in expected.frame["rank"]]
    assert load_workbook(output, data_only=True)["Trends"]["H3"].value == expected.found  # computed on the new ranks
    assert [c.value for c in sheet[20][:5]] == ["Rank", "Shop", "Previous rank", "Rank change", "New"]
    news = [sheet.cell(r, 5).value for r in range(21, 41)]
    assert set(news) <= {True, False} and sheet["A40"].value == 20 and sheet["A41"].value is None


def test_a_history_whose_table_would_cover_a_cell_is_refused_before_any_call(tmp_path, client, server):
    source, _ = trends_book(tmp_path / "trends.xlsx")
    from openpyxl import load_workbook as load

    book = load(source)
    book["Trends"]["C11"] = "my note"  # below the seven periods' rows and the header: row 11 is free
    book["Trends"]["D10"] = "in the way"
    book.save(source)
    report = refresh_workbook(source, tmp_path / "out.xlsx", client)
    assert not report.ok and report.problems[0].startswith("Trends!A3") and "D10" in report.problems[0]
    assert "C11" not in report.problems[0]
