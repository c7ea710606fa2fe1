"""A strict model of the parts of Excel and xlwings the add-in uses, for tests on Linux.

Layers, bottom up:
- ``excel``: cells holding constants or formulas, Application.Calculate / CalculateFull /
  Range.Dirty, spilling and #SPILL!; ``formula``: the formula language it evaluates.
- ``com``: Excel's COM objects (Application, Workbook, Worksheet, Range, Name) over it.
- xlwings 0.37.8's own ``_xlwindows`` engine and ``main`` API over those COM objects, loaded
  with pywin32 stand-ins (``windows_xlwings``); ``xw.Book`` here is xlwings' real class.
- ``udf_server``: xlwings' real ``call_udf`` (async protocol included) as the UDF server.
- ``runpython``: the template's buttons; RunPython in a child process or in the UDF server.
- ``addin``: an .xlam add-in, its ribbon buttons and their VBA callback, RunPython as an add-in runs it.

Each rule cites its source where it is written; what the model does not know raises.
Typical use::

    with ExcelModel() as excel:
        book = excel.open(path)           # an xw.Book
        excel.wait_until_idle(30)         # async FM_ calls landed
        excel.click(book)                 # the "Refresh FastMoss data" button (SampleCall)
        excel.table(book, "Daily!A10")    # what the analyst sees there
"""

from __future__ import annotations

import os
import sys

from . import windows_xlwings
from .addin import AddIn, click_ribbon, load_addin
from .com import ComApplication, ComScreen, ComWorkbook
from .excel import SPILL, XL_AUTOMATIC, XL_MANUAL, Dialog, ExcelApp, ExcelError, ModelGap
from .loader import load_workbook
from .runpython import RunPythonOutcome, run_python, sample_call
from .udf_server import UdfServer
from .windows_xlwings import load as load_windows_xlwings

__all__ = ["SPILL", "XL_AUTOMATIC", "XL_MANUAL", "AddIn", "Dialog", "ExcelError", "ExcelModel", "ModelGap",
           "RunPythonOutcome"]


class ExcelModel:
    """One Excel process with xlwings' add-in and UDF server (the UDF server is this process)."""

    def __init__(self):
        self.xlwindows, _ = load_windows_xlwings()
        self.app = ExcelApp()
        self.api = ComApplication(self.app)
        self.udf_server = UdfServer(self.app)
        windows_xlwings.SCREEN = ComScreen(self.app)  # App.alert in this process (Use UDF Server on)
        self.child_runs: list = []
        self._saved_path = list(sys.path)
        self.book_dirs: set[str] = set()

    # -- workbooks -----------------------------------------------------------------------
    def open(self, path):
        """Open a .xlsx/.xlsm as Excel would: its UDF modules registered, fullCalcOnLoad honoured.

        Returns xlwings' own Book over the model.
        """
        import xlwings as xw

        book = load_workbook(self, path)
        return xw.Book(impl=self.xlwindows.Book(ComWorkbook(book)))

    def book(self, xw_book):
        return xw_book.api._book

    def sheet(self, xw_book, name: str):
        return self.book(xw_book).sheet(name)

    # -- what the analyst sees -----------------------------------------------------------
    def shown(self, xw_book, address: str):
        sheet_name, _, cell = address.rpartition("!")
        from .formula import parse_cell
        return self.sheet(xw_book, sheet_name).shown(*parse_cell(cell))

    def table(self, xw_book, address: str) -> list[list]:
        """The block shown from an anchor: its spill when it spills, else the one cell."""
        from .formula import parse_cell
        sheet_name, _, cell = address.rpartition("!")
        sheet = self.sheet(xw_book, sheet_name)
        anchor = parse_cell(cell)
        area = sheet.spill_area(anchor) or (*anchor, *anchor)
        r1, c1, r2, c2 = area
        return [[sheet.shown(r, c) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]

    # -- the analyst's actions -----------------------------------------------------------
    def click(self, xw_book, macro: str = "SampleCall") -> RunPythonOutcome:
        """A button of the template: it runs ``macro`` (only SampleCall is modelled)."""
        if macro != "SampleCall":
            raise ModelGap(f"excel model: the macro {macro} is not modelled")
        return sample_call(self, self.book(xw_book))

    def select(self, xw_book, address: str) -> None:
        """The analyst clicks a sheet's tab, then selects cells there: ``"Markets!E12"``, ``"Daily!A11:B12,D4"``.

        The workbook's window becomes the active one (Application.ActiveWorkbook), the sheet its
        active sheet, the cells its selection (Application.Selection).
        """
        from .formula import parse_area

        sheet_name, _, areas = address.rpartition("!")
        book = self.book(xw_book)
        sheet = book.sheet(sheet_name)
        selection = [parse_area(area.replace("$", "")) for area in areas.split(",")]
        with self.app.lock:
            self.app.active_workbook = book
            book.active_sheet = sheet
            sheet.selection = selection

    def load_addin(self, path) -> AddIn:
        """Excel starts with ``path`` in its startup folder: the add-in is open, hidden, its ribbon shown."""
        return load_addin(self, path)

    def click_ribbon(self, control_id: str) -> RunPythonOutcome | None:
        """The analyst clicks the ribbon button ``control_id``; None when its VBA ran no Python."""
        return click_ribbon(self, control_id)

    def type_into_input_box(self, answer) -> None:
        """What the analyst will type into the next InputBox: a text, or False for Cancel."""
        with self.app.lock:
            self.app.answers.append(answer)

    def click_in_message_box(self, button: str) -> None:
        """What the analyst will click in the next OK / Cancel message box: "ok" or "cancel"."""
        if button not in ("ok", "cancel"):
            raise ValueError(f"a message box of OK / Cancel has no button {button!r}")
        with self.app.lock:
            self.app.clicks.append(button)

    @property
    def dialogs(self) -> list[Dialog]:
        """The message and input boxes shown so far, in order."""
        return list(self.app.dialogs)

    def run_python(self, xw_book, command: str) -> RunPythonOutcome:
        return run_python(self, self.book(xw_book), command)

    def wait_until_idle(self, timeout: float = 30) -> None:
        self.udf_server.wait_until_idle(timeout)

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        try:
            self.wait_until_idle(30)
        finally:
            self.udf_server.close()
            windows_xlwings.SCREEN = None
            sys.path[:] = self._saved_path
            for name, module in list(sys.modules.items()):
                # Workbook-local modules RunPython imported in this process (FastMossDashboard).
                where = getattr(module, "__file__", None)
                if where and os.path.dirname(os.path.abspath(where)) in self.book_dirs:
                    del sys.modules[name]

    def __enter__(self) -> ExcelModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
