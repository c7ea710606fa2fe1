"""Estimates before spending: what a refresh will cost equals what it then costs, and limits hold."""

import datetime as dt
import shutil
from importlib import resources

import pytest
import time_machine
from click.testing import CliRunner
from openpyxl import Workbook
from test_performance_counts import dashboard_cells

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.cli import main
from xl_fastmoss.estimate import estimate
from xl_fastmoss.fake_server import Fault
from xl_fastmoss.headless import estimate_refresh, refresh_workbook
from xl_fastmoss.query import RankingQuery, TableRequest
from xl_fastmoss.sheets.cells import FmCell
from xl_fastmoss.sheets.plan import plan_refresh

DAY = "2026-04-01"
#: The template's "latest" tables on a morning after FastMoss published 1 April.
MORNING = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.timezone.utc)


def client_of(**overrides):
    return FastMossClient(Settings.load(retry_backoff=0.01, **overrides))


def spend(client, server, requests, *, refresh):
    """The estimate, then the fetch: (estimated calls, rows), (calls, rows) the server and ledger saw."""
    cost = estimate(client, requests, refresh=refresh)
    calls_before, (_, rows_before) = server.call_count, client.ledger.today()
    outcomes = client.fetch_many(requests, refresh=refresh)
    assert not [o for o in outcomes.values() if isinstance(o, Exception)]
    return (cost.calls, cost.rows), (server.call_count - calls_before, client.ledger.today()[1] - rows_before)


def requests_of(cells):
    return plan_refresh(cells).requests


def short_and_deep():
    """A deep ranking, one of 37 shops asked for 500 rows, one of 180 asked for 300."""
    return [TableRequest(RankingQuery.build("most_promoted", "US", 14, "day", DAY), 250),
            TableRequest(RankingQuery.build("most_promoted", "US", 28, "day", DAY), 500),
            TableRequest(RankingQuery.build("most_promoted", "US", 14, "day", DAY, shop_type=1, cross_border=1), 300)]


# -- the estimate equals the spend ------------------------------------------------------------------

@pytest.mark.usefixtures("recent_periods")
@pytest.mark.parametrize("policy", ["full", "exact"])
def test_the_estimate_equals_the_spend_of_a_24_cell_dashboard_in_every_cache_state(fake_env, monkeypatch, policy):
    monkeypatch.setenv("FASTMOSS_PAGE_ROWS", policy)
    requests = requests_of(dashboard_cells())
    with client_of() as client:
        cold = spend(client, fake_env, requests, refresh=True)
        assert cold[0] == cold[1] == (20, 2000 if policy == "full" else 4 * 250 + 8 * 100)
        assert spend(client, fake_env, requests, refresh=False) == ((0, 0), (0, 0))  # tables in memory
    with client_of() as another_process:
        assert spend(another_process, fake_env, requests, refresh=False) == ((0, 0), (0, 0))  # the cache
        again = spend(another_process, fake_env, requests, refresh=True)  # recent periods: asked again
        assert again[0] == again[1] == cold[1]


@pytest.mark.usefixtures("recent_periods")
def test_the_estimate_counts_only_the_tables_not_cached_yet(fake_env):
    cells = dashboard_cells()
    with client_of() as client:
        client.fetch_many(requests_of(cells[:10]))  # the first five boards opened earlier
    with client_of() as client:
        estimated, spent = spend(client, fake_env, requests_of(cells), refresh=False)
    assert estimated == spent and 0 < spent[0] < 20


@pytest.mark.usefixtures("recent_periods")
def test_the_estimate_of_expired_answers_knows_each_rankings_length(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "0.3")
    with client_of() as client:
        first = spend(client, fake_env, short_and_deep(), refresh=False)
    # Never asked before, the short rankings are counted as deep as asked: never less than spent.
    assert first[0][0] == 3 + 5 + 3 and first[1] == (3 + 1 + 2, 300 + 37 + 180)
    import time

    time.sleep(0.4)  # every answer expired; each still tells its ranking's length
    with client_of() as client:
        estimated, spent = spend(client, fake_env, short_and_deep(), refresh=False)
    assert estimated == spent == (6, 517)


def test_final_answers_of_settled_periods_cost_a_refresh_nothing(fake_env):
    with time_machine.travel(MORNING, tick=True):  # 1 April is recent, 14 March settled
        recent = TableRequest(RankingQuery.build("top_selling", "GB", 14, "day", DAY), 150)
        settled = TableRequest(RankingQuery.build("top_selling", "GB", 14, "day", "2026-03-14"), 150)
        with client_of() as client:
            client.fetch_many([recent, settled])
        with client_of() as client:
            estimated, spent = spend(client, fake_env, [recent, settled], refresh=True)
            cost = estimate(client, [recent, settled], refresh=True)
    assert estimated == spent == (2, 200)  # the recent table's two pages only
    assert cost.queries[1].line().endswith("in the cache, 0 calls")


@pytest.mark.parametrize("policy", ["full", "exact"])
def test_the_estimate_of_a_larger_table_counts_what_the_cache_lacks(fake_env, monkeypatch, policy):
    monkeypatch.setenv("FASTMOSS_PAGE_ROWS", policy)
    query = RankingQuery.build("fully_managed", "DE", 14, "week", "2026-14")
    with client_of() as client:
        client.fetch(TableRequest(query, 10))
    with client_of() as client:
        for rows in (25, 150, 310):
            estimated, spent = spend(client, fake_env, [TableRequest(query, rows)], refresh=False)
            assert estimated == spent, rows
    assert sum(c.pagesize for c in fake_env.calls) == (400 if policy == "full" else 310)


