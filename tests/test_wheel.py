"""The package as a user installs it: a wheel built from the sources, installed (not editable) into a
fresh virtualenv, run from an empty folder. Nothing of the source tree is on that Python's path.

pip builds the wheel and installs the dependencies from the package index, so this needs the
network that pip uses; without it the test is skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "xl_fastmoss" / "templates"
INDEX_HOST = "pypi.org"
SOURCE_IGNORED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                        "demo-output", "out", ".hypothesis")


def _run(command: list, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtualenv with the wheel built from a copy of the sources; yields its bin folder."""
    try:
        socket.create_connection((INDEX_HOST, 443), timeout=5).close()
    except OSError as error:
        pytest.skip(f"no network for pip ({INDEX_HOST}:443 unreachable: {error}); the wheel test installs "
                    "the dependencies from the package index")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORED)  # a stale build/ folder must not leak into the wheel
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source], cwd=work)
    (wheel,) = (work / "dist").glob("xl_fastmoss-*.whl")
    _run([sys.executable, "-m", "venv", work / "venv"], cwd=work)
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    _run([bin_dir / "python", "-m", "pip", "install", "-q", wheel], cwd=work)
    yield bin_dir


def test_the_installed_package_is_the_wheel_not_the_source_tree(installed, tmp_path):
    where = _run([installed / "python", "-c", "import xl_fastmoss; print(xl_fastmoss.__file__)"], cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)


def test_the_demo_of_the_installed_package_refreshes_the_template(installed, tmp_path):
    done = _run([installed / "xl-fastmoss", "demo"], cwd=tmp_path)
    assert "No template workbooks found" not in done.stdout
    assert "FastMossDashboard" in done.stdout, done.stdout
    written = sorted(p.name for p in (tmp_path / "demo-output").iterdir())
    assert written and all(name.startswith("FastMossDashboard-values.") for name in written), written


def test_the_installed_package_copies_the_template_for_its_user(installed, tmp_path):
    _run([installed / "python", "-m", "xl_fastmoss.template_command", "--output", "mine"], cwd=tmp_path)
    for name in ("FastMossDashboard.xlsm", "FastMossDashboard.py"):
        assert (tmp_path / "mine" / name).read_bytes() == (TEMPLATES / name).read_bytes(), name


def test_the_installed_package_pins_the_xlwings_its_template_embeds(installed, tmp_path):
    code = ("import importlib.metadata as m; print(m.version('xlwings')); "
            "print([r for r in m.requires('xl-fastmoss') if r.startswith('xlwings')])")
    version, requirement = _run([installed / "python", "-c", code], cwd=tmp_path).stdout.split("\n")[:2]
    assert requirement == f"['xlwings=={version}']"


def test_the_installed_package_installs_its_ribbon_add_in(installed, tmp_path):
    startup = tmp_path / "XLSTART"
    startup.mkdir()
    _run([installed / "xl-fastmoss", "addin", "install", "--startup-dir", startup], cwd=tmp_path)
    copied = startup / "FastMoss.xlam"
    packaged = ROOT / "xl_fastmoss" / "addin" / "FastMoss.xlam"
    import zipfile

    with zipfile.ZipFile(copied) as ours, zipfile.ZipFile(packaged) as source:
        assert ours.read("xl/vbaProject.bin") == source.read("xl/vbaProject.bin")
        assert ours.read("customUI/customUI.xml") == source.read("customUI/customUI.xml")
    status = _run([installed / "xl-fastmoss", "addin", "status", "--startup-dir", startup], cwd=tmp_path).stdout
    assert "It is the add-in of this xl-fastmoss." in status and str(installed) in status
