"""The recommendation log (a real database), split along its seams.

- :mod:`serving.logbook.settings`: where the log lives (``CAPACITY_LOG_*``, under
  ``CAPACITY_HOME`` by default);
- :mod:`serving.logbook.schema`: the tables (owned by Alembic, ``serving/migrations``);
- :mod:`serving.logbook.records`: value objects, errors and the checks of a row;
- :mod:`serving.logbook.engine`: the SQLAlchemy engine (SQLite WAL, IMMEDIATE writers);
- :mod:`serving.logbook.spool` and :mod:`serving.logbook.writer`: the durable spool and the
  write-behind queue;
- :mod:`serving.logbook.store`: :class:`Logbook`, the runtime's writer and reader (replay,
  health, retention).

The offline work on the log is on the training side: the outcome-CSV import
(:mod:`training.pilot.outcomes_import`) and the pilot's analytic read (:mod:`training.pilot.log_frame`).
"""

from serving.logbook.engine import create_logbook_engine
from serving.logbook.records import (
    IdempotencyConflictError,
    LoggedOutcome,
    LoggedRecommendation,
    LogUnavailableError,
    OutcomeConflictError,
    RecommendationEntry,
    StoredBatch,
    UnknownRecommendationError,
    answer_facts,
    application_from_contract_rows,
    is_contract_row_request,
    latest_outcomes,
)
from serving.logbook.schema import (
    OUTCOME_SOURCES,
    RECOMMENDATION_SOURCES,
    Base,
    BatchRequestRow,
    OutcomeRow,
    OutcomeSource,
    RecommendationRow,
    RecommendationSource,
)
from serving.logbook.settings import LogbookSettings, default_database_url, project_root
from serving.logbook.spool import SPOOL_FILE, public_error
from serving.logbook.store import Logbook

__all__ = [
    "OUTCOME_SOURCES",
    "RECOMMENDATION_SOURCES",
    "SPOOL_FILE",
    "Base",
    "BatchRequestRow",
    "IdempotencyConflictError",
    "LogUnavailableError",
    "LoggedOutcome",
    "LoggedRecommendation",
    "Logbook",
    "LogbookSettings",
    "OutcomeConflictError",
    "OutcomeRow",
    "OutcomeSource",
    "RecommendationEntry",
    "RecommendationRow",
    "RecommendationSource",
    "StoredBatch",
    "UnknownRecommendationError",
    "answer_facts",
    "application_from_contract_rows",
    "create_logbook_engine",
    "latest_outcomes",
    "default_database_url",
    "is_contract_row_request",
    "project_root",
    "public_error",
]
