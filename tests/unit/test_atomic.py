"""Output files are replaced whole or not at all (features/atomic.py).

A kill during a write used to leave an empty file where the previous good output was, or
a CSV truncated on a complete line that looked finished (issue 26, item 4).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from features.atomic import TEMP_PREFIX, atomic_directory, atomic_write, write_csv, write_text

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_failed_write_leaves_the_previous_file(tmp_path: Path) -> None:
    target = write_text(tmp_path / "out.csv", "previous,good\n")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("half a new file")
        raise RuntimeError("interrupted")
    assert target.read_text() == "previous,good\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_process_killed_mid_write_leaves_the_previous_file(tmp_path: Path) -> None:
    target = write_text(tmp_path / "recommendations.csv", "customer_id,kva\nc1,630\n")
    child = (
        "import os, signal, sys\n"
        "from features.atomic import atomic_write\n"
        "with atomic_write(sys.argv[1]) as fh:\n"
        "    fh.write('customer_id,kva\\n' + 'c,1\\n' * 100000)\n"
        "    fh.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", child, str(target)], cwd=REPO_ROOT, check=False)
    assert done.returncode == -signal.SIGKILL
    assert target.read_text() == "customer_id,kva\nc1,630\n"


def test_write_csv_writes_what_to_csv_writes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "名"]})
    write_csv(frame, tmp_path / "atomic.csv", index=False)
    frame.to_csv(tmp_path / "plain.csv", index=False)
    assert (tmp_path / "atomic.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()


def test_a_directory_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("interrupted")
    assert sorted(os.listdir(target)) == ["old.txt"]
    with atomic_directory(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(os.listdir(target)) == ["new.txt"]
