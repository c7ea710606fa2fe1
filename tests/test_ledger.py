"""The call ledger: every call the server saw is recorded once, with what asked for it, and shown."""

import datetime as dt
import json
import sqlite3
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner
from openpyxl import Workbook

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.cli import main
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.ledger import KEPT_DAYS, LEDGER_FILE_NAME, Budgets, LocalLedger, local_day

DAY = "2026-04-01"
PATHS = {"/shop/v1/rank/mostPromoted": "most_promoted", "/shop/v1/rank/topSelling": "top_selling",
         "/shop/v1/rank/fullyManaged": "fully_managed"}


def client_of(**overrides):
    return FastMossClient(Settings.load(retry_backoff=0.01, **overrides))


def ledger_of(settings=None):
    settings = settings or Settings.load()
    return LocalLedger(settings.cache_dir, Budgets.of(settings))


def seen(server):
    """What the server saw, call by call: (endpoint, page, pagesize)."""
    return sorted((PATHS[c.path], c.page, c.pagesize) for c in server.calls)


def recorded(days=1):
    ledger = ledger_of()
    try:
        return ledger.entries(days)
    finally:
        ledger.close()


def test_the_ledger_records_exactly_the_calls_the_server_saw_with_the_rows_received(fake_env):
    with client_of() as client:
        results = [client.most_promoted("US", 14, "day", DAY, rows=250),
                   client.top_selling("GB", 14, "week", "2026-14", rows=30),
                   client.most_promoted("US", 28, "day", DAY, rows=500),  # 37 shops: one page answers all
                   client.fully_managed("DE", 14, "month", "2026-03")]
    entries = recorded()
    assert sorted((e.endpoint, e.page, e.pagesize) for e in entries) == seen(fake_env)
    assert len(entries) == fake_env.call_count == 3 + 1 + 1 + 1
    assert sum(e.rows for e in entries) == 300 + 100 + 37 + 100  # pages of 100, as the API answered them
    assert sum(len(r.frame) for r in results) == 250 + 30 + 37 + 10
    assert {e.outcome for e in entries} == {"ok"} and {e.day for e in entries} == {local_day()}


def test_retries_and_failures_are_calls_too_each_with_its_outcome(fake_env):
    fake_env.inject(Fault.HTTP_STATUS, status=503, times=2)
    fake_env.inject(Fault.API_CODE, code=10001, page=2)
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY)  # 503, 503, then the page
        with pytest.raises(Exception, match="code 10001"):
            client.most_promoted("GB", 14, "day", DAY, rows=200)  # page 2 refused
    entries = recorded()
    assert sorted((e.endpoint, e.page, e.pagesize) for e in entries) == seen(fake_env)
    outcomes = sorted(e.outcome for e in entries)
    assert outcomes == ["ParameterError", "ServerError", "ServerError", "ok", "ok"]
    assert {e.rows for e in entries if e.outcome != "ok"} == {0}


def test_answers_from_the_cache_are_not_calls(fake_env):
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY, rows=150)
    with client_of() as another_process:
        another_process.most_promoted("US", 14, "day", DAY, rows=150)
    assert len(recorded()) == fake_env.call_count == 2


def test_each_call_says_what_asked_for_it_a_script_a_cell_the_command_line_a_refresh(fake_env, tmp_path):
    import xl_fastmoss.udfs as udfs

    with client_of() as client:
        client.most_promoted("US", 1, "day", DAY)
    udfs.FM_TOPSELLING("US", 2, "day", DAY, "rows", 20)
    CliRunner().invoke(main, ["fully-managed", "DE", "3", "day", DAY], catch_exceptions=False)
    book = Workbook()
    book.active["A1"] = '=FM_MOSTPROMOTED("GB",4,"day","2026-04-01")'
    book.save(tmp_path / "Board.xlsx")
    CliRunner().invoke(main, ["refresh", str(tmp_path / "Board.xlsx")], catch_exceptions=False)
    asked = [e.asked for e in sorted(recorded(), key=lambda e: e.at)]
    assert asked == [
        "python",
        "cell =FM_TOPSELLING: top_selling, US, category 2, day 2026-04-01, 20 rows",
        "xl-fastmoss fully-managed DE 3 day 2026-04-01",
        "xl-fastmoss refresh Board.xlsx",
    ]


