"""What was spent and what is left, as people read it: ``xl-fastmoss usage`` and ``cache``,
FM_STATUS's rows and the ribbon's Usage button."""

from __future__ import annotations

import json

from .cache import LocalFileCache, open_local_cache
from .ledger import Entry, Ledger, Usage, first_day, local_day, open_ledger
from .redact import redact_url
from .settings import Settings


def left_text(limit: int | None, used: int) -> str:
    """What is left of one budget: ``"150 of 200"``, ``"none (200 used of 200)"``, or ``"no budget"``."""
    if limit is None:
        return "no budget"
    left = max(0, limit - used)
    return f"{left:,} of {limit:,}" if left else f"none ({used:,} used of {limit:,})"


def spend_rows(ledger: Ledger) -> list[list]:
    """FM_STATUS's rows on today's spend (the user's local day) and the budgets' rest."""
    calls, rows = ledger.today()
    return [
        ["Today (local time)", local_day()],
        ["API calls today", calls],
        ["Rows received today", rows],
        ["Calls left today", left_text(ledger.budgets.calls, calls)],
        ["Rows left today", left_text(ledger.budgets.rows, rows)],
        ["Usage ledger", ledger.describe()],
    ]


def recent_days_lines(ledger: Ledger, days: int = 7) -> list[str]:
    """One line a day of the last ``days`` with calls: for the ribbon's Usage button."""
    totals: dict[str, list[int]] = {}
    for usage in ledger.usage(days):
        day = totals.setdefault(usage.day, [0, 0])
        day[0] += usage.calls
        day[1] += usage.rows
    return [f"{day}: {calls:,} calls, {rows:,} rows" for day, (calls, rows) in sorted(totals.items())]


def usage_report(settings: Settings, days: int, output_format: str, each_call: bool = False) -> list[str]:
    """The lines ``xl-fastmoss usage`` prints."""
    ledger = open_ledger(settings)
    try:
        if each_call:
            entries = ledger.entries(days)
            if output_format == "json":
                return _json_lines([_entry_json(e) for e in entries])
            return _entries_table(entries) + [f"ledger: {ledger.describe()}"]
        found = ledger.usage(days)
        if output_format == "json":
            return _json_lines([{"day": u.day, "endpoint": u.endpoint, "calls": u.calls, "rows": u.rows}
                                for u in found])
        calls, rows = ledger.today()
        budgets = ledger.budgets
        return _usage_table(found, days) + [
            f"today ({local_day()}, local time): {calls:,} calls, {rows:,} rows; "
            f"calls left: {left_text(budgets.calls, calls)}; rows left: {left_text(budgets.rows, rows)}",
            f"ledger: {ledger.describe()}",
        ]
    finally:
        ledger.close()


def _json_lines(value: list) -> list[str]:
    """JSON as lines: ASCII only, so no line holds a character a terminal acts on."""
    return json.dumps(value, ensure_ascii=True, indent=1).splitlines()


def _usage_table(found: list[Usage], days: int) -> list[str]:
    since = first_day(days)
    if not found:
        return [f"no calls since {since}"]
    lines = [f"{'day':<10}  {'endpoint':<14}  {'calls':>7}  {'rows':>9}"]
    lines += [f"{u.day:<10}  {u.endpoint:<14}  {u.calls:>7,}  {u.rows:>9,}" for u in found]
    lines.append(f"{'since ' + since:<26}  {sum(u.calls for u in found):>7,}  {sum(u.rows for u in found):>9,}")
    return lines


def _entries_table(entries: list[Entry]) -> list[str]:
    if not entries:
        return ["no calls"]
    lines = ["time (local)         endpoint        page  size   rows  outcome            asked by"]
    for e in entries:
        when = e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{when}  {e.endpoint:<14}  {e.page:>4}  {e.pagesize:>4}  {e.rows:>5}  {e.outcome:<17}  {e.asked}")
    return lines


def _entry_json(entry: Entry) -> dict:
    return {"at": entry.at.isoformat(), "day": entry.day, "endpoint": entry.endpoint, "page": entry.page,
            "pagesize": entry.pagesize, "rows": entry.rows, "outcome": entry.outcome, "asked": entry.asked}


def cache_report(settings: Settings, *, prune: bool = False, clear: bool = False) -> list[str]:
    """The lines ``xl-fastmoss cache`` prints, after pruning or clearing the local file if asked."""
    cache = open_local_cache(settings.cache_dir, settings.cache_ttl, settings.max_page_bytes)
    try:
        if not isinstance(cache, LocalFileCache):  # no cache folder: nothing lasts beyond the process
            return ["cache: memory only (no cache folder)"]
        lines = []
        if cache.problem:
            lines.append(f"warning: {cache.problem}")
        if clear:
            gone = cache.clear()
            lines.append(f"cleared: {gone.answers:,} answers and {gone.pieces:,} index rows "
                         "(the usage ledger and the refresh record are kept)")
        elif prune:
            gone = cache.prune(settings.settle_days)
            lines.append(f"pruned: {gone.expired:,} answers expired more than 7 days ago, {gone.unreadable:,} "
                         f"that do not decode, {gone.pieces:,} index rows, {len(gone.aside):,} files moved aside")
        now = cache.inventory(settings.settle_days)
        lines += [
            f"cache: {now.path} ({_size(now.size)})",
            f"answers: {now.answers:,} ({now.final:,} final, {now.fresh:,} fresh, {now.expired:,} expired, "
            f"{now.unreadable:,} that do not decode); pieces indexed: {now.pieces:,}",
        ]
        if now.aside:
            lines.append(f"files moved aside: {', '.join(p.name for p in now.aside)} (--prune removes them)")
        if settings.cache_url:
            lines.append(f"team cache: {redact_url(settings.cache_url)} (not counted here: its answers "
                         "expire on Redis by themselves)")
        return lines
    finally:
        cache.close()


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 1024:.0f} KiB"
