"""Scenario 3b: 2 and 4 processes on one cache folder asking for the same 500-row table at once."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.harness import CHILD_TIMEOUT_S, Bench, child_environment
from benchmarks.report import Row
from benchmarks.tables import DAY, Table

SAME_TABLE = "benchmarks.children.same_table"
PROCESSES = (2, 4)


def run(bench: Bench) -> None:
    """2 and 4 processes on one cache folder asking for one 500-row table at the same moment: 5 calls in all."""
    bench.warm_server([Table("FM_MOSTPROMOTED", "US", 14, "day", DAY, rows=500)])
    for count in PROCESSES:
        with bench.fresh_env():
            ours = at_once(count, "ours")
            ours_calls = bench.server.call_count
        bench.server.reset_calls()
        naive = at_once(count, "naive")
        naive_calls = bench.server.call_count
        assert all(child["rows"] == 500 for child in ours + naive), (ours, naive)
        ours_s, naive_s = (max(child["seconds"] for child in side) for side in (ours, naive))
        from_cache = sum(child["pages_from_cache"] for child in ours)
        bench.rows.append(Row(
            f"3b. {count} processes, one cache folder, same 500-row table at once",
            f"{ours_s:.3f} s = {bench.rt(ours_s):.2f} RT (last to finish; {from_cache} pages read from the cache)",
            str(ours_calls), f"{naive_s:.3f} s = {bench.rt(naive_s):.2f} RT", str(naive_calls),
            f"x{naive_calls / ours_calls:.0f} fewer calls", "5 calls in all", ours_calls == 5))
    bench.notes.append(
        "3b. Each process builds its client (the cache open), says it is ready, and all are released "
        "together; a page's lock in the cache folder (filelock) is held while calling, so the others "
        "wait for its answer and read it from the cache. Seconds are each process's fetch alone; the "
        "slowest shown. Naive: the same processes with requests, no cache.")


def at_once(count: int, mode: str) -> list[dict]:
    """``count`` same_table children, released together once all are ready; what each printed."""
    children = [subprocess.Popen([sys.executable, "-m", SAME_TABLE, mode, DAY], env=child_environment(),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(count)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready", child.stderr
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        done = [child.communicate(timeout=CHILD_TIMEOUT_S) for child in children]
    finally:
        for child in children:
            child.kill()
    failed = [err for child, (_, err) in zip(children, done, strict=True) if child.returncode != 0]
    if failed:
        raise RuntimeError(f"child {SAME_TABLE} failed:\n{failed[0]}")
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in done]
