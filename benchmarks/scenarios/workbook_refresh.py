"""Scenario 4c: the dashboard of 4a/4b as an .xlsx file, refreshed headless (`xl-fastmoss refresh`)."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from types import ModuleType
from typing import NamedTuple

from benchmarks.counting import CountingSession
from benchmarks.dashboard import (
    DASHBOARD_QUERIES,
    dashboard_cells,
    distinct_pages,
    extra_wave_note,
    save_dashboard,
)
from benchmarks.harness import Bench, timed
from benchmarks.report import Row
from xl_fastmoss import FastMossClient, Settings, headless

#: Refreshes timed (the median one by fetching time is shown): one may take most of a round trip
#: more than the next on these shared machines, the fake server sharing this process's CPU.
#: With --quick, one.
RUNS = 3


def run(bench: Bench) -> None:
    """The same dashboard as an .xlsx file refreshed by `xl-fastmoss refresh` (headless)."""
    cells = dashboard_cells()
    pages = distinct_pages(cells)
    bench.warm_server(DASHBOARD_QUERIES)
    runs = sorted((refresh_once(bench, cells) for _ in range(1 if bench.quick else RUNS)), key=lambda r: r.fetch_s)
    seconds, fetch_s, write_s, calls, waves, report = runs[len(runs) // 2]
    ideal = math.ceil(calls / 4)
    spread = f"median of {len(runs)}, worst {bench.rt(runs[-1].fetch_s):.2f} RT; " if len(runs) > 1 else ""
    if waves > ideal:
        bench.notes.append(extra_wave_note("4c", waves, ideal))
    bench.rows.append(Row(
        "4c. `xl-fastmoss refresh` of that dashboard as .xlsx (headless), max_concurrency 4",
        f"{seconds:.3f} s = {bench.rt(seconds):.2f} RT" + ("" if report.ok else " FAILED") +
        f"; fetching {fetch_s:.3f} s = {bench.rt(fetch_s):.2f} RT ({spread}{waves} waves), "
        f"writing {write_s:.3f} s", str(calls),
        "(see 4a)", "", "", f"{pages} calls, fetching <= {ideal + 1} RT",
        all(r.report.ok and r.calls == pages for r in runs) and bench.rt(fetch_s) <= ideal + 1))
    times = f"{len(runs)} times, a fresh cache each, the median one by fetching time shown" if len(runs) > 1 else "once"
    bench.notes.append(
        f"4c. The dashboard as an .xlsx built with openpyxl (12 sheets, a card at A1 and a table at A14 "
        f"each), refreshed by headless.refresh_workbook(refresh=True), {times}. Of its {seconds:.2f} s, "
        f"{fetch_s:.2f} s went to fetch_plan and {write_s:.2f} s to write_values_copy (CPU, no call)."
        + ("" if report.ok else " FAILED: " + "; ".join(report.lines())))


class Refreshed(NamedTuple):
    """One timed refresh: its seconds in all, fetching and writing, the calls and waves it made."""

    seconds: float
    fetch_s: float
    write_s: float
    calls: int
    waves: int
    report: headless.RefreshReport


def refresh_once(bench: Bench, cells) -> Refreshed:
    """One refresh of the dashboard with a fresh cache."""
    with bench.fresh_env() as folder:
        source, output = folder / "dashboard.xlsx", folder / "dashboard-values.xlsx"
        save_dashboard(cells, source)
        session = CountingSession()
        with FastMossClient(Settings.load(), session=session) as client, \
                stopwatch(headless, "fetch_plan") as fetching, stopwatch(headless, "write_values_copy") as writing:
            seconds, report = timed(lambda: headless.refresh_workbook(source, output, client, refresh=True))
        return Refreshed(seconds, sum(fetching), sum(writing), bench.server.call_count, session.waves, report)


@contextlib.contextmanager
def stopwatch(module: ModuleType, name: str) -> Iterator[list[float]]:
    """Time every call of ``module.name`` while the block runs (instrumentation, nothing else)."""
    original, durations = getattr(module, name), []

    def timed_call(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - start)

    setattr(module, name, timed_call)
    try:
        yield durations
    finally:
        setattr(module, name, original)
