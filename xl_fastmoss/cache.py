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

Processes of one cache folder asking for a page at the same moment make one call: the page's
lock is held while calling (see :mod:`.page_locks`).

The cache file is opened through requests-cache when first needed, or in the background as a
process's first call goes out: until then, whether a page is stored is asked of SQLite directly,
under the key :mod:`.cache_keys` makes (requests-cache's own), so that a page not stored is asked
for without waiting 40 to 60 ms for requests-cache to import.

The cache file is the user's, but a file SQLite cannot read (corrupt, truncated, unreadable) is
moved aside and a new one started, with a warning; a folder that cannot be written keeps
answers in memory for the session, with a warning. :meth:`BackendCache.describe` says so, for
FM_STATUS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import requests

from . import redact
from .cache_import import import_requests_cache
from .cache_keys import request_key
from .files import move_sqlite_aside
from .page_locks import PageLocks
from .while_waiting import WHILE_WAITING

if TYPE_CHECKING:  # imported when a cache opens, without the backends we never use (see cache_import)
    import sqlite3

    import requests_cache
    from requests_cache.backends.sqlite import SQLiteDict
    from requests_cache.models import CachedResponse
    from requests_cache.serializers import SerializerPipeline

CACHE_FILE_NAME = "responses.sqlite"
#: Seconds an expired answer is kept (locally by ``xl-fastmoss cache --prune``, on Redis by its
#: time-to-live) to stand in when the API fails.
STALE_KEPT = 7 * 24 * 3600
#: Room a stored answer takes beyond its body: base64 (4/3), headers, request, JSON layout.
_STORED_OVERHEAD = 1.5
_STORED_SLACK = 64 * 1024
#: Cache keys remembered (a few hundred bytes each): the pages of a few large refreshes.
_KEYS_KEPT = 4096
#: Stored answers kept decoded (about 250 KB each: the stored text and the response): a
#: table and the card beside it read the same pages one after the other.
_DECODED_KEPT = 32

log = redact.logger(__name__)


class ResponseCache(Protocol):
    """What the transport needs of a cache: pages by key, fresh or stale, and a page lock."""

    #: Whether other machines share this cache.
    shared: bool

    def key(self, url: str, body: dict) -> str: ...

    def get(self, key: str) -> CachedResponse | None:
        """The stored page, fresh or expired, or None (also when what is stored does not decode)."""
        ...

    def is_fresh(self, response: CachedResponse) -> bool: ...

    def store(self, key: str, response: requests.Response, *, final: bool = False) -> bool:
        """Keep ``response``, a page the transport read cleanly (never expiring when ``final``);
        returns whether it was stored."""
        ...

    def pieces(self, query: str) -> dict[tuple[int, int], str]:
        """The (page, page size) pieces of one query stored so far, each with its cache key.

        An index, not the answers: a piece listed may have expired or gone (the answer is read
        through :meth:`get` as always), and one not listed is fetched again.
        """
        ...

    def add_piece(self, query: str, page: int, size: int, key: str) -> None: ...

    def lock(self, key: str, wait: float) -> AbstractContextManager[bool]:
        """Held while this process calls the API for the page ``key``, against every other user
        of the cache; waits at most ``wait`` seconds (0: one try) for another holder and yields
        whether it is held (False: not freed in time). Yields True where there is nothing to lock."""
        ...

    def open_while_waiting(self) -> None:
        """Told as a call goes out: what is left to open may open now, while the answer is awaited."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


def data_only_serializer(max_bytes: int) -> SerializerPipeline:
    """requests-cache's JSON serializer, refusing values over ``max_bytes`` or that do not decode.

    Anything that goes wrong decoding a stored value becomes a ValueError, which requests-cache
    turns into a miss; a value that decodes to something else than a response is refused too.
    """
    import_requests_cache()
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


def _prepare_serializer(backend: requests_cache.BaseCache) -> None:
    """Have the serializer's converters made now, while a call is in flight: cattrs makes them
    on first use, which costs a process's first store and first read of an answer 3 to 5 ms each."""
    from requests_cache.models import CachedResponse

    serializer = backend.responses.serializer
    if serializer is not None:
        serializer.loads(serializer.dumps(CachedResponse(content=b"{}", status_code=200)))


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
        self._pieces: dict[str, dict[tuple[int, int], str]] = {}
        self._pieces_lock = threading.Lock()
        self._key_of = functools.lru_cache(maxsize=_KEYS_KEPT)(self._make_key)
        #: Whether keys come from :mod:`.cache_keys` (None: not yet compared with requests-cache's).
        self._own_keys: bool | None = None

    def key(self, url: str, body: dict) -> str:
        """requests-cache's key of the page request, made by :func:`.cache_keys.request_key`
        (no requests-cache needed) and compared with requests-cache's own the first time the
        backend is open; if they differ, requests-cache's from then on, with a warning."""
        return self._key_of(url, json.dumps(body, sort_keys=True))

    def _make_key(self, url: str, body_json: str) -> str:
        own = request_key(url, body_json) if self._own_keys is not False else None
        if own is None:
            return self._backends_key(url, body_json)
        if self._own_keys is None and self._backend_open():
            self._own_keys = own == self._backends_key(url, body_json)
            if not self._own_keys:
                log.warning("requests-cache makes its cache keys differently from xl-fastmoss's copy of "
                            "its recipe (xl_fastmoss.cache_keys); requests-cache's own are used from now on")
                self._key_of.cache_clear()
                return self._backends_key(url, body_json)
        return own

    def _backends_key(self, url: str, body_json: str) -> str:
        return self.backend.create_key(requests.Request("POST", url, json=json.loads(body_json)).prepare())

    def _backend_open(self) -> bool:
        """Whether :attr:`backend` is there to use without opening it."""
        return True

    def get(self, key: str) -> CachedResponse | None:
        """The stored page, fresh or expired, or None."""
        return self.backend.get_response(key)

    def is_fresh(self, response: CachedResponse) -> bool:
        return self.ttl > 0 and not response.is_expired

    def store(self, key: str, response: requests.Response, *, final: bool = False) -> bool:
        """Keep ``response``, for ever when ``final``; returns whether it was stored (not when
        the time-to-live is 0: that turns the cache off)."""
        if self.ttl <= 0:
            return False
        expires = None if final else dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.ttl)
        self.backend.save_response(response, key, expires)
        return True

    def pieces(self, query: str) -> dict[tuple[int, int], str]:
        with self._pieces_lock:
            return dict(self._pieces.get(query, {}))

    def add_piece(self, query: str, page: int, size: int, key: str) -> None:
        with self._pieces_lock:
            self._pieces.setdefault(query, {})[(page, size)] = key

    def lock(self, key: str, wait: float) -> AbstractContextManager[bool]:
        """Nothing to lock: no other process sees this cache, and in-process requests are merged."""
        return contextlib.nullcontext(True)

    def open_while_waiting(self) -> None:
        """Nothing to open: the backend came open."""

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
        #: The requests-cache backend once open (see the backend property), and its opening.
        self._opened: requests_cache.BaseCache | None = None
        self._opening = threading.Lock()
        self._opening_started = False
        self._closed = False
        #: One statement at a time on the shared connection: sqlite3 shares a connection's
        #: prepared statements between threads, and two threads stepping one of them fail with
        #: "no more rows available" (which once moved a good cache file aside) or worse.
        self._using = threading.Lock()
        #: Connections of files found broken, closed with the cache (see _recover).
        self._retired: list[requests_cache.BaseCache] = []
        self._inode: int | None = None
        self._page_locks = PageLocks(folder)
        #: key -> (stored text, its response), most recently read last (see get).
        self._decoded: OrderedDict[str, tuple[str | bytes, CachedResponse]] = OrderedDict()
        self._decoded_lock = threading.Lock()
        super().__init__(None, ttl)  # type: ignore[arg-type]  # opened when first needed

    # Opened when first needed or by open_while_waiting; until then get() asks _may_hold.
    @property
    def backend(self) -> requests_cache.BaseCache:
        opened = self._opened
        if opened is None:
            with self._opening:
                if self._opened is None:
                    self._opened = self._open()
                opened = self._opened
        return opened

    @backend.setter
    def backend(self, value: requests_cache.BaseCache | None) -> None:
        self._opened = value

    def _backend_open(self) -> bool:
        return self._opened is not None

    def open_while_waiting(self) -> None:
        """Open the backend in the background (:mod:`.while_waiting`), unless it is open or
        opening: called as a call goes out, so that requests-cache imports while this process
        waits for the answer."""
        with self._lock:
            if self._opened is not None or self._opening_started or self._closed:
                return
            self._opening_started = True
        WHILE_WAITING.after_send(self._open_in_background)

    def _open_in_background(self) -> None:
        with self._opening:
            if self._opened is None and not self._closed:
                with contextlib.suppress(Exception):  # it fails again, and is told, where it is needed
                    self._opened = self._open()
                    _prepare_serializer(self._opened)

    def lock(self, key: str, wait: float) -> AbstractContextManager[bool]:
        """The page's lock in the cache folder, shared by every process of it (see :mod:`.page_locks`);
        nothing to lock when the answers are kept in memory."""
        if self._opened is None and os.access(self.folder, os.W_OK | os.X_OK):
            return self._page_locks.hold(key, wait)  # the file serves unless broken: locks in a usable folder
        if self._in_memory_backend():
            return contextlib.nullcontext(True)
        return self._page_locks.hold(key, wait)

    def close(self) -> None:
        self._closed = True
        with self._opening:  # one opening in the background is closed once open
            opened = self._opened
        for retired in self._retired:
            with contextlib.suppress(Exception):
                retired.close()
        if opened is not None:
            opened.close()

    def get(self, key: str) -> CachedResponse | None:
        import sqlite3  # loaded already by the cache itself; not at import time

        if self._opened is None and not self._may_hold(key):
            return None
        backend = self.backend
        responses = cast("SQLiteDict", backend.responses)
        try:
            # Only the statement holds the connection; the answer decodes after (a page's worth
            # of JSON), while other threads use it. Redirects are never stored: no alias lookup.
            with self._using, responses.connection() as db:
                row = db.execute(f"SELECT value FROM {responses.table_name} WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as error:
            self._recover(backend, error)
            return None
        return None if row is None else self._decode(key, row[0], responses)

    def _decode(self, key: str, stored: str | bytes, responses: SQLiteDict) -> CachedResponse | None:
        """The response ``stored`` holds, decoded once while it stays the same text: decoding
        (JSON, base64, cattrs) costs ten times reading it, and a page is read again by each
        table and card of its query. Callers only read a stored response."""
        with self._decoded_lock:
            kept = self._decoded.get(key)
            if kept is not None and kept[0] == stored:
                self._decoded.move_to_end(key)
                return kept[1]
        response = responses.deserialize(key, stored)
        if response is not None:
            with self._decoded_lock:
                self._decoded[key] = (stored, response)
                self._decoded.move_to_end(key)
                while len(self._decoded) > _DECODED_KEPT:
                    self._decoded.popitem(last=False)
        return response

    def store(self, key: str, response: requests.Response, *, final: bool = False) -> bool:
        import sqlite3

        backend = self.backend
        try:
            with self._using:
                return super().store(key, response, final=final)
        except sqlite3.DatabaseError as error:
            self._recover(backend, error)
            return False

    def _may_hold(self, key: str) -> bool:
        """Whether the cache file may hold an answer under ``key``, asked of SQLite itself
        (read-only); False only when it surely does not. Anything unusual (no table yet, a
        file SQLite cannot read) is left to opening the cache, which deals with it."""
        import sqlite3

        try:
            if not self.path.exists():
                return False
            read_only = f"{self.path.absolute().as_uri()}?mode=ro"
            with contextlib.closing(sqlite3.connect(read_only, uri=True, timeout=1)) as db:
                return db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone() is not None
        except (sqlite3.Error, OSError, ValueError):
            return True

    # The piece index is a table of the cache file (one row a stored piece); pieces of an
    # in-memory cache stay in memory. A failure to read or write it only costs a call later.
    def pieces(self, query: str) -> dict[tuple[int, int], str]:
        if self._in_memory_backend():
            return super().pieces(query)
        found = self._on_index("SELECT page, size, key FROM pieces WHERE query = ?", (query,))
        return {(page, size): key for page, size, key in found}

    def add_piece(self, query: str, page: int, size: int, key: str) -> None:
        if self._in_memory_backend():
            super().add_piece(query, page, size, key)
            return
        self._on_index("INSERT OR REPLACE INTO pieces (query, page, size, key) VALUES (?, ?, ?, ?)",
                       (query, page, size, key), write=True)

    # -- what `xl-fastmoss cache` shows and does ---------------------------------------------

    def inventory(self, settle_days: float) -> CacheInventory:
        """What the file holds: answers by kind, pieces indexed, bytes on disk, files moved aside."""
        found = CacheInventory(self.path, size=_size_on_disk(self.path), aside=_moved_aside(self.folder))
        if self._in_memory_backend():
            return found
        for _key, kind in self._kinds(settle_days):
            setattr(found, kind, getattr(found, kind) + 1)
        found.pieces = self._on_index("SELECT COUNT(*) FROM pieces", ())[0][0] if self.path.exists() else 0
        return found

    def prune(self, settle_days: float) -> CacheInventory:
        """Remove what can no longer serve: answers expired more than STALE_KEPT ago (never a final
        one), answers that do not decode, index rows of answers gone, files moved aside; then
        compact the file. Returns what was removed."""
        removed = CacheInventory(self.path, aside=_moved_aside(self.folder))
        if not self._in_memory_backend():
            doomed = [(key, kind) for key, kind in self._kinds(settle_days, pruning=True) if kind]
            if doomed:
                self.backend.delete(*[key for key, _ in doomed])
            for _key, kind in doomed:
                setattr(removed, kind, getattr(removed, kind) + 1)
            removed.pieces = len(self._on_index(
                "DELETE FROM pieces WHERE key NOT IN (SELECT key FROM responses) RETURNING key", (), write=True))
            self._vacuum()
        for path in removed.aside:
            with contextlib.suppress(OSError):
                path.unlink()
        return removed

    def clear(self) -> CacheInventory:
        """Remove every answer and the piece index (not the ledger, nor the refresh record)."""
        removed = self.inventory(settle_days=0)
        removed.aside = []
        self.backend.clear()
        self._on_index("DELETE FROM pieces", (), write=True)
        self._vacuum()
        return removed

    def _kinds(self, settle_days: float, pruning: bool = False):
        """(key, kind) of every stored answer: final, fresh, expired or unreadable; when
        ``pruning``, the kind is "expired" or "unreadable" for what to remove and "" for what stays."""
        import sqlite3

        from .retention import is_final

        now = dt.datetime.now(dt.timezone.utc)
        serializer = self.backend.responses.serializer
        assert serializer is not None, "the cache is opened with data_only_serializer"
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as db:
                rows = db.execute("SELECT key, value, expires FROM responses").fetchall()
        except sqlite3.Error as error:
            log.warning("cache file %s cannot be read (%s)", self.path, _reason(error))
            return
        for key, value, expires in rows:
            try:
                response = serializer.loads(value)
                body = json.loads(response.request.body or b"null")
            except (ValueError, TypeError, AttributeError):
                yield key, "unreadable"
                continue
            created = response.created_at if response.created_at.tzinfo else response.created_at.replace(
                tzinfo=dt.timezone.utc)
            if expires is None or is_final(body, created, settle_days):
                yield key, "" if pruning else "final"
            elif expires > now.timestamp():
                yield key, "" if pruning else "fresh"
            elif not pruning or expires < now.timestamp() - STALE_KEPT:
                yield key, "expired"
            else:
                yield key, ""

    def _vacuum(self) -> None:
        import sqlite3

        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as db:
                db.execute("VACUUM")
        except sqlite3.Error as error:  # another process is writing: the space is freed later
            log.warning("cache file %s was not compacted (%s)", self.path, _reason(error))

    def _in_memory_backend(self) -> bool:
        return ":memory:" in str(getattr(self.backend, "db_path", ":memory:"))

    def _on_index(self, statement: str, parameters: tuple, *, write: bool = False) -> list:
        """Run one statement on the piece index, on the cache's own connection: another
        connection writing the same file would wait on SQLite's lock against the cache's writes."""
        import sqlite3

        responses = cast("SQLiteDict", self.backend.responses)
        try:
            with self._using, responses.connection(commit=write) as db:
                return db.execute(statement, parameters).fetchall()
        except sqlite3.Error as error:
            log.warning("the piece index of %s cannot be used (%s)", self.path, _reason(error))
            return []

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
        """Replace a file found broken while in use, once, whichever thread finds it first.

        A file busy with another writer (``database is locked``) is not broken: that read or
        write is only skipped (a miss, a page not kept) and the file stays, since moving it aside
        would take it from the process writing it. The broken file's connection is not closed
        here: other threads may be reading through it this moment (closing it under them can
        crash SQLite); it is closed with the cache.
        """
        if _busy(error) or _misused(error):
            log.warning("cache file %s is busy (%s); this page was not read or kept there",
                        self.path, _reason(error))
            return
        with self._lock:
            if self.backend is not broken:
                return
            self._retired.append(broken)
            if self._inode is not None and _inode(self.path) != self._inode:
                log.warning("cache file %s was replaced by another process; reopening it", self.path)
            elif not self._move_aside(_reason(error)):
                self.backend = self._in_memory(f"the cache file {self.path} broke ({_reason(error)})")
                return
            self.backend = self._open()

    def _move_aside(self, reason: str) -> bool:
        """Rename the cache file (and SQLite's files beside it) out of the way; False if it cannot be."""
        try:
            aside = move_sqlite_aside(self.path)
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
        import_requests_cache()
        import requests_cache

        serializer = data_only_serializer(self._max_value_bytes)
        if path is None:
            return requests_cache.SQLiteCache(use_memory=True, serializer=serializer)
        # Opening creates the tables: a file that is not SQLite, or truncated, fails here. Damage
        # further in is found by the read or write that meets it (see get and store).
        backend = requests_cache.SQLiteCache(path, wal=True, serializer=serializer)
        with backend.responses.connection(commit=True) as db:
            db.execute(_PIECES_TABLE)
        return backend


@dataclass
class CacheInventory:
    """Answers of the cache file by kind (or removed from it), pieces indexed, bytes, files moved aside."""

    path: Path
    final: int = 0
    fresh: int = 0
    expired: int = 0
    unreadable: int = 0
    pieces: int = 0
    size: int = 0
    aside: list[Path] = field(default_factory=list)

    @property
    def answers(self) -> int:
        return self.final + self.fresh + self.expired + self.unreadable


def _size_on_disk(path: Path) -> int:
    return sum(part.stat().st_size for part in (path.with_name(path.name + s) for s in ("", "-wal", "-shm"))
               if part.exists())


def _moved_aside(folder: Path) -> list[Path]:
    """Cache and ledger files moved aside because they could not be read (see _move_aside)."""
    try:
        return sorted(p for p in folder.iterdir() if ".sqlite.broken-" in p.name)
    except OSError:
        return []


_PIECES_TABLE = ("CREATE TABLE IF NOT EXISTS pieces (query TEXT NOT NULL, page INTEGER NOT NULL, "
                 "size INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY (query, page, size))")


def open_local_cache(cache_dir: Path | None, ttl: float, max_page_bytes: int = 4 * 2**20) -> BackendCache:
    """A SQLite file in ``cache_dir`` (WAL mode, safe for many processes); memory when None."""
    if cache_dir is None:
        import_requests_cache()
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


def _busy(error: BaseException) -> bool:
    """Whether SQLite refused because another connection holds the file's lock (not damage)."""
    import sqlite3

    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _misused(error: BaseException) -> bool:
    """Whether SQLite failed from how the connection was used (threads), not from the file."""
    text = str(error).lower()
    return "no more rows available" in text or "misuse" in text


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return text.splitlines()[0][:100]
