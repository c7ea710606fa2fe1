"""requests-cache imported for the local cache without the optional backends it would load."""

import os
import subprocess
import sys
import textwrap

import pytest

from xl_fastmoss.cache_import import SKIPPED

pytest.importorskip("redis")


def run_python(code):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=os.environ.copy(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_a_fetch_on_the_local_cache_loads_neither_redis_nor_boto3(fake_env):
    shown = run_python("""
        import sys
        import xl_fastmoss
        frame = xl_fastmoss.most_promoted("US", 14, "day", "2026-04-01", rows=150)
        print(len(frame))
        print(sorted(name for name in ("redis", "boto3", "botocore", "yaml", "pymongo") if name in sys.modules))
    """)
    assert shown == ["150", "[]"]


def test_the_team_cache_still_gets_its_redis_backend_after_the_local_cache_opened(fake_env):
    shown = run_python("""
        import sys
        from xl_fastmoss.cache import open_local_cache

        local = open_local_cache(None, 60)
        print("redis" in sys.modules)
        from xl_fastmoss.team_cache import TeamCache
        team = TeamCache("redis://127.0.0.1:1/0", local, 60)
        print(type(team.remote.backend).__name__)
    """)
    assert shown == ["False", "RedisCache"]


def test_requests_cache_imported_before_keeps_every_backend(fake_env):
    shown = run_python("""
        import requests_cache
        import xl_fastmoss
        xl_fastmoss.most_promoted("US", 14, "day", "2026-04-01")
        print(requests_cache.RedisCache.__module__)
    """)
    assert shown == ["requests_cache.backends.redis"]


def test_the_skipped_libraries_cover_requests_cache_s_optional_dependencies():
    from importlib.metadata import requires

    import_names = {"pyyaml": "yaml"}
    optional = {requirement.split(">")[0].split(";")[0].strip().lower()
                for requirement in requires("requests-cache") or [] if "extra ==" in requirement}
    assert optional and {import_names.get(name, name) for name in optional} <= SKIPPED
