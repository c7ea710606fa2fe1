"""The persistent response cache, shared by every process of a user.

Storage, keys and serialization are requests-cache's: a key is built from method, URL and the
JSON body with its keys sorted, never from headers, and the stored request has its
Authorization header redacted. We decide what is stored ourselves: only successful, non-empty
pages. An error or a "not published yet" answer is never stored and never replaces a good
copy, so a failed refresh can still fall back to the last good page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import requests

if TYPE_CHECKING:  # requests-cache imports every backend it finds (~0.1 s): only when a cache opens
    import requests_cache
    from requests_cache.models import CachedResponse

CACHE_FILE_NAME = "responses.sqlite"


def is_cacheable(response: requests.Response) -> bool:
    """A page worth keeping: HTTP 200, code 0 and at least one row."""
    if response.status_code != 200:
        return False
    try:
        payload = json.loads(response.content)
    except ValueError:
        return False
    if not isinstance(payload, dict) or payload.get("code") != 0:
        return False
    data = payload.get("data")
    return isinstance(data, dict) and isinstance(data.get("list"), list) and bool(data["list"])


class ResponseCache(Protocol):
    """What the transport needs of a cache: pages by key, fresh or stale, and a page lock."""

    #: Whether other machines share this cache (and so its page locks mean something).
    shared: bool

    def key(self, url: str, body: dict) -> str: ...

    def get(self, key: str) -> CachedResponse | None:
        """The stored page, fresh or expired, or None."""
        ...

    def is_fresh(self, response: CachedResponse) -> bool: ...

    def store(self, key: str, response: requests.Response) -> bool:
        """Keep ``response`` if it is worth keeping; returns whether it was stored."""
        ...

    def lock(self, key: str) -> AbstractContextManager[object]:
        """Held while this process calls the API for the page ``key``."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class BackendCache:
    """Pages kept in one requests-cache backend, with a time-to-live; expired pages stay
    readable as stale copies."""

    shared = False

    def __init__(self, backend: requests_cache.BaseCache, ttl: float):
        self.backend = backend
        self.ttl = ttl

    def key(self, url: str, body: dict) -> str:
        return self.backend.create_key(requests.Request("POST", url, json=body).prepare())

    def get(self, key: str) -> CachedResponse | None:
        """The stored page, fresh or expired, or None."""
        return self.backend.get_response(key)

    def is_fresh(self, response: CachedResponse) -> bool:
        return self.ttl > 0 and not response.is_expired

    def store(self, key: str, response: requests.Response) -> bool:
        """Keep ``response`` if it is worth keeping; returns whether it was stored."""
        if self.ttl <= 0 or not is_cacheable(response):
            return False
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.ttl)
        self.backend.save_response(response, key, expires)
        return True

    def lock(self, key: str) -> AbstractContextManager[object]:
        """No lock across processes for a local file: in-process requests are already merged."""
        return contextlib.nullcontext()

    def describe(self) -> str:
        path = getattr(self.backend, "db_path", None)
        return str(path) if path and str(path) != ":memory:" else "memory"

    def close(self) -> None:
        self.backend.close()


def open_local_cache(cache_dir: Path | None, ttl: float) -> BackendCache:
    """A SQLite file in ``cache_dir`` (WAL mode, safe for many processes); memory when None."""
    import requests_cache

    if cache_dir is None:
        return BackendCache(requests_cache.SQLiteCache(use_memory=True), ttl)
    cache_dir.mkdir(parents=True, exist_ok=True)
    return BackendCache(requests_cache.SQLiteCache(str(cache_dir / CACHE_FILE_NAME), wal=True), ttl)
