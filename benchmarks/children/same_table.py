"""Child of scenario 3b: one of several processes asking for the same 500-row table at once.

    python -m benchmarks.children.same_table {ours,naive} DAY

Prints "ready" once its client is built (ours) or requests imported (naive), waits for a line on
stdin, fetches the table, then prints one line of JSON: seconds (the fetch alone), rows,
api_calls and pages_from_cache (ours; naive has no cache).
"""

import argparse
import json
import os
import sys
import time

from benchmarks.children.watchdog import arm_watchdog
from benchmarks.naive import naive_fetch
from benchmarks.tables import Table
from xl_fastmoss import FastMossClient, Settings


def main(argv: list[str] | None = None) -> None:
    arm_watchdog()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("ours", "naive"), help="xl_fastmoss's client or naive code")
    parser.add_argument("day", help="the day of the table, YYYY-MM-DD")
    args = parser.parse_args(argv)
    table = Table("FM_MOSTPROMOTED", "US", 14, "day", args.day, rows=500)
    client = FastMossClient(Settings.load()) if args.mode == "ours" else None
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    if client is not None:
        rows = len(client.most_promoted("US", 14, "day", args.day, rows=500).frame)
    else:
        rows = len(naive_fetch(os.environ["FASTMOSS_BASE_URL"], table))
    seconds = time.perf_counter() - started
    stats = client.stats if client is not None else None
    print(json.dumps({"seconds": seconds, "rows": rows, "api_calls": stats.api_calls if stats else None,
                      "pages_from_cache": stats.pages_from_cache if stats else None}), flush=True)
    if client is not None:
        client.close()


if __name__ == "__main__":
    main()
