"""The quickstart's add-in with the FastMoss ribbon, VBA and config sheet, edited with lxml and olefile.

openpyxl cannot open an .xlam (and would drop the custom UI part), so every edit is on the
package's parts (:class:`xl_fastmoss.workbook.package.PackageParts`); the parts not named here
are the quickstart's, byte for byte.
"""

from __future__ import annotations

import olefile
import xlwings
from lxml import etree

from tools.build_template.package_edits import FIXED_TIME, FIXED_W3CDTF
from xl_fastmoss.workbook.package import PackageParts

from .names import CONFIG_SHEET, QUICKSTART_CONFIG_SHEET
from .quickstart import CUSTOM_UI_PART
from .ribbon_xml import ribbon_xml
from .vba import rewrite_module

VBA_PART = "xl/vbaProject.bin"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
BUILT_WITH = (f"Built by python -m tools.build_addin with xlwings {xlwings.__version__} and olefile "
              f"{olefile.__version__}")


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def finish_addin(data: bytes) -> bytes:
    """The quickstart's .xlam ``data`` as the FastMoss add-in; same input, same bytes."""
    package = PackageParts.from_bytes(data)
    package.put(CUSTOM_UI_PART, ribbon_xml())
    package.put(VBA_PART, rewrite_module(package.parts[VBA_PART]))
    _switch_config_sheet_on(package)
    _set_properties(package)
    return package.tobytes(FIXED_TIME)


def _switch_config_sheet_on(package: PackageParts) -> None:
    """``_myaddin.conf`` -> ``myaddin.conf``: xlwings' GetConfig reads the add-in's own sheet of that name
    (xlwings_custom_addin.bas, "Add-in Sheet Config"); ``xl-fastmoss addin install`` writes the
    interpreter into it."""
    workbook = package.xml("xl/workbook.xml")
    sheets = [s for s in workbook.iter(f"{{{NS_MAIN}}}sheet") if s.get("name") == QUICKSTART_CONFIG_SHEET]
    if len(sheets) != 1:
        raise SystemExit(f"the quickstart add-in has {len(sheets)} sheets named {QUICKSTART_CONFIG_SHEET}")
    sheets[0].set("name", CONFIG_SHEET)
    package.put("xl/workbook.xml", _xml(workbook))


def _set_properties(package: PackageParts) -> None:
    core = package.xml("docProps/core.xml")
    values = {(NS_DC, "creator"): "xl-fastmoss", (NS_CP, "lastModifiedBy"): "xl-fastmoss",
              (NS_DC, "title"): "FastMoss ribbon for Excel", (NS_DC, "description"): BUILT_WITH}
    for element in core:
        name = etree.QName(element)
        if (name.namespace, name.localname) in values:
            element.text = values[(name.namespace, name.localname)]
        elif name.localname in ("created", "modified"):
            element.text = FIXED_W3CDTF
    package.put("docProps/core.xml", _xml(core))
