"""Whatever a cell can hold, and whatever the vendor answers: a table or one readable cell, never a crash."""

import copy
import datetime as dt
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xl_fastmoss.columns import columns_for, dtype_of
from xl_fastmoss.endpoints import MOST_PROMOTED, TOP_SELLING
from xl_fastmoss.errors import FastMossError
from xl_fastmoss.parse import rows_to_frame
from xl_fastmoss.sheets.calls import read_call

EXAMPLE_ROW = json.loads((Path(__file__).parents[1] / "xl_fastmoss/data/most_promoted.response.example.json")
                         .read_text())["data"]["list"][0]

scalars = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.sampled_from(["US", "gb", "", " ", "day", "week", "month", "latest", "2026-04-01", "2026-14", "2026-03",
                     "rows", "fields", "headers", "shop_type", "cross_border", "sort", "rows=20", "fields=rank,name",
                     "=1+1", "@SUM(A1)", "14", "1e400", "-0"]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 31)),
)
cells = st.one_of(scalars, st.lists(st.lists(scalars, min_size=1, max_size=3), min_size=1, max_size=3))


def is_rectangle(table):
    return (isinstance(table, list) and table and all(isinstance(r, list) for r in table)
            and len({len(r) for r in table}) == 1 and len(table[0]) >= 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(function=st.sampled_from(["FM_MOSTPROMOTED", "FM_TOPSELLING", "FM_FULLYMANAGED"]),
       region=cells, category=cells, date_type=cells, date_value=cells,
       options=st.lists(cells, max_size=6))
def test_any_cell_values_give_a_table_or_one_readable_cell_and_no_call_when_invalid(
        fake_env, function, region, category, date_type, date_value, options):
    from xl_fastmoss.sheets import functions as sheet_functions

    before = fake_env.call_count
    try:
        read_call(function, region, category, date_type, date_value, options)
        valid = True
    except FastMossError:
        valid = False
    table = sheet_functions.ranking_table(function, region, category, date_type, date_value, *options)
    assert is_rectangle(table)
    if not valid:
        assert fake_env.call_count == before
        assert len(table) == 1 and len(table[0]) == 1
        assert table[0][0].startswith("FastMoss: ") and "Traceback" not in table[0][0]
        assert len(table[0][0]) < 400


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seller_id=st.one_of(cells, st.sampled_from(["7494006325298104216", "'7494006325298104216", "7.49E+18"])),
       region=cells, category=cells, date_type=cells,
       start=st.one_of(cells, st.sampled_from(["-29", "-90", "-0", "- 3", "2026-51", "2027-01"])),
       end=cells, options=st.lists(st.one_of(cells, st.sampled_from(["depth", "ranking", "depth=0"])), max_size=6))
def test_any_cell_values_give_fm_history_a_table_or_one_readable_cell_and_no_call_when_invalid(
        fake_env, seller_id, region, category, date_type, start, end, options):
    from xl_fastmoss.sheets import functions as sheet_functions
    from xl_fastmoss.sheets.calls import read_history_call

    before = fake_env.call_count
    try:
        read_history_call(seller_id, region, category, date_type, start, end, options)
        valid = True
    except FastMossError:
        valid = False
    table = sheet_functions.history_table(seller_id, region, category, date_type, start, end, *options)
    assert is_rectangle(table)
    if not valid:
        assert fake_env.call_count == before
        assert len(table) == 1 and len(table[0]) == 1
        assert table[0][0].startswith("FastMoss: ") and "Traceback" not in table[0][0]
        assert len(table[0][0]) < 600


field_values = st.one_of(
    st.none(), st.text(max_size=20), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
known_keys = st.sampled_from(list(EXAMPLE_ROW) + ["shop_info"])
shop_keys = st.sampled_from(list(EXAMPLE_ROW["shop_info"]))


@st.composite
def drifted_rows(draw):
    row = copy.deepcopy(EXAMPLE_ROW)
    for key in draw(st.lists(known_keys, max_size=4)):
        if draw(st.booleans()):
            row.pop(key, None)
        else:
            row[key] = draw(field_values)
    if isinstance(row.get("shop_info"), dict):
        for key in draw(st.lists(shop_keys, max_size=4)):
            row["shop_info"][key] = draw(field_values)
    row.update(draw(st.dictionaries(st.text(max_size=8), field_values, max_size=2)))
    return draw(st.one_of(st.just(row), field_values)) if draw(st.integers(0, 9)) == 0 else row


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(drifted_rows(), max_size=5), endpoint=st.sampled_from([MOST_PROMOTED, TOP_SELLING]))
def test_a_drifted_vendor_answer_degrades_to_blanks_and_warnings(rows, endpoint):
    warnings = []
    frame = rows_to_frame(rows, endpoint, 1, warnings)
    assert tuple(frame.columns) == columns_for(endpoint)
    assert {c: str(t) for c, t in frame.dtypes.items()} == {c: dtype_of(c) for c in columns_for(endpoint)}
    assert frame["rank"].tolist() == list(range(1, len(rows) + 1))
    assert all(isinstance(w, str) and len(w) < 200 for w in warnings)

