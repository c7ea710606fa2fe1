"""``xl-fastmoss refresh``: a values copy of a workbook, made without Excel.

Every FM_ formula is replaced by its table as plain values, so a colleague without the add-in
sees the data. It is all or nothing: when a formula cannot be read, a fetch fails or a table
would overwrite filled cells, nothing is written and each failure is named by cell address.

Everything that can be checked without a call is checked before the first paid call: where
the copy goes (never onto the workbook itself, into a folder that exists and takes a file, as
an .xlsx or .xlsm), every FM_ formula, and that the FM_LastRefresh stamp is out of every
table's way. The input is never changed: its identity and content are noted when the refresh
starts and checked again once the copy is complete, before it replaces the output. Checking
(rather than reading the whole file into memory once) keeps memory bounded for large
workbooks and lets unchanged parts stream through; a save in Excel meanwhile (a new file under
the same name, or the same file rewritten) fails the refresh instead of writing a copy that
mixes two versions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import filelock

from .asking import call_allowance
from .client import FastMossClient, ProgressCallback
from .errors import CallLimitExceeded, FastMossError, WorkbookFileError
from .estimate import Estimate, estimate
from .files import TEMP_MARK, remove_stale_temporaries
from .sheets.cells import find_fm_cells
from .sheets.formulas import CellRef, parse_argument, replace_spill_refs
from .sheets.plan import STAMP_NAME, PlannedTable, RefreshPlan, TableOutcome, failures, fetch_plan, plan_refresh
from .workbook.addresses import range_text, split_cell
from .workbook.package import SourceSnapshot
from .workbook.reader import WorkbookError, WorkbookFile
from .workbook.writer import check_copy_path, write_values_copy


class RefreshBusy(FastMossError):
    """Another refresh is writing the same output right now."""


@dataclass
class RefreshReport:
    source: Path
    output: Path
    written: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Other formulas whose cached value could not be computed (Excel computes them on editing).
    not_computed: list[str] = field(default_factory=list)
    #: What the copy leaves out: buttons that ran macros, the VBA project of an .xlsx copy.
    removed: list[str] = field(default_factory=list)
    distinct_queries: int = 0
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.ok:
            head = (f"wrote {self.output}: {len(self.written)} tables as values "
                    f"({self.distinct_queries} distinct queries, {self.calls} API calls)")
            return ([head] + [f"  {sheet}!{range_}" for sheet, _, range_ in self.written]
                    + [f"left out: {what}" for what in self.removed]
                    + [f"warning: {w}" for w in self.warnings]
                    + [f"not computed: {n}" for n in self.not_computed])
        kept = "left as it was" if self.output.exists() else "not written"
        return ([f"refresh of {self.source.name} failed; {self.output} {kept}:"] +
                [f"  {p}" for p in self.problems])


@dataclass
class RefreshEstimate:
    """What ``xl-fastmoss refresh BOOK`` would fetch, counted without a call (``--dry-run``)."""

    source: Path
    plan: RefreshPlan
    estimate: Estimate

    def lines(self) -> list[str]:
        """A line a query (with the cells showing it), the cells that cannot be refreshed, then ``N calls, M rows``."""
        cells: dict = {}
        for table in self.plan.tables:
            for query in table.call.queries:
                cells.setdefault(query, []).append(table.address)
        head = (f"refresh of {self.source.name} would fetch {len(self.plan.tables)} tables, "
                f"{len(self.estimate.queries)} distinct queries (the cache taken into account):")
        return ([head] + [f"  {q.line()} [{', '.join(cells.get(q.query, []))}]" for q in self.estimate.queries]
                + [f"  cannot be refreshed: {problem}" for problem in self.plan.problems]
                + [self.estimate.total_line()])


def estimate_refresh(source: Path, client: FastMossClient, *, refresh: bool = True) -> RefreshEstimate:
    """What :func:`refresh_workbook` of ``source`` would fetch and cost now; makes no call, writes nothing."""
    source = Path(source)
    with _workbook_errors():
        with WorkbookFile.open(source) as book:
            plan = plan_refresh(find_fm_cells(book))
    return RefreshEstimate(source, plan, estimate(client, plan.requests, refresh=refresh))


def refresh_workbook(source: Path, output: Path, client: FastMossClient, *, refresh: bool = True,
                     progress: ProgressCallback | None = None, max_calls: int | None = None) -> RefreshReport:
    """Write ``output``, a copy of ``source`` with each FM_ table as values.

    ``refresh`` asks the API afresh (the default, as a morning refresh should; final answers
    of settled periods come from the cache); False serves fresh cached answers. ``source`` is
    never changed; ``output`` appears only when every table was written, replacing any earlier
    file in one step. An ``.xlsm`` may be copied to an ``.xlsx``, which is then macro-free. A
    problem with the files raises WorkbookFileError before any call; problems with cells or
    fetches are listed in the report. With ``max_calls``, a refresh estimated above it raises
    CallLimitExceeded before any call, and the run is held to it (retries included).
    """
    source, output = Path(source), Path(output)
    report = RefreshReport(source, output)
    with _workbook_errors():
        check_copy_path(source, output)
        _check_output_folder(output)
    with _output_lock(output), _workbook_errors():
        remove_stale_temporaries(output)
        snapshot = SourceSnapshot.take(source)
        with WorkbookFile.open(source) as book:
            return _refresh_book(book, output, client, report, snapshot, refresh, progress, max_calls)


def _refresh_book(book: WorkbookFile, output: Path, client: FastMossClient, report: RefreshReport,
                  snapshot: SourceSnapshot, refresh: bool, progress: ProgressCallback | None,
                  max_calls: int | None) -> RefreshReport:
    """:func:`refresh_workbook` of the opened source."""
    source = book.path
    plan = plan_refresh(find_fm_cells(book))
    report.distinct_queries = len(plan.requests)
    stamp = _stamp(book)
    plan.problems.extend(_stamp_in_the_way(stamp, plan))
    if plan.problems:  # found before any call is paid for
        report.problems = plan.problems
        return report
    book.close()  # not held open while fetching: the copy opens it again
    calls_before = client.stats.api_calls
    with _allowed(max_calls, source, plan, client, refresh):
        outcomes = fetch_plan(plan, client, refresh=refresh, progress=progress)
    report.calls = client.stats.api_calls - calls_before
    report.problems = failures(outcomes)
    if report.problems:
        return report
    report.warnings.extend(_table_warnings(outcomes))
    tables = {(o.table.sheet, o.table.cell): o.rows for o in outcomes}
    _write_all_or_nothing(book, output, tables | stamp, report, snapshot)
    report.written = [w for w in report.written if (w[0], w[1]) not in stamp]
    return report


@contextlib.contextmanager
def _allowed(max_calls: int | None, source: Path, plan: RefreshPlan, client: FastMossClient, refresh: bool):
    """Refuse a plan estimated above ``max_calls`` before any call; hold the run to it."""
    if max_calls is None:
        yield
        return
    cost = estimate(client, plan.requests, refresh=refresh)
    if cost.calls > max_calls:
        raise CallLimitExceeded(
            f"{source.name}: the refresh would make {cost.calls} calls ({cost.rows} rows), more than "
            f"--max-calls {max_calls} allows; nothing was fetched (--dry-run lists the calls)")
    with call_allowance(max_calls, f"the refresh of {source.name}"):
        yield


def _check_output_folder(output: Path) -> None:
    """The folder of the copy exists and takes a new file: tried, not guessed, before any call."""
    folder = output.parent
    if not folder.is_dir():
        raise WorkbookError(f"{output}: the folder {folder} does not exist")
    probe = folder / f".{output.name}.{TEMP_MARK}-{secrets.token_hex(4)}.tmp"
    try:
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise WorkbookError(f"{output}: the folder {folder} does not take a new file "
                            f"({error.strerror or error}); choose another --output") from None
    os.close(descriptor)
    probe.unlink(missing_ok=True)


def _table_warnings(outcomes: list[TableOutcome]) -> list[str]:
    """Each table's parse warnings, and which tables have blank cells, named by address."""
    lines: list[str] = []
    for outcome in outcomes:
        if outcome.result is not None:
            lines.extend(f"{outcome.table.address}: {warning}" for warning in outcome.result.warnings)
        body = (outcome.rows or [])[1 if outcome.table.call.headers else 0:]
        blanks = outcome.table.call.missing_values(outcome.rows or [])
        if blanks and len(body) and len(body[0]) > 1:
            lines.append(f"{outcome.table.address}: {blanks} blank cell{'s' if blanks > 1 else ''} "
                         "(no value from FastMoss, or a value of another type than documented)")
    return lines


