"""The single process's input for a Dask-engine test: every partition of a folder, in order.

Both Dask-engine test files compare the engine on Parquet partitions with the single
process on the same rows concatenated in memory; this is that concatenation, once.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pandas as pd


def concatenated(root: Path, sub: str) -> pd.DataFrame:
    """The Parquet files of ``root/sub`` concatenated in their names' order."""
    files = sorted(glob.glob(str(root / sub / "*.parquet")))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
