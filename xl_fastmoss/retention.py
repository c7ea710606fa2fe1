"""Which answers are final: a period's answer fetched after the period settled never expires.

A ranking period ends at midnight after it, in the vendor's time zone (Asia/Shanghai, see
:mod:`.periods`): a day at the next midnight, an ISO week on the Monday after, a month on the
first of the next. FastMoss may still correct a period for a while after it ends; once
``settle_days`` (default 3) have passed, the period is settled and its answers do not change.

An answer is **final** when it was fetched after its period settled. A final answer never
expires, and a refresh does not ask for it again (the estimate counts it as free). An answer
fetched before the period settled follows the time-to-live as before: once it expires after
the period settled, the next fetch is the one that becomes final. So each page of a period is
paid for at most once after it settled, never again.
"""

from __future__ import annotations

import datetime as dt

from .periods import VENDOR_TIME_ZONE


def period_end(date_type: str, date_value: str) -> dt.datetime | None:
    """When the period ``date_value`` of ``date_type`` ends (aware), or None when it does not read."""
    try:
        if date_type == "day":
            start = dt.date.fromisoformat(date_value)
            end = start + dt.timedelta(days=1)
        elif date_type == "week":
            year, week = (int(part) for part in date_value.split("-"))
            end = dt.date.fromisocalendar(year, week, 1) + dt.timedelta(days=7)
        elif date_type == "month":
            year, month = (int(part) for part in date_value.split("-"))
            end = dt.date(year + month // 12, month % 12 + 1, 1)
        else:
            return None
    except (ValueError, TypeError, OverflowError):
        return None
    return dt.datetime.combine(end, dt.time(), VENDOR_TIME_ZONE)


def settled_at(body: object, settle_days: float) -> dt.datetime | None:
    """When the period a request body asks for settles; None when the body names no readable period."""
    date_info = body.get("filter", {}).get("date_info") if isinstance(body, dict) else None
    if not isinstance(date_info, dict):
        return None
    date_type, date_value = date_info.get("type"), date_info.get("value")
    if not isinstance(date_type, str) or not isinstance(date_value, str):
        return None
    end = period_end(date_type, date_value)
    return None if end is None else end + dt.timedelta(days=settle_days)


def is_final(body: object, fetched_at: dt.datetime, settle_days: float) -> bool:
    """Whether an answer to ``body`` fetched at ``fetched_at`` (aware) is final: fetched after its period settled."""
    settles = settled_at(body, settle_days)
    return settles is not None and fetched_at >= settles
