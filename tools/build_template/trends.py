"""The Trends dashboard: one shop's last 30 days (FM_HISTORY) with a chart of its rank and GMV, and the
day's movers (FM_MOSTPROMOTED with ``compare``), its biggest climbers and fallers picked out beside it.

The climbers and fallers are plain Excel formulas over the movers table (LARGE, MATCH, INDEX),
so they recalculate with the table, in Excel as in a values copy. Two hidden helper columns hold
each mover's score with a tie-break (a better rank first), since MATCH finds the first of equal
values.
"""

from __future__ import annotations

from openpyxl.chart import LineChart, Reference
from openpyxl.chart.data_source import StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from xl_fastmoss.columns import column

from .dashboard import refresh_corner, titles
from .inputs import CATEGORY, Input, absolute, literal, market_input, set_fm, write_inputs
from .look import (
    ACCENT_BLUE,
    COUNT_FORMAT,
    DARK_BLUE,
    FONT,
    LABEL_FONT,
    SECTION_FONT,
    axes_visible,
    format_table,
    page_setup,
    set_widths,
)
from .names import TRENDS
from .package_edits import Plan

#: A shop of the fake world's US Beauty & Personal Care top 30 all through 2026, so the demo shows a line.
DEFAULT_SELLER = "7167716654557055327"
HISTORY_DAYS = 30
HISTORY_FIELDS = ("date_value", "rank", "affiliate_count", "units_sold", "usd_gmv", "note")
HISTORY_HEADER_ROW = 12
MOVERS_ROWS = 100
MOVERS_FIELDS = ("rank", "name", "previous_rank", "rank_change", "new")
MOVERS_HEADER_ROW = HISTORY_HEADER_ROW + HISTORY_DAYS + 4
#: The climbers and fallers box, right of the movers table, and how many shops each lists.
BOX_COL = len(HISTORY_FIELDS) + 2
BOX_ROWS = 10
#: Hidden columns: each mover's climb and fall scores, for LARGE and MATCH.
CLIMB_COL, FALL_COL = 24, 25
BUTTON_COL = 8
GREEN = "E2F0D9"


def build_trends(wb, plan: Plan):
    """Inputs, the shop's history and its chart, the day's movers and the climbers and fallers."""
    ws = wb.create_sheet(TRENDS)
    titles(ws, "Trends: one shop's last 30 days, and the day's movers",
           "A shop's rank and sales each day in FastMoss Most promoted, and how the day's top 100 moved "
           "against the day before. Yellow cells are inputs.")
    seller, market, category, start, end, depth = write_inputs(ws, [
        Input("Seller ID", DEFAULT_SELLER, "The shop's 19-digit seller id, typed as text (a number loses digits)",
              text=True),
        market_input(), CATEGORY,
        Input("From", "-29", "-29 = 29 days before To: the last 30 days (the sheet has room for 30)", text=True),
        Input("To", "latest", "YYYY-MM-DD, or latest = yesterday (Shanghai time)", text=True),
        Input("Depth", 100, "How deep to look for the shop each day, 1 to 500"),
    ], first_row=4, label_col=1)
    ws.add_data_validation(_depth_validation(depth))
    refresh_corner(plan, ws, BUTTON_COL)
    _history(ws, seller, market, category, start, end, depth)
    _movers(ws, market, category, end)
    _climbers_and_fallers(ws)
    # Column B holds the seller id input, the history's ranks and the movers' shop names.
    set_widths(ws, {1: 13, 2: 24, 3: 13, 4: 12, 5: 15, 6: 22, 7: 3, BOX_COL: 7, BOX_COL + 1: 28, BOX_COL + 2: 11})
    for col in (CLIMB_COL, FALL_COL):
        ws.column_dimensions[get_column_letter(col)].hidden = True
    page_setup(ws)
    return ws


def _depth_validation(cell: str) -> DataValidation:
    dv = DataValidation(type="whole", operator="between", formula1="1", formula2="500")
    dv.promptTitle, dv.prompt = "Depth", "How deep to look for the shop in each day's ranking, 1 to 500."
    dv.showInputMessage = dv.showErrorMessage = True
    dv.errorTitle, dv.error = "FastMoss input", dv.prompt
    dv.add(cell.replace("$", ""))
    return dv


def _history(ws, seller, market, category, start, end, depth) -> None:
    header = HISTORY_HEADER_ROW
    ws.cell(header - 1, 1, "The shop, day by day: its rank (blank when not in the top Depth) and sales").font = (
        SECTION_FONT)
    options = ('"depth"', depth, '"fields"', literal(",".join(HISTORY_FIELDS)))
    set_fm(ws, header, 1, f'=FM_HISTORY({seller},{market},{category},"day",{start},{end},{",".join(options)})')
    format_table(ws, header, 1, HISTORY_FIELDS, HISTORY_DAYS)
    ws.add_chart(_history_chart(ws), _beside_the_history())


