"""The shared record of workbook refreshes: when each ran, what it refreshed, what failed and why.

Excel's refresh button runs in a Python process of its own unless xlwings' "Use UDF Server" is
on (RunPython starts ``python -c ...`` for every click), while the FM_ cells are calculated in
the UDF server, a long-lived process. The two share the cache folder, not memory. So the refresh
writes here what it did, and the UDF server reads it:

- :meth:`FastMossClient.cached_table` forgets the tables it holds in memory that a refresh
  fetched again since, so the recalculated cells read the new pages from the shared cache;
- :func:`xl_fastmoss.sheets.functions.ranking_table` marks a table stale whose last refresh
  failed, with the reason, while it shows the data it had;
- FM_STATUS can count the API calls refreshes made in other processes (:meth:`api_calls_elsewhere`).

The record is ``refreshes.json`` in the cache folder: the last :data:`KEPT_REFRESHES` refreshes,
oldest first, replaced whole (:func:`xl_fastmoss.files.atomic_write`) under a file lock. Queries
are kept as short hashes of what they ask the API (:func:`query_key`), failures with the
ranking's description and the error's message (never the key: no error text holds it). A file
too large, damaged or not of this shape reads as no record, with one warning. Without a cache
folder (the memory cache) the record lives in memory, for this process only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FastMossError
from .files import atomic_write
from .query import RankingQuery

RECORD_FILE_NAME = "refreshes.json"
FORMAT = 1
#: Refreshes kept in the file; older ones no longer matter to any process.
KEPT_REFRESHES = 50
#: A record file larger than this is not read.
MAX_RECORD_BYTES = 4 * 1024 * 1024
#: Bounds of one refresh's entry, so a workbook with many tables still writes a bounded file.
MAX_QUERIES = 5_000
MAX_TEXT = 500
LOCK_TIMEOUT = 30.0

log = logging.getLogger(__name__)


def query_key(query: RankingQuery) -> str:
    """A short stable name of what ``query`` asks the API, the same in every process."""
    body = query.body(1)
    asked = {"path": query.endpoint.path, "filter": body["filter"], "orderby": body["orderby"]}
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Failure:
    """A table a refresh could not fetch fresh: which ranking, and the error's message."""

    table: str
    reason: str


@dataclass(frozen=True)
class Refresh:
    """One workbook refresh (the button, a sheet, a selection)."""

    number: int
    started: dt.datetime
    finished: dt.datetime
    pid: int
    scope: str
    tables: int
    api_calls: int
    #: :func:`query_key` of every query the refresh asked the API for again.
    refreshed: frozenset[str] = frozenset()
    #: The queries among them that failed, by :func:`query_key`.
    failed: Mapping[str, Failure] = field(default_factory=dict)


