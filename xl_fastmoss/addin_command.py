"""``xl-fastmoss addin install | remove | status``: the FastMoss ribbon add-in in Excel's startup folder.

Excel opens every workbook of its user startup folder (XLSTART) when it starts; the add-in
``FastMoss.xlam`` there puts a FastMoss tab on the ribbon of every workbook. The folder is found
as ``xlwings addin install`` finds it (xlwings/cli.py ``get_addin_dir``): Excel's own
``Application.StartupPath``, asked through xlwings, which starts a hidden Excel when none runs,
on Windows and macOS only. ``--startup-dir DIR`` or ``FASTMOSS_XLSTART`` name another folder (a
shared one, or a test's); elsewhere no folder is known and the command says so.

The installed copy carries the Python to run: its config sheet ``myaddin.conf`` (the quickstart's
``PROJECT_NAME``: xlwings' GetConfig reads the add-in's sheet of that name) gets
``Interpreter_Win`` or ``Interpreter_Mac`` set to the Python running this command, the one
xl-fastmoss is installed in, as ``xlwings addin install`` writes it into xlwings.conf.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click
from lxml import etree

from .errors import FastMossError
from .workbook.package import PackageFile, WorkbookError, parse_xml, serialise, write_package

ADDIN_FILE = "FastMoss.xlam"
#: ``Public Const PROJECT_NAME`` of the quickstart add-in's xlwings module (checked by the builder).
PROJECT_NAME = "myaddin"
CONFIG_SHEET = f"{PROJECT_NAME}.conf"
STARTUP_DIR_VARIABLE = "FASTMOSS_XLSTART"
#: What tells an installed copy from the packaged one; the config sheet differs by design.
_CODE_PARTS = ("xl/vbaProject.bin", "customUI/customUI.xml")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def packaged_addin():
    """The add-in shipped in the package (a Traversable; ``resources.as_file`` gives a path)."""
    return resources.files("xl_fastmoss") / "addin" / ADDIN_FILE


def startup_folder(given: Path | None = None) -> Path:
    """The folder to install into: ``given``, else FASTMOSS_XLSTART, else Excel's user XLSTART."""
    if given is not None:
        return given
    if from_environment := os.environ.get(STARTUP_DIR_VARIABLE, "").strip():
        return Path(from_environment)
    if not (sys.platform.startswith("win") or sys.platform == "darwin"):
        raise FastMossError(
            f"no Excel startup folder is known on {sys.platform}: the FastMoss ribbon runs in Excel on Windows "
            f"or macOS. Give --startup-dir DIR (or set {STARTUP_DIR_VARIABLE}) to copy the add-in into a folder")
    from xlwings.cli import get_addin_dir  # Application.StartupPath, as `xlwings addin install` asks it

    try:
        return Path(get_addin_dir())
    except Exception as error:  # no Excel, or it would not start
        raise FastMossError(f"Excel's startup folder could not be asked of Excel ({error}); "
                            "give --startup-dir DIR (Excel: File > Options > Trust Center > Trusted Locations "
                            "lists it as 'User StartUp')") from None


def interpreter_key() -> str:
    """The config key xlwings' RunPython reads the Python from on this platform."""
    return "Interpreter_Mac" if sys.platform == "darwin" else "Interpreter_Win"


def install(folder: Path, interpreter: str | None = None) -> Path:
    """Copy the add-in into ``folder`` with ``interpreter`` (default: this Python) in its config; returns it."""
    interpreter = interpreter or sys.executable
    if not folder.is_dir():
        raise FastMossError(f"the startup folder {folder} does not exist")
    target = folder / ADDIN_FILE
    with resources.as_file(packaged_addin()) as source:
        sheet_part, sheet, shared = _config_sheet(source)
        edited = set_config_value(sheet, shared, interpreter_key(), interpreter)
        try:
            write_package(source, target, {sheet_part: edited})
        except WorkbookError as error:
            raise FastMossError(f"{error}; quit Excel (it keeps its add-ins open) and try again") from None
    return target


def remove(folder: Path) -> Path:
    """Delete the add-in from ``folder``; returns where it was."""
    target = folder / ADDIN_FILE
    try:
        target.unlink()
    except FileNotFoundError:
        raise FastMossError(f"the FastMoss add-in is not installed in {folder}") from None
    except PermissionError:
        raise FastMossError(f"{target} cannot be deleted: quit Excel (it keeps its add-ins open) "
                            "and try again") from None
    return target


@dataclass(frozen=True)
class AddinStatus:
    """What ``xl-fastmoss addin status`` says about one folder."""

    path: Path
    installed: bool
    current: bool = False
    interpreter: str | None = None

    def lines(self) -> list[str]:
        if not self.installed:
            return [f"The FastMoss add-in is not installed; `xl-fastmoss addin install` puts it at {self.path}"]
        lines = [f"The FastMoss add-in is installed at {self.path}"]
        lines.append("It is the add-in of this xl-fastmoss." if self.current else
                     "It is from another xl-fastmoss: run `xl-fastmoss addin install` to replace it.")
        lines.append(f"Its buttons run Python {self.interpreter}" if self.interpreter else
                     "Its buttons run the `python` found on PATH (no interpreter set).")
        return lines


def status(folder: Path) -> AddinStatus:
    """Whether the add-in is in ``folder``, whether it is this package's, and the Python it runs."""
    target = folder / ADDIN_FILE
    if not target.is_file():
        return AddinStatus(target, installed=False)
    try:
        with PackageFile(target) as installed, resources.as_file(packaged_addin()) as source, \
                PackageFile(source) as packaged:
            current = all(installed.part(p) is not None and installed.read(p) == packaged.read(p) for p in _CODE_PARTS)
        _, sheet, shared = _config_sheet(target)
    except WorkbookError as error:
        raise FastMossError(f"{target} is not a FastMoss add-in that can be read ({error})") from None
    return AddinStatus(target, installed=True, current=current,
                       interpreter=config_value(sheet, shared, interpreter_key()))


