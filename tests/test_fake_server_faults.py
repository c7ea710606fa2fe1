"""The fake server's faults for hostile-input tests, seen by a raw HTTP client.

Each test talks to the fake with plain ``requests`` or a socket, never the project's client:
these tests hold the fake to what its faults promise, so that the client's hardening tests
can rely on them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
import zlib

import pytest
import requests

from xl_fastmoss.fake_server import FAKE_API_KEY, FakeFastMoss, Fault

MOST_PROMOTED = "/shop/v1/rank/mostPromoted"
AUTH = {"Authorization": f"Bearer {FAKE_API_KEY}"}
#: A liveness guard for calls the fake should end early: far beyond any prompt answer.
GUARD_SECONDS = 20


def post(server, body=None, path=MOST_PROMOTED, **kwargs):
    kwargs.setdefault("timeout", 10)
    return requests.post(server.base_url + path, json={} if body is None else body,
                         headers=AUTH, **kwargs)


def normal_page(server, body=None) -> dict:
    payload = post(server, body).json()
    assert payload["code"] == 0 and len(payload["data"]["list"]) == 10, payload
    return payload


def raw_answer(server, body=None) -> tuple[requests.Response, bytes]:
    """The answer and its body bytes as sent (not decoded)."""
    response = post(server, body, stream=True, allow_redirects=False)
    return response, response.raw.read(decode_content=False)


def inflate_counting(compressed: bytes, keep: int = 64) -> tuple[int, bytes, bool]:
    """(inflated size, its first ``keep`` bytes, whether the gzip trailer checked out),
    inflating in bounded steps so that a bomb never sits in memory whole."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    size, start, pending = 0, b"", compressed
    while pending:
        part = inflater.decompress(pending, 2**24)
        start = (start + part[:keep])[:keep] if len(start) < keep else start
        size += len(part)
        pending = inflater.unconsumed_tail
    size += len(inflater.flush())
    return size, start, inflater.eof and not inflater.unused_data


