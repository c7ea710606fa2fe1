"""The side-by-side dashboards: Markets (one ranking in five markets) and Shop rankings (three rankings
of one market), each a row of top-10 tables on shared inputs."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.chart import BarChart, Reference, Series
from openpyxl.chart.data_source import StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.styles import Border, Font, Side
from openpyxl.utils import get_column_letter

from xl_fastmoss.endpoints import FULLY_MANAGED_REGIONS

from .dashboard import refresh_corner, titles
from .inputs import (
    CATEGORY,
    PERIOD,
    PERIOD_TYPE,
    Input,
    absolute,
    fm_formula,
    literal,
    market_input,
    set_fm,
    sort_input,
    style_input,
    validation,
    write_inputs,
)
from .look import (
    CENTER,
    COUNT_FORMAT,
    FONT,
    HINT_FONT,
    LABEL_FONT,
    MONEY_FORMAT,
    RIGHT,
    SECTION_FONT,
    axes_visible,
    format_table,
    page_setup,
    set_widths,
)
from .names import MARKETS, SHOP_RANKINGS
from .package_edits import Plan

#: Rows of each table (fixed, so charts and totals sit below them).
SIDE_BY_SIDE_ROWS = 10
#: Column widths by field; other fields get ``OTHER_WIDTH``, the gap after each table ``GAP_WIDTH``.
FIELD_WIDTHS = {"rank": 7, "name": 28, "usd_gmv": 15}
OTHER_WIDTH, GAP_WIDTH = 13, 3

MARKET_DEFAULTS = ("US", "GB", "DE", "FR", "ID")
MARKET_FIELDS = ("rank", "name", "usd_gmv")
MARKETS_HEADER_ROW = 10
#: Columns of one market's table and the gap after it.
MARKET_BLOCK = len(MARKET_FIELDS) + 1


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
RANKING_BLOCK = max(len(ranking.fields) for ranking in SHOP_RANKINGS_BLOCKS) + 1


# -- Markets ---------------------------------------------------------------------------------------


def build_markets(wb, plan: Plan):
    """Five markets' top 10 by GMV side by side, each with its total, over a chart comparing them."""
    ws = wb.create_sheet(MARKETS)
    titles(ws, "Markets: one category across markets",
           "The top 10 shops of one category in five markets side by side (FastMoss Top selling). "
           "Yellow cells are inputs; the market codes above the tables too.")
    category, period_type, period, sort = write_inputs(
        ws, [CATEGORY, PERIOD_TYPE, PERIOD, sort_input("usd_gmv")], first_row=4, label_col=2, label_right=True)
    options = ('"fields"', literal(",".join(MARKET_FIELDS)), '"rows"', str(SIDE_BY_SIDE_ROWS), '"sort"', sort)
    header = MARKETS_HEADER_ROW
    market_check = validation("market")
    ws.add_data_validation(market_check)
    markets = []
    for i, code in enumerate(MARKET_DEFAULTS):
        col = 1 + i * MARKET_BLOCK
        market = _market_cell(ws, header - 1, col, code)
        market_check.add(market.replace("$", ""))
        set_fm(ws, header, col, fm_formula("FM_TOPSELLING", market, category, period_type, period, options))
        format_table(ws, header, col, MARKET_FIELDS, SIDE_BY_SIDE_ROWS)
        _top10_total(ws, header, col + MARKET_FIELDS.index("usd_gmv"))
        markets.append(market)
    ws.add_chart(_markets_chart(ws, markets), _under_the_market_tables())
    widths = _block_widths([(1 + i * MARKET_BLOCK, MARKET_FIELDS) for i in range(len(MARKET_DEFAULTS))])
    _finish(plan, ws, header, widths, button_col=1 + 2 * MARKET_BLOCK)
    return ws


def _market_cell(ws, row: int, col: int, code: str) -> str:
    """The market input above a table, with a hint on its right; returns its absolute address."""
    cell = ws.cell(row, col, code)
    style_input(cell, market_input())
    cell.alignment = CENTER
    ws.cell(row, col + 1, "\u2190 market").font = HINT_FONT
    return absolute(row, col)


