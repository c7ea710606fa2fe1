"""The Excel model's own rules: each test holds one rule the refresh scenarios rely on."""

from __future__ import annotations

import os
import textwrap

import pytest
from excel_model import SPILL, XL_MANUAL, ExcelModel, ModelGap
from excel_model.com import XL_CELL_TYPE_FORMULAS
from openpyxl import Workbook

TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), "..", "xl_fastmoss", "templates")

UDF_MODULE = '''
import time
import xlwings as xw
import model_udf_calls as calls


@xw.func
def COUNTED(x):
    calls.log.append(("COUNTED", x))
    return x


@xw.func(volatile=True)
def TICK():
    calls.log.append(("TICK",))
    return len(calls.log)


@xw.func
def BLOCK(rows, columns):
    calls.log.append(("BLOCK", rows, columns))
    return [[r * 10 + c for c in range(int(columns))] for r in range(int(rows))]


@xw.func(async_mode="threading")
def SLOW(x):
    calls.log.append(("SLOW", x))
    time.sleep(0.05)
    return [["slow", x], ["done", None]]
'''

MACRO_MODULE = '''
import os
import xlwings as xw
import model_udf_calls as calls


def main():
    book = xw.Book.caller()
    book.sheets["Sheet"].range("D1").value = os.getpid()
    book.sheets["Sheet"].range("D2").value = len(calls.log)
'''


@pytest.fixture
def calls(tmp_path, monkeypatch):
    (tmp_path / "model_udf_calls.py").write_text("log = []\n")
    (tmp_path / "model_udfs.py").write_text(UDF_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import model_udf_calls

    importlib.reload(model_udf_calls)
    yield model_udf_calls.log


@pytest.fixture
def excel(calls):
    with ExcelModel() as model:
        yield model


def make_book(tmp_path, *, use_udf_server=False, constants=None, name="model.xlsx"):
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet"
    for address, value in (constants or {}).items():
        ws[address] = value
    conf = wb.create_sheet("xlwings.conf")
    conf["A1"], conf["B1"] = "UDF Modules", "model_udfs"
    conf["A2"], conf["B2"] = "Use UDF Server", use_udf_server
    path = tmp_path / name
    wb.save(path)
    return path


def count(calls, name):
    return sum(1 for c in calls if c[0] == name)


# -- calculation -------------------------------------------------------------------------------

def test_calculate_skips_a_clean_non_volatile_udf_cell_and_calculate_full_does_not(excel, calls, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"A1": 5}))
    book.sheets["Sheet"]["B1"].formula2 = "=COUNTED(A1)"
    assert excel.shown(book, "Sheet!B1") == 5.0 and count(calls, "COUNTED") == 1
    book.app.calculate()  # Application.Calculate, what the refresh macro ends with
    assert count(calls, "COUNTED") == 1
    excel.api.CalculateFull()
    assert count(calls, "COUNTED") == 2


def test_dirty_makes_calculate_recompute_and_recalculates_at_once_in_automatic_mode(excel, calls, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"A1": 5}))
    cell = book.sheets["Sheet"]["B1"]
    cell.formula2 = "=COUNTED(A1)"
    cell.api.Dirty()
    assert count(calls, "COUNTED") == 2
    excel.api.Calculation = XL_MANUAL
    cell.api.Dirty()
    assert count(calls, "COUNTED") == 2  # manual mode: only marked
    book.app.calculate()
    assert count(calls, "COUNTED") == 3


def test_changing_an_input_recalculates_its_dependents_not_the_others(excel, calls, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"A1": 5, "A2": 7}))
    sheet = book.sheets["Sheet"]
    sheet["B1"].formula2 = "=COUNTED(A1)"
    sheet["B2"].formula2 = "=COUNTED(A2)"
    sheet["A1"].value = 6
    assert excel.shown(book, "Sheet!B1") == 6.0 and calls[-1] == ("COUNTED", 6.0)
    assert count(calls, "COUNTED") == 3
    excel.api.Calculation = XL_MANUAL
    sheet["A2"].value = 8
    assert excel.shown(book, "Sheet!B2") == 7.0  # manual: shown as last calculated
    book.app.calculate()
    assert excel.shown(book, "Sheet!B2") == 8.0


