"""Customer and equipment tables as people upload them, read into the contract's columns.

The batch page and ``/recommend_batch`` accept what the form accepts: a CSV saved by Excel
on Chinese Windows (GBK/GB18030, not UTF-8), Chinese column headers (``客户编号``, ``行业``,
``设备名称``, ``额定功率``…), an industry written as a word (``饭店``, ``机加工``), a line with a
name but no category code, a power or count written in the name (``空压机 37kW 2台``), and a
file with one unclosed quote (only that row is lost, and said so, not the whole file).

:func:`read_table` decodes and parses one upload; :func:`resolve_customers` and
:func:`resolve_equipment` turn words into codes with the same matchers and the same line
parser (:mod:`features.figures`) the form uses, and fill only empty cells. What was read
or resolved is returned as notes with the file's row number as a spreadsheet shows it (the
header is row 1 unless empty lines stand above it: :attr:`UploadTable.header_row`), so the answer
can say it; values that cannot be resolved are left as written for the contract
validation to reject with its own message.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import load_catalog
from features.contract import BOOLEAN_TRUE_WORDS
from features.figures import parse_line
from features.matching import default_matcher, industry_matcher
from features.validation import HEADER_ROWS, spreadsheet_rows

ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")
"""Tried in order: UTF-8 (with or without BOM), then GB18030 (a superset of GBK/GB2312)."""

HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customer_id", "客户编号", "户号", "客户号", "用户编号"),
    "industry": ("industry", "行业", "行业类别", "所属行业", "用电类别"),
    "climate_zone": ("climate_zone", "气候区", "气候分区"),
    "floor_area_m2": (
        "floor_area_m2",
        "建筑面积",
        "面积",
        "建筑面积(m2)",
        "建筑面积(m²)",
        "建筑面积(平方米)",
        "面积(m2)",
        "area",
    ),
    "employees": ("employees", "人数", "职工人数", "员工人数", "从业人数"),
    "shifts": ("shifts", "班次", "班制", "每天班次"),
    "applied_capacity_kva": ("applied_capacity_kva", "申请容量", "报装容量", "拟报装容量"),
    "category": ("category", "类别", "设备类别", "类别代码"),
    "name": ("name", "名称", "设备名称", "设备", "设备名称及型号", "名称及型号", "description"),
    "rated_kw": (
        "rated_kw",
        "额定功率",
        "功率",
        "单台功率",
        "单台额定功率",
        "额定功率(kw)",
        "单台功率(kw)",
        "功率(kw)",
        "kw",
    ),
    "quantity": ("quantity", "数量", "台数", "qty"),
    "standby": ("standby", "备用", "是否备用"),
    "note": ("note", "备注", "说明", "remarks"),
}
"""Header words per contract column (lower case, spaces and full-width brackets folded)."""


def _header_key(cell: str) -> str:
    return (
        str(cell)
        .strip()
        .lower()
        .replace(" ", "")
        .replace("（", "(")
        .replace("）", ")")
        .lstrip("\ufeff")
    )


_HEADER_INDEX = {_header_key(w): col for col, words in HEADER_WORDS.items() for w in words}


@dataclass
class UploadNote:
    """One thing read, resolved or lost while reading an upload (a message code)."""

    source: str
    row: int | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The note as a JSON-ready mapping."""
        return {"source": self.source, "row": self.row, "code": self.code, "params": self.params}


@dataclass
class UploadTable:
    """A decoded, parsed upload: text cells under contract column names where known."""

    frame: pd.DataFrame
    encoding: str
    notes: list[UploadNote] = field(default_factory=list)
    header_row: int = HEADER_ROWS
    """The header's spreadsheet row: above 1 when empty lines stood above it."""

    def rows(self) -> np.ndarray:
        """The spreadsheet row number of each row of :attr:`frame`."""
        return spreadsheet_rows(len(self.frame), self.header_row)


