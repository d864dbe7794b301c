"""Run every benchmark in turn (``make bench``); each prints its own table of figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    extra = sys.argv[1:]
    for script in ("bench_model.py", "bench_service.py"):
        print(f"\n##### {script} #####", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *extra], check=True)
