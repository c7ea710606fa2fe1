"""A shop's history against the fake server over HTTP: ranks as the fake ranks them, pages only as deep as needed."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
import time_machine

import xl_fastmoss
from xl_fastmoss import InvalidArgument
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.fake_server import data as world
from xl_fastmoss.shop_history import MAX_PERIODS, HistoryQuery, first_wave, history

#: A month of completed days, long before the machine's "today".
DAYS = [(dt.date(2026, 4, 10) + dt.timedelta(days=n)).isoformat() for n in range(30)]


def fake_ranking(date_value, date_type="day", region="US", category_id=14, endpoint="mostPromoted",
                 sort="affiliate_count", revision=0) -> list[str]:
    """The seller ids of the fake's whole ranking, in rank order."""
    query = world.Query(endpoint, date_type, date_value, region=region, category_id=category_id, revision=revision)
    return [str(row["shop_info"]["seller_id"]) for row in world.ranking(query, sort)]


def fake_rank(seller_id, date_value, depth=500, **query) -> int | None:
    ids = fake_ranking(date_value, **query)[:depth]
    return ids.index(seller_id) + 1 if seller_id in ids else None


def pages_asked(server) -> dict[str, list[int]]:
    """The pages the client asked for, by period."""
    asked: dict[str, list[int]] = {}
    for call in server.calls:
        asked.setdefault(call.body["filter"]["date_info"]["value"], []).append(call.body["page"])
    return {period: sorted(pages) for period, pages in asked.items()}


def a_shop(condition, periods=DAYS, **query) -> str:
    """A seller of the first period's ranking whose ranks over ``periods`` meet ``condition``."""
    rankings = [fake_ranking(p, **query) for p in periods]
    for candidate in rankings[0] + rankings[-1]:
        ranks = [r.index(candidate) + 1 if candidate in r else None for r in rankings]
        if condition(ranks):
            return candidate
    raise AssertionError("the fake world has no such shop")


# -- the history ----------------------------------------------------------------------------------


def test_a_shop_in_the_top_100_every_day_costs_one_call_a_day_and_nothing_again(fake_env):
    shop = a_shop(lambda ranks: all(r is not None and r <= 100 for r in ranks))
    frame = xl_fastmoss.history(shop, "US", 14, "day", DAYS[0], DAYS[-1])
    assert frame["date_value"].tolist() == DAYS
    assert frame["rank"].tolist() == [fake_rank(shop, day) for day in DAYS]
    assert frame["seller_id"].tolist() == [shop] * 30 and frame["note"].isna().all()
    assert fake_env.call_count == 30 and pages_asked(fake_env) == {day: [1] for day in DAYS}
    fake_env.reset_calls()
    again = xl_fastmoss.history(shop, "US", 14, "day", DAYS[0], DAYS[-1])
    pd.testing.assert_frame_equal(again, frame)
    assert fake_env.call_count == 0


def test_the_metrics_are_the_shops_own_row_of_each_ranking(client, server):
    shop = a_shop(lambda ranks: all(r is not None and r <= 100 for r in ranks), DAYS[:3])
    result = history(client, shop, "US", 14, "day", DAYS[0], DAYS[2])
    for (_, row), day in zip(result.frame.iterrows(), DAYS[:3], strict=True):
        ranking = client.most_promoted("US", 14, "day", day, rows=100).frame
        expected = ranking[ranking["seller_id"] == shop].iloc[0]
        for name in ("rank", "name", "affiliate_count", "units_sold", "usd_gmv", "gmv_inc_rate", "currency"):
            assert row[name] == expected[name] or (pd.isna(row[name]) and pd.isna(expected[name])), (day, name)
    assert result.frame.dtypes["rank"] == "Int64" and result.frame.dtypes["usd_gmv"] == "float64"
    assert result.frame.dtypes["date_value"] == "string" and result.found == 3


def test_a_shop_that_drops_out_has_a_blank_rank_that_says_so_never_0(client, server):
    shop = a_shop(lambda ranks: any(r is not None and r <= 100 for r in ranks)
                  and any(r is None or r > 100 for r in ranks))
    result = history(client, shop, "US", 14, "day", DAYS[0], DAYS[-1])
    expected = [fake_rank(shop, day, depth=100) for day in DAYS]
    ranks = result.frame["rank"].tolist()
    assert [None if pd.isna(r) else r for r in ranks] == expected
    assert all(r is pd.NA or r >= 1 for r in ranks)  # a blank, never 0
    out = [i for i, r in enumerate(expected) if r is None]
    assert out and all(result.frame["note"][i] == "not in the top 100" for i in out)
    assert all(pd.isna(result.frame["note"][i]) for i in range(30) if i not in out)
    assert all(pd.isna(result.frame["usd_gmv"][i]) for i in out)
    assert result.found == 30 - len(out)
    assert server.call_count == 30  # depth 100: one page a period, found or not