def _top10_total(ws, header: int, col: int) -> None:
    """The sum of a table's column in the row below it, labelled on its left."""
    row = header + SIDE_BY_SIDE_ROWS + 1
    label = ws.cell(row, col - 1, "Top 10 total")
    label.font = LABEL_FONT
    label.alignment = RIGHT
    letter = get_column_letter(col)
    total = ws.cell(row, col, f"=SUM({letter}{header + 1}:{letter}{header + SIDE_BY_SIDE_ROWS})")
    total.number_format = MONEY_FORMAT
    total.font = Font(name=FONT, size=11, bold=True)
    total.border = Border(top=Side("thin", color="404040"))


def _markets_chart(ws, markets: list[str]) -> BarChart:
    """Columns of each market's GMV by rank, one series a market, named by its market cell."""
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
    axes_visible(chart)
    first, last = MARKETS_HEADER_ROW + 1, MARKETS_HEADER_ROW + SIDE_BY_SIDE_ROWS
    for i, market in enumerate(markets):
        gmv_col = 1 + i * MARKET_BLOCK + MARKET_FIELDS.index("usd_gmv")
        series = Series(Reference(ws, min_col=gmv_col, min_row=first, max_row=last), title_from_data=False)
        series.tx = SeriesLabel(strRef=StrRef(f"'{MARKETS}'!{market}"))
        chart.series.append(series)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    return chart


def _under_the_market_tables() -> TwoCellAnchor:
    """The five tables' width, from two rows below the totals."""
    top = MARKETS_HEADER_ROW + SIDE_BY_SIDE_ROWS + 2
    return TwoCellAnchor(_from=AnchorMarker(col=0, row=top),
                         to=AnchorMarker(col=len(MARKET_DEFAULTS) * MARKET_BLOCK - 1, row=top + 20))


# -- Shop rankings ---------------------------------------------------------------------------------


def build_shop_rankings(wb, plan: Plan):
    """The three FastMoss rankings of one market, top 10 each, side by side."""
    ws = wb.create_sheet(SHOP_RANKINGS)
    titles(ws, "Shop rankings: one market, three rankings",
           "FastMoss Most promoted, Top selling and Fully managed for one market, top 10 each. "
           "Yellow cells are inputs.")
    inputs = _shop_rankings_inputs(ws)
    header = SHOP_RANKINGS_HEADER_ROW
    blocks = []
    for i, ranking in enumerate(SHOP_RANKINGS_BLOCKS):
        col = 1 + i * RANKING_BLOCK
        _ranking_table(ws, header, col, ranking, *inputs)
        blocks.append((col, ranking.fields))
    _finish(plan, ws, header, _block_widths(blocks), button_col=1 + 2 * RANKING_BLOCK)
    return ws


def _shop_rankings_inputs(ws) -> list[str]:
    """Market, category, period type, period and sort from C4 down; returns their addresses."""
    market = market_input(hint="Market code; fully managed covers " + " ".join(FULLY_MANAGED_REGIONS) + " only")
    category = Input("Category id", None, "FastMoss category id (14 = Beauty & Personal Care); empty = all",
                     "category")
    return write_inputs(ws, [market, category, PERIOD_TYPE, PERIOD, sort_input("units_sold")],
                        first_row=4, label_col=2, label_right=True)


def _ranking_table(ws, header: int, col: int, ranking: Ranking,
                   market: str, category: str, period_type: str, period: str, sort: str) -> None:
    """One ranking's title, FM_ formula and formatted rows from ``col``."""
    ws.cell(header - 1, col, ranking.title).font = SECTION_FONT
    options: tuple[str, ...] = ('"fields"', literal(",".join(ranking.fields)), '"rows"', str(SIDE_BY_SIDE_ROWS))
    if ranking.sort:
        options += ('"sort"', sort)
    set_fm(ws, header, col, fm_formula(ranking.function, market, category, period_type, period, options))
    format_table(ws, header, col, ranking.fields, SIDE_BY_SIDE_ROWS)


# -- shared ----------------------------------------------------------------------------------------


def _block_widths(blocks) -> dict[int, float]:
    """Widths of side-by-side tables given as ``(first column, fields)``, with a gap after each."""
    widths: dict[int, float] = {}
    for col, fields in blocks:
        for j, name in enumerate(fields):
            widths[col + j] = FIELD_WIDTHS.get(name, OTHER_WIDTH)
        widths[col + len(fields)] = GAP_WIDTH
    return widths


def _finish(plan: Plan, ws, header: int, widths: dict[int, float], button_col: int) -> None:
    set_widths(ws, widths)
    refresh_corner(plan, ws, button_col)
    ws.freeze_panes = f"A{header + 1}"
    page_setup(ws)
