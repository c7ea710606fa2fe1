"""What a workbook refresh will fetch: every FM_ formula read, checked and deduplicated.

The Excel macro and ``xl-fastmoss refresh`` both find FM_ cells with :mod:`.cells`, then hand
them here; the plan and the fetching are the same for both. A planned table is a ranking, a
ranking compared with an earlier one, or a shop's history: each is a job of
:mod:`xl_fastmoss.waves`, and every wave asks the tables of all jobs at once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from ..client import FastMossClient, ProgressCallback
from ..errors import FastMossError
from ..query import TableRequest
from ..result import RankingResult
from ..shop_history import HistoryResult
from ..waves import run_jobs
from .calls import FmCall, HistoryCall, TableCall, read_fm_call
from .table import error_text

if TYPE_CHECKING:  # the FM_ functions import this module; cells and addresses cost ~15 ms at import
    from .cells import FmCell

#: The defined name of the cell both refreshes stamp with when they ran.
STAMP_NAME = "FM_LastRefresh"


@dataclass(frozen=True)
class PlannedTable:
    sheet: str
    cell: str
    call: FmCall

    @property
    def address(self) -> str:
        return f"{self.sheet}!{self.cell}"

    def largest_area(self) -> tuple[int, int, int, int]:
        """(first row, first column, last row, last column) of the most cells the table may fill."""
        from ..workbook.addresses import split_cell

        row, column = split_cell(self.cell)
        rows, columns = self.call.largest_shape()
        return row, column, row + rows - 1, column + columns - 1


@dataclass
class RefreshPlan:
    tables: list[PlannedTable] = field(default_factory=list)
    #: Cells that cannot be refreshed, each "Sheet!A1: why".
    problems: list[str] = field(default_factory=list)

    @property
    def requests(self) -> list[TableRequest]:
        """Distinct tables of the first wave; the client further merges queries that differ only in rows.

        Histories may ask deeper pages afterwards (at most ``call.query.most_pages`` in all).
        No call is made.
        """
        return list(dict.fromkeys(request for t in self.tables for request in t.call.first_wave()))


@dataclass
class TableOutcome:
    table: PlannedTable
    result: RankingResult | HistoryResult | None = None
    error: str | None = None
    #: Why the fresh fetch failed, as the error says it (no cell address): set with ``error``.
    reason: str | None = None

    @functools.cached_property
    def rows(self) -> list[list] | None:
        """The cells the table fills (None when it failed), shaped when first asked: the headless
        refresh writes them; Excel's refresh only reports failures, its cells recalculate."""
        if self.error is not None or self.result is None:
            return None
        return self.table.call.rows(self.result)


def plan_refresh(cells: Iterable[FmCell]) -> RefreshPlan:
    plan = RefreshPlan()
    for cell in cells:
        if cell.problem:
            plan.problems.append(cell.problem if cell.problem.startswith(cell.address) else
                                 f"{cell.address}: {cell.problem}")
            continue
        try:
            call = read_fm_call(cell.function, cell.args)
        except FastMossError as error:
            plan.problems.append(f"{cell.address}: {error_text(error)}")
            continue
        plan.tables.append(PlannedTable(cell.sheet, cell.cell, call))
    return plan


def fetch_plan(plan: RefreshPlan, client: FastMossClient, *, refresh: bool = True,
               progress: ProgressCallback | None = None) -> list[TableOutcome]:
    """Fetch every table of ``plan``, wave by wave, all tables of a wave at once."""
    jobs = [table.call.job(refresh) for table in plan.tables]
    run_jobs(client, jobs, progress=progress)
    outcomes = []
    for table, job in zip(plan.tables, jobs, strict=True):
        result = job.outcome
        assert result is not None, "every job runs to its end"
        if isinstance(result, FastMossError):
            outcomes.append(TableOutcome(table, error=f"{table.address}: {error_text(result)}",
                                         reason=result.message))
        elif result.stale:
            reason = result.stale_reason or "failed"
            outcomes.append(TableOutcome(
                table, result=result, error=f"{table.address}: {error_text(FastMossError(reason))}", reason=reason))
        else:
            outcomes.append(TableOutcome(table, result=result))
    return outcomes


@overload
def fetch_call(client: FastMossClient, call: TableCall, *, refresh: bool = ...,
               progress: ProgressCallback | None = ...) -> RankingResult: ...


@overload
def fetch_call(client: FastMossClient, call: HistoryCall, *, refresh: bool = ...,
               progress: ProgressCallback | None = ...) -> HistoryResult: ...


def fetch_call(client: FastMossClient, call: FmCall, *, refresh: bool = False,
               progress: ProgressCallback | None = None) -> RankingResult | HistoryResult:
    """What one FM_ call shows, fetched; raises the FastMossError that stopped it."""
    job = call.job(refresh)
    run_jobs(client, [job], progress=progress)
    if isinstance(job.outcome, FastMossError):
        raise job.outcome
    assert job.outcome is not None
    return job.outcome


def failures(outcomes: Sequence[TableOutcome]) -> list[str]:
    return [o.error for o in outcomes if o.error]
