"""Exact call counts and deduplication: what benchmarks/run.py times, asserted without a clock.

No test here asserts a duration; the figures are in BENCHMARKS.md. Where calls must overlap, the
fake server is given a latency; the counts asserted do not depend on it.
"""

import collections
import json
import math
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Executor, Future
from pathlib import Path

import pytest
import requests

from xl_fastmoss import FastMossClient, Settings, TableRequest
from xl_fastmoss.client import reset_default_client
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.query import RankingQuery
from xl_fastmoss.settings import DEFAULT_MAX_CONCURRENCY, write_config
from xl_fastmoss.sheets.cells import FmCell
from xl_fastmoss.sheets.functions import ranking_table
from xl_fastmoss.sheets.plan import failures, fetch_plan, plan_refresh

DAY, WEEK, MONTH = "2026-04-01", "2026-14", "2026-03"
REPO = Path(__file__).resolve().parent.parent


class CountingSession(requests.Session):
    """Counts the HTTP calls in flight through it: what the server sees at once, at most."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def post(self, *args, **kwargs):
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return super().post(*args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


def all_at_once(count, action):
    """Run ``action`` from ``count`` threads released together; their results in order."""
    barrier, results = threading.Barrier(count), [None] * count

    def run(i):
        barrier.wait()
        results[i] = action()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads), "a caller never returned"
    return results


def pages_asked(server):
    return collections.Counter((c.path, json.dumps(c.body, sort_keys=True)) for c in server.calls)


# -- one ranking ---------------------------------------------------------------------------------


def test_500_rows_cost_exactly_5_calls_of_100_rows_and_no_page_past_500(client, server):
    server.latency = 0.02
    result = client.most_promoted("US", 14, "day", DAY, rows=500)
    assert len(result.frame) == 500
    assert server.call_count == 5
    assert sorted(c.page for c in server.calls) == [1, 2, 3, 4, 5]
    assert all(c.pagesize == 100 and c.page * c.pagesize <= 500 for c in server.calls)


@pytest.mark.parametrize("category_id, shop_type, cross_border, total, calls", [
    (28, None, None, 37, 1),   # Pre-Owned: the first page says there is no second
    (14, 1, 1, 180, 2),        # cross-border brand shops: 2 pages, not 5
])
def test_a_short_ranking_asked_for_500_rows_costs_only_its_pages(client, server, category_id, shop_type,
                                                                  cross_border, total, calls):
    server.latency = 0.02
    result = client.most_promoted("US", category_id, "day", DAY, shop_type=shop_type,
                                  cross_border=cross_border, rows=500)
    assert len(result.frame) == total
    assert server.call_count == calls
    assert sorted(c.page for c in server.calls) == list(range(1, calls + 1))


# -- identical asks at once ----------------------------------------------------------------------


def test_16_identical_fm_calls_at_once_cost_the_pages_of_one(fake_env):
    fake_env.latency = 0.2  # every caller arrives while the first pages are still in flight
    shown = all_at_once(16, lambda: ranking_table("FM_MOSTPROMOTED", "US", 14, "day", DAY, "rows", 250))
    assert fake_env.call_count == 3
    assert set(pages_asked(fake_env).values()) == {1}
    assert all(len(table) == 251 for table in shown), [table[:1] for table in shown]
    assert all(table == shown[0] for table in shown)


def test_64_identical_fm_asks_in_flight_build_one_table_from_pages_asked_once(fake_env):
    from xl_fastmoss.client import default_client

    fake_env.latency = 0.2
    shown = all_at_once(64, lambda: ranking_table("FM_MOSTPROMOTED", "US", 14, "day", DAY, "rows", 500))
    assert default_client().stats.tables_built == 1
    assert fake_env.call_count == 5 and set(pages_asked(fake_env).values()) == {1}
    assert all(table == shown[0] for table in shown) and len(shown[0]) == 501


def test_asks_in_flight_for_more_rows_than_a_build_covers_share_the_pages_not_the_build(fake_env):
    fake_env.latency = 0.2
    query = RankingQuery.build("top_selling", "GB", 3, "day", DAY)
    with FastMossClient(Settings.load()) as client:
        rows = [100, 300] * 8
        results = all_at_once(16, lambda: client.fetch(TableRequest(query, rows.pop())))
        built = client.stats.tables_built
    assert built in (1, 2)  # one of 300 rows serves all; or a first ask of 100 builds its own
    assert sorted(len(r.frame) for r in results) == [100] * 8 + [300] * 8
    assert fake_env.call_count == 3 and set(pages_asked(fake_env).values()) == {1}


def test_identical_asks_in_flight_share_their_calls_without_any_cache(fake_env):
    fake_env.latency = 0.2
    request = TableRequest(RankingQuery.build("top_selling", "GB", 3, "day", DAY), 250)
    with FastMossClient(Settings.load(cache_ttl=0)) as client:  # nothing kept: only sharing helps
        results = all_at_once(16, lambda: client.fetch(request))
    assert fake_env.call_count == 3
    assert all(len(r.frame) == 250 for r in results)


class AnswerAtOnce(Executor):
    """Runs each page in the submitting thread, so its future is done before ``submit`` returns:
    what happens when a page comes from the disk cache before the submitter looks again."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 -- the future carries it, as a pool's would
            future.set_exception(error)
        return future


