"""The fake FastMoss server keeps the API contract a client is written against.

Every test talks to it over HTTP with plain ``requests``, as a client would.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from xl_fastmoss.fake_server import (
    CATEGORIES,
    FAKE_API_KEY,
    CallRecord,
    FakeFastMoss,
    Fault,
    serve,  # noqa: F401  (part of the public surface)
)

MOST_PROMOTED = "/shop/v1/rank/mostPromoted"
TOP_SELLING = "/shop/v1/rank/topSelling"
FULLY_MANAGED = "/shop/v1/rank/fullyManaged"
ENDPOINTS = (MOST_PROMOTED, TOP_SELLING, FULLY_MANAGED)

#: The session server's "today" in Shanghai: a Wednesday, in ISO week 2026-16.
TODAY = dt.date(2026, 4, 15)
PACKAGE = Path(__file__).resolve().parent.parent / "xl_fastmoss"
EXAMPLE_RESPONSE = json.loads((PACKAGE / "data" / "most_promoted.response.example.json").read_text("utf-8"))
EXAMPLE_REQUEST = json.loads((PACKAGE / "data" / "most_promoted.request.example.json").read_text("utf-8"))
PUBLISHED_DAY = {"type": "day", "value": "2026-04-01"}


@pytest.fixture(scope="session")
def server():
    with FakeFastMoss(today=TODAY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def reset(server):
    server.clear_faults()
    server.reset_calls()
    server.today = TODAY
    yield
    server.clear_faults()
    server.today = TODAY


def post(server, path, body=None, key=FAKE_API_KEY, timeout=5, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    if body is not None:
        kwargs["json"] = body
    return requests.post(server.base_url + path, headers=headers, timeout=timeout, **kwargs)


def page_of(server, path, body=None, **kwargs) -> dict:
    response = post(server, path, body if body is not None else {}, **kwargs)
    assert response.status_code == 200
    payload = response.json()
    assert payload["code"] == 0, payload
    return payload["data"]


def whole_ranking(server, path, body=None, pagesize=100) -> list[dict]:
    rows, page = [], 1
    while page * pagesize <= 500:
        data = page_of(server, path, {**(body or {}), "page": page, "pagesize": pagesize})
        rows += data["list"]
        if page * pagesize >= data["total"]:
            break
        page += 1
    return rows


# -- auth, routing -------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_missing_or_wrong_key_is_http_401_without_echoing_it(server, key):
    response = post(server, MOST_PROMOTED, {}, key=key)
    assert response.status_code == 401
    payload = response.json()
    assert (payload["code"], payload["message"], payload["data"]) == (401, "invalid api key", None)
    assert payload["request_id"]
    assert FAKE_API_KEY not in response.text and "wrong-key" not in response.text


def test_custom_api_key_replaces_the_default():
    with FakeFastMoss(api_key="s3cret", today=TODAY) as fake:
        assert post(fake, MOST_PROMOTED, {}, key="s3cret").status_code == 200
        assert post(fake, MOST_PROMOTED, {}).status_code == 401
        assert "s3cret" not in repr(fake) + repr(fake.calls)


def test_unknown_path_is_http_404_code_20001(server):
    response = post(server, "/shop/v1/rank/nope", {})
    assert response.status_code == 404
    assert response.json()["code"] == 20001
    assert response.json()["message"] == "resource not found"


def test_other_methods_are_http_405(server):
    response = requests.get(server.base_url + MOST_PROMOTED, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# -- validation ----------------------------------------------------------------------------

INVALID_BODIES = [
    (MOST_PROMOTED, [1, 2], "body"),
    (MOST_PROMOTED, {"filters": {}}, "filters"),
    (MOST_PROMOTED, {"filter": []}, "filter"),
    (MOST_PROMOTED, {"filter": {"country": "US"}}, "filter.country"),
    (MOST_PROMOTED, {"filter": {"region": "XX"}}, "filter.region"),
    (MOST_PROMOTED, {"filter": {"region": "us"}}, "filter.region"),
    (MOST_PROMOTED, {"filter": {"region": None}}, "filter.region"),
    (MOST_PROMOTED, {"filter": {"category_id": 99}}, "filter.category_id"),
    (MOST_PROMOTED, {"filter": {"category_id": "14"}}, "filter.category_id"),
    (MOST_PROMOTED, {"filter": {"category_id": True}}, "filter.category_id"),
    (MOST_PROMOTED, {"filter": {"shop_type": 3}}, "filter.shop_type"),
    (MOST_PROMOTED, {"filter": {"shop_type": True}}, "filter.shop_type"),
    (MOST_PROMOTED, {"filter": {"is_cross_border": 2}}, "filter.is_cross_border"),
    (MOST_PROMOTED, {"filter": {"is_cross_border": False}}, "filter.is_cross_border"),
    (MOST_PROMOTED, {"filter": {"date_info": "2026-04-01"}}, "filter.date_info"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "year", "value": "2026"}}}, "filter.date_info.type"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "day", "value": "2026-4-1"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "day", "value": "2026-02-30"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "day"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "week", "value": "2026-W05"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "week", "value": "2026-5"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "week", "value": "2025-53"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "week", "value": "2026-00"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"filter": {"date_info": {"type": "month", "value": "2026-13"}}}, "filter.date_info.value"),
    (MOST_PROMOTED, {"orderby": {"field": "affiliate_count", "order": "desc"}}, "orderby"),
    (MOST_PROMOTED, {"orderby": [{"field": "units_sold", "order": "desc"}]}, "orderby[0].field"),
    (MOST_PROMOTED, {"orderby": [{"field": "affiliate_count", "order": "asc"}]}, "orderby[0].order"),
    (MOST_PROMOTED, {"page": 0}, "page"),
    (MOST_PROMOTED, {"page": "1"}, "page"),
    (MOST_PROMOTED, {"pagesize": 0}, "pagesize"),
    (MOST_PROMOTED, {"pagesize": 101}, "pagesize"),
    (MOST_PROMOTED, {"pagesize": 10.0}, "pagesize"),
    (MOST_PROMOTED, {"pagesize": True}, "pagesize"),
    (MOST_PROMOTED, {"page": 6, "pagesize": 100}, "page * pagesize"),
    (MOST_PROMOTED, {"page": 51, "pagesize": 10}, "page * pagesize"),
    (TOP_SELLING, {"orderby": [{"field": "affiliate_count", "order": "desc"}]}, "orderby[0].field"),
    (FULLY_MANAGED, {"filter": {"region": "JP"}}, "filter.region"),
    (FULLY_MANAGED, {"filter": {"region": "ID"}}, "filter.region"),
    (FULLY_MANAGED, {"filter": {"is_cross_border": 1}}, "filter.is_cross_border"),
    (FULLY_MANAGED, {"orderby": [{"field": "affiliate_count"}]}, "orderby[0].field"),
]


@pytest.mark.parametrize("path, body, field", INVALID_BODIES)
def test_invalid_body_is_code_10001_naming_the_field(server, path, body, field):
    response = post(server, path, body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["code"] == 10001
    assert payload["data"] is None
    assert payload["request_id"]
    assert f"parameter error: {field} " in payload["message"]


@pytest.mark.parametrize("raw", [b"not json", b"", b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_code_10001(server, raw):
    response = post(server, MOST_PROMOTED, data=raw)
    assert response.json()["code"] == 10001
    assert "parameter error: body " in response.json()["message"]


@pytest.mark.parametrize("body", [
    {},
    {"page": 5, "pagesize": 100},
    {"page": 50, "pagesize": 10},
    {"orderby": []},
    {"filter": {"date_info": {"type": "week", "value": "2026-05"}}},
    {"filter": {"date_info": {"type": "week", "value": "2020-53"}}},
    {"filter": {"date_info": {"type": "month", "value": "2026-03"}}},
    {"filter": {"region": "SG", "category_id": 1, "shop_type": 2, "is_cross_border": 0}},
])
def test_valid_bodies_are_answered_with_code_0(server, body):
    assert post(server, MOST_PROMOTED, body).json()["code"] == 0


# -- the ranking ---------------------------------------------------------------------------


@pytest.mark.parametrize("path, sort_field", [
    (MOST_PROMOTED, "affiliate_count"),
    (TOP_SELLING, "units_sold"),
    (FULLY_MANAGED, "units_sold"),
])
def test_pages_concatenate_to_the_whole_ranking_sorted_desc(server, path, sort_field):
    rows = whole_ranking(server, path, {"filter": {"date_info": PUBLISHED_DAY}})
    assert len(rows) == 500
    assert len({row["shop_info"]["seller_id"] for row in rows}) == 500
    values = [row[sort_field] for row in rows]
    assert values == sorted(values, reverse=True)
    small_pages = whole_ranking(server, path, {"filter": {"date_info": PUBLISHED_DAY}}, pagesize=50)
    assert small_pages == rows


def test_top_selling_sorts_by_usd_gmv_when_asked(server):
    body = {"filter": {"region": "GB"}, "orderby": [{"field": "usd_gmv", "order": "desc"}]}
    rows = whole_ranking(server, TOP_SELLING, body)
    values = [row["usd_gmv"] for row in rows]
    assert values == sorted(values, reverse=True)
    by_units = whole_ranking(server, TOP_SELLING, {"filter": {"region": "GB"}})
    assert [row["units_sold"] for row in by_units] != [row["units_sold"] for row in rows]
    assert {row["shop_info"]["seller_id"] for row in by_units} == {row["shop_info"]["seller_id"] for row in rows}


def test_top_selling_and_fully_managed_rows_have_no_affiliate_count(server):
    for path in (TOP_SELLING, FULLY_MANAGED):
        rows = page_of(server, path, {"pagesize": 100})["list"]
        assert rows and all("affiliate_count" not in row for row in rows)
    rows = page_of(server, MOST_PROMOTED, {"pagesize": 100})["list"]
    assert all(isinstance(row["affiliate_count"], int) for row in rows)


@pytest.mark.parametrize("body, total", [
    ({"filter": {"category_id": 28}}, 37),
    ({"filter": {"region": "FR", "category_id": 28, "date_info": {"type": "month", "value": "2025-12"}}}, 37),
    ({"filter": {"shop_type": 1, "is_cross_border": 1}}, 180),
])
def test_some_rankings_end_before_row_500(server, body, total):
    for path in (MOST_PROMOTED, TOP_SELLING):
        if path != MOST_PROMOTED and "is_cross_border" in body["filter"]:
            continue
        assert page_of(server, path, body)["total"] == total
        rows = whole_ranking(server, path, body, pagesize=10)
        assert len(rows) == total
        past_the_end = page_of(server, path, {**body, "page": total // 10 + 2, "pagesize": 10})
        assert past_the_end["list"] == [] and past_the_end["total"] == total


def test_fully_managed_short_ranking_by_category(server):
    assert page_of(server, FULLY_MANAGED, {"filter": {"region": "US", "category_id": 28}})["total"] == 37


def test_same_query_twice_gives_the_same_rows(server):
    body = {"filter": {"region": "MX", "date_info": {"type": "week", "value": "2026-10"}}, "pagesize": 100}
    first, second = post(server, MOST_PROMOTED, body).json(), post(server, MOST_PROMOTED, body).json()
    assert first["data"] == second["data"]
    assert first["request_id"] != second["request_id"]


def test_a_new_revision_moves_the_data_on_for_the_same_question(server):
    body = {"filter": {"region": "US", "category_id": 14, "date_info": {"type": "day", "value": "2026-04-01"}},
            "pagesize": 20}
    before = post(server, MOST_PROMOTED, body).json()["data"]["list"]
    server.revision = 1
    try:
        after = post(server, MOST_PROMOTED, body).json()["data"]["list"]
    finally:
        server.revision = 0
    assert after[0] == before[0]  # the vendor's example row stays on top
    assert [row["units_sold"] for row in after[1:]] != [row["units_sold"] for row in before[1:]]
    assert post(server, MOST_PROMOTED, body).json()["data"]["list"] == before


def test_different_queries_give_different_rows(server):
    def ids(body):
        return [row["shop_info"]["seller_id"] for row in page_of(server, MOST_PROMOTED, body)["list"]]

    assert ids({"filter": {"region": "US"}}) != ids({"filter": {"region": "GB"}})
    assert ids({"filter": {"date_info": PUBLISHED_DAY}}) != ids(
        {"filter": {"date_info": {"type": "day", "value": "2026-04-02"}}})


def test_data_does_not_depend_on_the_process_hash_seed(server):
    code = ("import json; from xl_fastmoss.fake_server import data; "
            "q = data.Query('topSelling', 'month', '2026-02', region='DE'); "
            "print(json.dumps(data.ranking(q, 'units_sold')[:20], ensure_ascii=True))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=PACKAGE.parent, check=True).stdout
    here = page_of(server, TOP_SELLING, {"filter": {"region": "DE", "date_info": {
        "type": "month", "value": "2026-02"}}, "pagesize": 20})["list"]
    assert json.loads(output) == here


@pytest.mark.parametrize("path", ENDPOINTS)
def test_filters_hold_for_every_row(server, path):
    shop_filter = {"region": "DE", "category_id": 5, "shop_type": 2}
    if path != FULLY_MANAGED:
        shop_filter["is_cross_border"] = 0
    rows = whole_ranking(server, path, {"filter": shop_filter})
    assert len(rows) == 500
    for row in rows:
        shop = row["shop_info"]
        assert (shop["region"], shop["currency"], row["currency"]) == ("DE", "EUR", "EUR")
        assert shop["shop_type"] == 2
        assert shop["is_cross_border"] == shop_filter.get("is_cross_border", 1)
        assert row["rank_category"] == {"category_id": 5, "name": "Shoes"}
    if path == FULLY_MANAGED:
        assert all(row["shop_info"]["is_fully_managed"] == 1 for row in rows)


def test_without_filters_rows_mix_regions_and_have_no_rank_category(server):
    rows = whole_ranking(server, MOST_PROMOTED)
    assert len({row["shop_info"]["region"] for row in rows}) >= 10
    assert {row["shop_info"]["shop_type"] for row in rows} == {1, 2}
    assert all(row["rank_category"] == {"category_id": 0, "name": ""} for row in rows)
    fully_managed = whole_ranking(server, FULLY_MANAGED)
    assert {row["shop_info"]["region"] for row in fully_managed} <= {"US", "GB", "ES", "MX", "DE", "IT", "FR"}


def test_category_table_names_beauty_14_and_28_categories():
    assert CATEGORIES[14] == "Beauty & Personal Care"
    assert sorted(CATEGORIES) == list(range(1, 29))


def test_rows_have_the_vendor_example_row_shape(server):
    example = EXAMPLE_RESPONSE["data"]["list"][0]
    for row in whole_ranking(server, MOST_PROMOTED, {"filter": {"region": "US"}})[:100]:
        optional = {"units_sold_inc_rate", "gmv_inc_rate"}
        assert set(example) - optional <= set(row) <= set(example)
        assert list(row["shop_info"]) == list(example["shop_info"])
        assert set(row["shop_info"]["main_category"]) == {"category_id", "name"}
        assert isinstance(row["shop_info"]["shop_rating"], float)


# -- traps ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trap_ranking(server):
    """One whole ranking as raw response texts and parsed rows."""
    texts, rows = [], []
    for page in range(1, 6):
        response = post(server, MOST_PROMOTED, {"page": page, "pagesize": 100,
                                                "filter": {"date_info": PUBLISHED_DAY}})
        texts.append(response.text)
        rows += response.json()["data"]["list"]
    return "".join(texts), rows


def test_seller_ids_are_19_digit_json_integers_beyond_2_pow_53(trap_ranking):
    text, rows = trap_ranking
    for row in rows:
        seller_id = row["shop_info"]["seller_id"]
        assert isinstance(seller_id, int) and seller_id > 2**53 and len(str(seller_id)) == 19
        assert f'"seller_id":{seller_id},' in text


def test_shop_names_include_formula_like_and_control_characters(trap_ranking):
    names = [row["shop_info"]["name"] for row in trap_ranking[1]]
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert sum(name.startswith(start) for name in names) >= 2, start
    assert '=HYPERLINK("http://x","y")' in names
    assert {"+Plus Beauty", "-Minus Store", "@home"} <= set(names)


@pytest.mark.parametrize("script, low, high", [
    ("Latin accents", 0x00C0, 0x024F),
    ("Chinese", 0x4E00, 0x9FFF),
    ("Japanese kana", 0x3040, 0x30FF),
    ("Thai", 0x0E00, 0x0E7F),
    ("Arabic", 0x0600, 0x06FF),
    ("Vietnamese", 0x1EA0, 0x1EFF),
    ("Cyrillic", 0x0400, 0x04FF),
    ("emoji", 0x1F300, 0x1FAFF),
])
def test_shop_names_come_in_many_scripts(trap_ranking, script, low, high):
    names = [row["shop_info"]["name"] for row in trap_ranking[1]]
    assert sum(any(low <= ord(ch) <= high for ch in name) for name in names) >= 2


def test_growth_rates_are_sometimes_absent_null_empty_dash_or_negative(trap_ranking):
    rows = trap_ranking[1]
    for field in ("units_sold_inc_rate", "gmv_inc_rate"):
        present = [row[field] for row in rows if field in row]
        assert len(present) <= len(rows) - 3
        assert present.count(None) >= 3 and present.count("") >= 3 and present.count("-") >= 3
        rates = [rate for rate in present if rate not in (None, "", "-")]
        assert all(rate.endswith("%") for rate in rates)
        [float(rate[:-1]) for rate in rates]  # every other rate parses as a number
        assert sum(rate.startswith("-") for rate in rates) >= 3


def test_gmv_has_decimals_and_local_currency(trap_ranking):
    rows = trap_ranking[1]
    assert sum(isinstance(row["gmv"], float) and row["gmv"] != int(row["gmv"]) for row in rows) >= 3
    usd = [row for row in rows if row["currency"] == "USD"]
    assert usd and all(row["gmv"] == row["usd_gmv"] for row in usd)
    assert all(row["currency"] == row["shop_info"]["currency"] for row in rows)


# -- the vendor's example ------------------------------------------------------------------


def test_example_request_answers_the_vendor_example_row_first(server):
    response = post(server, MOST_PROMOTED, EXAMPLE_REQUEST)
    payload = response.json()
    assert payload["data"]["list"][0] == EXAMPLE_RESPONSE["data"]["list"][0]
    assert '"seller_id":7494006325298104216,' in response.text
    assert (payload["data"]["date_type"], payload["data"]["date_value"]) == ("day", "2026-04-06")
    assert payload["data"]["total"] == 500
    rest = whole_ranking(server, MOST_PROMOTED, {"filter": EXAMPLE_REQUEST["filter"]})
    assert rest[0] == EXAMPLE_RESPONSE["data"]["list"][0]
    assert all(row["affiliate_count"] <= 55 for row in rest)
    assert [row["affiliate_count"] for row in rest] == sorted((row["affiliate_count"] for row in rest), reverse=True)
    assert all(row["shop_info"]["region"] == "US" for row in rest[1:])


def test_a_different_query_does_not_get_the_example_row(server):
    body = {**EXAMPLE_REQUEST, "filter": {**EXAMPLE_REQUEST["filter"], "shop_type": 1}}
    data = page_of(server, MOST_PROMOTED, body)
    assert data["list"][0] != EXAMPLE_RESPONSE["data"]["list"][0]
    assert data["date_value"] == "2026-04-01"


# -- periods -------------------------------------------------------------------------------


@pytest.mark.parametrize("date_info, published", [
    ({"type": "day", "value": "2026-04-14"}, True),
    ({"type": "day", "value": "2026-04-15"}, False),
    ({"type": "day", "value": "2027-01-01"}, False),
    ({"type": "week", "value": "2026-15"}, True),
    ({"type": "week", "value": "2026-16"}, False),
    ({"type": "month", "value": "2026-03"}, True),
    ({"type": "month", "value": "2026-04"}, False),
])
def test_only_completed_periods_have_rows(server, date_info, published):
    data = page_of(server, TOP_SELLING, {"filter": {"date_info": date_info}})
    assert (data["date_type"], data["date_value"]) == (date_info["type"], date_info["value"])
    assert (data["total"], len(data["list"])) == ((500, 10) if published else (0, 0))


def test_missing_period_means_the_latest_completed_day(server):
    data = page_of(server, MOST_PROMOTED, {})
    assert (data["date_type"], data["date_value"], data["total"]) == ("day", "2026-04-14", 500)


def test_today_defaults_to_the_clock_in_shanghai(server):
    server.today = None
    shanghai = dt.timezone(dt.timedelta(hours=8))
    before = dt.datetime.now(shanghai).date()
    answered = page_of(server, MOST_PROMOTED, {})["date_value"]
    after = dt.datetime.now(shanghai).date()
    assert answered in {str(before - dt.timedelta(days=1)), str(after - dt.timedelta(days=1))}


# -- faults --------------------------------------------------------------------------------


def assert_normal(server):
    data = page_of(server, MOST_PROMOTED, {"pagesize": 20})
    assert len(data["list"]) == 20 and data["total"] == 500


@pytest.mark.parametrize("code", [10001, 20001, 30001, 30002, 30003, 40001])
def test_api_code_fault_answers_that_code_once(server, code):
    server.inject(Fault.API_CODE, code=code)
    response = post(server, MOST_PROMOTED, {})
    assert response.status_code == 200
    payload = response.json()
    assert payload["code"] == code and payload["data"] is None
    assert payload["message"] and payload["request_id"]
    assert_normal(server)


@pytest.mark.parametrize("status", [401, 403, 429, 500, 502, 503, 504])
def test_http_status_fault_answers_that_status_once(server, status):
    server.inject(Fault.HTTP_STATUS, status=status, retry_after=7)
    response = post(server, MOST_PROMOTED, {})
    assert response.status_code == status
    assert response.headers["Retry-After"] == "7"
    assert response.text
    assert_normal(server)


def test_http_status_fault_without_retry_after_has_no_header(server):
    server.inject(Fault.HTTP_STATUS, status=429)
    response = post(server, MOST_PROMOTED, {})
    assert response.status_code == 429 and "Retry-After" not in response.headers


def test_hang_fault_outlasts_a_client_timeout_once(server):
    server.inject(Fault.HANG, seconds=3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(server, MOST_PROMOTED, {}, timeout=0.2)
    assert_normal(server)


def test_hang_fault_answers_normally_after_sleeping(server):
    server.inject(Fault.HANG, seconds=0.05)
    assert_normal(server)
    assert server.calls[0].fault == "HANG"


def test_truncated_fault_breaks_the_body_once(server):
    server.inject(Fault.TRUNCATED)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        post(server, MOST_PROMOTED, {"pagesize": 100})
    assert_normal(server)


def test_reset_fault_drops_the_connection_once(server):
    server.inject(Fault.RESET)
    with pytest.raises(requests.exceptions.ConnectionError):
        post(server, MOST_PROMOTED, {})
    assert server.calls[0].status is None
    assert_normal(server)


def test_not_json_fault_answers_html_once(server):
    server.inject(Fault.NOT_JSON)
    response = post(server, MOST_PROMOTED, {})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == "<html>Bad gateway</html>"
    assert_normal(server)


@pytest.mark.parametrize("fault, check", [
    (Fault.MISSING_DATA, lambda payload: "data" not in payload),
    (Fault.MISSING_LIST, lambda payload: "list" not in payload["data"] and payload["data"]["total"] == 500),
    (Fault.EMPTY_LIST, lambda payload: payload["data"]["list"] == [] and payload["data"]["total"] == 0),
    (Fault.SHORT_PAGE, lambda payload: len(payload["data"]["list"]) == 10 and payload["data"]["total"] == 500),
])
def test_payload_faults_spoil_a_code_0_answer_once(server, fault, check):
    server.inject(fault)
    payload = post(server, MOST_PROMOTED, {"pagesize": 20}).json()
    assert payload["code"] == 0 and check(payload)
    assert_normal(server)


def test_fault_with_page_waits_for_that_page(server):
    server.inject(Fault.API_CODE, code=40001, page=2)
    assert page_of(server, MOST_PROMOTED, {"page": 1})["list"]
    assert post(server, MOST_PROMOTED, {"page": 2}).json()["code"] == 40001
    assert page_of(server, MOST_PROMOTED, {"page": 2})["list"]


def test_fault_times_and_queue_order(server):
    server.inject(Fault.API_CODE, times=2, code=30003)
    server.inject(Fault.HTTP_STATUS, status=503)
    answers = [post(server, MOST_PROMOTED, {}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 503, 200]
    assert [a.json()["code"] for a in answers if a.status_code == 200] == [30003, 30003, 0]


def test_unauthorized_and_unknown_path_calls_do_not_consume_faults(server):
    server.inject(Fault.API_CODE, code=30002)
    assert post(server, MOST_PROMOTED, {}, key="wrong").status_code == 401
    assert post(server, "/nope", {}).status_code == 404
    assert post(server, MOST_PROMOTED, {}).json()["code"] == 30002


def test_clear_faults_drops_queued_faults_and_latency(server):
    server.inject(Fault.RESET, times=5)
    server.latency = 5
    server.clear_faults()
    assert server.latency == 0
    assert_normal(server)


@pytest.mark.parametrize("fault, params", [
    (Fault.API_CODE, {}),
    (Fault.API_CODE, {"code": 12345}),
    (Fault.HTTP_STATUS, {"status": 418}),
    (Fault.HTTP_STATUS, {"status": 429, "retry_after": 1.5}),
    (Fault.RESET, {"seconds": 1}),
    (Fault.HANG, {"secs": 1}),
    (Fault.EMPTY_LIST, {"times": 0}),
    (Fault.EMPTY_LIST, {"page": 0}),
])
def test_inject_refuses_bad_parameters(server, fault, params):
    with pytest.raises((TypeError, ValueError)):
        server.inject(fault, **params)


def test_latency_is_slept_in_each_handler_so_concurrent_calls_overlap(server):
    server.latency = 0.3
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post(server, MOST_PROMOTED, {}), range(4)))
    elapsed = time.perf_counter() - started
    assert all(a.status_code == 200 for a in answers)
    assert 0.3 <= elapsed < 1.0


def test_an_answer_made_during_the_latency_is_not_sent_once_the_data_moved_on(server):
    """The page is made while the latency passes; a revision (or day) changed meanwhile gets the
    answer of the new data, as when the page was made after the wait."""
    body = {"filter": {"region": "US", "category_id": 14, "date_info": {"type": "day", "value": "2026-04-01"}},
            "pagesize": 20}
    before = post(server, MOST_PROMOTED, body).json()["data"]["list"]
    server.revision = 1
    moved_on = post(server, MOST_PROMOTED, body).json()["data"]["list"]
    server.revision = 0
    server.latency = 0.5
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(post, server, MOST_PROMOTED, body)
            while server.call_count < 3:  # the call was read: its answer is being made or waits
                time.sleep(0.01)
            server.revision = 1
            assert answer.result().json()["data"]["list"] == moved_on != before
    finally:
        server.revision = 0


# -- call log ------------------------------------------------------------------------------


def test_every_call_is_recorded_without_the_key(server):
    post(server, MOST_PROMOTED, {"page": 2, "pagesize": 20})
    post(server, TOP_SELLING, {}, key="bad-key")
    post(server, FULLY_MANAGED, {"filter": {"region": "JP"}})
    requests.post(server.base_url + MOST_PROMOTED, data=b"oops", timeout=5)
    assert server.call_count == 4
    assert server.calls == [
        CallRecord(MOST_PROMOTED, {"page": 2, "pagesize": 20}, 2, 20, 200, 0, True),
        CallRecord(TOP_SELLING, {}, 1, 10, 401, 401, False),
        CallRecord(FULLY_MANAGED, {"filter": {"region": "JP"}}, 1, 10, 200, 10001, True),
        CallRecord(MOST_PROMOTED, None, None, None, 401, 401, False),
    ]
    assert FAKE_API_KEY not in repr(server.calls) and "bad-key" not in repr(server.calls)
    server.reset_calls()
    assert server.call_count == 0 and server.calls == []


def test_concurrent_calls_are_all_counted(server):
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda page: post(server, MOST_PROMOTED, {"page": page}), range(1, 25)))
    assert server.call_count == 24
    assert sorted(call.page for call in server.calls) == list(range(1, 25))


def test_answers_are_not_held_back_by_nagles_algorithm(server):
    """Headers and body are two writes: with Nagle's algorithm on, the body of every keep-alive
    answer waited for the client's delayed ACK (about 40 ms a call)."""
    import socket

    with requests.Session() as session:
        session.post(server.base_url + MOST_PROMOTED, json={}, timeout=5,
                     headers={"Authorization": f"Bearer {FAKE_API_KEY}"})
        connections = list(server._httpd._connections)  # the kept-alive connection
        assert connections
        assert all(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in connections)


