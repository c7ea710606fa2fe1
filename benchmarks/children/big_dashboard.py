"""Child of scenario big_dashboard: an Excel session refreshing a dashboard of 200 FM_ formulas.

    python -m benchmarks.children.big_dashboard {ours,floor,naive} [--profile FILE] [--trace] [--every N]

``ours`` does what the ribbon's refresh button and then Excel do, in one process:

1. start-up: the imports Excel's Python pays (pandas, requests, xlwings, the UDF module and the
   refresh macro) and the client opening its cache and ledger;
2. the refresh (``macros._refresh`` without the workbook: ``plan_refresh``, the estimate,
   ``fetch_plan(refresh=True)``, the refresh record);
3. the cells: every FM_ formula's UDF called once by a client with nothing in memory, as the UDF
   server after a refresh run in its own process (the ribbon's default) reads the new pages from
   the shared cache;
4. warm: every formula again, as a recalculation (tables in memory).

``floor`` asks every distinct page of the dashboard once with ``requests``, four at a time,
reading nothing: what the server and this machine take for the calls alone.

``naive`` is the code a user writes first: each formula fetches its own pages with ``requests``,
no cache, four formulas at a time (the same bound as ours); without a cache, warm costs what
cold does, so it runs once. ``--every N`` keeps every Nth formula only (``--quick``).

Prints one line of JSON: the seconds of each step, the peak RSS (bytes) and, with --trace, the
peak of Python's allocations (tracemalloc) during the refresh and the cells.
"""

import time

STARTED = time.perf_counter()
import pandas  # noqa: E402, F401 -- timed: start-up, the imports an Excel session pays
import requests  # noqa: E402, F401
import xlwings  # noqa: E402, F401

import xl_fastmoss.macros  # noqa: E402, F401 -- the refresh button's module
import xl_fastmoss.udfs as udfs  # noqa: E402

IMPORTED = time.perf_counter()

import argparse  # noqa: E402
import cProfile  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import threading  # noqa: E402
import tracemalloc  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from benchmarks.children.resident import peak_rss as rss_peak  # noqa: E402
from benchmarks.children.watchdog import arm_watchdog  # noqa: E402
from benchmarks.naive import naive_cell  # noqa: E402
from benchmarks.tables import DAY, MONTH, PAGE_SIZE, PATHS, WEEK, Table  # noqa: E402
from xl_fastmoss.client import default_client, reset_default_client  # noqa: E402
from xl_fastmoss.estimate import estimate  # noqa: E402
from xl_fastmoss.fake_server import FAKE_API_KEY  # noqa: E402
from xl_fastmoss.sheets.cells import FmCell  # noqa: E402
from xl_fastmoss.sheets.plan import failures, fetch_plan, plan_refresh  # noqa: E402

FORMULAS = 200
#: The rows of a query's full table (its top-10 card asks 10 more); 100 rows is one page.
FULL_ROWS = (50, 100, 100, 200, 250, 300, 400, 500, 500, 500)
REGIONS = ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH", "PH", "BR", "JP", "SG", None)
FULLY_MANAGED_REGIONS = ("US", "GB", "ES", "MX", "DE", "IT", "FR", None)
CATEGORIES = (None, 1, 2, 3, 5, 7, 9, 10, 13, 14, 14, 15, 16, 17, 25)
PERIODS = (("day", DAY), ("week", WEEK), ("month", MONTH))
CARD_FIELDS = "rank,name,usd_gmv"
UDFS = {"FM_MOSTPROMOTED": udfs.FM_MOSTPROMOTED, "FM_TOPSELLING": udfs.FM_TOPSELLING,
        "FM_FULLYMANAGED": udfs.FM_FULLYMANAGED}
#: Naive code fills this many formulas at a time: the same bound as our max_concurrency.
NAIVE_THREADS = 4


def big_dashboard() -> list[tuple[str, str, Table]]:
    """(sheet, cell, table) of 200 FM_ formulas, the same every run.

    Distinct queries of the three rankings, many regions and categories, day, week and month;
    most have a top-10 card and a full table (10 to 500 rows), some a second full table of other
    rows or fields; so formulas share queries and pages, as boards of one market do.
    """
    pick = random.Random(12)
    cells: list[tuple[str, str, Table]] = []
    seen: set[tuple] = set()
    while len(cells) < FORMULAS:
        function = pick.choice(tuple(UDFS))
        region = pick.choice(FULLY_MANAGED_REGIONS if function == "FM_FULLYMANAGED" else REGIONS)
        date_type, date_value = pick.choice(PERIODS)
        sort = pick.choice((None, None, "usd_gmv")) if function != "FM_MOSTPROMOTED" else None
        query = Table(function, region, pick.choice(CATEGORIES), date_type, date_value, sort=sort)
        key = (function, region, query.category_id, date_type, sort)
        if key in seen:
            continue
        seen.add(key)
        sheet = f"Board{len(seen)}"
        tables = [query.with_rows(10, fields=CARD_FIELDS), query.with_rows(pick.choice(FULL_ROWS))]
        if pick.random() < 0.25:
            tables.append(query.with_rows(pick.choice(FULL_ROWS), fields=CARD_FIELDS))
        for number, table in enumerate(tables):
            if len(cells) < FORMULAS:
                cells.append((sheet, f"A{1 + 14 * number}", table))
    return cells


