"""The whole workbook: the quickstart's file with every sheet, in order, named, selected, and saved."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import xlwings
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName

from .names import DAILY, SHEETS, STAMP_CELL, STAMP_NAME
from .package_edits import Plan, finish_package
from .period_sheets import PERIOD_SHEETS, build_period_sheet
from .read_me import build_read_me, configure_xlwings_conf
from .side_by_side import build_markets, build_shop_rankings
from .trends import build_trends

#: In the core properties: a rebuild gives the same bytes with the same versions only.
BUILT_WITH = (f"Built by python -m tools.build_template with openpyxl {openpyxl.__version__}, "
              f"xlwings {xlwings.__version__}")


def build_workbook(source: Path, target: Path) -> None:
    """Write the template to ``target`` from the quickstart's workbook ``source``."""
    wb = load_workbook(source, keep_vba=True)  # keeps xl/vbaProject.bin byte for byte
    plan = Plan()
    _build_sheets(wb, plan)
    _order_sheets(wb)
    _open_on(wb, DAILY)
    stamp_sheet, stamp_cell = STAMP_CELL
    wb.defined_names[STAMP_NAME] = DefinedName(
        STAMP_NAME, attr_text=f"'{stamp_sheet}'!${stamp_cell[0]}${stamp_cell[1:]}")
    wb.calculation.fullCalcOnLoad = True
    _set_properties(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    target.write_bytes(finish_package(buffer.getvalue(), plan))


def _build_sheets(wb, plan: Plan) -> None:
    # openpyxl numbers styles in the order cells first use them: this order is part of the bytes.
    read_me, config = wb["Sheet1"], wb["_xlwings.conf"]
    build_read_me(read_me, plan)
    for spec in PERIOD_SHEETS:
        build_period_sheet(wb, plan, spec)
    build_markets(wb, plan)
    build_shop_rankings(wb, plan)
    build_trends(wb, plan)
    configure_xlwings_conf(config)


def _order_sheets(wb) -> None:
    """The tab order of SHEETS; each new sheet gets the first free ``SheetN`` code name."""
    wb._sheets = [wb[name] for name in SHEETS]
    used = {ws.sheet_properties.codeName for ws in wb.worksheets if ws.sheet_properties.codeName}
    number = 1
    for ws in wb.worksheets:
        if not ws.sheet_properties.codeName:
            while f"Sheet{number}" in used:
                number += 1
            ws.sheet_properties.codeName = f"Sheet{number}"
            used.add(f"Sheet{number}")


def _open_on(wb, sheet: str) -> None:
    """The workbook opens on ``sheet``, the only tab selected."""
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    wb.active = wb.worksheets.index(wb[sheet])
    wb[sheet].sheet_view.tabSelected = True


def _set_properties(wb) -> None:
    props = wb.properties
    props.creator = props.lastModifiedBy = "xl-fastmoss"
    props.title = "FastMoss TikTok Shop dashboard"
    props.description = BUILT_WITH
