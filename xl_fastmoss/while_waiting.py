"""Work a process does while its first call waits for the answer, in one background thread.

A fresh process's first call goes out before requests-cache and the page reader are imported
(whether a page is stored is asked of the cache file directly, see :mod:`.cache_keys`): they are
needed only once the answer is back, hundreds of milliseconds later. :meth:`WhileWaiting.after_send`
queues such work for one daemon thread, which begins ``SEND_FIRST`` after it starts, so that the
call queued just before it is sent goes out first: the thread would otherwise take the GIL while
the request is being sent.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable

#: Seconds the thread waits before its first work: a call takes a millisecond or two to be sent,
#: and its answer is hundreds away.
SEND_FIRST = 0.005


class WhileWaiting:
    """Runs queued work one after the other in a daemon thread, started when work is queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: collections.deque[Callable[[], object]] = collections.deque()
        self._thread: threading.Thread | None = None

    def after_send(self, work: Callable[[], object]) -> None:
        """Run ``work`` in the background, after the work queued before it."""
        with self._lock:
            self._work.append(work)
            if self._thread is None or not self._thread.is_alive():  # none running, or lost in a fork
                self._thread = threading.Thread(target=self._run, name="fastmoss-while-waiting", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        time.sleep(SEND_FIRST)
        while True:
            with self._lock:
                if not self._work:
                    self._thread = None
                    return
                work = self._work.popleft()
            with contextlib.suppress(Exception):  # it fails again, and is told, where its result is needed
                work()


#: The process's background work while calls are on the wire.
WHILE_WAITING = WhileWaiting()
