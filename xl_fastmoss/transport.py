"""One page over HTTP: send, read within bounds, classify the answer, retry what is transient.

Every failure becomes an error of :mod:`xl_fastmoss.errors`; nothing here knows about tables
beyond reading a page into one before it is cached (what cannot be read is never cached).

Bounds on one page, whatever the server does:

- time: connect, reads and retries of one page end within ``Settings.retry_deadline`` (60 s)
  of its first attempt. Each wait for the server is cut to the time left, a body still
  arriving when the time is up is cut off (urllib3's ``HTTPResponse.shutdown``), and no
  attempt starts without time left (one that got its call slot too late ends at once).
- size: the body may take ``Settings.max_page_bytes`` (4 MiB) on the wire and as many once
  decompressed, counted while it is read; a full page of 100 rows is about 70 KB.
- ``Retry-After``: the throttled page waits that long before asking again, up to
  ``MAX_RETRY_AFTER`` (30 s) and never more than half the retry deadline; a value that is not
  a delay or a date (negative, junk, NaN) counts as the cap. The other pages go on, unless
  the throttle persists (:mod:`.throttle`).
- redirects are not followed (the key would go along, and a redirect loop would not end):
  a 3xx is an error naming where it pointed.

Every attempt is a call the vendor meters: each is reserved in the ledger (:mod:`.ledger`)
under the daily budgets while it waits for its call slot, and settled with the rows it
received; a reservation whose call is then not sent is taken back. A call the budgets (or a
run's ``--max-calls``) refuse is never sent nor retried; an older cached copy then stands in,
marked stale, as for any failed fetch.

An answer fetched after its period settled is final (:mod:`.retention`): it never expires, and
a refresh reads it from the cache instead of asking again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import importlib
import json
import math
import random
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import requests
import urllib3.exceptions

from . import errors
from .asking import current_asker, take_allowed_call
from .cache import ResponseCache
from .deadlines import WATCHDOG
from .endpoints import PAGE_SIZE, Endpoint
from .ledger import NO_ROWS, OK, Ledger
from .paging import query_id
from .retention import is_final
from .settings import Settings
from .throttle import AdaptiveLimiter, Turn
from .while_waiting import WHILE_WAITING

if TYPE_CHECKING:
    import tenacity  # imported at a page's first retry (see Transport._retried)

    from .parse import Page  # see _import_reader

# The longest wait between two attempts, whatever the backoff has grown to.
_MAX_BACKOFF = 8.0
#: The longest ``Retry-After`` obeyed, in seconds (and at most half the retry deadline).
MAX_RETRY_AFTER = 30.0
_CHUNK = 64 * 1024
#: Texts the server chose (messages, a redirect's target, a content type) are shown this long at most.
_SHOWN_TEXT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def retry_after_cap(settings: Settings) -> float:
    """The longest pause a throttling answer may impose: 30 s, or half the retry deadline."""
    return min(MAX_RETRY_AFTER, settings.retry_deadline / 2)


@dataclass
class PageAnswer:
    page: Page
    from_cache: bool
    fetched_at: dt.datetime
    #: Set when the API failed and an older cached copy stands in: what failed.
    stale_reason: str | None = None
    #: The error behind ``stale_reason``.
    stale_error: errors.FastMossError | None = None


class Transport:
    """Answers page requests from the cache or the API, under the limiter, with bounded retries."""

    def __init__(self, settings: Settings, session: requests.Session, cache: ResponseCache,
                 limiter: AdaptiveLimiter, ledger: Ledger, *, sleep: Callable[[float], None] = time.sleep,
                 on_call: Callable[[], None] = lambda: None):
        self.settings = settings
        self.session = session
        self.cache = cache
        self.limiter = limiter
        self.ledger = ledger
        self._sleep = sleep
        self._on_call = on_call
        self._read_pages = _ReadPages()

    def post(self, endpoint: Endpoint, body: dict, *, first_rank: int = 1, refresh: bool = False) -> PageAnswer:
        """The page answered for ``body``: from the cache unless ``refresh``, else from the API.

        A final answer (fetched after its period settled) comes from the cache even with
        ``refresh``. When the API fails and an older copy is cached, that copy comes back with
        ``stale_reason`` saying what failed; so it does when the API answers no rows for a
        page that had rows. A stored copy that cannot be read is ignored (and replaced).
        """
        url, key, reading = self._asking(endpoint, body, first_rank)
        cached = self.cache.get(key)
        served = self._served(cached, body, reading, refresh, key)
        if served is not None:
            return served
        try:
            answer = self._fetch(url, body, key, refresh, reading)
        except errors.FastMossError as error:
            return self._stale(key, cached, reading, error)
        if answer.page.row_count:
            return answer
        return self._stale(key, cached, reading, errors.EmptyAnswer(
            f"FastMoss answered no rows for a page that had rows before (the empty answer was "
            f"not kept){_request_id_text(answer.page.request_id)}"), empty=answer)

    def cached_answer(self, endpoint: Endpoint, body: dict, *, first_rank: int = 1, refresh: bool = False,
                      stale: bool = False) -> PageAnswer | None:
        """The page :meth:`post` would answer without a call (None when it would call): the
        estimate asks this, and the client before it hands a page to a thread. With ``stale``,
        any readable stored copy (what it said of the ranking's length is a good guess)."""
        _url, key, reading = self._asking(endpoint, body, first_rank)
        cached = self.cache.get(key)
        if stale:
            page = self._stored_page(key, cached, reading)
            return None if page is None or cached is None else PageAnswer(page, True, _created_at(cached))
        return self._served(cached, body, reading, refresh, key)

    def _asking(self, endpoint: Endpoint, body: dict, first_rank: int) -> tuple[str, str, _Reading]:
        url = self.settings.base_url.rstrip("/") + endpoint.path
        return url, self.cache.key(url, body), _Reading(endpoint, first_rank, body.get("pagesize") or PAGE_SIZE)

    def _served(self, cached, body: dict, reading: _Reading, refresh: bool, key: str | None = None
                ) -> PageAnswer | None:
        """The stored copy when it may be served without a call: final, or fresh and not refreshing."""
        if cached is None:
            return None
        final = is_final(body, _created_at(cached), self.settings.settle_days)
        if not (final or (not refresh and self.cache.is_fresh(cached))):
            return None
        page = reading.stored(cached) if key is None else self._stored_page(key, cached, reading)
        return None if page is None else PageAnswer(page, True, _created_at(cached))

    def _stored_page(self, key: str, cached, reading: _Reading) -> Page | None:
        """:meth:`_Reading.stored`, read once for the same stored answer read the same way."""
        if cached is None:
            return None
        read_as = (key, _created_at(cached), reading.first_rank, reading.page_size)
        page = self._read_pages.get(read_as)
        if page is None:
            page = reading.stored(cached)
            if page is not None:
                self._read_pages.put(read_as, page)
        return page

    def _stale(self, key: str, cached, reading: _Reading, error: errors.FastMossError,
               empty: PageAnswer | None = None) -> PageAnswer:
        """The best stored copy standing in for a failed fetch (or an empty answer), else the failure itself."""
        for stand_in in (self.cache.get(key), cached):  # another process may have stored a newer one
            page = reading.stored(stand_in)
            if stand_in is not None and page is not None:
                return PageAnswer(page, True, _created_at(stand_in), stale_reason=error.message, stale_error=error)
        if empty is not None:
            return empty
        raise error

    def _fetch(self, url: str, body: dict, cache_key: str, refresh: bool, reading: _Reading) -> PageAnswer:
        api_key = self.settings.require_key()
        clock = _PageClock(self.settings.retry_deadline)
        asked_at = dt.datetime.now(dt.timezone.utc)
        attempt = partial(self._send_once, url, body, api_key, cache_key, refresh, asked_at, clock, reading)
        try:
            return attempt()
        except errors.FastMossError as error:
            if not _retryable(error) or self.settings.max_retries < 1:
                raise
            return self._retried(attempt, error, clock)

    def _retried(self, attempt: Callable[[], PageAnswer], failed: errors.FastMossError,
                 clock: _PageClock) -> PageAnswer:
        """The attempts after a first one that failed with ``failed``, in tenacity's retry loop.

        tenacity is imported here, not with this module: most pages never retry, and its import
        (6 to 9 ms) would come before a fresh process's first call. The loop's first attempt
        raises ``failed`` again (no call), so the waits and the stop count every attempt made.
        """
        import tenacity

        attempts = self.settings.max_retries + 1
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retryable),
            # tenacity decides the wait first: no attempt starts that would have no time left.
            stop=lambda state: state.attempt_number >= attempts or clock.remaining() - state.upcoming_sleep <= 0,
            wait=lambda state: self._backoff(state, clock),
            sleep=self._sleep,
            reraise=True,
        )
        made = [failed]

        def next_attempt() -> PageAnswer:
            if made:
                raise made.pop()
            return attempt()
        return retrying(next_attempt)

    def _send_once(self, url: str, body: dict, api_key: str, cache_key: str, refresh: bool,
                   asked_at: dt.datetime, clock: _PageClock, reading: _Reading) -> PageAnswer:
        """One attempt: a page that reads cleanly (and is now cached if it has rows), else its error.

        The page's lock (of this user's processes, or of the team's machines) is held while
        calling, and the cache read again once it is held: whoever waited for another's call
        reads its answer instead of paying again. The lock is tried once the page is near the
        front of the line for a call slot (:meth:`AdaptiveLimiter.turn`), while the calls ahead
        of it are in flight, so no process holds locks of pages it will not call for soon; when
        another holds it, it is waited for (at most the page's time left) outside the line,
        where this process's other pages go ahead meanwhile.
        """
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        with _CallSlot(self.limiter, again=clock.started) as slot, self.cache.lock(cache_key, wait=0) as held:
            if held:
                stored = self._stored_since(cache_key, asked_at, body, reading, refresh)
                if stored is not None:
                    return stored
                page = self._call(url, body, headers, cache_key, clock, reading, slot)
        if not held:  # another process is calling for this page: wait for its answer
            with self.cache.lock(cache_key, wait=max(0.0, clock.remaining())):
                stored = self._stored_since(cache_key, asked_at, body, reading, refresh)
                if stored is not None:
                    return stored
                with _CallSlot(self.limiter, again=True) as slot:  # its call failed (or took too long): make ours
                    page = self._call(url, body, headers, cache_key, clock, reading, slot)
        self.limiter.on_success()
        return PageAnswer(page, False, dt.datetime.now(dt.timezone.utc))

    def _stored_since(self, cache_key: str, asked_at: dt.datetime, body: dict, reading: _Reading,
                      refresh: bool) -> PageAnswer | None:
        """The page another process (or machine) stored since this one asked, or a stored copy
        that may be served without a call; None when a call is needed."""
        latest = self.cache.get(cache_key)
        if latest is not None and _created_at(latest) >= asked_at:
            latest_page = reading.stored(latest)
            if latest_page is not None:
                return PageAnswer(latest_page, True, _created_at(latest))
        return self._served(latest, body, reading, refresh)

    def _call(self, url: str, body: dict, headers: dict, cache_key: str, clock: _PageClock,
              reading: _Reading, slot: _CallSlot) -> Page:
        """One paid call: allowed by the run and the budgets, recorded, and its page stored if it has rows.

        The call slot is given back once the answer is read off the wire: classifying, reading
        and storing it cost no call, and another page's call goes out meanwhile (the page lock
        stays held until the page is stored). A throttled answer is told to the limiter (with
        the window of the call's slot), which slows every caller only when the throttle
        persists; the page's own retry waits in :meth:`_backoff`.

        The ledger reservation is made before waiting for the slot: it takes a transaction on
        the ledger shared with this process's other pages (and its other processes), and made
        while the calls ahead are in flight it keeps no slot idle. Taken back when the call is
        then not sent.
        """
        reservation = self.ledger.reserve(reading.endpoint.name, body.get("page", 1),
                                          body.get("pagesize", PAGE_SIZE), current_asker())
        try:
            slot.go()
            if clock.remaining() <= 0:  # no time left to ask again: no call, and the page ends on its throttle if any
                raise clock.throttled or clock.timeout()
            take_allowed_call()
        except BaseException:
            self.ledger.cancel(reservation)
            raise
        rows, outcome = 0, "unanswered"
        try:
            clock.start()
            self._on_call()
            _import_reader()
            self.cache.open_while_waiting()
            try:
                response = self._exchange(url, body, headers, clock)
            finally:
                slot.release()
            try:
                page = reading.answer(response)
            except (errors.RateLimited, errors.FrequencyLimited) as error:
                hinted = _retry_after(error)
                self.limiter.on_throttled(self.settings.retry_backoff if hinted is None else hinted,
                                          window=slot.window, repeated=clock.throttled is not None)
                clock.throttled = error
                raise
            rows, outcome = page.row_count, OK if page.row_count else NO_ROWS
        except errors.FastMossError as error:
            outcome = type(error).__name__
            raise
        finally:
            self.ledger.settle(reservation, rows, outcome)
        if page.row_count:
            fetched = dt.datetime.now(dt.timezone.utc)
            if self.cache.store(cache_key, response, final=is_final(body, fetched, self.settings.settle_days)):
                self.cache.add_piece(query_id(reading.endpoint.path, body), body.get("page", 1),
                                     body.get("pagesize", PAGE_SIZE), cache_key)
        return page

    def _exchange(self, url: str, body: dict, headers: dict, clock: _PageClock) -> requests.Response:
        """Send one request and read its body within the page's time and size bounds."""
        left = clock.remaining()
        if left <= 0:
            raise clock.timeout()
        read_timeout = min(self.settings.read_timeout, left)
        connect_timeout = min(self.settings.connect_timeout, left)
        try:
            response = self.session.post(
                url, json=body, headers=headers, stream=True, allow_redirects=False,
                timeout=(connect_timeout, read_timeout))
        except requests.exceptions.ConnectTimeout:
            raise (clock.timeout() if clock.remaining() <= 0 else errors.RequestTimeout(
                f"FastMoss did not accept a connection within {connect_timeout:g} s")) from None
        except requests.Timeout:
            raise (clock.timeout() if clock.remaining() <= 0 else errors.RequestTimeout(
                f"FastMoss did not answer within {read_timeout:g} s")) from None
        except requests.exceptions.SSLError:
            raise errors.CertificateError(
                f"the TLS certificate of {self.settings.base_url} could not be verified") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            raise errors.ConnectionFailed(f"connection to FastMoss failed: {_reason(error)}") from None
        except requests.RequestException as error:  # anything else requests refuses to send
            raise errors.TransportError(f"the call to FastMoss could not be made ({type(error).__name__})") from None
        try:
            content = self._read_body(response, clock, read_timeout)
        finally:
            response.close()
        # requests keeps a read body here; .content, .json() and the cache read it from there.
        response._content = content
        return response

    def _read_body(self, response: requests.Response, clock: _PageClock, read_timeout: float) -> bytes:
        """The whole body, decompressed, counted as it arrives and cut off at the page deadline."""
        limit = self.settings.max_page_bytes
        announced = response.headers.get("Content-Length", "")
        if announced.strip().isdigit() and int(announced) > limit:
            raise errors.InvalidResponse(
                f"FastMoss answered a page of {int(announced):,} bytes, over the {_size(limit)} a page may "
                "take (a page of 100 rows is about 70 KB); it was not read")
        raw = response.raw
        cut_off = threading.Event()
        cutter = WATCHDOG.after(clock.remaining(), partial(_cut_off, raw, cut_off))
        chunks, size = [], 0
        try:
            for chunk in raw.stream(_CHUNK, decode_content=True):
                size += len(chunk)
                if raw.tell() > limit:
                    raise errors.InvalidResponse(
                        f"FastMoss answered a page of more than {_size(limit)} on the wire, over what a page "
                        "may take (a page of 100 rows is about 70 KB); reading stopped there")
                if size > limit:
                    raise errors.InvalidResponse(
                        f"FastMoss answered a page of more than {_size(limit)} once decompressed "
                        f"({_shown(response.headers.get('Content-Encoding', 'no encoding'), 40)}, "
                        f"{raw.tell():,} bytes on the wire), over what a page may take; reading stopped there")
                chunks.append(chunk)
        except urllib3.exceptions.DecodeError:
            encoding = _shown(response.headers.get("Content-Encoding", "?"), 40)
            raise errors.InvalidResponse(
                f"FastMoss answered a body marked Content-Encoding {encoding} that does not decompress") from None
        except urllib3.exceptions.ReadTimeoutError:
            raise (clock.timeout() if cut_off.is_set() else errors.RequestTimeout(
                f"FastMoss did not answer within {read_timeout:g} s")) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            if cut_off.is_set():
                raise clock.timeout() from None
            raise errors.ConnectionFailed(f"connection to FastMoss failed: {_reason(error)}") from None
        finally:
            cutter.cancel()
        if cut_off.is_set():  # a body without a length ends quietly when cut: it is not whole
            raise clock.timeout()
        return b"".join(chunks)

    def _backoff(self, state: tenacity.RetryCallState, clock: _PageClock) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(error)
        if hinted is not None:
            hinted = min(hinted, retry_after_cap(self.settings))
        exponential = min(_MAX_BACKOFF, self.settings.retry_backoff * 2 ** (state.attempt_number - 1))
        wait = hinted if hinted is not None else exponential * (0.5 + random.random() / 2)
        return max(0.0, min(wait, clock.remaining()))


