"""Customers whose equipment lines were rejected, area-only histories and the explicit oracle.

A customer with a rejected equipment line is rejected as a whole (its list would be
incomplete, so it would look smaller than it is), reported with how many of its lines were
rejected and why, and its remaining lines are reported too. A history without any equipment
trains and says plainly that the model is area-only. The oracle baseline is read only from
an explicit, validated ``--oracle`` file: an ``oracle.csv`` lying beside the customers file
is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from features.validation import INCOMPLETE_SUFFIX, SUMMARY_INCOMPLETE, validate_frames
from serving.model.config import ModelConfig
from serving.settings import Settings
from training.cli.app import app
from training.data import OracleFileError, customer_keys, load_labelled, read_oracle
from training.synth.history import SynthConfig, generate_history, write_history
from training.train import TrainConfig, train_from_files

TINY_MODEL = ModelConfig(max_rounds=40, num_threads=1)
N_HISTORY = 900

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["A", "B", "C", "D", "E"],
        "industry": ["machinery", "food", "food", "office", "food"],
        "floor_area_m2": ["1000", "500", "500", "200", "300"],
        "peak_demand_kw": ["50", "40", "30", "20", "25"],
    }
)
EQUIPMENT = pd.DataFrame(
    {
        #              A: 3 of 5 rejected         B: all kept  C: its only line  D: none
        "customer_id": ["A", "A", "A", "A", "A", "B", "B", "C", "E"],
        "category": ["fan", "fan", "fan", "pump", "fan", "fan", "pump", "fan", "fan"],
        "rated_kw": ["7.5", "0", "-1", "15", "2", "5", "11", "0", "3"],
        "quantity": ["1", "1", "1", "abc", "1", "2", "1", "1", "1"],
    }
)


def _env(home: Path) -> dict[str, str | None]:
    return {
        "CAPACITY_HOME": str(home),
        "CAPACITY_TRACKING_URI": None,
        "CAPACITY_MODEL_DIR": None,
        "MLFLOW_TRACKING_URI": None,
        "MLFLOW_REGISTRY_URI": None,
        "COLUMNS": "250",
    }


def _run(args: list[object], home: Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=_env(home))


def _flat(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------- validation


def test_customers_with_rejected_lines_are_rejected_and_reported() -> None:
    history = validate_frames(CUSTOMERS, EQUIPMENT)
    # A (3 of 5 lines rejected) and C (its only line rejected) are rejected; B keeps all its
    # lines, D is area-only (no lines at all: legal), E is untouched.
    assert history.customers["customer_id"].tolist() == ["B", "D", "E"]
    assert history.equipment["customer_id"].tolist() == ["B", "B", "E"]
    assert history.incomplete_customers() == 2

    rejects = history.rejects
    customer_level = rejects[rejects["file"] == "customers"].set_index("customer_id")
    reason_a = customer_level.loc["A", "reason"]
    assert reason_a.startswith("3 of 5 equipment lines rejected (rated_kw must be > 0; ")
    assert "quantity is not a number" in reason_a
    assert reason_a.endswith(INCOMPLETE_SUFFIX)
    assert customer_level.loc["A", "row_number"] == 2
    assert customer_level.loc["A", "column"] == "customer_id"
    assert customer_level.loc["C", "reason"] == (
        "1 of 1 equipment line rejected (rated_kw must be > 0): the list would be incomplete"
    )
    # Nothing dropped silently: A's two valid lines are reported as rejected with it.
    lines_a = rejects[(rejects["file"] == "equipment") & (rejects["customer_id"] == "A")]
    assert sorted(lines_a["row_number"].unique().tolist()) == [2, 3, 4, 5, 6]
    carried = lines_a[lines_a["row_number"].isin([2, 6])]
    assert carried["reason"].str.startswith("customer rejected: some of its other").all()
    assert len(carried) == 2
    # Rejected customers are rejected, not flagged.
    assert not (history.flags["flag"] == "equipment_row_rejected").any()


def test_summary_has_one_line_for_incomplete_customers(tmp_path: Path) -> None:
    history = validate_frames(CUSTOMERS, EQUIPMENT)
    lines = history.summary_lines()
    assert f"customers: 2 rows rejected: {SUMMARY_INCOMPLETE}" in lines
    assert any(line.startswith("customers: 5 rows read, 3 valid, 2 rejected,") for line in lines)
    assert "equipment: 9 rows read, 3 valid, 6 rejected, 0 flagged" in lines
    text = history.write_report(tmp_path)["summary"].read_text(encoding="utf-8")
    assert SUMMARY_INCOMPLETE in text


def test_opting_out_keeps_the_incomplete_customers_flagged() -> None:
    history = validate_frames(CUSTOMERS, EQUIPMENT, drop_incomplete_customers=False)
    assert history.customers["customer_id"].tolist() == ["A", "B", "C", "D", "E"]
    assert history.incomplete_customers() == 0
    flagged = history.flags.loc[history.flags["flag"] == "equipment_row_rejected", "customer_id"]
    assert sorted(flagged) == ["A", "C"]
    # C had only a rejected line: kept, it would be scored area-only; that is the opt-out.
    assert "C" not in set(history.equipment["customer_id"])


def test_batch_scoring_default_does_not_answer_an_all_rejected_customer() -> None:
    """The service and ``capacity recommend`` validate with the defaults: C is rejected."""
    history = validate_frames(CUSTOMERS.drop(columns="peak_demand_kw"), EQUIPMENT)
    assert "C" not in set(history.customers["customer_id"])
    assert (history.rejects["customer_id"] == "C").any()
    assert "D" in set(history.customers["customer_id"])  # a true area-only application


# ------------------------------------------------------------------- histories on disk


@pytest.fixture(scope="module")
def broken_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic history with many dirty equipment rows (and its oracle.csv beside it)."""
    out = tmp_path_factory.mktemp("broken-history")
    write_history(generate_history(SynthConfig(n=N_HISTORY, seed=17, dirty_row_rate=0.02)), out)
    return out


