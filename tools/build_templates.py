"""Build ``xl_fastmoss/templates/FastMossDashboard.xlsm``: the dashboards on xlwings' standalone workbook.

A development tool, not part of the wheel (openpyxl is allowed here)::

    python tools/build_templates.py                  # writes xl_fastmoss/templates/FastMossDashboard.xlsm
    python tools/build_templates.py --output-dir DIR

Steps:

1. ``xlwings quickstart FastMossDashboard --standalone`` in a temporary folder, and a check
   (olevba) that its VBA still has the Sub the refresh button calls.
2. The dashboards, written with openpyxl; ``keep_vba=True`` keeps ``xl/vbaProject.bin`` byte
   for byte.
3. What openpyxl cannot write, by editing the saved package with zipfile and lxml: the refresh
   buttons (drawing shapes whose ``macro`` names the quickstart's Sub), the FM_ formulas as
   dynamic arrays (without that, Excel 365 would show ``=@FM_...`` and one cell instead of the
   spilled table), and fixed timestamps so that a rebuild gives the same file.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import xlwings
from lxml import etree
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "xl_fastmoss" / "templates"
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from xl_fastmoss.endpoints import ALL_REGIONS, FULLY_MANAGED_REGIONS  # noqa: E402
from xl_fastmoss.sheets.calls import FUNCTION_ENDPOINTS  # noqa: E402
from xl_fastmoss.columns import COUNT, MONEY, column, default_fields  # noqa: E402
from xl_fastmoss.workbook.package import PackageParts  # noqa: E402

BOOK_NAME = "FastMossDashboard"
#: In the core properties: a rebuild gives the same bytes with the same versions only.
BUILT_WITH = f"Built by tools/build_templates.py with openpyxl {openpyxl.__version__}, xlwings {xlwings.__version__}"
BOOK_FILE = f"{BOOK_NAME}.xlsm"

#: The quickstart's Module1 Sub: ``RunPython "import <book name>; <book name>.main()"``.
REFRESH_MACRO = "SampleCall"
#: How a drawing shape names a Sub of its own workbook.
SHAPE_MACRO = f"[0]!{REFRESH_MACRO}"
BUTTON_TEXT = "Refresh FastMoss data"

STAMP_NAME = "FM_LastRefresh"  # xl_fastmoss.macros.STAMP_NAME: the macro writes it
STAMP_EMPTY = "Not refreshed yet: click Refresh FastMoss data"

READ_ME = "Read me"
DAILY, WEEKLY, MONTHLY = "Daily", "Weekly", "Monthly"
MARKETS = "Markets"
SHOP_RANKINGS = "Shop rankings"
CONFIG_SHEET = "xlwings.conf"
SHEETS = (READ_ME, DAILY, WEEKLY, MONTHLY, MARKETS, SHOP_RANKINGS, CONFIG_SHEET)

#: Rows formatted below each header of the period sheets: the most ``rows`` allows.
MAX_TABLE_ROWS = 500
#: Rows of the Markets and Shop rankings tables (fixed, so charts and totals sit below them).
SIDE_BY_SIDE_ROWS = 10
MARKET_DEFAULTS = ("US", "GB", "DE", "FR", "ID")

#: A fixed moment for the package's timestamps, so that a rebuild gives the same bytes.
FIXED_TIME = (2025, 1, 1, 0, 0, 0)
FIXED_W3CDTF = "2025-01-01T00:00:00Z"

# -- look ----------------------------------------------------------------------------------------

DARK_BLUE = "1F4E79"
FONT = "Calibri"  # Carlito renders it with the same metrics on Linux
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
INPUT_BORDER = Border(*(Side("medium", color="BF9000"),) * 4)
BODY_FONT = Font(name=FONT, size=11)
INPUT_FONT = Font(name=FONT, size=11, bold=True, color="000000")
LABEL_FONT = Font(name=FONT, size=11, bold=True, color="404040")
HINT_FONT = Font(name=FONT, italic=True, size=9, color="7F7F7F")
TITLE_FONT = Font(name=FONT, bold=True, size=18, color=DARK_BLUE)
SUBTITLE_FONT = Font(name=FONT, italic=True, size=10, color="595959")
HEADER_FONT = Font(name=FONT, size=11, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor=DARK_BLUE)
SECTION_FONT = Font(name=FONT, bold=True, size=11, color=DARK_BLUE)
BAND_FILL = PatternFill("solid", fgColor="EEF3F8", bgColor="EEF3F8")

COUNT_FORMAT = COUNT.excel_format
MONEY_FORMAT = MONEY.excel_format
TEXT_FORMAT = "@"
_RIGHT = Alignment(horizontal="right")
_CENTER = Alignment(horizontal="center")


# -- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    label: str
    default: object
    hint: str
    #: ``market``, ``period_type``, ``sort``, ``rows``, ``category`` or None.
    check: str | None = None
    #: Typed as text: "2026-03" must not become a date, "latest" stays a word.
    text: bool = False


def _market(default="US", regions=ALL_REGIONS, hint=None):
    return Input("Market", default, hint or "TikTok Shop market: " + " ".join(regions), "market")


CATEGORY = Input("Category id", 14, "FastMoss category id: 14 = Beauty & Personal Care; empty = all",
                 "category")
ROWS = Input("Rows", 20, "1 to 500; the table spills below its header", "rows")


def _sort(default):
    return Input("Sort by", default, "units_sold or usd_gmv", "sort")


PERIOD_TYPE = Input("Period type", "day", "day, week or month", "period_type")
PERIOD = Input("Period", "latest", "YYYY-MM-DD, YYYY-WW or YYYY-MM as the type; latest = last complete",
               text=True)


def _validation(check: str) -> DataValidation:
    if check == "market":
        dv = DataValidation(type="list", formula1='"' + ",".join(ALL_REGIONS) + '"', allow_blank=True)
        dv.promptTitle, dv.prompt = "Market", "A TikTok Shop market code; empty for all markets."
    elif check == "period_type":
        dv = DataValidation(type="list", formula1='"day,week,month"', allow_blank=False)
        dv.promptTitle, dv.prompt = "Period type", "day, week or month."
    elif check == "sort":
        dv = DataValidation(type="list", formula1='"units_sold,usd_gmv"', allow_blank=True)
        dv.promptTitle, dv.prompt = "Sort by", "units_sold or usd_gmv (GMV in US dollars)."
    elif check == "rows":
        dv = DataValidation(type="whole", operator="between", formula1="1", formula2="500")
        dv.promptTitle, dv.prompt = "Rows", "How many shops, 1 to 500."
    elif check == "category":
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="1", allow_blank=True)
        dv.promptTitle, dv.prompt = "Category id", "A FastMoss category id (14 = Beauty & Personal Care); empty for all."
    else:
        raise ValueError(check)
    dv.showInputMessage = True
    dv.showErrorMessage = True
    dv.errorTitle = "FastMoss input"
    dv.error = dv.prompt
    return dv


def _style_input(cell, spec: Input) -> None:
    cell.fill = INPUT_FILL
    cell.border = INPUT_BORDER
    cell.font = INPUT_FONT
    cell.alignment = Alignment(horizontal="left")
    if spec.text:
        cell.number_format = TEXT_FORMAT


def _inputs(ws, specs, first_row: int, label_col: int, label_right: bool = False) -> list[str]:
    """Label, yellow input cell and hint per spec; returns the inputs' absolute addresses."""
    refs = []
    validations: dict[str, DataValidation] = {}
    for offset, spec in enumerate(specs):
        row = first_row + offset
        label = ws.cell(row, label_col, spec.label)
        label.font = LABEL_FONT
        if label_right:
            label.alignment = Alignment(horizontal="right", indent=1)
        cell = ws.cell(row, label_col + 1, spec.default)
        _style_input(cell, spec)
        hint = ws.cell(row, label_col + 2, spec.hint)
        hint.font = HINT_FONT
        if spec.check:
            if spec.check not in validations:
                validations[spec.check] = _validation(spec.check)
                ws.add_data_validation(validations[spec.check])
            validations[spec.check].add(cell.coordinate)
        refs.append(_absolute(row, label_col + 1))
    return refs


