"""RunPython, as the template's VBA module ``xlwings.bas`` (xlwings 0.37.8) runs a Python command.

- ``OPTIMIZED_CONNECTION = GetConfig("USE UDF SERVER", False)``; GetConfig reads the
  ``xlwings.conf`` sheet first: keys in column A from A1 down to the first empty cell, upper
  cased, values in column B (GetConfigFromSheet). The directory and user config files it reads
  next are not modelled: a key missing from the sheet gets its default.
- On: ``XLPy.SetAttr XLPy.Module("xlwings._xlwindows"), "BOOK_CALLER", ThisWorkbook`` then
  ``XLPy.Exec`` the command in the UDF server, the process the FM_ functions run in (here:
  this process). A Python error shows in a message box (ShowError "", Err.Description).
- Off: ExecuteWindows starts ``python -B -c "import xlwings.utils;xlwings.utils.prepare_sys_path
  (\"<add dir>;<fullname>;<fullname>;...;<PYTHONPATH>\"); <command>"`` and waits for it
  (WaitOnReturn = True); a non-zero exit shows its stderr log in a message box. Here it is a
  real child process (see child.py) with this process's environment, started with this process's
  Python for a workbook's own module (the interpreter xlwings' ribbon config would name is not
  modelled) and with the interpreter its config names for an add-in (addin.py).
- xlwings_custom_addin.bas, the VBA of an add-in made by ``xlwings quickstart --addin``, differs
  in what it hands over (addin.py): ActiveWorkbook instead of ThisWorkbook for BOOK_CALLER and
  ``--wb=``, and its config sheet is named after its PROJECT_NAME.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .com import ComScreen, ComWorkbook
from .excel import ModelGap, Workbook
from .rpc import RpcServer

TESTS_DIR = str(Path(__file__).resolve().parent.parent)
CHILD_TIMEOUT = 120


@dataclass
class RunPythonOutcome:
    """What the analyst sees of a macro run: nothing, or a message box."""

    in_udf_server: bool
    pid: int
    message_box: str | None = None


_MISSING = object()


def get_config(book: Workbook, key: str, default, sheet_name: str = "xlwings.conf"):
    """GetConfig's sheet layer (xlwings.bas GetConfigFromSheet / GetConfig)."""
    value = config_from_sheet(book, sheet_name, key)
    return default if value is _MISSING else value


def config_from_sheet(book: Workbook, sheet_name: str, key: str):
    """The value of ``key`` on the sheet ``sheet_name``, or _MISSING: keys in column A from A1 down
    to the first empty cell, upper cased, values in column B (GetConfigFromSheet)."""
    try:
        sheet = book.sheet(sheet_name)
    except KeyError:
        return _MISSING
    row = 1
    while True:
        name = sheet.shown(row, 1)
        if name is None or name == "":
            return _MISSING
        if str(name).upper() == key.upper():
            return sheet.shown(row, 2)
        row += 1


def _vba_boolean(value, key: str) -> bool:
    """Dim OPTIMIZED_CONNECTION As Boolean: VBA's conversion of the config value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0
    if isinstance(value, str) and value.strip().upper() in ("TRUE", "FALSE"):
        return value.strip().upper() == "TRUE"
    raise ModelGap(f"excel model: VBA's Boolean of the config {key}={value!r} is not modelled")


def sample_call(model, book: Workbook) -> RunPythonOutcome:
    """Module1.SampleCall of the template: import the module named like the workbook, call main()."""
    module = book.name[: book.name.rindex(".")]
    return run_python(model, book, f"import {module};{module}.main()")


def run_python(model, book: Workbook, command: str) -> RunPythonOutcome:
    """RunPython of a workbook's own VBA module (the template's): ThisWorkbook is the caller."""
    return run(model, caller=book, this=book, config=lambda key, default: get_config(book, key, default),
               command=command, interpreter=sys.executable)


def run(model, *, caller: Workbook, this: Workbook, config, command: str, interpreter: str) -> RunPythonOutcome:
    """RunPython with ``caller`` as the book Python gets (BOOK_CALLER, --wb=), ``this`` the workbook
    whose VBA runs, ``config(key, default)`` GetConfig and ``interpreter`` the Python it starts."""
    if _vba_boolean(config("USE UDF SERVER", False), "USE UDF SERVER"):
        return _in_udf_server(model, caller, command)
    return _in_new_process(model, caller, this, config, command, interpreter)


def _in_udf_server(model, book: Workbook, command: str) -> RunPythonOutcome:
    model.udf_server.xlwindows.BOOK_CALLER = ComWorkbook(book)
    try:
        exec(command, {"__name__": "__xlwings_exec__"})  # XLPython.Exec
    except ModelGap:
        raise
    except Exception as error:
        return RunPythonOutcome(True, os.getpid(), message_box=str(error))
    return RunPythonOutcome(True, os.getpid())


def _in_new_process(model, book: Workbook, this: Workbook, config, command: str, interpreter: str) -> RunPythonOutcome:
    python_path = _vba_text(config("PYTHONPATH", ""))
    add_dir = _vba_text(config("ADD_WORKBOOK_TO_PYTHONPATH", "true"))
    prepare = f"{add_dir};{book.fullname};{this.fullname};;;;{python_path}"
    code = (f"import sys; sys.path.insert(0, {TESTS_DIR!r}); import excel_model.child; excel_model.child.attach(); "
            f"import xlwings.utils;xlwings.utils.prepare_sys_path({prepare!r}); {command}")
    server = RpcServer(ComWorkbook(book))
    env = dict(os.environ, EXCEL_MODEL_COM=server.address, EXCEL_MODEL_BOOK=str(server.root_handle),
               EXCEL_MODEL_SCREEN=str(server.serve(ComScreen(model.app))),
               EXCEL_MODEL_NOW=dt.datetime.now(dt.timezone.utc).isoformat())
    try:
        done = subprocess.run([interpreter, "-B", "-c", code, f"--wb={book.name}", f"--hwnd={model.app.pid}"],
                              env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=TESTS_DIR)
    finally:
        server.close()
    model.child_runs.append(done)
    if "excel_model.rpc.ModelGapInChild" in done.stderr or "ModelGapInChild" in done.stderr:
        raise ModelGap("excel model: the RunPython child hit something the model does not know:\n" + done.stderr)
    if done.returncode != 0:
        return RunPythonOutcome(False, -1, message_box=done.stderr)
    pid_line = [line for line in done.stdout.splitlines() if line.startswith("excel-model-pid=")]
    return RunPythonOutcome(False, int(pid_line[-1].split("=")[1]) if pid_line else -1)


def _vba_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
