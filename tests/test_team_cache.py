"""The team cache on a real redis-server: one call for a whole team, and no harm when Redis is gone."""

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.fake_server import FakeFastMoss

DAY = "2026-04-01"
SECRET = "FMKEY-team-3b9f1c-do-not-leak"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, folder):
        self.folder, self.port, self.process = folder, free_port(), None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing; .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def team(redis_server, monkeypatch):
    with FakeFastMoss(api_key=SECRET) as api:
        monkeypatch.setenv("FASTMOSS_BASE_URL", api.base_url)
        monkeypatch.setenv("FASTMOSS_API_KEY", SECRET)
        monkeypatch.setenv("FASTMOSS_CACHE_URL", redis_server.url)
        yield api, redis_server


def machine(tmp_path, name, **overrides):
    """A client as on another analyst's machine: its own local cache folder, the team's Redis."""
    return FastMossClient(Settings.load(cache_dir=tmp_path / name, retry_backoff=0.01, **overrides))


def test_a_page_fetched_on_one_machine_costs_nothing_on_another(team, tmp_path):
    api, _ = team
    with machine(tmp_path, "alice") as alice, machine(tmp_path, "bob") as bob:
        alice.most_promoted("US", 14, "day", DAY, rows=200)
        shared = bob.most_promoted("US", 14, "day", DAY, rows=200)
    assert api.call_count == 2 and shared.from_cache and len(shared.frame) == 200


ASK = textwrap.dedent("""
    import sys
    from pathlib import Path
    from xl_fastmoss import FastMossClient, Settings
    client = FastMossClient(Settings.load(cache_dir=Path(sys.argv[1])))
    print("ready", flush=True)
    sys.stdin.readline()
    result = client.most_promoted("GB", 14, "day", "2026-04-01", rows=150, refresh=sys.argv[2] == "refresh")
    print(len(result.frame), result.from_cache, flush=True)
""")


