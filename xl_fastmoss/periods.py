"""Ranking periods: what a user may type for a day, an ISO week or a month, and "latest".

The vendor publishes completed periods only. Its day boundary is undocumented; public code
that calls the API uses Asia/Shanghai, and so do we: "latest day" is yesterday in Shanghai.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from .errors import InvalidArgument

VENDOR_TIME_ZONE = ZoneInfo("Asia/Shanghai")
DATE_TYPES = ("day", "week", "month")
#: No TikTok Shop ranking predates this; earlier dates are refused without a call.
EARLIEST_DATE = dt.date(2020, 1, 1)

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
    ``2026-03``), a date or datetime (Excel hands dates over as datetimes), or
    ``latest``/empty for the last completed period.
    """
    today = today or vendor_today()
    if date_value is None or (isinstance(date_value, str) and date_value.strip().lower() in ("", "latest")):
        return _latest(date_type, today)
    if isinstance(date_value, dt.datetime):
        date_value = date_value.date()
    if isinstance(date_value, dt.date):
        return _from_date(date_type, date_value, today)
    if not isinstance(date_value, str):
        raise InvalidArgument("date_value", date_value, _form_hint(date_type))
    text = date_value.strip()
    if date_type == "day":
        return _from_date("day", _parse_day(text, date_type), today)
    if date_type == "week":
        match = _WEEK.match(text)
        if match:
            year, week = int(match[1]), int(match[2])
            weeks_in_year = dt.date(year, 12, 28).isocalendar().week
            if not 1 <= week <= weeks_in_year:
                raise InvalidArgument(
                    "date_value", date_value, f"ISO year {year} has weeks 01..{weeks_in_year}")
            return _check_completed("week", dt.date.fromisocalendar(year, week, 1), today)
        return _from_date("week", _parse_day(text, date_type), today)
    match = _MONTH.match(text)
    if match:
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise InvalidArgument("date_value", date_value, "months are 01..12")
        return _check_completed("month", dt.date(year, month, 1), today)
    return _from_date("month", _parse_day(text, date_type), today)


def _parse_day(text: str, date_type: str) -> dt.date:
    match = _DAY.match(text)
    if not match:
        raise InvalidArgument("date_value", text, _form_hint(date_type))
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
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
        raise InvalidArgument(
            "date_value", value, f"rankings start in {EARLIEST_DATE:%Y}; ask for a later {date_type}")
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
    return f"{start:%Y-%m}"


def _form_hint(date_type: str) -> str:
    return {
        "day": "use YYYY-MM-DD, a date, or latest",
        "week": "use YYYY-WW (ISO week), any date in that week, or latest",
        "month": "use YYYY-MM, a date in that month, or latest",
    }[date_type]
