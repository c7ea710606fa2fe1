"""How many calls may be in flight at once, adapting to the vendor's throttle.

Additive increase, multiplicative decrease: a throttling answer (30003, HTTP 429) halves the
number of calls allowed in flight and opens a short pause for every caller; each success
lets one more call through again, up to the configured maximum.

The limiter cannot be wedged: a pause is never longer than ``max_pause`` whatever it is asked
(a huge, negative or NaN pause is ``max_pause``), and a caller that fails or is interrupted
while waiting gives its turn up, so no slot stays taken and no later caller waits for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

#: The longest pause a throttling answer can impose on every caller, when not told otherwise.
DEFAULT_MAX_PAUSE = 30.0


class AdaptiveLimiter:
    def __init__(self, maximum: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_pause: float = DEFAULT_MAX_PAUSE):
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        if not (math.isfinite(max_pause) and max_pause >= 0):
            raise ValueError("max_pause must be a finite number of seconds >= 0")
        self.maximum = maximum
        self.max_pause = max_pause
        self._limit = float(maximum)
        self._in_flight = 0
        self._paused_until = 0.0
        # First come, first served: a query's later pages do not overtake other queries' first pages.
        self._tickets = 0
        self._serving = 0
        self._abandoned: set[int] = set()
        self._clock = clock
        self._sleep = sleep
        self._condition = threading.Condition()

    @property
    def limit(self) -> int:
        return max(1, int(self._limit))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def pause_left(self) -> float:
        """Seconds until new calls may go out again (0 when there is no pause)."""
        with self._condition:
            return max(0.0, self._paused_until - self._clock())

    @contextmanager
    def slot(self):
        """Hold one call slot for the duration of the block."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        """Wait for a slot; slots go out in the order they were asked for."""
        with self._condition:
            ticket = self._tickets
            self._tickets += 1
        try:
            while True:
                with self._condition:
                    while ticket != self._serving or self._in_flight >= self.limit:
                        self._condition.wait()
                    wait = min(self._paused_until - self._clock(), self.max_pause)
                    if wait <= 0:
                        self._in_flight += 1
                        self._next_turn()
                        return
                self._sleep(wait)  # first in line sleeps out the pause; the others wait their turn
        except BaseException:
            self._give_up(ticket)
            raise

    def release(self) -> None:
        with self._condition:
            self._in_flight = max(0, self._in_flight - 1)
            self._condition.notify_all()

    def on_success(self) -> None:
        with self._condition:
            if self._limit < self.maximum:
                self._limit = min(self.maximum, self._limit + 1 / self.limit)
                self._condition.notify_all()

    def on_throttled(self, pause: float) -> None:
        """The vendor said slow down: halve the calls in flight and hold new ones for ``pause`` s
        (at most ``max_pause``; a pause that is not a number of seconds >= 0 counts as ``max_pause``)."""
        if not (isinstance(pause, (int, float)) and math.isfinite(pause) and pause >= 0):
            pause = self.max_pause
        pause = min(float(pause), self.max_pause)
        with self._condition:
            self._limit = max(1.0, self._limit / 2)
            now = self._clock()
            self._paused_until = min(max(self._paused_until, now + pause), now + self.max_pause)

    def _next_turn(self) -> None:
        """Serve the next ticket, skipping those whose callers gave up; the condition is held."""
        self._serving += 1
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._condition.notify_all()

    def _give_up(self, ticket: int) -> None:
        with self._condition:
            if ticket == self._serving:
                self._next_turn()
            elif ticket > self._serving:
                self._abandoned.add(ticket)
                self._condition.notify_all()
