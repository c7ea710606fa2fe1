"""Scenario 4e: what the values-copy writer costs per cell it writes, in time and memory, beside openpyxl."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.harness import Bench
from benchmarks.large_workbooks import write_tall_sheet
from benchmarks.report import Row
from benchmarks.tables import DAY, Table

CHILD = "benchmarks.children.workbook_scale"
#: The issue's targets, per written cell.
MICROSECONDS, BYTES = 5.0, 300
#: Tables of a full ranking's width; the cases write them side by side from row 1.
TABLE_ROWS, TABLE_COLUMNS = 501, 13
EXISTING_ROWS, QUICK_EXISTING_ROWS = 50_000, 10_000
#: Tables written above the existing rows: copying those rows costs about 2 s whatever is written,
#: and its noise (0.1 s) would swamp 10 tables' cost (0.15 s); 60 tables' is about 1 s.
TABLES_ABOVE = 60
FIRST_DATA_ROW = 601
#: Runs of each of our jobs in its process, the fastest kept: the per-cell figure is a difference
#: of two runs, which this machine's noise would otherwise swamp.
REPEAT = 5


def anchors(count: int) -> list[str]:
    from xl_fastmoss.workbook.addresses import cell_name

    return [cell_name(1, 1 + i * (TABLE_COLUMNS + 1)) for i in range(count)]


def run(bench: Bench) -> None:
    """The writer's cost per written cell: tables on an empty sheet, and 500-row tables above 50,000 rows."""
    existing = QUICK_EXISTING_ROWS if bench.quick else EXISTING_ROWS
    cases = (("on an empty sheet", 10, 0), (f"above {existing:,} existing rows", TABLES_ABOVE, existing))
    with bench.fresh_env() as folder:
        for name, count, rows in cases:
            source = folder / f"writer-{count}-{rows}.xlsx"
            places = anchors(count)
            table = Table("FM_MOSTPROMOTED", "US", 14, "day", DAY, rows=TABLE_ROWS - 1)
            existing_cells = write_tall_sheet(source, [(ref, table) for ref in places], rows, FIRST_DATA_ROW)
            ours = marginal(bench, "writer", source, places, REPEAT)
            met = ours["ok"] and ours["us"] <= MICROSECONDS and ours["bytes"] <= BYTES
            if rows:
                # openpyxl's load and save of the data dwarf its cost per cell (and its noise hides it):
                # the naive counterpart is its whole job, beside ours.
                naive = whole_job(bench, "openpyxl-writer", source, places)
                naive_text = f"openpyxl: {naive['seconds']:.2f} s in all, peak {naive['peak_kib'] / 1024:.0f} MB"
                ratio = f"x{naive['seconds'] / ours['big_s']:.1f} (whole job)"
            else:
                naive = marginal(bench, "openpyxl-writer", source, places)
                naive_text = "openpyxl: " + figure(naive)
                ratio = f"x{naive['us'] / ours['us']:.1f} (per cell)"
            bench.rows.append(Row(
                f"4e. values-copy writer, {count} tables of {TABLE_ROWS} x {TABLE_COLUMNS} {name}",
                figure(ours) + f"; {ours['big_s']:.2f} s in all, peak {ours['big_mb']:.0f} MB", "",
                naive_text, "", ratio, f"<= {MICROSECONDS:.0f} us and {BYTES} B per written cell", met))
            bench.notes.append(
                f"4e. {count} tables of {TABLE_ROWS} x {TABLE_COLUMNS} {name} ({existing_cells:,} cells of data "
                f"from row {FIRST_DATA_ROW}): ours wrote {ours['cells']:,} cells in {ours['big_s']:.2f} s against "
                f"{ours['small_s']:.2f} s for 1-row tables at the same anchors (peak RSS {ours['big_mb']:.0f} MB "
                f"against {ours['small_mb']:.0f} MB; fastest of {REPEAT} runs in one process); per cell is the "
                "difference of the job's CPU time (wall time on this shared machine varies by a second from run "
                "to run) divided by the cells written, so the sheet's fixed cost cancels out; memory is the "
                "peak less what the process held once its tables were built (the rows handed to the writer are "
                "the caller's). openpyxl: load, write the same cells, save, once.")


def whole_job(bench: Bench, job: str, source: Path, places: list[str]) -> dict:
    spec = json.dumps([["Data", ref, TABLE_ROWS, TABLE_COLUMNS] for ref in places])
    return bench.child(CHILD, job, str(source), str(source.with_name(f"{job}.xlsx")), spec)[1]


def marginal(bench: Bench, job: str, source: Path, places: list[str], repeat: int = 1) -> dict:
    """Per written cell: the difference between full tables and 1-row tables at the same anchors."""
    runs = {}
    for size, rows in (("big", TABLE_ROWS), ("small", 1)):
        spec = json.dumps([["Data", ref, rows, TABLE_COLUMNS] for ref in places])
        _, runs[size] = bench.child(CHILD, job, str(source), str(source.with_name(f"{job}-{size}.xlsx")), spec,
                                    "--repeat", str(repeat))
    cells = runs["big"]["cells"] - runs["small"]["cells"]
    return {"us": (runs["big"]["cpu_seconds"] - runs["small"]["cpu_seconds"]) / cells * 1e6,
            "bytes": max(0, own_kib(runs["big"]) - own_kib(runs["small"])) * 1024 / cells,
            "ok": runs["big"].get("ok", True), "cells": runs["big"]["cells"],
            "big_s": runs["big"]["seconds"], "small_s": runs["small"]["seconds"],
            "big_mb": runs["big"]["peak_kib"] / 1024, "small_mb": runs["small"]["peak_kib"] / 1024}


def own_kib(measured: dict) -> int:
    """What the job itself took: its process's peak less what the process held, its tables built, before it."""
    return measured["peak_kib"] - measured["base_kib"]


def figure(measured: dict) -> str:
    return f"{measured['us']:.1f} us, {measured['bytes']:.0f} B per cell" + ("" if measured["ok"] else " FAILED")
