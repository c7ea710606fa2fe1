"""Workbook files on disk, for the headless refresh: find FM_ formulas, write a values copy.

Only the standard library's zipfile and lxml touch the package, part by part, so everything the
refresh does not change (charts, images, VBA, styles...) is copied byte for byte.
"""

from __future__ import annotations

from .reader import (
    CellData,
    CellError,
    DefinedName,
    FmCell,
    SheetInfo,
    WorkbookError,
    WorkbookFile,
    find_fm_cells,
)
from .writer import WriteReport, write_values_copy

__all__ = [
    "CellData",
    "CellError",
    "DefinedName",
    "FmCell",
    "SheetInfo",
    "WorkbookError",
    "WorkbookFile",
    "WriteReport",
    "find_fm_cells",
    "write_values_copy",
]
