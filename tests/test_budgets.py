"""Daily budgets of calls and rows: checked before a call, exact at the boundary, across processes."""

import os
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.cli import main
from xl_fastmoss.errors import BudgetExceeded, ConfigurationError
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.query import RankingQuery, TableRequest

DAY = "2026-04-01"


def client_of(**overrides):
    return FastMossClient(Settings.load(retry_backoff=0.01, **overrides))


def one_page(category, rows=10, region="US"):
    return TableRequest(RankingQuery.build("most_promoted", region, category, "day", DAY), rows)


# -- calls ------------------------------------------------------------------------------------------

def test_a_calls_budget_allows_exactly_its_calls_and_refuses_the_next_before_it_is_made(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "3")
    with client_of() as client:
        for category in (1, 2, 3):
            client.fetch(one_page(category))
        with pytest.raises(BudgetExceeded) as refused:
            client.fetch(one_page(4))
        assert client.ledger.today() == (3, 300)
    assert fake_env.call_count == 3  # the fourth never reached the server
    assert refused.value.message.startswith(
        "the daily budget of 3 calls is used up (3 calls on ")
    assert "Raise it with `xl-fastmoss config --daily-calls N` or FASTMOSS_DAILY_CALLS" in refused.value.message
    assert "answers already cached are still served" in refused.value.message


def test_a_refused_call_is_never_retried(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "1")
    fake_env.inject(Fault.HTTP_STATUS, status=503, times=1)
    with client_of() as client, pytest.raises(BudgetExceeded):
        client.fetch(one_page(5))  # the 503 took the budget's one call: its retry is refused, once
    assert fake_env.call_count == 1
    assert [c.status for c in fake_env.calls] == [503]


def test_answers_already_cached_are_still_served_past_the_budget(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "2")
    with client_of() as client:
        kept = client.fetch(one_page(6, rows=150))
    with client_of() as another_process:
        again = another_process.fetch(one_page(6, rows=150))
        with pytest.raises(BudgetExceeded):
            another_process.fetch(one_page(7))
    assert again.from_cache and again.frame.equals(kept.frame)
    assert fake_env.call_count == 2


@pytest.mark.usefixtures("recent_periods")
def test_a_refused_refresh_shows_the_cached_copy_marked_stale(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "1")
    with client_of() as client:
        kept = client.fetch(one_page(8))
        shown = client.fetch(one_page(8), refresh=True)
    assert shown.stale and shown.frame.equals(kept.frame)
    assert shown.stale_reason.startswith("the daily budget of 1 calls is used up")


def test_a_cell_past_the_budget_is_one_cell_naming_the_budget(fake_env, monkeypatch):
    import xl_fastmoss.udfs as udfs

    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "1")
    assert len(udfs.FM_MOSTPROMOTED("US", 9, "day", DAY)) == 11
    shown = udfs.FM_MOSTPROMOTED("US", 10, "day", DAY)
    assert len(shown) == 1 and shown[0][0].startswith("FastMoss: the daily budget of 1 calls is used up")
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert (status["API calls today"], status["Calls left today"]) == (1, "none (1 used of 1)")
    assert fake_env.call_count == 1


def test_the_command_line_past_the_budget_exits_1_naming_the_budget(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "0")
    done = CliRunner().invoke(main, ["most-promoted", "US", "11", "day", DAY])
    assert done.exit_code == 1
    assert done.stderr.startswith("BudgetExceeded: the daily budget of 0 calls is used up")
    assert fake_env.call_count == 0


# -- rows -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("budget, calls", [(300, 3), (299, 2), (250, 2), (99, 0)])
def test_a_rows_budget_reserves_each_page_size_before_the_call(fake_env, monkeypatch, budget, calls):
    monkeypatch.setenv("FASTMOSS_DAILY_ROWS", str(budget))
    with client_of() as client:
        made = 0
        for category in range(1, 6):
            try:
                client.fetch(one_page(category))
                made += 1
            except BudgetExceeded as refused:
                assert refused.budget == "rows" and f"daily budget of {budget:,} rows" in refused.message
                assert "--daily-rows N` or FASTMOSS_DAILY_ROWS" in refused.message
    assert made == fake_env.call_count == calls


