import copy
import json
import math
import random
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from xl_fastmoss import parse
from xl_fastmoss.columns import COLUMNS, ID, columns_for
from xl_fastmoss.endpoints import MOST_PROMOTED, TOP_SELLING
from xl_fastmoss.errors import InvalidResponse
from xl_fastmoss.parse import read_envelope, rows_to_frame

EXAMPLE = json.loads((Path(__file__).parents[1] / "xl_fastmoss/data/most_promoted.response.example.json").read_text())


def example_frame(rows=None, warnings=None):
    return rows_to_frame(rows if rows is not None else EXAMPLE["data"]["list"], MOST_PROMOTED, 1, warnings)


def test_the_vendor_example_parses_to_its_exact_values():
    frame = example_frame()
    row = frame.iloc[0].to_dict()
    assert row == {
        "rank": 1, "seller_id": "7494006325298104216", "name": "LOOKFANTASTIC", "brand": "LOOKFANTASTIC",
        "seller_company": "Thehut.com limited",
        "avatar": "https://s.500fd.com/tt_shop/813e1606cff740e9932168cfe95e5c4f~tplv-tulkllf4y5-resize-webp:300:300.webp",
        "region": "GB", "product_count": 4881, "shop_rating": 4.7, "main_category_id": 14,
        "main_category_name": "Beauty & Personal Care", "is_fully_managed": 0, "is_cross_border": 0,
        "shop_type": 1, "status": 1, "rank_category_id": 0, "rank_category_name": "",
        "total_affiliate_count": 47691, "affiliate_count": 55, "sale_product_count": 252, "units_sold": 984,
        "gmv": 24915.88, "usd_gmv": 30895.69, "units_sold_inc_rate": 0.288, "gmv_inc_rate": 0.4339,
        "currency": "GBP",
    }


def test_columns_and_dtypes_are_fixed():
    frame = example_frame()
    assert tuple(frame.columns) == columns_for(MOST_PROMOTED)
    dtypes = frame.dtypes.astype(str).to_dict()
    assert dtypes["seller_id"] == "string" and dtypes["name"] == "string" and dtypes["currency"] == "string"
    assert dtypes["rank"] == "Int64" and dtypes["units_sold"] == "Int64" and dtypes["affiliate_count"] == "Int64"
    assert dtypes["gmv"] == "float64" and dtypes["usd_gmv"] == "float64" and dtypes["gmv_inc_rate"] == "float64"


def test_top_selling_has_no_affiliate_count_column():
    assert "affiliate_count" not in columns_for(TOP_SELLING)
    assert "total_affiliate_count" in columns_for(TOP_SELLING)


@pytest.mark.parametrize("rate, expected", [
    ("28.8%", 0.288), ("-13.93%", -0.1393), ("0%", 0.0), ("1,234.5%", 12.345),
    ("-", None), ("", None), (None, None), ("n/a", None), ("abc%", None),
])
def test_growth_rates_become_fractions_or_blanks(rate, expected):
    row = copy.deepcopy(EXAMPLE["data"]["list"][0])
    row["gmv_inc_rate"] = rate
    value = example_frame([row])["gmv_inc_rate"].iloc[0]
    if expected is None:
        assert math.isnan(value)
    else:
        assert value == expected


def test_a_missing_rate_key_is_a_blank():
    row = copy.deepcopy(EXAMPLE["data"]["list"][0])
    del row["units_sold_inc_rate"]
    assert math.isnan(example_frame([row])["units_sold_inc_rate"].iloc[0])


def test_text_is_kept_exactly_as_sent():
    row = copy.deepcopy(EXAMPLE["data"]["list"][0])
    row["shop_info"]["name"] = '=HYPERLINK("http://x","y") 美妆 ✨'
    assert example_frame([row])["name"].iloc[0] == '=HYPERLINK("http://x","y") 美妆 ✨'


