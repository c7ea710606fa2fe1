"""Every error xl-fastmoss raises, under one root.

::

    FastMossError
    ├── InvalidArgument            a query argument is refused before any call
    ├── ConfigurationError
    │   └── MissingApiKey          no key in FASTMOSS_API_KEY nor the config store
    ├── TransportError             no usable HTTP answer                 (retryable)
    │   ├── RequestTimeout
    │   ├── ConnectionFailed       refused, reset, DNS
    │   └── CertificateError       TLS verification failed               (not retried)
    ├── HTTPStatusError            the server answered with an error status, or a redirect
    │   ├── AuthenticationError    401 / 403: key wrong, missing or not allowed
    │   ├── RateLimited            429                                   (retryable)
    │   └── ServerError            5xx                                   (retryable)
    ├── InvalidResponse            the body is not the documented JSON, or too big to read
    │   └── EmptyAnswer            no rows for a period that had rows: the good copy stays
    ├── WorkbookFileError          a workbook file cannot be read or written as asked
    ├── SpendRefused               a call or a refresh refused before it cost anything (not retried)
    │   ├── BudgetExceeded         a daily budget of calls or rows is used up
    │   └── CallLimitExceeded      a refresh would make more calls than it is allowed
    └── APIError                   HTTP 200 with code != 0
        ├── ParameterError         10001
        ├── ResourceNotFound       20001
        ├── PermissionDenied       30001
        ├── QuotaExceeded          30002
        ├── FrequencyLimited       30003                                 (retryable)
        └── ServiceError           40001                                 (retryable)

``retryable`` on a class tells the client whether a second attempt can help.
No message ever contains the API key: every message passes :func:`~xl_fastmoss.redact.scrub`.
"""

from __future__ import annotations

from .redact import scrub


class FastMossError(Exception):
    """Root of every xl-fastmoss error."""

    retryable = False

    def __init__(self, message: str):
        message = scrub(message)
        super().__init__(message)
        self.message = message


class InvalidArgument(FastMossError, ValueError):
    """An argument was refused before any call: names it, the value and what is allowed."""

    def __init__(self, argument: str, value: object, allowed: str):
        self.argument = argument
        self.value = value
        self.allowed = allowed
        super().__init__(f"{argument}: {_show(value)} is not allowed; {allowed}")


class ConfigurationError(FastMossError):
    """The installation is not set up to make calls."""


class MissingApiKey(ConfigurationError):
    def __init__(self) -> None:
        super().__init__(
            "no FastMoss API key is set: run `xl-fastmoss config --set-key` "
            "or set the FASTMOSS_API_KEY environment variable"
        )


class TransportError(FastMossError):
    retryable = True


class RequestTimeout(TransportError):
    pass


class ConnectionFailed(TransportError):
    pass


class CertificateError(TransportError):
    """The server's TLS certificate did not verify; verification is never switched off."""

    retryable = False


class HTTPStatusError(FastMossError):
    def __init__(self, message: str, status: int, request_id: str | None = None):
        self.status = status
        self.request_id = request_id
        super().__init__(message)


class AuthenticationError(HTTPStatusError):
    pass


class RateLimited(HTTPStatusError):
    retryable = True

    def __init__(self, message: str, status: int, retry_after: float | None = None,
                 request_id: str | None = None):
        self.retry_after = retry_after
        super().__init__(message, status, request_id)


class ServerError(HTTPStatusError):
    retryable = True


class InvalidResponse(FastMossError):
    """The server answered, but not with the documented JSON envelope (or more than a page may hold)."""


class EmptyAnswer(InvalidResponse):
    """FastMoss answered no rows for a period it had answered with rows: the older copy is kept."""


class WorkbookFileError(FastMossError):
    """A workbook file cannot be read or written as asked; the message names the file."""


class SpendRefused(FastMossError):
    """A call, or a whole refresh, refused before it cost anything: never retried."""


class BudgetExceeded(SpendRefused):
    """A daily budget is used up: ``budget`` is "calls" or "rows", ``limit`` its size, ``used`` today's spend."""

    def __init__(self, budget: str, limit: int, used: int, day: str, scope: str):
        self.budget, self.limit, self.used, self.day = budget, limit, used, day
        setting = "FASTMOSS_DAILY_CALLS" if budget == "calls" else "FASTMOSS_DAILY_ROWS"
        option = "--daily-calls" if budget == "calls" else "--daily-rows"
        asked = "a call" if budget == "calls" else "a page of rows"
        super().__init__(
            f"the daily budget of {limit:,} {budget} is used up ({used:,} {budget} on {day}, {scope}), so "
            f"{asked} was refused before it was made; answers already cached are still served. "
            f"Raise it with `xl-fastmoss config {option} N` or {setting}, or wait for tomorrow")


class CallLimitExceeded(SpendRefused):
    """A refresh estimated (or grown) beyond the calls it was allowed."""


class APIError(FastMossError):
    """The API answered HTTP 200 with a non-zero ``code``."""

    code: int = 0
    meaning = "API error"
    advice = ""

    def __init__(self, code: int, api_message: str, request_id: str | None):
        self.code = code
        self.api_message = api_message = scrub(api_message)
        self.request_id = request_id
        text = f"FastMoss {self.meaning} (code {code})"
        if api_message:
            text += f": {api_message}"
        if self.advice:
            text += f". {self.advice}"
        if request_id:
            text += f" [request_id {request_id}]"
        super().__init__(text)


class ParameterError(APIError):
    meaning = "refused a parameter"


class ResourceNotFound(APIError):
    meaning = "resource not found"


class PermissionDenied(APIError):
    meaning = "denied permission"
    advice = "Your plan does not include this ranking"


class QuotaExceeded(APIError):
    meaning = "data limit exceeded"
    advice = "Your quota is used up; calls resume when it renews"


class FrequencyLimited(APIError):
    retryable = True
    meaning = "access frequency limit exceeded"
    advice = "Too many calls at once; retried with backoff and still limited"


class ServiceError(APIError):
    retryable = True
    meaning = "service error"
    advice = "The vendor's service failed; try again later"


API_ERRORS_BY_CODE: dict[int, type[APIError]] = {
    10001: ParameterError,
    20001: ResourceNotFound,
    30001: PermissionDenied,
    30002: QuotaExceeded,
    30003: FrequencyLimited,
    40001: ServiceError,
}


def api_error(code: int, api_message: str, request_id: str | None) -> APIError:
    """The APIError subclass for ``code`` (plain APIError for an undocumented one)."""
    return API_ERRORS_BY_CODE.get(code, APIError)(code, api_message, request_id)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
