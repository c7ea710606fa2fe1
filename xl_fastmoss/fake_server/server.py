"""A fake FastMoss Open API server: the three shop rankings, for tests, demos and benchmarks.

It implements /work/shared/api/README.md on its own (nothing here imports the client), and it
is strict where the contract is: a client bug shows up as an answer a test can see.

Request handling, in order::

    any method but POST ... HTTP 405, unless a REDIRECT is queued first (below)
    path not a ranking .... HTTP 404, code 20001
    bad or missing key .... HTTP 401           (unauthorized calls never consume a fault)
    queued fault .......... whatever the fault says (see ``Fault``)
    invalid body .......... HTTP 200, code 10001, the message names the field
    period not completed .. code 0, empty list, total 0
    otherwise ............. code 0, one page of the ranking from ``data.ranking``

``latency`` is how long every call takes to be answered, from its request read to its answer
sent, in the handler's own thread, so concurrent calls overlap. A ranking's page is made during
that wait, as a vendor's latency includes its own work: the fake's time spent encoding answers
is not added to the latency (unless making the answer takes longer than the latency). A call
takes its queued fault (if any) as it arrives, so faults meet calls in the order of ``calls``.
Every call is recorded in ``calls``; the Authorization header never is, and no answer repeats
it except ECHO_AUTH's, whose point that is.

Faults for hostile-input tests (parameters, then defaults)::

    DRIP(interval=1.0) ........... headers at once, then the valid body one byte per interval
    HUGE_BODY(size=100_000_000, length=True)
                                   a valid code-0 answer padded with spaces to ``size`` bytes,
                                   streamed in 1 MiB chunks under its true Content-Length;
                                   ``length=False`` sends no Content-Length and ends the body
                                   by closing the connection, so only counting tells its size
    GZIP_BOMB(compressed_size=2_000_000)
                                   Content-Encoding gzip: about ``compressed_size`` bytes that
                                   inflate about 1000 times, into one long JSON-looking string
    BAD_GZIP ..................... Content-Encoding gzip on the plain JSON answer
    DEEP_JSON(depth=100_000) ..... {"code":0,"data":[[[...]]]} nested ``depth`` deep
    REDIRECT(status=302, location=the request's path)
                                   the HTTP ``status`` to ``location`` (a path or a full URL);
                                   its own path makes a loop; answers any method, since a
                                   redirecting front end does, so a client that turns a 302
                                   into a GET is redirected again
    ECHO_AUTH(code=10001) ........ HTTP 200 with API error ``code`` whose message repeats the
                                   Authorization header received: "invalid token: Bearer ..."
    FIELD(field, value, rank=None, raw=False)
                                   the normal answer with ``field`` (a dotted path in a row:
                                   "usd_gmv", "shop_info.seller_id") set to ``value`` in the
                                   page's row ``rank`` (1-based) or in every row; ``raw=True``
                                   writes a string ``value`` as JSON text as is ("1e1000005")
    HTTP_STATUS(status, retry_after)
                                   ``retry_after`` is any string or whole number, sent verbatim

Any fault queued with ``first_ask=True`` meets only the first ask of each page (a page is its
path and body; asks are counted since ``reset_calls()``), and a later ask of that page is
answered as if it were not queued: ``inject(Fault.API_CODE, times=n, code=30003,
first_ask=True)`` is an API that throttles the first ask of each of ``n`` pages.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hmac
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeGuard
from urllib.parse import urlsplit

from . import data

FAKE_API_KEY = "fake-key-for-tests"

#: Shanghai has kept UTC+8 without daylight saving since 1991; a fixed offset spares Windows
#: users the tzdata package that zoneinfo would need there.
VENDOR_TIME_ZONE = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

MAX_ROWS = 500
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
DATE_TYPES = ("day", "week", "month")

API_MESSAGES = {
    10001: "parameter error",
    20001: "resource not found",
    30001: "no permission",
    30002: "data limit exceeded",
    30003: "access frequency limit exceeded",
    40001: "service error",
}
HTTP_FAULT_STATUSES = (401, 403, 429, 500, 502, 503, 504)
_HTTP_REASONS = {
    401: "invalid api key", 403: "forbidden", 429: "too many requests",
    500: "internal server error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Time-out",
}
#: Gateways in front of real APIs answer these with HTML, not the API's JSON.
_HTML_STATUSES = (502, 503, 504)


class Fault(enum.Enum):
    """Misbehaviours a test can queue with ``FakeFastMoss.inject`` (see the module docstring)."""

    API_CODE = "api_code"          # HTTP 200, data null, the error ``code`` given (``message`` text optional)
    HTTP_STATUS = "http_status"    # the HTTP ``status`` given, optional ``retry_after`` verbatim
    HANG = "hang"                  # sleep ``seconds`` (default 30), then answer normally
    TRUNCATED = "truncated"        # full Content-Length, half the bytes, then close
    NOT_JSON = "not_json"          # HTTP 200 text/html
    MISSING_DATA = "missing_data"  # code 0 and no ``data``
    MISSING_LIST = "missing_list"  # ``data`` without ``list``
    EMPTY_LIST = "empty_list"      # code 0, list [], total 0
    SHORT_PAGE = "short_page"      # half the rows asked although more exist
    RESET = "reset"                # close the connection without answering
    DRIP = "drip"                  # the valid body one byte every ``interval`` s (default 1.0)
    HUGE_BODY = "huge_body"        # a valid answer padded to ``size`` bytes (default 100 MB)
    GZIP_BOMB = "gzip_bomb"        # ``compressed_size`` gzip bytes (default 2 MB) -> ~2 GB
    BAD_GZIP = "bad_gzip"          # Content-Encoding gzip on bytes that are not gzip
    DEEP_JSON = "deep_json"        # JSON nested ``depth`` deep (default 100000)
    REDIRECT = "redirect"          # HTTP ``status`` (301 302 307 308) to ``location``
    ECHO_AUTH = "echo_auth"        # API error ``code`` whose message repeats the Authorization
    FIELD = "field"                # one row field (dotted ``field``) set to ``value``


# fault -> (required parameters, optional parameters)
_FAULT_PARAMS = {
    Fault.API_CODE: ({"code"}, {"message"}),
    Fault.HTTP_STATUS: ({"status"}, {"retry_after"}),
    Fault.HANG: (set(), {"seconds"}),
    Fault.DRIP: (set(), {"interval"}),
    Fault.HUGE_BODY: (set(), {"size", "length"}),
    Fault.GZIP_BOMB: (set(), {"compressed_size"}),
    Fault.DEEP_JSON: (set(), {"depth"}),
    Fault.REDIRECT: (set(), {"status", "location"}),
    Fault.ECHO_AUTH: (set(), {"code"}),
    Fault.FIELD: ({"field", "value"}, {"rank", "raw"}),
}
REDIRECT_STATUSES = (301, 302, 307, 308)
#: GZIP_BOMB sizes the fake builds: beyond this, building the bomb itself would take long.
MAX_BOMB_SIZE = 20_000_000


@dataclass
class CallRecord:
    """One request the fake received.

    ``body`` is the parsed JSON object (None when the body was not one). ``page`` and
    ``pagesize`` are the values asked, the defaults (1, 10) when absent, None when not
    integers. ``status`` and ``code`` are filled in when the answer goes out: None while the
    call is in flight, ``status`` None for a call dropped without an answer, ``code`` None
    for an answer that is not API JSON. ``fault`` is the name of the fault applied, if any.
    ``ask`` counts the asks of this page (path and body) since ``reset_calls()``: 1 the first.
    """

    path: str
    body: dict | None
    page: int | None
    pagesize: int | None
    status: int | None = None
    code: int | None = None
    authorized: bool = False
    fault: str | None = None
    ask: int = 1


@dataclass
class _QueuedFault:
    fault: Fault
    times: int
    page: int | None
    params: dict = field(default_factory=dict)
    first_ask: bool = False


class FakeFastMoss:
    """A threaded fake of the FastMoss shop-ranking API on a local port.

    Parameters
    ----------
    api_key : the only key accepted as ``Authorization: Bearer <key>``.
    host, port : where to listen; port 0 picks a free port (see ``base_url``).
    today : the vendor's "today" (Asia/Shanghai); periods from it on are not yet published.
        None follows the clock. May also be set later through the ``today`` attribute.

    ``revision`` (an int, default 0) stands for the vendor's data moving on: bump it and every
    ranking answers with other numbers for the same question, as after a vendor-side update.

    Use ``with FakeFastMoss() as server:`` or ``server = FakeFastMoss().start()`` ...
    ``server.stop()``.
    """

    def __init__(self, api_key: str = FAKE_API_KEY, host: str = "127.0.0.1", port: int = 0,
                 today: dt.date | None = None) -> None:
        if not api_key:
            raise ValueError("api_key must be a non-empty string")
        self._expected_auth = f"Bearer {api_key}".encode("utf-8")
        self._address = (host, port)
        self.today = today
        self.revision = 0
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []
        self._asks: dict[tuple[str, str], int] = {}
        self._faults: list[_QueuedFault] = []
        self._latency = 0.0
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._httpd else "not started"
        return f"<FakeFastMoss {where}>"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeFastMoss:
        """Bind, listen and serve in a daemon thread; return self."""
        if self._httpd is not None:
            raise RuntimeError("the fake server is already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(self._address, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name="fake-fastmoss", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly: wake sleeping handlers, close the listener and open connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever_blocking(self) -> None:
        """Serve until ``stop()`` is called from another thread or Ctrl-C is pressed."""
        if self._httpd is None:
            self.start()
        try:
            # A timed wait, because an untimed one ignores Ctrl-C on Windows.
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> FakeFastMoss:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port listened on (the one picked when the constructor had 0)."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server, without a trailing slash."""
        host = self._address[0]
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    # -- faults ------------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds added to every call (default 0)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"latency must be a number of seconds >= 0, not {seconds!r}")
        self._latency = float(seconds)

    def inject(self, fault: Fault, times: int = 1, *, page: int | None = None,
               first_ask: bool = False, **params: object) -> None:
        """Queue ``fault`` for the next ``times`` authorized ranking calls.

        With ``page``, only calls asking for that page match; with ``first_ask``, only the
        first ask of each page (path and body) since ``reset_calls()``. Faults are taken in the order
        they were queued. Parameters: ``API_CODE(code=30003)``,
        ``HTTP_STATUS(status=429, retry_after=2)``, ``HANG(seconds=30)``, and those of the
        hostile-input faults in the module docstring; the others take none.
        """
        if not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault, not {fault!r}")
        if not _is_int(times) or times < 1:
            raise ValueError(f"times must be an int >= 1, not {times!r}")
        if page is not None and (not _is_int(page) or page < 1):
            raise ValueError(f"page must be an int >= 1, not {page!r}")
        if not isinstance(first_ask, bool):
            raise ValueError(f"first_ask must be True or False, not {first_ask!r}")
        _check_fault_params(fault, params)
        with self._lock:
            self._faults.append(_QueuedFault(fault, times, page, dict(params), first_ask))

    def clear_faults(self) -> None:
        """Drop every queued fault and set latency back to 0."""
        with self._lock:
            self._faults.clear()
        self._latency = 0.0

    def _take_fault(self, call: CallRecord, only: Fault | None = None) -> _QueuedFault | None:
        """The first queued fault matching ``call``'s page and ask, consumed once; with
        ``only``, None unless that first fault is ``only``."""
        with self._lock:
            for queued in self._faults:
                if (queued.page is None or queued.page == call.page) and (not queued.first_ask or call.ask == 1):
                    if only is not None and queued.fault is not only:
                        return None
                    queued.times -= 1
                    if queued.times == 0:
                        self._faults.remove(queued)
                    return queued
        return None

    # -- call log ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[CallRecord]:
        """Every request received since the last ``reset_calls()``, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def call_count(self) -> int:
        """How many requests were received since the last ``reset_calls()``."""
        with self._lock:
            return len(self._calls)

    def reset_calls(self) -> None:
        """Forget the recorded calls (and so which pages were asked before)."""
        with self._lock:
            self._calls.clear()
            self._asks.clear()

    def _record(self, record: CallRecord) -> None:
        page = (record.path, json.dumps(record.body, sort_keys=True))
        with self._lock:
            self._calls.append(record)
            record.ask = self._asks[page] = self._asks.get(page, 0) + 1

    # -- used by the handler -----------------------------------------------------------------

    def _is_authorized(self, header: str | None) -> bool:
        if header is None:
            return False
        return hmac.compare_digest(header.encode("utf-8", "surrogateescape"), self._expected_auth)

    def _pause(self, seconds: float) -> bool:
        """Sleep, cut short by ``stop()``; True when the server is stopping."""
        if seconds > 0:
            return self._stopping.wait(seconds)
        return self._stopping.is_set()

    def _vendor_today(self) -> dt.date:
        return self.today or dt.datetime.now(VENDOR_TIME_ZONE).date()


def serve(host: str, port: int, api_key: str = FAKE_API_KEY, latency: float = 0.0) -> None:
    """Run the fake server in the foreground until Ctrl-C, printing its URL and key."""
    server = FakeFastMoss(api_key=api_key, host=host, port=port)
    server.latency = latency
    server.start()
    print(f"Fake FastMoss listening on {server.base_url}", flush=True)
    print(f"API key: {api_key}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever_blocking()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


# -- HTTP plumbing -----------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeFastMoss) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._resets: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name, which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = host if isinstance(host, str) else bytes(host).decode()

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def mark_reset(self, request: socket.socket) -> None:
        # Linger 0 makes close() send RST; shutdown_request then skips its FIN.
        request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._connections_lock:
            self._resets.add(request)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
            reset = request in self._resets
            self._resets.discard(request)
        if reset:
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # A client hanging up mid-answer is business as usual for a fault-injecting server,
        # and so is a socket closed under a streaming handler by stop().
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or (
                isinstance(error, OSError) and self.fake._stopping.is_set()):
            return
        super().handle_error(request, client_address)


@dataclass(frozen=True)
class _ReadyAnswer:
    asked: tuple[dt.date, int]
    status: int
    code: int | None
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK, about 40 ms on every keep-alive call.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def version_string(self) -> str:
        return "FakeFastMoss/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self._handle(post=True)

    def do_GET(self) -> None:
        self._handle(post=False)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_HEAD(self) -> None:
        self._handle(post=False, head=True)

    def _handle(self, post: bool, head: bool = False) -> None:
        fake = self.server.fake
        raw = self._read_body()
        body = _json_object(raw)
        path = urlsplit(self.path).path
        self._call = CallRecord(
            path=path, body=body,
            page=_field_or_default(body, "page", 1),
            pagesize=_field_or_default(body, "pagesize", DEFAULT_PAGE_SIZE),
            authorized=fake._is_authorized(self.headers.get("Authorization")),
        )
        fake._record(self._call)
        read_at = time.monotonic()
        spec = data.RANKINGS.get(path)
        # A call takes its fault as it arrives, in the order of the call log: after its latency,
        # the order would be whichever handler thread woke first.
        queued = None
        if spec is not None and self._call.authorized:
            queued = fake._take_fault(self._call, only=None if post else Fault.REDIRECT)
        ready = (self._ready_answer(spec, body) if post and queued is None and fake.latency and self._call.authorized
                 else None)
        if fake._pause(fake.latency - (time.monotonic() - read_at)):
            return self._drop()
        if not post:
            if queued is not None:
                self._call.fault = queued.fault.name
                return self._send_redirect(queued.params, head)
            return self._send_json(405, _error(405, "method not allowed"),
                                   headers={"Allow": "POST"}, head=head)
        if spec is None:
            return self._send_json(404, _error(20001, API_MESSAGES[20001]))
        if not self._call.authorized:
            return self._send_json(401, _error(401, "invalid api key"))
        if queued is None:
            if ready is not None and ready.asked == (fake._vendor_today(), fake.revision):
                self._call.status, self._call.code = ready.status, ready.code
                return self._send(ready.status, ready.body, _JSON_TYPE)
            return self._send_json(*_answer(spec, body, fake._vendor_today(), fake.revision))
        self._call.fault = queued.fault.name
        self._apply_fault(queued, spec, body)

    def _ready_answer(self, spec: data.RankingSpec | None, body: object) -> _ReadyAnswer | None:
        """The answer a call with no fault will get, made while its latency passes; it is sent
        only if the vendor's day and the data's revision are still those it was made for."""
        if spec is None:
            return None
        fake = self.server.fake
        asked = (fake._vendor_today(), fake.revision)
        status, payload = _answer(spec, body, *asked)
        return _ReadyAnswer(asked, status, payload["code"], _encode(payload))

    def _apply_fault(self, queued: _QueuedFault, spec: data.RankingSpec, body: object) -> None:
        fault, params = queued.fault, queued.params
        fake = self.server.fake
        if fault is Fault.RESET:
            return self._drop()
        if fault is Fault.API_CODE:
            return self._send_json(200, _error(params["code"], params.get("message", API_MESSAGES[params["code"]])))
        if fault is Fault.HTTP_STATUS:
            return self._send_http_fault(params["status"], params.get("retry_after"))
        if fault is Fault.NOT_JSON:
            return self._send(200, b"<html>Bad gateway</html>", "text/html")
        if fault is Fault.REDIRECT:
            return self._send_redirect(params)
        if fault is Fault.ECHO_AUTH:
            # On purpose, the one answer that repeats the key: some APIs do.
            received = self.headers.get("Authorization", "")
            return self._send_json(200, _error(params.get("code", 10001),
                                               f"invalid token: {received}"))
        if fault is Fault.DEEP_JSON:
            depth = params.get("depth", 100_000)
            self._call.code = 0
            return self._send(200, b'{"code":0,"data":' + b"[" * depth + b"]" * depth + b"}",
                              _JSON_TYPE)
        if fault is Fault.GZIP_BOMB:
            self._call.code = 0
            return self._send(200, _gzip_bomb(params.get("compressed_size", 2_000_000)),
                              _JSON_TYPE, {"Content-Encoding": "gzip"})
        if fault is Fault.HANG and fake._pause(params.get("seconds", 30)):
            return self._drop()
        status, payload = _answer(spec, body, fake._vendor_today(), fake.revision)
        self._call.status, self._call.code = status, payload.get("code")
        if fault is Fault.TRUNCATED:
            return self._send_truncated(status, payload)
        if fault is Fault.BAD_GZIP:
            return self._send(status, _encode(payload), _JSON_TYPE, {"Content-Encoding": "gzip"})
        if fault is Fault.DRIP:
            return self._send_drip(status, _encode(payload), params.get("interval", 1.0))
        if fault is Fault.HUGE_BODY:
            return self._send_padded(status, _encode(payload), params.get("size", 100_000_000),
                                     params.get("length", True))
        if fault is Fault.FIELD and payload["code"] == 0:
            return self._send(status, _with_field(payload, **params), _JSON_TYPE)
        if payload["code"] == 0:
            _spoil(fault, payload)
        self._send_json(status, payload)

    def _send_redirect(self, params: dict, head: bool = False) -> None:
        location = params.get("location", urlsplit(self.path).path)
        status = params.get("status", 302)
        self._send_json(status, _error(status, f"moved to {location}"),
                        headers={"Location": location}, head=head)

    def _send_drip(self, status: int, body: bytes, interval: float) -> None:
        self._send_head(status, _JSON_TYPE, len(body))
        for i in range(len(body)):
            if i and self.server.fake._pause(interval):
                return self._drop()
            self.wfile.write(body[i:i + 1])

    def _send_padded(self, status: int, body: bytes, size: int, length: bool = True) -> None:
        """``body`` (a JSON object) with spaces before its closing brace, ``size`` bytes in all
        (or ``body`` alone when it is longer), written a chunk at a time; without ``length``,
        under no Content-Length, the connection closing after it."""
        padding = max(0, size - len(body))
        if length:
            self._send_head(status, _JSON_TYPE, len(body) + padding)
        else:
            self._call.status = status
            self.close_connection = True
            self.send_response(status)
            self.send_header("Content-Type", _JSON_TYPE)
            self.send_header("Connection", "close")
            self.end_headers()
        self.wfile.write(body[:-1])
        while padding:
            if self.server.fake._stopping.is_set():
                return self._drop()
            chunk = _SPACES[:padding]  # a memoryview: no copy
            self.wfile.write(chunk)
            padding -= len(chunk)
        self.wfile.write(body[-1:])

    def _send_http_fault(self, status: int, retry_after: object) -> None:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        reason = _HTTP_REASONS[status]
        if status in _HTML_STATUSES:
            html = f"<html><head><title>{status} {reason}</title></head>" \
                   f"<body><h1>{status} {reason}</h1></body></html>"
            return self._send(status, html.encode(), "text/html", headers)
        self._send_json(status, _error(status, reason), headers=headers)

    def _send_truncated(self, status: int, payload: dict) -> None:
        encoded = _encode(payload)
        self.close_connection = True
        self._send_head(status, _JSON_TYPE, len(encoded))
        self.wfile.write(encoded[: len(encoded) // 2])
        self.wfile.flush()

    def _send_json(self, status: int, payload: dict, headers: dict | None = None,
                   head: bool = False) -> None:
        self._call.status, self._call.code = status, payload.get("code")
        self._send(status, _encode(payload), _JSON_TYPE, headers, head)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None,
              head: bool = False) -> None:
        self._send_head(status, content_type, len(body), headers)
        if not head:
            self.wfile.write(body)

    def _send_head(self, status: int, content_type: str, length: int,
                   headers: dict | None = None) -> None:
        self._call.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _drop(self) -> None:
        self.close_connection = True
        self.server.mark_reset(self.connection)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # The fake reads Content-Length bodies only; anything else ends the connection.
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length else b""


# -- answers -----------------------------------------------------------------------------------


def _answer(spec: data.RankingSpec, body: object, today: dt.date,
            revision: int = 0) -> tuple[int, dict]:
    """The (HTTP status, payload) a well-behaved server gives to an authorized call."""
    try:
        ask = _validate(spec, body, today, revision)
    except _ParamError as error:
        return 200, _error(10001, f"{API_MESSAGES[10001]}: {error}")
    query, sort_field, page, pagesize = ask
    echo_type, echo_value = query.date_type, query.date_value
    if _is_published(query.date_type, query.date_value, today):
        rows = data.ranking(query, sort_field)
        page_rows = list(rows[(page - 1) * pagesize: page * pagesize])
        total = len(rows)
        if data.is_example(query):
            echo_type, echo_value = data.example_period()
    else:
        page_rows, total = [], 0
    return 200, _envelope({"list": page_rows, "total": total,
                           "date_type": echo_type, "date_value": echo_value})


def _spoil(fault: Fault, payload: dict) -> None:
    if fault is Fault.MISSING_DATA:
        del payload["data"]
    elif fault is Fault.MISSING_LIST:
        del payload["data"]["list"]
    elif fault is Fault.EMPTY_LIST:
        payload["data"].update(list=[], total=0)
    elif fault is Fault.SHORT_PAGE:
        rows = payload["data"]["list"]
        payload["data"]["list"] = rows[: len(rows) // 2]


def _with_field(payload: dict, field: str, value: object, rank: int | None = None,
                raw: bool = False) -> bytes:
    """``payload`` encoded with ``field`` (dotted) set to ``value`` in row ``rank`` or in every
    row; the cached rows themselves are copied, never changed."""
    marker = f"@@raw-{uuid.uuid4().hex}@@"
    rows = payload["data"]["list"]
    for position, row in enumerate(rows):
        if rank is not None and position != rank - 1:
            continue
        row = rows[position] = dict(row)
        *parents, leaf = field.split(".")
        for name in parents:
            inner = row.get(name)
            row[name] = dict(inner) if isinstance(inner, dict) else {}
            row = row[name]
        row[leaf] = marker if raw else value
    encoded = _encode(payload)
    if raw:
        encoded = encoded.replace(json.dumps(marker).encode(), str(value).encode("utf-8"))
    return encoded


@functools.lru_cache(maxsize=4)
def _gzip_bomb(compressed_size: int) -> bytes:
    """A gzip member of about ``compressed_size`` bytes that inflates about 1000 times.

    One 1 MiB run of "a" is compressed once, after a full flush, so that its compressed block
    can be repeated as often as the size asks; the CRC is still the true one.
    """
    prefix, run, suffix = b'{"code":0,"message":"', b"a" * 2**20, b'","data":null}'
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 9, zlib.Z_RLE)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(run) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(suffix) + compressor.flush(zlib.Z_FINISH)
    repeats = max(1, (compressed_size - len(head) - len(tail) - 18) // len(block))
    crc = zlib.crc32(prefix)
    for _ in range(repeats):
        crc = zlib.crc32(run, crc)
    crc = zlib.crc32(suffix, crc)
    inflated = len(prefix) + repeats * len(run) + len(suffix)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime
    trailer = struct.pack("<II", crc, inflated % 2**32)
    return b"".join((header, head, block * repeats, tail, trailer))


_JSON_TYPE = "application/json; charset=utf-8"
_SPACES = memoryview(b" " * 2**20)


def _envelope(payload_data: dict) -> dict:
    return {"code": 0, "data": payload_data, "message": "", "timestamp": int(time.time()),
            "request_id": str(uuid.uuid4())}


def _error(code: int, message: str) -> dict:
    return {"code": code, "message": message, "data": None, "timestamp": int(time.time()),
            "request_id": str(uuid.uuid4())}


def _encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_object(raw: bytes) -> dict | None:
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _field_or_default(body: dict | None, name: str, default: int) -> int | None:
    if body is None:
        return None
    value = body.get(name, default)
    return value if _is_int(value) else None


# -- validation --------------------------------------------------------------------------------


class _ParamError(Exception):
    """A body the API would refuse with 10001; the message starts with the field's name."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name} {problem}")
        self.field_name = field_name


