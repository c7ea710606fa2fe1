"""The command: ``python -m tools.build_addin [--output-dir DIR]``."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .names import ADDIN_FILE
from .package_edits import finish_addin
from .quickstart import check_quickstart, quickstart

ROOT = Path(__file__).resolve().parents[2]
ADDIN_DIR = ROOT / "xl_fastmoss" / "addin"


def build_addin(output_dir: Path) -> Path:
    """Run the quickstart in a temporary folder, check its shape, build the add-in in ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / ADDIN_FILE
    with tempfile.TemporaryDirectory(prefix="fastmoss-addin-quickstart-") as folder:
        source = quickstart(Path(folder))
        check_quickstart(source)
        target.write_bytes(finish_addin(source.read_bytes()))
    return target


def main(argv=None) -> int:
    """Build the add-in; 0 once written."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_addin",
        description=f"Build xl_fastmoss/addin/{ADDIN_FILE}: the FastMoss ribbon on xlwings' ribbon add-in.")
    parser.add_argument("--output-dir", type=Path, default=ADDIN_DIR, help="default: xl_fastmoss/addin")
    args = parser.parse_args(argv)
    print(f"wrote {build_addin(args.output_dir)}")
    return 0
