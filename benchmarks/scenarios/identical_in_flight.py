"""Scenario 3: many cells asking for the same table at the same moment (16, then 64 with the builds counted)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from benchmarks.harness import Bench
from benchmarks.naive import naive_cell
from benchmarks.report import Row
from benchmarks.tables import DAY, Table
from xl_fastmoss.client import default_client
from xl_fastmoss.query import pages_for
from xl_fastmoss.udfs import FM_MOSTPROMOTED

#: Cells recalculated at once, as Excel's async threads do.
CELLS = 16
#: Asks at once of the second row, whose table builds are counted.
MANY_CELLS = 64


def run(bench: Bench) -> None:
    """16 and 64 cells with the same FM_ formula recalculated at once, as Excel's async threads do."""
    table = Table("FM_MOSTPROMOTED", "US", 2, "day", DAY, rows=250)
    bench.warm_server([table])
    with bench.fresh_env():
        ours_s, shown = all_at_once(lambda: FM_MOSTPROMOTED("US", 2, "day", DAY, "rows", 250))
        ours_calls = bench.server.call_count
    assert all(len(s) == 251 for s in shown), [s[:1] for s in shown if len(s) != 251]
    bench.server.reset_calls()
    naive_s, naive_shown = all_at_once(lambda: naive_cell(bench.base_url, table))
    naive_calls = bench.server.call_count
    assert all(len(s) == 251 for s in naive_shown)
    pages = pages_for(250)
    bench.rows.append(Row(
        f"3. {CELLS} identical FM_ asks at once (rows 250)",
        f"{ours_s:.3f} s = {bench.rt(ours_s):.2f} RT", str(ours_calls),
        f"{naive_s:.3f} s = {bench.rt(naive_s):.2f} RT", str(naive_calls),
        f"x{naive_calls / ours_calls:.0f} fewer calls", f"{pages} calls (one ask's pages)",
        ours_calls == pages))
    many_cells(bench)


def many_cells(bench: Bench) -> None:
    """64 asks of one 500-row FM_ table at once: its pages asked once, and the table built once."""
    table = Table("FM_MOSTPROMOTED", "US", 3, "day", DAY, rows=500)
    bench.warm_server([table])
    with bench.fresh_env():
        ours_s, shown = all_at_once(lambda: FM_MOSTPROMOTED("US", 3, "day", DAY, "rows", 500), MANY_CELLS)
        ours_calls, builds = bench.server.call_count, default_client().stats.tables_built
    assert all(s == shown[0] for s in shown) and len(shown[0]) == 501
    bench.server.reset_calls()
    naive_s, naive_shown = all_at_once(lambda: naive_cell(bench.base_url, table), MANY_CELLS)
    naive_calls = bench.server.call_count
    assert all(len(s) == 501 for s in naive_shown)
    bench.rows.append(Row(
        f"3c. {MANY_CELLS} identical FM_ asks at once (rows 500)",
        f"{ours_s:.3f} s = {bench.rt(ours_s):.2f} RT, {builds} table build(s)", str(ours_calls),
        f"{naive_s:.3f} s = {bench.rt(naive_s):.2f} RT, {MANY_CELLS} builds", str(naive_calls),
        f"x{naive_calls / ours_calls:.0f} fewer calls", "1 table build, 5 calls", builds == 1 and ours_calls == 5))


def all_at_once(action: Callable[[], list], cells: int = CELLS) -> tuple[float, list]:
    """Run ``action`` in ``cells`` threads released together; the seconds until the last returned, and what each did."""
    barrier, results = threading.Barrier(cells + 1), [None] * cells

    def cell(i):
        barrier.wait()
        results[i] = action()
    workers = [threading.Thread(target=cell, args=(i,)) for i in range(cells)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start, results
