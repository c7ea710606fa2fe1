"""Page locks shared by the processes of one cache folder: one call for a page asked at once.

Asks of one process for the same page are merged already (``FastMossClient._piece_future``);
two processes on one cache folder (Excel and a scheduled ``xl-fastmoss refresh``, two Excel
instances) asking for it at the same moment would each pay. The transport holds a page's lock
while it calls for the page and reads the cache again once it holds it, so a process that
waited reads what the other stored.

The locks are filelock's native locks (``flock`` on Unix, ``LockFileEx`` on Windows), which
the operating system frees when their holder dies. They are files of a ``locks`` folder in the
cache folder, one for each of STRIPES stripes of the page keys, made when first needed: at most
STRIPES files, whatever the cache holds, and none removed while another process may open it.
Two pages of one stripe take turns: a short wait, never a call more.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import redact

if TYPE_CHECKING:  # imported when a page is first locked: the import costs a fresh process 10 ms
    import filelock

LOCK_FOLDER = "locks"
#: Lock files at most; two pages in flight share one with a chance of about 1 in STRIPES.
STRIPES = 1024
#: Seconds between two tries of a lock another process holds.
POLL_INTERVAL = 0.01

log = redact.logger(__name__)


class PageLocks:
    """The page locks of one cache folder."""

    def __init__(self, cache_folder: Path):
        self.folder = cache_folder / LOCK_FOLDER
        self._ready = False
        self._broken: str | None = None
        self._lock = threading.Lock()
        #: filelock's lock object of each stripe used so far, made once: making one costs more
        #: than taking it. Each thread holds a stripe through its own descriptor (filelock's
        #: locks are thread-local), so threads of this process take turns on a stripe too.
        self._stripe_locks: dict[int, filelock.FileLock] = {}

    @contextlib.contextmanager
    def hold(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the lock of page ``key`` for the block, waiting at most ``wait`` seconds for
        another holder (0: one try). Yields whether it is held: False when it was not freed in
        time. When the lock folder cannot be used nothing is locked, and True is yielded."""
        import filelock

        lock = self._stripe_lock(key)
        if lock is None:
            yield True
            return
        try:
            lock.acquire(timeout=max(0.0, wait), poll_interval=POLL_INTERVAL)
        except filelock.Timeout:
            yield False
            return
        except OSError as error:
            self._give_up(error)
            yield True
            return
        try:
            yield True
        finally:
            lock.release()

    def _stripe_lock(self, key: str) -> filelock.FileLock | None:
        """The lock of the stripe of page ``key``; None when the lock folder cannot be used."""
        import filelock

        if not self._ready and self._broken is None:
            try:
                self.folder.mkdir(exist_ok=True)
                self._ready = True
            except OSError as error:
                self._give_up(error)
        if self._broken is not None:
            return None
        stripe = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % STRIPES
        with self._lock:
            lock = self._stripe_locks.get(stripe)
            if lock is None:
                lock = self._stripe_locks[stripe] = filelock.FileLock(str(self.folder / f"page-{stripe:04d}.lock"))
        return lock

    def _give_up(self, error: OSError) -> None:
        with self._lock:
            first, self._broken = self._broken is None, error.strerror or type(error).__name__
        if first:
            log.warning("page locks in %s cannot be used (%s): processes asking for one page at the "
                        "same moment may each call for it", self.folder, self._broken)
