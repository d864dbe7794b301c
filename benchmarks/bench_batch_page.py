"""Batch through the page: 10,000 customers uploaded on the web page, answered and shown.

Measures, in one server run with the same two contract CSVs (a synthetic history drawn
here, 10,000 customers with their equipment lines, applied capacities included):

* the API baseline: ``POST /recommend_batch`` multipart (customers + equipment,
  ``output=csv``), exactly what the page sends, timed from this process (median of 3);
* the page: headless chromium (Debian's ``/usr/bin/chromium``) opens ``/``, sets the two
  files on the batch form and clicks; timed from the click until the table and the
  "done" status are on screen (the page's own figure, ``body[data-batch-ms]``, too),
  then one sort of the 10,000 rows by recommended capacity and the Excel conversion
  (``POST /export/batch``);
* the ratio page / API (what the browser adds: parsing the CSV answer, building the
  table's first page).

The model is ``--model DIR`` or the exported champion, else a small model trained here
(as ``bench_service.py``). Writes ``benchmarks/results/batch_page.json``. No assertions.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_batch_page.py [--n 10000]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_service import build_small_bundle, default_bundle, served  # noqa: E402

RESULTS = REPO_ROOT / "benchmarks" / "results" / "batch_page.json"
CHROMIUM = "/usr/bin/chromium"


def history(n: int, work: Path, seed: int) -> tuple[Path, Path]:
    """customers.csv and equipment.csv of ``n`` synthetic customers (labels dropped)."""
    import pandas as pd

    from training.synth.history import SynthConfig, generate_history, write_history

    paths = write_history(generate_history(SynthConfig(n=n, seed=seed)), work / "history")
    customers = pd.read_csv(paths["customers"], dtype=str, keep_default_na=False)
    customers = customers.drop(columns=[c for c in ("peak_demand_kw",) if c in customers])
    cust = work / "customers.csv"
    customers.to_csv(cust, index=False)
    return cust, Path(paths["equipment"])


def api_upload(base: str, cust: Path, equip: Path, repeats: int) -> dict[str, Any]:
    times = []
    rows = 0
    size = 0
    with httpx.Client(base_url=base, timeout=600.0) as client:
        for _ in range(repeats):
            files = {
                "customers": ("customers.csv", cust.read_bytes(), "text/csv"),
                "equipment": ("equipment.csv", equip.read_bytes(), "text/csv"),
            }
            t0 = time.perf_counter()
            r = client.post("/recommend_batch", files=files, data={"output": "csv"})
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
            rows = r.text.count("\n") - 1
            size = len(r.content)
    return {"median_s": statistics.median(times), "runs_s": times, "rows": rows, "bytes": size}


def page_upload(base: str, cust: Path, equip: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.set_input_files("#batch-customers", str(cust))
        page.set_input_files("#batch-equipment", str(equip))
        t0 = time.perf_counter()
        page.click("#batch-submit")
        page.wait_for_selector("body[data-batch-ms]", timeout=600_000)
        page.wait_for_selector("#batch-table tbody tr")
        click_to_table = time.perf_counter() - t0
        page_ms = float(page.get_attribute("body", "data-batch-ms") or "nan")
        caption = page.inner_text("#batch-table caption")
        t1 = time.perf_counter()
        page.click("#batch-table button[data-key=recommended_kva]")
        page.wait_for_selector("#batch-table th[aria-sort=ascending]")
        sort_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        with page.expect_download(timeout=600_000) as got:
            page.click("#batch-download-xlsx")
        xlsx_bytes = Path(got.value.path()).stat().st_size
        xlsx_s = time.perf_counter() - t2
        browser.close()
    return {
        "click_to_table_s": click_to_table,
        "page_reported_s": page_ms / 1000.0,
        "caption": caption,
        "sort_10k_s": sort_s,
        "xlsx_download_s": xlsx_s,
        "xlsx_bytes": xlsx_bytes,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-page-") as tmp:
        work = Path(tmp)
        bundle = Path(args.model) if args.model else default_bundle() or build_small_bundle(work)
        cust, equip = history(args.n, work, args.seed)
        sizes = {
            "customers_bytes": cust.stat().st_size,
            "equipment_bytes": equip.stat().st_size,
            "equipment_lines": sum(1 for _ in equip.open(encoding="utf-8")) - 1,
        }
        home = work / "home"
        home.mkdir()
        # The default service settings (8 MiB body limit: 10,000 synthetic customers with
        # their lines upload about 5 MiB).
        with served(bundle, home) as (base, _proc, cold):
            api = api_upload(base, cust, equip, args.repeats)
            page = page_upload(base, cust, equip)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_customers": args.n,
        "bundle": str(bundle),
        "cold_start_s": cold,
        **sizes,
        "api": api,
        "page": page,
        "ratio_page_to_api": page["click_to_table_s"] / api["median_s"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None)
    res = run(parser.parse_args(argv))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    mib = 1024 * 1024
    print(f"batch through the page: {res['n_customers']:,} customers")
    print(
        f"  upload: customers.csv {res['customers_bytes'] / mib:.2f} MiB, equipment.csv "
        f"{res['equipment_bytes'] / mib:.2f} MiB ({res['equipment_lines']:,} lines)"
    )
    a, p = res["api"], res["page"]
    print(
        f"  API  POST /recommend_batch (multipart, csv): median {a['median_s']:.2f} s "
        f"over {len(a['runs_s'])} runs {[round(x, 2) for x in a['runs_s']]}, "
        f"{a['rows']:,} rows, {a['bytes'] / mib:.2f} MiB answer"
    )
    print(
        f"  page click → table shown: {p['click_to_table_s']:.2f} s "
        f"(page's own timer {p['page_reported_s']:.2f} s); {p['caption']}"
    )
    print(
        f"  page sort of all rows: {p['sort_10k_s']:.2f} s; Excel download "
        f"{p['xlsx_download_s']:.2f} s ({p['xlsx_bytes'] / mib:.2f} MiB)"
    )
    print(f"  ratio page / API: {res['ratio_page_to_api']:.2f}")
    return res


if __name__ == "__main__":
    main()
