"""The FM_ worksheet functions as plain Python: exactly the rectangle Excel will show.

:mod:`xl_fastmoss.udfs` only decorates these for xlwings. Nothing here raises: every problem
comes back as one cell of readable text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import OrderedDict

from ..asking import asked_by
from ..client import default_client
from ..redact import redact_url, scrub
from ..result import RankingResult
from ..settings import Settings, key_travels_in_clear
from ..shop_history import HistoryResult
from ..usage import spend_rows
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
    """The FM_ function ``function``: a table, or one cell naming what went wrong.

    A table whose fresh fetch failed (here, or at the last workbook refresh, which may have run
    in another process) shows its last data, marked stale in its first header cell: see
    :func:`mark_stale`.
    """
    try:
        call = read_call(function, region, category_id, date_type, date_value, options)
        client = default_client()
        with asked_by(f"cell ={function}: {call.describe()}, {call.request.rows} rows"):
            result = fetch_call(client, call)
    except Exception as error:  # a cell shows the cause, never a traceback
        session_log.failed()
        return [[error_text(error)]]
    if not result.stale:
        failure = client.refresh_record.failure_for(call.request.query, result.fetched_at)
        if failure is not None:
            result = dataclasses.replace(result, stale=True, stale_reason=failure.reason)
    session_log.shown(call, result)
    rows = to_rows(result, call.fields, call.headers)
    if result.stale:
        rows = mark_stale(rows, result, call.headers)
    return rows


#: What a stale table's first header cell carries after its label; the template colours the
#: header row of a table whose first cell contains it.
STALE_MARK = " (stale: "


def mark_stale(rows: list[list], result: RankingResult | HistoryResult, headers: bool) -> list[list]:
    """The table as last fetched, its first header cell saying it is stale, since when and why.

    The mark costs no row and no column, so a stale table spills exactly where the fresh one
    did (a row more would run into whatever is below it, e.g. a totals row, and show #SPILL!).
    A table without headers has no cell to spare: it stays as it is, and FM_STATUS and the
    refresh report list it.
    """
    if not headers or len(rows) < 2:
        return rows
    note = (f"{rows[0][0]}{STALE_MARK}data as of {result.fetched_at:%Y-%m-%d %H:%M} UTC; "
            f"the refresh failed: {result.stale_reason or 'the API failed'})")
    return [[note, *rows[0][1:]], *rows[1:]]


def status_table() -> list[list]:
    """FM_STATUS: key configured, calls made (this session, and today by every process with
    what is left of the daily budgets), served from cache, when the data was fetched.

    Never raises: a setting or a cache that cannot be used is one row saying so, and no text
    in the table shows a secret (each passes :func:`~xl_fastmoss.redact.scrub`).
    """
    try:
        settings = Settings.load()
    except Exception as error:  # a cell shows the cause, never a traceback
        return _scrubbed([[error_text(error)]])
    base_url = redact_url(settings.base_url)
    if key_travels_in_clear(settings.base_url):
        base_url += " (plain http: the API key travels unencrypted)"
    rows: list[list] = [
        ["API key", "configured" if settings.api_key
         else "not set: run `xl-fastmoss config --set-key` or set FASTMOSS_API_KEY"],
        ["Base URL", base_url],
    ]
    try:
        client = default_client()
        cache = client.cache.describe()
    except Exception as error:
        return _scrubbed(rows + [["Client", error_text(error)]])
    stats = client.stats
    # A refresh button run in its own Python process (Use UDF Server off) left its calls in the
    # shared refresh record; this process never saw them.
    calls = stats.api_calls + client.refresh_record.api_calls_elsewhere(since=stats.since)
    rows += [
        ["API calls this session", calls],
        ["Pages from the cache", stats.pages_from_cache],
        ["Tables from memory", stats.tables_from_memory],
        ["Oldest data shown (UTC)", _when(session_log.oldest_shown)],
        ["Newest data shown (UTC)", _when(session_log.newest_shown)],
        ["Cache", cache],
        ["Stale tables", len(session_log.stale)],
        ["Failed calls of FM_ functions", session_log.errors],
    ]
    try:
        rows += spend_rows(client.ledger)
    except Exception as error:  # the ledger's trouble is one row, the rest of the status stands
        rows.append(["Usage ledger", error_text(error)])
    rows += [[f"Stale: {label}", reason] for label, reason in list(session_log.stale.items())]
    return _scrubbed(rows)


def _scrubbed(rows: list[list]) -> list[list]:
    return [[scrub(value) if isinstance(value, str) else value for value in row] for row in rows]


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "none yet"


def history_table(seller_id, region, category_id, date_type, start, end, *options) -> list[list]:
    """FM_HISTORY: a shop's history, one row per period, or one cell naming what went wrong."""
    try:
        call = read_history_call(seller_id, region, category_id, date_type, start, end, options)
        with asked_by(f"cell =FM_HISTORY: {call.describe()}"):
            result = fetch_call(default_client(), call)
    except Exception as error:  # a cell shows the cause, never a traceback
        session_log.failed()
        return [[error_text(error)]]
    session_log.shown(call, result)
    rows = call.rows(result)
    if result.stale:
        rows = mark_stale(rows, result, call.headers)
    return rows
