"""Child of scenario 9: one fetch of a page the fake answers with a hostile fault, timed, its peak memory read.

    python -m benchmarks.children.hostile_answer [--deadline SECONDS]

The parent has queued the fault. Prints one line of JSON: seconds (from the call to its
error), peak_rss (bytes, this process's own peak resident set), error (``Type: message``), and
base_rss (the peak before the call: imports and the client).
"""

import argparse
import json
import time

from benchmarks.children.resident import peak_rss
from benchmarks.children.watchdog import arm_watchdog
from benchmarks.tables import DAY
from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.errors import FastMossError


def main(argv: list[str] | None = None) -> None:
    arm_watchdog()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=None, help="the page's deadline (retry_deadline), s")
    args = parser.parse_args(argv)
    with FastMossClient(Settings.load(max_retries=0, retry_deadline=args.deadline)) as client:
        base = peak_rss()
        started = time.perf_counter()
        try:
            client.most_promoted("US", 14, "day", DAY)
            error = "none: the page was accepted"
        except FastMossError as failure:
            error = f"{type(failure).__name__}: {failure.message}"
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss": peak_rss(), "base_rss": base, "error": error}))


if __name__ == "__main__":
    main()
