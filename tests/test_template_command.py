"""``xl-fastmoss template``: the dashboard template copied out of the package for its user."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from xl_fastmoss.template_command import TEMPLATE_FILES, template

TEMPLATES = Path(__file__).resolve().parents[1] / "xl_fastmoss" / "templates"


def test_the_template_and_its_module_are_copied_into_the_folder(tmp_path):
    result = CliRunner().invoke(template, ["--output", str(tmp_path / "dashboards")])
    assert result.exit_code == 0, result.output
    for name in TEMPLATE_FILES:
        assert (tmp_path / "dashboards" / name).read_bytes() == (TEMPLATES / name).read_bytes()
        assert f"wrote {tmp_path / 'dashboards' / name}" in result.output


def test_a_workbook_already_there_is_kept_unless_overwrite_is_given(tmp_path):
    mine = tmp_path / "FastMossDashboard.xlsm"
    mine.write_bytes(b"the analyst's own inputs")
    refused = CliRunner().invoke(template, ["--output", str(tmp_path)])
    assert refused.exit_code == 1
    assert refused.output.startswith(f"FastMossError: {mine} exists; choose another --output folder or give "
                                     "--overwrite")
    assert mine.read_bytes() == b"the analyst's own inputs" and not (tmp_path / "FastMossDashboard.py").exists()
    replaced = CliRunner().invoke(template, ["--output", str(tmp_path), "--overwrite"])
    assert replaced.exit_code == 0 and mine.read_bytes() == (TEMPLATES / mine.name).read_bytes()


def test_an_output_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(template, ["--output", str(tmp_path / "file")])
    assert result.exit_code == 1 and "is a file, not a folder" in result.output
