"""Scenario 5b: many tables while the API throttles (30003) the first ask of every page."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from benchmarks.harness import Bench, timed
from benchmarks.naive import naive_cells_failing
from benchmarks.report import Row
from benchmarks.scenarios.throttled_refresh import limit_changes, watch_limit
from benchmarks.tables import DAY, ENDPOINT_NAMES, Table
from xl_fastmoss import FastMossClient, RankingQuery, Settings, TableRequest
from xl_fastmoss.errors import FastMossError
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.query import pages_for

REGIONS = ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY")
#: Every this many tables, one is 300 rows (3 pages) deep; the others are one page.
DEEP_EVERY = 4
#: Naive cells asked at most: one after the other at 0.2 s a call, the whole set would take
#: the scenario past the harness's deadline, and every naive table ends the same way.
NAIVE_TABLES = 50
#: The issue's limits: the throttled fetch within this many times the healthy one, calls per page.
MAX_RATIO = 3.0
MAX_CALLS_PER_PAGE = 2


@dataclass
class Fetch:
    """One fetch_many of every table: time, calls, pages asked, tables complete, the lowest limit."""

    seconds: float
    calls: int
    pages: int
    most_asks: int
    complete: int
    lowest_limit: int
    limit_moves: str

    @property
    def calls_per_page(self) -> float:
        return self.calls / self.pages


def run(bench: Bench) -> None:
    """200 tables (300 pages) against a healthy API, then one that throttles every page's first ask."""
    tables = scenario_tables(40 if bench.quick else 200)
    pages = sum(pages_for(t.rows) for t in tables)
    bench.warm_server(tables)
    healthy = fetch_all(bench, tables, throttled_pages=0)
    throttled = fetch_all(bench, tables, throttled_pages=pages)
    naive_tables = tables[:NAIVE_TABLES]
    naive_s, naive_lost, naive_calls = naive_throttled(bench, naive_tables, pages)
    ratio = throttled.seconds / healthy.seconds
    bench.rows.append(Row(
        f"5b. {len(tables)} tables ({pages} pages), 30003 on the first ask of every page",
        f"{throttled.seconds:.2f} s against {healthy.seconds:.2f} s healthy = x{ratio:.2f}; "
        f"{throttled.calls_per_page:.2f} calls a page (at most {throttled.most_asks} asks); "
        f"{throttled.complete}/{len(tables)} tables complete",
        f"{throttled.calls} (healthy {healthy.calls})",
        f"{naive_s:.2f} s, {len(naive_tables) - naive_lost}/{len(naive_tables)} tables", str(naive_calls),
        f"{naive_lost}/{len(naive_tables)} vs {len(tables) - throttled.complete}/{len(tables)} tables lost",
        f"<= x{MAX_RATIO:g} healthy, <= {MAX_CALLS_PER_PAGE} calls a page, no table lost",
        ratio <= MAX_RATIO and throttled.calls_per_page <= MAX_CALLS_PER_PAGE
        and throttled.complete == healthy.complete == len(tables)))
    bench.notes.append(
        f"5b. client.fetch_many of {len(tables)} tables, one in {DEEP_EVERY} 300 rows deep ({pages} pages), "
        f"default settings (max_concurrency 4, retry_backoff 0.5 s), a fresh cache each time; the fake "
        f"answers 30003 to the first ask of every page (`inject(Fault.API_CODE, code=30003, first_ask=True)`). "
        f"Limit when throttled: lowest {throttled.lowest_limit} ({throttled.limit_moves}). "
        f"Naive: no retry, one cell after the other, so every table stops at its first page's throttle; "
        f"the first {len(naive_tables)} of the {len(tables)} tables only, so that the scenario ends in time.")


def scenario_tables(count: int) -> list[Table]:
    """``count`` distinct most-promoted tables of one day; one in DEEP_EVERY is 3 pages deep."""
    combos = [(region, category) for category in range(1, 21) for region in REGIONS]
    return [Table("FM_MOSTPROMOTED", region, category, "day", DAY, rows=300 if n % DEEP_EVERY == 0 else 100)
            for n, (region, category) in enumerate(combos[:count])]


def fetch_all(bench: Bench, tables: list[Table], *, throttled_pages: int) -> Fetch:
    """fetch_many of ``tables`` from a fresh cache, the first ask of ``throttled_pages`` pages throttled."""
    requests = [TableRequest(RankingQuery.build(ENDPOINT_NAMES[t.function], t.region, t.category_id,
                                                t.date_type, t.date_value), t.rows) for t in tables]
    with bench.fresh_env():
        if throttled_pages:
            bench.server.inject(Fault.API_CODE, times=throttled_pages, code=30003, first_ask=True)
        with FastMossClient(Settings.load()) as client:
            timeline = watch_limit(client)
            seconds, outcomes = timed(lambda: client.fetch_many(requests))
        calls = bench.server.calls
    asks = Counter((c.path, json.dumps(c.body, sort_keys=True)) for c in calls)
    complete = sum(not isinstance(o, FastMossError) and len(o.frame) == r.rows for r, o in outcomes.items())
    moves = ", ".join(f"{t:.1f}:{limit}" for t, limit, _ in limit_changes(timeline))
    return Fetch(seconds, len(calls), len(asks), max(asks.values()), complete,
                 min(limit for _, limit, _ in timeline), moves)


def naive_throttled(bench: Bench, tables: list[Table], pages: int) -> tuple[float, int, int]:
    """Naive cells, one after the other, against the same throttle: seconds, tables lost, calls."""
    bench.server.reset_calls()
    bench.server.inject(Fault.API_CODE, times=pages, code=30003, first_ask=True)
    seconds, lost = naive_cells_failing(bench.base_url, tables)
    calls = bench.server.call_count
    bench.server.clear_faults()
    bench.server.latency = bench.latency
    return seconds, lost, calls
