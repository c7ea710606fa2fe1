"""``xl-fastmoss addin install | remove | status``, run in-process through the command group."""

from __future__ import annotations

import sys
import zipfile

import pytest
from click.testing import CliRunner

from xl_fastmoss import addin_command
from xl_fastmoss.addin_command import ADDIN_FILE, STARTUP_DIR_VARIABLE, packaged_addin
from xl_fastmoss.cli import main


def run(*args):
    return CliRunner().invoke(main, ["addin", *args])


def installed_interpreter(path) -> str | None:
    part, sheet, shared = addin_command._config_sheet(path)
    return addin_command.config_value(sheet, shared, addin_command.interpreter_key())


@pytest.fixture
def startup(tmp_path):
    folder = tmp_path / "XLSTART"
    folder.mkdir()
    return folder


def test_install_copies_the_add_in_with_this_python_named_in_it(startup):
    done = run("install", "--startup-dir", str(startup))
    assert done.exit_code == 0, done.output
    target = startup / ADDIN_FILE
    assert done.output.splitlines()[0] == f"installed {target}"
    assert installed_interpreter(target) == sys.executable
    assert installed_interpreter(target) is not None and installed_interpreter(packaged_addin()) is None
    with zipfile.ZipFile(target) as ours, zipfile.ZipFile(packaged_addin()) as packaged:
        differ = [n for n in packaged.namelist() if ours.read(n) != packaged.read(n)]
    assert differ == ["xl/worksheets/sheet1.xml"]  # the config sheet only


def test_install_takes_the_folder_from_the_environment_and_another_interpreter(startup, monkeypatch):
    monkeypatch.setenv(STARTUP_DIR_VARIABLE, str(startup))
    done = run("install", "--interpreter", r"C:\Python311\python.exe")
    assert done.exit_code == 0, done.output
    assert installed_interpreter(startup / ADDIN_FILE) == r"C:\Python311\python.exe"


def test_install_again_replaces_the_copy(startup):
    (startup / ADDIN_FILE).write_bytes(b"an older add-in")
    assert run("install", "--startup-dir", str(startup)).exit_code == 0
    assert installed_interpreter(startup / ADDIN_FILE) == sys.executable


def test_status_says_what_is_installed(startup):
    done = run("status", "--startup-dir", str(startup))
    assert done.exit_code == 0
    assert done.output == (f"The FastMoss add-in is not installed; `xl-fastmoss addin install` puts it at "
                           f"{startup / ADDIN_FILE}\n")
    run("install", "--startup-dir", str(startup))
    assert run("status", "--startup-dir", str(startup)).output.splitlines() == [
        f"The FastMoss add-in is installed at {startup / ADDIN_FILE}",
        "It is the add-in of this xl-fastmoss.",
        f"Its buttons run Python {sys.executable}",
    ]


def test_status_tells_an_add_in_of_another_version(startup):
    from package_helpers import rewrite_zip

    run("install", "--startup-dir", str(startup))
    rewrite_zip(startup / ADDIN_FILE, {"customUI/customUI.xml": lambda data: data.replace(b"Usage", b"Use", 1)})
    assert "It is from another xl-fastmoss: run `xl-fastmoss addin install` to replace it." in run(
        "status", "--startup-dir", str(startup)).output


def test_remove_deletes_the_add_in_and_says_when_there_is_none(startup):
    run("install", "--startup-dir", str(startup))
    done = run("remove", "--startup-dir", str(startup))
    assert done.exit_code == 0 and not (startup / ADDIN_FILE).exists()
    again = run("remove", "--startup-dir", str(startup))
    assert again.exit_code == 1
    assert again.output == f"FastMossError: the FastMoss add-in is not installed in {startup}\n"


def test_a_missing_folder_is_refused_and_nothing_written(tmp_path):
    done = run("install", "--startup-dir", str(tmp_path / "nowhere"))
    assert done.exit_code == 1
    assert done.output == f"FastMossError: the startup folder {tmp_path / 'nowhere'} does not exist\n"
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("command", ["install", "remove", "status"])
def test_off_windows_and_macos_no_folder_is_guessed(command, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    done = run(command)
    assert done.exit_code == 1
    assert done.output.startswith("FastMossError: no Excel startup folder is known on linux: the FastMoss ribbon "
                                  "runs in Excel on Windows or macOS. Give --startup-dir DIR")
    assert "Traceback" not in done.output


def test_on_windows_the_folder_is_excels_own_startup_path(monkeypatch, tmp_path):
    """As `xlwings addin install`: xlwings.cli.get_addin_dir, Application.StartupPath of a (hidden) Excel."""
    import xlwings.cli

    monkeypatch.setattr(sys, "platform", "win32")
    asked = []
    monkeypatch.setattr(xlwings.cli, "get_addin_dir", lambda: asked.append(True) or str(tmp_path))
    assert addin_command.startup_folder() == tmp_path and asked
    assert addin_command.interpreter_key() == "Interpreter_Win"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert addin_command.interpreter_key() == "Interpreter_Mac"
