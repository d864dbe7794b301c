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
METER_FILE = "meter_readings.csv"
"""The existing customers' readings of a history folder (beside customers.csv)."""


@dataclass
class LabelledHistory:
    """Clean frames with their labels and optional baselines, row-aligned."""

    frames: HistoryFrames
    peak_kw: np.ndarray
    status_quo_kva: np.ndarray
    oracle_kw: np.ndarray | None = None
    oracle: OracleMatch | None = None
    """Where ``oracle_kw`` came from (None in subsets and without an oracle)."""
    meter_readings: pd.DataFrame | None = None
    """Existing customers' monthly readings (their summary is on the customers frame)."""

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
        readings = self.meter_readings
        if readings is not None:
            mine = readings["customer_id"].isin(set(customers["customer_id"]))
            readings = readings[mine].reset_index(drop=True)
        return LabelledHistory(
            frames=HistoryFrames(customers, equipment),
            peak_kw=self.peak_kw[rows],
            status_quo_kva=self.status_quo_kva[rows],
            oracle_kw=None if self.oracle_kw is None else self.oracle_kw[rows],
            meter_readings=readings,
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


class OracleFileError(ValueError):
    """An ``--oracle`` file that does not follow ``customer_id, oracle_peak_kw``."""


ORACLE_COLUMNS = ("customer_id", "oracle_peak_kw")


@dataclass(frozen=True)
class OracleMatch:
    """An oracle file aligned with a validated history.

    Attributes
    ----------
    path
        The file read.
    peak_kw
        Oracle peak per validated customer, row-aligned with the history.
    rows
        Rows in the file.
    not_in_history
        Oracle ids that are not among the validated customers (rejected or unknown ones),
        ignored; the first ones are in ``examples``.
    examples
        Up to five such ids.
    """

    path: Path
    peak_kw: np.ndarray
    rows: int
    not_in_history: int
    examples: tuple[str, ...]

    def describe(self) -> str:
        """One line for the CLI: what was read and what was ignored."""
        text = f"oracle {self.path}: {self.rows} rows, {len(self.peak_kw)} customers matched"
        if self.not_in_history:
            text += (
                f"; {self.not_in_history} ids not in the validated history ignored (rejected "
                f"or unknown customers, e.g. {', '.join(self.examples)})"
            )
        return text


def _oracle_problem(path: Path, row: int, column: str, value: object, why: str) -> OracleFileError:
    return OracleFileError(
        f"oracle file {path}: row {row}, column {column}: value {str(value)[:60]!r} {why}"
    )


def read_oracle(path: Path | str, customers: pd.DataFrame) -> OracleMatch:
    """Read and validate an oracle file (``customer_id, oracle_peak_kw``) against a history.

    Parameters
    ----------
    path
        CSV with the columns ``customer_id`` and ``oracle_peak_kw`` (positive, finite),
        one row per customer; other columns are ignored.
    customers
        The validated customers; every one must have an oracle value (a partial oracle
        baseline would be misleading).

    Raises
    ------
    OracleFileError
        The file is missing, unreadable or malformed; the message names the file, the
        (spreadsheet) row, the column and the value.
    """
    path = Path(path)
    if not path.is_file():
        raise OracleFileError(f"oracle file not found: {path}")
    try:
        raw = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise OracleFileError(
            f"oracle file {path} is not a readable UTF-8 CSV file "
            f"(expected columns {', '.join(ORACLE_COLUMNS)}): {exc}"
        ) from exc
    raw = raw.rename(columns=lambda c: str(c).strip())
    missing = [c for c in ORACLE_COLUMNS if c not in raw.columns]
    if missing:
        raise OracleFileError(
            f"oracle file {path} is missing column(s) {', '.join(missing)}; expected columns "
            f"{', '.join(ORACLE_COLUMNS)}, received {', '.join(map(str, raw.columns)) or 'none'}"
        )
    ids = raw["customer_id"].astype(str).str.strip()
    text = raw["oracle_peak_kw"].astype(str).str.strip()
    row_of = np.arange(len(raw)) + 2  # header is row 1
    empty = (ids == "").to_numpy()
    if empty.any():
        k = int(np.argmax(empty))
        raise _oracle_problem(path, row_of[k], "customer_id", "", "is empty: every row needs an id")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        k = int(np.argmax(dup))
        raise _oracle_problem(
            path, row_of[k], "customer_id", ids.iloc[k], "is repeated: ids must be unique"
        )
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        k = int(np.argmax(bad))
        raise _oracle_problem(
            path, row_of[k], "oracle_peak_kw", text.iloc[k], "is not a positive finite number"
        )
    oracle = pd.Series(values, index=pd.Index(ids.to_numpy(dtype=object)))
    history_ids = customers["customer_id"].astype(str).to_numpy(dtype=object)
    mapped = oracle.reindex(history_ids).to_numpy(dtype=float)
    absent = np.isnan(mapped)
    if absent.any():
        shown = ", ".join(map(str, history_ids[absent][:5]))
        raise OracleFileError(
            f"oracle file {path}: column customer_id: {int(absent.sum())} of the "
            f"{len(history_ids)} validated customers have no row (e.g. {shown}); the oracle "
            "must cover every customer of the history it is given with"
        )
    extra = ~oracle.index.isin(history_ids)
    return OracleMatch(
        path=path,
        peak_kw=mapped,
        rows=len(raw),
        not_in_history=int(extra.sum()),
        examples=tuple(map(str, oracle.index[extra][:5])),
    )


def labelled_from_validated(
    validated: ValidatedHistory, oracle: OracleMatch | None = None
) -> LabelledHistory:
    """Align labels and baselines with the validated customers."""
    customers = validated.customers.reset_index(drop=True)
    return LabelledHistory(
        frames=HistoryFrames(customers, validated.equipment.reset_index(drop=True)),
        peak_kw=customers["peak_demand_kw"].to_numpy(dtype=float),
        status_quo_kva=customers["applied_capacity_kva"].to_numpy(dtype=float),
        oracle_kw=None if oracle is None else oracle.peak_kw,
        oracle=oracle,
        meter_readings=None if validated.meter_readings.empty else validated.meter_readings,
    )


def load_labelled(
    customers_path: Path | str,
    equipment_path: Path | str,
    oracle: Path | str | None = None,
    *,
    drop_incomplete_customers: bool = True,
    meter_readings: Path | str | None = None,
) -> tuple[LabelledHistory, ValidatedHistory]:
    """Load a contract history for training or evaluation (labels required).

    Parameters
    ----------
    customers_path, equipment_path
        The contract files.
    oracle
        An explicit oracle file (``customer_id, oracle_peak_kw``; synthetic histories write
        one), validated by :func:`read_oracle`. Nothing is picked up implicitly: an
        ``oracle.csv`` lying beside the customers file is ignored unless passed here.
    drop_incomplete_customers
        Reject customers whose equipment lines were (partly) rejected (the default; see
        :func:`features.validation.validate_frames`).
    meter_readings
        The optional ``meter_readings.csv`` of existing customers.

    Raises
    ------
    OracleFileError
        The oracle file is missing or malformed (a ``ValueError``).
    """
    validated = load_history(
        customers_path,
        equipment_path,
        require_label=True,
        drop_incomplete_customers=drop_incomplete_customers,
        meter_readings_path=meter_readings,
    )
    match = None if oracle is None else read_oracle(oracle, validated.customers)
    return labelled_from_validated(validated, match), validated


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
    contract = [c for c in data.frames.customers.columns if not c.startswith("meter_")]
    data.frames.customers[contract].to_csv(out_dir / "customers.csv", index=False)
    data.frames.equipment.to_csv(out_dir / "equipment.csv", index=False)
    if data.meter_readings is not None:
        data.meter_readings.to_csv(out_dir / METER_FILE, index=False)
    if data.oracle_kw is not None:
        pd.DataFrame(
            {"customer_id": data.frames.customers["customer_id"], "oracle_peak_kw": data.oracle_kw}
        ).to_csv(out_dir / ORACLE_FILE, index=False)
    return out_dir


def read_holdout(path: Path) -> LabelledHistory:
    """Read a holdout written by :func:`write_holdout` (its own ``oracle.csv``, when written)."""
    oracle = path / ORACLE_FILE
    meter = path / METER_FILE
    data, _ = load_labelled(
        path / "customers.csv",
        path / "equipment.csv",
        oracle=oracle if oracle.is_file() else None,
        meter_readings=meter if meter.is_file() else None,
    )
    return data
