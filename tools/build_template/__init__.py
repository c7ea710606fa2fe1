"""Build ``xl_fastmoss/templates/FastMossDashboard.xlsm``: the dashboards on xlwings' standalone workbook.

A development tool, not part of the wheel (openpyxl is allowed here). From the repository root::

    python -m tools.build_template                  # writes xl_fastmoss/templates/FastMossDashboard.xlsm
    python -m tools.build_template --output-dir DIR

Steps, a module each:

1. :mod:`.quickstart`: ``xlwings quickstart FastMossDashboard --standalone`` in a temporary
   folder, and a check (olevba) that its VBA still has the Sub the refresh button calls.
2. :mod:`.workbook`: the sheets, written with openpyxl (``keep_vba=True`` keeps
   ``xl/vbaProject.bin`` byte for byte): :mod:`.read_me` (the read-me and xlwings.conf sheets),
   :mod:`.period_sheets` (Daily, Weekly, Monthly), :mod:`.side_by_side` (Markets, Shop rankings),
   :mod:`.trends` (Trends), on :mod:`.inputs`, :mod:`.look` and :mod:`.dashboard`; :mod:`.names`
   holds the names they share.
3. :mod:`.package_edits`: what openpyxl cannot write, edited into the saved package (buttons,
   dynamic-array marks, chart format flags, fixed timestamps), so that a rebuild gives the same file.
"""

from __future__ import annotations

from .command import build_template, main
from .names import (
                    BOOK_FILE,
                    BOOK_NAME,
                    CONFIG_SHEET,
                    DAILY,
                    MARKETS,
                    MONTHLY,
                    READ_ME,
                    REFRESH_MACRO,
                    SHEETS,
                    SHOP_RANKINGS,
                    STAMP_NAME,
                    WEEKLY,
)
from .package_edits import Plan, finish_package
from .quickstart import check_quickstart_vba, quickstart, vba_modules
from .workbook import BUILT_WITH, build_workbook

__all__ = [
    "BOOK_FILE", "BOOK_NAME", "BUILT_WITH", "CONFIG_SHEET", "DAILY", "MARKETS", "MONTHLY", "Plan", "READ_ME",
    "REFRESH_MACRO", "SHEETS", "SHOP_RANKINGS", "STAMP_NAME", "WEEKLY", "build_template", "build_workbook",
    "check_quickstart_vba", "finish_package", "main", "quickstart", "vba_modules",
]
