"""The period dashboards, Daily, Weekly and Monthly: one ranking's table and a chart of its top 10."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import SeriesLabel
from openpyxl.utils import get_column_letter

from xl_fastmoss.columns import column, default_fields
from xl_fastmoss.sheets.calls import FUNCTION_ENDPOINTS

from .dashboard import refresh_corner, titles
from .inputs import CATEGORY, ROWS, Input, absolute, fm_formula, literal, market_input, set_fm, sort_input, write_inputs
from .look import ACCENT_BLUE, COUNT_FORMAT, axes_visible, format_table, page_setup, set_widths
from .names import DAILY, MONTHLY, WEEKLY
from .package_edits import Plan


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
#: Rows formatted below each header: the most ``rows`` allows.
MAX_TABLE_ROWS = 500
#: Column of the refresh button and stamp, right of the inputs' hints.
BUTTON_COL = 8


def build_period_sheet(wb, plan: Plan, spec: PeriodSheet):
    """The sheet of one period: inputs, the FM_ formula over the table's formatted rows, a chart."""
    ws = wb.create_sheet(spec.name)
    fields = default_fields(FUNCTION_ENDPOINTS[spec.function])
    titles(ws, spec.title, spec.subtitle)
    header = PERIOD_HEADER_ROW
    set_fm(ws, header, 1, _period_formula(ws, spec))
    format_table(ws, header, 1, fields, MAX_TABLE_ROWS)
    _period_widths(ws, fields)
    refresh_corner(plan, ws, BUTTON_COL)
    chart = top10_chart(ws, spec.chart_title, header, fields.index("name") + 1,
                        fields.index(spec.chart_field) + 1, COUNT_FORMAT)
    ws.add_chart(chart, f"{get_column_letter(len(fields) + 2)}{header}")
    ws.freeze_panes = f"C{header + 1}"  # header row, and Rank and Shop while scrolling right
    page_setup(ws)
    return ws


def _period_formula(ws, spec: PeriodSheet) -> str:
    """Writes the inputs from A4 down; returns the FM_ formula that reads them."""
    specs = [market_input(), CATEGORY, spec.date_input, ROWS] + ([sort_input(spec.sort)] if spec.sort else [])
    refs = write_inputs(ws, specs, first_row=4, label_col=1)
    market, category, date_value, rows = refs[:4]
    options = ('"rows"', rows) + (('"sort"', refs[4]) if spec.sort else ())
    return fm_formula(spec.function, market, category, literal(spec.date_type), date_value, options)


def _period_widths(ws, fields) -> None:
    widths = {i + 1: column(f).width for i, f in enumerate(fields)}
    widths[1] = max(widths[1], 13)  # input labels share column A with Rank
    widths[len(fields) + 1] = 3  # a gap before the chart
    set_widths(ws, widths)


def top10_chart(ws, title: str, header_row: int, name_col: int, value_col: int, number_format: str):
    """Horizontal bars of the table's first 10 rows, rank 1 at the top, values on the bars."""
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = title
    chart.legend = None
    data = Reference(ws, min_col=value_col, min_row=header_row, max_row=header_row + 10)
    chart.add_data(data, titles_from_data=True)
    names = Reference(ws, min_col=name_col, min_row=header_row + 1, max_row=header_row + 10)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(names)))  # shop names are text
    chart.series[0].tx = SeriesLabel(strRef=StrRef(f"'{ws.title}'!{absolute(header_row, value_col)}"))
    chart.series[0].graphicalProperties.solidFill = ACCENT_BLUE
    chart.x_axis.scaling.orientation = "maxMin"  # rank 1 at the top
    chart.y_axis.majorGridlines = None
    chart.gapWidth = 60
    chart.dataLabels = _value_labels(number_format)
    axes_visible(chart)
    chart.y_axis.delete = True  # the bars' labels give the values
    chart.width, chart.height = 17, 10.5
    return chart


def _value_labels(number_format: str) -> DataLabelList:
    """Data labels that show the value only."""
    labels = DataLabelList()
    labels.showVal = True
    for flag in ("showCatName", "showSerName", "showLegendKey", "showPercent", "showBubbleSize"):
        setattr(labels, flag, False)
    labels.numFmt = number_format
    return labels