def _absolute(row: int, col: int) -> str:
    return f"${get_column_letter(col)}${row}"


def _literal(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def fm_formula(function: str, region: str, category: str, date_type: str, date_value: str,
               options: tuple = ()) -> str:
    """``=FUNCTION(args)``; each argument is already formula text (a reference or a quoted literal)."""
    args = [region, category, date_type, date_value, *options]
    return f"={function}({','.join(args)})"


def _set_fm(ws, row: int, col: int, formula: str) -> None:
    # An array formula of one cell; the build marks it dynamic (cm="1") in the package.
    ref = f"{get_column_letter(col)}{row}"
    ws[ref] = ArrayFormula(ref, formula)


# -- shared pieces -------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the package edit adds after openpyxl saved: buttons, and where."""

    #: (sheet, column index from 0, row index from 0) of each button's top-left corner.
    buttons: list[tuple[str, int, int]] = field(default_factory=list)


def _titles(ws, title: str, subtitle: str) -> None:
    ws["A1"] = title
    ws["A1"].font = TITLE_FONT
    ws.row_dimensions[1].height = 28
    ws["A2"] = subtitle
    ws["A2"].font = SUBTITLE_FONT


def _stamp_formula(ws, row: int, col: int) -> None:
    cell = ws.cell(row, col, f'=IF({STAMP_NAME}="","Not refreshed yet",{STAMP_NAME})')
    cell.font = HINT_FONT


def _button(plan: Plan, ws, row: int, col: int) -> None:
    plan.buttons.append((ws.title, col - 1, row - 1))


def format_table(ws, header_row: int, first_col: int, fields, body_rows: int) -> str:
    """Header style, number formats and banding where a table will spill; returns its range."""
    last_col = first_col + len(fields) - 1
    last_row = header_row + body_rows
    for j, name in enumerate(fields):
        col = first_col + j
        header = ws.cell(header_row, col)
        header.font = HEADER_FONT
        header.fill = HEADER_FILL
        header.alignment = Alignment(horizontal="center", vertical="center")
        number_format = column(name).excel_format
        alignment = Alignment(horizontal=column(name).align) if column(name).align else None
        for row in range(header_row + 1, last_row + 1):
            cell = ws.cell(row, col)
            cell.font = BODY_FONT
            if number_format:
                cell.number_format = number_format
            if alignment:
                cell.alignment = alignment
    body = f"{get_column_letter(first_col)}{header_row + 1}:{get_column_letter(last_col)}{last_row}"
    anchor = f"${get_column_letter(first_col)}{header_row + 1}"
    ws.conditional_formatting.add(
        body, FormulaRule(formula=[f'AND({anchor}<>"",MOD(ROW(),2)=0)'], fill=BAND_FILL))
    return f"{get_column_letter(first_col)}{header_row}:{get_column_letter(last_col)}{last_row}"


def _widths(ws, widths: dict[int, float]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def _page_setup(ws) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def _axes_visible(chart) -> None:
    # openpyxl 3.1 leaves <c:delete> unset, and Excel may then hide the axes.
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _top10_chart(ws, title: str, header_row: int, name_col: int, value_col: int, number_format: str):
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = title
    chart.legend = None
    data = Reference(ws, min_col=value_col, min_row=header_row, max_row=header_row + 10)
    chart.add_data(data, titles_from_data=True)
    names = Reference(ws, min_col=name_col, min_row=header_row + 1, max_row=header_row + 10)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(names)))  # shop names are text
    chart.series[0].tx = SeriesLabel(strRef=StrRef(f"'{ws.title}'!{_absolute(header_row, value_col)}"))
    chart.x_axis.scaling.orientation = "maxMin"  # rank 1 at the top
    chart.y_axis.majorGridlines = None
    chart.gapWidth = 60
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    for flag in ("showCatName", "showSerName", "showLegendKey", "showPercent", "showBubbleSize"):
        setattr(chart.dataLabels, flag, False)
    chart.dataLabels.numFmt = number_format
    chart.series[0].graphicalProperties.solidFill = "2E75B6"
    _axes_visible(chart)
    chart.y_axis.delete = True  # the bars' labels give the values
    chart.width, chart.height = 17, 10.5
    return chart