def show(table: Table) -> list[list]:
    """What the FM_ cell of ``table`` shows: its UDF called as Excel calls it."""
    return UDFS[table.function](*table.formula_args())


def check_shown(table: Table, shown: list[list]) -> None:
    assert len(shown) > 1 and not str(shown[0][0]).startswith("FastMoss"), (table, shown[:1])


def refresh(cells: list[tuple[str, str, Table]]) -> int:
    """What the refresh button runs, without the workbook; the tables it planned."""
    client = default_client()
    started = dt.datetime.now(dt.timezone.utc)
    plan = plan_refresh(FmCell(sheet, cell, t.function, t.formula_args()) for sheet, cell, t in cells)
    estimate(client, plan.requests, refresh=True)
    calls_before = client.stats.api_calls
    outcomes = fetch_plan(plan, client, refresh=True)
    problems = plan.problems + failures(outcomes)
    assert not problems, problems[:3]
    client.refresh_record.add(
        started=started, finished=dt.datetime.now(dt.timezone.utc), scope="big dashboard",
        tables=len(plan.tables), api_calls=client.stats.api_calls - calls_before,
        refreshed=[query for t in plan.tables for query in t.call.queries], failed={})
    return len(plan.tables)


def ours(trace: bool) -> dict:
    cells = big_dashboard()
    rss_imported = rss_peak()
    default_client()
    opened = time.perf_counter()
    if trace:
        tracemalloc.start()
    refresh(cells)
    refreshed = time.perf_counter()
    rss_refreshed = rss_peak()
    reset_default_client()  # the UDF server: another process, nothing of the refresh in memory
    for _, _, table in cells:
        check_shown(table, show(table))
    shown = time.perf_counter()
    traced = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    warm_rss = rss_peak()
    for _, _, table in cells:
        show(table)
    warm = time.perf_counter()
    return {"imports_s": IMPORTED - STARTED, "open_s": opened - IMPORTED, "refresh_s": refreshed - opened,
            "cells_s": shown - refreshed, "warm_s": warm - shown, "rss_peak": rss_peak(),
            "rss_imported": rss_imported, "rss_refreshed": rss_refreshed, "rss_before_warm": warm_rss,
            "traced_peak": traced, "formulas": len(cells)}


def naive(every: int) -> dict:
    cells = big_dashboard()[::every]
    base_url = os.environ["FASTMOSS_BASE_URL"]
    opened = time.perf_counter()
    with ThreadPoolExecutor(NAIVE_THREADS) as pool:
        list(pool.map(lambda c: naive_cell(base_url, c[2]), cells))
    shown = time.perf_counter()
    return {"imports_s": IMPORTED - STARTED, "cells_s": shown - opened, "rss_peak": rss_peak(),
            "formulas": len(cells)}


def floor() -> dict:
    """Every distinct page once, four at a time, the body read and nothing done with it."""
    pages = {(t.function, json.dumps(t.naive_body(p), sort_keys=True)): (t, p)
             for _, _, t in big_dashboard() for p in range(1, -(-t.rows // PAGE_SIZE) + 1)}
    base_url = os.environ["FASTMOSS_BASE_URL"]
    headers = {"Authorization": f"Bearer {FAKE_API_KEY}"}
    sessions = threading.local()

    def ask(asked: tuple[Table, int]) -> None:
        table, page = asked
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        answer = session.post(base_url + PATHS[table.function], json=table.naive_body(page),
                              headers=headers, timeout=30)
        assert answer.content
    started = time.perf_counter()
    with ThreadPoolExecutor(NAIVE_THREADS) as pool:
        list(pool.map(ask, pages.values()))
    return {"seconds": time.perf_counter() - started, "pages": len(pages)}


def main(argv: list[str] | None = None) -> None:
    arm_watchdog(110)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("ours", "floor", "naive"), help="xl_fastmoss, the calls alone, or naive code")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the whole run to FILE")
    parser.add_argument("--trace", action="store_true", help="also trace Python's allocations (slower)")
    parser.add_argument("--every", type=int, default=1, help="naive: every Nth formula only")
    args = parser.parse_args(argv)
    if args.mode != "ours":
        print(json.dumps(naive(args.every) if args.mode == "naive" else floor()))
        return
    if args.profile:
        profiler = cProfile.Profile()
        measured = profiler.runcall(ours, args.trace)
        profiler.dump_stats(args.profile)
    else:
        measured = ours(args.trace)
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
