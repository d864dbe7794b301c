"""``capacity monitor``: drift of applications and answers, and realised accuracy from outcomes.

Three checks on the recommendation log, each against a stated threshold
(:class:`MonitorThresholds`):

1. **input drift** of the applications logged in the window against the champion's
   training history (the reference profile logged with its training run,
   :mod:`training.registry.monitor_profile`): industry mix, installed kW, floor area, equipment
   categories, share of area-only applications and of unmatched equipment lines (PSI);
2. **answer drift**: clamp, fallback and manual-review shares and the recommended-tier mix
   against the answers the champion gave its own training customers (PSI, and for the
   shares also the change in points, since a share tripling from 2 % to 6 % barely moves
   a PSI);
3. **realised accuracy** of the recommended capacity against the metered peak of the
   imported outcomes, per month and per industry, with Wilson 95 % intervals; an alert
   when a month with enough outcomes has its whole interval below the model's documented
   accuracy minus a tolerance.

Alerts respect the sample size: each PSI is judged against its own null distribution at
the window's size (:func:`psi_null_quantile`) and every test of a run shares one 5 %
false-alarm budget, so an undrifted month of 100–500 applications alerts about 5 % of the
time at most (``tests/unit/test_monitor_alerts.py`` simulates it). Each champion run
appends one row to the drift history (``<CAPACITY_HOME>/monitor/history.csv``, plotted in
the report); a what-if run against another version writes neither the history nor
``latest.json``.

The result is a :class:`MonitorReport`: a terminal table, an HTML report with plots, a
JSON document (``<CAPACITY_HOME>/monitor/latest.json``, which the service exposes as
gauges on ``/metrics``) and an exit status a scheduler can alert on.
"""

from __future__ import annotations

import functools
import html
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.atomic import write_text
from features.contract import DEFAULT_SIZING, SizingDefinition, sizing_outcome
from serving.logbook import LogbookSettings
from serving.monitor_gauges import LATEST_RELATIVE
from serving.settings import Settings
from training.monitor.log import read_logged
from training.registry.monitor_profile import (
    ANSWER_QUANTITIES,
    INPUT_QUANTITIES,
    PROFILE_FILE,
    distributions,
    make_profile,
    observe_history,
    observe_logged,
    psi,
)
from training.reports.figures import figure_png_base64 as _png
from training.reports.stats import wilson_interval

ACCURACY_DAYS = 730
"""Default look-back of realised accuracy: recommendations of the last two years (their
outcomes come after about a year of metering)."""
SHARE_QUANTITIES = ("clamped", "fallback", "manual_review", "area_only", "unmatched_lines")


class MonitorThresholds(BaseModel):
    """When the monitor raises an alert (defaults: the PSI convention and the contract)."""

    model_config = ConfigDict(frozen=True)

    psi_warn: float = Field(0.10, gt=0, description="PSI from which a shift is reported")
    psi_alert: float = Field(0.25, gt=0, description="PSI from which a shift is an alert")
    share_change_alert: float = Field(
        0.05,
        gt=0,
        description="Change of a share (clamp, fallback, ...) that is an alert, when it is "
        "also beyond sampling noise (two-proportion z-test at 1 %)",
    )
    min_applications: int = Field(
        100, ge=1, description="Applications in the window below which drift is not judged"
    )
    family_alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Chance that an undrifted window raises any drift alert: shared by every "
        "PSI and share test of a run (Bonferroni), each PSI judged against its null "
        "distribution at this window's size (simulated, see psi_null_quantile)",
    )
    accuracy_floor: float = Field(
        0.90,
        gt=0,
        lt=1,
        description="The documented accuracy used when the model's own is unknown (the "
        "contract's target)",
    )
    accuracy_tolerance: float = Field(
        0.03,
        ge=0,
        lt=1,
        description="Realised accuracy alerts when its whole Wilson 95 % interval lies below "
        "the model's documented (holdout) accuracy minus this",
    )
    min_outcomes: int = Field(
        30, ge=1, description="Outcomes in a month below which accuracy is not judged"
    )