# -- the period dashboards -------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSheet:
    name: str
    title: str
    subtitle: str
    function: str
    date_type: str
    date_input: Input
    sort: str | None
    chart_field: str
    chart_title: str


PERIOD_SHEETS = (
    PeriodSheet(
        DAILY, "Daily: most promoted shops",
        "Shops ranked by creators newly linked on one day (FastMoss Most promoted). "
        "Yellow cells are inputs.",
        "FM_MOSTPROMOTED", "day",
        Input("Date", "latest", "YYYY-MM-DD, or latest = yesterday (Shanghai time)", text=True),
        None, "affiliate_count", "Top 10 shops by new creators"),
    PeriodSheet(
        WEEKLY, "Weekly: top selling shops",
        "Shops ranked by units sold or GMV (USD) in one ISO week (FastMoss Top selling). "
        "Yellow cells are inputs.",
        "FM_TOPSELLING", "week",
        Input("Week", "latest", "YYYY-WW (ISO week, e.g. 2026-14), or latest = last full week", text=True),
        "units_sold", "units_sold", "Top 10 shops by units sold"),
    PeriodSheet(
        MONTHLY, "Monthly: top selling shops",
        "Shops ranked by GMV (USD) or units sold in one month (FastMoss Top selling). "
        "Yellow cells are inputs.",
        "FM_TOPSELLING", "month",
        Input("Month", "latest", "YYYY-MM, or latest = last full month", text=True),
        "usd_gmv", "usd_gmv", "Top 10 shops by GMV (USD)"),
)
#: Header row of the period sheets' tables; the formula sits in column A of it.
PERIOD_HEADER_ROW = 10


