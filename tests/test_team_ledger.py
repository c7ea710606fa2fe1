"""The team's ledger and budgets on the team cache's Redis: one count for every machine."""

import datetime as dt

import pytest
import redis
import test_team_cache
from test_budgets import run_together
from test_team_cache import OVERSIZED, machine, sent_by

from xl_fastmoss.errors import BudgetExceeded
from xl_fastmoss.ledger import local_day

DAY = "2026-04-01"
# The team cache's fixtures: a real redis-server, and the fake API with the team's key.
redis_server = test_team_cache.redis_server
team = test_team_cache.team


def test_machines_of_a_team_see_one_ledger(team, tmp_path):
    api, _ = team
    with machine(tmp_path, "alice") as alice, machine(tmp_path, "bob") as bob:
        alice.most_promoted("US", 14, "day", DAY, rows=200)
        bob.top_selling("GB", 28, "day", DAY)  # 37 shops
        bob.most_promoted("US", 14, "day", DAY, rows=200)  # alice's pages: no call
        assert alice.ledger.today() == bob.ledger.today() == (3, 237)
        usage = {(u.endpoint, u.calls, u.rows) for u in bob.ledger.usage(1)}
        entries = alice.ledger.entries(1)
    assert usage == {("most_promoted", 2, 200), ("top_selling", 1, 37)}
    assert api.call_count == len(entries) == 3
    assert sorted((e.page, e.pagesize, e.rows, e.outcome) for e in entries) == [
        (1, 100, 37, "ok"), (1, 100, 100, "ok"), (2, 100, 100, "ok")]
    assert "shared by the team" in alice.ledger.describe()


def test_a_team_budget_holds_across_machines_released_together(team, tmp_path, monkeypatch):
    api, _ = team
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "5")
    api.latency = 0.05
    counts = run_together(tmp_path, [(range(1 + 3 * n, 4 + 3 * n), "US", tmp_path / f"machine{n}") for n in range(3)])
    assert sum(fetched for _, fetched in counts) == api.call_count == 5
    assert sum(refused for refused, _ in counts) == 9 - 5
    with machine(tmp_path, "carol") as carol:
        assert carol.ledger.today() == (5, 500)
        with pytest.raises(BudgetExceeded, match="the team's calls on the team cache"):
            carol.most_promoted("FR", 14, "day", DAY)


def test_a_stopped_redis_counts_and_budgets_in_the_local_ledger(team, tmp_path, monkeypatch):
    api, redis_server = team
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "3")
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
        redis_server.stop()
        alice.most_promoted("GB", 14, "day", DAY)
        alice.most_promoted("DE", 14, "day", DAY)
        alice.most_promoted("FR", 14, "day", DAY)  # Redis holds 1 call; the local ledger 3 more than it
        with pytest.raises(BudgetExceeded, match="your calls on this computer"):
            alice.most_promoted("IT", 14, "day", DAY)
        assert alice.ledger.today() == (3, 300)  # the local count only: Redis's is out of reach
        assert "unreachable" in alice.ledger.describe()
    assert api.call_count == 4


def test_final_answers_never_expire_on_redis_and_recent_ones_do(team, tmp_path):
    api, redis_server = team
    with machine(tmp_path, "alice", settle_days=3) as alice:
        alice.most_promoted("US", 14, "day", DAY)  # long settled: final
        recent = alice.settings.with_(settle_days=3650)
    with machine(tmp_path, "bob", settle_days=recent.settle_days) as bob:
        bob.most_promoted("GB", 14, "day", DAY)  # recent under bob's window
    connection = redis.Redis(port=redis_server.port)
    ttls = sorted(connection.ttl(name) for name in connection.keys("xl-fastmoss:json:*"))
    assert ttls[0] == -1 and ttls[1] > 0  # -1: no time-to-live