def test_a_volatile_udf_recalculates_on_every_calculate(excel, calls, tmp_path):
    book = excel.open(make_book(tmp_path))
    book.sheets["Sheet"]["C1"].formula2 = "=TICK()"
    book.app.calculate()
    book.app.calculate()
    assert count(calls, "TICK") == 3


def test_range_calculate_forces_the_range_only(excel, calls, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"A1": 1, "A2": 2}))
    sheet = book.sheets["Sheet"]
    sheet["B1"].formula2 = "=COUNTED(A1)"
    sheet["B2"].formula2 = "=COUNTED(A2)"
    sheet["B1"].api.Calculate()
    assert calls[-1] == ("COUNTED", 1.0) and count(calls, "COUNTED") == 3


def test_formulas_the_template_uses_evaluate_like_excel(excel, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"A1": "x"}))
    sheet = book.sheets["Sheet"]
    book.api.Names.Add("Stamp", "=Sheet!$A$1")
    sheet["B1"].formula2 = '=IF(Stamp="","empty",Stamp)'
    sheet["B2"].formula2 = "=BLOCK(3,2)"
    sheet["B6"].formula2 = "=ROWS(B2#)"
    sheet["B7"].formula2 = "=SUM(C2:C4)"
    sheet["B8"].formula2 = "=COUNTA(B2#)"
    assert [excel.shown(book, f"Sheet!{a}") for a in ("B1", "B6", "B7", "B8")] == ["x", 3.0, 33.0, 6.0]
    sheet["A1"].value = None
    assert excel.shown(book, "Sheet!B1") == "empty"


def test_an_unknown_function_or_member_raises_instead_of_passing(excel, tmp_path):
    book = excel.open(make_book(tmp_path))
    with pytest.raises(NotImplementedError, match="VLOOKUP is not modelled"):
        book.sheets["Sheet"]["A1"].formula2 = "=VLOOKUP(1,A2:B3,2)"
    with pytest.raises(AttributeError, match="Application.ScreenUpdating is not modelled"):
        _ = excel.api.ScreenUpdating
    with pytest.raises(AttributeError, match="is not modelled"):
        book.sheets["Sheet"]["A1"].color = (255, 0, 0)  # xlwings reaches Range.Interior
    with pytest.raises(AttributeError, match="setting Range.Text is not modelled"):
        book.sheets["Sheet"]["A1"].api.Text = "x"


# -- xlwings' async protocol ---------------------------------------------------------------

def test_an_async_udf_answers_waiting_then_its_result_which_xlwings_then_forgets(excel, calls, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"A1": "x"}))
    book.sheets["Sheet"]["B1"].formula2 = "=SLOW(A1)"
    assert excel.table(book, "Sheet!B1") == [["#N/A waiting..."]]
    excel.wait_until_idle(10)
    assert excel.table(book, "Sheet!B1") == [["slow", "x"], ["done", ""]]  # xlwings writes None as ""
    assert excel.udf_server.udfs.cache == {}  # the result was handed over once and deleted (udfs.py:527-528)
    excel.api.CalculateFull()
    assert excel.table(book, "Sheet!B1") == [["#N/A waiting..."]]  # so a recalculation calls it again
    excel.wait_until_idle(10)
    assert count(calls, "SLOW") == 2


# -- spilling --------------------------------------------------------------------------------

def test_a_spill_onto_a_filled_cell_shows_spill_and_spills_once_the_cell_is_cleared(excel, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"C3": "blocker"}))
    sheet = book.sheets["Sheet"]
    sheet["B1"].formula2 = "=BLOCK(3,2)"
    assert excel.table(book, "Sheet!B1") == [[SPILL]]
    assert excel.shown(book, "Sheet!C2") is None  # nothing spilled
    sheet["C3"].clear_contents()
    assert excel.table(book, "Sheet!B1") == [[0.0, 1.0], [10.0, 11.0], [20.0, 21.0]]


