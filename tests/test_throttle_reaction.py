"""The client's reaction to throttling, against the fake server: what it costs in calls, and
that no table is lost (the limiter's rules themselves: tests/test_throttle.py)."""

from __future__ import annotations

import json
from collections import Counter

from xl_fastmoss import FastMossClient, RankingQuery, Settings, TableRequest, errors
from xl_fastmoss.fake_server import FAKE_API_KEY, Fault

DAY = "2026-04-01"
REGIONS = ("US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH", "PH")


def tables(count: int, deep_every: int = 3) -> list[TableRequest]:
    """``count`` distinct tables; one in ``deep_every`` is 300 rows (3 pages) deep."""
    combos = [(region, category) for category in (1, 2, 3, 14) for region in REGIONS][:count]
    return [TableRequest(RankingQuery.build("most_promoted", region, category, "day", DAY),
                         300 if n % deep_every == 0 else 100) for n, (region, category) in enumerate(combos)]


def asks_per_page(server) -> Counter:
    return Counter((call.path, json.dumps(call.body, sort_keys=True)) for call in server.calls)


def test_with_every_pages_first_ask_throttled_every_table_comes_whole_for_two_calls_a_page(client, server):
    requests = tables(24)
    pages = sum(3 if r.rows == 300 else 1 for r in requests)
    server.inject(Fault.API_CODE, times=pages, code=30003, first_ask=True)
    outcomes = client.fetch_many(requests)
    for request, outcome in outcomes.items():
        assert not isinstance(outcome, errors.FastMossError), outcome
        assert len(outcome.frame) == request.rows and not outcome.stale
        assert outcome.frame["rank"].tolist() == list(range(1, request.rows + 1))
    asks = asks_per_page(server)
    assert len(asks) == pages and set(asks.values()) == {2}
    assert [call.code for call in server.calls if call.ask == 1] == [30003] * pages
    assert [call.code for call in server.calls if call.ask == 2] == [0] * pages
    assert client.limiter.limit == client.limiter.maximum  # single throttles never cut it


def test_a_page_throttled_again_on_its_retry_cuts_the_calls_in_flight(client, server):
    server.inject(Fault.API_CODE, times=2, code=30003)
    result = client.most_promoted("US", 1, "day", DAY, rows=100)
    assert len(result.frame) == 100 and server.call_count == 3
    assert client.limiter.limit < client.limiter.maximum


def test_a_server_that_throttles_everything_is_not_hammered(fake_env):
    requests = tables(16, deep_every=10**6)  # 16 tables of one page
    attempts = 5  # per page: one call and DEFAULT_MAX_RETRIES (4) retries
    fake_env.inject(Fault.API_CODE, times=10_000, code=30003)
    settings = Settings.load(retry_deadline=3.0, retry_backoff=0.05)  # pauses of at most 1.5 s
    with FastMossClient(settings) as client:
        outcomes = client.fetch_many(requests)
        assert client.limiter.limit == 1
        assert client.ledger.today()[0] == fake_env.call_count  # a page out of time asks no more
    # Out of time while it waited to ask again, a page shows the throttle that held it back.
    assert all(isinstance(o, errors.FrequencyLimited) for o in outcomes.values())
    # Every page asked 5 times would be 80 calls; the client slowed to about one call a pause.
    assert fake_env.call_count <= len(requests) * attempts // 2


def test_a_throttled_page_asked_again_does_not_wait_behind_every_page_not_asked_yet(fake_env):
    # 80 pages, 4 in flight: behind the 47 first pages asked with it, a retry would wait about 12
    # rounds of 0.2 s, past its page's 2 s; it goes first (about 2 calls in all), so no page runs
    # out of time, with room for a machine busy with other tests.
    requests = tables(48)
    pages = sum(3 if r.rows == 300 else 1 for r in requests)
    build_rankings(fake_env, requests)
    fake_env.latency = 0.2
    fake_env.inject(Fault.API_CODE, times=pages, code=30003, first_ask=True)
    with FastMossClient(Settings.load(retry_deadline=2.0, retry_backoff=0.01)) as client:
        outcomes = client.fetch_many(requests)
    assert [o for o in outcomes.values() if isinstance(o, errors.FastMossError)] == []
    assert set(asks_per_page(fake_env).values()) == {2}


def build_rankings(server, requests: list[TableRequest]) -> None:
    """Have the fake build each ranking before the test, so that building does not eat a deadline."""
    import requests as http

    for request in requests:
        http.post(server.base_url + request.query.endpoint.path, json=request.query.body(1, 1),
                  headers={"Authorization": f"Bearer {FAKE_API_KEY}"}, timeout=30)
    server.reset_calls()
