"""The FastMoss client: rankings as typed tables, fetched once, cached, paged concurrently.

A ranking of ``rows`` rows costs ``ceil(rows / 100)`` calls (pages as FASTMOSS_PAGE_ROWS says,
see :mod:`xl_fastmoss.paging`): the first page tells how long the ranking is, the rest go out
together. Identical pages in flight at the same moment are fetched once and shared; answers are
kept in the persistent cache (see :mod:`xl_fastmoss.cache`) and the assembled tables in memory,
so a recalculation costs no call. Identical asks in flight at the same moment also share one
table build, and the tables in memory are the FASTMOSS_MEMORY_TABLES most recently used. Every
call is recorded in the ledger and counted against the daily budgets (:mod:`xl_fastmoss.ledger`);
:func:`xl_fastmoss.estimate.estimate` counts, without a call, what
:meth:`FastMossClient.fetch_many` would spend, from the same plan.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests

from . import redact
from .cache import ResponseCache, open_local_cache
from .endpoints import ENDPOINTS, MAX_ROWS, PAGE_SIZE, Endpoint
from .errors import ConfigurationError, FastMossError
from .ledger import open_ledger
from .paging import EXACT, Piece, plan_pieces, query_id, within
from .query import RankingQuery, TableRequest, validate_rows
from .refresh_record import RefreshRecord, query_key
from .result import RankingResult
from .retention import is_final
from .settings import Settings, find_api_key
from .throttle import AdaptiveLimiter
from .transport import PageAnswer, Transport, retry_after_cap

if TYPE_CHECKING:
    from .parse import Columns

ProgressCallback = Callable[[int, int], None]

log = redact.logger(__name__)


@dataclass
class ClientStats:
    """What this client did since it was made: shown by FM_STATUS."""

    api_calls: int = 0
    pages_from_cache: int = 0
    tables_from_memory: int = 0
    #: Tables assembled from their pages (asks in flight at once for one table share one).
    tables_built: int = 0
    #: When this client was made (UTC): its session's start.
    since: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class FastMossClient:
    """Client of the FastMoss shop rankings.

    Parameters
    ----------
    settings
        Key, base URL, timeouts, retries, cache and concurrency; ``Settings.load()`` when
        omitted (environment, then the user's config store).
    session
        A ``requests`` session to send with (proxies, certificates); a new one when omitted.
        Answers are cached in ``settings.cache_dir`` either way.
    """

    def __init__(self, settings: Settings | None = None, *, session=None, **overrides):
        self.settings = settings.with_(**overrides) if settings else Settings.load(**overrides)
        self.session = session or requests.Session()
        self.cache = open_cache(self.settings)
        #: Every call made, and the daily budgets (shared with the cache's other users).
        self.ledger = open_ledger(self.settings)
        self.limiter = AdaptiveLimiter(self.settings.max_concurrency, max_pause=retry_after_cap(self.settings))
        self.stats = ClientStats()
        self.transport = Transport(self.settings, self.session, self.cache, self.limiter, self.ledger,
                                   on_call=lambda: self.stats.count("api_calls"))
        # Threads only wait here; the limiter decides how many calls are really in flight.
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="fastmoss-page")
        self._in_flight: dict[tuple, Future] = {}
        self._in_flight_lock = threading.Lock()
        #: Tables in memory, least recently used first; at most settings.memory_tables.
        self._tables: OrderedDict[RankingQuery, RankingResult] = OrderedDict()
        self._tables_lock = threading.Lock()
        #: Tables being built, by (query, refresh): the rows each covers and its outcome to come.
        self._building: dict[tuple[RankingQuery, bool], tuple[int, Future]] = {}
        self._building_lock = threading.Lock()
        #: Workbook refreshes, perhaps of other processes, that make tables in memory outdated.
        self.refresh_record = RefreshRecord.in_cache_dir(self.settings.cache_dir)
        self._refreshes_applied = 0

    # -- rankings -------------------------------------------------------------------------

    def ranking(self, endpoint: Endpoint | str, region=None, category_id=None, date_type="day",
                date_value="latest", *, shop_type=None, cross_border=None, sort_by=None,
                rows=10, refresh: bool = False, progress: ProgressCallback | None = None) -> RankingResult:
        """A ranking of ``endpoint`` as a :class:`RankingResult`; arguments as in :func:`most_promoted`."""
        query = RankingQuery.build(endpoint, region, category_id, date_type, date_value,
                                   shop_type=shop_type, cross_border=cross_border, sort_by=sort_by)
        return self.fetch(TableRequest(query, validate_rows(rows)), refresh=refresh, progress=progress)

    def most_promoted(self, region=None, category_id=None, date_type="day", date_value="latest",
                      **options) -> RankingResult:
        return self.ranking(ENDPOINTS["most_promoted"], region, category_id, date_type, date_value, **options)

    def top_selling(self, region=None, category_id=None, date_type="day", date_value="latest",
                    **options) -> RankingResult:
        return self.ranking(ENDPOINTS["top_selling"], region, category_id, date_type, date_value, **options)

    def fully_managed(self, region=None, category_id=None, date_type="day", date_value="latest",
                      **options) -> RankingResult:
        return self.ranking(ENDPOINTS["fully_managed"], region, category_id, date_type, date_value, **options)

    # -- fetching -------------------------------------------------------------------------

    def fetch(self, request: TableRequest, *, refresh: bool = False,
              progress: ProgressCallback | None = None) -> RankingResult:
        """One table; raises the FastMossError that stopped it."""
        outcome = self.fetch_many([request], refresh=refresh, progress=progress)[request]
        if isinstance(outcome, FastMossError):
            raise outcome
        return outcome

    def cached_table(self, request: TableRequest, *, count: bool = True) -> RankingResult | None:
        """The table from memory if this process already holds it, fresh, with enough rows.

        A table a workbook refresh fetched again since this process took it into memory is not
        held any more: the refresh (maybe in another process, see :mod:`.refresh_record`) put
        the new pages into the shared cache, where the next fetch finds them. A table whose
        refresh failed stays: it is the last data the sheet had.
        """
        self._forget_refreshed_tables()
        held = self._held(request.query, request.rows)
        if held is None:
            return None
        if count:
            self.stats.count("tables_from_memory")
        return held.first(request.rows)

    def _held(self, query: RankingQuery, rows: int) -> RankingResult | None:
        """The table of ``query`` in memory if it covers ``rows`` and has not expired; now the most recently used."""
        with self._tables_lock:
            held = self._tables.get(query)
            if held is not None:
                self._tables.move_to_end(query)
        return None if held is None or not held.covers(rows) or self._expired(held) else held

    def _keep(self, result: RankingResult) -> None:
        """Hold a new table in memory unless one already held serves more rows; the least recently
        used go beyond settings.memory_tables (they are read from the disk cache when asked again)."""
        query, limit = result.query, self.settings.memory_tables
        with self._tables_lock:
            held = self._tables.get(query)
            if held is None or held.rows_asked <= result.rows_asked or self._expired(held):
                self._tables[query] = result
            if query in self._tables:
                self._tables.move_to_end(query)
            while len(self._tables) > limit:
                self._tables.popitem(last=False)

    def _forget_refreshed_tables(self) -> None:
        refreshes = self.refresh_record.refreshes()
        newest = refreshes[-1].number if refreshes else 0
        if newest == self._refreshes_applied:
            return
        with self._tables_lock:
            if newest < self._refreshes_applied:  # the record was deleted and began again
                self._refreshes_applied = 0
            for refresh in refreshes:
                if refresh.number <= self._refreshes_applied:
                    continue
                for query, held in list(self._tables.items()):
                    key = query_key(query)
                    if key in refresh.refreshed and key not in refresh.failed and held.fetched_at < refresh.started:
                        del self._tables[query]
            self._refreshes_applied = newest

    def fetch_many(self, requests: Iterable[TableRequest], *, refresh: bool = False,
                   progress: ProgressCallback | None = None) -> dict[TableRequest, RankingResult | FastMossError]:
        """Many tables at once: each distinct page is asked once, all under the concurrency bound.

        Returns each request's table, or the error that stopped it; one failure does not stop
        the others. ``refresh`` skips every cache but final answers (the answers then refresh
        the cache).
        """
        requests = list(dict.fromkeys(requests))
        outcomes: dict[TableRequest, RankingResult | FastMossError] = {}
        held, wanted = self.tables_wanted(requests, refresh=refresh)
        outcomes.update(held)
        if wanted:
            mine, theirs = self._claim_builds(wanted, refresh)
            tables: dict[RankingQuery, RankingResult | FastMossError] = {}
            try:
                tables.update(self._build_tables({q: wanted[q] for q in mine}, refresh, progress))
            finally:  # whatever happened, the asks waiting for these builds are told
                self._settle_builds(mine, tables, refresh)
                self.ledger.flush()  # the rows of this fetch's calls, in one write
            for query, future in theirs.items():  # after our own builds: no two asks wait for each other
                tables[query] = future.result()
            for request in requests:
                if request not in outcomes:
                    table = tables[request.query]
                    outcomes[request] = table if isinstance(table, FastMossError) else table.first(request.rows)
        return {request: outcomes[request] for request in requests}

    def _claim_builds(self, wanted: dict[RankingQuery, int], refresh: bool
                      ) -> tuple[dict[RankingQuery, Future], dict[RankingQuery, Future]]:
        """Which of the ``wanted`` tables this ask builds, and the builds in flight (or tables
        finished since it looked) it shares instead: each with the future of its outcome."""
        mine: dict[RankingQuery, Future] = {}
        theirs: dict[RankingQuery, Future] = {}
        with self._building_lock:
            for query, rows in wanted.items():
                building = self._building.get((query, refresh))
                if building is not None and building[0] >= rows:
                    theirs[query] = building[1]
                    continue
                held = None if refresh else self._held(query, rows)
                if held is not None:  # a build finished between tables_wanted and here
                    theirs[query] = Future()
                    theirs[query].set_result(held)
                    continue
                mine[query] = Future()
                self._building[(query, refresh)] = (rows, mine[query])
        return mine, theirs

    def _settle_builds(self, mine: dict[RankingQuery, Future],
                       tables: dict[RankingQuery, RankingResult | FastMossError], refresh: bool) -> None:
        with self._building_lock:
            for query, future in mine.items():
                if self._building.get((query, refresh), (0, None))[1] is future:
                    del self._building[(query, refresh)]
        for query, future in mine.items():
            future.set_result(tables[query] if query in tables else FastMossError(
                "the table was not built: the ask building it for this one was interrupted"))

    def _build_tables(self, wanted: dict[RankingQuery, int], refresh: bool, progress: ProgressCallback | None
                      ) -> dict[RankingQuery, RankingResult | FastMossError]:
        """Each wanted table from its pages: first pages together, then each query's later pages
        as soon as its total is known."""
        tables: dict[RankingQuery, RankingResult | FastMossError] = {}
        if not wanted:
            return tables
        plans = {query: self.plan_table(query, rows, refresh=refresh) for query, rows in wanted.items()}
        fetched = _Progress(progress, sum(len(pieces) for pieces in plans.values()))
        # Deepest queries first: their later pages can only follow their first page, so a
        # deep query's first page asked last would leave a round of later pages after all others.
        deepest_first = sorted(wanted, key=lambda q: -len(plans[q]))
        first_pages = {self._piece_future(q, plans[q][0], refresh): q for q in deepest_first}
        later_pages: dict[RankingQuery, tuple[list[Piece], list]] = {}
        for first in as_completed(first_pages):
            query = first_pages[first]
            try:
                answer = first.result()
            except FastMossError as error:
                tables[query] = error
                continue
            fetched.advance()
            pieces = within(plans[query], answer.page.total, answer.page.row_count)
            fetched.adjust(len(plans[query]) - len(pieces))
            # A first page the API just answered says its later pages are not stored either: they
            # are looked for in the cache by the threads that call for them, not here one by one.
            later_pages[query] = (pieces, [answer, *(self._piece_future(query, p, refresh, read_here=answer.from_cache)
                                                     for p in pieces[1:])])
        for query, (pieces, answers) in later_pages.items():
            tables[query] = self._assemble(query, wanted[query], pieces, answers, fetched)
        return tables

    def tables_wanted(self, requests: Iterable[TableRequest], *, refresh: bool = False, count: bool = True
                      ) -> tuple[dict[TableRequest, RankingResult], dict[RankingQuery, int]]:
        """The tables this process holds in memory (never when ``refresh``), and the rows to fetch
        of every other query: the most any of its requests asks (the others are its first rows)."""
        held: dict[TableRequest, RankingResult] = {}
        wanted: dict[RankingQuery, int] = {}
        for request in dict.fromkeys(requests):
            table = None if refresh else self.cached_table(request, count=count)
            if table is not None:
                held[request] = table
            else:
                wanted[request.query] = max(wanted.get(request.query, 0), request.rows)
        return held, wanted

    def plan_table(self, query: RankingQuery, rows: int, *, refresh: bool = False) -> list[Piece]:
        """The pieces (pages) that make the first ``rows`` rows of ``query``, in rank order, as the
        page-size policy says; under ``exact``, stored pieces that can be read without a call are used."""
        held: list[Piece] = []
        if self.settings.page_rows == EXACT:
            for (page, size), _key in self.cache.pieces(query_id(query.endpoint.path, query.body(1))).items():
                piece = Piece(page, size)
                if not (1 <= size <= PAGE_SIZE and page >= 1 and piece.last <= MAX_ROWS) or piece.first > rows:
                    continue
                if self.transport.cached_answer(query.endpoint, query.body(page, size), first_rank=piece.first,
                                                refresh=refresh) is not None:
                    held.append(piece)
        return plan_pieces(rows, self.settings.page_rows, held)

    def _assemble(self, query: RankingQuery, rows: int, pieces: list[Piece], answers: list,
                  progress: _Progress) -> RankingResult | FastMossError:
        first: PageAnswer = answers[0]
        warnings = list(first.page.warnings)
        collected = [first]
        for future in answers[1:]:
            try:
                answer: PageAnswer = future.result()
            except FastMossError as error:
                return error
            progress.advance()
            collected.append(answer)
        self.stats.count("tables_built")
        parts = []
        rank = 1  # the first rank this piece gives the table: pieces follow each other in rank order
        for number, (piece, answer) in enumerate(zip(pieces, collected, strict=True), start=1):
            last = min(piece.last, rows)  # the last rank of this piece the table shows
            shown = slice(rank - piece.first, last - piece.first + 1)
            parts.append({name: array[shown] for name, array in _columns_of(answer).items()})
            warnings += [text for at, text in answer.page.row_warnings if rank <= at <= last]
            count = answer.page.row_count
            if number < len(collected) and count < min(piece.size, last - piece.first + 1):
                warnings.append(f"page {piece.page} answered {count} of {piece.size} rows; "
                                f"ranks {piece.first + count}-{piece.last} are missing")
            rank = piece.last + 1
        from .parse import frame_of  # imported while the first call was on the wire (see transport)

        frame = frame_of(parts)
        stale = [a.stale_reason for a in collected if a.stale_reason]
        stale_errors = [a.stale_error for a in collected if a.stale_error]
        result = RankingResult(
            frame=frame, query=query, rows_asked=rows, total=first.page.total,
            date_type=first.page.date_type, date_value=first.page.date_value,
            fetched_at=min(a.fetched_at for a in collected),
            request_ids=tuple(a.page.request_id for a in collected if a.page.request_id),
            from_cache=all(a.from_cache for a in collected),
            stale=bool(stale), stale_reason=stale[0] if stale else None,
            stale_error=stale_errors[0] if stale_errors else None,
            warnings=tuple(redact.scrub(w) for w in warnings),
        )
        if not result.stale and not result.empty:  # "no data yet" must not outlive publication
            self._keep(result)
        return result

    def _piece_future(self, query: RankingQuery, piece: Piece, refresh: bool, *, read_here: bool = True) -> Future:
        """The answer for one piece, shared with any identical request already in flight.

        A page the cache serves (unless refreshing) is read in the asker's thread: handing it
        to another thread would only add the wait for that thread to take it and give it back.
        Any other page, and every page when not ``read_here``, is fetched by the pool (which
        reads the cache first) in the context of the asker (:mod:`.asking`), so the ledger
        records what asked for it.
        """
        body = query.body(piece.page, piece.size)
        key = (query.endpoint.path, json.dumps(body, sort_keys=True), refresh)
        with self._in_flight_lock:
            shared = self._in_flight.get(key)
        if shared is not None:
            return shared
        if read_here and not refresh:
            served = self.transport.cached_answer(query.endpoint, body, first_rank=piece.first)
            if served is not None:
                self._count_page(served)
                done: Future = Future()
                done.set_result(served)
                return done
        with self._in_flight_lock:
            shared = self._in_flight.get(key)
            if shared is not None:
                return shared
            context = contextvars.copy_context()
            future = self._pool.submit(context.run, self._fetch_page, query.endpoint, body, piece.first, refresh)
            self._in_flight[key] = future
        # Outside the lock: a future already done runs the callback at once, in this thread.
        future.add_done_callback(lambda _f: self._forget(key, _f))
        return future

    def _forget(self, key: tuple, future: Future) -> None:
        with self._in_flight_lock:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]

    def _fetch_page(self, endpoint: Endpoint, body: dict, first_rank: int, refresh: bool) -> PageAnswer:
        answer = self.transport.post(endpoint, body, first_rank=first_rank, refresh=refresh)
        self._count_page(answer)
        return answer

    def _count_page(self, answer: PageAnswer) -> None:
        if answer.from_cache and not answer.stale_reason:
            self.stats.count("pages_from_cache")

    def _expired(self, result: RankingResult) -> bool:
        if is_final(result.query.body(1), result.fetched_at, self.settings.settle_days):
            return False
        age = (dt.datetime.now(dt.timezone.utc) - result.fetched_at).total_seconds()
        return age > self.settings.cache_ttl

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()
        self.cache.close()
        self.ledger.close()

    def __enter__(self) -> FastMossClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_cache(settings: Settings) -> ResponseCache:
    """The cache the settings ask for: the local file, or Redis in front of it."""
    local = open_local_cache(settings.cache_dir, settings.cache_ttl, settings.max_page_bytes)
    url = settings.cache_url
    if not url:
        return local
    if not url.startswith(("redis://", "rediss://", "unix://")):
        local.close()
        raise ConfigurationError(f"FASTMOSS_CACHE_URL {redact.redact_url(url)!r} is not a redis:// URL")
    try:
        from .team_cache import TeamCache
    except ImportError:  # the team extra is not installed: the local cache still serves
        log.warning("FASTMOSS_CACHE_URL is set but the redis package is missing "
                    "(pip install \"xl-fastmoss[team]\"); using the local cache")
        return local
    return TeamCache(url, local, settings.cache_ttl, settings.max_page_bytes)


def _columns_of(answer: PageAnswer) -> Columns:
    """A page's typed columns: the transport reads every page before handing it on."""
    columns = answer.page.columns
    assert columns is not None, "the transport hands on read pages only"
    return columns


class _Progress:
    def __init__(self, callback: ProgressCallback | None, total: int):
        self.callback, self.total, self.done = callback, total, 0
        self._lock = threading.Lock()

    def advance(self) -> None:
        with self._lock:
            self.done += 1
            if self.callback:
                self.callback(self.done, self.total)

    def adjust(self, fewer: int) -> None:
        with self._lock:
            self.total -= fewer


_default_client: FastMossClient | None = None
_default_lock = threading.Lock()


def default_client() -> FastMossClient:
    """The process-wide client on the user's settings, made on first use.

    Made again when it has no key, so a key set after the first call is picked up.
    """
    global _default_client
    with _default_lock:
        if _default_client is None or (not _default_client.settings.api_key and find_api_key()):
            previous, _default_client = _default_client, FastMossClient()
            if previous is not None:
                previous.close()
        return _default_client


def reset_default_client() -> None:
    global _default_client
    with _default_lock:
        if _default_client is not None:
            _default_client.close()
        _default_client = None
