"""Child of scenario 2c: a second process asks for the table the first one cached on disk.

    python -m benchmarks.children.second_process DAY [--deadline SECONDS]

Prints one line of JSON: import_s (importing xl_fastmoss), call_s (the most_promoted call),
rows, api_calls and pages_from_cache (the default client's stats).
"""

import argparse
import json
import time

from benchmarks.children.watchdog import arm_watchdog

IMPORTS_STARTED = time.perf_counter()
import xl_fastmoss  # noqa: E402 -- timed: what a second process pays before its first call
from xl_fastmoss.client import default_client  # noqa: E402

IMPORT_S = time.perf_counter() - IMPORTS_STARTED


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("day", help="the day of the cached table, YYYY-MM-DD")
    parser.add_argument("--deadline", type=float, default=3,
                        help="seconds the call may take before the child dumps its threads and exits")
    args = parser.parse_args(argv)
    arm_watchdog(args.deadline)  # the call takes milliseconds when it works
    started = time.perf_counter()
    frame = xl_fastmoss.most_promoted("US", 14, "day", args.day, rows=500)
    call_s = time.perf_counter() - started
    stats = default_client().stats
    print(json.dumps({"import_s": IMPORT_S, "call_s": call_s, "rows": len(frame),
                      "api_calls": stats.api_calls, "pages_from_cache": stats.pages_from_cache}))


if __name__ == "__main__":
    main()
