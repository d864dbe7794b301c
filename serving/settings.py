"""Typed settings for where things live; passed in explicitly, read from env on demand.

Defaults keep everything under ``<project>/var`` with ABSOLUTE paths (MLflow resolves
relative sqlite URIs against the current directory, which breaks as soon as a command
runs from elsewhere).

Environment variables (all optional):

``CAPACITY_HOME``            base folder for local state (default ``<project>/var``): the
                             MLflow store and artifacts, bundles, the champion link, the
                             recommendation log and its spool, reports (:func:`state_home`)
``CAPACITY_TRACKING_URI``    MLflow tracking URI (else ``MLFLOW_TRACKING_URI``, else
                             ``sqlite:///<home>/mlflow.db``)
``CAPACITY_MODEL_DIR``       a model bundle to serve instead of the registry champion
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REGISTERED_MODEL = "capacity-recommender"
CHAMPION_ALIAS = "champion"
EXPERIMENT = "capacity-recommender"


class Settings(BaseSettings):
    """Locations of local state, the MLflow tracking store and the served model."""

    model_config = SettingsConfigDict(env_prefix="CAPACITY_", extra="ignore")

    home: Path = Field(default=PROJECT_ROOT / "var")
    tracking_uri: str | None = None
    model_dir: Path | None = None
    registered_model: str = REGISTERED_MODEL
    experiment: str = EXPERIMENT

    def resolved_tracking_uri(self) -> str:
        """The MLflow tracking URI: explicit, then MLFLOW_TRACKING_URI, then local sqlite."""
        if self.tracking_uri:
            return self.tracking_uri
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        """Where a local tracking store keeps run artifacts."""
        return (self.home / "mlartifacts").resolve()

    @property
    def champion_dir(self) -> Path:
        """The link to the exported champion bundle (absolute; the link itself, not resolved).

        ``capacity promote`` switches it atomically to a verified export under
        ``<home>/exports``; the service follows it (:mod:`serving.reload`).
        """
        return self.home.resolve() / "champion"


def state_home() -> Path:
    """The one state root: ``CAPACITY_HOME`` (read now), else ``<project>/var``; absolute.

    Every path the project writes derives from it unless set explicitly (the log's own
    ``CAPACITY_LOG_DB_URL``, a command's ``--out``): two services with two homes share
    nothing.
    """
    return Settings().home.expanduser().resolve()
