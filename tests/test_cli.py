"""The command line end to end, in-process, against the fake server."""

import csv
import io
import json
import os

import pytest
from click.testing import CliRunner

from xl_fastmoss.cli import main
from xl_fastmoss.fake_server import Fault

DAY = "2026-04-01"


@pytest.fixture
def run(fake_env):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_most_promoted_prints_a_readable_table(run):
    result = run("most-promoted", "US", "14", "day", DAY)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "most_promoted, US, category 14, day 2026-04-01 | answered day 2026-04-06 | 10 of 500 rows" in lines[0]
    assert "Shop" in lines[1] and "GMV (USD)" in lines[1]
    assert "LOOKFANTASTIC" in lines[2] and "7494006325298104216" in lines[2] and "28.8%" in lines[2]


def test_csv_keeps_ids_exact_and_text_as_sent(run):
    result = run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert len(rows) == 500 and rows[0]["seller_id"] == "7494006325298104216"
    assert all(len(r["seller_id"]) == 19 for r in rows)
    assert rows[0]["gmv_inc_rate"] == "0.4339"


def test_json_keeps_ids_as_text_and_blanks_as_null(run):
    result = run("most-promoted", "all", "all", "month", "2026-03", "--rows", "200", "--format", "json")
    document = json.loads(result.stdout)
    assert document["date_value"] == "2026-03" and len(document["rows"]) == 200
    assert all(isinstance(r["seller_id"], str) for r in document["rows"])
    assert any(r["gmv_inc_rate"] is None for r in document["rows"])


