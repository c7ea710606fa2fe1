"""Scenario 5: a refresh that meets a burst of frequency-limit (30003) answers midway."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from benchmarks.harness import Bench, timed
from benchmarks.naive import naive_cells_failing
from benchmarks.report import Row
from benchmarks.tables import DAY, WEEK, Table
from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.fake_server import FakeFastMoss, Fault
from xl_fastmoss.sheets.cells import FmCell
from xl_fastmoss.sheets.plan import failures, fetch_plan, plan_refresh

REGIONS = ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH", "PH")

#: (seconds since the start, the limiter's limit, why it changed)
LimitTimeline = list[tuple[float, int, str]]


@dataclass
class ThrottledRefresh:
    """Our refresh through the burst: time, calls, failures, and the limiter's moves."""

    seconds: float
    calls: int
    throttled: int
    failed: list
    maximum: int
    final: int
    timeline: LimitTimeline

    @property
    def lowest(self) -> int:
        return min(limit for _, limit, _ in self.timeline)

    @property
    def low_at(self) -> float:
        return next(t for t, limit, _ in self.timeline if limit == self.lowest)

    @property
    def back_at(self) -> float | None:
        return next((t for t, limit, _ in self.timeline if t > self.low_at and limit == self.maximum), None)


def run(bench: Bench) -> None:
    """A 24-table refresh that meets a burst of 30003 (frequency limit) answers midway."""
    burst, after = (4, 4) if bench.quick else (6, 6)
    regions = REGIONS[:6] if bench.quick else REGIONS
    tables = [Table("FM_MOSTPROMOTED", region, 14, date_type, value)
              for region in regions for date_type, value in (("day", DAY), ("week", WEEK))]
    ours = refresh_through_burst(bench, tables, burst, after)
    naive_s, naive_failed, naive_calls = naive_through_burst(bench, tables, burst, after)
    recovered = (f"back to {ours.maximum} at {ours.back_at:.2f} s" if ours.back_at is not None
                 else f"ended at {ours.final}")
    limit = (f"limit {ours.maximum}->{ours.lowest} at {ours.low_at:.2f} s, {recovered}" if ours.lowest < ours.maximum
             else f"limit stayed at {ours.maximum}")
    bench.rows.append(Row(
        f"5. {len(tables)}-table refresh, {burst}x 30003 after {after} calls",
        f"{ours.seconds:.3f} s, {len(tables) - len(ours.failed)}/{len(tables)} tables; {limit}", str(ours.calls),
        f"{naive_s:.3f} s, {len(tables) - naive_failed}/{len(tables)} tables", str(naive_calls),
        f"{len(ours.failed)} vs {naive_failed} failed",
        "finishes; one call more per throttled answer; limit back at its maximum",
        not ours.failed and ours.calls == len(tables) + ours.throttled and ours.final == ours.maximum))
    bench.notes.append(
        f"5. {len(tables)} tables of 100 rows (1 page each), default settings (max_concurrency 4, "
        f"retry_backoff 0.5 s); {ours.throttled} answers were 30003; ours made {ours.calls} calls for "
        f"{len(tables)} tables (each throttled page asked again after its own backoff; a page's first throttle "
        "cuts no limit, see xl_fastmoss.throttle). Limit over time (s, limit): "
        + ", ".join(f"{t:.2f}:{limit}" for t, limit, why in limit_changes(ours.timeline)) + ". "
        "Naive: no retry, so a throttled cell shows the error.")


def refresh_through_burst(bench: Bench, tables: list[Table], burst: int, after: int) -> ThrottledRefresh:
    """plan_refresh + fetch_plan of one cell per table, ``burst`` 30003 answers after ``after`` calls."""
    formula_cells = [FmCell("Sheet1", f"A{i * 110 + 1}", t.function, t.formula_args())
                     for i, t in enumerate(tables)]
    with bench.fresh_env():
        client = FastMossClient(Settings.load())
        timeline = watch_limit(client)
        with client:
            plan = plan_refresh(formula_cells)
            watcher = inject_after(bench.server, after, Fault.API_CODE, burst, code=30003)
            seconds, outcomes = timed(lambda: fetch_plan(plan, client, refresh=True))
            watcher.join()
            calls, throttled = bench.server.call_count, sum(c.code == 30003 for c in bench.server.calls)
            return ThrottledRefresh(seconds, calls, throttled, failures(outcomes),
                                    client.limiter.maximum, client.limiter.limit, timeline)


def naive_through_burst(bench: Bench, tables: list[Table], burst: int, after: int) -> tuple[float, int, int]:
    """Naive cells through the same burst: seconds, cells that failed, calls."""
    bench.server.reset_calls()
    watcher = inject_after(bench.server, after, Fault.API_CODE, burst, code=30003)
    seconds, failed = naive_cells_failing(bench.base_url, tables)
    watcher.join()
    calls = bench.server.call_count
    bench.server.clear_faults()
    bench.server.latency = bench.latency
    return seconds, failed, calls


def watch_limit(client: FastMossClient) -> LimitTimeline:
    """Record (seconds, limit, why) each time the client's limiter changes its mind."""
    limiter, start = client.limiter, time.perf_counter()
    timeline = [(0.0, limiter.limit, "start")]
    on_success, on_throttled = limiter.on_success, limiter.on_throttled

    def success():
        on_success()
        timeline.append((time.perf_counter() - start, limiter.limit, "success"))

    def throttled(*args, **kwargs):
        on_throttled(*args, **kwargs)
        timeline.append((time.perf_counter() - start, limiter.limit, "throttled"))

    limiter.on_success, limiter.on_throttled = success, throttled
    return timeline


def inject_after(server: FakeFastMoss, calls: int, fault: Fault, times: int, **params) -> threading.Thread:
    """Queue ``fault`` once the server has received ``calls`` calls: a burst mid-refresh."""
    def wait_then_inject():
        deadline = time.monotonic() + 60
        while server.call_count < calls and time.monotonic() < deadline:
            time.sleep(0.001)
        server.inject(fault, times=times, **params)
    watcher = threading.Thread(target=wait_then_inject, daemon=True)
    watcher.start()
    return watcher


def limit_changes(timeline: LimitTimeline) -> Iterator[tuple[float, int, str]]:
    """The timeline's entries where the limit differs from the one before."""
    last = None
    for t, limit, why in timeline:
        if limit != last:
            yield t, limit, why
            last = limit
