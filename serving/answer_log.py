"""Answers into the recommendation log: single answers, batches, and idempotent batch keys.

:class:`AnswerLog` maps what the endpoints answered onto the logbook's rows and never
lets a database failure break an answer (a refused write is spooled by the logbook; an
unexpected failure leaves the answer without ids). A batch sent with an
``Idempotency-Key`` is logged under that key with the SHA-256 of its body: a repeat finds
the logged rows (:meth:`AnswerLog.stored`), the same key with another body is a 409.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from features.schemas import Application
from serving.batch_csv import clean
from serving.batch_rows import records
from serving.errors import safe_text, single_error
from serving.schemas import Recommendation

log = logging.getLogger(__name__)


def idempotency_key(ctx: Any) -> tuple[str | None, Response | None]:
    """The request's ``Idempotency-Key`` (None when absent), or the 400 answer."""
    headers = getattr(getattr(ctx, "request", None), "headers", None)
    raw = None if headers is None else headers.get("idempotency-key")
    if raw is None:
        return None, None
    if not raw.strip() or len(raw) > 128 or any(not 32 <= ord(ch) < 127 for ch in raw):
        return None, single_error(
            "Idempotency-Key",
            safe_text(raw[:130]),
            "1 to 128 printable ASCII characters",
            "invalid Idempotency-Key header",
        )
    return raw, None


def body_hash(*parts: Any) -> str:
    """SHA-256 of a request body's parts (bytes as they are, the rest as sorted JSON)."""
    digest = hashlib.sha256()
    for part in parts:
        data = (
            part
            if isinstance(part, bytes)
            else json.dumps(
                part, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
            ).encode("utf-8")
        )
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


NOT_RECORDED_HEADER = "X-Recommendation-Recorded"
"""Sent as ``false`` with an answer whose row the log could not take (its id is null)."""