# -- the add-in's config sheet ---------------------------------------------------------------------

def _config_sheet(path: Path) -> tuple[str, bytes, list[str]]:
    """(part name, XML) of the add-in's config sheet, and the workbook's shared strings."""
    with PackageFile(path) as package:
        workbook = package.office_document()
        rels = package.relationships(workbook)
        for sheet in parse_xml(package.read(workbook)).iter(f"{{{_NS}}}sheet"):
            if sheet.get("name") == CONFIG_SHEET:
                part = rels[sheet.get(f"{{{_REL_NS}}}id", "")].target
                return part, package.read(part), _shared_strings(package)
    raise FastMossError(f"{path} has no sheet {CONFIG_SHEET}: it is not the FastMoss add-in")


def _key_rows(sheet: bytes, shared: list[str]):
    """``(sheet root, row, key)`` for each key in column A (the quickstart's are shared strings)."""
    root = parse_xml(sheet)
    for row in root.iter(f"{{{_NS}}}row"):
        for cell in row:
            if cell.get("r", "").rstrip("0123456789") != "A":
                continue
            yield root, row, _cell_text(cell, shared)


def _cell_text(cell, shared: list[str]) -> str | None:
    if cell.get("t") == "inlineStr":
        return "".join(str(text) for text in cell.itertext())
    value = cell.find(f"{{{_NS}}}v")
    if value is None or value.text is None:
        return None
    if cell.get("t") == "s":
        index = int(value.text) if value.text.isdigit() else -1
        return shared[index] if 0 <= index < len(shared) else None
    return value.text


def _shared_strings(package: PackageFile) -> list[str]:
    name = "xl/sharedStrings.xml"
    if package.part(name) is None:
        return []
    return ["".join(str(text) for text in si.itertext()) for si in parse_xml(package.read(name)).iter(f"{{{_NS}}}si")]


def set_config_value(sheet: bytes, shared: list[str], key: str, value: str) -> bytes:
    """The config sheet with ``value`` (an inline string) in column B of the row whose column A is ``key``."""
    for root, row, text in _key_rows(sheet, shared):
        if text is not None and text.upper() == key.upper():
            _put_inline(row, f"B{row.get('r')}", value)
            return serialise(root, sheet)
    raise FastMossError(f"the add-in's {CONFIG_SHEET} sheet has no row {key}")


def config_value(sheet: bytes, shared: list[str], key: str) -> str | None:
    """Column B of the row ``key`` of the config sheet, None when empty or missing."""
    for _, row, text in _key_rows(sheet, shared):
        if text is not None and text.upper() == key.upper():
            cell = next((c for c in row if c.get("r") == f"B{row.get('r')}"), None)
            return (_cell_text(cell, shared) or None) if cell is not None else None
    return None


def _put_inline(row, ref: str, value: str) -> None:
    for cell in list(row):
        if cell.get("r") == ref:
            row.remove(cell)
    cell = etree.Element(f"{{{_NS}}}c", r=ref, t="inlineStr")
    first = next(iter(row), None)
    style = first.get("s") if first is not None else None
    if style:
        cell.set("s", style)
    etree.SubElement(etree.SubElement(cell, f"{{{_NS}}}is"), f"{{{_NS}}}t").text = value
    following = [c for c in row if c.get("r", "").rstrip("0123456789") > "B"]
    if following:
        following[0].addprevious(cell)
    else:
        row.append(cell)
    if row.get("spans"):
        row.set("spans", f"1:{max(2, int(row.get('spans').split(':')[1]))}")


# -- the command -----------------------------------------------------------------------------------

_STARTUP_DIR = click.option(
    "--startup-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=f"The folder Excel opens add-ins from (default: ${STARTUP_DIR_VARIABLE}, else Excel's user XLSTART).")


def _fail(error: FastMossError):
    click.echo(f"{type(error).__name__}: {error.message}", err=True)
    raise SystemExit(1)


@click.group("addin")
def addin() -> None:
    """The FastMoss ribbon for Excel: a FastMoss tab on every workbook."""


@addin.command("install")
@_STARTUP_DIR
@click.option("--interpreter", default=None, help="The Python the buttons run (default: this one).")
def install_command(startup_dir: Path | None, interpreter: str | None) -> None:
    """Copy FastMoss.xlam into Excel's startup folder."""
    try:
        target = install(startup_folder(startup_dir), interpreter)
    except FastMossError as error:
        _fail(error)
    click.echo(f"installed {target}")
    click.echo(f"Its buttons run Python {interpreter or sys.executable}. Restart Excel: every workbook then has "
               "a FastMoss tab.")


@addin.command("remove")
@_STARTUP_DIR
def remove_command(startup_dir: Path | None) -> None:
    """Delete FastMoss.xlam from Excel's startup folder."""
    try:
        target = remove(startup_folder(startup_dir))
    except FastMossError as error:
        _fail(error)
    click.echo(f"removed {target}; the FastMoss tab is gone when Excel restarts")


@addin.command("status")
@_STARTUP_DIR
def status_command(startup_dir: Path | None) -> None:
    """Say whether FastMoss.xlam is installed, whether it is this version's, and the Python it runs."""
    try:
        found = status(startup_folder(startup_dir))
    except FastMossError as error:
        _fail(error)
    for line in found.lines():
        click.echo(line)


if __name__ == "__main__":
    addin()
