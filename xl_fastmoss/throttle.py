"""How many calls may be in flight at once, adapting to the vendor's throttle.

Additive increase, multiplicative decrease: a throttling answer (30003, HTTP 429) halves the
number of calls allowed in flight and opens a short pause for every caller; each success
lets one more call through again, up to the configured maximum.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager


class AdaptiveLimiter:
    def __init__(self, maximum: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self._limit = float(maximum)
        self._in_flight = 0
        self._paused_until = 0.0
        # First come, first served: a query's later pages do not overtake other queries' first pages.
        self._tickets = 0
        self._serving = 0
        self._clock = clock
        self._sleep = sleep
        self._condition = threading.Condition()

    @property
    def limit(self) -> int:
        return max(1, int(self._limit))

    @property
    def in_flight(self) -> int:
        return self._in_flight

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
        while True:
            with self._condition:
                while ticket != self._serving or self._in_flight >= self.limit:
                    self._condition.wait()
                wait = self._paused_until - self._clock()
                if wait <= 0:
                    self._in_flight += 1
                    self._serving += 1
                    self._condition.notify_all()
                    return
            self._sleep(wait)  # first in line sleeps out the pause; the others wait their turn

    def release(self) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()

    def on_success(self) -> None:
        with self._condition:
            if self._limit < self.maximum:
                self._limit = min(self.maximum, self._limit + 1 / self.limit)
                self._condition.notify_all()

    def on_throttled(self, pause: float) -> None:
        """The vendor said slow down: halve the calls in flight and hold new ones for ``pause`` s."""
        with self._condition:
            self._limit = max(1.0, self._limit / 2)
            self._paused_until = max(self._paused_until, self._clock() + pause)
