"""What every dashboard sheet shares: its titles and its refresh corner (button and last-refresh stamp)."""

from __future__ import annotations

from .look import HINT_FONT, SUBTITLE_FONT, TITLE_FONT
from .names import STAMP_NAME
from .package_edits import Plan

#: Rows of the refresh corner: the button's top, and the stamp below it.
BUTTON_ROW, STAMP_ROW = 4, 7


def titles(ws, title: str, subtitle: str) -> None:
    """Title in A1, subtitle in A2."""
    ws["A1"] = title
    ws["A1"].font = TITLE_FONT
    ws.row_dimensions[1].height = 28
    ws["A2"] = subtitle
    ws["A2"].font = SUBTITLE_FONT


def refresh_corner(plan: Plan, ws, col: int) -> None:
    """The refresh button from row 4 of ``col``, and the time of the last refresh in row 7."""
    plan.add_button(ws.title, BUTTON_ROW, col)
    cell = ws.cell(STAMP_ROW, col, f'=IF({STAMP_NAME}="","Not refreshed yet",{STAMP_NAME})')
    cell.font = HINT_FONT
