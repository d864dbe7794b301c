"""Rounds chosen by the cross-fit folds (``ModelConfig.cross_fit_rounds``, off by default).

Protects the lockstep bookkeeping of :func:`training.model._cross_fitted_cores`: the rounds
it returns are those of the lowest pooled held-out loss, as recomputed from the fold
boosters' own full predictions, and a model fitted with the option serves that many rounds.
"""

from __future__ import annotations

import numpy as np

from features.build import HistoryFrames
from features.validation import validate_frames
from serving.model.config import ModelConfig
from training.model import _cross_fitted_cores, fit_model
from training.synth.worlds import WORLDS


def _history(n: int) -> tuple[HistoryFrames, np.ndarray]:
    world = WORLDS["utilisation"](n, 7)
    v = validate_frames(world.customers, world.equipment, require_label=True)
    customers = v.customers.reset_index(drop=True)
    frames = HistoryFrames(customers, v.equipment.reset_index(drop=True))
    return frames, customers["peak_demand_kw"].to_numpy(dtype=float)


def test_the_rounds_are_the_lowest_pooled_held_out_loss() -> None:
    frames, y = _history(400)
    n, k = len(y), 4
    order = np.random.default_rng(0).permutation(n)
    splits = [(np.sort(order[i::k]), np.sort(order[np.arange(n) % k != i])) for i in range(k)]
    config = ModelConfig(cross_fit_rounds=True, early_stopping_rounds=20)
    cores, best = _cross_fitted_cores(frames, y, splits, config, seed=1)
    assert best >= 1 and all(c.best == best for c in cores)

    def pooled(rounds: int) -> float:
        total = 0.0
        for core, (held, _) in zip(cores, splits, strict=True):
            f = core.booster.predict(core.builder.matrix(core.X.iloc[held]), num_iteration=rounds)
            total += float(np.sum((np.log(y[held]) - np.log(core.base[held]) - f) ** 2))
        return total / n

    at_best = pooled(best)
    assert all(pooled(r) >= at_best - 1e-12 for r in range(1, best))


def test_a_model_fitted_with_the_option_serves_the_folds_rounds() -> None:
    frames, y = _history(300)
    config = ModelConfig(cross_fit_rounds=True, early_stopping_rounds=20)
    model = fit_model(frames, y, config, seed=3)
    assert model.booster.current_iteration() == model.best_iteration >= 1