def test_a_page_answered_before_its_callback_is_attached_does_not_hang(fake_env):
    # A page from the disk cache can be done before the thread that asked for it looks again;
    # the single-flight bookkeeping once deadlocked on its own lock then.
    with FastMossClient(Settings.load()) as client:
        client._pool.shutdown()
        client._pool = AnswerAtOnce()
        asker = threading.Thread(target=client.most_promoted, args=("US", 14, "day", DAY), daemon=True)
        asker.start()
        asker.join(2)
        assert not asker.is_alive(), "the fetch deadlocked"


# -- a workbook refresh --------------------------------------------------------------------------

DASHBOARD = [  # (function, region, category, date type, value, options of the full table)
    ("FM_MOSTPROMOTED", "US", 14, "day", DAY, ("rows", 250)),
    ("FM_MOSTPROMOTED", "GB", 14, "day", DAY, ("rows", 100)),
    ("FM_MOSTPROMOTED", "US", 14, "week", WEEK, ("rows", 250)),
    ("FM_MOSTPROMOTED", "DE", 3, "month", MONTH, ("rows", 100)),
    ("FM_TOPSELLING", "US", 14, "day", DAY, ("rows", 250)),
    ("FM_TOPSELLING", "US", 14, "day", DAY, ("rows", 100, "sort", "usd_gmv")),
    ("FM_TOPSELLING", "ID", None, "week", WEEK, ("rows", 100)),
    ("FM_TOPSELLING", "MX", 5, "month", MONTH, ("rows", 100)),
    ("FM_FULLYMANAGED", "US", None, "day", DAY, ("rows", 250)),
    ("FM_FULLYMANAGED", "GB", 1, "week", WEEK, ("rows", 100)),
    ("FM_MOSTPROMOTED", None, 14, "day", DAY, ("rows", 100)),
    ("FM_TOPSELLING", "FR", 7, "month", MONTH, ("rows", 100, "sort", "usd_gmv")),
]


def dashboard_cells():
    """24 cells over 12 queries: each query as a top-10 card and as its full table."""
    cells = []
    for number, (function, region, category, date_type, value, options) in enumerate(DASHBOARD, 1):
        sheet, args = f"Board{number}", (region, category, date_type, value)
        sort = tuple(options[options.index("sort"):]) if "sort" in options else ()
        cells.append(FmCell(sheet, "A1", function, args + ("rows", 10, "fields", "rank,name") + sort))
        cells.append(FmCell(sheet, "A14", function, args + options))
    return cells


def test_a_24_cell_refresh_plan_costs_exactly_its_distinct_pages(client, server):
    server.latency = 0.02
    plan = plan_refresh(dashboard_cells())
    assert len(plan.tables) == 24 and not plan.problems
    distinct_pages = sum(math.ceil(options[1] / 100) for *_, options in DASHBOARD)
    assert distinct_pages == 20

    outcomes = fetch_plan(plan, client, refresh=True)
    assert not failures(outcomes)
    assert server.call_count == distinct_pages
    assert set(pages_asked(server).values()) == {1}

    fetch_plan(plan, client, refresh=False)  # the FM_ cells recalculating after the refresh
    assert server.call_count == distinct_pages


BIG_FUNCTIONS = ("FM_MOSTPROMOTED", "FM_TOPSELLING", "FM_FULLYMANAGED")
BIG_REGIONS = ("US", "GB", "MX", "ES", "DE", "IT", "FR", "")
BIG_PERIODS = (("day", DAY), ("week", WEEK), ("month", MONTH))
BIG_ROWS = (500, 100, 250, 50, 400, 200, 300, 500)


