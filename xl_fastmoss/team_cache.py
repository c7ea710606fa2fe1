"""One response cache for a whole team, on a Redis server the team already runs.

``FASTMOSS_CACHE_URL=redis://host:6379/0`` puts answers in Redis through requests-cache's own
Redis backend, so every installation pays for a page once. A short Redis lock per cache key
makes installations asking for the same page at the same moment wait for one call instead of
each making it; the lock expires by itself, so a crashed holder blocks nobody for long.

Redis is a shared convenience, never a dependency of a formula: when it is down or unreachable
every read and write falls back to the local cache file, with a warning, and Redis is tried
again a little later. Answers are also kept locally, so a lost Redis loses no data.

Whoever can write to the team's Redis can write wrong answers there, never run code: answers
are stored as JSON (see :func:`~xl_fastmoss.cache.data_only_serializer`), and a value that
does not decode, or decodes to a page the transport cannot read, is fetched again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import redis
import requests
from requests_cache.backends.redis import RedisCache  # not requests_cache.RedisCache: see cache_import
from requests_cache.models import CachedResponse

from . import redact
from .cache import STALE_KEPT, BackendCache, data_only_serializer, stored_limit
from .ledger import KEPT_DAYS, Budgets, Entry, LocalLedger, Reservation, Usage, first_day, local_day
from .redis_reads import BoundedReads, HashLimit, OverLimit

log = redact.logger(__name__)

#: Seconds a page lock lives at most: longer than one call with its retries normally takes.
LOCK_TIMEOUT = 60.0
#: Seconds to wait for another installation's call before making our own.
LOCK_WAIT = 45.0
#: Seconds before an unreachable Redis is tried again.
RETRY_AFTER = 30.0
_NAMESPACE = "xl-fastmoss"
#: Answers live under their own namespace: the pickles earlier versions stored are never read.
_ANSWERS = f"{_NAMESPACE}:json"
_PIECES = f"{_NAMESPACE}:pieces"
_LEDGER = f"{_NAMESPACE}:ledger"
#: Seconds a day of the ledger is kept (a day more than KEPT_DAYS, so no time zone loses one).
LEDGER_KEPT = (KEPT_DAYS + 1) * 24 * 3600
#: The most of each hash read from Redis (anyone who can write there can make one of any size):
#: the piece index of one query (a field for each page and page size stored), a day's totals (a
#: few for each ranking), a day's entries (one for each call, about 250 bytes: 200,000 calls).
PIECES_READ = HashLimit(fields=1_000, size=256 * 2**10)
TOTALS_READ = HashLimit(fields=1_000, size=64 * 2**10)
ENTRIES_READ = HashLimit(fields=200_000, size=64 * 2**20)

#: Characters of a refusal's text shown, and distinct reasons warned about once, by one process.
_REASON_SHOWN = 160
_REASONS_TOLD = 16

T = TypeVar("T")


class _Reachability:
    """Runs Redis operations, or skips them for RETRY_AFTER seconds after Redis failed; warns once.

    Redis refusing one operation (a key of another type where ours should be, an ACL, a full
    server) is not Redis failing: that operation is skipped, as if its key were missing, and
    the others still go to Redis, so one poisoned key costs the page it holds and no more.
    """

    def __init__(self, url: str, what: str):
        self.url, self.what = url, what
        self.down_since: float | None = None
        self.last_error: str | None = None
        self._told: set[str] = set()
        self._lock = threading.Lock()

    def run(self, operation: Callable[[], T]) -> T | None:
        """Run a Redis operation, or return None while Redis is unreachable or when it refuses it."""
        with self._lock:
            if self.down_since is not None and time.monotonic() - self.down_since < RETRY_AFTER:
                return None
        try:
            result = operation()
        except redis.ResponseError as refusal:
            self._refused(refusal)
            return None
        except (redis.RedisError, OSError) as error:
            with self._lock:
                first = self.down_since is None
                self.down_since = time.monotonic()
                self.last_error = type(error).__name__
            if first:
                log.warning("%s %s is unreachable (%s); using the local %s",
                            self.what, redact_url(self.url), type(error).__name__, self.what.split()[-1])
            return None
        with self._lock:
            if self.down_since is not None:
                log.warning("%s %s is back", self.what, redact_url(self.url))
            self.down_since = None
            self.last_error = None
        return result

    def tell_once(self, reason: str, message: str, *args: object) -> None:
        """Log the warning ``message`` the first time ``reason`` comes up (of at most _REASONS_TOLD)."""
        with self._lock:
            first = reason not in self._told and len(self._told) < _REASONS_TOLD
            if first:
                self._told.add(reason)
        if first:
            log.warning(message, *args)

    def _refused(self, refusal: redis.ResponseError) -> None:
        """Warn once for each reason Redis gives (its text, shortened: a shared server may say anything)."""
        reason = " ".join(str(refusal).split())[:_REASON_SHOWN]
        self.tell_once(reason, "%s %s refused an operation (%s); what it concerns is taken from the local %s",
                       self.what, redact_url(self.url), reason, self.what.split()[-1])


class TeamCache:
    """Redis first, the local cache file always; a :class:`~xl_fastmoss.cache.ResponseCache`."""

    shared = True

    def __init__(self, url: str, local: BackendCache, ttl: float, max_page_bytes: int = 4 * 2**20):
        self.url = url
        self.local = local
        self.ttl = ttl
        self._connection = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=3.0)
        self._max_value_bytes = stored_limit(max_page_bytes)
        self.remote = BackendCache(
            RedisCache(namespace=_ANSWERS, connection=self._connection, ttl_offset=STALE_KEPT,
                                      serializer=data_only_serializer(self._max_value_bytes)), ttl)
        self._reads = BoundedReads(self._connection)
        self._reachability = _Reachability(url, "team cache")

    def key(self, url: str, body: dict) -> str:
        return self.local.key(url, body)

    def get(self, key: str) -> CachedResponse | None:
        found = self._remote(lambda: self._remote_answer(key))
        return found if found is not None else self.local.get(key)

    def _remote_answer(self, key: str) -> CachedResponse | None:
        """The team's answer for ``key``, read as requests-cache's Redis backend stores it
        (``<namespace>:<key>``), at most one byte past the largest stored page."""
        try:
            value = self._reads.string(f"{_ANSWERS}:{key}", self._max_value_bytes)
        except OverLimit as refused:
            log.warning("team cache %s: %s; the page is asked again", redact_url(self.url), refused)
            return None
        stored: Any = value  # requests-cache types its storage by the values it holds decoded
        return None if value is None else self.remote.backend.responses.deserialize(key, stored)

    def is_fresh(self, response: CachedResponse) -> bool:
        return self.local.is_fresh(response)

    def store(self, key: str, response: requests.Response, *, final: bool = False) -> bool:
        stored = self.local.store(key, response, final=final)
        if stored:
            self._remote(lambda: self.remote.store(key, response, final=final))
        return stored

    def pieces(self, query: str) -> dict[tuple[int, int], str]:
        """The pieces of ``query`` stored here or by the team (see :meth:`BackendCache.pieces`)."""
        found = dict(self.local.pieces(query))
        remote = self._remote(lambda: _read_hash(self._reads.hash, f"{_PIECES}:{query}", PIECES_READ, url=self.url))
        for field, key in (remote or {}).items():
            piece = _piece_of(field)
            if piece is not None and isinstance(key, bytes) and len(key) <= 200:
                found.setdefault(piece, key.decode("ascii", "replace"))
        return found

    def add_piece(self, query: str, page: int, size: int, key: str) -> None:
        self.local.add_piece(query, page, size, key)

        def add():
            name = f"{_PIECES}:{query}"
            with self._connection.pipeline() as pipe:
                pipe.hset(name, f"{page}x{size}", key)
                pipe.expire(name, LEDGER_KEPT)
                pipe.execute()
        self._remote(add)

    @contextlib.contextmanager
    def lock(self, key: str, wait: float):
        """Hold the team-wide lock of one page, waiting at most ``wait`` (and LOCK_WAIT) seconds;
        while Redis is unreachable, or when its key holds no lock of ours, the local cache's lock
        (this machine's processes share a call)."""
        held = self._remote(lambda: self._acquire(key, min(wait, LOCK_WAIT)))
        if held is None:
            with self.local.lock(key, wait) as locally:
                yield locally
            return
        try:
            yield held is not False
        finally:
            if held is not False:
                with contextlib.suppress(redis.RedisError):
                    held.release()

    def _acquire(self, key: str, wait: float):
        """The lock, or False when another holder did not free it within ``wait`` seconds; None
        when what holds its key is no lock of ours (one never expiring, or later than ours do):
        waiting for it would only delay the page, so this machine's own lock serves instead."""
        name = f"{_NAMESPACE}:lock:{key}"
        lock = self._connection.lock(name, timeout=LOCK_TIMEOUT, thread_local=False)
        if lock.acquire(blocking=False):
            return lock
        expires_in = self._connection.pttl(name)  # -1: no expiry; -2: freed meanwhile
        if expires_in == -1 or expires_in > LOCK_TIMEOUT * 1000:
            self._reachability.tell_once(
                "a foreign page lock", "team cache %s: a page lock there is none of ours (it %s); the page is "
                "not held up by it", redact_url(self.url),
                "never expires" if expires_in == -1 else f"expires in {expires_in / 1000:,.0f} s")
            return None
        if wait <= 0:
            return False
        return lock if lock.acquire(blocking=True, blocking_timeout=wait) else False

    def open_while_waiting(self) -> None:
        self.local.open_while_waiting()

    def describe(self) -> str:
        where = redact_url(self.url)
        if self._reachability.down_since is not None:
            return f"{where} unreachable ({self._reachability.last_error}); using the local cache"
        return f"{where} (shared), local copy in {self.local.describe()}"

    @property
    def last_error(self) -> str | None:
        return self._reachability.last_error

    def close(self) -> None:
        self.local.close()
        with contextlib.suppress(Exception):
            self._connection.close()

    def _remote(self, operation):
        return self._reachability.run(operation)


def redact_url(url: str) -> str:
    """``url`` as it may be shown: passwords (in the user part or the query string) hidden."""
    return redact.redact_url(url)


def _read_hash(read: Callable[..., T], name: str, *limits: object, url: str) -> T | None:
    """``read(name, *limits)``, or None (with a warning) when the hash is over its limits."""
    try:
        return read(name, *limits)
    except OverLimit as refused:
        log.warning("team cache %s: %s; it is not used", redact_url(url), refused)
        return None


def _piece_of(field: object) -> tuple[int, int] | None:
    text = field.decode("ascii", "replace") if isinstance(field, bytes) else ""
    page, _, size = text.partition("x")
    if not (page.isdigit() and size.isdigit() and len(page) <= 4 and len(size) <= 4):
        return None
    return int(page), int(size)


# Check and reserve in one step: Redis runs a script alone, so two machines cannot both take
# the last call of a budget. KEYS: the day's totals, the day's entries. ARGV: calls budget,
# rows budget (-1: none), page size, endpoint, the entry (JSON), seconds the day is kept.
_RESERVE = """
local calls = tonumber(redis.call('HGET', KEYS[1], 'calls') or '0')
local rows = tonumber(redis.call('HGET', KEYS[1], 'rows') or '0')
local pagesize = tonumber(ARGV[3])
if tonumber(ARGV[1]) >= 0 and calls + 1 > tonumber(ARGV[1]) then return {'calls', calls, rows} end
if tonumber(ARGV[2]) >= 0 and rows + pagesize > tonumber(ARGV[2]) then return {'rows', calls, rows} end
local id = redis.call('HINCRBY', KEYS[1], 'entries', 1)
redis.call('HINCRBY', KEYS[1], 'calls', 1)
redis.call('HINCRBY', KEYS[1], 'rows', pagesize)
redis.call('HINCRBY', KEYS[1], ARGV[4] .. ':calls', 1)
redis.call('HINCRBY', KEYS[1], ARGV[4] .. ':rows', pagesize)
redis.call('HSET', KEYS[2], id, ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
return {'ok', id, 0}
"""
# Correct a reservation to the rows received. KEYS as above; ARGV: entry id, rows received minus
# the page size, endpoint, the settled entry (JSON).
_SETTLE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'rows', tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], ARGV[3] .. ':rows', tonumber(ARGV[2]))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return 1
"""
# Take back a reservation whose call was never sent. KEYS as above; ARGV: entry id, page size,
# endpoint. An entry settled or taken back already (or expired) changes nothing; an endpoint
# left without calls that day is not shown.
_CANCEL = """
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'calls', -1)
redis.call('HINCRBY', KEYS[1], 'rows', -tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], ARGV[3] .. ':rows', -tonumber(ARGV[2]))
if redis.call('HINCRBY', KEYS[1], ARGV[3] .. ':calls', -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[3] .. ':calls', ARGV[3] .. ':rows')
end
return 1
"""


class TeamLedger:
    """The call ledger and budgets of a whole team, on the team cache's Redis; a
    :class:`~xl_fastmoss.ledger.Ledger`.

    Each local day has a hash of totals (``xl-fastmoss:ledger:<day>``: calls, rows, and both per
    endpoint) and a hash of its entries, kept LEDGER_KEPT seconds. While Redis is unreachable,
    calls are recorded and budgeted in the local ledger (``local``), and shown with the team's.
    """

    scope = "the team's calls on the team cache"

    def __init__(self, url: str, local: LocalLedger):
        self.url = url
        self.local = local
        self.budgets: Budgets = local.budgets
        self._connection = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=3.0)
        self._reads = BoundedReads(self._connection)
        self._reserve = self._connection.register_script(_RESERVE)
        self._settle = self._connection.register_script(_SETTLE)
        self._cancel = self._connection.register_script(_CANCEL)
        self._reachability = _Reachability(url, "team ledger")

    def reserve(self, endpoint: str, page: int, pagesize: int, asked: str) -> Reservation:
        at = dt.datetime.now(dt.timezone.utc)
        day = local_day(at)
        entry = _entry_json(at, day, endpoint, page, pagesize, pagesize, "unfinished", asked)
        budgets = self.budgets
        answer = self._reachability.run(lambda: self._reserve(
            keys=_day_keys(day),
            args=[_budget(budgets.calls), _budget(budgets.rows), pagesize, endpoint, entry, LEDGER_KEPT]))
        if answer is None:  # Redis unreachable: the local ledger counts and budgets meanwhile
            return self.local.reserve(endpoint, page, pagesize, asked)
        verdict, first, second = answer
        verdict = verdict.decode() if isinstance(verdict, bytes) else str(verdict)
        if verdict != "ok":
            refused = budgets.refusal(int(first), int(second), pagesize, day, self.scope)
            assert refused is not None, "Redis refused what the budgets allow"
            raise refused
        return Reservation(int(first), day, endpoint, page, pagesize, asked, at, self)

    def settle(self, reservation: Reservation, rows: int, outcome: str) -> None:
        if reservation.store is not self:
            self.local.settle(reservation, rows, outcome)
            return
        r = reservation
        entry = _entry_json(r.at, r.day, r.endpoint, r.page, r.pagesize, rows, outcome, r.asked)
        self._reachability.run(lambda: self._settle(
            keys=_day_keys(r.day), args=[str(r.entry), rows - r.pagesize, r.endpoint, entry]))

    def cancel(self, reservation: Reservation) -> None:
        if reservation.store is not self:
            self.local.cancel(reservation)
            return
        r = reservation
        self._reachability.run(lambda: self._cancel(keys=_day_keys(r.day), args=[str(r.entry), r.pagesize, r.endpoint]))

    def flush(self) -> None:
        self.local.flush()  # settlements on Redis are written at once

    def usage(self, days: int) -> list[Usage]:
        found = {(u.day, u.endpoint): u for u in self.local.usage(days)}
        for day in _days(days):
            totals = self._reachability.run(
                partial(_read_hash, self._reads.hash, f"{_LEDGER}:{day}", TOTALS_READ, url=self.url)) or {}
            counts: dict[str, dict[str, int]] = {}
            for field, value in totals.items():
                name = field.decode("utf-8", "replace") if isinstance(field, bytes) else str(field)
                endpoint, _, kind = name.rpartition(":")
                if endpoint and kind in ("calls", "rows") and value.isdigit():
                    counts.setdefault(endpoint, {"calls": 0, "rows": 0})[kind] = int(value)
            for endpoint, count in counts.items():
                local = found.get((day, endpoint))
                calls, rows = (local.calls, local.rows) if local else (0, 0)
                found[(day, endpoint)] = Usage(day, endpoint, calls + count["calls"], rows + count["rows"])
        return [found[key] for key in sorted(found)]

    def entries(self, days: int) -> list[Entry]:
        found = list(self.local.entries(days))
        for day in _days(days):
            stored = self._reachability.run(
                partial(_read_hash, self._reads.hash_values, _day_keys(day)[1], ENTRIES_READ, url=self.url)) or []
            found += [entry for entry in map(_entry_of, stored) if entry is not None]
        return sorted(found, key=lambda e: e.at)

    def today(self) -> tuple[int, int]:
        day = local_day()
        totals = f"{_LEDGER}:{day}"
        remote = self._reachability.run(partial(
            _read_hash, self._reads.fields, totals, ["calls", "rows"], TOTALS_READ.size, url=self.url)) or []
        calls, rows = (int(v) if v is not None and v.isdigit() else 0 for v in (list(remote) + [None, None])[:2])
        local_calls, local_rows = self.local.today()
        return calls + local_calls, rows + local_rows

    def describe(self) -> str:
        where = redact_url(self.url)
        if self._reachability.down_since is not None:
            return f"{where} unreachable ({self._reachability.last_error}); counting in {self.local.describe()}"
        return f"{where} (shared by the team)"

    def close(self) -> None:
        self.local.close()
        with contextlib.suppress(Exception):
            self._connection.close()


def _day_keys(day: str) -> list[str]:
    return [f"{_LEDGER}:{day}", f"{_LEDGER}:{day}:entries"]


def _days(days: int) -> list[str]:
    start = dt.date.fromisoformat(first_day(days))
    today = dt.date.fromisoformat(local_day())
    return [(start + dt.timedelta(days=n)).isoformat() for n in range((today - start).days + 1)]


def _budget(limit: int | None) -> int:
    return -1 if limit is None else limit


def _entry_json(at: dt.datetime, day: str, endpoint: str, page: int, pagesize: int, rows: int, outcome: str,
                asked: str) -> str:
    return json.dumps({"at": at.isoformat(), "day": day, "endpoint": endpoint, "page": page, "pagesize": pagesize,
                       "rows": rows, "outcome": outcome, "asked": asked}, separators=(",", ":"))


def _entry_of(value: object) -> Entry | None:
    """An entry as another machine stored it, or None when it is not one (a team's Redis is shared)."""
    try:
        if not isinstance(value, bytes) or len(value) > 2000:
            return None
        data = json.loads(value)
        at = dt.datetime.fromisoformat(data["at"])
        if at.tzinfo is None:
            return None
        texts = [data[name] for name in ("day", "endpoint", "outcome", "asked")]
        counts = [data[name] for name in ("page", "pagesize", "rows")]
        if not all(isinstance(t, str) and len(t) <= 400 for t in texts):
            return None
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            return None
        day, endpoint, outcome, asked = texts
        page, pagesize, rows = counts
        return Entry(at, day, endpoint, page, pagesize, rows, outcome, asked)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
