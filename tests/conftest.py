"""Shared fixtures: an isolated environment for every test, one fake FastMoss server per session."""

from __future__ import annotations

import pytest

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.client import reset_default_client
from xl_fastmoss.sheets.functions import session_log


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No developer's key, config or cache reaches a test; each test gets its own folders."""
    import os

    for name in list(os.environ):
        if name.startswith("FASTMOSS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FASTMOSS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FASTMOSS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    reset_default_client()
    session_log.reset()
    yield
    reset_default_client()


@pytest.fixture(scope="session")
def fake_server():
    from xl_fastmoss.fake_server import FakeFastMoss

    with FakeFastMoss() as server:
        yield server


@pytest.fixture
def server(fake_server):
    """The session's fake server with no faults, no latency and an empty call log."""
    fake_server.clear_faults()
    fake_server.reset_calls()
    yield fake_server
    fake_server.clear_faults()
    fake_server.reset_calls()
    fake_server.revision = 0


@pytest.fixture
def fake_env(server, monkeypatch):
    """The user's environment pointed at the fake server with its key."""
    from xl_fastmoss.fake_server import FAKE_API_KEY

    monkeypatch.setenv("FASTMOSS_BASE_URL", server.base_url)
    monkeypatch.setenv("FASTMOSS_API_KEY", FAKE_API_KEY)
    return server


@pytest.fixture
def client(fake_env, tmp_path):
    """A client of the fake server with fast retries."""
    with FastMossClient(Settings.load(retry_deadline=5.0, read_timeout=2.0, retry_backoff=0.01)) as made:
        yield made


@pytest.fixture
def recent_periods(monkeypatch):
    """Every period of the test counts as recent (a settle window of ten years), so a refresh
    asks for it again and its answers expire: for tests of refreshing and of stale copies,
    whose fixed dates (2026-04-01 ...) the clock has long passed. See xl_fastmoss.retention."""
    monkeypatch.setenv("FASTMOSS_SETTLE_DAYS", "3650")
