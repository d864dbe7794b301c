"""Partitioned contract histories: Parquet partitions on any fsspec filesystem.

A partitioned history is two folders (local paths or fsspec URLs such as ``s3://…``,
``gs://…``, ``memory://…``), one for customers and one for equipment, holding Parquet
files with the same names: ``customers/part-00000.parquet`` goes with
``equipment/part-00000.parquet``. A customer's equipment lines must be in the partition of
the same name (partition by customer); a line whose customer is in another partition is
rejected as an unknown customer and reported like any other rejected row. A single
Parquet file is a history of one partition.

Existing customers' monthly readings (the contract's optional ``meter_readings``) are a
third folder of the same layout: ``meter_readings/part-00000.parquet`` goes with the
customers partition of that name. A customers partition without a readings file has no
readings (its existing customers are then rejected for want of them, and reported); a
readings file without a customers partition of its name is an error, since its readings
could reach no customer.

:func:`write_synthetic_partitions` writes such a history from the synthetic generator,
one seed per partition, for tests and ``benchmarks/bench_scale.py``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

import fsspec
import pandas as pd

from features.validation import ContractError

PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Partition:
    """One partition: its name and the URLs of its two files."""

    name: str
    customers: str
    equipment: str
    meter_readings: str | None = None
    """The partition's readings file (None: no existing customer brought readings)."""


def _list_parquet(location: str, file: str) -> dict[str, str]:
    fs, root = fsspec.core.url_to_fs(location)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]

    def url(path: str) -> str:
        return path if protocol in ("file", "local") else f"{protocol}://{path.lstrip('/')}"

    if not fs.exists(root):
        raise FileNotFoundError(f"{file} location not found: {location}")
    if fs.isfile(root):
        if not root.lower().endswith(PARQUET_SUFFIXES):
            raise ContractError(
                f"{file} location {location} is a file without a Parquet suffix; the Dask engine "
                f"reads Parquet ({', '.join(PARQUET_SUFFIXES)}) files or folders of them"
            )
        return {"part": url(root)}
    files = sorted(p for p in fs.ls(root, detail=False) if p.lower().endswith(PARQUET_SUFFIXES))
    if not files:
        raise ContractError(
            f"{file} location {location} holds no Parquet files ({', '.join(PARQUET_SUFFIXES)})"
        )
    return {posixpath.splitext(posixpath.basename(p))[0]: url(p) for p in files}


def discover_partitions(
    customers: str | Path, equipment: str | Path, meter_readings: str | Path | None = None
) -> list[Partition]:
    """Pair the customers, equipment (and readings) partitions by file name.

    Raises
    ------
    ContractError
        No Parquet files, names present in one of the customers and equipment folders
        only, or readings files named like no customers partition (named in the message).
    FileNotFoundError
        A location does not exist.
    """
    cust = _list_parquet(str(customers), "customers")
    eq = _list_parquet(str(equipment), "equipment")
    meter = {} if meter_readings is None else _list_parquet(str(meter_readings), "meter_readings")
    if len(cust) == 1 and len(eq) == 1 and len(meter) <= 1:
        (c_name, c_url), (_, e_url) = next(iter(cust.items())), next(iter(eq.items()))
        return [Partition(c_name, c_url, e_url, next(iter(meter.values()), None))]
    only_c = sorted(set(cust) - set(eq))
    only_e = sorted(set(eq) - set(cust))
    if only_c or only_e:
        raise ContractError(
            "customers and equipment partitions must pair by file name; "
            f"only in customers ({customers}): {', '.join(only_c[:5]) or 'none'}; "
            f"only in equipment ({equipment}): {', '.join(only_e[:5]) or 'none'}"
        )
    only_m = sorted(set(meter) - set(cust))
    if only_m:
        raise ContractError(
            "meter_readings partitions must pair by file name with a customers partition; "
            f"only in meter_readings ({meter_readings}): {', '.join(only_m[:5])} (their "
            "readings would reach no customer)"
        )
    return [Partition(name, cust[name], eq[name], meter.get(name)) for name in sorted(cust)]


def read_parquet(url: str, file: str) -> pd.DataFrame:
    """One partition file as a frame; unreadable files raise :class:`ContractError`."""
    try:
        return pd.read_parquet(url)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise ContractError(f"{file} file {url} is not a readable Parquet file: {exc}") from exc


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Mixed-type object columns (dirty synthetic cells such as '5 kW') as text.

    The contract parses every cell from text anyway (features.validation), so a dirty
    number stays dirty and is rejected exactly as in a CSV file.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    return out


def write_synthetic_partition(
    out: str | Path,
    k: int,
    size: int,
    seed: int = 0,
    dirty_row_rate: float = 0.005,
    existing_share: float = 0.0,
) -> Partition:
    """Partition ``k`` of a synthetic history: seed ``seed + k``, ids prefixed ``P<k>-``.

    With ``existing_share`` > 0 the history holds existing customers and their readings
    are written to ``meter_readings/`` beside ``customers/`` and ``equipment/``.
    """
    from training.synth.history import SynthConfig, generate_history

    root = Path(out)
    history = generate_history(
        SynthConfig(
            n=size, seed=seed + k, dirty_row_rate=dirty_row_rate, existing_share=existing_share
        )
    )
    prefix = f"P{k:04d}-"
    name = f"part-{k:05d}"
    frames = {
        "customers": history.customers,
        "equipment": history.equipment,
        "oracle": history.oracle,
    }
    if history.meter_readings is not None:
        frames["meter_readings"] = history.meter_readings
    for sub, frame in frames.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        frame = frame.copy()
        # Blank ids (a dirty row) stay blank, so they are still rejected.
        text = frame["customer_id"].astype("string")
        blank = text.isna() | (text.str.strip() == "")
        frame["customer_id"] = text.where(blank, prefix + text)
        _parquet_safe(frame).to_parquet(root / sub / f"{name}.parquet", index=False)
    return Partition(
        name,
        str(root / "customers" / f"{name}.parquet"),
        str(root / "equipment" / f"{name}.parquet"),
        str(root / "meter_readings" / f"{name}.parquet") if "meter_readings" in frames else None,
    )


