"""Reading the recommendation log: one recommendation, counts, keyed batches.

One job of :class:`serving.logbook.Logbook` (whose state it shares, as a mixin). Every
read writes the queued rows first (:meth:`~serving.logbook.Logbook.flush`), so an id just
issued is always found; an id still in the spool is answered "unavailable, retry"
(:class:`~serving.logbook.records.LogUnavailableError`), never "unknown".

Writing lives in :mod:`serving.logbook.store`, the failure path in
:mod:`serving.logbook.recovery`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError, OperationalError

from serving.logbook.records import (
    LoggedOutcome,
    LoggedRecommendation,
    LogUnavailableError,
    OutcomeConflictError,
    StoredBatch,
    UnknownRecommendationError,
)
from serving.logbook.schema import _BATCH, _OUT, _REC
from serving.logbook.spool import public_error

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from serving.logbook.spool import _Spool

# SQLite allows 32,766 bound parameters per statement (999 before 3.32); stay well below.
_ID_CHUNK = 500


class _LogQueries:
    """The read side of a :class:`~serving.logbook.Logbook`.

    A mixin: the state is created by ``Logbook.__init__`` (declared here for the type
    checker only), so the split changes no attribute and no behaviour.
    """

    if TYPE_CHECKING:
        _engine: Engine
        _spool: _Spool

        def flush(self) -> None: ...
        def _ensure_file(self) -> None: ...
        def _note_failure(self, exc: BaseException) -> None: ...

    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for reading, after every queued row is written.

        For readers outside the store (:func:`training.log_frame.joined_frame`).
        Raises LogUnavailableError if the database cannot be read now.
        """
        return self._read()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for reading, after the queue is written.

        Raises LogUnavailableError if the database cannot be read now.
        """
        self.flush()
        try:
            self._ensure_file()
            with self._engine.connect() as conn:
                yield conn
        except (LogUnavailableError, UnknownRecommendationError, OutcomeConflictError):
            raise
        except (OperationalError, DBAPIError, OSError) as exc:
            self._note_failure(exc)
            raise LogUnavailableError(
                f"recommendation log unavailable: {public_error(exc)}"
            ) from exc

    def _unavailable_if_spooled(self, needle: str) -> None:
        if self._spool.backlog and self._spool.contains(json.dumps(needle)):
            raise LogUnavailableError(
                f"recommendation {needle} is logged but not yet in the database (the log is "
                f"degraded); retry in a few seconds"
            )

    # -- keyed batches ----------------------------------------------------------------

    def find_batch(self, key: str) -> StoredBatch | None:
        """The batch stored under an idempotency key (database, else spool), or None.

        Raises LogUnavailableError when the database cannot be read and the spool does
        not have it either (the caller may then serve the batch afresh).
        """
        found = self._spool.find_batch(key) if self._spool.backlog else None
        if found is not None:
            return found
        with self._read() as conn:
            row = conn.execute(select(_BATCH).where(_BATCH.c.key == key)).mappings().first()
        if row is None:
            return self._spool.find_batch(key)
        return StoredBatch(
            row["key"], row["body_sha256"], row["batch_id"], tuple(json.loads(row["ids_json"]))
        )

    def batch_responses(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """The logged answers of ``ids``, in that order (None for an id not found).

        Each is ``response_json`` parsed, with ``model_version`` added if missing.
        """
        found: dict[str, dict[str, Any]] = {}
        with self._read() as conn:
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = list(ids[start : start + _ID_CHUNK])
                for rid, response, version in conn.execute(
                    select(_REC.c.id, _REC.c.response_json, _REC.c.model_version).where(
                        _REC.c.id.in_(chunk)
                    )
                ):
                    doc = json.loads(response)
                    if isinstance(doc, dict):
                        doc.setdefault("model_version", version)
                        found[rid] = doc
        return [found.get(rid) for rid in ids]

    # -- recommendations --------------------------------------------------------------

    def get(self, recommendation_id: str) -> LoggedRecommendation | None:
        """The recommendation with this id and its outcomes, or None if it is not logged.

        Raises LogUnavailableError when the database cannot be read, or the id is spooled
        and not yet replayed (the log is degraded: retry).
        """
        with self._read() as conn:
            rec = (
                conn.execute(select(_REC).where(_REC.c.id == recommendation_id)).mappings().first()
            )
            if rec is None:
                self._unavailable_if_spooled(recommendation_id)
                return None
            outcomes = conn.execute(
                select(_OUT)
                .where(_OUT.c.recommendation_id == recommendation_id)
                .order_by(_OUT.c.recorded_at, _OUT.c.id)
            ).mappings()
            logged = tuple(LoggedOutcome(**dict(o)) for o in outcomes)
        return LoggedRecommendation(**dict(rec), outcomes=logged)

    def count(self) -> int:
        """Number of logged recommendations in the database (:meth:`health`: spooled)."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(_REC)).scalar_one())