def test_a_spill_onto_another_spill_or_a_formula_shows_spill(excel, tmp_path):
    book = excel.open(make_book(tmp_path))
    sheet = book.sheets["Sheet"]
    sheet["A1"].formula2 = "=BLOCK(3,1)"
    sheet["B5"].formula2 = "=BLOCK(1,1)"
    sheet["A3"].formula2 = "=BLOCK(1,1)"  # a formula typed into A1's spill blocks it
    assert excel.shown(book, "Sheet!A1") == SPILL
    sheet["B4"].formula2 = "=BLOCK(2,1)"  # would spill onto B5
    assert excel.shown(book, "Sheet!B4") == SPILL


def test_cells_of_a_spill_read_as_values_not_formulas(excel, tmp_path):
    book = excel.open(make_book(tmp_path))
    sheet = book.sheets["Sheet"]
    sheet["B2"].formula2 = "=BLOCK(2,2)"
    anchor, spilled = sheet["B2"].api, sheet["C3"].api
    assert (anchor.HasFormula, spilled.HasFormula) == (True, False)
    assert (anchor.HasSpill, spilled.HasSpill) == (True, True)
    assert spilled.SpillParent.Address == "$B$2" and anchor.SpillingToRange.Address == "$B$2:$C$3"
    assert sheet["B2:C3"].value == [[0.0, 1.0], [10.0, 11.0]]
    assert sheet["B2:C3"].formula == (("=BLOCK(2,2)", "1"), ("10", "11"))
    assert sheet["B2:C3"].api.HasFormula is None
    found = sheet.used_range.api.SpecialCells(XL_CELL_TYPE_FORMULAS)
    assert [a.Address for a in found.Areas] == ["$B$2"]


def test_a_spill_error_reaches_xlwings_as_the_com_error_number(excel, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"B2": 1}))
    book.sheets["Sheet"]["B1"].formula2 = "=BLOCK(2,1)"
    # xlwings maps only the errors it knows to None (_xlwindows.py:444-468); #SPILL! stays a number.
    assert book.sheets["Sheet"]["B1"].value == -2146826243


# -- RunPython ---------------------------------------------------------------------------------

@pytest.mark.parametrize("use_udf_server", [False, True])
def test_runpython_runs_in_a_child_process_unless_the_udf_server_is_used(excel, calls, tmp_path, use_udf_server):
    (tmp_path / "model.py").write_text(textwrap.dedent(MACRO_MODULE))
    book = excel.open(make_book(tmp_path, use_udf_server=use_udf_server))
    book.sheets["Sheet"]["B1"].formula2 = "=COUNTED(1)"  # a UDF call logged in this process
    outcome = excel.run_python(book, "import model;model.main()")
    assert outcome.message_box is None
    macro_pid = excel.shown(book, "Sheet!D1")
    if use_udf_server:
        assert outcome.in_udf_server and macro_pid == os.getpid()
        assert excel.shown(book, "Sheet!D2") == 1.0  # module state shared with the UDFs
    else:
        assert not outcome.in_udf_server and macro_pid == outcome.pid != os.getpid()
        assert excel.shown(book, "Sheet!D2") == 0.0  # its own modules: it saw no UDF call


def test_a_failing_macro_shows_a_message_box(excel, tmp_path):
    (tmp_path / "model.py").write_text("def main():\n    raise ValueError('boom')\n")
    book = excel.open(make_book(tmp_path))
    outcome = excel.run_python(book, "import model;model.main()")
    assert "ValueError: boom" in outcome.message_box


def test_a_call_the_model_does_not_know_fails_the_test_from_the_child_too(excel, tmp_path):
    (tmp_path / "model.py").write_text(
        "import xlwings as xw\ndef main():\n    xw.Book.caller().sheets[0].range('A1').api.Interior.Color = 1\n")
    book = excel.open(make_book(tmp_path))
    outcome = excel.run_python(book, "import model;model.main()")
    assert "AttributeError: excel model: Range.Interior is not modelled" in outcome.message_box


# -- the template --------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_modelled_button_is_the_templates_sample_call():
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(os.path.join(TEMPLATE_DIR, "FastMossDashboard.xlsm"))
    modules = {name: code for _, _, name, code in parser.extract_macros()}
    sample = modules["Module1.bas"]
    assert 'mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))' in sample
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in sample
    runpython = modules["xlwings.bas"]
    assert 'OPTIMIZED_CONNECTION = GetConfig("USE UDF SERVER", False)' in runpython
    assert 'XLPy.SetAttr XLPy.Module("xlwings._xlwindows"), "BOOK_CALLER", ThisWorkbook' in runpython