def partition_sizes(n: int, partitions: int) -> list[int]:
    """``n`` customers split into ``partitions`` near-equal sizes."""
    if partitions < 1 or n < partitions:
        raise ValueError(f"need 1 <= partitions <= n, received n={n}, partitions={partitions}")
    return [n // partitions + (1 if k < n % partitions else 0) for k in range(partitions)]


def write_synthetic_partitions(
    out: str | Path,
    n: int,
    partitions: int,
    seed: int = 0,
    dirty_row_rate: float = 0.005,
    existing_share: float = 0.0,
) -> list[Partition]:
    """Generate ``n`` synthetic customers in ``partitions`` Parquet partitions.

    Partition ``k`` is :func:`training.synth.history.generate_history` with seed ``seed + k``;
    its customer ids are prefixed ``P<k>-`` so that they are unique across partitions.
    Writes ``customers/``, ``equipment/`` and ``oracle/`` under ``out`` (and
    ``meter_readings/`` with ``existing_share`` > 0).
    """
    return [
        write_synthetic_partition(out, k, size, seed, dirty_row_rate, existing_share)
        for k, size in enumerate(partition_sizes(n, partitions))
    ]


def partition_index(customer_ids: pd.Series, partitions: int) -> pd.Series:
    """The partition of each customer id: a stable hash of the id modulo ``partitions``.

    Stable across processes and chunks (``pandas.util.hash_pandas_object``, not Python's
    salted ``hash``), so a customer's equipment lines land in its customers' partition.
    """
    text = customer_ids.astype("string").fillna("")
    hashed = pd.util.hash_pandas_object(text, index=False).to_numpy()
    return pd.Series(hashed % partitions, index=customer_ids.index).astype("int64")


def partition_csv_history(
    customers: str | Path,
    equipment: str | Path,
    out: str | Path,
    partitions: int,
    chunk_rows: int = 200_000,
    meter_readings: str | Path | None = None,
) -> list[Partition]:
    """Split a CSV contract history into the Dask engine's Parquet layout.

    Writes ``out/customers/part-<k>.parquet`` and ``out/equipment/part-<k>.parquet`` for
    ``k`` in ``0 … partitions-1``, partitioned by customer (:func:`partition_index`), and
    ``out/meter_readings/part-<k>.parquet`` from ``meter_readings`` when given.
    Every cell is kept as the text it was in the CSV (the contract parses text, so a dirty
    cell is rejected by training exactly as from the CSV); the files are read in chunks of
    ``chunk_rows`` rows, so a history larger than memory can be split. Every partition file
    is written, empty ones included, so the two folders always pair by name.

    Raises
    ------
    ContractError
        A file without a ``customer_id`` column, or ``partitions`` below 1.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if partitions < 1:
        raise ContractError(f"partitions must be at least 1; received {partitions}")
    root = Path(out)
    written: dict[str, list[str]] = {}
    sources: list[tuple[str, str | Path]] = [("customers", customers), ("equipment", equipment)]
    if meter_readings is not None:
        sources.append(("meter_readings", meter_readings))
    for file, source in sources:
        (root / file).mkdir(parents=True, exist_ok=True)
        writers: dict[int, pq.ParquetWriter] = {}
        schema: pa.Schema | None = None
        try:
            for chunk in pd.read_csv(
                source, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                chunksize=chunk_rows,
            ):  # fmt: skip
                if "customer_id" not in chunk.columns:
                    raise ContractError(
                        f"{file} file {source} has no customer_id column; received columns "
                        f"{', '.join(map(str, chunk.columns[:10]))}"
                    )
                chunk = chunk.astype(object)
                if schema is None:
                    schema = pa.schema([(str(c), pa.string()) for c in chunk.columns])
                for k, part in chunk.groupby(partition_index(chunk["customer_id"], partitions)):
                    key = int(k)
                    if key not in writers:
                        path = root / file / f"part-{key:05d}.parquet"
                        writers[key] = pq.ParquetWriter(path, schema)
                    table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
                    writers[key].write_table(table)
        finally:
            for w in writers.values():
                w.close()
        if schema is None:  # an empty file: header only
            header = pd.read_csv(source, dtype=str, nrows=0, encoding="utf-8-sig")
            schema = pa.schema([(str(c), pa.string()) for c in header.columns])
        for k in range(partitions):
            path = root / file / f"part-{k:05d}.parquet"
            if not path.exists():
                pq.write_table(schema.empty_table(), path)
        written[file] = [str(root / file / f"part-{k:05d}.parquet") for k in range(partitions)]
    return [
        Partition(
            f"part-{k:05d}",
            written["customers"][k],
            written["equipment"][k],
            written["meter_readings"][k] if "meter_readings" in written else None,
        )
        for k in range(partitions)
    ]
