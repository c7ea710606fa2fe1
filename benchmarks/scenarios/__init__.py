"""One module per scenario, each with ``run(bench)`` appending its rows and notes; SCENARIOS in report order."""

from __future__ import annotations

from types import ModuleType

from benchmarks.scenarios import (
    big_dashboard,
    cached_table,
    cold_ranking,
    dashboard_refresh,
    hostile_answers,
    identical_in_flight,
    import_time,
    large_values_copy,
    memory,
    same_table_processes,
    team,
    throttled_pages,
    throttled_refresh,
    workbook_refresh,
    writer_cost,
)

#: Every scenario, in the order of the report's table.
SCENARIOS: tuple[ModuleType, ...] = (
    cold_ranking,
    cached_table,
    identical_in_flight,
    same_table_processes,
    dashboard_refresh,
    big_dashboard,
    workbook_refresh,
    large_values_copy,
    writer_cost,
    throttled_refresh,
    throttled_pages,
    import_time,
    memory,
    team,
    hostile_answers,
)


def scenario_name(scenario: ModuleType) -> str:
    """The name --only and --list use: the module's own name."""
    return scenario.__name__.rsplit(".", 1)[-1]


def scenario_summary(scenario: ModuleType) -> str:
    """What the scenario measures: the first line of its run's docstring."""
    return scenario.run.__doc__.splitlines()[0]


def scenarios_named(names: list[str] | None) -> list[ModuleType]:
    """The scenarios of ``names`` (all when None), in report order whatever the order given."""
    return [s for s in SCENARIOS if names is None or scenario_name(s) in names]
