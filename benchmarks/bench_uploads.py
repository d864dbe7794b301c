"""What an upload costs the service: seconds and worker memory per request (goal ≤ 2 s, ≤ 200 MB).

Posts to ``/recommend_batch`` (loopback only):

* the small workbook with one cell at ``ZZ50000`` (a few KB; it used to cost 18.5 s and
  +0.8 GB), once and four at once;
* a workbook bomb: one sheet whose XML unpacks to ~100 MB from a small archive;
* a CSV of one line with 60,000 commas (a wide table);
* for scale, a legitimate workbook of 2,000 customers with 6,000 equipment lines.

For each: status, wall seconds, and the growth of the API worker's peak resident memory
(sampled every 20 ms) over its level before the request.

Run: ``.venv/bin/python benchmarks/bench_uploads.py [--model DIR]``. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.hardening_harness import bundle, rss_mib, served, worker_pids  # noqa: E402


def far_cell_workbook() -> bytes:
    """A workbook whose customers sheet holds a header and one cell at ZZ50000."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "customers"
    sheet["A1"] = "customer_id"
    sheet["ZZ50000"] = "x"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bomb_workbook() -> bytes:
    """A valid-looking .xlsx whose sheet XML unpacks to ~100 MB (highly compressible)."""
    base = zipfile.ZipFile(io.BytesIO(far_cell_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in base.infolist():
            data = base.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                pad = b"<!--" + b" " * (100 * 2**20) + b"-->"
                data = data.replace(b"<sheetData>", pad + b"<sheetData>", 1)
            z.writestr(info.filename, data)
    return out.getvalue()


def legit_workbook(n: int) -> bytes:
    """``n`` contract customers and three equipment lines each, as a workbook."""
    import openpyxl

    book = openpyxl.Workbook()
    cust = book.active
    cust.title = "customers"
    cust.append(["customer_id", "industry", "climate_zone", "floor_area_m2", "employees", "shifts"])
    equip = book.create_sheet("equipment")
    equip.append(["customer_id", "line_no", "name", "category", "rated_kw", "quantity"])
    for i in range(n):
        cid = f"c{i}"
        cust.append([cid, "machinery", "cold", 5000, 80, 2])
        for k, (name, cat, kw) in enumerate(
            (
                ("空压机", "air_compressor", 37),
                ("车床", "machine_tool", 7.5),
                ("照明", "lighting", 2),
            )
        ):
            equip.append([cid, k + 1, name, cat, kw, 2])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure(base: str, pid: int, name: str, files: dict, parallel: int = 1) -> dict:
    """Post ``files`` ``parallel`` times at once; status, seconds and memory growth."""
    before = rss_mib(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib(pid))
            time.sleep(0.02)

    results: list[tuple[int, float]] = []

    def post() -> None:
        t0 = time.perf_counter()
        r = httpx.post(f"{base}/recommend_batch", files=files, timeout=300)
        results.append((r.status_code, time.perf_counter() - t0))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=post) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    sampler.join()
    size = sum(len(v[1]) for v in files.values())
    row = {
        "upload": name,
        "bytes": size,
        "parallel": parallel,
        "statuses": sorted({s for s, _ in results}),
        "max_seconds": max(d for _, d in results),
        "peak_growth_mib": peak[0] - before,
    }
    print(
        f"{name:<38} {size:>10,} B  x{parallel}  status {row['statuses']}  "
        f"max {row['max_seconds']:.2f} s  worker peak +{row['peak_growth_mib']:.0f} MiB"
    )
    return row


def main(argv: list[str] | None = None) -> int:
    """Print the cost of each upload."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "capacity-bench"))
    args = parser.parse_args(argv)
    work = Path(args.work)
    model = bundle(args.model, work)
    home = Path(tempfile.mkdtemp(prefix="uploads-home-", dir=work))
    far = far_cell_workbook()
    bomb = bomb_workbook()
    wide = b"customer_id" + b"," * 60_000 + b"\n"
    legit = legit_workbook(2_000)
    with served(model, home, {"CAPACITY_MAX_CONCURRENCY": "8"}) as server:
        pid = worker_pids(server)[0]
        base = server.base_url
        print(f"worker RSS at start: {rss_mib(pid):.0f} MiB")
        rows = [
            measure(base, pid, "workbook, one cell at ZZ50000", {"workbook": ("w.xlsx", far)}),
            measure(base, pid, "the same, four at once", {"workbook": ("w.xlsx", far)}, 4),
            measure(base, pid, "workbook bomb (100 MB unpacked)", {"workbook": ("b.xlsx", bomb)}),
            measure(base, pid, "CSV with 60,000 columns", {"customers": ("c.csv", wide)}),
            measure(base, pid, "legit workbook, 2,000 customers", {"workbook": ("l.xlsx", legit)}),
        ]
        time.sleep(3)
        print(f"worker RSS after: {rss_mib(pid):.0f} MiB")
    worst = max(r["max_seconds"] for r in rows[:4])
    growth = max(r["peak_growth_mib"] for r in rows[:4])
    print(f"hostile uploads: worst {worst:.2f} s, worst worker growth {growth:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