def test_a_shop_found_only_on_page_3_is_paged_to_page_3_and_no_further(client, server):
    periods = DAYS[:6]
    shop = a_shop(lambda ranks: any(r is not None and 200 < r <= 300 for r in ranks), periods)
    result = history(client, shop, "US", 14, "day", periods[0], periods[-1], depth=500)
    ranks = [fake_rank(shop, day) for day in periods]
    assert [None if pd.isna(r) else r for r in result.frame["rank"]] == ranks
    pages = [math.ceil(r / 100) if r else 5 for r in ranks]  # not in the top 500: all five pages
    expected = {day: list(range(1, count + 1)) for day, count in zip(periods, pages, strict=True)}
    assert pages_asked(server) == expected
    assert server.call_count == sum(len(pages) for pages in expected.values())


def test_depth_stops_the_paging_and_blanks_a_rank_beyond_it(client, server):
    shop = a_shop(lambda ranks: ranks[0] is not None and 150 < ranks[0] <= 200, DAYS[:1])
    deep = history(client, shop, "US", 14, "day", DAYS[0], DAYS[0], depth=200)
    assert deep.frame["rank"].tolist() == [fake_rank(shop, DAYS[0])]
    server.reset_calls()
    shallow = history(client, shop, "US", 14, "day", DAYS[0], DAYS[0], depth=150)
    assert pd.isna(shallow.frame["rank"][0]) and shallow.frame["note"][0] == "not in the top 150"
    assert server.call_count == 0  # pages 1 and 2 are cached: rank 150 and beyond is on page 2


def test_a_ranking_shorter_than_the_depth_ends_the_paging_and_says_how_long_it_is(client, server):
    result = history(client, "7000000000000000001", "US", 28, "day", DAYS[0], DAYS[1], depth=500)
    assert result.frame["note"].tolist() == ["not in this ranking (37 shops)"] * 2
    assert server.call_count == 2  # Pre-Owned has 37 shops: page 1 is the whole ranking


def test_iso_weeks_run_across_the_2026_53_year_boundary(fake_env):
    periods = ["2026-51", "2026-52", "2026-53", "2027-01", "2027-02"]
    with time_machine.travel(dt.datetime(2027, 1, 20, 4, 0, tzinfo=dt.timezone.utc), tick=True):
        shop = a_shop(lambda ranks: all(r is not None and r <= 100 for r in ranks), periods, date_type="week")
        frame = xl_fastmoss.history(shop, "US", 14, "week", "2026-51", "2027-02")
    assert frame["date_value"].tolist() == periods
    assert frame["rank"].tolist() == [fake_rank(shop, week, date_type="week") for week in periods]
    assert sorted(pages_asked(fake_env)) == sorted(periods)


def test_a_relative_start_counts_periods_back_from_the_end():
    with time_machine.travel(dt.datetime(2026, 5, 10, 4, 0, tzinfo=dt.timezone.utc)):
        query = HistoryQuery.build("7494006325298104216", "US", 14, "day", "-29", "latest")
        monthly = HistoryQuery.build("7494006325298104216", "US", 14, "month", -2, "latest")
    assert query.periods[0] == "2026-04-10" and query.periods[-1] == "2026-05-09" and len(query.periods) == 30
    assert monthly.periods == ("2026-02", "2026-03", "2026-04")


def test_the_first_wave_is_one_first_page_a_period_listed_without_a_call(server):
    query = HistoryQuery.build("7494006325298104216", "US", 14, "day", DAYS[0], DAYS[-1], depth=250)
    wave = first_wave(query)
    assert [request.query.date_value for request in wave] == DAYS
    assert {request.rows for request in wave} == {100}
    assert query.most_pages == 90
    assert server.call_count == 0


def test_top_selling_histories_sort_as_asked(client, server):
    shop = a_shop(lambda ranks: all(r is not None and r <= 100 for r in ranks), DAYS[:2],
                  endpoint="topSelling", sort="usd_gmv")
    result = history(client, shop, "US", 14, "day", DAYS[0], DAYS[1], ranking="top_selling", sort_by="usd_gmv")
    assert result.frame["rank"].tolist() == [fake_rank(shop, d, endpoint="topSelling", sort="usd_gmv")
                                             for d in DAYS[:2]]
    assert {call.body["orderby"][0]["field"] for call in server.calls} == {"usd_gmv"}
    assert "affiliate_count" not in result.frame.columns


# -- refused before any call ------------------------------------------------------------------------


