"""Which pages a table of ``rows`` rows is asked as: the page-size policy, FASTMOSS_PAGE_ROWS.

The API pages by ``(page, pagesize)``: page ``p`` of size ``s`` holds the ranks
``(p - 1) * s + 1 .. p * s``, with ``s`` at most 100 and ``p * s`` at most 500. So a piece of
size ``s`` can start only at a rank ``r`` where ``s`` divides ``r - 1``.

- ``full`` (the default, the choice when the vendor meters calls): every page is 100 rows, the
  table's ``ceil(rows / 100)`` pages; tables of 10 and 100 rows of one query share one call.
- ``exact`` (the choice when the vendor meters rows): a table asks only the rows it lacks. The
  pieces already stored that can be read without a call are used where they fit; each gap
  between them is asked in the fewest pieces that cover it exactly (no row asked twice, none
  past the gap): after ranks 1..10, ranks 11..25 are page 2 of size 10, then page 5 of size 5.
  A cache index lists the pieces stored per query (``ResponseCache.pieces``).

Pure functions: the client fetches what they plan, and the estimate counts the same plan.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from .endpoints import MAX_ROWS, PAGE_SIZE

FULL, EXACT = "full", "exact"


@dataclass(frozen=True, order=True)
class Piece:
    """One page as the API pages: ``page`` of ``size`` rows, the ranks ``first .. last``."""

    page: int
    size: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return self.page * self.size

    @classmethod
    def starting_at(cls, rank: int, size: int) -> Piece:
        assert (rank - 1) % size == 0, f"a piece of {size} rows cannot start at rank {rank}"
        return cls((rank - 1) // size + 1, size)


def full_pieces(rows: int) -> list[Piece]:
    """The ``full`` policy: pages of 100 rows covering ranks 1..rows."""
    return [Piece(page, PAGE_SIZE) for page in range(1, -(-rows // PAGE_SIZE) + 1)]


def plan_pieces(rows: int, policy: str, held: Iterable[Piece] = ()) -> list[Piece]:
    """The pieces, in rank order, that make ranks 1..rows: under ``exact`` the ``held`` ones
    (readable without a call) where they fit, the gaps in the fewest exact pieces; under
    ``full`` always the pages of 100 (``held`` plays no part: those pages are cached or not)."""
    if policy == FULL:
        return full_pieces(rows)
    held = sorted(set(held), key=lambda p: (p.first, -p.last))
    chosen: list[Piece] = []
    rank = 1
    while rank <= rows:
        covering = [p for p in held if p.first <= rank <= p.last]
        if covering:
            best = max(covering, key=lambda p: (p.last, -p.size))
            chosen.append(best)
            rank = best.last + 1
            continue
        next_start = min((p.first for p in held if rank < p.first <= rows), default=rows + 1)
        chosen.extend(exact_cover(rank, next_start - 1))
        rank = next_start
    return chosen


def exact_cover(first: int, last: int) -> list[Piece]:
    """The fewest pieces covering exactly the ranks ``first .. last`` (no rank outside them)."""
    if first > last:
        return []
    return [Piece.starting_at(start, size) for start, size in _cover(first, last)]


@functools.lru_cache(maxsize=1024)
def _cover(first: int, last: int) -> tuple[tuple[int, int], ...]:
    # Shortest path over start ranks: from rank r a piece of size s (s divides r - 1, at most
    # 100, and not past ``last``) leads to r + s. Ties go to the larger first piece.
    best: dict[int, tuple[int, tuple[tuple[int, int], ...]]] = {last + 1: (0, ())}
    for rank in range(last, first - 1, -1):
        options = []
        for size in range(min(PAGE_SIZE, last - rank + 1), 0, -1):
            if (rank - 1) % size == 0 and rank + size - 1 <= MAX_ROWS:
                count, rest = best[rank + size]
                options.append((count + 1, -size, ((rank, size), *rest)))
        count, _, pieces = min(options)
        best[rank] = (count, pieces)
    return best[first][1]


def within(pieces: list[Piece], total: int | None, first_answer_rows: int) -> list[Piece]:
    """The pieces worth asking once the first is answered: none past the ranking's ``total``;
    when it gives no total, none after a first piece that came back short."""
    if total is not None:
        return [p for p in pieces if p.first <= max(total, 1)]
    if first_answer_rows < pieces[0].size:
        return pieces[:1]
    return pieces


def query_id(path: str, body: dict) -> str:
    """A short stable name of what a body asks without its paging: the pieces of one query share it."""
    asked = {"path": path, "filter": body.get("filter"), "orderby": body.get("orderby")}
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