class _CallSlot:
    """One attempt's call slot: its place in the limiter's line from the start of the attempt
    (given near the front), the slot itself from :meth:`go` until :meth:`release` (once the
    answer is read) or the end of the attempt, whichever comes first."""

    def __init__(self, limiter: AdaptiveLimiter, *, again: bool):
        self._limiter = limiter
        self._again = again
        self._turn: Turn | None = None
        self._held = False
        self.window = 0

    def __enter__(self) -> _CallSlot:
        self._turn = self._limiter.turn(again=self._again)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        if self._turn is not None:
            self._turn.leave()  # an attempt that ended without calling: the place goes to the next

    def go(self) -> None:
        assert self._turn is not None, "go() inside the with block"
        self.window = self._turn.go()
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._limiter.release()


class _PageClock:
    """The time one page may take in all, counted from its first attempt (and the last
    throttle one of its attempts met)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._started: float | None = None
        self.throttled: errors.FastMossError | None = None

    @property
    def started(self) -> bool:
        """Whether an attempt was made: the page's time is counting."""
        return self._started is not None

    def start(self) -> None:
        if self._started is None:
            self._started = time.monotonic()

    def remaining(self) -> float:
        if self._started is None:
            return self.seconds
        return self.seconds - (time.monotonic() - self._started)

    def timeout(self) -> errors.RequestTimeout:
        return errors.RequestTimeout(
            f"FastMoss did not answer one page within {self.seconds:g} s in all (connect, reads and retries)")


