"""Child of scenario 6: what importing the UDF module costs beyond pandas, requests and xlwings.

    python -m benchmarks.children.import_times DAY [--import-only]

Prints one line of JSON: base_s (pandas, requests, xlwings), extra_s (xl_fastmoss.udfs after
them) and, unless --import-only, first_call_s (the first FM_MOSTPROMOTED of the session, 100
rows of DAY). Scenario 6 also runs it under ``python -X importtime`` for its breakdown.
"""

import argparse
import json
import time

from benchmarks.children.watchdog import arm_watchdog

BASE_STARTED = time.perf_counter()
import pandas  # noqa: E402, F401 -- timed: the three imports an Excel session pays anyway
import requests  # noqa: E402, F401
import xlwings  # noqa: E402, F401

BASE_DONE = time.perf_counter()
import xl_fastmoss.udfs  # noqa: E402 -- timed: what the add-in adds to them

UDFS_DONE = time.perf_counter()


def main(argv: list[str] | None = None) -> None:
    arm_watchdog()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("day", help="the day of the table (cached by the parent), YYYY-MM-DD")
    parser.add_argument("--import-only", action="store_true", help="import only, make no FM_ call")
    args = parser.parse_args(argv)
    timings = {"base_s": BASE_DONE - BASE_STARTED, "extra_s": UDFS_DONE - BASE_DONE}
    if not args.import_only:
        started = time.perf_counter()
        shown = xl_fastmoss.udfs.FM_MOSTPROMOTED("US", 14, "day", args.day, "rows", 100)
        timings["first_call_s"] = time.perf_counter() - started
        assert len(shown) == 101, shown[:1]
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
