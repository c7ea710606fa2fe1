"""Scenario 8: several machines refreshing one dashboard at once, with and without a team Redis."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from benchmarks.dashboard import (
    DASHBOARD_QUERIES,
    dashboard_cells,
    distinct_pages,
    save_dashboard,
)
from benchmarks.harness import Bench, child_environment
from benchmarks.redis_server import RedisServer
from benchmarks.report import Row

TEAM_MACHINE = "benchmarks.children.team_machine"
#: Analysts' machines refreshing the same dashboard at the same moment.
TEAM_MACHINES = 4
#: The team scenario's server latency, as a multiple of --latency: a slow API, where sharing pays.
TEAM_SLOWDOWN = 2.5

TITLE = f"8. team: {TEAM_MACHINES} machines refresh one dashboard"
TARGET = "calls with Redis = distinct pages of one dashboard"


@dataclass
class Machine:
    """One analyst's machine: a team_machine child, its stderr file and its home folder."""

    process: subprocess.Popen
    errors: IO[str]
    home: Path


def run(bench: Bench) -> None:
    """4 machines refreshing one dashboard at once on a slow API, with and without a team Redis."""
    missing = missing_tools()
    if missing:
        bench.rows.append(Row(TITLE, f"skipped: {missing}", "", "", "", "", TARGET, None))
        return
    if bench.quick:  # 8 interpreters and two slow refreshes (~10 s) do not fit the quick run's 30 s
        bench.rows.append(Row(TITLE, "skipped with --quick (about 10 s); run without it", "", "", "", "",
                              TARGET, None))
        return
    cells = dashboard_cells()
    pages = distinct_pages(cells)
    latency = bench.latency * TEAM_SLOWDOWN
    bench.warm_server(DASHBOARD_QUERIES)
    with bench.fresh_env() as folder, RedisServer(folder) as redis_server:
        source = folder / "dashboard.xlsx"
        save_dashboard(cells, source)
        rounds = {}
        for label, cache_url in (("with", redis_server.url), ("without", None)):
            redis_server.connection.flushall()
            bench.server.latency = latency
            bench.server.reset_calls()
            rounds[label] = team_round(folder / label, source, cache_url)
            rounds[label]["calls"] = bench.server.call_count
    with_, without = rounds["with"], rounds["without"]
    ok = not with_["failed"] and not without["failed"] and all(c["shared"] for c in with_["children"])
    ratio = f"x{without['calls'] / with_['calls']:.1f} fewer calls" if with_["calls"] else ""
    bench.rows.append(Row(
        TITLE, round_figure(with_, latency), str(with_["calls"]), round_figure(without, latency),
        str(without["calls"]), ratio, f"{TARGET} ({pages})", ok and with_["calls"] == pages))
    bench.notes.append(team_note(with_, pages, latency))


def missing_tools() -> str | None:
    """What the team scenario needs and this machine lacks, or None."""
    if not shutil.which("redis-server"):
        return "redis-server not installed"
    if importlib.util.find_spec("redis") is None:
        return "the redis package is not installed (pip install \"xl-fastmoss[team]\")"
    return None


def round_figure(round_: dict, latency: float) -> str:
    """One round in the table: the time until the last machine finished, and each machine's calls."""
    if round_["failed"]:
        return "FAILED: " + round_["failed"][0][:200]
    return (f"{round_['seconds']:.2f} s = {round_['seconds'] / latency:.2f} RT of {latency * 1000:.0f} ms; "
            "calls per machine " + "/".join(str(c["api_calls"]) for c in round_["children"]))


def team_note(with_: dict, pages: int, latency: float) -> str:
    served = sum(c["pages_from_cache"] for c in with_["children"]) if not with_["failed"] else "?"
    busiest = max((c["api_calls"] for c in with_["children"]), default=0)
    return (
        f"8. {TEAM_MACHINES} processes, each with its own cache and config folder (one analyst's machine "
        f"each, max_concurrency 4), run headless.refresh_workbook(refresh=False) on the dashboard of scenario "
        f"4 as .xlsx ({pages} distinct pages), released together; server latency {latency * 1000:.0f} ms "
        f"({TEAM_SLOWDOWN:g} x --latency). Ours: FASTMOSS_CACHE_URL on a local redis-server "
        f"(FLUSHALL before each run); the machines together took {served} pages from the cache. Naive: "
        "the same without FASTMOSS_CACHE_URL, so every machine pays for every page. Time is from the "
        "release until the last machine has written its copy, process start-up excluded. With Redis "
        f"the busiest machine made {busiest} of the {with_['calls']} calls. A machine takes a page's "
        "team lock only once the page is near the front of its own line for a call slot "
        "(Transport._send_once), so the calls spread over the machines; the time still varies from run "
        "to run with how they interleave.")


def team_round(folder: Path, source: Path, cache_url: str | None) -> dict:
    """Start the machines, release them together; their answers and the time until the last one."""
    machines = start_machines(folder, source, cache_url)
    try:
        seconds, answers = release(machines)
    finally:
        stop(machines)
    children, failed = [], []
    for machine, answer in zip(machines, answers, strict=True):
        try:
            child = json.loads(answer)
        except ValueError:
            failed.append(f"{machine.home.name} (exit {machine.process.returncode}): "
                          + " | ".join((machine.home / "stderr.txt").read_text().strip().splitlines()[-3:]))
            continue
        children.append(child)
        if not child["ok"]:
            failed.append(f"{machine.home.name}: " + "; ".join(child["problems"]))
    return {"seconds": seconds, "children": children, "failed": failed}


def start_machines(folder: Path, source: Path, cache_url: str | None) -> list[Machine]:
    """One team_machine child per machine, each with its own cache and config folder, not yet released."""
    env = child_environment()
    env.pop("FASTMOSS_CACHE_URL", None)
    if cache_url:
        env["FASTMOSS_CACHE_URL"] = cache_url
    machines = []
    for number in range(1, TEAM_MACHINES + 1):
        home = folder / f"machine{number}"
        home.mkdir(parents=True)
        errors = (home / "stderr.txt").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", TEAM_MACHINE, str(source), str(home / "dashboard-values.xlsx")],
            env=dict(env, FASTMOSS_CACHE_DIR=str(home / "cache"), FASTMOSS_CONFIG_DIR=str(home / "config")),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True)
        machines.append(Machine(process, errors, home))
    return machines


def release(machines: list[Machine]) -> tuple[float, list[str]]:
    """Once every machine is ready, tell them all to go; seconds until the last answered, and the answers."""
    ready = [machine.process.stdout.readline().strip() == "ready" for machine in machines]
    start = time.perf_counter()
    if all(ready):
        for machine in machines:
            machine.process.stdin.write("go\n")
            machine.process.stdin.flush()
    answers = [machine.process.stdout.readline() if all(ready) else "" for machine in machines]
    return time.perf_counter() - start, answers


def stop(machines: list[Machine]) -> None:
    """Close each machine's stdin and wait for it to exit (killed after 30 s)."""
    for machine in machines:
        with contextlib.suppress(OSError):
            machine.process.stdin.close()
        try:
            machine.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            machine.process.kill()
            machine.process.wait()
        machine.errors.close()
