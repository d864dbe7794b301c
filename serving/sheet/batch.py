"""A batch answer (the ``/recommend_batch`` CSV) as an Excel workbook for download.

The page shows the CSV answer as a table; this turns the same rows into a workbook with
numbers as numbers (so the planner can sort and filter in Excel), without scoring or
logging anything again.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from pydantic import BaseModel, ConfigDict, Field

from features.cells import formula_safe

MAX_BATCH_EXPORT_ROWS = 30_000
"""Most rows of one converted answer (10,000 answers plus their rejected rows)."""


class BatchExportRequest(BaseModel):
    """``POST /export/batch``: the CSV answer of ``/recommend_batch`` to convert."""

    model_config = ConfigDict(extra="forbid")

    csv: str = Field(..., min_length=1, description="The CSV answer, header row first")
    format: str = Field(
        "xlsx", pattern="^(xlsx|csv)$", description="'xlsx', or 'csv' (with `lang`: relabelled)"
    )
    lang: Literal["codes", "zh", "en"] = Field(
        "codes",
        description="Column headers and coded values (ok, True, oversized…) as the API writes "
        "them ('codes'), or in Chinese or English for people.",
    )
    rows: Literal["all", "rejected"] = Field(
        "all",
        description="'all' rows, or the reject report: the rejected customers only, with "
        "their rows of the files and reasons (in `lang`).",
    )


COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "customer_id": ("客户编号", "Customer"),
    "status": ("结果", "Result"),
    "recommended_kva": ("推荐容量/kVA", "Recommended kVA"),
    "predicted_peak_kw": ("预测最大负荷/kW", "Predicted peak kW"),
    "peak_low_kw": ("最大负荷下限/kW", "Peak low kW"),
    "peak_high_kw": ("最大负荷上限/kW", "Peak high kW"),
    "p_appropriate": ("合适概率", "P appropriate"),
    "p_undersized": ("偏小概率", "P undersized"),
    "p_oversized": ("偏大概率", "P oversized"),
    "engineering_kva": ("需要系数法/kVA", "Demand-factor method kVA"),
    "supply_voltage": ("供电电压", "Supply voltage"),
    "two_part_tariff": ("两部制电价", "Two-part tariff"),
    "monthly_capacity_charge_yuan": ("每月基本电费/元", "Monthly capacity charge (yuan)"),
    "applied_kva": ("申报容量/kVA", "Applied kVA"),
    "applied_verdict": ("申报容量结论", "Verdict on applied"),
    "applied_p_appropriate": ("申报容量合适概率", "Applied P appropriate"),
    "applied_yearly_difference_yuan": (
        "申报比推荐每年多付/元",
        "Applied minus recommended, yuan/year",
    ),
    "basis": ("依据", "Basis"),
    "clamped": ("已按规则调整", "Adjusted by a rule"),
    "manual_review": ("需人工复核", "Manual review"),
    "incomplete_list": ("设备清单不完整", "Incomplete list"),
    "unmatched_lines": ("未识别的设备行", "Unmatched lines"),
    "flags": ("数据提示", "Flags"),
    "model_version": ("模型版本", "Model version"),
    "recommendation_id": ("推荐编号", "Recommendation id"),
    "reason": ("原因", "Reason"),
    "source_rows": ("文件中的行号", "Rows of the files"),
    "reject_reasons": ("原因代码", "Reason codes"),
}
"""Headers of the batch answer for people, per language (zh, en)."""

VALUE_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("已推荐", "recommended"),
    "rejected": ("已拒绝", "rejected"),
    "True": ("是", "yes"),
    "False": ("否", "no"),
    "appropriate": ("容量合适", "appropriate"),
    "undersized": ("容量偏小", "undersized"),
    "oversized": ("容量偏大", "oversized"),
    "equipment": ("设备清单", "equipment list"),
    "area": ("建筑面积", "floor area"),
    "industry": ("行业典型值", "industry typical"),
}
"""Coded values of the batch answer for people (status, booleans, verdicts, basis)."""

_REJECTED_RE = re.compile(r"^rejected \((customers|equipment) row (\d+)\)$")
"""The status of a rejected row in answers before issue 25 (one row per line)."""
REJECT_REPORT_COLUMNS = ("customer_id", "status", "source_rows", "reason")
"""The columns of the reject report (``rows='rejected'``)."""


def rejected_only(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """The reject report of an answer: its rejected rows, :data:`REJECT_REPORT_COLUMNS`."""
    where = {c: i for i, c in enumerate(header)}
    keep = [c for c in REJECT_REPORT_COLUMNS if c in where]
    codes = where.get("reject_reasons")
    if codes is not None:
        keep.append("reject_reasons")  # read by localise, dropped from people's files
    status = where.get("status")
    picked = [r for r in rows if status is not None and len(r) > status and r[status] != "ok"]
    return keep, [[r[where[c]] if where[c] < len(r) else "" for c in keep] for r in picked]


def localise(
    header: list[str], rows: list[list[str]], lang: str
) -> tuple[list[str], list[list[str]]]:
    """Header and coded cells in ``lang`` ('zh' or 'en'); 'codes' returns them unchanged.

    A rejected customer's rows and reasons are rendered from its codes
    (``source_rows``, ``reject_reasons``: serving/batch_rejects.py) in ``lang``, and the
    codes column is left out (it is for programs). The status of an answer from before
    (one row per line, ``rejected (equipment row 5)``) names the file and row in words.
    """
    if lang == "codes":
        return header, rows
    from serving.batch_rejects import localised_reject
    from serving.messages import FILE_NAMES

    k = 0 if lang == "zh" else 1
    codes = header.index("reject_reasons") if "reject_reasons" in header else None
    at = {c: i for i, c in enumerate(header)}
    shown = [i for i, c in enumerate(header) if c != "reject_reasons"]
    head = [COLUMN_LABELS.get(header[i], (header[i], header[i]))[k] for i in shown]
    out = []
    for row in rows:
        words = None
        if codes is not None and codes < len(row) and row[codes]:
            k_rows = at.get("source_rows")
            source = row[k_rows] if k_rows is not None and k_rows < len(row) else ""
            words = localised_reject(source, row[codes], lang)
        cells = []
        for i in shown:
            if i >= len(row):
                break
            col, value = header[i], row[i]
            m = _REJECTED_RE.match(value) if col == "status" else None
            if words is not None and col in ("source_rows", "reason"):
                value = words[0] if col == "source_rows" else words[1]
            elif m is not None:
                where = FILE_NAMES[m.group(1)][k]
                value = (
                    f"已拒绝（{where}第 {m.group(2)} 行）"
                    if k == 0
                    else f"rejected ({where}, row {m.group(2)})"
                )
            elif col in ("status", "applied_verdict", "basis") or value in ("True", "False"):
                value = VALUE_LABELS.get(value, (value, value))[k]
            cells.append(value)
        out.append(cells)
    return head, out


def batch_csv_localised(
    csv_text: str, columns: tuple[str, ...], lang: str, rows_wanted: str = "all"
) -> bytes:
    """The CSV answer relabelled for people (UTF-8 with BOM, so Excel reads it).

    ``rows_wanted='rejected'``: the reject report (:func:`rejected_only`).
    """
    header, rows = _checked(csv_text, columns)
    if rows_wanted == "rejected":
        header, rows = rejected_only(header, rows)
    head, body = localise(header, rows, lang)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(head)
    writer.writerows([[formula_safe(c) for c in r] for r in body])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _typed(text: str) -> object:
    if text in ("True", "False"):
        return text == "True"
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        # The CSV may come from anywhere (the client posts it): text is never a formula.
        return formula_safe(text)


def _checked(csv_text: str, columns: tuple[str, ...]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a batch CSV answer; ValueError when it is not one."""
    rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    if not rows:
        raise ValueError("empty CSV: expected the /recommend_batch CSV answer")
    header = rows[0]
    unknown = [c for c in header if c not in columns]
    if header[:3] != list(columns[:3]) or unknown:
        raise ValueError(
            f"header {header[:6]}… is not a /recommend_batch CSV answer: expected columns "
            f"from {list(columns)}" + (f"; unknown {unknown[:5]}" if unknown else "")
        )
    if len(rows) - 1 > MAX_BATCH_EXPORT_ROWS:
        raise ValueError(f"{len(rows) - 1} rows: at most {MAX_BATCH_EXPORT_ROWS} are converted")
    return header, rows[1:]


