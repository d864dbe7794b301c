"""Existing customers sized from their meter: the metered path behaves as a planner expects.

The world here is the test's own (not the project's generator): existing customers whose
peak is a per-industry multiple of their mean demand, seasonal months, demand meters on the
larger ones, lines added (增容) or removed (减容) with a diversity of their own, beside the
session's new-connection history. Each test states a behaviour that a broken metered path
fails (readings ignored, change ignored or of the wrong sign, a bundle that forgets the
meter, a model without the path answering anyway).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import HistoryFrames
from features.contract import sizing_outcome, tier_at_or_above
from features.metered import MeteredModelRequired
from features.metering import hours_in_month
from features.schemas import Application
from features.validation import validate_frames
from serving.core import Recommender
from serving.model.bundle import load_bundle
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from training.bundle import save_bundle
from training.data import LabelledHistory
from training.model import fit_model

INDUSTRIES = ("office", "hotel", "machinery", "school")
N_EXISTING = 900


def _world(seed: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Existing customers: customers, equipment (the change) and meter readings."""
    rng = np.random.default_rng(seed)
    ind = rng.choice(INDUSTRIES, n)
    ratio = {"office": 2.2, "hotel": 1.7, "machinery": 2.8, "school": 3.0}
    mean = np.exp(rng.normal(4.5, 0.9, n))
    before = mean * np.array([ratio[i] for i in ind]) * np.exp(rng.normal(0, 0.1, n))
    kind = rng.choice(["increase", "reduce", "suspend"], n, p=[0.5, 0.35, 0.15])
    cap = tier_at_or_above(before * rng.uniform(1.3, 3.5, n) / 0.9)
    lines = []
    change = np.zeros(n)
    for i in range(n):
        if kind[i] == "increase":
            for _ in range(int(rng.integers(1, 4))):
                kw = float(rng.uniform(5, 0.4 * before[i] + 10))
                lines.append((f"X{i}", "machine_tool", round(kw, 1), 1, "add"))
                change[i] += 0.45 * kw
        elif kind[i] == "reduce" and rng.random() < 0.6:
            kw = float(rng.uniform(1, 0.5 * before[i]))
            lines.append((f"X{i}", "pump", round(kw, 1), 1, "remove"))
            change[i] -= 0.5 * kw
    peak = np.maximum(before + change, 0.2 * before) * np.exp(rng.normal(0, 0.06, n))
    months = np.arange(1, 13)
    hours = hours_in_month(np.full(12, 2025), months)
    season = 1.0 + 0.25 * np.cos(2 * np.pi * (months - 7) / 12)
    rows = []
    for i in range(n):
        shape = season / np.mean(season) * np.exp(rng.normal(0, 0.03, 12))
        demand = before[i] * season / season.max() * rng.uniform(0.85, 1.0, 12)
        metered = cap[i] >= 315
        for m in range(12):
            rows.append(
                (
                    f"X{i}",
                    f"2025-{months[m]:02d}",
                    round(float(mean[i] * shape[m] * hours[m]), 1),
                    round(float(demand[m]), 2) if metered else "",
                )
            )
    customers = pd.DataFrame(
        {
            "customer_id": [f"X{i}" for i in range(n)],
            "industry": ind,
            "application_type": kind,
            "existing_capacity_kva": cap,
            "peak_demand_kw": np.round(peak, 2),
        }
    )
    equipment = pd.DataFrame(
        lines, columns=["customer_id", "category", "rated_kw", "quantity", "change"]
    )
    readings = pd.DataFrame(rows, columns=["customer_id", "period", "energy_kwh", "max_demand_kw"])
    return customers, equipment, readings


