"""The read-me sheet (what to do every morning, setup, the last-refresh stamp) and the xlwings.conf sheet."""

from __future__ import annotations

from openpyxl.styles import Font

from .look import (
    BODY_FONT,
    DARK_BLUE,
    FONT,
    LABEL_FONT,
    SECTION_FONT,
    SUBTITLE_FONT,
    TITLE_FONT,
    page_setup,
    set_widths,
)
from .names import BOOK_FILE, BOOK_NAME, CONFIG_SHEET, READ_ME, REFRESH_MACRO, STAMP_CELL, STAMP_EMPTY
from .package_edits import Plan

READ_ME_SECTIONS = (
    ("Every morning", (
        "1. Click Refresh FastMoss data (on any dashboard): every table is fetched fresh and the time is stamped above.",
        "2. Daily, Weekly and Monthly rank shops of your market and category; Markets compares markets;",
        "    Shop rankings shows the three FastMoss rankings of one market side by side; Trends follows one shop.",
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
        "Trends: one shop's last 30 days (rank and GMV, with a chart) and the day's movers against the day before.",
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
        "shop_type (1 brand, 2 retail), cross_border (1/0), sort (units_sold or usd_gmv),",
        "compare (previous, or a period: adds previous_rank, rank_change and new).",
        "FM_HISTORY(seller_id, market, category_id, date_type, start, end, [option, value]...): one shop, a row a period;",
        "options ranking, sort, depth (1 to 500), fields, headers. The seller id is text: type it as \"7494...\".",
    )),
)

def build_read_me(ws, plan: Plan) -> None:
    """The quickstart's first sheet, renamed: title, last-refresh stamp, a refresh button, the sections."""
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
    plan.add_button(ws.title, 6, 3)
    row = 10
    for title, lines in READ_ME_SECTIONS:
        ws.cell(row, 2, title).font = SECTION_FONT
        for line in lines:
            ws.cell(row, 3, line).font = BODY_FONT
            row += 1
        row += 1
    set_widths(ws, {1: 2, 2: 18, 3: 120})
    page_setup(ws)


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
    set_widths(ws, {1: 16, 2: 18})
