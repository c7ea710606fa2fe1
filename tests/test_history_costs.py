"""What histories and comparisons cost, counted against the fake server: the figures of the README."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.fake_server import FAKE_API_KEY
from xl_fastmoss.fake_server import data as world
from xl_fastmoss.headless import refresh_workbook
from xl_fastmoss.movers import compared_ranking
from xl_fastmoss.shop_history import history

#: The README's window: the 30 days to 2026-05-09, US, category 14, most promoted.
DAYS = [(dt.date(2026, 4, 10) + dt.timedelta(days=n)).isoformat() for n in range(30)]
ABSENT = "7000000000000000001"


def ranks_of(seller: str) -> list[int | None]:
    ranks = []
    for day in DAYS:
        query = world.Query("mostPromoted", "day", day, region="US", category_id=14)
        ids = [str(row["shop_info"]["seller_id"]) for row in world.ranking(query, "affiliate_count")]
        ranks.append(ids.index(seller) + 1 if seller in ids else None)
    return ranks


def first_shop(condition) -> str:
    query = world.Query("mostPromoted", "day", DAYS[0], region="US", category_id=14)
    for row in world.ranking(query, "affiliate_count"):
        seller = str(row["shop_info"]["seller_id"])
        if condition(ranks_of(seller)):
            return seller
    raise AssertionError("no such shop in the fake world")


#: The README's figures are for recent periods, which a refresh asks again: a settle window of
#: ten years makes the window's fixed dates recent (see xl_fastmoss.retention).
RECENT = 3650


def costs(server, tmp_path, seller: str, depth: int, settle_days: float = RECENT) -> tuple[int, int, int]:
    """(cold, warm, refresh with the cache warm) calls of the 30-day history."""
    settings = Settings(api_key=FAKE_API_KEY, base_url=server.base_url, cache_dir=tmp_path / "cache",
                        settle_days=settle_days)
    counted = []
    for refresh in (False, False, True):
        server.reset_calls()
        with FastMossClient(settings) as client:  # a new client each time: warm is the cache file
            history(client, seller, "US", 14, "day", DAYS[0], DAYS[-1], depth=depth, refresh=refresh)
        counted.append(server.call_count)
    return tuple(counted)


def test_a_shop_in_the_top_100_every_day(server, tmp_path):
    shop = first_shop(lambda ranks: all(r is not None and r <= 100 for r in ranks))
    assert costs(server, tmp_path, shop, 100) == (30, 0, 30)


def test_a_refresh_of_settled_periods_costs_nothing(server, tmp_path):
    shop = first_shop(lambda ranks: all(r is not None and r <= 100 for r in ranks))
    assert costs(server, tmp_path, shop, 100, settle_days=3) == (30, 0, 0)


def test_a_shop_ranked_119_to_248(server, tmp_path):
    shop = first_shop(lambda ranks: all(r is not None and 100 < r <= 300 for r in ranks))
    ranks = ranks_of(shop)
    assert (min(ranks), max(ranks)) == (119, 248)
    assert sum(math.ceil(r / 100) for r in ranks) == 71  # one call a page, down to the shop's
    assert costs(server, tmp_path, shop, 300) == (71, 0, 30)


@pytest.mark.parametrize("depth, cold", [(100, 30), (500, 150)])
def test_a_shop_in_none_of_the_rankings(server, tmp_path, depth, cold):
    assert ranks_of(ABSENT) == [None] * 30
    assert costs(server, tmp_path, ABSENT, depth) == (cold, 0, 30)


@pytest.mark.parametrize("rows, calls", [(10, 2), (100, 2), (250, 6)])
def test_a_comparison_costs_its_two_tables(server, tmp_path, rows, calls):
    settings = Settings(api_key=FAKE_API_KEY, base_url=server.base_url, cache_dir=tmp_path / "cache")
    for expected in (calls, 0):
        server.reset_calls()
        with FastMossClient(settings) as client:
            compared_ranking(client, "most_promoted", "US", 14, "day", DAYS[-1], compare="previous", rows=rows)
        assert server.call_count == expected


def test_the_trends_sheet_costs_its_history_s_30_first_pages(server, tmp_path):
    """The template refreshed with and without its Trends sheet: the difference is Trends' cost."""
    import time_machine
    from openpyxl import load_workbook

    from xl_fastmoss.demo import TEMPLATES_DIR

    template = TEMPLATES_DIR / "FastMossDashboard.xlsm"
    without = tmp_path / "without-trends.xlsm"
    book = load_workbook(template, keep_vba=True)
    del book["Trends"]
    book.save(without)
    calls = {}
    with time_machine.travel(dt.datetime(2026, 5, 10, 2, 0, tzinfo=dt.timezone.utc), tick=True):
        for name, path in (("without", without), ("with", template)):
            settings = Settings(api_key=FAKE_API_KEY, base_url=server.base_url, cache_dir=tmp_path / name)
            with FastMossClient(settings) as client:
                report = refresh_workbook(path, tmp_path / f"{name}-values.xlsx", client)
            assert report.ok, report.lines()
            calls[name] = report.calls
    assert calls["with"] - calls["without"] == 30 - 1  # Daily's table already reads the last day's first page
