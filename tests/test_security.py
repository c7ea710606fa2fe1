"""Secrets and injection: the key stays out of everything written; API text stays text; ids stay exact."""

import json
import logging
import re
import zipfile

import pytest
from click.testing import CliRunner
from lxml import etree
from openpyxl import Workbook

from xl_fastmoss.cli import main
from xl_fastmoss.fake_server import FakeFastMoss, Fault

SECRET = "FMKEY-7c1e9d5b-do-not-leak"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
DAY = "2026-04-01"


@pytest.fixture
def secret_server(monkeypatch):
    with FakeFastMoss(api_key=SECRET) as server:
        monkeypatch.setenv("FASTMOSS_BASE_URL", server.base_url)
        monkeypatch.setenv("FASTMOSS_API_KEY", SECRET)
        yield server


def make_dashboard(path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Daily"
    sheet["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",500)'
    book.save(path)
    return path


def test_the_key_is_in_no_file_output_log_or_error(secret_server, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    texts = []
    for args in (["most-promoted", "US", "14", "day", DAY, "--rows", "300"],
                 ["most-promoted", "US", "14", "day", DAY, "--format", "json"],
                 ["most-promoted", "GB", "14", "day", DAY, "--format", "csv"],
                 ["most-promoted", "US", "14", "day", DAY, "--rows", "500", "--output", str(tmp_path / "t.xlsx")],
                 ["most-promoted", "US", "14", "day", DAY, "--output", str(tmp_path / "t.csv")],
                 ["refresh", str(make_dashboard(tmp_path / "d.xlsx")), "--output", str(tmp_path / "d-values.xlsx")],
                 ["config"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        texts.append(result.output)
    for fault, params in [(Fault.HTTP_STATUS, {"status": 401}), (Fault.API_CODE, {"code": 10001}),
                          (Fault.HTTP_STATUS, {"status": 500}), (Fault.NOT_JSON, {})]:
        secret_server.inject(fault, times=10, **params)
        result = runner.invoke(main, ["most-promoted", "ID", "3", "day", DAY])
        secret_server.clear_faults()
        assert result.exit_code == 1
        texts.append(result.output)
    import xl_fastmoss.udfs as udfs

    texts += [repr(udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 500)), repr(udfs.FM_STATUS())]
    secret_server.inject(Fault.HTTP_STATUS, status=403)
    texts.append(repr(udfs.FM_MOSTPROMOTED("VN", 14, "day", DAY)))

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in written)  # the cache was written and is scanned
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
        if path.suffix in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(path) as package:
                for name in package.namelist():
                    assert SECRET.encode() not in package.read(name), (path, name)
    captured = capfd.readouterr()
    for text in texts + [captured.out, captured.err, caplog.text]:
        assert SECRET not in text


def sheet_cells(path, part):
    with zipfile.ZipFile(path) as package:
        root = etree.fromstring(package.read(part))
    return root.findall(".//m:c", NS)


DANGEROUS = re.compile(r"^[=+\-@\t\r]|^_x0009_|^_x000D_")


def test_api_text_starting_like_a_formula_is_written_as_text(secret_server, tmp_path):
    from xl_fastmoss.workbook.reader import WorkbookFile

    runner = CliRunner()
    runner.invoke(main, ["refresh", str(make_dashboard(tmp_path / "d.xlsx")), "--output", str(tmp_path / "v.xlsx")])
    runner.invoke(main, ["most-promoted", "US", "14", "day", DAY, "--rows", "500",
                         "--output", str(tmp_path / "t.xlsx")])
    for path in (tmp_path / "v.xlsx", tmp_path / "t.xlsx"):
        book = WorkbookFile.open(path)
        part = book.sheet(book.worksheet_names[0]).part
        cells = sheet_cells(path, part)
        assert not [c for c in cells if c.find("m:f", NS) is not None]
        values = book.cells(book.worksheet_names[0])
        risky = [v for v in values.values() if isinstance(v.value, str) and DANGEROUS.match(v.value)]
        assert {v.value[0] for v in risky} >= {"=", "+", "-", "@", "\t", "\r"}, path
        assert all(v.formula is None for v in risky)
        for c in cells:
            assert c.get("t") in (None, "n", "s", "inlineStr", "str", "b") and c.get("t") != "str"


def test_nineteen_digit_ids_reach_every_output_exactly(secret_server, tmp_path):
    import csv
    import io

    from openpyxl import load_workbook

    import xl_fastmoss.udfs as udfs

    frame = __import__("xl_fastmoss").most_promoted("US", 14, "day", DAY, rows=500)
    expected = frame["seller_id"].tolist()
    assert all(len(s) == 19 and int(s) > 2**53 for s in expected[:5])
    cell_ids = [row[2] for row in udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 500)[1:]]
    runner = CliRunner()
    as_csv = runner.invoke(main, ["most-promoted", "US", "14", "day", DAY, "--rows", "500", "--format", "csv"]).stdout
    as_json = runner.invoke(main, ["most-promoted", "US", "14", "day", DAY, "--rows", "500", "--format", "json"]).stdout
    runner.invoke(main, ["most-promoted", "US", "14", "day", DAY, "--rows", "500",
                         "--output", str(tmp_path / "t.xlsx")])
    runner.invoke(main, ["refresh", str(make_dashboard(tmp_path / "d.xlsx")), "--output", str(tmp_path / "v.xlsx")])
    csv_ids = [r["seller_id"] for r in csv.DictReader(io.StringIO(as_csv, newline=""))]
    json_ids = [r["seller_id"] for r in json.loads(as_json)["rows"]]
    xlsx_ids = [r[1] for r in load_workbook(tmp_path / "t.xlsx").active.iter_rows(min_row=3, values_only=True)]
    refreshed = [r[2] for r in load_workbook(tmp_path / "v.xlsx")["Daily"].iter_rows(min_row=2, values_only=True)]
    assert cell_ids == csv_ids == json_ids == xlsx_ids == refreshed == expected


def test_nothing_in_a_workbook_can_redirect_the_client(secret_server, tmp_path, monkeypatch):
    """A workbook naming another host (a cell, a defined name, a config-like sheet) changes nothing."""
    from openpyxl.workbook.defined_name import DefinedName

    book = Workbook()
    sheet = book.active
    sheet.title = "Daily"
    sheet["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01")'
    conf = book.create_sheet("xlwings.conf")
    conf["A1"], conf["B1"] = "FASTMOSS_BASE_URL", "http://127.0.0.2:9"
    book.defined_names["FASTMOSS_BASE_URL"] = DefinedName("FASTMOSS_BASE_URL", attr_text='"http://127.0.0.2:9"')
    book.save(tmp_path / "d.xlsx")
    result = CliRunner().invoke(main, ["refresh", str(tmp_path / "d.xlsx"), "--output", str(tmp_path / "v.xlsx")])
    assert result.exit_code == 0
    assert secret_server.call_count == 1


# -- the key never shows, whatever the world does ------------------------------------------------


def every_text(runner, *commands):
    """What each command printed, stdout and stderr together, with its exit code."""
    return [(result.exit_code, result.output) for result in (runner.invoke(main, list(c)) for c in commands)]


@pytest.mark.usefixtures("recent_periods")
def test_an_api_echoing_the_authorization_header_shows_nothing_of_it(secret_server, caplog):
    import xl_fastmoss.udfs as udfs

    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    runner.invoke(main, ["most-promoted", "US", "14", "day", DAY])  # a good copy, for the stale path below
    secret_server.inject(Fault.ECHO_AUTH, times=20)
    cell = udfs.FM_MOSTPROMOTED("GB", 14, "day", DAY)
    results = every_text(runner, ["most-promoted", "GB", "14", "day", DAY],
                         ["most-promoted", "US", "14", "day", DAY, "--refresh"])
    stale = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY, "rows", 20)  # page 1 cached, the rest echoing
    status = udfs.FM_STATUS()
    assert cell == [["FastMoss: FastMoss refused a parameter (code 10001): invalid token: Bearer *** "
                     f"[request_id {cell[0][0].split('request_id ')[1]}"]]
    assert all(code == 1 and "invalid token: Bearer ***" in text for code, text in results)
    for text in [repr(cell), repr(stale), repr(status), caplog.text] + [text for _, text in results]:
        assert SECRET not in text and SECRET[:12] not in text


