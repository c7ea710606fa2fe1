import datetime as dt

import pytest

from xl_fastmoss.errors import InvalidArgument
from xl_fastmoss.sheets.calls import read_call, read_fm_call


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


# -- compare ---------------------------------------------------------------------------------------

def test_compare_reads_previous_or_an_earlier_period_and_shows_the_movement_after_the_rank():
    made = call("compare", "previous", "rows", 50)
    assert made.compare.earlier.query.date_value == "2026-03-31" and made.compare.earlier.rows == 50
    assert made.shown_fields[:5] == ("rank", "previous_rank", "rank_change", "new", "name")
    assert [r.query.date_value for r in made.first_wave()] == ["2026-04-01", "2026-03-31"]
    assert call("compare=2026-03-01").compare.earlier.query.date_value == "2026-03-01"
    assert call("compare", dt.datetime(2026, 3, 15)).compare.earlier.query.date_value == "2026-03-15"
    assert call().compare is None and call().first_wave() == [call().request]


def test_movement_fields_come_with_the_option_compare():
    assert call("compare", "previous", "fields", "rank,name,rank_change,new").fields == (
        "rank", "name", "rank_change", "new")
    with pytest.raises(InvalidArgument, match="fields: 'rank_change' is not allowed; it comes with the option compare"):
        call("fields", "rank,rank_change")


def test_a_bad_compare_is_refused_by_name():
    with pytest.raises(InvalidArgument, match="compare: 'tomorrow' is not allowed"):
        call("compare", "tomorrow")
    with pytest.raises(InvalidArgument, match="is not before 2026-04-01"):
        call("compare", "2026-04-01")


# -- FM_HISTORY ------------------------------------------------------------------------------------

def history_call(*options, seller_id="7494006325298104216", start="2026-03-03", end="2026-04-01", date_type="day"):
    return read_fm_call("FM_HISTORY", (seller_id, "US", 14, date_type, start, end, *options))


def test_a_history_call_reads_its_six_arguments_and_options():
    made = history_call("depth", 300, "ranking", "top_selling", "sort=usd_gmv", "headers", False)
    assert made.query.seller_id == "7494006325298104216" and made.query.depth == 300
    assert made.query.ranking.endpoint.name == "top_selling" and made.query.ranking.sort_by == "usd_gmv"
    assert made.query.periods[0] == "2026-03-03" and len(made.query.periods) == 30
    assert made.headers is False and made.largest_shape() == (30, len(made.shown_fields))
    assert made.shown_fields[:2] == ("date_value", "rank") and made.shown_fields[-1] == "note"
    assert len(made.first_wave()) == 30


def test_a_history_call_takes_fields_of_its_ranking_and_the_period_and_note():
    made = history_call("fields", "date_value,rank,name,usd_gmv,note")
    assert made.fields == ("date_value", "rank", "name", "usd_gmv", "note")
    with pytest.raises(InvalidArgument, match="fields: 'affiliate_count' is not allowed"):
        history_call("ranking", "top_selling", "fields", "rank,affiliate_count")


@pytest.mark.parametrize("arguments, message", [
    (dict(seller_id=7.494006325298104e18), "seller_id: 7.494006325298104e+18 is not allowed; a number that lost"),
    (dict(seller_id=[["1"], ["2"]]), "seller_id: 'a range of cells' is not allowed"),
    (dict(start="2025-12-01"), "a range holds at most 90 days"),
    (dict(start=-90.0), "-90.0 is not allowed; -90 asks for 91 days"),
    (dict(start=-29.5), "start: -29.5 is not allowed; a number is read as an Excel date serial"),
    (dict(start="2026-15", end="2026-14", date_type="week"), "the start (2026-15) must not be after the end (2026-14)"),
])
def test_bad_history_arguments_are_refused_by_name(arguments, message):
    with pytest.raises(InvalidArgument) as refused:
        history_call(**arguments)
    assert message in str(refused.value)


@pytest.mark.parametrize("options, message", [
    (("rows", 10), "option: 'rows' is not allowed; one of ranking, sort, depth, fields, headers"),
    (("depth", 0), "depth: 0 is not allowed; a whole number 1..500"),
    (("compare", "previous"), "option: 'compare' is not allowed"),
])
def test_bad_history_options_are_refused_by_name(options, message):
    with pytest.raises(InvalidArgument) as refused:
        history_call(*options)
    assert message in str(refused.value)


def test_the_date_of_an_excel_cell_is_a_history_end_and_a_negative_number_a_relative_start():
    made = history_call(start=-6.0, end=dt.datetime(2026, 4, 1))
    assert made.query.periods == tuple(f"2026-03-{d}" for d in range(26, 32)) + ("2026-04-01",)
