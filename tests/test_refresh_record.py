"""The shared refresh record: what one process's refresh tells the others, read back safely."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import textwrap

import pytest

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.query import RankingQuery, TableRequest
from xl_fastmoss.refresh_record import KEPT_REFRESHES, RECORD_FILE_NAME, RefreshRecord, query_key

T0 = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.timezone.utc)
US = RankingQuery.build("most_promoted", "US", 14, "day", "2026-04-01")
GB = RankingQuery.build("most_promoted", "GB", 14, "day", "2026-04-01")


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def add(record: RefreshRecord, start: float, refreshed=(US, GB), failed=None, api_calls=2):
    return record.add(started=minutes(start), finished=minutes(start + 1), scope="Book.xlsm", tables=2,
                      api_calls=api_calls, refreshed=refreshed, failed=failed or {})


def test_a_refresh_written_by_one_record_is_read_by_another_on_the_same_folder(tmp_path):
    add(RefreshRecord.in_cache_dir(tmp_path), 0, failed={US: "FastMoss server error (HTTP 503)"})
    (read,) = RefreshRecord.in_cache_dir(tmp_path).refreshes()
    assert (read.number, read.started, read.finished, read.tables, read.api_calls) == (1, minutes(0), minutes(1), 2, 2)
    assert read.refreshed == {query_key(US), query_key(GB)}
    assert read.failed[query_key(US)].reason == "FastMoss server error (HTTP 503)"
    assert read.failed[query_key(US)].table == "most_promoted, US, category 14, day 2026-04-01"


def test_a_table_is_stale_while_its_data_is_older_than_the_refresh_that_failed_it(tmp_path):
    record = RefreshRecord.in_cache_dir(tmp_path)
    add(record, 10, failed={US: "HTTP 503"})
    assert record.failure_for(US, minutes(5)).reason == "HTTP 503"  # the data it still shows is older
    assert record.failure_for(US, minutes(12)) is None  # fetched since: not stale
    assert record.failure_for(GB, minutes(5)) is None  # GB's refresh succeeded
    add(record, 20, refreshed=(GB,))
    assert record.failure_for(US, minutes(5)).reason == "HTTP 503"  # a refresh of GB alone changes nothing for US
    add(record, 30)
    assert record.failure_for(US, minutes(5)) is None  # the latest refresh of US succeeded


def test_the_record_keeps_the_last_refreshes_and_numbers_them(tmp_path):
    record = RefreshRecord.in_cache_dir(tmp_path)
    for n in range(KEPT_REFRESHES + 5):
        add(record, n)
    kept = record.refreshes()
    assert len(kept) == KEPT_REFRESHES and [r.number for r in kept] == list(range(6, KEPT_REFRESHES + 6))


def test_refreshes_written_at_once_by_several_processes_are_all_kept(tmp_path):
    code = textwrap.dedent(f"""
        import datetime as dt, sys
        from pathlib import Path
        from xl_fastmoss.query import RankingQuery
        from xl_fastmoss.refresh_record import RefreshRecord
        record = RefreshRecord.in_cache_dir(Path({str(tmp_path)!r}))
        query = RankingQuery.build("most_promoted", "US", 14, "day", "2026-04-01")
        now = dt.datetime.now(dt.timezone.utc)
        for _ in range(8):
            record.add(started=now, finished=now, scope=sys.argv[1], tables=1, api_calls=1, refreshed=[query],
                       failed={{}})
    """)
    children = [subprocess.Popen([sys.executable, "-c", code, f"child {i}"]) for i in range(4)]
    assert [child.wait(timeout=120) for child in children] == [0] * 4
    numbers = [r.number for r in RefreshRecord.in_cache_dir(tmp_path).refreshes()]
    assert sorted(numbers) == list(range(1, 33))


def test_calls_of_refreshes_in_other_processes_are_counted_not_this_ones(tmp_path):
    record = RefreshRecord.in_cache_dir(tmp_path)
    add(record, 0, api_calls=7)  # this process
    payload = json.loads((tmp_path / RECORD_FILE_NAME).read_text())
    other = dict(payload["refreshes"][0], number=2, pid=payload["refreshes"][0]["pid"] + 1, api_calls=5)
    payload["refreshes"].append(other)
    (tmp_path / RECORD_FILE_NAME).write_text(json.dumps(payload))
    assert RefreshRecord.in_cache_dir(tmp_path).api_calls_elsewhere(since=minutes(-1)) == 5
    assert RefreshRecord.in_cache_dir(tmp_path).api_calls_elsewhere(since=minutes(2)) == 0


@pytest.mark.parametrize("content", [
    b"not json",
    b'{"format": 1, "refreshes": {}}',
    b'{"format": 2, "refreshes": []}',
    b'{"format": 1, "refreshes": [{"number": "1"}]}',
    b"[" * 100_000,
    b'{"format": 1, "refreshes": [], "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}',
], ids=["not-json", "not-a-list", "other-format", "bad-field", "deep", "huge"])
def test_a_damaged_or_hostile_record_reads_as_none_with_one_warning(tmp_path, caplog, content):
    (tmp_path / RECORD_FILE_NAME).write_bytes(content)
    record = RefreshRecord.in_cache_dir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="xl_fastmoss.refresh_record"):
        assert record.refreshes() == ()
        assert record.refreshes() == ()  # read once while the file is unchanged
    assert len(caplog.records) == 1 and caplog.records[0].getMessage().startswith("ignoring the refresh record ")
    add(record, 0)  # a refresh then starts the record again
    assert [r.number for r in RefreshRecord.in_cache_dir(tmp_path).refreshes()] == [1]


def test_without_a_cache_folder_the_record_is_this_processs_own(tmp_path):
    record = RefreshRecord.in_cache_dir(None)
    add(record, 0, failed={GB: "HTTP 503"})
    assert record.failure_for(GB, minutes(-1)).reason == "HTTP 503"
    assert list(tmp_path.iterdir()) == []


# -- the client's tables in memory ---------------------------------------------------------------------

def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.mark.usefixtures("recent_periods")
def test_a_table_in_memory_is_dropped_once_another_process_refreshed_it(fake_env, tmp_path):
    settings = Settings.load(cache_dir=tmp_path / "cache")
    request = TableRequest(US, 10)
    with FastMossClient(settings) as ui, FastMossClient(settings) as button:  # the UDF server, the button
        old = ui.fetch(request)
        fake_env.revision += 1
        started = _now()
        refreshed = button.fetch(request, refresh=True)
        button.refresh_record.add(started=started, finished=_now(), scope="Book.xlsm", tables=1, api_calls=1,
                                  refreshed=[US], failed={})
        fake_env.reset_calls()
        assert ui.fetch(request).frame.equals(refreshed.frame) and not refreshed.frame.equals(old.frame)
        assert fake_env.call_count == 0  # the new page came from the shared cache
        ui.fetch(request)
        assert ui.stats.tables_from_memory == 1  # held again, not dropped again


def test_a_table_whose_refresh_failed_stays_in_memory(fake_env, tmp_path):
    settings = Settings.load(cache_dir=tmp_path / "cache")
    request = TableRequest(US, 10)
    with FastMossClient(settings) as ui:
        old = ui.fetch(request)
        fake_env.revision += 1
        RefreshRecord.in_cache_dir(tmp_path / "cache").add(
            started=_now(), finished=_now(), scope="Book.xlsm", tables=1, api_calls=1, refreshed=[US],
            failed={US: "HTTP 503"})
        assert ui.fetch(request).frame.equals(old.frame) and ui.stats.tables_from_memory == 1
