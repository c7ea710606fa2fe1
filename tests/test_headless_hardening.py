"""`xl-fastmoss refresh` against careless and hostile files: the input never changes, checks come
before any paid call, and every bad file is one line (`Type: message`, exit 1), never a traceback."""

import contextlib
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from hostile_packages import FM_SHEET, bomb_entry, entry, workbook
from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName
from package_helpers import MAIN

from xl_fastmoss.cli import main
from xl_fastmoss.errors import WorkbookFileError
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.headless import refresh_workbook


def small_book(path, **cells):
    book = Workbook()
    sheet = book.active
    sheet.title = "Daily"
    sheet["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",3)'
    for address, value in cells.items():
        sheet[address] = value
    book.save(path)
    return path


def refresh(*args):
    result = CliRunner().invoke(main, ["refresh", *map(str, args)])
    assert "Traceback" not in result.output and not isinstance(result.exception, (KeyError, ValueError, TypeError))
    return result


def one_line_error(result):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("WorkbookFileError: "), result.stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------
# The input never changes


@pytest.mark.parametrize("spelling", ["same", "dot", "parent", "symlink", "hardlink"])
def test_the_output_may_not_be_the_input_however_it_is_spelled(tmp_path, fake_env, spelling):
    book = small_book(tmp_path / "book.xlsx")
    (tmp_path / "sub").mkdir()
    output = {"same": book, "dot": tmp_path / "." / "book.xlsx", "parent": tmp_path / "sub" / ".." / "book.xlsx",
              "symlink": tmp_path / "link.xlsx", "hardlink": tmp_path / "hard.xlsx"}[spelling]
    if spelling == "symlink":
        output.symlink_to(book)
    if spelling == "hardlink":
        os.link(book, output)
    before = book.read_bytes()
    line = one_line_error(refresh(book, "--output", output))
    assert "must not overwrite the workbook it is made from" in line
    assert book.read_bytes() == before and fake_env.call_count == 0


def test_an_input_saved_while_the_refresh_runs_is_not_copied(tmp_path, client, server):
    """The analyst saves in Excel (a new file under the same name) while the tables are fetched."""
    book = small_book(tmp_path / "book.xlsx")
    saved = small_book(tmp_path / "saved.xlsx", B20="typed while the refresh ran")
    output = tmp_path / "values.xlsx"
    output.write_bytes(b"yesterday's copy")

    def save_in_excel(done, total):
        if done == 1:
            os.replace(saved, book)

    with pytest.raises(WorkbookFileError, match="book.xlsx: the workbook changed while the copy was being made"):
        refresh_workbook(book, output, client, progress=save_in_excel)
    assert server.call_count == 1
    assert output.read_bytes() == b"yesterday's copy"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_an_input_rewritten_in_place_is_caught_too(tmp_path, client):
    book = small_book(tmp_path / "book.xlsx")
    status = os.stat(book)

    def rewrite_in_place(done, total):
        data = bytearray(book.read_bytes())
        data[10] ^= 1  # the first entry's time in its local header: same size, same file time
        book.write_bytes(bytes(data))
        os.utime(book, ns=(status.st_atime_ns, status.st_mtime_ns))

    with pytest.raises(WorkbookFileError, match="changed while the copy was being made"):
        refresh_workbook(book, tmp_path / "values.xlsx", client, progress=rewrite_in_place)
    assert not (tmp_path / "values.xlsx").exists()


# ---------------------------------------------------------------------------------------------
# Checks that need no call come first


def test_a_missing_output_folder_is_one_line_before_any_call(tmp_path, fake_env):
    book = small_book(tmp_path / "book.xlsx")
    line = one_line_error(refresh(book, "--output", tmp_path / "nowhere" / "values.xlsx"))
    assert line.endswith(f"the folder {tmp_path / 'nowhere'} does not exist")
    assert fake_env.call_count == 0


@contextlib.contextmanager
def read_only(folder):
    """A folder nobody may write to: its mode, and for root (whom modes do not stop) immutable."""
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    try:
        if immutable and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root where chattr +i is not available")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


def test_a_read_only_output_folder_is_one_line_before_any_call(tmp_path, fake_env):
    book = small_book(tmp_path / "book.xlsx")
    (tmp_path / "shared").mkdir()
    with read_only(tmp_path / "shared") as folder:
        line = one_line_error(refresh(book, "--output", folder / "values.xlsx"))
    assert "the folder" in line and "does not take a new file" in line and "choose another --output" in line
    assert fake_env.call_count == 0


