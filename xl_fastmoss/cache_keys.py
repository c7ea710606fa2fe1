"""requests-cache's key of one page request, made without importing requests-cache.

Whether a page is stored has to be known before the first call of a process goes out, and
importing requests-cache (40 to 60 ms, most of it its cattrs converters) would sit in front of
that call. With the key made here, the cache file is asked directly and requests-cache imports
in the background while the call is on the wire (:meth:`.cache.LocalFileCache.open_while_waiting`).

This is requests-cache's own recipe (``create_key`` in ``requests_cache/cache_keys.py``, 1.x)
for the requests xl-fastmoss sends: a POST of a JSON body to a URL without a query string, no
ignored parameters, no matched headers, TLS verification on. The key stays requests-cache's, so
pages stored by earlier versions and by the team's other machines are found as before. The cache
compares the two on the first key it makes once requests-cache is loaded and keeps requests-cache's
own from then on if they ever differ (:meth:`.cache.BackendCache.key`); the tests compare them
on every endpoint's bodies.
"""

from __future__ import annotations

import functools
import hashlib
import json
from urllib.parse import urlparse, urlunparse

import requests

#: ``str()`` of the serializer the cache opens with (:func:`.cache.data_only_serializer`),
#: which requests-cache makes part of every key.
SERIALIZER_TEXT = "SerializerPipeline(name=json-data-only, n_stages=2)"


def request_key(url: str, body_json: str) -> str | None:
    """The key requests-cache makes for a POST of ``body_json`` (sorted keys) to ``url``, or
    None for a URL the recipe does not cover (one with a query string or a fragment)."""
    normalized = _normalized_url(url)
    if normalized is None:
        return None
    # requests sends json.dumps of the body; requests-cache reads it back and dumps it with its
    # top-level keys sorted (they are sorted already).
    body = json.dumps(json.loads(body_json)).encode()
    key = _new_hash()
    for part in ("POST", normalized, body, "True", SERIALIZER_TEXT):
        key.update(part if isinstance(part, bytes) else part.encode())
    return key.hexdigest()


def _new_hash():
    try:
        return hashlib.blake2b(digest_size=8)
    except (TypeError, ValueError):  # as requests-cache: an OpenSSL without blake2b, or FIPS mode
        return hashlib.sha256()


@functools.lru_cache(maxsize=64)
def _normalized_url(url: str) -> str | None:
    from url_normalize import url_normalize  # requests-cache's own dependency

    prepared = requests.Request("POST", url).prepare().url or ""
    parts = urlparse(prepared)
    if parts.query or parts.fragment:
        return None
    return url_normalize(urlunparse(parts)) or ""
