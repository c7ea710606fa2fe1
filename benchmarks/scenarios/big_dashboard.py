"""Scenario 4c: a dashboard of 200 FM_ formulas refreshed, then recalculated, in a fresh process.

The network limit is the fewest rounds of ``max_concurrency`` calls in which every query's first
page comes before its later pages (it tells how long the ranking is), times the latency. Unit
calls on identical slots with such precedence (each query an out-tree of depth 2) are scheduled
optimally by Hu's highest-level-first rule run backwards in time (an out-forest reversed is an
in-forest); :func:`fewest_rounds` simulates it. It is at least ceil(pages / max_concurrency).
"""

from __future__ import annotations

import collections
import json
import math

from benchmarks.children.big_dashboard import NAIVE_THREADS, big_dashboard
from benchmarks.harness import Bench
from benchmarks.report import Row
from xl_fastmoss.settings import DEFAULT_MAX_CONCURRENCY

CHILD = "benchmarks.children.big_dashboard"
MB = 1 / 2**20
#: The issue's targets: cold within 1.2 x (network limit + start-up), warm 2.5 s, 250 MB peak.
COLD_FACTOR, WARM_LIMIT_S, PEAK_LIMIT_BYTES = 1.2, 2.5, 250 * 2**20
#: Sessions run for the cold figures (the median one is shown): one session varies by half a
#: second from the next on these shared machines. With --quick, one.
COLD_RUNS = 3
#: With --quick, naive code fills every Nth formula only; its time is scaled up by N.
QUICK_NAIVE_EVERY = 4