class AnswerLog:
    """The service's writer of answers into ``logbook`` (None: logging disabled)."""

    def __init__(self, logbook: Any) -> None:
        self.logbook = logbook

    def one(
        self,
        app: Application,
        rec: Recommendation,
        source: str,
        proposed_kva: float | None = None,
        answer_json: str | None = None,
    ) -> str | None:
        """Log one answer; its id (None without a log or when logging failed).

        ``answer_json``: ``rec.model_dump_json()`` if the caller made it (stored as is).
        """
        if self.logbook is None:
            return None
        # The models themselves: the logbook serialises them once with pydantic-core
        # (the same JSON as dumping to dicts and then to text, at a fraction of the cost).
        # defer, then settle: the row is validated and its id issued, then written before
        # the answer leaves (concurrent answers share one transaction), so a kill -9
        # after the answer loses nothing. A database that refuses the row makes the
        # logbook spool it (fsynced); if the spool refuses too, the id is not handed out
        # (None: the answer says it was not recorded, see NOT_RECORDED_HEADER).
        from serving.logbook import RecommendationEntry

        try:
            entry = RecommendationEntry.from_answer(
                app,
                rec,
                source=source,  # type: ignore[arg-type]
                status_quo_kva=proposed_kva,
                answer_json=answer_json,
            )
            rid = str(self.logbook.record_many([entry], defer=True, settling=True)[0])
            return rid if self.logbook.settle([rid])[0] else None
        except ValueError:
            raise  # an invalid row: as before
        except Exception:
            log.exception("logging a recommendation failed")
            return None

    def scored(
        self,
        requests: Sequence[Any],
        scored: Any,
        status_quo: list[Any] | None = None,
        key: str | None = None,
        body_sha256: str | None = None,
        lines: list[list[dict[str, Any]]] | None = None,
        rows: list[dict[str, Any]] | None = None,
    ) -> list[str | None]:
        """Log rows of the vectorised path (summary answers), one per request; their ids.

        ``requests`` are applications, or contract customer rows with their equipment
        ``lines`` (the CSV path): both are logged in the application shape
        (:meth:`~serving.logbook.RecommendationEntry.from_answer`). ``rows``: the answer
        rows already made of ``scored`` (:func:`~serving.batch_rows.records`), if any.
        """
        from serving.logbook import RecommendationEntry

        if self.logbook is None:
            return [None] * len(requests)
        batch_id = uuid.uuid4().hex
        sq = status_quo or [None] * len(requests)
        per_line: list[Any] = list(lines) if lines else [None] * len(requests)
        entries = [
            RecommendationEntry.from_answer(
                request,
                r,
                source="batch",
                batch_id=batch_id,
                status_quo_kva=clean(q),
                lines=request_lines,
                native=True,
            )
            for request, r, q, request_lines in zip(
                requests, records(scored) if rows is None else rows, sq, per_line, strict=True
            )
        ]
        return self.rows(entries, key, body_sha256)

    def rows(self, rows: list[Any], key: str | None, body_sha256: str | None) -> list[str | None]:
        """Log a batch's rows (one transaction); a keyed batch is written before answering.

        Never raises for the database: a refused write is spooled by the logbook (the ids
        stay valid); an unexpected failure leaves the answer without ids.
        """
        assert self.logbook is not None
        try:
            ids: list[str | None] = list(
                self.logbook.record_many(
                    rows, defer=True, idempotency_key=key, body_sha256=body_sha256, settling=True
                )
            )
            # Committed (or durably spooled) before the answer leaves: a repeat of a key
            # finds these ids, a kill before this point leaves no row and no key, and an
            # id whose row nothing took is not handed out.
            durable = self.logbook.settle(ids)
        except ValueError:
            raise  # an invalid row: as before
        except Exception:
            log.exception("logging a batch failed")
            return [None] * len(rows)
        return [rid if ok else None for rid, ok in zip(ids, durable, strict=True)]

    def batch(
        self,
        apps: list[Application],
        recs: list[Recommendation],
        key: str | None = None,
        body_sha256: str | None = None,
    ) -> list[str | None]:
        """Log the full answers of a JSON batch (compact rows); their ids."""
        if self.logbook is None:
            return [None] * len(recs)
        from serving.logbook import RecommendationEntry

        batch_id = uuid.uuid4().hex
        # Batch rows keep a compact answer (the fields every reader uses): the full answer of
        # 10,000 applications would multiply the log's size for nothing it reads.
        rows = [
            RecommendationEntry.from_answer(a, r, source="batch", batch_id=batch_id, compact=True)
            for a, r in zip(apps, recs, strict=True)
        ]
        return self.rows(rows, key, body_sha256)

    def frames(
        self,
        customers: Any,
        equipment: Any,
        scored: Any,
        key: str | None = None,
        body_sha256: str | None = None,
    ) -> list[str | None]:
        """Log each scored CSV row; its contract rows become the logged application."""
        lines: dict[str, list[dict[str, Any]]] = {}
        for rec in equipment.to_dict(orient="records"):
            lines.setdefault(str(rec["customer_id"]), []).append(rec)
        by_id = {str(c["customer_id"]): c for c in customers.to_dict(orient="records")}
        ids = [str(cid) for cid in scored["customer_id"]]
        requests = [by_id[cid] for cid in ids]
        status_quo = [by_id[cid].get("applied_capacity_kva") for cid in ids]
        return self.scored(
            requests, scored, status_quo, key, body_sha256, lines=[lines.get(c, []) for c in ids]
        )

    def stored(self, key: str | None, body_sha256: str | None) -> Any:
        """The batch logged under ``key``: a StoredBatch, the 409 answer, or None (new)."""
        if key is None or self.logbook is None:
            return None
        try:
            stored = self.logbook.find_batch(key)
        except Exception as exc:  # the log cannot be read: serve the batch afresh
            log.warning("idempotency lookup failed: %s", exc)
            return None
        if stored is None:
            return None
        if stored.body_sha256 != body_sha256:
            return single_error(
                "Idempotency-Key",
                key,
                "a new key for a different request body",
                f"this key was already used for a different request body (batch "
                f"{stored.batch_id}); send the same body again or use a new key",
                409,
            )
        return stored

    def stored_rows(self, stored: Any) -> list[dict[str, Any]] | Response:
        """The logged summary rows of a stored batch (with their ids), or a 503 to retry."""
        assert self.logbook is not None
        try:
            responses = self.logbook.batch_responses(stored.ids)
        except Exception as exc:
            log.warning("reading a stored batch failed: %s", exc)
            responses = [None]
        if any(r is None for r in responses):
            response = single_error(
                "Idempotency-Key",
                stored.key,
                "a readable recommendation log",
                "the logged answers of this batch cannot be read now (log degraded); retry",
                503,
            )
            response.headers["Retry-After"] = "5"
            return response
        return [
            {**r, "recommendation_id": rid}
            for r, rid in zip(responses, stored.ids, strict=True)
            if r is not None
        ]