def test_entries_are_kept_90_days(fake_env):
    start = dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=False):
        with client_of() as client:
            client.most_promoted("US", 14, "day", DAY)
    with time_machine.travel(start + dt.timedelta(days=KEPT_DAYS), tick=False):
        with client_of() as client:
            client.most_promoted("GB", 14, "day", DAY)
            assert [u.calls for u in client.ledger.usage(KEPT_DAYS + 1)] == [1, 1]
    with time_machine.travel(start + dt.timedelta(days=KEPT_DAYS + 1), tick=False):
        with client_of():
            pass  # opening the ledger forgets what is older than 90 days
    with sqlite3.connect(Settings.load().cache_dir / LEDGER_FILE_NAME) as db:
        assert db.execute("SELECT day FROM calls").fetchall() == [((start + dt.timedelta(days=KEPT_DAYS)).date()
                                                                   .isoformat(),)]


def test_the_day_is_the_users_local_day(fake_env):
    # 22:00 on 1 April in New York is 02:00 UTC and 10:00 in Shanghai on 2 April; time-machine
    # makes New York the local time zone (its destination's zone).
    new_york = dt.datetime(2026, 4, 1, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(new_york, tick=False):
        with client_of() as client:
            client.most_promoted("US", 14, "day", "2026-03-31")
            assert client.ledger.today() == (1, 100)
        assert [e.day for e in recorded()] == ["2026-04-01"]
    with time_machine.travel(new_york + dt.timedelta(hours=2), tick=False):  # midnight passed in New York
        with client_of() as client:
            assert client.ledger.today() == (0, 0)


def test_usage_shows_calls_and_rows_by_day_and_endpoint(fake_env):
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.timezone.utc), tick=False):
        with client_of() as client:
            client.most_promoted("US", 14, "day", "2026-03-30", rows=150)
    with time_machine.travel(dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.timezone.utc), tick=False):
        with client_of() as client:
            client.most_promoted("US", 14, "day", DAY)
            client.top_selling("US", 28, "day", DAY)  # 37 shops
        shown = CliRunner().invoke(main, ["usage", "--format", "json"], catch_exceptions=False)
        table = CliRunner().invoke(main, ["usage", "--days", "1"], catch_exceptions=False)
    assert json.loads(shown.stdout) == [
        {"day": "2026-04-01", "endpoint": "most_promoted", "calls": 2, "rows": 200},
        {"day": "2026-04-02", "endpoint": "most_promoted", "calls": 1, "rows": 100},
        {"day": "2026-04-02", "endpoint": "top_selling", "calls": 1, "rows": 37},
    ]
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["day", "endpoint", "calls", "rows"]
    assert [line.split() for line in lines[1:3]] == [["2026-04-02", "most_promoted", "1", "100"],
                                                     ["2026-04-02", "top_selling", "1", "37"]]
    assert lines[3].split() == ["since", "2026-04-02", "2", "137"]
    assert lines[4].startswith("today (2026-04-02, local time): 2 calls, 137 rows; calls left: no budget")


def test_usage_lists_every_call_on_request(fake_env):
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY, rows=120)
    listed = CliRunner().invoke(main, ["usage", "--calls", "--format", "json"], catch_exceptions=False)
    calls = json.loads(listed.stdout)
    assert sorted((c["page"], c["pagesize"], c["rows"], c["outcome"], c["asked"]) for c in calls) == [
        (1, 100, 100, "ok", "python"), (2, 100, 100, "ok", "python")]


def test_usage_with_nothing_recorded_says_so(fake_env):
    shown = CliRunner().invoke(main, ["usage", "--days", "3"], catch_exceptions=False)
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0].startswith("no calls since ")
    assert json.loads(CliRunner().invoke(main, ["usage", "--format", "json"]).stdout) == []


