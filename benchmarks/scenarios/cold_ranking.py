"""Scenario 1: a 500-row ranking not cached anywhere."""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass, field

from benchmarks.counting import CountingSession
from benchmarks.harness import Bench, timed
from benchmarks.naive import naive_fetch
from benchmarks.report import Row
from benchmarks.tables import DAY, Table
from xl_fastmoss import FastMossClient, Settings


@dataclass
class ColdFetches:
    """Seconds of each cold fetch, ours and naive, and the calls and waves each cost."""

    ours: list[float] = field(default_factory=list)
    naive: list[float] = field(default_factory=list)
    ours_calls: set[int] = field(default_factory=set)
    naive_calls: set[int] = field(default_factory=set)
    waves: set[int] = field(default_factory=set)


def run(bench: Bench) -> None:
    """A 500-row ranking not cached anywhere: 5 calls, the first alone, the other 4 together."""
    reps = 1 if bench.quick else 3
    tables = [Table("FM_MOSTPROMOTED", "US", category, "day", DAY, rows=500) for category in range(1, 2 * reps + 1)]
    bench.warm_server(tables)
    fetches = cold_fetches(bench, tables[:reps])
    floor = cpu_floor(bench, tables[reps:])
    ours_s, naive_s = statistics.median(fetches.ours), statistics.median(fetches.naive)
    calls, wave = max(fetches.ours_calls), max(fetches.waves)
    bench.rows.append(Row(
        "1. 500-row ranking, cold",
        f"{ours_s:.3f} s = {bench.rt(ours_s):.2f} RT ({wave} waves of calls)", str(calls),
        f"{naive_s:.3f} s = {bench.rt(naive_s):.2f} RT", str(max(fetches.naive_calls)),
        f"x{naive_s / ours_s:.1f} faster", "5 calls in 2 waves (2 RT + CPU)",
        fetches.ours_calls == {5} and fetches.waves == {2}))
    bench.notes.append(
        f"1. Median of {reps} cold fetches (a new category each, fresh cache). The same fetch at "
        f"latency 0 takes {floor * 1000:.0f} ms (client and in-process fake server CPU), so "
        f"{ours_s:.3f} s is {bench.rt(ours_s - floor):.2f} RT of waiting plus that CPU. A wave is a call "
        "sent only after an earlier one answered: ours sends page 1 alone (it tells the total), then "
        "pages 2-5 together; naive sends pages 1..5 one after the other (5 waves).")


def cold_fetches(bench: Bench, tables: list[Table]) -> ColdFetches:
    """Each table fetched cold by our client (fresh cache), then by naive code."""
    fetches = ColdFetches()
    for table in tables:
        with bench.fresh_env():
            session = CountingSession()
            with FastMossClient(Settings.load(), session=session) as client:
                seconds, result = timed(functools.partial(
                    client.most_promoted, table.region, table.category_id, "day", DAY, rows=500))
            assert len(result.frame) == 500
            fetches.ours.append(seconds)
            fetches.ours_calls.add(bench.server.call_count)
            fetches.waves.add(session.waves)
        bench.server.reset_calls()
        seconds, frame = timed(functools.partial(naive_fetch, bench.base_url, table))
        assert len(frame) == 500
        fetches.naive.append(seconds)
        fetches.naive_calls.add(bench.server.call_count)
    return fetches


def cpu_floor(bench: Bench, spare_tables: list[Table]) -> float:
    """A ranking at latency 0: the CPU (client and fake server) beyond the round trips, median."""
    floors = []
    for spare in spare_tables:
        with bench.fresh_env():
            bench.server.latency = 0
            with FastMossClient(Settings.load()) as client:
                floors.append(timed(functools.partial(
                    client.most_promoted, spare.region, spare.category_id, "day", DAY, rows=500))[0])
    return statistics.median(floors)
