"""``xl-fastmoss refresh``: a values copy of a workbook, made without Excel.

Every FM_ formula is replaced by its table as plain values, so a colleague without the add-in
sees the data. It is all or nothing: when a formula cannot be read, a fetch fails or a table
would overwrite filled cells, nothing is written and each failure is named by cell address.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import filelock

from .client import FastMossClient, ProgressCallback
from .errors import FastMossError, WorkbookFileError
from .sheets.cells import find_fm_cells
from .sheets.formulas import CellRef, parse_argument, replace_spill_refs
from .sheets.plan import STAMP_NAME, failures, fetch_plan, plan_refresh
from .workbook.reader import WorkbookError, WorkbookFile
from .workbook.writer import write_values_copy


class RefreshBusy(FastMossError):
    """Another refresh is writing the same output right now."""


@dataclass
class RefreshReport:
    source: Path
    output: Path
    written: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    distinct_queries: int = 0
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.ok:
            head = (f"wrote {self.output}: {len(self.written)} tables as values "
                    f"({self.distinct_queries} distinct queries, {self.calls} API calls)")
            return [head] + [f"  {sheet}!{range_}" for sheet, _, range_ in self.written] + \
                [f"warning: {w}" for w in self.warnings]
        kept = "left as it was" if self.output.exists() else "not written"
        return ([f"refresh of {self.source.name} failed; {self.output} {kept}:"] +
                [f"  {p}" for p in self.problems])


def refresh_workbook(source: Path, output: Path, client: FastMossClient, *, refresh: bool = True,
                     progress: ProgressCallback | None = None) -> RefreshReport:
    """Write ``output``, a copy of ``source`` with each FM_ table as values.

    ``refresh`` asks the API afresh (the default, as a morning refresh should); False serves
    fresh cached answers. ``source`` is never changed; ``output`` appears only when every table
    was written, replacing any earlier file in one step.
    """
    source, output = Path(source), Path(output)
    report = RefreshReport(source, output)
    if output.suffix.lower() != source.suffix.lower():
        report.problems.append(f"{output.name}: keep the extension of {source.name} ({source.suffix})")
        return report
    with _output_lock(output), _workbook_errors():
        book = WorkbookFile.open(source)
        plan = plan_refresh(find_fm_cells(book))
        report.distinct_queries = len(plan.requests)
        if plan.problems:  # found before any call is paid for
            report.problems = plan.problems
            return report
        calls_before = client.stats.api_calls
        outcomes = fetch_plan(plan, client, refresh=refresh, progress=progress)
        report.calls = client.stats.api_calls - calls_before
        report.problems = failures(outcomes)
        if report.problems:
            return report
        tables = {(o.table.sheet, o.table.cell): o.rows for o in outcomes}
        stamp = _stamp(book)
        _write_all_or_nothing(source, output, tables | stamp, report)
        report.written = [w for w in report.written if (w[0], w[1]) not in stamp]
    return report


def _stamp(book: WorkbookFile) -> dict:
    """The cell named FM_LastRefresh (as the Excel macro stamps it), saying when the values were fetched."""
    name = book.defined_name(STAMP_NAME)
    target = parse_argument(name.text) if name else None
    if not isinstance(target, CellRef) or not target.sheet or ":" in target.ref:
        return {}
    when = dt.datetime.now(dt.timezone.utc)
    return {(target.sheet, target.ref.replace("$", "")):
            [[f"Values as of {when:%Y-%m-%d %H:%M} UTC (xl-fastmoss refresh)"]]}


def _write_all_or_nothing(source: Path, output: Path, tables: dict, report: RefreshReport) -> None:
    written = write_values_copy(source, output, tables, replace_spill_refs, partial=False)
    if written.conflicts:
        report.problems = written.conflicts
        return
    report.written, report.warnings = written.written, written.warnings


@contextlib.contextmanager
def _workbook_errors():
    """The workbook layer's errors as the one-line errors the command line and cells show."""
    try:
        yield
    except WorkbookError as error:
        raise WorkbookFileError(str(error)) from None


@contextlib.contextmanager
def _output_lock(output: Path):
    """A lock per output file, kept in the temp folder so nothing litters the user's folder."""
    digest = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]
    lock = filelock.FileLock(Path(tempfile.gettempdir()) / f"xl-fastmoss-refresh-{digest}.lock", timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RefreshBusy(f"another refresh is writing {output} right now; try again when it ends") from None
    try:
        yield
    finally:
        lock.release()
