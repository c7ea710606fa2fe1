"""Tables fetched in waves: work that needs rankings asks for them a wave at a time.

A plain table needs one wave; a comparison one wave of two tables; a shop's history a first
wave of every period's first page, then deeper pages only for the periods where the shop is
not found yet. :func:`run_jobs` gathers each wave's requests of every job and asks them of the
client at once (``FastMossClient.fetch_many``: each distinct page once, all under the
concurrency bound), so a workbook's tables, comparisons and histories share their calls.

A job says, per request, whether to skip the cache (``refresh``); the requests that skip it are
asked first, so that a job reading the same page through the cache in the same wave gets the
page just fetched (a history reads its first pages so, see :mod:`.shop_history`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from .client import FastMossClient, ProgressCallback
from .errors import FastMossError
from .query import TableRequest
from .result import RankingResult

#: A request and whether to skip the cache for it.
Ask = tuple[TableRequest, bool]
Fetched = Mapping[Ask, RankingResult | FastMossError]
Outcome_co = TypeVar("Outcome_co", covariant=True)


class Job(Protocol[Outcome_co]):
    """Work that needs tables: what to ask next, and what to do with the answers.

    ``outcome`` is None until the job is done, then its table or the error that stopped it.
    """

    @property
    def outcome(self) -> Outcome_co | FastMossError | None: ...

    def wave(self) -> list[Ask]:
        """The requests to ask now; empty once the job is done."""
        ...

    def take(self, fetched: Fetched) -> None:
        """The answers of the wave just asked (every request :meth:`wave` returned is in it)."""
        ...


def run_jobs(client: FastMossClient, jobs: Sequence[Job[object]], *, progress: ProgressCallback | None = None) -> None:
    """Run ``jobs`` to their end, each wave's requests of all jobs asked together."""
    counter = _WaveProgress(progress)
    while True:
        waves = [(job, job.wave()) for job in jobs]
        asks = list(dict.fromkeys(ask for _, wave in waves for ask in wave))
        if not asks:
            return
        fetched: dict[Ask, RankingResult | FastMossError] = {}
        for refresh in (True, False):
            requests = [request for request, fresh in asks if fresh is refresh]
            if requests:
                answers = client.fetch_many(requests, refresh=refresh, progress=counter.callback())
                fetched.update({(request, refresh): answer for request, answer in answers.items()})
                counter.next_call()
        for job, wave in waves:
            if wave:
                job.take(fetched)


class TableJob:
    """One table, one wave."""

    def __init__(self, request: TableRequest, refresh: bool = False):
        self.request, self.refresh = request, refresh
        self.outcome: RankingResult | FastMossError | None = None

    def wave(self) -> list[Ask]:
        return [] if self.outcome is not None else [(self.request, self.refresh)]

    def take(self, fetched: Fetched) -> None:
        self.outcome = fetched[(self.request, self.refresh)]


class _WaveProgress:
    """The client's progress of one ``fetch_many`` call, carried on across calls and waves."""

    def __init__(self, callback: ProgressCallback | None):
        self._callback = callback
        self._done = self._total = 0
        self._last = (0, 0)

    def callback(self) -> Callable[[int, int], None] | None:
        if self._callback is None:
            return None
        self._last = (0, 0)

        def report(done: int, total: int) -> None:
            self._last = (done, total)
            self._callback(self._done + done, self._total + total)  # type: ignore[misc]

        return report

    def next_call(self) -> None:
        done, total = self._last
        self._done += done
        self._total += max(done, total)