def test_a_config_file_without_its_header_never_puts_the_key_line_in_a_message(tmp_path, monkeypatch, fake_env):
    import xl_fastmoss.udfs as udfs
    from xl_fastmoss.errors import ConfigurationError
    from xl_fastmoss.settings import Settings, config_file

    monkeypatch.delenv("FASTMOSS_API_KEY")
    config_file().parent.mkdir(parents=True)
    config_file().write_text(f"api_key = {SECRET}\nbase_url = {fake_env.base_url}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert str(caught.value) == (f"config file {config_file()} has no [fastmoss] header before line 1: put a line "
                                 "[fastmoss] at its top (or remove the file and run `xl-fastmoss config` again)")
    texts = [repr(udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)), repr(udfs.FM_STATUS())]
    texts += [text for _, text in every_text(CliRunner(), ["config"], ["most-promoted", "US", "14", "day", DAY])]
    texts.append(CliRunner().invoke(main, ["config", "--set-key"], input="another-key-1234\n").output)
    for text in texts:
        assert SECRET not in text and "api_key =" not in text and "[fastmoss] header" in text


@pytest.mark.parametrize("content, shown", [
    ("[fastmoss]\napi_key = {secret}\n  {secret}\n[fastmoss]\n", "line 4 repeats a section"),
    ("[fastmoss]\napi_key = {secret}\napi_key = {secret}\n", "line 3 repeats a setting"),
    ("[fastmoss]\n{secret}\n", "line 2 is not `name = value`"),
    ("\xff[fastmoss]\napi_key = {secret}\n", "is not UTF-8 text"),
])
def test_no_broken_config_file_is_quoted(tmp_path, monkeypatch, content, shown):
    from xl_fastmoss.errors import ConfigurationError
    from xl_fastmoss.settings import Settings, config_file

    config_file().parent.mkdir(parents=True)
    config_file().write_bytes(content.format(secret=SECRET).encode("latin-1"))
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert shown in str(caught.value) and SECRET not in str(caught.value)


