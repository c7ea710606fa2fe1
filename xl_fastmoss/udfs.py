"""FastMoss worksheet functions for Excel (xlwings UDF module).

Thin wrappers around :mod:`xl_fastmoss.sheets.functions`; ``xlwings.conf`` names this module in
``UDF MODULES``. On Excel 365 a returned table spills by itself.

The ranking functions are not called while the Insert Function dialog is open
(``call_in_wizard=False``): it evaluates a function each time its arguments look complete, and
every evaluation of a ranking would be a paid API call.
"""

import xlwings as xw

from .sheets import functions as sheet_functions

_REGION = "Market: US GB MX ES DE IT FR ID VN MY TH PH BR JP SG; empty for all"
_CATEGORY = "FastMoss level-1 category id, e.g. 14 (Beauty & Personal Care); empty for all"
_DATE_TYPE = "day, week or month"
_DATE_VALUE = "A date, YYYY-MM-DD (day), YYYY-WW ISO week, YYYY-MM (month), or latest"
_OPTIONS = ('Optional name, value pairs or "name=value": rows (1..500, default 10), '
            'fields (e.g. "rank,name,gmv"), headers (TRUE/FALSE), shop_type (1 brand, 2 retail)')


@xw.func(async_mode="threading", category="FastMoss", call_in_wizard=False)
@xw.arg("region", doc=_REGION)
@xw.arg("category_id", doc=_CATEGORY)
@xw.arg("date_type", doc=_DATE_TYPE)
@xw.arg("date_value", doc=_DATE_VALUE)
@xw.arg("options", doc=_OPTIONS + ", cross_border (1 cross-border, 0 local)")
def FM_MOSTPROMOTED(region, category_id, date_type, date_value, *options):
    """TikTok Shop shops ranked by creators newly linked in a period (FastMoss most promoted)."""
    return sheet_functions.ranking_table("FM_MOSTPROMOTED", region, category_id, date_type, date_value, *options)


@xw.func(async_mode="threading", category="FastMoss", call_in_wizard=False)
@xw.arg("region", doc=_REGION)
@xw.arg("category_id", doc=_CATEGORY)
@xw.arg("date_type", doc=_DATE_TYPE)
@xw.arg("date_value", doc=_DATE_VALUE)
@xw.arg("options", doc=_OPTIONS + ", cross_border (1/0), sort (units_sold or usd_gmv)")
def FM_TOPSELLING(region, category_id, date_type, date_value, *options):
    """TikTok Shop shops ranked by units sold or USD GMV in a period (FastMoss top selling)."""
    return sheet_functions.ranking_table("FM_TOPSELLING", region, category_id, date_type, date_value, *options)


@xw.func(async_mode="threading", category="FastMoss", call_in_wizard=False)
@xw.arg("region", doc="Market: US GB ES MX DE IT FR; empty for all")
@xw.arg("category_id", doc=_CATEGORY)
@xw.arg("date_type", doc=_DATE_TYPE)
@xw.arg("date_value", doc=_DATE_VALUE)
@xw.arg("options", doc=_OPTIONS + ", sort (units_sold or usd_gmv)")
def FM_FULLYMANAGED(region, category_id, date_type, date_value, *options):
    """Fully managed TikTok Shop shops ranked by units sold or USD GMV (FastMoss)."""
    return sheet_functions.ranking_table("FM_FULLYMANAGED", region, category_id, date_type, date_value, *options)


# Volatile on purpose: a status without arguments would otherwise never recalculate.
@xw.func(category="FastMoss", volatile=True)
def FM_STATUS():
    """FastMoss add-in status: key set, calls made, cache use, when the data shown was fetched."""
    return sheet_functions.status_table()


@xw.func(async_mode="threading", category="FastMoss", call_in_wizard=False)
@xw.arg("seller_id", doc="The shop's seller id as text (19 digits): format the cell as Text, or type ' first")
@xw.arg("region", doc=_REGION)
@xw.arg("category_id", doc=_CATEGORY)
@xw.arg("date_type", doc=_DATE_TYPE)
@xw.arg("start", doc="First period, as date_value; or -N: N periods before end (-29: the last 30)")
@xw.arg("end", doc="Last period, as date_value, or latest; at most 90 periods in all")
@xw.arg("options", doc='Optional name, value pairs or "name=value": ranking (most_promoted, top_selling, '
                       'fully_managed), sort, depth (1..500, default 100), fields, headers (TRUE/FALSE)')
def FM_HISTORY(seller_id, region, category_id, date_type, start, end, *options):
    """A TikTok Shop shop's rank and metrics in each period, from the FastMoss rankings."""
    return sheet_functions.history_table(seller_id, region, category_id, date_type, start, end, *options)
