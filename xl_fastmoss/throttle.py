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

Slots go out first come, first served, except that a page asked again (after a throttle or
any retryable failure) goes before the pages not asked yet: its deadline is running, and
behind a long refresh it would run out waiting. A caller gets its place in line once it is near
the front (:meth:`AdaptiveLimiter.turn`), so that what it does before calling overlaps the
calls ahead of it instead of keeping a slot idle.

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
#: Seconds a caller giving its slot back to a waiting caller lets the interpreter go (see release).
HAND_OFF = 0.0002


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
        # A page asked again goes first: its time is already counting (the transport's deadline).
        self._first_asks = _Line()
        self._asked_again = _Line()
        self._clock = clock
        self._sleep = sleep
        #: Guards the state; each waiting caller waits on its own condition of this lock, and a
        #: change wakes only the callers it may let go (see _wake), not every waiting thread.
        self._lock = threading.Lock()

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
        with self._lock:
            return max(0.0, self._paused_until - self._clock())

    @contextmanager
    def slot(self, *, again: bool = False) -> Iterator[int]:
        """Hold one call slot for the duration of the block; it gives the slot's window.
        ``again``: for a page asked again, which goes before the pages not asked yet."""
        window = self.acquire(again=again)
        try:
            yield window
        finally:
            self.release()

    def acquire(self, *, again: bool = False) -> int:
        """Wait for a slot; slots go out in the order they were asked for, those asked ``again``
        first. Gives the slot's window."""
        return self.turn(again=again).go()

    def turn(self, *, again: bool = False) -> Turn:
        """A place in line for a slot, given once it is near the front: among the next ``limit``
        callers of its line. What a call needs before it goes out (its page lock, a last look at
        the cache) is done then, while the calls ahead of it are in flight; :meth:`Turn.go` then
        waits for the slot itself, and :meth:`Turn.leave` gives the place up."""
        turn = Turn(self, self._asked_again if again else self._first_asks)
        try:
            with self._lock:
                while not turn.line.near_front(turn.ticket, self.limit):
                    turn.wait()
        except BaseException:
            turn.leave()
            raise
        return turn

    def _go(self, turn: Turn) -> int:
        line, ticket = turn.line, turn.ticket
        while True:
            with self._lock:
                while not self._may_go(line, ticket):
                    turn.wait()
                wait = min(self._paused_until - self._clock(), self.max_pause)
                if wait <= 0:
                    self._in_flight += 1
                    line.next_turn()
                    self._wake()
                    return self._window
            self._sleep(wait)  # first in line sleeps out the pause; the others wait their turn

    def _leave(self, turn: Turn) -> None:
        with self._lock:
            turn.line.give_up(turn.ticket)
            self._wake()

    def _wake(self) -> int:
        """Wake the callers whose wait the change just made (the lock held) may have ended: only
        callers near the front of a line wait for anything but their place, and a caller further
        back waits for a place until the line moves up to it. Gives how many were woken."""
        return sum(line.wake_front(self.limit) for line in (self._asked_again, self._first_asks))

    def _may_go(self, line: _Line, ticket: int) -> bool:
        """Whether ``ticket`` of ``line`` is served next and a slot is free; the lock is held."""
        if ticket != line.serving or self._in_flight >= self.limit:
            return False
        return line is self._asked_again or not self._asked_again.waiting

    def release(self) -> None:
        """Give a slot back. When a caller was waiting for one, this thread lets the interpreter
        go for a moment: the woken caller needs it to send its call, and would otherwise wait
        for the switch interval (5 ms) while this thread reads its answer, which can wait."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            woken = self._wake()
        if woken:
            time.sleep(HAND_OFF)

    def on_success(self) -> None:
        with self._lock:
            self._pauses_in_a_row = 0
            if self._limit < self.maximum:
                self._limit = min(self.maximum, self._limit + 1 / self.limit)
                self._wake()

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
        with self._lock:
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


class Turn:
    """One caller's place in a limiter's line (see :meth:`AdaptiveLimiter.turn`)."""

    def __init__(self, limiter: AdaptiveLimiter, line: _Line):
        self._limiter = limiter
        self.line = line
        self._wakeup = threading.Condition(limiter._lock)
        with limiter._lock:
            self.ticket = line.take()
        self._done = False

    def wait(self) -> None:
        """Wait to be woken (the limiter's lock held, and released meanwhile)."""
        self.line.waiters[self.ticket] = self._wakeup
        try:
            self._wakeup.wait()
        finally:
            del self.line.waiters[self.ticket]

    def go(self) -> int:
        """Wait for the slot (in turn, after any pause); gives its window. The caller releases it."""
        try:
            window = self._limiter._go(self)
        except BaseException:
            self.leave()
            raise
        self._done = True
        return window

    def leave(self) -> None:
        """Give the place up, unless it went: the callers behind it move up."""
        if not self._done:
            self._done = True
            self._limiter._leave(self)


class _Line:
    """One first-come-first-served line of callers, by ticket; its limiter's lock guards it."""

    def __init__(self) -> None:
        self.tickets = 0
        self.serving = 0
        self._abandoned: set[int] = set()
        #: The condition each waiting caller waits on, by ticket.
        self.waiters: dict[int, threading.Condition] = {}

    @property
    def waiting(self) -> bool:
        return self.serving < self.tickets

    def take(self) -> int:
        self.tickets += 1
        return self.tickets - 1

    def near_front(self, ticket: int, places: int) -> bool:
        """Whether ``ticket`` is among the next ``places`` served (places given up still count)."""
        return ticket - self.serving < places

    def wake_front(self, places: int) -> int:
        """Wake the waiting callers among the next ``places`` served; gives how many."""
        woken = 0
        for ticket in range(self.serving, self.serving + places):
            waiter = self.waiters.get(ticket)
            if waiter is not None:
                waiter.notify()
                woken += 1
        return woken

    def next_turn(self) -> None:
        """Serve the next ticket, skipping those whose callers gave up."""
        self.serving += 1
        while self.serving in self._abandoned:
            self._abandoned.discard(self.serving)
            self.serving += 1

    def give_up(self, ticket: int) -> None:
        if ticket == self.serving:
            self.next_turn()
        elif ticket > self.serving:
            self._abandoned.add(ticket)
