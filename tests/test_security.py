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
