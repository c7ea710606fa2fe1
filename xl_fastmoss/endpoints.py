"""The shop rankings the API offers, as one table: path, filters, sort fields, regions."""

from __future__ import annotations

from dataclasses import dataclass

ALL_REGIONS = ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH", "PH", "BR", "JP", "SG")
FULLY_MANAGED_REGIONS = ("US", "GB", "ES", "MX", "DE", "IT", "FR")

#: The deepest a ranking goes: the contract never pages past row 500.
MAX_ROWS = 500
#: The largest page the contract allows; every page is asked at this size so that
#: tables of 10 or 100 rows of one query share one cached call.
PAGE_SIZE = 100


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    regions: tuple[str, ...]
    sort_fields: tuple[str, ...]
    default_sort: str
    filters: tuple[str, ...]
    #: Metric columns of a row, in the order an analyst reads them.
    metrics: tuple[str, ...]

    def allows(self, filter_name: str) -> bool:
        return filter_name in self.filters


_COMMON_FILTERS = ("region", "category_id", "shop_type", "is_cross_border", "date_info")

MOST_PROMOTED = Endpoint(
    name="most_promoted",
    path="/shop/v1/rank/mostPromoted",
    regions=ALL_REGIONS,
    sort_fields=("affiliate_count",),
    default_sort="affiliate_count",
    filters=_COMMON_FILTERS,
    metrics=(
        "affiliate_count", "total_affiliate_count", "sale_product_count", "units_sold",
        "gmv", "usd_gmv", "units_sold_inc_rate", "gmv_inc_rate",
    ),
)

TOP_SELLING = Endpoint(
    name="top_selling",
    path="/shop/v1/rank/topSelling",
    regions=ALL_REGIONS,
    sort_fields=("units_sold", "usd_gmv"),
    default_sort="units_sold",
    filters=_COMMON_FILTERS,
    metrics=(
        "units_sold", "gmv", "usd_gmv", "sale_product_count", "total_affiliate_count",
        "units_sold_inc_rate", "gmv_inc_rate",
    ),
)

FULLY_MANAGED = Endpoint(
    name="fully_managed",
    path="/shop/v1/rank/fullyManaged",
    regions=FULLY_MANAGED_REGIONS,
    sort_fields=("units_sold", "usd_gmv"),
    default_sort="units_sold",
    filters=("region", "category_id", "shop_type", "date_info"),
    metrics=TOP_SELLING.metrics,
)

ENDPOINTS = {e.name: e for e in (MOST_PROMOTED, TOP_SELLING, FULLY_MANAGED)}
