"""How many calls may be in flight at once, adapting to the vendor's throttle.

A throttled page waits and asks again on its own (:mod:`.transport`: a short backoff, or the
``Retry-After`` it was told, capped); the limiter sets the pace of all the others. Additive
increase, multiplicative decrease, once per window, as TCP cuts once per round trip:

- each call belongs to the window open when it got its slot, and each cut opens a new one;
- a throttle that persists (a page throttled again on its retry) from a call of the current
  window halves the calls allowed in flight. Throttles of calls that were already in flight
  when the limit was cut tell nothing new and cut nothing;
- a page's first throttle alone changes nothing for the others: it costs that page one more
  call, and a vendor that throttles the first ask of each page would otherwise bring every
  refresh down to one call at a time, for nothing;
- at one call in flight, a persisting throttle pauses every caller instead: for the pause asked
  (``Retry-After`` or the retry backoff), doubled for each pause since the last success, so
  a vendor that throttles everything soon sees its retries ``max_pause`` seconds apart;
- each success lets 1/limit more call through (one more per window of successes), up to the
  configured maximum, and ends the doubling.

The limiter cannot be wedged: a pause is never longer than ``max_pause`` whatever it is asked
(a huge, negative or NaN pause is ``max_pause``), and a caller that fails or is interrupted
while waiting gives its turn up, so no slot stays taken and no later caller waits for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: The longest pause a throttling answer can impose on every caller, when not told otherwise.
DEFAULT_MAX_PAUSE = 30.0
#: Pauses stop doubling after this many in a row (2**20 times any pause is past any cap).
_MOST_DOUBLINGS = 20


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
        self._window = 0
        self._pauses_in_a_row = 0
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
    def window(self) -> int:
        """The window calls now getting a slot belong to; each cut of the limit opens the next."""
        return self._window

    @property
    def pause_left(self) -> float:
        """Seconds until new calls may go out again (0 when there is no pause)."""
        with self._condition:
            return max(0.0, self._paused_until - self._clock())

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one call slot for the duration of the block; it gives the slot's window."""
        window = self.acquire()
        try:
            yield window
        finally:
            self.release()

    def acquire(self) -> int:
        """Wait for a slot; slots go out in the order they were asked for. Gives the slot's window."""
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
                        return self._window
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
            self._pauses_in_a_row = 0
            if self._limit < self.maximum:
                self._limit = min(self.maximum, self._limit + 1 / self.limit)
                self._condition.notify_all()

    def on_throttled(self, pause: float, *, window: int | None = None, repeated: bool = True) -> None:
        """The vendor throttled a call of ``window`` (None: the current one); ``repeated`` when
        that call's page had been throttled before.

        A repeated throttle of the current window halves the calls in flight, or at one call in
        flight holds new calls for ``pause`` s, doubled for each such pause since the last
        success (at most ``max_pause``; a pause that is not a number of seconds >= 0 counts as
        ``max_pause``). Anything else changes nothing: see the module docstring.
        """
        if not (isinstance(pause, (int, float)) and math.isfinite(pause) and pause >= 0):
            pause = self.max_pause
        with self._condition:
            if not repeated or (window is not None and window != self._window):
                return
            self._window += 1
            if self.limit > 1:
                self._limit = max(1.0, self._limit / 2)
                return
            self._limit = 1.0
            pause = min(float(pause) * 2.0 ** self._pauses_in_a_row, self.max_pause)
            self._pauses_in_a_row = min(self._pauses_in_a_row + 1, _MOST_DOUBLINGS)
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
