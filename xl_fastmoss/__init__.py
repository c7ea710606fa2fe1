"""xl-fastmoss: FastMoss TikTok Shop rankings as tables, for Python and Excel.

>>> import xl_fastmoss
>>> xl_fastmoss.most_promoted("US", 14, "day", "2026-04-01", rows=100)   # doctest: +SKIP
>>> xl_fastmoss.most_promoted("US", 14, "day", "latest", compare="previous")   # doctest: +SKIP
>>> xl_fastmoss.history("7494006325298104216", "US", 14, "day", "-29", "latest")   # doctest: +SKIP
"""

from __future__ import annotations

import typing

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

if typing.TYPE_CHECKING:
    from .shop_history import HistoryQuery, HistoryResult

#: Names of modules a first table does not need, imported when first asked for (a fresh
#: process's first table waits for every module imported before it).
_LATER = {"HistoryQuery": "shop_history", "HistoryResult": "shop_history"}

__all__ = [
    "APIError", "AuthenticationError", "CertificateError", "ConfigurationError", "ConnectionFailed", "ENDPOINTS",
    "Endpoint", "FULLY_MANAGED", "FastMossClient", "FastMossError", "FrequencyLimited",
    "HTTPStatusError", "HistoryQuery", "HistoryResult",
    "InvalidArgument", "InvalidResponse", "MOST_PROMOTED", "MissingApiKey",
    "ParameterError", "PermissionDenied", "QuotaExceeded", "RankingQuery", "RankingResult",
    "RateLimited", "RequestTimeout", "ResourceNotFound", "ServerError", "ServiceError",
    "Settings", "TOP_SELLING", "TableRequest", "TransportError", "WorkbookFileError", "default_client", "fully_managed",
    "history", "most_promoted", "top_selling",
]


def most_promoted(region, category_id, date_type, date_value, *, shop_type=None,
                  cross_border=None, rows=10, compare=None, refresh=False) -> pd.DataFrame:
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
    compare : "previous" or a period, optional
        Compare with the period before (``"previous"``) or an earlier period (as ``date_value``
        takes it), fetched to the same ``rows``: adds ``previous_rank`` (blank for a shop not in
        the earlier top ``rows``), ``rank_change`` (places moved up) and ``new`` after ``rank``.
    refresh : bool, default False
        Skip the cache and ask the API again (the answer refreshes the cache).

    Returns
    -------
    pandas.DataFrame
        One row per shop in rank order; ``attrs`` holds ``date_type``/``date_value`` (the
        period the API says it answered), ``total`` and ``fetched_at``.
    """
    return _ranking("most_promoted", region, category_id, date_type, date_value, compare, shop_type=shop_type,
                    cross_border=cross_border, rows=rows, refresh=refresh)


def top_selling(region, category_id, date_type, date_value, *, sort_by=None, shop_type=None,
                cross_border=None, rows=10, compare=None, refresh=False) -> pd.DataFrame:
    """Shops ranked by units sold (``sort_by="units_sold"``, default) or by ``"usd_gmv"``.

    Arguments and result as in :func:`most_promoted`.
    """
    return _ranking("top_selling", region, category_id, date_type, date_value, compare, sort_by=sort_by,
                    shop_type=shop_type, cross_border=cross_border, rows=rows, refresh=refresh)


def fully_managed(region, category_id, date_type, date_value, *, sort_by=None, shop_type=None,
                  rows=10, compare=None, refresh=False) -> pd.DataFrame:
    """Fully managed shops (US GB ES MX DE IT FR only) ranked by units sold or ``"usd_gmv"``.

    Arguments and result as in :func:`most_promoted`, without ``cross_border``.
    """
    return _ranking("fully_managed", region, category_id, date_type, date_value, compare, sort_by=sort_by,
                    shop_type=shop_type, rows=rows, refresh=refresh)


def history(seller_id, region, category_id, date_type, start, end, *, ranking="most_promoted", sort_by=None,
            depth=100, refresh=False) -> pd.DataFrame:
    """A shop's rank and metrics in each period from ``start`` to ``end``, read from the rankings.

    Parameters
    ----------
    seller_id : str
        The shop's seller id as text (19 digits); a number is refused, since a 19-digit number
        loses digits in Excel and in floating point.
    region, category_id
        As in :func:`most_promoted`: the ranking the shop is looked for in.
    date_type : {"day", "week", "month"}
    start, end : str, date or datetime
        As ``date_value`` takes them (``"latest"`` for the last completed period); ``start``
        may also be ``"-N"``: N periods before ``end`` (``"-29"``, ``"latest"``: the last 30).
        ISO weeks run across year boundaries (``"2026-52"`` to ``"2027-02"`` holds 2026-53).
        At most 90 periods (``shop_history.MAX_PERIODS``), refused before any call.
    ranking : {"most_promoted", "top_selling", "fully_managed"}, default "most_promoted"
    sort_by : str, optional
        ``"units_sold"`` or ``"usd_gmv"`` for top_selling and fully_managed.
    depth : int, default 100
        1..500: how deep to look for the shop in each period's ranking.
    refresh : bool, default False
        Ask the API again for each period's first page (see :mod:`xl_fastmoss.shop_history`).

    Returns
    -------
    pandas.DataFrame
        One row per period, oldest first: ``date_value``, ``rank`` (blank, never 0, where the
        shop is not in the top ``depth``), the shop's columns and the ranking's metrics as in a
        ranking, and ``note`` saying why a rank is blank. Each period's ranking is read through
        the cache, and paged only until the shop is found: a shop in the top 100 every day
        costs one call a day, and nothing once cached.
    """
    from . import shop_history

    return shop_history.history(
        default_client(), seller_id, region, category_id, date_type, start, end, ranking=ranking,
        sort_by=sort_by, depth=depth, refresh=refresh).frame


def _ranking(endpoint: str, region, category_id, date_type, date_value, compare, **options) -> pd.DataFrame:
    if compare is None:
        return default_client().ranking(endpoint, region, category_id, date_type, date_value, **options).frame
    from . import movers

    return movers.compared_ranking(default_client(), endpoint, region, category_id, date_type, date_value,
                                   compare=compare, **options).frame


def __getattr__(name: str):
    if name in _LATER:
        import importlib

        return getattr(importlib.import_module(f".{_LATER[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LATER})