def build_period_sheet(wb, plan: Plan, spec: PeriodSheet):
    ws = wb.create_sheet(spec.name)
    fields = default_fields(FUNCTION_ENDPOINTS[spec.function])
    _titles(ws, spec.title, spec.subtitle)
    specs = [_market(), CATEGORY, spec.date_input, ROWS] + ([_sort(spec.sort)] if spec.sort else [])
    refs = _inputs(ws, specs, first_row=4, label_col=1)
    market, category, date_value, rows = refs[:4]
    options = ('"rows"', rows) + (('"sort"', refs[4]) if spec.sort else ())
    header = PERIOD_HEADER_ROW
    _set_fm(ws, header, 1, fm_formula(spec.function, market, category, _literal(spec.date_type),
                                      date_value, options))
    format_table(ws, header, 1, fields, MAX_TABLE_ROWS)

    widths = {i + 1: column(f).width for i, f in enumerate(fields)}
    widths[1] = max(widths[1], 13)  # input labels share column A with Rank
    widths[len(fields) + 1] = 3
    _widths(ws, widths)
    button_col = 8
    _button(plan, ws, 4, button_col)
    _stamp_formula(ws, 7, button_col)

    value_col = fields.index(spec.chart_field) + 1
    chart = _top10_chart(ws, spec.chart_title, header, fields.index("name") + 1, value_col, COUNT_FORMAT)
    ws.add_chart(chart, f"{get_column_letter(len(fields) + 2)}{header}")
    ws.freeze_panes = f"C{header + 1}"  # header row, and Rank and Shop while scrolling right
    _page_setup(ws)
    return ws


# -- side-by-side sheets ---------------------------------------------------------------------------

MARKET_FIELDS = ("rank", "name", "usd_gmv")
MARKETS_HEADER_ROW = 10


def build_markets(wb, plan: Plan):
    ws = wb.create_sheet(MARKETS)
    _titles(ws, "Markets: one category across markets",
            "The top 10 shops of one category in five markets side by side (FastMoss Top selling). "
            "Yellow cells are inputs; the market codes above the tables too.")
    category, period_type, period, sort = _inputs(
        ws, [CATEGORY, PERIOD_TYPE, PERIOD, _sort("usd_gmv")], first_row=4, label_col=2, label_right=True)
    header = MARKETS_HEADER_ROW
    block = len(MARKET_FIELDS) + 1
    widths = {}
    market_check = _validation("market")
    ws.add_data_validation(market_check)
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.style = 10
    chart.title = "GMV (USD) of the top 10 shops, by rank and market"
    chart.y_axis.title = "GMV (USD)"
    chart.x_axis.title = "Rank"
    chart.y_axis.numFmt = COUNT_FORMAT
    chart.gapWidth = 80
    chart.legend.position = "b"
    _axes_visible(chart)
    for i, code in enumerate(MARKET_DEFAULTS):
        col = 1 + i * block
        cell = ws.cell(header - 1, col, code)
        _style_input(cell, _market())
        cell.alignment = _CENTER
        market_check.add(cell.coordinate)
        ws.cell(header - 1, col + 1, "\u2190 market").font = HINT_FONT
        market = _absolute(header - 1, col)
        _set_fm(ws, header, col, fm_formula(
            "FM_TOPSELLING", market, category, period_type, period,
            ('"fields"', _literal(",".join(MARKET_FIELDS)), '"rows"', str(SIDE_BY_SIDE_ROWS),
             '"sort"', sort)))
        format_table(ws, header, col, MARKET_FIELDS, SIDE_BY_SIDE_ROWS)
        gmv_col = col + MARKET_FIELDS.index("usd_gmv")
        total_row = header + SIDE_BY_SIDE_ROWS + 1
        label = ws.cell(total_row, gmv_col - 1, "Top 10 total")
        label.font = LABEL_FONT
        label.alignment = _RIGHT
        total = ws.cell(total_row, gmv_col,
                        f"=SUM({get_column_letter(gmv_col)}{header + 1}:{get_column_letter(gmv_col)}{header + SIDE_BY_SIDE_ROWS})")
        total.number_format = MONEY_FORMAT
        total.font = Font(name=FONT, size=11, bold=True)
        total.border = Border(top=Side("thin", color="404040"))
        for j, name in enumerate(MARKET_FIELDS):
            widths[col + j] = {"rank": 7, "name": 28, "usd_gmv": 15}[name]
        widths[col + len(MARKET_FIELDS)] = 3
        series = Series(Reference(ws, min_col=gmv_col, min_row=header + 1, max_row=header + SIDE_BY_SIDE_ROWS),
                        title_from_data=False)
        series.tx = SeriesLabel(strRef=StrRef(f"'{MARKETS}'!{market}"))
        chart.series.append(series)
    chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=header + SIDE_BY_SIDE_ROWS))
    # Spans the five tables' width, from two rows below the totals.
    top = header + SIDE_BY_SIDE_ROWS + 2
    ws.add_chart(chart, TwoCellAnchor(
        _from=AnchorMarker(col=0, row=top), to=AnchorMarker(col=len(MARKET_DEFAULTS) * block - 1, row=top + 20)))
    _widths(ws, widths)
    _button(plan, ws, 4, 1 + 2 * block)
    _stamp_formula(ws, 7, 1 + 2 * block)
    ws.freeze_panes = f"A{header + 1}"
    _page_setup(ws)
    return ws


