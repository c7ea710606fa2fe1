"""``xl-fastmoss template --output DIR``: a copy of the dashboard template for a user of the installed package.

The template is package data (``xl_fastmoss/templates``): the workbook and the Python module
named like it, which its buttons import and which must stay beside it. The command is a click
command of its own, registered on the ``xl-fastmoss`` group by :mod:`xl_fastmoss.cli`; it also
runs as ``python -m xl_fastmoss.template_command``.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import click

from .errors import FastMossError
from .files import atomic_write

TEMPLATE_FILES = ("FastMossDashboard.xlsm", "FastMossDashboard.py")


def copy_template(output: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the template workbook and its module into the folder ``output``; returns the files written.

    Refuses (FastMossError, nothing written) when a file of that name is already there, unless
    ``overwrite``: a workbook in use holds the analyst's own inputs.
    """
    targets = [output / name for name in TEMPLATE_FILES]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise FastMossError(f"{existing[0]} exists; choose another --output folder or give --overwrite")
    if output.exists() and not output.is_dir():
        raise FastMossError(f"--output {output} is a file, not a folder")
    output.mkdir(parents=True, exist_ok=True)
    templates = resources.files("xl_fastmoss") / "templates"
    for name, target in zip(TEMPLATE_FILES, targets, strict=True):
        with resources.as_file(templates / name) as source, atomic_write(target) as temporary:
            shutil.copyfile(source, temporary)
    return targets


@click.command("template")
@click.option("--output", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="Folder to copy FastMossDashboard.xlsm and FastMossDashboard.py into.")
@click.option("--overwrite", is_flag=True, help="Replace files of the same names in that folder.")
def template(output: Path, overwrite: bool) -> None:
    """Copy the dashboard workbook and its Python module into a folder."""
    try:
        written = copy_template(output, overwrite=overwrite)
    except FastMossError as error:
        click.echo(f"{type(error).__name__}: {error.message}", err=True)
        raise SystemExit(1) from None
    for path in written:
        click.echo(f"wrote {path}")
    click.echo("Keep the two files together; open the workbook in Excel and click Import Functions once "
               "(xlwings ribbon).")


if __name__ == "__main__":
    template()
