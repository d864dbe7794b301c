"""The promotion gate: served answers, customers neither model saw, a paired interval.

Each test gets its own registry (``capacity_home``); candidates are trained with the small
test configuration on one fixture history, so every decision here is reproducible.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from serving.model.bundle import load_bundle
from serving.model.config import ModelConfig
from serving.model.policy import PolicyConfig
from serving.settings import Settings
from training.cli.app import app
from training.data import read_holdout
from training.registry.gate import paired_comparison
from training.registry.store import champion_version, client, download_version, promote
from training.synth.history import SynthConfig, generate_history, write_history
from training.train import TrainConfig, train_from_files

SMALL = ModelConfig(max_rounds=300, num_threads=1)
CRIPPLED = ModelConfig(max_rounds=1, num_threads=1, policy=PolicyConfig(undersize_weight=5.0))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gate-history")
    write_history(generate_history(SynthConfig(n=2500, seed=8)), out)
    return out


def _register(history: Path, home: Path, seed: int, model: ModelConfig = SMALL) -> str:
    result = train_from_files(
        history / "customers.csv",
        history / "equipment.csv",
        home / "bundles" / f"b{seed}-{id(model)}",
        TrainConfig(seed=seed, model=model, make_plots=False),
        Settings(home=home),
    )
    assert result.run is not None
    return result.run.version


def test_paired_comparison_of_identical_answers_is_a_tie() -> None:
    ok = np.random.default_rng(0).random(1500) < 0.9
    c = paired_comparison(ok, ok)
    assert c.difference == 0.0 and c.low == 0.0 and c.high == 0.0
    assert not c.significantly_worse


def test_paired_comparison_sees_a_real_drop_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    champ = rng.random(1600) < 0.92
    # Two models disagree on some customers both ways: 40 the champion got right, 32 it got
    # wrong. Net 8 of 1,600 (0.5 points, what the old fixed margin refused on): noise.
    noisy = champ.copy()
    noisy[np.where(champ)[0][:40]] = False
    noisy[np.where(~champ)[0][:32]] = True
    c = paired_comparison(noisy, champ)
    assert c.difference == pytest.approx(-8 / 1600)
    assert not c.significantly_worse and c.low < 0 < c.high
    # Eighty flipped: 5 points, far outside.
    worse = champ.copy()
    worse[np.where(champ)[0][:80]] = False
    c = paired_comparison(worse, champ)
    assert c.significantly_worse and c.high < 0 and c.discordant_champion == 80
    with pytest.raises(ValueError, match="same non-empty set"):
        paired_comparison(np.array([True]), np.array([True, False]))


@pytest.mark.slow
def test_champion_is_never_scored_on_its_own_training_rows(
    history: Path, capacity_home: Path
) -> None:
    settings = Settings(home=capacity_home)
    first = _register(history, capacity_home, seed=1)
    assert promote(settings, first, reason="first", min_accuracy=0.5).promoted
    # Another seed: another holdout, most of which the champion trained on.
    second = _register(history, capacity_home, seed=2)
    decision = promote(settings, second, reason="second", min_accuracy=0.5)
    assert decision.comparison is not None
    with tempfile.TemporaryDirectory() as tmp:
        champ, _, _ = load_bundle(download_version(settings, first, "bundle", Path(tmp) / "c"))
        holdout = read_holdout(download_version(settings, second, "holdout", Path(tmp) / "h"))
    seen = np.array([k in champ.fitted_keys for k in holdout.keys()])
    assert seen.sum() > 0.5 * len(seen)  # the candidate's holdout overlaps the champion's training
    assert decision.comparison.n == int((~seen).sum()) == decision.n_candidate_holdout - seen.sum()


@pytest.mark.slow
def test_a_tie_passes_and_a_significantly_worse_candidate_is_refused(
    history: Path, capacity_home: Path
) -> None:
    settings = Settings(home=capacity_home)
    first = _register(history, capacity_home, seed=3)
    assert promote(settings, first, reason="first", min_accuracy=0.5).promoted
    # Same data, seed and configuration: the same model, a tie.
    twin = _register(history, capacity_home, seed=3)
    tie = promote(settings, twin, reason="twin", min_accuracy=0.5)
    assert tie.promoted, tie.reason
    assert tie.comparison is not None and tie.comparison.difference == 0.0
    crippled = _register(history, capacity_home, seed=3, model=CRIPPLED)
    refused = promote(settings, crippled, reason="crippled", min_accuracy=0.5)
    assert not refused.promoted
    assert "significantly worse" in refused.reason and "interval" in refused.reason
    assert champion_version(settings) == twin


@pytest.mark.slow
def test_force_needs_a_reason_and_is_recorded(history: Path, capacity_home: Path) -> None:
    settings = Settings(home=capacity_home)
    version = _register(history, capacity_home, seed=4)
    with pytest.raises(ValueError, match="--force needs --reason"):
        promote(settings, version, force=True)
    result = CliRunner().invoke(app, ["promote", "--version", version, "--force"])
    assert result.exit_code == 2 and "--force needs --reason" in " ".join(result.output.split())
    # An unreachable floor refuses; --force with a reason promotes and says so in the tags.
    refused = promote(settings, version, reason="x", min_accuracy=0.999)
    assert not refused.promoted
    forced = promote(
        settings, version, reason="pilot needs it", by="pytest", force=True, min_accuracy=0.999
    )
    assert forced.promoted and forced.forced
    tags = client(settings).get_model_version(settings.registered_model, version).tags
    assert tags["gate_forced"] == "true" and tags["promotion_reason"] == "pilot needs it"
    assert "below the gate" in tags["gate_refusal"]
