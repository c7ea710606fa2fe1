"""Ranking periods: what a user may type for a day, an ISO week or a month, and "latest";
the period before another, and the periods from one to another.

The vendor publishes completed periods only. Its day boundary is undocumented; public code
that calls the API uses Asia/Shanghai, and so do we: "latest day" is yesterday in Shanghai.
ISO weeks run on across year boundaries: 2026-53 (2026-12-28 to 2027-01-03) comes before 2027-01.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from zoneinfo import ZoneInfo

from .errors import InvalidArgument

VENDOR_TIME_ZONE = ZoneInfo("Asia/Shanghai")
DATE_TYPES = ("day", "week", "month")
#: No TikTok Shop ranking predates this; earlier dates are refused without a call.
EARLIEST_DATE = dt.date(2020, 1, 1)

#: Excel's date serials (its 1900 date system): 1 is 1900-01-01, 2958465 is 9999-12-31.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_LAST_EXCEL_SERIAL = 2_958_465

_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WEEK = re.compile(r"^(\d{4})-W?(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def vendor_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date where the vendor draws its day boundary."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(VENDOR_TIME_ZONE).date()


def normalize_date_type(date_type: object) -> str:
    text = str(date_type).strip().lower() if isinstance(date_type, str) else None
    if text not in DATE_TYPES:
        raise InvalidArgument("date_type", date_type, "use day, week or month")
    return text


def normalize_period(date_type: str, date_value: object, today: dt.date | None = None) -> str:
    """The API's ``date_info.value`` for a completed period, validated.

    ``date_value`` may be text in the period's own form (``2026-04-01``, ``2026-14``,
    ``2026-03``), a date or datetime (Excel hands a date cell over as a datetime), a number
    (Excel hands a date computed inside the formula, ``TODAY()-1``, as its date serial), or
    ``latest``/empty for the last completed period. Anything else, and any date outside the
    calendar or before the first ranking, raises InvalidArgument.
    """
    today = today or vendor_today()
    if date_value is None or (isinstance(date_value, str) and date_value.strip().lower() in ("", "latest")):
        return _latest(date_type, today)
    if isinstance(date_value, dt.date):
        if date_value != date_value:  # pandas' NaT is a datetime that equals nothing
            raise InvalidArgument("date_value", date_value, f"a date, not a missing one; {_form_hint(date_type)}")
        if isinstance(date_value, dt.datetime):
            date_value = date_value.date()
        return _from_date(date_type, date_value, today)
    if isinstance(date_value, numbers.Real) and not isinstance(date_value, bool):
        return _from_serial(date_type, date_value, today)
    if not isinstance(date_value, str):
        raise InvalidArgument("date_value", date_value, _form_hint(date_type))
    text = date_value.strip()
    if date_type == "day":
        return _from_date("day", _parse_day(text, date_type), today)
    if date_type == "week":
        match = _WEEK.match(text)
        if match:
            year, week = _year(match[1], date_value, "week"), int(match[2])
            weeks_in_year = dt.date(year, 12, 28).isocalendar().week
            if not 1 <= week <= weeks_in_year:
                raise InvalidArgument(
                    "date_value", date_value, f"ISO year {year} has weeks 01..{weeks_in_year}")
            return _check_completed("week", dt.date.fromisocalendar(year, week, 1), today)
        return _from_date("week", _parse_day(text, date_type), today)
    match = _MONTH.match(text)
    if match:
        year, month = _year(match[1], date_value, "month"), int(match[2])
        if not 1 <= month <= 12:
            raise InvalidArgument("date_value", date_value, "months are 01..12")
        return _check_completed("month", dt.date(year, month, 1), today)
    return _from_date("month", _parse_day(text, date_type), today)


def _year(digits: str, given: object, date_type: str) -> int:
    """The year of a typed period; years before the first ranking (year 0 among them, which
    no calendar has) are refused here, before a date is built of them."""
    year = int(digits)
    if year < EARLIEST_DATE.year:
        raise InvalidArgument("date_value", given, _too_early(date_type))
    return year


def _from_serial(date_type: str, serial: numbers.Real, today: dt.date) -> str:
    """A number as Excel hands a date computed in a formula (``TODAY()-1``): a date serial,
    its fraction the time of day."""
    try:
        number = float(serial)
    except (OverflowError, ValueError):  # an int of 400 digits
        number = math.nan
    if not (math.isfinite(number) and 1 <= number < _LAST_EXCEL_SERIAL + 1):
        raise InvalidArgument(
            "date_value", serial,
            f"a number is read as an Excel date serial (1 is 1900-01-01, {_LAST_EXCEL_SERIAL} is 9999-12-31); "
            f"{_form_hint(date_type)}")
    if number < 60:
        number += 1  # Excel counts a 29 February 1900 that never was: serials before it are a day off
    day = _EXCEL_EPOCH + dt.timedelta(days=math.floor(number))
    try:
        return _from_date(date_type, day, today)
    except InvalidArgument as refused:
        raise InvalidArgument("date_value", serial, f"read as the Excel date {day}, {refused.allowed}") from None


def _parse_day(text: str, date_type: str) -> dt.date:
    match = _DAY.match(text)
    if not match:
        raise InvalidArgument("date_value", text, _form_hint(date_type))
    year = _year(match[1], text, date_type)
    try:
        return dt.date(year, int(match[2]), int(match[3]))
    except ValueError:
        raise InvalidArgument("date_value", text, "that day does not exist in the calendar") from None


def _from_date(date_type: str, day: dt.date, today: dt.date) -> str:
    if date_type == "day":
        start = day
    elif date_type == "week":
        start = day - dt.timedelta(days=day.weekday())
    else:
        start = day.replace(day=1)
    return _check_completed(date_type, start, today)


def _check_completed(date_type: str, start: dt.date, today: dt.date) -> str:
    value = _format(date_type, start)
    if start < EARLIEST_DATE:
        raise InvalidArgument("date_value", value, _too_early(date_type))
    if start >= _period_start(date_type, today):
        raise InvalidArgument(
            "date_value", value,
            f"that {date_type} is not completed yet (Asia/Shanghai time); "
            f"the latest is {_latest(date_type, today)}")
    return value


def _period_start(date_type: str, day: dt.date) -> dt.date:
    if date_type == "day":
        return day
    if date_type == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _latest(date_type: str, today: dt.date) -> str:
    current = _period_start(date_type, today)
    previous = _period_start(date_type, current - dt.timedelta(days=1))
    return _format(date_type, previous)


def _format(date_type: str, start: dt.date) -> str:
    if date_type == "day":
        return start.isoformat()
    if date_type == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-{week:02d}"
    return f"{start.year:04d}-{start.month:02d}"  # strftime's %Y drops the zeros of year 1


def _too_early(date_type: str) -> str:
    return f"rankings start in {EARLIEST_DATE.year}; ask for a later {date_type}"


def _form_hint(date_type: str) -> str:
    return {
        "day": "use YYYY-MM-DD, a date, or latest",
        "week": "use YYYY-WW (ISO week), any date in that week, or latest",
        "month": "use YYYY-MM, a date in that month, or latest",
    }[date_type]


# -- periods in order ---------------------------------------------------------------------------

#: A range start of ``-N`` (text, or a negative whole number) means N periods before its end.
_RELATIVE = re.compile(r"^-\s*(\d{1,6})$")


def first_day(date_type: str, value: str) -> dt.date:
    """The first day of a normalized period (``2026-04-01``, ``2026-14``, ``2026-03``)."""
    if date_type == "day":
        return dt.date.fromisoformat(value)
    year, number = (int(part) for part in value.split("-"))
    if date_type == "week":
        return dt.date.fromisocalendar(year, number, 1)
    return dt.date(year, number, 1)


def shift_period(date_type: str, value: str, periods: int) -> str:
    """The normalized period ``periods`` after ``value`` (before it when negative), unchecked."""
    start = first_day(date_type, value)
    if date_type == "day":
        return _format("day", start + dt.timedelta(days=periods))
    if date_type == "week":
        return _format("week", start + dt.timedelta(weeks=periods))
    months = start.year * 12 + start.month - 1 + periods
    return _format("month", dt.date(months // 12, months % 12 + 1, 1))


def periods_between(date_type: str, first: str, last: str) -> int:
    """How many periods ``last`` is after ``first`` (negative when before)."""
    a, b = first_day(date_type, first), first_day(date_type, last)
    if date_type == "day":
        return (b - a).days
    if date_type == "week":
        return (b - a).days // 7
    return (b.year - a.year) * 12 + b.month - a.month


def previous_period(date_type: str, value: str, argument: str = "compare") -> str:
    """The period of the same type just before the normalized ``value``; refused before 2020."""
    earlier = shift_period(date_type, value, -1)
    if first_day(date_type, earlier) < EARLIEST_DATE:
        raise InvalidArgument(argument, "previous", f"{date_type} {value} is the first one with rankings; "
                              "there is no earlier ranking to compare with")
    return earlier


def period_range(date_type: str, start: object, end: object, *, most: int,
                 today: dt.date | None = None) -> list[str]:
    """Every period from ``start`` to ``end``, both included, oldest first; at most ``most``.

    ``start`` and ``end`` take what :func:`normalize_period` takes (``latest`` or empty: the
    last completed period). ``start`` may also be ``-N`` (text, or a negative whole number): N
    periods before ``end``, as Bloomberg's relative dates (``-29`` with ``latest``: the last 30
    days). Raises InvalidArgument naming ``start`` or ``end``, before any call.
    """
    today = today or vendor_today()
    last = _range_end("end", date_type, end, today)
    offset = _relative_offset(start)
    if offset is not None:
        if offset + 1 > most:
            raise InvalidArgument("start", start, f"-{offset} asks for {offset + 1} {date_type}s; "
                                  f"{_range_hint(date_type, most)}")
        first = shift_period(date_type, last, -offset)
        if first_day(date_type, first) < EARLIEST_DATE:
            raise InvalidArgument("start", start, f"{offset} {date_type}s before {last} is before 2020, "
                                  f"when rankings start; {_range_hint(date_type, most)}")
    else:
        first = _range_end("start", date_type, start, today)
    count = periods_between(date_type, first, last) + 1
    if count < 1:
        raise InvalidArgument("start", start, f"the start ({first}) must not be after the end ({last})")
    if count > most:
        raise InvalidArgument("start", start, f"{first} to {last} is {count} {date_type}s; "
                              f"{_range_hint(date_type, most)}")
    return [shift_period(date_type, first, n) for n in range(count)]


def _range_end(argument: str, date_type: str, value: object, today: dt.date) -> str:
    try:
        return normalize_period(date_type, value, today)
    except InvalidArgument as refused:
        raise InvalidArgument(argument, refused.value, refused.allowed) from None


def _relative_offset(start: object) -> int | None:
    """N for a start of ``-N``; None for anything else."""
    if isinstance(start, bool):
        return None
    if isinstance(start, numbers.Real) and not isinstance(start, numbers.Integral):
        number = float(start)
        if math.isfinite(number) and number < 0 and number.is_integer():
            return int(-number)
        return None
    if isinstance(start, numbers.Integral):
        return int(-start) if start < 0 else None
    if isinstance(start, str):
        match = _RELATIVE.match(start.strip())
        return int(match[1]) if match else None
    return None


def _range_hint(date_type: str, most: int) -> str:
    return f"a range holds at most {most} {date_type}s (start -{most - 1} with end latest: the last {most})"
