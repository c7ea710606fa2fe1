"""Importing requests-cache without the optional backends and serializers it would load.

``import requests_cache`` runs ``requests_cache/backends/__init__.py``, which imports every
backend whose library is installed (``try: from .redis import RedisCache except ImportError:
RedisCache = placeholder``), and ``serializers/preconf.py``, which does the same for YAML,
orjson, ujson, BSON and itsdangerous. With the ``team`` extra (redis) and boto3 installed that
is about 0.15 s of a process's first call, for modules the local SQLite cache never uses
(upstream: requests-cache/requests-cache#403, closed without a change).

:func:`import_requests_cache` imports requests-cache with those libraries reported missing to
requests-cache's own imports, in this thread, while they run. Why it is safe:

- requests-cache is written for them to be missing: each is imported under ``try``/``except
  ImportError`` and replaced by a placeholder class that raises only when used. Its SQLite
  backend, JSON serializer and cache keys need none of them.
- only the importing thread sees them missing, and only while requests-cache is imported: no
  other import of redis or boto3, in this thread later or in any other thread, is affected,
  and a library already imported is left as it is (it is found in ``sys.modules`` first).
- the team cache takes Redis from ``requests_cache.backends.redis`` itself, which imports
  as usual whenever it is asked for (a failed import leaves no module behind).
- what a process then finds at the top of ``requests_cache`` for those backends
  (``requests_cache.RedisCache``, ``backend="redis"``) are the placeholders. Code of the same
  process that wants them by that name imports requests-cache before xl-fastmoss opens its
  cache, or takes them from their module (``requests_cache.backends.redis``).
- if requests-cache ever needs one of them to import at all, the import is made again as
  usual.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from types import ModuleType

#: Libraries requests-cache imports only if installed, none of which the local cache uses: its
#: extras (boto3, botocore, pymongo with bson and gridfs, redis, pyyaml, orjson, ujson,
#: itsdangerous) and the cattrs converters it builds for them (msgpack, tomlkit).
SKIPPED = frozenset({"boto3", "botocore", "pymongo", "bson", "gridfs", "redis", "yaml", "orjson",
                     "ujson", "itsdangerous", "msgpack", "tomlkit"})

_lock = threading.Lock()


class _Skipping(importlib.abc.MetaPathFinder):
    """Reports the SKIPPED libraries missing to imports made by one thread."""

    def __init__(self, thread: int):
        self.thread = thread

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in SKIPPED and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{name} is not loaded for xl-fastmoss's local cache", name=name)
        return None


def import_requests_cache() -> ModuleType:
    """``requests_cache``, imported (the first time) without the SKIPPED libraries."""
    if "requests_cache" in sys.modules:  # import_module waits for an import still under way
        return importlib.import_module("requests_cache")
    with _lock:
        if "requests_cache" in sys.modules:
            return importlib.import_module("requests_cache")
        skipping = _Skipping(threading.get_ident())
        sys.meta_path.insert(0, skipping)
        try:
            return importlib.import_module("requests_cache")
        except ImportError:  # a later requests-cache that needs one of them after all
            pass
        finally:
            sys.meta_path.remove(skipping)
        return importlib.import_module("requests_cache")
