"""The monitor's figures as Prometheus gauges on the service's ``/metrics``.

``capacity monitor`` (training side, run daily by a scheduler) computes drift and realised
accuracy and writes them to ``<CAPACITY_HOME>/monitor/latest.json``
(:data:`LATEST_RELATIVE`). The service only republishes that file: it re-reads it when
its modification time changes (checked every :data:`POLL_SECONDS` in a daemon thread) and
sets the gauges below. The computation stays out of the service on purpose: it needs the
champion's reference profile from the MLflow registry (the runtime never imports
MLflow) and a read of the whole month of the log, which is a daily batch job, not work
for every scrape; and one computation means ``/metrics`` and the CLI report never
disagree.

Gauges (all ``capacity_monitor_*``): ``psi{quantity,kind}``, ``share{quantity,kind,side}``
(side ``reference``/``current`` of binary quantities such as the clamp share),
``alerts``, ``applications``, ``outcomes``, ``realised_accuracy{bound}`` of the latest
month with outcomes (bound ``estimate``/``low``/``high``) and ``last_run_timestamp_seconds``.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

_LOG = logging.getLogger(__name__)

LATEST_RELATIVE = Path("monitor") / "latest.json"
"""Where ``capacity monitor`` writes its last figures, relative to ``CAPACITY_HOME``."""
POLL_SECONDS = 60.0


class MonitorGauges:
    """The gauges, created once per process (None without prometheus_client)."""

    _instance: MonitorGauges | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        from prometheus_client import Gauge

        self.psi = Gauge(
            "capacity_monitor_psi",
            "Population stability index of a monitored quantity vs the champion's training history",
            ["quantity", "kind"],
            multiprocess_mode="livemax",
        )
        self.share = Gauge(
            "capacity_monitor_share",
            "Share of a binary monitored quantity (clamped, fallback, ...) in the reference or now",
            ["quantity", "kind", "side"],
            multiprocess_mode="livemax",
        )
        self.alerts = Gauge(
            "capacity_monitor_alerts",
            "Thresholds crossed at the last run",
            multiprocess_mode="livemax",
        )
        self.applications = Gauge(
            "capacity_monitor_applications",
            "Applications in the last monitored window",
            multiprocess_mode="livemax",
        )
        self.outcomes = Gauge(
            "capacity_monitor_outcomes",
            "Of them, with an imported outcome",
            multiprocess_mode="livemax",
        )
        self.accuracy = Gauge(
            "capacity_monitor_realised_accuracy",
            "Realised sizing accuracy of the latest month with outcomes (Wilson 95 % bounds)",
            ["bound"],
            multiprocess_mode="livemax",
        )
        self.last_run = Gauge(
            "capacity_monitor_last_run_timestamp_seconds",
            "When the monitor last ran (a stale value means the daily job stopped)",
            multiprocess_mode="livemax",
        )

    @classmethod
    def get(cls) -> MonitorGauges | None:
        """The process's gauges, or None when they cannot be made."""
        with cls._guard:
            if cls._instance is None:
                try:
                    cls._instance = cls()
                except Exception:  # no prometheus_client, or a clashing registry
                    _LOG.debug("monitor gauges unavailable", exc_info=True)
                    return None
            return cls._instance

    def set_from(self, doc: dict[str, Any]) -> None:
        """Set every gauge from one monitor document (``MonitorReport.as_dict``)."""
        for d in doc.get("drift", []):
            labels = {"quantity": str(d["quantity"]), "kind": str(d["kind"])}
            if d.get("psi") is not None:
                self.psi.labels(**labels).set(float(d["psi"]))
            for side in ("reference", "current"):
                value = d.get(f"{side}_share")
                if value is not None:
                    self.share.labels(**labels, side=side).set(float(value))
        self.alerts.set(len(doc.get("alerts", [])))
        self.applications.set(float(doc.get("n_applications", 0)))
        self.outcomes.set(float(doc.get("n_outcomes", 0)))
        months = doc.get("accuracy_monthly") or []
        if months:
            last = months[-1]
            for bound, key in (("estimate", "accuracy"), ("low", "ci_low"), ("high", "ci_high")):
                self.accuracy.labels(bound=bound).set(float(last[key]))
        generated = doc.get("generated_at")
        if generated:
            self.last_run.set(datetime.fromisoformat(generated).timestamp())


def publish(path: Path, gauges: MonitorGauges | None = None) -> bool:
    """Read ``path`` and set the gauges; False when there is no (readable) file."""
    gauges = gauges or MonitorGauges.get()
    if gauges is None or not path.is_file():
        return False
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        _LOG.warning("monitor figures at %s unreadable; gauges keep their last values", path)
        return False
    gauges.set_from(doc)
    return True


def start_publisher(home: Path, interval: float = POLL_SECONDS) -> threading.Thread:
    """Publish ``<home>/monitor/latest.json`` now and whenever it changes (daemon thread)."""
    path = home / LATEST_RELATIVE
    stop = threading.Event()

    def run() -> None:
        seen: float | None = None
        while not stop.is_set():
            try:
                mtime = path.stat().st_mtime if path.is_file() else None
                if mtime is not None and mtime != seen and publish(path):
                    seen = mtime
            except Exception:  # never let a bad file take the thread down
                _LOG.warning("monitor gauges: publishing %s failed", path, exc_info=True)
            stop.wait(interval)

    thread = threading.Thread(target=run, name="monitor-gauges", daemon=True)
    thread.start()
    return thread
