"""One watchdog thread for the deadlines of every page body being read.

A body that drips in (a byte a second, each read well within the read timeout) is only stopped by
cutting its connection at the page's deadline, from another thread. A ``threading.Timer`` a page
did that at the price of starting a thread for each page, and ``Thread.start`` waits until the
new thread runs: behind page threads reading answers that took 0.3 ms, 5.5 ms at p90, on the
way to giving the call slot back. Here one daemon thread, started when first needed, sleeps until
the nearest deadline; a page registers its deadline and cancels it, without starting anything.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Deadline:
    """A registered deadline; :meth:`cancel` it once the body is read."""

    __slots__ = ("action",)

    def __init__(self, action: Callable[[], None]):
        self.action: Callable[[], None] | None = action

    def cancel(self) -> None:
        """The action will not run; what it holds (a response) is let go at once, not at the deadline."""
        self.action = None


class Watchdog:
    """Runs each registered action at its deadline, unless cancelled first, in its own thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._due: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, action: Callable[[], None]) -> Deadline:
        """Run ``action`` in ``seconds`` (at once when not above 0), unless the deadline is cancelled."""
        deadline = Deadline(action)
        with self._changed:
            heapq.heappush(self._due, (self._clock() + seconds, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # not started yet, or lost in a fork
                self._thread = threading.Thread(target=self._run, name="fastmoss-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is deadline:  # sooner than what the thread sleeps for
                self._changed.notify()
        return deadline

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._due and self._due[0][2].action is None:
                    heapq.heappop(self._due)
                if not self._due:
                    self._changed.wait()
                    continue
                when, _, deadline = self._due[0]
                left = when - self._clock()
                if left > 0:
                    self._changed.wait(left)
                    continue
                heapq.heappop(self._due)
                action, deadline.action = deadline.action, None
            if action is not None:
                action()


#: The process's watchdog of page deadlines.
WATCHDOG = Watchdog()
