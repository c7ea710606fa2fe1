"""Excel's COM object model, the members xlwings 0.37.8's ``_xlwindows`` and the add-in use.

xlwings' own code (``_xlwindows.py``) runs on top of these objects, so each member here is what
that file calls (its line is cited) or what a fix may call through ``.api``. A member not
defined here raises AttributeError "excel model: ... is not modelled"; an assignment to a
member without a setter raises too. Semantics are Microsoft's, cited per member; pages under
https://learn.microsoft.com/office/vba/api/ are written ``VBA:excel.range.formula2`` below.
"""

from __future__ import annotations

from . import formula as fx
from .excel import XL_AUTOMATIC, XL_MANUAL, Dialog, ExcelApp, ExcelError, ModelGap, Sheet, Workbook, excel_value
from .windows_xlwings import com_error

XL_CELL_TYPE_FORMULAS = -4123  # XlCellType, VBA:excel.xlcelltype
RANGE_IID = "{00020846-0000-0000-C000-000000000046}"  # what xlwings' is_range_instance checks (_xlwindows.py:374-380)
DISP_E_EXCEPTION = -2147352567


def _com_failure(text: str) -> com_error:
    return com_error(DISP_E_EXCEPTION, "Exception occurred.", (0, "Microsoft Excel", text, None, 0, -2146827284), None)


class ComObject:
    """Strict: unknown members raise instead of answering."""

    _app: ExcelApp

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"excel model: {type(self).__name__[3:]}.{name} is not modelled")

    def __setattr__(self, name, value):
        if not name.startswith("_"):
            member = getattr(type(self), name, None)
            if not (isinstance(member, property) and member.fset):
                raise AttributeError(f"excel model: setting {type(self).__name__[3:]}.{name} is not modelled")
        object.__setattr__(self, name, value)

    def __repr__(self):
        return f"<COM {type(self).__name__[3:]}>"


