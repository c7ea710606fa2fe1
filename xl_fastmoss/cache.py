"""The persistent response cache, shared by every process of a user.

Storage, keys and serialization are requests-cache's: a key is built from method, URL and the
JSON body with its keys sorted, never from headers, and the stored request has its
Authorization header redacted. Answers are stored as JSON (requests-cache's JSON serializer,
the body base64-encoded so it comes back byte for byte), never as pickles: whoever can write
the cache file or the team's Redis can put wrong data there, never code. A stored value that
does not decode is a miss, fetched again.

We decide what is stored ourselves: only pages the transport read cleanly, with rows. An error
or a "not published yet" answer is never stored and never replaces a good copy, so a failed
refresh can still fall back to the last good page.

The cache file is the user's, but a file SQLite cannot read (corrupt, truncated, unreadable) is
moved aside and a new one started, with a warning; a folder that cannot be written keeps
answers in memory for the session, with a warning. :meth:`BackendCache.describe` says so, for
FM_STATUS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import requests

from . import redact

if TYPE_CHECKING:  # requests-cache imports every backend it finds (~0.1 s): only when a cache opens
    import sqlite3

    import requests_cache
    from requests_cache.models import CachedResponse
    from requests_cache.serializers import SerializerPipeline

CACHE_FILE_NAME = "responses.sqlite"
#: Room a stored answer takes beyond its body: base64 (4/3), headers, request, JSON layout.
_STORED_OVERHEAD = 1.5
_STORED_SLACK = 64 * 1024

log = redact.logger(__name__)


class ResponseCache(Protocol):
    """What the transport needs of a cache: pages by key, fresh or stale, and a page lock."""

    #: Whether other machines share this cache (and so its page locks mean something).
    shared: bool

    def key(self, url: str, body: dict) -> str: ...

    def get(self, key: str) -> CachedResponse | None:
        """The stored page, fresh or expired, or None (also when what is stored does not decode)."""
        ...

    def is_fresh(self, response: CachedResponse) -> bool: ...

    def store(self, key: str, response: requests.Response) -> bool:
        """Keep ``response``, a page the transport read cleanly; returns whether it was stored."""
        ...

    def lock(self, key: str) -> AbstractContextManager[object]:
        """Held while this process calls the API for the page ``key``."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


def data_only_serializer(max_bytes: int) -> SerializerPipeline:
    """requests-cache's JSON serializer, refusing values over ``max_bytes`` or that do not decode.

    Anything that goes wrong decoding a stored value becomes a ValueError, which requests-cache
    turns into a miss; a value that decodes to something else than a response is refused too.
    """
    from requests_cache.models import CachedResponse
    from requests_cache.serializers import SerializerPipeline, Stage, json_serializer

    responses, text = json_serializer.stages

    def load_text(value: str | bytes) -> Any:
        if len(value) > max_bytes:
            raise ValueError(f"a stored answer of {len(value):,} bytes is over the {max_bytes:,} allowed")
        return _decoded(text.loads, value)

    def load_response(value: Any) -> CachedResponse:
        if not isinstance(value, dict):
            raise ValueError(f"a stored answer is a JSON {type(value).__name__}, not an object")
        response = _decoded(responses.loads, value)
        if not isinstance(response, CachedResponse) or not isinstance(response.content, bytes):
            raise ValueError("a stored answer does not decode to a response")
        return response

    return SerializerPipeline(
        [Stage(dumps=responses.dumps, loads=load_response),
         Stage(dumps=partial(json.dumps, separators=(",", ":")), loads=load_text)],
        name="json-data-only", is_binary=False)


def _decoded(load, value):
    try:
        return load(value)
    except Exception as error:  # a hostile value may raise anything (RecursionError, cattrs' groups ...)
        raise ValueError(f"a stored answer does not decode ({type(error).__name__})") from None


def stored_limit(max_page_bytes: int) -> int:
    """The largest stored value read back: a page at its cap, as stored."""
    return int(max_page_bytes * _STORED_OVERHEAD) + _STORED_SLACK


class BackendCache:
    """Pages kept in one requests-cache backend, with a time-to-live; expired pages stay
    readable as stale copies."""

    shared = False

    def __init__(self, backend: requests_cache.BaseCache, ttl: float, *, problem: str | None = None):
        self.backend = backend
        self.ttl = ttl
        #: What is wrong with this cache, for FM_STATUS (None when nothing is).
        self.problem = problem

    def key(self, url: str, body: dict) -> str:
        return self.backend.create_key(requests.Request("POST", url, json=body).prepare())

    def get(self, key: str) -> CachedResponse | None:
        """The stored page, fresh or expired, or None."""
        return self.backend.get_response(key)

    def is_fresh(self, response: CachedResponse) -> bool:
        return self.ttl > 0 and not response.is_expired

    def store(self, key: str, response: requests.Response) -> bool:
        """Keep ``response``; returns whether it was stored (not when the time-to-live is 0)."""
        if self.ttl <= 0:
            return False
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.ttl)
        self.backend.save_response(response, key, expires)
        return True

    def lock(self, key: str) -> AbstractContextManager[object]:
        """No lock across processes for a local file: in-process requests are already merged."""
        return contextlib.nullcontext()

    def describe(self) -> str:
        path = getattr(self.backend, "db_path", None)
        where = str(path) if path and ":memory:" not in str(path) else "memory"
        return f"{where} ({self.problem})" if self.problem else where

    def close(self) -> None:
        self.backend.close()


