"""Benchmark of the real service: ``bentoml serve`` in a subprocess, called over loopback.

Measures, in one server run:

* cold start: from starting ``bentoml serve`` to ``/readyz`` answering 200;
* latency at one client (p50/p90/p99/mean) of ``POST /recommend`` with a 30-line equipment
  list (category codes and free-text names) and of the do-nothing ``POST /trivial``,
  interleaved request by request after a warm-up;
* throughput (requests/s) at 1, 4 and 16 concurrent clients (threads, one httpx client
  each) for both endpoints, and the recommend/trivial ratios;
* the time of one ``/recommend_batch`` of 10,000 varied applications (JSON list), answered
  as JSON and as CSV, and of 1,000 with every explanation (``detail=full``);
* resident memory: the RSS of each process of the server tree (arbiter + workers);
* first, on a second server with ONE worker (``CAPACITY_WORKERS=1``), the throughput the
  scaling goal compares with; the measured server runs one worker per CPU (``--workers``).

The issue-27 goals are printed at the end as ratios of figures of this one run.

The model is ``--model DIR``; by default the exported champion (``<CAPACITY_HOME>/champion``,
i.e. ``var/champion``) when it exists, else a small model trained here on a synthetic
history (3,000 customers, seed 5). The server gets a private home, log database and
BentoML home in a temporary folder. Prints a table and writes the figures as JSON to
``benchmarks/results/service.json``. No assertions: this is a measurement, not a test.

Run: ``.venv/bin/python benchmarks/bench_service.py [--model DIR] [--seconds 5]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_overload import tree_cpu_s  # noqa: E402
from tests.server_process import (  # noqa: E402
    SERVICE,
    server_env,
    start_server,
    stop_server,
    wait_until,
)

RESULTS = REPO_ROOT / "benchmarks" / "results" / "service.json"
READY_TIMEOUT_S = 120.0

# 30 equipment lines: 20 given by category code, 10 by free-text name only.
EQUIPMENT_30: list[dict[str, Any]] = [
    {"category": "machine_tool", "name": "立式加工中心", "rated_kw": 15, "quantity": 6},
    {"category": "machine_tool", "rated_kw": 7.5, "quantity": 12},
    {"category": "hot_working_machine", "rated_kw": 30, "quantity": 2},
    {"category": "injection_molding", "rated_kw": 22, "quantity": 4},
    {"category": "fan", "rated_kw": 5.5, "quantity": 8},
    {"category": "pump", "rated_kw": 11, "quantity": 4},
    {"category": "air_compressor", "rated_kw": 37, "quantity": 2},
    {"category": "air_compressor", "rated_kw": 37, "quantity": 1, "standby": True},
    {"category": "conveyor", "rated_kw": 4, "quantity": 6},
    {"category": "crane", "rated_kw": 22, "quantity": 2},
    {"category": "resistance_furnace", "rated_kw": 45, "quantity": 2},
    {"category": "arc_welder", "name": "二保焊机", "rated_kw": 18, "quantity": 4},
    {"category": "resistance_welder", "rated_kw": 25, "quantity": 1},
    {"category": "lighting", "name": "LED照明", "rated_kw": 1, "quantity": 40},
    {"category": "split_ac", "name": "办公空调", "rated_kw": 3.5, "quantity": 10},
    {"category": "office_sockets", "rated_kw": 20, "quantity": 1},
    {"category": "elevator", "rated_kw": 11, "quantity": 1},
    {"category": "other_motor", "rated_kw": 7.5, "quantity": 3},
    {"category": "other_heating", "rated_kw": 6, "quantity": 2},
    {"category": "fire_pump", "name": "消防泵", "rated_kw": 45, "quantity": 2, "standby": True},
    {"name": "数控车床 CK6140", "rated_kw": 7.5, "quantity": 8},
    {"name": "螺杆空压机 37kW", "rated_kw": 37, "quantity": 1},
    {"name": "10t 行车", "rated_kw": 22, "quantity": 1},
    {"name": "摇臂钻床", "rated_kw": 4, "quantity": 3},
    {"name": "平面磨床", "rated_kw": 5.5, "quantity": 2},
    {"name": "冷却塔风机", "rated_kw": 7.5, "quantity": 2},
    {"name": "冷水机组", "rated_kw": 90, "quantity": 1},
    {"name": "注塑机 HT-160", "rated_kw": 18.5, "quantity": 2},
    {"name": "laser cutting machine", "rated_kw": 12, "quantity": 1},
    {"name": "搅拌机", "rated_kw": 15, "quantity": 1},
]
APPLICATION_30: dict[str, Any] = {
    "industry": "machinery",
    "climate_zone": "hot_summer_cold_winter",
    "floor_area_m2": 6000,
    "employees": 120,
    "shifts": 2,
    "equipment": EQUIPMENT_30,
}


# --------------------------------------------------------------------------------------
# model bundle
# --------------------------------------------------------------------------------------


def default_bundle() -> Path | None:
    """The exported champion (``<CAPACITY_HOME>/champion``) if there is one."""
    from serving.settings import Settings

    champion = Settings().champion_dir
    return champion if (champion / "metadata.json").is_file() else None


def build_small_bundle(work: Path) -> Path:
    """Train a small model on a synthetic history (as the service tests do)."""
    from serving.model.config import ModelConfig
    from serving.settings import Settings
    from training.synth.history import SynthConfig, generate_history, write_history
    from training.train import TrainConfig, train_from_files

    paths = write_history(generate_history(SynthConfig(n=3000, seed=5)), work / "history")
    result = train_from_files(
        paths["customers"],
        paths["equipment"],
        work / "bundle",
        TrainConfig(
            seed=5, log_to_mlflow=False, make_plots=False, model=ModelConfig(max_rounds=400)
        ),
        Settings(home=work / "home"),
    )
    return result.bundle_dir


# --------------------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def served(
    bundle: Path, home: Path, extra: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """Start the service on a free port; yield (base URL, process, cold-start seconds).

    Started, kept alive and stopped by the tests' launcher (:mod:`tests.server_process`),
    so the benchmark measures the server the tests run, started the same way (its stdin a
    pipe kept open: ``bentoml serve`` may exit when its stdin is at end of file). ``extra``
    environment settings override the defaults (``bench_load.py`` sets limits).
    """
    env = server_env(
        home,
        bundle,
        # /trivial (the baseline) is served only when asked for.
        {"CAPACITY_BENCHMARK_ENDPOINTS": "1", **(extra or {})},
        feedback_key="bench-key",
    )
    t0 = time.perf_counter()
    server = start_server("bench", home, env)
    try:
        wait_until(server, (200,), timeout=READY_TIMEOUT_S, poll_s=0.05)
        cold = time.perf_counter() - t0
        yield server.base_url, server.proc, cold
    finally:
        stop_server(server)


def cpu_per_request(pid: int, base: str, n: int) -> dict[str, float]:
    """Server CPU milliseconds per request of each endpoint, ``n`` requests in a row each.

    On a machine shared with other work, wall-clock latency includes waiting for a core;
    the CPU the server spends per answer does not, so its ratio is the steadier figure.
    """
    out: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, path, body in (
            ("trivial", "/trivial", {}),
            ("recommend", "/recommend", APPLICATION_30),
        ):
            before = tree_cpu_s(pid)
            for _ in range(n):
                client.post(path, json=body).raise_for_status()
            out[name] = (tree_cpu_s(pid) - before) / n * 1000.0
    return out


def tree_rss_mib(pid: int) -> dict[str, float]:
    """RSS of the server process and every descendant, MiB, plus their sum."""
    root = psutil.Process(pid)
    out: dict[str, float] = {}
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            cmd = " ".join(p.cmdline())
            role = (
                "worker"
                if "_bentoml_impl.worker" in cmd
                else ("arbiter" if p.pid == pid else "other")
            )
            out[f"{role}:{p.pid}"] = p.memory_info().rss / 2**20
    out["total"] = sum(out.values())
    return out


# --------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000.0 for x in samples_s)

    def q(p: float) -> float:
        return ms[min(len(ms) - 1, max(0, round(p / 100.0 * len(ms)) - 1))]

    return {
        "n": len(ms),
        "p50_ms": statistics.median(ms),
        "p90_ms": q(90),
        "p99_ms": q(99),
        "mean_ms": statistics.fmean(ms),
        "max_ms": ms[-1],
    }


def latency(base: str, n: int, warmup: int) -> dict[str, dict[str, float]]:
    """One client, /recommend and /trivial interleaved request by request."""
    calls = {
        "recommend": ("/recommend", APPLICATION_30),
        "trivial": ("/trivial", {}),
    }
    samples: dict[str, list[float]] = {k: [] for k in calls}
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(warmup):
            for path, body in calls.values():
                client.post(path, json=body).raise_for_status()
        for _ in range(n):
            for name, (path, body) in calls.items():
                t = time.perf_counter()
                r = client.post(path, json=body)
                samples[name].append(time.perf_counter() - t)
                r.raise_for_status()
    return {name: _percentiles(s) for name, s in samples.items()}


def throughput(
    base: str, path: str, body: Any, clients: int, seconds: float, pid: int | None = None
) -> dict[str, float]:
    """``clients`` threads, each with its own httpx client, for ``seconds``.

    With the server's ``pid``, also the CPU the server tree and this client used, as
    cores (CPU seconds per second): on 2 shared cores the client's own share and the
    other work on the machine bound what the server can get.
    """
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    ok = [0] * clients
    failed = [0] * clients
    connected = threading.Barrier(clients + 1, timeout=60)
    go = threading.Event()
    stop_at = [0.0]

    def run(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            try:
                client.post(path, content=payload, headers=headers)  # connect before the clock
            finally:
                connected.wait()
            go.wait()
            while time.perf_counter() < stop_at[0]:
                r = client.post(path, content=payload, headers=headers)
                if r.status_code == 200:
                    ok[i] += 1
                else:
                    failed[i] += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    connected.wait()
    server0 = tree_cpu_s(pid) if pid is not None else float("nan")
    workers0 = worker_cpu_s(pid) if pid is not None else {}
    client0 = _own_cpu_s()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    go.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    server = (tree_cpu_s(pid) - server0) if pid is not None else float("nan")
    workers1 = worker_cpu_s(pid) if pid is not None else {}
    client = _own_cpu_s() - client0
    done = max(1, sum(ok) + sum(failed))
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": sum(ok),
        "errors": sum(failed),
        "req_per_s": sum(ok) / elapsed,
        "server_cores": server / elapsed,
        "client_cores": client / elapsed,
        "server_cpu_ms_per_request": server / done * 1000,
        "client_cpu_ms_per_request": client / done * 1000,
        "load_average_1min": os.getloadavg()[0],
        # How the work spread over the API workers (keep-alive connections stay with the
        # worker that accepted them): CPU seconds of each during the run.
        "worker_cpu_s": [round(workers1[k] - workers0.get(k, 0.0), 2) for k in sorted(workers1)],
    }


def worker_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds so far of each API worker process of the server tree, by pid."""
    out: dict[int, float] = {}
    for p in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if "_bentoml_impl.worker" in " ".join(p.cmdline()):
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
    return out


