"""The refresh plan over every kind of FM_ table: rankings, compared rankings and histories share their pages."""

import pandas as pd

from xl_fastmoss.fake_server import data as world
from xl_fastmoss.sheets.cells import FmCell
from xl_fastmoss.sheets.plan import fetch_plan, plan_refresh

DAY, BEFORE, TWO_BEFORE = "2026-05-12", "2026-05-11", "2026-05-10"


def top_ids(date_value):
    query = world.Query("mostPromoted", "day", date_value, region="US", category_id=14)
    return [str(row["shop_info"]["seller_id"]) for row in world.ranking(query, "affiliate_count")]


def steady_shop():
    days = [top_ids(d)[:100] for d in (TWO_BEFORE, BEFORE, DAY)]
    return next(s for s in days[0] if all(s in d for d in days))


def cells(shop):
    return [
        FmCell("Daily", "A1", "FM_MOSTPROMOTED", ("US", 14, "day", DAY, "rows", 100)),
        FmCell("Movers", "A1", "FM_MOSTPROMOTED", ("US", 14, "day", DAY, "compare", "previous", "rows", 100)),
        FmCell("Trends", "A1", "FM_HISTORY", (shop, "US", 14, "day", TWO_BEFORE, DAY)),
        FmCell("Trends", "Z1", "FM_HISTORY", ("7.5E+18", "US", 14, "day", TWO_BEFORE, DAY)),
    ]


def test_the_plan_lists_each_tables_first_wave_without_a_call(server):
    plan = plan_refresh(cells(steady_shop()))
    assert [t.address for t in plan.tables] == ["Daily!A1", "Movers!A1", "Trends!A1"]
    assert plan.problems == [
        "Trends!Z1: FastMoss: seller_id: '7.5E+18' is not allowed; text of a number that lost digits (Excel keeps "
        "15 significant digits); give the shop's seller id as text, e.g. \"7494006325298104216\" (in a cell: format "
        "it as Text before typing, or type ' first)"]
    assert sorted(r.query.date_value for r in plan.requests) == [TWO_BEFORE, BEFORE, DAY]
    assert [t.largest_area() for t in plan.tables] == [(1, 1, 101, 13), (1, 1, 101, 16), (1, 1, 4, 12)]
    assert server.call_count == 0


def test_rankings_comparisons_and_histories_of_a_workbook_share_their_pages(client, server):
    shop = steady_shop()
    outcomes = fetch_plan(plan_refresh(cells(shop)[:3]), client)
    assert server.call_count == 3  # the three days' first pages, each asked once
    daily, movers, trends = (o.rows for o in outcomes)
    assert daily[0][0] == "Rank" and len(daily) == 101
    assert movers[0][:5] == ["Rank", "Previous rank", "Rank change", "New", "Shop"]
    assert trends[0] == ["Period", "Rank", "New creators", "Total creators", "Products sold", "Units sold",
                         "GMV (local)", "Currency", "GMV (USD)", "Units growth", "GMV growth", "Note"]
    assert [row[:2] for row in trends[1:]] == [[d, top_ids(d).index(shop) + 1] for d in (TWO_BEFORE, BEFORE, DAY)]
    assert all(isinstance(row[3], bool) for row in movers[1:] if row[3] is not None)


def test_a_history_needing_deeper_pages_takes_further_waves_of_its_own(client, server):
    deep = next(s for s in top_ids(DAY)[200:300] if s not in top_ids(BEFORE)[:100])
    plan = plan_refresh([FmCell("Trends", "A1", "FM_HISTORY", (deep, "US", 14, "day", BEFORE, DAY, "depth", 300))])
    (outcome,) = fetch_plan(plan, client)
    assert outcome.result.frame["rank"].tolist()[-1] == top_ids(DAY).index(deep) + 1
    assert not pd.isna(outcome.result.frame["rank"][1])
    asked = sorted((c.body["filter"]["date_info"]["value"], c.body["page"]) for c in server.calls)
    before_rank = top_ids(BEFORE).index(deep) + 1 if deep in top_ids(BEFORE)[:300] else None
    expected_before = list(range(1, (before_rank - 1) // 100 + 2)) if before_rank else [1, 2, 3]
    assert asked == sorted([(BEFORE, p) for p in expected_before] + [(DAY, 1), (DAY, 2), (DAY, 3)])