def test_the_template_opens_with_every_fm_table_spilled(fake_env, calls):
    with ExcelModel() as excel:
        book = excel.open(os.path.join(TEMPLATE_DIR, "FastMossDashboard.xlsm"))
        excel.wait_until_idle(30)
        for anchor in ("Daily!A10", "Weekly!A10", "Monthly!A10", "Markets!A10", "Shop rankings!K11"):
            table = excel.table(book, anchor)
            assert table[0][0] == "Rank" and len(table) > 1, anchor
        assert excel.shown(book, "Markets!C21") == sum(row[2] for row in excel.table(book, "Markets!A10")[1:])


def test_the_model_refuses_a_formula_it_cannot_evaluate(excel, tmp_path):
    book = excel.open(make_book(tmp_path))
    with pytest.raises(ModelGap):
        book.sheets["Sheet"]["A1"].formula2 = "=SUM(A2:A3)+A4:A5"
        book.app.calculate()


def test_formula_of_a_constant_is_the_constant_and_of_a_formula_its_text(excel, tmp_path):
    book = excel.open(make_book(tmp_path, constants={"A1": "FM_MOSTPROMOTED(market, ...) help", "A2": 14}))
    sheet = book.sheets["Sheet"]
    # VBA:excel.range.formula: "If the cell contains a constant, this property returns the constant."
    assert sheet["A1:A2"].formula == (("FM_MOSTPROMOTED(market, ...) help",), ("14",))
    assert sheet["A1"].api.HasFormula is False
    book.api.Names.Add("Stamp", "=Sheet!$A$2")
    sheet["A4"].formula = '=IF(Stamp="","none",Stamp)'  # Range.Formula: implicit intersection, as a file's formulas
    assert sheet["A4"].formula2 == '=IF(Stamp="","none",Stamp)'  # no multi-cell reference: the same text
    assert excel.shown(book, "Sheet!A4") == 14.0


# -- what a refresh by scope reads -----------------------------------------------------------------

def test_the_selection_is_the_active_sheets_selected_cells_of_the_active_workbook(excel, tmp_path):
    first = excel.open(make_book(tmp_path, name="first.xlsx"))
    second = excel.open(make_book(tmp_path, name="second.xlsx"))
    # The workbook opened last is active; a sheet's selection is what its file says, A1 here.
    assert excel.api.ActiveWorkbook.Name == "second.xlsx"
    assert second.selection.address == "$A$1" and second.app.selection.sheet.name == "Sheet"
    excel.select(first, "Sheet!B2:C3,E5")
    assert excel.api.ActiveSheet.Name == "Sheet" and excel.api.ActiveWorkbook.Name == "first.xlsx"
    assert first.selection.address == "$B$2:$C$3,$E$5"
    assert first.sheets.active.name == "Sheet"


def test_text_that_begins_with_an_equals_sign_is_a_constant_not_a_formula(excel, tmp_path):
    path = make_book(tmp_path, constants={"A2": 1})
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb["Sheet"]["A1"] = '=FM_MOSTPROMOTED("US",14,"day","latest")'
    wb["Sheet"]["A1"].data_type = "s"  # typed as text ('=...), as a read-me's example
    wb.save(path)
    book = excel.open(path)
    cell = book.sheets["Sheet"]["A1"]
    assert cell.api.HasFormula is False and cell.value == '=FM_MOSTPROMOTED("US",14,"day","latest")'
    assert cell.formula == '=FM_MOSTPROMOTED("US",14,"day","latest")'  # Formula reads a constant as its text


def test_formula2_of_a_file_formula_summing_a_range_is_its_text(excel, tmp_path):
    path = make_book(tmp_path, constants={"A1": 1, "A2": 2})
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb["Sheet"]["A3"] = "=SUM(A1:A2)"  # a writer without dynamic arrays: Range.Formula semantics
    wb.save(path)
    book = excel.open(path)
    assert book.sheets["Sheet"]["A3"].formula2 == "=SUM(A1:A2)"
    assert excel.shown(book, "Sheet!A3") == 3.0
