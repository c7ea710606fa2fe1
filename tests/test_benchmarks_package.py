"""The benchmarks package: its registry, its children and its command line, without timing anything."""

import collections
import importlib
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REPORT_ORDER = ["cold_ranking", "cached_table", "identical_in_flight", "same_table_processes", "dashboard_refresh",
                "big_dashboard", "workbook_refresh", "large_values_copy", "writer_cost", "throttled_refresh",
                "throttled_pages", "import_time", "memory", "team", "hostile_answers"]


@pytest.fixture
def scenarios(monkeypatch):
    """The benchmarks.scenarios package, importable however pytest was started."""
    monkeypatch.syspath_prepend(str(REPO))
    return importlib.import_module("benchmarks.scenarios")


def scenario_modules(package):
    return [importlib.import_module(f"{package.__name__}.{info.name}")
            for info in pkgutil.iter_modules(package.__path__)]


def test_registry_lists_every_scenario_module_exactly_once(scenarios):
    modules = scenario_modules(scenarios)
    listed = collections.Counter(scenario.__name__ for scenario in scenarios.SCENARIOS)
    assert listed == collections.Counter(module.__name__ for module in modules)
    assert all(callable(module.run) and module.run.__doc__ for module in modules)


def test_registry_is_in_the_order_of_the_report(scenarios):
    assert [scenarios.scenario_name(s) for s in scenarios.SCENARIOS] == REPORT_ORDER


#: Modules of benchmarks.children that the children import, not programs of their own.
CHILDREN_SHARED = {"watchdog", "resident"}


def test_every_child_a_scenario_names_is_a_module_with_a_main(scenarios):
    named = {value for module in scenario_modules(scenarios) for value in vars(module).values()
             if isinstance(value, str) and value.startswith("benchmarks.children.")}
    children = importlib.import_module("benchmarks.children")
    programs = {f"{children.__name__}.{info.name}" for info in pkgutil.iter_modules(children.__path__)
                if info.name not in CHILDREN_SHARED}
    assert named == programs
    for name in named:
        assert callable(importlib.import_module(name).main), name


def run_benchmarks(*args, program=("-m", "benchmarks")):
    return subprocess.run([sys.executable, *program, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_list_names_every_scenario_in_report_order_and_runs_none():
    done = run_benchmarks("--list")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == REPORT_ORDER
    assert "A 500-row ranking not cached anywhere" in done.stdout
    assert done.stderr == ""  # no scenario started: each logs its name on stderr


def test_only_with_an_unknown_scenario_names_the_allowed_ones():
    done = run_benchmarks("--only", "cold", "--quick")
    assert done.returncode == 2
    assert "argument --only: invalid choice: 'cold'" in done.stderr
    assert "'cold_ranking'" in done.stderr and "'team'" in done.stderr


def test_the_old_script_path_still_runs_the_package():
    done = run_benchmarks("--list", program=("benchmarks/run.py",))
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == REPORT_ORDER
