"""xl-fastmoss: FastMoss TikTok Shop rankings as tables, for Python and Excel.

>>> import xl_fastmoss
>>> xl_fastmoss.most_promoted("US", 14, "day", "2026-04-01", rows=100)   # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .client import FastMossClient, default_client
from .endpoints import ENDPOINTS, FULLY_MANAGED, MOST_PROMOTED, TOP_SELLING, Endpoint
from .errors import (
    APIError,
    AuthenticationError,
    CertificateError,
    ConfigurationError,
    ConnectionFailed,
    FastMossError,
    FrequencyLimited,
    HTTPStatusError,
    InvalidArgument,
    InvalidResponse,
    MissingApiKey,
    ParameterError,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RequestTimeout,
    ResourceNotFound,
    ServerError,
    ServiceError,
    TransportError,
    WorkbookFileError,
)
from .query import RankingQuery, TableRequest
from .result import RankingResult
from .settings import Settings

__all__ = [
    "APIError", "AuthenticationError", "CertificateError", "ConfigurationError", "ConnectionFailed", "ENDPOINTS",
    "Endpoint", "FULLY_MANAGED", "FastMossClient", "FastMossError", "FrequencyLimited",
    "HTTPStatusError", "InvalidArgument", "InvalidResponse", "MOST_PROMOTED", "MissingApiKey",
    "ParameterError", "PermissionDenied", "QuotaExceeded", "RankingQuery", "RankingResult",
    "RateLimited", "RequestTimeout", "ResourceNotFound", "ServerError", "ServiceError",
    "Settings", "TOP_SELLING", "TableRequest", "TransportError", "WorkbookFileError", "default_client", "fully_managed",
    "most_promoted", "top_selling",
]


def most_promoted(region, category_id, date_type, date_value, *, shop_type=None,
                  cross_border=None, rows=10, refresh=False) -> pd.DataFrame:
    """Shops ranked by creators newly linked in a period (the most-promoted ranking).

    Parameters
    ----------
    region : str or None
        Market code (US GB MX ES DE IT FR ID VN MY TH PH BR JP SG); None or "" for all.
    category_id : int or None
        FastMoss level-1 category (14 = Beauty & Personal Care); None or "" for all.
    date_type : {"day", "week", "month"}
    date_value : str, date or datetime
        ``YYYY-MM-DD`` for a day, ``YYYY-WW`` (ISO week) or any date in it for a week,
        ``YYYY-MM`` or a date for a month; "latest" or "" for the last completed period.
    shop_type : {1, 2}, optional
        1 brand shop, 2 retail shop.
    cross_border : {0, 1}, optional
        1 cross-border shops, 0 local shops.
    rows : int, default 10
        1..500; pages of 100 are fetched, ``ceil(rows / 100)`` calls at most.
    refresh : bool, default False
        Skip the cache and ask the API again (the answer refreshes the cache).

    Returns
    -------
    pandas.DataFrame
        One row per shop in rank order; ``attrs`` holds ``date_type``/``date_value`` (the
        period the API says it answered), ``total`` and ``fetched_at``.
    """
    return default_client().most_promoted(
        region, category_id, date_type, date_value, shop_type=shop_type,
        cross_border=cross_border, rows=rows, refresh=refresh).frame


def top_selling(region, category_id, date_type, date_value, *, sort_by=None, shop_type=None,
                cross_border=None, rows=10, refresh=False) -> pd.DataFrame:
    """Shops ranked by units sold (``sort_by="units_sold"``, default) or by ``"usd_gmv"``.

    Arguments and result as in :func:`most_promoted`.
    """
    return default_client().top_selling(
        region, category_id, date_type, date_value, sort_by=sort_by, shop_type=shop_type,
        cross_border=cross_border, rows=rows, refresh=refresh).frame


def fully_managed(region, category_id, date_type, date_value, *, sort_by=None, shop_type=None,
                  rows=10, refresh=False) -> pd.DataFrame:
    """Fully managed shops (US GB ES MX DE IT FR only) ranked by units sold or ``"usd_gmv"``.

    Arguments and result as in :func:`most_promoted`, without ``cross_border``.
    """
    return default_client().fully_managed(
        region, category_id, date_type, date_value, sort_by=sort_by, shop_type=shop_type,
        rows=rows, refresh=refresh).frame
