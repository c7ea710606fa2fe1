"""Each fault of the fake server: what the client does (retries, calls) and what the user reads."""

import os
import subprocess
import sys
import textwrap

import pytest

from xl_fastmoss import FastMossClient, errors
from xl_fastmoss.fake_server import FAKE_API_KEY, FakeFastMoss, Fault

DAY = "2026-04-01"
ATTEMPTS = 5  # one call and DEFAULT_MAX_RETRIES (4) retries


def ask(client, region="US", **kw):
    return client.most_promoted(region, 14, "day", DAY, **kw)


@pytest.mark.parametrize("code, error, text", [
    (10001, errors.ParameterError, "FastMoss refused a parameter (code 10001)"),
    (20001, errors.ResourceNotFound, "FastMoss resource not found (code 20001)"),
    (30001, errors.PermissionDenied, "Your plan does not include this ranking"),
    (30002, errors.QuotaExceeded, "Your quota is used up"),
])
def test_permanent_api_codes_are_shown_at_once_without_retry(client, server, code, error, text):
    server.inject(Fault.API_CODE, code=code)
    with pytest.raises(error) as caught:
        ask(client)
    assert server.call_count == 1
    assert text in str(caught.value) and "[request_id " in str(caught.value)
    assert caught.value.code == code and caught.value.request_id


@pytest.mark.parametrize("code, error", [(30003, errors.FrequencyLimited), (40001, errors.ServiceError)])
def test_transient_api_codes_are_retried_then_succeed(client, server, code, error):
    server.inject(Fault.API_CODE, code=code, times=2)
    result = ask(client)
    assert len(result.frame) == 10 and server.call_count == 3


@pytest.mark.parametrize("code, error", [(30003, errors.FrequencyLimited), (40001, errors.ServiceError)])
def test_transient_api_codes_give_up_after_the_retry_bound(client, server, code, error):
    server.inject(Fault.API_CODE, code=code, times=50)
    with pytest.raises(error, match=f"code {code}"):
        ask(client)
    assert server.call_count == ATTEMPTS


RETRY_IMPORT = textwrap.dedent("""
    import sys
    import xl_fastmoss
    for region, rows in (("US", 100), ("GB", 200)):  # GB's page 2 is answered 503 once
        table = xl_fastmoss.most_promoted(region, 14, "day", "2026-04-01", rows=rows)
        print(region, len(table), "tenacity" in sys.modules)
""")