@pytest.mark.parametrize("key", [f"{SECRET}\nsecond-line", f"{SECRET}\x1b[2J", f"{SECRET}\ttab", f"{SECRET}é",
                                 f"two {SECRET}"])
def test_a_key_with_a_control_character_is_refused_when_stored_without_echoing_it(tmp_path, key):
    from xl_fastmoss.errors import ConfigurationError
    from xl_fastmoss.settings import config_file, store_api_key

    with pytest.raises(ConfigurationError, match="nothing was stored") as caught:
        store_api_key(key)
    assert SECRET not in str(caught.value) and SECRET[:10] not in str(caught.value)
    assert not config_file().exists()
    typed = key.replace("\n", "\x0b")  # the prompt reads one line: a vertical tab stands for the break
    result = CliRunner().invoke(main, ["config", "--set-key"], input=typed + "\n")
    assert result.exit_code == 1 and SECRET not in result.output
    assert result.output.strip().splitlines()[-1].startswith("ConfigurationError: the API key holds ")
    assert not config_file().exists()


def test_a_key_with_a_line_break_in_the_environment_is_refused_before_any_call(secret_server, monkeypatch):
    import xl_fastmoss.udfs as udfs

    monkeypatch.setenv("FASTMOSS_API_KEY", f"{SECRET}\nX-Injected: 1")
    [[cell]] = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    [(code, text)] = every_text(CliRunner(), ["most-promoted", "US", "14", "day", DAY])
    assert cell == ("FastMoss: the API key holds a line break (character 27 of 40), so it cannot be sent; store it "
                    "again with `xl-fastmoss config --set-key` or fix FASTMOSS_API_KEY")
    assert code == 1 and text.startswith("ConfigurationError: the API key holds a line break")
    assert SECRET not in cell + text and secret_server.call_count == 0


def test_a_plain_http_base_url_to_another_machine_warns_that_the_key_travels_in_clear(caplog, monkeypatch):
    import xl_fastmoss.udfs as udfs
    from xl_fastmoss.settings import Settings

    caplog.set_level(logging.WARNING)
    for local in ("http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765", "https://api.example"):
        Settings.load(base_url=local)
    assert not caplog.records
    monkeypatch.setenv("FASTMOSS_BASE_URL", "http://api.example.com:8080")
    Settings.load()
    Settings.load()
    [record] = caplog.records  # once, not at every load
    assert record.getMessage() == ("FASTMOSS_BASE_URL http://api.example.com:8080 is plain http: the API key "
                                   "travels unencrypted; use https:// for anything but this machine")
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert status["Base URL"] == "http://api.example.com:8080 (plain http: the API key travels unencrypted)"
    assert "travels unencrypted" in CliRunner().invoke(main, ["config"]).output