@pytest.mark.parametrize("arguments, message", [
    (dict(depth=0), "depth: 0 is not allowed; a whole number 1..500"),
    (dict(depth=501), "depth: 501 is not allowed; a whole number 1..500"),
    (dict(depth="deep"), "depth: 'deep' is not allowed"),
    (dict(start="2026-01-01", end="2026-04-01"), "start: '2026-01-01' is not allowed; 2026-01-01 to 2026-04-01 "
                                                 "is 91 days; a range holds at most 90 days"),
    (dict(start="-90", end="2026-04-01"), "-90 asks for 91 days; a range holds at most 90 days"),
    (dict(start="2026-04-02", end="2026-04-01"), "the start (2026-04-02) must not be after the end (2026-04-01)"),
    (dict(start="2026-04-01", end="2099-01-01"), "end: '2099-01-01' is not allowed; that day is not completed yet"),
    (dict(ranking="trending"), "ranking: 'trending' is not allowed; one of most_promoted, top_selling, fully_managed"),
    (dict(sort_by="usd_gmv"), "sort: 'usd_gmv' is not allowed; one of affiliate_count"),
    (dict(region="XX"), "region: 'XX' is not allowed"),
])
def test_bad_arguments_are_refused_before_any_call(fake_env, arguments, message):
    given = dict(seller_id="7494006325298104216", region="US", category_id=14, date_type="day",
                 start="2026-03-20", end="2026-04-01") | arguments
    with pytest.raises(InvalidArgument) as refused:
        xl_fastmoss.history(given.pop("seller_id"), given.pop("region"), given.pop("category_id"),
                            given.pop("date_type"), given.pop("start"), given.pop("end"), **given)
    assert message in str(refused.value)
    assert fake_env.call_count == 0


def test_90_periods_is_the_most_a_history_holds():
    assert MAX_PERIODS == 90
    assert len(HistoryQuery.build("7494006325298104216", "US", 14, "day", "2026-01-02", "2026-04-01").periods) == 90


@pytest.mark.parametrize("seller_id, message", [
    (7.494006325298104e18, "seller_id: 7.494006325298104e+18 is not allowed; a number that lost digits: Excel keeps "
                           "15 significant digits"),
    ("7.49400632529810E+18", "text of a number that lost digits"),
    (7494006325298104216, "a number; a seller id is text"),
    ("", "seller_id: '' is not allowed; the shop's seller id as text"),
    ("LOOKFANTASTIC", "seller_id: 'LOOKFANTASTIC' is not allowed"),
    (True, "seller_id: True is not allowed"),
])
def test_a_seller_id_that_is_no_exact_text_is_refused_saying_why(fake_env, seller_id, message):
    with pytest.raises(InvalidArgument) as refused:
        xl_fastmoss.history(seller_id, "US", 14, "day", DAYS[0], DAYS[1])
    assert message in str(refused.value)
    assert fake_env.call_count == 0


def test_a_seller_id_typed_with_an_apostrophe_or_spaces_is_its_digits():
    assert HistoryQuery.build(" '7494006325298104216 ", "US", 14, "day", DAYS[0], DAYS[0]).seller_id == (
        "7494006325298104216")


# -- failures and refreshes --------------------------------------------------------------------------


def test_a_failed_period_fails_the_history_and_keeps_the_pages_already_paid_for(client, server):
    server.inject(Fault.API_CODE, code=30001)
    with pytest.raises(xl_fastmoss.PermissionDenied):
        history(client, "7494006325298104216", "US", 14, "day", DAYS[0], DAYS[4])
    server.reset_calls()
    history(client, "7494006325298104216", "US", 14, "day", DAYS[0], DAYS[4])
    assert server.call_count == 1  # the four periods that answered came from the cache


@pytest.mark.usefixtures("recent_periods")
def test_a_refresh_reads_each_ranking_of_one_version_after_the_data_moved_on(client, server):
    periods = DAYS[:4]
    shop = a_shop(lambda ranks: all(r is not None and 100 < r <= 200 for r in ranks), periods)
    history(client, shop, "US", 14, "day", periods[0], periods[-1], depth=300)
    server.revision = 1
    server.reset_calls()
    result = history(client, shop, "US", 14, "day", periods[0], periods[-1], depth=300, refresh=True)
    moved = [fake_rank(shop, day, revision=1) for day in periods]
    assert [None if pd.isna(r) else r for r in result.frame["rank"]] == moved
    # First pages afresh, and they changed: the cached page 2s predate the refresh, so those tables are
    # asked afresh, page 1 with them.
    deep = sum(1 for r in moved if r is None or r > 100)
    assert server.call_count == len(periods) + 2 * deep


@pytest.mark.usefixtures("recent_periods")
def test_a_refresh_of_unchanged_rankings_asks_only_the_first_pages_again(client, server):
    periods = DAYS[:4]
    shop = a_shop(lambda ranks: all(r is not None and 100 < r <= 300 for r in ranks), periods)
    before = history(client, shop, "US", 14, "day", periods[0], periods[-1], depth=300)
    server.reset_calls()
    again = history(client, shop, "US", 14, "day", periods[0], periods[-1], depth=300, refresh=True)
    pd.testing.assert_frame_equal(again.frame, before.frame)
    assert pages_asked(server) == {day: [1] for day in periods}  # the deeper pages came from the cache


def test_the_note_names_the_period_fastmoss_answered_when_it_is_another(client):
    result = history(client, "7494006325298104216", "US", 14, "day", "2026-04-01", "2026-04-01")
    assert result.frame["rank"].tolist() == [1]  # the vendor's example row
    assert result.frame["note"].tolist() == ["FastMoss answered day 2026-04-06"]
