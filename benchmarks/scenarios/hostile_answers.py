"""Scenario 9: hostile answers (a 100 MB page, a gzip bomb, a server dripping bytes) end fast and small."""

from __future__ import annotations

import requests

from benchmarks.harness import Bench
from benchmarks.report import Row
from benchmarks.tables import DAY, PATHS, Table
from xl_fastmoss.fake_server import FAKE_API_KEY, Fault

HOSTILE_CHILD = "benchmarks.children.hostile_answer"
#: What issue 10 asks of each: an error within 10 s, under 300 MB of memory.
TARGET_S = 10.0
TARGET_RSS = 300 * 2**20
#: The page deadline the dripping server is given (the default, 60 s, would make a long run).
DRIP_DEADLINE_S = 5.0
MB = 1 / 2**20

CASES = (
    ("9a. 100 MB page (Content-Length 100 MB)", Fault.HUGE_BODY, {}, ()),
    ("9b. 100 MB page, no Content-Length", Fault.HUGE_BODY, {"length": False}, ()),
    ("9c. gzip bomb, 2 MB that inflate to 2 GB", Fault.GZIP_BOMB, {}, ()),
    (f"9d. one byte a second, page deadline {DRIP_DEADLINE_S:g} s", Fault.DRIP, {"interval": 1.0},
     ("--deadline", str(DRIP_DEADLINE_S))),
)


def run(bench: Bench) -> None:
    """Hostile answers: each fetch ends in one line, within 10 s and under 300 MB of memory."""
    errors = []
    for label, fault, params, child_args in CASES:
        with bench.fresh_env():
            bench.server.latency = 0
            if fault is Fault.GZIP_BOMB:
                warm_the_bomb(bench)
            bench.server.inject(fault, **params)
            _, child = bench.child(HOSTILE_CHILD, *child_args)
        assert isinstance(child, dict)
        within = child["seconds"] <= TARGET_S and child["peak_rss"] < TARGET_RSS
        bench.rows.append(Row(
            label, f"error after {child['seconds']:.2f} s; peak RSS {child['peak_rss'] * MB:.0f} MB "
                   f"(+{(child['peak_rss'] - child['base_rss']) * MB:.0f} MB for the call)",
            "1", "(not run: reads it all)", "", "", f"< {TARGET_S:g} s, < {TARGET_RSS * MB:.0f} MB", within))
        errors.append(f"{label.split('.')[0]}: {child['error']}")
    bench.notes.append(
        "9. One fetch in a fresh child process (max_retries 0), the fault queued on the fake; peak RSS is "
        "the child's own (VmHWM on Linux), imports and client included (the call's own growth in brackets). Naive "
        "`requests` code is not run here: it reads the whole body (the bomb inflates past 2 GB; the drip "
        "takes a day). What each child was told: " + "; ".join(errors) + ".")


def warm_the_bomb(bench: Bench) -> None:
    """Have the fake build its bomb once (a CRC over 2 GB, ~0.6 s): the vendor's cost, not ours."""
    bench.server.inject(Fault.GZIP_BOMB)
    table = Table("FM_MOSTPROMOTED", "US", 14, "day", DAY)
    with requests.post(bench.base_url + PATHS[table.function], json=table.naive_body(1), stream=True, timeout=30,
                       headers={"Authorization": f"Bearer {FAKE_API_KEY}"}) as response:
        response.raw.read(1024, decode_content=False)
    bench.server.reset_calls()
