"""Training data: validated history → aligned frames, labels, baselines and splits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import HistoryFrames
from features.validation import ValidatedHistory, load_history

ORACLE_FILE = "oracle.csv"


@dataclass
class LabelledHistory:
    """Clean frames with their labels and optional baselines, row-aligned."""

    frames: HistoryFrames
    peak_kw: np.ndarray
    status_quo_kva: np.ndarray
    oracle_kw: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.peak_kw)

    def keys(self) -> np.ndarray:
        """Hashed identity of every customer (:func:`customer_keys`)."""
        return customer_keys(self.frames.customers, self.peak_kw)

    def subset(self, rows: np.ndarray) -> LabelledHistory:
        """The customers at positional ``rows`` with their equipment."""
        customers = self.frames.customers.iloc[rows].reset_index(drop=True)
        keep = self.frames.equipment["customer_id"].isin(set(customers["customer_id"]))
        equipment = self.frames.equipment[keep].reset_index(drop=True)
        return LabelledHistory(
            frames=HistoryFrames(customers, equipment),
            peak_kw=self.peak_kw[rows],
            status_quo_kva=self.status_quo_kva[rows],
            oracle_kw=None if self.oracle_kw is None else self.oracle_kw[rows],
        )


def customer_keys(customers: pd.DataFrame, peak_kw: np.ndarray) -> np.ndarray:
    """A short hash of (customer id, industry, metered peak) per customer.

    This is what a bundle records of the customers it trained and calibrated on
    (``fitted_keys.json``): enough for evaluation and the gate to leave them out, without
    storing ids. The peak and the industry are part of the identity so that another
    history reusing the same ids (``C000001`` in two utilities' files) is not mistaken
    for the training customers.
    """
    ids = customers["customer_id"].astype(str).to_numpy()
    industry = customers["industry"].astype(str).to_numpy()
    peak = np.asarray(peak_kw, dtype=float)
    return np.array(
        [
            hashlib.sha256(f"{c}|{i}|{p:.3f}".encode()).hexdigest()[:16]
            for c, i, p in zip(ids, industry, peak, strict=True)
        ],
        dtype=object,
    )


def file_hash(*paths: Path | str) -> str:
    """sha256 over the bytes of the given files (the data hash logged with every run)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def labelled_from_validated(
    validated: ValidatedHistory, oracle_path: Path | None = None
) -> LabelledHistory:
    """Align labels and baselines with the validated customers."""
    customers = validated.customers.reset_index(drop=True)
    oracle = None
    if oracle_path is not None and oracle_path.is_file():
        o = pd.read_csv(oracle_path, dtype={"customer_id": str})
        mapped = customers["customer_id"].map(o.set_index("customer_id")["oracle_peak_kw"])
        oracle = mapped.to_numpy(dtype=float)
    return LabelledHistory(
        frames=HistoryFrames(customers, validated.equipment.reset_index(drop=True)),
        peak_kw=customers["peak_demand_kw"].to_numpy(dtype=float),
        status_quo_kva=customers["applied_capacity_kva"].to_numpy(dtype=float),
        oracle_kw=oracle,
    )


def load_labelled(
    customers_path: Path | str, equipment_path: Path | str
) -> tuple[LabelledHistory, ValidatedHistory]:
    """Load a contract history for training or evaluation (labels required).

    An ``oracle.csv`` beside the customers file (synthetic histories) is picked up for
    the oracle baseline.
    """
    validated = load_history(customers_path, equipment_path, require_label=True)
    oracle_path = Path(customers_path).with_name(ORACLE_FILE)
    return labelled_from_validated(validated, oracle_path), validated


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positional (train, holdout) indices, seeded."""
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be between 0 and 1, received {fraction}")
    order = np.random.default_rng(seed + 7919).permutation(n)
    n_hold = int(round(n * fraction))
    return np.sort(order[n_hold:]), np.sort(order[:n_hold])


def write_holdout(data: LabelledHistory, out_dir: Path) -> Path:
    """Write a holdout as contract CSVs (so any champion can be re-scored on it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data.frames.customers.to_csv(out_dir / "customers.csv", index=False)
    data.frames.equipment.to_csv(out_dir / "equipment.csv", index=False)
    if data.oracle_kw is not None:
        pd.DataFrame(
            {"customer_id": data.frames.customers["customer_id"], "oracle_peak_kw": data.oracle_kw}
        ).to_csv(out_dir / ORACLE_FILE, index=False)
    return out_dir


def read_holdout(path: Path) -> LabelledHistory:
    """Read a holdout written by :func:`write_holdout`."""
    data, _ = load_labelled(path / "customers.csv", path / "equipment.csv")
    return data
