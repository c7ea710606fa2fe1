"""The xlwings UDF server, here in this process: xlwings' real ``call_udf`` over the model.

What runs is xlwings 0.37.8's own code: ``xlwings.udfs.call_udf`` (the cache key, the
``#N/A waiting...`` answer sized from the caller, ``async_thread`` setting the caller's
Formula2 again, the conversions of ``xlwings.conversion`` with ``_xlwindows``' Engine). The
model supplies only what surrounds it in Excel and in ``com_server.py``:

- the VBA wrapper "Import Functions" writes (udfs.py:591-734): arguments in order, a
  ParamArray appended; ``Application.Volatile`` when ``volatile=True``; ``Application.Caller``,
  for "a custom function entered in a single cell, a Range object specifying that cell"
  (https://learn.microsoft.com/office/vba/api/excel.application.caller); a cell reference
  reaches VBA as a Range; an empty argument as DISP_E_PARAMNOTFOUND (udfs.py:500);
- ``XLPython.CallUDF`` (com_server.py:233-240): a 1x1 result becomes a scalar, one row a list;
- ``com_server.loop``: an asyncio loop run forever in a daemon thread (com_server.py:331-337).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import types
from dataclasses import dataclass

import xlwings
from xlwings import main as xw_main

from . import formula as fx
from . import windows_xlwings
from .com import ComApplication, ComRange, ComWorkbook
from .excel import ExcelError, ModelGap, RefValue, excel_value


@dataclass
class Udf:
    """One worksheet function of a registered module, as its VBA wrapper calls it."""

    server: UdfServer
    module_name: str
    name: str
    info: dict
    workbook: object  # excel.Workbook holding the wrapper (ThisWorkbook in udfs.py:680-684)

    @property
    def volatile(self) -> bool:
        return bool(self.info["volatile"])

    def evaluate(self, app, tree: fx.Call, sheet, position, precedents):
        required = [a for a in self.info["args"] if not a["vararg"] and "optional" not in a]
        if len(tree.args) < len(required):
            raise ModelGap(f"excel model: {self.name} called with too few arguments is not modelled")
        args = tuple(self._argument(app, a, sheet, position, precedents) for a in tree.args)
        caller = ComRange(sheet, [(*position, *position)])
        try:
            result = self.server.call(self.module_name, self.name, args, ComWorkbook(self.workbook), caller)
        except Exception as error:
            raise ModelGap(f"excel model: {self.name} raised {error!r} through COM; the cell would show "
                           "Err.Description (udfs.py:730-731), whose text is not modelled") from error
        return _from_vba(result)

    @staticmethod
    def _argument(app, tree, sheet, position, precedents):
        if isinstance(tree, fx.Missing):
            return windows_xlwings.DISP_E_PARAMNOTFOUND
        value = app.evaluate_argument(tree, sheet, position, precedents)
        if isinstance(value, RefValue):
            return ComRange(value.sheet, [value.area])
        if isinstance(value, ExcelError):
            return value.com_value
        if isinstance(value, list):
            return tuple(tuple(v.com_value if isinstance(v, ExcelError) else v for v in row) for row in value)
        return value


def _from_vba(result):
    """What Excel holds from the Variant VBA returns: a scalar, or rows of values."""
    if isinstance(result, (list, tuple)):
        rows = [list(result)] if result and not isinstance(result[0], (list, tuple)) else [list(r) for r in result]
        return [[excel_value(v) for v in row] for row in rows]
    return excel_value(result)


class _ModelApps:
    """The engine's apps as xlwings' ``apps[pid]`` reads them (udfs.py:835)."""

    def __init__(self, xlwindows, app):
        self._xlwindows, self._app = xlwindows, app

    def __getitem__(self, pid):
        if pid != self._app.pid:
            raise KeyError(pid)
        return self._xlwindows.App(xl=ComApplication(self._app))

    def __iter__(self):
        yield self._xlwindows.App(xl=ComApplication(self._app))

    def __len__(self):
        return 1

    def keys(self):
        return [self._app.pid]


class _ModelEngine:
    """xlwings' "excel" engine: _xlwindows' own conversions, and the model's one Excel."""

    name, type = "excel", "desktop"

    def __init__(self, xlwindows, app):
        self.apps = _ModelApps(xlwindows, app)
        self.clean_value_data = xlwindows.engine.clean_value_data
        self.prepare_xl_data_element = xlwindows.engine.prepare_xl_data_element