@dataclass(frozen=True)
class Ranking:
    function: str
    title: str
    fields: tuple[str, ...]
    sort: bool


SHOP_RANKINGS_BLOCKS = (
    Ranking("FM_MOSTPROMOTED", "Most promoted: new creators", ("rank", "name", "affiliate_count", "usd_gmv"), False),
    Ranking("FM_TOPSELLING", "Top selling", ("rank", "name", "units_sold", "usd_gmv"), True),
    Ranking("FM_FULLYMANAGED", "Fully managed (" + " ".join(FULLY_MANAGED_REGIONS) + " only)",
            ("rank", "name", "units_sold", "usd_gmv"), True),
)
SHOP_RANKINGS_HEADER_ROW = 11


def build_shop_rankings(wb, plan: Plan):
    ws = wb.create_sheet(SHOP_RANKINGS)
    _titles(ws, "Shop rankings: one market, three rankings",
            "FastMoss Most promoted, Top selling and Fully managed for one market, top 10 each. "
            "Yellow cells are inputs.")
    category = Input("Category id", None, "FastMoss category id (14 = Beauty & Personal Care); empty = all",
                     "category")
    market, category, period_type, period, sort = _inputs(
        ws, [_market(hint="Market code; fully managed covers " + " ".join(FULLY_MANAGED_REGIONS) + " only"),
             category, PERIOD_TYPE, PERIOD, _sort("units_sold")],
        first_row=4, label_col=2, label_right=True)
    header = SHOP_RANKINGS_HEADER_ROW
    block = 4 + 1
    widths = {}
    for i, ranking in enumerate(SHOP_RANKINGS_BLOCKS):
        col = 1 + i * block
        title = ws.cell(header - 1, col, ranking.title)
        title.font = SECTION_FONT
        options = ('"fields"', _literal(",".join(ranking.fields)), '"rows"', str(SIDE_BY_SIDE_ROWS))
        if ranking.sort:
            options += ('"sort"', sort)
        _set_fm(ws, header, col, fm_formula(ranking.function, market, category, period_type, period, options))
        format_table(ws, header, col, ranking.fields, SIDE_BY_SIDE_ROWS)
        for j, name in enumerate(ranking.fields):
            widths[col + j] = {"rank": 7, "name": 28, "usd_gmv": 15}.get(name, 13)
        widths[col + len(ranking.fields)] = 3
    _widths(ws, widths)
    _button(plan, ws, 4, 1 + 2 * block)
    _stamp_formula(ws, 7, 1 + 2 * block)
    ws.freeze_panes = f"A{header + 1}"
    _page_setup(ws)
    return ws


# -- read me and settings ----------------------------------------------------------------------------

READ_ME_SECTIONS = (
    ("Every morning", (
        "1. Click Refresh FastMoss data (on any dashboard): every table is fetched fresh and the time is stamped above.",
        "2. Daily, Weekly and Monthly rank shops of your market and category; Markets compares markets;",
        "    Shop rankings shows the three FastMoss rankings of one market side by side.",
        "FastMoss publishes completed periods only: latest = yesterday (Shanghai time), last full week, last full month.",
    )),
    ("Input cells", (
        "Yellow cells with an orange border are inputs: the label is on their left, a hint on their right.",
        "Market, period type and sort cells offer a list (the cell's arrow). Change an input and the table recalculates;",
        "the button fetches everything fresh. Keep the cells below and right of a table's formula empty: the table spills there.",
    )),
    ("Sheets", (
        "Daily: shops ranked by creators newly linked on one day (Most promoted), with a chart of the top 10.",
        "Weekly: shops ranked by units sold or GMV in USD in one ISO week (Top selling), with a chart.",
        "Monthly: the same for one month, sorted by GMV in USD.",
        "Markets: one category in five markets side by side (top 10 by GMV in USD) and a chart comparing them.",
        "Shop rankings: Most promoted, Top selling and Fully managed of one market, top 10 each.",
        "xlwings.conf: settings for xlwings; UDF Modules = xl_fastmoss.udfs makes the FM_ functions available.",
        "FastMoss refresh: written by the button, lists what failed at the last refresh (appears on first use).",
    )),
    ("Setup, once", (
        "1. Install Python 3.11 or later, then: pip install xl-fastmoss  (it brings xlwings).",
        "2. Store your FastMoss API key: xl-fastmoss config --set-key  (or set the FASTMOSS_API_KEY variable).",
        f"3. Keep {BOOK_NAME}.py in the folder of this workbook, and keep the workbook's name: the button runs the",
        f"    macro {REFRESH_MACRO}, which imports the Python module named like the workbook and calls its main().",
        "4. Enable macros, then import the FM_ functions once: xlwings ribbon > Import Functions,",
        "    or Alt+F8 > ImportPythonUDFs. Save the workbook.",
        "5. Excel 365 spills each table below its formula; older versions of Excel show its first cell only.",
    )),
    ("Without Excel", (
        f"xl-fastmoss refresh {BOOK_FILE} --output today.xlsm  writes a copy with every table as values.",
    )),
    ("Formulas", (
        "FM_MOSTPROMOTED(market, category_id, date_type, date_value, [option, value]...); FM_TOPSELLING and",
        "FM_FULLYMANAGED take the same arguments. date_type: day, week or month; date_value: YYYY-MM-DD, YYYY-WW,",
        "YYYY-MM or latest. Options: rows (1 to 500), fields (e.g. \"rank,name,usd_gmv\"), headers (TRUE/FALSE),",
        "shop_type (1 brand, 2 retail), cross_border (1/0), sort (units_sold or usd_gmv).",
    )),
)
#: Where the macro stamps the last refresh (the defined name FM_LastRefresh).
STAMP_CELL = (READ_ME, "C4")


