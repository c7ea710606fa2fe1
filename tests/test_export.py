"""The written-out ranking on hand-made tables: blanks in every column, the CSV formula rule,
terminal escapes and the .xlsx text encoding."""

import csv
import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from xl_fastmoss import export
from xl_fastmoss.columns import LABELS, default_fields
from xl_fastmoss.endpoints import ENDPOINTS
from xl_fastmoss.parse import rows_to_frame
from xl_fastmoss.query import RankingQuery
from xl_fastmoss.result import RankingResult
from xl_fastmoss.workbook.reader import decode_xstring

FETCHED = dt.datetime(2026, 4, 7, 8, 30, tzinfo=dt.timezone.utc)


def result_of(rows, endpoint="most_promoted"):
    query = RankingQuery.build(endpoint, "US", 14, "day", "2026-04-01", today=dt.date(2026, 11, 27))
    frame = rows_to_frame(rows, query.endpoint, warnings=[])
    return RankingResult(frame, query, len(rows), len(rows), "day", "2026-04-01", FETCHED)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_a_row_blank_in_every_column_is_blank_in_every_output(endpoint, tmp_path):
    result = result_of([{}, {"shop_info": {}, "rank_category": {}}], endpoint)
    assert result.frame.drop(columns="rank").isna().all().all()

    lines = export.as_text(result).splitlines()
    assert len(lines) == 4 and "<NA>" not in "".join(lines) and "nan" not in "".join(lines).lower()
    assert lines[1].split() == " ".join(LABELS[f] for f in default_fields(result.query.endpoint)).split()
    assert [line.split() for line in lines[2:]] == [["1"], ["2"]]

    rows = list(csv.reader(io.StringIO(export.as_csv(result), newline="")))
    assert rows[1:] == [["1"] + [""] * (len(rows[0]) - 1), ["2"] + [""] * (len(rows[0]) - 1)]
    records = json.loads(export.as_json(result))["rows"]
    assert all(value is None for record in records for key, value in record.items() if key != "rank")

    export.write_xlsx(result, tmp_path / "blank.xlsx")
    sheet = load_workbook(tmp_path / "blank.xlsx").active
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=3)] == [
        [1] + [None] * (len(rows[0]) - 1), [2] + [None] * (len(rows[0]) - 1)]


@pytest.mark.parametrize("text, written", [
    ("=1+1", "'=1+1"), ('=HYPERLINK("http://x","y")', "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+Plus", "'+Plus"), ("-10+20", "'-10+20"), ("-Minus Store", "'-Minus Store"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTab", "'\tTab"), ("\rCR", "'\rCR"), ("\0=2+2", "'\0=2+2"),
    # Left as they are: nothing a spreadsheet runs starts them.
    ("Line\nBreak", "Line\nBreak"), ("  =spaced", "  =spaced"), ("007", "007"), ("1E5", "1E5"), ("", ""),
    ("'quoted", "'quoted"), ("Shop = good", "Shop = good"), ("＝fullwidth", "＝fullwidth"),
])
def test_the_csv_formula_guard_prefixes_exactly_what_a_spreadsheet_would_run(text, written):
    assert export.guard_formula(text) == written


def test_the_guard_touches_text_only_never_a_number():
    result = result_of([{"shop_info": {"name": "-10+20", "seller_id": "7494006325298104216"},
                         "gmv": -13.93, "usd_gmv": -1e-05, "gmv_inc_rate": "-13.93%", "affiliate_count": -5}])
    [row] = list(csv.DictReader(io.StringIO(export.as_csv(result, guard_formulas=True), newline="")))
    assert row["name"] == "'-10+20" and row["seller_id"] == "7494006325298104216"
    assert (row["gmv"], row["usd_gmv"], row["gmv_inc_rate"], row["affiliate_count"]) == (
        "-13.93", "-1e-05", "-0.1393", "-5")


@pytest.mark.parametrize("text, shown", [
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"), ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
    ("a\tb\nc\rd", "a\\tb\\nc\\rd"), ("\x00\x7f\x9b\x85", "\\x00\\x7f\\x9b\\x85"),
    ("\u202eevil\u202c \u2066iso\u2069 \u200f", "\\u202eevil\\u202c \\u2066iso\\u2069 \\u200f"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"), ("\ud800 lone", "\\ud800 lone"),
    ("Café 小米 👩‍👩‍👧 🇺🇸 \u00a0nbsp", "Café 小米 👩‍👩‍👧 🇺🇸 \u00a0nbsp"),
])
def test_printable_escapes_what_a_terminal_acts_on_and_nothing_else(text, shown):
    assert export.printable(text) == shown


HOSTILE = ("\x00NUL", "\x1b[2J\x1b]0;t\x07", "\x0b\x0c\x1f", "_x0041_ literal", "_X001b_ too",
           "\ud800 lone", "\ufffe\uffff", "\r\n\t kept", "\x7f\x9b\u202e")


@pytest.mark.parametrize("name", HOSTILE)
def test_xlsx_text_decodes_back_to_the_name_as_sent(name, tmp_path):
    export.write_xlsx(result_of([{"shop_info": {"name": name}}]), tmp_path / "one.xlsx")
    cell = load_workbook(tmp_path / "one.xlsx").active.cell(3, 3)
    assert cell.data_type == "s" and decode_xstring(cell.value) == name


@pytest.mark.parametrize("name", HOSTILE)
def test_json_is_valid_and_holds_the_name_as_sent_with_nothing_a_terminal_acts_on(name):
    text = export.as_json(result_of([{"shop_info": {"name": name}}]))
    assert not set(text) & set("\x00\x07\x0b\x0c\x1b\x1f\x7f\x9b\u202e\ud800\r\t")
    assert json.loads(text)["rows"][0]["name"] == name


def test_csv_writes_a_lone_surrogate_as_the_replacement_character(tmp_path):
    result = result_of([{"shop_info": {"name": "\ud800 lone"}}])
    export.write_csv(result, tmp_path / "one.csv")
    [row] = list(csv.DictReader(io.StringIO((tmp_path / "one.csv").read_bytes().decode("utf-8-sig"), newline="")))
    assert row["name"] == "\ufffd lone"
    assert "\\ud800 lone" in export.as_csv(result, escape_controls=True)
