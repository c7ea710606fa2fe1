"""A shop's history: its rank and metrics in each period of a range, read from the rankings.

FastMoss has no shop-history endpoint: the rankings are the history. A history of ``P``
periods reads each period's ranking through the client and its cache, and pages only as deep
as it must:

1. the first page of every period, all together (``P`` calls when nothing is cached);
2. for each period where the shop is not on the pages read so far, the next page, if the
   ranking is longer and ``depth`` reaches it; again, until the shop is found, the ranking
   ends or ``depth`` is reached.

So a shop in the top 100 every day costs one call a day, a shop near rank 250 three, and a
history already read costs nothing. A period where the shop is not in the top ``depth`` has a
blank rank (never 0) and a note saying why.

With ``refresh`` every period's first page is asked afresh, unless the API answered it just
now; deeper pages are read through the cache when the fresh first page equals the one cached
(the ranking has not changed), and asked afresh otherwise, so that a history's ranks come from
one version of each ranking (see :class:`HistorySearch`).

:func:`first_wave` lists the first wave's tables without any call, for a cost estimate;
:attr:`HistoryQuery.most_pages` bounds the whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .client import FastMossClient, ProgressCallback
from .columns import column, history_columns
from .endpoints import ENDPOINTS, MAX_ROWS, PAGE_SIZE
from .errors import FastMossError, InvalidArgument
from .periods import normalize_date_type, period_range
from .query import RankingQuery, TableRequest, is_blank, pages_for, validate_rows
from .result import RankingResult
from .waves import Ask, Fetched, run_jobs

#: The longest history: more periods are refused before any call (90 days: a quarter).
MAX_PERIODS = 90
DEFAULT_DEPTH = 100
DEFAULT_RANKING = "most_promoted"

_DIGITS = re.compile(r"^\d{1,20}$")
_LOOKS_LIKE_A_NUMBER = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)$|^\d+\.\d+$")
#: Excel keeps 15 significant digits of a number: a longer id is not exact as a number.
_EXACT_DIGITS = 15


@dataclass(frozen=True)
class HistoryQuery:
    """One shop in one ranking over consecutive periods, to a depth: validated before any call."""

    seller_id: str
    #: The ranking of the last period; each period's query is this one with its date_value.
    ranking: RankingQuery
    periods: tuple[str, ...]
    depth: int

    @classmethod
    def build(cls, seller_id: object, region: object, category_id: object, date_type: object,
              start: object, end: object, *, ranking: object = DEFAULT_RANKING, sort_by: object = None,
              depth: object = DEFAULT_DEPTH, today: dt.date | None = None) -> HistoryQuery:
        """Validate user input (Python or Excel cell values) or raise InvalidArgument; makes no call."""
        seller = validate_seller_id(seller_id)
        endpoint = ranking_endpoint(ranking)
        rows = validate_depth(depth)
        date_type = normalize_date_type(date_type)
        periods = period_range(date_type, start, end, most=MAX_PERIODS, today=today)
        query = RankingQuery.build(endpoint, region, category_id, date_type, periods[-1], sort_by=sort_by,
                                   today=today)
        return cls(seller, query, tuple(periods), rows)

    def query_for(self, period: str) -> RankingQuery:
        return dataclasses.replace(self.ranking, date_value=period)

    @property
    def most_pages(self) -> int:
        """The most calls the history can cost: every period paged to ``depth``."""
        return len(self.periods) * pages_for(self.depth)

    def describe(self) -> str:
        q = self.ranking
        parts = [f"history of seller {self.seller_id}", q.endpoint.name, q.region or "all regions",
                 f"category {q.category_id}" if q.category_id else "all categories",
                 f"{q.date_type} {self.periods[0]} to {self.periods[-1]}", f"top {self.depth}"]
        if q.sort_by:
            parts.append(f"by {q.sort_by}")
        return ", ".join(parts)


def first_wave(query: HistoryQuery) -> list[TableRequest]:
    """The tables a history asks for first, one per period (its first page); no call is made."""
    return [TableRequest(query.query_for(period), min(query.depth, PAGE_SIZE)) for period in query.periods]


@dataclass
class HistoryResult:
    """A shop's history and what the API said about it.

    ``frame`` has one row per period, oldest first: ``date_value`` (the period asked), ``rank``
    (blank where the shop is not in the top ``depth``), the shop's columns and the ranking's
    metrics, and ``note`` (why a rank is blank, or the period FastMoss answered when it is
    another). ``fetched_at`` is when the oldest page used was fetched from the API.
    """

    frame: pd.DataFrame
    query: HistoryQuery
    fetched_at: dt.datetime
    from_cache: bool = False
    stale: bool = False
    stale_reason: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.frame.attrs.update(
            seller_id=self.query.seller_id, ranking=self.query.ranking.endpoint.name,
            date_type=self.query.ranking.date_type, depth=self.query.depth, found=self.found,
            fetched_at=self.fetched_at.isoformat(), stale=self.stale)

    @property
    def found(self) -> int:
        """In how many periods the shop is in the top ``depth``."""
        return int(self.frame["rank"].notna().sum())

    @property
    def empty(self) -> bool:
        return self.frame.empty


class HistorySearch:
    """The paging of one history, as a job of :func:`waves.run_jobs` (see the module docstring).

    Without ``refresh`` each period's table is read through the cache, a page deeper a wave
    until the shop is found. With ``refresh``, each period goes through three steps:

    1. its first page is read through the cache; a page the API answered just now is fresh;
    2. a first page from the cache, fetched before the refresh began, is asked afresh; when the
       fresh page equals the cached one, the ranking has not changed since it was cached, and its
       deeper pages are read through the cache;
    3. otherwise a deeper table whose pages predate the refresh is asked afresh, pages above it
       included (the client asks tables from row 1), so that the period's ranks come from one
       version of its ranking.
    """

    def __init__(self, query: HistoryQuery, *, refresh: bool = False, started: dt.datetime | None = None):
        self.query, self.refresh = query, refresh
        self.started = started or dt.datetime.now(dt.timezone.utc)
        self._periods = [_Period(query.query_for(p), min(query.depth, PAGE_SIZE)) for p in query.periods]
        self.error: FastMossError | None = None
        self._assembled: HistoryResult | None = None

    @property
    def done(self) -> bool:
        return self.error is not None or all(p.asking is None for p in self._periods)

    def wave(self) -> list[Ask]:
        if self.done:
            return []
        return [p.ask() for p in self._periods if p.asking is not None]

    def take(self, fetched: Fetched) -> None:
        for period in self._periods:
            if period.asking is None:
                continue
            answer = fetched[period.ask()]
            if isinstance(answer, FastMossError):
                self.error = answer
                return
            if self.refresh and not period.refresh and not answer.stale and answer.fetched_at < self.started:
                if period.result is None:  # step 2: the first page, as cached before the refresh
                    period.cached_first = answer
                    period.refresh = True
                    continue
                if not period.cache_agrees:  # step 3: a deeper page from before a changed first page
                    period.refresh = True
                    continue
            if period.result is None and period.cached_first is not None:
                period.cache_agrees = period.cached_first.frame.equals(answer.frame)
            period.read(answer, self.query)

    @property
    def outcome(self) -> HistoryResult | FastMossError | None:
        """The history once done, or the error that stopped it; None before."""
        if self.error is not None:
            return self.error
        if not self.done:
            return None
        if self._assembled is None:
            self._assembled = _assemble(self.query, [p.result for p in self._periods if p.result is not None])
        return self._assembled


@dataclass
class _Period:
    query: RankingQuery
    #: Rows to ask in the next wave; None once the period is settled.
    asking: int | None
    #: Whether the next ask skips the cache.
    refresh: bool = False
    result: RankingResult | None = None
    #: With refresh: the first page as the cache held it, and whether the fresh one equals it.
    cached_first: RankingResult | None = None
    cache_agrees: bool = False

    def ask(self) -> Ask:
        assert self.asking is not None
        return TableRequest(self.query, self.asking), self.refresh

    def read(self, answer: RankingResult, query: HistoryQuery) -> None:
        self.result = answer
        rows = self.asking or 0
        longer = answer.total > rows if answer.total is not None else len(answer.frame) >= rows
        if _position(answer, query.seller_id) is None and not answer.empty and longer and rows < query.depth:
            self.asking, self.refresh = min(query.depth, rows + PAGE_SIZE), False
        else:
            self.asking = None


def fetch_history(client: FastMossClient, query: HistoryQuery, *, refresh: bool = False,
                  progress: ProgressCallback | None = None) -> HistoryResult:
    """The history of ``query``, paged only as deep as needed; raises the error that stopped it."""
    search = HistorySearch(query, refresh=refresh)
    run_jobs(client, [search], progress=progress)
    if isinstance(search.outcome, FastMossError):
        raise search.outcome
    assert search.outcome is not None
    return search.outcome


def history(client: FastMossClient, seller_id, region, category_id, date_type, start, end, *,
            ranking=DEFAULT_RANKING, sort_by=None, depth=DEFAULT_DEPTH, refresh: bool = False,
            progress: ProgressCallback | None = None) -> HistoryResult:
    """A shop's history through ``client``; every argument is checked before any call.

    Arguments as in :func:`xl_fastmoss.history`.
    """
    query = HistoryQuery.build(seller_id, region, category_id, date_type, start, end, ranking=ranking,
                               sort_by=sort_by, depth=depth)
    return fetch_history(client, query, refresh=refresh, progress=progress)


# -- arguments --------------------------------------------------------------------------------------


def validate_seller_id(value: object) -> str:
    """A seller id as text of digits, or InvalidArgument saying why (a number that lost digits)."""
    allowed = ("the shop's seller id as text, e.g. \"7494006325298104216\" (in a cell: format it as Text "
               "before typing, or type ' first)")
    if isinstance(value, bool) or is_blank(value):
        raise InvalidArgument("seller_id", value, allowed)
    if isinstance(value, float) and not (math.isfinite(value) and abs(value) < 10**_EXACT_DIGITS):
        raise InvalidArgument("seller_id", value, (
            f"a number that lost digits: Excel keeps {_EXACT_DIGITS} significant digits, so a 19-digit id "
            f"typed as a number becomes another shop's; give {allowed}"))
    if isinstance(value, (int, float)):
        raise InvalidArgument("seller_id", value, (
            f"a number; a seller id is text (as a number, a 19-digit id loses digits in Excel); give {allowed}"))
    if not isinstance(value, str):
        raise InvalidArgument("seller_id", value, allowed)
    text = value.strip().removeprefix("'")
    if _DIGITS.match(text):
        return text
    if _LOOKS_LIKE_A_NUMBER.match(text):
        raise InvalidArgument("seller_id", value, (
            f"text of a number that lost digits (Excel keeps {_EXACT_DIGITS} significant digits); give {allowed}"))
    raise InvalidArgument("seller_id", value, allowed)


def validate_depth(value: object) -> int:
    """How deep to look for the shop in each period's ranking: 1..500, default 100."""
    if is_blank(value):
        return DEFAULT_DEPTH
    try:
        return validate_rows(value)
    except InvalidArgument as refused:
        raise InvalidArgument("depth", refused.value,
                              f"a whole number 1..{MAX_ROWS}: how deep to look for the shop in each ranking") from None


