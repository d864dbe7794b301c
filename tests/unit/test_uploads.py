"""Uploads as people make them (GBK, Chinese headers, words for codes, figures in names).

Issue 25 item 4: the batch page must accept what the form accepts.
"""

from __future__ import annotations

import pandas as pd

from features.uploads import read_table, resolve_customers, resolve_equipment
from features.validation import validate_frames

CUSTOMERS_ZH = "客户编号,行业,建筑面积,人数\nA1,饭店,800,20\nA2,机加工,3000,80\nA3,工厂,5000,\n"
EQUIPMENT_ZH = (
    "客户编号,设备名称,额定功率,数量,备用\n"
    "A1,冰箱 300W 2台,,,\n"
    "A1,抽油烟机,1.5,1,\n"
    "A2,空压机 37kW 2台,,,\n"
    "A2,数控车床,7.5,4,否\n"
    "A2,备用空压机 37kW,,1,\n"
)


def _codes(notes: list) -> list[str]:
    return [n.code for n in notes]


def test_a_gbk_file_with_chinese_headers_and_words_is_read_and_validates() -> None:
    cust = read_table(CUSTOMERS_ZH.encode("gb18030"), "customers")
    equip = read_table(EQUIPMENT_ZH.encode("gb18030"), "equipment")
    assert cust.encoding == "gb18030" and "upload_encoding" in _codes(cust.notes)
    assert list(cust.frame.columns) == ["customer_id", "industry", "floor_area_m2", "employees"]
    notes = resolve_customers(cust.frame) + resolve_equipment(equip.frame)
    assert cust.frame["industry"].tolist() == ["restaurant", "machinery", "machinery"]
    # 工厂 names no trade: resolved, but as a guess, and said for row 4.
    assert any(n.code == "upload_industry_guessed" and n.row == 4 for n in notes)
    eq = equip.frame
    assert eq.loc[0, "category"] == "refrigeration_compressor"
    assert (eq.loc[0, "rated_kw"], eq.loc[0, "quantity"]) == ("0.3", "2")
    assert (eq.loc[2, "rated_kw"], eq.loc[2, "quantity"]) == ("37", "2")
    assert eq.loc[3, "standby"] == "否"  # what the file says is kept
    assert eq.loc[4, "standby"] not in ("", "否")
    validated = validate_frames(cust.frame, equip.frame, sources=("customers", "equipment"))
    assert len(validated.customers) == 3 and validated.rejects.empty, validated.rejects


def test_a_typed_cell_is_never_overwritten_by_the_name() -> None:
    equip = read_table(b"customer_id,name,rated_kw,quantity\nA,pump 15kW 3 units,11,2\n", "e")
    resolve_equipment(equip.frame)
    assert (equip.frame.loc[0, "rated_kw"], equip.frame.loc[0, "quantity"]) == ("11", "2")
    assert equip.frame.loc[0, "category"] == "pump"


def test_one_unclosed_quote_loses_its_row_only_and_says_so() -> None:
    text = 'customer_id,industry,floor_area_m2\nA1,office,1000\nA2,"office,2000\nA3,hotel,3000\n'
    table = read_table(text.encode(), "customers")
    # The lost row stays as an empty row: A3 is still row 4, as the spreadsheet shows it.
    assert table.frame["customer_id"].tolist() == ["A1", "", "A3"]
    assert [(n.code, n.row) for n in table.notes] == [("upload_unclosed_quote", 3)]


def test_blank_rows_are_kept_so_row_numbers_are_the_spreadsheets() -> None:
    text = "customer_id,industry\nA1,office\n\n\nA4,hotel\n"
    frame = read_table(text.encode(), "customers").frame
    assert frame["customer_id"].tolist() == ["A1", "", "", "A4"]  # A4: row 5 (k + 2)


def test_a_word_in_the_category_column_is_matched() -> None:
    frame = pd.DataFrame({"customer_id": ["A"], "category": ["数控车床"], "rated_kw": ["7.5"]})
    resolve_equipment(frame)
    assert frame.loc[0, "category"] == "machine_tool"