def test_ranks_continue_from_the_page_offset():
    rows = EXAMPLE["data"]["list"] * 3
    frame = rows_to_frame(rows, MOST_PROMOTED, first_rank=201)
    assert frame["rank"].tolist() == [201, 202, 203]


def test_drifted_fields_degrade_to_blanks_with_warnings():
    row = copy.deepcopy(EXAMPLE["data"]["list"][0])
    row["units_sold"] = "lots"
    row["gmv"] = {"amount": 1}
    row["shop_info"]["seller_id"] = 7.494006325298104e18
    row["shop_info"]["product_count"] = 10**30
    row["extra_field"] = [1, 2]
    warnings = []
    frame = example_frame([row, "not a row"], warnings)
    assert frame["units_sold"].isna().iloc[0] and frame["gmv"].isna().iloc[0]
    assert frame["seller_id"].isna().iloc[0] and frame["product_count"].isna().iloc[0]
    assert frame["name"].iloc[0] == "LOOKFANTASTIC"
    assert len(frame) == 2 and frame["rank"].tolist() == [1, 2]
    assert any("units_sold 'lots'" in w for w in warnings)
    assert any("rank 2: row is not an object" in w for w in warnings)


def test_an_empty_list_is_an_empty_frame_with_all_columns():
    frame = example_frame([])
    assert frame.empty and tuple(frame.columns) == columns_for(MOST_PROMOTED)


def test_envelope_reports_the_period_answered_and_total():
    page = read_envelope(EXAMPLE)
    assert (page.total, page.date_type, page.date_value) == (500, "day", "2026-04-06")
    assert page.request_id == "764beab5-2619-53cc-cf63-b726d9086655"