class RawCall:
    """One POST over a bare socket, to watch an answer arrive byte by byte."""

    def __init__(self, server, body: bytes = b"{}") -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=GUARD_SECONDS)
        request = (f"POST {MOST_PROMOTED} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {FAKE_API_KEY}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        self.sock.sendall(request)
        self.received = b""

    def headers(self) -> dict:
        while b"\r\n\r\n" not in self.received:
            self.received += self.sock.recv(65536)
        head, self.received = self.received.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        return {"status": lines[0]} | dict(line.split(": ", 1) for line in lines[1:])

    def recv(self, timeout: float) -> bytes:
        if self.received:
            chunk, self.received = self.received, b""
            return chunk
        self.sock.settimeout(timeout)
        return self.sock.recv(65536)

    def closed_by_server(self) -> bool:
        """Read what is left; True once the server has closed (FIN or reset)."""
        try:
            while self.recv(timeout=GUARD_SECONDS):
                pass
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()


# -- DRIP ----------------------------------------------------------------------------------


def test_drip_sends_the_headers_at_once_then_the_valid_body_a_byte_at_a_time(server):
    server.inject(Fault.DRIP, interval=0.02)
    call = RawCall(server)
    try:
        headers = call.headers()
        assert headers["status"].startswith("HTTP/1.1 200")
        assert int(headers["Content-Length"]) > 1000
        chunks = []
        while sum(map(len, chunks)) < 40:
            chunks.append(call.recv(timeout=GUARD_SECONDS))
            assert chunks[-1], "the connection closed before the body was complete"
        assert len(chunks) >= 12  # in small pieces, however late this test reads them
        assert b"".join(chunks).startswith(b'{"code":0,"data":{"list":[{"shop_info":')
    finally:
        call.close()
    assert server.calls[0].fault == "DRIP" and server.calls[0].status == 200
    normal_page(server)


def test_drip_with_interval_0_delivers_the_whole_valid_answer(server):
    expected = normal_page(server)["data"]
    server.inject(Fault.DRIP, interval=0)
    assert post(server).json()["data"] == expected


def test_drip_by_default_waits_a_second_between_bytes(server):
    server.inject(Fault.DRIP)
    call = RawCall(server)
    try:
        call.headers()
        assert call.recv(timeout=GUARD_SECONDS) == b"{"
        with pytest.raises(TimeoutError):
            call.recv(timeout=0.3)  # well inside the 1 s between bytes
    finally:
        call.close()


def test_stop_is_prompt_while_a_body_drips():
    fake = FakeFastMoss().start()
    fake.inject(Fault.DRIP, interval=60)
    call = RawCall(fake)
    try:
        call.headers()
        assert call.recv(timeout=GUARD_SECONDS) == b"{"
        stopper = threading.Thread(target=fake.stop, daemon=True)
        stopper.start()
        stopper.join(GUARD_SECONDS)  # the next byte is a minute away: stop must not wait
        assert not stopper.is_alive()
        assert call.closed_by_server()
    finally:
        call.close()
        fake.stop()


# -- HUGE_BODY -----------------------------------------------------------------------------


def test_huge_body_is_a_valid_answer_of_exactly_the_size_asked(server):
    expected = normal_page(server)["data"]
    server.inject(Fault.HUGE_BODY, size=3_000_000)
    response, body = raw_answer(server)
    assert int(response.headers["Content-Length"]) == len(body) == 3_000_000
    assert json.loads(body)["data"] == expected
    assert body.count(b" ") > 2_900_000


def test_huge_body_is_100_mb_by_default_streamed_without_holding_it_in_memory(server):
    server.inject(Fault.HUGE_BODY)
    tracemalloc.start()
    try:
        response = post(server, stream=True)
        received = sum(len(chunk) for chunk in response.iter_content(2**20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert int(response.headers["Content-Length"]) == received == 100_000_000
    # The server and this client share the process: neither held the 100 MB.
    assert peak < 20_000_000


def test_a_huge_body_without_length_ends_when_the_connection_closes(server):
    expected = normal_page(server)["data"]
    server.inject(Fault.HUGE_BODY, size=3_000_000, length=False)
    response, body = raw_answer(server)
    assert "Content-Length" not in response.headers and response.headers["Connection"] == "close"
    assert len(body) == 3_000_000 and json.loads(body)["data"] == expected


def test_a_huge_body_smaller_than_the_answer_is_the_answer(server):
    expected = normal_page(server)["data"]
    server.inject(Fault.HUGE_BODY, size=10)
    assert post(server).json()["data"] == expected


def test_stop_is_prompt_while_a_huge_body_is_sent(capfd):
    fake = FakeFastMoss().start()
    fake.inject(Fault.HUGE_BODY, size=10**12)  # a terabyte: it is never sent whole
    call = RawCall(fake)
    try:
        assert call.headers()["Content-Length"] == str(10**12)
        assert call.recv(timeout=GUARD_SECONDS)  # then this client stops reading
        stopper = threading.Thread(target=fake.stop, daemon=True)
        stopper.start()
        stopper.join(GUARD_SECONDS)
        assert not stopper.is_alive()
        assert call.closed_by_server()  # after the rest of what was in flight
    finally:
        call.close()
        fake.stop()
    assert "Traceback" not in capfd.readouterr().err


# -- GZIP_BOMB and BAD_GZIP ----------------------------------------------------------------


def test_gzip_bomb_is_small_and_inflates_a_thousand_times_into_json_looking_bytes(server):
    server.inject(Fault.GZIP_BOMB, compressed_size=200_000)
    response, body = raw_answer(server)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) == len(body)
    assert 190_000 <= len(body) <= 200_000
    inflated, start, intact = inflate_counting(body)
    assert inflated > 900 * len(body)
    assert start.startswith(b'{"code":0,"message":"aaaa')
    assert intact  # a true gzip member: its CRC and length check out


def test_gzip_bomb_is_2_mb_by_default_inflating_to_gigabytes(server):
    server.inject(Fault.GZIP_BOMB)
    response, body = raw_answer(server)
    assert response.headers["Content-Encoding"] == "gzip"
    assert 1_900_000 <= len(body) <= 2_000_000
    inflated, _, _ = inflate_counting(body[:100_000])
    assert inflated > 90_000_000  # from a 20th of it: the whole is about 2 GB


def test_gzip_bomb_is_built_once_per_size(server):
    server.inject(Fault.GZIP_BOMB, times=2, compressed_size=50_000)
    assert raw_answer(server)[1] == raw_answer(server)[1]
    assert [call.fault for call in server.calls] == ["GZIP_BOMB", "GZIP_BOMB"]


def test_bad_gzip_labels_plain_json_as_gzip(server):
    expected = normal_page(server)["data"]
    server.inject(Fault.BAD_GZIP, times=2)
    response, body = raw_answer(server)
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(body)["data"] == expected  # the bytes are the answer, not gzip
    with pytest.raises(requests.exceptions.ContentDecodingError):
        post(server)


# -- DEEP_JSON -----------------------------------------------------------------------------


def test_deep_json_nests_100000_deep_by_default(server):
    server.inject(Fault.DEEP_JSON)
    response, body = raw_answer(server)
    assert body == b'{"code":0,"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(RecursionError):
        json.loads(body)


def test_deep_json_takes_its_depth(server):
    server.inject(Fault.DEEP_JSON, depth=3)
    assert post(server).json() == {"code": 0, "data": [[[]]]}


# -- REDIRECT ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_answers_the_status_to_the_request_path_by_default(server, status):
    server.inject(Fault.REDIRECT, status=status)
    response = post(server, allow_redirects=False)
    assert response.status_code == status
    assert response.headers["Location"] == MOST_PROMOTED
    assert FAKE_API_KEY not in response.text + str(response.headers)
    assert server.calls[0].fault == "REDIRECT"
    normal_page(server)


def test_redirect_is_302_by_default(server):
    server.inject(Fault.REDIRECT)
    assert post(server, allow_redirects=False).status_code == 302


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_to_its_own_path_is_a_loop_for_a_following_client(server, status):
    server.inject(Fault.REDIRECT, times=100, status=status)
    with pytest.raises(requests.exceptions.TooManyRedirects):
        post(server)  # requests follows 30 redirects, turning a 302's POST into a GET
    assert server.call_count == 31
    assert {call.fault for call in server.calls} == {"REDIRECT"}


def test_a_redirect_to_a_full_url_points_at_another_server(server):
    with FakeFastMoss() as elsewhere:
        target = elsewhere.base_url + MOST_PROMOTED
        server.inject(Fault.REDIRECT, times=2, status=308, location=target)
        assert post(server, allow_redirects=False).headers["Location"] == target
        post(server)
        assert elsewhere.call_count == 1 and elsewhere.calls[0].path == MOST_PROMOTED


# -- ECHO_AUTH -----------------------------------------------------------------------------


def test_echo_auth_repeats_the_authorization_header_in_an_api_error(server):
    server.inject(Fault.ECHO_AUTH)
    response = post(server)
    assert response.status_code == 200
    payload = response.json()
    assert payload["code"] == 10001 and payload["data"] is None and payload["request_id"]
    assert payload["message"] == f"invalid token: Bearer {FAKE_API_KEY}"
    assert FAKE_API_KEY not in repr(server.calls)
    assert FAKE_API_KEY not in post(server).text


def test_echo_auth_takes_the_error_code(server):
    server.inject(Fault.ECHO_AUTH, code=30001)
    payload = post(server).json()
    assert payload["code"] == 30001 and FAKE_API_KEY in payload["message"]


# -- FIELD ---------------------------------------------------------------------------------

HOSTILE_VALUES = [
    ("usd_gmv", "sNaN"),
    ("gmv_inc_rate", "1e1000005%"),
    ("units_sold", {"a": 1}),
    ("shop_info.name", "\u001b[31mred"),
    ("shop_info.seller_id", "x\u0000y"),
    ("shop_info.main_category.name", ["a", None]),
    ("affiliate_count", None),
    ("gmv", 1e308),
    ("brand_new_field", True),
]


def without(row: dict, path: str) -> dict:
    """A copy of ``row`` without the dotted ``path``."""
    row = json.loads(json.dumps(row))
    *parents, leaf = path.split(".")
    inner = row
    for name in parents:
        inner = inner[name]
    inner.pop(leaf, None)
    return row


def value_at(row: dict, path: str) -> object:
    for name in path.split("."):
        row = row[name]
    return row


@pytest.mark.parametrize("field, value", HOSTILE_VALUES)
def test_field_sets_one_field_of_every_row_and_leaves_the_rest(server, field, value):
    normal = normal_page(server)["data"]["list"]
    server.inject(Fault.FIELD, field=field, value=value)
    spoiled = post(server).json()["data"]["list"]
    assert [value_at(row, field) for row in spoiled] == [value] * 10
    assert [without(row, field) for row in spoiled] == [without(row, field) for row in normal]
    assert normal_page(server)["data"]["list"] == normal  # the fake's own rows are unchanged


def test_field_with_rank_changes_that_row_of_the_page_only(server):
    normal = normal_page(server, {"page": 2})["data"]["list"]
    server.inject(Fault.FIELD, page=2, field="shop_info.seller_id", value="7494006325298104216x",
                  rank=3)
    normal_page(server, {"page": 1})
    assert server.calls[-1].fault is None  # page 1 does not match
    spoiled = post(server, {"page": 2}).json()["data"]["list"]
    assert spoiled[2]["shop_info"]["seller_id"] == "7494006325298104216x"
    assert spoiled[:2] + spoiled[3:] == normal[:2] + normal[3:]
    assert without(spoiled[2], "shop_info.seller_id") == without(normal[2], "shop_info.seller_id")


def test_field_with_a_rank_past_the_page_changes_nothing(server):
    normal = normal_page(server)["data"]["list"]
    server.inject(Fault.FIELD, field="usd_gmv", value="x", rank=11)
    assert post(server).json()["data"]["list"] == normal


@pytest.mark.parametrize("text, parsed", [
    ("1e1000005", float("inf")),
    ("123456789012345678901234567890", 123456789012345678901234567890),
    ("-0", 0),
])
def test_field_raw_writes_json_text_as_is(server, text, parsed):
    server.inject(Fault.FIELD, field="usd_gmv", value=text, raw=True, rank=1)
    response = post(server)
    assert f'"usd_gmv":{text},' in response.text
    assert response.json()["data"]["list"][0]["usd_gmv"] == parsed


def test_field_raw_can_write_what_is_not_json(server):
    server.inject(Fault.FIELD, field="gmv", value="NaN", raw=True)
    response = post(server)
    assert response.text.count('"gmv":NaN,') == 10


def test_field_control_characters_go_out_escaped(server):
    server.inject(Fault.FIELD, field="shop_info.name", value="x\u0000y\u001b")
    _, body = raw_answer(server)
    assert b'"name":"x\\u0000y\\u001b"' in body and b"\x00" not in body


def test_field_leaves_an_error_answer_alone(server):
    server.inject(Fault.FIELD, field="usd_gmv", value="x")
    payload = post(server, {"pagesize": 0}).json()
    assert payload["code"] == 10001 and payload["data"] is None


# -- HTTP_STATUS's Retry-After ---------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [
    "100000", "Fri, 31 Dec 9999 23:59:59 GMT", "soon", "-5", "1e9", "", " 7 ", 0, 100000, -5,
    10**30,
])
def test_retry_after_goes_out_verbatim(server, retry_after):
    server.inject(Fault.HTTP_STATUS, status=429, retry_after=retry_after)
    call = RawCall(server)  # a socket: an HTTP library would strip the spaces
    try:
        headers = call.headers()
    finally:
        call.close()
    assert headers["status"].startswith("HTTP/1.1 429")
    assert headers["Retry-After"] == str(retry_after)


