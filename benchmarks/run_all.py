"""Run every benchmark in turn (``make bench``); each prints its own table of figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    extra = sys.argv[1:]
    own_args = (
        "bench_served_accuracy.py",
        "bench_throughput.py",
        "bench_learning_curve.py",
        "bench_bdg1.py",
    )
    for script in (
        "bench_model.py",
        "bench_served_accuracy.py",
        "bench_learning_curve.py",
        "bench_bdg1.py",
        "bench_service.py",
        "bench_throughput.py",
    ):
        print(f"\n##### {script} #####", flush=True)
        args = extra if script not in own_args else []
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)
