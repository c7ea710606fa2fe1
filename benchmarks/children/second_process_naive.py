"""Child of scenario 2c, naive side: a second process fetches the table again, as naive code must.

    python -m benchmarks.children.second_process_naive DAY

Prints one line of JSON: call_s (the naive fetch of 500 rows) and rows.
"""

import argparse
import json
import os
import time

from benchmarks.children.watchdog import arm_watchdog
from benchmarks.naive import naive_fetch
from benchmarks.tables import Table


def main(argv: list[str] | None = None) -> None:
    arm_watchdog()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("day", help="the day of the table, YYYY-MM-DD")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = naive_fetch(os.environ["FASTMOSS_BASE_URL"],
                        Table("FM_MOSTPROMOTED", "US", 14, "day", args.day, rows=500))
    print(json.dumps({"call_s": time.perf_counter() - started, "rows": len(frame)}))


if __name__ == "__main__":
    main()
