"""Pick up a newly exported model while the service runs (no restart, no failed request).

:class:`ModelWatcher` polls the served bundle location (``CAPACITY_MODEL_DIR``, else
``<home>/champion``) every ``CAPACITY_RELOAD_SECONDS`` seconds (default 5; ``0``
disables polling) in a daemon thread. A bundle's *fingerprint* is its resolved real
directory, its ``REGISTRY_VERSION`` and the sha256 of its ``checksums.json``; when it
changes, the new bundle is verified (:func:`serving.model.verify.verify_bundle`:
checksums, documents, versions, and LightGBM loading the booster and predicting in a
child process, so a booster that makes LightGBM abort natively cannot take the worker
down), loaded (:func:`serving.model.bundle.load_bundle`), wrapped in a new
:class:`~serving.core.Recommender` with the same configuration and warmed with one
answer, all off the request path. Only then is it handed to the ``on_swap`` callback,
which swaps the service's reference in one attribute assignment: a request either uses
the old model or the new one, never a mixture; a bundle that fails any step is never
published.

When loading, verification or warm-up fails the old model keeps serving and the failure
(version tried, error, time) is kept in :attr:`ModelWatcher.last_error` and reported by
:meth:`ModelWatcher.status` (the service's ``GET /model``); it is cleared by the next
successful swap. A failed bundle is not retried until its fingerprint changes, or
:data:`RETRY_FAILED_SECONDS` later (a bundle copied in place may have been read while
half-written). A service started without any model loads one as soon as it appears.

Bundles are read from their resolved real directory, so an atomic switch of the
``champion`` symlink (:func:`serving.model.bundle.switch_champion`, what
``training.registry.store.export_champion`` does) is never seen half-done.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from serving.core import Recommender, RecommenderConfig

# The model stack (LightGBM, the recommender) is imported where it is used, so that
# importing this module (the service module does, to mount GET /model) costs nothing.

log = logging.getLogger(__name__)

RELOAD_ENV = "CAPACITY_RELOAD_SECONDS"
DEFAULT_RELOAD_SECONDS = 5.0
RETRY_FAILED_SECONDS = 60.0
"""A bundle that failed is tried again after this long even if its fingerprint is the same."""


def reload_seconds_from_env(environ: dict[str, str] | None = None) -> float:
    """``CAPACITY_RELOAD_SECONDS`` as seconds (default 5; 0 disables polling).

    Raises
    ------
    ValueError
        When the variable is set to something other than a non-negative number.
    """
    raw = (os.environ if environ is None else environ).get(RELOAD_ENV, "").strip()
    if not raw:
        return DEFAULT_RELOAD_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value >= 0 and value != float("inf")):
        raise ValueError(f"{RELOAD_ENV}={raw!r}: expected a number of seconds >= 0 (0 disables)")
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Fingerprint:
    """What identifies the bundle at the served location."""

    path: str
    """The bundle's resolved real directory."""
    registry_version: str | None
    checksums_sha256: str | None


@dataclass(frozen=True)
class LoadedModel:
    """A verified, warmed model ready to answer."""

    recommender: Recommender
    version: str
    bundle: Path
    fingerprint: Fingerprint
    loaded_at: str


@dataclass(frozen=True)
class ReloadFailure:
    """A bundle that could not be loaded; the previous model (if any) kept serving."""

    version: str | None
    bundle: str | None
    error: str
    at: str

    def as_dict(self) -> dict[str, Any]:
        """Public JSON form (``GET /model``'s ``last_reload_error``): no paths, no URIs.

        The bundle is named by its directory name and the error has every absolute path
        cut to its last name (``…/booster.txt``); the full text is in the server log.
        """
        from serving.errors import public_text

        return {
            "version": self.version,
            "bundle": _dir_name(self.bundle),
            "error": public_text(self.error),
            "at": self.at,
        }


def _public(text: str | None) -> str | None:
    """An error fit for a public body (paths cut to their last part)."""
    if text is None:
        return None
    from serving.errors import public_text

    return public_text(text)


def _dir_name(path: str | Path | None) -> str | None:
    """The last name of a directory (what a public body may show of a bundle's location)."""
    return None if path is None else Path(path).name or None


def served_location(settings: Settings) -> Path:
    """Where the service looks for its bundle: ``CAPACITY_MODEL_DIR``, else the champion link."""
    if settings.model_dir is not None:
        return settings.model_dir
    return settings.home.resolve() / "champion"


