"""``/recommend_batch``: a JSON list or the contract's files scored, logged, answered.

:func:`answer_batch` is the endpoint's whole work once the request is read: summary rows
through the vectorised path (same model, policy and bounds as one answer), ``detail=full``
answers with every explanation, the rejects report of contract uploads, and the
idempotent replay of a keyed batch (:mod:`serving.answer_log`).
"""

from __future__ import annotations

import pathlib
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from features.metered import MeteredModelRequired
from features.schemas import Application
from serving.answer_log import AnswerLog, body_hash, idempotency_key
from serving.batch_csv import (
    MAX_BATCH,
    clean,
    csv_response,
    read_contract_upload,
    reject_rows,
    with_flags,
)
from serving.errors import error_response, single_error, validation_errors
from serving.schemas import Recommendation

_APPS = TypeAdapter(list[Application])


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
    try:
        apps = _APPS.validate_python(applications)
    except ValidationError as exc:
        return error_response(validation_errors(exc, prefix="applications"))
    if not apps:
        return single_error("applications", [], "at least one application", "empty batch")
    unmatched = [
        err
        for k, app in enumerate(apps)
        for err in recommender.unmatched_errors_of(app, f"applications[{k}].")
    ]
    if unmatched:
        return error_response(unmatched)
    body_sha256 = body_hash("json", applications, fmt, detail)
    stored = answers.stored(key, body_sha256)
    if isinstance(stored, Response):
        return stored
    if stored is not None:
        return _replayed(recommender, answers, stored, apps, fmt, detail)
    if detail == "full":
        recs = recommender.recommend_many(apps)
        ids = answers.batch(apps, recs, key, body_sha256)
        for rec, rid in zip(recs, ids, strict=True):
            rec.id = rid
        if fmt == "json":
            return full_answers(recommender.model_version, recs)
    # Summary rows: the vectorised path (same model, policy and bounds), so 10,000
    # applications answer in seconds; `detail=full` gives every explanation.
    scored = recommender.score_applications(apps)
    if detail == "full":
        scored["recommendation_id"] = ids
    else:
        scored["recommendation_id"] = answers.scored(
            [a.model_dump(mode="json") for a in apps],
            scored,
            key=key,
            body_sha256=body_sha256,
        )
    if fmt == "csv":
        return csv_response(
            [
                {
                    **r,
                    "status": "ok",
                    # Lines whose names matched no category were left out: the list the
                    # answer used is incomplete (the full answer names them).
                    "incomplete_list": bool(r.get("unmatched_lines")),
                    "reason": "",
                }
                for r in scored.to_dict("records")
            ]
        )
    return {
        "model_version": recommender.model_version,
        "n": len(scored),
        "results": [{k: clean(v) for k, v in r.items()} for r in scored.to_dict("records")],
        "rejects": [],
    }


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
    rejects = validated.rejects.to_dict(orient="records")
    if validated.customers.empty:
        # Nothing valid to score: the answer is the rejects report, not an error.
        if fmt == "csv":
            return csv_response(reject_rows(rejects))
        return {
            "model_version": recommender.model_version,
            "n": 0,
            "results": [],
            "rejects": rejects,
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
            return csv_response(with_flags(rows, validated.flags) + reject_rows(rejects))
        return {
            "model_version": logged[0].get("model_version") if logged else None,
            "n": len(logged),
            "results": logged,
            "rejects": rejects,
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
    scored["recommendation_id"] = answers.frames(
        validated.customers, validated.equipment, scored, key, body_sha256
    )
    if fmt == "csv":
        rows = [{**r, "status": "ok", "reason": ""} for r in scored.to_dict("records")]
        return csv_response(with_flags(rows, validated.flags) + reject_rows(rejects))
    return {
        "model_version": recommender.model_version,
        "n": len(scored),
        "results": [{k: clean(v) for k, v in r.items()} for r in scored.to_dict("records")],
        "rejects": rejects,
        "flags": validated.flags.to_dict(orient="records"),
        # What was read or resolved on the way in (row numbers of the files).
        "upload_notes": list(upload.notes),
    }