def test_tenacity_is_imported_at_the_first_retry_and_not_before(fake_env):
    fake_env.inject(Fault.HTTP_STATUS, status=503, page=2)
    done = subprocess.run([sys.executable, "-c", RETRY_IMPORT], env={**os.environ, "FASTMOSS_RETRY_BACKOFF": "0.01"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["US 100 False", "GB 200 True"]
    assert fake_env.call_count == 4


@pytest.mark.parametrize("status, error, text", [
    (401, errors.AuthenticationError, "FastMoss refused the API key (HTTP 401)"),
    (403, errors.AuthenticationError, "FastMoss refused the API key (HTTP 403)"),
])
def test_auth_statuses_are_not_retried(client, server, status, error, text):
    server.inject(Fault.HTTP_STATUS, status=status)
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        ask(client)
    assert server.call_count == 1


@pytest.mark.parametrize("status, error", [
    (429, errors.RateLimited), (500, errors.ServerError), (502, errors.ServerError),
    (503, errors.ServerError), (504, errors.ServerError),
])
def test_throttling_and_server_errors_are_retried(client, server, status, error):
    server.inject(Fault.HTTP_STATUS, status=status, times=2)
    assert len(ask(client).frame) == 10
    assert server.call_count == 3
    server.reset_calls()
    server.inject(Fault.HTTP_STATUS, status=status, times=50)
    with pytest.raises(error, match=f"HTTP {status}"):
        ask(client, region="IT")  # nothing cached for it to fall back on
    assert server.call_count == ATTEMPTS


def test_retry_after_is_honoured(client, server):
    import time

    server.inject(Fault.HTTP_STATUS, status=429, retry_after=1)
    started = time.monotonic()
    ask(client)
    assert time.monotonic() - started >= 0.9
    assert server.call_count == 2


def test_a_hang_past_the_timeout_is_a_timeout_then_retried(server, fake_env, tmp_path):
    from xl_fastmoss import Settings

    settings = Settings.load(read_timeout=0.3, retry_backoff=0.01, max_retries=1)
    server.inject(Fault.HANG, seconds=3, times=2)
    with FastMossClient(settings) as client, pytest.raises(errors.RequestTimeout, match="did not answer within 0.3 s"):
        ask(client)
    assert server.call_count == 2


@pytest.mark.parametrize("fault, error, text", [
    (Fault.TRUNCATED, errors.ConnectionFailed, "connection to FastMoss failed"),
    (Fault.RESET, errors.ConnectionFailed, "connection to FastMoss failed"),
])
def test_dropped_connections_are_retried(client, server, fault, error, text):
    server.inject(fault, times=1)
    assert len(ask(client).frame) == 10
    assert server.call_count == 2
    server.inject(fault, times=50)
    with pytest.raises(error, match=text):
        ask(client, region="IT")


def test_connection_refused_is_a_clear_error(fake_env, tmp_path):
    import socket

    from xl_fastmoss import Settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings.load(base_url=f"http://127.0.0.1:{port}", retry_backoff=0.01, max_retries=1)
    with FastMossClient(settings) as client, pytest.raises(errors.ConnectionFailed, match="connection refused"):
        ask(client)


@pytest.mark.parametrize("fault, text", [
    (Fault.NOT_JSON, "body that is not JSON (text/html"),
    (Fault.MISSING_DATA, "without a `data` object"),
    (Fault.MISSING_LIST, "without a `data.list` array"),
])
def test_bodies_that_are_not_the_documented_json_are_invalid_responses(client, server, fault, text):
    server.inject(fault)
    with pytest.raises(errors.InvalidResponse, match=text.replace("(", r"\(")):
        ask(client)
    assert server.call_count == 1


def test_a_short_page_mid_ranking_keeps_true_ranks_and_warns(client, server):
    server.inject(Fault.SHORT_PAGE, page=2)
    result = ask(client, rows=300)
    ranks = result.frame["rank"].tolist()
    assert ranks[:100] == list(range(1, 101)) and ranks[100:150] == list(range(101, 151))
    assert ranks[150:] == list(range(201, 301))
    assert any("page 2 answered 50 of 100 rows; ranks 151-200 are missing" in w for w in result.warnings)


@pytest.mark.usefixtures("recent_periods")
def test_a_failed_refresh_falls_back_to_the_cached_copy_and_says_it_is_stale(client, server):
    ask(client)
    server.inject(Fault.HTTP_STATUS, status=500, times=50)
    result = ask(client, refresh=True)
    assert result.stale and "HTTP 500" in result.stale_reason
    assert len(result.frame) == 10


def test_no_error_text_contains_the_key(client, server):
    for fault, params in [(Fault.HTTP_STATUS, {"status": 401}), (Fault.API_CODE, {"code": 10001}),
                          (Fault.NOT_JSON, {}), (Fault.HTTP_STATUS, {"status": 500})]:
        server.inject(fault, times=10, **params)
        with pytest.raises(errors.FastMossError) as caught:
            ask(client, region="IT")
        server.clear_faults()
        assert FAKE_API_KEY not in str(caught.value) and FAKE_API_KEY not in repr(caught.value.__dict__)


@pytest.mark.parametrize("fault, params, message", [
    (Fault.HTTP_STATUS, {"status": 401}, "FastMoss refused the API key (HTTP 401)"),
    (Fault.HTTP_STATUS, {"status": 429}, "FastMoss is throttling calls (HTTP 429)"),
    (Fault.HTTP_STATUS, {"status": 502}, "FastMoss server error (HTTP 502)"),
    (Fault.API_CODE, {"code": 10001}, "FastMoss refused a parameter (code 10001)"),
    (Fault.API_CODE, {"code": 30003}, "FastMoss access frequency limit exceeded (code 30003)"),
    (Fault.NOT_JSON, {}, "FastMoss answered HTTP 200 with a body that is not JSON"),
    (Fault.MISSING_LIST, {}, "FastMoss answered code 0 without a `data.list` array"),
])
def test_the_same_message_reaches_a_cell_and_the_command_line(fake_env, monkeypatch, fault, params, message):
    from click.testing import CliRunner

    import xl_fastmoss.udfs as udfs
    from xl_fastmoss.cli import main

    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    fake_env.inject(fault, times=2, **params)
    [[cell]] = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    result = CliRunner().invoke(main, ["most-promoted", "US", "14", "day", DAY])
    assert cell.startswith("FastMoss: " + message)
    [line] = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and message in line and line.split(":")[0].isidentifier()


def test_retries_stop_at_the_overall_deadline(server, fake_env):
    from xl_fastmoss import Settings

    settings = Settings.load(retry_deadline=0.6, retry_backoff=0.25, max_retries=10)
    server.inject(Fault.HTTP_STATUS, status=503, times=50)
    with FastMossClient(settings) as client, pytest.raises(errors.ServerError):
        ask(client)
    assert 2 <= server.call_count < 11  # the deadline, not the retry count, ended it


def test_a_429_without_retry_after_backs_off_and_succeeds(client, server):
    server.inject(Fault.HTTP_STATUS, status=429, times=1)
    assert len(ask(client).frame) == 10 and server.call_count == 2


def test_a_short_first_page_does_not_end_a_ranking_whose_total_says_more(client, server):
    server.inject(Fault.SHORT_PAGE, page=1)
    result = ask(client, rows=300)
    assert server.call_count == 3 and len(result.frame) == 250
    assert result.frame["rank"].tolist() == list(range(1, 51)) + list(range(101, 301))
    assert result.warnings[-1] == "page 1 answered 50 of 100 rows; ranks 51-100 are missing"


# -- hostile answers: bounded in time and size, one line each ------------------------------------


def guarded(action, seconds=60):
    """``action()`` in a thread; fails the test if it has not returned after ``seconds`` (a net
    against hangs only: what is measured is that it ends, not how fast)."""
    import threading

    outcome = {}

    def run():
        try:
            outcome["value"] = action()
        except BaseException as error:  # handed back to the test below
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def fast_client(**overrides):
    from xl_fastmoss import Settings

    options = {"retry_backoff": 0.01, **overrides}
    return FastMossClient(Settings.load(**options))


@pytest.mark.parametrize("retry_after", [
    "100000", "-5", "Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 01 Jan 0001 00:00:00 GMT", "soon", "nan", "1e400"])
def test_an_odd_retry_after_neither_freezes_nor_wedges_the_client(server, fake_env, retry_after):
    with fast_client(retry_deadline=2.0) as client:  # a cap of 1 s: half the deadline
        server.inject(Fault.HTTP_STATUS, status=429, retry_after=retry_after)
        result = guarded(lambda: ask(client))
        assert len(result.frame) == 10 and not result.stale and server.call_count == 2
        assert client.limiter.pause_left <= 1.0 and client.limiter.in_flight == 0
        assert len(guarded(lambda: ask(client, region="GB")).frame) == 10  # the limiter still lets calls out


@pytest.mark.parametrize("value, seconds", [
    ("2", 2.0), ("0", 0.0), ("1.5", 1.5), ("100000", 30.0), ("-5", 30.0), ("soon", 30.0), ("nan", 30.0),
    ("inf", 30.0), ("1e400", 30.0), ("Fri, 31 Dec 9999 23:59:59 GMT", 30.0), ("Mon, 01 Jan 2001 00:00:00 GMT", 0.0),
    ("", None), (None, None),
])
def test_retry_after_is_read_up_to_its_cap_and_odd_values_are_the_cap(value, seconds):
    from xl_fastmoss.transport import MAX_RETRY_AFTER, parse_retry_after

    assert MAX_RETRY_AFTER == 30.0
    assert parse_retry_after(value) == seconds


def test_a_server_sending_one_byte_a_second_ends_at_the_page_deadline(server, fake_env):
    server.inject(Fault.DRIP, interval=1.0, times=10)
    with fast_client(retry_deadline=2.0, read_timeout=5.0, max_retries=3) as client:
        with pytest.raises(errors.RequestTimeout) as caught:
            guarded(lambda: ask(client))
    assert caught.value.message == ("FastMoss did not answer one page within 2 s in all "
                                    "(connect, reads and retries)")
    assert server.call_count == 1  # the deadline ended it, no retry began without time left


def test_a_server_that_never_answers_ends_at_the_page_deadline_whatever_the_read_timeout(server, fake_env):
    server.inject(Fault.HANG, seconds=600, times=10)
    with fast_client(retry_deadline=1.0, read_timeout=300.0) as client:
        with pytest.raises(errors.RequestTimeout, match="within 1 s in all"):
            guarded(lambda: ask(client))


def test_a_host_that_never_accepts_the_connection_is_a_connect_timeout(fake_env):
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: once its queue is full, the next connections hang
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            with fast_client(base_url=f"http://127.0.0.1:{port}", connect_timeout=0.3, max_retries=1) as client:
                with pytest.raises(errors.RequestTimeout) as caught:
                    guarded(lambda: ask(client))
        finally:
            for filler in fillers:
                filler.close()
    assert caught.value.message == "FastMoss did not accept a connection within 0.3 s"


# The child's own peak: VmHWM is its memory's high-water mark. getrusage's ru_maxrss would not do:
# Linux carries the parent's peak over into it at exec (the parent here is the whole test run).
HOSTILE_FETCH = """
from xl_fastmoss import FastMossClient, Settings, errors
with FastMossClient(Settings.load(max_retries=0)) as client:
    try:
        client.most_promoted("US", 14, "day", "2026-04-01")
        print("no error")
    except errors.FastMossError as error:
        print(f"{type(error).__name__}: {error.message}")
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")))
"""


@pytest.mark.parametrize("fault, params, text", [
    (Fault.HUGE_BODY, {}, "FastMoss answered a page of 100,000,000 bytes, over the 4 MiB a page may take"),
    (Fault.HUGE_BODY, {"length": False}, "FastMoss answered a page of more than 4 MiB on the wire"),
    (Fault.GZIP_BOMB, {}, "FastMoss answered a page of more than 4 MiB once decompressed (gzip"),
])
def test_a_huge_page_is_refused_while_read_within_300_mb_and_not_cached(server, fake_env, fault, params, text):
    import os
    import subprocess
    import sys

    server.inject(fault, **params)
    done = subprocess.run([sys.executable, "-c", HOSTILE_FETCH], env=os.environ.copy(), capture_output=True,
                          text=True, timeout=180)  # a net against a hang only
    assert done.returncode == 0, done.stderr
    line, peak = done.stdout.strip().splitlines()
    assert line.startswith("InvalidResponse: " + text)
    assert int(peak) < 300 * 2**20
    with FastMossClient() as client:
        assert not ask(client).from_cache  # nothing of it was kept: asked again
    assert server.call_count == 2


@pytest.mark.parametrize("fault, params, error, text", [
    (Fault.BAD_GZIP, {}, errors.InvalidResponse,
     "FastMoss answered a body marked Content-Encoding gzip that does not decompress"),
    (Fault.DEEP_JSON, {}, errors.InvalidResponse,
     "FastMoss answered HTTP 200 with a body that is not JSON (application/json; charset=utf-8, 200018 bytes; "
     "nested too deeply to read)"),
    (Fault.REDIRECT, {}, errors.HTTPStatusError,
     "FastMoss answered HTTP 302, a redirect to /shop/v1/rank/mostPromoted; redirects are not followed"),
    (Fault.REDIRECT, {"status": 308, "location": "https://elsewhere.example/steal"}, errors.HTTPStatusError,
     "FastMoss answered HTTP 308, a redirect to https://elsewhere.example/steal; redirects are not followed"),
])
def test_a_broken_body_or_a_redirect_is_one_line_in_a_cell_and_on_the_command_line(
        fake_env, monkeypatch, fault, params, error, text):
    from click.testing import CliRunner

    import xl_fastmoss.udfs as udfs
    from xl_fastmoss.cli import main

    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    fake_env.inject(fault, times=2, **params)
    [[cell]] = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    result = CliRunner().invoke(main, ["most-promoted", "US", "14", "day", DAY])
    assert cell.startswith("FastMoss: " + text)
    [line] = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and line.startswith(f"{error.__name__}: {text}")
    assert fake_env.call_count == 2  # one call each: a redirect is never followed


def test_a_redirect_to_another_host_takes_no_key_there_and_is_not_cached(server, fake_env):
    with FakeFastMoss(api_key="another-hosts-key") as elsewhere:
        server.inject(Fault.REDIRECT, status=307, location=elsewhere.base_url + "/shop/v1/rank/mostPromoted")
        with fast_client() as client:
            with pytest.raises(errors.HTTPStatusError, match=f"a redirect to {elsewhere.base_url}"):
                ask(client)
            assert elsewhere.call_count == 0
            assert not ask(client).from_cache and server.call_count == 2


@pytest.mark.parametrize("field, value, raw, column", [
    ("gmv_inc_rate", "sNaN", False, "gmv_inc_rate"),
    ("gmv_inc_rate", "1e1000005%", False, "gmv_inc_rate"),
    ("units_sold_inc_rate", "NaN", True, "units_sold_inc_rate"),
    ("usd_gmv", "1e1000005", True, "usd_gmv"),
    ("gmv", "NaN", True, "gmv"),
    ("units_sold", {"value": 12}, False, "units_sold"),
    ("shop_info.product_count", "many", False, "product_count"),
    ("shop_info.name", ["not", "text"], False, "name"),
])
def test_an_odd_field_is_a_blank_with_a_warning_and_the_page_serves_from_the_cache(
        server, fake_env, field, value, raw, column):
    server.inject(Fault.FIELD, field=field, value=value, rank=3, **({"raw": True} if raw else {}))
    with fast_client() as client:
        result = ask(client)
    assert len(result.frame) == 10 and result.frame[column].isna().iloc[2]
    assert result.frame[column].notna().iloc[1] or column.endswith("_rate")
    assert any(w.startswith(f"rank 3: {column} ") and w.endswith("left blank") for w in result.warnings)
    with fast_client() as another_process:
        again = ask(another_process)
    assert again.from_cache and server.call_count == 1 and again.frame[column].isna().iloc[2]


@pytest.mark.usefixtures("recent_periods")
def test_a_page_that_is_no_table_neither_enters_the_cache_nor_replaces_a_good_copy(server, fake_env):
    with fast_client(max_retries=0) as client:
        good = ask(client)
        server.inject(Fault.DEEP_JSON)
        refreshed = ask(client, refresh=True)
    assert refreshed.stale and "not JSON" in refreshed.stale_reason
    assert refreshed.frame.equals(good.frame)
    with fast_client() as another_process:
        kept = ask(another_process)
    assert kept.from_cache and not kept.stale and kept.frame.equals(good.frame)


# -- an empty answer never replaces rows ---------------------------------------------------------


@pytest.mark.usefixtures("recent_periods")
def test_an_empty_answer_for_a_period_that_had_rows_keeps_the_rows_marked_stale(server, fake_env):
    with fast_client() as client:
        good = ask(client, rows=150)
        server.inject(Fault.EMPTY_LIST, times=5)
        again = ask(client, rows=150, refresh=True)
    assert again.stale and again.frame.equals(good.frame)
    assert again.stale_reason.startswith("FastMoss answered no rows for a page that had rows before")
    assert isinstance(again.stale_error, errors.EmptyAnswer)
    with fast_client() as another_process:
        assert len(ask(another_process, rows=150).frame) == 150  # the cache still holds the rows


@pytest.mark.usefixtures("recent_periods")
def test_an_empty_answer_after_rows_shows_the_rows_in_a_cell_and_on_the_command_line(fake_env):
    import datetime as dt

    import time_machine
    from click.testing import CliRunner

    import xl_fastmoss.udfs as udfs
    from xl_fastmoss.cli import main

    first = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    fake_env.inject(Fault.EMPTY_LIST, times=10)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)):  # the copy expired
        table = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
        status = {row[0]: row[1] for row in udfs.FM_STATUS()}
        result = CliRunner().invoke(main, ["most-promoted", "US", "14", "day", DAY])
        refreshed = CliRunner().invoke(main, ["most-promoted", "US", "14", "day", DAY, "--refresh"])
    assert table[1:] == first[1:] and table[0][1:] == first[0][1:]  # the same table, no row added
    assert table[0][0].startswith("Rank (stale: data as of ")
    assert "FastMoss answered no rows for a page that had rows before" in table[0][0]
    assert status["Stale tables"] == 1
    assert result.exit_code == 0 and "LOOKFANTASTIC" in result.stdout
    assert "warning: showing cached data from" in result.stderr and "answered no rows" in result.stderr
    assert refreshed.exit_code == 1 and refreshed.stdout == ""
    assert refreshed.stderr.strip().splitlines()[-1].startswith("EmptyAnswer: FastMoss answered no rows")