def build_read_me(ws, plan: Plan) -> None:
    ws.title = READ_ME
    ws.sheet_view.showGridLines = False
    ws["B1"] = "FastMoss TikTok Shop dashboard"
    ws["B1"].font = TITLE_FONT
    ws.row_dimensions[1].height = 28
    ws["B2"] = "TikTok Shop shop rankings from FastMoss in Excel, refreshed with one click."
    ws["B2"].font = SUBTITLE_FONT
    ws["B4"] = "Last refresh"
    ws["B4"].font = LABEL_FONT
    stamp = ws[STAMP_CELL[1]]
    stamp.value = STAMP_EMPTY
    stamp.font = Font(name=FONT, size=11, bold=True, color=DARK_BLUE)
    _button(plan, ws, 6, 3)
    row = 10
    for title, lines in READ_ME_SECTIONS:
        ws.cell(row, 2, title).font = SECTION_FONT
        for line in lines:
            ws.cell(row, 3, line).font = BODY_FONT
            row += 1
        row += 1
    _widths(ws, {1: 2, 2: 18, 3: 120})
    _page_setup(ws)


CONFIG_ROWS = (
    ("UDF Modules", "xl_fastmoss.udfs"),
    ("Debug UDFs", False),
    ("Use UDF Server", False),
    ("Show Console", False),
)
CONFIG_NOTES = (
    "Instructions:",
    "These settings override those of the xlwings add-in (ribbon, ~/.xlwings/xlwings.conf) and of an "
    "xlwings.conf file beside this workbook.",
    "Keys start in A1 with no empty row between them: xlwings reads down to the first empty cell.",
    "Interpreter_Win, Interpreter_Mac, PYTHONPATH, Conda Path and Conda Env are left out on purpose: the Python "
    "set in the xlwings ribbon applies.",
    "To pin a Python for this workbook, add a row such as Interpreter_Win | C:\\path\\to\\python.exe. "
    "A row with an empty value hides the ribbon's setting.",
    "UDF Modules names the Python module with the FM_ functions; after a change, click Import Functions again.",
)


def configure_xlwings_conf(ws) -> None:
    """The quickstart's ``_xlwings.conf``, renamed so xlwings reads it, with our module."""
    ws.title = CONFIG_SHEET
    key_style = ws["A1"]._style
    for row in ws.iter_rows():
        for cell in row:
            cell.value = None
    for i, (key, value) in enumerate(CONFIG_ROWS, start=1):
        ws.cell(i, 1, key)._style = key_style
        ws.cell(i, 2, value)._style = key_style
    for i, text in enumerate(CONFIG_NOTES, start=len(CONFIG_ROWS) + 2):
        ws.cell(i, 1, text).font = BODY_FONT
    ws.cell(len(CONFIG_ROWS) + 2, 1).font = Font(name=FONT, size=11, bold=True)
    _widths(ws, {1: 16, 2: 18})


# -- the workbook --------------------------------------------------------------------------------


def quickstart(folder: Path) -> Path:
    """``xlwings quickstart BOOK_NAME --standalone`` in ``folder``; returns the .xlsm."""
    subprocess.run([sys.executable, "-m", "xlwings.cli", "quickstart", BOOK_NAME, "--standalone"],
                   cwd=folder, check=True, capture_output=True, timeout=120)
    return folder / BOOK_NAME / BOOK_FILE