class _ReadPages:
    """The pages read last from stored answers, by the answer (cache key, when it was stored) and
    how it was read: a table asked again for more rows (a top-10 card, then the full table below
    it) reads its first page once, not again from JSON. Pages are never changed once read."""

    SIZE = 32

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple, Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, read_as: tuple) -> Page | None:
        with self._lock:
            page = self._pages.get(read_as)
            if page is not None:
                self._pages.move_to_end(read_as)
            return page

    def put(self, read_as: tuple, page: Page) -> None:
        with self._lock:
            self._pages[read_as] = page
            while len(self._pages) > self.SIZE:
                self._pages.popitem(last=False)


class _Reading:
    """How one page's answers are read: classified, then its rows read into a typed table."""

    def __init__(self, endpoint: Endpoint, first_rank: int, page_size: int):
        self.endpoint = endpoint
        self.first_rank = first_rank
        self.page_size = page_size

    def answer(self, response: requests.Response) -> Page:
        """A page read cleanly, else the matching FastMossError."""
        from .parse import read_page

        return read_page(_payload_of(response), self.endpoint, self.first_rank, self.page_size)

    def stored(self, response) -> Page | None:
        """The page a stored answer holds, or None when it holds none that reads cleanly."""
        if response is None:
            return None
        try:
            page = self.answer(response)
        except errors.FastMossError:
            return None
        return page if page.row_count else None


