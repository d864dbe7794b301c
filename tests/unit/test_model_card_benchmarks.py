"""The model card's benchmark section renders the learning curve and the risk table."""

from __future__ import annotations

import json
from pathlib import Path

from training.registry.model_card import benchmark_section


def test_without_results_it_names_the_command(tmp_path: Path) -> None:
    text = benchmark_section(tmp_path)
    assert "bench_learning_curve.py" in text
    assert "Risk appetite" not in text


def test_with_results_it_shows_the_oracle_beside_each_point(tmp_path: Path) -> None:
    point = {
        "history": "utilisation",
        "noise": 0.3,
        "n_train": 2000,
        "served_accuracy": 0.81,
        "oracle_accuracy": 0.90,
        "undersized": 0.04,
        "coverage90": 0.9,
    }
    rows = [point, {**point, "served_accuracy": 0.864}]
    (tmp_path / "learning_curve.json").write_text(json.dumps(rows))
    ci = [0.5, 0.4, 0.6]
    risk = {
        "repeats": 5,
        "folds": 3,
        "overall": {
            "cap 10 %": {"ok": ci, "under": [0.07, 0.05, 0.09], "p_undersized": ci, "over": ci}
        },
    }
    (tmp_path / "risk_bdg1.json").write_text(json.dumps(risk))
    text = benchmark_section(tmp_path)
    line = next(x for x in text.splitlines() if x.startswith("| utilisation"))
    # Mean served 83.7 %, oracle 90.0 %, the share of the oracle over seeds 90.0–96.0 %.
    assert "83.7 %" in line and "90.0 %" in line and "90.0 % – 96.0 %" in line
    assert "| 2 |" in line and "2,000" in line
    assert "cap 10 %" in text and "7.0 % (5.0–9.0)" in text
    assert "Measured" not in text  # no date recorded, none invented


def test_oracle_undersized_and_the_machine_when_recorded(tmp_path: Path) -> None:
    point = {
        "history": "small_groups",
        "noise": "default",
        "n_train": 500,
        "served_accuracy": 0.92,
        "oracle_accuracy": 0.97,
        "undersized": 0.02,
        "oracle_undersized": 0.01,
        "coverage90": 0.9,
        "measured_utc": "2026-12-07T09:20:00+00:00",
        "cpus": 2,
        "load_average": 5.5,
    }
    rows = [point, {**point, "load_average": 7.25, "measured_utc": "2026-12-08T01:00:00+00:00"}]
    (tmp_path / "learning_curve.json").write_text(json.dumps(rows))
    text = benchmark_section(tmp_path)
    line = next(x for x in text.splitlines() if x.startswith("| small_groups"))
    assert "2.0 % (1.0 %)" in line
    assert "Measured 2026-12-07 to 2026-12-08 on 2 cores" in text
    assert "load average 5.5–7.2 during the fits." in text
    # A row without a load average is not covered by the range shown.
    rows.append({k: v for k, v in point.items() if k != "load_average"})
    (tmp_path / "learning_curve.json").write_text(json.dumps(rows))
    assert "during the 2 of 3 fits that recorded it" in benchmark_section(tmp_path)


def test_the_card_says_which_base_options_the_model_was_fitted_with() -> None:
    from training.registry.model_card import _options_on

    config = {"coincidence": True, "climate_cooling": False, "area_prior_from_lists": True}
    assert _options_on(config) == (
        "on in this model: coincidence term, area prior from lists (off: climate factor)"
    )
    assert _options_on({}) == "this bundle does not record which were on"