class ComApplication(ComObject):
    def __init__(self, app: ExcelApp):
        self._app = app

    @property
    def Workbooks(self):  # _xlwindows.py:705
        return ComWorkbooks(self._app)

    @property
    def Hwnd(self):  # _xlwindows.py:711; the stand-in GetWindowThreadProcessId turns it into the pid
        return self._app.pid

    @property
    def Version(self):
        return "16.0"  # Microsoft 365

    @property
    def Calculation(self):  # _xlwindows.py:690, VBA:excel.application.calculation
        return self._app.calculation

    @Calculation.setter
    def Calculation(self, value):
        if value not in (XL_AUTOMATIC, XL_MANUAL):
            raise ModelGap(f"excel model: calculation mode {value} is not modelled")
        with self._app.lock:
            self._app.calculation = value
            if value == XL_AUTOMATIC:
                self._app.calculate()

    def Calculate(self):  # _xlwindows.py:697; dirty and volatile cells only (excel.py CALCTYPE)
        self._app.calculate()

    def CalculateFull(self):  # VBA:excel.application.calculatefull
        self._app.calculate_full()

    @property
    def WorksheetFunction(self):
        return ComWorksheetFunction()

    @property
    def ActiveWorkbook(self):  # _xlwindows.py:777, VBA:excel.application.activeworkbook
        book = self._app.active_workbook
        if book is None:
            raise ModelGap("excel model: Application.ActiveWorkbook with no workbook open is not modelled")
        return ComWorkbook(book)

    @property
    def ActiveSheet(self):  # VBA:excel.application.activesheet: the active sheet of the active workbook
        return self.ActiveWorkbook.ActiveSheet

    @property
    def Selection(self):
        """VBA:excel.application.selection: "the currently selected object in the active workbook".

        xlwings' App.selection reads Selection.Address, then wraps Selection (_xlwindows.py:606-613).
        In the model the selection is always cells of the active sheet (selecting a chart or a
        shape, where Selection is no Range, is not modelled).
        """
        sheet = self.ActiveSheet._sheet
        return ComRange(sheet, list(sheet.selection))

    def InputBox(self, Prompt, Title="Input", Default="", Left=None, Top=None, HelpFile=None, HelpContextID=None,
                 Type=None):
        """VBA:excel.application.inputbox: the text typed, or False "if you choose the Cancel button".

        Type 2 (text) only; the answer is the next one the test scripted (ExcelModel.type_into_input_box).
        """
        if Type != 2 or Default not in ("", None) or Left is not None or Top is not None or HelpFile is not None:
            raise ModelGap(f"excel model: InputBox with Type={Type}, Default={Default!r}, a position or help "
                           "is not modelled")
        with self._app.lock:
            self._app.dialogs.append(Dialog("InputBox", str(Title), str(Prompt)))
            if not self._app.answers:
                raise ModelGap("excel model: an InputBox was shown and the test scripted no answer for it")
            return self._app.answers.pop(0)

    def Intersect(self, first, second):  # _xlwindows.py:1453, VBA:excel.application.intersect
        if first._sheet is not second._sheet:
            raise ModelGap("excel model: Intersect across sheets is not modelled")
        areas = [(max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
                 for a in first._areas for b in second._areas]
        areas = [a for a in areas if a[0] <= a[2] and a[1] <= a[3]]
        return ComRange(first._sheet, areas) if areas else None


class ComScreen(ComObject):
    """Message boxes over Excel's window: ``win32api.MessageBox(hwnd, text, caption, type)``, which
    xlwings' App.alert calls (_xlwindows.py:756-761). MessageBoxW returns IDOK (1) when OK is
    clicked and IDCANCEL (2) when Cancel is
    (https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-messageboxw). Modelled: the
    single OK button (MB_OK, 0 in the low four bits), and OK / Cancel (MB_OKCANCEL, 1), whose
    click is the next answer the test scripted (ExcelModel.click_in_message_box); any other box,
    or an OK / Cancel box nobody scripted a click for, raises."""

    _CLICKS = {"ok": 1, "cancel": 2}  # IDOK, IDCANCEL (winuser.h)

    def __init__(self, app: ExcelApp):
        self._app = app

    def MessageBox(self, hwnd, text, caption, style):
        if hwnd != self._app.pid:
            raise ModelGap(f"excel model: a message box owned by window {hwnd}, not Excel's, is not modelled")
        buttons = style & 0xF
        if buttons not in (0, 1):
            raise ModelGap(f"excel model: a message box with buttons {buttons} (not OK, nor OK / Cancel) "
                           "is not modelled")
        with self._app.lock:
            self._app.dialogs.append(Dialog("MsgBox", str(caption), str(text)))
            if buttons == 0:
                return 1
            if not self._app.clicks:
                raise ModelGap("excel model: an OK / Cancel message box was shown and the test scripted no click")
            return self._CLICKS[self._app.clicks.pop(0)]


class ComWorksheetFunction(ComObject):
    def Unique(self, *args):
        """xlwings asks for UNIQUE to learn that this Excel has dynamic arrays (udfs.py:829-838)."""
        return args[0] if args else None


class ComWorkbooks(ComObject):
    def __init__(self, app):
        self._app = app

    @property
    def Application(self):  # _xlwindows.py:777 (Books.active), VBA:excel.workbooks.application
        return ComApplication(self._app)

    @property
    def Count(self):
        return len(self._app.workbooks)

    def __call__(self, key):  # _xlwindows.py:779-783
        books = self._app.workbooks
        if isinstance(key, int):
            return ComWorkbook(books[key - 1])
        for book in books:
            if book.name.lower() == str(key).lower():
                return ComWorkbook(book)
        raise _com_failure("Subscript out of range")

    def __iter__(self):
        return iter([ComWorkbook(b) for b in self._app.workbooks])


class ComWorkbook(ComObject):
    def __init__(self, book: Workbook):
        self._book, self._app = book, book.app

    def __eq__(self, other):
        return isinstance(other, ComWorkbook) and other._book is self._book

    def __hash__(self):
        return id(self._book)

    @property
    def Name(self):  # _xlwindows.py:851
        return self._book.name

    @property
    def FullName(self):
        return self._book.fullname

    @property
    def Worksheets(self):  # _xlwindows.py:855
        return ComWorksheets(self._book)

    @property
    def Names(self):  # _xlwindows.py:928
        return ComNames(self._book, None)

    @property
    def Application(self):  # _xlwindows.py:859
        return ComApplication(self._app)

    @property
    def ActiveSheet(self):  # _xlwindows.py:954 reads it through Worksheets.Parent
        return ComWorksheet(self._book.active_sheet or self._book.sheets[0])


class ComWorksheets(ComObject):
    def __init__(self, book: Workbook):
        self._book, self._app = book, book.app

    @property
    def Count(self):  # _xlwindows.py:960
        return len(self._book.sheets)

    @property
    def Parent(self):
        return ComWorkbook(self._book)

    def __call__(self, key):  # _xlwindows.py:956-957
        with self._app.lock:
            if isinstance(key, (int, float)) and not isinstance(key, bool):
                if not 1 <= key <= len(self._book.sheets):
                    raise _com_failure("Subscript out of range")
                return ComWorksheet(self._book.sheets[int(key) - 1])
            try:
                return ComWorksheet(self._book.sheet(key))
            except KeyError:
                raise _com_failure("Subscript out of range") from None

    def __iter__(self):  # _xlwindows.py:962-964
        return iter([ComWorksheet(s) for s in self._book.sheets])

    def Add(self, Before=None, After=None):
        """A new sheet before ``Before`` (or the active sheet), named SheetN; it becomes active.

        VBA:excel.worksheets.add. xlwings passes Before only (_xlwindows.py:966-991).
        """
        if After is not None:
            raise ModelGap("excel model: Worksheets.Add(After=...) is not modelled (xlwings uses Before)")
        with self._app.lock:
            book = self._book
            index = book.sheets.index(Before._sheet) if Before is not None else book.sheets.index(
                book.active_sheet or book.sheets[0])
            taken = {s.name.lower() for s in book.sheets}
            number = next(n for n in range(1, 10_000) if f"sheet{n}" not in taken)
            sheet = Sheet(book, f"Sheet{number}")
            book.sheets.insert(index, sheet)
            book.active_sheet = sheet
            return ComWorksheet(sheet)


class ComWorksheet(ComObject):
    def __init__(self, sheet: Sheet):
        self._sheet, self._app = sheet, sheet.book.app

    def __eq__(self, other):
        return isinstance(other, ComWorksheet) and other._sheet is self._sheet

    def __hash__(self):
        return id(self._sheet)

    @property
    def Name(self):  # _xlwindows.py:1003-1008
        return self._sheet.name

    @Name.setter
    def Name(self, value):
        with self._app.lock:
            if any(s is not self._sheet and s.name.lower() == value.lower() for s in self._sheet.book.sheets):
                raise _com_failure("That name is already taken.")
            self._sheet.name = value

    @property
    def Index(self):  # _xlwindows.py:1028
        return self._sheet.book.sheets.index(self._sheet) + 1

    @property
    def Parent(self):  # _xlwindows.py:1016
        return ComWorkbook(self._sheet.book)

    @property
    def Names(self):  # _xlwindows.py:1012: the sheet-scope names
        return ComNames(self._sheet.book, self._sheet)

    def Range(self, first, second=None):  # _xlwindows.py:1030-1065, VBA:excel.worksheet.range
        with self._app.lock:
            if second is None:
                if isinstance(first, ComRange):
                    return first
                return ComRange(self._sheet, [self._area(first)])
            a = first._single() if isinstance(first, ComRange) else self._area(first)
            b = second._single() if isinstance(second, ComRange) else self._area(second)
            return ComRange(self._sheet, [(min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))])

    def _area(self, text):
        if not isinstance(text, str):
            raise ModelGap(f"excel model: Worksheet.Range({text!r}) is not modelled")
        sheet_name, ref = fx.split_sheet(text)
        if sheet_name is not None and sheet_name.lower() != self._sheet.name.lower():
            raise _com_failure("Method 'Range' of object '_Worksheet' failed")
        try:
            return fx.parse_area(ref)
        except ValueError:
            refers_to = self._sheet.book.resolve_name(ref, self._sheet)
            if refers_to is None:
                raise _com_failure("Method 'Range' of object '_Worksheet' failed") from None
            target = fx.parse(refers_to, ())
            if not isinstance(target, fx.Reference) or target.spill:
                raise ModelGap(f"excel model: Range of the name {ref} ({refers_to}) is not modelled") from None
            return target.area

    @property
    def Cells(self):  # _xlwindows.py:1067: every cell; Cells(r, c) is one (VBA:excel.worksheet.cells)
        return ComRange(self._sheet, [(1, 1, fx.MAX_ROW, fx.MAX_COLUMN)])

    @property
    def UsedRange(self):  # _xlwindows.py:1137, VBA:excel.worksheet.usedrange
        area = self._sheet.used_area() or (1, 1, 1, 1)
        return ComRange(self._sheet, [area])

    def Activate(self):  # VBA:excel.worksheet.activate: the sheet of its workbook's window
        self._sheet.book.active_sheet = self._sheet

    def Move(self, Before=None, After=None):  # _xlwindows.py:982, VBA:excel.worksheet.move
        if After is not None or Before is None:
            raise ModelGap("excel model: Worksheet.Move without Before is not modelled")
        with self._app.lock:
            sheets = self._sheet.book.sheets
            sheets.remove(self._sheet)
            sheets.insert(sheets.index(Before._sheet), self._sheet)

    def Calculate(self):
        raise ModelGap("excel model: Worksheet.Calculate is not modelled; use Range.Calculate or Application.Calculate")