def test_output_xlsx_writes_formula_like_names_as_text(run, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "ranking.xlsx"
    result = run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--output", str(target))
    assert result.exit_code == 0 and "wrote 500 rows" in result.stderr
    sheet = load_workbook(target).active
    header = [c.value for c in sheet[2]]
    names = [row[header.index("Shop")] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert any(str(n).startswith("=") for n in names)
    assert all(c.data_type == "s" for c in sheet["B"][2:] if c.value is not None)
    ids = [row[header.index("Seller ID")] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert ids[0] == "7494006325298104216"


def test_output_csv(run, tmp_path):
    target = tmp_path / "ranking.csv"
    run("top-selling", "GB", "14", "week", "2026-14", "--sort", "usd_gmv", "--output", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"), newline="")))
    assert len(rows) == 10
    gmv = [float(r["usd_gmv"]) for r in rows]
    assert gmv == sorted(gmv, reverse=True)


def test_bad_input_is_one_line_on_stderr_and_exit_1(run, fake_env):
    result = run("most-promoted", "XX", "14", "day", DAY)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "InvalidArgument: region: 'XX' is not allowed; one of US GB MX ES DE IT FR ID VN MY TH PH BR JP SG, "
        "or empty for all regions"]
    assert fake_env.call_count == 0


def test_an_api_error_is_one_line_with_its_request_id(run, fake_env):
    fake_env.inject(Fault.API_CODE, code=30002)
    result = run("most-promoted", "US", "14", "day", DAY)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("QuotaExceeded: FastMoss data limit exceeded (code 30002)") and "request_id" in line


def test_fully_managed_refuses_cross_border_markets(run):
    result = run("fully-managed", "JP", "14", "day", DAY)
    assert result.exit_code == 1 and "region: 'JP' is not allowed; one of US GB ES MX DE IT FR" in result.stderr


def test_config_stores_the_key_for_the_user_only_and_never_prints_it(tmp_path, monkeypatch):
    import os
    import stat

    runner = CliRunner()
    result = runner.invoke(main, ["config", "--set-key", "--max-concurrency", "2"], input="sk-live-abc123\n")
    assert result.exit_code == 0, result.output
    assert "sk-live-abc123" not in result.output and "API key: configured" in result.output
    path = tmp_path / "config" / "config.ini"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    from xl_fastmoss.settings import Settings

    settings = Settings.load()
    assert settings.api_key == "sk-live-abc123" and settings.max_concurrency == 2
    assert "sk-live-abc123" not in repr(settings)
    result = runner.invoke(main, ["config", "--forget-key"])
    assert "API key: not set" in result.output


def test_the_environment_key_wins_over_the_stored_one(tmp_path, monkeypatch):
    from xl_fastmoss.settings import Settings, write_config

    write_config({"api_key": "stored-key"})
    assert Settings.load().api_key == "stored-key"
    monkeypatch.setenv("FASTMOSS_API_KEY", "env-key")
    assert Settings.load().api_key == "env-key"


# -- one line, never a traceback (issue 10) ------------------------------------------------------

@pytest.mark.parametrize("date_type, value", [
    ("week", "0000-01"), ("month", "0000-01"), ("day", "0000-01-01"), ("week", "0000-W53"), ("month", "0000-12-31"),
])
def test_a_year_0_date_is_one_line_and_costs_no_call(run, fake_env, date_type, value):
    result = run("most-promoted", "US", "14", date_type, value)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"InvalidArgument: date_value: {value!r} is not allowed; rankings start in 2020; ask for a later {date_type}"]
    assert fake_env.call_count == 0


#: Control characters a shop name can carry, besides the trap names' tab, CR and LF: XML 1.0
#: holds none of the first four, so openpyxl refused to save them.
HOSTILE_NAMES = ("\u0000NUL Shop", "\u001b]0;pwned\u0007\u001b[2J Escape Shop", "\u000bVT\u000cFF\u001fUS",
                 "Literal _x0041_ and _X001B_ Shop", "\u007fDEL \u009bCSI \u202eRLO Shop")


def inject_names(server, names):
    """One hostile name at the top of each page (ranks 1, 101, 201...)."""
    for page, name in enumerate(names, start=1):
        server.inject(Fault.FIELD, page=page, field="shop_info.name", value=name, rank=1)


def test_output_xlsx_keeps_control_characters_in_shop_names_exactly(run, fake_env, tmp_path):
    from openpyxl import load_workbook

    from xl_fastmoss.fake_server.data import TRAP_NAMES
    from xl_fastmoss.workbook.reader import decode_xstring

    inject_names(fake_env, HOSTILE_NAMES)
    target = tmp_path / "ranking.xlsx"
    result = run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--output", str(target))
    assert result.exit_code == 0, result.stderr
    sheet = load_workbook(target).active
    header = [c.value for c in sheet[2]]
    cells = [row[header.index("Shop")] for row in sheet.iter_rows(min_row=3)]
    assert all(c.data_type == "s" for c in cells)
    # Excel and LibreOffice decode ST_Xstring escapes (_x001B_) when they open the file; openpyxl does not.
    names = [decode_xstring(c.value) for c in cells]
    assert [names[0], names[100], names[200], names[300], names[400]] == list(HOSTILE_NAMES)
    assert set(TRAP_NAMES) <= set(names)


def test_output_xlsx_opens_in_libreoffice_with_the_names_as_sent(run, fake_env, tmp_path, soffice):
    from xl_fastmoss.fake_server.data import TRAP_NAMES

    names = ("\u001b]0;pwned\u0007 Escape Shop", "Literal _x0041_ Shop", "\u000bVT\u000cFF Shop")
    inject_names(fake_env, names)
    target = tmp_path / "ranking.xlsx"
    assert run("most-promoted", "US", "14", "day", DAY, "--rows", "300", "--output", str(target)).exit_code == 0
    rows = libreoffice_rows(soffice, target, tmp_path)
    header = rows[1]
    shown = [row[header.index("Shop")] for row in rows[2:]]
    assert [shown[0], shown[100], shown[200]] == list(names)
    assert {"\tTabbed Shop", "\rCarriage Return Shop", "Line\nBreak Boutique", "=1+1"} <= set(shown)
    assert set(shown) & set(TRAP_NAMES)


def test_a_missing_output_folder_is_one_line_before_any_call(run, fake_env, tmp_path):
    target = tmp_path / "no such folder" / "ranking.xlsx"
    result = run("most-promoted", "US", "14", "day", DAY, "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"InvalidArgument: --output: 'ranking.xlsx' is not allowed; the folder {target.parent} does not exist"]
    assert fake_env.call_count == 0


def test_an_output_folder_that_is_a_file_is_one_line_before_any_call(run, fake_env, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    target = tmp_path / "notes.txt" / "ranking.csv"
    result = run("most-promoted", "US", "14", "day", DAY, "--output", str(target))
    assert result.exit_code == 1 and result.stderr.splitlines() == [
        f"InvalidArgument: --output: 'ranking.csv' is not allowed; the folder {target.parent} is not a folder"]
    assert fake_env.call_count == 0 and (tmp_path / "notes.txt").read_text() == "mine"


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can write in, holding one file: a read-only mount when the tests run as
    root (whom file modes do not stop), else a folder of mode 0555."""
    import os
    import subprocess

    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        (folder / "ranking.xlsx").write_bytes(b"the analyst's own file")
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"running as root and cannot mount a read-only folder: {mounted.stderr.decode().strip()}")
    try:
        (folder / "ranking.xlsx").write_bytes(b"the analyst's own file")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("name", ["ranking.xlsx", "new.csv"])
def test_a_read_only_output_folder_is_one_line_before_any_call(run, fake_env, read_only_folder, name):
    target = read_only_folder / name
    result = run("most-promoted", "US", "14", "day", DAY, "--output", str(target))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"InvalidArgument: --output: {name!r} is not allowed; "
                           f"the folder {read_only_folder} cannot be written to (")
    assert fake_env.call_count == 0
    assert (read_only_folder / "ranking.xlsx").read_bytes() == b"the analyst's own file"


def test_a_file_that_cannot_be_written_after_the_call_is_one_line_naming_it(run, fake_env, tmp_path):
    target = tmp_path / ("x" * 240 + ".csv")  # its temporary file's name is too long for the file system
    result = run("most-promoted", "US", "14", "day", DAY, "--output", str(target))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("OSError: [Errno ") and line.endswith(f"File name too long: {str(target)!r}")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_an_output_of_another_kind_is_refused_before_any_call(run, fake_env, tmp_path):
    result = run("most-promoted", "US", "14", "day", DAY, "--output", str(tmp_path / "ranking.txt"))
    assert result.exit_code == 1 and result.stderr.splitlines() == [
        "InvalidArgument: --output: 'ranking.txt' is not allowed; write FILE.xlsx or FILE.csv"]
    assert fake_env.call_count == 0


@pytest.mark.parametrize("encoding, named", [("cp1252", "cp1252"), ("latin-1", "iso8859-1")])
def test_an_output_that_cannot_hold_a_name_is_one_line(fake_env, encoding, named):
    """A Windows console redirected to a file writes cp1252, which has no Chinese shop names."""
    import subprocess
    import sys

    process = subprocess.run([sys.executable, "-m", "xl_fastmoss.cli", "most-promoted", "US", "14", "day", DAY,
                              "--rows", "500"], capture_output=True, timeout=60,
                             env={**os.environ, "PYTHONIOENCODING": encoding})
    assert process.returncode == 1
    [line] = process.stderr.decode().splitlines()
    assert line.startswith(f"UnicodeEncodeError: the output's encoding ({named}) cannot write ")
    assert line.endswith("set PYTHONIOENCODING=utf-8, or write to a file with --output")


@pytest.mark.parametrize("field", ["total_affiliate_count", "affiliate_count", "sale_product_count", "gmv",
                                   "usd_gmv", "gmv_inc_rate", "shop_info.name", "shop_info.seller_id",
                                   "shop_info.region", "currency"])
def test_the_default_table_shows_a_blank_as_an_empty_cell(run, fake_env, field):
    fake_env.inject(Fault.FIELD, field=field, value=None)
    result = run("most-promoted", "US", "14", "day", DAY, "--rows", "3")
    assert result.exit_code == 0, result.stderr
    assert "<NA>" not in result.stdout and "NaN" not in result.stdout
    assert len(result.stdout.splitlines()) == 5


# -- CSV files cannot run formulas (issue 11) ------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def read_csv_file(path):
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_a_csv_file_guards_formula_like_text_and_keeps_numbers_numbers(run, fake_env, tmp_path):
    from xl_fastmoss.fake_server.data import TRAP_NAMES

    inject_names(fake_env, ("\u0000=2+2", "-10+20", "@SUM(A1:A9)", '=HYPERLINK("http://evil","click")'))
    sent = run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--format", "csv").stdout_bytes.decode()
    target = tmp_path / "ranking.csv"
    assert run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--output", str(target)).exit_code == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    as_sent = list(csv.DictReader(io.StringIO(sent, newline="")))
    written = read_csv_file(target)
    assert len(written) == len(as_sent) == 500
    guarded = 0
    for sent_row, row in zip(as_sent, written, strict=True):
        for field, value in sent_row.items():
            if field == "name" and value.startswith(FORMULA_STARTS):
                assert row[field] == "'" + value
                guarded += 1
            else:
                assert row[field] == value, field
    assert guarded >= 4 + 2 * 7  # the injected names and each of the 7 formula-like trap names twice
    names = {row["name"] for row in written}
    assert {"'=1+1", "'+Plus Beauty", "'-Minus Store", "'@home", "'\tTabbed Shop", "'\rCarriage Return Shop",
            "'\u0000=2+2", "'-10+20"} <= names
    assert {"Line\nBreak Boutique", "  Spaced Out  ", "007", "1E5"} <= names & set(TRAP_NAMES)
    # Numbers stay numbers: a negative growth rate starts with "-" and is written without a '.
    rates = [row["gmv_inc_rate"] for row in written if row["gmv_inc_rate"]]
    assert any(rate.startswith("-") for rate in rates)
    for field in ("rank", "total_affiliate_count", "affiliate_count", "gmv", "usd_gmv", "units_sold_inc_rate",
                  "gmv_inc_rate"):
        assert all(float(row[field]) == float(row[field]) for row in written if row[field]), field


def test_raw_writes_a_csv_file_exactly_as_sent(run, fake_env, tmp_path):
    sent = run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--format", "csv").stdout_bytes.decode()
    target = tmp_path / "raw.csv"
    result = run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--output", str(target), "--raw")
    assert result.exit_code == 0
    assert target.read_bytes().decode("utf-8-sig") == sent
    assert "=1+1" in {row["name"] for row in read_csv_file(target)}


def test_csv_on_stdout_is_data_for_programs_text_as_sent(run, fake_env):
    from xl_fastmoss.fake_server.data import TRAP_NAMES

    result = run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--format", "csv")
    text = result.stdout_bytes.decode()  # .stdout turns CRLF into LF
    names = {row["name"] for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert set(TRAP_NAMES) <= names
    assert text.endswith("\r\n") and not text.endswith("\r\n\n")


@pytest.mark.parametrize("args, given", [
    ((), "--format table"), (("--format", "json"), "--format json"), (("--output", "x.xlsx"), "--output x.xlsx"),
])
def test_raw_is_refused_where_it_would_change_nothing(run, fake_env, args, given):
    result = run("most-promoted", "US", "14", "day", DAY, "--raw", *args)
    assert result.exit_code == 1 and result.stderr.splitlines() == [
        f"InvalidArgument: --raw: {given!r} is not allowed; it is for CSV only: --output FILE.csv or --format csv"]
    assert fake_env.call_count == 0


def test_libreoffice_runs_no_formula_of_a_guarded_csv_file_and_does_of_a_raw_one(run, fake_env, tmp_path, soffice):
    inject_names(fake_env, ("\u0000=2+2",))
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--output", str(safe))
    run("most-promoted", "US", "14", "day", DAY, "--rows", "500", "--output", str(raw), "--raw")
    assert libreoffice_formulas(soffice, safe, tmp_path / "safe") == []
    assert {'=HYPERLINK("http://x","y")', "=1+1", "=2+2"} <= set(libreoffice_formulas(soffice, raw, tmp_path / "raw"))


# -- nothing reaches the terminal but text (issue 12) --------------------------------------------

def test_escape_sequences_in_shop_names_are_shown_escaped_in_the_table(fake_env):
    inject_names(fake_env, HOSTILE_NAMES)
    # color=True: what a terminal gets (click strips CSI colour codes from other outputs, not OSC)
    result = CliRunner().invoke(main, ["most-promoted", "US", "14", "day", DAY, "--rows", "500"], color=True)
    assert result.exit_code == 0
    text = result.stdout
    assert not set(text) & {"\x00", "\x07", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x9b", "\u202e", "\r", "\t"}
    lines = text.splitlines()
    assert len(lines) == 2 + 500  # no name breaks a line of the table
    assert "\\x1b]0;pwned\\x07\\x1b[2J Escape Shop" in text and "\\x00NUL Shop" in text
    assert "\\x7fDEL \\x9bCSI \\u202eRLO Shop" in text
    assert "\\tTabbed Shop" in text and "\\rCarriage Return Shop" in text and "Line\\nBreak Boutique" in text
    assert "小米官方旗舰店" in text and "👩‍👩‍👧 Family Deals 🇺🇸" in text  # other text as sent


def test_a_lone_surrogate_in_a_name_is_one_character_in_every_output(run, fake_env, tmp_path):
    """JSON can send "\\ud800", which no encoding can write: it used to stop every output."""
    from openpyxl import load_workbook

    from xl_fastmoss.workbook.reader import decode_xstring

    fake_env.inject(Fault.FIELD, field="shop_info.name", value='"\\ud800 Lone"', raw=True, rank=1)
    table = run("most-promoted", "US", "14", "day", DAY, "--rows", "3")
    assert table.exit_code == 0 and "\\ud800 Lone" in table.stdout.splitlines()[2]
    piped = run("most-promoted", "US", "14", "day", DAY, "--rows", "3", "--format", "csv")
    assert next(csv.DictReader(io.StringIO(piped.stdout_bytes.decode(), newline="")))["name"] == "\ufffd Lone"
    document = run("most-promoted", "US", "14", "day", DAY, "--rows", "3", "--format", "json")
    assert json.loads(document.stdout)["rows"][0]["name"] == "\ud800 Lone"
    for target in (tmp_path / "x.csv", tmp_path / "x.xlsx"):
        assert run("most-promoted", "US", "14", "day", DAY, "--rows", "3", "--output", str(target)).exit_code == 0
    assert read_csv_file(tmp_path / "x.csv")[0]["name"] == "\ufffd Lone"
    assert decode_xstring(load_workbook(tmp_path / "x.xlsx").active["C3"].value) == "\ud800 Lone"
    assert fake_env.call_count == 1


def test_json_on_stdout_escapes_what_a_terminal_acts_on_and_keeps_the_text(fake_env):
    inject_names(fake_env, HOSTILE_NAMES)
    result = CliRunner().invoke(main, ["most-promoted", "US", "14", "day", DAY, "--rows", "500", "--format", "json"],
                                color=True)
    assert not set(result.stdout) & {"\x00", "\x07", "\x1b", "\x7f", "\x9b", "\u202e", "\r", "\t"}
    names = [row["name"] for row in json.loads(result.stdout)["rows"]]
    assert [names[0], names[100], names[200], names[300], names[400]] == list(HOSTILE_NAMES)


def test_an_error_line_shows_control_characters_escaped(fake_env, tmp_path):
    book = tmp_path / "evil\x1b]0;pwned\x07.xlsx"
    book.write_bytes(b"not a workbook")
    result = CliRunner().invoke(main, ["refresh", str(book)], color=True)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert "\x1b" not in line and "\x07" not in line and "evil\\x1b]0;pwned\\x07.xlsx" in line


def test_warning_lines_show_api_text_escaped(client, capsys):
    import dataclasses

    from xl_fastmoss.cli import _emit

    result = client.ranking("most_promoted", "US", 14, "day", DAY, rows=3)
    hostile = dataclasses.replace(result, warnings=("rank 1: odd field \x1b]0;pwned\x07",), stale=True,
                                  stale_reason="FastMoss service error (code 40001): \x1b[2J\x9b31m down")
    _emit(hostile, "table", None, False)
    err = capsys.readouterr().err
    assert not set(err) & {"\x1b", "\x07", "\x9b"}
    assert "warning: rank 1: odd field \\x1b]0;pwned\\x07" in err and "\\x1b[2J\\x9b31m down" in err


def test_csv_on_a_terminal_shows_control_characters_escaped_unless_raw(fake_env):
    """Through a real pseudo-terminal, since a terminal is what decides."""
    inject_names(fake_env, ("\u001b]0;pwned\u0007 Escape Shop",) * 2)
    escaped = on_a_terminal(["most-promoted", "US", "14", "day", DAY, "--rows", "1", "--format", "csv"])
    assert b"\x1b" not in escaped and b"\\x1b]0;pwned\\x07 Escape Shop" in escaped
    raw = on_a_terminal(["most-promoted", "US", "14", "day", DAY, "--rows", "1", "--format", "csv", "--raw"])
    assert b"\x1b]0;pwned\x07 Escape Shop" in raw


def test_a_reader_that_has_gone_ends_the_command_quietly(fake_env):
    """`| head` closes the pipe: no line about it, status 1 (click's handling, which the
    group's one-line errors leave alone)."""
    import os
    import subprocess
    import sys

    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = subprocess.run([sys.executable, "-m", "xl_fastmoss.cli", "most-promoted", "US", "14", "day", DAY,
                                  "--format", "csv"], stdout=writer, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(writer)
    assert process.returncode == 1 and process.stderr == b""


# -- helpers ---------------------------------------------------------------------------------------

def on_a_terminal(args):
    """What ``xl-fastmoss ARGS`` writes to a pseudo-terminal."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "xl_fastmoss.cli", *args], stdout=follower,
                                   stderr=subprocess.PIPE)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
        assert process.returncode == 0, process.stderr.read() if process.stderr else ""
        return b"".join(chunks)
    finally:
        os.close(leader)


@pytest.fixture
def soffice():
    import os
    import shutil

    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is needed; CI installs it")
        pytest.skip("LibreOffice (soffice) is needed to open the written files")
    return found


def libreoffice(soffice, source, target_format, out_dir, infilter=None):
    """``source`` converted by LibreOffice headless, with a profile of its own and a hard timeout."""
    import os
    import signal
    import subprocess

    out_dir.mkdir(parents=True, exist_ok=True)
    command = [soffice, f"-env:UserInstallation={(out_dir / 'profile').as_uri()}", "--headless", "--norestore"]
    if infilter:
        command.append(f"--infilter={infilter}")
    command += ["--convert-to", target_format, "--outdir", str(out_dir), str(source)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail("LibreOffice did not finish within 120 s")
    extension = target_format.split(":")[0]
    [converted] = out_dir.glob(f"{source.stem}.{extension}")
    return converted


def libreoffice_rows(soffice, book, tmp_path):
    """The first sheet of ``book`` as LibreOffice reads it, exported as UTF-8 CSV."""
    converted = libreoffice(soffice, book, "csv:Text - txt - csv (StarCalc):44,34,76,1", tmp_path / "lo-csv")
    return list(csv.reader(io.StringIO(converted.read_bytes().decode("utf-8"), newline="")))


#: LibreOffice's CSV import options: comma, double quote, UTF-8 (76), from line 1, ... token 13
#: "evaluate formulas" on, as a user opening the file would have it.
_CSV_IMPORT_EVALUATING_FORMULAS = "Text - txt - csv (StarCalc):44,34,76,1,,1033,false,false,false,false,false,-1,true"


def libreoffice_formulas(soffice, csv_file, out_dir):
    """The formulas LibreOffice makes of ``csv_file`` when it opens it as UTF-8 and evaluates formulas."""
    from openpyxl import load_workbook

    converted = libreoffice(soffice, csv_file, "xlsx", out_dir, infilter=_CSV_IMPORT_EVALUATING_FORMULAS)
    sheet = load_workbook(converted).active
    return [cell.value for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


# -- history and --compare -------------------------------------------------------------------------

def _shop(rank=3, day="2026-05-12"):
    from xl_fastmoss.fake_server import data as world

    query = world.Query("mostPromoted", "day", day, region="US", category_id=14)
    return str(world.ranking(query, "affiliate_count")[rank - 1]["shop_info"]["seller_id"])


def test_history_prints_one_row_per_period_with_blank_ranks_said_so(run, fake_env):
    result = run("history", "7000000000000000001", "US", "14", "day", "2026-05-10", "2026-05-12")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("history of seller 7000000000000000001, most_promoted, US, category 14, "
                               "day 2026-05-10 to 2026-05-12, top 100 | found in 0 of 3 days")
    assert lines[1].split()[:2] == ["Period", "Rank"] and lines[1].rstrip().endswith("Note")
    assert [line.split()[0] for line in lines[2:5]] == ["2026-05-10", "2026-05-11", "2026-05-12"]
    assert all(line.rstrip().endswith("not in the top 100") for line in lines[2:5])
    assert "<NA>" not in result.stdout
    assert fake_env.call_count == 3


def test_history_takes_a_relative_start_and_options_after_it(run, fake_env):
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 5, 13, 4, 0, tzinfo=dt.timezone.utc)):
        result = run("history", _shop(), "US", "14", "day", "-6", "latest", "--format", "csv", "--depth", "50")
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [r["date_value"] for r in rows] == [f"2026-05-{d:02d}" for d in range(6, 13)]
    assert rows[-1]["rank"] == "3" and rows[-1]["seller_id"] == _shop()


def test_history_json_says_what_was_asked_and_found(run):
    result = run("history", _shop(), "US", "14", "week", "2026-17", "2026-19", "--format", "json")
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("seller_id", "ranking", "date_type", "start", "end", "depth")} == {
        "seller_id": _shop(), "ranking": "most_promoted", "date_type": "week", "start": "2026-17",
        "end": "2026-19", "depth": 100}
    assert [r["date_value"] for r in document["rows"]] == ["2026-17", "2026-18", "2026-19"]
    assert document["found"] == sum(r["rank"] is not None for r in document["rows"])


def test_history_output_xlsx_keeps_the_seller_id_and_periods_as_text(run, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "history.xlsx"
    result = run("history", _shop(), "US", "14", "day", "2026-05-11", "2026-05-12", "--output", str(target))
    assert result.exit_code == 0 and "wrote 2 rows" in result.stderr
    sheet = load_workbook(target)["History"]
    header = [c.value for c in sheet[2]]
    assert header[:3] == ["Period", "Rank", "Seller ID"]
    assert sheet["A3"].value == "2026-05-11" and sheet["C4"].value == _shop()


@pytest.mark.parametrize("args, message", [
    (("7.494006325298104e18", "US", "14", "day", "-3"), "InvalidArgument: seller_id: '7.494006325298104e18' is "
                                                        "not allowed; text of a number that lost digits"),
    (("7494006325298104216", "US", "14", "day", "2026-01-01", "2026-05-01"), "a range holds at most 90 days"),
    (("7494006325298104216", "US", "14", "day", "-3", "--depth", "600"), "depth: '600' is not allowed"),
    (("7494006325298104216", "US", "14", "day", "-3", "--ranking", "hot"), "ranking: 'hot' is not allowed"),
])
def test_history_refuses_bad_input_in_one_line_before_any_call(run, fake_env, args, message):
    result = run("history", *args)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert fake_env.call_count == 0


def test_compare_previous_adds_the_movement_to_the_table_csv_and_json(run, fake_env):
    table = run("most-promoted", "US", "14", "day", "2026-05-12", "--compare", "previous", "--rows", "20")
    lines = table.stdout.splitlines()
    assert "| compared with day 2026-05-11 |" in lines[0]
    assert lines[1].split()[:5] == ["Rank", "Previous", "rank", "Rank", "change"]
    assert "<NA>" not in table.stdout
    csv_rows = list(csv.DictReader(io.StringIO(
        run("most-promoted", "US", "14", "day", "2026-05-12", "--compare", "previous", "--rows", "20",
            "--format", "csv").stdout, newline="")))
    assert list(csv_rows[0])[:4] == ["rank", "previous_rank", "rank_change", "new"]
    for row in csv_rows:
        assert row["new"] in ("True", "False")
        if row["new"] == "False":
            assert int(row["rank_change"]) == int(row["previous_rank"]) - int(row["rank"])
    document = json.loads(run("most-promoted", "US", "14", "day", "2026-05-12", "--compare", "previous",
                              "--rows", "20", "--format", "json").stdout)
    assert document["compared_with"] == "day 2026-05-11"
    assert [r["new"] for r in document["rows"]] == [row["new"] == "True" for row in csv_rows]
    assert fake_env.call_count == 2  # the two days' first pages, then the cache


def test_a_bad_compare_is_one_line_before_any_call(run, fake_env):
    result = run("top-selling", "US", "14", "day", "2026-05-12", "--compare", "2026-05-13")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("InvalidArgument: compare: '2026-05-13' is not allowed; day 2026-05-13 is not "
                                     "before 2026-05-12, the period shown; use \"previous\" (the day before), or an "
                                     "earlier day as date_value takes it")
    assert fake_env.call_count == 0
