"""Child of scenario 6c: a fresh process's first table, not cached anywhere (500 rows).

    python -m benchmarks.children.cold_process CATEGORY DAY

Prints one line of JSON: base_s (pandas, requests, xlwings), after_s (importing xl_fastmoss and
fetching the table, after those three), rows, api_calls, and team (whether the redis package, the
``team`` extra, could be imported: it is not imported here).
"""

import argparse
import importlib.util
import json
import time

from benchmarks.children.watchdog import arm_watchdog

BASE_STARTED = time.perf_counter()
import pandas  # noqa: E402, F401 -- timed: the three imports an Excel session pays anyway
import requests  # noqa: E402, F401
import xlwings  # noqa: E402, F401

BASE_DONE = time.perf_counter()


def main(argv: list[str] | None = None) -> None:
    arm_watchdog()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("category", type=int, help="a category no earlier process of this cache asked for")
    parser.add_argument("day", help="the day of the table, YYYY-MM-DD")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    import xl_fastmoss
    from xl_fastmoss.client import default_client

    frame = xl_fastmoss.most_promoted("US", args.category, "day", args.day, rows=500)
    after = time.perf_counter() - started
    print(json.dumps({"base_s": BASE_DONE - BASE_STARTED, "after_s": after, "rows": len(frame),
                      "api_calls": default_client().stats.api_calls,
                      "team": importlib.util.find_spec("redis") is not None}))


if __name__ == "__main__":
    main()