def test_an_estimate_makes_no_call_and_writes_nothing_to_the_ledger(fake_env):
    with client_of() as client:
        cost = estimate(client, requests_of(dashboard_cells()))
        assert (cost.calls, client.ledger.today()) == (20, (0, 0))
        assert client.stats.api_calls == client.stats.tables_from_memory == 0
    assert fake_env.call_count == 0


# -- the command line -----------------------------------------------------------------------------------

@pytest.fixture
def template(tmp_path):
    """The template dashboard, as `xl-fastmoss template` copies it."""
    packaged = resources.files("xl_fastmoss") / "templates" / "FastMossDashboard.xlsm"
    with resources.as_file(packaged) as path:
        copied = tmp_path / "FastMossDashboard.xlsm"
        shutil.copyfile(path, copied)
    return copied


@pytest.fixture
def board(tmp_path):
    book = Workbook()
    book.active.title = "Board"
    book.active["A1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",250)'
    book.active["P1"] = '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",10,"fields","rank,name")'
    book.active["A300"] = '=FM_TOPSELLING("GB",3,"week","2026-14")'
    book.active["P300"] = '=FM_TOPSELLING("GB",3,"week","2026-99")'  # no such week: listed, not counted
    path = tmp_path / "Board.xlsx"
    book.save(path)
    return path


def test_dry_run_makes_no_call_and_ends_with_the_calls_and_rows(fake_env, board):
    done = CliRunner().invoke(main, ["refresh", str(board), "--dry-run"], catch_exceptions=False)
    assert done.exit_code == 0 and fake_env.call_count == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "refresh of Board.xlsx would fetch 3 tables, 2 distinct queries (the cache taken into account):"
    assert lines[1] == ("  most_promoted, US, category 14, day 2026-04-01: 250 rows: 3 calls, 300 rows "
                        "(page 1 of 100, page 2 of 100, page 3 of 100; length not known yet: counted as deep "
                        "as asked) [Board!A1, Board!P1]")
    assert lines[3].startswith("  cannot be refreshed: Board!P300: FastMoss: date_value: ")
    assert lines[-1] == "4 calls, 400 rows"
    assert not board.with_name("Board-values.xlsx").exists()


@pytest.mark.usefixtures("recent_periods")
def test_dry_run_of_the_template_equals_the_calls_its_refresh_then_makes(fake_env, template):
    runner = CliRunner()
    with time_machine.travel(MORNING, tick=True):
        dry = runner.invoke(main, ["refresh", str(template), "--dry-run"], catch_exceptions=False)
        calls, _, rows, _ = dry.stdout.splitlines()[-1].split()
        done = runner.invoke(main, ["refresh", str(template)], catch_exceptions=False)
        assert done.exit_code == 0, done.stderr
        assert fake_env.call_count == int(calls) > 0
        with client_of() as client:
            assert client.ledger.today() == (int(calls), int(rows))
        cached = runner.invoke(main, ["refresh", str(template), "--dry-run", "--cached"], catch_exceptions=False)
    assert cached.stdout.splitlines()[-1] == "0 calls, 0 rows"


def book_of(path, *formulas):
    book = Workbook()
    for row, formula in enumerate(formulas):
        book.active.cell(1 + 300 * row, 1, formula)
    book.save(path)
    return path


def test_max_calls_refuses_a_larger_refresh_before_any_call(fake_env, tmp_path):
    board = book_of(tmp_path / "Board.xlsx", '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",250)',
                    '=FM_TOPSELLING("GB",3,"week","2026-14")')
    done = CliRunner().invoke(main, ["refresh", str(board), "--max-calls", "3"])
    assert done.exit_code == 1 and fake_env.call_count == 0
    assert done.stderr.strip() == ("CallLimitExceeded: Board.xlsx: the refresh would make 4 calls (400 rows), "
                                   "more than --max-calls 3 allows; nothing was fetched (--dry-run lists the calls)")
    assert not (tmp_path / "Board-values.xlsx").exists()


def test_max_calls_lets_a_refresh_within_it_run(fake_env, tmp_path):
    small = book_of(tmp_path / "Small.xlsx", '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",250)')
    done = CliRunner().invoke(main, ["refresh", str(small), "--max-calls", "3"])
    assert done.exit_code == 0, done.stderr
    assert fake_env.call_count == 3 and (tmp_path / "Small-values.xlsx").exists()


def test_max_calls_holds_when_retries_would_pass_it(fake_env, tmp_path):
    small = book_of(tmp_path / "Small.xlsx", '=FM_MOSTPROMOTED("US",14,"day","2026-04-01","rows",250)')
    fake_env.inject(Fault.HTTP_STATUS, status=503, times=10)
    with client_of() as client:
        report = refresh_workbook(small, tmp_path / "out.xlsx", client, max_calls=3)
    assert fake_env.call_count == 3 and not report.ok
    assert "made the 3 calls it was allowed (--max-calls 3)" in report.problems[0]
    with client_of() as client:  # the refused 4th call was reserved while waiting, then taken back
        assert len(client.ledger.entries(1)) == 3 and client.ledger.today()[0] == 3


def test_an_estimate_of_a_workbook_lists_every_query_with_the_cells_showing_it(fake_env, board):
    with client_of() as client:
        planned = estimate_refresh(board, client)
    assert [q.rows for q in planned.estimate.queries] == [250, 10]
    assert len(planned.plan.problems) == 1 and planned.estimate.calls == 4


def test_cells_of_one_query_cost_the_pages_of_its_largest_table(fake_env):
    cells = [FmCell("S", "A1", "FM_MOSTPROMOTED", ("US", 14, "day", DAY, "rows", n)) for n in (10, 120, 250, 99)]
    with client_of() as client:
        cost = estimate(client, requests_of(cells))
    assert (cost.calls, cost.rows, len(cost.queries)) == (3, 300, 1)
