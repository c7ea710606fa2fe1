"""The fake server's world holds together over time, as seen over HTTP.

Shops come back day after day, their numbers drift without jumping, ranks move, shops enter and
leave, weeks and months are the sums of their days, growth rates are true changes, and there
are no runs of ties. Tools that compare periods (a shop's history, rank movers) are tested
against this world, so these tests hold it to the rules in ``fake_server/data.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from xl_fastmoss.fake_server import FAKE_API_KEY

MOST_PROMOTED = "/shop/v1/rank/mostPromoted"
TOP_SELLING = "/shop/v1/rank/topSelling"
FULLY_MANAGED = "/shop/v1/rank/fullyManaged"
SORT_FIELD = {MOST_PROMOTED: "affiliate_count", TOP_SELLING: "units_sold",
              FULLY_MANAGED: "units_sold"}
#: The vendor's "today" for these tests: every period they ask for is published.
TODAY = dt.date(2027, 3, 1)
PACKAGE = Path(__file__).resolve().parent.parent / "xl_fastmoss"


@pytest.fixture
def world(server):
    server.today = TODAY
    yield server
    server.today = None


def answer(server, path, date_type, value, filters=None, **body) -> dict:
    body = {"filter": {**(filters or {}), "date_info": {"type": date_type, "value": value}},
            **body}
    response = requests.post(server.base_url + path, json=body, timeout=10,
                             headers={"Authorization": f"Bearer {FAKE_API_KEY}"})
    payload = response.json()
    assert response.status_code == 200 and payload["code"] == 0, payload
    return payload["data"]


def ranking(server, path, date_type, value, filters=None, sort_field=None) -> list[dict]:
    """The whole ranking, page by page (100 rows a page)."""
    orderby = {"orderby": [{"field": sort_field, "order": "desc"}]} if sort_field else {}
    rows, page = [], 1
    while True:
        data = answer(server, path, date_type, value, filters, page=page, pagesize=100, **orderby)
        rows += data["list"]
        if page * 100 >= min(data["total"], 500):
            return rows
        page += 1


def day(value: str, offset: int) -> str:
    return (dt.date.fromisoformat(value) + dt.timedelta(days=offset)).isoformat()


def seller(row: dict) -> int:
    return row["shop_info"]["seller_id"]


def by_seller(rows: list[dict]) -> dict[int, dict]:
    return {seller(row): row for row in rows}


def rate(row: dict, field: str) -> float | None:
    """A growth rate as a number of percent, None for its odd spellings."""
    text = row.get(field)
    return float(text[:-1]) if text not in (None, "", "-") else None


POPULATIONS = [
    (MOST_PROMOTED, {"region": "US", "category_id": 14}, "2026-04-02"),
    (TOP_SELLING, {}, "2026-06-10"),
    (TOP_SELLING, {"region": "SG", "shop_type": 2}, "2026-12-31"),
    (FULLY_MANAGED, {"region": "FR"}, "2026-11-30"),
    (MOST_PROMOTED, {"shop_type": 1, "is_cross_border": 1}, "2026-02-28"),
]


# -- persistence and movement ----------------------------------------------------------------


@pytest.mark.parametrize("path, filters, first", POPULATIONS)
def test_consecutive_days_share_most_of_their_top_50(world, path, filters, first):
    today = ranking(world, path, "day", first, filters)
    tomorrow = ranking(world, path, "day", day(first, 1), filters)
    top_today, top_tomorrow = {seller(r) for r in today[:50]}, {seller(r) for r in tomorrow[:50]}
    assert len(top_today & top_tomorrow) >= 38
    kept = {seller(r) for r in today[:20]} & {seller(r) for r in tomorrow}
    assert len(kept) >= 19  # a top-20 shop is in the next day's ranking


@pytest.mark.parametrize("path, filters, first", POPULATIONS)
def test_ranks_move_and_day_over_day_units_drift_within_a_band(world, path, filters, first):
    today = ranking(world, path, "day", first, filters)
    tomorrow = by_seller(ranking(world, path, "day", day(first, 1), filters))
    rank_tomorrow = {seller(row): rank for rank, row in enumerate(tomorrow.values())}
    both = [row for row in today[:50] if seller(row) in tomorrow]
    moved = [row for rank, row in enumerate(today[:50])
             if seller(row) in tomorrow and rank_tomorrow[seller(row)] != rank]
    assert len(moved) >= 10
    ratios = [tomorrow[seller(row)]["units_sold"] / row["units_sold"] for row in both]
    assert all(0.4 <= ratio <= 2.5 for ratio in ratios), sorted(ratios)
    assert 0.8 <= statistics.median(ratios) <= 1.25
    assert sum(ratio == 1 for ratio in ratios) <= len(ratios) // 10  # correlated, not equal


def test_over_a_week_shops_enter_and_leave_the_ranking_and_its_top_50(world):
    days = [ranking(world, TOP_SELLING, "day", day("2026-05-04", i), {"region": "GB"})
            for i in range(8)]
    entries = exits = top_entries = top_exits = 0
    for before, after in itertools.pairwise(days):
        old, new = {seller(r) for r in before}, {seller(r) for r in after}
        old_top, new_top = {seller(r) for r in before[:50]}, {seller(r) for r in after[:50]}
        entries, exits = entries + len(new - old), exits + len(old - new)
        top_entries, top_exits = top_entries + len(new_top - old_top), top_exits + len(old_top - new_top)
    assert entries == exits >= 7 and top_entries == top_exits >= 7  # at least one a day
    assert entries <= 7 * 50 and top_entries <= 7 * 15  # but never a new population


def test_over_months_the_top_changes_but_the_population_stays(world):
    january = ranking(world, MOST_PROMOTED, "day", "2026-01-05", {"region": "MX"})
    december = ranking(world, MOST_PROMOTED, "day", "2026-12-05", {"region": "MX"})
    top_overlap = {seller(r) for r in january[:20]} & {seller(r) for r in december[:20]}
    assert 3 <= len(top_overlap) <= 18
    assert len({seller(r) for r in january} & {seller(r) for r in december}) >= 400


# -- periods are sums of days ----------------------------------------------------------------


def assert_sum_of_days(period_rows: list[dict], days: list[list[dict]], counted: list[str]):
    """Every shop ranked on each day has the period's numbers as the sums of its days'."""
    day_rows = [by_seller(rows) for rows in days]
    checked = exact = 0
    for row in period_rows:
        parts = [rows.get(seller(row)) for rows in day_rows]
        if None in parts:
            continue
        checked += 1
        assert row["usd_gmv"] == round(sum(part["usd_gmv"] for part in parts), 2)
        differences = [row[field] - sum(part[field] for part in parts) for field in counted]
        # Evening out runs of ties can take a unit off a day or a period (data.py, Ties).
        assert all(abs(difference) <= 2 for difference in differences), differences
        exact += not any(differences)
    return checked, exact


@pytest.mark.parametrize("path, filters, week, monday", [
    (TOP_SELLING, {"region": "US"}, "2026-10", "2026-03-02"),
    (MOST_PROMOTED, {}, "2026-53", "2026-12-28"),
    (MOST_PROMOTED, {"region": "VN", "category_id": 14}, "2027-01", "2027-01-04"),
])
def test_an_iso_week_is_the_sum_of_its_days(world, path, filters, week, monday):
    week_rows = ranking(world, path, "week", week, filters)
    days = [ranking(world, path, "day", day(monday, i), filters) for i in range(7)]
    counted = ["units_sold"] + (["affiliate_count"] if path == MOST_PROMOTED else [])
    checked, exact = assert_sum_of_days(week_rows, days, counted)
    assert checked >= 400 and exact >= 0.95 * checked


def test_a_month_is_the_sum_of_its_days(world):
    filters = {"region": "DE", "category_id": 28}  # 37 rows: one page a day
    month_rows = ranking(world, MOST_PROMOTED, "month", "2026-02", filters)
    days = [ranking(world, MOST_PROMOTED, "day", day("2026-02-01", i), filters) for i in range(28)]
    checked, exact = assert_sum_of_days(month_rows, days, ["units_sold", "affiliate_count"])
    assert checked >= 20 and exact >= 0.9 * checked


@pytest.mark.parametrize("week, first_day", [
    ("2026-52", "2026-12-21"), ("2026-53", "2026-12-28"), ("2027-01", "2027-01-04"),
])
def test_weeks_around_new_year_are_answered_as_iso_weeks(world, week, first_day):
    data = answer(world, TOP_SELLING, "week", week, {"region": "JP"}, pagesize=100)
    assert (data["date_type"], data["date_value"], data["total"]) == ("week", week, 500)
    week_units = {seller(row): row["units_sold"] for row in data["list"]}
    seven_days = [by_seller(ranking(world, TOP_SELLING, "day", day(first_day, i), {"region": "JP"}))
                  for i in range(7)]
    leader = next(iter(week_units))
    assert abs(week_units[leader] - sum(d[leader]["units_sold"] for d in seven_days)) <= 2


# -- growth rates ----------------------------------------------------------------------------


@pytest.mark.parametrize("date_type, value, previous", [
    ("day", "2026-03-01", "2026-02-28"),
    ("week", "2027-01", "2026-53"),
    ("week", "2026-53", "2026-52"),
    ("month", "2026-03", "2026-02"),
    ("month", "2027-01", "2026-12"),
])
def test_growth_rates_are_the_change_against_the_previous_period(world, date_type, value, previous):
    now = ranking(world, TOP_SELLING, date_type, value, {"region": "BR"})
    before = by_seller(ranking(world, TOP_SELLING, date_type, previous, {"region": "BR"}))
    compared = 0
    for row in now:
        earlier = before.get(seller(row))
        if earlier is None:
            continue
        gmv_rate, units_rate = rate(row, "gmv_inc_rate"), rate(row, "units_sold_inc_rate")
        if gmv_rate is not None:
            compared += 1
            assert gmv_rate == pytest.approx(100 * (row["usd_gmv"] / earlier["usd_gmv"] - 1),
                                             abs=0.006)
        if units_rate is not None:
            # The rate is from the shop's own numbers; evening out ties may move either by 1.
            slack = 100 * 2 / min(row["units_sold"], earlier["units_sold"]) + 0.006
            expected = 100 * (row["units_sold"] / earlier["units_sold"] - 1)
            assert units_rate == pytest.approx(expected, abs=slack)
    assert compared >= 300
    rates = [rate(row, "gmv_inc_rate") for row in now]
    assert sum(r is not None and r < 0 for r in rates) >= 20  # shops decline too


def test_growth_rates_keep_their_odd_spellings(world):
    rows = ranking(world, MOST_PROMOTED, "day", "2026-09-09", {"region": "TH"})
    for field in ("units_sold_inc_rate", "gmv_inc_rate"):
        spellings = [row.get(field, "absent") for row in rows]
        for odd in ("absent", None, "", "-"):
            assert spellings.count(odd) >= 5, (field, odd)


# -- ties ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, date_type, value, filters, sort_field", [
    (MOST_PROMOTED, "day", "2026-04-02", {"region": "US", "category_id": 14}, None),
    (MOST_PROMOTED, "day", "2026-08-21", {"region": "IT", "category_id": 5, "shop_type": 1}, None),
    (MOST_PROMOTED, "day", "2025-09-08", {"region": "SG", "shop_type": 1, "is_cross_border": 1}, None),
    (MOST_PROMOTED, "month", "2026-06", {"category_id": 28}, None),
    (TOP_SELLING, "day", "2026-01-01", {}, None),
    (TOP_SELLING, "week", "2026-53", {"region": "PH"}, "usd_gmv"),
    (FULLY_MANAGED, "day", "2026-07-14", {"region": "IT", "shop_type": 2}, None),
    (FULLY_MANAGED, "month", "2026-12", {"region": "ES"}, "usd_gmv"),
])
def test_the_first_100_sort_values_are_essentially_distinct(world, path, date_type, value,
                                                            filters, sort_field):
    field = sort_field or SORT_FIELD[path]
    rows = ranking(world, path, date_type, value, filters, sort_field)[:100]
    values = [row[field] for row in rows]
    assert all(not (a == b == c) for a, b, c in zip(values, values[1:], values[2:], strict=False))
    assert len(set(values)) >= 0.85 * len(values)
    for above, below in itertools.pairwise(rows):  # what ties remain are ordered by seller_id
        assert (above[field], seller(above)) > (below[field], seller(below))


def test_the_vendors_example_ranking_has_pairs_but_never_three_in_a_row(world):
    rows = ranking(world, MOST_PROMOTED, "day", "2026-04-01", {"region": "US", "category_id": 14})
    values = [row["affiliate_count"] for row in rows[:100]]
    assert values[0] == 55 and values[1] <= 54  # the vendor's row, then the others below it
    assert all(not (a == b == c) for a, b, c in zip(values, values[1:], values[2:], strict=False))
    assert values == sorted(values, reverse=True)


# -- revision, sort fields, determinism --------------------------------------------------------


@pytest.mark.parametrize("path, date_type, value, filters", [
    (MOST_PROMOTED, "day", "2026-04-02", {"region": "US"}),
    (TOP_SELLING, "week", "2026-53", {}),
    (FULLY_MANAGED, "month", "2026-05", {"region": "DE"}),
    (TOP_SELLING, "day", "2026-10-10", {"category_id": 28}),
])
def test_a_new_revision_moves_every_number_a_little_and_keeps_the_shops(world, path, date_type,
                                                                       value, filters):
    field = SORT_FIELD[path]
    before = ranking(world, path, date_type, value, filters)
    world.revision = 1
    after = by_seller(ranking(world, path, date_type, value, filters))
    world.revision = 0
    both = [row for row in before if seller(row) in after]
    assert len(both) >= 0.9 * len(before)
    changed = [row for row in both if after[seller(row)][field] != row[field]]
    assert len(changed) >= 0.8 * len(both)
    assert all(0.5 <= after[seller(row)]["usd_gmv"] / row["usd_gmv"] <= 2 for row in both)
    assert ranking(world, path, date_type, value, filters) == before


def test_the_sort_field_never_changes_a_shops_numbers(world):
    by_units = ranking(world, TOP_SELLING, "month", "2026-09", {"region": "GB"})
    by_gmv = ranking(world, TOP_SELLING, "month", "2026-09", {"region": "GB"}, "usd_gmv")
    assert by_units != by_gmv
    assert by_seller(by_units) == by_seller(by_gmv)


def test_the_world_is_the_same_in_another_process(world):
    code = ("import json; from xl_fastmoss.fake_server import data; "
            "q = data.Query('mostPromoted', 'week', '2026-53', region='ID', revision=2); "
            "print(json.dumps(data.ranking(q, 'affiliate_count')[:100], ensure_ascii=True))")
    env = {**os.environ, "PYTHONHASHSEED": "99"}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=PACKAGE.parent, check=True).stdout
    world.revision = 2
    here = answer(world, MOST_PROMOTED, "week", "2026-53", {"region": "ID"}, pagesize=100)
    world.revision = 0
    assert json.loads(output) == here["list"]
