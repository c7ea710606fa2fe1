"""How the sheets look: fonts, fills, formats, and the formatting of a table's spill region.

Column number formats, alignments and widths come from :mod:`xl_fastmoss.columns`.
"""

from __future__ import annotations

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from xl_fastmoss.columns import COUNT, MONEY, column
from xl_fastmoss.sheets.functions import STALE_MARK

DARK_BLUE = "1F4E79"
ACCENT_BLUE = "2E75B6"  # chart bars and the refresh button
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
#: The header row of a table shown from an older copy because its refresh failed.
STALE_FILL = PatternFill("solid", fgColor="C55A11", bgColor="C55A11")

COUNT_FORMAT = COUNT.excel_format
MONEY_FORMAT = MONEY.excel_format
TEXT_FORMAT = "@"
RIGHT = Alignment(horizontal="right")
CENTER = Alignment(horizontal="center")


def format_table(ws, header_row: int, first_col: int, fields, body_rows: int) -> str:
    """Header style, number formats and banding where a table will spill; returns its range."""
    for j, name in enumerate(fields):
        _format_column(ws, header_row, first_col + j, name, body_rows)
    last_col = get_column_letter(first_col + len(fields) - 1)
    last_row = header_row + body_rows
    first = get_column_letter(first_col)
    anchor = f"${first}{header_row + 1}"
    ws.conditional_formatting.add(
        f"{first}{header_row + 1}:{last_col}{last_row}",
        FormulaRule(formula=[f'AND({anchor}<>"",MOD(ROW(),2)=0)'], fill=BAND_FILL))
    # The FM_ functions mark a stale table in its first header cell (no row is added, so nothing
    # below it is overrun): the whole header row turns orange then.
    mark = STALE_MARK.replace('"', '""')
    ws.conditional_formatting.add(
        f"{first}{header_row}:{last_col}{header_row}",
        FormulaRule(formula=[f'ISNUMBER(SEARCH("{mark}",${first}${header_row}))'], fill=STALE_FILL))
    return f"{first}{header_row}:{last_col}{last_row}"


def _format_column(ws, header_row: int, col: int, name: str, body_rows: int) -> None:
    header = ws.cell(header_row, col)
    header.font = HEADER_FONT
    header.fill = HEADER_FILL
    header.alignment = Alignment(horizontal="center", vertical="center")
    number_format = column(name).excel_format
    alignment = Alignment(horizontal=column(name).align) if column(name).align else None
    for row in range(header_row + 1, header_row + body_rows + 1):
        cell = ws.cell(row, col)
        cell.font = BODY_FONT
        if number_format:
            cell.number_format = number_format
        if alignment:
            cell.alignment = alignment


def set_widths(ws, widths: dict[int, float]) -> None:
    """Column widths by column number (from 1)."""
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def page_setup(ws) -> None:
    """A4 landscape, one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def axes_visible(chart) -> None:
    """Show both axes: openpyxl 3.1 leaves ``<c:delete>`` unset, and Excel may then hide them."""
    chart.x_axis.delete = False
    chart.y_axis.delete = False