def vba_modules(path: Path) -> dict[str, str]:
    """``{module: source}`` of a workbook's VBA (olevba)."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def check_quickstart_vba(path: Path) -> None:
    """Refuse to build if the quickstart's button macro changed shape."""
    modules = vba_modules(path)
    code = modules.get("Module1", "")
    if not re.search(rf"^\s*(Public\s+)?Sub\s+{REFRESH_MACRO}\s*\(\s*\)", code, re.MULTILINE | re.IGNORECASE):
        raise SystemExit(f"the quickstart's Module1 has no Sub {REFRESH_MACRO}(); update REFRESH_MACRO")
    if "RunPython" not in code or ".main()" not in code:
        raise SystemExit(f"the quickstart's {REFRESH_MACRO} no longer runs <workbook module>.main()")
    if "xlwings" not in modules:
        raise SystemExit("the quickstart has no xlwings VBA module")


def build_workbook(source: Path, target: Path) -> None:
    wb = load_workbook(source, keep_vba=True)
    plan = Plan()
    read_me = wb["Sheet1"]
    config = wb["_xlwings.conf"]
    build_read_me(read_me, plan)
    for spec in PERIOD_SHEETS:
        build_period_sheet(wb, plan, spec)
    build_markets(wb, plan)
    build_shop_rankings(wb, plan)
    configure_xlwings_conf(config)
    wb._sheets = [wb[name] for name in SHEETS]
    used = {ws.sheet_properties.codeName for ws in wb.worksheets if ws.sheet_properties.codeName}
    number = 1
    for ws in wb.worksheets:
        if not ws.sheet_properties.codeName:
            while f"Sheet{number}" in used:
                number += 1
            ws.sheet_properties.codeName = f"Sheet{number}"
            used.add(f"Sheet{number}")
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    wb.active = wb.worksheets.index(wb[DAILY])
    wb[DAILY].sheet_view.tabSelected = True
    wb.defined_names[STAMP_NAME] = DefinedName(STAMP_NAME, attr_text=f"'{STAMP_CELL[0]}'!${STAMP_CELL[1][0]}${STAMP_CELL[1][1:]}")
    wb.calculation.fullCalcOnLoad = True
    props = wb.properties
    props.creator = props.lastModifiedBy = "xl-fastmoss"
    props.title = "FastMoss TikTok Shop dashboard"
    props.description = BUILT_WITH
    buffer = io.BytesIO()
    wb.save(buffer)
    target.write_bytes(finish_package(buffer.getvalue(), plan))


# -- package edits ---------------------------------------------------------------------------------

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
REL_DRAWING = f"{NS_REL}/drawing"
REL_METADATA = f"{NS_REL}/sheetMetadata"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_METADATA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"

# Excel's own marking of a dynamic-array formula: cell metadata 1 -> XLDAPR fDynamic.
METADATA_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<metadata xmlns="{NS_MAIN}" xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray"><metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}}"><xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>""".encode()

# Elements a worksheet may have after <drawing>, in schema order.
_AFTER_DRAWING = ("legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
                  "webPublishItems", "tableParts", "extLst")

BUTTON_WIDTH = 1_900_000  # EMU, about 2.0 in
BUTTON_HEIGHT = 420_000  # about 0.44 in


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _sheet_parts(package: PackageParts) -> dict[str, str]:
    """``{sheet name: worksheet part}``."""
    rels = package.relationships("xl/workbook.xml")
    return {s.get("name"): rels[s.get(f"{{{NS_REL}}}id")].target
            for s in package.xml("xl/workbook.xml").iter(f"{{{NS_MAIN}}}sheet")}


def finish_package(data: bytes, plan: Plan) -> bytes:
    package = PackageParts.from_bytes(data)
    sheets = _sheet_parts(package)
    _mark_dynamic_arrays(package, sheets.values())
    for sheet, col, row in plan.buttons:
        _add_button(package, sheets[sheet], col, row)
    _unlink_chart_formats(package)
    _fix_timestamps(package)
    return package.tobytes(FIXED_TIME)


def _unlink_chart_formats(package: PackageParts) -> None:
    """Charts' number formats apply as given, not the source cells' (openpyxl omits the flag)."""
    for part in [p for p in package.order if p.startswith("xl/charts/chart")]:
        chart = package.xml(part)
        formats = [e for e in chart.iter() if etree.QName(e).localname == "numFmt" and e.get("sourceLinked") is None]
        for element in formats:
            element.set("sourceLinked", "0")
        if formats:
            package.put(part, _xml(chart))


def _mark_dynamic_arrays(package: PackageParts, sheet_parts) -> None:
    marked = False
    for part in sheet_parts:
        root = package.xml(part)
        changed = False
        for f in root.iter(f"{{{NS_MAIN}}}f"):
            if f.get("t") == "array" and (f.text or "").lstrip("=").upper().startswith("FM_"):
                f.getparent().set("cm", "1")
                changed = True
        if changed:
            package.put(part, _xml(root))
            marked = True
    if marked:
        package.put("xl/metadata.xml", METADATA_XML)
        package.add_relationship("xl/workbook.xml", REL_METADATA, "xl/metadata.xml")
        package.set_override("xl/metadata.xml", CT_METADATA)


def _drawing_of(package: PackageParts, sheet_part: str) -> str:
    """The sheet's drawing part, created (with its relationship and content type) if missing."""
    for rel in package.relationships(sheet_part).values():
        if rel.type == REL_DRAWING:
            return rel.target
    number = 1
    while f"xl/drawings/drawing{number}.xml" in package.parts:
        number += 1
    part = f"xl/drawings/drawing{number}.xml"
    drawing = etree.Element(f"{{{NS_XDR}}}wsDr", nsmap={"xdr": NS_XDR, "a": NS_A})
    package.put(part, _xml(drawing))
    package.set_override(part, CT_DRAWING)
    rel_id = package.add_relationship(sheet_part, REL_DRAWING, part)
    sheet = package.xml(sheet_part)
    element = etree.Element(f"{{{NS_MAIN}}}drawing")
    element.set(f"{{{NS_REL}}}id", rel_id)
    following = next((child for child in sheet if etree.QName(child).localname in _AFTER_DRAWING), None)
    if following is None:
        sheet.append(element)
    else:
        following.addprevious(element)
    package.put(sheet_part, _xml(sheet))
    return part