class LocalFileCache(BackendCache):
    """The user's SQLite cache file. One SQLite cannot read is moved aside and a new one
    started, at opening or whenever a read or write finds it broken; a folder that cannot be
    written keeps the answers in memory instead."""

    def __init__(self, folder: Path, ttl: float, max_page_bytes: int):
        self.folder = folder
        self.path = folder / CACHE_FILE_NAME
        self._max_value_bytes = stored_limit(max_page_bytes)
        self._lock = threading.Lock()
        self._inode: int | None = None
        super().__init__(None, ttl)  # type: ignore[arg-type]  # opened just below
        self.backend = self._open()

    def get(self, key: str) -> CachedResponse | None:
        import sqlite3  # loaded already by the cache itself; not at import time

        backend = self.backend
        try:
            return backend.get_response(key)
        except sqlite3.DatabaseError as error:
            self._recover(backend, error)
            return None

    def store(self, key: str, response: requests.Response) -> bool:
        import sqlite3

        backend = self.backend
        try:
            return super().store(key, response)
        except sqlite3.DatabaseError as error:
            self._recover(backend, error)
            return False

    def _open(self) -> requests_cache.BaseCache:
        import sqlite3

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return self._in_memory(f"the cache folder {self.folder} cannot be made ({_reason(error)})")
        if not os.access(self.folder, os.W_OK | os.X_OK):
            return self._in_memory(f"the cache folder {self.folder} is read-only")
        for attempt in range(2):
            problem = _unusable_file(self.path)
            try:
                if problem is None:
                    backend = self._sqlite(str(self.path))
                    self._inode = _inode(self.path)
                    return backend
            except sqlite3.DatabaseError as error:
                problem = _reason(error)
            if attempt == 0 and not self._move_aside(problem):
                break
        return self._in_memory(f"the cache file {self.path} cannot be used ({problem})")

    def _recover(self, broken: requests_cache.BaseCache, error: sqlite3.DatabaseError) -> None:
        """Replace a file found broken while in use, once, whichever thread finds it first."""
        with self._lock:
            if self.backend is not broken:
                return
            with contextlib.suppress(Exception):
                broken.close()
            if self._inode is not None and _inode(self.path) != self._inode:
                log.warning("cache file %s was replaced by another process; reopening it", self.path)
            elif not self._move_aside(_reason(error)):
                self.backend = self._in_memory(f"the cache file {self.path} broke ({_reason(error)})")
                return
            self.backend = self._open()

    def _move_aside(self, reason: str) -> bool:
        """Rename the cache file (and SQLite's files beside it) out of the way; False if it cannot be."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.broken-{stamp}")
        try:
            for suffix in ("", "-wal", "-shm"):
                source = self.path.with_name(self.path.name + suffix)
                if source.exists():
                    source.replace(aside.with_name(aside.name + suffix))
        except OSError as error:
            log.warning("cache file %s cannot be used (%s) nor moved aside (%s)", self.path, reason, _reason(error))
            return False
        self.problem = f"the earlier file could not be read ({reason}); it was moved to {aside.name}"
        log.warning("cache file %s could not be read (%s); moved it to %s and started a new one",
                    self.path, reason, aside.name)
        return True

    def _in_memory(self, problem: str) -> requests_cache.BaseCache:
        self.problem = f"{problem}; answers are kept in memory for this session only"
        log.warning("%s", self.problem)
        return self._sqlite(None)

    def _sqlite(self, path: str | None) -> requests_cache.BaseCache:
        import requests_cache

        serializer = data_only_serializer(self._max_value_bytes)
        if path is None:
            return requests_cache.SQLiteCache(use_memory=True, serializer=serializer)
        # Opening creates the tables: a file that is not SQLite, or truncated, fails here. Damage
        # further in is found by the read or write that meets it (see get and store).
        return requests_cache.SQLiteCache(path, wal=True, serializer=serializer)


def open_local_cache(cache_dir: Path | None, ttl: float, max_page_bytes: int = 4 * 2**20) -> BackendCache:
    """A SQLite file in ``cache_dir`` (WAL mode, safe for many processes); memory when None."""
    if cache_dir is None:
        import requests_cache

        serializer = data_only_serializer(stored_limit(max_page_bytes))
        return BackendCache(requests_cache.SQLiteCache(use_memory=True, serializer=serializer), ttl)
    return LocalFileCache(cache_dir, ttl, max_page_bytes)


def _unusable_file(path: Path) -> str | None:
    """Why this user cannot read and write the cache file (or SQLite's files beside it)."""
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists() and not (part.is_file() and os.access(part, os.R_OK | os.W_OK)):
            return f"{part.name} is not a file this user can read and write"
    return None


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return text.splitlines()[0][:100]