#: The page reader, imported while a process's first call is on the wire (see _import_reader).
_READER = f"{__package__}.parse"


def _import_reader() -> None:
    """Have the page reader (:mod:`.parse` and its columns, 3 to 5 ms) imported in the background
    as a call goes out, until it is: the first answer would otherwise wait for the import."""
    if _READER not in sys.modules:
        WHILE_WAITING.after_send(partial(importlib.import_module, _READER))


def _retryable(error: BaseException) -> bool:
    return isinstance(error, errors.FastMossError) and error.retryable


def _payload_of(response: requests.Response) -> object:
    """Classify one HTTP answer: the JSON payload of a code-0 answer, else the matching FastMossError."""
    status = response.status_code
    payload, problem = _decode_json(response.content)
    code, message, request_id = _envelope_fields(payload)
    if status in (401, 403):
        raise errors.AuthenticationError(
            f"FastMoss refused the API key (HTTP {status}){_detail(message, request_id)}; "
            "check it with `xl-fastmoss config --set-key` or FASTMOSS_API_KEY",
            status, request_id)
    if status == 429:
        raise errors.RateLimited(
            f"FastMoss is throttling calls (HTTP 429){_detail(message, request_id)}",
            status, parse_retry_after(response.headers.get("Retry-After")), request_id)
    if status >= 500:
        raise errors.ServerError(
            f"FastMoss server error (HTTP {status}){_detail(message, request_id)}", status, request_id)
    if 300 <= status < 400:
        target = _shown(response.headers.get("Location") or "nowhere (no Location)", 120)
        raise errors.HTTPStatusError(
            f"FastMoss answered HTTP {status}, a redirect to {target}; redirects are not followed, "
            "so that the key goes nowhere else: check FASTMOSS_BASE_URL", status, request_id)
    if status != 200:
        raise errors.HTTPStatusError(
            f"FastMoss answered HTTP {status}{_detail(message, request_id)}", status, request_id)
    if payload is None:
        kind = _shown(response.headers.get("Content-Type", "unknown type"), 60)
        raise errors.InvalidResponse(
            f"FastMoss answered HTTP 200 with a body that is not JSON ({kind}, {len(response.content)} bytes"
            f"{'; ' + problem if problem else ''})")
    if code is None:
        raise errors.InvalidResponse(
            f"FastMoss answered JSON without a `code`{_detail(message, request_id)}")
    if code != 0:
        raise errors.api_error(code, message or "", request_id)
    return payload


