"""The command line: parse the options, run the chosen scenarios, print and write the report."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import benchmarks
from benchmarks.harness import Bench, Deadlock, guarded, log, open_bench, timed
from benchmarks.report import COMMAND, Row, machine, markdown, table_text
from benchmarks.scenarios import (
    SCENARIOS,
    scenario_name,
    scenario_summary,
    scenarios_named,
)

#: Seconds a scenario may take before it counts as deadlocked.
SCENARIO_DEADLINE_S = 120


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=COMMAND, description=benchmarks.__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds added to every call (default 0.2)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under 30 s)")
    parser.add_argument("--output", type=Path, default=None, help="also write the figures to this Markdown file")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", choices=[scenario_name(s) for s in SCENARIOS],
                        help="run these scenarios only (in report order); --list names them")
    parser.add_argument("--list", action="store_true", help="list the scenarios in report order and exit")
    args = parser.parse_args(argv)
    if args.latency <= 0:
        parser.error("--latency must be above 0: round trips are counted in latencies")
    return args


def list_scenarios() -> None:
    width = max(len(scenario_name(s)) for s in SCENARIOS)
    for scenario in SCENARIOS:
        print(f"{scenario_name(scenario):<{width}}  {scenario_summary(scenario)}")


def run_scenarios(bench: Bench, scenarios: list[ModuleType]) -> bool:
    """Run each scenario into ``bench``; True when one of them deadlocked (it gets a DEADLOCKED row)."""
    deadlocked = False
    for scenario in scenarios:
        name = scenario_name(scenario)
        log(f"{name} ...")
        try:
            took, _ = timed(functools.partial(guarded, functools.partial(scenario.run, bench), SCENARIO_DEADLINE_S))
        except Deadlock as error:
            deadlocked = True
            bench.rows.append(Row(scenario_summary(scenario), "DEADLOCKED", "", "", "", "", "", False))
            bench.notes.append(f"{name} hung: {error}")
            continue
        log(f"{name}: {took:.1f} s")
    return deadlocked


def print_report(bench: Bench, seconds: float) -> None:
    print(table_text(bench.rows))
    print()
    for note in bench.notes:
        print(f"- {note}")
    print(f"\n{machine()}; latency {bench.latency * 1000:.0f} ms; run {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark as ``python -m benchmarks`` does; the exit status."""
    args = parse_arguments(argv)
    if args.list:
        list_scenarios()
        return 0
    started = time.perf_counter()
    with open_bench(args.latency, args.quick) as bench:
        deadlocked = run_scenarios(bench, scenarios_named(args.only))
    seconds = time.perf_counter() - started
    print_report(bench, seconds)
    if args.output:
        command = COMMAND + " " + " ".join(argv if argv is not None else sys.argv[1:])
        args.output.write_text(markdown(bench.rows, bench.notes, latency=bench.latency, quick=bench.quick,
                                        command=command.strip(), seconds=seconds), encoding="utf-8")
        log(f"wrote {args.output}")
    if deadlocked:  # stuck worker threads would keep the interpreter from exiting
        sys.stdout.flush()
        os._exit(0)
    return 0