def _own_cpu_s() -> float:
    """CPU seconds (user + system) of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def varied_applications(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` different applications over all industries: equipment lists, names, area-only."""
    from features.catalog import load_catalog

    cat = load_catalog()
    industries = list(cat.industry_codes)
    categories = [c for c in cat.category_codes if c != "fire_pump"]
    names = [e["name"] for e in EQUIPMENT_30 if "category" not in e]
    rng = random.Random(seed)
    apps = []
    for i in range(n):
        app: dict[str, Any] = {"industry": industries[i % len(industries)]}
        if rng.random() < 0.8:
            app["floor_area_m2"] = round(rng.uniform(200, 30_000))
        if rng.random() < 0.7:
            app["employees"] = rng.randint(5, 800)
        if rng.random() < 0.7:
            app["shifts"] = rng.randint(1, 3)
        if rng.random() < 0.7:
            app["climate_zone"] = rng.choice(
                ["severe_cold", "cold", "hot_summer_cold_winter", "hot_summer_warm_winter", "mild"]
            )
        lines = []
        if rng.random() < 0.9 or "floor_area_m2" not in app:
            for _ in range(rng.randint(1, 12)):
                line: dict[str, Any] = {
                    "rated_kw": round(rng.uniform(0.5, 120), 1),
                    "quantity": rng.randint(1, 10),
                }
                if rng.random() < 0.25:
                    line["name"] = rng.choice(names)
                else:
                    line["category"] = rng.choice(categories)
                lines.append(line)
        app["equipment"] = lines
        apps.append(app)
    return apps


