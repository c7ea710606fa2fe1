import datetime as dt

import pytest

from xl_fastmoss.endpoints import FULLY_MANAGED, MOST_PROMOTED, TOP_SELLING
from xl_fastmoss.errors import InvalidArgument
from xl_fastmoss.query import RankingQuery, pages_for, validate_rows

TODAY = dt.date(2026, 11, 27)


def build(endpoint=MOST_PROMOTED, region="US", category_id=14, date_type="day", date_value="2026-04-01", **kw):
    return RankingQuery.build(endpoint, region, category_id, date_type, date_value, today=TODAY, **kw)


def test_the_vendor_example_query_becomes_the_documented_body():
    import json
    from pathlib import Path

    path = Path(__file__).parents[1] / "xl_fastmoss/data/most_promoted.request.example.json"
    example = json.loads(path.read_text())
    assert build().body(page=1, pagesize=10) == example


def test_empty_region_and_category_leave_the_filters_out():
    body = build(region="", category_id=None).body(1)
    assert body["filter"] == {"date_info": {"type": "day", "value": "2026-04-01"}}
    assert body["pagesize"] == 100


def test_cell_values_are_normalized_so_equal_queries_are_equal():
    assert build(region=" us ", category_id=14.0, shop_type="1") == build(region="US", category_id=14, shop_type=1)
    assert build(date_value=dt.datetime(2026, 4, 1)) == build()


@pytest.mark.parametrize("argument, value, allowed", [
    ("region", "XX", "one of US GB MX ES DE IT FR ID VN MY TH PH BR JP SG"),
    ("region", 1, "one of US"),
    ("category_id", 14.5, "positive whole number"),
    ("category_id", -3, "positive whole number"),
    ("category_id", "Beauty", "positive whole number"),
    ("category_id", True, "positive whole number"),
    ("category_id", float("nan"), "positive whole number"),
    ("shop_type", 3, "1 (brand shop) or 2 (retail shop)"),
    ("cross_border", 2, "0 (local) or 1 (cross-border)"),
])
def test_refusals_name_the_argument_the_value_and_what_is_allowed(argument, value, allowed):
    kwargs = {"region": "US", "category_id": 14}
    kwargs[argument] = value
    with pytest.raises(InvalidArgument) as caught:
        build(**kwargs)
    assert caught.value.argument == argument
    assert repr(value)[:20] in str(caught.value)
    assert allowed in str(caught.value)


def test_each_endpoint_has_its_own_rules():
    with pytest.raises(InvalidArgument, match="region: 'JP'.*US GB ES MX DE IT FR"):
        build(FULLY_MANAGED, region="JP")
    with pytest.raises(InvalidArgument, match="cross_border.*no cross-border filter"):
        build(FULLY_MANAGED, cross_border=1)
    with pytest.raises(InvalidArgument, match="sort: 'gmv'.*units_sold, usd_gmv"):
        build(TOP_SELLING, sort_by="gmv")
    body = build(TOP_SELLING, sort_by="USD_GMV").body(1)
    assert body["orderby"] == [{"field": "usd_gmv", "order": "desc"}]
    assert build(TOP_SELLING, sort_by="units_sold") == build(TOP_SELLING)
    assert build(FULLY_MANAGED).body(1)["orderby"][0]["field"] == "units_sold"


@pytest.mark.parametrize("rows, expected", [(None, 10), ("", 10), (1, 1), (500, 500), (14.0, 14), ("250", 250)])
def test_rows_accepts_whole_numbers_up_to_the_ranking_depth(rows, expected):
    assert validate_rows(rows) == expected


@pytest.mark.parametrize("rows", [0, 501, 14.5, -1, "many", True, 1e20])
def test_rows_outside_1_to_500_is_refused(rows):
    with pytest.raises(InvalidArgument, match="rows: .* is not allowed; a whole number 1..500"):
        validate_rows(rows)


@pytest.mark.parametrize("rows, pages", [(1, 1), (100, 1), (101, 2), (500, 5)])
def test_pages_of_100(rows, pages):
    assert pages_for(rows) == pages
