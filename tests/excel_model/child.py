"""The start of a RunPython child process: xlwings' Windows engine, Excel reached over COM.

RunPython without the UDF server runs ``python -B -c "...; <command>" --wb=<book> --from_xl=1
--hwnd=<Excel's window>`` (xlwings.bas ExecuteWindows), and ``xw.Book.caller()`` finds the
workbook through the window handle (main.py:1154-1158), a Windows-only lookup. Here the child
receives its COM connection to the model's Excel from the environment instead and hands the
calling workbook over the way RunPython with the UDF server does (xlwings.bas:
``XLPy.SetAttr XLPy.Module("xlwings._xlwindows"), "BOOK_CALLER", ThisWorkbook``), which
Book.caller() reads (main.py:1164-1166). Everything else in this process is its own: its
modules, its FastMoss client and memory caches.
"""

import datetime as dt
import os


def attach() -> None:
    from . import windows_xlwings
    from .rpc import Proxy, RemoteCom

    travel_to = os.environ.get("EXCEL_MODEL_NOW")
    if travel_to:  # the test's clock: the child starts at the parent's "now", then ticks
        import time_machine

        traveller = time_machine.travel(dt.datetime.fromisoformat(travel_to), tick=True)
        traveller.start()
    xlwindows, _ = windows_xlwings.load()
    remote = RemoteCom(os.environ["EXCEL_MODEL_COM"])
    xlwindows.BOOK_CALLER = Proxy(remote, int(os.environ["EXCEL_MODEL_BOOK"]))
    if "EXCEL_MODEL_SCREEN" in os.environ:  # message boxes xlwings shows over Excel's window
        windows_xlwings.SCREEN = Proxy(remote, int(os.environ["EXCEL_MODEL_SCREEN"]))
    print(f"excel-model-pid={os.getpid()}", flush=True)