@pytest.mark.parametrize("payload, message", [
    ({"code": 0, "request_id": "r1"}, "without a `data` object [request_id r1]"),
    ({"code": 0, "data": {"total": 5}}, "without a `data.list` array"),
    ([1, 2], "not an object"),
])
def test_an_envelope_without_data_or_list_is_an_invalid_response(payload, message):
    with pytest.raises(InvalidResponse, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_envelope(payload)


@pytest.mark.parametrize("rate", ["sNaN", "NaN", "-sNaN", "1e1000005%", "-1E+999999%", "Infinity%", float("nan"),
                                  float("inf"), 10**400, {"value": 1}, ["1%"], True])
def test_a_rate_no_float_can_hold_is_a_blank_with_a_warning(rate):
    row = copy.deepcopy(EXAMPLE["data"]["list"][0])
    row["gmv_inc_rate"] = rate
    warnings = []
    value = example_frame([row], warnings)["gmv_inc_rate"].iloc[0]
    assert math.isnan(value)
    assert len(warnings) == 1 and warnings[0].startswith("rank 1: gmv_inc_rate ")
    assert warnings[0].endswith("is not a percentage; left blank")


def test_a_tiny_rate_is_zero_not_an_error():
    row = copy.deepcopy(EXAMPLE["data"]["list"][0])
    row["gmv_inc_rate"] = "1e-1000005%"
    assert example_frame([row])["gmv_inc_rate"].iloc[0] == 0.0


def test_a_page_is_read_up_to_its_size_with_warnings_beside_their_ranks():
    from xl_fastmoss.parse import read_page

    payload = copy.deepcopy(EXAMPLE)
    rows = payload["data"]["list"]
    rows[0]["units_sold"] = "lots"
    payload["data"]["list"] = rows * 150
    page = read_page(payload, MOST_PROMOTED, first_rank=101, page_size=100)
    assert page.row_count == 100 and page.frame["rank"].tolist() == list(range(101, 201))
    assert page.row_warnings[:2] == [(101, "rank 101: units_sold 'lots' is not a whole number; left blank"),
                                     (102, "rank 102: units_sold 'lots' is not a whole number; left blank")]



# -- the values the API documents take a shortcut: it must read them as the general path does --

def _general_value(column, value, rank, warnings):
    """What the general path (every value checked one by one) makes of ``value``."""
    return parse._seller_id(value, rank, warnings) if column.kind is ID else parse._read(column, value, rank, warnings)


def _with_value(path, value):
    row = copy.deepcopy(EXAMPLE["data"]["list"][0])
    holder = row
    for key in path[:-1]:
        holder = holder.setdefault(key, {})
    holder[path[-1]] = value
    return row


def _same(shown, expected):
    if expected is None:
        return shown is pd.NA or (isinstance(shown, float) and math.isnan(shown))
    if isinstance(expected, float):
        return isinstance(shown, float) and shown == expected and math.copysign(1, shown) == math.copysign(1, expected)
    return type(shown) is type(expected) and shown == expected


_ODD_VALUES = [
    0, -1, 7, 2**63 - 1, -(2**63 - 1), 2**63, -(2**63), 10**400, True, False,
    1.5, -0.0, 0.1, 9.99e307, 1e308, -1e308, 1.7e308, math.nan, math.inf, -math.inf,
    "12", " 12", "12 ", "1,234", "²", "", "-", "x", "-11.63%", "28.8", "28.8 %", "1e5%", "0012.50%",
    "-0%", "1234567890123456%", "0.1234567890123%", "١٢", None, [1], {"a": 1},
]


@pytest.mark.parametrize("column", [c for c in COLUMNS[1:] if c.name != "currency"], ids=lambda c: c.name)
def test_every_kind_of_value_reads_as_the_general_path_reads_it(column):
    rows = [_with_value(column.source, value) for value in _ODD_VALUES]
    warnings: list[str] = []
    frame = rows_to_frame(rows, MOST_PROMOTED, 1, warnings)
    shown_values = frame[column.name].tolist() if column.name in frame.columns else [None] * len(rows)
    expected_warnings: list[str] = []
    for rank, (value, shown) in enumerate(zip(_ODD_VALUES, shown_values, strict=True), start=1):
        expected = _general_value(column, value, rank, expected_warnings)
        if column.name in frame.columns:
            assert _same(shown, expected), (value, shown, expected)
    assert warnings == expected_warnings


@pytest.mark.parametrize("column", [c for c in COLUMNS[1:] if c.name != "currency"], ids=lambda c: c.name)
def test_a_column_of_one_odd_value_beside_documented_ones_reads_as_the_general_path_reads_it(column):
    """The shortcut takes a whole column or none of it: each odd value alone among the example's."""
    plain = parse._lookup(EXAMPLE["data"]["list"][0], column.source)
    for value in _ODD_VALUES:
        column_values = [plain, value, plain, value]
        warnings: list[str] = []
        frame = rows_to_frame([_with_value(column.source, v) for v in column_values], MOST_PROMOTED, 1, warnings)
        expected_warnings: list[str] = []
        for rank, (given, shown) in enumerate(zip(column_values, frame[column.name].tolist(), strict=True), start=1):
            expected = _general_value(column, given, rank, expected_warnings)
            assert _same(shown, expected), (given, shown, expected)
        assert warnings == expected_warnings, value


def test_plain_percentages_are_their_exact_decimal_fraction():
    pick = random.Random(7)
    texts = []
    for _ in range(2000):
        whole = str(pick.randrange(10 ** pick.randint(1, 15)))
        digits = "".join(pick.choice("0123456789") for _ in range(pick.randint(1, 12)))
        fraction = "." + digits if pick.random() < 0.8 else ""
        texts.append(pick.choice(("", "-")) + whole + fraction + pick.choice(("%", "")))
    rows = [_with_value(("gmv_inc_rate",), text) for text in texts]
    frame = rows_to_frame(rows, MOST_PROMOTED)
    for text, shown in zip(texts, frame["gmv_inc_rate"], strict=True):
        expected = float(Decimal(text.removesuffix("%")) / 100)
        assert shown == expected and math.copysign(1, shown) == math.copysign(1, expected), text
