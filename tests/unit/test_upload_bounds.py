"""Uploads bounded before and while they are parsed (serving/batch_csv.py).

A 2 KB workbook with one cell at ZZ50000 cost 18.5 s and +0.8 GB per request when the
sheet's declared dimension was believed; it is now refused as it streams in. The cost of
hostile uploads through the server: ``benchmarks/bench_uploads.py``.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from serving import batch_csv
from serving.batch_csv import check_csv_bounds, check_csv_text_bounds, workbook_sheets


def _save(book: openpyxl.Workbook, path: Path) -> Path:
    book.save(path)
    return path


def _error(response: object) -> dict:
    return json.loads(response.body)["errors"][0]  # type: ignore[attr-defined]


def test_one_cell_far_out_is_refused_at_once_naming_it(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "customers"
    book.active["A1"] = "customer_id"
    book.active["ZZ50000"] = "x"
    path = _save(book, tmp_path / "far.xlsx")
    t0 = time.process_time()
    answer = workbook_sheets(path)
    assert time.process_time() - t0 < 5  # generous: it is milliseconds; it was 18.5 s
    assert answer.status_code == 413  # type: ignore[union-attr]
    assert _error(answer)["value"] == "ZZ50000"


def test_a_workbook_that_unpacks_to_too_much_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_csv, "MAX_WORKBOOK_UNPACKED_BYTES", 100_000)
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b" " * 1_000_000)
    answer = workbook_sheets(path)
    assert answer.status_code == 413  # type: ignore[union-attr]
    assert "unpacked" in _error(answer)["message"]


def test_rows_and_cells_are_counted_as_the_sheet_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_csv, "MAX_UPLOAD_ROWS", 50)
    book = openpyxl.Workbook()
    book.active.title = "customers"
    for i in range(60):
        book.active.append([f"c{i}", "machinery"])
    answer = workbook_sheets(_save(book, tmp_path / "rows.xlsx"))
    assert answer.status_code == 413 and _error(answer)["value"] == 51  # type: ignore[union-attr]


def test_a_normal_workbook_reads_as_pandas_read_it(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    cust = book.active
    cust.title = "customers"
    cust.append(["customer_id", "industry", "floor_area_m2", "employees", "note"])
    cust.append(["c1", "machinery", 5000, 80.0, "=1+2"])
    cust.append(["c2", "food", 1234.5, None, None])
    cust.append([None, None, None, None, None])
    cust.append(["c3", "printing", 10, 3, "x"])
    equip = book.create_sheet("Equipment ")
    equip.append(["customer_id", "line_no", "name", "rated_kw", "quantity"])
    equip.append(["c1", 1, "车床", 7.5, 12])
    path = _save(book, tmp_path / "ok.xlsx")
    sheets = workbook_sheets(path)
    assert isinstance(sheets, tuple)
    theirs = pd.read_excel(
        io.BytesIO(path.read_bytes()), sheet_name=None, dtype=str, na_filter=False
    )
    for ours, name in zip(sheets, ("customers", "Equipment "), strict=True):
        assert ours is not None
        frame = pd.read_csv(ours, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(frame, theirs[name], check_dtype=False)


def test_a_value_right_of_the_header_is_refused_not_dropped(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "customers"
    book.active.append(["customer_id", "industry"])
    book.active.append(["c1", "machinery", "stray"])
    answer = workbook_sheets(_save(book, tmp_path / "stray.xlsx"))
    assert answer.status_code == 400 and _error(answer)["value"] == "C2"  # type: ignore[union-attr]


def test_csv_uploads_and_texts_are_bounded_by_columns(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text("a" + "," * 1000 + "\n")
    assert check_csv_bounds(wide, "customers").status_code == 413  # type: ignore[union-attr]
    assert check_csv_text_bounds("a" + "," * 1000, "csv") is not None
    fine = tmp_path / "fine.csv"
    fine.write_text("customer_id,industry\nc1,machinery\n")
    assert check_csv_bounds(fine, "customers") is None
