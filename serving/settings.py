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
``CAPACITY_MAX_UNDERSIZED_RISK``           the utility's risk appetite: cap on P(undersized)
                                           (0.01 to 0.5; unset = maximise P(appropriate))

The HTTP service's own (:class:`ServiceSettings`, read once when the service starts):

``CAPACITY_MAX_BODY_BYTES``      largest request body (default 8 MiB)
``CAPACITY_MAX_CONCURRENCY``     work requests served at once per worker (default 2, 0: no
                                 limit); the excess waits at most the queue timeout or is
                                 answered 503 + Retry-After (serving/guards/shedding.py)
``CAPACITY_QUEUE_TIMEOUT_MS``    longest wait for a slot before 503 + Retry-After (50)
``CAPACITY_FEEDBACK_API_KEY``    the key ``POST /feedback`` requires (none: feedback off)
``CAPACITY_LOG_DISABLED``        ``1``: serve without the recommendation log
``CAPACITY_BENCHMARK_ENDPOINTS`` ``1``: serve ``/trivial`` (the benchmarks' baseline)
``CAPACITY_WORKERS``             API worker processes (default 0: one per CPU this process
                                 may run on); each loads the bundle once, follows reloads
                                 itself and logs to the shared database
``CAPACITY_THREADS``             request threads per worker (default 2)
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.schemas import MAX_UNDERSIZED_RISK, MIN_UNDERSIZED_RISK

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


class RiskSettings(BaseSettings):
    """The utility's risk appetite (env ``CAPACITY_MAX_UNDERSIZED_RISK``, e.g. ``0.10``).

    Unset: answers maximise P(appropriate) (the tier policy's choice). Set: every answer's
    P(undersized) is capped at this level unless the request gives its own
    ``max_undersized_risk``. A value outside 0.01–0.5 is refused with an error naming the
    field (the service then reports it on ``/readyz`` and answers nothing): never ignored.
    """

    model_config = SettingsConfigDict(env_prefix="CAPACITY_", extra="ignore")

    max_undersized_risk: float | None = Field(
        default=None, ge=MIN_UNDERSIZED_RISK, le=MAX_UNDERSIZED_RISK, allow_inf_nan=False
    )


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


class ServiceSettings(BaseSettings):
    """The HTTP service's limits and switches (env ``CAPACITY_MAX_BODY_BYTES`` etc.).

    Read once, when the service object and its guard chain are built; nothing reads these
    variables anywhere else.
    """

    model_config = SettingsConfigDict(env_prefix="CAPACITY_", extra="ignore")

    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    """Largest request body (default 8 MiB): a 10,000-application batch of 30-line lists
    (21.5 MiB) peaked at 1.35 GB resident; 8 MiB (10,000 typical applications are 4.8 MiB)
    keeps a batch well under 1 GB (benchmarks/bench_load.py --batch-apps)."""
    max_concurrency: int = Field(default=2, ge=0, le=256)
    """Work requests served at once PER WORKER (0: no limit); more wait briefly or get 503.

    Two, with two threads (:attr:`threads`): an answer is ~10 ms of one core's Python and
    a worker is one interpreter, so more at once only share that core and its GIL with
    the event loop, which must keep refusing the excess. Measured (issue 27, 2 workers,
    256 clients, load 7 on 2 cores): 4 slots with 4 threads shed with p99 175-204 ms,
    2 with 2 shed with p99 106 ms and answered p99 305 ms instead of 291-394 ms."""
    queue_timeout_ms: float = Field(default=50.0, ge=0, le=10_000)
    """Longest a request waits for a slot before it is answered 503 with ``Retry-After``
    (short: the excess is told within 100 ms, not after seconds in a queue)."""
    feedback_api_key: str = ""
    log_disabled: str = ""
    benchmark_endpoints: str = ""
    workers: int = Field(default=0, ge=0, le=64)
    """API worker processes; 0 (the default) follows the CPUs (:meth:`resolved_workers`)."""
    threads: int = Field(default=2, ge=1, le=64)
    """Request threads per worker: BentoML runs each API call in one. At least
    :attr:`max_concurrency`, or an admitted request would wait, unseen by the admission
    gate, for a thread."""

    def resolved_workers(self) -> int:
        """``workers``, or one per CPU this process may run on when it is 0.

        One worker is one Python interpreter and uses one core at most (issue 27: with one
        worker on two cores throughput did not grow beyond one client). The CPU affinity
        counts what a container's cpuset allows. A BentoML configuration file
        (``BENTOML_CONFIG``) still overrides the result.
        """
        if self.workers:
            return self.workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)

    def traffic_concurrency(self) -> dict[str, int]:
        """BentoML's ``traffic.concurrency``: every worker's admission slots (none if unlimited)."""
        if self.max_concurrency <= 0:
            return {}
        return {"concurrency": self.resolved_workers() * self.max_concurrency}

    @property
    def log_enabled(self) -> bool:
        """False when ``CAPACITY_LOG_DISABLED=1``."""
        return self.log_disabled != "1"

    @property
    def serve_benchmark_endpoints(self) -> bool:
        """True when ``CAPACITY_BENCHMARK_ENDPOINTS=1``."""
        return self.benchmark_endpoints == "1"
