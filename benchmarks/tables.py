"""The FM_ tables the scenarios ask for, and the periods they ask them for."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

#: Rows per page: what every call asks for, ours and naive.
PAGE_SIZE = 100
PATHS = {
    "FM_MOSTPROMOTED": "/shop/v1/rank/mostPromoted",
    "FM_TOPSELLING": "/shop/v1/rank/topSelling",
    "FM_FULLYMANAGED": "/shop/v1/rank/fullyManaged",
}
DEFAULT_SORT = {"FM_MOSTPROMOTED": "affiliate_count", "FM_TOPSELLING": "units_sold",
                "FM_FULLYMANAGED": "units_sold"}
ENDPOINT_NAMES = {"FM_MOSTPROMOTED": "most_promoted", "FM_TOPSELLING": "top_selling",
                  "FM_FULLYMANAGED": "fully_managed"}

# Periods relative to today, so the fake server has published them whenever this runs.
_TODAY = dt.date.today()
DAY = (_TODAY - dt.timedelta(days=10)).isoformat()
_WEEK_DATE = (_TODAY - dt.timedelta(days=21)).isocalendar()
WEEK = f"{_WEEK_DATE.year}-{_WEEK_DATE.week:02d}"
_MONTH_DATE = (_TODAY.replace(day=1) - dt.timedelta(days=40))
MONTH = f"{_MONTH_DATE.year}-{_MONTH_DATE.month:02d}"


@dataclass(frozen=True)
class Table:
    """One FM_ table as a worksheet would ask for it."""

    function: str
    region: str | None
    category_id: int | None
    date_type: str
    date_value: str
    rows: int = 100
    sort: str | None = None
    fields: str | None = None

    def formula_args(self) -> tuple:
        options: list = ["rows", self.rows]
        if self.sort:
            options += ["sort", self.sort]
        if self.fields:
            options += ["fields", self.fields]
        return (self.region, self.category_id, self.date_type, self.date_value, *options)

    def formula(self) -> str:
        def literal(value):
            return '""' if value is None else json.dumps(value)
        return f"={self.function}({','.join(literal(v) for v in self.formula_args())})"

    def with_rows(self, rows: int, fields: str | None = None) -> Table:
        return Table(self.function, self.region, self.category_id, self.date_type,
                     self.date_value, rows, self.sort, fields)

    def naive_body(self, page: int) -> dict:
        filters: dict = {}
        if self.region:
            filters["region"] = self.region
        if self.category_id is not None:
            filters["category_id"] = self.category_id
        filters["date_info"] = {"type": self.date_type, "value": self.date_value}
        return {"filter": filters,
                "orderby": [{"field": self.sort or DEFAULT_SORT[self.function], "order": "desc"}],
                "page": page, "pagesize": PAGE_SIZE}
