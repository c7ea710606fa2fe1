"""The client against the fake FastMoss server, over real HTTP."""

import threading

import pytest

import xl_fastmoss
from xl_fastmoss import FastMossClient, Settings, TableRequest, errors
from xl_fastmoss.fake_server import FAKE_API_KEY, Fault
from xl_fastmoss.query import RankingQuery

DAY = "2026-04-01"


def test_most_promoted_returns_the_ranking_as_a_typed_frame(fake_env):
    frame = xl_fastmoss.most_promoted("US", 14, "day", DAY)
    assert len(frame) == 10 and frame["rank"].tolist() == list(range(1, 11))
    assert frame.loc[0, "seller_id"] == "7494006325298104216"  # the vendor's example row
    assert frame.attrs["date_type"] == "day" and frame.attrs["date_value"] == "2026-04-06"
    assert frame.attrs["total"] == 500 and frame.attrs["fetched_at"]
    assert fake_env.call_count == 1


@pytest.mark.parametrize("rows, calls", [(1, 1), (10, 1), (100, 1), (101, 2), (250, 3), (500, 5)])
def test_rows_cost_ceil_rows_over_100_calls_and_return_exactly_rows(client, server, rows, calls):
    result = client.most_promoted("GB", 14, "day", DAY, rows=rows)
    assert len(result.frame) == rows
    assert result.frame["rank"].tolist() == list(range(1, rows + 1))
    assert server.call_count == calls
    assert all(c.pagesize == 100 and c.page * c.pagesize <= 500 for c in server.calls)


def test_rank_order_and_sort_key_hold_across_pages(client):
    frame = client.most_promoted("DE", 3, "week", "2026-14", rows=500).frame
    assert frame["affiliate_count"].is_monotonic_decreasing
    assert frame["seller_id"].is_unique


def test_a_short_ranking_ends_early_without_asking_past_its_end(client, server):
    result = client.most_promoted("US", 28, "day", DAY, rows=500)
    assert len(result.frame) == 37 and result.total == 37
    assert server.call_count == 1


def test_every_filter_reaches_the_api(client, server):
    client.most_promoted("MX", 5, "month", "2026-03", shop_type=2, cross_border=0, rows=3)
    body = server.calls[-1].body
    assert body["filter"] == {"region": "MX", "category_id": 5, "shop_type": 2, "is_cross_border": 0,
                              "date_info": {"type": "month", "value": "2026-03"}}
    assert body["orderby"] == [{"field": "affiliate_count", "order": "desc"}]


def test_a_second_ask_is_served_from_memory_without_a_call(client, server):
    client.most_promoted("US", 14, "day", DAY, rows=200)
    first = server.call_count
    again = client.most_promoted("US", 14, "day", DAY, rows=150)
    assert server.call_count == first == 2
    assert len(again.frame) == 150


@pytest.mark.parametrize("rows", [200, 150])
def test_a_table_changed_by_its_caller_leaves_the_one_held_in_memory_as_it_was(client, rows):
    first = client.most_promoted("US", 14, "day", DAY, rows=200).frame
    names, sold = first["name"].tolist(), first["units_sold"].tolist()
    mine = client.most_promoted("US", 14, "day", DAY, rows=rows).frame  # all the held rows, or some
    mine.loc[0, "name"] = "changed"
    mine["units_sold"] *= 2
    mine.attrs["total"] = -1
    again = client.most_promoted("US", 14, "day", DAY, rows=200).frame
    assert again["name"].tolist() == names and again["units_sold"].tolist() == sold
    assert again.attrs["total"] == 500


def test_another_process_sees_the_same_persistent_cache(client, server):
    client.most_promoted("US", 14, "day", DAY, rows=300)
    with FastMossClient(client.settings) as other:
        result = other.most_promoted("US", 14, "day", DAY, rows=300)
    assert server.call_count == 3
    assert result.from_cache and len(result.frame) == 300


def test_a_table_the_cache_holds_is_read_in_the_askers_own_thread(client, server):
    """A UDF server reading a refreshed workbook's pages hands none of them to a page thread."""
    def page_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("fastmoss-page")}

    client.most_promoted("US", 14, "day", DAY, rows=300)
    before = page_threads()  # the first client's
    with FastMossClient(client.settings) as other:
        result = other.most_promoted("US", 14, "day", DAY, rows=300)
        assert page_threads() <= before
        assert other.stats.pages_from_cache == 3
    assert server.call_count == 3
    assert result.from_cache and list(result.frame["rank"]) == list(range(1, 301))


def test_a_card_then_its_full_table_from_the_cache_are_the_rows_of_one_ranking(client, server):
    whole = client.most_promoted("US", 14, "day", DAY, rows=300).frame
    with FastMossClient(client.settings) as other:  # nothing in memory: every page from the cache
        card = other.most_promoted("US", 14, "day", DAY, rows=10).frame
        card["name"] = "changed"  # a caller's frame is its own
        table = other.most_promoted("US", 14, "day", DAY, rows=300).frame
    assert server.call_count == 3
    assert table.equals(whole) and list(table["rank"]) == list(range(1, 301))


@pytest.mark.usefixtures("recent_periods")
def test_a_page_stored_again_by_another_process_is_read_anew(client, server):
    query = RankingQuery.build("most_promoted", "US", 14, "day", DAY)
    client.most_promoted("US", 14, "day", DAY, rows=100)
    with FastMossClient(client.settings) as reader, FastMossClient(client.settings) as refresher:
        before = reader.transport.post(query.endpoint, query.body(1)).page.frame
        server.revision += 1
        fresh = refresher.most_promoted("US", 14, "day", DAY, rows=100, refresh=True).frame
        after = reader.transport.post(query.endpoint, query.body(1)).page.frame
    assert server.call_count == 2
    assert not after.equals(before) and after.equals(fresh)


