"""The local cache file: answers stored as data only, and a file that breaks never stops a call."""

import logging
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest
import requests

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.cache import CACHE_FILE_NAME
from xl_fastmoss.fake_server import FAKE_API_KEY
from xl_fastmoss.query import RankingQuery

DAY = "2026-04-01"


def client_of(**overrides):
    return FastMossClient(Settings.load(retry_backoff=0.01, **overrides))


def per_answer_fields_masked(body):
    import re

    return re.sub(rb'"(request_id|timestamp)":("[^"]*"|\d+)', rb'"\1":-', body)


def page_key(client, region="US", page=1):
    query = RankingQuery.build("most_promoted", region, 14, "day", DAY)
    return client.cache.key(client.settings.base_url + query.endpoint.path, query.body(page))


def cache_file(tmp_path):
    return tmp_path / "cache" / CACHE_FILE_NAME


class RunsCode:
    """A pickle that, unpickled, creates the file ``marker``: what an attacker would store."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_answers_are_stored_as_json_and_come_back_byte_for_byte(fake_env, tmp_path):
    with client_of() as client:
        result = client.most_promoted("US", 14, "day", DAY)
        key = page_key(client)
        stored = client.cache.get(key).content
    query = RankingQuery.build("most_promoted", "US", 14, "day", DAY)
    sent = requests.post(fake_env.base_url + query.endpoint.path, json=query.body(1),
                         headers={"Authorization": f"Bearer {FAKE_API_KEY}"}, timeout=10).content
    # Each answer has its own request_id and timestamp; every other byte is the same.
    assert f'"request_id":"{result.request_ids[0]}"'.encode() in stored
    assert per_answer_fields_masked(stored) == per_answer_fields_masked(sent)
    with sqlite3.connect(cache_file(tmp_path)) as db:
        [(value,)] = db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchall()
    text = value if isinstance(value, str) else value.decode("utf-8")
    assert text.startswith("{") and isinstance(__import__("json").loads(text), dict)


@pytest.mark.usefixtures("recent_periods")
def test_a_page_read_again_is_decoded_once_until_another_process_stores_a_newer_one(fake_env, tmp_path):
    with client_of() as client, client_of() as another_process:
        client.most_promoted("US", 14, "day", DAY)
        key = page_key(client)
        first = client.cache.get(key)
        assert client.cache.get(key) is first  # the same stored text: decoded once
        newer = another_process.most_promoted("US", 14, "day", DAY, refresh=True)
        read = client.cache.get(key)
        assert read is not first and read.created_at > first.created_at
        assert f'"request_id":"{newer.request_ids[0]}"'.encode() in read.content
    assert fake_env.call_count == 2


@pytest.mark.parametrize("hostile", ["pickle", "json list", "deep json", "not a response", "huge"])
def test_a_stored_value_that_does_not_decode_is_fetched_again_and_nothing_runs(fake_env, tmp_path, hostile):
    marker = tmp_path / "code-ran"
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY)
        key = page_key(client)
    value = {
        "pickle": pickle.dumps(RunsCode(marker)),
        "json list": "[1, 2, 3]",
        "deep json": "[" * 100_000 + "]" * 100_000,
        "not a response": '{"_content": 12, "status_code": "many"}',
        "huge": '{"_content": "' + "A" * 8_000_000 + '"}',
    }[hostile]
    with sqlite3.connect(cache_file(tmp_path)) as db:
        db.execute("UPDATE responses SET value = ? WHERE key = ?", (value, key))
    with client_of() as another_process:
        result = another_process.most_promoted("US", 14, "day", DAY)
        assert not result.from_cache and len(result.frame) == 10
        assert another_process.cache.get(key).content  # the good page is back in its place
    assert not marker.exists()
    assert fake_env.call_count == 2


def break_file(path, keep=0):
    """Overwrite ``path`` from byte ``keep`` on with bytes that are not SQLite."""
    size = max(path.stat().st_size, 8192)
    with path.open("r+b") as handle:
        handle.seek(keep)
        handle.write(bytes(range(256)) * ((size - keep) // 256 + 1))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty header"])
def test_a_corrupt_cache_file_is_moved_aside_and_a_new_one_started(fake_env, tmp_path, caplog, damage):
    import xl_fastmoss.udfs as udfs

    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY, rows=300)
    path = cache_file(tmp_path)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    if damage == "garbage":
        path.write_bytes(b"this is not a database\n" * 500)
    elif damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:
        break_file(path)
    caplog.set_level(logging.WARNING)
    table = udfs.FM_MOSTPROMOTED("US", 14, "day", DAY)
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert len(table) == 11 and fake_env.call_count == 4  # asked again, and shown
    aside = [p.name for p in path.parent.iterdir() if p.name.startswith(f"{CACHE_FILE_NAME}.broken-")]
    assert len(aside) == 1
    assert status["Cache"].startswith(str(path)) and f"it was moved to {aside[0]}" in status["Cache"]
    warnings = [r.getMessage() for r in caplog.records if "moved it to" in r.getMessage()]
    assert len(warnings) == 1
    assert udfs.FM_MOSTPROMOTED("US", 14, "day", DAY) == table and fake_env.call_count == 4  # the new file serves


def test_a_cache_file_that_breaks_while_in_use_is_replaced_once(fake_env, tmp_path, caplog):
    with client_of() as client:
        for region in ("US", "GB", "DE", "FR"):
            client.most_promoted(region, 14, "day", DAY, rows=200)
    path = cache_file(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    break_file(path, keep=4096)  # the first page (the schema) stays: the file opens, its pages do not read
    caplog.set_level(logging.WARNING)
    with client_of() as client:
        result = client.most_promoted("GB", 14, "day", DAY, rows=200)
        again = client.most_promoted("IT", 14, "day", DAY)
        assert "it was moved to" in client.cache.describe()
    assert len(result.frame) == 200 and len(again.frame) == 10
    assert len([r for r in caplog.records if "moved it to" in r.getMessage()]) == 1


def test_fm_status_over_a_broken_cache_is_a_table_not_a_traceback(fake_env, tmp_path):
    import xl_fastmoss.udfs as udfs

    path = cache_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 100)
    status = {row[0]: row[1] for row in udfs.FM_STATUS()}
    assert status["API key"] == "configured" and "could not be read" in status["Cache"]


def drop_file_permission_override():
    """The command prefix that runs a child without root's right to ignore file permissions."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


