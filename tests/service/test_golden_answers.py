"""Answers stay byte-identical: a fixed set of requests against a golden file.

The golden file (``tests/service/golden/answers.json``) was written by this test from the
code as it stood before the speed work of issue 27 (fast paths for parsing, matching,
explanations, batch), on the session's fixture bundle (``bundle_dir``: 2,500 synthetic
customers, seed 3, model seed 0, one thread; training is bit-deterministic,
``tests/model/test_golden.py``). Every speed-up must give the same bytes for the same
bundle: the full ``/recommend`` and ``/check`` bodies, the ``/recommend_batch`` JSON
summary, full and CSV bodies. Only what is issued per request (recommendation ids) is
masked. The ``detail=full`` batch body is kept as its SHA-256 (the file stays small).

Regenerated once, at the merge of issue 21 (existing customers): main's code without the
speed work, exported with ``git archive main`` and run with this test in
``CAPACITY_WRITE_GOLDEN=1`` mode; its answers equal the first file's but for the new
``existing`` field (null for a new connection) and the CSV's new column.

Regenerated for issue 23 (branch h23s, ``ModelConfig.area_prior_from_lists`` on): the
fixture's area multipliers change, so every body's probabilities and intervals move; the
recommended capacity of 4 of the 48 ``/recommend`` requests changes (3 area-only
applications: 2,000 → 2,500, 160 → 63, 20,000 → 12,500 kVA; one equipment list 2,500 →
2,000), none of the 12 ``/check`` answers' recommended capacity.

Regenerated for issue 23 (``ModelConfig.factor_prior_rows_by_cv`` on): the fixture's
demand factors are pulled towards their prior with strengths chosen by held-out folds, so
every body's peaks, probabilities and intervals move; the recommended capacity of 7 of the
48 ``/recommend`` requests changes (all equipment lists: 5,000 → 6,250, 1,600 → 1,250
twice, 63 → 50, 2,000 → 2,500, 2,000 → 1,600, 3,750 → 2,500 kVA).

A deliberate change of answers (a new rule, a retrained fixture) rewrites the file:
``CAPACITY_WRITE_GOLDEN=1 .venv/bin/python -m pytest tests/service/test_golden_answers.py``,
and the diff of the file is the review of what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from features.catalog import load_catalog
from serving.examples import EXAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.live]

GOLDEN = Path(__file__).parent / "golden" / "answers.json"
WRITE = os.environ.get("CAPACITY_WRITE_GOLDEN", "") == "1"
# Recommendation ids (uuid4 hex, with or without dashes) are issued per request.
_ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")

NAMES = [
    "数控车床 CK6140",
    "螺杆空压机 37kW",
    "10t 行车",
    "摇臂钻床",
    "冷却塔风机",
    "冷水机组",
    "注塑机 HT-160",
    "laser cutting machine",
    "搅拌机",
    "LED照明",
]


def fixed_applications(n: int = 40, seed: int = 11) -> list[dict[str, Any]]:
    """``n`` varied applications (all industries, names, area-only, unmatched, design)."""
    cat = load_catalog()
    industries = sorted(cat.industry_codes)
    categories = sorted(c for c in cat.category_codes if c != "fire_pump")
    rng = random.Random(seed)
    apps: list[dict[str, Any]] = [dict(a) for a in EXAMPLES.values()]
    for i in range(n):
        app: dict[str, Any] = {"industry": industries[i % len(industries)]}
        if rng.random() < 0.8:
            app["floor_area_m2"] = float(round(rng.uniform(200, 30_000)))
        if rng.random() < 0.7:
            app["employees"] = rng.randint(5, 800)
        if rng.random() < 0.7:
            app["shifts"] = rng.randint(1, 3)
        if rng.random() < 0.6:
            app["climate_zone"] = rng.choice(
                ["severe_cold", "cold", "hot_summer_cold_winter", "hot_summer_warm_winter", "mild"]
            )
        lines: list[dict[str, Any]] = []
        if rng.random() < 0.85 or "floor_area_m2" not in app:
            for _ in range(rng.randint(1, 14)):
                line: dict[str, Any] = {
                    "rated_kw": round(rng.uniform(0.5, 150), 1),
                    "quantity": rng.randint(1, 12),
                }
                if rng.random() < 0.3:
                    line["name"] = rng.choice(NAMES)
                else:
                    line["category"] = rng.choice(categories)
                if rng.random() < 0.08:
                    line["standby"] = True
                lines.append(line)
        app["equipment"] = lines
        apps.append(app)
    # Names people use for an industry, a line no category matches (counted as asked),
    # and planner design options.
    apps.append({**EXAMPLES["machinery_workshop"], "industry": "机加工"})
    apps.append(
        {
            "industry": "food",
            "floor_area_m2": 2500.0,
            "unmatched": "other_motor",
            "equipment": [
                {"name": "xyzzy frobnicator", "rated_kw": 12, "quantity": 2},
                {"category": "refrigeration_compressor", "rated_kw": 30, "quantity": 2},
            ],
        }
    )
    apps.append(
        {
            **EXAMPLES["office_building"],
            "design": {"load_class": "II", "growth_pct": 10},
        }
    )
    # A very large and a very small site (bounds and clamps).
    apps.append(
        {
            "industry": "foundry",
            "floor_area_m2": 20000.0,
            "equipment": [{"category": "induction_furnace", "rated_kw": 2000, "quantity": 4}],
        }
    )
    apps.append(
        {
            "industry": "restaurant",
            "equipment": [{"category": "lighting", "rated_kw": 1, "quantity": 2}],
        }
    )
    return apps


def _masked(text: str) -> str:
    return _ID.sub("<id>", text)


def _answers(client: httpx.Client) -> dict[str, Any]:
    apps = fixed_applications()
    out: dict[str, Any] = {"recommend": [], "check": [], "batch": {}}
    for app in apps:
        r = client.post("/recommend", json=app)
        assert r.status_code == 200, r.text
        out["recommend"].append(_masked(r.text))
    for app in apps[:4]:
        for proposed in (250.0, 630.0, 1600.0):
            r = client.post("/check", json={"application": app, "proposed_kva": proposed})
            assert r.status_code == 200, r.text
            out["check"].append(_masked(r.text))
    for output, detail in (("json", "summary"), ("csv", "summary"), ("json", "full")):
        r = client.post(
            "/recommend_batch", json={"applications": apps, "output": output, "detail": detail}
        )
        assert r.status_code == 200, r.text
        text = _masked(r.content.decode("utf-8"))
        if detail == "full":
            # Every explanation of every application (0.7 MB): kept as its digest.
            text = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        out["batch"][f"{output}-{detail}"] = text
    return out


def test_answers_are_byte_identical_to_the_golden_file(client: httpx.Client) -> None:
    got = _answers(client)
    if WRITE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip(f"golden file written: {GOLDEN}")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(got["recommend"]) == len(want["recommend"])
    for k, (g, w) in enumerate(zip(got["recommend"], want["recommend"], strict=True)):
        assert g == w, f"/recommend answer {k} differs from the golden file"
    for k, (g, w) in enumerate(zip(got["check"], want["check"], strict=True)):
        assert g == w, f"/check answer {k} differs from the golden file"
    assert got["batch"].keys() == want["batch"].keys()
    for name in want["batch"]:
        assert got["batch"][name] == want["batch"][name], f"/recommend_batch {name} differs"


def test_the_golden_file_covers_every_kind_of_answer() -> None:
    """The fixed set is not trivially small: several bases, fallbacks, clamps, names."""
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    recs = [json.loads(t) for t in want["recommend"]]
    assert len(recs) >= 40
    assert {r["basis"] for r in recs} >= {"equipment", "area"}
    assert any(m["source"] == "name" for r in recs for m in r["matches"])
    assert any(m["source"] == "assumed" for r in recs for m in r["matches"])
    assert any(r["industry_match"]["source"] == "name" for r in recs)
    assert len({r["recommended_kva"] for r in recs}) >= 8
