"""The command: ``python -m tools.build_template [--output-dir DIR]``."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .names import BOOK_FILE
from .quickstart import check_quickstart_vba, quickstart
from .workbook import build_workbook

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "xl_fastmoss" / "templates"


def build_template(output_dir: Path) -> Path:
    """Run the quickstart in a temporary folder, check its VBA, build the template in ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / BOOK_FILE
    with tempfile.TemporaryDirectory(prefix="fastmoss-quickstart-") as folder:
        source = quickstart(Path(folder))
        check_quickstart_vba(source)
        build_workbook(source, target)
    return target


def main(argv=None) -> int:
    """Build the template; 0 once written."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_template",
        description=f"Build xl_fastmoss/templates/{BOOK_FILE}: the dashboards on xlwings' standalone workbook.")
    parser.add_argument("--output-dir", type=Path, default=TEMPLATES, help="default: xl_fastmoss/templates")
    args = parser.parse_args(argv)
    print(f"wrote {build_template(args.output_dir)}")
    return 0
