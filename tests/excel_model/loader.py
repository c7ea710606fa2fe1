"""Opening a real .xlsx/.xlsm in the model (read with openpyxl).

- A formula ``<f t="array" ref=...>`` in a workbook with dynamic-array metadata (xl/metadata.xml
  XLDAPR, ``cm="1"`` on the cell) is a dynamic-array formula: it spills (Formula2 semantics);
  the other cells of its ``ref`` hold the cached spilled values, not content.
- Any other formula was saved by a writer without dynamic arrays: implicit intersection
  (Range.Formula semantics, excel.py FORMULA2).
- Cached values (``<v>``) are what the cells show until calculated; ``calcPr fullCalcOnLoad``
  makes Excel calculate everything on open (ECMA-376 Part 1, 18.2.2).
- A cell is a formula when the file stores one (``<f>``, openpyxl's data type "f"); text that
  begins with ``=`` (a shop name, an example typed as text) is a constant.
- Each sheet's selection is its view's ``<selection sqref>`` (ECMA-376 Part 1, 18.3.1.78; areas
  separated by spaces), A1 without one; the opened workbook becomes the active workbook.
- The UDF modules come from the ``xlwings.conf`` sheet's ``UDF Modules`` (``;``-separated),
  as xlwings' UDF server imports them; the server's sys.path gets the workbook's folder
  (xlwings.utils.prepare_sys_path, called by the VBA that starts the server).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.worksheet.formula import ArrayFormula

from .excel import Cell, ExcelError, ModelGap, Sheet, Workbook, excel_value
from .formula import parse, parse_area
from .runpython import get_config


def load_workbook(model, path) -> Workbook:
    path = Path(path).resolve()
    app = model.app
    with zipfile.ZipFile(path) as package:
        dynamic = "xl/metadata.xml" in package.namelist() and b"XLDAPR" in package.read("xl/metadata.xml")
    formulas = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
    cached = openpyxl.load_workbook(path, data_only=True)
    with app.lock:
        book = Workbook(app, path.name, str(path))
        app.workbooks.append(book)
        for ws in formulas.worksheets:
            book.sheets.append(Sheet(book, ws.title))
        book.active_sheet = book.sheets[formulas.worksheets.index(formulas.active)]
        app.active_workbook = book
        for name, defined in formulas.defined_names.items():
            book.names[(None, name.upper())] = (name, "=" + defined.attr_text)
        for ws, sheet in zip(formulas.worksheets, book.sheets, strict=True):
            for name, defined in ws.defined_names.items():
                book.names[(sheet, name.upper())] = (name, "=" + defined.attr_text)
        # Constants first: the UDF modules named on the config sheet must be known to parse formulas.
        pending = []
        for ws, sheet in zip(formulas.worksheets, book.sheets, strict=True):
            sheet.selection = _selection(ws)
            values = cached[ws.title]
            spilled = set()
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, ArrayFormula):
                        r1, c1, r2, c2 = parse_area(c.value.ref)
                        spilled |= {(r, k) for r in range(r1, r2 + 1) for k in range(c1, c2 + 1)} - {(c.row, c.column)}
            for row in ws.iter_rows():
                for c in row:
                    position = (c.row, c.column)
                    if c.has_style and c.value is None:
                        sheet.formatted.add(position)
                    if c.value is None or position in spilled:
                        continue
                    if c.data_type == "f":
                        pending.append((sheet, ws, values, c))
                    else:
                        sheet.cells[position] = Cell(constant=_constant(c.value))
        udf_modules = get_config(book, "UDF MODULES", "")
        for module_name in filter(None, (m.strip() for m in str(udf_modules or "").split(";"))):
            model.udf_server.register(module_name, book)
        import xlwings.utils

        xlwings.utils.prepare_sys_path(f"true;{path};{path};;;;")
        model.book_dirs.add(str(path.parent))
        for sheet, _ws, values, c in pending:
            _formula_cell(app, sheet, values, c, dynamic)
        if formulas.calculation.fullCalcOnLoad:
            app.calculate_full()
    return book


def _formula_cell(app, sheet: Sheet, values, c, dynamic: bool) -> None:
    position = (c.row, c.column)
    if isinstance(c.value, ArrayFormula):
        if not dynamic:
            raise ModelGap("excel model: a legacy (CSE) array formula is not modelled")
        text = c.value.text if c.value.text.startswith("=") else "=" + c.value.text
        r1, c1, r2, c2 = parse_area(c.value.ref)
        result = [[_cached(values.cell(r, k).value) for k in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        array = True
    else:
        text, array = c.value, False
        result = _cached(values.cell(*position).value)
    tree = parse(text, app.udfs)
    cell = Cell(formula=text, tree=tree, array_evaluation=array, result=result, dirty=False,
                volatile=any(app.udfs[f].volatile for f in _functions(tree) if f in app.udfs))
    sheet.cells[position] = cell
    cell.precedents = app._static_precedents(sheet, tree)
    if isinstance(result, list):
        if len(result) == 1 and len(result[0]) == 1:
            cell.result = result[0][0]
        else:
            app._resolve_spill(sheet, position)


def _selection(ws) -> list[tuple[int, int, int, int]]:
    selections = ws.sheet_view.selection
    sqref = selections[0].sqref if selections and selections[0].sqref else "A1"
    return [parse_area(area) for area in str(sqref).split()]


def _functions(tree):
    from .formula import functions_called
    return functions_called(tree)


def _constant(value):
    if isinstance(value, dt.time):
        raise ModelGap("excel model: a time-of-day constant is not modelled")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value.startswith("#") and value in _ERROR_TEXTS:
        return ExcelError(value)
    return excel_value(value)


def _cached(value):
    if value is None:
        return None
    if isinstance(value, str) and value in _ERROR_TEXTS:
        return ExcelError(value)
    return _constant(value)


_ERROR_TEXTS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!"}
