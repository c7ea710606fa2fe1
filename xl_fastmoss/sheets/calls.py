"""What an FM_ worksheet call asks for: its arguments, read as Excel hands them over.

``=FM_MOSTPROMOTED(region, category_id, date_type, date_value, [option, value]...)`` and
``=FM_HISTORY(seller_id, region, category_id, date_type, start, end, [option, value]...)``; each
option is a name/value pair or one ``"name=value"`` string. The Excel functions and both
refreshes read calls through :func:`read_fm_call`, so they agree on what every cell means.

A call knows what its table needs and how it shows: :meth:`first_wave` lists the tables its
first wave asks for (no call: for a cost estimate), :meth:`job` is the work that fetches them
(:mod:`xl_fastmoss.waves`), :meth:`rows` the rectangle of its outcome, :meth:`largest_shape`
the most cells it may fill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..columns import COMPARE_FIELDS, columns_for, default_fields, default_history_fields, history_columns
from ..endpoints import ENDPOINTS, Endpoint
from ..errors import InvalidArgument
from ..movers import Comparison, ComparisonJob
from ..query import RankingQuery, TableRequest, is_blank, validate_rows
from ..result import RankingResult
from ..shop_history import HistoryQuery, HistoryResult, HistorySearch, first_wave
from ..waves import Job, TableJob
from .table import history_rows, to_rows

FUNCTION_ENDPOINTS = {
    "FM_MOSTPROMOTED": ENDPOINTS["most_promoted"],
    "FM_TOPSELLING": ENDPOINTS["top_selling"],
    "FM_FULLYMANAGED": ENDPOINTS["fully_managed"],
}
HISTORY_FUNCTION = "FM_HISTORY"
_OPTIONS = ("rows", "fields", "headers", "shop_type", "cross_border", "sort", "compare")
_HISTORY_OPTIONS = ("ranking", "sort", "depth", "fields", "headers")


@dataclass(frozen=True)
class TableCall:
    """One call of a ranking function, validated: the table to fetch and how to show it.

    ``compare``, when set, is the earlier ranking the table is compared with (the option compare).
    """

    function: str
    request: TableRequest
    fields: tuple[str, ...] | None
    headers: bool
    compare: Comparison | None = None

    @property
    def shown_fields(self) -> tuple[str, ...]:
        return self.fields or default_fields(self.request.query.endpoint, compare=self.compare is not None)

    @property
    def queries(self) -> tuple[RankingQuery, ...]:
        """Every ranking the call reads."""
        return tuple(request.query for request in self.first_wave())

    def first_wave(self) -> list[TableRequest]:
        """The tables the call asks for: all of them, at once. No call is made."""
        return self.compare.requests() if self.compare else [self.request]

    def job(self, refresh: bool = False) -> Job[RankingResult]:
        return ComparisonJob(self.compare, refresh) if self.compare else TableJob(self.request, refresh)

    def rows(self, result: RankingResult | HistoryResult) -> list[list]:
        assert isinstance(result, RankingResult)
        return to_rows(result, self.shown_fields, self.headers)

    def largest_shape(self) -> tuple[int, int]:
        """(rows, columns): the most cells the table may fill, headers included."""
        return self.request.rows + (1 if self.headers else 0), len(self.shown_fields)

    def missing_values(self, rows: list[list]) -> int:
        """Blank cells of the table FastMoss left without a value (a new shop's movement is no such blank)."""
        shown = [i for i, f in enumerate(self.shown_fields) if f not in COMPARE_FIELDS]
        return sum(row[i] is None for row in _body(rows, self.headers) for i in shown if i < len(row))

    def describe(self) -> str:
        return self.compare.describe() if self.compare else self.request.query.describe()


@dataclass(frozen=True)
class HistoryCall:
    """One FM_HISTORY call, validated: the history to fetch and how to show it."""

    function: str
    query: HistoryQuery
    fields: tuple[str, ...] | None
    headers: bool

    @property
    def shown_fields(self) -> tuple[str, ...]:
        return self.fields or default_history_fields(self.query.ranking.endpoint)

    @property
    def queries(self) -> tuple[RankingQuery, ...]:
        """Every ranking the call reads: one a period."""
        return tuple(request.query for request in self.first_wave())

    def first_wave(self) -> list[TableRequest]:
        """The first page of every period; deeper pages follow only where the shop is not found
        (at most ``query.most_pages`` pages in all). No call is made."""
        return first_wave(self.query)

    def job(self, refresh: bool = False) -> HistorySearch:
        return HistorySearch(self.query, refresh=refresh)

    def rows(self, result: RankingResult | HistoryResult) -> list[list]:
        assert isinstance(result, HistoryResult)
        return history_rows(result, self.shown_fields, self.headers)

    def largest_shape(self) -> tuple[int, int]:
        return len(self.query.periods) + (1 if self.headers else 0), len(self.shown_fields)

    def missing_values(self, rows: list[list]) -> int:
        """Blank cells FastMoss left without a value, in the periods where the shop is found (a period
        without it is blank on purpose, and its note says why)."""
        fields = self.shown_fields

        def found(row: list) -> bool:
            if "rank" in fields:
                return row[fields.index("rank")] is not None
            return "note" not in fields or row[fields.index("note")] is None

        shown = [i for i, f in enumerate(fields) if f not in ("date_value", "rank", "note")]
        return sum(row[i] is None for row in _body(rows, self.headers) if found(row) for i in shown)

    def describe(self) -> str:
        return self.query.describe()


FmCall = TableCall | HistoryCall


def _body(rows: list[list], headers: bool) -> list[list]:
    return rows[1:] if headers else rows


def read_fm_call(function: str, args) -> FmCall:
    """Validate the arguments of any FM_ table function (cell values, in order) or raise InvalidArgument."""
    function = function.upper()
    args = tuple(args)
    if function == HISTORY_FUNCTION:
        padded = args + (None,) * max(0, 6 - len(args))
        seller_id, region, category_id, date_type, start, end = padded[:6]
        return read_history_call(seller_id, region, category_id, date_type, start, end, padded[6:])
    padded = args + (None,) * max(0, 4 - len(args))
    region, category_id, date_type, date_value = padded[:4]
    return read_call(function, region, category_id, date_type, date_value, padded[4:])


def read_call(function: str, region, category_id, date_type, date_value, options=()) -> TableCall:
    """Validate a ranking function's arguments (cell values) or raise InvalidArgument; makes no call."""
    function = function.upper()
    endpoint = FUNCTION_ENDPOINTS[function]
    named = _read_options(_allowed(endpoint), options)
    for argument, value in (("region", region), ("category_id", category_id),
                            ("date_type", date_type), ("date_value", date_value)):
        _require_single_cell(argument, value)
    query = RankingQuery.build(
        endpoint, region, category_id, date_type, date_value,
        shop_type=named.get("shop_type"), cross_border=named.get("cross_border"),
        sort_by=named.get("sort"))
    request = TableRequest(query, validate_rows(named.get("rows")))
    compare = None if is_blank(named.get("compare")) else Comparison.build(request, named["compare"])
    available = columns_for(endpoint) + (COMPARE_FIELDS if compare else ())
    return TableCall(
        function=function,
        request=request,
        fields=_fields(available, named.get("fields"), compare_hint=compare is None),
        headers=_boolean("headers", named.get("headers", True)),
        compare=compare,
    )


def read_history_call(seller_id, region, category_id, date_type, start, end, options=()) -> HistoryCall:
    """Validate FM_HISTORY's arguments (cell values) or raise InvalidArgument; makes no call."""
    named = _read_options(_HISTORY_OPTIONS, options)
    for argument, value in (("seller_id", seller_id), ("region", region), ("category_id", category_id),
                            ("date_type", date_type), ("start", start), ("end", end)):
        _require_single_cell(argument, value)
    query = HistoryQuery.build(seller_id, region, category_id, date_type, start, end,
                               ranking=named.get("ranking"), sort_by=named.get("sort"), depth=named.get("depth"))
    return HistoryCall(
        function=HISTORY_FUNCTION,
        query=query,
        fields=_fields(history_columns(query.ranking.endpoint), named.get("fields")),
        headers=_boolean("headers", named.get("headers", True)),
    )


def _read_options(allowed: tuple[str, ...], options) -> dict[str, object]:
    items = list(options)
    named: dict[str, object] = {}
    index = 0
    while index < len(items):
        item = items[index]
        _require_single_cell("option", item)
        if is_blank(item):
            index += 1
            continue
        if not isinstance(item, str):
            raise InvalidArgument("option", item, f"an option name ({', '.join(allowed)}) or \"name=value\"")
        if "=" in item:
            name, value = (part.strip() for part in item.split("=", 1))
            index += 1
        else:
            name = item.strip()
            if index + 1 >= len(items):
                raise InvalidArgument(name.lower(), "(nothing)", "give the option a value after its name")
            value = items[index + 1]
            _require_single_cell(name.lower(), value)
            index += 2
        name = name.lower()
        if name not in allowed:
            raise InvalidArgument("option", name, f"one of {', '.join(allowed)}")
        if name in named:
            raise InvalidArgument(name, value, "each option once; it was given twice")
        named[name] = value
    return named


def _allowed(endpoint: Endpoint) -> tuple[str, ...]:
    allowed = [o for o in _OPTIONS if o != "cross_border" or endpoint.allows("is_cross_border")]
    return tuple(o for o in allowed if o != "sort" or len(endpoint.sort_fields) > 1)


def _fields(available: tuple[str, ...], value: object, compare_hint: bool = False) -> tuple[str, ...] | None:
    if is_blank(value):
        return None
    if not isinstance(value, str):
        raise InvalidArgument("fields", value, "comma-separated field names, e.g. \"rank,name,gmv\"")
    names = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = [n for n in names if n not in available]
    if unknown and compare_hint and unknown[0] in COMPARE_FIELDS:
        raise InvalidArgument("fields", unknown[0], "it comes with the option compare, e.g. \"compare\", \"previous\"")
    if unknown:
        raise InvalidArgument("fields", unknown[0], f"field names among: {', '.join(available)}")
    if len(set(names)) != len(names):
        raise InvalidArgument("fields", value, "each field once")
    if not names:
        raise InvalidArgument("fields", value, "at least one field name")
    return names


def _boolean(argument: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().upper() in ("TRUE", "FALSE", "1", "0", "YES", "NO"):
        return value.strip().upper() in ("TRUE", "1", "YES")
    raise InvalidArgument(argument, value, "TRUE or FALSE")


def _require_single_cell(argument: str, value: object) -> None:
    if isinstance(value, (list, tuple)):
        raise InvalidArgument(argument, "a range of cells", "a single cell or value")
    if isinstance(value, float) and math.isnan(value):
        raise InvalidArgument(argument, value, "a value, not NaN")

