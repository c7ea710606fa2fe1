"""Scenario 2: a table already fetched, asked for again in-process and from a second process."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.harness import Bench, timed
from benchmarks.naive import naive_cell, naive_fetch
from benchmarks.report import Row
from benchmarks.tables import DAY, Table
from xl_fastmoss import most_promoted
from xl_fastmoss.udfs import FM_MOSTPROMOTED

SECOND_PROCESS = "benchmarks.children.second_process"
SECOND_PROCESS_NAIVE = "benchmarks.children.second_process_naive"
#: Seconds a second process's call may take before it counts as deadlocked.
SECOND_PROCESS_DEADLINE_S = 3


@dataclass
class OursCached:
    """Our side: the cold fetch's calls, then the cached asks in-process and in other processes."""

    cold_calls: int
    python_s: float
    sheet_s: float
    warm_calls: int
    attempts: int
    answered: list[tuple[float, dict]]
    hung: list[str]
    child_calls: int


@dataclass
class NaiveAgain:
    """Naive side: no cache, so every ask fetches the pages again."""

    python_s: float
    python_calls: int
    sheet_s: float
    sheet_calls: int
    process_s: float
    child: dict
    child_calls: int


def run(bench: Bench) -> None:
    """A table already fetched: in-process from memory, in another process from the disk cache."""
    warmups, runs = (5, 50) if bench.quick else (20, 300)
    table = Table("FM_MOSTPROMOTED", "US", 14, "day", DAY, rows=500)
    bench.warm_server([table])
    ours = measure_ours(bench, warmups, runs)
    naive = measure_naive(bench, table)
    bench.rows += in_process_rows(ours, naive)
    bench.rows.append(second_process_row(ours, naive))
    if ours.answered:
        first = ours.answered[0][1]
        bench.notes.append(
            f"2. The first fetch cost {ours.cold_calls} calls. Then median of {runs} calls after {warmups} warm-ups "
            f"each; each second process answered from {first['pages_from_cache']} cached pages after "
            f"{first['import_s'] * 1000:.0f} ms of imports; its first call also imports requests-cache "
            "and opens the SQLite file (see 6b). "
            "Naive has no cache: every recalculation fetches the 5 pages again.")
    if ours.hung:
        bench.notes.append(
            f"2c. {len(ours.hung)} of {ours.attempts} second processes hung (killed after "
            f"{SECOND_PROCESS_DEADLINE_S} s). Stack of the first: "
            + " <- ".join(line.strip() for line in ours.hung[0].splitlines() if line.strip().startswith("File")
                          and "xl_fastmoss" in line)[:600])


def median_of(action: Callable[[], object], warmups: int, runs: int) -> float:
    """The median seconds of ``runs`` calls of ``action`` after ``warmups`` untimed ones."""
    for _ in range(warmups):
        action()
    return statistics.median(timed(action)[0] for _ in range(runs))


def measure_ours(bench: Bench, warmups: int, runs: int) -> OursCached:
    """Fetch the table cold, then time it cached: in-process from Python and the sheet, then other processes."""
    with bench.fresh_env():
        _, cold = timed(lambda: most_promoted("US", 14, "day", DAY, rows=500))
        cold_calls = bench.server.call_count
        bench.server.reset_calls()
        python_s = median_of(lambda: most_promoted("US", 14, "day", DAY, rows=500), warmups, runs)
        sheet_s = median_of(lambda: FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 500), warmups, runs)
        shown = FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 500)
        assert len(cold) == 500 and len(shown) == 501, shown[:1]
        warm_calls = bench.server.call_count
        attempts, hung, answered = (1 if bench.quick else 6), [], []
        for _ in range(attempts):
            process_s, child = bench.child(SECOND_PROCESS, DAY, "--deadline", str(SECOND_PROCESS_DEADLINE_S),
                                           check=False)
            (answered.append((process_s, child)) if isinstance(child, dict) else hung.append(child))
        child_calls = bench.server.call_count - warm_calls
    return OursCached(cold_calls, python_s, sheet_s, warm_calls, attempts, answered, hung, child_calls)


def measure_naive(bench: Bench, table: Table) -> NaiveAgain:
    """The same asks through naive code: from Python, from a cell, from a second process."""
    reps = 1 if bench.quick else 3
    bench.server.reset_calls()
    python_s = statistics.median(timed(lambda: naive_fetch(bench.base_url, table))[0] for _ in range(reps))
    python_calls = bench.server.call_count // reps
    bench.server.reset_calls()
    sheet_s = statistics.median(timed(lambda: naive_cell(bench.base_url, table))[0] for _ in range(reps))
    sheet_calls = bench.server.call_count // reps
    bench.server.reset_calls()
    process_s, child = bench.child(SECOND_PROCESS_NAIVE, DAY)
    return NaiveAgain(python_s, python_calls, sheet_s, sheet_calls, process_s, child, bench.server.call_count)


def in_process_rows(ours: OursCached, naive: NaiveAgain) -> list[Row]:
    """Rows 2a (most_promoted) and 2b (FM_MOSTPROMOTED), both served from memory."""
    return [
        Row("2a. cached most_promoted(rows=500), in-process",
            f"{ours.python_s * 1000:.2f} ms", str(ours.warm_calls), f"{naive.python_s:.3f} s",
            str(naive.python_calls), f"x{naive.python_s / ours.python_s:,.0f} faster", "< 5 ms, 0 calls",
            ours.python_s < 0.005 and ours.warm_calls == 0),
        Row('2b. cached FM_MOSTPROMOTED(..., "rows", 500), in-process',
            f"{ours.sheet_s * 1000:.2f} ms", "0" if ours.warm_calls == 0 else "(see 2a)", f"{naive.sheet_s:.3f} s",
            str(naive.sheet_calls), f"x{naive.sheet_s / ours.sheet_s:,.0f} faster", "< 10 ms, 0 calls",
            ours.sheet_s < 0.010 and ours.warm_calls == 0),
    ]


def second_process_row(ours: OursCached, naive: NaiveAgain) -> Row:
    """Row 2c: the table from the disk cache in a second process, beside naive fetching it again."""
    title = "2c. same table in a second process, same cache dir"
    if not ours.answered:
        return Row(title, f"all {ours.attempts} DEADLOCKED", str(ours.child_calls),
                   f"{naive.child['call_s']:.3f} s", str(naive.child_calls), "", "0 calls", False)
    hung_text = (f"; {len(ours.hung)} of {ours.attempts} processes DEADLOCKED" if ours.hung
                 else f" ({ours.attempts} processes)")
    call_s = statistics.median(c["call_s"] for _, c in ours.answered)
    process_s = statistics.median(p for p, _ in ours.answered)
    return Row(
        title, f"{call_s * 1000:.0f} ms (process {process_s:.2f} s){hung_text}", str(ours.child_calls),
        f"{naive.child['call_s']:.3f} s (process {naive.process_s:.2f} s)", str(naive.child_calls),
        f"x{naive.child['call_s'] / call_s:.0f} faster", "0 calls",
        not ours.hung and ours.child_calls == 0
        and all(c["api_calls"] == 0 and c["rows"] == 500 for _, c in ours.answered))
