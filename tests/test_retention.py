"""Completed periods are kept: an answer fetched after its period settled never expires."""

import datetime as dt
import sqlite3

import pytest
import time_machine
from click.testing import CliRunner

from xl_fastmoss import FastMossClient, Settings, TableRequest
from xl_fastmoss.cache import CACHE_FILE_NAME
from xl_fastmoss.cli import main
from xl_fastmoss.periods import VENDOR_TIME_ZONE
from xl_fastmoss.query import RankingQuery
from xl_fastmoss.retention import is_final, period_end

DAY = "2026-04-01"
UTC = dt.timezone.utc
#: 1 April ends at midnight in Shanghai (16:00 UTC on 1 April) and settles three days later.
SETTLED = dt.datetime(2026, 4, 4, 16, 0, tzinfo=UTC)


def client_of(**overrides):
    return FastMossClient(Settings.load(retry_backoff=0.01, **overrides))


def fetch_at(moment, *, rows=10, refresh=False, date_value=DAY):
    with time_machine.travel(moment, tick=False), client_of() as client:
        return client.most_promoted("US", 14, "day", date_value, rows=rows, refresh=refresh)


@pytest.mark.parametrize("date_type, value, end", [
    ("day", "2026-04-01", dt.datetime(2026, 4, 2, tzinfo=VENDOR_TIME_ZONE)),
    ("day", "2026-12-31", dt.datetime(2027, 1, 1, tzinfo=VENDOR_TIME_ZONE)),
    ("week", "2026-14", dt.datetime(2026, 4, 6, tzinfo=VENDOR_TIME_ZONE)),   # ISO week 14: 30 March - 5 April
    ("week", "2026-53", dt.datetime(2027, 1, 4, tzinfo=VENDOR_TIME_ZONE)),
    ("month", "2026-03", dt.datetime(2026, 4, 1, tzinfo=VENDOR_TIME_ZONE)),
    ("month", "2026-12", dt.datetime(2027, 1, 1, tzinfo=VENDOR_TIME_ZONE)),
])
def test_a_period_ends_at_midnight_after_it_in_the_vendors_time_zone(date_type, value, end):
    assert period_end(date_type, value) == end


def test_an_answer_is_final_once_fetched_after_the_settle_window():
    body = {"filter": {"date_info": {"type": "day", "value": DAY}}}
    assert not is_final(body, SETTLED - dt.timedelta(seconds=1), 3)
    assert is_final(body, SETTLED, 3)
    assert not is_final({"filter": {"date_info": {"type": "day", "value": "soon"}}}, SETTLED, 3)


def test_a_settled_answer_survives_the_time_to_live(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "3600")
    fetch_at(SETTLED + dt.timedelta(hours=1))
    kept = fetch_at(SETTLED + dt.timedelta(days=200))  # long past the hour's time-to-live
    assert kept.from_cache and not kept.stale
    assert fake_env.call_count == 1