@dataclass
class DriftRow:
    """One monitored quantity: PSI, the largest bin changes and the verdict."""

    quantity: str
    kind: str  # "input" or "answer"
    psi: float
    status: str  # "ok", "shift", "alert" or "too few"
    reference_share: float | None = None  # the 'yes' share of a binary quantity
    current_share: float | None = None
    top_changes: str = ""
    threshold: float | None = None  # the PSI that is an alert at this window's size


@dataclass
class MonitorReport:
    """What one monitor run found."""

    window_start: datetime | None
    window_end: datetime
    n_applications: int
    n_outcomes: int
    model_version: str | None
    reference_source: str
    drift: list[DriftRow]
    monthly: pd.DataFrame
    per_industry: pd.DataFrame
    alerts: list[str]
    thresholds: MonitorThresholds
    reference: dict[str, Any] = field(repr=False, default_factory=dict)
    current: dict[str, dict[str, float]] = field(repr=False, default_factory=dict)
    accuracy_start: datetime | None = None
    documented_accuracy: float | None = None
    per_application_type: pd.DataFrame | None = None
    """Realised accuracy per application type (None: new connections only)."""

    @property
    def exit_code(self) -> int:
        """1 when any threshold was crossed (a scheduler's alert), else 0."""
        return 1 if self.alerts else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (also what ``/metrics`` exposes)."""
        return {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat(),
            "n_applications": self.n_applications,
            "n_outcomes": self.n_outcomes,
            "accuracy_start": self.accuracy_start.isoformat() if self.accuracy_start else None,
            "model_version": self.model_version,
            "reference_source": self.reference_source,
            "drift": [
                {
                    "quantity": d.quantity,
                    "kind": d.kind,
                    "psi": None if not np.isfinite(d.psi) else round(d.psi, 6),
                    "status": d.status,
                    "reference_share": d.reference_share,
                    "current_share": d.current_share,
                }
                for d in self.drift
            ],
            "accuracy_monthly": json.loads(self.monthly.to_json(orient="records")),
            "accuracy_per_industry": json.loads(self.per_industry.to_json(orient="records")),
            "accuracy_per_application_type": None
            if self.per_application_type is None
            else json.loads(self.per_application_type.to_json(orient="records")),
            "alerts": self.alerts,
            "documented_accuracy": self.documented_accuracy,
            "thresholds": self.thresholds.model_dump(),
        }


# --------------------------------------------------------------------------------------
# Reference
# --------------------------------------------------------------------------------------


def reference_profile(settings: Settings, version: str | None = None) -> tuple[dict[str, Any], str]:
    """The reference profile of ``version`` (default: the champion) and its version.

    Read from the training run's ``monitor/monitor_profile.json``; for a version logged
    before profiles existed, computed from its holdout (said in ``source``).

    Raises
    ------
    LookupError
        No version given and no champion registered.
    """
    import os

    import mlflow

    from serving.core import Recommender
    from serving.model.bundle import load_bundle
    from training.data import read_holdout
    from training.registry.store import champion_version, client, download_version

    version = version or champion_version(settings)
    if version is None:
        raise LookupError(
            f"no champion of '{settings.registered_model}' is registered and no --version was "
            "given: the monitor needs the model's training history as its reference"
        )
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mc = client(settings)
    mv = mc.get_model_version(settings.registered_model, version)
    with tempfile.TemporaryDirectory() as tmp:
        if mv.run_id is not None:
            try:
                path = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{mc.get_run(mv.run_id).info.artifact_uri}/monitor/{PROFILE_FILE}",
                    dst_path=tmp,
                    tracking_uri=settings.resolved_tracking_uri(),
                )
                return json.loads(Path(path).read_text(encoding="utf-8")), str(version)
            except Exception:  # an older run without a profile: fall back to its holdout
                pass
        bundle = download_version(settings, version, "bundle", Path(tmp) / "bundle")
        hold = read_holdout(download_version(settings, version, "holdout", Path(tmp) / "hold"))
        model, _, _ = load_bundle(bundle)
        answers = Recommender(model, str(version)).score_frames(
            hold.frames.customers, hold.frames.equipment
        )
        obs = observe_history(hold.frames.customers, hold.frames.equipment, answers)
        return make_profile(obs, f"holdout of version {version} (no training profile logged)"), str(
            version
        )


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------


def _top_changes(ref: dict[str, float], cur: dict[str, float], k: int = 3) -> str:
    bins = set(ref) | set(cur)
    diffs = sorted(bins, key=lambda b: -abs(cur.get(b, 0.0) - ref.get(b, 0.0)))[:k]
    return ", ".join(f"{b} {ref.get(b, 0.0):.0%}→{cur.get(b, 0.0):.0%}" for b in diffs)


PSI_NULL_DRAWS = 4000
"""Simulated undrifted windows per quantity (enough for the 99.6 % quantile a 13-test
Bonferroni split of 5 % needs)."""


def n_drift_tests() -> int:
    """Tests a monitor run makes: one PSI per quantity, one share change per binary one."""
    return len(INPUT_QUANTITIES) + len(ANSWER_QUANTITIES) + len(SHARE_QUANTITIES)


def psi_null_quantile(
    reference: dict[str, float], n: int, n_ref: int, alpha: float, seed: int = 0
) -> float:
    """The ``1 - alpha`` quantile of PSI between two undrifted samples of these sizes.

    A parametric bootstrap: the reference's shares are taken as the truth; ``n`` current
    and ``n_ref`` reference applications are drawn from them (multinomial) and PSI computed
    exactly as :func:`training.registry.monitor_profile.psi` does (shares floored at its epsilon).
    A PSI of 0.25 is a convention for large samples; at 100 applications over 23 industries
    an undrifted month exceeds it most of the time (issue 24: 69 %), so the alert is the
    larger of the convention and this quantile. Per-line quantities (equipment category,
    unmatched lines) are drawn with ``n`` applications, not lines: lines of one application
    are not independent, and fewer draws give the wider (safer) null.
    """
    shares = tuple(sorted((str(b), float(v)) for b, v in reference.items() if v > 0))
    return _psi_null_quantile(shares, int(n), int(n_ref), float(alpha), int(seed))


@functools.lru_cache(maxsize=1024)
def _psi_null_quantile(
    shares: tuple[tuple[str, float], ...], n: int, n_ref: int, alpha: float, seed: int
) -> float:
    from training.registry.monitor_profile import PSI_EPSILON

    if n <= 0 or len(shares) < 2:
        return 0.0
    p = np.asarray([v for _, v in shares], dtype=float)
    p = p / p.sum()
    rng = np.random.default_rng(seed)
    cur = rng.multinomial(n, p, size=PSI_NULL_DRAWS) / n
    ref = rng.multinomial(n_ref, p, size=PSI_NULL_DRAWS) / n_ref if n_ref > 0 else p
    c, r = np.maximum(cur, PSI_EPSILON), np.maximum(ref, PSI_EPSILON)
    values = ((c - r) * np.log(c / r)).sum(axis=1)
    return float(np.quantile(values, 1.0 - alpha))


def _significant(p_ref: float, n_ref: int, p_cur: float, n_cur: int, alpha: float = 0.01) -> bool:
    """Two-proportion z-test at ``alpha`` (two-sided).

    True for a share change beyond the sampling noise of both sides.
    """
    from scipy.stats import norm

    if n_ref <= 0 or n_cur <= 0:
        return True
    z = float(norm.ppf(1.0 - alpha / 2))
    pooled = (p_ref * n_ref + p_cur * n_cur) / (n_ref + n_cur)
    se = float(np.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur)))
    return se == 0.0 or abs(p_cur - p_ref) / se >= z


def drift_rows(
    reference: dict[str, Any], current: dict[str, dict[str, float]], n: int, t: MonitorThresholds
) -> list[DriftRow]:
    """PSI and verdict of every monitored quantity (alerts calibrated to the window's size)."""
    ref = reference["distributions"]
    alpha = t.family_alpha / n_drift_tests()
    rows = []
    for kind, quantities in (("input", INPUT_QUANTITIES), ("answer", ANSWER_QUANTITIES)):
        for q in quantities:
            r, c = ref.get(q, {}), current.get(q, {})
            value = psi(r, c)
            row = DriftRow(q, kind, value, "ok", top_changes=_top_changes(r, c) if r and c else "")
            if q in SHARE_QUANTITIES:
                row.reference_share = float(r.get("yes", 0.0)) if r else None
                row.current_share = float(c.get("yes", 0.0)) if c else None
            if n < t.min_applications or not np.isfinite(value):
                row.status = "too few" if n < t.min_applications else "n/a"
            else:
                n_ref = int(reference.get("n_answers" if kind == "answer" else "n", 0))
                row.threshold = max(t.psi_alert, psi_null_quantile(r, n, n_ref, alpha))
                warn = max(t.psi_warn, psi_null_quantile(r, n, n_ref, t.family_alpha))
                moved = (
                    row.reference_share is not None
                    and row.current_share is not None
                    and abs(row.current_share - row.reference_share) >= t.share_change_alert
                    and _significant(row.reference_share, n_ref, row.current_share, n, alpha)
                )
                if value >= row.threshold or moved:
                    row.status = "alert"
                elif value >= warn:
                    row.status = "shift"
            rows.append(row)
    return rows


def drift_alerts(drift: list[DriftRow]) -> list[str]:
    """One alert line per quantity in alert (however many of its tests fired)."""
    return [
        f"{d.kind} drift of {d.quantity}: PSI {d.psi:.3f}"
        + (f" (alert from {d.threshold:.3f} at this window's size)" if d.threshold else "")
        + (
            f", share {d.reference_share:.1%} → {d.current_share:.1%}"
            if d.reference_share is not None and d.current_share is not None
            else ""
        )
        + f" ({d.top_changes})"
        for d in drift
        if d.status == "alert"
    ]


def accuracy_alerts(monthly: pd.DataFrame, documented: float, t: MonitorThresholds) -> list[str]:
    """Months whose whole Wilson interval lies below the documented accuracy minus the tolerance.

    Not when the lower bound dips under 0.90: a model at 92.5 % would then alert in every
    month with fewer than about 550 outcomes, 30 of 30 included (issue 24).
    """
    line = documented - t.accuracy_tolerance
    out = []
    for row in monthly.itertuples(index=False):
        if row.n >= t.min_outcomes and row.ci_high < line:
            out.append(
                f"realised accuracy {row.month}: {row.accuracy:.1%} of {row.n} (Wilson 95 % "
                f"interval {row.ci_low:.1%}–{row.ci_high:.1%}, wholly below the documented "
                f"{documented:.1%} minus {t.accuracy_tolerance:.0%})"
            )
    return out


def realised_accuracy(
    logged: pd.DataFrame, sizing: SizingDefinition = DEFAULT_SIZING
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly and per-industry realised accuracy of the recommended capacity (Wilson 95 %).

    A recommendation counts once its outcome is imported: the recommended capacity is
    judged against the metered peak with the contract's sizing definition.
    """
    cols = ["n", "appropriate", "accuracy", "ci_low", "ci_high", "undersized", "oversized"]
    done = logged.dropna(subset=["metered_peak_kw"])
    if done.empty:
        return (
            pd.DataFrame(columns=["month", *cols]),
            pd.DataFrame(columns=["industry", *cols]),
        )
    outcome = sizing_outcome(
        done["metered_peak_kw"].to_numpy(float), done["recommended_kva"].to_numpy(float), sizing
    )
    frame = pd.DataFrame(
        {
            "month": done["created_at"].dt.strftime("%Y-%m").to_numpy(),
            "industry": done["industry"].astype(str).to_numpy(),
            "ok": outcome == "appropriate",
            "under": outcome == "undersized",
            "over": outcome == "oversized",
        }
    )

    def summarise(key: str) -> pd.DataFrame:
        recs = []
        for value, g in frame.groupby(key, sort=True):
            n, k = len(g), int(g["ok"].sum())
            low, high = wilson_interval(k, n)
            recs.append(
                {
                    key: value,
                    "n": n,
                    "appropriate": k,
                    "accuracy": k / n,
                    "ci_low": low,
                    "ci_high": high,
                    "undersized": float(g["under"].mean()),
                    "oversized": float(g["over"].mean()),
                }
            )
        return pd.DataFrame(recs)

    return summarise("month"), summarise("industry").sort_values("accuracy").reset_index(drop=True)


def _application_type(request_json: object) -> str:
    """The application type of a logged request (``new`` when it does not say)."""
    try:
        request = json.loads(str(request_json)) if request_json is not None else {}
    except ValueError:
        return "new"
    if isinstance(request, dict) and isinstance(request.get("application"), dict):
        request = request["application"]  # a planner check logs its application inside
    kind = request.get("application_type") if isinstance(request, dict) else None
    return str(kind) if kind else "new"


def realised_by_type(
    logged: pd.DataFrame, sizing: SizingDefinition = DEFAULT_SIZING
) -> pd.DataFrame | None:
    """Realised accuracy per application type, when existing customers have outcomes."""
    done = logged.dropna(subset=["metered_peak_kw"])
    if done.empty or "request_json" not in done:
        return None
    kinds = np.array([_application_type(r) for r in done["request_json"]], dtype=object)
    if set(kinds) <= {"new"}:
        return None
    outcome = sizing_outcome(
        done["metered_peak_kw"].to_numpy(float), done["recommended_kva"].to_numpy(float), sizing
    )
    recs = []
    for kind in sorted(set(kinds)):
        m = kinds == kind
        n, k = int(m.sum()), int((outcome[m] == "appropriate").sum())
        low, high = wilson_interval(k, n)
        recs.append(
            {
                "application_type": kind,
                "n": n,
                "accuracy": k / n,
                "ci_low": low,
                "ci_high": high,
                "undersized": float(np.mean(outcome[m] == "undersized")),
                "oversized": float(np.mean(outcome[m] == "oversized")),
            }
        )
    return pd.DataFrame(recs)


def run_monitor(
    settings: Settings,
    log_settings: LogbookSettings,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    thresholds: MonitorThresholds | None = None,
    version: str | None = None,
    reference: dict[str, Any] | None = None,
    accuracy_since: datetime | None = None,
    documented_accuracy: float | None = None,
) -> MonitorReport:
    """Run the three checks on the log window ``[since, until)``.

    Parameters
    ----------
    settings
        Where the registry lives (the champion's reference profile).
    log_settings
        Which recommendation log to read.
    since, until
        Window of ``created_at`` (timezone-aware) in which drift is judged.
    accuracy_since
        Start of the (longer) window of realised accuracy, which ends at ``until`` too:
        outcomes arrive after a year of metering, so the recommendations that have one
        are older than the drift window. Default: :data:`ACCURACY_DAYS` before ``until``.
    version
        Registered version whose training history is the reference (default: champion).
    reference
        A reference profile given directly (skips the registry).
    documented_accuracy
        The accuracy the model documents (its holdout's, on the contract's definition);
        default: the version's ``holdout_accuracy`` in the registry, else the reference's
        ``documented_accuracy``, else the contract's 0.90.
    """
    t = thresholds or MonitorThresholds()
    until = until or datetime.now(UTC)
    if reference is None:
        reference, version = reference_profile(settings, version)
    logged = read_logged(log_settings, since, until)
    requests = [json.loads(s) for s in logged["request_json"]]
    responses = [json.loads(s) for s in logged["response_json"]]
    obs = observe_logged(requests, responses)
    current = distributions(obs, reference.get("edges", {}))
    drift = drift_rows(reference, current, obs.n, t)
    acc_start = accuracy_since or until - timedelta(days=ACCURACY_DAYS)
    with_outcomes = read_logged(log_settings, acc_start, until)
    monthly, per_industry = realised_accuracy(with_outcomes)
    if documented_accuracy is None:
        documented_accuracy = _documented_accuracy(settings, version, reference, t)
    alerts = list(
        dict.fromkeys([*drift_alerts(drift), *accuracy_alerts(monthly, documented_accuracy, t)])
    )
    return MonitorReport(
        window_start=since,
        window_end=until,
        n_applications=obs.n,
        n_outcomes=int(with_outcomes["metered_peak_kw"].notna().sum()),
        accuracy_start=acc_start,
        model_version=version,
        reference_source=str(reference.get("source", "given")),
        drift=drift,
        monthly=monthly,
        per_industry=per_industry,
        per_application_type=realised_by_type(with_outcomes),
        alerts=alerts,
        thresholds=t,
        reference=reference,
        current=current,
        documented_accuracy=documented_accuracy,
    )


def _documented_accuracy(
    settings: Settings, version: str | None, reference: dict[str, Any], t: MonitorThresholds
) -> float:
    """The model's documented accuracy: registry tag, reference profile, or the contract."""
    if version is not None:
        try:
            from training.registry.store import client

            mv = client(settings).get_model_version(settings.registered_model, str(version))
            value = float(mv.tags.get("holdout_accuracy", "nan"))
            if np.isfinite(value):
                return value
        except Exception:  # no registry (a reference given directly): the next source
            pass
    value = float(reference.get("documented_accuracy", float("nan")))
    return value if np.isfinite(value) else t.accuracy_floor


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


HISTORY_RELATIVE = Path("monitor") / "history.csv"
"""One row per champion run of the monitor (relative to ``CAPACITY_HOME``)."""


def history_path(settings: Settings) -> Path:
    """``<CAPACITY_HOME>/monitor/history.csv``: the drift history."""
    return settings.home / HISTORY_RELATIVE


def history_row(report: MonitorReport) -> dict[str, Any]:
    """The report as one row of the drift history."""
    row: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "window_start": report.window_start.isoformat() if report.window_start else "",
        "window_end": report.window_end.isoformat(),
        "model_version": report.model_version,
        "n_applications": report.n_applications,
        "n_outcomes": report.n_outcomes,
        "n_alerts": len(report.alerts),
    }
    for d in report.drift:
        row[f"psi.{d.quantity}"] = d.psi if np.isfinite(d.psi) else np.nan
        row[f"status.{d.quantity}"] = d.status
    if len(report.monthly):
        last = report.monthly.iloc[-1]
        row["accuracy_last_month"] = float(last["accuracy"])
        row["accuracy_last_month_n"] = int(last["n"])
    return row


def continuing_alerts(report: MonitorReport, history: pd.DataFrame) -> set[str]:
    """The report's drift alerts whose quantity was already in alert on the previous run.

    A scheduler mails every run that exits 1; the CLI marks these as continuing rather
    than new, so one shift is not reported as a fresh alarm every day.
    """
    if history.empty:
        return set()
    last = history.iloc[-1]
    out = set()
    for line in drift_alerts(report.drift):
        quantity = line.split(" drift of ", 1)[1].split(":", 1)[0]
        if str(last.get(f"status.{quantity}", "")) == "alert":
            out.add(line)
    return out


def read_history(path: Path) -> pd.DataFrame:
    """The drift history (empty when none was kept yet)."""
    if not path.is_file():
        return pd.DataFrame()
    return pd.read_csv(path)


def append_history(report: MonitorReport, path: Path) -> Path:
    """Append this run to the drift history (written to a temporary file and renamed)."""
    frame = pd.concat([read_history(path), pd.DataFrame([history_row(report)])], ignore_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def publish(
    report: MonitorReport, settings: Settings, champion: str | None
) -> tuple[Path | None, Path | None]:
    """Write ``latest.json`` and append the drift history, for a champion run only.

    ``latest.json`` is what ``/metrics`` serves; a what-if run (``--version`` of another
    version) touches neither. Returns the two paths (None when not written).
    """
    if champion is None or str(report.model_version) != str(champion):
        return None, None
    return write_json(report, latest_path(settings)), append_history(report, history_path(settings))


def latest_path(settings: Settings) -> Path:
    """``<CAPACITY_HOME>/monitor/latest.json``: the last run, as the service exposes it."""
    return settings.home / LATEST_RELATIVE


def write_json(report: MonitorReport, path: Path) -> Path:
    """Write :meth:`MonitorReport.as_dict` atomically (the service may read it any time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report.as_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def _history_plot(history: pd.DataFrame) -> tuple[str, str] | None:
    """PSI of every quantity over the monitor's runs (None with fewer than two runs)."""
    import matplotlib.pyplot as plt

    cols = [c for c in history.columns if c.startswith("psi.")]
    if len(history) < 2 or not cols:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    x = pd.to_datetime(history["window_end"], utc=True, errors="coerce")
    for c in cols:
        ax.plot(x, history[c], marker=".", label=c.removeprefix("psi."))
    ax.set_ylabel("PSI")
    ax.set_title("Drift history (one point per monitor run)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.autofmt_xdate()
    return "Drift history", _png(fig)


def _plots(report: MonitorReport, history: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    if history is not None:
        drawn = _history_plot(history)
        if drawn is not None:
            out.append(drawn)
    finite = [d for d in report.drift if np.isfinite(d.psi)]
    if finite:
        fig, ax = plt.subplots(figsize=(8, 4))
        colours = {"alert": "#d62728", "shift": "#ff7f0e"}
        ax.barh(
            [f"{d.quantity} ({d.kind})" for d in finite][::-1],
            [d.psi for d in finite][::-1],
            color=[colours.get(d.status, "#1f77b4") for d in finite][::-1],
        )
        ax.axvline(report.thresholds.psi_warn, color="#ff7f0e", ls=":", lw=1, label="shift")
        ax.axvline(report.thresholds.psi_alert, color="#d62728", ls="--", lw=1, label="alert")
        ax.set_xlabel("population stability index (PSI)")
        ax.set_title("Drift against the champion's training history")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        out.append(("Drift by quantity", _png(fig)))
    ref = report.reference.get("distributions", {}).get("industry", {})
    cur = report.current.get("industry", {})
    if ref or cur:
        names = sorted(set(ref) | set(cur), key=lambda b: -max(ref.get(b, 0), cur.get(b, 0)))
        y = np.arange(len(names))
        fig, ax = plt.subplots(figsize=(8, max(3.0, 0.3 * len(names) + 1)))
        ax.barh(y - 0.2, [ref.get(b, 0) for b in names], 0.4, label="training history")
        ax.barh(y + 0.2, [cur.get(b, 0) for b in names], 0.4, label="logged applications")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlabel("share of applications")
        ax.set_title("Industry mix")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        out.append(("Industry mix", _png(fig)))
    if len(report.monthly):
        m = report.monthly
        fig, ax = plt.subplots(figsize=(8, 3.5))
        x = np.arange(len(m))
        acc = m["accuracy"].to_numpy(float)
        ax.errorbar(
            x,
            acc,
            yerr=[acc - m["ci_low"].to_numpy(float), m["ci_high"].to_numpy(float) - acc],
            fmt="o-",
            capsize=4,
            label="realised accuracy (Wilson 95 %)",
        )
        ax.axhline(report.thresholds.accuracy_floor, color="k", ls="--", lw=1, label="target")
        if report.documented_accuracy is not None:
            ax.axhline(
                report.documented_accuracy - report.thresholds.accuracy_tolerance,
                color="#d62728",
                ls=":",
                lw=1,
                label="alert line (documented − tolerance)",
            )
        ax.set_xticks(x, m["month"].tolist(), rotation=30, ha="right")
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("share appropriately sized")
        ax.set_title("Realised accuracy by month (imported outcomes)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        out.append(("Realised accuracy", _png(fig)))
    return out


def _type_section(report: MonitorReport, pct: tuple[str, ...]) -> str:
    """Realised accuracy per application type (existing customers apart), if any."""
    if report.per_application_type is None:
        return ""
    return "<h2>Realised accuracy per application type</h2>" + _table(
        report.per_application_type, pct
    )


def _table(frame: pd.DataFrame, pct: tuple[str, ...] = ()) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, row, strict=True):
            if c in pct and isinstance(v, int | float) and np.isfinite(v):
                text = f"{v:.1%}"
            elif isinstance(v, float):
                text = f"{v:.3f}" if np.isfinite(v) else "–"
            else:
                text = str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _pct(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def drift_frame(report: MonitorReport) -> pd.DataFrame:
    """The drift rows as a table."""
    return pd.DataFrame(
        [
            {
                "quantity": d.quantity,
                "kind": d.kind,
                "PSI": d.psi,
                "alert from": d.threshold if d.threshold is not None else np.nan,
                "status": d.status,
                "reference": d.reference_share if d.reference_share is not None else np.nan,
                "current": d.current_share if d.current_share is not None else np.nan,
                "largest changes": d.top_changes,
            }
            for d in report.drift
        ]
    )


def write_html(report: MonitorReport, path: Path, history: pd.DataFrame | None = None) -> Path:
    """A self-contained HTML report (plots inlined; no network), with the drift history."""
    pct = ("reference", "current", "accuracy", "ci_low", "ci_high", "undersized", "oversized")
    status = (
        "<p class='alert'><strong>ALERT</strong></p><ul>"
        + "".join(f"<li>{html.escape(a)}</li>" for a in report.alerts)
        + "</ul>"
        if report.alerts
        else "<p class='ok'><strong>OK</strong>: no threshold crossed.</p>"
    )
    window = (
        f"{report.window_start:%Y-%m-%d %H:%M} – {report.window_end:%Y-%m-%d %H:%M} UTC"
        if report.window_start
        else f"up to {report.window_end:%Y-%m-%d %H:%M} UTC"
    )
    plots = "".join(
        f"<h3>{html.escape(t)}</h3><img alt='{html.escape(t)}' src='data:image/png;base64,{b}'>"
        for t, b in _plots(report, history)
    )
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Capacity recommender monitor</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;
text-align:right}}td:first-child,td:last-child{{text-align:left}}th{{background:#f3f3f3}}.alert{{color:#b00}}.ok{{color:#070}}
img{{max-width:100%}}</style></head><body>
<h1>Monitor: model v{html.escape(str(report.model_version))}</h1>
<p>Window {html.escape(window)}: {report.n_applications} logged applications. Realised
accuracy from {report.n_outcomes} recommendations with an imported outcome since
{report.accuracy_start:%Y-%m-%d}. Reference: {html.escape(report.reference_source)}.</p>
{status}
<h2>Drift (PSI; alert from the larger of {report.thresholds.psi_alert} and the PSI an
undrifted window of this size exceeds by chance, all tests of a run sharing a
{report.thresholds.family_alpha:.0%} false-alarm budget; or a share moving ≥
{report.thresholds.share_change_alert:.0%} points beyond noise)</h2>
{_table(drift_frame(report), pct)}
<h2>Realised accuracy by month (Wilson 95 %; alert when the whole interval lies below the
documented {_pct(report.documented_accuracy)} minus {report.thresholds.accuracy_tolerance:.0%},
with ≥ {report.thresholds.min_outcomes} outcomes)</h2>
{_table(report.monthly, pct)}
<h2>Realised accuracy by industry</h2>
{_table(report.per_industry, pct)}{_type_section(report, pct)}
{plots}
</body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, doc, encoding="utf-8")
    return path