def big_dashboard_cells():
    """200 FM_ formulas over 80 queries of 1 to 5 pages: a top-10 card and a full table of each
    query, and for every other query a second full table of other rows and fields."""
    cells = []
    for number in range(80):
        function = BIG_FUNCTIONS[number % 3]
        region = BIG_REGIONS[number // 3 % len(BIG_REGIONS)]
        date_type, value = BIG_PERIODS[number // 24 % 3]
        args = (region, [14, ""][number // 72], date_type, value)
        sheet = f"Board{number}"
        cells.append(FmCell(sheet, "A1", function, args + ("rows", 10, "fields", "rank,name,usd_gmv")))
        cells.append(FmCell(sheet, "A14", function, args + ("rows", BIG_ROWS[number % len(BIG_ROWS)])))
        if number % 2 == 0 and len(cells) < 200:
            cells.append(FmCell(sheet, "H14", function, args + ("rows", BIG_ROWS[(number + 3) % len(BIG_ROWS)],
                                                                "fields", "rank,name,seller_id")))
    return cells[:200]


def test_a_200_formula_dashboard_costs_its_distinct_pages_once_then_no_call(client, server):
    cells = big_dashboard_cells()
    plan = plan_refresh(cells)
    assert len(plan.tables) == 200 and not plan.problems
    deepest = collections.defaultdict(int)
    for table in plan.tables:
        deepest[table.call.request.query] = max(deepest[table.call.request.query], table.call.request.rows)
    distinct_pages = sum(math.ceil(rows / 100) for rows in deepest.values())
    assert len(deepest) == 80 and distinct_pages == 250

    outcomes = fetch_plan(plan, client, refresh=True)
    assert not failures(outcomes)
    assert server.call_count == distinct_pages
    assert set(pages_asked(server).values()) == {1}

    # The cells, in a UDF server that holds nothing yet, then recalculated: every table from the
    # cache, then from memory, each the rectangle the refresh made of it.
    reset_default_client()
    try:
        for cell, outcome in zip(cells, outcomes, strict=True):
            assert ranking_table(cell.function, *cell.args) == outcome.rows
        for cell, outcome in zip(cells, outcomes, strict=True):
            assert ranking_table(cell.function, *cell.args) == outcome.rows
    finally:
        reset_default_client()
    assert server.call_count == distinct_pages
    assert [len(o.rows) for o in outcomes] == [o.table.call.request.rows + 1 for o in outcomes]


def test_a_second_process_on_the_same_cache_dir_makes_no_call(client, server):
    client.most_promoted("US", 14, "day", DAY, rows=500)
    assert server.call_count == 5
    script = textwrap.dedent(f"""
        import faulthandler, json, sys
        import xl_fastmoss
        from xl_fastmoss.client import default_client
        faulthandler.dump_traceback_later(5, exit=True)  # the call takes milliseconds
        frame = xl_fastmoss.most_promoted("US", 14, "day", {DAY!r}, rows=500)
        stats = default_client().stats
        print(json.dumps({{"rows": len(frame), "api_calls": stats.api_calls,
                          "pages_from_cache": stats.pages_from_cache}}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"rows": 500, "api_calls": 0, "pages_from_cache": 5}
    assert server.call_count == 5


SAME_TABLE_AT_ONCE = textwrap.dedent("""
    import faulthandler, json, pathlib, sys, time
    import xl_fastmoss
    from xl_fastmoss.client import default_client
    faulthandler.dump_traceback_later(60, exit=True)
    start = pathlib.Path(sys.argv[1])
    client = default_client()  # the cache open before the start: every process asks at once
    (start / f"ready-{sys.argv[2]}").touch()
    while not (start / "go").exists():
        time.sleep(0.002)
    frame = xl_fastmoss.most_promoted("US", 14, "day", sys.argv[3], rows=500)
    print(json.dumps({"rows": len(frame), "ranks": frame["rank"].tolist() == list(range(1, 501)),
                      "api_calls": client.stats.api_calls, "pages_from_cache": client.stats.pages_from_cache}))
""")


def same_table_at_once(processes, folder):
    """``processes`` Python processes on one cache folder asking for one 500-row table at the same moment."""
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
    children = [subprocess.Popen([sys.executable, "-c", SAME_TABLE_AT_ONCE, str(folder), str(i), DAY], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(processes)]
    try:
        while len(list(folder.glob("ready-*"))) < processes and all(c.poll() is None for c in children):
            threading.Event().wait(0.01)
        (folder / "go").touch()
        done = [child.communicate(timeout=90) for child in children]
    finally:
        for child in children:
            child.kill()
    assert all(child.returncode == 0 for child in children), [err for _, err in done]
    return [json.loads(out) for out, _ in done]


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_asking_for_one_table_at_once_on_one_cache_folder_pay_for_it_once(fake_env, tmp_path, processes):
    fake_env.latency = 0.2  # every process asks while the first calls are in flight
    answered = same_table_at_once(processes, tmp_path / "start")
    assert fake_env.call_count == 5 and set(pages_asked(fake_env).values()) == {1}
    assert all(a["rows"] == 500 and a["ranks"] for a in answered)
    assert sum(a["api_calls"] for a in answered) == 5
    assert sum(a["pages_from_cache"] for a in answered) == 5 * (processes - 1)


# -- the concurrency bound and the throttle ------------------------------------------------------


def test_the_default_bound_is_gentle(fake_env):
    assert Settings.load().max_concurrency == DEFAULT_MAX_CONCURRENCY <= 4


@pytest.mark.parametrize("source", ["environment", "config file"])
def test_calls_in_flight_never_exceed_the_configured_bound(fake_env, monkeypatch, source):
    if source == "environment":
        monkeypatch.setenv("FASTMOSS_MAX_CONCURRENCY", "3")
    else:
        write_config({"max_concurrency": "3"})
    fake_env.latency = 0.05
    session = CountingSession()
    requests_ = [TableRequest(RankingQuery.build("most_promoted", region, 14, "day", DAY), 200)
                 for region in ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH", "PH")]
    with FastMossClient(Settings.load(), session=session) as client:
        assert client.limiter.maximum == 3
        outcomes = client.fetch_many(requests_, refresh=True)
        assert client.limiter.in_flight == 0
    assert all(len(o.frame) == 200 for o in outcomes.values())
    assert fake_env.call_count == 24
    assert 1 < session.max_in_flight <= 3


def test_a_call_slot_is_free_again_once_its_answer_is_read(client, server, monkeypatch):
    """Reading and storing a page cost no call: the next page's call goes out meanwhile."""
    in_flight_while_storing = []
    store = client.cache.store

    def storing(key, response, *, final=False):
        in_flight_while_storing.append(client.limiter.in_flight)
        return store(key, response, final=final)

    monkeypatch.setattr(client.cache, "store", storing)
    result = client.most_promoted("US", 14, "day", DAY, rows=100)
    assert len(result.frame) == 100 and server.call_count == 1
    assert in_flight_while_storing == [0]


def test_a_30003_burst_lowers_the_limit_and_successes_restore_it(client, server):
    maximum = client.limiter.maximum
    server.inject(Fault.API_CODE, code=30003, times=2)
    client.most_promoted("US", 1, "day", DAY, rows=100)
    assert server.call_count == 3  # each throttled answer asked again once
    assert client.limiter.limit < maximum

    for category in range(2, 12):
        client.most_promoted("US", category, "day", DAY, rows=100)
    assert server.call_count == 13
    assert client.limiter.limit == maximum


def test_a_refresh_meeting_a_30003_burst_finishes_with_one_extra_call_per_throttled_answer(client, server):
    server.latency = 0.02
    lowest = [client.limiter.limit]
    on_throttled = client.limiter.on_throttled

    def watched(*args, **kwargs):
        on_throttled(*args, **kwargs)
        lowest.append(client.limiter.limit)

    client.limiter.on_throttled = watched
    # Fewer throttled answers than attempts per page, so no page can run out of retries.
    server.inject(Fault.API_CODE, code=30003, times=4)
    cells = [FmCell("Sheet1", f"A{i * 110 + 1}", "FM_MOSTPROMOTED", (region, 14, date_type, value))
             for i, (region, (date_type, value)) in enumerate(
                 (r, p) for r in ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH", "PH")
                 for p in (("day", DAY), ("week", WEEK)))]
    outcomes = fetch_plan(plan_refresh(cells), client, refresh=True)
    assert not failures(outcomes)
    assert server.call_count == 24 + 4
    assert sum(c.code == 30003 for c in server.calls) == 4
    assert len(lowest) == 5  # four throttles, each of another page's first ask: none cuts the limit
    assert min(lowest) == client.limiter.limit == client.limiter.maximum
