"""Pictures of a workbook without Excel: LibreOffice headless to PDF, then ``pdftoppm`` to PNG.

For looking at templates and demo outputs on a machine without Excel. Standard library only;
needs ``soffice`` (LibreOffice) and ``pdftoppm`` (poppler-utils) on the PATH.

Every run gets a LibreOffice profile of its own (runs sharing one lose outputs) and a hard
timeout that kills the whole process group, since ``soffice`` is a launcher script whose
``soffice.bin`` child would otherwise outlive it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

__all__ = ["RenderError", "find_soffice", "render_workbook"]

DEFAULT_TIMEOUT = 120.0
DEFAULT_RESOLUTION = 80

# OOXMLRecalcMode 0 = recalculate on load. LibreOffice otherwise shows the values a file saved,
# and a formula saved without one (as openpyxl writes them) may show nothing.
_RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


class RenderError(RuntimeError):
    """LibreOffice or pdftoppm is missing, failed, or ran past its timeout."""


def find_soffice() -> str | None:
    """The LibreOffice executable on the PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_workbook(
    book: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    resolution: int = DEFAULT_RESOLUTION,
    page_per_sheet: bool = True,
    recalculate: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Render ``book`` to PNG files in ``out_dir``; returns their paths in page order.

    Parameters
    ----------
    book
        An ``.xlsx``/``.xlsm`` (anything LibreOffice Calc opens).
    out_dir
        Created if missing. Files are named ``<book stem>-<page>.png``; older renderings of the
        same book there are replaced.
    resolution
        Dots per inch of the pictures.
    page_per_sheet
        One page per worksheet, each as large as the sheet's used area (LibreOffice's
        ``SinglePageSheets``), so page *n* is sheet *n*; otherwise the sheets' print setup.
    recalculate
        Recalculate every formula on load instead of showing the values the file saved. An
        FM_ formula then shows ``#NAME?``: recalculate only books refreshed into values.
    timeout
        Seconds for each of the two programs before it is killed.

    Raises
    ------
    RenderError
        A program is missing, fails, times out or writes nothing.
    """
    book = Path(book).resolve()
    out_dir = Path(out_dir)
    if not book.is_file():
        raise RenderError(f"{book}: no such workbook")
    soffice, pdftoppm = _programs()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xl-fastmoss-render-") as work:
        pdf = _to_pdf(soffice, book, Path(work), page_per_sheet, recalculate, timeout)
        for old in out_dir.glob(f"{book.stem}-*.png"):
            old.unlink()
        _run([pdftoppm, "-png", "-r", str(resolution), str(pdf), str(out_dir / book.stem)],
             timeout, "pdftoppm")
    pages = sorted(out_dir.glob(f"{book.stem}-*.png"), key=_page_number)
    if not pages:
        raise RenderError(f"{book.name}: pdftoppm wrote no picture")
    return pages


def _programs() -> tuple[str, str]:
    soffice = find_soffice()
    if soffice is None:
        raise RenderError("LibreOffice (soffice) is not on the PATH; install libreoffice-calc")
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RenderError("pdftoppm is not on the PATH; install poppler-utils")
    return soffice, pdftoppm


def _to_pdf(soffice: str, book: Path, work: Path, page_per_sheet: bool, recalculate: bool,
            timeout: float) -> Path:
    """``book`` as a PDF in ``work``, by LibreOffice with a profile of its own."""
    profile = work / "profile"
    if recalculate:
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_PROFILE, encoding="utf-8")
    target = "pdf"
    if page_per_sheet:
        options = {"SinglePageSheets": {"type": "boolean", "value": "true"}}
        target = "pdf:calc_pdf_Export:" + json.dumps(options, separators=(",", ":"))
    _run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
          "--convert-to", target, "--outdir", str(work / "pdf"), str(book)], timeout, "LibreOffice")
    pdf = work / "pdf" / f"{book.stem}.pdf"
    if not pdf.is_file():
        raise RenderError(f"{book.name}: LibreOffice wrote no PDF")
    return pdf


def _page_number(path: Path) -> int:
    suffix = path.stem.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else 0


def _run(command: list[str], timeout: float, program: str) -> None:
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        raise RenderError(f"{program} did not finish within {timeout:g} s and was stopped") from None
    if process.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"{program} failed with status {process.returncode}"
                          + (f": {detail[-1]}" if detail else ""))


def _kill_group(process: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # Windows: no process groups to kill
            process.kill()
    except ProcessLookupError:
        pass
