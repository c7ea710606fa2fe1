"""The command line end to end, in-process, against the fake server."""

import csv
import io
import json

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
