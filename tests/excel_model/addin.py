"""An Excel add-in (.xlam) in the model: its ribbon, its VBA callbacks, and RunPython as its VBA runs it.

- Loading: Excel opens the workbooks of its startup folder when it starts; an add-in is a hidden
  workbook, never the active one, and not a member of Application.Workbooks (VBA:excel.workbooks:
  "The Workbooks collection doesn't include open add-ins"). Its sheets are read from the package
  (openpyxl does not open .xlam): constants only.
- The ribbon: Office finds a file's custom UI through a package relationship of type
  ``http://schemas.microsoft.com/office/2006/relationships/ui/extensibility`` (Office 2007's
  customUI.xml) or ``.../2007/relationships/ui/extensibility`` (Office 2010's customUI14.xml);
  xlwings' quickstart add-in links its part, in the 2006/01 customui namespace, with the latter,
  and the model reads either. Only that namespace is modelled. A click on a button calls the
  macro its ``onAction`` names with the button as an IRibbonControl, whose ``Id`` is the
  button's ``id`` (https://learn.microsoft.com/office/vba/api/office.iribboncontrol.id).
- The callback's VBA (read with olevba from the add-in) is interpreted, strictly: comment lines,
  ``If ActiveWorkbook Is Nothing Then ... End If``, ``MsgBox "text", vbInformation, "title"``,
  ``Exit Sub`` and ``RunPython <string literals and control.Id joined by &>``. Any other
  statement raises ModelGap.
- RunPython as xlwings_custom_addin.bas (xlwings 0.37.8) runs it: GetConfig reads the active
  workbook's sheet ``<PROJECT_NAME>.conf``, then the add-in's own sheet of that name ("Add-in
  Sheet Config"), then files that are not modelled (a key missing from both gets its default).
  The interpreter is ``INTERPRETER_WIN``, else ``INTERPRETER``, else ``python``: the model starts
  the one named and refuses to guess which ``python`` a PATH would find. Python gets the active
  workbook as its caller (``BOOK_CALLER``, ``--wb=ActiveWorkbook.Name``).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .excel import Cell, Dialog, ModelGap, Sheet, Workbook
from .runpython import _MISSING, RunPythonOutcome, config_from_sheet, run

CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
UI_RELATIONSHIPS = ("http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
                    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
VB_INFORMATION = 64  # VbMsgBoxStyle, https://learn.microsoft.com/office/vba/language/reference/user-interface-help/msgbox-function


@dataclass
class AddIn:
    """An open add-in: its hidden workbook, its ribbon buttons (id -> onAction) and its VBA modules."""

    book: Workbook
    path: Path
    buttons: dict[str, str] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)

    @property
    def project_name(self) -> str:
        """xlwings' ``Public Const PROJECT_NAME`` in the add-in's xlwings module."""
        found = re.search(r'^Public Const PROJECT_NAME As String = "([^"]*)"', self.modules.get("xlwings", ""),
                          re.MULTILINE)
        if found is None:
            raise ModelGap("excel model: an add-in without xlwings' VBA module (PROJECT_NAME) is not modelled")
        return found.group(1)


def load_addin(model, path) -> AddIn:
    """Open ``path`` as Excel opens an add-in of its startup folder."""
    from tools.build_template.quickstart import vba_modules

    path = Path(path).resolve()
    app = model.app
    with zipfile.ZipFile(path) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    book = Workbook(app, path.name, str(path))
    addin = AddIn(book, path, _buttons(parts), vba_modules(path))
    shared = _shared_strings(parts)
    for name, part in _sheet_parts(parts):
        sheet = Sheet(book, name)
        book.sheets.append(sheet)
        for cell in etree.fromstring(parts[part]).iter(f"{_MAIN}c"):
            value = _cell_value(cell, shared)
            if value is not None:
                sheet.cells[_position(cell.get("r"))] = Cell(constant=value)
    with app.lock:
        app.addins.append(addin)
    return addin


def _buttons(parts: dict[str, bytes]) -> dict[str, str]:
    rels = etree.fromstring(parts["_rels/.rels"])
    targets = [r.get("Target").lstrip("/") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Type") in
               UI_RELATIONSHIPS]
    if len(targets) != 1:
        raise ModelGap(f"excel model: an add-in with {len(targets)} custom UI parts is not modelled")
    ui = etree.fromstring(parts[targets[0]])
    if etree.QName(ui).namespace != CUSTOM_UI_NS:
        raise ModelGap(f"excel model: custom UI in {etree.QName(ui).namespace} is not modelled")
    found = {}
    for element in ui.iter(f"{{{CUSTOM_UI_NS}}}button"):
        if element.get("id") in found:
            raise ModelGap(f"excel model: two buttons with the id {element.get('id')}")
        found[element.get("id")] = element.get("onAction")
    return found


def _sheet_parts(parts: dict[str, bytes]):
    rels = {r.get("Id"): r.get("Target") for r in etree.fromstring(parts["xl/_rels/workbook.xml.rels"])}
    for sheet in etree.fromstring(parts["xl/workbook.xml"]).iter(f"{_MAIN}sheet"):
        yield sheet.get("name"), "xl/" + rels[sheet.get(f"{_REL}id")].lstrip("/").removeprefix("xl/")


def _shared_strings(parts: dict[str, bytes]) -> list[str]:
    data = parts.get("xl/sharedStrings.xml")
    return [] if data is None else ["".join(si.itertext()) for si in etree.fromstring(data).iter(f"{_MAIN}si")]


def _cell_value(cell, shared: list[str]):
    kind, value = cell.get("t"), cell.find(f"{_MAIN}v")
    if kind == "inlineStr":
        return "".join(cell.find(f"{_MAIN}is").itertext())
    if value is None or value.text is None:
        return None
    if kind == "s":
        return shared[int(value.text)]
    if kind == "b":
        return value.text == "1"
    if kind in (None, "n"):
        return float(value.text)
    raise ModelGap(f"excel model: an add-in cell of type {kind} is not modelled")


def _position(ref: str) -> tuple[int, int]:
    from .formula import parse_cell

    return parse_cell(ref)


# -- a click on the ribbon -------------------------------------------------------------------------

def click_ribbon(model, control_id: str) -> RunPythonOutcome | None:
    """The analyst clicks the ribbon button ``control_id`` of an open add-in: its onAction macro runs."""
    owners = [addin for addin in model.app.addins if control_id in addin.buttons]
    if len(owners) != 1:
        raise ModelGap(f"excel model: {len(owners)} open add-ins have a ribbon button {control_id!r}")
    addin = owners[0]
    module, _, sub = addin.buttons[control_id].partition(".")
    return _run_callback(model, addin, _sub_body(addin, module, sub), control_id)


def _sub_body(addin: AddIn, module: str, sub: str) -> list[str]:
    source = addin.modules.get(module)
    if source is None:
        raise ModelGap(f"excel model: the add-in has no VBA module {module}")
    lines = source.replace("\r\n", "\n").split("\n")
    header = re.compile(rf"^\s*(Public\s+)?Sub\s+{sub}\s*\(\s*(\w+)\s+As\s+IRibbonControl\s*\)\s*$", re.IGNORECASE)
    for start, line in enumerate(lines):
        if header.match(line):
            end = next(i for i in range(start, len(lines)) if lines[i].strip().lower() == "end sub")
            return lines[start + 1:end]
    raise ModelGap(f"excel model: {module} has no Sub {sub}(control As IRibbonControl)")


_STRING = r'"(?:[^"]|"")*"'


def _run_callback(model, addin: AddIn, body: list[str], control_id: str) -> RunPythonOutcome | None:
    app = model.app
    skipping = False
    for raw in body:
        line = raw.strip()
        if not line or line.startswith("'"):
            continue
        if re.fullmatch(r"If ActiveWorkbook Is Nothing Then", line):
            skipping = app.active_workbook is not None
            continue
        if line == "End If":
            skipping = False
            continue
        if skipping:
            continue
        if line == "Exit Sub":
            return None
        box = re.fullmatch(rf"MsgBox ({_STRING}), vbInformation, ({_STRING})", line)
        if box:
            with app.lock:
                app.dialogs.append(Dialog("MsgBox", _literal(box.group(2)), _literal(box.group(1))))
            continue
        call = re.fullmatch(r"RunPython (.+)", line)
        if call:
            return run_python_from_addin(model, addin, _concatenation(call.group(1), control_id))
        raise ModelGap(f"excel model: the VBA statement {line!r} is not modelled")
    return None


def _literal(token: str) -> str:
    return token[1:-1].replace('""', '"')


def _concatenation(expression: str, control_id: str) -> str:
    """String literals and ``control.Id`` joined by ``&``."""
    parts = re.findall(rf"\s*({_STRING}|control\.Id)\s*(?:&|$)", expression)
    if "".join(re.findall(rf"{_STRING}|control\.Id|&|\s", expression)) != expression or not parts:
        raise ModelGap(f"excel model: the VBA expression {expression!r} is not modelled")
    return "".join(control_id if part == "control.Id" else _literal(part) for part in parts)


def run_python_from_addin(model, addin: AddIn, command: str) -> RunPythonOutcome:
    """RunPython of xlwings_custom_addin.bas, called from the add-in's VBA."""
    app = model.app
    active = app.active_workbook
    if active is None:
        raise ModelGap("excel model: RunPython with no workbook open (VBA error 91) is not modelled")
    sheet_name = f"{addin.project_name}.conf"
    for book in (active, addin.book):
        if any(sheet.name.endswith(".py") for sheet in book.sheets):
            raise ModelGap("excel model: embedded Python code sheets (xlwings PRO) are not modelled")

    def config(key: str, default):
        for book in (active, addin.book):
            value = config_from_sheet(book, sheet_name, key)
            if value is not _MISSING:
                return value
        return default

    interpreter = config("INTERPRETER_WIN", "") or config("INTERPRETER", "python")
    if interpreter in ("python", "pythonw"):
        raise ModelGap("excel model: RunPython would start the `python` found on PATH; the model does not guess "
                       "which (set Interpreter_Win on the add-in's config sheet)")
    if not Path(str(interpreter)).is_file():
        with app.lock:
            app.dialogs.append(Dialog("MsgBox", "Microsoft Excel", "Could not find Interpreter!"))
        return RunPythonOutcome(False, -1, message_box="Could not find Interpreter!")
    return run(model, caller=active, this=addin.book, config=config, command=command, interpreter=str(interpreter))