def ranking_endpoint(value: object):
    """The ranking a history reads: most_promoted (default), top_selling or fully_managed."""
    if is_blank(value):
        return ENDPOINTS[DEFAULT_RANKING]
    name = value.strip().lower().replace("-", "_").replace(" ", "_") if isinstance(value, str) else None
    if name not in ENDPOINTS:
        raise InvalidArgument("ranking", value, f"one of {', '.join(ENDPOINTS)}")
    return ENDPOINTS[name]


# -- the table ----------------------------------------------------------------------------------


def _position(result: RankingResult, seller_id: str) -> int | None:
    """The shop's row in ``result``, or None."""
    matches = (result.frame["seller_id"] == seller_id).fillna(False)
    found = matches.to_numpy().nonzero()[0]
    return int(found[0]) if len(found) else None


def _assemble(query: HistoryQuery, results: Sequence[RankingResult]) -> HistoryResult:
    names = history_columns(query.ranking.endpoint)
    records: list[dict] = []
    warnings: list[str] = []
    for period, result in zip(query.periods, results, strict=True):
        row = _position(result, query.seller_id)
        record: dict = {"date_value": period, "note": _note(query, period, result, row)}
        if row is not None:
            found = result.frame.iloc[row]
            record.update({name: found[name] for name in result.frame.columns if name in names})
        records.append(record)
        warnings += [f"{query.ranking.date_type} {period}: {w}" for w in result.warnings]
    frame = pd.DataFrame({name: pd.Series([r.get(name) for r in records], dtype=column(name).dtype)
                          for name in names}, columns=list(names))
    stale = [f"{r.query.date_value}: {r.stale_reason or 'the API failed'}" for r in results if r.stale]
    return HistoryResult(
        frame=frame, query=query, fetched_at=min(r.fetched_at for r in results),
        from_cache=all(r.from_cache for r in results), stale=bool(stale),
        stale_reason="; ".join(stale) if stale else None, warnings=tuple(warnings))


def _note(query: HistoryQuery, period: str, result: RankingResult, row: int | None) -> str | None:
    """Why the rank is blank, or which period FastMoss answered when it is another."""
    answered = result.date_value
    other = (f"FastMoss answered {result.date_type or query.ranking.date_type} {answered}"
             if answered and answered != period else None)
    if row is not None:
        return other
    if result.empty:
        note = f"no data yet: FastMoss has not published this {query.ranking.date_type}"
    else:
        length = result.total if result.total is not None else len(result.frame)
        searched = min(query.depth, length)
        if len(result.frame) < searched:
            note = (f"not in the top {query.depth} as answered: FastMoss left out "
                    f"{searched - len(result.frame)} of its ranks (see the warnings)")
        elif length < query.depth:
            note = f"not in this ranking ({length} shops)"
        else:
            note = f"not in the top {query.depth}"
    return f"{note}; {other}" if other else note