@pytest.mark.parametrize("source, output, message", [
    ("book.xlsx", "values.csv", "the copy of book.xlsx must be .xlsx"),
    ("book.xlsx", "values.xlsm", "the copy of book.xlsx must be .xlsx"),
    ("book.xlsm", "values.xls", "must be .xlsm or .xlsx (an .xlsm made macro-free)"),
    ("book.xls", "values.xlsx", "a workbook must be .xlsx or .xlsm to be copied (got .xls)"),
])
def test_a_copy_of_a_kind_excel_would_refuse_is_one_line_before_any_call(tmp_path, fake_env, source, output,
                                                                         message):
    book = small_book(tmp_path / "book.xlsx")
    if source != "book.xlsx":
        book = book.rename(tmp_path / source)
    line = one_line_error(refresh(book, "--output", tmp_path / output))
    assert message in line and fake_env.call_count == 0


def test_a_stamp_inside_a_tables_area_is_refused_before_any_call(tmp_path, fake_env):
    book = Workbook()
    sheet = book.active
    sheet.title = "Daily"
    sheet["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",3,"fields","rank,name")'
    book.defined_names["FM_LastRefresh"] = DefinedName("FM_LastRefresh", attr_text="Daily!$B$4")
    book.save(tmp_path / "book.xlsx")
    result = refresh(tmp_path / "book.xlsx", "--output", tmp_path / "values.xlsx")
    assert result.exit_code == 1
    assert ("Daily!B4: FM_LastRefresh points inside the area the table of Daily!A1 may fill (A1:B4); "
            "move the name or the formula") in result.stderr
    assert fake_env.call_count == 0 and not (tmp_path / "values.xlsx").exists()


def test_temporary_files_of_a_killed_refresh_are_removed_by_the_next(tmp_path, fake_env):
    book = small_book(tmp_path / "book.xlsx")
    left = tmp_path / ".values.xlsx.xl-fastmoss-0badf00d.tmp"
    left.write_bytes(b"half a copy")
    other = tmp_path / ".other.xlsx.xl-fastmoss-0badf00d.tmp"
    other.write_bytes(b"another target's")
    assert refresh(book, "--output", tmp_path / "values.xlsx").exit_code == 0
    assert not left.exists() and other.exists()


def test_the_refresh_reports_parse_warnings_and_blanks_by_table(tmp_path, fake_env):
    book = small_book(tmp_path / "book.xlsx")
    fake_env.inject(Fault.FIELD, field="usd_gmv", value="lots", rank=2, times=5)
    result = refresh(book, "--output", tmp_path / "values.xlsx")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning: Daily!A1: ")]
    assert any("usd_gmv" in line for line in warnings), result.stdout
    assert any("blank cell" in line for line in warnings)


# ---------------------------------------------------------------------------------------------
# Bad files: one line, never a traceback, no call


def sheet_entry(sheet_data):
    xml = f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>'
    return entry("xl/worksheets/sheet1.xml", xml)


FORMULA = '<c r="A1"><f>FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",3)</f></c>'
BAD_FILES = {
    "malformed sheet XML": (lambda p: workbook(p, entry("xl/worksheets/sheet1.xml", FM_SHEET[:-20])),
                            "the sheet Data cannot be read"),
    "a cell r=ZZZZ9": (lambda p: workbook(p, sheet_entry(f'<row r="1">{FORMULA}<c r="ZZZZ9"><v>1</v></c></row>')),
                       "r='ZZZZ9', which is no cell address"),
    "a style s=x": (lambda p: workbook(p, sheet_entry(f'<row r="1">{FORMULA}<c r="B1" s="x"><v>1</v></c></row>')),
                    "'x' is not a whole number"),
    "a type t=?": (lambda p: workbook(p, sheet_entry(f'<row r="1">{FORMULA}<c r="B1" t="?"><v>1</v></c></row>')),
                   "the cell B1 has the type t='?'"),
    "a row r=x": (lambda p: workbook(p, sheet_entry(f'<row r="x">{FORMULA}</row>')), "r='x', which is no row number"),
    "a bad CRC": (lambda p: workbook(p, entry("xl/worksheets/sheet1.xml", FM_SHEET, crc=1)),
                  "the part xl/worksheets/sheet1.xml is corrupt (Bad CRC-32"),
    "truncated deflate data": (lambda p: workbook(p, _truncated(entry("xl/worksheets/sheet1.xml", FM_SHEET))),
                               "the part xl/worksheets/sheet1.xml is corrupt"),
    "an encrypted entry": (lambda p: workbook(p, entry("xl/worksheets/sheet1.xml", FM_SHEET, flags=1)),
                           "the part xl/worksheets/sheet1.xml is encrypted"),
    "an unknown compression": (lambda p: workbook(p, entry("xl/worksheets/sheet1.xml", FM_SHEET, method=99)),
                               "uses an unsupported compression (method 99)"),
    "a name with ..": (lambda p: workbook(p, None, entry("xl/../../evil.xml", "<x/>")),
                       "the part name 'xl/../../evil.xml' points outside the package"),
    "an absolute name": (lambda p: workbook(p, None, entry("/etc/evil.xml", "<x/>")),
                         "the part name '/etc/evil.xml' points outside the package"),
    "a DOCTYPE": (lambda p: workbook(p, entry("xl/worksheets/sheet1.xml",
                                              '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e "US">]>' + FM_SHEET)),
                  "the part xl/worksheets/sheet1.xml declares a DOCTYPE"),
    "a password-protected workbook": (lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
                                      "a password-protected (encrypted) workbook or an old .xls file"),
}