def _stamp(book: WorkbookFile) -> dict:
    """The cell named FM_LastRefresh (as the Excel macro stamps it), saying when the values were fetched."""
    name = book.defined_name(STAMP_NAME)
    target = parse_argument(name.text) if name else None
    if not isinstance(target, CellRef) or not target.sheet or ":" in target.ref or not book.has_sheet(target.sheet):
        return {}
    when = dt.datetime.now(dt.timezone.utc)
    return {(target.sheet, target.ref.replace("$", "")):
            [[f"Values as of {when:%Y-%m-%d %H:%M} UTC (xl-fastmoss refresh)"]]}


def _stamp_in_the_way(stamp: dict, plan: RefreshPlan) -> list[str]:
    """The stamp cell inside the largest area a table may fill: refused before any call."""
    problems = []
    for sheet, cell in stamp:
        row, column = split_cell(cell)
        for table in plan.tables:
            r1, c1, r2, c2 = _largest_area(table)
            if table.sheet.casefold() == sheet.casefold() and r1 <= row <= r2 and c1 <= column <= c2:
                problems.append(
                    f"{sheet}!{cell}: {STAMP_NAME} points inside the area the table of {table.address} may "
                    f"fill ({range_text(r1, c1, r2, c2)}); move the name or the formula")
    return problems


def _largest_area(table: PlannedTable) -> tuple[int, int, int, int]:
    return table.largest_area()


def _write_all_or_nothing(book: WorkbookFile, output: Path, tables: dict, report: RefreshReport,
                          snapshot: SourceSnapshot) -> None:
    # The workbook opened to find the formulas is the one copied: read once, its sheets
    # surveyed once, each part verified once.
    written = write_values_copy(book.path, output, tables, replace_spill_refs, partial=False,
                                before_replace=snapshot.check, book=book)
    if written.conflicts:
        report.problems = written.conflicts
        return
    report.written, report.warnings = written.written, report.warnings + written.warnings
    report.not_computed, report.removed = written.not_computed, written.removed


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