def batch(
    base: str, n: int, output: str = "json", detail: str = "summary", pid: int | None = None
) -> dict[str, Any]:
    print(f"batch: {n:,} applications, {output} {detail} ...")
    apps = varied_applications(n)
    cpu_before = tree_cpu_s(pid) if pid is not None else float("nan")
    payload = json.dumps({"applications": apps, "output": output, "detail": detail}).encode()
    with httpx.Client(base_url=base, timeout=600) as client:
        t = time.perf_counter()
        r = client.post(
            "/recommend_batch", content=payload, headers={"content-type": "application/json"}
        )
        seconds = time.perf_counter() - t
    cpu = (tree_cpu_s(pid) - cpu_before) if pid is not None else float("nan")
    r.raise_for_status()
    results = r.json()["n"] if output == "json" else r.text.count("\n") - 1
    return {
        "applications": n,
        "output": output,
        "detail": detail,
        "results": results,
        "request_mb": len(payload) / 1e6,
        "response_mb": len(r.content) / 1e6,
        "seconds": seconds,
        "applications_per_s": n / seconds,
        # Server CPU seconds for the batch (all its threads and processes): on a shared
        # machine, applications per CPU second is the figure other work does not skew.
        "server_cpu_s": cpu,
        "applications_per_cpu_s": n / cpu if cpu > 0 else float("nan"),
    }


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        work = Path(tmp)
        if args.model:
            bundle, origin = Path(args.model).resolve(), "--model"
        elif (champion := default_bundle()) is not None:
            bundle, origin = champion, "champion export"
        else:
            print("no champion export: training a small model (3,000 synthetic customers) ...")
            t = time.perf_counter()
            bundle, origin = build_small_bundle(work), "built here (n=3000, seed=5)"
            print(f"  trained in {time.perf_counter() - t:.1f} s")
        meta = json.loads((bundle / "metadata.json").read_text(encoding="utf-8"))
        home = work / "server"
        home.mkdir()
        print(f"starting {SERVICE} with {bundle} ...")
        one_home = work / "server-1"
        one_home.mkdir()
        one: dict[str, list[dict[str, float]]] = {"recommend": [], "trivial": []}
        print("one worker (CAPACITY_WORKERS=1): the baseline of the scaling figure ...")
        with served(bundle, one_home, {"CAPACITY_WORKERS": "1"}) as (base, proc, _):
            latency(base, 1, args.warmup)  # warm-up
            for clients in args.clients:
                for name, path, body in (
                    ("recommend", "/recommend", APPLICATION_30),
                    ("trivial", "/trivial", {}),
                ):
                    print(f"  throughput: {name}, {clients} client(s), {args.seconds:g} s ...")
                    one[name].append(throughput(base, path, body, clients, args.seconds, proc.pid))
        # Said explicitly: the tests' launcher runs one worker unless told otherwise, and
        # 0 is the service's own default (one per CPU).
        workers_env = {"CAPACITY_WORKERS": str(args.workers)}
        with served(bundle, home, workers_env) as (base, proc, cold):
            print(f"  ready after {cold:.2f} s")
            rss_ready = tree_rss_mib(proc.pid)
            n_workers = sum(k.startswith("worker:") for k in rss_ready)
            print(f"  {n_workers} worker(s)")
            print(f"latency: {args.requests} requests per endpoint, one client ...")
            lat = latency(base, args.requests, args.warmup)
            print(f"server CPU per request: {args.requests} requests per endpoint ...")
            cpu = cpu_per_request(proc.pid, base, args.requests)
            tput: dict[str, list[dict[str, float]]] = {"recommend": [], "trivial": []}
            for clients in args.clients:
                for name, path, body in (
                    ("recommend", "/recommend", APPLICATION_30),
                    ("trivial", "/trivial", {}),
                ):
                    print(f"throughput: {name}, {clients} client(s), {args.seconds:g} s ...")
                    tput[name].append(throughput(base, path, body, clients, args.seconds, proc.pid))
            bat, bat_csv, bat_full = (
                batch(base, args.batch, pid=proc.pid),
                batch(base, args.batch, output="csv", pid=proc.pid),
                batch(base, args.batch_full, detail="full", pid=proc.pid),
            )
            # Steady state: the service hands a batch's freed memory back to the system
            # 2 s after answering it (serving/memory.py).
            rss_peak = tree_rss_mib(proc.pid)
            time.sleep(3.0)
            rss_after = tree_rss_mib(proc.pid)
            overload: list[dict[str, Any]] = []
            if args.overload_seconds > 0:
                from benchmarks.bench_overload import run_levels

                print(f"overload: 64 and 256 clients, {args.overload_seconds:g} s each ...")
                overload = run_levels(base, args.overload_seconds, proc.pid)
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gib": psutil.virtual_memory().total / 2**30,
            # Other work on the machine skews every figure: the 1-minute load average
            # before and after the run says how busy it was (0 = idle).
            "load_average_1min_before": load_before[0],
            "load_average_1min_after": os.getloadavg()[0],
        },
        "model": {
            "bundle": str(bundle),
            "origin": origin,
            "model_version": meta.get("model_version"),
        },
        "recommend_body": {
            "equipment_lines": len(EQUIPMENT_30),
            "by_name": sum("category" not in e for e in EQUIPMENT_30),
        },
        "cold_start_s": cold,
        "server_cpu_ms_per_request": cpu,
        "latency_1_client": lat,
        "latency_ratio_p50_recommend_over_trivial": lat["recommend"]["p50_ms"]
        / lat["trivial"]["p50_ms"],
        "throughput": tput,
        "throughput_ratio_recommend_over_trivial": {
            str(r["clients"]): r["req_per_s"] / t["req_per_s"]
            for r, t in zip(tput["recommend"], tput["trivial"], strict=True)
        },
        "batch": bat,
        "batch_csv": bat_csv,
        "batch_full": bat_full,
        "rss_mib": {
            "after_ready": rss_ready,
            "right_after_load": rss_peak,
            "after_load": rss_after,
        },
        "workers": n_workers,
        "one_worker_throughput": one,
        "overload": overload,
    }
    results["goals"] = goals(results)
    return results


