"""Scenario 4a/4b: refreshing a dashboard's FM_ cells, at two concurrencies."""

from __future__ import annotations

import collections
import functools
import math
import statistics
from dataclasses import dataclass, field

from benchmarks.counting import CountingSession
from benchmarks.dashboard import (
    DASHBOARD_QUERIES,
    DashboardCells,
    dashboard_cells,
    extra_wave_note,
)
from benchmarks.harness import Bench, timed
from benchmarks.naive import naive_cell
from benchmarks.report import Row
from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.sheets.cells import FmCell
from xl_fastmoss.sheets.plan import failures, fetch_plan, plan_refresh

CONCURRENCIES = (4, 8)


@dataclass
class NaiveDashboard:
    """Naive code filling the dashboard cell after cell."""

    seconds: float
    calls: int
    distinct_pages: int


@dataclass
class RefreshRuns:
    """Our refreshes of the dashboard at one max_concurrency."""

    concurrency: int
    times: list[float] = field(default_factory=list)
    calls: set[int] = field(default_factory=set)
    waves: collections.Counter = field(default_factory=collections.Counter)
    most_in_flight: int = 0

    @property
    def ideal_waves(self) -> int:
        return math.ceil(max(self.calls) / self.concurrency)


def run(bench: Bench) -> None:
    """A workbook refresh: 24 FM_ cells over 12 queries, 4 of them 3 pages deep."""
    cells = dashboard_cells()
    formula_cells = [FmCell(sheet, cell, t.function, t.formula_args()) for sheet, cell, t in cells]
    bench.warm_server(DASHBOARD_QUERIES)
    naive = naive_dashboard(bench, cells)
    reps = 1 if bench.quick else 5
    best_waves, worst_waves = math.inf, 0
    for concurrency in CONCURRENCIES:
        runs = refresh_runs(bench, formula_cells, concurrency, reps)
        if max(runs.waves) > runs.ideal_waves:
            best_waves, worst_waves = min(best_waves, runs.ideal_waves), max(worst_waves, max(runs.waves))
        bench.rows.append(refresh_row(bench, runs, len(cells), naive))
    bench.notes.append(
        f"4. {naive.distinct_pages} distinct pages: 8 queries of 1 page and 4 of 3 pages; every query has a "
        "rows-10 card and a full table. Ours: refresh_plan.plan_refresh + fetch_plan(refresh=True). "
        f"Naive: each of the {len(cells)} cells fetches its own pages, one cell after the other.")
    if worst_waves > best_waves:
        bench.notes.append(extra_wave_note("4a/4b", worst_waves, best_waves))


def naive_dashboard(bench: Bench, cells: DashboardCells) -> NaiveDashboard:
    """Every cell fetching its own pages, one cell after the other; the distinct pages it asked for."""
    asked: list = []
    seconds, _ = timed(lambda: [naive_cell(bench.base_url, t, asked) for _, _, t in cells])
    return NaiveDashboard(seconds, bench.server.call_count, len(set(asked)))


def refresh_runs(bench: Bench, formula_cells: list[FmCell], concurrency: int, reps: int) -> RefreshRuns:
    """``reps`` refreshes (plan_refresh + fetch_plan), each from a fresh cache, at ``concurrency``."""
    runs = RefreshRuns(concurrency)
    for _ in range(reps):
        with bench.fresh_env():
            session = CountingSession()
            with FastMossClient(Settings.load(max_concurrency=concurrency), session=session) as client:
                plan = plan_refresh(formula_cells)
                seconds, outcomes = timed(functools.partial(fetch_plan, plan, client, refresh=True))
                assert not plan.problems and not failures(outcomes), plan.problems + failures(outcomes)
                runs.calls.add(bench.server.call_count)
        runs.times.append(seconds)
        runs.waves[session.waves] += 1
        runs.most_in_flight = max(runs.most_in_flight, session.max_in_flight)
    return runs


def refresh_row(bench: Bench, runs: RefreshRuns, cell_count: int, naive: NaiveDashboard) -> Row:
    """Row 4a or 4b: our median refresh beside naive's, against ceil(calls / concurrency) RT."""
    reps = len(runs.times)
    seconds = statistics.median(runs.times)
    rt, ideal = bench.rt(seconds), runs.ideal_waves
    spread = f"median of {reps}, worst {bench.rt(max(runs.times)):.2f} RT; " if reps > 1 else ""
    return Row(
        f"4{'ab'[runs.concurrency == 8]}. dashboard refresh, {cell_count} cells / {len(DASHBOARD_QUERIES)} "
        f"queries, max_concurrency {runs.concurrency}",
        f"{seconds:.3f} s = {rt:.2f} RT ({spread}waves "
        + ", ".join(f"{w}: {n}x" for w, n in sorted(runs.waves.items()))
        + f"; max {runs.most_in_flight} in flight)", "/".join(map(str, sorted(runs.calls))),
        f"{naive.seconds:.3f} s = {bench.rt(naive.seconds):.2f} RT", str(naive.calls),
        f"x{naive.seconds / seconds:.1f} faster", f"{naive.distinct_pages} calls, ~{ideal} RT (<= {ideal + 1})",
        runs.calls == {naive.distinct_pages} and rt <= ideal + 1 and runs.most_in_flight <= runs.concurrency)
