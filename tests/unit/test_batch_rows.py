"""serving.batch_rows gives the rows and CSV bytes of the row-by-row code it replaced."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pandas as pd

from serving.batch_csv import clean
from serving.batch_rows import columns, csv_chunks, records


def _frame() -> pd.DataFrame:
    n = 7
    return pd.DataFrame(
        {
            "customer_id": [f"app-{i}" for i in range(n)],
            "kva": np.array([315.0, 400.0, np.nan, 630.0, 1e16, 1e-7, 2500.0]),
            "count": np.arange(n, dtype=np.int64),
            "flag": np.array([True, False] * 3 + [True]),
            "reason": np.array([None, "area_only", None, "x", None, "=cmd", None], dtype=object),
            "text": pd.array(["a", None, "c", "-1", "e", "f", "g"], dtype="str"),
        }
    )


def test_records_equal_to_dict_records_cleaned() -> None:
    frame = _frame()
    old = [{k: clean(v) for k, v in r.items()} for r in frame.to_dict("records")]
    new = records(frame)
    assert new == old
    # The same types, not only equal values (JSON prints 1 and 1.0 differently).
    for a, b in zip(new, old, strict=True):
        assert [type(v) for v in a.values()] == [type(v) for v in b.values()]
        assert list(a) == list(b)


def _cell(column: str, value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, str) and value.startswith(("=", "-")):
        return "'" + value
    return value


def test_csv_chunks_are_the_bytes_dictwriter_wrote() -> None:
    frame = _frame()
    header = ["customer_id", "status", "kva", "count", "flag", "reason", "text", "absent"]
    rows = [{**r, "status": "ok"} for r in records(frame)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: _cell(k, v) for k, v in row.items()} for row in rows)
    want = buf.getvalue().encode("utf-8-sig")
    cols = {**columns(frame), "status": ["ok"] * len(frame)}
    for per_chunk in (1, 3, 2_000):
        got = b"".join(csv_chunks(header, cols, len(frame), _cell, rows_per_chunk=per_chunk))
        assert got == want


def test_an_empty_batch_is_the_header_only() -> None:
    got = b"".join(csv_chunks(["a", "b"], {"a": [], "b": []}, 0, _cell))
    assert got == "a,b\r\n".encode("utf-8-sig")
