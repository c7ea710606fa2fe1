"""Each fault of the fake server: what the client does (retries, calls) and what the user reads."""

import pytest

from xl_fastmoss import FastMossClient, errors
from xl_fastmoss.fake_server import FAKE_API_KEY, Fault

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
