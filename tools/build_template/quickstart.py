"""The workbook the template starts from: ``xlwings quickstart --standalone``, and a check of its VBA."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .names import BOOK_FILE, BOOK_NAME, REFRESH_MACRO


def quickstart(folder: Path) -> Path:
    """``xlwings quickstart BOOK_NAME --standalone`` in ``folder``; returns the .xlsm."""
    subprocess.run([sys.executable, "-m", "xlwings.cli", "quickstart", BOOK_NAME, "--standalone"],
                   cwd=folder, check=True, capture_output=True, timeout=120)
    return folder / BOOK_NAME / BOOK_FILE


def vba_modules(path: Path) -> dict[str, str]:
    """``{module: source}`` of a workbook's VBA (olevba)."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def check_quickstart_vba(path: Path) -> None:
    """Refuse to build if the quickstart's button macro changed shape."""
    modules = vba_modules(path)
    code = modules.get("Module1", "")
    if not re.search(rf"^\s*(Public\s+)?Sub\s+{REFRESH_MACRO}\s*\(\s*\)", code, re.MULTILINE | re.IGNORECASE):
        raise SystemExit(f"the quickstart's Module1 has no Sub {REFRESH_MACRO}(); update REFRESH_MACRO")
    if "RunPython" not in code or ".main()" not in code:
        raise SystemExit(f"the quickstart's {REFRESH_MACRO} no longer runs <workbook module>.main()")
    if "xlwings" not in modules:
        raise SystemExit("the quickstart has no xlwings VBA module")
