"""Secrets out of every text the project shows: the API key, bearer tokens, passwords in URLs.

:func:`scrub` is the one place that knows what a secret looks like. Every text the project
produces passes through it on its way out: error messages (:class:`~xl_fastmoss.errors.FastMossError`
scrubs its own message, so cells and command-line lines built from it are clean), the FM_STATUS
table, parse warnings, and the log records of the package's loggers (:func:`logger`).

A secret is the API key in use (every :class:`~xl_fastmoss.settings.Settings` made remembers
its key here), anything after ``Bearer``, and the password of a URL (:func:`redact_url`).
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse

MASK = "***"
#: Shorter secrets are not searched for in texts: masking every "abc" would garble messages,
#: and no real key is that short.
_MIN_SECRET_LENGTH = 8
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[^\s\"',;)\]}]+")
#: Query-string parameters of a URL whose value is hidden, by a part of their name.
_SECRET_PARAMETERS = ("pass", "pwd", "secret", "token", "auth", "key")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def remember_secret(secret: str | None) -> None:
    """Hide ``secret`` (and each of its lines) from every text scrubbed from now on."""
    if not secret:
        return
    pieces = {secret, secret.strip(), *secret.splitlines()}
    with _secrets_lock:
        _secrets.update(p for p in pieces if len(p) >= _MIN_SECRET_LENGTH)


def scrub(text: str) -> str:
    """``text`` with every remembered secret and every bearer token replaced by ``***``."""
    if not isinstance(text, str):
        text = str(text)
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return _BEARER.sub(rf"\1\2{MASK}", text)


def redact_url(url: str) -> str:
    """``url`` with the password of its user part and secret-looking query values hidden."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL one can take apart: show nothing of what it might hold
        return "(an unreadable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rpartition("@")[0]
        user = userinfo.partition(":")[0] if ":" in userinfo else ""
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{user}:{MASK}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{name}={MASK if _is_secret_parameter(name) else value}" for name, value in pairs)
    return scrub(urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query)))


def _is_secret_parameter(name: str) -> bool:
    return any(marker in name.lower() for marker in _SECRET_PARAMETERS)


class ScrubFilter(logging.Filter):
    """Scrubs a log record's message (with its arguments merged in) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


_FILTER = ScrubFilter()


def logger(name: str) -> logging.Logger:
    """The logger ``name`` with the scrub filter on it (a logger's filters do not reach its children)."""
    found = logging.getLogger(name)
    if _FILTER not in found.filters:
        found.addFilter(_FILTER)
    return found