def fingerprint(location: Path) -> Fingerprint | None:
    """The fingerprint of the bundle at ``location`` (None when no bundle is there)."""
    from serving.model.bundle import FILES, MAX_REGISTRY_VERSION_BYTES, REGISTRY_VERSION_FILE

    real = Path(os.path.realpath(location))
    # A directory holding any bundle file is a bundle (a broken one is reported by the
    # load, naming what is missing); nothing there, or no directory, is "no model".
    if not real.is_dir() or not any((real / n).exists() for n in (*FILES, "checksums.json")):
        return None
    marker = real / REGISTRY_VERSION_FILE
    checksums = real / "checksums.json"
    try:
        with marker.open("rb") as fh:  # a short number: never read a huge file whole
            raw = fh.read(MAX_REGISTRY_VERSION_BYTES + 1)
        version: str | None = raw.decode("utf-8", errors="replace").strip()
    except OSError:
        version = None
    try:
        digest: str | None = hashlib.sha256(checksums.read_bytes()).hexdigest()
    except OSError:
        digest = None
    return Fingerprint(str(real), version, digest)


def _label_tried(fp: Fingerprint | None, settings: Settings) -> str | None:
    """The version a failure names; a marker that is not a version number is not echoed."""
    from serving.model.bundle import valid_registry_version

    if fp is None:
        return None
    if valid_registry_version(fp.registry_version):
        return f"{settings.registered_model}:v{fp.registry_version}"
    return Path(fp.path).name


