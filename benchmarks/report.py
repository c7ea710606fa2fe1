"""The report: one row per scenario figure, the table, the machine, and the BENCHMARKS.md text."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
from dataclasses import dataclass
from pathlib import Path

#: The command that writes the report, as the report names it.
COMMAND = "python -m benchmarks"
HEADER = ["scenario", "ours", "ours calls", "naive", "naive calls", "naive/ours", "target", "met?"]

INTRODUCTION = (
    "Ours is xl_fastmoss; naive is the obvious `requests` code: pages one after the other, no "
    "cache, one fetch per cell. Exact call counts and deduplication are asserted by "
    "`tests/test_performance_counts.py`; times here are not asserted anywhere.")
TARGETS_READ_AS = (
    "Targets as read from the issue: \"no more than two round trips\" is checked as two waves of "
    "calls (a wave waits for an answer before it is sent; the wall time adds CPU to the round "
    "trips); \"close to ceil(calls / concurrency) round trips\" is read as at most one round trip "
    "more; \"adds little\" to the imports is read as at most 20% more. Packages in the import "
    "breakdown nest (a package's time includes the packages it imports).")


@dataclass
class Row:
    """One line of the table: a scenario's figures, ours beside naive, and its target."""

    scenario: str
    ours: str
    ours_calls: str
    naive: str
    naive_calls: str
    ratio: str
    target: str
    met: bool | None

    def cells(self) -> list[str]:
        met = {True: "yes", False: "**NO**", None: "n/a"}[self.met]
        return [self.scenario, self.ours, self.ours_calls, self.naive, self.naive_calls,
                self.ratio, self.target, met]


def table_text(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """CPUs, CPU model, system and Python of this machine, on one line."""
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return (f"{os.cpu_count()} CPUs (nproc {usable}), "
            f"{cpu}; {platform.system()} {platform.release()}; Python {platform.python_version()}")


def markdown(rows: list[Row], notes: list[str], *, latency: float, quick: bool, command: str,
             seconds: float) -> str:
    """BENCHMARKS.md: how the figures were made, the table, and the notes."""
    return "\n".join([
        "# Benchmarks",
        "",
        f"Written by `{COMMAND}`; the figures below are from its latest run.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        (f"- Fake server latency: {latency * 1000:.0f} ms per call (RT = time / latency); "
         f"whole run {seconds:.0f} s{' (--quick)' if quick else ''}"),
        "",
        INTRODUCTION,
        "",
        table_text(rows),
        "",
        "## Notes",
        "",
        *[f"- {note}" for note in notes],
        "",
        TARGETS_READ_AS,
        "",
    ])
