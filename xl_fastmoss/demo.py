"""The demo: the main job end to end on an embedded fake server, with no key and no network."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from . import export
from .client import FastMossClient
from .settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def run_demo(output: Path, echo: Callable[[str], None] = print) -> list[Path]:
    """Print a ranking and write refreshed values copies of the template workbooks into ``output``.

    Returns the files written. The user's key, cache and base URL are not used.
    """
    from .fake_server import FAKE_API_KEY, FakeFastMoss
    from .headless import refresh_workbook

    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with FakeFastMoss() as server, tempfile.TemporaryDirectory(prefix="xl-fastmoss-demo-") as cache:
        settings = Settings(api_key=FAKE_API_KEY, base_url=server.base_url, cache_dir=Path(cache))
        with FastMossClient(settings) as client:
            echo(f"Fake FastMoss server on {server.base_url} (loopback only, no key needed)\n")
            result = client.most_promoted("US", 14, "day", "2026-04-01", rows=10)
            echo(export.as_text(result) + "\n")
            templates = sorted(TEMPLATES_DIR.glob("*.xls[xm]")) if TEMPLATES_DIR.is_dir() else []
            if not templates:
                echo(f"No template workbooks found in {TEMPLATES_DIR}; skipped the workbook refresh.")
            for template in templates:
                # A copy for colleagues without the add-in: an .xlsx, so it holds no macros.
                target = output / f"{template.stem}-values.xlsx"
                report = refresh_workbook(template, target, client, refresh=True)
                for line in report.lines():
                    echo(line)
                if report.ok:
                    written.append(target)
            echo(f"\n{server.call_count} calls to the fake API; open the files in {output} with Excel or LibreOffice.")
    return written
