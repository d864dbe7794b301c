"""Risk appetite through the Recommender (in-process): request, utility setting, batch.

Protects: a cap given per request or by the utility reaches every answer through the one
decision path; the answer states its P(undersized) in plain words in both languages; a
request's own cap replaces the utility's; the batch rows carry the cap applied.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from features.schemas import Application
from serving.core import Recommender, RecommenderConfig
from serving.examples import AREA_ONLY_RETAIL, MACHINERY_WORKSHOP, OFFICE_BUILDING
from serving.model.predictor import CapacityModel
from training.data import LabelledHistory

EXAMPLES = (MACHINERY_WORKSHOP, OFFICE_BUILDING, AREA_ONLY_RETAIL)


@pytest.fixture(scope="module")
def plain(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "risk-test")


@pytest.fixture(scope="module")
def utility5(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "risk-test", RecommenderConfig(max_undersized_risk=0.05))


def _apps(cap: float | None) -> list[Application]:
    return [Application(**{**e, "max_undersized_risk": cap}) for e in EXAMPLES]


def test_without_a_cap_the_answer_states_its_risk(plain: Recommender) -> None:
    for rec in plain.recommend_many(_apps(None)):
        risk = rec.undersized_risk
        assert risk is not None and risk.code == "undersized_risk"
        assert risk.max_undersized_risk is None and risk.cap_source is None
        assert risk.p_undersized == pytest.approx(rec.p_undersized)
        assert f"{100 * rec.p_undersized:.1f} %" in risk.message_en
        assert f"{100 * rec.p_undersized:.1f} %" in risk.message_zh
        assert "容量偏小概率" in risk.message_zh and "P(undersized)" in risk.message_en


@pytest.mark.parametrize("cap", [0.05, 0.10])
def test_a_request_cap_bounds_p_undersized(plain: Recommender, cap: float) -> None:
    free = plain.recommend_many(_apps(None))
    capped = plain.recommend_many(_apps(cap))
    for f, c in zip(free, capped, strict=True):
        assert c.recommended_kva >= f.recommended_kva
        risk = c.undersized_risk
        assert risk is not None and risk.cap_source == "request"
        assert risk.max_undersized_risk == cap
        if risk.code == "undersized_risk_cap_missed":
            assert c.manual_review and c.p_undersized > cap
        else:
            assert c.p_undersized <= cap + 1e-9
        if c.recommended_kva > f.recommended_kva:
            assert risk.code == "undersized_risk_capped"
            assert risk.uncapped_kva == f.recommended_kva
            assert f"{f.recommended_kva:g}" in risk.message_en
        # The tier table shows the same P(undersized) at the answer.
        shown = [t for t in c.tiers if t.recommended]
        assert shown and shown[0].p_undersized == pytest.approx(c.p_undersized)
    # The area-only answer is wide: a 5 % cap really raises it.
    if cap == 0.05:
        assert capped[2].recommended_kva > free[2].recommended_kva


def test_utility_setting_applies_and_a_request_replaces_it(
    plain: Recommender, utility5: Recommender
) -> None:
    u = utility5.recommend_many(_apps(None))
    r = plain.recommend_many(_apps(0.05))
    assert [a.recommended_kva for a in u] == [a.recommended_kva for a in r]
    assert all(a.undersized_risk and a.undersized_risk.cap_source == "utility" for a in u)
    # A planner's looser cap replaces the utility's for that answer.
    loose = utility5.recommend_many(_apps(0.5))
    free = plain.recommend_many(_apps(None))
    assert all(a.recommended_kva <= b.recommended_kva for a, b in zip(loose, u, strict=True))
    assert loose[2].recommended_kva < u[2].recommended_kva
    assert loose[2].recommended_kva >= free[2].recommended_kva


def test_batch_rows_carry_the_cap(
    plain: Recommender, utility5: Recommender, labelled_history: LabelledHistory
) -> None:
    frames = labelled_history.frames
    free = plain.score_frames(frames.customers, frames.equipment)
    assert np.isnan(free["max_undersized_risk"]).all()
    capped = utility5.score_frames(frames.customers, frames.equipment)
    assert (capped["max_undersized_risk"] == 0.05).all()
    assert (capped["recommended_kva"] >= free["recommended_kva"]).all()
    met = ~capped["clamped"]
    assert (capped.loc[met, "p_undersized"] <= 0.05 + 1e-9).all()
    assert (capped["uncapped_kva"] == free["unclamped_kva"]).all()
    # An explicit per-call cap replaces the utility's.
    ten = utility5.score_frames(frames.customers, frames.equipment, max_undersized_risk=0.1)
    assert (ten["recommended_kva"] <= capped["recommended_kva"]).all()
    # The applications path (JSON batch) takes each application's own cap.
    apps = _apps(None)
    apps[0] = Application(**{**EXAMPLES[0], "max_undersized_risk": 0.5})
    rows = utility5.score_applications(apps)
    assert rows["max_undersized_risk"].tolist() == [0.5, 0.05, 0.05]


@pytest.mark.parametrize("bad", [0, 0.001, 0.6, 2, "10%", True])
def test_a_bad_cap_is_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        Application(**{**OFFICE_BUILDING, "max_undersized_risk": bad})
    assert err.value.errors()[0]["loc"] == ("max_undersized_risk",)
    with pytest.raises(ValidationError):
        RecommenderConfig.model_validate({"max_undersized_risk": bad})
