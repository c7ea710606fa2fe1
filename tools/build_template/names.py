"""The template's names: its file, its sheets, the macro its buttons run, the cell that macro stamps."""

from __future__ import annotations

BOOK_NAME = "FastMossDashboard"
BOOK_FILE = f"{BOOK_NAME}.xlsm"

#: The quickstart's Module1 Sub: ``RunPython "import <book name>; <book name>.main()"``.
REFRESH_MACRO = "SampleCall"
#: How a drawing shape names a Sub of its own workbook.
SHAPE_MACRO = f"[0]!{REFRESH_MACRO}"
BUTTON_TEXT = "Refresh FastMoss data"

READ_ME = "Read me"
DAILY, WEEKLY, MONTHLY = "Daily", "Weekly", "Monthly"
MARKETS = "Markets"
SHOP_RANKINGS = "Shop rankings"
TRENDS = "Trends"
CONFIG_SHEET = "xlwings.conf"
#: The sheets in their tab order.
SHEETS = (READ_ME, DAILY, WEEKLY, MONTHLY, MARKETS, SHOP_RANKINGS, TRENDS, CONFIG_SHEET)

STAMP_NAME = "FM_LastRefresh"  # xl_fastmoss.macros.STAMP_NAME: the macro writes it
STAMP_EMPTY = "Not refreshed yet: click Refresh FastMoss data"
#: Where the macro stamps the last refresh (the defined name FM_LastRefresh).
STAMP_CELL = (READ_ME, "C4")
