"""What a scenario runs in: the fake server, fresh cache folders, child processes, timing, RT.

``Bench`` is handed to every scenario's ``run``; the scenario appends its rows and notes to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.naive import naive_fetch
from benchmarks.report import Row
from benchmarks.tables import Table
from xl_fastmoss.client import reset_default_client
from xl_fastmoss.fake_server import FAKE_API_KEY, FakeFastMoss

#: The repository: child processes find the benchmarks package (and xl_fastmoss) from here.
REPO = Path(__file__).resolve().parent.parent
#: How long a child process may take before the run gives up on it.
CHILD_TIMEOUT_S = 120


@dataclass
class Bench:
    """The fake server of this run, its latency, and the rows and notes collected so far."""

    server: FakeFastMoss
    latency: float
    quick: bool
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def rt(self, seconds: float) -> float:
        """``seconds`` in round trips: divided by the server's latency."""
        return seconds / self.latency

    @contextlib.contextmanager
    def fresh_env(self) -> Iterator[Path]:
        """A new cache and config folder, the default client forgotten, the call log empty."""
        with tempfile.TemporaryDirectory(prefix="xl-fastmoss-bench-") as folder:
            os.environ["FASTMOSS_CACHE_DIR"] = str(Path(folder) / "cache")
            os.environ["FASTMOSS_CONFIG_DIR"] = str(Path(folder) / "config")
            reset_default_client()
            self.server.clear_faults()
            self.server.latency = self.latency
            self.server.reset_calls()
            try:
                yield Path(folder)
            finally:
                reset_default_client()
                self.server.clear_faults()
                self.server.latency = self.latency

    def warm_server(self, tables: Iterable[Table]) -> None:
        """Let the fake build its rankings before timing: the vendor's compute is not ours to bill."""
        self.server.latency = 0
        for table in tables:
            naive_fetch(self.base_url, table, 1)
        self.server.latency = self.latency
        self.server.reset_calls()

    def child(self, module: str, *args: str, check: bool = True) -> tuple[float, dict | str]:
        """Run ``python -m module args`` with this run's environment; its last line of stdout is JSON.

        Gives the seconds the process took and that JSON. With ``check=False`` a failed child
        gives its stderr instead of raising.
        """
        seconds, done = timed(lambda: subprocess.run(
            [sys.executable, "-m", module, *args], env=child_environment(), capture_output=True,
            text=True, timeout=CHILD_TIMEOUT_S, check=False))
        if done.returncode != 0:
            if not check:
                return seconds, done.stderr
            raise RuntimeError(f"child {module} failed:\n{done.stderr}")
        return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def child_environment() -> dict[str, str]:
    """This process's environment, with the repository first on the child's PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    return env


@contextlib.contextmanager
def open_bench(latency: float, quick: bool) -> Iterator[Bench]:
    """Start the fake server and point this process (and its children) at it, nothing else."""
    for name in [n for n in os.environ if n.startswith("FASTMOSS_")]:
        del os.environ[name]  # a developer's own settings must not change the figures
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ["FASTMOSS_API_KEY"] = FAKE_API_KEY
    with FakeFastMoss() as server:
        os.environ["FASTMOSS_BASE_URL"] = server.base_url
        yield Bench(server, latency, quick)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    """Call ``action``; the seconds it took and what it returned."""
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


class Deadlock(Exception):
    """An action did not return in time; its threads are left behind."""


def guarded(action: Callable[[], object], seconds: float) -> object:
    """Run ``action`` in a daemon thread; raise Deadlock when it has not returned in ``seconds``."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = action()
        except Exception as error:  # noqa: BLE001 -- raised again in the caller's thread below
            outcome["error"] = error
    worker = threading.Thread(target=run, daemon=True, name="bench-guarded")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        frames = sys._current_frames()
        stuck = "".join(traceback.format_stack(frames[worker.ident])[-4:])
        raise Deadlock(f"no answer after {seconds:.0f} s; stuck at:\n{stuck}")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def log(message: str) -> None:
    """A progress line on stderr (stdout carries the report)."""
    print(message, file=sys.stderr, flush=True)