FETCH_AND_STATUS = textwrap.dedent("""
    from xl_fastmoss.sheets.functions import status_table
    import xl_fastmoss
    frame = xl_fastmoss.most_promoted("US", 14, "day", "2026-04-01")
    print(len(frame))
    print(dict((row[0], row[1]) for row in status_table())["Cache"])
""")


@pytest.mark.parametrize("what", ["read-only folder", "unreadable file"])
def test_a_cache_that_cannot_be_written_degrades_with_a_warning(fake_env, tmp_path, what):
    folder = tmp_path / "cache"
    folder.mkdir()
    if what == "read-only folder":
        folder.chmod(0o555)
    else:
        (folder / CACHE_FILE_NAME).write_bytes(b"")
        (folder / CACHE_FILE_NAME).chmod(0o000)
    try:
        done = subprocess.run([*drop_file_permission_override(), sys.executable, "-c", FETCH_AND_STATUS],
                              env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    rows, cache = done.stdout.strip().splitlines()
    assert rows == "10" and "Traceback" not in done.stderr
    if what == "read-only folder":
        assert cache == (f"memory (the cache folder {folder} is read-only; "
                         "answers are kept in memory for this session only)")
        # one warning for the cache, one for the call ledger kept beside it
        assert done.stderr.count("is read-only") == 2
        assert done.stderr.count("answers are kept in memory") == 1
        assert done.stderr.count("calls are counted in memory") == 1
    else:
        assert cache.startswith(str(folder / CACHE_FILE_NAME)) and "it was moved to" in cache
        assert "responses.sqlite is not a file this user can read and write" in done.stderr


def test_page_locks_are_files_of_a_bounded_lock_folder_in_the_cache_folder(fake_env, tmp_path):
    from xl_fastmoss.page_locks import LOCK_FOLDER, STRIPES

    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY, rows=500)
    locks = list((tmp_path / "cache" / LOCK_FOLDER).iterdir())
    assert 1 <= len(locks) <= 5 and all(p.name.startswith("page-") and p.suffix == ".lock" for p in locks)
    assert all(0 <= int(p.stem.split("-")[1]) < STRIPES for p in locks)


def test_threads_of_one_process_take_turns_on_a_page_lock(tmp_path):
    from xl_fastmoss.page_locks import PageLocks

    locks = PageLocks(tmp_path)
    held, release, tried = threading.Event(), threading.Event(), []

    def holder():
        with locks.hold("page-a", wait=0) as got:
            tried.append(got)
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(5)
    with locks.hold("page-a", wait=0) as got:  # the same lock object, another thread: not held
        tried.append(got)
    release.set()
    thread.join(5)
    with locks.hold("page-a", wait=1) as got:
        tried.append(got)
    assert tried == [True, False, True]


def test_a_lock_folder_that_cannot_be_made_costs_a_warning_not_a_table(fake_env, tmp_path, caplog):
    from xl_fastmoss.page_locks import LOCK_FOLDER

    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / LOCK_FOLDER).write_text("not a folder")
    with caplog.at_level(logging.WARNING), client_of() as client:
        assert len(client.most_promoted("US", 14, "day", DAY, rows=200).frame) == 200
    assert fake_env.call_count == 2
    assert [r.message for r in caplog.records].count(
        f"page locks in {tmp_path / 'cache' / LOCK_FOLDER} cannot be used (File exists): processes asking "
        "for one page at the same moment may each call for it") == 1



def test_a_cache_file_busy_with_another_writer_is_skipped_not_moved_aside(fake_env, tmp_path, caplog):
    # requests-cache itself waits for SQLite's write lock (it retries BEGIN IMMEDIATE); "database is
    # locked" reaches the cache from its other statements, and means busy, not broken.
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY)
        backend = client.cache.backend
        with caplog.at_level(logging.WARNING):
            client.cache._recover(backend, sqlite3.OperationalError("database is locked"))
            # what two threads stepping one shared statement meet: not the file's fault either
            client.cache._recover(backend, sqlite3.DatabaseError("no more rows available"))
        assert "is busy (database is locked); this page was not read or kept there" in caplog.text
        assert client.cache.backend is backend and client.cache.describe() == str(cache_file(tmp_path))
        assert client.cache.get(page_key(client)) is not None  # the stored page still read from it
    assert not list((tmp_path / "cache").glob("*.broken-*"))


def test_a_broken_files_connection_stays_open_for_the_threads_still_reading_it(fake_env, tmp_path):
    with client_of() as client:
        client.most_promoted("US", 14, "day", DAY)
        broken = client.cache.backend
        client.cache._recover(broken, sqlite3.DatabaseError("database disk image is malformed"))
        assert client.cache.backend is not broken
        # Not closed under a thread reading through it (closing mid-read can crash SQLite) ...
        assert broken.responses._connection is not None
    assert broken.responses._connection is None  # ... but with the cache
    assert list((tmp_path / "cache").glob("*.broken-*"))
