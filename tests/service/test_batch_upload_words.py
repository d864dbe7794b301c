"""``/recommend_batch`` accepts the files the form would (issue 25 item 4)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

CUSTOMERS = "客户编号,行业,建筑面积,人数\nA1,饭店,800,20\nA2,机加工,3000,80\n"
EQUIPMENT = (
    "客户编号,设备名称,额定功率,数量,备用\n"
    "A1,冰箱 300W 2台,,,\n"
    "A1,抽油烟机,1.5,1,\n"
    "A2,空压机 37kW 2台,,,\n"
    "A2,数控车床,7.5,4,否\n"
)

# Every test here talks to a real `bentoml serve` (tests/server_process.py).
pytestmark = pytest.mark.live


def _post(client: httpx.Client, output: str) -> httpx.Response:
    files = {
        "customers": ("客户.csv", CUSTOMERS.encode("gb18030"), "text/csv"),
        "equipment": ("设备.csv", EQUIPMENT.encode("gb18030"), "text/csv"),
    }
    return client.post("/recommend_batch", files=files, data={"output": output})


def test_gbk_files_with_chinese_headers_words_and_figures_in_names(client: httpx.Client) -> None:
    r = _post(client, "json")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n"] == 2 and not body["rejects"], body["rejects"]
    codes = {n["code"] for n in body["upload_notes"]}
    assert {"upload_encoding", "upload_header_mapped", "upload_industry_read"} <= codes
    assert "upload_kw_from_name" in codes and "upload_category_from_name" in codes
    rows = list(csv.DictReader(io.StringIO(_post(client, "csv").content.decode("utf-8-sig"))))
    assert {row["customer_id"] for row in rows} == {"A1", "A2"}
    assert all(row["status"] == "ok" for row in rows)
