"""The monitor flags a drifted month of applications, stays quiet on an undrifted one, and
alerts on realised accuracy only when the Wilson lower bound of a month falls below 0.90.

The reference is the session model's own training history (``labelled_history``), profiled
exactly as a training run logs it; logs are private SQLite files in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from serving.core import Recommender
from serving.logbook import LogbookSettings
from serving.model.predictor import CapacityModel
from serving.monitor_gauges import MonitorGauges, publish
from serving.settings import Settings
from training.data import LabelledHistory
from training.monitor.report import MonitorThresholds, run_monitor, write_html, write_json
from training.monitor.simulate import log_month, month
from training.registry.monitor_profile import psi, training_profile

# Industries that are a few percent of the fixture history each: a month made only of
# them is an industry mix unlike the history (a charging-station campaign, cold chains).
DRIFTED_MIX = ("ev_charging", "cold_storage", "hospital")


@pytest.fixture(scope="module")
def reference(trained_model: CapacityModel, labelled_history: LabelledHistory) -> dict:
    frames = labelled_history.frames
    answers = Recommender(trained_model, "ref").score_frames(frames.customers, frames.equipment)
    return training_profile(
        frames.customers, frames.equipment, frames.customers, frames.equipment, answers, "fixture"
    )


def _log(tmp_path: Path, name: str) -> LogbookSettings:
    return LogbookSettings(url=f"sqlite:///{tmp_path / f'{name}.db'}")


def test_psi_is_zero_for_the_same_mix_and_grows_with_the_shift() -> None:
    ref = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert psi(ref, ref) == pytest.approx(0.0)
    small = psi(ref, {"a": 0.45, "b": 0.33, "c": 0.22})
    large = psi(ref, {"a": 0.1, "b": 0.3, "c": 0.6})
    assert 0 < small < 0.1 < 0.25 < large
    assert np.isnan(psi(ref, {}))


@pytest.mark.slow
def test_drifted_month_is_flagged_and_undrifted_month_is_not(
    reference: dict, bundle_dir: Path, tmp_path: Path
) -> None:
    nov = month(2026, 11)
    quiet, drifted = _log(tmp_path, "quiet"), _log(tmp_path, "drifted")
    log_month(quiet, bundle_dir, n=300, seed=301, month_start=nov)
    log_month(drifted, bundle_dir, n=300, seed=302, month_start=nov, industries=DRIFTED_MIX)
    settings = Settings(home=tmp_path / "home")
    window = {"since": nov, "until": month(2026, 12), "reference": reference}

    calm = run_monitor(settings, quiet, **window)
    assert calm.n_applications == 300
    assert calm.alerts == [] and calm.exit_code == 0, calm.alerts
    assert {d.status for d in calm.drift} <= {"ok", "shift"}

    hot = run_monitor(settings, drifted, **window)
    assert hot.exit_code == 1
    by = {d.quantity: d for d in hot.drift}
    assert by["industry"].status == "alert" and by["industry"].psi > 1.0
    assert by["equipment_category"].status == "alert"
    assert any(a.startswith("input drift of industry") for a in hot.alerts)

    # A window with no applications in it judges nothing and alerts on nothing.
    empty = run_monitor(settings, drifted, since=month(2026, 1), until=month(2026, 2),
                        reference=reference)  # fmt: skip
    assert empty.n_applications == 0 and empty.alerts == []

    html = write_html(hot, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "ALERT" in html and "data:image/png;base64," in html


@pytest.mark.slow
def test_realised_accuracy_alerts_on_the_bad_month_only(
    reference: dict, bundle_dir: Path, tmp_path: Path
) -> None:
    log = _log(tmp_path, "outcomes")
    # September: metered peaks as the history predicts. October: customers peak at three
    # times what they would (their applications understated the load): undersized.
    log_month(log, bundle_dir, n=150, seed=311, month_start=month(2026, 9), outcomes=True)
    log_month(log, bundle_dir, n=150, seed=312, month_start=month(2026, 10), outcomes=True,
              peak_factor=3.0)  # fmt: skip
    report = run_monitor(
        Settings(home=tmp_path / "home"),
        log,
        since=month(2026, 9),
        until=month(2026, 11),
        reference=reference,
        thresholds=MonitorThresholds(min_applications=10_000),  # accuracy only
    )
    m = report.monthly.set_index("month")
    assert list(m.index) == ["2026-09", "2026-10"]
    assert (m["ci_low"] <= m["accuracy"]).all() and (m["accuracy"] <= m["ci_high"]).all()
    assert m.loc["2026-10", "undersized"] > 0.5
    accuracy_alerts = [a for a in report.alerts if a.startswith("realised accuracy")]
    # Only the bad month: September's interval reaches the documented accuracy (the old
    # "lower bound below 0.90" rule also alerted on it whenever its lower bound dipped).
    assert len(accuracy_alerts) == 1
    assert any("2026-10" in a for a in accuracy_alerts)
    assert report.n_outcomes == 300
    assert set(report.per_industry["industry"]) <= set(reference["distributions"]["industry"])


def test_service_gauges_show_the_monitors_figures(
    reference: dict, bundle_dir: Path, tmp_path: Path
) -> None:
    from prometheus_client import REGISTRY

    log = _log(tmp_path, "gauges")
    log_month(log, bundle_dir, n=120, seed=321, month_start=month(2026, 11),
              industries=DRIFTED_MIX)  # fmt: skip
    report = run_monitor(Settings(home=tmp_path / "home"), log, since=month(2026, 11),
                         until=month(2026, 12), reference=reference)  # fmt: skip
    path = write_json(report, tmp_path / "home" / "monitor" / "latest.json")
    gauges = MonitorGauges.get()
    assert gauges is not None and publish(path, gauges)
    industry = next(d for d in report.drift if d.quantity == "industry")
    got = REGISTRY.get_sample_value(
        "capacity_monitor_psi", {"quantity": "industry", "kind": "input"}
    )
    assert got == pytest.approx(industry.psi, rel=1e-4)
    assert REGISTRY.get_sample_value("capacity_monitor_alerts") == len(report.alerts)
    assert REGISTRY.get_sample_value("capacity_monitor_applications") == 120
    assert not publish(tmp_path / "missing.json", gauges)
