"""Every column a ranking table can have, in one table: where the API puts it, its type, its
label, its Excel number format, its width and how a terminal shows it.

``COLUMNS`` are read from the API's rows; ``COMPARE_COLUMNS`` are computed by comparing a
ranking with an earlier one (:mod:`xl_fastmoss.movers`), ``HISTORY_COLUMNS`` by a shop's history
(:mod:`xl_fastmoss.shop_history`). The parser, the sheet tables, the exports and the template all
read this module; nothing else names a column's type or format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .endpoints import Endpoint


@dataclass(frozen=True)
class Kind:
    """What a column holds, and so its pandas dtype, Excel format and terminal text."""

    name: str
    dtype: str
    excel_format: str | None = None
    #: How a terminal shows a value (thousands grouped, a percent); None: as pandas prints it.
    show: Callable[[Any], str] | None = None


TEXT = Kind("text", "string")
#: 19-digit ids: text in every output, since Excel keeps 15 significant digits.
ID = Kind("id", "string", "@")
#: Short codes (currency) kept as typed.
CODE = Kind("code", "string", "@")
RANK = Kind("rank", "Int64", "0")
COUNT = Kind("count", "Int64", "#,##0", lambda v: f"{v:,}")
#: Numbers that stand for something (category ids, shop type, status): no thousands separator.
NUMBER_CODE = Kind("number code", "Int64")
MONEY = Kind("money", "float64", "#,##0.00", lambda v: f"{v:,.2f}")
RATING = Kind("rating", "float64")
#: Growth against the previous period as a fraction: 0.288 shows as 28.8%.
RATE = Kind("rate", "float64", "0.0%;[Red]-0.0%", lambda v: f"{v:.1%}")
#: Places moved up (positive) or down (negative), shown with their sign.
CHANGE = Kind("change", "Int64", '+0;[Red]-0;0', lambda v: f"{v:+d}")
#: TRUE / FALSE cells; a terminal shows "new" or nothing.
FLAG = Kind("flag", "boolean", None, lambda v: "new" if v else "")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: Kind
    #: Where a row of ``data.list`` holds it; ``rank`` is counted, not read.
    source: tuple[str, ...]
    #: Excel column width (characters) on a dashboard.
    width: float = 12
    #: Horizontal alignment on a dashboard, when not Excel's default.
    align: str | None = None

    @property
    def dtype(self) -> str:
        return self.kind.dtype

    @property
    def excel_format(self) -> str | None:
        return self.kind.excel_format


_CENTER = "center"

COLUMNS = (
    Column("rank", "Rank", RANK, (), 7, _CENTER),
    Column("seller_id", "Seller ID", ID, ("shop_info", "seller_id"), 21),
    Column("name", "Shop", TEXT, ("shop_info", "name"), 32),
    Column("brand", "Brand", TEXT, ("shop_info", "brand")),
    Column("seller_company", "Company", TEXT, ("shop_info", "seller_company")),
    Column("avatar", "Avatar URL", TEXT, ("shop_info", "avatar")),
    Column("region", "Region", TEXT, ("shop_info", "region"), 8, _CENTER),
    Column("product_count", "Products listed", COUNT, ("shop_info", "product_count")),
    Column("shop_rating", "Rating", RATING, ("shop_info", "shop_rating")),
    Column("main_category_id", "Main category ID", NUMBER_CODE, ("shop_info", "main_category", "category_id")),
    Column("main_category_name", "Main category", TEXT, ("shop_info", "main_category", "name")),
    Column("is_fully_managed", "Fully managed", NUMBER_CODE, ("shop_info", "is_fully_managed")),
    Column("is_cross_border", "Cross-border", NUMBER_CODE, ("shop_info", "is_cross_border")),
    Column("shop_type", "Shop type", NUMBER_CODE, ("shop_info", "shop_type")),
    Column("status", "Status", NUMBER_CODE, ("shop_info", "status")),
    Column("rank_category_id", "Ranking category ID", NUMBER_CODE, ("rank_category", "category_id")),
    Column("rank_category_name", "Ranking category", TEXT, ("rank_category", "name")),
    Column("total_affiliate_count", "Total creators", COUNT, ("total_affiliate_count",), 14),
    Column("affiliate_count", "New creators", COUNT, ("affiliate_count",), 13),
    Column("sale_product_count", "Products sold", COUNT, ("sale_product_count",), 14),
    Column("units_sold", "Units sold", COUNT, ("units_sold",), 12),
    Column("gmv", "GMV (local)", MONEY, ("gmv",), 18),
    Column("usd_gmv", "GMV (USD)", MONEY, ("usd_gmv",), 15),
    Column("units_sold_inc_rate", "Units growth", RATE, ("units_sold_inc_rate",), 13),
    Column("gmv_inc_rate", "GMV growth", RATE, ("gmv_inc_rate",), 12),
    # The row's own currency; the shop's (shop_info.currency) stands in when it is missing.
    Column("currency", "Currency", CODE, ("currency",), 10, _CENTER),
)
#: Computed by comparing a ranking with an earlier one to the same depth (``compare``).
COMPARE_COLUMNS = (
    Column("previous_rank", "Previous rank", RANK, (), 9, _CENTER),
    Column("rank_change", "Rank change", CHANGE, (), 9, _CENTER),
    Column("new", "New", FLAG, (), 7, _CENTER),
)
#: Computed by a shop's history: the period of each row, and what a row without a rank means.
HISTORY_COLUMNS = (
    Column("date_value", "Period", CODE, (), 12, _CENTER),
    Column("note", "Note", TEXT, (), 40),
)
BY_NAME = {column.name: column for column in COLUMNS + COMPARE_COLUMNS + HISTORY_COLUMNS}
#: The columns that describe the shop, from ``shop_info``.
SHOP_COLUMNS = tuple(c.name for c in COLUMNS if c.source[:1] == ("shop_info",))
#: Metric columns in the order the API documents them; an endpoint has a subset.
METRIC_COLUMNS = ("total_affiliate_count", "affiliate_count", "sale_product_count", "units_sold",
                  "gmv", "usd_gmv", "units_sold_inc_rate", "gmv_inc_rate")
LABELS = {column.name: column.label for column in BY_NAME.values()}
COMPARE_FIELDS = tuple(c.name for c in COMPARE_COLUMNS)


def column(name: str) -> Column:
    """The column called ``name``; KeyError for an unknown one."""
    return BY_NAME[name]


def columns_for(endpoint: Endpoint) -> tuple[str, ...]:
    """Every column of a parsed ranking of ``endpoint``, in order."""
    return ("rank", *SHOP_COLUMNS, "rank_category_id", "rank_category_name",
            *(m for m in METRIC_COLUMNS if m in endpoint.metrics), "currency")


def default_fields(endpoint: Endpoint, compare: bool = False) -> tuple[str, ...]:
    """What a sheet shows by default: rank, shop, id and region, then the ranking's metrics with
    local GMV beside its currency; a compared ranking shows its movement after the rank."""
    movement = COMPARE_FIELDS if compare else ()
    return ("rank", *movement, "name", "seller_id", "region", *_metric_fields(endpoint))


def history_columns(endpoint: Endpoint) -> tuple[str, ...]:
    """Every column of a shop's history in the ranking of ``endpoint``, in order."""
    return ("date_value", *columns_for(endpoint), "note")


def default_history_fields(endpoint: Endpoint) -> tuple[str, ...]:
    """What a history shows by default: the period, the rank, the ranking's metrics, the note."""
    return ("date_value", "rank", *_metric_fields(endpoint), "note")


def _metric_fields(endpoint: Endpoint) -> tuple[str, ...]:
    counts = [m for m in endpoint.metrics if column(m).kind is COUNT]
    return (*counts, "gmv", "currency", "usd_gmv", "units_sold_inc_rate", "gmv_inc_rate")


def dtype_of(name: str) -> str:
    return column(name).dtype
