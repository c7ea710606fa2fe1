"""The built add-in xl_fastmoss/addin/FastMoss.xlam, read by tools that are not the project's own.

- its ribbon XML against the custom UI schema (openxml-audit, the Open XML SDK's rules), which
  catches a misspelt element;
- its VBA with olevba: the ribbon module holds exactly the new source, compiled p-code is gone
  (no "VBA stomping" finding), every other stream is the quickstart's;
- the module's compression read back by ms-ovba-compression, a strict decompressor of [MS-OVBA];
- the committed file is what ``python -m tools.build_addin`` builds.
"""

from __future__ import annotations

import io
import struct
import zipfile

import olefile
import pytest
from ms_ovba_compression.ms_ovba import MsOvba
from oletools.olevba import VBA_Parser, decompress_stream

from tools import build_addin
from tools.build_addin.ovba import CompressionError, compress_to_size
from tools.build_addin.quickstart import CUSTOM_UI_PART
from tools.build_addin.vba import RIBBON_SOURCE, module_streams
from xl_fastmoss import ribbon
from xl_fastmoss.addin_command import packaged_addin

ADDIN = packaged_addin()


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """What `xlwings quickstart FastMoss --addin --ribbon` writes."""
    return build_addin.quickstart(tmp_path_factory.mktemp("quickstart"))


def vba_project(path) -> bytes:
    with zipfile.ZipFile(path) as package:
        return package.read("xl/vbaProject.bin")


def streams(data: bytes) -> dict[str, bytes]:
    ole = olefile.OleFileIO(data)
    try:
        return {"/".join(entry): ole.openstream(entry).read() for entry in ole.listdir()}
    finally:
        ole.close()


def test_the_committed_add_in_is_what_the_builder_builds(tmp_path):
    built = build_addin.build_addin(tmp_path)
    assert built.read_bytes() == ADDIN.read_bytes(), "run python -m tools.build_addin"


# -- the ribbon XML --------------------------------------------------------------------------------

def test_the_add_in_passes_openxml_audit_ribbon_xml_included():
    from test_independent_readers import findings

    with zipfile.ZipFile(ADDIN) as package:
        assert CUSTOM_UI_PART in package.namelist()
    assert findings(ADDIN) == []


def test_openxml_audit_checks_the_ribbon_xml_against_its_schema(tmp_path):
    from package_helpers import rewrite_zip
    from test_independent_readers import findings

    broken = tmp_path / "broken.xlam"
    broken.write_bytes(ADDIN.read_bytes())
    rewrite_zip(broken, {CUSTOM_UI_PART: lambda data: data.replace(b"<button ", b"<buttonx ", 1)})
    assert any("Unexpected element 'buttonx'" in line and "/customUI/customUI.xml" in line
               for line in findings(broken)), findings(broken)


def test_the_ribbon_has_a_button_per_ribbon_action_all_calling_run_main():
    from lxml import etree

    with zipfile.ZipFile(ADDIN) as package:
        ui = etree.fromstring(package.read(CUSTOM_UI_PART))
    buttons = [e for e in ui.iter() if etree.QName(e).localname == "button"]
    assert [b.get("id") for b in buttons] == [b.id for b in ribbon.BUTTONS]
    assert [b.get("label") for b in buttons] == ["Refresh workbook", "Refresh sheet", "Refresh selection", "Usage",
                                                 "Set key", "Help"]
    assert {b.get("onAction") for b in buttons} == {"RibbonMyAddin.RunMain"}
    assert {e.get("label") for e in ui.iter() if etree.QName(e).localname == "tab"} == {"FastMoss"}


# -- the VBA -------------------------------------------------------------------------------------------

def test_olevba_shows_exactly_the_new_ribbon_module():
    parser = VBA_Parser(str(ADDIN))
    try:
        modules = {name: code for _, _, name, code in parser.extract_macros()}
        stomped = parser.detect_vba_stomping()
    finally:
        parser.close()
    assert modules["RibbonMyAddin.bas"] == RIBBON_SOURCE
    assert "xl_fastmoss.ribbon.on_action('\" & control.Id & \"')" in modules["RibbonMyAddin.bas"]
    assert not stomped  # no compiled p-code left that differs from the source


