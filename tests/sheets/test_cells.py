import datetime as dt

import pytest
from package_helpers import inputs_workbook, minimal_xlsx

from xl_fastmoss.sheets.cells import FmCell, find_fm_cells
from xl_fastmoss.workbook.reader import WorkbookFile


@pytest.fixture
def book_path(tmp_path):
    return inputs_workbook(tmp_path)


def test_find_fm_cells_resolves_literals_cells_and_names(book_path):
    cells = {(c.sheet, c.cell): c for c in find_fm_cells(WorkbookFile.open(book_path))}
    assert list(cells) == [
        ("Dashboard", "B3"), ("Dashboard", "B10"), ("Dashboard", "B20"), ("Dashboard", "B30"),
        ("My Inputs", "B5"),
    ]
    first = cells[("Dashboard", "B3")]
    assert first == FmCell(
        "Dashboard", "B3", "FM_MOSTPROMOTED", ("GB", 14, "day", dt.datetime(2026, 4, 1)), None,
        formula='FM_MOSTPROMOTED(Region, Inputs!B2, "day", Inputs!B3)',
    )
    second = cells[("Dashboard", "B10")]
    assert second.problem is None
    assert second.function == "FM_TOPSELLING"
    assert second.args == ("US", None, "week", True, 42, None, [[1, 2], [3, 4.5]], 1, "#DIV/0!", "USx")
    assert cells[("My Inputs", "B5")].args == ("US",)
    assert cells[("My Inputs", "B5")].function == "FM_TOPSELLING"


def test_a_nested_call_is_a_problem_naming_the_cell(book_path):
    cells = {(c.sheet, c.cell): c for c in find_fm_cells(WorkbookFile.open(book_path))}
    assert cells[("Dashboard", "B20")].problem == (
        "Dashboard!B20: FM_TOPSELLING is nested inside another formula; put it alone in its cell"
    )


def test_unsupported_arguments_unknown_names_and_sheets_are_problems(book_path):
    cells = {(c.sheet, c.cell): c for c in find_fm_cells(WorkbookFile.open(book_path))}
    problem = cells[("Dashboard", "B30")].problem
    assert problem.split("; Dashboard!") == [
        "Dashboard!B30: argument 2 of FM_FULLYMANAGED (TODAY()) is a calculation; "
        "use a value, a cell reference or a defined name",
        "B30: argument 3 of FM_FULLYMANAGED uses the name Nowhere, which is not defined",
        "B30: argument 4 of FM_FULLYMANAGED refers to sheet 'Missing', which does not exist",
        "B30: argument 5 of FM_FULLYMANAGED uses the name Broken, which refers to #REF!; "
        "only a cell or a constant can be read",
    ]
    assert cells[("Dashboard", "B30")].args == ("US", None, None, None, None)


def test_dynamic_array_and_shared_formulas(tmp_path):
    path = minimal_xlsx(
        tmp_path / "arrays.xlsx",
        '<row r="3"><c r="B3" t="str" cm="1"><f t="array" ref="B3:D5">'
        '_xludf.FM_MOSTPROMOTED("US",14,"day")</f><v>rank</v></c><c r="C3" t="s"><v>0</v></c></row>'
        '<row r="10"><c r="F10"><f t="shared" ref="F10:F12" si="0">FM_TOPSELLING("US")</f>'
        '<v>0</v></c></row><row r="11"><c r="F11"><f t="shared" si="0"/><v>0</v></c></row>'
        '<row r="12"><c r="F12"><f t="shared" si="0"/><v>0</v></c>'
        '<c r="H12"><f t="shared" ref="H12" si="1">FM_FULLYMANAGED("GB")</f><v>0</v></c></row>',
        shared_strings=["<si><t>shop</t></si>"],
    )
    cells = find_fm_cells(WorkbookFile.open(path))
    assert [(c.cell, c.function, c.args, c.spill_range) for c in cells] == [
        ("B3", "FM_MOSTPROMOTED", ("US", 14, "day"), "B3:D5"),
        ("F10", "FM_TOPSELLING", ("US",), None),
        ("H12", "FM_FULLYMANAGED", ("GB",), None),
    ]
    assert cells[0].formula == '_xludf.FM_MOSTPROMOTED("US",14,"day")'
    assert cells[0].problem is None
    assert cells[1].problem == (
        "Data!F10: FM_TOPSELLING was filled over F10:F12 as one shared formula; "
        "keep it in F10 only and delete the copies"
    )
    assert cells[2].problem is None


def test_names_scoped_to_a_sheet_and_constants(tmp_path):
    path = minimal_xlsx(
        tmp_path / "names.xlsx",
        '<row r="1"><c r="A1"><v>7</v></c><c r="B1"><f>FM_TOPSELLING(Here, Const, Chain, Data!Here)</f></c></row>',
        workbook_extra=(
            '<definedNames><definedName name="Here" localSheetId="0">$A$1</definedName>'
            '<definedName name="Const">-2.5</definedName>'
            '<definedName name="Chain">Const</definedName></definedNames>'
        ),
    )
    (cell,) = find_fm_cells(WorkbookFile.open(path))
    assert cell.problem is None
    assert cell.args == (7, -2.5, -2.5, 7)
