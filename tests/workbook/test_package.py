"""The package layer: parts found case-insensitively, relationships resolved, parts removed cleanly."""

import os
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


def stored_bytes(path, name):
    """An entry's bytes as stored in the zip (compressed), read from its local header."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        header = file.read(30)
        skip = int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        file.seek(info.header_offset + 30 + skip)
        return info.CRC, file.read(info.compress_size)


def test_parts_not_replaced_are_copied_as_their_compressed_bytes(book, tmp_path):
    # Deflated at level 1 (zipfile writes 6): a part decompressed and compressed again would differ.
    with zipfile.ZipFile(book) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for info, data in items:
            archive.writestr(info.filename, data + (b" " * 5000 if info.filename.endswith("sheet1.xml") else b""))
    copy = tmp_path / "copy.xlsx"
    write_package(book, copy, {"xl/sharedStrings.xml": b"<sst/>"})
    assert stored_bytes(copy, "xl/worksheets/sheet1.xml") == stored_bytes(book, "xl/worksheets/sheet1.xml")
    assert stored_bytes(copy, "xl/sharedStrings.xml") != stored_bytes(book, "xl/sharedStrings.xml")
    with zipfile.ZipFile(copy) as archive:
        assert archive.testzip() is None and archive.read("xl/sharedStrings.xml") == b"<sst/>"


def test_stored_entries_unicode_names_and_data_descriptors_are_copied_readable(book, tmp_path):
    import io

    with zipfile.ZipFile(book) as archive:
        items = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    stream = io.BytesIO()

    class Unseekable(io.RawIOBase):  # zipfile then writes data descriptors after each entry
        def writable(self):
            return True

        def write(self, data):
            return stream.write(data)

    with zipfile.ZipFile(Unseekable(), "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:
            archive.writestr(name, data)
        archive.writestr(zipfile.ZipInfo("docProps/stored.bin"), b"\0" * 100)
        archive.writestr("xl/media/b\u00e9b\u00e9.png", b"png bytes")
    book.write_bytes(stream.getvalue())
    copy = tmp_path / "copy.xlsx"
    write_package(book, copy, {"docProps/new.xml": b"<new/>"})
    with zipfile.ZipFile(copy) as archive, zipfile.ZipFile(book) as source:
        assert archive.testzip() is None
        assert archive.namelist() == source.namelist() + ["docProps/new.xml"]
        assert all(archive.read(name) == source.read(name) for name in source.namelist())
        assert archive.getinfo("docProps/stored.bin").compress_type == zipfile.ZIP_STORED
        assert not archive.getinfo("xl/worksheets/sheet1.xml").flag_bits & 0x8


def test_a_corrupt_part_that_is_only_copied_is_refused_and_nothing_is_written(tmp_path):
    from hostile_packages import entry, workbook

    book = tmp_path / "bad.xlsx"
    workbook(book, None, entry("docProps/app.xml", "<Properties/>", crc=1))
    copy = tmp_path / "copy.xlsx"
    with pytest.raises(WorkbookError, match=r"the part docProps/app.xml is corrupt \(Bad CRC-32"):
        write_package(book, copy, {})
    assert not copy.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.xlsx"]


def test_the_zip_directory_is_read_once_for_a_copy_of_many_sheets_not_once_a_part(tmp_path, monkeypatch):
    from openpyxl import Workbook

    from xl_fastmoss.workbook.writer import write_values_copy

    source = tmp_path / "many.xlsx"
    made = Workbook()
    made.active["A1"] = 1
    for number in range(2, 41):
        made.create_sheet(f"S{number}")["A1"] = number
    made.save(source)
    opened = []

    class Counted(zipfile.ZipFile):
        def __init__(self, file, *args, **kwargs):
            if str(file) == str(source):
                opened.append(file)
            super().__init__(file, *args, **kwargs)

    monkeypatch.setattr(zipfile, "ZipFile", Counted)
    write_values_copy(source, tmp_path / "copy.xlsx", {("S2", "B1"): [["x"], [1]]})
    assert len(opened) == 1  # once for each part read before: 51 times for these 40 sheets


def test_a_package_lets_go_of_its_file_when_closed_and_opens_it_again_to_read(book):
    def holding():
        return [fd for fd in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{fd}") == str(book)]

    with PackageFile(book) as package:
        assert len(holding()) == 1
        package.close()
        assert holding() == []
        assert b"<v>1</v>" in package.read("xl/worksheets/sheet1.xml")
        assert len(holding()) == 1
    assert holding() == []
