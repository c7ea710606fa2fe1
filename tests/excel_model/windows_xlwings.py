"""xlwings' own Windows code, loaded on Linux over stand-ins for pywin32.

The model runs xlwings 0.37.8's real ``_xlwindows`` (the COM engine under ``xw.Book`` and
``xw.Range``) and ``udfs`` (``call_udf``, the async protocol, the decorators). Both import
pywin32 at the top; these stand-ins give each imported name a value that does what pywin32
does for the calls xlwings makes here, and nothing else:

- ``Dispatch``, ``CoMarshalInterThreadInterfaceInStream`` and ``CoGetInterfaceAndReleaseStream``
  hand the same object back: the model's COM objects are plain Python objects, usable from any
  thread (the model serialises calls with one lock, as Excel's single-threaded apartment does).
- ``win32process.GetWindowThreadProcessId(hwnd)`` answers ``(thread, pid)``; the model's
  ``Application.Hwnd`` is its Excel process id, so the pid xlwings reads (``_xlwindows.py:718``)
  is the model's.
- ``pywintypes.com_error`` carries ``hresult`` as pywin32's does (``args[0]``).
- ``win32api.MessageBox`` (App.alert) shows its box on the model's screen (``SCREEN``).

Anything xlwings reaches beyond these (window handles, the running-object table, ctypes DLLs)
is an ``_Unavailable`` that raises when used.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import importlib
import importlib.util
import sys
import types

DISP_E_PARAMNOTFOUND = -2147352572  # a missing VBA argument (xlwings udfs.py:500)


class com_error(Exception):  # noqa: N801 - pywin32's name
    """pywintypes.com_error: ``(hresult, text, excepinfo, argerror)``."""

    @property
    def hresult(self):
        return self.args[0] if self.args else None

    @property
    def excepinfo(self):
        return self.args[2] if len(self.args) > 2 else None


class _Unavailable:
    """A pywin32 or ctypes facility the model does not provide: any use raises."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, item):
        if item.startswith("__"):
            raise AttributeError(item)
        return _Unavailable(f"{self._name}.{item}")

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(f"excel model: {self._name}() is Windows-only and not modelled")


class _TimeType(dt.datetime):
    """pywintypes.TimeType: pywin32's COM date, a datetime subclass."""


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    module.__file__ = f"<excel model stand-in for {name}>"
    return module


def _same(obj, *args, **kwargs):
    return obj


#: Where win32api.MessageBox shows its box: the model's ComScreen (in the Excel process) or a
#: proxy of it (in a RunPython child); set by ExcelModel and child.attach.
SCREEN = None

# winuser.h, as xlwings' App.alert uses them (_xlwindows.py:742-752).
_MESSAGE_BOX_STYLES = dict(MB_OK=0x0, MB_OKCANCEL=0x1, MB_YESNOCANCEL=0x3, MB_YESNO=0x4, MB_ICONWARNING=0x30,
                           MB_ICONINFORMATION=0x40)


def _message_box(hwnd, text, caption, style):
    if SCREEN is None:
        raise NotImplementedError("excel model: win32api.MessageBox with no Excel model running")
    return SCREEN.MessageBox(hwnd, text, caption, style)