@pytest.mark.usefixtures("recent_periods")
def test_refresh_of_a_workbook_fails_naming_the_table_that_came_back_empty(fake_env, tmp_path):
    from click.testing import CliRunner
    from openpyxl import Workbook

    from xl_fastmoss.cli import main

    book = Workbook()
    book.active.title = "Daily"
    book.active["A1"] = f'=FM_MOSTPROMOTED("US",14,"day","{DAY}")'
    book.save(tmp_path / "d.xlsx")
    output = tmp_path / "d-values.xlsx"
    assert CliRunner().invoke(main, ["refresh", str(tmp_path / "d.xlsx"), "--output", str(output)]).exit_code == 0
    shared = output.read_bytes()
    fake_env.inject(Fault.EMPTY_LIST, times=10)
    result = CliRunner().invoke(main, ["refresh", str(tmp_path / "d.xlsx"), "--output", str(output)])
    assert result.exit_code == 1 and output.read_bytes() == shared
    assert "Daily!A1: FastMoss: FastMoss answered no rows for a page that had rows before" in result.stderr


@pytest.mark.usefixtures("recent_periods")
def test_a_failed_refresh_with_a_bad_key_exits_non_zero(fake_env, monkeypatch):
    from click.testing import CliRunner

    from xl_fastmoss.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["most-promoted", "US", "14", "day", DAY]).exit_code == 0
    monkeypatch.setenv("FASTMOSS_API_KEY", "a-key-that-is-wrong")
    result = runner.invoke(main, ["most-promoted", "US", "14", "day", DAY, "--refresh"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith(
        "AuthenticationError: FastMoss refused the API key (HTTP 401)")
    assert runner.invoke(main, ["most-promoted", "US", "14", "day", DAY]).exit_code == 0  # the copy is still there
