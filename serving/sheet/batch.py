"""A batch answer (the ``/recommend_batch`` CSV) as an Excel workbook for download.

The page shows the CSV answer as a table; this turns the same rows into a workbook with
numbers as numbers (so the planner can sort and filter in Excel), without scoring or
logging anything again.
"""

from __future__ import annotations

import csv
import io

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
    format: str = Field("xlsx", pattern="^xlsx$", description="'xlsx'")


def _typed(text: str) -> object:
    if text in ("True", "False"):
        return text == "True"
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        # The CSV may come from anywhere (the client posts it): text is never a formula.
        return formula_safe(text)


def batch_xlsx(csv_text: str, columns: tuple[str, ...]) -> bytes:
    """The workbook of a CSV answer.

    Raises
    ------
    ValueError
        If the header is not the batch answer's (it must start with ``columns``' first
        three names and use only ``columns``), or there are too many rows.
    """
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
    # Write-only mode streams the rows (16,637 rows × 27 columns: 17 s in normal mode,
    # a few seconds streamed, measured by benchmarks/bench_batch_page.py).
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("recommendations")
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows)}"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="EEF2F7")
    head_cells = []
    for name in header:
        cell = WriteOnlyCell(ws, value=name)
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
