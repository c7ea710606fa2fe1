"""Rankings as the rectangle a sheet shows: labels, then one row per shop, blanks as None."""

from __future__ import annotations

import math

import pandas as pd

from ..endpoints import Endpoint
from ..errors import FastMossError, MissingApiKey
from ..parse import RankingResult

LABELS = {
    "rank": "Rank",
    "seller_id": "Seller ID",
    "name": "Shop",
    "brand": "Brand",
    "seller_company": "Company",
    "avatar": "Avatar URL",
    "region": "Region",
    "product_count": "Products listed",
    "shop_rating": "Rating",
    "main_category_id": "Main category ID",
    "main_category_name": "Main category",
    "is_fully_managed": "Fully managed",
    "is_cross_border": "Cross-border",
    "shop_type": "Shop type",
    "status": "Status",
    "rank_category_id": "Ranking category ID",
    "rank_category_name": "Ranking category",
    "total_affiliate_count": "Total creators",
    "affiliate_count": "New creators",
    "sale_product_count": "Products sold",
    "units_sold": "Units sold",
    "gmv": "GMV (local)",
    "usd_gmv": "GMV (USD)",
    "units_sold_inc_rate": "Units growth",
    "gmv_inc_rate": "GMV growth",
    "currency": "Currency",
}


def default_fields(endpoint: Endpoint) -> tuple[str, ...]:
    """Rank, shop, id and region, then the ranking's metrics with local GMV beside its currency."""
    counts = [m for m in endpoint.metrics if m not in ("gmv", "usd_gmv", "units_sold_inc_rate", "gmv_inc_rate")]
    return ("rank", "name", "seller_id", "region", *counts, "gmv", "currency", "usd_gmv",
            "units_sold_inc_rate", "gmv_inc_rate")


def to_rows(result: RankingResult, fields: tuple[str, ...] | None = None, headers: bool = True) -> list[list]:
    """The table as Excel shows it; a period without data is one cell saying so."""
    query = result.query
    fields = fields or default_fields(query.endpoint)
    if result.empty:
        return [[no_data_text(result)]]
    columns = [result.frame[f].tolist() for f in fields]
    body = [[_cell(v) for v in row] for row in zip(*columns)]
    return ([[LABELS[f] for f in fields]] + body) if headers else body


def no_data_text(result: RankingResult) -> str:
    return (f"No data yet for {result.query.describe()}: FastMoss publishes a period once it is "
            "completed; try an earlier one or latest")


def _cell(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def error_text(error: Exception) -> str:
    """One readable line for a cell: the cause, and what to do where that is known."""
    if isinstance(error, MissingApiKey):
        return ("FastMoss: no API key. Run `xl-fastmoss config --set-key` in a terminal "
                "(or set FASTMOSS_API_KEY), then recalculate")
    if isinstance(error, FastMossError):
        return f"FastMoss: {error.message}"
    return f"FastMoss: unexpected {type(error).__name__}: {error}"