def test_the_quickstart_it_starts_from_would_be_flagged_if_its_p_code_were_kept(quickstart, tmp_path):
    """The check above can fail: the source rewritten with the quickstart's p-code kept is VBA stomping."""
    project = vba_project(quickstart)
    offset, stream = module_streams(project)["RibbonMyAddin"]
    buffer = io.BytesIO(project)
    ole = olefile.OleFileIO(buffer, write_mode=True)
    old = ole.openstream(stream).read()
    short = (b'Attribute VB_Name = "RibbonMyAddin"\r\n\' Every FastMoss button calls RunMain with its own id.\r\n'
             b"Sub RunMain(control As IRibbonControl)\r\n"
             b"    RunPython \"import xl_fastmoss.ribbon; xl_fastmoss.ribbon.on_action('\" & control.Id & \"')\"\r\n"
             b"End Sub\r\n")
    ole.write_stream(stream, old[:offset] + compress_to_size(short, len(old) - offset))
    ole.close()
    stomped = tmp_path / "stomped.xlam"
    with zipfile.ZipFile(quickstart) as source, zipfile.ZipFile(stomped, "w") as target:
        for name in source.namelist():
            target.writestr(name, buffer.getvalue() if name == "xl/vbaProject.bin" else source.read(name))
    parser = VBA_Parser(str(stomped))
    try:
        assert parser.detect_vba_stomping()
    finally:
        parser.close()


def test_the_ribbon_module_is_source_only_strictly_compressed_and_office_compiles_it():
    project = vba_project(ADDIN)
    offset, stream = module_streams(project)["RibbonMyAddin"]
    assert offset == 0  # MODULEOFFSET: no PerformanceCache, as the quickstart's xlwings module
    data = streams(project)
    assert MsOvba().decompress(data[stream]) == RIBBON_SOURCE.encode("cp1252")
    assert MsOvba().decompress(data["VBA/dir"]) == decompress_stream(bytearray(data["VBA/dir"]))
    reserved, version = struct.unpack("<HH", data["VBA/_VBA_PROJECT"][:4])
    assert (reserved, version) == (0x61CC, 0xFFFF)  # [MS-OVBA] 2.3.4.1: no Office's own version


def test_every_other_stream_is_the_quickstarts(quickstart):
    ours, theirs = streams(vba_project(ADDIN)), streams(vba_project(quickstart))
    assert sorted(ours) == sorted(theirs)
    changed = {name for name in ours if ours[name] != theirs[name]}
    assert changed == {"VBA/RibbonMyAddin", "VBA/dir"}
    assert {k: v for k, v in module_streams(vba_project(ADDIN)).items() if k != "RibbonMyAddin"} == {
        k: v for k, v in module_streams(vba_project(quickstart)).items() if k != "RibbonMyAddin"}
    dir_ours = decompress_stream(bytearray(ours["VBA/dir"]))
    dir_theirs = decompress_stream(bytearray(theirs["VBA/dir"]))
    assert len(dir_ours) == len(dir_theirs)
    assert sum(a != b for a, b in zip(dir_ours, dir_theirs, strict=True)) <= 4  # MODULEOFFSET's 4 bytes only


# -- the compression to an exact size ---------------------------------------------------------------

SOURCE = RIBBON_SOURCE.encode("cp1252")


@pytest.mark.parametrize("size", [len(MsOvba().compress(SOURCE)), 1100, 1194, len(SOURCE) + len(SOURCE) // 8 + 3])
def test_compress_to_size_writes_that_size_and_strict_readers_read_the_source_back(size):
    container = compress_to_size(SOURCE, size)
    assert len(container) == size
    assert MsOvba().decompress(container) == SOURCE
    assert decompress_stream(bytearray(container)) == SOURCE


@pytest.mark.parametrize("size", [10, len(SOURCE) * 2])
def test_compress_to_size_refuses_a_size_no_single_chunk_has(size):
    with pytest.raises(CompressionError, match=f"not {size}"):
        compress_to_size(SOURCE, size)


def test_compress_to_size_refuses_more_than_one_chunk():
    with pytest.raises(CompressionError, match="one chunk holds 1 to 4096"):
        compress_to_size(b"x" * 4097, 4000)