class ModelWatcher:
    """Load the served bundle, then keep watching it and swap in verified new versions.

    Parameters
    ----------
    settings
        Where the bundle is (``model_dir`` or ``<home>/champion``).
    on_swap
        Called (in the watcher's thread, or the caller's for :meth:`check`) with each newly
        loaded model; it must swap the service's reference in one assignment.
    config
        The :class:`RecommenderConfig` every loaded model answers with.
    interval
        Seconds between polls; None reads ``CAPACITY_RELOAD_SECONDS``; 0 disables polling
        (:meth:`start` then does nothing; :meth:`check` still works).
    warm_up
        The application answered once before a model is swapped in (default: the
        machinery-workshop example).
    verify_timeout
        Seconds the child process checking the booster may take
        (:func:`serving.model.verify.verify_bundle`).
    """

    def __init__(
        self,
        settings: Settings,
        on_swap: Callable[[LoadedModel], Any],
        *,
        config: RecommenderConfig | None = None,
        interval: float | None = None,
        warm_up: dict[str, Any] | None = None,
        verify_timeout: float | None = None,
    ) -> None:
        if warm_up is None:
            from serving.examples import MACHINERY_WORKSHOP

            warm_up = MACHINERY_WORKSHOP
        self.settings = settings
        self.on_swap = on_swap
        from serving.core import RecommenderConfig

        self.config = config or RecommenderConfig()
        self.interval = reload_seconds_from_env() if interval is None else float(interval)
        if self.interval < 0:
            raise ValueError(f"reload interval must be >= 0, got {self.interval}")
        self.warm_up = warm_up
        if verify_timeout is None:
            from serving.model.verify import VERIFY_TIMEOUT_SECONDS

            verify_timeout = VERIFY_TIMEOUT_SECONDS
        self.verify_timeout = float(verify_timeout)
        self.current: LoadedModel | None = None
        self.last_error: ReloadFailure | None = None
        self._seen: Fingerprint | None = None
        self._seen_once = False
        self._failed_at: float | None = None
        # The served bundle's files, checked against its checksums every few polls: a
        # file damaged on disk while served is told by /readyz and /model, not first by
        # the next restart failing to load it.
        self.on_disk_error: str | None = None
        self._verified_at = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one poll --------------------------------------------------------------------------
    def check(self) -> bool:
        """Look once; load, verify, warm and swap in a changed bundle. True if swapped.

        Never raises: a failure is recorded in :attr:`last_error` and the current model
        keeps serving.
        """
        with self._lock:
            location = served_location(self.settings)
            try:
                fp = fingerprint(location)
            except OSError as exc:
                fp = None
                log.debug("cannot fingerprint %s: %s", location, exc)
            current = self.current
            if current is not None and fp == current.fingerprint:
                self._seen, self._seen_once, self._failed_at = fp, True, None
                self.last_error = None  # back on the served bundle: nothing failed any more
                if time.monotonic() - self._verified_at >= self.integrity_seconds:
                    self._verify_on_disk(current)
                return False
            retry_due = (
                self._failed_at is not None
                and time.monotonic() - self._failed_at >= RETRY_FAILED_SECONDS
            )
            if self._seen_once and fp == self._seen and not retry_due:
                return False
            self._seen, self._seen_once = fp, True
            try:
                loaded = self._load(location, fp)
                self.on_swap(loaded)  # under the lock: swaps happen in the order they load
            except Exception as exc:
                self._failed_at = time.monotonic()
                self.last_error = ReloadFailure(
                    version=_label_tried(fp, self.settings),
                    bundle=fp.path if fp else str(location),
                    error=f"{type(exc).__name__}: {exc}",
                    at=_now(),
                )
                # The full text (paths included) goes to the log only; status() is public.
                if current is not None:
                    log.warning(
                        "model reload of %s failed, still serving %s: %s",
                        self.last_error.bundle,
                        current.version,
                        self.last_error.error,
                    )
                else:
                    log.warning(
                        "no model loaded from %s: %s", self.last_error.bundle, self.last_error.error
                    )
                return False
            self._failed_at = None
            self.current = loaded
            self.last_error = None
            self.on_disk_error = None
            self._verified_at = time.monotonic()
        log.info("serving model %s from %s", loaded.version, loaded.bundle)
        return True

    @property
    def integrity_seconds(self) -> float:
        """How often the served bundle's files are checked on disk (six polls, >= 6 s)."""
        return 6.0 * max(self.interval, 1.0)

    def _verify_on_disk(self, current: LoadedModel) -> None:
        """Check the served bundle's files against its checksums (pure Python, no load)."""
        from serving.model.bundle import check_bundle_files

        self._verified_at = time.monotonic()
        try:
            check_bundle_files(current.bundle)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if error != self.on_disk_error:
                log.error(
                    "the served bundle %s is damaged on disk (the model in memory still "
                    "answers; a restart would not load it): %s",
                    current.bundle,
                    error,
                )
            self.on_disk_error = error
            return
        self.on_disk_error = None

    def _load(self, location: Path, fp: Fingerprint | None) -> LoadedModel:
        if fp is None:
            from serving.loader import ModelNotFoundError

            if self.settings.model_dir is not None:
                raise ModelNotFoundError(
                    f"CAPACITY_MODEL_DIR points at {location}, which holds no model bundle"
                )
            raise ModelNotFoundError(
                f"no model: CAPACITY_MODEL_DIR is not set and {location} holds no exported "
                "champion; run `make model` (capacity ensure-model) or `capacity promote` to "
                "export one (the service picks it up without a restart)"
            )
        from features.schemas import Application
        from serving.core import Recommender
        from serving.model.bundle import BundleError, load_bundle, version_label
        from serving.model.verify import verify_bundle

        bundle = Path(fp.path)  # the real directory: immune to a switch during the load
        # LightGBM first parses the booster in a child process: a file that makes it
        # abort natively is a BundleError here, not the end of the worker.
        verify_bundle(bundle, timeout=self.verify_timeout)
        model, _, _ = load_bundle(bundle)
        if fingerprint(bundle) != fp:  # rewritten in place between the check and the load
            raise BundleError(f"model bundle {bundle} changed while it was being loaded")
        version = version_label(bundle, self.settings.registered_model)
        previous = self.current
        recommender = Recommender(
            model,
            version,
            self.config,
            matcher=previous.recommender.matcher if previous is not None else None,
        )
        warm = Application.model_validate(self.warm_up)
        answer = recommender.recommend(warm)
        # The batch's vectorised path too: its first use paid ~0.3 s of one-time costs
        # (lazy imports, first calls) inside the first batch's answer.
        recommender.score_applications([warm, warm])
        if answer.model_version != version:  # pragma: no cover - a Recommender invariant
            raise RuntimeError(f"warm-up answer names {answer.model_version}, expected {version}")
        return LoadedModel(recommender, version, bundle, fp, _now())

    # -- the polling thread ------------------------------------------------------------------
    def start(self) -> bool:
        """Start polling in a daemon thread (not when the interval is 0). True if started."""
        if self.interval <= 0 or (self._thread is not None and self._thread.is_alive()):
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # pragma: no cover - check() records its own failures
                log.exception("model watcher: unexpected error")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling and wait for the thread (a load in progress finishes first)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> ModelWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reporting -------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What is served and the last failed reload (the body of ``GET /model``).

        Public: the bundle and the watched location by directory name only (the absolute
        paths are logged when a model is served or fails to load).
        """
        current, error = self.current, self.last_error
        return {
            "model_version": current.version if current else None,
            "bundle": _dir_name(current.bundle) if current else None,
            "loaded_at": current.loaded_at if current else None,
            "last_reload_error": error.as_dict() if error else None,
            "on_disk_error": _public(self.on_disk_error),
            "reload_seconds": self.interval,
            "watching": _dir_name(served_location(self.settings)),
        }


def status_app(get_status: Callable[[], tuple[int, dict[str, Any]]]) -> Any:
    """A Starlette app answering ``GET /model`` with ``get_status()`` (status code, body).

    BentoML's APIs are POST only, so the model status is a route of a mounted ASGI app.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def model(_: Request) -> JSONResponse:
        code, body = get_status()
        return JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})

    return Starlette(routes=[Route("/model", model, methods=["GET"])])
