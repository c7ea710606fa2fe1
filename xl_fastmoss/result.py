"""A ranking as a table with what the API said about it: the result every fetch returns."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from .errors import FastMossError
from .query import RankingQuery


@dataclass
class RankingResult:
    """A ranking table and what the API said about it.

    ``date_type``/``date_value`` are the period the API says it answered, which may differ
    from the one asked; ``total`` is the ranking's length; ``fetched_at`` (UTC) is when the
    first page was fetched from the API (not from a cache).
    """

    frame: pd.DataFrame
    query: RankingQuery
    rows_asked: int
    total: int | None
    date_type: str | None
    date_value: str | None
    fetched_at: dt.datetime
    request_ids: tuple[str, ...] = ()
    from_cache: bool = False
    stale: bool = False
    stale_reason: str | None = None
    warnings: tuple[str, ...] = ()
    #: The error behind ``stale_reason``: what a caller that wanted fresh data raises.
    stale_error: FastMossError | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.frame.attrs.update(
            date_type=self.date_type, date_value=self.date_value, total=self.total,
            fetched_at=self.fetched_at.isoformat(), stale=self.stale,
        )

    @property
    def empty(self) -> bool:
        return self.frame.empty

    def covers(self, rows: int) -> bool:
        """Whether this table answers a request for ``rows`` rows (all of them, or the whole ranking)."""
        return self.rows_asked >= rows or len(self.frame) < self.rows_asked

    def first(self, rows: int) -> RankingResult:
        """The same result cut to its first ``rows`` rows, on a frame of its own: one whose changes
        never reach this one, nor the pages it shares its data with (:func:`.parse.frame_of`); under
        Copy-on-Write pandas copies that data only when the new frame is written."""
        cut = self.frame.iloc[:rows] if rows < len(self.frame) else self.frame
        return dataclasses.replace(self, frame=cut.copy(deep=not _copy_on_write()), rows_asked=rows)


_PANDAS_3 = int(pd.__version__.split(".", 1)[0]) >= 3


def _copy_on_write() -> bool:
    """Whether pandas copies shared data before writing it: always from pandas 3, an option in 2.2."""
    return _PANDAS_3 or pd.get_option("mode.copy_on_write") is True
