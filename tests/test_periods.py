import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from xl_fastmoss.errors import InvalidArgument
from xl_fastmoss.periods import normalize_date_type, normalize_period, vendor_today

TODAY = dt.date(2026, 11, 27)  # a Friday in ISO week 48


@pytest.mark.parametrize("given, expected", [
    ("2026-04-01", "2026-04-01"),
    ("2026-4-1", "2026-04-01"),
    (dt.date(2026, 4, 1), "2026-04-01"),
    (dt.datetime(2026, 4, 1, 0, 0), "2026-04-01"),  # how Excel hands over a date cell
])
def test_day_accepts_text_dates_and_datetimes(given, expected):
    assert normalize_period("day", given, TODAY) == expected


@pytest.mark.parametrize("given, expected", [
    ("2026-05", "2026-05"),
    ("2026-W05", "2026-05"),
    ("2026-01-01", "2026-01"),          # Thursday: ISO week 1 of 2026 (a %W week would say 00)
    ("2027-01-01", None),               # future: refused below
    (dt.datetime(2026, 3, 30), "2026-14"),
    ("2021-01-03", "2020-53"),          # Sunday in ISO week 53 of ISO year 2020
])
def test_week_is_the_iso_week_of_any_date(given, expected):
    if expected is None:
        with pytest.raises(InvalidArgument):
            normalize_period("week", given, TODAY)
    else:
        assert normalize_period("week", given, TODAY) == expected


def test_week_53_exists_only_in_long_iso_years():
    assert normalize_period("week", "2020-53", TODAY) == "2020-53"
    with pytest.raises(InvalidArgument, match="ISO year 2025 has weeks 01..52"):
        normalize_period("week", "2025-53", TODAY)
    with pytest.raises(InvalidArgument, match="weeks 01..53"):
        normalize_period("week", "2026-00", dt.date(2027, 6, 1))


@pytest.mark.parametrize("given, expected", [
    ("2026-03", "2026-03"), ("2026-3", "2026-03"), ("2026-03-17", "2026-03"), (dt.date(2026, 3, 31), "2026-03"),
])
def test_month_accepts_year_month_or_a_date(given, expected):
    assert normalize_period("month", given, TODAY) == expected


@pytest.mark.parametrize("date_type, expected", [
    ("day", "2026-11-26"), ("week", "2026-47"), ("month", "2026-10"),
])
@pytest.mark.parametrize("latest", ["latest", "LATEST", "", None, "  "])
def test_latest_is_the_last_completed_period(date_type, expected, latest):
    assert normalize_period(date_type, latest, TODAY) == expected


@pytest.mark.parametrize("date_type, value", [
    ("day", "2026-11-27"), ("day", "2030-01-01"), ("week", "2026-48"), ("month", "2026-11"),
])
def test_a_period_not_yet_completed_is_refused_naming_the_latest(date_type, value):
    with pytest.raises(InvalidArgument, match="not completed yet.*the latest is"):
        normalize_period(date_type, value, TODAY)


@pytest.mark.parametrize("value, hint", [
    ("2026-02-30", "does not exist"), ("2026-13", "months are 01..12"), ("April", "YYYY-MM"),
    ("2026/04/01", "YYYY-MM-DD"), (True, "YYYY-MM-DD"), ("1999-01-01", "rankings start"),
])
def test_bad_dates_name_the_argument_and_the_forms_allowed(value, hint):
    date_type = "month" if value == "2026-13" or value == "April" else "day"
    with pytest.raises(InvalidArgument) as caught:
        normalize_period(date_type, value, TODAY)
    assert caught.value.argument == "date_value"
    assert hint in str(caught.value)


@pytest.mark.parametrize("date_type, value", [
    ("day", "0000-01-01"), ("week", "0000-01"), ("week", "0000-W52"), ("week", "0000-01-01"),
    ("month", "0000-01"), ("month", "0000-12-31"), ("month", "0001-01"), ("week", "2019-52"),
])
def test_year_0_and_years_before_the_first_ranking_are_refused_in_one_line(date_type, value):
    with pytest.raises(InvalidArgument) as caught:
        normalize_period(date_type, value, TODAY)
    assert str(caught.value) == (
        f"date_value: {value!r} is not allowed; rankings start in 2020; ask for a later {date_type}")


