"""The FM_ worksheet functions as plain Python: exactly the rectangle Excel will show.

:mod:`xl_fastmoss.udfs` only decorates these for xlwings. Nothing here raises: every problem
comes back as one cell of readable text.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

from ..client import default_client
from ..errors import FastMossError
from ..result import RankingResult
from ..settings import Settings
from ..shop_history import HistoryResult
from .calls import FmCall, read_call, read_history_call
from .plan import fetch_call
from .table import error_text, to_rows

_MAX_REMEMBERED = 256


class _SessionLog:
    """What the sheet was shown this session, for FM_STATUS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.stale: OrderedDict[str, str] = OrderedDict()
        self.oldest_shown: dt.datetime | None = None
        self.newest_shown: dt.datetime | None = None
        self.errors = 0

    def shown(self, call: FmCall, result: RankingResult | HistoryResult) -> None:
        label = call.describe()
        with self._lock:
            self.stale.pop(label, None)
            if result.stale:
                self.stale[label] = result.stale_reason or "the API failed"
                while len(self.stale) > _MAX_REMEMBERED:
                    self.stale.popitem(last=False)
            fetched = result.fetched_at
            self.oldest_shown = min(filter(None, (self.oldest_shown, fetched)))
            self.newest_shown = max(filter(None, (self.newest_shown, fetched)))

    def failed(self) -> None:
        with self._lock:
            self.errors += 1


session_log = _SessionLog()


def ranking_table(function: str, region, category_id, date_type, date_value, *options) -> list[list]:
    """The FM_ function ``function``: a table, or one cell naming what went wrong."""
    try:
        call = read_call(function, region, category_id, date_type, date_value, options)
        client = default_client()
        result = fetch_call(client, call)
    except Exception as error:  # a cell shows the cause, never a traceback
        session_log.failed()
        return [[error_text(error)]]
    session_log.shown(call, result)
    rows = to_rows(result, call.fields, call.headers)
    if result.stale:
        rows = _with_stale_note(rows, result)
    return rows


def _with_stale_note(rows: list[list], result: RankingResult | HistoryResult) -> list[list]:
    """The table as last fetched, with a last row saying it is stale and why."""
    width = len(rows[0])
    note = (f"Stale: data as of {result.fetched_at:%Y-%m-%d %H:%M} UTC; "
            f"the refresh failed: {result.stale_reason}")
    return rows + [[note] + [None] * (width - 1)]


def status_table() -> list[list]:
    """FM_STATUS: key configured, calls made and served from cache, when the data was fetched."""
    try:
        settings = Settings.load()
    except FastMossError as error:
        return [[error_text(error)]]
    rows: list[list] = [
        ["API key", "configured" if settings.api_key
         else "not set: run `xl-fastmoss config --set-key` or set FASTMOSS_API_KEY"],
        ["Base URL", settings.base_url],
    ]
    client = default_client()
    stats = client.stats
    rows += [
        ["API calls this session", stats.api_calls],
        ["Pages from the cache", stats.pages_from_cache],
        ["Tables from memory", stats.tables_from_memory],
        ["Oldest data shown (UTC)", _when(session_log.oldest_shown)],
        ["Newest data shown (UTC)", _when(session_log.newest_shown)],
        ["Cache", client.cache.describe()],
        ["Stale tables", len(session_log.stale)],
        ["Failed calls of FM_ functions", session_log.errors],
    ]
    rows += [[f"Stale: {label}", reason] for label, reason in session_log.stale.items()]
    return rows


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "none yet"


def history_table(seller_id, region, category_id, date_type, start, end, *options) -> list[list]:
    """FM_HISTORY: a shop's history, one row per period, or one cell naming what went wrong."""
    try:
        call = read_history_call(seller_id, region, category_id, date_type, start, end, options)
        result = fetch_call(default_client(), call)
    except Exception as error:  # a cell shows the cause, never a traceback
        session_log.failed()
        return [[error_text(error)]]
    session_log.shown(call, result)
    rows = call.rows(result)
    if result.stale:
        rows = _with_stale_note(rows, result)
    return rows
