"""One page over HTTP: send, classify the answer, retry what is transient.

Every failure becomes an error of :mod:`xl_fastmoss.errors`; nothing here knows about tables.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
import tenacity

from . import errors
from .cache import ResponseCache
from .parse import Page, read_envelope
from .settings import Settings
from .throttle import AdaptiveLimiter

# The longest wait between two attempts, whatever the backoff has grown to.
_MAX_BACKOFF = 8.0


@dataclass
class PageAnswer:
    page: Page
    from_cache: bool
    fetched_at: dt.datetime
    #: Set when the API failed and an older cached copy stands in: what failed.
    stale_reason: str | None = None


class Transport:
    """Answers page requests from the cache or the API, under the limiter, with bounded retries."""

    def __init__(self, settings: Settings, session: requests.Session, cache: ResponseCache,
                 limiter: AdaptiveLimiter, *, sleep: Callable[[float], None] = time.sleep,
                 on_call: Callable[[], None] = lambda: None):
        self.settings = settings
        self.session = session
        self.cache = cache
        self.limiter = limiter
        self._sleep = sleep
        self._on_call = on_call

    def post(self, path: str, body: dict, *, refresh: bool = False) -> PageAnswer:
        """The page answered for ``body``: from the cache unless ``refresh``, else from the API.

        When the API fails and an older copy is cached, that copy comes back with
        ``stale_reason`` saying what failed.
        """
        url = self.settings.base_url.rstrip("/") + path
        key = self.cache.key(url, body)
        cached = self.cache.get(key)
        if cached is not None and not refresh and self.cache.is_fresh(cached):
            return PageAnswer(_page_of(cached), True, _created_at(cached))
        try:
            return self._fetch(url, body, key, refresh)
        except errors.FastMossError as error:
            stale = self.cache.get(key) or cached
            if stale is None:
                raise
            return PageAnswer(_page_of(stale), True, _created_at(stale), stale_reason=error.message)

    def _fetch(self, url: str, body: dict, cache_key: str, refresh: bool) -> PageAnswer:
        api_key = self.settings.require_key()
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, errors.FastMossError) and e.retryable),
            stop=(tenacity.stop_after_attempt(self.settings.max_retries + 1)
                  | tenacity.stop_after_delay(self.settings.retry_deadline)),
            wait=self._backoff,
            sleep=self._sleep,
            reraise=True,
        )
        asked_at = dt.datetime.now(dt.timezone.utc)
        return retrying(self._send_once, url, body, api_key, cache_key, refresh, asked_at)

    def _send_once(self, url: str, body: dict, api_key: str, cache_key: str, refresh: bool,
                   asked_at: dt.datetime) -> PageAnswer:
        """One attempt: a page that reads cleanly (and is now cached), else its error.

        The team lock is taken inside one of this machine's call slots, so a machine never
        holds locks of pages it is not yet calling for while other machines wait on them.
        """
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        with self.limiter.slot(), self.cache.lock(cache_key):
            if self.cache.shared:  # another machine may have fetched it while we waited
                latest = self.cache.get(cache_key)
                if latest is not None and (_created_at(latest) >= asked_at or
                                           (not refresh and self.cache.is_fresh(latest))):
                    return PageAnswer(_page_of(latest), True, _created_at(latest))
            self._on_call()
            try:
                response = self.session.post(
                    url, json=body, headers=headers,
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout))
            except requests.Timeout:
                raise errors.RequestTimeout(
                    f"FastMoss did not answer within {self.settings.read_timeout:g} s") from None
            except requests.exceptions.SSLError:
                raise errors.CertificateError(
                    f"the TLS certificate of {self.settings.base_url} could not be verified") from None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                raise errors.ConnectionFailed(f"connection to FastMoss failed: {_reason(error)}") from None
            try:
                page = _page_of(response)
            except (errors.RateLimited, errors.FrequencyLimited) as error:
                self.limiter.on_throttled(_retry_after(error) or self.settings.retry_backoff)
                raise
            self.cache.store(cache_key, response)
        self.limiter.on_success()
        return PageAnswer(page, False, dt.datetime.now(dt.timezone.utc))

    def _backoff(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(error)
        exponential = min(_MAX_BACKOFF, self.settings.retry_backoff * 2 ** (state.attempt_number - 1))
        wait = hinted if hinted is not None else exponential * (0.5 + random.random() / 2)
        remaining = self.settings.retry_deadline - (state.seconds_since_start or 0.0)
        return max(0.0, min(wait, remaining))


def _page_of(response: requests.Response) -> Page:
    """Classify one HTTP answer: a Page on success, else the matching FastMossError."""
    status = response.status_code
    payload = _json_or_none(response)
    code, message, request_id = _envelope_fields(payload)
    if status in (401, 403):
        raise errors.AuthenticationError(
            f"FastMoss refused the API key (HTTP {status}){_detail(message, request_id)}; "
            "check it with `xl-fastmoss config --set-key` or FASTMOSS_API_KEY",
            status, request_id)
    if status == 429:
        raise errors.RateLimited(
            f"FastMoss is throttling calls (HTTP 429){_detail(message, request_id)}",
            status, _parse_retry_after(response.headers.get("Retry-After")), request_id)
    if status >= 500:
        raise errors.ServerError(
            f"FastMoss server error (HTTP {status}){_detail(message, request_id)}", status, request_id)
    if status != 200:
        raise errors.HTTPStatusError(
            f"FastMoss answered HTTP {status}{_detail(message, request_id)}", status, request_id)
    if payload is None:
        kind = response.headers.get("Content-Type", "unknown type")
        raise errors.InvalidResponse(
            f"FastMoss answered HTTP 200 with a body that is not JSON ({kind}, {len(response.content)} bytes)")
    if code is None:
        raise errors.InvalidResponse(
            f"FastMoss answered JSON without a `code`{_detail(message, request_id)}")
    if code != 0:
        raise errors.api_error(code, message or "", request_id)
    return read_envelope(payload)


def _json_or_none(response: requests.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _envelope_fields(payload: object) -> tuple[int | None, str | None, str | None]:
    if not isinstance(payload, dict):
        return None, None, None
    code = payload.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = payload.get("message") or payload.get("msg")
    request_id = payload.get("request_id")
    return (code, message if isinstance(message, str) else None,
            request_id if isinstance(request_id, str) else None)


def _detail(message: str | None, request_id: str | None) -> str:
    text = f": {message}" if message else ""
    return text + (f" [request_id {request_id}]" if request_id else "")


def _retry_after(error: BaseException | None) -> float | None:
    return getattr(error, "retry_after", None)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _reason(error: Exception) -> str:
    text = str(error)
    for marker in ("Connection refused", "Connection reset", "Connection aborted", "IncompleteRead",
                   "Name or service not known", "Remote end closed connection"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(error).__name__


def _created_at(response: requests.Response) -> dt.datetime:
    created = getattr(response, "created_at", None) or dt.datetime.now(dt.timezone.utc)
    return created if created.tzinfo else created.replace(tzinfo=dt.timezone.utc)