class RefreshRecord:
    """The refreshes recorded in ``path`` (a file shared by processes), or in memory when None."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._memory: tuple[Refresh, ...] = ()
        self._read_state: tuple | None = None
        self._read: tuple[Refresh, ...] = ()

    @classmethod
    def in_cache_dir(cls, cache_dir: Path | None) -> RefreshRecord:
        return cls(cache_dir / RECORD_FILE_NAME if cache_dir is not None else None)

    # -- writing ---------------------------------------------------------------------------

    def add(self, *, started: dt.datetime, finished: dt.datetime, scope: str, tables: int, api_calls: int,
            refreshed: Iterable[RankingQuery], failed: Mapping[RankingQuery, str]) -> Refresh:
        """Record a refresh that ran from ``started`` to ``finished`` (aware datetimes).

        ``failed`` maps each query whose fresh fetch failed to the error's message. Raises
        FastMossError when the file stays locked by another refresh or cannot be written.
        """
        keys = list(dict.fromkeys(query_key(q) for q in refreshed))[:MAX_QUERIES]
        failures = {query_key(q): Failure(_bounded(q.describe()), _bounded(reason))
                    for q, reason in list(failed.items())[:MAX_QUERIES]}
        if self.path is None:
            with self._lock:
                entry = self._entry(self._memory, started, finished, scope, tables, api_calls, keys, failures)
                self._memory = (*self._memory, entry)[-KEPT_REFRESHES:]
            return entry
        import filelock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with filelock.FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT):
                earlier = self._load()
                entry = self._entry(earlier, started, finished, scope, tables, api_calls, keys, failures)
                kept = (*earlier, entry)[-KEPT_REFRESHES:]
                with atomic_write(self.path) as temporary:
                    temporary.write_text(json.dumps({"format": FORMAT, "refreshes": [_to_json(r) for r in kept]}),
                                         encoding="utf-8")
        except filelock.Timeout:
            raise FastMossError(f"could not record the refresh: {self.path} stayed locked for "
                                f"{LOCK_TIMEOUT:g} s by another refresh") from None
        except OSError as error:
            raise FastMossError(f"could not record the refresh in {self.path}: {error.strerror or error}") from None
        return entry

    @staticmethod
    def _entry(earlier, started, finished, scope, tables, api_calls, keys, failures) -> Refresh:
        number = max((r.number for r in earlier), default=0) + 1
        return Refresh(number, started, finished, os.getpid(), _bounded(scope), tables, api_calls,
                       frozenset(keys), failures)

    # -- reading ---------------------------------------------------------------------------

    def refreshes(self) -> tuple[Refresh, ...]:
        """The recorded refreshes, oldest first; read again only when the file changed."""
        if self.path is None:
            return self._memory
        return self._load()

    def _load(self) -> tuple[Refresh, ...]:
        try:
            stat = os.stat(self.path)  # type: ignore[arg-type]
        except OSError:
            return ()
        state = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if state == self._read_state:
                return self._read
        refreshes = self._parse()
        with self._lock:
            self._read_state, self._read = state, refreshes
        return refreshes

    def _parse(self) -> tuple[Refresh, ...]:
        assert self.path is not None
        try:
            with open(self.path, "rb") as file:
                data = file.read(MAX_RECORD_BYTES + 1)
            if len(data) > MAX_RECORD_BYTES:
                raise ValueError(f"larger than {MAX_RECORD_BYTES} bytes")
            payload = json.loads(data)
            if not isinstance(payload, dict) or payload.get("format") != FORMAT:
                raise ValueError("not a refresh record of this version")
            entries = payload.get("refreshes")
            if not isinstance(entries, list) or len(entries) > KEPT_REFRESHES:
                raise ValueError("no list of refreshes")
            return tuple(_from_json(entry) for entry in entries)
        except (OSError, ValueError, TypeError, KeyError, RecursionError) as error:
            log.warning("ignoring the refresh record %s: %s", self.path, _bounded(str(error), 200))
            return ()

    def failure_for(self, query: RankingQuery, fetched_at: dt.datetime) -> Failure | None:
        """Why a table of ``query`` fetched at ``fetched_at`` is stale, if it is.

        It is when the latest refresh that asked for ``query`` failed to fetch it, and the
        table's data is older than that refresh (a later fetch that succeeded is not stale).
        """
        key = query_key(query)
        for refresh in reversed(self.refreshes()):
            if key in refresh.refreshed:
                failure = refresh.failed.get(key)
                return failure if failure is not None and fetched_at < refresh.started else None
        return None

    def api_calls_elsewhere(self, since: dt.datetime) -> int:
        """API calls of the refreshes other processes finished since ``since`` (for FM_STATUS).

        A refresh that ran in this process (the UDF server's own, Use UDF Server on) is not
        counted: this process's client counted its calls already.
        """
        me = os.getpid()
        return sum(r.api_calls for r in self.refreshes() if r.pid != me and r.finished >= since)


def _bounded(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _to_json(refresh: Refresh) -> dict:
    return {
        "number": refresh.number, "started": refresh.started.isoformat(), "finished": refresh.finished.isoformat(),
        "pid": refresh.pid, "scope": refresh.scope, "tables": refresh.tables, "api_calls": refresh.api_calls,
        "refreshed": sorted(refresh.refreshed),
        "failed": {key: {"table": f.table, "reason": f.reason} for key, f in refresh.failed.items()},
    }


def _from_json(entry: object) -> Refresh:
    """One refresh of the file, every field checked; ValueError when one is not as written."""
    if not isinstance(entry, dict):
        raise ValueError("a refresh that is not an object")
    refreshed = entry["refreshed"]
    failed = entry["failed"]
    if not isinstance(refreshed, list) or len(refreshed) > MAX_QUERIES or not all(_is_key(k) for k in refreshed):
        raise ValueError("refreshed is not a list of query keys")
    if not isinstance(failed, dict) or len(failed) > MAX_QUERIES:
        raise ValueError("failed is not an object of failures")
    failures = {}
    for key, failure in failed.items():
        if not _is_key(key) or not isinstance(failure, dict):
            raise ValueError("a failure that is not keyed by a query")
        failures[key] = Failure(_text(failure["table"]), _text(failure["reason"]))
    return Refresh(
        number=_count(entry["number"]), started=_moment(entry["started"]), finished=_moment(entry["finished"]),
        pid=_count(entry["pid"]), scope=_text(entry["scope"]), tables=_count(entry["tables"]),
        api_calls=_count(entry["api_calls"]), refreshed=frozenset(refreshed), failed=failures)


def _is_key(value: object) -> bool:
    return isinstance(value, str) and len(value) == 16 and all(c in "0123456789abcdef" for c in value)


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError("a text field that is not a short string")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ValueError("a count that is not a whole number")
    return value


def _moment(value: object) -> dt.datetime:
    moment = dt.datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError("a time without its time zone")
    return moment
