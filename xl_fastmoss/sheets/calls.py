"""What an FM_ worksheet call asks for: its arguments, read as Excel hands them over.

``=FM_MOSTPROMOTED(region, category_id, date_type, date_value, [option, value]...)``; each option
is a name/value pair or one ``"name=value"`` string. The Excel functions and the headless
refresh both read calls through :func:`read_call`, so they agree on what every cell means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..columns import columns_for
from ..endpoints import ENDPOINTS, Endpoint
from ..errors import InvalidArgument
from ..query import RankingQuery, TableRequest, is_blank, validate_rows

FUNCTION_ENDPOINTS = {
    "FM_MOSTPROMOTED": ENDPOINTS["most_promoted"],
    "FM_TOPSELLING": ENDPOINTS["top_selling"],
    "FM_FULLYMANAGED": ENDPOINTS["fully_managed"],
}
_OPTIONS = ("rows", "fields", "headers", "shop_type", "cross_border", "sort")


@dataclass(frozen=True)
class TableCall:
    """One FM_ call, validated: the table to fetch and how to show it."""

    function: str
    request: TableRequest
    fields: tuple[str, ...] | None
    headers: bool


def read_call(function: str, region, category_id, date_type, date_value, options=()) -> TableCall:
    """Validate an FM_ call's arguments (cell values) or raise InvalidArgument; makes no call."""
    function = function.upper()
    endpoint = FUNCTION_ENDPOINTS[function]
    named = _read_options(endpoint, options)
    for argument, value in (("region", region), ("category_id", category_id),
                            ("date_type", date_type), ("date_value", date_value)):
        _require_single_cell(argument, value)
    query = RankingQuery.build(
        endpoint, region, category_id, date_type, date_value,
        shop_type=named.get("shop_type"), cross_border=named.get("cross_border"),
        sort_by=named.get("sort"))
    return TableCall(
        function=function,
        request=TableRequest(query, validate_rows(named.get("rows"))),
        fields=_fields(endpoint, named.get("fields")),
        headers=_boolean("headers", named.get("headers", True)),
    )


def _read_options(endpoint: Endpoint, options) -> dict[str, object]:
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
            raise InvalidArgument("option", item, f"an option name ({', '.join(_allowed(endpoint))}) or \"name=value\"")
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
        if name not in _allowed(endpoint):
            raise InvalidArgument("option", name, f"one of {', '.join(_allowed(endpoint))}")
        if name in named:
            raise InvalidArgument(name, value, "each option once; it was given twice")
        named[name] = value
    return named


def _allowed(endpoint: Endpoint) -> tuple[str, ...]:
    allowed = [o for o in _OPTIONS if o != "cross_border" or endpoint.allows("is_cross_border")]
    return tuple(o for o in allowed if o != "sort" or len(endpoint.sort_fields) > 1)


def _fields(endpoint: Endpoint, value: object) -> tuple[str, ...] | None:
    if is_blank(value):
        return None
    available = columns_for(endpoint)
    if not isinstance(value, str):
        raise InvalidArgument("fields", value, "comma-separated field names, e.g. \"rank,name,gmv\"")
    names = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = [n for n in names if n not in available]
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