def run(bench: Bench) -> None:
    """A refresh of 200 FM_ formulas (88 queries), then every cell, then a recalculation; one process."""
    cells = big_dashboard()
    queries = list({t.with_rows(500): None for _, _, t in cells})
    bench.warm_server(queries)
    every = QUICK_NAIVE_EVERY if bench.quick else 1
    sessions = []  # (cold seconds, whole process seconds, the child's figures, the calls it made)
    for _ in range(1 if bench.quick else COLD_RUNS):
        with bench.fresh_env():
            whole_s, ours = bench.child(CHILD, "ours")
            assert isinstance(ours, dict)
            sessions.append((_cold_s(ours), whole_s, ours, bench.server.calls))
    sessions.sort(key=lambda session: session[0])
    colds = [cold for cold, *_ in sessions]
    _, whole_s, ours, calls = sessions[len(sessions) // 2]
    assert all(len(session[3]) == len(calls) for session in sessions)
    # Each child runs alone, so that none shares the two cores with another.
    with bench.fresh_env():
        _, floor = bench.child(CHILD, "floor")
    with bench.fresh_env():
        _, naive = bench.child(CHILD, "naive", "--every", str(every))
        naive_calls = bench.server.call_count * every
    assert isinstance(ours, dict) and isinstance(naive, dict) and isinstance(floor, dict)
    pages = pages_per_query(calls)
    distinct = sum(pages.values())
    concurrency = DEFAULT_MAX_CONCURRENCY
    rounds = fewest_rounds(list(pages.values()), concurrency)
    limit_s = rounds * bench.latency
    startup_s = ours["imports_s"] + ours["open_s"]
    cold_s = _cold_s(ours)
    spread = (f"median of {len(colds)} sessions, cold {', '.join(f'{c:.2f}' for c in colds)} s: " if len(colds) > 1
              else "")
    naive_s = naive["imports_s"] + naive["cells_s"] * every
    cold_target = COLD_FACTOR * (limit_s + startup_s)
    peak = max(session[2]["rss_peak"] for session in sessions)
    estimated = " (est. from every 4th formula)" if every > 1 else ""
    bench.rows += [
        Row(f"4c. dashboard of {ours['formulas']} FM_ formulas ({len(pages)} queries), cold: "
            "start-up + refresh + every cell",
            f"{cold_s:.2f} s ({spread}start-up {startup_s:.2f} + refresh {ours['refresh_s']:.2f} + cells "
            f"{ours['cells_s']:.2f})", str(len(calls)), f"{naive_s:.2f} s{estimated}", str(naive_calls),
            f"x{naive_s / cold_s:.1f} faster",
            f"<= {COLD_FACTOR} x ({limit_s:.1f} s limit + {startup_s:.2f} s) = {cold_target:.2f} s",
            cold_s <= cold_target and len(calls) == distinct),
        Row("4d. the same dashboard warm: every formula again (a recalculation)",
            f"{ours['warm_s']:.2f} s ({ours['warm_s'] / ours['formulas'] * 1000:.1f} ms a formula)", "0",
            f"{naive['cells_s'] * every:.2f} s (no cache: as cold){estimated}", str(naive_calls),
            f"x{naive['cells_s'] * every / ours['warm_s']:.0f} faster", f"<= {WARM_LIMIT_S} s",
            ours["warm_s"] <= WARM_LIMIT_S),
        Row("4e. the same dashboard: peak memory of the process (RSS)",
            f"{peak * MB:.0f} MB{' (the highest of the sessions)' if len(sessions) > 1 else ''}", "",
            f"{naive['rss_peak'] * MB:.0f} MB", "", f"x{peak / naive['rss_peak']:.2f} of naive",
            f"<= {PEAK_LIMIT_BYTES * MB:.0f} MB", peak <= PEAK_LIMIT_BYTES),
    ]
    bench.notes.append(
        f"4c-4e. {len(sessions)} fresh process{'es' * (len(sessions) > 1)}, one after the other, the figures of the "
        f"median one by cold time ({whole_s:.1f} s in all), each as an Excel session: start-up (pandas, "
        f"requests, xlwings, xl_fastmoss.udfs and .macros imported {ours['imports_s']:.2f} s; the client "
        f"opened {ours['open_s']:.2f} s), the refresh button's work (plan_refresh, the estimate, "
        "fetch_plan(refresh=True), the refresh record), then each formula's UDF called by a new client "
        "(the UDF server, nothing in memory, reads the refreshed pages from the cache), one after the other, "
        f"then each again (warm). {distinct} distinct pages ({page_mix(pages)}); network limit = {rounds} rounds of "
        f"{concurrency} calls x {bench.latency * 1000:.0f} ms = {limit_s:.1f} s (ceil({distinct} / "
        f"{concurrency}) = {math.ceil(distinct / concurrency)}; the first page of each query must come "
        f"before its later pages). The calls alone (every distinct page asked with requests, {NAIVE_THREADS} at "
        f"a time, nothing read, no order) take {floor['seconds']:.2f} s on this machine "
        f"(x{floor['seconds'] / limit_s:.2f} of the limit; ours refresh x{ours['refresh_s'] / floor['seconds']:.2f} "
        f"of that). Peak RSS after the imports alone: {ours['rss_imported'] * MB:.0f} MB. Naive: each formula "
        f"fetches its own pages, {NAIVE_THREADS} formulas at a time, "
        "no cache.")


def _cold_s(ours: dict) -> float:
    """A session's cold time: start-up, the refresh and every cell."""
    return ours["imports_s"] + ours["open_s"] + ours["refresh_s"] + ours["cells_s"]


def pages_per_query(calls) -> dict[tuple[str, str], int]:
    """The distinct pages the server was asked, per query (the body without its page)."""
    pages: dict[tuple[str, str], set] = collections.defaultdict(set)
    for call in calls:
        body = dict(call.body)
        page = body.pop("page", 1)
        body.pop("pagesize", None)
        pages[(call.path, json.dumps(body, sort_keys=True))].add(page)
    return {query: len(asked) for query, asked in pages.items()}


def fewest_rounds(pages: list[int], concurrency: int) -> int:
    """Rounds of ``concurrency`` calls for queries of ``pages`` pages, each first page before the rest.

    Backwards in time a query's later pages come first (highest level), its first page once they
    all have; filling each round with the highest level available is optimal (Hu, 1961).
    """
    later = [count - 1 for count in pages]
    firsts_left = len(pages)
    rounds = 0
    while firsts_left:
        slots = concurrency
        ready = [i for i, left in enumerate(later) if left == 0]  # before this round's later pages
        for i in sorted(range(len(later)), key=lambda i: -later[i]):
            taken = min(slots, max(0, later[i]))
            later[i] -= taken
            slots -= taken
        for i in ready[:slots]:
            later[i] = -1  # its first page is done
            firsts_left -= 1
        rounds += 1
    return rounds


def page_mix(pages: dict) -> str:
    counts = collections.Counter(pages.values())
    return ", ".join(f"{n} queries of {size} page{'s' * (size > 1)}" for size, n in sorted(counts.items()))

