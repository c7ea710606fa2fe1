"""A requests session that counts what it sends, and the waves of calls (round trips paid)."""

from __future__ import annotations

import threading
import time

import requests


class CountingSession(requests.Session):
    """A requests session that counts the HTTP calls in flight through it and times each."""

    def __init__(self) -> None:
        super().__init__()
        self._count_lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.spans: list[tuple[float, float]] = []

    def post(self, *args, **kwargs):
        with self._count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        start = time.perf_counter()
        try:
            return super().post(*args, **kwargs)
        finally:
            with self._count_lock:
                self.in_flight -= 1
                self.spans.append((start, time.perf_counter()))

    @property
    def waves(self) -> int:
        """The longest chain of calls each sent after the previous one answered: round trips paid."""
        return count_waves(self.spans)


def count_waves(spans: list[tuple[float, float]]) -> int:
    """The longest chain of (start, end) spans each starting after the previous one ended."""
    ordered = sorted(spans)
    depth: list[int] = []
    for i, (start, _) in enumerate(ordered):
        depth.append(1 + max((depth[j] for j in range(i) if ordered[j][1] <= start), default=0))
    return max(depth, default=0)