def test_a_recent_answer_expires_until_one_fetched_after_the_period_settled_is_kept(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", str(24 * 3600))
    morning = dt.datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
    fetch_at(morning)                                     # recent: expires in a day
    fetch_at(morning + dt.timedelta(hours=12))            # still fresh
    assert fake_env.call_count == 1
    fetch_at(morning + dt.timedelta(days=2))              # expired, and the period not settled yet
    assert fake_env.call_count == 2
    fetch_at(SETTLED + dt.timedelta(days=1))              # expired again; this answer is final
    assert fake_env.call_count == 3
    fetch_at(SETTLED + dt.timedelta(days=100))
    assert fake_env.call_count == 3


def test_a_refresh_asks_again_for_recent_periods_only(fake_env):
    after = SETTLED + dt.timedelta(hours=1)
    fetch_at(after, rows=150)                                        # 1 April: final
    fetch_at(after, rows=150, date_value="2026-04-04")               # 4 April: recent
    fake_env.reset_calls()
    fetch_at(after + dt.timedelta(minutes=5), rows=150, refresh=True)
    fetch_at(after + dt.timedelta(minutes=5), rows=150, refresh=True, date_value="2026-04-04")
    assert [c.body["filter"]["date_info"]["value"] for c in fake_env.calls] == ["2026-04-04"] * 2


def test_a_table_held_in_memory_from_final_answers_does_not_expire(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "60")
    with time_machine.travel(SETTLED + dt.timedelta(hours=1), tick=False) as traveller, client_of() as client:
        client.most_promoted("US", 14, "day", DAY)
        traveller.shift(dt.timedelta(days=30))
        assert client.cached_table(TableRequest(RankingQuery.build("most_promoted", "US", 14, "day", DAY), 10))
    assert fake_env.call_count == 1


def test_the_settle_window_is_a_setting(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_SETTLE_DAYS", "0")
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "60")
    fetch_at(dt.datetime(2026, 4, 1, 16, 0, 1, tzinfo=UTC))  # a second after 1 April ended in Shanghai
    fetch_at(dt.datetime(2026, 6, 1, tzinfo=UTC))
    assert fake_env.call_count == 1
    assert Settings.load().settle_days == 0


# -- xl-fastmoss cache ------------------------------------------------------------------------------

def cache_lines(*options):
    done = CliRunner().invoke(main, ["cache", *options], catch_exceptions=False)
    assert done.exit_code == 0, done.stderr
    return done.stdout.splitlines()


def stored_keys(cache_dir):
    with sqlite3.connect(cache_dir / CACHE_FILE_NAME) as db:
        return {key for (key,) in db.execute("SELECT key FROM responses")}


def test_cache_shows_answers_by_kind_and_size(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "3600")
    after = SETTLED + dt.timedelta(hours=1)
    fetch_at(after, rows=200)                               # two final pages
    fetch_at(after, date_value="2026-04-04")                # one fresh page
    fetch_at(after - dt.timedelta(hours=2), date_value="2026-04-03")  # one expired page
    with time_machine.travel(after, tick=False):
        lines = cache_lines()
    assert lines[0].startswith(f"cache: {Settings.load().cache_dir / CACHE_FILE_NAME} (")
    assert lines[1] == ("answers: 4 (2 final, 1 fresh, 1 expired, 0 that do not decode); pieces indexed: 4")


def test_prune_removes_long_expired_and_unreadable_answers_and_keeps_final_ones(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_CACHE_TTL", "3600")
    after = SETTLED + dt.timedelta(hours=1)
    fetch_at(after, rows=200)                                            # final: kept for ever
    fetch_at(after - dt.timedelta(days=9), date_value="2026-03-25")      # recent then, expired 9 days ago
    fetch_at(after - dt.timedelta(days=2), date_value="2026-04-02")      # expired 2 days ago: a stand-in still
    cache_dir = Settings.load().cache_dir
    with sqlite3.connect(cache_dir / CACHE_FILE_NAME) as db:
        db.execute("INSERT INTO responses (key, value, expires) VALUES ('junk', 'not an answer', NULL)")
    (cache_dir / f"{CACHE_FILE_NAME}.broken-20260101-000000").write_bytes(b"old")
    with time_machine.travel(after, tick=False):
        lines = cache_lines("--prune")
    assert lines[0] == ("pruned: 1 answers expired more than 7 days ago, 1 that do not decode, 1 index rows, "
                        "1 files moved aside")
    assert lines[2] == "answers: 3 (2 final, 0 fresh, 1 expired, 0 that do not decode); pieces indexed: 3"
    assert not list(cache_dir.glob("*.broken-*"))
    fake_env.reset_calls()
    fetch_at(after + dt.timedelta(days=30), rows=200)
    assert fake_env.call_count == 0  # the final pages still serve


def test_clear_removes_every_answer_and_keeps_the_ledger(fake_env):
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY, rows=300)
    lines = cache_lines("--clear")
    assert lines[0] == ("cleared: 3 answers and 3 index rows (the usage ledger and the refresh record are kept)")
    assert lines[2] == "answers: 0 (0 final, 0 fresh, 0 expired, 0 that do not decode); pieces indexed: 0"
    assert stored_keys(Settings.load().cache_dir) == set()
    with client_of() as client:
        assert client.ledger.today() == (3, 300)  # the budgets still count the calls made


def test_prune_and_clear_together_are_refused(fake_env):
    done = CliRunner().invoke(main, ["cache", "--prune", "--clear"])
    assert done.exit_code == 1 and done.stderr.startswith("InvalidArgument: --prune: ")
