"""Child of the workbook-scale scenarios: one job on a workbook file, its time and its peak memory.

    python -m benchmarks.children.workbook_scale JOB SOURCE OUTPUT [TABLES] [--repeat N]

JOB is ``values-copy`` (``headless.refresh_workbook`` from the warm cache), ``openpyxl-copy``
(openpyxl load and save), ``writer`` (``write_values_copy`` of TABLES) or ``openpyxl-writer``
(openpyxl load, the same cells written, save). TABLES is JSON: ``[[sheet, anchor, rows,
columns], ...]``, filled with the values a ranking holds (numbers, shop names, 19-digit ids).

Peak RSS survives exec on Linux, so this process runs the job in a grandchild (the same module
with ``--run``) and imports nothing heavy itself: the peak it reports is the job's process,
imports included. ``--repeat`` runs the job N times in that process and keeps the fastest
(these machines are noisy; the peak is over all runs). Prints one line of JSON: seconds (the
job alone, imports excluded), cpu_seconds (the job's own CPU time: it leaves out the time other
processes held the CPUs, which on a shared machine is most of the noise), peak_kib, base_kib
(what the process held before the job began, its tables built: the job's own memory is the
difference), and what the job reports (calls, ok, cells).
"""

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

from benchmarks.children.watchdog import arm_watchdog

MODULE = "benchmarks.children.workbook_scale"
JOBS = ("values-copy", "openpyxl-copy", "writer", "openpyxl-writer")
#: Seconds a job may take (openpyxl on 500,000 cells takes 10 to 15).
JOB_TIMEOUT_S = 110


def table_rows(rows: int, columns: int) -> list[list[object]]:
    """A header row and ``rows - 1`` rows as a ranking fills them: ranks, names, ids as text, numbers."""
    header = [f"Column {c + 1}" for c in range(columns)]
    body = []
    for rank in range(1, rows):
        row: list[object] = [rank, f"Shop {rank:05d} & Co", f"74940063252981{rank:05d}", "US"]
        row += [rank * 37 % 1000, 4.5 + rank % 5 / 10, 1234.5 * rank, (rank % 7 - 3) / 10, "USD"]
        row += [rank % 3 == 0, None if rank % 11 == 0 else rank * 1.5, f"note {rank}", rank * 1000]
        body.append(row[:columns] + [None] * (columns - len(row)))
    return [header] + body


def tables_of(spec: list) -> dict:
    return {(sheet, anchor): table_rows(rows, columns) for sheet, anchor, rows, columns in spec}


def rss_kib() -> int:
    """This process's resident set size now, in KiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def run_repeated(job: str, source: str, output: str, spec: list, repeat: int) -> dict:
    tables = tables_of(spec)
    if job == "writer":
        import xl_fastmoss.sheets.formulas  # noqa: F401 -- imported before the base is taken
        import xl_fastmoss.workbook.writer  # noqa: F401
    elif job.startswith("openpyxl"):
        import openpyxl  # noqa: F401
    gc.collect()
    base = rss_kib()
    runs = []
    for _ in range(repeat):
        cpu = time.process_time()
        measured = run_job(job, source, output, tables)
        measured["cpu_seconds"] = time.process_time() - cpu
        runs.append(measured)
    fastest = min(runs, key=lambda measured: measured["cpu_seconds"])
    fastest["base_kib"] = base
    return fastest


def run_job(job: str, source: str, output: str, tables: dict) -> dict:
    if job == "openpyxl-copy":
        import openpyxl

        start = time.perf_counter()
        openpyxl.load_workbook(source).save(output)
        return {"seconds": time.perf_counter() - start}
    if job == "openpyxl-writer":
        import openpyxl

        from xl_fastmoss.workbook.addresses import split_cell

        start = time.perf_counter()
        book = openpyxl.load_workbook(source)
        for (sheet, anchor), rows in tables.items():
            top, left = split_cell(anchor)
            worksheet = book[sheet]
            for i, values in enumerate(rows):
                for j, value in enumerate(values):
                    worksheet.cell(top + i, left + j, value)
        book.save(output)
        return {"seconds": time.perf_counter() - start, "cells": sum(len(r) * len(r[0]) for r in tables.values())}
    if job == "writer":
        from xl_fastmoss.sheets.formulas import replace_spill_refs
        from xl_fastmoss.workbook.writer import write_values_copy

        start = time.perf_counter()
        report = write_values_copy(source, output, tables, replace_spill_refs)
        return {"seconds": time.perf_counter() - start, "ok": not report.conflicts,
                "cells": sum(len(r) * len(r[0]) for r in tables.values())}
    from xl_fastmoss import FastMossClient, Settings
    from xl_fastmoss.headless import refresh_workbook

    with FastMossClient(Settings.load()) as client:
        start = time.perf_counter()
        refreshed = refresh_workbook(source, output, client, refresh=False)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "ok": refreshed.ok, "calls": refreshed.calls,
                "lines": refreshed.lines()[:1] + refreshed.not_computed}


def main(argv: list[str] | None = None) -> None:
    arm_watchdog(JOB_TIMEOUT_S + 5)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=JOBS)
    parser.add_argument("source")
    parser.add_argument("output")
    parser.add_argument("tables", nargs="?", default="[]", help="JSON: [[sheet, anchor, rows, columns], ...]")
    parser.add_argument("--run", action="store_true", help="run the job in this process (the grandchild)")
    parser.add_argument("--repeat", type=int, default=1, help="run the job this many times, keep the fastest")
    given = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(given)
    if args.run:
        print(json.dumps(run_repeated(args.job, args.source, args.output, json.loads(args.tables), args.repeat)))
        return
    done = subprocess.run([sys.executable, "-m", MODULE, *given, "--run"], capture_output=True,
                          text=True, timeout=JOB_TIMEOUT_S)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    measured["peak_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
