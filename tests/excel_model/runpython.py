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
  real child process (see child.py) with this process's environment.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .com import ComWorkbook
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


def get_config(book: Workbook, key: str, default):
    """GetConfig's sheet layer (xlwings.bas GetConfigFromSheet / GetConfig)."""
    try:
        sheet = book.sheet("xlwings.conf")
    except KeyError:
        return default
    row = 1
    while True:
        name = sheet.shown(row, 1)
        if name is None or name == "":
            return default
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
    if _vba_boolean(get_config(book, "USE UDF SERVER", False), "USE UDF SERVER"):
        return _in_udf_server(model, book, command)
    return _in_new_process(model, book, command)


def _in_udf_server(model, book: Workbook, command: str) -> RunPythonOutcome:
    model.udf_server.xlwindows.BOOK_CALLER = ComWorkbook(book)
    try:
        exec(command, {"__name__": "__xlwings_exec__"})  # XLPython.Exec
    except ModelGap:
        raise
    except Exception as error:
        return RunPythonOutcome(True, os.getpid(), message_box=str(error))
    return RunPythonOutcome(True, os.getpid())


def _in_new_process(model, book: Workbook, command: str) -> RunPythonOutcome:
    fullname = book.fullname
    python_path = _vba_text(get_config(book, "PYTHONPATH", ""))
    add_dir = _vba_text(get_config(book, "ADD_WORKBOOK_TO_PYTHONPATH", "true"))
    prepare = f"{add_dir};{fullname};{fullname};;;;{python_path}"
    code = (f"import sys; sys.path.insert(0, {TESTS_DIR!r}); import excel_model.child; excel_model.child.attach(); "
            f"import xlwings.utils;xlwings.utils.prepare_sys_path({prepare!r}); {command}")
    server = RpcServer(ComWorkbook(book))
    env = dict(os.environ, EXCEL_MODEL_COM=server.address, EXCEL_MODEL_BOOK=str(server.root_handle),
               EXCEL_MODEL_NOW=dt.datetime.now(dt.timezone.utc).isoformat())
    try:
        done = subprocess.run([sys.executable, "-B", "-c", code, f"--wb={book.name}", f"--hwnd={model.app.pid}"],
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
