"""Rankings compared with an earlier one, against the fake server's own rankings over HTTP."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import xl_fastmoss
from xl_fastmoss import InvalidArgument
from xl_fastmoss.columns import COMPARE_FIELDS
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.fake_server import data as world
from xl_fastmoss.movers import compare_rankings, comparison_requests
from xl_fastmoss.query import RankingQuery, TableRequest

DAY, BEFORE = "2026-05-12", "2026-05-11"


def fake_ids(date_value, date_type="day", endpoint="mostPromoted", sort="affiliate_count", **filters) -> list[str]:
    query = world.Query(endpoint, date_type, date_value, **({"region": "US", "category_id": 14} | filters))
    return [str(row["shop_info"]["seller_id"]) for row in world.ranking(query, sort)]


def expected_movement(now: list[str], before: list[str], rows: int) -> list[tuple]:
    """(previous_rank, rank_change, new) of each of the top ``rows`` shops, compared to the same depth."""
    earlier = {seller: rank for rank, seller in enumerate(before[:rows], start=1)}
    movement = []
    for rank, seller in enumerate(now[:rows], start=1):
        previous = earlier.get(seller)
        movement.append((previous, None if previous is None else previous - rank, previous is None))
    return movement


def movement(frame: pd.DataFrame) -> list[tuple]:
    def value(v):
        return None if pd.isna(v) else v

    return [(value(p), value(c), value(n))
            for p, c, n in zip(frame["previous_rank"], frame["rank_change"], frame["new"], strict=True)]


def test_compare_previous_gives_the_fakes_own_rank_changes_and_new_shops(fake_env):
    frame = xl_fastmoss.most_promoted("US", 14, "day", DAY, rows=100, compare="previous")
    expected = expected_movement(fake_ids(DAY), fake_ids(BEFORE), 100)
    assert movement(frame) == expected
    assert any(new for _, _, new in expected) and any(change and change > 0 for _, change, _ in expected)
    assert any(change and change < 0 for _, change, _ in expected)
    assert list(frame.columns[:4]) == ["rank", *COMPARE_FIELDS]
    assert frame.attrs["compared_with"] == f"day {BEFORE}"
    assert {c: str(frame.dtypes[c]) for c in COMPARE_FIELDS} == {
        "previous_rank": "Int64", "rank_change": "Int64", "new": "boolean"}
    assert fake_env.call_count == 2
    days = sorted(call.body["filter"]["date_info"]["value"] for call in fake_env.calls)
    assert days == [BEFORE, DAY]


def test_ranks_stay_exact_across_pages_on_both_sides(fake_env):
    frame = xl_fastmoss.top_selling("US", 14, "day", DAY, rows=250, compare="previous", sort_by="usd_gmv")
    now = fake_ids(DAY, endpoint="topSelling", sort="usd_gmv")
    before = fake_ids(BEFORE, endpoint="topSelling", sort="usd_gmv")
    assert frame["seller_id"].tolist() == now[:250]
    assert movement(frame) == expected_movement(now, before, 250)
    assert max(p for p in frame["previous_rank"].dropna()) > 200  # ranks read from page 3 of the earlier day
    assert fake_env.call_count == 6


def test_a_shop_beyond_the_earlier_depth_is_new_to_the_table(fake_env):
    """Compared to the same depth: a shop 30th yesterday and 8th today is new to a top 10."""
    frame = xl_fastmoss.most_promoted("US", 14, "day", DAY, rows=10, compare="previous")
    now, before = fake_ids(DAY), fake_ids(BEFORE)
    assert movement(frame) == expected_movement(now, before, 10)
    climbers = [s for s in now[:10] if s not in before[:10] and s in before]
    assert all(frame.loc[frame["seller_id"] == s, "new"].item() for s in climbers)


def test_compare_with_an_earlier_period_of_the_same_type(fake_env):
    frame = xl_fastmoss.most_promoted("US", 14, "week", "2026-20", rows=50, compare="2026-17")
    now, before = fake_ids("2026-20", "week"), fake_ids("2026-17", "week")
    assert movement(frame) == expected_movement(now, before, 50)
    assert frame.attrs["compared_with"] == "week 2026-17"


def test_comparing_again_costs_nothing(fake_env):
    xl_fastmoss.most_promoted("US", 14, "day", DAY, rows=100, compare="previous")
    fake_env.reset_calls()
    xl_fastmoss.most_promoted("US", 14, "day", DAY, rows=100, compare="previous")
    xl_fastmoss.most_promoted("US", 14, "day", BEFORE, rows=100)  # the earlier ranking is a table of its own
    assert fake_env.call_count == 0


def test_an_earlier_period_without_data_leaves_the_movement_blank_and_says_so(client, server):
    server.inject(Fault.EMPTY_LIST)
    earlier = client.most_promoted("US", 14, "day", BEFORE, rows=10)
    assert earlier.empty
    result = compare_rankings(client.most_promoted("US", 14, "day", DAY, rows=10), earlier)
    assert len(result.frame) == 10
    assert result.frame["previous_rank"].isna().all() and result.frame["new"].isna().all()
    assert result.warnings[-1] == f"the earlier ranking (day {BEFORE}) has no data yet: nothing to compare with"


def test_the_comparison_tables_are_listed_without_a_call(server):
    request = TableRequest(RankingQuery.build("most_promoted", "US", 14, "day", DAY), 150)
    shown, earlier = comparison_requests(request, "previous")
    assert shown == request and earlier.rows == 150 and earlier.query.date_value == BEFORE
    assert server.call_count == 0


@pytest.mark.parametrize("date_type, date_value, previous", [
    ("week", "2027-01", "2026-53"), ("week", "2026-01", "2025-52"), ("month", "2026-01", "2025-12"),
    ("day", "2026-03-01", "2026-02-28"),
])
def test_the_previous_period_crosses_year_boundaries(date_type, date_value, previous):
    today = dt.date(2027, 3, 1)
    request = TableRequest(RankingQuery.build("most_promoted", "US", 14, date_type, date_value, today=today), 10)
    assert comparison_requests(request, "PREVIOUS", today)[1].query.date_value == previous


@pytest.mark.parametrize("compare, message", [
    ("2026-05-12", "compare: '2026-05-12' is not allowed; day 2026-05-12 is not before 2026-05-12"),
    ("2026-06-01", "compare: '2026-06-01' is not allowed; day 2026-06-01 is not before"),
    ("2019-12-31", "rankings start in 2020"),
    ("yesterday", "compare: 'yesterday' is not allowed; use YYYY-MM-DD"),
    ("", "compare: '' is not allowed; use \"previous\""),
    (True, "compare: True is not allowed"),
])
def test_a_bad_compare_is_refused_before_any_call(fake_env, compare, message):
    with pytest.raises(InvalidArgument) as refused:
        xl_fastmoss.most_promoted("US", 14, "day", DAY, compare=compare)
    assert message in str(refused.value)
    assert fake_env.call_count == 0


def test_the_first_ranking_has_no_previous_one():
    request = TableRequest(RankingQuery.build("most_promoted", "US", 14, "month", "2020-01"), 10)
    with pytest.raises(InvalidArgument, match="month 2020-01 is the first one with rankings"):
        comparison_requests(request, "previous")