class _FailureLog(logging.Handler):
    """xlwings logs and swallows a failed async call ("async_thread failed", udfs.py:68-69)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.failures: list[str] = []

    def emit(self, record):
        self.failures.append(self.format(record))


class UdfServer:
    def __init__(self, app):
        self.app = app
        self.xlwindows, self.udfs = windows_xlwings.load()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="xlwings-com-server-loop", daemon=True)
        self._thread.start()
        self._saved_com_server = sys.modules.get("xlwings.com_server")
        sys.modules["xlwings.com_server"] = types.ModuleType("xlwings.com_server")
        sys.modules["xlwings.com_server"].loop = self.loop
        self.engine = xw_main.Engine(impl=_ModelEngine(self.xlwindows, app))
        xlwings.engines.add(self.engine)
        self._saved_active, xlwings.engines.active = xlwings.engines.active, self.engine
        self.udfs.cache.clear()
        self.udfs.udf_modules.clear()
        self.udfs.has_dynamic_array.cache_clear()
        self.failures = _FailureLog()
        self._logger = logging.getLogger("xlwings.udfs")
        self._logger.addHandler(self.failures)

    def _run_loop(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def register(self, module_name: str, workbook) -> None:
        """What the UDF server holds once xlwings imported the module (udfs.py:444-456).

        ``filetime`` None: xlwings does not reload it (udfs.py:424-425).
        """
        module = windows_xlwings.load_udf_module(module_name)
        self.udfs.udf_modules[module_name] = {"filename": module.__file__, "filetime": None, "module": module}
        for name in dir(module):
            info = getattr(getattr(module, name), "__xlfunc__", None)
            if info is not None and not info["sub"]:
                self.app.udfs[info["name"].upper()] = Udf(self, module_name, info["name"], info, workbook)

    def call(self, module_name, func_name, args, this_workbook, caller):
        """XLPython.CallUDF (com_server.py:233-240) around xlwings' call_udf."""
        result = self.udfs.call_udf(module_name, func_name, args, this_workbook, caller)
        if len(result) == 1 and len(result[0]) == 1:
            return result[0][0]
        if len(result) == 1 and len(result[0]) > 1:
            return result[0]
        return result

    def pending(self) -> int:
        async def count():
            return len(asyncio.all_tasks()) - 1
        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(timeout=10)

    def wait_until_idle(self, timeout: float) -> None:
        """Until every async call has stored its result and set its caller's formula again."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 3:
            if self.failures.failures:
                raise AssertionError("xlwings logged a failed async UDF call:\n" + "\n".join(self.failures.failures))
            if time.monotonic() > deadline:
                raise TimeoutError(f"excel model: async UDF calls still running after {timeout} s")
            with self.app.lock:
                busy = self.pending()
            quiet = quiet + 1 if busy == 0 else 0
            time.sleep(0.01)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if self._saved_com_server is None:
            sys.modules.pop("xlwings.com_server", None)
        else:
            sys.modules["xlwings.com_server"] = self._saved_com_server
        engines = xlwings.engines
        engines.engines.remove(self.engine)
        engines.engines_by_name.pop("excel", None)
        engines.active = self._saved_active
        self.udfs.cache.clear()
        self.udfs.udf_modules.clear()
        self.xlwindows.BOOK_CALLER = None
        self._logger.removeHandler(self.failures)
