"""What fetching a list of tables will cost, before any call: calls and rows, the cache taken into account.

:func:`estimate` counts a list of :class:`~xl_fastmoss.query.TableRequest` (a workbook's
``RefreshPlan.requests``, or any other list) exactly as :meth:`FastMossClient.fetch_many` will
fetch it, from the same decisions: tables held in memory, queries merged to their largest
table, the pieces the page-size policy plans (:meth:`FastMossClient.plan_table`), and for each
piece whether the cache answers it without a call (:meth:`Transport.cached_answer`: fresh, or
final even when refreshing).

A ranking's length is known once one of its answers is stored (a stale one too): pieces past
its end are not counted, and a piece at its end counts the rows it will hold. A ranking never
asked before is counted as deep as the table asks; a shorter one then costs less than the
estimate, never more. Retries of failed calls are not in an estimate (they are in the ledger).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .client import FastMossClient
from .paging import Piece, within
from .query import RankingQuery, TableRequest


@dataclass(frozen=True)
class PlannedCall:
    """One call the fetch will make: a piece, and the rows it will bring back (at most its size)."""

    piece: Piece
    rows: int


@dataclass
class QueryEstimate:
    """What one query (its largest table) will cost."""

    query: RankingQuery
    rows: int
    calls: list[PlannedCall] = field(default_factory=list)
    #: Pieces the cache answers without a call.
    cached: int = 0
    #: Whether the ranking's length is known (else it was counted as deep as the table asks).
    length_known: bool = False
    #: Served from a table this process holds in memory: no piece read at all.
    in_memory: bool = False

    @property
    def rows_received(self) -> int:
        return sum(call.rows for call in self.calls)

    def line(self) -> str:
        """One line: the query, the rows wanted, and what it costs."""
        head = f"{self.query.describe()}: {self.rows} rows"
        if self.in_memory:
            return f"{head}: in memory, 0 calls"
        if not self.calls:
            return f"{head}: in the cache, 0 calls"
        pages = ", ".join(f"page {c.piece.page} of {c.piece.size}" for c in self.calls)
        cached = f"; {self.cached} piece{'s' if self.cached != 1 else ''} in the cache" if self.cached else ""
        guess = "" if self.length_known else "; length not known yet: counted as deep as asked"
        return (f"{head}: {len(self.calls)} call{'s' if len(self.calls) != 1 else ''}, "
                f"{self.rows_received} rows ({pages}{cached}{guess})")


@dataclass
class Estimate:
    """What fetching a list of tables will cost, query by query."""

    queries: list[QueryEstimate] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(len(q.calls) for q in self.queries)

    @property
    def rows(self) -> int:
        return sum(q.rows_received for q in self.queries)

    def total_line(self) -> str:
        """The last line of a dry run, in a fixed form scripts can read: ``N calls, M rows``."""
        return f"{self.calls} calls, {self.rows} rows"

    def lines(self) -> list[str]:
        return [q.line() for q in self.queries] + [self.total_line()]


def estimate(client: FastMossClient, requests: Iterable[TableRequest], *, refresh: bool = False) -> Estimate:
    """The calls and rows that ``client.fetch_many(requests, refresh=refresh)`` will spend; makes no call."""
    requests = list(requests)
    held, wanted = client.tables_wanted(requests, refresh=refresh, count=False)
    found = Estimate()
    for query in dict.fromkeys(r.query for r in requests):
        if query not in wanted:
            rows = max(r.rows for r in held if r.query == query)
            found.queries.append(QueryEstimate(query, rows, in_memory=True))
            continue
        found.queries.append(_query_estimate(client, query, wanted[query], refresh))
    return found


def _query_estimate(client: FastMossClient, query: RankingQuery, rows: int, refresh: bool) -> QueryEstimate:
    transport = client.transport
    pieces = client.plan_table(query, rows, refresh=refresh)
    first = pieces[0]
    first_body = query.body(first.page, first.size)
    served = transport.cached_answer(query.endpoint, first_body, first_rank=first.first, refresh=refresh)
    known = served or transport.cached_answer(query.endpoint, first_body, first_rank=first.first, stale=True)
    total = known.page.total if known is not None else None
    if known is not None:
        pieces = within(pieces, total, known.page.row_count)
    found = QueryEstimate(query, rows, length_known=total is not None)
    for piece in pieces:
        if piece == first and served is not None or piece != first and transport.cached_answer(
                query.endpoint, query.body(piece.page, piece.size), first_rank=piece.first,
                refresh=refresh) is not None:
            found.cached += 1
            continue
        expected = piece.size if total is None else max(0, min(piece.size, total - piece.first + 1))
        found.calls.append(PlannedCall(piece, expected))
    return found
