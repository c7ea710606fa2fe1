"""The call ledger: every API call recorded, and the daily budgets checked before it is made.

Each call (each attempt: a retry is a call the vendor meters too) is recorded with when it was
made, the endpoint, page and page size, the rows received, its outcome and what asked for it
(:mod:`.asking`). The ledger lives where the cache does: ``usage.sqlite`` in the cache folder
(every process of the user shares it), or on the team's Redis with a team cache (see
:class:`xl_fastmoss.team_cache.TeamLedger`), so that a team sees one ledger and one budget.
Entries are kept :data:`KEPT_DAYS` days.

Budgets (``FASTMOSS_DAILY_CALLS``, ``FASTMOSS_DAILY_ROWS``; none by default) count the user's
**local day** (the computer's time zone), from midnight to midnight. They are enforced before a
call is made, atomically across processes: the check and the reservation are one SQLite
``BEGIN IMMEDIATE`` transaction (one Lua script on Redis), so two processes cannot both take
the last call. A call reserves its page size of rows; once answered, the reservation is
corrected to the rows received (0 for a failed call). Corrections are written with the next
reservation, in its transaction, or by :meth:`Ledger.flush` (when a fetch ends, and before the
ledger is read or closed): a busy refresh writes one transaction a call, not two, and a
reservation never waits for a correction to be written. Until then a call counts its page size,
never less. The transport reserves while the call waits for its slot, so that the reservation
overlaps the calls in flight; a reservation whose call is then never sent (its time ran out, or
the run's ``--max-calls`` was reached) is taken back (:meth:`Ledger.cancel`) and counts nothing.
A call past a budget is refused with
:class:`~xl_fastmoss.errors.BudgetExceeded` and never retried; answers already cached are still
served. A call whose process died before it was answered keeps its reservation ("unfinished").

The ledger file is the user's own, like the cache: one SQLite cannot read is moved aside and a
new one started (that day's count starts again), and a folder that cannot be written keeps the
ledger in memory for this process only, with a warning; FM_STATUS shows both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import redact
from .errors import BudgetExceeded, FastMossError
from .files import move_sqlite_aside
from .settings import Settings

LEDGER_FILE_NAME = "usage.sqlite"
#: Days an entry is kept.
KEPT_DAYS = 90
#: Seconds a process waits for another one holding the ledger (a reservation takes a millisecond).
BUSY_TIMEOUT = 30.0
#: The outcome of a call not answered yet (or whose process ended before it was).
IN_FLIGHT = "unfinished"
OK = "ok"
NO_ROWS = "no rows"

log = redact.logger(__name__)


def local_day(moment: dt.datetime | None = None) -> str:
    """The user's local date (the computer's time zone) at ``moment`` (now when None), ISO-written."""
    moment = moment or dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone().date().isoformat()


@dataclass(frozen=True)
class Budgets:
    """Daily budgets of calls and rows; None is no budget."""

    calls: int | None = None
    rows: int | None = None

    @classmethod
    def of(cls, settings: Settings) -> Budgets:
        return cls(settings.daily_calls, settings.daily_rows)

    def refusal(self, used_calls: int, used_rows: int, pagesize: int, day: str, scope: str) -> BudgetExceeded | None:
        """The error refusing one more call of ``pagesize`` rows after what was used, or None if it fits."""
        if self.calls is not None and used_calls + 1 > self.calls:
            return BudgetExceeded("calls", self.calls, used_calls, day, scope)
        if self.rows is not None and used_rows + pagesize > self.rows:
            return BudgetExceeded("rows", self.rows, used_rows, day, scope)
        return None


@dataclass(frozen=True)
class Reservation:
    """A call allowed and recorded as unfinished, to be settled with what it received."""

    entry: object  # the store's own id of the entry
    day: str
    endpoint: str
    page: int
    pagesize: int
    asked: str
    at: dt.datetime
    #: Which ledger holds it (a team ledger falls back to the local one while Redis is down).
    store: object = None


@dataclass(frozen=True)
class Usage:
    """Calls and rows of one endpoint on one day."""

    day: str
    endpoint: str
    calls: int
    rows: int


@dataclass(frozen=True)
class Entry:
    """One call as recorded."""

    at: dt.datetime
    day: str
    endpoint: str
    page: int
    pagesize: int
    rows: int
    outcome: str
    asked: str


class Ledger(Protocol):
    """What the transport needs: reserve a call under the budgets, settle it; what is shown: usage."""

    budgets: Budgets

    def reserve(self, endpoint: str, page: int, pagesize: int, asked: str) -> Reservation:
        """Record a call about to be made, or raise BudgetExceeded (nothing recorded)."""
        ...

    def settle(self, reservation: Reservation, rows: int, outcome: str) -> None:
        """Record what the call received: ``rows`` (0 when it failed) and its outcome (written by
        the next reservation or :meth:`flush`)."""
        ...

    def cancel(self, reservation: Reservation) -> None:
        """Take back a reservation whose call was never sent: it counts no call and no rows
        (written like a settlement)."""
        ...

    def flush(self) -> None:
        """Write the settlements (and cancellations) not written yet."""
        ...

    def usage(self, days: int) -> list[Usage]:
        """Calls and rows by day and endpoint, the last ``days`` local days (today included), oldest first."""
        ...

    def entries(self, days: int) -> list[Entry]:
        """Every call of the last ``days`` local days, oldest first."""
        ...

    def today(self) -> tuple[int, int]:
        """Calls and rows of today (local day), unfinished calls counted at their reservation."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


