"""Monitor alerts respect sample size: undrifted months stay quiet, real drift does not.

Protects issue 24 item 3: with a flat PSI 0.25 an undrifted month of 100 applications
flagged the industry mix 69 % of the time; with "Wilson lower bound below 0.90" a model at
its documented 92.5 % alerted in every month under about 550 outcomes (30 of 30 included).
The simulation here draws months of 100–500 applications from the same population as the
reference and counts runs with any drift alert; it also shows the fixed threshold failing
on the same months (so the test can fail) and real drift still caught.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serving.core import Recommender
from serving.model.predictor import CapacityModel
from serving.settings import Settings
from training.data import LabelledHistory
from training.monitor.report import (
    MonitorReport,
    MonitorThresholds,
    accuracy_alerts,
    drift_rows,
    history_path,
    latest_path,
    publish,
    read_history,
)
from training.pilot import wilson_interval
from training.registry.monitor_profile import distributions, observe_history, psi, training_profile

SIZES = (100, 200, 300, 500)
MONTHS_PER_SIZE = 40


@pytest.fixture(scope="module")
def population(
    trained_model: CapacityModel, labelled_history: LabelledHistory
) -> dict[str, object]:
    cust = labelled_history.frames.customers.reset_index(drop=True)
    eq = labelled_history.frames.equipment
    answers = Recommender(trained_model, "t").score_frames(cust, eq)
    rng = np.random.default_rng(5)
    ref_rows = rng.permutation(len(cust)) < len(cust) // 2
    ref_ids = set(cust.loc[ref_rows, "customer_id"])
    ref_eq = eq[eq["customer_id"].isin(ref_ids)]
    profile = training_profile(
        cust[ref_rows], ref_eq, cust[ref_rows], ref_eq, answers[ref_rows], "test reference"
    )
    return {"profile": profile, "cust": cust[~ref_rows].reset_index(drop=True), "eq": eq,
            "answers": answers[~ref_rows].reset_index(drop=True)}  # fmt: skip


def _month(pop: dict, rows: np.ndarray) -> tuple[dict, int]:
    cust = pop["cust"].iloc[rows]  # type: ignore[attr-defined]
    eq = pop["eq"]
    eq = eq[eq["customer_id"].isin(set(cust["customer_id"]))]  # type: ignore[index]
    obs = observe_history(cust, eq, pop["answers"].iloc[rows])  # type: ignore[attr-defined]
    return distributions(obs, pop["profile"]["edges"]), obs.n  # type: ignore[index]


@pytest.mark.slow
def test_undrifted_months_of_100_to_500_alert_about_5_percent_at_most(
    population: dict[str, object],
) -> None:
    t = MonitorThresholds()
    profile = population["profile"]
    n_pool = len(population["cust"])  # type: ignore[arg-type]
    rng = np.random.default_rng(11)
    alerted, fixed_rule, months = 0, 0, 0
    for n in SIZES:
        for _ in range(MONTHS_PER_SIZE):
            current, n_obs = _month(population, rng.choice(n_pool, size=n, replace=False))
            rows = drift_rows(profile, current, n_obs, t)  # type: ignore[arg-type]
            alerted += any(r.status == "alert" for r in rows)
            ref = profile["distributions"]  # type: ignore[index]
            fixed_rule += any(psi(ref[r.quantity], current[r.quantity]) >= 0.25 for r in rows)
            months += 1
    rate, old_rate = alerted / months, fixed_rule / months
    print(f"undrifted months: {alerted}/{months} alerted ({rate:.1%}); "
          f"fixed PSI 0.25 rule: {fixed_rule}/{months} ({old_rate:.1%})")  # fmt: skip
    # About 5 %: 160 months, so 8 expected at exactly 5 %; 16 is beyond sampling noise.
    assert rate <= 0.10
    # The months are the same: the old rule fires far more often on them.
    assert old_rate > 2 * max(rate, 0.05)


def test_real_drift_is_still_an_alert(population: dict[str, object]) -> None:
    t = MonitorThresholds()
    cust = population["cust"]
    profile = population["profile"]
    top = cust["industry"].value_counts().index[:2]  # type: ignore[attr-defined]
    rows = np.flatnonzero(cust["industry"].isin(top).to_numpy())[:200]  # type: ignore[attr-defined]
    current, n = _month(population, rows)
    drift = {r.quantity: r for r in drift_rows(profile, current, n, t)}  # type: ignore[arg-type]
    assert drift["industry"].status == "alert"
    assert (
        drift["industry"].threshold is not None
        and drift["industry"].psi > drift["industry"].threshold
    )


def _monthly(k: int, n: int) -> pd.DataFrame:
    low, high = wilson_interval(k, n)
    return pd.DataFrame(
        [
            {
                "month": "2026-10",
                "n": n,
                "appropriate": k,
                "accuracy": k / n,
                "ci_low": low,
                "ci_high": high,
            }
        ]  # fmt: skip
    )


def test_accuracy_alerts_against_the_documented_accuracy_not_a_flat_floor() -> None:
    t = MonitorThresholds()
    assert accuracy_alerts(_monthly(30, 30), 0.925, t) == []  # 30 of 30 never alerts
    assert accuracy_alerts(_monthly(92, 100), 0.925, t) == []
    assert accuracy_alerts(_monthly(150, 200), 0.925, t)  # 75 %: a real drop
    rng = np.random.default_rng(3)
    months = 400
    fired = sum(
        bool(accuracy_alerts(_monthly(int(rng.binomial(n, 0.925)), n), 0.925, t))
        for n in rng.integers(30, 501, size=months)
    )
    assert fired / months <= 0.05


def _report(version: str) -> MonitorReport:
    return MonitorReport(
        window_start=datetime(2026, 11, 1, tzinfo=UTC),
        window_end=datetime(2026, 12, 1, tzinfo=UTC),
        n_applications=0,
        n_outcomes=0,
        model_version=version,
        reference_source="test",
        drift=[],
        monthly=pd.DataFrame(),
        per_industry=pd.DataFrame(),
        alerts=[],
        thresholds=MonitorThresholds(),
    )


def test_what_if_runs_leave_latest_json_and_history_alone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert publish(_report("6"), settings, champion="3") == (None, None)
    assert not latest_path(settings).exists() and not history_path(settings).exists()
    latest, history = publish(_report("3"), settings, champion="3")
    assert latest == latest_path(settings) and history == history_path(settings)
    publish(_report("3"), settings, champion="3")
    publish(_report("6"), settings, champion="3")
    frame = read_history(history_path(settings))
    assert len(frame) == 2 and set(frame["model_version"].astype(str)) == {"3"}


@pytest.mark.slow
def test_three_undrifted_pilot_months_of_120_exit_0(
    population: dict[str, object], bundle_dir: Path, tmp_path: Path
) -> None:
    # Issue 24: all three undrifted 120-applicant pilots exited 1 (flat PSI 0.25 and the
    # "Wilson lower bound below 0.90" accuracy rule). End to end through the log here:
    # applications and their outcomes (metered peaks as the history predicts) logged, then
    # the monitor run on each month. The reference is the session history's own profile.
    from serving.logbook import LogbookSettings
    from training.monitor.report import run_monitor
    from training.monitor.simulate import log_month, month

    settings = Settings(home=tmp_path / "home")
    codes = []
    for k, seed in enumerate((401, 402, 403)):
        log = LogbookSettings(url=f"sqlite:///{tmp_path / f'pilot{k}.db'}")
        log_month(log, bundle_dir, n=120, seed=seed, month_start=month(2026, 9), outcomes=True)
        report = run_monitor(
            settings,
            log,
            since=month(2026, 9),
            until=month(2026, 10),
            reference=population["profile"],  # type: ignore[arg-type]
            # What a model of this size documents on its holdout (0.92 in bench_gate.py's
            # champion); the alert line is 3 points below it.
            documented_accuracy=0.92,
        )
        assert report.n_applications == 120
        codes.append(report.exit_code)
        assert report.alerts == [], report.alerts
    assert codes == [0, 0, 0]


def test_an_alert_already_raised_on_the_previous_run_is_marked_continuing(
    tmp_path: Path,
) -> None:
    from training.monitor.report import DriftRow, continuing_alerts

    settings = Settings(home=tmp_path)
    report = _report("3")
    report.drift = [DriftRow("industry", "input", 0.9, "alert", threshold=0.4)]
    assert continuing_alerts(report, read_history(history_path(settings))) == set()
    publish(report, settings, champion="3")
    again = continuing_alerts(report, read_history(history_path(settings)))
    assert len(again) == 1 and "industry" in next(iter(again))
