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
``CAPACITY_PRICE_YUAN_PER_KVA_MONTH``      基本电费 by capacity (default 22)
``CAPACITY_DEMAND_PRICE_YUAN_PER_KW_MONTH`` 基本电费 by maximum demand (default 33)
``CAPACITY_MIN_DEMAND_SHARE``              least demand billed, share of capacity (0.40)
``CAPACITY_NEXT_STEPS_FILE``               the utility's own next-steps texts (JSON)
``CAPACITY_WORKERS``         API worker processes (default 0: one per CPU this process may
                             run on); each loads the bundle once and follows reloads itself
``CAPACITY_THREADS``         request threads per worker (default 4)
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


class TariffSettings(BaseSettings):
    """The utility's 基本电费 prices (env ``CAPACITY_PRICE_YUAN_PER_KVA_MONTH`` etc.).

    Defaults: 22 yuan per kVA and month by capacity, 33 yuan per kW and month by maximum
    demand (the usual 1 : 1.5 ratio of the two prices), the demand billed at least 40 % of
    the capacity.
    """

    model_config = SettingsConfigDict(env_prefix="CAPACITY_", extra="ignore")

    price_yuan_per_kva_month: float = Field(default=22.0, gt=0)
    demand_price_yuan_per_kw_month: float = Field(default=33.0, gt=0)
    min_demand_share: float = Field(default=0.40, ge=0, le=1)


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


class ServingSettings(BaseSettings):
    """How many API worker processes and threads serve (env ``CAPACITY_WORKERS`` etc.).

    ``workers`` 0 (the default) follows the CPUs: one worker per core this process may run
    on (its CPU affinity, which a container's cpuset narrows), because one worker is one
    Python interpreter and uses one core at most (measured in issue 27: throughput did not
    grow beyond one client with one worker on two cores). A BentoML configuration file
    (``BENTOML_CONFIG``) still overrides it.
    """

    model_config = SettingsConfigDict(env_prefix="CAPACITY_", extra="ignore")

    workers: int = Field(default=0, ge=0, le=64)
    threads: int = Field(default=4, ge=1, le=64)

    def resolved_workers(self) -> int:
        """``workers``, or the number of CPUs available to this process when it is 0."""
        if self.workers:
            return self.workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
