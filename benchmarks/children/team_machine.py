"""Child of scenario 8: one analyst's machine refreshing the dashboard when told to.

    python -m benchmarks.children.team_machine SOURCE OUTPUT

Prints "ready" once its client is built, waits for a line on stdin, refreshes SOURCE into OUTPUT
(headless, refresh=False), then prints one line of JSON: api_calls, pages_from_cache, seconds
(the refresh alone), ok, problems, shared (whether the client's cache is the team's).
"""

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.children.watchdog import arm_watchdog
from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.headless import refresh_workbook


def main(argv: list[str] | None = None) -> None:
    arm_watchdog()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the dashboard workbook")
    parser.add_argument("output", type=Path, help="where to write its values copy")
    args = parser.parse_args(argv)
    client = FastMossClient(Settings.load())
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    report = refresh_workbook(args.source, args.output, client, refresh=False)
    seconds = time.perf_counter() - started
    print(json.dumps({"api_calls": client.stats.api_calls, "pages_from_cache": client.stats.pages_from_cache,
                      "seconds": seconds, "ok": report.ok, "problems": report.problems,
                      "shared": client.cache.shared}), flush=True)
    client.close()


if __name__ == "__main__":
    main()
