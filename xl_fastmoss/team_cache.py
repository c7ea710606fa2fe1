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
import threading
import time

import redis
import requests
import requests_cache
from requests_cache.models import CachedResponse

from . import redact
from .cache import BackendCache, data_only_serializer, stored_limit

log = redact.logger(__name__)

#: Seconds a page lock lives at most: longer than one call with its retries normally takes.
LOCK_TIMEOUT = 60.0
#: Seconds to wait for another installation's call before making our own.
LOCK_WAIT = 45.0
#: Seconds before an unreachable Redis is tried again.
RETRY_AFTER = 30.0
#: Seconds an expired answer stays in Redis, to stand in when the API fails.
STALE_KEPT = 7 * 24 * 3600
_NAMESPACE = "xl-fastmoss"
#: Answers live under their own namespace: the pickles earlier versions stored are never read.
_ANSWERS = f"{_NAMESPACE}:json"


class TeamCache:
    """Redis first, the local cache file always; a :class:`~xl_fastmoss.cache.ResponseCache`."""

    shared = True

    def __init__(self, url: str, local: BackendCache, ttl: float, max_page_bytes: int = 4 * 2**20):
        self.url = url
        self.local = local
        self.ttl = ttl
        self._connection = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=3.0)
        self.remote = BackendCache(
            requests_cache.RedisCache(namespace=_ANSWERS, connection=self._connection, ttl_offset=STALE_KEPT,
                                      serializer=data_only_serializer(stored_limit(max_page_bytes))), ttl)
        self._down_since: float | None = None
        self.last_error: str | None = None
        self._state_lock = threading.Lock()

    def key(self, url: str, body: dict) -> str:
        return self.local.key(url, body)

    def get(self, key: str) -> CachedResponse | None:
        found = self._remote(lambda: self.remote.get(key))
        return found if found is not None else self.local.get(key)

    def is_fresh(self, response: CachedResponse) -> bool:
        return self.local.is_fresh(response)

    def store(self, key: str, response: requests.Response) -> bool:
        stored = self.local.store(key, response)
        if stored:
            self._remote(lambda: self.remote.store(key, response))
        return stored

    @contextlib.contextmanager
    def lock(self, key: str):
        """Hold the team-wide lock of one page; without Redis, no lock (each machine calls)."""
        held = self._remote(lambda: self._acquire(key))
        try:
            yield
        finally:
            if held is not None:
                with contextlib.suppress(redis.RedisError):
                    held.release()

    def _acquire(self, key: str):
        lock = self._connection.lock(f"{_NAMESPACE}:lock:{key}", timeout=LOCK_TIMEOUT,
                                     blocking_timeout=LOCK_WAIT, thread_local=False)
        return lock if lock.acquire() else None

    def describe(self) -> str:
        where = redact_url(self.url)
        if self._down_since is not None:
            return f"{where} unreachable ({self.last_error}); using the local cache"
        return f"{where} (shared), local copy in {self.local.describe()}"

    def close(self) -> None:
        self.local.close()
        with contextlib.suppress(Exception):
            self._connection.close()

    def _remote(self, operation):
        """Run a Redis operation, or return None while Redis is unreachable."""
        with self._state_lock:
            if self._down_since is not None and time.monotonic() - self._down_since < RETRY_AFTER:
                return None
        try:
            result = operation()
        except (redis.RedisError, OSError) as error:
            with self._state_lock:
                first = self._down_since is None
                self._down_since = time.monotonic()
                self.last_error = type(error).__name__
            if first:
                log.warning("team cache %s is unreachable (%s); using the local cache",
                            redact_url(self.url), type(error).__name__)
            return None
        with self._state_lock:
            if self._down_since is not None:
                log.warning("team cache %s is back", redact_url(self.url))
            self._down_since = None
            self.last_error = None
        return result


def redact_url(url: str) -> str:
    """``url`` as it may be shown: passwords (in the user part or the query string) hidden."""
    return redact.redact_url(url)
