import datetime as dt

import pytest

from xl_fastmoss.errors import InvalidArgument
from xl_fastmoss.sheets.calls import read_call


def call(*options, function="FM_MOSTPROMOTED", region="US", category=14, date_type="day", date_value="2026-04-01"):
    return read_call(function, region, category, date_type, date_value, options)


def test_defaults_are_ten_rows_with_headers_and_default_fields():
    made = call()
    assert made.request.rows == 10 and made.headers is True and made.fields is None


def test_options_come_as_pairs_or_as_name_equals_value():
    assert call("rows", 500).request.rows == 500
    assert call("rows=250").request.rows == 250
    assert call("ROWS", 20.0, "headers", False).headers is False
    assert call("headers=false").headers is False
    assert call("fields", "rank, name ,gmv").fields == ("rank", "name", "gmv")
    assert call("shop_type", 1).request.query.shop_type == 1
    assert call("cross_border=0").request.query.cross_border == 0


def test_empty_option_cells_are_skipped():
    assert call(None, "rows", 20, "").request.rows == 20


def test_excel_datetimes_and_empty_filters_are_accepted():
    made = call(region=None, category="", date_value=dt.datetime(2026, 4, 1))
    assert made.request.query.region is None and made.request.query.category_id is None
    assert made.request.query.date_value == "2026-04-01"


@pytest.mark.parametrize("options, message", [
    (("colour", "red"), "option: 'colour' is not allowed; one of rows, fields, headers, shop_type, cross_border"),
    (("rows",), "rows: '(nothing)' is not allowed; give the option a value"),
    (("rows", 5, "rows", 6), "rows: 6 is not allowed; each option once"),
    (("rows", 501), "rows: 501 is not allowed; a whole number 1..500"),
    (("fields", "rank,price"), "fields: 'price' is not allowed; field names among: rank, seller_id"),
    (("fields", "rank,rank"), "each field once"),
    (("headers", "maybe"), "headers: 'maybe' is not allowed; TRUE or FALSE"),
    ((14,), "option: 14 is not allowed; an option name"),
    (("sort", "usd_gmv"), "option: 'sort' is not allowed"),
    (("rows", [[1, 2]]), "rows: 'a range of cells' is not allowed; a single cell or value"),
])
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(InvalidArgument) as caught:
        call(*options)
    assert message in str(caught.value)


def test_a_range_where_a_cell_is_expected_is_refused():
    with pytest.raises(InvalidArgument, match="region: 'a range of cells'"):
        call(region=[["US"], ["GB"]])


def test_sister_functions_follow_their_own_rules():
    assert call("sort", "usd_gmv", function="FM_TOPSELLING").request.query.sort_by == "usd_gmv"
    with pytest.raises(InvalidArgument, match="option: 'cross_border'"):
        call("cross_border", 1, function="FM_FULLYMANAGED")
    with pytest.raises(InvalidArgument, match="region: 'JP'"):
        call(function="fm_fullymanaged", region="JP")