# -- all of them ---------------------------------------------------------------------------

NEW_FAULTS = [
    (Fault.DRIP, {"interval": 0}),
    (Fault.HUGE_BODY, {"size": 100_000}),
    (Fault.GZIP_BOMB, {"compressed_size": 10_000}),
    (Fault.BAD_GZIP, {}),
    (Fault.DEEP_JSON, {"depth": 10}),
    (Fault.REDIRECT, {"status": 307}),
    (Fault.ECHO_AUTH, {}),
    (Fault.FIELD, {"field": "usd_gmv", "value": "sNaN"}),
]


@pytest.mark.parametrize("fault, params", NEW_FAULTS, ids=[f.name for f, _ in NEW_FAULTS])
def test_each_new_fault_is_consumed_per_page_and_times_and_recorded(server, fault, params):
    normal = normal_page(server, {"page": 2})
    server.inject(fault, times=2, page=2, **params)
    normal_page(server, {"page": 1})
    for _ in range(2):
        response, body = raw_answer(server, {"page": 2})
        if fault is not Fault.ECHO_AUTH:
            assert FAKE_API_KEY.encode() not in body + str(response.headers).encode()
    assert normal_page(server, {"page": 2})["data"] == normal["data"]
    assert [call.fault for call in server.calls] == [None, None, fault.name, fault.name, None]
    assert [call.page for call in server.calls] == [2, 1, 2, 2, 2]
    assert FAKE_API_KEY not in repr(server.calls)