def _history_chart(ws) -> LineChart:
    """The rank (left axis, 1 at the top) and the GMV in US dollars (right axis) of each day."""
    first, last = HISTORY_HEADER_ROW + 1, HISTORY_HEADER_ROW + HISTORY_DAYS
    days = Reference(ws, min_col=1, min_row=first, max_row=last)
    rank = LineChart()
    rank.title = "Rank and GMV (USD), day by day"
    rank.style = 12
    rank.add_data(Reference(ws, min_col=2, min_row=first, max_row=last), titles_from_data=False)
    rank.set_categories(days)
    rank.y_axis.title = "Rank"
    rank.y_axis.scaling.orientation = "maxMin"  # rank 1 at the top: up is better
    rank.y_axis.scaling.min = 1
    rank.y_axis.majorGridlines = None
    rank.x_axis.crosses = "max"  # with the rank axis upside down, the days stay at the bottom
    rank.x_axis.number_format = "@"
    _line(rank.series[0], HISTORY_FIELDS.index("rank") + 1, DARK_BLUE, ws)
    gmv = LineChart()
    gmv.add_data(Reference(ws, min_col=5, min_row=first, max_row=last), titles_from_data=False)
    gmv.set_categories(days)
    gmv.y_axis.axId = 200
    gmv.y_axis.title = "GMV (USD)"
    gmv.y_axis.number_format = COUNT_FORMAT
    gmv.y_axis.crosses = "max"  # on the right
    gmv.y_axis.majorGridlines = None
    _line(gmv.series[0], HISTORY_FIELDS.index("usd_gmv") + 1, ACCENT_BLUE, ws, dashed=True)
    axes_visible(rank)
    axes_visible(gmv)
    rank += gmv
    rank.legend.position = "b"
    rank.display_blanks = "gap"  # a day without a rank is a gap, never a drop to 0
    return rank


def _line(series, col: int, colour: str, ws, dashed: bool = False) -> None:
    series.tx = SeriesLabel(strRef=StrRef(f"'{ws.title}'!{absolute(HISTORY_HEADER_ROW, col)}"))
    series.graphicalProperties.line.solidFill = colour
    series.graphicalProperties.line.width = 28575  # 2.25 pt
    if dashed:
        series.graphicalProperties.line.dashStyle = "dash"
    series.marker.symbol = "circle"
    series.marker.size = 5
    series.marker.graphicalProperties.solidFill = colour
    series.marker.graphicalProperties.line.solidFill = colour
    series.smooth = False


def _beside_the_history() -> TwoCellAnchor:
    top = HISTORY_HEADER_ROW - 2
    return TwoCellAnchor(_from=AnchorMarker(col=BOX_COL - 1, row=top),
                         to=AnchorMarker(col=BOX_COL + 8, row=top + HISTORY_DAYS + 2))


def _movers(ws, market, category, end) -> None:
    header = MOVERS_HEADER_ROW
    ws.cell(header - 1, 1, "The day's movers: the top 100 of To against the day before").font = SECTION_FONT
    options = ('"compare"', '"previous"', '"rows"', str(MOVERS_ROWS), '"fields"', literal(",".join(MOVERS_FIELDS)))
    set_fm(ws, header, 1, f'=FM_MOSTPROMOTED({market},{category},"day",{end},{",".join(options)})')
    format_table(ws, header, 1, MOVERS_FIELDS, MOVERS_ROWS)
    body = f"A{header + 1}:{get_column_letter(len(MOVERS_FIELDS))}{header + MOVERS_ROWS}"
    new = get_column_letter(MOVERS_FIELDS.index("new") + 1)
    ws.conditional_formatting.add(body, FormulaRule(formula=[f"${new}{header + 1}=TRUE"],
                                                    fill=PatternFill("solid", fgColor=GREEN, bgColor=GREEN),
                                                    stopIfTrue=True))
    rank, change = (get_column_letter(MOVERS_FIELDS.index(f) + 1) for f in ("rank", "rank_change"))
    for row in range(header + 1, header + MOVERS_ROWS + 1):
        moved, place = f"{change}{row}", f"{rank}{row}"
        # N() is 0 for a new shop's blank change. A better rank breaks a tie: MATCH then finds each shop once.
        ws.cell(row, CLIMB_COL, f'=IF(N({moved})>0,{moved}-{place}/1000,"")')
        ws.cell(row, FALL_COL, f'=IF(N({moved})<0,-{moved}-{place}/1000,"")')


def _climbers_and_fallers(ws) -> None:
    top = MOVERS_HEADER_ROW - 1
    _box(ws, top, "Biggest climbers", CLIMB_COL)
    _box(ws, top + BOX_ROWS + 3, "Biggest fallers", FALL_COL)
    row = top + 2 * (BOX_ROWS + 3)
    label = ws.cell(row, BOX_COL + 1, "New in the top 100")
    label.font = LABEL_FONT
    new = get_column_letter(MOVERS_FIELDS.index("new") + 1)
    first, last = MOVERS_HEADER_ROW + 1, MOVERS_HEADER_ROW + MOVERS_ROWS
    count = ws.cell(row, BOX_COL + 2, f"=COUNTIF(${new}${first}:${new}${last},TRUE)")
    count.font = Font(name=FONT, size=11, bold=True)
    count.number_format = COUNT_FORMAT


def _box(ws, top: int, title: str, score_col: int) -> None:
    """``BOX_ROWS`` shops with the highest scores of ``score_col``: rank, shop, rank change."""
    ws.cell(top, BOX_COL, title).font = SECTION_FONT
    header = top + 1
    fields = ("rank", "name", "rank_change")
    for j, field in enumerate(fields):
        ws.cell(header, BOX_COL + j, column(field).label)
    format_table(ws, header, BOX_COL, fields, BOX_ROWS)
    first, last = MOVERS_HEADER_ROW + 1, MOVERS_HEADER_ROW + MOVERS_ROWS
    scores = f"${get_column_letter(score_col)}${first}:${get_column_letter(score_col)}${last}"

    def movers_column(field: str) -> str:
        letter = get_column_letter(MOVERS_FIELDS.index(field) + 1)
        return f"${letter}${first}:${letter}${last}"

    for k in range(1, BOX_ROWS + 1):
        found = f"MATCH(LARGE({scores},{k}),{scores},0)"
        for j, field in enumerate(fields):
            ws.cell(header + k, BOX_COL + j, f'=IFERROR(INDEX({movers_column(field)},{found}),"")')