def _add_button(package: PackageParts, sheet_part: str, col: int, row: int) -> None:
    part = _drawing_of(package, sheet_part)
    drawing = package.xml(part)
    ids = [int(e.get("id")) for e in drawing.iter() if etree.QName(e).localname == "cNvPr" and e.get("id", "").isdigit()]
    shape_id = max(ids, default=1) + 1
    X, A = f"{{{NS_XDR}}}", f"{{{NS_A}}}"
    anchor = etree.SubElement(drawing, X + "oneCellAnchor")
    start = etree.SubElement(anchor, X + "from")
    for name, value in (("col", col), ("colOff", 0), ("row", row), ("rowOff", 0)):
        etree.SubElement(start, X + name).text = str(value)
    etree.SubElement(anchor, X + "ext", cx=str(BUTTON_WIDTH), cy=str(BUTTON_HEIGHT))
    sp = etree.SubElement(anchor, X + "sp", macro=SHAPE_MACRO, textlink="")
    nv = etree.SubElement(sp, X + "nvSpPr")
    etree.SubElement(nv, X + "cNvPr", id=str(shape_id), name="Refresh FastMoss button",
                     descr=f"Runs the macro {REFRESH_MACRO}: refreshes every FastMoss table of the workbook")
    etree.SubElement(nv, X + "cNvSpPr")
    sp_pr = etree.SubElement(sp, X + "spPr")
    xfrm = etree.SubElement(sp_pr, A + "xfrm")
    etree.SubElement(xfrm, A + "off", x="0", y="0")
    etree.SubElement(xfrm, A + "ext", cx=str(BUTTON_WIDTH), cy=str(BUTTON_HEIGHT))
    geometry = etree.SubElement(sp_pr, A + "prstGeom", prst="roundRect")
    etree.SubElement(geometry, A + "avLst")
    fill = etree.SubElement(sp_pr, A + "solidFill")
    etree.SubElement(fill, A + "srgbClr", val="2E75B6")
    line = etree.SubElement(sp_pr, A + "ln", w="12700")
    line_fill = etree.SubElement(line, A + "solidFill")
    etree.SubElement(line_fill, A + "srgbClr", val=DARK_BLUE)
    body = etree.SubElement(sp, X + "txBody")
    etree.SubElement(body, A + "bodyPr", vertOverflow="clip", horzOverflow="clip", wrap="square",
                     lIns="36000", rIns="36000", rtlCol="0", anchor="ctr")
    etree.SubElement(body, A + "lstStyle")
    paragraph = etree.SubElement(body, A + "p")
    etree.SubElement(paragraph, A + "pPr", algn="ctr")
    run = etree.SubElement(paragraph, A + "r")
    run_pr = etree.SubElement(run, A + "rPr", lang="en-US", sz="1100", b="1")
    run_fill = etree.SubElement(run_pr, A + "solidFill")
    etree.SubElement(run_fill, A + "srgbClr", val="FFFFFF")
    etree.SubElement(run_pr, A + "latin", typeface="Calibri")
    etree.SubElement(run, A + "t").text = BUTTON_TEXT
    etree.SubElement(anchor, X + "clientData")
    package.put(part, _xml(drawing))


def _fix_timestamps(package: PackageParts) -> None:
    part = "docProps/core.xml"
    if part not in package.parts:
        return
    core = package.xml(part)
    for element in core:
        if etree.QName(element).localname in ("created", "modified"):
            element.text = FIXED_W3CDTF
    package.put(part, _xml(core))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=TEMPLATES, help="default: xl_fastmoss/templates")
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fastmoss-quickstart-") as folder:
        source = quickstart(Path(folder))
        check_quickstart_vba(source)
        target = args.output_dir / BOOK_FILE
        build_workbook(source, target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