def batch_xlsx(
    csv_text: str, columns: tuple[str, ...], lang: str = "codes", rows_wanted: str = "all"
) -> bytes:
    """The workbook of a CSV answer, headers and coded values in ``lang``.

    ``rows_wanted='rejected'``: the reject report (:func:`rejected_only`).

    Raises
    ------
    ValueError
        If the header is not the batch answer's (it must start with ``columns``' first
        three names and use only ``columns``), or there are too many rows.
    """
    header, body = _checked(csv_text, columns)
    if rows_wanted == "rejected":
        header, body = rejected_only(header, body)
    shown_header, body = localise(header, body, lang)
    rows = [shown_header, *body]
    # Write-only mode streams the rows (16,637 rows × 27 columns: 17 s in normal mode,
    # a few seconds streamed, measured by benchmarks/bench_batch_page.py).
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("recommendations")
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(shown_header))}{len(rows)}"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="EEF2F7")
    head_cells = []
    for name in shown_header:
        cell = WriteOnlyCell(ws, value=formula_safe(name))
        cell.font, cell.fill = bold, fill
        head_cells.append(cell)
    ws.append(head_cells)
    for row in rows[1:]:
        # Text cells stay text: _typed escapes a leading "=", "+", "-", "@" (the CSV
        # answer of /recommend_batch is escaped already; a posted CSV need not be).
        ws.append([_typed(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
