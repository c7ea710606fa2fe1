"""The naive counterpart: the code a user writes first with ``requests``, no cache, one fetch per cell."""

from __future__ import annotations

import json
import time

import pandas as pd
import requests

from benchmarks.tables import PAGE_SIZE, PATHS, Table
from xl_fastmoss.fake_server import FAKE_API_KEY


class NaiveError(Exception):
    """The API answered an error code; naive code has nothing better to do than show it."""


def naive_fetch(base_url: str, table: Table, rows: int | None = None, *,
                asked: list | None = None) -> pd.DataFrame:
    """The obvious client: ask page after page with ``requests`` until enough rows, no cache."""
    rows = rows or table.rows
    url = base_url + PATHS[table.function]
    headers = {"Authorization": f"Bearer {FAKE_API_KEY}"}
    collected: list = []
    page = 1
    while len(collected) < rows:
        body = table.naive_body(page)
        if asked is not None:
            asked.append((url, json.dumps(body, sort_keys=True)))
        response = requests.post(url, json=body, headers=headers, timeout=30)
        payload = response.json()
        if response.status_code != 200 or payload.get("code") != 0:
            raise NaiveError(f"HTTP {response.status_code}, code {payload.get('code')}: {payload.get('message')}")
        page_rows = payload["data"]["list"]
        collected.extend(page_rows)
        if len(page_rows) < PAGE_SIZE:
            break
        page += 1
    return pd.json_normalize(collected[:rows])


def naive_cell(base_url: str, table: Table, asked: list | None = None) -> list[list]:
    """A naive FM_ cell: fetch its own table and hand Excel the header and the values."""
    frame = naive_fetch(base_url, table, asked=asked)
    return [list(frame.columns)] + frame.astype(object).where(frame.notna(), None).values.tolist()


def naive_cells_failing(base_url: str, tables: list[Table]) -> tuple[float, int]:
    """Naive cells one after the other: the seconds they took and how many ended in an error."""
    failed = 0
    start = time.perf_counter()
    for table in tables:
        try:
            naive_cell(base_url, table)
        except NaiveError:
            failed += 1
    return time.perf_counter() - start, failed
