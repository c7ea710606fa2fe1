"""The package layer: parts found case-insensitively, relationships resolved, parts removed cleanly."""

import zipfile

import pytest
from package_helpers import minimal_xlsx

from xl_fastmoss.workbook.package import (
    CONTENT_TYPES_PART,
    PackageFile,
    PackageParts,
    WorkbookError,
    resolve_target,
    write_package,
)

VBA_TYPE = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"


@pytest.fixture
def book(tmp_path):
    return minimal_xlsx(tmp_path / "book.xlsx", '<row r="1"><c r="A1"><v>1</v></c></row>')


def test_targets_resolve_relative_to_their_part_or_the_root():
    assert resolve_target("xl/workbook.xml", "worksheets/sheet1.xml") == "xl/worksheets/sheet1.xml"
    assert resolve_target("xl/worksheets/sheet1.xml", "../drawings/d1.xml") == "xl/drawings/d1.xml"
    assert resolve_target("xl/workbook.xml", "/xl/styles.xml") == "xl/styles.xml"


def test_a_package_file_finds_parts_in_any_case_and_its_workbook(book):
    package = PackageFile(book)
    assert package.part("XL/Worksheets/SHEET1.xml") == "xl/worksheets/sheet1.xml"
    assert package.part("xl/nothing.xml") is None
    assert package.office_document() == "xl/workbook.xml"
    kinds = {rel.kind: rel.target for rel in package.relationships("xl/workbook.xml").values()}
    assert kinds == {"worksheet": "xl/worksheets/sheet1.xml", "sharedStrings": "xl/sharedStrings.xml",
                     "styles": "xl/styles.xml"}
    with pytest.raises(WorkbookError, match="the part xl/nothing.xml is missing"):
        package.read("xl/nothing.xml")


def test_a_file_that_is_no_zip_is_a_workbook_error(tmp_path):
    path = tmp_path / "not.xlsx"
    path.write_bytes(b"plain text")
    with pytest.raises(WorkbookError, match="not a readable Excel workbook"):
        PackageFile(path)


def test_removing_a_part_drops_its_content_type_and_every_link_to_it(book):
    parts = PackageParts.from_path(book)
    parts.put("xl/vbaProject.bin", b"\0vba")
    parts.set_override("xl/vbaProject.bin", "application/vnd.ms-office.vbaProject")
    rel_id = parts.add_relationship("xl/workbook.xml", VBA_TYPE, "xl/vbaProject.bin")
    assert parts.relationships("xl/workbook.xml")[rel_id].kind == "vbaProject"
    assert parts.content_types()["xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"

    parts.remove("xl/vbaProject.bin")
    assert "xl/vbaProject.bin" not in parts.parts
    assert "xl/vbaProject.bin" not in parts.content_types()
    assert all(rel.kind != "vbaProject" for rel in parts.relationships("xl/workbook.xml").values())
    assert len(parts.relationships("xl/workbook.xml")) == 3


def test_write_package_replaces_and_removes_parts_and_keeps_the_rest(book, tmp_path):
    copy = tmp_path / "copy.xlsx"
    write_package(book, copy, {"xl/sharedStrings.xml": b"<sst/>", "docProps/new.xml": b"<new/>"},
                  removed={"xl/styles.xml"})
    with zipfile.ZipFile(book) as before, zipfile.ZipFile(copy) as after:
        assert after.read("xl/sharedStrings.xml") == b"<sst/>"
        assert after.read("docProps/new.xml") == b"<new/>"
        assert "xl/styles.xml" not in after.namelist()
        assert after.read(CONTENT_TYPES_PART) == before.read(CONTENT_TYPES_PART)
        assert after.read("xl/worksheets/sheet1.xml") == before.read("xl/worksheets/sheet1.xml")


def test_write_package_names_a_missing_folder(book, tmp_path):
    with pytest.raises(WorkbookError, match="does not exist"):
        write_package(book, tmp_path / "nowhere" / "copy.xlsx", {})
