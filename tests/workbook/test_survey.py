"""Sheets read by their bytes: what a scan may answer for sure, and when it must say "maybe"."""

import pytest
from package_helpers import MAIN, minimal_xlsx, rewrite_zip

from xl_fastmoss.sheets.cells import find_fm_cells
from xl_fastmoss.workbook.reader import WorkbookFile
from xl_fastmoss.workbook.survey import survey_sheet


def survey(xml, chunk=7):
    data = xml.encode("utf-16") if "UTF-16" in xml else xml.encode()
    return survey_sheet(data[i:i + chunk] for i in range(0, len(data), chunk))


def sheet(rows, after=""):
    return f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData>{after}</worksheet>'


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_what_a_scan_finds_in_formulas_whatever_the_chunks(chunk):
    found = survey(sheet('<row r="1"><c r="A1" t="e"><v>#N/A</v></c><c r="B1" t="inlineStr"><is><t>fm_ Daily!A1 #'
                         '</t></is></c><c r="C1"><f>SUM(\'P&amp;L\'!A1)</f><v>1</v></c></row>',
                         '<conditionalFormatting sqref="A1"><cfRule type="expression"><formula>B3#&gt;1</formula>'
                         "</cfRule></conditionalFormatting>"), chunk)
    assert found.exact and found.formulas and not found.uncached
    assert found.mentions("p&l") and found.may_refer_to_spills  # the spill is in the conditional format
    assert not found.mentions("fm_") and not found.mentions("daily")  # text and values are not formulas


def test_errors_in_values_are_no_spill_references():
    found = survey(sheet('<row r="1"><c r="A1" t="e"><v>#N/A</v></c><c r="B1"><f>A1*2</f><v>#N/A</v></c></row>'))
    assert found.exact and not found.may_refer_to_spills


def test_a_formula_without_its_value_is_noticed_across_chunks():
    found = survey(sheet('<row r="1"><c r="A1"><f>1+1</f><v></v></c></row>'), chunk=3)
    assert found.uncached and found.may_have_uncached_formulas


@pytest.mark.parametrize("xml", [
    sheet('<row r="1"><c r="A1"><f>F&#77;_TOPSELLING("US")</f></c></row>'),  # a character reference
    sheet('<row r="1"><!-- a comment --><c r="A1"><v>1</v></c></row>'),
    sheet('<row r="1"><c r="A1"><f><![CDATA[FM_TOPSELLING("US")]]></f></c></row>'),
    sheet('<row r="1"><?pi ?><c r="A1"><v>1</v></c></row>'),
    '<?xml version="1.0" encoding="UTF-16"?>' + sheet('<row r="1"><c r="A1"><f>FM_X()</f></c></row>'),
])
def test_what_a_scan_cannot_see_through_is_a_maybe(xml):
    found = survey(xml)
    assert not found.exact
    assert found.mentions("fm_") and found.may_refer_to_spills and found.may_have_uncached_formulas


def test_a_prefixed_sheet_is_scanned_too():
    found = survey(f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1"><x:c r="A1"><x:f>SUM(B3#)</x:f>'
                   "</x:c></x:row></x:sheetData></x:worksheet>")
    assert found.exact and found.may_refer_to_spills and found.uncached


def test_an_fm_call_hidden_behind_a_character_reference_is_still_found(tmp_path):
    path = minimal_xlsx(tmp_path / "hidden.xlsx",
                        '<row r="1"><c r="A1"><f>F&#77;_TOPSELLING("US")</f></c></row>')
    (cell,) = find_fm_cells(WorkbookFile.open(path))
    assert (cell.cell, cell.function, cell.args) == ("A1", "FM_TOPSELLING", ("US",))


def test_sheets_whose_formulas_never_call_fm_are_never_read_cell_by_cell(tmp_path, monkeypatch):
    path = minimal_xlsx(tmp_path / "book.xlsx", '<row r="1"><c r="A1"><f>FM_TOPSELLING("US")</f></c></row>')
    data = sheet('<row r="1"><c r="A1" t="e"><v>#N/A</v></c><c r="B1"><f>A1*2</f><v>2</v></c>'
                 '<c r="C1" t="inlineStr"><is><t>FM_TOPSELLING("US")</t></is></c></row>')
    rewrite_zip(path, {
        "xl/worksheets/sheet2.xml": data,
        "xl/workbook.xml": lambda old: old.replace(b"</sheets>", b'<sheet name="Data2" sheetId="2" r:id="rId9"/>'
                                                  b"</sheets>"),
        "xl/_rels/workbook.xml.rels": lambda old: old.replace(
            b"</Relationships>", b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>'),
    })
    read = []
    real = WorkbookFile._parse_cells
    monkeypatch.setattr(WorkbookFile, "_parse_cells", lambda self, part: read.append(part) or real(self, part))
    book = WorkbookFile.open(path)
    assert [cell.address for cell in find_fm_cells(book)] == ["Data!A1"]
    assert book.worksheet_names == ["Data", "Data2"] and len(read) == 1
    assert book.survey("Data2").exact and not book.survey("Data2").mentions("fm_")


def test_a_sheet_without_row_ends_is_scanned_within_bounds():
    from package_helpers import MAIN as ns

    text = f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1"><f>SUM(B1)</f><v>1</v></c>'.encode()
    filler = b"<c><v>1</v></c>" * 70_000  # about 1 MB of cells, never a row end
    found = survey_sheet([text] + [filler] * 40 + [b"</row></sheetData></worksheet>"])
    assert found.exact and found.formulas and found.may_have_uncached_formulas and found.mentions("sum(b1)")
    # 5 MB of text with no "<" in it: held no further than 4 MB, then the answer is "maybe".
    giant = survey_sheet([text, b"<c><is><t>"] + [b"x" * (1 << 20)] * 5 + [b"</t></is></c></row></sheetData>"])
    assert not giant.exact and giant.mentions("fm_")