def _truncated(item):
    item.stored = item.stored[: len(item.stored) // 2]
    return item


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_workbook_is_one_line_and_costs_no_call(tmp_path, fake_env, case):
    make, message = BAD_FILES[case]
    book = tmp_path / "bad.xlsx"
    make(book)
    line = one_line_error(refresh(book, "--output", tmp_path / "values.xlsx"))
    assert message in line and str(book) in line
    assert fake_env.call_count == 0 and not (tmp_path / "values.xlsx").exists()


def test_a_doctype_in_a_part_that_is_only_copied_is_refused_too(tmp_path, fake_env):
    workbook(tmp_path / "bad.xlsx", None, entry("docProps/custom.xml", '<!DOCTYPE x SYSTEM "http://x/"><x/>'))
    line = one_line_error(refresh(tmp_path / "bad.xlsx", "--output", tmp_path / "values.xlsx"))
    assert "the part docProps/custom.xml declares a DOCTYPE" in line


#: Runs the refresh as its own child and reports that child's peak RSS. Linux keeps a process's
#: peak RSS across exec, so a child started straight from pytest would report pytest's own; the
#: refresh is therefore started from this small process, whose peak is all it inherits.
MEASURE = textwrap.dedent("""
    import resource, subprocess, sys
    refresh = "import sys; from xl_fastmoss.cli import main; main(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", refresh, "refresh", sys.argv[1], "--output", sys.argv[2]],
                          capture_output=True, text=True, timeout=120)
    sys.stderr.write(done.stderr)
    print("peak-rss-kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "exit", done.returncode)
""")


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """A 3 GB sheet in a few MB of zip, declaring its true size, and the same declaring 1 KB."""
    folder = tmp_path_factory.mktemp("bombs")
    workbook(folder / "honest.xlsx", bomb_entry("xl/worksheets/sheet1.xml", 3_200_000_000))
    workbook(folder / "lying.xlsx", bomb_entry("xl/worksheets/sheet1.xml", 3_200_000_000, declared=1024))
    return folder


@pytest.mark.parametrize("kind, message", [
    ("honest", "the part xl/worksheets/sheet1.xml decompresses to 3,051 MiB, more than 256 MiB, "
               "the most one part may hold here"),
    ("lying", "the part xl/worksheets/sheet1.xml is corrupt (Bad CRC-32"),
])
def test_a_zip_bomb_is_refused_by_name_within_300_mb(bombs, tmp_path, fake_env, kind, message):
    book = bombs / f"{kind}.xlsx"
    assert book.stat().st_size < 10_000_000
    child = subprocess.run([sys.executable, "-c", MEASURE, str(book), str(tmp_path / "values.xlsx")],
                           capture_output=True, text=True, timeout=150, env=os.environ.copy())
    assert child.stderr.count("\n") == 1 and "Traceback" not in child.stderr, child.stderr
    assert child.stderr.startswith("WorkbookFileError: ") and message in child.stderr
    peak, code = child.stdout.split()[1], child.stdout.split()[3]
    assert code == "1" and int(peak) < 300 * 1024, f"peak RSS {int(peak) // 1024} MiB"
    assert fake_env.call_count == 0
