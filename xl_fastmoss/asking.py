"""Who is asking for the calls being made: a cell, the command line, a refresh (for the ledger).

The label travels with the work as a context variable, so a page fetched in one of the client's
threads is recorded under what asked for it. The client hands the context to its threads
(``contextvars.copy_context``); a page that two askers share while it is in flight is recorded
under the first.

A run may also carry a call allowance (:func:`call_allowance`): ``xl-fastmoss refresh
--max-calls N`` refuses a plan above N before any call, and the allowance holds the run to N
even when retries would take it past its estimate.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar

from .errors import CallLimitExceeded

#: What asks when nothing said: a script calling the library.
DEFAULT_ASKER = "python"
#: The longest label kept: it goes into every ledger entry.
MAX_LABEL = 200

_asker: ContextVar[str] = ContextVar("xl_fastmoss_asker", default=DEFAULT_ASKER)
_allowance: ContextVar[CallAllowance | None] = ContextVar("xl_fastmoss_call_allowance", default=None)


def current_asker() -> str:
    """The label of what asks for the calls made now."""
    return _asker.get()


@contextlib.contextmanager
def asked_by(label: str) -> Iterator[None]:
    """Calls made inside the block are recorded as asked by ``label`` (one line, bounded)."""
    text = " ".join(label.split())
    token = _asker.set(text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026")
    try:
        yield
    finally:
        _asker.reset(token)


class CallAllowance:
    """At most ``limit`` calls; the next one is refused (shared by every thread of the run)."""

    def __init__(self, limit: int, what: str):
        self.limit = limit
        self.what = what
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.used >= self.limit:
                raise CallLimitExceeded(
                    f"{self.what} made the {self.limit:,} calls it was allowed (--max-calls {self.limit}); "
                    "the next call was refused (retries of failed calls count too)")
            self.used += 1


@contextlib.contextmanager
def call_allowance(limit: int, what: str) -> Iterator[CallAllowance]:
    """Calls made inside the block are refused past ``limit``."""
    allowance = CallAllowance(limit, what)
    token = _allowance.set(allowance)
    try:
        yield allowance
    finally:
        _allowance.reset(token)


def take_allowed_call() -> None:
    """Count one call against the run's allowance, if it has one; CallLimitExceeded past it."""
    allowance = _allowance.get()
    if allowance is not None:
        allowance.take()
