"""Movers: a ranking compared with an earlier ranking of the same query, to the same depth.

``compare="previous"`` (or an earlier period of the same type) adds three columns after
``rank``: ``previous_rank`` (the shop's rank in the earlier ranking, blank when it was not in
its top ``rows``), ``rank_change`` (places moved up: positive is better, blank for a new shop)
and ``new`` (TRUE for a shop absent from the earlier ranking to the same depth). Both rankings
are asked together through the client and its cache: the earlier one costs what a table of
the same rows costs, and nothing once cached.

:func:`comparison_requests` lists the two tables without any call (for a cost estimate);
:func:`compare_rankings` is the pure comparison; :func:`compared_ranking` fetches and compares.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from .client import FastMossClient, ProgressCallback
from .columns import COMPARE_FIELDS, dtype_of
from .endpoints import Endpoint
from .errors import FastMossError, InvalidArgument
from .periods import first_day, normalize_period, previous_period
from .query import RankingQuery, TableRequest, is_blank, validate_rows
from .result import RankingResult
from .waves import Ask, Fetched, run_jobs

PREVIOUS = "previous"


@dataclass(frozen=True)
class Comparison:
    """A ranking to show and the earlier ranking it is compared with, to the same rows."""

    request: TableRequest
    earlier: TableRequest

    @classmethod
    def build(cls, request: TableRequest, compare: object, today: dt.date | None = None) -> Comparison:
        """Read ``compare`` ("previous", or an earlier period as date_value takes it) or raise InvalidArgument."""
        query = request.query
        if isinstance(compare, str) and compare.strip().lower() == PREVIOUS:
            period = previous_period(query.date_type, query.date_value)
        elif is_blank(compare) or isinstance(compare, bool):
            raise InvalidArgument("compare", compare, _compare_hint(query))
        else:
            try:
                period = normalize_period(query.date_type, compare, today)
            except InvalidArgument as refused:
                raise InvalidArgument("compare", refused.value, refused.allowed) from None
            if first_day(query.date_type, period) >= first_day(query.date_type, query.date_value):
                raise InvalidArgument("compare", compare, f"{query.date_type} {period} is not before "
                                      f"{query.date_value}, the period shown; {_compare_hint(query)}")
        earlier = dataclasses.replace(query, date_value=period)
        return cls(request, TableRequest(earlier, request.rows))

    def requests(self) -> list[TableRequest]:
        """The two tables, asked together: what a comparison costs before any call."""
        return [self.request, self.earlier]

    def describe(self) -> str:
        earlier = self.earlier.query
        return f"{self.request.query.describe()}, compared with {earlier.date_type} {earlier.date_value}"


def comparison_requests(request: TableRequest, compare: object, today: dt.date | None = None) -> list[TableRequest]:
    """The tables a comparison of ``request`` asks for (the shown one, the earlier one); no call."""
    return Comparison.build(request, compare, today).requests()


def compare_rankings(current: RankingResult, earlier: RankingResult) -> RankingResult:
    """``current`` with ``previous_rank``, ``rank_change`` and ``new`` after its rank, from ``earlier``.

    Pure. A shop is matched by its seller id; a row without one gets blanks in all three.
    When the earlier ranking has no data, the three columns are blank and a warning says so.
    """
    frame = current.frame
    earlier_period = f"{earlier.query.date_type} {earlier.query.date_value}"
    warnings = list(current.warnings) + [f"earlier ranking ({earlier_period}): {w}" for w in earlier.warnings]
    if earlier.empty and not current.empty:
        warnings.append(f"the earlier ranking ({earlier_period}) has no data yet: nothing to compare with")
    ranks = {seller: rank for seller, rank in zip(earlier.frame["seller_id"], earlier.frame["rank"], strict=True)
             if not pd.isna(seller)}
    # Unknown (blank) where the seller id is missing or there is nothing to compare with.
    known = [not pd.isna(seller) and not earlier.empty for seller in frame["seller_id"]]
    sellers = list(zip(frame["seller_id"], known, strict=True))
    previous = pd.Series([ranks.get(s) if k else None for s, k in sellers], dtype=dtype_of("previous_rank"),
                         index=frame.index)
    new = pd.Series([s not in ranks if k else None for s, k in sellers], dtype=dtype_of("new"), index=frame.index)
    added = {"previous_rank": previous,
             "rank_change": previous - frame["rank"],  # Int64 minus Int64: blank where either is
             "new": new}
    position = list(frame.columns).index("rank") + 1
    columns = [*frame.columns[:position], *COMPARE_FIELDS, *frame.columns[position:]]
    compared = pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)[columns]
    stale = [r.stale_reason or "the API failed" for r in (current, earlier) if r.stale]
    result = dataclasses.replace(
        current, frame=compared, warnings=tuple(warnings), fetched_at=min(current.fetched_at, earlier.fetched_at),
        request_ids=current.request_ids + earlier.request_ids, from_cache=current.from_cache and earlier.from_cache,
        stale=bool(stale), stale_reason=stale[0] if stale else None)
    result.frame.attrs["compared_with"] = earlier_period
    return result


class ComparisonJob:
    """A comparison as a job of :func:`waves.run_jobs`: one wave of both tables."""

    def __init__(self, comparison: Comparison, refresh: bool = False):
        self.comparison, self.refresh = comparison, refresh
        self.outcome: RankingResult | FastMossError | None = None

    def wave(self) -> list[Ask]:
        if self.outcome is not None:
            return []
        return [(request, self.refresh) for request in self.comparison.requests()]

    def take(self, fetched: Fetched) -> None:
        current = fetched[(self.comparison.request, self.refresh)]
        earlier = fetched[(self.comparison.earlier, self.refresh)]
        if isinstance(current, FastMossError):
            self.outcome = current
        elif isinstance(earlier, FastMossError):
            self.outcome = earlier
        else:
            self.outcome = compare_rankings(current, earlier)


def fetch_comparison(client: FastMossClient, comparison: Comparison, *, refresh: bool = False,
                     progress: ProgressCallback | None = None) -> RankingResult:
    """Both rankings of ``comparison`` fetched together, compared; raises the error that stopped them."""
    job = ComparisonJob(comparison, refresh)
    run_jobs(client, [job], progress=progress)
    if isinstance(job.outcome, FastMossError):
        raise job.outcome
    assert job.outcome is not None
    return job.outcome


def compared_ranking(client: FastMossClient, endpoint: Endpoint | str, region=None, category_id=None,
                     date_type="day", date_value="latest", *, compare: object = PREVIOUS, shop_type=None,
                     cross_border=None, sort_by=None, rows=10, refresh: bool = False,
                     progress: ProgressCallback | None = None) -> RankingResult:
    """A ranking compared with an earlier one; arguments as in :meth:`FastMossClient.ranking`.

    Every argument is checked before any call.
    """
    query = RankingQuery.build(endpoint, region, category_id, date_type, date_value,
                               shop_type=shop_type, cross_border=cross_border, sort_by=sort_by)
    comparison = Comparison.build(TableRequest(query, validate_rows(rows)), compare)
    return fetch_comparison(client, comparison, refresh=refresh, progress=progress)


def _compare_hint(query: RankingQuery) -> str:
    return f"use \"previous\" (the {query.date_type} before), or an earlier {query.date_type} as date_value takes it"