def _validated(customers: pd.DataFrame, equipment: pd.DataFrame, readings: pd.DataFrame):  # type: ignore[no-untyped-def]
    return validate_frames(
        customers.astype(str), equipment.astype(str), meter_readings_df=readings.astype(str),
        require_label=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def metered_history(labelled_history: LabelledHistory) -> tuple[HistoryFrames, np.ndarray]:
    """The session's new customers plus this module's existing ones, one history."""
    v = _validated(*_world(1, N_EXISTING))
    new = labelled_history.frames
    customers = pd.concat([new.customers, v.customers], ignore_index=True)
    equipment = pd.concat([new.equipment, v.equipment], ignore_index=True)
    equipment["change"] = equipment["change"].fillna("add")
    customers["application_type"] = customers["application_type"].fillna("new")
    peak = customers["peak_demand_kw"].to_numpy(dtype=float)
    return HistoryFrames(customers, equipment), peak


@pytest.fixture(scope="module")
def metered_model(
    metered_history: tuple[HistoryFrames, np.ndarray], small_model_config: ModelConfig
) -> CapacityModel:
    frames, peak = metered_history
    return fit_model(frames, peak, small_model_config, seed=0)


def _existing(energy: float = 60_000.0, **kw: object) -> Application:
    data: dict[str, object] = {
        "industry": "office",
        "application_type": "reduce",
        "existing_capacity_kva": 800.0,
        "meter_readings": [{"period": f"2025-{m:02d}", "energy_kwh": energy} for m in range(1, 13)],
    }
    data.update(kw)
    return Application.model_validate(data)


def test_the_history_trains_one_model_that_answers_both_kinds(metered_model: CapacityModel) -> None:
    rec = Recommender(metered_model, "t")
    existing = rec.recommend(_existing())
    assert existing.basis == "meter"
    assert existing.existing is not None
    assert existing.existing.metered_part_kw > 0
    assert {d.key for d in existing.drivers} & {"meter"}
    new = rec.recommend(Application(industry="office", floor_area_m2=2000.0))
    assert new.basis == "area" and new.existing is None


def test_more_metered_energy_never_gets_a_smaller_answer(metered_model: CapacityModel) -> None:
    rec = Recommender(metered_model, "t")
    small, large = rec.recommend(_existing(30_000.0)), rec.recommend(_existing(120_000.0))
    assert large.predicted_peak_kw > 2 * small.predicted_peak_kw
    assert large.recommended_kva > small.recommended_kva


def test_added_lines_raise_and_removed_lines_lower_the_peak(metered_model: CapacityModel) -> None:
    rec = Recommender(metered_model, "t")
    line = {"category": "machine_tool", "rated_kw": 40.0, "quantity": 3}
    plain = rec.recommend(_existing(application_type="increase"))
    added = rec.recommend(_existing(application_type="increase", equipment=[line]))
    removed = rec.recommend(
        _existing(application_type="reduce", equipment=[{**line, "change": "remove"}])
    )
    assert added.existing is not None and added.existing.change_kw > 0
    assert removed.existing is not None and removed.existing.change_kw < 0
    assert added.predicted_peak_kw > plain.predicted_peak_kw > removed.predicted_peak_kw


def test_an_oversized_customer_is_told_its_saving(metered_model: CapacityModel) -> None:
    # 60,000 kWh a month is ~82 kW mean: 800 kVA is far too large.
    answer = Recommender(metered_model, "t").recommend(_existing())
    assert answer.existing is not None
    assert answer.recommended_kva < 800.0
    assert answer.existing.yearly_difference_yuan < 0
    assert "少交基本电费" in answer.existing.message_zh
    assert "less in capacity charges" in answer.existing.message_en


def test_the_bundle_keeps_the_metered_path(metered_model: CapacityModel, tmp_path: Path) -> None:
    out = save_bundle(metered_model, tmp_path / "b", metadata={"model_version": "m"}, metrics={})
    loaded, _, _ = load_bundle(out)
    a = Recommender(metered_model, "t").recommend(_existing())
    b = Recommender(loaded, "t").recommend(_existing())
    assert b.recommended_kva == a.recommended_kva
    assert b.predicted_peak_kw == pytest.approx(a.predicted_peak_kw)


def test_a_model_without_existing_customers_refuses_readings(trained_model: CapacityModel) -> None:
    rec = Recommender(trained_model, "t")
    with pytest.raises(MeteredModelRequired, match="no existing customers"):
        rec.recommend(_existing())
    # The batch and the service answer it as a 400 naming the field (never a 500).
    (error,) = rec.unmatched_errors_of(_existing(), "applications[0].")
    assert error["field"] == "applications[0].application_type"
    assert error["code"] == "model_without_existing_customers"
    assert rec.unmatched_errors_of(Application(industry="office", floor_area_m2=100.0)) == []


def test_readings_beat_floor_area_on_customers_never_seen(
    metered_model: CapacityModel,
) -> None:
    """Served accuracy on fresh existing customers: with the meter, then without it."""
    customers, equipment, readings = _world(2, 400)
    v = _validated(customers, equipment, readings)
    frames = HistoryFrames(v.customers, v.equipment)
    peak = v.customers["peak_demand_kw"].to_numpy(dtype=float)
    rec = Recommender(metered_model, "t")
    served = rec.score_frames(v.customers, v.equipment)["recommended_kva"].to_numpy()
    ok_meter = float(np.mean(sizing_outcome(peak, served) == "appropriate"))
    # The same customers as if new: their change lines only, no meter.
    bare = v.customers.drop(
        columns=[c for c in v.customers.columns if c.startswith("meter_")]
    ).assign(application_type="new", existing_capacity_kva=np.nan, floor_area_m2=np.nan)
    blind = rec.score_frames(bare, frames.equipment[frames.equipment["change"] == "add"])
    ok_blind = float(
        np.mean(sizing_outcome(peak, blind["recommended_kva"].to_numpy()) == "appropriate")
    )
    assert ok_meter > 0.85
    assert ok_meter > ok_blind + 0.2


def test_evaluation_and_model_card_report_application_types_apart(
    metered_model: CapacityModel,
) -> None:
    from training.evaluate import evaluate_model
    from training.registry.model_card import _by_application_type

    v = _validated(*_world(3, 200))
    result = evaluate_model(
        metered_model,
        HistoryFrames(v.customers, v.equipment),
        v.customers["peak_demand_kw"].to_numpy(dtype=float),
        exclude_fitted=False,
    )
    per = result.per_application_type
    assert per is not None
    assert set(per.index) == {"increase", "reduce", "suspend"}
    assert per["n"].sum() == len(v.customers)
    metrics = result.metrics()
    assert metrics["n.type.reduce"] == per.loc["reduce", "n"]
    card = _by_application_type(metrics)
    assert "| reduce |" in card and "| new |" not in card


def test_the_pyfunc_frame_answers_existing_customers_as_the_service_does(
    metered_model: CapacityModel,
) -> None:
    """The MLflow pyfunc's rows carry type, capacity, readings and each line's change.

    Without them an existing customer would be answered as a new connection sized from its
    change alone: the answer of a readings-blind path is far below the metered one.
    """
    from training.mlflow_model import answer_frame, applications_from_frame, frame_from_applications

    rec = Recommender(metered_model, "t")
    apps = [
        _existing(),
        _existing(
            150_000.0,
            application_type="increase",
            existing_capacity_kva=630.0,
            equipment=[{"category": "machine_tool", "rated_kw": 45.0, "quantity": 2}],
        ),
        _existing(
            90_000.0,
            equipment=[{"category": "pump", "rated_kw": 30.0, "quantity": 1, "change": "remove"}],
        ),
        Application(industry="office", floor_area_m2=2000.0),
    ]
    frame = frame_from_applications(apps)
    assert [a.model_dump() for a in applications_from_frame(frame)] == [
        a.model_dump() for a in apps
    ]
    got = answer_frame(rec, frame)
    assert (got["status"] == "ok").all()
    want = [r.recommended_kva for r in rec.recommend_many(apps)]
    assert got["recommended_kva"].tolist() == want
    blind = rec.recommend_many([Application(industry="office", equipment=apps[1].equipment)])
    assert want[1] > blind[0].recommended_kva


def test_contract_frames_become_existing_applications_with_their_readings() -> None:
    """``applications_from_frames`` (pyfunc example, pilot) keeps an existing customer whole."""
    from training.pilot.simulate import applications_from_frames

    v = _validated(*_world(5, 30))
    apps, ids, skipped = applications_from_frames(v.customers, v.equipment, v.meter_readings)
    assert not skipped and len(apps) == len(v.customers)
    by_id = dict(zip(ids, apps, strict=True))
    for row in v.customers.itertuples(index=False):
        app = by_id[str(row.customer_id)]
        assert app.application_type == row.application_type
        assert app.existing_capacity_kva == row.existing_capacity_kva
        assert len(app.meter_readings) == int(row.meter_months)
    removes = set(v.equipment.loc[v.equipment["change"] == "remove", "customer_id"])
    assert removes and all(
        any(item.change == "remove" for item in by_id[c].equipment) for c in removes
    )
    # Without the readings an existing customer is skipped with the API's reason, never
    # answered as a new connection.
    _, _, skipped = applications_from_frames(v.customers, v.equipment)
    assert len(skipped) == len(v.customers)
    assert all("meter readings" in reason for _, reason in skipped)