def _stand_ins() -> dict[str, types.ModuleType]:
    pywintypes = _module("pywintypes", com_error=com_error, error=com_error, TimeType=_TimeType,
                         IID=lambda text: text.upper())
    pythoncom = _module(
        "pythoncom", CoInitialize=lambda: None, ole_error=com_error, IID_IDispatch="IDISPATCH",
        CoMarshalInterThreadInterfaceInStream=lambda iid, obj: obj,
        CoGetInterfaceAndReleaseStream=lambda stream, iid: stream)
    client = _module("win32com.client", Dispatch=_same, DispatchEx=_Unavailable("DispatchEx"),
                     CDispatch=type("CDispatch", (), {}), CoClassBaseClass=type("CoClassBaseClass", (), {}),
                     DispatchBaseClass=type("DispatchBaseClass", (), {}))
    win32com = _module("win32com", client=client)
    win32timezone = _module("win32timezone",
                            TimeZoneInfo=types.SimpleNamespace(utc=lambda: dt.timezone.utc))
    return {
        "pywintypes": pywintypes,
        "pythoncom": pythoncom,
        "win32com": win32com,
        "win32com.client": client,
        "win32api": _module("win32api", MessageBox=_message_box),
        "win32con": _module("win32con", **_MESSAGE_BOX_STYLES),
        "win32gui": _module("win32gui", FindWindowEx=_Unavailable("win32gui.FindWindowEx")),
        "win32process": _module("win32process", GetWindowThreadProcessId=lambda hwnd: (0, hwnd)),
        "win32timezone": win32timezone,
    }


@contextlib.contextmanager
def _windows_ctypes():
    """``_xlwindows`` imports ``ctypes.windll``/``oledll`` and calls two DLLs at import time."""
    saved = {name: getattr(ctypes, name, None) for name in ("windll", "oledll", "PyDLL")}
    ctypes.windll = _Unavailable("ctypes.windll")
    ctypes.oledll = types.SimpleNamespace(ole32=types.SimpleNamespace(CLSIDFromString=lambda *a: 0),
                                          oleacc=_Unavailable("oleacc"))
    ctypes.PyDLL = lambda path: types.SimpleNamespace(PyCom_PyObjectFromIUnknown=_Unavailable("PyCom"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(ctypes, name)
            else:
                setattr(ctypes, name, value)


def load():
    """Import xlwings' ``_xlwindows`` and ``udfs`` over the stand-ins; returns both modules.

    Idempotent in a process. The stand-ins stay in ``sys.modules`` under pywin32's names only
    while importing: afterwards the two xlwings modules hold them by reference.
    """
    import xlwings

    if getattr(xlwings, "_excel_model_loaded", None):
        return xlwings._excel_model_loaded
    stand_ins = _stand_ins()
    saved = {name: sys.modules.get(name) for name in stand_ins}
    saved_udfs = sys.modules.pop("xlwings.udfs", None)
    sys.modules.update(stand_ins)
    try:
        with _windows_ctypes():
            xlwindows = importlib.import_module("xlwings._xlwindows")
        udfs = importlib.import_module("xlwings.udfs")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        # Keep this process's other importers of xlwings.udfs (tests/test_udfs.py) undisturbed.
        if saved_udfs is not None:
            sys.modules["xlwings.udfs"] = saved_udfs
        else:
            sys.modules.pop("xlwings.udfs", None)
    xlwings._excel_model_loaded = (xlwindows, udfs)
    return xlwindows, udfs


def load_udf_module(module_name: str):
    """``module_name`` imported afresh under xlwings' real Windows decorators.

    Off Windows ``xw.func`` and friends are no-ops (xlwings/__init__.py), so the module in
    ``sys.modules`` has no ``__xlfunc__``. As tests/test_udfs.py does, the real decorators from
    ``xlwings.udfs`` stand in while the module's code runs; the module object is returned and
    not put into ``sys.modules``, so the rest of the process keeps the plain one. Its imports
    (``xl_fastmoss.sheets.functions``, the client) are the process's shared modules.
    """
    import xlwings as xw

    _, udfs = load()
    spec = importlib.util.find_spec(module_name)
    module = importlib.util.module_from_spec(spec)
    saved = {name: getattr(xw, name) for name in ("func", "arg", "ret", "sub")}
    for name, real in (("func", udfs.xlfunc), ("arg", udfs.xlarg), ("ret", udfs.xlret), ("sub", udfs.xlsub)):
        setattr(xw, name, real)
    try:
        spec.loader.exec_module(module)
    finally:
        for name, value in saved.items():
            setattr(xw, name, value)
    return module
