"""Scenario 7: memory held for 1 table of 500 rows, then 10, measured in child processes; and the
tables a client holds, bounded (least recently used out)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from benchmarks.harness import Bench
from benchmarks.report import Row

MEMORY_CHILD = "benchmarks.children.memory"
#: Memory does not depend on waiting; a short latency keeps the run short.
MEMORY_LATENCY_S = 0.01
MB = 1 / 2**20


def run(bench: Bench) -> None:
    """Memory held for 1 table of 500 rows, then 10: it should grow by the tables, no more."""
    with bench.fresh_env():
        bench.server.latency = MEMORY_LATENCY_S
        # Side by side: each child measures its own allocations, so they need not take turns.
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(bench.child, MEMORY_CHILD, mode) for mode in ("ours", "naive")]
            ours, naive = (future.result()[1] for future in futures)
    growth = ours["ten"] / ours["one"]
    bench.rows.append(Row(
        "7. memory held, 1 vs 10 tables of 500 rows (tracemalloc)",
        held_figure(ours), "", held_figure(naive), "", f"x{ours['ten'] / naive['ten']:.2f} of naive",
        "10 tables ~ 10 x 1 table (x8..x12)", 8 <= growth <= 12))
    bench.notes.append(
        f"7. Python allocations retained while the caller holds the frames (one warm-up table fetched "
        f"before measuring). One parsed frame is {ours['frame_bytes'] * MB:.2f} MB deep "
        f"(naive's json_normalize frame: {naive['frame_bytes'] * MB:.2f} MB); per table ours retains "
        f"{ours['ten'] / 10 * MB:.2f} MB, naive {naive['ten'] / 10 * MB:.2f} MB. RSS growth for 10 tables: "
        f"ours {ours['rss_ten'] * MB:.1f} MB, naive {naive['rss_ten'] * MB:.1f} MB. "
        f"Latency {MEMORY_LATENCY_S * 1000:.0f} ms here.")
    bench.rows.append(bounded_row(bench))


#: The bound of row 7b, and the "no bound" beside it (more tables than are asked).
LRU_LIMIT, NO_LIMIT = 10, 100_000


def bounded_row(bench: Bench) -> Row:
    """Row 7b: a client asked for 40 distinct tables holds only the FASTMOSS_MEMORY_TABLES most recent."""
    with bench.fresh_env():
        bench.server.latency = MEMORY_LATENCY_S
        bounded = bench.child(MEMORY_CHILD, "lru", str(LRU_LIMIT))[1]
        unbounded = bench.child(MEMORY_CHILD, "lru", str(NO_LIMIT))[1]
    assert isinstance(bounded, dict) and isinstance(unbounded, dict)
    return Row(
        f"7b. tables held by the client after {bounded['tables']} distinct 100-row tables (caller keeps none)",
        f"FASTMOSS_MEMORY_TABLES={LRU_LIMIT}: {bounded['in_memory']} tables, {bounded['held'] * MB:.1f} MB", "",
        f"without a bound (the earlier client): {unbounded['in_memory']} tables, {unbounded['held'] * MB:.1f} MB",
        "", f"x{unbounded['held'] / bounded['held']:.1f} less held", f"<= {LRU_LIMIT} tables held",
        bounded["in_memory"] <= LRU_LIMIT)


def held_figure(measured: dict) -> str:
    """One child's figures: MB held for 1 table and for 10, their ratio and the peak."""
    return (f"1: {measured['one'] * MB:.1f} MB, 10: {measured['ten'] * MB:.1f} MB "
            f"(x{measured['ten'] / measured['one']:.1f}; peak {measured['ten_peak'] * MB:.1f} MB)")
