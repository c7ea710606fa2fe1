"""Cache keys made without requests-cache: the same keys as requests-cache's, and a fresh
process's first call sent before requests-cache is imported."""

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest
import requests
import requests_cache

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.cache import BackendCache, data_only_serializer, open_local_cache, stored_limit
from xl_fastmoss.cache_keys import request_key
from xl_fastmoss.endpoints import ENDPOINTS
from xl_fastmoss.query import RankingQuery

DAY = "2026-04-01"

QUERIES = [
    ("most_promoted", "US", 14, "day", DAY, {}),
    ("top_selling", "GB", None, "week", "2026-14", {"shop_type": 2}),
    ("fully_managed", "", None, "month", "2026-03", {}),
    ("most_promoted", "MY", 3, "day", DAY, {"shop_type": 1, "cross_border": 0}),
]
URLS = [
    "https://openapi.fastmoss.com",
    "HTTPS://OpenAPI.FastMoss.com:443/",
    "http://127.0.0.1:8123/base/",
    "http://localhost:80/x/../v1%7e",
]


def requests_caches_key(url: str, body: dict) -> str:
    """The key requests-cache itself makes, on the backend and serializer the cache opens with."""
    backend = requests_cache.SQLiteCache(use_memory=True, serializer=data_only_serializer(stored_limit(2**20)))
    body = json.loads(json.dumps(body, sort_keys=True))
    return backend.create_key(requests.Request("POST", url, json=body).prepare())


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(("endpoint", "region", "category", "date_type", "date_value", "more"), QUERIES)
@pytest.mark.parametrize(("page", "size"), [(1, 100), (3, 100), (7, 25)])
def test_the_key_is_requests_caches_own_for_every_endpoints_bodies(url, endpoint, region, category, date_type,
                                                                    date_value, more, page, size):
    query = RankingQuery.build(endpoint, region or None, category, date_type, date_value, **more)
    body = query.body(page, size)
    full_url = url.rstrip("/") + ENDPOINTS[endpoint].path
    assert request_key(full_url, json.dumps(body, sort_keys=True)) == requests_caches_key(full_url, body)


def test_a_body_with_text_outside_ascii_and_nested_lists_keys_alike():
    body = {"filter": {"name": "Café ☃ 店", "ids": [3, 1, 2]}, "page": 1, "weight": 1.25, "none": None}
    url = "https://openapi.fastmoss.com/api/x"
    assert request_key(url, json.dumps(body, sort_keys=True)) == requests_caches_key(url, body)


def test_a_url_with_a_query_string_takes_requests_caches_key():
    url = "https://openapi.fastmoss.com/api/x?b=2&a=1"
    body = {"page": 1}
    assert request_key(url, json.dumps(body)) is None
    cache = open_local_cache(None, 60)
    assert cache.key(url, body) == requests_caches_key(url, body)


def test_keys_made_differently_by_requests_cache_are_told_once_and_requests_caches_are_used(caplog):
    class OtherKeys(requests_cache.SQLiteCache):  # as a requests-cache with another recipe would
        def create_key(self, request, **kwargs):
            return "k-" + request.body.decode()[-12:]

    backend = OtherKeys(use_memory=True, serializer=data_only_serializer(stored_limit(2**20)))
    cache = BackendCache(backend, ttl=60)
    url = "https://openapi.fastmoss.com/api/x"
    with caplog.at_level(logging.WARNING):
        first = cache.key(url, {"page": 1, "q": "a"})
        second = cache.key(url, {"page": 2, "q": "a"})
    assert (first, second) == ('k-1, "q": "a"}', 'k-2, "q": "a"}')
    assert [r.getMessage() for r in caplog.records].count(
        "requests-cache makes its cache keys differently from xl-fastmoss's copy of its recipe "
        "(xl_fastmoss.cache_keys); requests-cache's own are used from now on") == 1


LAZY_OPEN = textwrap.dedent("""
    import sys
    import threading
    from pathlib import Path
    from xl_fastmoss.cache import LocalFileCache

    folder, stored, missing = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    cache = LocalFileCache(folder, 60, 2**20)
    answers = [cache.get(missing) is None]
    with cache.lock(missing, wait=0) as held:
        answers.append(held)
    answers.append("requests_cache" in sys.modules)
    answers.append(cache.get(stored).content[:1].decode())
    answers.append("requests_cache" in sys.modules)
    print(answers)
    fresh = LocalFileCache(folder, 60, 2**20)
    fresh.open_while_waiting()
    opening = [t for t in threading.enumerate() if t.name == "fastmoss-while-waiting"]
    for thread in opening:
        thread.join(60)
    print(len(opening), fresh._opened is not None)
    fresh.close()
""")


def test_a_page_not_stored_is_known_missing_and_locked_before_requests_cache_is_imported(fake_env, tmp_path):
    with FastMossClient(Settings.load()) as client:
        client.most_promoted("US", 14, "day", DAY)
        query = RankingQuery.build("most_promoted", "US", 14, "day", DAY)
        url = client.settings.base_url + query.endpoint.path
        stored, missing = client.cache.key(url, query.body(1)), client.cache.key(url, query.body(2))
        folder = client.settings.cache_dir
    # the folder given as a relative path, as FASTMOSS_CACHE_DIR may give it
    done = subprocess.run([sys.executable, "-c", LAZY_OPEN, folder.name, stored, missing], cwd=folder.parent,
                          env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[True, True, False, '{', True]", "1 True"]


FIRST_CALL = textwrap.dedent("""
    import sys
    loaded_at_sends = []  # whether requests-cache was imported (its import done) at each send
    def watch(event, args):
        if event == "http.client.send":
            loaded_at_sends.append(hasattr(sys.modules.get("requests_cache"), "CachedSession"))
    sys.addaudithook(watch)
    import xl_fastmoss
    rows = len(xl_fastmoss.most_promoted("US", 14, "day", "2026-04-01", rows=200))
    print(rows, loaded_at_sends)
""")


def test_a_fresh_processs_first_call_goes_out_before_requests_cache_is_imported(fake_env):
    done = subprocess.run([sys.executable, "-c", FIRST_CALL], env=os.environ.copy(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows, loaded = done.stdout.strip().split(" ", 1)
    # each request is sent in two parts (headers, body); page 2's after page 1 was stored
    assert (rows, loaded) == ("200", "[False, False, True, True]")
    assert fake_env.call_count == 2