@pytest.mark.parametrize("fault, params", [
    (Fault.DRIP, {"interval": -1}),
    (Fault.DRIP, {"interval": "1"}),
    (Fault.HUGE_BODY, {"size": 0}),
    (Fault.HUGE_BODY, {"size": 1.5}),
    (Fault.GZIP_BOMB, {"compressed_size": 10}),
    (Fault.GZIP_BOMB, {"compressed_size": 10**9}),
    (Fault.BAD_GZIP, {"size": 1}),
    (Fault.DEEP_JSON, {"depth": 0}),
    (Fault.REDIRECT, {"status": 303}),
    (Fault.REDIRECT, {"status": 200}),
    (Fault.REDIRECT, {"location": "/a\r\nSet-Cookie: x=1"}),
    (Fault.REDIRECT, {"location": 5}),
    (Fault.ECHO_AUTH, {"code": 0}),
    (Fault.FIELD, {"field": "usd_gmv"}),
    (Fault.FIELD, {"value": 1}),
    (Fault.FIELD, {"field": "", "value": 1}),
    (Fault.FIELD, {"field": "shop_info..name", "value": 1}),
    (Fault.FIELD, {"field": "usd_gmv", "value": object()}),
    (Fault.FIELD, {"field": "usd_gmv", "value": 1, "rank": 0}),
    (Fault.FIELD, {"field": "usd_gmv", "value": 1, "raw": True}),
    (Fault.FIELD, {"field": "usd_gmv", "value": "1", "raw": "yes"}),
    (Fault.HTTP_STATUS, {"status": 429, "retry_after": 1.5}),
    (Fault.HTTP_STATUS, {"status": 429, "retry_after": True}),
    (Fault.HTTP_STATUS, {"status": 429, "retry_after": "1\r\nX-Evil: 1"}),
    (Fault.HTTP_STATUS, {"status": 429, "retry_after": "明天"}),
])
def test_inject_refuses_bad_parameters_of_the_new_faults(server, fault, params):
    with pytest.raises((TypeError, ValueError)):
        server.inject(fault, **params)


