"""What openpyxl cannot write, edited into the saved package with lxml (xl_fastmoss.workbook.package).

openpyxl models neither drawing shapes, nor Excel's dynamic-array cell metadata, nor the
``sourceLinked`` flag of a chart's number format, and stamps the save time into the core
properties; so, after it saved the workbook:

- the refresh buttons: drawing shapes whose ``macro`` names the quickstart's Sub;
- the FM_ formulas marked as dynamic arrays (without that, Excel 365 would show ``=@FM_...`` and
  one cell instead of the spilled table);
- the charts' number formats unlinked from their source cells;
- fixed timestamps in the package and its core properties, so that a rebuild gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from xl_fastmoss.workbook.package import PackageParts

from .look import ACCENT_BLUE, DARK_BLUE, FONT
from .names import BUTTON_TEXT, REFRESH_MACRO, SHAPE_MACRO

#: A fixed moment for the package's timestamps, so that a rebuild gives the same bytes.
FIXED_TIME = (2025, 1, 1, 0, 0, 0)
FIXED_W3CDTF = "2025-01-01T00:00:00Z"


@dataclass
class Plan:
    """What the package edit adds after openpyxl saved: buttons, and where."""

    #: (sheet, column index from 0, row index from 0) of each button's top-left corner.
    buttons: list[tuple[str, int, int]] = field(default_factory=list)

    def add_button(self, sheet: str, row: int, col: int) -> None:
        """A refresh button with its top-left corner at the cell (row, col), both from 1."""
        self.buttons.append((sheet, col - 1, row - 1))


NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
REL_DRAWING = f"{NS_REL}/drawing"
REL_METADATA = f"{NS_REL}/sheetMetadata"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_METADATA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"

# Excel's own marking of a dynamic-array formula: cell metadata 1 -> XLDAPR fDynamic.
METADATA_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<metadata xmlns="{NS_MAIN}" xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray"><metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}}"><xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>""".encode()

# Elements a worksheet may have after <drawing>, in schema order.
_AFTER_DRAWING = ("legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
                  "webPublishItems", "tableParts", "extLst")

BUTTON_WIDTH = 1_900_000  # EMU, about 2.0 in
BUTTON_HEIGHT = 420_000  # about 0.44 in
_X, _A = f"{{{NS_XDR}}}", f"{{{NS_A}}}"


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _sheet_parts(package: PackageParts) -> dict[str, str]:
    """``{sheet name: worksheet part}``."""
    rels = package.relationships("xl/workbook.xml")
    return {s.get("name"): rels[s.get(f"{{{NS_REL}}}id")].target
            for s in package.xml("xl/workbook.xml").iter(f"{{{NS_MAIN}}}sheet")}


def finish_package(data: bytes, plan: Plan) -> bytes:
    """The workbook openpyxl saved, with the edits above; same input, same bytes."""
    package = PackageParts.from_bytes(data)
    sheets = _sheet_parts(package)
    _mark_dynamic_arrays(package, sheets.values())
    for sheet, col, row in plan.buttons:
        _add_button(package, sheets[sheet], col, row)
    _unlink_chart_formats(package)
    _fix_timestamps(package)
    return package.tobytes(FIXED_TIME)


def _unlink_chart_formats(package: PackageParts) -> None:
    """Charts' number formats apply as given, not the source cells' (openpyxl omits the flag)."""
    for part in [p for p in package.order if p.startswith("xl/charts/chart")]:
        chart = package.xml(part)
        formats = [e for e in chart.iter() if etree.QName(e).localname == "numFmt" and e.get("sourceLinked") is None]
        for element in formats:
            element.set("sourceLinked", "0")
        if formats:
            package.put(part, _xml(chart))


def _mark_dynamic_arrays(package: PackageParts, sheet_parts) -> None:
    marked = False
    for part in sheet_parts:
        root = package.xml(part)
        changed = False
        for f in root.iter(f"{{{NS_MAIN}}}f"):
            if f.get("t") == "array" and (f.text or "").lstrip("=").upper().startswith("FM_"):
                f.getparent().set("cm", "1")
                changed = True
        if changed:
            package.put(part, _xml(root))
            marked = True
    if marked:
        package.put("xl/metadata.xml", METADATA_XML)
        package.add_relationship("xl/workbook.xml", REL_METADATA, "xl/metadata.xml")
        package.set_override("xl/metadata.xml", CT_METADATA)


