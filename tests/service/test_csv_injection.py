"""CSV answers never carry a formula a spreadsheet would run (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from serving.batch_csv import csv_safe

CUSTOMERS = (
    "customer_id,industry,floor_area_m2,peak_demand_kw\n"
    "=1+1,machinery,2000,\n"
    "@SUM(A1),office,3000,\n"
    "+cmd,nosuchindustry,1000,\n"
)
EQUIPMENT = (
    "customer_id,category,rated_kw,quantity,standby,name\n"
    "=1+1,machine_tool,7.5,4,false,-2+3\n"
    '@SUM(A1),lighting,20,1,false,=HYPERLINK("x")\n'
)


def test_formula_leading_text_is_escaped_and_numbers_are_not() -> None:
    for lead in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_safe(f"{lead}1") == f"'{lead}1"
    assert csv_safe(-5.0) == -5.0 and csv_safe("A1") == "A1" and csv_safe(None) is None


@pytest.mark.live
def test_batch_csv_answer_escapes_every_formula_cell(client: httpx.Client) -> None:
    files = {
        "customers": ("customers.csv", CUSTOMERS.encode(), "text/csv"),
        "equipment": ("equipment.csv", EQUIPMENT.encode(), "text/csv"),
    }
    r = client.post("/recommend_batch", files=files, data={"output": "csv"})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows, r.text
    cells = [v for row in rows for v in row.values() if v]
    assert not [c for c in cells if c[0] in "=+-@\t\r"], cells
    ids = {row["customer_id"] for row in rows}
    assert "'=1+1" in ids and "'@SUM(A1)" in ids and "'+cmd" in ids
