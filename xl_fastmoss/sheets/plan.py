"""What a workbook refresh will fetch: every FM_ formula read, checked and deduplicated.

The Excel macro and ``xl-fastmoss refresh`` both find FM_ cells with :mod:`.cells`, then hand
them here; the plan and the fetching are the same for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..client import FastMossClient, ProgressCallback
from ..errors import FastMossError
from ..query import TableRequest
from ..result import RankingResult
from .calls import TableCall, read_call
from .cells import FmCell
from .table import error_text, to_rows

#: The defined name of the cell both refreshes stamp with when they ran.
STAMP_NAME = "FM_LastRefresh"


@dataclass(frozen=True)
class PlannedTable:
    sheet: str
    cell: str
    call: TableCall

    @property
    def address(self) -> str:
        return f"{self.sheet}!{self.cell}"


@dataclass
class RefreshPlan:
    tables: list[PlannedTable] = field(default_factory=list)
    #: Cells that cannot be refreshed, each "Sheet!A1: why".
    problems: list[str] = field(default_factory=list)

    @property
    def requests(self) -> list[TableRequest]:
        """Distinct tables to fetch; the client further merges queries that differ only in rows."""
        return list(dict.fromkeys(t.call.request for t in self.tables))


@dataclass
class TableOutcome:
    table: PlannedTable
    rows: list[list] | None = None
    result: RankingResult | None = None
    error: str | None = None
    #: Why the fresh fetch failed, as the error says it (no cell address): set with ``error``.
    reason: str | None = None


def plan_refresh(cells: Iterable[FmCell]) -> RefreshPlan:
    plan = RefreshPlan()
    for cell in cells:
        if cell.problem:
            plan.problems.append(cell.problem if cell.problem.startswith(cell.address) else
                                 f"{cell.address}: {cell.problem}")
            continue
        region, category_id, date_type, date_value, *options = tuple(cell.args) + (None,) * max(0, 4 - len(cell.args))
        try:
            call = read_call(cell.function, region, category_id, date_type, date_value, tuple(options))
        except FastMossError as error:
            plan.problems.append(f"{cell.address}: {error_text(error)}")
            continue
        plan.tables.append(PlannedTable(cell.sheet, cell.cell, call))
    return plan


def fetch_plan(plan: RefreshPlan, client: FastMossClient, *, refresh: bool = True,
               progress: ProgressCallback | None = None) -> list[TableOutcome]:
    """Fetch every distinct table of ``plan`` at once and shape each cell's rectangle."""
    fetched = client.fetch_many(plan.requests, refresh=refresh, progress=progress)
    outcomes = []
    for table in plan.tables:
        result = fetched[table.call.request]
        if isinstance(result, FastMossError):
            outcomes.append(TableOutcome(table, error=f"{table.address}: {error_text(result)}",
                                         reason=result.message))
        elif result.stale:
            reason = result.stale_reason or "failed"
            outcomes.append(TableOutcome(
                table, result=result, error=f"{table.address}: {error_text(FastMossError(reason))}", reason=reason))
        else:
            outcomes.append(TableOutcome(table, rows=to_rows(result, table.call.fields, table.call.headers),
                                         result=result))
    return outcomes


def failures(outcomes: Sequence[TableOutcome]) -> list[str]:
    return [o.error for o in outcomes if o.error]
