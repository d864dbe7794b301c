"""``/recommend_batch``: a JSON list or the contract's files scored, logged, answered.

:func:`answer_batch` is the endpoint's whole work once the request is read: summary rows
through the vectorised path (same model, policy and bounds as one answer), ``detail=full``
answers with every explanation, the rejects report of contract uploads, and the
idempotent replay of a keyed batch (:mod:`serving.answer_log`).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from features.contract import CAPACITY_KVA_MAX, PEAK_KW_MAX
from features.metered import MeteredModelRequired
from features.schemas import Application
from serving.answer_log import AnswerLog, body_hash, idempotency_key
from serving.batch_csv import (
    MAX_BATCH,
    ContractUpload,
    clean,
    csv_response,
    csv_stream,
    read_contract_upload,
    reject_rows,
    with_flags,
)
from serving.batch_rejects import customer_rejects
from serving.batch_rows import columns, records
from serving.caps import cap_errors, cap_message, capped_rows, over_caps
from serving.errors import error_response, single_error, validation_errors
from serving.schemas import Recommendation

_APPS = TypeAdapter(list[Application])
MAX_FULL_BATCH = 1_000
"""Most applications of one ``detail=full`` batch: every explanation of 10,000 took 29.7 s
and 122 MB in one answer; the summary rows of 10,000 take seconds."""


def full_answers(model_version: str, recs: list[Recommendation]) -> dict[str, Any]:
    """The JSON body of a ``detail=full`` batch: every answer with its explanations."""
    return {
        "model_version": model_version,
        "n": len(recs),
        "results": [r.model_dump(mode="json") for r in recs],
        "rejects": [],
    }


def answer_batch(
    recommender: Any,
    answers: AnswerLog,
    applications: Any,
    customers: Any,
    equipment: Any,
    output: Any,
    detail: Any,
    ctx: Any,
    meter_readings: Any = None,
) -> Any:
    """The answer to one batch (a dict for JSON, a Response for CSV or an error).

    ``ctx`` is the request's BentoML context (its ``Idempotency-Key`` header), or None.
    """
    if output not in ("json", "csv"):
        return single_error("output", output, "'json' or 'csv'", "unknown output format")
    if detail not in ("summary", "full"):
        return single_error("detail", detail, "'summary' or 'full'", "unknown detail level")
    fmt: Literal["json", "csv"] = output
    key, bad_key = idempotency_key(ctx)
    if bad_key is not None:
        return bad_key
    if customers is not None or equipment is not None or meter_readings is not None:
        if detail == "full":
            return single_error(
                "detail",
                detail,
                "'summary' for contract CSV uploads (send the applications as a JSON list "
                "for full answers)",
                "detail=full is answered for JSON application lists only",
            )
        return _answer_upload(recommender, answers, customers, equipment, fmt, key, meter_readings)
    if applications is None:
        return single_error(
            "applications",
            None,
            "a JSON list of applications, or 'customers' and 'equipment' CSV files",
            "nothing to score",
        )
    if isinstance(applications, list) and len(applications) > MAX_BATCH:
        return single_error(
            "applications",
            len(applications),
            f"at most {MAX_BATCH} applications",
            "batch too large",
        )
    if detail == "full" and isinstance(applications, list) and len(applications) > MAX_FULL_BATCH:
        return single_error(
            "detail",
            detail,
            f"'summary' for more than {MAX_FULL_BATCH} applications (or batches of at most "
            f"{MAX_FULL_BATCH} with detail=full)",
            f"detail=full answers at most {MAX_FULL_BATCH} applications at once "
            f"(received {len(applications)})",
        )
    try:
        apps = _APPS.validate_python(applications)
    except ValidationError as exc:
        return error_response(validation_errors(exc, prefix="applications"))
    if not apps:
        return single_error("applications", [], "at least one application", "empty batch")
    # Each line's category once: the errors here, the summary rows below.
    resolved, unmatched = recommender.resolve_categories(apps, "applications")
    if unmatched:
        return error_response(unmatched)
    # Only a keyed batch is looked up or stored by its body's hash (a tenth of a second
    # of sorted JSON for 10,000 applications otherwise spent for nothing).
    body_sha256 = body_hash("json", applications, fmt, detail) if key is not None else None
    stored = answers.stored(key, body_sha256)
    if isinstance(stored, Response):
        return stored
    if stored is not None:
        return _replayed(recommender, answers, stored, apps, fmt, detail)
    if detail == "full":
        recs = recommender.recommend_many(apps)
        over = [e for k, rec in enumerate(recs) for e in cap_errors(rec, f"applications[{k}].")]
        if over:
            return error_response(over)
        ids = answers.batch(apps, recs, key, body_sha256)
        for rec, rid in zip(recs, ids, strict=True):
            rec.id = rid
        if fmt == "json":
            return full_answers(recommender.model_version, recs)
    # Summary rows: the vectorised path (same model, policy and bounds), so 10,000
    # applications answer in seconds; `detail=full` gives every explanation. The rows are
    # converted once, column by column, for the log and the answer (serving/batch_rows.py).
    scored = recommender.score_applications(apps, resolved=resolved)
    if detail != "full":
        # The contract's limits first: a JSON list is answered whole or refused whole,
        # naming each application over them (serving/caps.py).
        rows = records(scored)
        over = [e for k in capped_rows(rows) for e in cap_errors(rows[k], f"applications[{k}].")]
        if over:
            return error_response(over)
        # The validated applications themselves: the log serialises each in pydantic-core.
        ids = answers.scored(apps, scored, key=key, body_sha256=body_sha256, rows=rows)
    n = len(scored)
    if fmt == "csv":
        cols = columns(scored)
        cols["recommendation_id"] = list(ids)
        cols["status"] = ["ok"] * n
        # Lines whose names matched no category were left out: the list the answer used
        # is incomplete (the full answer names them).
        cols["incomplete_list"] = [bool(u) for u in cols["unmatched_lines"]]
        cols["reason"] = [""] * n
        return csv_stream(cols, n)
    # The summary rows made above (the log copied them): each gets its id.
    results = rows if detail != "full" else records(scored)
    for row, rid in zip(results, ids, strict=True):
        row["recommendation_id"] = rid
    return summary_json(
        {
            "model_version": recommender.model_version,
            "n": n,
            "results": results,
            "rejects": [],
        }
    )


def summary_json(body: dict[str, Any]) -> Response:
    """A summary answer as JSON, serialised once.

    The same bytes as BentoML's answer for the dict (``json.dumps`` of its JSON-mode dump:
    the rows hold JSON values only, :func:`serving.batch_rows.records`), without the two
    copies of 10,000 rows BentoML's dumps make first (a tenth of the batch's time).
    """
    return Response(json.dumps(body).encode("utf-8"), media_type="application/json")


def _replayed(
    recommender: Any,
    answers: AnswerLog,
    stored: Any,
    apps: list[Application],
    fmt: Literal["json", "csv"],
    detail: str,
) -> Any:
    """The answer to a repeated keyed batch: the logged rows and ids, nothing new logged."""
    ids = list(stored.ids)
    if detail == "full" and len(ids) == len(apps):
        # The log keeps compact answers: the explanations are computed again (same
        # pinned model), the ids are the logged ones.
        recs = recommender.recommend_many(apps)
        for rec, rid in zip(recs, ids, strict=True):
            rec.id = rid
        if fmt == "json":
            return {
                **full_answers(recommender.model_version, recs),
                "idempotent_replay": True,
            }
        scored = recommender.score_applications(apps)
        scored["recommendation_id"] = ids
        return csv_response(
            [{**r, "status": "ok", "reason": ""} for r in scored.to_dict("records")]
        )
    rows = answers.stored_rows(stored)
    if isinstance(rows, Response):
        return rows
    if fmt == "csv":
        return csv_response([{**r, "status": "ok", "reason": ""} for r in rows])
    return {
        "model_version": rows[0].get("model_version") if rows else None,
        "n": len(rows),
        "results": rows,
        "rejects": [],
        "idempotent_replay": True,
    }


def _answer_upload(
    recommender: Any,
    answers: AnswerLog,
    customers: Any,
    equipment: Any,
    fmt: Literal["json", "csv"],
    key: str | None = None,
    meter_readings: Any = None,
) -> Any:
    """Score uploaded contract files: answers for the valid customers, every reject named."""
    upload = read_contract_upload(customers, equipment, meter_readings)
    if isinstance(upload, Response):
        return upload
    validated = upload.validated
    rejects = upload.rejects()
    if validated.customers.empty:
        # Nothing valid to score: the answer is the rejects report, not an error.
        if fmt == "csv":
            return csv_response(reject_rows(customer_rejects(rejects, upload.rows_of)))
        return {
            "model_version": recommender.model_version,
            "n": 0,
            "results": [],
            **_rejects_body(rejects, upload),
            "flags": validated.flags.to_dict(orient="records"),
        }
    body_sha256 = body_hash(
        "csv",
        pathlib.Path(customers).read_bytes(),
        pathlib.Path(equipment).read_bytes() if equipment is not None else b"",
        *([pathlib.Path(meter_readings).read_bytes()] if meter_readings is not None else []),
        fmt,
    )
    stored = answers.stored(key, body_sha256)
    if isinstance(stored, Response):
        return stored
    if stored is not None:
        logged = answers.stored_rows(stored)
        if isinstance(logged, Response):
            return logged
        if fmt == "csv":
            rows = [{**r, "status": "ok", "reason": ""} for r in logged]
            entries = customer_rejects(rejects, upload.rows_of)
            return csv_response(with_flags(rows, validated.flags) + reject_rows(entries))
        return {
            "model_version": logged[0].get("model_version") if logged else None,
            "n": len(logged),
            "results": logged,
            **_rejects_body(rejects, upload),
            "flags": validated.flags.to_dict(orient="records"),
            "idempotent_replay": True,
        }
    try:
        scored = recommender.score_frames(validated.customers, validated.equipment)
    except MeteredModelRequired as exc:
        return single_error(
            "meter_readings",
            None,
            "new: this model was trained on a history without existing customers",
            str(exc),
            code="model_without_existing_customers",
            params={"kind": "increase, reduce, suspend"},
        )
    capped = capped_rows(scored.to_dict("records"))
    if capped:
        # Rejected like a contract row (named, reported), not answered above the limits.
        for k in capped:
            row = scored.iloc[k].to_dict()
            rejects.append(
                {
                    "file": "answer above the contract's limits",
                    "row_number": None,
                    "customer_id": row.get("customer_id"),
                    "column": "floor_area_m2" if row.get("basis") == "area" else "equipment",
                    "value": clean(row.get("recommended_kva")),
                    "reason": cap_message(over_caps(row)),
                    "code": "reject_answer_over_contract_limit",
                    "params": {"limit_kva": CAPACITY_KVA_MAX, "limit_kw": PEAK_KW_MAX},
                }
            )
        scored = scored.drop(index=scored.index[capped]).reset_index(drop=True)
    scored["recommendation_id"] = answers.frames(
        validated.customers, validated.equipment, scored, key, body_sha256
    )
    if fmt == "csv":
        rows = [{**r, "status": "ok", "reason": ""} for r in records(scored)]
        entries = customer_rejects(rejects, upload.rows_of)
        return csv_response(with_flags(rows, validated.flags) + reject_rows(entries))
    return {
        "model_version": recommender.model_version,
        "n": len(scored),
        "results": records(scored),
        **_rejects_body(rejects, upload),
        "flags": validated.flags.to_dict(orient="records"),
        # What was read or resolved on the way in (row numbers of the files).
        "upload_notes": list(upload.notes),
    }


def _rejects_body(rejects: list[dict[str, Any]], upload: ContractUpload) -> dict[str, Any]:
    """The rejects of an upload's JSON answer: per row (as before) and per customer.

    ``rejects`` keeps one item per problem of a row (each now with its ``code`` and
    ``params``); ``rejected_customers`` groups them per customer with every row of its
    lines (:func:`serving.batch_rejects.customer_rejects`), which is what people count.
    """
    entries = customer_rejects(rejects, upload.rows_of)
    return {
        "rejects": rejects,
        "rejected_customers": entries,
        "n_rejected_customers": len(entries),
        "n_rejected_rows": sum(e["lines"] for e in entries),
    }