class _TypeAttr:
    iid = RANGE_IID


class _OleObject:
    """What xlwings' is_range_instance reads from a COM Range (_xlwindows.py:374-380)."""

    def GetTypeInfo(self):
        return self

    def GetTypeAttr(self):
        return _TypeAttr()


class ComRange(ComObject):
    """One or more rectangular areas of one sheet."""

    CLSID = RANGE_IID  # read when xlwings marshals a range to another thread (udfs.py:298)
    _oleobj_ = _OleObject()

    def __init__(self, sheet: Sheet, areas):
        self._sheet, self._areas, self._app = sheet, list(areas), sheet.book.app

    def __eq__(self, other):
        return isinstance(other, ComRange) and other._sheet is self._sheet and other._areas == self._areas

    def __hash__(self):
        return hash((id(self._sheet), tuple(self._areas)))

    def _single(self):
        if len(self._areas) != 1:
            raise ModelGap("excel model: this member on a multi-area range is not modelled")
        return self._areas[0]

    def _positions(self):
        r1, c1, r2, c2 = self._single()
        return [[(r, c) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]

    def _grid(self, read):
        """COM hands one cell as a scalar and a block as rows of values (_xlwindows.py:1371-1376)."""
        with self._app.lock:
            rows = [tuple(read(r, c) for r, c in row) for row in self._positions()]
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        return tuple(rows)

    # -- where ---------------------------------------------------------------------------
    @property
    def Worksheet(self):  # _xlwindows.py:1310
        return ComWorksheet(self._sheet)

    @property
    def Parent(self):
        return ComWorksheet(self._sheet)

    @property
    def Application(self):
        return ComApplication(self._app)

    @property
    def Row(self):  # _xlwindows.py:1311
        return self._areas[0][0]

    @property
    def Column(self):
        return self._areas[0][1]

    @property
    def Rows(self):
        """_xlwindows.py:1313 reads Rows.Count. VBA:excel.range.rows: "When applied to a Range object
        that is a multiple selection, this property returns rows from only the first area"."""
        r1, _, r2, _ = self._areas[0]
        return _Count(r2 - r1 + 1)

    @property
    def Columns(self):  # VBA:excel.range.columns: of a multiple selection, the first area's
        _, c1, _, c2 = self._areas[0]
        return _Count(c2 - c1 + 1)

    @property
    def Count(self):  # _xlwindows.py:1356
        return sum((a[2] - a[0] + 1) * (a[3] - a[1] + 1) for a in self._areas)

    @property
    def Areas(self):  # _xlwindows.py:1455
        return [ComRange(self._sheet, [a]) for a in self._areas]

    def __call__(self, row, column=None):
        """Range(row, column): the cell at that offset from the top-left, 1-based (VBA:excel.range.item)."""
        if column is None:
            raise ModelGap("excel model: Range(index) with one argument is not modelled")
        r1, c1, _, _ = self._areas[0]
        r, c = r1 + int(row) - 1, c1 + int(column) - 1
        return ComRange(self._sheet, [(r, c, r, c)])

    Item = __call__

    @property
    def Address(self):
        return self.GetAddress()

    def GetAddress(self, RowAbsolute=True, ColumnAbsolute=True, ReferenceStyle=1, External=False, RelativeTo=None):
        """VBA:excel.range.address; xlwings calls it with (row_abs, col_abs, 1, external), _xlwindows.py:1650."""
        if ReferenceStyle != 1 or RelativeTo is not None:
            raise ModelGap("excel model: R1C1 addresses are not modelled")

        def cell(r, c):
            return f"{'$' if ColumnAbsolute else ''}{fx.column_letters(c)}{'$' if RowAbsolute else ''}{r}"

        parts = [cell(a[0], a[1]) + ("" if a[:2] == a[2:] else ":" + cell(a[2], a[3])) for a in self._areas]
        text = ",".join(parts)
        if External:
            name = self._sheet.name
            quoted = f"'[{self._sheet.book.name}]{name}'" if not name.replace("_", "").isalnum() else \
                f"[{self._sheet.book.name}]{name}"
            text = f"{quoted}!{text}"
        return text

    # -- content -------------------------------------------------------------------------
    @property
    def Value(self):  # _xlwindows.py:1373; VBA:excel.range.value
        def read(r, c):
            value = self._sheet.shown(r, c)
            return value.com_value if isinstance(value, ExcelError) else value  # COM hands errors as HRESULTs
        return self._grid(read)

    @Value.setter
    def Value(self, data):  # _xlwindows.py:1380
        def put(r, c, value):
            if isinstance(value, str) and value.startswith("="):
                raise ModelGap("excel model: text starting with '=' written through Value enters a formula; "
                               "not modelled")
            self._app.set_constant(self._sheet, r, c, excel_value(value))
        self._write(data, put)

    @property
    def Formula(self):  # _xlwindows.py:1535, VBA:excel.range.formula
        return self._grid(lambda r, c: self._formula_of(r, c, array=False))

    @Formula.setter
    def Formula(self, data):
        self._write(data, lambda r, c, text: self._enter(r, c, text, array_evaluation=False))

    @property
    def Formula2(self):  # _xlwindows.py:1547, VBA:excel.range.formula2
        return self._grid(lambda r, c: self._formula_of(r, c, array=True))

    @Formula2.setter
    def Formula2(self, data):  # _xlwindows.py:1554; xlwings' async protocol sets it again (udfs.py:65)
        self._write(data, lambda r, c, text: self._enter(r, c, text, array_evaluation=True))

    def _formula_of(self, r, c, *, array: bool) -> str:
        """The formula as entered; a constant as its text; "" when empty (VBA:excel.range.formula).

        A spilled cell is not a formula cell (HASSPILL in excel.py): the file format keeps its
        value only (ECMA-376 18.3.1.40: the formula is written in the anchor alone), so it reads
        as the constant it shows. No Microsoft page states what Formula returns for a spilled
        cell; this is the model's reading, and FM_ cells should be found by HasFormula or
        SpecialCells(xlCellTypeFormulas), which do not depend on it.
        """
        cell = self._sheet.cells.get((r, c))
        if cell is not None and cell.is_formula:
            if array != cell.array_evaluation and _may_intersect(cell.tree, self._sheet):
                raise ModelGap("excel model: converting a formula between Formula and Formula2 where implicit "
                               "intersection can occur is not modelled")
            return cell.formula
        return _constant_text(self._sheet.shown(r, c))

    @property
    def HasFormula(self):  # VBA:excel.range.hasformula: True all, False none, None mixed
        with self._app.lock:
            flags = {bool(self._sheet.cells.get(p) and self._sheet.cells[p].is_formula)
                     for row in self._positions() for p in row}
        return flags.pop() if len(flags) == 1 else None

    @property
    def HasSpill(self):  # VBA:excel.range.hasspill: True all, False none, None mixed
        with self._app.lock:
            flags = {self._in_spill(p) for row in self._positions() for p in row}
        return flags.pop() if len(flags) == 1 else None

    def _in_spill(self, p) -> bool:
        cell = self._sheet.cells.get(p)
        return p in self._sheet.spilled_from or bool(cell and cell.spill)

    @property
    def SpillParent(self):  # VBA:excel.range.spillparent: the anchor of a spilled cell, else an error
        r1, c1, r2, c2 = self._single()
        if (r1, c1) != (r2, c2) or not self._in_spill((r1, c1)):
            raise _com_failure("SpillParent: the cell is not part of a spill range")
        anchor = self._sheet.spilled_from.get((r1, c1), (r1, c1))
        return ComRange(self._sheet, [(*anchor, *anchor)])

    @property
    def SpillingToRange(self):  # VBA:excel.range.spillingtorange: the whole spill of the anchor
        r1, c1, r2, c2 = self._single()
        anchor = self._sheet.spilled_from.get((r1, c1), (r1, c1))
        area = self._sheet.spill_area(anchor)
        if area is None:
            raise _com_failure("SpillingToRange: the cell does not spill")
        return ComRange(self._sheet, [area])

    @property
    def HasArray(self):  # _xlwindows.py:1799; VBA:excel.range.hasarray (legacy CSE array formulas)
        with self._app.lock:
            if any(self._sheet.cells.get(p) and self._sheet.cells[p].is_formula or p in self._sheet.spilled_from
                   for row in self._positions() for p in row):
                raise ModelGap("excel model: HasArray of a dynamic-array formula or its spill is not modelled")
        return False

    def ClearContents(self):  # _xlwindows.py:1077 (Cells.ClearContents), VBA:excel.range.clearcontents
        for area in self._areas:
            self._app.clear(self._sheet, area)

    def Dirty(self):  # VBA:excel.range.dirty (DIRTY in excel.py)
        for area in self._areas:
            self._app.mark_dirty(self._sheet, area)

    def Calculate(self):  # VBA:excel.range.calculate
        for area in self._areas:
            self._app.calculate_range(self._sheet, area)

    def SpecialCells(self, Type, Value=None):
        """VBA:excel.range.specialcells; only xlCellTypeFormulas; one cell searches the used range."""
        if Type != XL_CELL_TYPE_FORMULAS or Value is not None:
            raise ModelGap(f"excel model: SpecialCells({Type}, {Value}) is not modelled")
        with self._app.lock:
            area = self._single()
            if area[:2] == area[2:]:
                area = self._sheet.used_area() or area
            found = sorted(p for p, cell in self._sheet.cells.items() if cell.is_formula
                           and area[0] <= p[0] <= area[2] and area[1] <= p[1] <= area[3])
        if not found:
            raise _com_failure("No cells were found.")
        return ComRange(self._sheet, [(r, c, r, c) for r, c in found])

    # -- writing ---------------------------------------------------------------------------
    def _write(self, data, put):
        """One value fills the range; an array must have its shape (VBA:excel.range.value)."""
        with self._app.lock:
            positions = self._positions()
            if not isinstance(data, (list, tuple)):
                rows = [[data] * len(positions[0]) for _ in positions]
            elif data and not isinstance(data[0], (list, tuple)):
                rows = [list(data)]
            else:
                rows = [list(row) for row in data]
            if len(rows) != len(positions) or any(len(a) != len(b) for a, b in zip(rows, positions, strict=True)):
                raise ModelGap(f"excel model: writing a {len(rows)}-row array to {self.Address} is not modelled")
            for row, cells in zip(rows, positions, strict=True):
                for value, (r, c) in zip(row, cells, strict=True):
                    put(r, c, value)

    def _enter(self, r, c, text, *, array_evaluation):
        if not isinstance(text, str) or not text.startswith("="):
            if isinstance(text, str) and text.startswith("'"):
                raise ModelGap("excel model: a leading apostrophe is not modelled")
            self._app.set_constant(self._sheet, r, c, excel_value(_parse_constant(text)))
            return
        self._app.set_formula(self._sheet, r, c, text, array_evaluation=array_evaluation)


class _Count(ComObject):
    """Range.Rows / Range.Columns, for their Count (_xlwindows.py:1313-1314)."""

    def __init__(self, count):
        self._count = count

    @property
    def Count(self):
        return self._count


class ComNames(ComObject):
    def __init__(self, book: Workbook, sheet: Sheet | None):
        self._book, self._sheet, self._app = book, sheet, book.app

    def _keys(self):
        return [k for k in self._book.names if self._sheet is None or k[0] is self._sheet]

    @property
    def Count(self):
        return len(self._keys())

    def __call__(self, key):
        """Names(name): workbook names, and 'Sheet!Name' for sheet scope (VBA:excel.names.item).

        A missing name raises the COM error xlwings' Names.contains expects (_xlwindows.py:4555-4563).
        """
        keys = self._keys()
        if isinstance(key, (int, float)) and not isinstance(key, bool):
            return ComName(self._book, keys[int(key) - 1])
        sheet_name, name = fx.split_sheet(str(key))
        scope_name = (sheet_name or (self._sheet.name if self._sheet else "")).lower()
        for k in keys:
            scope, upper = k
            scope_matches = scope.name.lower() == scope_name if scope is not None else sheet_name is None
            if scope_matches and upper == name.upper():
                return ComName(self._book, k)
        raise com_error(DISP_E_EXCEPTION, "Exception occurred.", None, None)

    def __iter__(self):
        return iter([ComName(self._book, k) for k in self._keys()])

    def Add(self, Name, RefersTo):  # _xlwindows.py:4569, VBA:excel.names.add
        with self._app.lock:
            key = (self._sheet, Name.upper())
            self._book.names[key] = (Name, RefersTo if RefersTo.startswith("=") else "=" + RefersTo)
            return ComName(self._book, key)


class ComName(ComObject):
    def __init__(self, book: Workbook, key):
        self._book, self._key, self._app = book, key, book.app

    @property
    def Name(self):  # _xlwindows.py:4585: a sheet name reads "Sheet!Name"
        scope, _ = self._key
        name = self._book.names[self._key][0]
        return f"{fx_quote(scope.name)}!{name}" if scope is not None else name

    @property
    def RefersTo(self):  # _xlwindows.py:4593
        return self._book.names[self._key][1]

    @property
    def RefersToRange(self):  # _xlwindows.py:4601, VBA:excel.name.referstorange
        target = fx.parse(self.RefersTo, ())
        if not isinstance(target, fx.Reference) or target.spill:
            raise _com_failure("RefersToRange: the name does not refer to a range")
        sheet = self._book.sheet(target.sheet) if target.sheet else self._key[0]
        if sheet is None:
            raise ModelGap("excel model: a workbook name without a sheet is not modelled")
        return ComRange(sheet, [target.area])

    def Delete(self):
        with self._app.lock:
            del self._book.names[self._key]


def fx_quote(name: str) -> str:
    return name if name.replace("_", "").isalnum() else "'" + name.replace("'", "''") + "'"


# Functions whose arguments take a range or an array: implicit intersection reduces a range to
# one value only "where a single value is expected" (https://support.microsoft.com/office/
# implicit-intersection-operator-ce3be07b-0101-4450-a24e-c1c999be2b34), so =SUM(C11:C20) reads
# the same through Formula and Formula2.
_RANGE_FUNCTIONS = ("SUM", "COUNTA", "ROWS")


def _may_intersect(tree, sheet: Sheet) -> bool:
    """Whether implicit intersection could occur: a multi-cell or spill reference (a name resolved).

    The doc's own case: "=SQRT(A1)" reads the same through both, "as implicit intersection
    could not occur" (range-formula-vs-formula2).
    """
    if isinstance(tree, fx.Reference):
        return tree.spill or tree.area[:2] != tree.area[2:]
    if isinstance(tree, fx.Name):
        refers_to = sheet.book.resolve_name(tree.name, sheet)
        return refers_to is None or _may_intersect(fx.parse(refers_to, ()), sheet)
    if isinstance(tree, fx.Call):
        if tree.function in _RANGE_FUNCTIONS:  # a reference handed to them whole is not intersected
            return any(_may_intersect(a, sheet) for a in tree.args
                       if not isinstance(a, (fx.Reference, fx.Name)))
        return any(_may_intersect(a, sheet) for a in tree.args)
    if isinstance(tree, fx.Operation):
        return _may_intersect(tree.left, sheet) or _may_intersect(tree.right, sheet)
    if isinstance(tree, fx.Negate):
        return _may_intersect(tree.operand, sheet)
    return False


def _constant_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, ExcelError):
        return value.text
    if isinstance(value, str):
        return value
    raise ModelGap(f"excel model: the Formula text of {value!r} (a date?) depends on the locale; not modelled")


def _parse_constant(text):
    """A constant typed into Formula: a number, TRUE/FALSE, or text."""
    if not isinstance(text, str):
        return text
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    try:
        return float(text)
    except ValueError:
        return text
