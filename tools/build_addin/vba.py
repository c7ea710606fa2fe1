"""The ribbon's VBA: the quickstart's callback module rewritten in ``xl/vbaProject.bin``.

With one callback for every button, only the button (IRibbonControl) tells them apart, so the
new ``RunMain`` hands ``control.Id`` to Python. olefile rewrites streams in place, each at its
size, keeping every other stream and the file's layout:

- the module's stream holds only the new source, compressed to the stream's exact size
  (:mod:`.ovba`). Its compiled p-code (the PerformanceCache, [MS-OVBA] 2.3.4.3) is dropped:
  p-code that does not match the source is what "VBA stomping" malware looks like, and olevba
  flags it. The module becomes source-only, as the quickstart's own ``xlwings`` module is;
- the ``dir`` stream says so: the module's MODULEOFFSET ([MS-OVBA] 2.3.4.2.3.2.5) becomes 0,
  the stream recompressed to its size;
- the ``_VBA_PROJECT`` stream's Version is 0xFFFF, which [MS-OVBA] 2.3.4.1 says writers MUST
  write and which no Office has as its own, so Office compiles every module from its source.
  The quickstart's stream already says 0xFFFF; the build makes sure.

The source is as long as the stream needs (about a kilobyte): a header saying what the module
is, and a guard for a ribbon clicked with no workbook open (RunPython reads ActiveWorkbook).
"""

from __future__ import annotations

import io
import struct

import olefile
from oletools.olevba import VBA_Project, decompress_stream

from .names import RIBBON_MODULE
from .ovba import compress_to_size

#: The callback every FastMoss button calls; Python finds the button by its id.
RIBBON_SOURCE = (
    f'Attribute VB_Name = "{RIBBON_MODULE}"\r\n'
    "' The FastMoss ribbon tab (xl-fastmoss). Every button of the tab calls RunMain, which\r\n"
    "' hands the button's id to Python: xl_fastmoss.ribbon.on_action finds the button there\r\n"
    "' and runs it on the active workbook (Refresh workbook, Refresh sheet, Refresh selection,\r\n"
    "' Usage, Set key, Help). Excel passes the button clicked (IRibbonControl); its Id is the\r\n"
    "' id the button has in customUI/customUI.xml, as in xl_fastmoss.ribbon.BUTTONS.\r\n"
    "' RunPython is xlwings' (the xlwings module of this add-in), and\r\n"
    "' the Python it starts is the one named on the myaddin.conf sheet, which\r\n"
    "' `xl-fastmoss addin install` writes. This module is built, not edited: it is made by\r\n"
    "' python -m tools.build_addin from xlwings' quickstart add-in.\r\n"
    "Sub RunMain(control As IRibbonControl)\r\n"
    "    If ActiveWorkbook Is Nothing Then\r\n"
    "        MsgBox \"Open a workbook first: the FastMoss buttons act on the active workbook.\", "
    "vbInformation, \"FastMoss\"\r\n"
    "        Exit Sub\r\n"
    "    End If\r\n"
    "    RunPython \"import xl_fastmoss.ribbon; xl_fastmoss.ribbon.on_action('\" & control.Id & \"')\"\r\n"
    "End Sub\r\n"
)
DIR_STREAM = "VBA/dir"
VBA_PROJECT_STREAM = "VBA/_VBA_PROJECT"
VBA_PROJECT_RESERVED1 = b"\xcc\x61"  # [MS-OVBA] 2.3.4.1: Reserved1 MUST be 0x61CC
UNKNOWN_VERSION = b"\xff\xff"


def module_streams(vba_project: bytes) -> dict[str, tuple[int, str]]:
    """``{module name: (MODULEOFFSET, stream path)}`` as olevba reads the dir stream."""
    project, ole = _project(vba_project)
    try:
        return {module.name: (module.textoffset, "VBA/" + module.streamname) for module in project.modules}
    finally:
        ole.close()


def _project(vba_project: bytes):
    ole = olefile.OleFileIO(vba_project)
    project = VBA_Project(ole, "", "PROJECT", "VBA/dir", relaxed=False)
    project.parse_project_stream()
    list(project.parse_modules())
    return project, ole


def rewrite_module(vba_project: bytes, module: str = RIBBON_MODULE, source: str = RIBBON_SOURCE) -> bytes:
    """``vba_project`` with ``module`` holding ``source`` alone (no p-code), every other module as it was."""
    project, ole = _project(vba_project)
    try:
        codec = project.codec
        offset, stream = next((m.textoffset, "VBA/" + m.streamname) for m in project.modules if m.name == module)
        size = ole.get_size(stream)
        dir_compressed = ole.openstream(DIR_STREAM).read()
    finally:
        ole.close()
    dir_stream = _without_offset(decompress_stream(bytearray(dir_compressed)), module, offset)
    buffer = io.BytesIO(vba_project)
    ole = olefile.OleFileIO(buffer, write_mode=True)
    try:
        ole.write_stream(stream, compress_to_size(source.encode(codec), size))
        ole.write_stream(DIR_STREAM, compress_to_size(dir_stream, len(dir_compressed)))
        header = ole.openstream(VBA_PROJECT_STREAM).read()
        if header[:2] != VBA_PROJECT_RESERVED1:
            raise SystemExit(f"{VBA_PROJECT_STREAM} does not start with 0x61CC: not a VBA project stream")
        ole.write_stream(VBA_PROJECT_STREAM, header[:2] + UNKNOWN_VERSION + header[4:])
    finally:
        ole.close()
    return buffer.getvalue()


def _without_offset(dir_stream: bytes, module: str, offset: int) -> bytes:
    """The decompressed dir stream with ``module``'s MODULEOFFSET record set to 0.

    The module's records start with MODULENAME (0x0019, then the name's length and its bytes);
    its MODULEOFFSET (0x0031, size 4) is the first one after them.
    """
    name = module.encode("ascii")
    start = dir_stream.find(struct.pack("<HI", 0x0019, len(name)) + name)
    record = struct.pack("<HII", 0x0031, 4, offset)
    at = dir_stream.find(record, start)
    if start < 0 or at < 0 or dir_stream.find(struct.pack("<HI", 0x0019, 0)[:2], start + 6 + len(name), at) >= 0:
        raise SystemExit(f"the dir stream has no MODULEOFFSET {offset} for {module}")
    return dir_stream[:at] + struct.pack("<HII", 0x0031, 4, 0) + dir_stream[at + len(record):]
