from click.testing import CliRunner

from xl_fastmoss.cli import main


def test_the_demo_runs_the_main_job_without_a_key_or_network(tmp_path):
    from openpyxl import load_workbook

    result = CliRunner().invoke(main, ["demo", "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "LOOKFANTASTIC" in result.output and "7494006325298104216" in result.output
    [book] = list((tmp_path / "out").glob("*.xlsx"))
    assert "tables as values" in result.output
    daily = load_workbook(book)["Daily"]
    assert daily["A10"].value == "Rank" and daily["A11"].value == 1
    assert isinstance(daily["C11"].value, str) and len(daily["C11"].value) == 19