@pytest.fixture(scope="module")
def area_only_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of history without a single equipment line (header only)."""
    out = tmp_path_factory.mktemp("area-only-history")
    history = generate_history(SynthConfig(n=N_HISTORY, seed=18, dirty_row_rate=0.0))
    history.customers.to_csv(out / "customers.csv", index=False)
    history.equipment.iloc[:0].to_csv(out / "equipment.csv", index=False)
    history.oracle.to_csv(out / "oracle.csv", index=False)
    return out


def _config(**update: object) -> TrainConfig:
    return TrainConfig(seed=2, log_to_mlflow=False, make_plots=False, model=TINY_MODEL).model_copy(
        update=update
    )


@pytest.mark.slow
def test_training_does_not_keep_incomplete_customers(broken_history: Path, tmp_path: Path) -> None:
    customers, equipment = broken_history / "customers.csv", broken_history / "equipment.csv"
    kept, validated = load_labelled(customers, equipment)
    lenient, _ = load_labelled(customers, equipment, drop_incomplete_customers=False)
    dropped = validated.incomplete_customers()
    assert dropped > 0 and len(kept) == len(lenient) - dropped

    result = train_from_files(customers, equipment, tmp_path / "b", _config(), Settings())
    assert result.n_dropped_incomplete == dropped
    assert result.metrics["n_dropped_incomplete"] == float(dropped)
    assert result.metrics["area_only_history"] == 0.0 and not result.area_only
    assert result.n_train + result.n_holdout == len(kept)
    assert any(f"{dropped} customers left out" in note for note in result.notes)
    # None of the dropped customers reached the model.
    incomplete = set(lenient.frames.customers["customer_id"]) - set(
        kept.frames.customers["customer_id"]
    )
    rows = lenient.frames.customers["customer_id"].isin(incomplete).to_numpy()
    keys = customer_keys(lenient.frames.customers[rows], lenient.peak_kw[rows])
    assert not set(keys) & set(result.model.fitted_keys)
    # ... and each is in the training rejects report with its reason.
    report = pd.read_csv(
        tmp_path / "b-reports" / "rejects" / "rejects.csv", dtype=str, keep_default_na=False
    )
    named = report[
        (report["file"] == "customers") & report["reason"].str.endswith(INCOMPLETE_SUFFIX)
    ]
    assert set(named["customer_id"]) == incomplete


@pytest.mark.slow
def test_area_only_history_trains_and_says_so(area_only_history: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = _run(
        ["train", "-c", area_only_history / "customers.csv",
         "-e", area_only_history / "equipment.csv", "-o", out, "--no-mlflow", "--seed", 1],
        tmp_path / "home",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "warning: the history has no equipment lines at all: the model is area-only" in text
    assert "customers dropped for incomplete equipment lists 0" in text
    metrics = json.loads((tmp_path / "bundle-reports" / "metrics.json").read_text())
    assert metrics["area_only_history"] == 1.0
    assert metrics["n_dropped_incomplete"] == 0.0


@pytest.mark.slow
def test_area_only_history_is_tagged_in_mlflow(
    area_only_history: Path, tmp_path: Path, capacity_home: Path
) -> None:
    from mlflow import MlflowClient

    result = train_from_files(
        area_only_history / "customers.csv",
        area_only_history / "equipment.csv",
        tmp_path / "bundle",
        _config(log_to_mlflow=True),
        Settings(),
    )
    assert result.area_only and result.run is not None
    run = MlflowClient(result.run.tracking_uri).get_run(result.run.run_id)
    assert run.data.metrics["area_only_history"] == 1.0
    assert run.data.metrics["n_dropped_incomplete"] == 0.0
    assert run.data.tags["area_only_history"] == "true"
    assert "area-only" in run.data.tags["history_warning"]


# ------------------------------------------------------------------- the oracle


def test_a_stray_oracle_file_is_ignored_unless_passed(broken_history: Path) -> None:
    customers, equipment = broken_history / "customers.csv", broken_history / "equipment.csv"
    assert (broken_history / "oracle.csv").is_file()
    without, _ = load_labelled(customers, equipment)
    assert without.oracle_kw is None and without.oracle is None
    data, validated = load_labelled(customers, equipment, oracle=broken_history / "oracle.csv")
    assert data.oracle_kw is not None and data.oracle is not None
    assert len(data.oracle_kw) == len(data) and np.all(data.oracle_kw > 0)
    # The oracle lists every generated customer; the rejected ones are reported, not used.
    assert data.oracle.not_in_history == N_HISTORY - len(data)
    assert "ids not in the validated history ignored" in data.oracle.describe()


@pytest.mark.slow
def test_evaluate_uses_the_oracle_only_with_the_option(
    bundle_dir: Path, broken_history: Path, tmp_path: Path
) -> None:
    args = ["evaluate", "-m", bundle_dir, "-c", broken_history / "customers.csv",
            "-e", broken_history / "equipment.csv"]  # fmt: skip
    plain = _run([*args, "-o", tmp_path / "plain"], tmp_path / "home")
    assert plain.exit_code == 0, plain.output
    assert "oracle_kva" not in pd.read_csv(tmp_path / "plain" / "rows.csv").columns
    assert "left out" in _flat(plain.output)  # the incomplete customers, counted
    given = _run(
        [*args, "--oracle", broken_history / "oracle.csv", "-o", tmp_path / "given"],
        tmp_path / "home",
    )
    assert given.exit_code == 0, given.output
    assert "oracle_kva" in pd.read_csv(tmp_path / "given" / "rows.csv").columns
    assert f"oracle {broken_history / 'oracle.csv'}" in _flat(given.output)


@pytest.mark.slow
def test_train_uses_the_oracle_only_with_the_option(broken_history: Path, tmp_path: Path) -> None:
    customers, equipment = broken_history / "customers.csv", broken_history / "equipment.csv"
    plain = train_from_files(customers, equipment, tmp_path / "a", _config(), Settings())
    assert "oracle_accuracy" not in plain.metrics
    given = train_from_files(
        customers, equipment, tmp_path / "b", _config(), Settings(),
        oracle=broken_history / "oracle.csv",
    )  # fmt: skip
    assert "oracle_accuracy" in given.metrics


BAD_ORACLES = {
    "missing column": ("customer_id,peak\nC000001,5\n", "oracle_peak_kw"),
    "not a number": ("customer_id,oracle_peak_kw\nC000001,abc\n", "'abc'"),
    "negative": ("customer_id,oracle_peak_kw\nC000001,-4\n", "'-4'"),
    "infinite": ("customer_id,oracle_peak_kw\nC000001,inf\n", "'inf'"),
    "duplicate id": ("customer_id,oracle_peak_kw\nC000001,4\nC000001,5\n", "'C000001'"),
    "empty id": ("customer_id,oracle_peak_kw\n,4\n", "customer_id"),
    "empty file": ("", "not a readable"),
}


@pytest.mark.parametrize("case", sorted(BAD_ORACLES))
def test_a_malformed_oracle_fails_with_exit_code_2(
    case: str, bundle_dir: Path, broken_history: Path, tmp_path: Path
) -> None:
    content, named = BAD_ORACLES[case]
    oracle = tmp_path / "bad-oracle.csv"
    oracle.write_text(content, encoding="utf-8")
    result = _run(
        ["evaluate", "-m", bundle_dir, "-c", broken_history / "customers.csv",
         "-e", broken_history / "equipment.csv", "--oracle", oracle],
        tmp_path / "home",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    text = _flat(result.output)
    assert "error:" in text and str(oracle) in text and named in text
    assert "Traceback" not in result.output


def test_train_with_a_malformed_or_missing_oracle_fails_with_exit_code_2(
    broken_history: Path, tmp_path: Path
) -> None:
    args = ["train", "-c", broken_history / "customers.csv",
            "-e", broken_history / "equipment.csv", "-o", tmp_path / "b", "--no-mlflow"]  # fmt: skip
    bad = tmp_path / "oracle.csv"
    bad.write_text("customer_id,oracle_peak_kw\nC000001,zero\n", encoding="utf-8")
    cases = ((bad, ("'zero'", "oracle_peak_kw", "row 2")), (tmp_path / "none.csv", ("not found",)))
    for oracle, named in cases:
        result = _run([*args, "--oracle", oracle], tmp_path / "home")
        assert result.exit_code == 2, result.output
        text = _flat(result.output)
        assert "error:" in text and str(oracle) in text
        assert all(part in text for part in named), text
        assert "Traceback" not in result.output
    assert not (tmp_path / "b").exists()


def test_an_oracle_must_cover_the_history(broken_history: Path, tmp_path: Path) -> None:
    data, validated = load_labelled(
        broken_history / "customers.csv", broken_history / "equipment.csv"
    )
    full = pd.read_csv(broken_history / "oracle.csv", dtype=str)
    partial = tmp_path / "partial.csv"
    full.iloc[5:].to_csv(partial, index=False)
    missing = set(full["customer_id"].iloc[:5]) & set(validated.customers["customer_id"])
    if not missing:  # pragma: no cover - depends on which customers the seed made dirty
        pytest.skip("the first oracle rows are all rejected customers")
    with pytest.raises(OracleFileError, match="have no row") as info:
        read_oracle(partial, validated.customers)
    assert str(partial) in str(info.value) and isinstance(info.value, ValueError)