def test_the_cache_key_ignores_the_api_key(client, server):
    client.most_promoted("US", 14, "day", DAY)
    with FastMossClient(client.settings.with_(api_key="another-key")) as other:
        other.most_promoted("US", 14, "day", DAY)
    assert server.call_count == 1


@pytest.mark.usefixtures("recent_periods")
def test_refresh_bypasses_the_cache_and_updates_it(client, server):
    client.most_promoted("US", 14, "day", DAY)
    client.most_promoted("US", 14, "day", DAY, refresh=True)
    assert server.call_count == 2


def test_identical_requests_in_flight_are_fetched_once(client, server):
    server.latency = 0.3
    results, barrier = [], threading.Barrier(8)

    def ask():
        barrier.wait()
        results.append(client.most_promoted("FR", 2, "day", DAY, rows=200))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.call_count == 2
    assert len(results) == 8 and all(len(r.frame) == 200 for r in results)


def test_fetch_many_asks_each_distinct_page_once(client, server):
    us = RankingQuery.build("most_promoted", "US", 14, "day", DAY)
    gb = RankingQuery.build("most_promoted", "GB", 14, "day", DAY)
    outcomes = client.fetch_many([TableRequest(us, 10), TableRequest(us, 250), TableRequest(gb, 50),
                                  TableRequest(us, 10)])
    assert server.call_count == 3 + 1
    assert len(outcomes[TableRequest(us, 10)].frame) == 10
    assert len(outcomes[TableRequest(us, 250)].frame) == 250


def test_an_unpublished_period_is_an_empty_table_not_an_error(client, server):
    server.inject(Fault.EMPTY_LIST)
    result = client.most_promoted("US", 14, "day", DAY)
    assert result.empty and result.total == 0
    client.most_promoted("US", 14, "day", DAY)
    assert server.call_count == 2  # "no data yet" is never cached


def test_invalid_arguments_cost_no_call(client, server):
    with pytest.raises(errors.InvalidArgument, match="region: 'XX'"):
        client.most_promoted("XX", 14, "day", DAY)
    with pytest.raises(errors.InvalidArgument, match="rows: 501"):
        client.most_promoted("US", 14, "day", DAY, rows=501)
    assert server.call_count == 0


def test_no_key_is_a_clear_error_and_no_call(server, tmp_path):
    with FastMossClient(Settings.load(base_url=server.base_url)) as keyless:
        with pytest.raises(errors.MissingApiKey, match="xl-fastmoss config --set-key"):
            keyless.most_promoted("US", 14, "day", DAY)
    assert server.call_count == 0


def test_a_wrong_key_is_an_authentication_error_without_retry(client, server):
    with FastMossClient(client.settings.with_(api_key="wrong-key-123")) as wrong:
        with pytest.raises(errors.AuthenticationError) as caught:
            wrong.most_promoted("US", 14, "day", DAY)
    assert server.call_count == 1
    assert "HTTP 401" in str(caught.value) and "wrong-key-123" not in str(caught.value)


def test_the_key_travels_only_in_the_authorization_header(client, server):
    client.most_promoted("US", 14, "day", DAY)
    record = server.calls[-1]
    assert record.authorized and FAKE_API_KEY not in repr(record.body)


def test_multi_page_work_reports_progress_page_by_page(client):
    seen = []
    client.most_promoted("US", 14, "day", DAY, rows=500, progress=lambda done, total: seen.append((done, total)))
    assert [done for done, _ in seen] == [1, 2, 3, 4, 5] and {total for _, total in seen} == {5}


def test_the_cli_progress_bar_follows_the_pages_on_a_terminal(monkeypatch):
    import io

    from xl_fastmoss import cli

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(cli.sys, "stderr", terminal)
    with cli._progress_bar() as update:
        update(1, 1)
        assert terminal.getvalue() == ""  # one page: no bar
        for done in range(1, 4):
            update(done, 3)
    assert "3/3" in terminal.getvalue() and "page" in terminal.getvalue()


# -- tables in memory ------------------------------------------------------------------------


def test_tables_in_memory_are_the_most_recently_used_and_an_evicted_one_comes_from_the_disk(fake_env):
    gb, mx, us = (RankingQuery.build("most_promoted", region, 14, "day", DAY) for region in ("GB", "MX", "US"))
    with FastMossClient(Settings.load(memory_tables=2)) as client:
        client.fetch(TableRequest(gb, 10))
        client.fetch(TableRequest(mx, 10))
        client.fetch(TableRequest(gb, 10))  # GB used again: MX is now the least recently used
        client.fetch(TableRequest(us, 10))
        assert client.stats.tables_from_memory == 1 and fake_env.call_count == 3
        assert client.cached_table(TableRequest(gb, 10)) is not None
        assert client.cached_table(TableRequest(us, 10)) is not None
        assert client.cached_table(TableRequest(mx, 10)) is None  # evicted ...
        again = client.fetch(TableRequest(mx, 10))  # ... and read from the disk cache, without a call
        assert fake_env.call_count == 3 and again.from_cache and len(again.frame) == 10
        assert client.stats.pages_from_cache == 1 and client.stats.tables_built == 4


def test_no_tables_in_memory_when_the_setting_is_0(fake_env, monkeypatch):
    monkeypatch.setenv("FASTMOSS_MEMORY_TABLES", "0")
    request = TableRequest(RankingQuery.build("most_promoted", "GB", 14, "day", DAY), 10)
    with FastMossClient(Settings.load()) as client:
        client.fetch(request)
        client.fetch(request)
        assert client.stats.tables_from_memory == 0 and client.stats.pages_from_cache == 1
    assert fake_env.call_count == 1
