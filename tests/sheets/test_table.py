import copy
import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd

from xl_fastmoss.columns import LABELS, default_fields
from xl_fastmoss.endpoints import MOST_PROMOTED
from xl_fastmoss.parse import rows_to_frame
from xl_fastmoss.query import RankingQuery
from xl_fastmoss.result import RankingResult
from xl_fastmoss.sheets.table import to_rows

EXAMPLE = json.loads((Path(__file__).parents[2] / "xl_fastmoss/data/most_promoted.response.example.json").read_text())
QUERY = RankingQuery.build("most_promoted", "US", 14, "day", "2026-04-01")


def result_of(frame: pd.DataFrame) -> RankingResult:
    return RankingResult(frame=frame, query=QUERY, rows_asked=len(frame), total=len(frame), date_type="day",
                         date_value="2026-04-01", fetched_at=dt.datetime(2026, 4, 2, tzinfo=dt.timezone.utc))


def rows_with_blanks() -> list[dict]:
    """The vendor's row, then copies with a field of each kind missing or unreadable."""
    first = EXAMPLE["data"]["list"][0]
    rows = [copy.deepcopy(first) for _ in range(4)]
    rows[1]["shop_info"]["name"] = None
    rows[1]["gmv"] = "lots"
    rows[2]["affiliate_count"] = None
    rows[2]["gmv_inc_rate"] = "-"
    rows[3]["shop_info"]["seller_id"] = 1.5
    rows[3]["usd_gmv"] = math.nan
    return rows


def test_a_table_shows_every_value_as_its_python_value_and_every_blank_as_none():
    frame = rows_to_frame(rows_with_blanks(), MOST_PROMOTED)
    fields = default_fields(MOST_PROMOTED)
    shown = to_rows(result_of(frame))
    assert shown[0] == [LABELS[f] for f in fields]
    body = shown[1:]
    assert len(body) == 4 and all(len(row) == len(fields) for row in body)
    column = {f: [row[i] for row in body] for i, f in enumerate(fields)}
    assert column["name"] == ["LOOKFANTASTIC", None, "LOOKFANTASTIC", "LOOKFANTASTIC"]
    assert column["seller_id"] == ["7494006325298104216"] * 3 + [None]
    assert column["gmv"] == [24915.88, None, 24915.88, 24915.88]
    assert column["usd_gmv"] == [30895.69] * 3 + [None]
    assert column["affiliate_count"] == [55, 55, None, 55]
    assert column["gmv_inc_rate"] == [0.4339, 0.4339, None, 0.4339]
    assert {type(v) for row in body for v in row} <= {int, float, str, type(None)}


def test_blanks_of_every_dtype_are_none_and_nothing_else_changes():
    frame = pd.DataFrame({
        "rank": pd.array([1, 2, None], dtype="Int64"),
        "previous_rank": pd.array([None, 2, 3], dtype="Int64"),
        "new": pd.array([True, None, False], dtype="boolean"),
        "name": pd.array(["a", None, "=1+1"], dtype="string"),
        "usd_gmv": [1.5, math.nan, -0.0],
        "note": pd.Series([None, math.nan, "x"], dtype=object),
    })
    shown = to_rows(result_of(frame), ("rank", "previous_rank", "new", "name", "usd_gmv", "note"), headers=False)
    assert shown == [[1, None, True, "a", 1.5, None], [2, 2, None, None, None, None],
                     [None, 3, False, "=1+1", -0.0, "x"]]
    assert math.copysign(1, shown[2][4]) == -1
