"""Scenario 4d: a values copy of a workbook of 500,000 ordinary cells and 3 FM_ formulas, warm cache."""

from __future__ import annotations

import shutil

from benchmarks.harness import Bench, timed
from benchmarks.large_workbooks import LARGE_TABLES, write_large_workbook
from benchmarks.report import Row
from xl_fastmoss import FastMossClient, Settings, headless

CHILD = "benchmarks.children.workbook_scale"
#: The issue's targets: a share of openpyxl's load and save of the same file, and a peak RSS.
TIME_SHARE = 0.15
PEAK_MB = 200
CELLS, QUICK_CELLS = 500_000, 100_000
MB = 1 / 1024


def run(bench: Bench) -> None:
    """A values copy (`xl-fastmoss refresh`, warm cache) of 500,000 ordinary cells and 3 FM_ tables, beside openpyxl."""
    cells = QUICK_CELLS if bench.quick else CELLS
    bench.warm_server([table for _, table in LARGE_TABLES])
    with bench.fresh_env() as folder:
        source = folder / "large.xlsx"
        written = write_large_workbook(source, cells)
        warm_cache(folder)
        bench.server.reset_calls()
        _, ours = bench.child(CHILD, "values-copy", str(source), str(folder / "ours.xlsx"))
        _, naive = bench.child(CHILD, "openpyxl-copy", str(source), str(folder / "openpyxl.xlsx"))
        zip_s, _ = timed(lambda: shutil.copyfile(source, folder / "copied.xlsx"))
        size_mb = source.stat().st_size / 2**20
    share = ours["seconds"] / naive["seconds"]
    peak = ours["peak_kib"] * MB
    met = ours["ok"] and share <= TIME_SHARE and peak <= PEAK_MB and ours["calls"] == 0
    bench.rows.append(Row(
        f"4d. values copy of {written:,} ordinary cells + 3 FM_ tables (`xl-fastmoss refresh`, warm cache)",
        f"{ours['seconds']:.2f} s, peak {peak:.0f} MB" + ("" if ours["ok"] else " FAILED"), str(ours["calls"]),
        f"openpyxl load+save {naive['seconds']:.2f} s, peak {naive['peak_kib'] * MB:.0f} MB", "",
        f"x{naive['seconds'] / ours['seconds']:.1f} (ours = {share:.3f} x openpyxl)",
        f"<= {TIME_SHARE} x openpyxl, <= {PEAK_MB} MB, 0 calls", met))
    bench.notes.append(
        f"4d. One dashboard sheet with 3 FM_ formulas (100, 100 and 50 rows), a total over one table and "
        f"ROWS() of a spill, a summary sheet reading a spill from another sheet, and 4 sheets of "
        f"{written:,} ordinary cells (numbers, dates, shared strings, #N/A errors, one formula a row over its "
        f"own row), {size_mb:.1f} MB as a file. Each job ran in a fresh process (peak RSS of that process, "
        f"imports included; seconds of the job alone). Copying the file takes {zip_s * 1000:.0f} ms. "
        f"Ours: {'; '.join(ours.get('lines', []))}.")


def warm_cache(folder) -> None:
    """Fetch the 3 tables once through a small workbook holding the same formulas: the cache is warm."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for ref, table in LARGE_TABLES:
        sheet[ref] = table.formula()
    book.save(folder / "warm.xlsx")
    with FastMossClient(Settings.load()) as client:
        report = headless.refresh_workbook(folder / "warm.xlsx", folder / "warm-values.xlsx", client, refresh=True)
    if not report.ok:
        raise RuntimeError("; ".join(report.lines()))
