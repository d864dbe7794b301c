"""The ``capacity`` command line end to end: synth → train → evaluate → recommend → promote."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from features.validation import load_history
from serving.settings import Settings
from training.cli.app import app
from training.registry.store import latest_version, promote

N_CLI = 1200
REC_COLUMNS = [
    "customer_id",
    "recommended_kva",
    "predicted_peak_kw",
    "peak_low_kw",
    "peak_high_kw",
    "p_appropriate",
    "p_undersized",
    "p_oversized",
    "engineering_kva",
]


def _env(home: Path) -> dict[str, str | None]:
    # A wide console so rich does not wrap paths and messages; no inherited tracking URI.
    return {
        "CAPACITY_HOME": str(home),
        "CAPACITY_TRACKING_URI": None,
        "CAPACITY_MODEL_DIR": None,
        "MLFLOW_TRACKING_URI": None,
        "MLFLOW_REGISTRY_URI": None,
        "COLUMNS": "250",
    }


def _run(args: list[str], home: Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=_env(home))


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def history(workdir: Path) -> Path:
    out = workdir / "synth"
    result = _run(["synth", "--n", N_CLI, "--seed", 9, "--out", out], workdir / "home")
    assert result.exit_code == 0, result.output
    for name in ("customers.csv", "equipment.csv", "oracle.csv"):
        assert (out / name).is_file()
    return out


@pytest.fixture(scope="module")
def cli_bundle(history: Path, workdir: Path) -> Path:
    out = workdir / "bundle"
    result = _run(
        [
            "train",
            "-c",
            history / "customers.csv",
            "-e",
            history / "equipment.csv",
            "-o",
            out,
            "--no-mlflow",
            "--seed",
            3,
        ],
        workdir / "home",
    )
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "coverage 80 %" in text and f"bundle: {out}" in text
    assert "MLflow run" not in text
    assert (out / "booster.txt").is_file()
    assert not (workdir / "home").exists()  # --no-mlflow: nothing in the registry home
    return out


def test_evaluate_prints_the_comparison(cli_bundle: Path, history: Path, workdir: Path) -> None:
    out = workdir / "eval"
    result = _run(
        [
            "evaluate",
            "-m",
            cli_bundle,
            "-c",
            history / "customers.csv",
            "-e",
            history / "equipment.csv",
            "--oracle",
            history / "oracle.csv",
            "-o",
            out,
        ],
        workdir / "home",
    )
    assert result.exit_code == 0, result.output
    for method in ("model", "status_quo", "engineering", "oracle"):
        assert re.search(rf"│ {method}\s+│", result.output), method
    rows = pd.read_csv(out / "rows.csv")
    valid = load_history(history / "customers.csv", history / "equipment.csv", require_label=True)
    # The bundle trained on 80 % of this very history: those customers are left out and
    # counted, the rest (its holdout) are scored.
    left_out = re.search(r"left out (\d+) of (\d+) customers", _flat(result.output))
    assert left_out is not None, result.output
    assert int(left_out.group(2)) == len(valid.customers)
    assert len(rows) + int(left_out.group(1)) == len(valid.customers)
    assert 0 < len(rows) < 0.3 * len(valid.customers)
    assert "served answers (after the sanity bounds)" in _flat(result.output)
    assert {"model_kva", "model_unclamped_kva", "clamped"} <= set(rows.columns)
    assert (out / "overall.csv").is_file() and (out / "per_industry.csv").is_file()


def test_evaluate_refuses_when_every_customer_was_trained_on(
    cli_bundle: Path, history: Path, workdir: Path
) -> None:
    from serving.model.bundle import load_bundle
    from training.data import load_labelled

    model, _, _ = load_bundle(cli_bundle)
    data, _ = load_labelled(history / "customers.csv", history / "equipment.csv")
    seen = np.array([k in model.fitted_keys for k in data.keys()])
    only_trained = workdir / "trained-only"
    only_trained.mkdir()
    customers = pd.read_csv(history / "customers.csv", dtype=str)
    ids = set(data.frames.customers["customer_id"][seen])
    customers[customers["customer_id"].isin(ids)].to_csv(
        only_trained / "customers.csv", index=False
    )
    equipment = pd.read_csv(history / "equipment.csv", dtype=str)
    equipment[equipment["customer_id"].isin(ids)].to_csv(
        only_trained / "equipment.csv", index=False
    )
    result = _run(
        ["evaluate", "-m", cli_bundle, "-c", only_trained / "customers.csv",
         "-e", only_trained / "equipment.csv"],
        workdir / "home",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "trained or calibrated on" in _flat(result.output)


def _recommend(
    bundle: Path, customers: Path, equipment: Path, out: Path, home: Path
) -> pd.DataFrame:
    result = _run(["recommend", "-m", bundle, "-c", customers, "-e", equipment, "-o", out], home)
    assert result.exit_code == 0, result.output
    assert f"→ {out}" in _flat(result.output)
    return pd.read_csv(out, dtype={"customer_id": str})


def test_recommend_writes_one_row_per_valid_customer(
    cli_bundle: Path, history: Path, workdir: Path
) -> None:
    recs = _recommend(
        cli_bundle,
        history / "customers.csv",
        history / "equipment.csv",
        workdir / "recs" / "recs.csv",
        workdir / "home",
    )
    assert set(REC_COLUMNS) <= set(recs.columns)
    valid = load_history(history / "customers.csv", history / "equipment.csv")
    assert list(recs["customer_id"]) == list(valid.customers["customer_id"].astype(str))
    assert recs["customer_id"].is_unique
    assert len(recs) < N_CLI + 50 and len(recs) > 0.95 * N_CLI
    assert recs["recommended_kva"].gt(0).all()
    probs = recs[["p_appropriate", "p_undersized", "p_oversized"]].sum(axis=1)
    assert probs.sub(1.0).abs().max() < 1e-9
    assert (recs["peak_low_kw"] <= recs["predicted_peak_kw"]).all()
    assert (recs["predicted_peak_kw"] <= recs["peak_high_kw"]).all()
    assert (workdir / "recs" / "recs-rejects").is_dir()


def test_recommend_with_a_risk_cap_raises_answers_to_meet_it(
    cli_bundle: Path, history: Path, workdir: Path
) -> None:
    """``--max-undersized-risk`` reaches the answers; a value outside the range exits 2."""
    args = ["recommend", "-m", cli_bundle, "-c", history / "customers.csv"]
    args += ["-e", history / "equipment.csv"]
    free_out, capped_out = workdir / "risk" / "free.csv", workdir / "risk" / "capped.csv"
    for out, extra in ((free_out, []), (capped_out, ["--max-undersized-risk", "0.05"])):
        result = _run([*args, "-o", out, *extra], workdir / "home")
        assert result.exit_code == 0, result.output
    free, capped = pd.read_csv(free_out), pd.read_csv(capped_out)
    assert (capped["recommended_kva"] >= free["recommended_kva"]).all()
    assert (capped["recommended_kva"] > free["recommended_kva"]).any()
    assert (capped.loc[~capped["clamped"], "p_undersized"] <= 0.05 + 1e-9).all()
    assert (capped["max_undersized_risk"] == 0.05).all()
    bad = _run(
        [*args, "-o", workdir / "risk" / "bad.csv", "--max-undersized-risk", "5"],
        home=workdir / "home",
    )
    assert bad.exit_code == 2
    assert "--max-undersized-risk" in _flat(bad.output) and "0.01" in _flat(bad.output)
    assert not (workdir / "risk" / "bad.csv").exists()


def test_recommend_labels_an_exported_champion_with_its_registry_version(
    cli_bundle: Path, history: Path, workdir: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "champion"
    shutil.copytree(cli_bundle, exported)
    (exported / "REGISTRY_VERSION").write_text("7", encoding="utf-8")
    recs = _recommend(
        exported,
        history / "customers.csv",
        history / "equipment.csv",
        tmp_path / "recs.csv",
        workdir / "home",
    )
    assert set(recs["model_version"]) == {"capacity-recommender:v7"}
    plain = _recommend(
        cli_bundle, history / "customers.csv", history / "equipment.csv", tmp_path / "plain.csv",
        workdir / "home",
    )  # fmt: skip
    assert plain["model_version"].str.startswith("local-").all()
    # A marker that is not a version number is refused, not echoed into every answer.
    (exported / "REGISTRY_VERSION").write_text("<script>", encoding="utf-8")
    result = _run(
        ["recommend", "-m", exported, "-c", history / "customers.csv",
         "-e", history / "equipment.csv", "-o", tmp_path / "bad.csv"],
        workdir / "home",
    )  # fmt: skip
    assert result.exit_code == 2 and "expected a registry version number" in _flat(result.output)


def test_recommend_ignores_the_metered_peak(
    cli_bundle: Path, history: Path, workdir: Path, tmp_path: Path
) -> None:
    customers = pd.read_csv(history / "customers.csv", dtype=str, keep_default_na=False)
    changed = customers.copy()
    peaks = pd.to_numeric(changed["peak_demand_kw"], errors="coerce")
    # Tenfold, or blank: the answer must not move either way.
    changed["peak_demand_kw"] = [
        "" if k % 3 == 0 else (f"{p * 10:.1f}" if pd.notna(p) and p > 0 else v)
        for k, (p, v) in enumerate(zip(peaks, changed["peak_demand_kw"], strict=True))
    ]
    changed.to_csv(tmp_path / "customers.csv", index=False)
    a = _recommend(
        cli_bundle,
        history / "customers.csv",
        history / "equipment.csv",
        tmp_path / "a.csv",
        workdir / "home",
    )
    b = _recommend(
        cli_bundle,
        tmp_path / "customers.csv",
        history / "equipment.csv",
        tmp_path / "b.csv",
        workdir / "home",
    )
    pd.testing.assert_frame_equal(a, b)


def test_evaluate_with_a_missing_bundle_fails_clearly(history: Path, workdir: Path) -> None:
    missing = workdir / "no-such-bundle"
    result = _run(
        [
            "evaluate",
            "-m",
            missing,
            "-c",
            history / "customers.csv",
            "-e",
            history / "equipment.csv",
        ],
        workdir / "home",
    )
    assert result.exit_code != 0
    text = _flat(result.output)
    assert "error" in text and "not found" in text and str(missing) in text


@pytest.mark.parametrize("which", ["customers", "equipment"])
@pytest.mark.parametrize("command", ["train", "evaluate", "recommend"])
def test_missing_data_file_fails_clearly(
    command: str, which: str, cli_bundle: Path, history: Path, workdir: Path, tmp_path: Path
) -> None:
    """A missing input file: one 'error:' line naming it and exit code 2, no traceback."""
    missing = workdir / f"no-such-{which}.csv"
    files = {"customers": history / "customers.csv", "equipment": history / "equipment.csv"}
    files[which] = missing
    out = tmp_path / "out"
    args = ["-c", files["customers"], "-e", files["equipment"], "-o", out]
    if command == "train":
        args += ["--no-mlflow"]
    else:
        args += ["-m", cli_bundle]
    result = _run([command, *args], tmp_path / "home")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    text = _flat(result.output)
    assert "error:" in text and "not found" in text and str(missing) in text
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.slow
def test_train_with_a_registry_then_promote(
    history: Path, workdir: Path, tmp_path: Path, capacity_home: Path
) -> None:
    bundle = tmp_path / "registered"
    result = _run(
        ["train", "-c", history / "customers.csv", "-e", history / "equipment.csv", "-o", bundle],
        capacity_home,
    )
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "registered version 1" in text
    assert (capacity_home / "mlflow.db").is_file()
    assert (bundle / "REGISTRY_VERSION").read_text(encoding="utf-8") == "1"

    result = _run(["promote", "--reason", "test", "--by", "pytest"], capacity_home)
    text = _flat(result.output)
    if "promoted version 1" in text:
        assert result.exit_code == 0, text
        assert (capacity_home / "champion" / "REGISTRY_VERSION").read_text() == "1"
    else:
        assert result.exit_code == 1, text
        assert "refused: version 1 not promoted" in text
        assert "below the gate 0.90" in text  # the reason, in words
        assert not (capacity_home / "champion").exists()

    # The refusal path, deterministically: an unreachable gate.
    settings = Settings(home=capacity_home)
    assert latest_version(settings) == "1"
    decision = promote(settings, "1", reason="test", by="pytest", min_accuracy=0.99)
    assert decision.promoted is False
    assert "gate" in decision.reason and "0.99" in decision.reason
    assert 0.0 < decision.candidate_accuracy < 0.99


@pytest.mark.slow
def test_promote_without_any_registered_version_fails(capacity_home: Path) -> None:
    result = _run(["promote"], capacity_home)
    assert result.exit_code == 2
    assert "train first" in _flat(result.output)


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for command in ("synth", "train", "evaluate", "recommend", "promote", "validate"):
        assert command in result.output


@pytest.mark.slow
def test_train_reads_a_config_file(history: Path, workdir: Path) -> None:
    cfg = workdir / "train-config.json"
    cfg.write_text(
        json.dumps(
            {
                "model": {
                    "max_rounds": 50,
                    "policy": {"undersize_weight": 0.0, "sizing": {"low": 0.35, "high": 0.95}},
                    "engineering": {"k_sum_p": 0.85},
                }
            }
        )
    )
    out = workdir / "bundle-config"
    args = ["train", "-c", history / "customers.csv", "-e", history / "equipment.csv", "-o", out]
    result = _run([*args, "--no-mlflow", "--config", cfg, "--seed", 4], workdir / "home-cfg")
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["max_rounds"] == 50
    assert saved["policy"]["undersize_weight"] == 0.0
    assert saved["policy"]["sizing"] == {"power_factor": 0.9, "low": 0.35, "high": 0.95}
    assert saved["engineering"]["k_sum_p"] == 0.85
    assert json.loads((out / "metadata.json").read_text())["seed"] == 4


def test_train_rejects_a_bad_config_file(history: Path, workdir: Path) -> None:
    cfg = workdir / "bad-config.json"
    cfg.write_text('{"model": {"learning_rate": -1}}')
    args = ["train", "-c", history / "customers.csv", "-e", history / "equipment.csv"]
    result = _run([*args, "-o", workdir / "x", "--config", cfg], workdir / "home-bad")
    assert result.exit_code == 2
    assert "learning_rate" in _flat(result.output)