def _decode_json(content: bytes | None) -> tuple[object, str | None]:
    """The JSON of a body, or None with what kept it from being read."""
    try:
        return json.loads(content or b""), None
    except RecursionError:
        return None, "nested too deeply to read"
    except ValueError:
        return None, None


def _envelope_fields(payload: object) -> tuple[int | None, str | None, str | None]:
    if not isinstance(payload, dict):
        return None, None, None
    code = payload.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = payload.get("message") or payload.get("msg")
    request_id = payload.get("request_id")
    return (code, _shown(message) if isinstance(message, str) else None,
            _shown(request_id, 80) if isinstance(request_id, str) else None)


def _detail(message: str | None, request_id: str | None) -> str:
    text = f": {message}" if message else ""
    return text + _request_id_text(request_id)


def _request_id_text(request_id: str | None) -> str:
    return f" [request_id {request_id}]" if request_id else ""


def _shown(text: str, limit: int = _SHOWN_TEXT) -> str:
    """A text the server chose, as one line of at most ``limit`` characters."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                        text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _retry_after(error: BaseException | None) -> float | None:
    return getattr(error, "retry_after", None)


def parse_retry_after(value: str | None, cap: float = MAX_RETRY_AFTER) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait, at most ``cap``; None when there is none.

    A number of seconds (a decimal one too) or an HTTP date in the past or future is read; a
    date already past means now. Anything else (negative, junk, NaN) is ``cap``.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds: float | None = float(text)
    except ValueError:
        until = _seconds_until(text)
        seconds = None if until is None else max(0.0, until)  # a date already past: now
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return cap
    return min(seconds, cap)


def _seconds_until(text: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    try:
        return (when - dt.datetime.now(dt.timezone.utc)).total_seconds()
    except OverflowError:
        return None


def _cut_off(raw, done: threading.Event) -> None:
    """Stop a body still arriving at the page deadline: a blocked read then ends at once."""
    done.set()
    with contextlib.suppress(ValueError, RuntimeError, OSError, AttributeError):
        raw.shutdown()  # raises once the body was read whole and the connection went back to the pool


def _size(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count:,} bytes"


def _reason(error: BaseException) -> str:
    text = str(error)
    for marker in ("Connection refused", "Connection reset", "Connection aborted", "IncompleteRead",
                   "Name or service not known", "Remote end closed connection"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(error).__name__


def _created_at(response: requests.Response) -> dt.datetime:
    created = getattr(response, "created_at", None) or dt.datetime.now(dt.timezone.utc)
    return created if created.tzinfo else created.replace(tzinfo=dt.timezone.utc)