def test_a_first_ask_fault_meets_the_first_ask_of_each_page_only(server):
    server.inject(Fault.API_CODE, times=3, code=30003, first_ask=True)
    answers = [post(server, body).json()["code"] for body in
               ({"page": 1}, {"page": 1}, {"page": 2}, {"page": 1}, {"page": 2, "pagesize": 20}, {"page": 2})]
    assert answers == [30003, 0, 30003, 0, 30003, 0]
    assert [call.ask for call in server.calls] == [1, 2, 1, 3, 1, 2]
    assert normal_page(server, {"page": 3})  # three first asks used the fault up
    server.reset_calls()
    server.inject(Fault.API_CODE, code=30003, first_ask=True)
    assert post(server, {"page": 1}).json()["code"] == 30003  # asks are counted since reset_calls()


def test_a_later_ask_passes_a_first_ask_fault_by_for_the_next_fault(server):
    post(server, {"page": 1})
    server.inject(Fault.API_CODE, code=30003, first_ask=True)
    server.inject(Fault.API_CODE, code=40001)
    assert post(server, {"page": 1}).json()["code"] == 40001
    assert post(server, {"page": 2}).json()["code"] == 30003


def test_inject_refuses_a_first_ask_that_is_not_a_bool(server):
    with pytest.raises(ValueError, match="first_ask"):
        server.inject(Fault.API_CODE, code=30003, first_ask=1)


def test_a_call_takes_its_fault_as_it_arrives_not_when_it_is_answered(server):
    server.latency = 0.3
    earlier: dict = {}
    asking = threading.Thread(target=lambda: earlier.update(post(server).json()))
    asking.start()
    deadline = time.monotonic() + GUARD_SECONDS
    while server.call_count == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.inject(Fault.API_CODE, code=30003)  # queued while the first call waits for its answer
    later = post(server).json()
    asking.join(GUARD_SECONDS)
    assert (earlier["code"], later["code"]) == (0, 30003)
    assert [call.code for call in server.calls] == [0, 30003]
