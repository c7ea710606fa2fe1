"""Top selling and fully managed: the same client, options, errors and refresh as most promoted."""

import pytest

import xl_fastmoss
from xl_fastmoss import InvalidArgument
from xl_fastmoss.columns import columns_for
from xl_fastmoss.endpoints import ENDPOINTS

DAY = "2026-04-01"


def test_top_selling_sorts_by_units_sold_or_usd_gmv(fake_env):
    by_units = xl_fastmoss.top_selling("US", 14, "day", DAY, rows=150)
    by_gmv = xl_fastmoss.top_selling("US", 14, "day", DAY, sort_by="usd_gmv", rows=150)
    assert by_units["units_sold"].is_monotonic_decreasing
    assert by_gmv["usd_gmv"].is_monotonic_decreasing
    assert "affiliate_count" not in by_units.columns
    assert [c.body["orderby"][0]["field"] for c in fake_env.calls] == ["units_sold"] * 2 + ["usd_gmv"] * 2
    assert all(c.path == "/shop/v1/rank/topSelling" for c in fake_env.calls)


def test_fully_managed_follows_its_own_regions_and_filters(fake_env):
    frame = xl_fastmoss.fully_managed("DE", 14, "week", "2026-14", sort_by="usd_gmv", rows=20)
    assert len(frame) == 20 and set(frame["region"]) == {"DE"}
    assert fake_env.calls[-1].path == "/shop/v1/rank/fullyManaged"
    assert "is_cross_border" not in fake_env.calls[-1].body["filter"]
    with pytest.raises(InvalidArgument, match="region: 'JP' is not allowed; one of US GB ES MX DE IT FR"):
        xl_fastmoss.fully_managed("JP", 14, "day", DAY)
    with pytest.raises(TypeError):
        xl_fastmoss.fully_managed("US", 14, "day", DAY, cross_border=1)
    assert fake_env.call_count == 1


def test_the_excel_functions_take_a_sort_option(fake_env):
    import xl_fastmoss.udfs as udfs

    table = udfs.FM_TOPSELLING("GB", 14, "month", "2026-03", "sort", "usd_gmv", "rows", 5)
    assert table[0][:4] == ["Rank", "Shop", "Seller ID", "Region"] and "New creators" not in table[0]
    gmv = [row[table[0].index("GMV (USD)")] for row in table[1:]]
    assert gmv == sorted(gmv, reverse=True)
    [[refused]] = udfs.FM_FULLYMANAGED("US", 14, "day", DAY, "cross_border", 1)
    assert refused.startswith("FastMoss: option: 'cross_border' is not allowed")
    managed = udfs.FM_FULLYMANAGED("FR", "", "day", DAY, "fields", "rank,name,units_sold")
    assert managed[0] == ["Rank", "Shop", "Units sold"] and len(managed) == 11


def test_the_three_rankings_come_from_one_endpoint_table():
    assert set(ENDPOINTS) == {"most_promoted", "top_selling", "fully_managed"}
    assert columns_for(ENDPOINTS["top_selling"]) == columns_for(ENDPOINTS["fully_managed"])