def test_a_hostile_entry_in_the_teams_ledger_is_skipped(team, tmp_path):
    api, redis_server = team
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
    connection = redis.Redis(port=redis_server.port)
    entries = f"xl-fastmoss:ledger:{local_day()}:entries"
    connection.hset(entries, "99", b"[" * 50_000 + b"]" * 50_000)
    connection.hset(entries, "98", b'{"at": "2026-04-01T00:00:00", "day": 1}')
    with machine(tmp_path, "bob") as bob:
        entries = bob.ledger.entries(1)
        assert [(e.page, e.outcome) for e in entries] == [(1, "ok")] and isinstance(entries[0].at, dt.datetime)
        assert bob.ledger.today() == (1, 100)


def test_an_oversized_ledger_day_in_redis_is_not_sent_and_the_local_count_stands(team, tmp_path, caplog):
    api, redis_server = team
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
    connection = redis.Redis(port=redis_server.port)
    totals, entries = f"xl-fastmoss:ledger:{local_day()}", f"xl-fastmoss:ledger:{local_day()}:entries"
    connection.hset(totals, "junk", b"1" * OVERSIZED)
    with connection.pipeline(transaction=False) as pipe:
        for start in range(0, 200_001, 50_000):
            pipe.hset(entries, mapping={str(n): b"{}" for n in range(start, min(start + 50_000, 200_001))})
        pipe.execute()
    before = sent_by(connection)
    with machine(tmp_path, "bob") as bob:
        assert bob.ledger.entries(1) == [] and bob.ledger.usage(1) == []  # the day is unread
        assert bob.ledger.today() == (1, 100)  # its count is read by itself
    assert sent_by(connection) - before < 2**20
    assert "bytes, over the 65,536 read" in caplog.text and "fields, over the 200,000 read" in caplog.text
    with machine(tmp_path, "carol") as carol:  # budgets are kept by Redis itself, whatever it holds
        carol.most_promoted("GB", 14, "day", DAY)
    assert int(connection.hget(totals, "calls")) == 2 and api.call_count == 2


def test_a_ledger_day_of_another_type_in_redis_is_counted_locally_and_redis_stays_in_use(team, tmp_path, caplog):
    api, redis_server = team
    connection = redis.Redis(port=redis_server.port)
    totals = f"xl-fastmoss:ledger:{local_day()}"
    connection.set(totals, b"not a hash")  # Redis refuses the reserve script on it
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
        alice.most_promoted("GB", 14, "day", DAY)
        assert alice.ledger.today() == (2, 200)  # counted here, the team's day being unreadable
        assert "unreachable" not in alice.ledger.describe()
    with machine(tmp_path, "bob") as bob:  # the answers still went to the team cache
        assert bob.most_promoted("US", 14, "day", DAY).from_cache
    assert api.call_count == 2
    assert "team ledger" in caplog.text and "refused an operation" in caplog.text and "WRONGTYPE" in caplog.text
    assert "unreachable" not in caplog.text


def test_a_reservation_taken_back_leaves_the_teams_count_and_budget_as_before(team, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "2")
    with machine(tmp_path, "alice") as alice, machine(tmp_path, "bob") as bob:
        alice.top_selling("GB", 28, "day", DAY)  # 37 shops: one call
        not_sent = alice.ledger.reserve("most_promoted", 1, 100, "test")
        with pytest.raises(BudgetExceeded):
            bob.ledger.reserve("most_promoted", 1, 100, "test")
        alice.ledger.cancel(not_sent)
        alice.ledger.cancel(not_sent)  # a second time changes nothing
        assert bob.ledger.today() == (1, 37)
        assert {(u.endpoint, u.calls, u.rows) for u in bob.ledger.usage(1)} == {("top_selling", 1, 37)}
        assert [e.endpoint for e in bob.ledger.entries(1)] == ["top_selling"]
        bob.most_promoted("US", 14, "day", DAY)  # the call given back is bob's to make
        assert alice.ledger.today() == (2, 137)
