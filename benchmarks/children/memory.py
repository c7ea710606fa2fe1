"""Child of scenario 7: memory held for 1 table of 500 rows, then for 10, ours or naive.

    python -m benchmarks.children.memory {ours,naive}
    python -m benchmarks.children.memory lru LIMIT

Prints one line of JSON: one, ten (bytes traced by tracemalloc while the frames are held),
one_peak, ten_peak, rss_one, rss_ten (RSS growth), tables, frame_bytes (one frame, deep).
With ``lru``: held (bytes a client with FASTMOSS_MEMORY_TABLES=LIMIT still holds after
LRU_TABLES distinct 100-row tables, their frames dropped by the caller) and in_memory (tables it holds).
"""

import argparse
import gc
import json
import os
import tracemalloc
from collections.abc import Callable

import pandas as pd

from benchmarks.children.watchdog import arm_watchdog
from benchmarks.naive import naive_fetch
from benchmarks.tables import DAY, ENDPOINT_NAMES, Table
from xl_fastmoss import FastMossClient, Settings

#: The first is fetched before measuring (code paths, pools and connections warmed), then 1, then 9 more.
MEMORY_TABLES = tuple(Table("FM_TOPSELLING", region, 14, "day", DAY, rows=500)
                      for region in ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH"))


def table_fetcher(mode: str, base_url: str) -> Callable[[Table], pd.DataFrame]:
    """How ``mode`` gets a table's 500 rows as a frame: our client, or naive code."""
    if mode == "ours":
        client = FastMossClient(Settings.load())

        def fetch(table: Table) -> pd.DataFrame:
            return client.ranking(ENDPOINT_NAMES[table.function], table.region, table.category_id,
                                  table.date_type, table.date_value, rows=500).frame
        return fetch

    def fetch_naively(table: Table) -> pd.DataFrame:
        return naive_fetch(base_url, table, 500)
    return fetch_naively


def rss() -> int:
    """This process's resident set size, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(fetch: Callable[[Table], pd.DataFrame]) -> dict:
    """Fetch a warm-up table, then measure what 1 table held costs, then 10."""
    fetch(MEMORY_TABLES[0])
    gc.collect()
    tracemalloc.start()
    rss0 = rss()
    held = [fetch(MEMORY_TABLES[1])]
    gc.collect()
    one, one_peak = tracemalloc.get_traced_memory()
    rss1 = rss()
    held += [fetch(table) for table in MEMORY_TABLES[2:11]]
    gc.collect()
    ten, ten_peak = tracemalloc.get_traced_memory()
    return {"one": one, "ten": ten, "one_peak": one_peak, "ten_peak": ten_peak,
            "rss_one": rss1 - rss0, "rss_ten": rss() - rss0, "tables": len(held),
            "frame_bytes": int(sum(f.memory_usage(deep=True).sum() for f in held) / len(held))}


#: Distinct tables of 100 rows the lru mode asks for, one after the other.
LRU_TABLES = tuple(Table("FM_MOSTPROMOTED", region, category, "day", DAY, rows=100)
                   for region in ("US", "GB") for category in range(1, 21))


def measure_lru(limit: int) -> dict:
    """What a client bounded to ``limit`` tables holds after LRU_TABLES, the caller keeping none."""
    client = FastMossClient(Settings.load(memory_tables=limit))
    client.ranking("most_promoted", "MX", 14, "day", DAY, rows=100)  # warm-up, evicted like any other
    gc.collect()
    tracemalloc.start()
    for table in LRU_TABLES:
        client.ranking(ENDPOINT_NAMES[table.function], table.region, table.category_id, table.date_type,
                       table.date_value, rows=100)
    gc.collect()
    held, _peak = tracemalloc.get_traced_memory()
    return {"held": held, "in_memory": len(client._tables), "tables": len(LRU_TABLES), "limit": limit}


def main(argv: list[str] | None = None) -> None:
    arm_watchdog()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("ours", "naive", "lru"), help="xl_fastmoss's client, naive code, "
                        "or our client's table memory bound")
    parser.add_argument("limit", type=int, nargs="?", default=10, help="lru: FASTMOSS_MEMORY_TABLES")
    args = parser.parse_args(argv)
    if args.mode == "lru":
        print(json.dumps(measure_lru(args.limit)))
        return
    print(json.dumps(measure(table_fetcher(args.mode, os.environ["FASTMOSS_BASE_URL"]))))


if __name__ == "__main__":
    main()
