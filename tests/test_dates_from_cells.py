"""Every way a date reaches the period rules from outside: an FM_ cell in Excel, a cell of a
workbook file refreshed without Excel, the command line and Python. An impossible date is one
line (one cell) naming it, and costs no call; a date Excel can hold is read as Excel means it."""

import datetime as dt
import math

import pytest
from click.testing import CliRunner
from package_helpers import minimal_xlsx

import xl_fastmoss
from xl_fastmoss.cli import main
from xl_fastmoss.errors import InvalidArgument
from xl_fastmoss.headless import refresh_workbook
from xl_fastmoss.sheets.functions import ranking_table

#: What an Excel cell can hand over for a date that is none: serials outside Excel's dates, the
#: datetimes at the calendar's ends, NaN, and year-0 text.
IMPOSSIBLE = [0, 0.0, -1.0, 0.5, 1e308, -1e308, 2958466.0, 3e6, math.inf, math.nan,
              dt.datetime(1, 1, 1), dt.datetime(1899, 12, 31), dt.datetime(9999, 12, 31, 23, 59, 59),
              "0000-01-01", "0000-01", "0000-W01", "9999-12-31"]


@pytest.mark.parametrize("date_type", ["day", "week", "month"])
@pytest.mark.parametrize("value", IMPOSSIBLE, ids=repr)
def test_an_fm_cell_shows_one_line_naming_the_date(fake_env, date_type, value):
    [[cell]] = ranking_table("FM_MOSTPROMOTED", "US", 14, date_type, value)
    assert cell.startswith("FastMoss: date_value: ") and "\n" not in cell
    assert "unexpected" not in cell
    assert fake_env.call_count == 0


def test_an_fm_cell_reads_a_serial_as_the_date_excel_computed(fake_env):
    # =FM_MOSTPROMOTED("US",14,"day",DATE(2026,4,1)) hands over 46113.0
    by_serial = ranking_table("FM_MOSTPROMOTED", "US", 14, "day", 46113.0)
    assert by_serial == ranking_table("FM_MOSTPROMOTED", "US", 14, "day", dt.datetime(2026, 4, 1))
    assert by_serial[0][0] == "Rank" and len(by_serial) == 11


# Style 1 is built-in format 14 (a date), 0 General.
DATE_CELLS = {
    "A1": '<c r="A1" s="1"><v>2958466</v></c>',             # past 9999-12-31
    "A2": '<c r="A2" s="1"><v>-1</v></c>',                  # before Excel's first date
    "A3": '<c r="A3" s="1"><v>0</v></c>',                   # Excel shows 1900-01-00
    "A4": '<c r="A4" s="1"><v>1E+308</v></c>',
    "A5": '<c r="A5" t="d"><v>0000-01-01</v></c>',          # an ISO date cell of year 0
    "A6": '<c r="A6" s="1"><v>2958465.5</v></c>',           # 9999-12-31 12:00, not completed
    "A7": '<c r="A7"><v>-46113</v></c>',
    "A8": '<c r="A8" t="inlineStr"><is><t>0000-01</t></is></c>',   # year 0 typed as text
    "A9": '<c r="A9" t="str"><v>0000-W01</v></c>',
}


@pytest.mark.parametrize("date_type", ["day", "week", "month"])
def test_a_workbook_file_names_each_impossible_date_cell_and_makes_no_call(fake_env, client, tmp_path, date_type):
    rows = "".join(
        f'<row r="{n}">{cell}<c r="B{n}"><f>FM_MOSTPROMOTED("US",14,"{date_type}",{ref})</f></c></row>'
        for n, (ref, cell) in enumerate(DATE_CELLS.items(), start=1))
    book = minimal_xlsx(tmp_path / "dates.xlsx", rows)
    report = refresh_workbook(book, tmp_path / "dates-values.xlsx", client)
    assert not report.ok and not (tmp_path / "dates-values.xlsx").exists()
    problems = report.problems
    assert len(problems) == len(DATE_CELLS)
    for n, problem in enumerate(problems, start=1):
        assert problem.startswith(f"Data!B{n}: ") and "date_value: " in problem and "\n" not in problem
    assert fake_env.call_count == 0


def test_the_command_line_refresh_of_such_a_file_is_lines_not_a_traceback(fake_env, tmp_path):
    rows = "".join(
        f'<row r="{n}">{cell}<c r="B{n}"><f>FM_MOSTPROMOTED("US",14,"week",{ref})</f></c></row>'
        for n, (ref, cell) in enumerate(DATE_CELLS.items(), start=1))
    book = minimal_xlsx(tmp_path / "dates.xlsx", rows)
    result = CliRunner().invoke(main, ["refresh", str(book)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert sum("date_value: " in line for line in result.stderr.splitlines()) == len(DATE_CELLS)
    assert fake_env.call_count == 0


def test_a_workbook_serial_without_a_date_format_is_read_as_its_date(fake_env, client, tmp_path):
    book = minimal_xlsx(tmp_path / "serial.xlsx",
                        '<row r="1"><c r="A1"><v>46113</v></c>'
                        '<c r="B1"><f>FM_MOSTPROMOTED("US",14,"day",A1,"rows",3)</f></c></row>')
    report = refresh_workbook(book, tmp_path / "serial-values.xlsx", client)
    assert report.ok, report.lines()
    assert [call.body["filter"]["date_info"] for call in fake_env.calls] == [{"type": "day", "value": "2026-04-01"}]


@pytest.mark.parametrize("value", IMPOSSIBLE, ids=repr)
def test_python_raises_invalid_argument_without_a_call(fake_env, value):
    with pytest.raises(InvalidArgument) as caught:
        xl_fastmoss.most_promoted("US", 14, "week", value)
    assert caught.value.argument in ("date_value",) and "\n" not in str(caught.value)
    assert fake_env.call_count == 0
