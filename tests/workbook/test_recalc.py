"""Which formulas a values copy computes: every one that reads a changed cell, and the engine asked
about no more than the reference tokenizer cannot clear."""

import pytest
from package_helpers import minimal_xlsx
from python_calamine import CalamineWorkbook

from xl_fastmoss.sheets.formulas import replace_spill_refs
from xl_fastmoss.workbook.addresses import MAX_COLUMN, MAX_ROW
from xl_fastmoss.workbook.recalc import Recalculation, _cheap_areas
from xl_fastmoss.workbook.writer import write_values_copy

FORMULAS = [
    "E601*F601", "SUM(C4:C8)", 'IF(A1>0,"B2",C3)', "SUM(A:A)+SUM(2:3)", "'My Sheet'!$B$2*2",
    "SUM(Data!A1:B2 C1:D4)", "1+TRUE", "B2:A1", "$A:$B", "$3:5", "AVERAGE(Data!$B$2:$B$9)/Data!C$1",
    "VLOOKUP(A2,'My Sheet'!A:C,3,FALSE)", "LOG10(A1)+15", "ROUND(SUM(B2:B9)*1.1,2)&\" units\"",
]


@pytest.fixture(scope="module")
def engine():
    import formulas

    return formulas


def engine_areas(engine, text, sheet="Data"):
    from formulas.tokens.operand import Range

    tokens = engine.Parser().ast("=" + text)[0]
    areas = []
    for token in tokens:
        if isinstance(token, Range):
            parts = dict(engine.Ranges().push(token.attr["name"]).ranges[0])
            areas.append(((parts.get("sheet") or sheet).casefold(), max(int(parts["r1"]), 1), max(int(parts["n1"]), 1),
                          min(int(parts["r2"]), MAX_ROW), min(int(parts["n2"]), MAX_COLUMN)))
    return areas


def covers(cheap, area, sheet="Data"):
    key, r1, c1, r2, c2 = area
    return any((s or sheet).casefold() == key and a1 <= r1 and b1 <= c1 and r2 <= a2 and c2 <= b2
               for s, a1, b1, a2, b2 in cheap)


@pytest.mark.parametrize("text", FORMULAS)
def test_the_tokenizer_reads_at_least_what_the_engine_reads(engine, text):
    wanted = engine_areas(engine, text)
    assert wanted or text == "1+TRUE"
    cheap = _cheap_areas(text)
    assert cheap is not None, text
    assert all(covers(cheap, area) for area in wanted), (text, cheap, wanted)


@pytest.mark.parametrize("text", ['Region&"x"', "A3#", "ROWS(_xlfn.ANCHORARRAY(A3))", "Table1[Col]", "#REF!+1",
                                  "[1]Sheet1!A1", "SUM(Data!Region)", "{1,2}*A1", "A1B+1"])
def test_what_the_tokenizer_cannot_read_goes_to_the_engine(text):
    assert _cheap_areas(text) is None


def test_a_shared_formula_moves_its_relative_parts_only():
    assert _cheap_areas("$A1+B$1+C1", (2, 1)) == [(None, 3, 1, 3, 1), (None, 1, 3, 1, 3), (None, 3, 4, 3, 4)]


def test_of_2000_formulas_over_their_own_rows_only_the_one_reading_the_table_goes_to_the_engine(tmp_path,
                                                                                                  monkeypatch):
    rows = ['<row r="1"><c r="A1"><f>FM_MOSTPROMOTED("US")</f><v>0</v></c>'
            '<c r="F1"><f>SUM(B2:B3)</f><v>0</v></c><c r="G1"><f>F1*2</f><v>0</v></c></row>']
    rows += [f'<row r="{r}"><c r="D{r}"><v>{r}</v></c><c r="E{r}"><f>D{r}*2</f><v>{2 * r}</v></c></row>'
             for r in range(10, 2010)]
    path = minimal_xlsx(tmp_path / "book.xlsx", "".join(rows))
    read = []
    real = Recalculation._inputs_of
    monkeypatch.setattr(Recalculation, "_inputs_of",
                        lambda self, text, sheet, depth=0: read.append(text) or real(self, text, sheet, depth))
    copy = tmp_path / "copy.xlsx"
    report = write_values_copy(path, copy, {("Data", "A1"): [["n", "m"], [1, 2], [3, 4]]}, replace_spill_refs)
    assert report.not_computed == []
    assert sorted(read) == ["F1*2", "SUM(B2:B3)"]
    sheet = CalamineWorkbook.from_path(str(copy)).get_sheet_by_name("Data").to_python()
    assert sheet[0][5:7] == [6.0, 12.0]  # the total of the table's column B, and its double
    assert sheet[9][4] == 20.0  # the others keep the values they had


def test_a_formula_reading_a_changed_cell_through_another_formula_is_computed(tmp_path):
    rows = ('<row r="1"><c r="A1"><f>FM_MOSTPROMOTED("US")</f><v>0</v></c><c r="H1"><f>G1+1</f><v>0</v></c>'
            '<c r="G1"><f>A2*10</f><v>0</v></c><c r="I1"><f>Z9+1</f><v>5</v></c></row>')
    path = minimal_xlsx(tmp_path / "book.xlsx", rows)
    copy = tmp_path / "copy.xlsx"
    write_values_copy(path, copy, {("Data", "A1"): [["n"], [7]]}, replace_spill_refs)
    values = CalamineWorkbook.from_path(str(copy)).get_sheet_by_name("Data").to_python()[0]
    assert values[6:9] == [70.0, 71.0, 5.0]  # I1 reads nothing changed: its saved value stays


def test_the_engine_is_not_imported_when_no_formula_reads_a_change(tmp_path, monkeypatch):
    path = minimal_xlsx(tmp_path / "book.xlsx", '<row r="1"><c r="A1"><f>FM_MOSTPROMOTED("US")</f><v>0</v></c>'
                        '<c r="H1"><f>Z1+1</f><v>1</v></c></row>')
    monkeypatch.setattr(Recalculation, "engine", property(lambda self: pytest.fail("the engine was loaded")))
    report = write_values_copy(path, tmp_path / "copy.xlsx", {("Data", "A1"): [["n"], [7]]}, replace_spill_refs)
    assert report.written == [("Data", "A1", "A1:A2")] and report.not_computed == []
