"""A ranking query, validated before any call, and the request bodies it turns into."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from .endpoints import ENDPOINTS, MAX_ROWS, PAGE_SIZE, Endpoint
from .errors import InvalidArgument
from .periods import normalize_date_type, normalize_period

DEFAULT_ROWS = 10


@dataclass(frozen=True)
class RankingQuery:
    """One ranking of one period, normalized: equal queries ask the API the same thing."""

    endpoint: Endpoint
    region: str | None
    category_id: int | None
    date_type: str
    date_value: str
    shop_type: int | None = None
    cross_border: int | None = None
    sort_by: str | None = None

    @classmethod
    def build(
        cls,
        endpoint: Endpoint | str,
        region: object,
        category_id: object,
        date_type: object,
        date_value: object,
        *,
        shop_type: object = None,
        cross_border: object = None,
        sort_by: object = None,
        today: dt.date | None = None,
    ) -> RankingQuery:
        """Validate user input (Python or Excel cell values) into a query, or raise InvalidArgument."""
        if isinstance(endpoint, str):
            endpoint = ENDPOINTS[endpoint]
        date_type = normalize_date_type(date_type)
        cross_border = _choice("cross_border", cross_border, (0, 1), "0 (local) or 1 (cross-border)")
        if cross_border is not None and not endpoint.allows("is_cross_border"):
            raise InvalidArgument(
                "cross_border", cross_border, f"the {endpoint.name} ranking has no cross-border filter; leave it empty")
        return cls(
            endpoint=endpoint,
            region=_region(endpoint, region),
            category_id=_positive_int("category_id", category_id),
            date_type=date_type,
            date_value=normalize_period(date_type, date_value, today),
            shop_type=_choice("shop_type", shop_type, (1, 2), "1 (brand shop) or 2 (retail shop)"),
            cross_border=cross_border,
            sort_by=_sort(endpoint, sort_by),
        )

    def body(self, page: int, pagesize: int = PAGE_SIZE) -> dict:
        """The JSON body of one page; filters left out when not set."""
        filters: dict[str, object] = {}
        if self.region:
            filters["region"] = self.region
        if self.category_id is not None:
            filters["category_id"] = self.category_id
        if self.shop_type is not None:
            filters["shop_type"] = self.shop_type
        if self.cross_border is not None:
            filters["is_cross_border"] = self.cross_border
        filters["date_info"] = {"type": self.date_type, "value": self.date_value}
        return {
            "filter": filters,
            "orderby": [{"field": self.sort_by or self.endpoint.default_sort, "order": "desc"}],
            "page": page,
            "pagesize": pagesize,
        }

    def describe(self) -> str:
        parts = [self.endpoint.name, self.region or "all regions",
                 f"category {self.category_id}" if self.category_id else "all categories",
                 f"{self.date_type} {self.date_value}"]
        if self.sort_by:
            parts.append(f"by {self.sort_by}")
        return ", ".join(parts)


@dataclass(frozen=True)
class TableRequest:
    """A ranking and how many of its rows are wanted."""

    query: RankingQuery
    rows: int


def validate_rows(rows: object) -> int:
    value = _integer("rows", rows, f"a whole number 1..{MAX_ROWS}")
    if value is None:
        return DEFAULT_ROWS
    if not 1 <= value <= MAX_ROWS:
        raise InvalidArgument("rows", rows, f"a whole number 1..{MAX_ROWS} (the ranking's depth)")
    return value


def pages_for(rows: int) -> int:
    return math.ceil(rows / PAGE_SIZE)


def is_blank(value: object) -> bool:
    """An empty cell: None, or text of only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def _integer(argument: str, value: object, allowed: str) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidArgument(argument, value, allowed)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise InvalidArgument(argument, value, allowed)
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            raise InvalidArgument(argument, value, allowed) from None
        if math.isfinite(number) and number.is_integer():
            return int(number)
    raise InvalidArgument(argument, value, allowed)


def _positive_int(argument: str, value: object) -> int | None:
    allowed = "a positive whole number (FastMoss category id, e.g. 14), or empty for all"
    number = _integer(argument, value, allowed)
    if number is not None and not 1 <= number <= 10**9:
        raise InvalidArgument(argument, value, allowed)
    return number


def _choice(argument: str, value: object, choices: tuple[int, ...], allowed: str) -> int | None:
    number = _integer(argument, value, f"{allowed}, or empty")
    if number is not None and number not in choices:
        raise InvalidArgument(argument, value, f"{allowed}, or empty")
    return number


def _region(endpoint: Endpoint, region: object) -> str | None:
    if is_blank(region):
        return None
    code = region.strip().upper() if isinstance(region, str) else None
    if code not in endpoint.regions:
        raise InvalidArgument(
            "region", region, f"one of {' '.join(endpoint.regions)}, or empty for all regions")
    return code


def _sort(endpoint: Endpoint, sort_by: object) -> str | None:
    if is_blank(sort_by):
        return None
    field = sort_by.strip().lower() if isinstance(sort_by, str) else None
    if field not in endpoint.sort_fields:
        raise InvalidArgument("sort", sort_by, f"one of {', '.join(endpoint.sort_fields)}")
    return None if field == endpoint.default_sort else field