def test_a_rows_reservation_is_corrected_to_the_rows_received(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_ROWS", "137")
    with client_of() as client:
        client.fetch(one_page(28, rows=500))  # Pre-Owned: 37 shops; 100 reserved, 37 kept
        client.fetch(one_page(12))            # 37 + 100 = 137: exactly the budget
        with pytest.raises(BudgetExceeded):
            client.fetch(one_page(13))
        assert client.ledger.today() == (2, 137)
    assert fake_env.call_count == 2


def test_exact_pages_fit_a_rows_budget_a_full_page_would_not(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_ROWS", "30")
    monkeypatch.setenv("FASTMOSS_PAGE_ROWS", "exact")
    with client_of() as client:
        for category in (15, 16, 17):
            assert len(client.fetch(one_page(category)).frame) == 10
        with pytest.raises(BudgetExceeded):
            client.fetch(one_page(18))
    assert [c.pagesize for c in fake_env.calls] == [10, 10, 10]


# -- settings ---------------------------------------------------------------------------------------

def test_budgets_are_set_and_removed_with_config(fake_env):
    runner = CliRunner()
    shown = runner.invoke(main, ["config", "--daily-calls", "200", "--daily-rows", "15000"], catch_exceptions=False)
    assert "daily_calls: 200" in shown.stdout and "daily_rows: 15000" in shown.stdout
    assert (Settings.load().daily_calls, Settings.load().daily_rows) == (200, 15000)
    runner.invoke(main, ["config", "--daily-calls", ""], catch_exceptions=False)
    assert Settings.load().daily_calls is None and Settings.load().daily_rows == 15000


@pytest.mark.parametrize("value", ["-1", "2.5", "nan", "lots"])
def test_a_budget_that_cannot_work_is_refused_and_not_stored(fake_env, value):
    done = CliRunner().invoke(main, ["config", "--daily-calls", value])
    assert done.exit_code == 1 and done.stderr.startswith("ConfigurationError: FASTMOSS_DAILY_CALLS must be")
    assert Settings.load().daily_calls is None


def test_a_budget_in_the_environment_that_cannot_work_costs_no_call(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_ROWS", "1e99")
    with pytest.raises(ConfigurationError, match="FASTMOSS_DAILY_ROWS must be a whole number from 0 to 1e"):
        Settings.load()


# -- across processes ------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from xl_fastmoss import FastMossClient
    from xl_fastmoss.errors import BudgetExceeded
    from xl_fastmoss.query import RankingQuery, TableRequest

    go, ready, categories = Path(sys.argv[1]), Path(sys.argv[2]), [int(c) for c in sys.argv[3].split(",")]
    requests = [TableRequest(RankingQuery.build("most_promoted", sys.argv[4], c, "day", "2026-04-01"), 10)
                for c in categories]
    with FastMossClient() as client:
        ready.touch()
        while not go.exists():
            time.sleep(0.001)
        outcomes = client.fetch_many(requests).values()
    print(sum(isinstance(o, BudgetExceeded) for o in outcomes), sum(not isinstance(o, Exception) for o in outcomes))
""")


def run_together(tmp_path, children, env=None):
    """Start child processes, each fetching its categories, and release them at the same moment.

    ``children`` is a list of (categories, region, cache folder); returns each child's
    (refused, fetched) counts.
    """
    go = tmp_path / "go"
    processes = []
    for number, (categories, region, cache_dir) in enumerate(children):
        ready = tmp_path / f"ready-{number}"
        child_env = {**os.environ, **(env or {}), "FASTMOSS_CACHE_DIR": str(cache_dir)}
        processes.append((ready, subprocess.Popen(
            [sys.executable, "-c", CHILD, str(go), str(ready), ",".join(map(str, categories)), region],
            env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _ in processes):
        assert time.monotonic() < deadline, [p.stderr.read() for _, p in processes if p.poll() is not None]
        time.sleep(0.01)
    go.touch()
    counts = []
    for _, process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        counts.append(tuple(int(n) for n in out.split()))
    return counts


def test_a_budget_holds_across_processes_released_together(fake_env, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "7")
    fake_env.latency = 0.05  # the calls overlap
    cache = tmp_path / "cache"
    counts = run_together(tmp_path, [(range(1 + 4 * n, 5 + 4 * n), "US", cache) for n in range(4)])
    assert sum(fetched for _, fetched in counts) == fake_env.call_count == 7
    assert sum(refused for refused, _ in counts) == 16 - 7
    with client_of() as client:
        assert client.ledger.today() == (7, 700)


def test_a_rows_budget_holds_across_processes_released_together(fake_env, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_ROWS", "550")  # five pages of 100; a sixth would pass it
    fake_env.latency = 0.05
    cache = tmp_path / "cache"
    counts = run_together(tmp_path, [(range(1 + 3 * n, 4 + 3 * n), "GB", cache) for n in range(3)])
    assert sum(fetched for _, fetched in counts) == fake_env.call_count == 5