def first_day(days: int, today: str | None = None) -> str:
    """The local day ``days - 1`` days before today: the first of a window of ``days`` days."""
    start = dt.date.fromisoformat(today or local_day())
    return (start - dt.timedelta(days=max(1, days) - 1)).isoformat()


def today_totals(usage: list[Usage], day: str) -> tuple[int, int]:
    rows = [u for u in usage if u.day == day]
    return sum(u.calls for u in rows), sum(u.rows for u in rows)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    day TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    page INTEGER NOT NULL,
    pagesize INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    asked TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_day ON calls (day);
"""


class LocalLedger:
    """The ledger in ``usage.sqlite`` of the cache folder, shared by every process of the user;
    in memory (this process only) when ``folder`` is None or cannot be written."""

    scope = "your calls on this computer"

    def __init__(self, folder: Path | None, budgets: Budgets):
        self.budgets = budgets
        self.path = folder / LEDGER_FILE_NAME if folder is not None else None
        #: What is wrong with this ledger, for FM_STATUS (None when nothing is).
        self.problem: str | None = None
        self._memory = folder is None
        self._lock = threading.Lock()
        self._db = self._open(folder)
        #: (rows, outcome, entry) of calls settled since the last write, and the entries of
        #: reservations taken back; never held across a statement, so settling never waits for
        #: a reservation in progress.
        self._unsettled: list[tuple[int, str, object]] = []
        self._cancelled: list[tuple[object]] = []
        self._unsettled_lock = threading.Lock()

    # -- recording ---------------------------------------------------------------------------

    def reserve(self, endpoint: str, page: int, pagesize: int, asked: str) -> Reservation:
        at = dt.datetime.now(dt.timezone.utc)
        day = local_day(at)
        entry = None
        with self._transaction() as db:
            self._write_settled(db)
            used_calls, used_rows = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(rows), 0) FROM calls WHERE day = ?", (day,)).fetchone()
            refused = self.budgets.refusal(used_calls, used_rows, pagesize, day, self.scope)
            if refused is None:
                entry = db.execute(
                    "INSERT INTO calls (at, day, endpoint, page, pagesize, rows, outcome, asked) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (at.isoformat(), day, endpoint, page, pagesize, pagesize,
                                                        IN_FLIGHT, asked)).lastrowid
        if refused is not None:  # after the commit: the settlements written with it stay
            raise refused
        return Reservation(entry, day, endpoint, page, pagesize, asked, at, self)

    def settle(self, reservation: Reservation, rows: int, outcome: str) -> None:
        with self._unsettled_lock:
            self._unsettled.append((rows, outcome, reservation.entry))

    def cancel(self, reservation: Reservation) -> None:
        with self._unsettled_lock:
            self._cancelled.append((reservation.entry,))

    def flush(self) -> None:
        if not (self._unsettled or self._cancelled):
            return
        try:
            with self._transaction() as db:
                self._write_settled(db)
        except FastMossError as error:  # the calls were made: failing to note their rows must not fail them
            log.warning("%s", error.message)

    def _write_settled(self, db: sqlite3.Connection) -> None:
        """Write the settlements and cancellations taken so far, in the open transaction; kept for
        the next one if it fails."""
        with self._unsettled_lock:
            settled, self._unsettled = self._unsettled, []
            cancelled, self._cancelled = self._cancelled, []
        if not (settled or cancelled):
            return
        try:
            db.executemany("UPDATE calls SET rows = ?, outcome = ? WHERE id = ?", settled)
            db.executemany("DELETE FROM calls WHERE id = ?", cancelled)
        except BaseException:
            with self._unsettled_lock:
                self._unsettled[:0] = settled
                self._cancelled[:0] = cancelled
            raise

    # -- reading -----------------------------------------------------------------------------

    def usage(self, days: int) -> list[Usage]:
        self.flush()
        with self._transaction(immediate=False) as db:
            found = db.execute(
                "SELECT day, endpoint, COUNT(*), SUM(rows) FROM calls WHERE day >= ? "
                "GROUP BY day, endpoint ORDER BY day, endpoint", (first_day(days),)).fetchall()
        return [Usage(day, endpoint, calls, rows) for day, endpoint, calls, rows in found]

    def entries(self, days: int) -> list[Entry]:
        self.flush()
        with self._transaction(immediate=False) as db:
            found = db.execute(
                "SELECT at, day, endpoint, page, pagesize, rows, outcome, asked FROM calls WHERE day >= ? "
                "ORDER BY at, id", (first_day(days),)).fetchall()
        return [Entry(dt.datetime.fromisoformat(at), *rest) for at, *rest in found]

    def today(self) -> tuple[int, int]:
        day = local_day()
        self.flush()
        with self._transaction(immediate=False) as db:
            calls, rows = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(rows), 0) FROM calls WHERE day = ?", (day,)).fetchone()
        return calls, rows

    def describe(self) -> str:
        where = "memory" if self._memory or self.path is None else str(self.path)
        return f"{where} ({self.problem})" if self.problem else where

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()

    # -- the file ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, immediate: bool = True):
        """One transaction; ``immediate`` takes the write lock first, so a check and its insert are one step."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as error:
                raise FastMossError(
                    f"the usage ledger {self.describe()} cannot be used ({_reason(error)}); "
                    "the call was not made") from None

    def _open(self, folder: Path | None) -> sqlite3.Connection:
        if folder is None or self.path is None:
            return self._connect(":memory:")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return self._in_memory(f"the cache folder {folder} cannot be made ({_reason(error)})")
        if not os.access(folder, os.W_OK | os.X_OK):
            return self._in_memory(f"the cache folder {folder} is read-only")
        for attempt in range(2):
            try:
                db = self._connect(str(self.path))
                db.execute("PRAGMA journal_mode=WAL")
                # A commit then waits for no disk flush (every reservation commits, inside a call
                # slot); a crashing process loses nothing, only the machine's own crash may lose
                # the last calls recorded. requests-cache runs its WAL file the same way.
                db.execute("PRAGMA synchronous=NORMAL")
                _prune(db)
                return db
            except sqlite3.Error as error:
                problem = _reason(error)
            if attempt == 0 and not self._move_aside(problem):
                break
        return self._in_memory(f"the ledger file {self.path} cannot be used ({problem})")

    def _connect(self, where: str) -> sqlite3.Connection:
        # isolation_level None: transactions are the ones _transaction opens, no implicit ones.
        db = sqlite3.connect(where, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        try:
            db.executescript(_SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _in_memory(self, problem: str) -> sqlite3.Connection:
        self._memory = True
        self.problem = f"{problem}; calls are counted in memory for this process only"
        log.warning("%s", self.problem)
        return self._connect(":memory:")

    def _move_aside(self, reason: str) -> bool:
        assert self.path is not None
        try:
            aside = move_sqlite_aside(self.path)
        except OSError as error:
            log.warning("ledger file %s cannot be used (%s) nor moved aside (%s)", self.path, reason, _reason(error))
            return False
        self.problem = f"the earlier file could not be read ({reason}); it was moved to {aside.name}"
        log.warning("ledger file %s could not be read (%s); moved it to %s and started a new one: "
                    "today's calls before now are not counted", self.path, reason, aside.name)
        return True


def _prune(db: sqlite3.Connection) -> None:
    """Forget entries older than KEPT_DAYS days."""
    oldest = (dt.date.fromisoformat(local_day()) - dt.timedelta(days=KEPT_DAYS)).isoformat()
    db.execute("DELETE FROM calls WHERE day < ?", (oldest,))


def open_ledger(settings: Settings) -> Ledger:
    """The ledger the settings ask for: the local file, or the team's Redis in front of it."""
    local = LocalLedger(settings.cache_dir, Budgets.of(settings))
    url = settings.cache_url
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return local  # open_cache refuses a URL that is not Redis, with the error the user sees
    try:
        from .team_cache import TeamLedger
    except ImportError:  # the team extra is not installed: open_cache warns already
        return local
    return TeamLedger(url, local)


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:100]
