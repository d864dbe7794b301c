"""One exported sheet: answer the application, build the document, render the format."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from serving.core import Recommender
from serving.schemas import Recommendation
from serving.sheet.document import MEDIA_TYPES, ExportRequest, SheetDocument, build_document
from serving.sheet.words import word


@dataclass(frozen=True)
class ExportedFile:
    """The file answered by ``POST /export/sheet``."""

    content: bytes
    media_type: str
    filename: str
    recommendation: Recommendation


def render(doc: SheetDocument, fmt: str) -> bytes:
    """The document in one format ('pdf', 'xlsx' or 'docx')."""
    if fmt == "pdf":
        from serving.sheet.pdf import render_pdf

        return render_pdf(doc)
    if fmt == "xlsx":
        from serving.sheet.xlsx import render_xlsx

        return render_xlsx(doc)
    if fmt == "docx":
        from serving.sheet.docx import render_docx

        return render_docx(doc)
    raise ValueError(f"unknown format {fmt!r}: expected 'pdf', 'xlsx' or 'docx'")


_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def export_filename(request: ExportRequest, today: dt.date) -> str:
    """``负荷计算书_<户号 or 工程名称>_<date>.<fmt>`` (in English ``load-calculation_…``)."""
    who = request.header.account_no or request.header.project_name or ""
    head = word(request.lang, "file_stem")
    stem = "_".join(p for p in (head, _UNSAFE.sub("-", who)[:40], today.isoformat()) if p)
    return f"{stem}.{request.format}"


def export_sheet(
    recommender: Recommender, request: ExportRequest, today: dt.date | None = None
) -> ExportedFile:
    """Answer the application (with the planner check when a capacity is proposed).

    Raises
    ------
    ValueError
        If the application has no calculation sheet (neither equipment nor floor area).
    """
    today = request.header.date or today or dt.date.today()
    if request.proposed_kva is not None:
        check = recommender.check(request.application, request.proposed_kva)
        rec = check.recommendation
    else:
        check = None
        rec = recommender.recommend(request.application)
    doc = build_document(request, rec, check, today=today)
    return ExportedFile(
        content=render(doc, request.format),
        media_type=MEDIA_TYPES[request.format],
        filename=export_filename(request, today),
        recommendation=rec,
    )