@pytest.mark.parametrize("mode", ["cached", "refresh"])
def test_two_processes_asking_together_make_one_call_between_them(team, tmp_path, mode):
    api, _ = team
    api.latency = 0.5  # both are surely in flight at once
    processes = [subprocess.Popen([sys.executable, "-c", ASK, str(tmp_path / f"machine{i}"), mode],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
                 for i in range(2)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    answers = sorted(process.stdout.readline().split() for process in processes)
    for process in processes:
        process.wait(timeout=30)
    assert api.call_count == 2  # the two pages of one ask
    assert answers == [["150", "False"], ["150", "True"]]


def test_a_stopped_redis_degrades_to_the_local_cache_with_a_warning(team, tmp_path, caplog):
    api, redis_server = team
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
        redis_server.stop()
        again = alice.most_promoted("US", 14, "day", DAY, refresh=False)
        other = alice.most_promoted("DE", 14, "day", DAY)
        assert len(again.frame) == 10 and len(other.frame) == 10
        assert "unreachable" in alice.cache.describe()
    assert api.call_count == 2
    assert any("team cache" in r.message and "unreachable" in r.message for r in caplog.records)
    with machine(tmp_path, "alice") as later:  # a new session on the same machine: the local copy
        assert later.most_promoted("DE", 14, "day", DAY).from_cache
    assert api.call_count == 2


def test_an_unreachable_redis_never_breaks_a_formula(monkeypatch, fake_env):
    monkeypatch.setenv("FASTMOSS_CACHE_URL", f"redis://127.0.0.1:{free_port()}/0")
    import xl_fastmoss.udfs as udfs

    table = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    assert len(table) == 11
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert "unreachable" in status["Cache"] and "using the local cache" in status["Cache"]


def test_nothing_secret_is_stored_in_redis(team, tmp_path):
    import redis

    api, redis_server = team
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY, rows=300)
        alice.top_selling("GB", 14, "week", "2026-14")
    connection = redis.Redis(port=redis_server.port)
    keys = connection.keys("*")
    assert keys
    for key in keys:
        assert SECRET.encode() not in key
        kind = connection.type(key)
        values = (connection.hgetall(key).items() if kind == b"hash" else [(b"", connection.dump(key) or b"")])
        for field, value in values:
            assert SECRET.encode() not in field and SECRET.encode() not in value


def test_a_password_in_the_cache_url_is_never_shown():
    from xl_fastmoss.team_cache import redact_url

    assert redact_url("redis://:hunter2@cache.example:6379/0") == "redis://:***@cache.example:6379/0"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


class RunsCode:
    """A pickle that, unpickled, creates the file ``marker``: what an attacker with Redis access would store."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def page_key(client, region="US"):
    from xl_fastmoss.query import RankingQuery

    query = RankingQuery.build("most_promoted", region, 14, "day", DAY)
    return client.cache.key(client.settings.base_url + query.endpoint.path, query.body(1))


def answer_keys(connection, key):
    """Every Redis key an answer for ``key`` may be read from (this version's and earlier ones')."""
    return [name for name in connection.keys(f"xl-fastmoss*{key}") if b":lock:" not in name] + [
        f"xl-fastmoss:{key}".encode()]


def test_answers_in_redis_are_json_and_come_back_byte_for_byte(team, tmp_path):
    import json

    import redis

    api, redis_server = team
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
        key = page_key(alice)
        local = alice.cache.local.get(key).content
    connection = redis.Redis(port=redis_server.port)
    [stored] = [connection.get(name) for name in answer_keys(connection, key) if connection.get(name)]
    assert stored.startswith(b"{") and isinstance(json.loads(stored), dict) and b"\x80" not in stored[:2]
    with machine(tmp_path, "bob") as bob:
        shared = bob.cache.remote.get(key)
    assert shared.content == local and api.call_count == 1


@pytest.mark.parametrize("hostile", ["pickle", "deep json", "not a response"])
def test_a_hostile_value_in_redis_runs_nothing_and_is_fetched_again(team, tmp_path, hostile):
    import pickle

    import redis

    api, redis_server = team
    marker = tmp_path / "code-ran"
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
        key = page_key(alice)
    value = {"pickle": pickle.dumps(RunsCode(marker)), "deep json": b"[" * 100_000 + b"]" * 100_000,
             "not a response": b'{"status_code": [1], "_content": {"a": 1}}'}[hostile]
    connection = redis.Redis(port=redis_server.port)
    for name in answer_keys(connection, key):
        connection.set(name, value)
    with machine(tmp_path, "bob") as bob:  # no local copy: Redis is all bob has
        result = bob.most_promoted("US", 14, "day", DAY)
        assert bob.cache.remote.get(key).content == bob.cache.local.get(key).content  # the good page is back
    assert not result.from_cache and len(result.frame) == 10 and api.call_count == 2
    assert not marker.exists()


#: A value far past anything read from Redis: a page's stored limit is about 5 MB.
OVERSIZED = 40 * 2**20


def sent_by(connection):
    """The bytes the Redis server has sent to all its clients so far (its own count)."""
    return connection.info("stats")["total_net_output_bytes"]


def test_an_oversized_answer_or_piece_index_in_redis_is_not_sent_and_the_page_is_asked_again(
        team, tmp_path, caplog):
    import redis

    api, redis_server = team
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
        key = page_key(alice)
    connection = redis.Redis(port=redis_server.port)
    [stored] = [name for name in answer_keys(connection, key) if connection.exists(name)]
    connection.setrange(stored, OVERSIZED, b"}")  # the stored answer, grown to 40 MB
    [index] = connection.keys("xl-fastmoss:pieces:*")
    connection.hset(index, "9x100", b"x" * OVERSIZED)
    before = sent_by(connection)
    with machine(tmp_path, "bob") as bob:  # no local copy: Redis is all bob has
        result = bob.most_promoted("US", 14, "day", DAY)
    assert sent_by(connection) - before < 2**20  # the 40 MB answer stayed on the server
    assert not result.from_cache and len(result.frame) == 10 and api.call_count == 2
    with machine(tmp_path, "carol", page_rows="exact") as carol:  # exact pages read the piece index first
        exact = carol.most_promoted("US", 14, "day", DAY)
    assert sent_by(connection) - before < 2**20  # so did the 40 MB piece index
    assert not exact.from_cache and len(exact.frame) == 10 and api.call_count == 3  # the index unread costs a call
    assert "holds 41,943,041 bytes, over the" in caplog.text and "bytes, over the 262,144 read" in caplog.text
    assert "unreachable" not in caplog.text


def test_a_key_of_another_type_in_redis_costs_its_page_only_and_the_team_cache_stays_in_use(
        team, tmp_path, caplog):
    import redis

    api, redis_server = team
    with machine(tmp_path, "alice") as alice:
        alice.most_promoted("US", 14, "day", DAY)
        alice.most_promoted("DE", 14, "day", DAY)
        key = page_key(alice)
    connection = redis.Redis(port=redis_server.port)
    [stored] = [name for name in answer_keys(connection, key) if connection.exists(name)]
    connection.delete(stored)
    connection.hset(stored, "not", "an answer")  # where US's answer was, a hash: Redis refuses to read it as text
    with machine(tmp_path, "bob") as bob:  # no local copy: Redis is all bob has
        poisoned = bob.most_promoted("US", 14, "day", DAY)
        shared = bob.most_promoted("DE", 14, "day", DAY)
        assert "unreachable" not in bob.cache.describe()
    assert not poisoned.from_cache and len(poisoned.frame) == 10
    assert shared.from_cache and len(shared.frame) == 10 and api.call_count == 3  # US again, DE from the team
    assert caplog.text.count("refused an operation") == 1 and "WRONGTYPE" in caplog.text
    assert "unreachable" not in caplog.text
    assert connection.type(stored) == b"string"  # bob's good answer took the hash's place


@pytest.mark.parametrize("planted", ["never expiring", "a day long", "a hash"])
def test_a_page_lock_planted_in_redis_does_not_hold_the_page_up(team, tmp_path, caplog, planted):
    import threading

    import redis

    api, redis_server = team
    connection = redis.Redis(port=redis_server.port)
    with machine(tmp_path, "probe") as probe:
        lock = f"xl-fastmoss:lock:{page_key(probe)}"
    if planted == "a hash":
        connection.hset(lock, "holder", "nobody")
    else:
        connection.set(lock, b"nobody", ex=86_400 if planted == "a day long" else None)
    tables = []

    def ask():
        with machine(tmp_path, "alice") as alice:
            tables.append(alice.most_promoted("US", 14, "day", DAY))

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(15)  # a guard, not a speed figure: waiting for the planted lock takes LOCK_WAIT, 45 s
    assert tables, "the page waited for the planted lock"
    assert len(tables[0].frame) == 10 and api.call_count == 1
    assert caplog.text.count("a page lock there is none of ours") == 1
    assert connection.exists(lock)  # someone else's key: left as it is


def test_a_password_in_the_query_string_is_hidden_too(tmp_path):
    from click.testing import CliRunner

    from xl_fastmoss.cli import main
    from xl_fastmoss.team_cache import redact_url

    assert redact_url("redis://cache.example:6379/0?password=hunter2&db=1") == \
        "redis://cache.example:6379/0?password=***&db=1"
    assert redact_url("rediss://alice:hunter2@cache.example/0?ssl_cert_reqs=none") == \
        "rediss://alice:***@cache.example/0?ssl_cert_reqs=none"
    result = CliRunner().invoke(main, ["config", "--cache-url", "redis://cache.example:6379/0?password=hunter2"])
    assert result.exit_code == 0 and "hunter2" not in result.output and "password=***" in result.output
