"""One log-entry shape for every path: the monitor and the retrain read batch rows as single ones.

Protects issue 24 item 2: the CSV batch logged ``{"customer": …, "equipment": …}``, which the
monitor read as industry None and no floor area (spurious PSI 15.2 and 9.7, clamp and fallback
shares always 0) and the retrain skipped as "not a valid application". Here the same
customers are logged through the single path (full answers), the JSON batch (compact and
summary answers) and the CSV path (contract rows), and every reader sees the same thing;
rows already in the old shape are rewritten by migration 0003 and read alike before it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.schemas import Application
from serving.core import Recommender
from serving.logbook import (
    Logbook,
    LogbookSettings,
    RecommendationEntry,
    application_from_contract_rows,
    is_contract_row_request,
)
from serving.model.predictor import CapacityModel
from training.data import LabelledHistory
from training.pilot.outcomes_export import export_outcomes
from training.pilot.simulate import applications_from_frames
from training.registry.monitor_profile import observe_logged

N = 40


@pytest.fixture(scope="module")
def sample(labelled_history: LabelledHistory) -> tuple[pd.DataFrame, pd.DataFrame]:
    cust = labelled_history.frames.customers.head(N).reset_index(drop=True)
    eq = labelled_history.frames.equipment
    return cust, eq[eq["customer_id"].isin(set(cust["customer_id"]))].reset_index(drop=True)


def _entries(
    model: CapacityModel, cust: pd.DataFrame, eq: pd.DataFrame
) -> dict[str, list[RecommendationEntry]]:
    rec = Recommender(model, "t")
    apps, ids, skipped = applications_from_frames(cust, eq)
    assert not skipped and ids == list(cust["customer_id"].astype(str))
    full = rec.recommend_many(apps)
    summary = rec.score_applications(apps).to_dict("records")
    scored = rec.score_frames(cust, eq).to_dict("records")
    lines = {cid: g.to_dict("records") for cid, g in eq.groupby(eq["customer_id"].astype(str))}
    rows = cust.to_dict("records")
    return {
        "single": [
            RecommendationEntry.from_answer(a, r, source="api")
            for a, r in zip(apps, full, strict=False)
        ],
        "batch_full": [
            RecommendationEntry.from_answer(a, r, source="batch", compact=True)
            for a, r in zip(apps, full, strict=False)
        ],
        "batch_summary": [
            RecommendationEntry.from_answer(a.model_dump(mode="json"), r, source="batch")
            for a, r in zip(apps, summary, strict=False)
        ],
        "csv": [
            RecommendationEntry.from_answer(
                c, r, source="batch", lines=lines.get(str(c["customer_id"]), [])
            )
            for c, r in zip(rows, scored, strict=False)
        ],
    }


def _as_logged(entry: RecommendationEntry) -> tuple[dict, dict]:
    def text(v: object) -> dict:
        if isinstance(v, str):
            return json.loads(v)
        if hasattr(v, "model_dump_json"):
            return json.loads(v.model_dump_json())  # type: ignore[union-attr]
        return json.loads(json.dumps(v, default=str))

    return text(entry.application), text(entry.response)


def test_every_path_logs_an_application_the_monitor_reads_alike(
    trained_model: CapacityModel, sample: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    cust, eq = sample
    seen = {}
    for path, entries in _entries(trained_model, cust, eq).items():
        pairs = [_as_logged(e) for e in entries]
        for request, _ in pairs:
            Application.model_validate(request)  # the API's shape, whatever the path
            assert not is_contract_row_request(request)
        obs = observe_logged([p[0] for p in pairs], [p[1] for p in pairs])
        seen[path] = obs
        assert [e.industry for e in entries] == list(cust["industry"].astype(str))
    ref = seen["single"]
    assert set(ref.industry) == set(cust["industry"].astype(str))
    assert sum(a > 0 for a in ref.floor_area_m2) > 0.8 * N
    for path, obs in seen.items():
        assert obs.industry == ref.industry, path
        assert obs.floor_area_m2 == pytest.approx(ref.floor_area_m2), path
        assert obs.installed_kw == pytest.approx(ref.installed_kw), path
        assert obs.area_only == ref.area_only, path
        assert obs.clamped == ref.clamped, path
        assert obs.fallback == ref.fallback, path
        assert obs.manual_review == ref.manual_review, path
        assert obs.tier_kva == ref.tier_kva, path
        assert obs.equipment_category == ref.equipment_category, path


def test_contract_rows_become_an_application_with_integer_counts() -> None:
    customer = {"customer_id": "c1", "industry": "machinery", "floor_area_m2": 1200,
                "employees": 30.0, "shifts": float("nan"), "climate_zone": ""}  # fmt: skip
    lines = [{"customer_id": "c1", "category": "other_motor", "rated_kw": 55, "quantity": 2.0,
              "standby": "true", "name": None}]  # fmt: skip
    app = application_from_contract_rows(customer, lines)
    assert app == {
        "industry": "machinery",
        "floor_area_m2": 1200.0,
        "employees": 30,
        "equipment": [
            {"category": "other_motor", "rated_kw": 55.0, "quantity": 2, "standby": True}
        ],
    }
    Application.model_validate(app)


def _old_shape_row(rid: str, customer: dict, lines: list[dict]) -> dict:
    return {
        "id": rid,
        "created_at": pd.Timestamp("2026-11-02", tz="UTC").to_pydatetime(),
        "source": "batch",
        "model_version": "v-old",
        "industry": customer["industry"],
        "request_json": json.dumps({"customer": customer, "equipment": lines}, default=str),
        "response_json": json.dumps({"recommended_kva": 400.0, "clamped": False}),
        "recommended_kva": 400.0,
        "predicted_peak_kw": 200.0,
        "engineering_kva": None,
        "status_quo_kva": None,
        "batch_id": "old-batch",
    }


def test_migration_0003_rewrites_rows_in_the_old_batch_shape(
    tmp_path: Path, sample: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    from alembic import command

    from serving.logbook.engine import _alembic_config

    cust, eq = sample
    url = f"sqlite:///{tmp_path / 'log.db'}"
    command.upgrade(_alembic_config(url), "0002")
    engine = sa.create_engine(url)
    rows = []
    for k, c in enumerate(cust.head(5).to_dict("records")):
        lines = eq[eq["customer_id"] == c["customer_id"]].to_dict("records")
        rows.append(_old_shape_row(f"{k:032x}", {**c, "peak_demand_kw": None}, lines))
    table = sa.table("recommendations", *(sa.column(k) for k in rows[0]))
    with engine.begin() as conn:
        conn.execute(sa.insert(table), rows)
        conn.execute(
            sa.text(
                "INSERT INTO outcomes (recommendation_id, granted_kva, metered_peak_kw, "
                "recorded_at, source) VALUES (:r, 400, 250, '2026-11-20 00:00:00', 'import')"
            ),
            [{"r": r["id"]} for r in rows],
        )
    engine.dispose()
    with Logbook.open(LogbookSettings(url=url)) as book:  # upgrades to head
        assert book.revision() == "0003"
        for r in rows:
            logged = book.get(r["id"])
            assert logged is not None
            request = logged.request
            assert not is_contract_row_request(request)
            assert Application.model_validate(request).industry == r["industry"]
        exported = export_outcomes(book)
    assert exported.n_customers == 5 and not exported.skipped


def test_readers_convert_an_unmigrated_old_row_themselves(
    sample: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    cust, eq = sample
    c = cust[cust["floor_area_m2"].notna()].iloc[0].to_dict()
    lines = eq[eq["customer_id"] == c["customer_id"]].to_dict("records")
    old = _old_shape_row("0" * 32, c, lines)
    obs = observe_logged([json.loads(old["request_json"])], [json.loads(old["response_json"])])
    assert obs.industry == [c["industry"]]
    assert obs.floor_area_m2[0] == pytest.approx(float(c["floor_area_m2"]))
    assert obs.installed_kw[0] > 0 or not lines