def goals(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue-27 goals, each as (figure, measured, target, met), from one run."""
    lat = res["latency_1_client"]
    rec, triv = lat["recommend"], lat["trivial"]
    one = {r["clients"]: r["req_per_s"] for r in res["one_worker_throughput"]["recommend"]}
    many = {r["clients"]: r["req_per_s"] for r in res["throughput"]["recommend"]}
    nan = float("nan")
    rows: list[dict[str, Any]] = [
        {
            "goal": "/recommend p50 / /trivial p50",
            "measured": rec["p50_ms"] / triv["p50_ms"],
            "target": "<= 1.5",
            "met": rec["p50_ms"] / triv["p50_ms"] <= 1.5,
        },
        {
            "goal": "  same, server CPU per request (shared-machine proof)",
            "measured": res["server_cpu_ms_per_request"]["recommend"]
            / res["server_cpu_ms_per_request"]["trivial"],
            "target": "(context)",
            "met": None,
        },
        {
            "goal": "/recommend p99 / /trivial p99",
            "measured": rec["p99_ms"] / triv["p99_ms"],
            "target": "<= 2",
            "met": rec["p99_ms"] / triv["p99_ms"] <= 2.0,
        },
    ]
    if 4 in one and 4 in many:
        rows.append(
            {
                "goal": f"throughput at 4 clients: {res['workers']} workers / one worker "
                f"({many[4]:.0f} / {one[4]:.0f} req/s)",
                "measured": many[4] / one[4],
                "target": ">= 1.8",
                "met": many[4] / one[4] >= 1.8,
            }
        )
    if 4 in one and 4 in many:
        one4 = next(r for r in res["one_worker_throughput"]["recommend"] if r["clients"] == 4)
        many4 = next(r for r in res["throughput"]["recommend"] if r["clients"] == 4)
        rows.append(
            {
                "goal": f"  cores used at 4 clients: server {one4.get('server_cores', nan):.2f} "
                f"(one worker) / {many4.get('server_cores', nan):.2f}, client "
                f"{many4.get('client_cores', nan):.2f}; load {many4.get('load_average_1min', nan):.1f}",
                "measured": many4.get("server_cores", nan) / one4.get("server_cores", nan),
                "target": "(context)",
                "met": None,
            }
        )
    rows.extend(overload_goals(res.get("overload") or []))
    b, full = res["batch"], res["batch_full"]
    rows.append(
        {
            "goal": f"/recommend_batch {b['applications']:,}, summary, applications/s",
            "measured": b["applications_per_s"],
            "target": ">= 5000",
            "met": b["applications_per_s"] >= 5000,
        }
    )
    rows.append(
        {
            "goal": "  same, applications per server CPU second",
            "measured": b["applications_per_cpu_s"],
            "target": "(context)",
            "met": None,
        }
    )
    rows.append(
        {
            "goal": "explanations (detail=full): time per application / summary's",
            "measured": (full["seconds"] / full["applications"])
            / (b["seconds"] / b["applications"]),
            "target": "(reported)",
            "met": None,
        }
    )
    workers = [v for k, v in res["rss_mib"]["after_load"].items() if k.startswith("worker:")]
    rows.append(
        {
            "goal": "RSS per worker after load, MiB (largest)",
            "measured": max(workers) if workers else float("nan"),
            "target": "<= 400",
            "met": bool(workers) and max(workers) <= 400,
        }
    )
    return rows


def overload_goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The overload goals of issue 27 from ``bench_overload.run_levels``'s rows."""
    if not rows:
        return []
    from benchmarks.bench_overload import summary

    s = summary(rows)
    goals = [
        {
            "goal": "overload: connection errors + unanswered (all levels)",
            "measured": float(s["connection_errors"]),
            "target": "0",
            "met": s["connection_errors"] == 0,
        },
        {
            "goal": "overload: p99 of answered /recommend, ms (worst of 64, 256)",
            "measured": s["worst_answered_p99_ms"],
            "target": "<= 1000",
            "met": s["worst_answered_p99_ms"] <= 1000,
        },
        {
            "goal": f"overload: 503s later than 100 ms, of {s['shed']:,} (all with "
            f"Retry-After + JSON: {s['shed_malformed'] == 0})",
            "measured": float(s["shed_over_100ms"]),
            "target": "0",
            "met": s["shed_over_100ms"] == 0 and s["shed_malformed"] == 0,
        },
        {
            "goal": "  same, worst p99 of the time to 503, ms",
            "measured": s["worst_shed_p99_ms"],
            "target": "(context)",
            "met": None,
        },
        {
            "goal": f"overload: probes that failed (slowest {s['worst_probe_ms']:.0f} ms)",
            "measured": float(s["probe_failures"]),
            "target": "0",
            "met": s["probe_failures"] == 0,
        },
    ]
    return goals


def print_table(res: dict[str, Any]) -> None:
    lat = res["latency_1_client"]
    rows = [
        ("model", f"{res['model']['model_version']} ({res['model']['origin']})"),
        (
            "machine",
            f"{res['machine']['cpus']} CPUs, Python {res['machine']['python']}, load average "
            f"{res['machine']['load_average_1min_before']:.2f} before, "
            f"{res['machine']['load_average_1min_after']:.2f} after",
        ),
        ("cold start to /readyz 200", f"{res['cold_start_s']:.2f} s"),
    ]
    for name in ("recommend", "trivial"):
        s = lat[name]
        rows.append(
            (
                f"latency /{name}, 1 client (n={s['n']})",
                f"p50 {s['p50_ms']:.2f} ms  p90 {s['p90_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  "
                f"mean {s['mean_ms']:.2f} ms",
            )
        )
    rows.append(
        (
            "latency ratio p50 recommend/trivial",
            f"{res['latency_ratio_p50_recommend_over_trivial']:.1f}x",
        )
    )
    for rec, triv in zip(res["throughput"]["recommend"], res["throughput"]["trivial"], strict=True):
        c = rec["clients"]
        rows.append(
            (
                f"throughput, {c:>2} client(s)",
                f"recommend {rec['req_per_s']:7.1f} req/s   trivial {triv['req_per_s']:7.1f} req/s   "
                f"ratio {rec['req_per_s'] / triv['req_per_s']:.3f}   cores (recommend) server "
                f"{rec.get('server_cores', float('nan')):.2f} client "
                f"{rec.get('client_cores', float('nan')):.2f} workers' CPU s "
                f"{rec.get('worker_cpu_s')}"
                + (
                    f"   errors {rec['errors'] + triv['errors']}"
                    if rec["errors"] + triv["errors"]
                    else ""
                ),
            )
        )
    for rec, triv in zip(
        res["one_worker_throughput"]["recommend"],
        res["one_worker_throughput"]["trivial"],
        strict=True,
    ):
        rows.append(
            (
                f"one worker: throughput, {rec['clients']:>2} client(s)",
                f"recommend {rec['req_per_s']:7.1f} req/s   trivial {triv['req_per_s']:7.1f} req/s   "
                f"cores (recommend) server {rec.get('server_cores', float('nan')):.2f} client "
                f"{rec.get('client_cores', float('nan')):.2f}"
                + (f"   errors {rec['errors'] + triv['errors']}" if rec["errors"] else ""),
            )
        )
    for key in ("batch", "batch_csv", "batch_full"):
        b = res[key]
        rows.append(
            (
                f"/recommend_batch, {b['applications']:,} applications, {b['output']} {b['detail']}",
                f"{b['seconds']:.2f} s ({b['applications_per_s']:,.0f}/s, "
                f"{b['applications_per_cpu_s']:,.0f} per server CPU s; request "
                f"{b['request_mb']:.1f} MB, response {b['response_mb']:.1f} MB)",
            )
        )
    for when in ("after_ready", "right_after_load", "after_load"):
        rss = res["rss_mib"][when]
        parts = ", ".join(f"{k.split(':')[0]} {v:.0f}" for k, v in rss.items() if k != "total")
        rows.append(
            (
                f"RSS of the server tree, {when.replace('_', ' ')}",
                f"{rss['total']:.0f} MiB ({parts})",
            )
        )
    c = res["server_cpu_ms_per_request"]
    rows.append(
        (
            "server CPU per request",
            f"recommend {c['recommend']:.2f} ms   trivial {c['trivial']:.2f} ms   "
            f"ratio {c['recommend'] / c['trivial']:.2f}",
        )
    )
    rows.append(("API workers of the measured server", str(res["workers"])))
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if res.get("overload"):
        from benchmarks.bench_overload import show

        print(
            f"\noverload ({res['workers']} workers, lean asyncio client, 50 ms back-off after a 503):"
        )
        for row in res["overload"]:
            show(row)
    print("\ngoals (issue 27), measured in this run:")
    width = max(len(g["goal"]) for g in res["goals"])
    for g in res["goals"]:
        met = {True: "met", False: "NOT met", None: ""}[g["met"]]
        print(f"  {g['goal']:<{width}}  {g['measured']:10.2f}  {g['target']:<10}  {met}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model bundle directory (default: the champion export)")
    parser.add_argument("--requests", type=int, default=300, help="latency requests per endpoint")
    parser.add_argument("--warmup", type=int, default=30, help="warm-up requests per endpoint")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="duration of each throughput run"
    )
    parser.add_argument(
        "--clients",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 4, 16],
        help="e.g. 1,4,16",
    )
    parser.add_argument(
        "--batch", type=int, default=10_000, help="applications in the batch request"
    )
    parser.add_argument(
        "--batch-full",
        type=int,
        default=1_000,
        help="applications in the batch answered with every explanation (detail=full)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="API workers of the measured server (0: the CPUs)"
    )
    parser.add_argument(
        "--overload-seconds",
        type=float,
        default=10.0,
        help="seconds of each overload level (64, 256 clients; benchmarks/bench_overload.py); 0: skip",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    results = run(args)
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return results


if __name__ == "__main__":
    main()