def test_fm_status_shows_todays_calls_and_rows_of_every_process(fake_env):
    import xl_fastmoss.udfs as udfs

    with client_of() as another_process:
        another_process.most_promoted("US", 14, "day", DAY, rows=200)
    udfs.FM_MOSTPROMOTED("GB", 14, "day", DAY)
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert status["API calls this session"] == 1  # what this process made, as before
    assert (status["API calls today"], status["Rows received today"]) == (3, 300)
    assert status["Calls left today"] == status["Rows left today"] == "no budget"
    assert status["Usage ledger"].endswith(LEDGER_FILE_NAME)


def test_a_corrupt_ledger_file_is_moved_aside_and_a_new_one_counts(fake_env):
    path = Settings.load().cache_dir / LEDGER_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # a header, then garbage
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY)
        assert "it was moved to usage" in client.ledger.problem and client.ledger.today() == (1, 100)
    assert [p.name for p in path.parent.glob(f"{LEDGER_FILE_NAME}.broken-*")]
    assert len(recorded()) == 1  # the new file holds the call


def test_other_processes_see_a_fetchs_calls_settled_while_the_client_stays_open(fake_env):
    with client_of() as client:
        client.most_promoted("US", 28, "day", DAY, rows=500)  # 37 shops: one call, 37 rows
        entries = recorded()  # another process reading the file, the client still open
        assert [(e.rows, e.outcome) for e in entries] == [(37, "ok")]


def test_settlements_written_with_a_refused_reservation_stay(fake_env):
    from xl_fastmoss.errors import BudgetExceeded

    ledger = LocalLedger(Settings.load().cache_dir, Budgets(calls=2, rows=None))
    try:
        for rows in (37, 0):
            ledger.settle(ledger.reserve("most_promoted", 1, 100, "test"), rows, "ok" if rows else "no rows")
        with pytest.raises(BudgetExceeded):
            ledger.reserve("most_promoted", 1, 100, "test")
        assert sorted((e.rows, e.outcome) for e in recorded()) == [(0, "no rows"), (37, "ok")]
    finally:
        ledger.close()


def test_a_reservation_taken_back_counts_nothing_and_gives_its_budget_back(fake_env):
    from xl_fastmoss.errors import BudgetExceeded

    ledger = LocalLedger(Settings.load().cache_dir, Budgets(calls=1, rows=None))
    try:
        not_sent = ledger.reserve("most_promoted", 1, 100, "test")
        with pytest.raises(BudgetExceeded):
            ledger.reserve("most_promoted", 2, 100, "test")
        ledger.cancel(not_sent)
        assert ledger.today() == (0, 0) and recorded() == []
        ledger.settle(ledger.reserve("most_promoted", 2, 100, "test"), 37, "ok")
        assert ledger.today() == (1, 37)
        assert [(e.page, e.rows, e.outcome) for e in recorded()] == [(2, 37, "ok")]
    finally:
        ledger.close()


def test_a_retry_whose_time_ran_out_waiting_for_its_slot_is_no_call_and_no_entry(fake_env):
    """The reservation is made while the call waits for its slot; a call then not sent is taken back."""
    fake_env.inject(Fault.HTTP_STATUS, status=503)
    failed = []

    def ask(client):
        try:
            client.most_promoted("US", 14, "day", DAY)
        except Exception as error:
            failed.append(error)

    with FastMossClient(Settings.load(retry_backoff=0.2, retry_deadline=0.5, max_concurrency=1)) as client:
        asking = threading.Thread(target=ask, args=(client,))
        asking.start()
        waited = time.monotonic()
        while fake_env.call_count < 1 and time.monotonic() - waited < 5:
            time.sleep(0.002)
        client.limiter.acquire()  # another call holds the only slot while the 503'd page waits to ask again
        time.sleep(0.6)  # past the page's 0.5 s
        client.limiter.release()
        asking.join(10)
    assert [str(e) for e in failed] == [
        "FastMoss did not answer one page within 0.5 s in all (connect, reads and retries)"]
    entries = recorded()
    assert fake_env.call_count == len(entries) == 1 and [e.outcome for e in entries] == ["ServerError"]
