"""The add-in starts from ``xlwings quickstart FastMoss --addin --ribbon``, checked for the shape the build edits."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from lxml import etree

from tools.build_template.quickstart import vba_modules

from .names import ADDIN_FILE, ADDIN_NAME, CALLBACK, ON_ACTION, PROJECT_NAME, QUICKSTART_CONFIG_SHEET, RIBBON_MODULE

CUSTOM_UI_PART = "customUI/customUI.xml"
CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2006/01/customui"


def quickstart(folder: Path) -> Path:
    """``xlwings quickstart FastMoss --addin --ribbon`` in ``folder``; returns the .xlam."""
    subprocess.run([sys.executable, "-m", "xlwings.cli", "quickstart", ADDIN_NAME, "--addin", "--ribbon"],
                   cwd=folder, check=True, capture_output=True, timeout=120)
    return folder / ADDIN_NAME / ADDIN_FILE


def check_quickstart(path: Path) -> None:
    """Refuse to build if the quickstart no longer has what the build edits."""
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        if CUSTOM_UI_PART not in names:
            raise SystemExit(f"the quickstart add-in has no {CUSTOM_UI_PART}")
        ui = etree.fromstring(package.read(CUSTOM_UI_PART))
        workbook = package.read("xl/workbook.xml").decode()
    if etree.QName(ui).namespace != CUSTOM_UI_NS:
        raise SystemExit(f"the quickstart's ribbon XML is no longer in {CUSTOM_UI_NS}")
    actions = {element.get("onAction") for element in ui.iter() if element.get("onAction")}
    if actions != {ON_ACTION}:
        raise SystemExit(f"the quickstart's ribbon calls {sorted(actions)}, not {ON_ACTION}; update names.py")
    if f'name="{QUICKSTART_CONFIG_SHEET}"' not in workbook:
        raise SystemExit(f"the quickstart add-in has no sheet {QUICKSTART_CONFIG_SHEET}")
    modules = vba_modules(path)
    callback = rf"^\s*Sub\s+{CALLBACK}\s*\(\s*control\s+As\s+IRibbonControl\s*\)"
    if not re.search(callback, modules.get(RIBBON_MODULE, ""), re.MULTILINE | re.IGNORECASE):
        raise SystemExit(f"the quickstart's {RIBBON_MODULE} has no Sub {CALLBACK}(control As IRibbonControl)")
    project = re.search(r'^Public Const PROJECT_NAME As String = "([^"]*)"', modules.get("xlwings", ""), re.MULTILINE)
    if project is None or project.group(1) != PROJECT_NAME:
        raise SystemExit(f"the quickstart's xlwings module reads its config as {project and project.group(1)!r}, "
                         f"not {PROJECT_NAME!r}: update xl_fastmoss.addin_command.PROJECT_NAME")