def _drawing_of(package: PackageParts, sheet_part: str) -> str:
    """The sheet's drawing part, created (with its relationship and content type) if missing."""
    for rel in package.relationships(sheet_part).values():
        if rel.type == REL_DRAWING:
            return rel.target
    number = 1
    while f"xl/drawings/drawing{number}.xml" in package.parts:
        number += 1
    part = f"xl/drawings/drawing{number}.xml"
    drawing = etree.Element(f"{{{NS_XDR}}}wsDr", nsmap={"xdr": NS_XDR, "a": NS_A})
    package.put(part, _xml(drawing))
    package.set_override(part, CT_DRAWING)
    rel_id = package.add_relationship(sheet_part, REL_DRAWING, part)
    sheet = package.xml(sheet_part)
    element = etree.Element(f"{{{NS_MAIN}}}drawing")
    element.set(f"{{{NS_REL}}}id", rel_id)
    following = next((child for child in sheet if etree.QName(child).localname in _AFTER_DRAWING), None)
    if following is None:
        sheet.append(element)
    else:
        following.addprevious(element)
    package.put(sheet_part, _xml(sheet))
    return part


def _add_button(package: PackageParts, sheet_part: str, col: int, row: int) -> None:
    part = _drawing_of(package, sheet_part)
    drawing = package.xml(part)
    ids = [int(e.get("id")) for e in drawing.iter()
           if etree.QName(e).localname == "cNvPr" and e.get("id", "").isdigit()]
    anchor = etree.SubElement(drawing, _X + "oneCellAnchor")
    start = etree.SubElement(anchor, _X + "from")
    for name, value in (("col", col), ("colOff", 0), ("row", row), ("rowOff", 0)):
        etree.SubElement(start, _X + name).text = str(value)
    etree.SubElement(anchor, _X + "ext", cx=str(BUTTON_WIDTH), cy=str(BUTTON_HEIGHT))
    sp = etree.SubElement(anchor, _X + "sp", macro=SHAPE_MACRO, textlink="")
    nv = etree.SubElement(sp, _X + "nvSpPr")
    etree.SubElement(nv, _X + "cNvPr", id=str(max(ids, default=1) + 1), name="Refresh FastMoss button",
                     descr=f"Runs the macro {REFRESH_MACRO}: refreshes every FastMoss table of the workbook")
    etree.SubElement(nv, _X + "cNvSpPr")
    _button_shape(sp)
    _button_text(sp)
    etree.SubElement(anchor, _X + "clientData")
    package.put(part, _xml(drawing))


def _button_shape(sp) -> None:
    """A blue rounded rectangle with a dark blue outline."""
    sp_pr = etree.SubElement(sp, _X + "spPr")
    xfrm = etree.SubElement(sp_pr, _A + "xfrm")
    etree.SubElement(xfrm, _A + "off", x="0", y="0")
    etree.SubElement(xfrm, _A + "ext", cx=str(BUTTON_WIDTH), cy=str(BUTTON_HEIGHT))
    geometry = etree.SubElement(sp_pr, _A + "prstGeom", prst="roundRect")
    etree.SubElement(geometry, _A + "avLst")
    fill = etree.SubElement(sp_pr, _A + "solidFill")
    etree.SubElement(fill, _A + "srgbClr", val=ACCENT_BLUE)
    line = etree.SubElement(sp_pr, _A + "ln", w="12700")
    line_fill = etree.SubElement(line, _A + "solidFill")
    etree.SubElement(line_fill, _A + "srgbClr", val=DARK_BLUE)


def _button_text(sp) -> None:
    """The button's caption, white, bold and centred."""
    body = etree.SubElement(sp, _X + "txBody")
    etree.SubElement(body, _A + "bodyPr", vertOverflow="clip", horzOverflow="clip", wrap="square",
                     lIns="36000", rIns="36000", rtlCol="0", anchor="ctr")
    etree.SubElement(body, _A + "lstStyle")
    paragraph = etree.SubElement(body, _A + "p")
    etree.SubElement(paragraph, _A + "pPr", algn="ctr")
    run = etree.SubElement(paragraph, _A + "r")
    run_pr = etree.SubElement(run, _A + "rPr", lang="en-US", sz="1100", b="1")
    run_fill = etree.SubElement(run_pr, _A + "solidFill")
    etree.SubElement(run_fill, _A + "srgbClr", val="FFFFFF")
    etree.SubElement(run_pr, _A + "latin", typeface=FONT)
    etree.SubElement(run, _A + "t").text = BUTTON_TEXT


def _fix_timestamps(package: PackageParts) -> None:
    part = "docProps/core.xml"
    if part not in package.parts:
        return
    core = package.xml(part)
    for element in core:
        if etree.QName(element).localname in ("created", "modified"):
            element.text = FIXED_W3CDTF
    package.put(part, _xml(core))