_TOP_LEVEL_FIELDS = ("filter", "orderby", "page", "pagesize")
_ABSENT = object()


def _validate(spec: data.RankingSpec, body: object, today: dt.date,
              revision: int = 0) -> tuple[data.Query, str, int, int]:
    if not isinstance(body, dict):
        raise _ParamError("body", "must be a JSON object")
    _refuse_unknown(body, _TOP_LEVEL_FIELDS, "", "a field of the request body")
    filters = body.get("filter", {})
    if not isinstance(filters, dict):
        raise _ParamError("filter", "must be an object")
    _refuse_unknown(filters, spec.filters, "filter.", f"a filter of {spec.name}")
    date_type, date_value = _period(filters.get("date_info", _ABSENT), today)
    query = data.Query(
        endpoint=spec.name, date_type=date_type, date_value=date_value,
        region=_choice(filters, "region", spec.regions, spec),
        category_id=_choice(filters, "category_id", tuple(data.CATEGORIES), spec),
        shop_type=_choice(filters, "shop_type", (1, 2), spec),
        is_cross_border=_choice(filters, "is_cross_border", (0, 1), spec),
        revision=revision,
    )
    sort_field = _sort_field(spec, body.get("orderby", _ABSENT))
    page = _bounded_int(body, "page", 1, 1, None)
    pagesize = _bounded_int(body, "pagesize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    if page * pagesize > MAX_ROWS:
        raise _ParamError("page * pagesize", f"must be at most {MAX_ROWS} "
                                             f"(got page {page}, pagesize {pagesize})")
    return query, sort_field, page, pagesize


def _refuse_unknown(obj: dict, allowed: tuple[str, ...], prefix: str, what: str) -> None:
    for key in obj:
        if key not in allowed:
            raise _ParamError(f"{prefix}{key}", f"is not {what}")


def _choice(filters: dict, name: str, allowed: tuple, spec: data.RankingSpec):
    if name not in filters:
        return None
    value = filters[name]
    if name == "region":
        valid = isinstance(value, str) and value in allowed
    else:
        valid = _is_int(value) and value in allowed
    if not valid:
        shown = ", ".join(map(str, allowed))
        if name == "category_id":
            shown = f"a category id {min(allowed)}..{max(allowed)}"
        raise _ParamError(f"filter.{name}",
                          f"must be one of {shown} for {spec.name}, not {_show(value)}")
    return value


def _sort_field(spec: data.RankingSpec, orderby: object) -> str:
    if orderby is _ABSENT or orderby == []:
        return spec.default_sort
    if not isinstance(orderby, list):
        raise _ParamError("orderby", 'must be a list like [{"field": ..., "order": "desc"}]')
    for i, item in enumerate(orderby):
        name = f"orderby[{i}]"
        if not isinstance(item, dict):
            raise _ParamError(name, 'must be an object like {"field": ..., "order": "desc"}')
        _refuse_unknown(item, ("field", "order"), f"{name}.", "a field of an orderby entry")
        if item.get("field") not in spec.sort_fields:
            raise _ParamError(f"{name}.field", f"must be one of {', '.join(spec.sort_fields)} "
                                               f"for {spec.name}, not {_show(item.get('field'))}")
        if item.get("order", "desc") != "desc":
            raise _ParamError(f"{name}.order", f"must be desc, not {_show(item.get('order'))}")
    return orderby[0]["field"]


def _bounded_int(body: dict, name: str, default: int, low: int, high: int | None) -> int:
    value = body.get(name, default)
    if not _is_int(value) or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"from {low} to {high}"
        raise _ParamError(name, f"must be an integer {bounds}, not {_show(value)}")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if _jsonable(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# -- periods -----------------------------------------------------------------------------------


def _period(date_info: object, today: dt.date) -> tuple[str, str]:
    if date_info is _ABSENT:
        return "day", (today - dt.timedelta(days=1)).isoformat()
    if not isinstance(date_info, dict):
        raise _ParamError("filter.date_info",
                          'must be an object like {"type": "day", "value": ...}')
    _refuse_unknown(date_info, ("type", "value"), "filter.date_info.", "a field of date_info")
    date_type = date_info.get("type")
    if date_type not in DATE_TYPES:
        raise _ParamError("filter.date_info.type",
                          f"must be day, week or month, not {_show(date_type)}")
    value = date_info.get("value")
    if not isinstance(value, str) or data.period_start(date_type, value) is None:
        forms = {"day": "YYYY-MM-DD", "week": "YYYY-WW (ISO week, zero-padded)", "month": "YYYY-MM"}
        raise _ParamError("filter.date_info.value",
                          f"must be a valid {date_type} written {forms[date_type]}, "
                          f"not {_show(value)}")
    return date_type, value


def _is_published(date_type: str, value: str, today: dt.date) -> bool:
    """Whether the period ended before the vendor's ``today`` (only those have data)."""
    if date_type == "day":
        current = today
    elif date_type == "week":
        current = today - dt.timedelta(days=today.weekday())
    else:
        current = today.replace(day=1)
    start = data.period_start(date_type, value)
    return start is not None and start < current


def _check_fault_params(fault: Fault, params: dict) -> None:
    required, optional = _FAULT_PARAMS.get(fault, (set(), set()))
    missing, unknown = required - params.keys(), params.keys() - required - optional
    if missing or unknown:
        raise TypeError(f"{fault.name} needs {sorted(required) or 'no parameters'}"
                        f"{f' (optional {sorted(optional)})' if optional else ''}; "
                        f"got {sorted(params)}")
    for name, value in params.items():
        problem = _param_problem(fault, name, value, params)
        if problem:
            raise ValueError(f"{fault.name}: {name} must be {problem}, not {value!r}")


def _param_problem(fault: Fault, name: str, value: object, params: dict) -> str | None:
    """What a fault parameter must be, when ``value`` is not that; None when it is fine."""
    if name == "code" and not (_is_int(value) and value in API_MESSAGES):
        return f"one of {sorted(API_MESSAGES)}"
    if name == "status":
        allowed = REDIRECT_STATUSES if fault is Fault.REDIRECT else HTTP_FAULT_STATUSES
        return None if _is_int(value) and value in allowed else f"one of {allowed}"
    if name in ("retry_after", "location"):
        # Sent verbatim as a header: CR or LF would end it, http.server writes Latin-1 only.
        fits = (_is_int(value) and name == "retry_after") or (
            isinstance(value, str) and "\r" not in value and "\n" not in value
            and _is_latin_1(value))
        return None if fits else "a whole number or a Latin-1 string without CR or LF"
    if name in ("seconds", "interval") and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0):
        return "a number >= 0"
    if name == "size" and not (_is_int(value) and value >= 1):
        return "a whole number of bytes >= 1"
    if name == "compressed_size" and not (_is_int(value) and 1_000 <= value <= MAX_BOMB_SIZE):
        return f"a whole number of bytes from 1000 to {MAX_BOMB_SIZE}"
    if name in ("depth", "rank") and not (_is_int(value) and value >= 1):
        return "a whole number >= 1"
    if name == "field" and not (isinstance(value, str) and all(value.split("."))):
        return 'a dotted path inside a row, like "usd_gmv" or "shop_info.name"'
    if name in ("raw", "length") and not isinstance(value, bool):
        return "True or False"
    if name == "value":
        if params.get("raw"):
            return None if isinstance(value, str) and value else "JSON text (a string)"
        if not _jsonable(value):
            return "a JSON value (str, number, bool, None, list or dict)"
    return None


def _is_latin_1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