# -- lifecycle and packaging ---------------------------------------------------------------


def test_stop_is_prompt_while_a_handler_hangs():
    fake = FakeFastMoss(today=TODAY).start()
    fake.inject(Fault.HANG, seconds=60)
    outcome = []

    def call():
        try:
            outcome.append(post(fake, MOST_PROMOTED, {}, timeout=60).status_code)
        except requests.RequestException as error:
            outcome.append(error)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    for _ in range(1000):  # until the hanging call has arrived
        if fake.call_count:
            break
        threading.Event().wait(0.01)
    fake.stop()
    caller.join(timeout=10)  # a liveness guard, far below the 60 s hang
    assert not caller.is_alive()
    assert isinstance(outcome[0], requests.RequestException)


def test_two_servers_get_different_free_ports():
    with FakeFastMoss() as first, FakeFastMoss() as second:
        assert first.port != second.port
        assert first.base_url == f"http://127.0.0.1:{first.port}"
    with pytest.raises(RuntimeError):
        _ = first.base_url


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT stands for Ctrl-C on POSIX only")
def test_serve_prints_url_and_key_and_stops_on_ctrl_c():
    code = "from xl_fastmoss.fake_server import serve; serve('127.0.0.1', 0, 'cli-key')"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=PACKAGE.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split()[-1]
        assert process.stdout.readline().strip() == "API key: cli-key"
        response = requests.post(url + MOST_PROMOTED, json={}, timeout=5,
                                 headers={"Authorization": "Bearer cli-key"})
        assert response.json()["code"] == 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()


def test_fake_server_imports_nothing_else_from_the_package():
    for source in (PACKAGE / "fake_server").glob("*.py"):
        tree = ast.parse(source.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{source.name} imports from outside fake_server"
                assert not (node.module or "").startswith("xl_fastmoss"), source.name
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("xl_fastmoss") for alias in node.names), source.name


def test_public_names():
    import xl_fastmoss.fake_server as package

    assert sorted(package.__all__) == sorted(
        ["CATEGORIES", "FAKE_API_KEY", "CallRecord", "FakeFastMoss", "Fault", "serve"])
    assert FAKE_API_KEY == "fake-key-for-tests"
    assert {fault.name for fault in Fault} == {
        "API_CODE", "HTTP_STATUS", "HANG", "TRUNCATED", "NOT_JSON", "MISSING_DATA",
        "MISSING_LIST", "EMPTY_LIST", "SHORT_PAGE", "RESET", "DRIP", "HUGE_BODY", "GZIP_BOMB",
        "BAD_GZIP", "DEEP_JSON", "REDIRECT", "ECHO_AUTH", "FIELD"}