def decode(data: bytes) -> tuple[str, str]:
    """The text of an upload and the encoding that read it.

    Raises
    ------
    ValueError
        If neither UTF-8 nor GB18030 reads the bytes (the message names both).
    """
    for enc in ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ValueError("the file is neither UTF-8 nor GBK/GB18030 text: save it as CSV (UTF-8)")


def _rows(text: str, source: str, notes: list[UploadNote]) -> list[list[str]]:
    """CSV rows; a row whose quote is never closed is dropped alone, with a note."""
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
        # An unclosed quote swallows the rest of the file into one cell: a cell that
        # holds line breaks and a delimiter is that, not a real multi-line value.
        if not any("\n" in c and "," in c for r in rows for c in r):
            return rows
    except csv.Error:
        pass
    out: list[list[str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            out.append([])
            continue
        if line.count('"') % 2:
            notes.append(UploadNote(source, number, "upload_unclosed_quote", {"line": line[:80]}))
            # An empty row in its place: the rows below keep their spreadsheet numbers.
            out.append([])
            continue
        out.extend(csv.reader([line]))
    return out


def _filled(row: list[str]) -> bool:
    """Whether a CSV row has any non-blank cell."""
    return any(cell.strip() for cell in row)


def read_table(data: bytes | str | Path, source: str) -> UploadTable:
    """Decode and parse one uploaded CSV; headers mapped to contract names where known.

    Parameters
    ----------
    data
        The file's bytes, or its path.
    source
        How to name it in notes (``customers``, ``equipment``).

    Returns
    -------
    UploadTable
        Text cells (empty string for empty), the encoding used and notes.
    """
    raw = Path(data).read_bytes() if isinstance(data, str | Path) else data
    text, encoding = decode(raw)
    notes: list[UploadNote] = []
    if encoding != "utf-8-sig":
        notes.append(UploadNote(source, None, "upload_encoding", {"encoding": "GB18030"}))
    rows = _rows(text, source, notes)
    if not any(_filled(r) for r in rows):
        return UploadTable(pd.DataFrame(dtype=str), encoding, notes)
    # Empty rows are kept (as empty cells) so that row k of the frame is row
    # header_row + 1 + k of the spreadsheet, the numbers every reject names; the validation
    # skips blank rows and counts them. Empty rows above the header are skipped, and
    # header_row says where the header was (features.validation.spreadsheet_rows).
    header_row = HEADER_ROWS
    while not _filled(rows[0]):  # '' or ',,,' (Excel writes an empty row so)
        rows.pop(0)
        header_row += 1
    header = []
    for cell in rows[0]:
        key = _header_key(cell)
        col = _HEADER_INDEX.get(key, str(cell).strip().lstrip("\ufeff"))
        if col != str(cell).strip() and col in HEADER_WORDS:
            notes.append(
                UploadNote(
                    source, header_row, "upload_header_mapped", {"header": cell, "column": col}
                )
            )
        header.append(col)
    width = len(header)
    body = [(r + [""] * width)[:width] for r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=str)
    return UploadTable(frame, encoding, notes, header_row)


def resolve_customers(
    frame: pd.DataFrame, source: str = "customers", header_row: int = HEADER_ROWS
) -> list[UploadNote]:
    """Industry words to codes in place (``饭店`` → restaurant); notes say which rows.

    ``header_row`` is :attr:`UploadTable.header_row`, so that the notes' rows are the
    spreadsheet's.
    """
    notes: list[UploadNote] = []
    if "industry" not in frame.columns:
        return notes
    row_of = spreadsheet_rows(len(frame), header_row)
    codes = load_catalog().industry_codes
    matcher = industry_matcher()
    for i, value in enumerate(frame["industry"].tolist()):
        text = str(value).strip()
        if not text or text in codes:
            continue
        m = matcher.match(text)
        # A typo corrected by the fuzzy step is not taken in a file: the validation names
        # the nearest code instead (a batch has no one watching each row).
        if m.category is not None and m.method in ("exact", "contained"):
            frame.iat[i, frame.columns.get_loc("industry")] = m.category
            code = "upload_industry_guessed" if m.confidence < 1 else "upload_industry_read"
            notes.append(
                UploadNote(source, int(row_of[i]), code, {"text": text, "industry": m.category})
            )
    return notes


def resolve_equipment(
    frame: pd.DataFrame,
    source: str = "equipment",
    min_confidence: float = 0.5,
    header_row: int = HEADER_ROWS,
) -> list[UploadNote]:
    """Names to categories and empty figures from the names, in place, with notes.

    A cell the file filled is never changed: only an empty category, rated_kw, quantity
    or standby is filled from what the name states (the same parser as the form).
    ``header_row`` is :attr:`UploadTable.header_row` (the notes' rows are the
    spreadsheet's).
    """
    notes: list[UploadNote] = []
    if "name" not in frame.columns and "category" not in frame.columns:
        return notes
    for column in ("name", "category", "rated_kw", "quantity", "standby"):
        if column not in frame.columns:
            frame[column] = ""
    matcher = default_matcher()
    codes = set(load_catalog().categories)
    row_of = spreadsheet_rows(len(frame), header_row)
    pos = {c: frame.columns.get_loc(c) for c in ("category", "rated_kw", "quantity", "standby")}
    for i, name in enumerate(frame["name"].tolist()):
        written = str(frame.iat[i, pos["category"]]).strip()
        # A word in the category column ('数控车床') is a name to match.
        text = str(name).strip() or (written if written not in codes else "")
        if not text:
            continue
        row = int(row_of[i])
        figures = parse_line(text)
        kw_cell = str(frame.iat[i, pos["rated_kw"]]).strip()
        kw: float | None
        try:
            kw = float(kw_cell) if kw_cell else None
        except ValueError:
            kw = None
        category = str(frame.iat[i, pos["category"]]).strip()
        if not category or category not in codes:
            m = matcher.match(text, rated_kw=kw)
            if (
                m.category is not None
                and m.confidence >= min_confidence
                and m.method in ("exact", "contained")
            ):
                if category:
                    notes.append(
                        UploadNote(
                            source,
                            row,
                            "upload_category_from_name",
                            {"text": category, "category": m.category},
                        )
                    )
                else:
                    notes.append(
                        UploadNote(
                            source,
                            row,
                            "upload_category_from_name",
                            {"text": text, "category": m.category},
                        )
                    )
                frame.iat[i, pos["category"]] = m.category
                category = m.category
                figures = m.figures or figures
        elif category in codes:
            figures = figures.with_power_factor(load_catalog().categories[category].cos_phi)
        if not kw_cell and figures.rated_kw is not None:
            frame.iat[i, pos["rated_kw"]] = f"{figures.rated_kw:g}"
            notes.append(UploadNote(source, row, "upload_kw_from_name", {"kw": figures.rated_kw}))
        if not str(frame.iat[i, pos["quantity"]]).strip() and figures.quantity:
            frame.iat[i, pos["quantity"]] = str(figures.quantity)
            notes.append(
                UploadNote(source, row, "upload_quantity_from_name", {"quantity": figures.quantity})
            )
        standby_cell = str(frame.iat[i, pos["standby"]]).strip()
        whole_standby = figures.standby and figures.standby_quantity in (None, figures.quantity)
        if not standby_cell and whole_standby:
            frame.iat[i, pos["standby"]] = BOOLEAN_TRUE_WORDS[0]
            notes.append(UploadNote(source, row, "upload_standby_from_name", {}))
        elif not standby_cell and figures.standby_quantity:
            notes.append(
                UploadNote(
                    source,
                    row,
                    "upload_standby_share",
                    {"standby": figures.standby_quantity, "quantity": figures.quantity},
                )
            )
    return notes
