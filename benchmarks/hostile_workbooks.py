"""How fast and how small `xl-fastmoss refresh` refuses a zip bomb, and what a values copy's formulas cost.

    python -m benchmarks.hostile_workbooks

Not a scenario of the report (it makes no API call worth counting): it prints, for a workbook of
a few MB whose sheet decompresses to 3.2 GB (declaring its true size, and declaring 1 KB), the
wall time and peak RSS of a child process running the refresh; then the time of the template's
values copy with and without the formula engine's first load. The tests assert the outcome (one
line, under 300 MB); the times are reported here only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from hostile_packages import bomb_entry, workbook  # noqa: E402

#: Peak RSS survives exec on Linux, so the refresh runs as the child of this small process.
CHILD = """
import resource, subprocess, sys
refresh = "import sys; from xl_fastmoss.cli import main; main(sys.argv[1:])"
done = subprocess.run([sys.executable, "-c", refresh, "refresh", sys.argv[1], "--output", sys.argv[2]],
                      capture_output=True, text=True)
sys.stderr.write(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
"""

TEMPLATE_CHILD = """
import sys, time
from pathlib import Path
from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.fake_server import FAKE_API_KEY, FakeFastMoss
from xl_fastmoss.headless import refresh_workbook
with FakeFastMoss() as server:
    settings = Settings(api_key=FAKE_API_KEY, base_url=server.base_url, cache_dir=Path(sys.argv[2]))
    with FastMossClient(settings) as client:
        for output in (sys.argv[1] + "/first.xlsx", sys.argv[1] + "/second.xlsx"):
            start = time.perf_counter()
            assert refresh_workbook(sys.argv[3], output, client, refresh=False).ok
            print(f"{time.perf_counter() - start:.2f}")
"""


def main() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), FASTMOSS_API_KEY="bench-key",
               FASTMOSS_BASE_URL="http://127.0.0.1:9")
    with tempfile.TemporaryDirectory(prefix="xl-fastmoss-hostile-") as folder:
        for kind, declared in (("true size declared", None), ("1 KB declared", 1024)):
            book = Path(folder) / "bomb.xlsx"
            workbook(book, bomb_entry("xl/worksheets/sheet1.xml", 3_200_000_000, declared=declared))
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", CHILD, str(book), str(Path(folder) / "out.xlsx")],
                                  env=env, capture_output=True, text=True, timeout=120)
            seconds = time.perf_counter() - start
            peak, code = done.stdout.split()
            print(f"zip bomb, {kind}: {book.stat().st_size / 1e6:.1f} MB file, refused in {seconds:.2f} s "
                  f"(a whole process, Python start included), peak RSS {int(peak) / 1024:.0f} MiB, exit {code}: "
                  f"{done.stderr.strip()[:110]}...")
        template = REPO / "xl_fastmoss" / "templates" / "FastMossDashboard.xlsm"
        done = subprocess.run([sys.executable, "-c", TEMPLATE_CHILD, folder, str(Path(folder) / "cache"),
                               str(template)], env=env, capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise SystemExit(done.stderr)
        first, second = done.stdout.split()
        print(f"template values copy (11 tables, 10 other formulas computed): first {first} s in a process "
              f"(the formula engine loads numpy and scipy), then {second} s")


if __name__ == "__main__":
    main()
