"""Helpers for tests that build workbook packages by hand."""

import datetime as dt
import os
import zipfile

import openpyxl
from lxml import etree
from openpyxl.workbook.defined_name import DefinedName as OpenpyxlName

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def rewrite_zip(path, changes):
    """Replace (bytes or a function of the old bytes), delete (None) or add parts of a zip."""
    with zipfile.ZipFile(path) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    temporary = path.with_name(path.name + ".part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in items:
            change = changes.get(info.filename, data)
            if change is None:
                continue
            archive.writestr(info, change(data) if callable(change) else change)
        names = {info.filename for info, _ in items}
        for name, change in changes.items():
            if name not in names and change is not None:
                archive.writestr(name, change)
    os.replace(temporary, path)


def set_saved_value(path, part, cell, value, kind=None):
    """Give a formula cell the cached value Excel would have saved (openpyxl writes none)."""

    def edit(data):
        root = etree.fromstring(data)
        c = root.find(f".//{{{MAIN}}}c[@r='{cell}']")
        v = c.find(f"{{{MAIN}}}v")
        if v is None:
            v = etree.SubElement(c, f"{{{MAIN}}}v")
        v.text = value
        if kind:
            c.set("t", kind)
        return etree.tostring(root)

    rewrite_zip(path, {part: edit})


def inputs_workbook(tmp_path):
    """Three sheets of FM_ calls whose arguments are literals, cells, ranges and names."""
    wb = openpyxl.Workbook()
    dashboard = wb.active
    dashboard.title = "Dashboard"
    inputs = wb.create_sheet("Inputs")
    my_inputs = wb.create_sheet("My Inputs")

    inputs["A1"] = "US"
    inputs["A2"] = "GB"
    inputs["B2"] = 14
    inputs["B3"] = dt.datetime(2026, 4, 1)
    inputs["B3"].number_format = "yyyy-mm-dd"
    inputs["B4"] = "=SUM(C1:D1)*14"
    inputs["C1"], inputs["D1"], inputs["C2"], inputs["D2"] = 1, 2, 3, 4.5
    inputs["E1"] = "=1/0"
    inputs["E2"] = '=A1&"x"'
    inputs["F1"] = 46113  # a serial without a date format stays a number
    inputs["F2"] = "Tab\there"
    my_inputs["C2"] = True
    my_inputs["B5"] = "=fm_topselling(Region)"

    dashboard["B3"] = '=FM_MOSTPROMOTED(Region, Inputs!B2, "day", Inputs!B3)'
    dashboard["B10"] = (
        "=FM_TOPSELLING(\"US\",,DateType,'My Inputs'!C2,Inputs!$B$4,Inputs!B5,Inputs!C1:D2,"
        "Inputs!C1:C1,Inputs!E1,Inputs!E2)"
    )
    dashboard["B20"] = '=INDEX(FM_TOPSELLING("US"),1,1)'
    dashboard["B30"] = '=FM_FULLYMANAGED("US", TODAY(), Nowhere, Missing!A1, Broken)'
    dashboard["B40"] = '="FM_MOSTPROMOTED("'
    dashboard["B41"] = "=SUM(Inputs!C1:D2)"

    wb.defined_names["Region"] = OpenpyxlName("Region", attr_text="Inputs!$A$1")
    wb.defined_names["DateType"] = OpenpyxlName("DateType", attr_text='"week"')
    wb.defined_names["Broken"] = OpenpyxlName("Broken", attr_text="#REF!")
    dashboard.defined_names["Region"] = OpenpyxlName("Region", attr_text="Inputs!$A$2")

    path = tmp_path / "inputs.xlsx"
    wb.save(path)
    set_saved_value(path, "xl/worksheets/sheet2.xml", "B4", "42")
    set_saved_value(path, "xl/worksheets/sheet2.xml", "E1", "#DIV/0!", "e")
    set_saved_value(path, "xl/worksheets/sheet2.xml", "E2", "USx", "str")
    return path


def minimal_xlsx(path, sheet_data, *, shared_strings=(), styles=None, workbook_extra=""):
    """A workbook written by hand, for what openpyxl cannot write (cm, shared formulas, sst)."""
    sst = "".join(shared_strings)
    styles = styles or (
        f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
        'formatCode="&quot;Day &quot;0"/></numFmts><cellXfs count="4"><xf numFmtId="0"/>'
        '<xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="22"/></cellXfs></styleSheet>'
    )
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets>'
            f"{workbook_extra}</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/sharedStrings" Target="sharedStrings.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{sst}</sst>',
        "xl/styles.xml": styles,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path