@pytest.mark.parametrize("date_type, expected", [("day", "2026-04-01"), ("week", "2026-14"), ("month", "2026-04")])
@pytest.mark.parametrize("serial", [46113, 46113.0, 46113.75, np.float64(46113.0), np.int64(46113)])
def test_a_number_is_an_excel_date_serial_as_a_formula_hands_it_over(date_type, expected, serial):
    # =FM_MOSTPROMOTED("US",14,"day",TODAY()-1): Excel passes the date it computed as a number.
    assert normalize_period(date_type, serial, TODAY) == expected


@pytest.mark.parametrize("date_type", ["day", "week", "month"])
@pytest.mark.parametrize("number", [
    0, 0.0, 0.5, -1, -46113.0, 2958466, 2958466.0, 1e308, -1e308, math.inf, -math.inf, math.nan,
    np.float64("nan"), pytest.param(10**400, id="10**400"),
])
def test_a_number_outside_excel_dates_is_refused_in_one_line(date_type, number):
    with pytest.raises(InvalidArgument) as caught:
        normalize_period(date_type, number, TODAY)
    message = str(caught.value)
    assert message.startswith("date_value: ") and "\n" not in message
    assert "a number is read as an Excel date serial (1 is 1900-01-01, 2958465 is 9999-12-31)" in message


@pytest.mark.parametrize("serial, read_as, reason", [
    (1, "1900-01-01", "rankings start in 2020"),
    (60, "1900-02-28", "rankings start in 2020"),   # Excel's 29 February 1900, which never was
    (61, "1900-03-01", "rankings start in 2020"),
    (43830.99, "2019-12-31", "rankings start in 2020"),
    (2958465, "9999-12-31", "that day is not completed yet"),
    (2958465.9999, "9999-12-31", "that day is not completed yet"),
])
def test_a_serial_excel_knows_says_which_date_it_was_read_as(serial, read_as, reason):
    with pytest.raises(InvalidArgument) as caught:
        normalize_period("day", serial, TODAY)
    assert str(caught.value).startswith(
        f"date_value: {serial!r} is not allowed; read as the Excel date {read_as}, {reason}")


@pytest.mark.parametrize("date_type", ["day", "week", "month"])
@pytest.mark.parametrize("value, hint", [
    (dt.datetime.min, "rankings start in 2020"),
    (dt.date.min, "rankings start in 2020"),
    (dt.datetime.max, "not completed yet"),
    (dt.date.max, "not completed yet"),
    (dt.datetime(1899, 12, 31), "rankings start in 2020"),   # serial 0 in a date-formatted cell
    (pd.NaT, "a date, not a missing one"),
])
def test_the_calendars_ends_and_a_missing_datetime_are_refused_in_one_line(date_type, value, hint):
    with pytest.raises(InvalidArgument) as caught:
        normalize_period(date_type, value, TODAY)
    assert caught.value.argument == "date_value" and hint in str(caught.value)


def test_the_first_year_is_written_with_four_digits():
    with pytest.raises(InvalidArgument, match="date_value: '0001-01' is not allowed"):
        normalize_period("month", dt.date(1, 1, 1), TODAY)


def test_date_type_is_day_week_or_month_in_any_case():
    assert normalize_date_type(" Week ") == "week"
    with pytest.raises(InvalidArgument, match="date_type: 'year' is not allowed; use day, week or month"):
        normalize_date_type("year")


def test_the_vendor_day_turns_at_midnight_in_shanghai():
    assert vendor_today(dt.datetime(2026, 4, 1, 15, 59, tzinfo=dt.timezone.utc)) == dt.date(2026, 4, 1)
    assert vendor_today(dt.datetime(2026, 4, 1, 16, 0, tzinfo=dt.timezone.utc)) == dt.date(2026, 4, 2)
