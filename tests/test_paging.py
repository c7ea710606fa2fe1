"""The page-size policy: `full` asks pages of 100, `exact` asks only the rows a table lacks."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.errors import ConfigurationError
from xl_fastmoss.paging import EXACT, FULL, Piece, exact_cover, plan_pieces

DAY = "2026-04-01"


def asked(server):
    return [(c.page, c.pagesize) for c in server.calls]


def exact_client(**overrides):
    return FastMossClient(Settings.load(page_rows="exact", retry_backoff=0.01, **overrides))


# -- the plan, without a server -----------------------------------------------------------------------

def test_the_example_of_the_issue_rows_11_to_25_after_1_to_10_are_page_2_of_10_then_page_5_of_5():
    assert exact_cover(11, 25) == [Piece(2, 10), Piece(5, 5)]
    assert plan_pieces(25, EXACT, held=[Piece(1, 10)]) == [Piece(1, 10), Piece(2, 10), Piece(5, 5)]


def test_full_always_plans_pages_of_100_whatever_is_held():
    assert plan_pieces(250, FULL, held=[Piece(1, 10)]) == [Piece(1, 100), Piece(2, 100), Piece(3, 100)]


def test_exact_plans_a_new_table_in_the_fewest_exact_pieces():
    assert plan_pieces(10, EXACT) == [Piece(1, 10)]
    assert plan_pieces(250, EXACT) == [Piece(1, 100), Piece(2, 100), Piece(5, 50)]
    assert plan_pieces(500, EXACT) == [Piece(p, 100) for p in range(1, 6)]


def test_exact_uses_held_pieces_where_they_fit_and_fills_only_the_gaps():
    held = [Piece(1, 10), Piece(3, 10)]  # ranks 1-10 and 21-30
    assert plan_pieces(40, EXACT, held) == [Piece(1, 10), Piece(2, 10), Piece(3, 10), Piece(4, 10)]
    assert plan_pieces(5, EXACT, [Piece(1, 100)]) == [Piece(1, 100)]  # a larger held piece serves a smaller table


def brute_force_fewest(first, last):
    """The fewest exact pieces by trying every count: the reference the planner must meet."""
    for count in itertools.count(1):
        frontier = {first}
        for _ in range(count):
            frontier = {r + s for r in frontier for s in range(1, 101) if (r - 1) % s == 0 and r + s - 1 <= last}
        if last + 1 in frontier:
            return count


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 480), st.integers(0, 60))
def test_an_exact_cover_covers_exactly_the_gap_in_the_fewest_legal_pieces(first, length):
    last = min(500, first + length)
    pieces = exact_cover(first, last)
    ranks = [rank for p in pieces for rank in range(p.first, p.last + 1)]
    assert ranks == list(range(first, last + 1))  # every rank once, none outside the gap
    assert all(1 <= p.size <= 100 and p.page * p.size <= 500 for p in pieces)
    assert len(pieces) == brute_force_fewest(first, last)


def test_an_unknown_policy_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv("FASTMOSS_PAGE_ROWS", "half")
    with pytest.raises(ConfigurationError, match="FASTMOSS_PAGE_ROWS must be full or exact, got 'half'"):
        Settings.load()


# -- against the fake server ----------------------------------------------------------------------------

def test_exact_asks_a_10_row_table_with_pagesize_10(fake_env):
    with exact_client() as client:
        result = client.most_promoted("US", 14, "day", DAY)
    assert asked(fake_env) == [(1, 10)]
    assert list(result.frame["rank"]) == list(range(1, 11))


def test_exact_then_asks_a_larger_table_only_for_the_rows_it_lacks_even_in_another_process(fake_env, tmp_path):
    with exact_client() as client:
        client.most_promoted("US", 14, "day", DAY, rows=10)
    fake_env.reset_calls()
    with exact_client() as another_process:  # the pieces are found through the cache's index
        result = another_process.most_promoted("US", 14, "day", DAY, rows=25)
    assert sorted(asked(fake_env)) == [(2, 10), (5, 5)]  # asked together, in either order
    with FastMossClient(Settings.load(cache_dir=tmp_path / "independent")) as full:
        expected = full.most_promoted("US", 14, "day", DAY, rows=25).frame
    assert result.frame.equals(expected)  # the same shops at the same ranks as one page of 100


def test_exact_keeps_ranks_exact_across_pieces_of_several_sizes(fake_env):
    with exact_client() as client:
        for rows in (10, 25, 40, 130, 250):
            result = client.most_promoted("GB", 14, "day", DAY, rows=rows)
            assert list(result.frame["rank"]) == list(range(1, rows + 1)), rows
    # Each rank was asked once: the later tables asked only what the earlier ones lacked.
    ranks = [rank for page, size in asked(fake_env) for rank in range((page - 1) * size + 1, page * size + 1)]
    assert sorted(ranks) == list(range(1, 251))


def test_exact_never_asks_past_the_end_of_a_short_ranking(fake_env):
    with exact_client() as client:
        result = client.most_promoted("US", 28, "day", DAY, rows=10)  # Pre-Owned: 37 shops
        result = client.most_promoted("US", 28, "day", DAY, rows=500)
    assert list(result.frame["rank"]) == list(range(1, 38))
    pieces = sorted((Piece(page, size) for page, size in asked(fake_env)), key=lambda p: p.first)
    assert pieces[0] == Piece(1, 10) and all(p.first <= 37 for p in pieces)  # the first answer told the length
    ranks = sorted(rank for p in pieces for rank in range(p.first, p.last + 1))
    assert ranks == list(range(1, pieces[-1].last + 1)) and pieces[-1].last >= 37  # each rank asked once


def test_full_keeps_one_page_of_100_for_tables_of_10_and_100_rows(fake_env):
    with FastMossClient(Settings.load()) as client:
        client.most_promoted("US", 14, "day", DAY, rows=10)
        client.most_promoted("US", 14, "day", DAY, rows=100)
    assert asked(fake_env) == [(1, 100)]
