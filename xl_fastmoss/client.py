"""The FastMoss client: rankings as typed tables, fetched once, cached, paged concurrently.

A ranking of ``rows`` rows costs ``ceil(rows / 100)`` calls: the first page tells how long the
ranking is, the rest go out together. Identical pages in flight at the same moment are fetched
once and shared; answers are kept in the persistent cache (see :mod:`xl_fastmoss.cache`) and the
assembled tables in memory, so a recalculation costs no call.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import pandas as pd
import requests

from . import redact
from .cache import ResponseCache, open_local_cache
from .endpoints import ENDPOINTS, PAGE_SIZE, Endpoint
from .errors import ConfigurationError, FastMossError
from .query import RankingQuery, TableRequest, pages_for, validate_rows
from .refresh_record import RefreshRecord, query_key
from .result import RankingResult
from .settings import Settings, find_api_key
from .throttle import AdaptiveLimiter
from .transport import PageAnswer, Transport, retry_after_cap

ProgressCallback = Callable[[int, int], None]

log = redact.logger(__name__)


@dataclass
class ClientStats:
    """What this client did since it was made: shown by FM_STATUS."""

    api_calls: int = 0
    pages_from_cache: int = 0
    tables_from_memory: int = 0
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
        self.limiter = AdaptiveLimiter(self.settings.max_concurrency, max_pause=retry_after_cap(self.settings))
        self.stats = ClientStats()
        self.transport = Transport(self.settings, self.session, self.cache, self.limiter,
                                   on_call=lambda: self.stats.count("api_calls"))
        # Threads only wait here; the limiter decides how many calls are really in flight.
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="fastmoss-page")
        self._in_flight: dict[tuple, Future] = {}
        self._in_flight_lock = threading.Lock()
        self._tables: dict[RankingQuery, RankingResult] = {}
        self._tables_lock = threading.Lock()
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

    def cached_table(self, request: TableRequest) -> RankingResult | None:
        """The table from memory if this process already holds it, fresh, with enough rows.

        A table a workbook refresh fetched again since this process took it into memory is not
        held any more: the refresh (maybe in another process, see :mod:`.refresh_record`) put
        the new pages into the shared cache, where the next fetch finds them. A table whose
        refresh failed stays: it is the last data the sheet had.
        """
        self._forget_refreshed_tables()
        with self._tables_lock:
            held = self._tables.get(request.query)
        if held is None or not held.covers(request.rows) or self._expired(held):
            return None
        self.stats.count("tables_from_memory")
        return held.first(request.rows)

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
        the others. ``refresh`` skips every cache (the answers then refresh the cache).
        """
        requests = list(dict.fromkeys(requests))
        outcomes: dict[TableRequest, RankingResult | FastMossError] = {}
        wanted: dict[RankingQuery, int] = {}
        for request in requests:
            held = None if refresh else self.cached_table(request)
            if held is not None:
                outcomes[request] = held
            else:
                wanted[request.query] = max(wanted.get(request.query, 0), request.rows)
        if wanted:
            fetched = _Progress(progress, sum(pages_for(rows) for rows in wanted.values()))
            first_pages = {self._page_future(q, 1, refresh): q for q in wanted}
            tables: dict[RankingQuery, RankingResult | FastMossError] = {}
            later_pages: dict[RankingQuery, list[Future]] = {}
            for first in as_completed(first_pages):  # a query's later pages go out as soon as its total is known
                query = first_pages[first]
                try:
                    answer = first.result()
                except FastMossError as error:
                    tables[query] = error
                    continue
                fetched.advance()
                count = self._pages_needed(wanted[query], answer)
                fetched.adjust(pages_for(wanted[query]) - count)
                later_pages[query] = [answer, *(self._page_future(query, p, refresh) for p in range(2, count + 1))]
            for query, answers in later_pages.items():
                tables[query] = self._assemble(query, wanted[query], answers, fetched)
            for request in requests:
                if request not in outcomes:
                    table = tables[request.query]
                    outcomes[request] = table if isinstance(table, FastMossError) else table.first(request.rows)
        return {request: outcomes[request] for request in requests}

    def _pages_needed(self, rows: int, first: PageAnswer) -> int:
        pages = pages_for(rows)
        if first.page.total is not None:  # the ranking's length, even if page 1 came back short
            return min(pages, max(1, -(-first.page.total // PAGE_SIZE)))
        return 1 if first.page.row_count < PAGE_SIZE else pages

    def _assemble(self, query: RankingQuery, rows: int, answers: list,
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
        frames = []
        for number, answer in enumerate(collected, start=1):
            keep = rows - (number - 1) * PAGE_SIZE  # the rows of this page the table shows
            frames.append(_rows_of(answer).iloc[:keep])
            last_rank = (number - 1) * PAGE_SIZE + keep
            warnings += [text for rank, text in answer.page.row_warnings if rank <= last_rank]
        for number, answer in enumerate(collected, start=1):
            asked = min(PAGE_SIZE, rows - (number - 1) * PAGE_SIZE)
            count = answer.page.row_count
            if number < len(collected) and count < asked:
                warnings.append(
                    f"page {number} answered {count} of {PAGE_SIZE} rows; "
                    f"ranks {(number - 1) * PAGE_SIZE + count + 1}-{number * PAGE_SIZE} are missing")
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
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
            with self._tables_lock:
                held = self._tables.get(query)
                if held is None or held.rows_asked <= rows or self._expired(held):
                    self._tables[query] = result
        return result

    def _page_future(self, query: RankingQuery, page: int, refresh: bool) -> Future:
        """The answer for one page, shared with any identical request already in flight."""
        body = query.body(page)
        key = (query.endpoint.path, json.dumps(body, sort_keys=True), refresh)
        with self._in_flight_lock:
            shared = self._in_flight.get(key)
            if shared is not None:
                return shared
            future = self._pool.submit(self._fetch_page, query.endpoint, body, (page - 1) * PAGE_SIZE + 1, refresh)
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
        if answer.from_cache and not answer.stale_reason:
            self.stats.count("pages_from_cache")
        return answer

    def _expired(self, result: RankingResult) -> bool:
        age = (dt.datetime.now(dt.timezone.utc) - result.fetched_at).total_seconds()
        return age > self.settings.cache_ttl

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()
        self.cache.close()

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


def _rows_of(answer: PageAnswer) -> pd.DataFrame:
    """A page's typed rows: the transport reads every page into a frame before handing it on."""
    frame = answer.page.frame
    assert frame is not None, "the transport hands on read pages only"
    return frame


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
