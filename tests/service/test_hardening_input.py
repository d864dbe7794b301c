"""Hardening of the inputs (issue findings 1, 4, 6, 9 and 11), against the real server.

* (1) plausibility limits on totals: the 1 KB request that installed 2×10¹⁰ kW is a 400;
* (4) lone surrogates, deep nesting, lax types and wrong Content-Types are clean 4xx
  answers, and every error body (404 and 405 included) is the service's JSON with human
  wording in ``expected``;
* (9) sensible lower and upper bounds on floor area, proposed and granted capacity;
* (6) unknown paths share one metrics label: /metrics does not grow per 404 path;
* (11) /trivial only for benchmarks, security headers everywhere, telemetry off;
* a bounded schemathesis run against the served OpenAPI document: no 5xx, none slow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode

from features.contract import INSTALLED_KW_MAX

REPO_ROOT = Path(__file__).resolve().parents[2]
JSON = {"content-type": "application/json"}
LINE = {"category": "machine_tool", "rated_kw": 7.5, "quantity": 2}
APP = {"industry": "machinery", "equipment": [LINE]}
RAW_CODE = re.compile(r"^[a-z]+(_[a-z]+)+$")  # e.g. finite_number, float_type
FUZZ_EXAMPLES = 120
"""Examples per endpoint and generation mode of the schemathesis run (bounded for time)."""
SLOW_S = 2.0


def errors_of(r: httpx.Response, status: int = 400) -> list[dict[str, Any]]:
    """The error items of a JSON error answer with ``status``; each item well-formed."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.text[:200]
    items = r.json()["errors"]
    assert items
    for item in items:
        assert set(item) >= {"field", "value", "expected", "message"}, item
        assert not RAW_CODE.match(str(item["expected"])), item
    return list(items)


def post_raw(client: httpx.Client, path: str, raw: bytes) -> httpx.Response:
    return client.post(path, content=raw, headers=JSON)


# -- (1) plausibility limits on totals ---------------------------------------------------


@pytest.mark.live
def test_the_oversized_1kb_request_is_a_quick_400(client: httpx.Client) -> None:
    line = {"category": "it_equipment", "rated_kw": 100_000, "quantity": 10_000}
    body = {"industry": "data_center", "equipment": [line] * 20}
    assert len(json.dumps(body)) < 1500
    r = client.post("/recommend", json=body, timeout=30)
    assert r.status_code < 500
    (err,) = errors_of(r)
    assert err["field"] == "equipment"
    assert err["value"] == pytest.approx(2e10)
    assert f"{INSTALLED_KW_MAX:g}" in err["expected"]


@pytest.mark.live
def test_the_total_limit_holds_in_check_and_batch(client: httpx.Client) -> None:
    big = {"industry": "machinery", "equipment": [{**LINE, "rated_kw": 100_000, "quantity": 3}]}
    (err,) = errors_of(client.post("/check", json={"application": big, "proposed_kva": 1000}))
    assert err["field"] == "application.equipment" and err["value"] == pytest.approx(3e5)
    r = client.post("/recommend_batch", json={"applications": [APP, big]})
    (err,) = errors_of(r)
    assert err["field"] == "applications[1].equipment"


@pytest.mark.live
def test_installed_kw_per_m2_is_limited(client: httpx.Client) -> None:
    body = {**APP, "floor_area_m2": 10, "equipment": [{**LINE, "rated_kw": 1000, "quantity": 1}]}
    (err,) = errors_of(client.post("/recommend", json=body))
    assert err["field"] == "equipment" and "per m²" in err["expected"]


@pytest.mark.live
def test_a_large_plausible_application_is_answered(client: httpx.Client) -> None:
    body = {"industry": "machinery", "equipment": [{**LINE, "rated_kw": 500, "quantity": 100}]}
    r = client.post("/recommend", json=body)
    assert r.status_code == 200, r.text[:300]


# -- (4) surrogates, nesting, strict types, Content-Type, JSON error bodies --------------

SURROGATE_BODIES = {
    "/recommend name": ("/recommend", b'{"industry": "machinery", "equipment": '
                        b'[{"name": "\\ud800", "rated_kw": 5}]}'),
    "/recommend industry": ("/recommend", b'{"industry": "\\udfff"}'),
    "/recommend key": ("/recommend", b'{"industry": "office", "\\ud800": 1}'),
    "/check": ("/check", b'{"application": {"industry": "\\ud800x"}, "proposed_kva": 100}'),
    "/recommend_batch": ("/recommend_batch", b'{"applications": [{"industry": "\\ud800"}]}'),
    "/recommend_batch output": ("/recommend_batch", b'{"applications": [], "output": "\\ud800"}'),
}  # fmt: skip


@pytest.mark.live
@pytest.mark.parametrize("case", list(SURROGATE_BODIES), ids=list(SURROGATE_BODIES))
def test_lone_surrogates_are_a_400(client: httpx.Client, case: str) -> None:
    path, raw = SURROGATE_BODIES[case]
    r = client.post(path, content=raw, headers=JSON, timeout=10)
    assert r.status_code < 500
    (err, *_) = errors_of(r)
    assert "surrogate" in err["message"]
    r.content.decode("utf-8")  # the error body itself is valid UTF-8


@pytest.mark.live
@pytest.mark.parametrize("path", ["/recommend", "/check", "/recommend_batch", "/feedback"])
@pytest.mark.parametrize("depth", [40, 499, 100_000])
def test_deep_nesting_is_a_400(client: httpx.Client, path: str, depth: int) -> None:
    raw = b'{"industry": ' + b"[" * depth + b"]" * depth + b"}"
    r = client.post(path, content=raw, headers=JSON, timeout=10)
    assert r.status_code < 500
    (err,) = errors_of(r)
    assert err["field"] == "(body)" and "nested" in err["expected"]


LAX = {
    "rated_kw true": ({**APP, "equipment": [{**LINE, "rated_kw": True}]}, "equipment[0].rated_kw"),
    "rated_kw '1e5'": ({**APP, "equipment": [{**LINE, "rated_kw": "1e5"}]}, "equipment[0].rated_kw"),
    "quantity '2'": ({**APP, "equipment": [{**LINE, "quantity": "2"}]}, "equipment[0].quantity"),
    "quantity 2.5": ({**APP, "equipment": [{**LINE, "quantity": 2.5}]}, "equipment[0].quantity"),
    "standby 'on'": ({**APP, "equipment": [{**LINE, "standby": "on"}]}, "equipment[0].standby"),
    "standby 1": ({**APP, "equipment": [{**LINE, "standby": 1}]}, "equipment[0].standby"),
    "NUL in name": ({**APP, "equipment": [{**LINE, "name": "车床\x00"}]}, "equipment[0].name"),
    "NUL in industry": ({"industry": "office\x00"}, "industry"),
    "industry 5": ({"industry": 5}, "industry"),
    "floor_area '100'": ({**APP, "floor_area_m2": "100"}, "floor_area_m2"),
    "employees true": ({**APP, "employees": True}, "employees"),
    "shifts '2'": ({**APP, "shifts": "2"}, "shifts"),
    "floor_area 1e-300": ({**APP, "floor_area_m2": 1e-300}, "floor_area_m2"),
    "rated_kw 1e-300": ({**APP, "equipment": [{**LINE, "rated_kw": 1e-300}]}, "equipment[0].rated_kw"),
}  # fmt: skip


@pytest.mark.live
@pytest.mark.parametrize("case", list(LAX), ids=list(LAX))
def test_lax_values_are_refused(client: httpx.Client, case: str) -> None:
    body, field = LAX[case]
    errs = errors_of(client.post("/recommend", json=body))
    assert field in [e["field"] for e in errs], errs


@pytest.mark.live
def test_check_proposed_kva_has_bounds_and_a_strict_type(client: httpx.Client) -> None:
    for value, expected in ((1e-300, ">= 1"), (1e300, "<= 1000000"), ("100", "a number")):
        (err,) = errors_of(client.post("/check", json={"application": APP, "proposed_kva": value}))
        assert err["field"] == "proposed_kva"
        assert err["expected"].startswith(expected), err


@pytest.mark.live
def test_feedback_values_have_bounds(client: httpx.Client, feedback_key: str) -> None:
    key = {"x-api-key": feedback_key}
    body = {"recommendation_id": "x", "granted_kva": 1e300, "metered_peak_kw": 100.0}
    (err,) = errors_of(client.post("/feedback", json=body, headers=key))
    assert (err["field"], err["expected"]) == ("granted_kva", "<= 1000000")
    body = {**body, "granted_kva": 250, "metered_peak_kw": True}
    (err,) = errors_of(client.post("/feedback", json=body, headers=key))
    assert err["field"] == "metered_peak_kw"


@pytest.mark.live
def test_nan_is_reported_as_not_a_finite_number(client: httpx.Client) -> None:
    raw = b'{"industry": "office", "floor_area_m2": NaN}'
    (err,) = errors_of(post_raw(client, "/recommend", raw))
    assert (err["field"], err["expected"]) == ("floor_area_m2", "a finite number")


@pytest.mark.live
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/recommend", "text/plain"),
        ("/recommend", "application/x-www-form-urlencoded"),
        ("/recommend", None),
        ("/check", "text/json"),
        ("/recommend", "multipart/form-data; boundary=zz"),
        ("/recommend_batch", "application/xml"),
        ("/feedback", "text/plain"),
    ],
)
def test_a_wrong_content_type_is_415(
    client: httpx.Client, path: str, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post(path, content=json.dumps(APP).encode(), headers=headers)
    (err,) = errors_of(r, 415)
    assert err["field"] == "Content-Type" and "application/json" in err["expected"]


@pytest.mark.live
def test_json_with_a_charset_is_accepted(client: httpx.Client) -> None:
    r = client.post(
        "/recommend",
        content=json.dumps(APP).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200, r.text[:300]


@pytest.mark.live
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("POST", "/no/such/api", 404),
        ("GET", "/static/no-such-file.js", 404),
        ("GET", "/recommend", 405),
        ("PUT", "/check", 405),
    ],
)
def test_404_and_405_are_json_errors(
    client: httpx.Client, method: str, path: str, status: int
) -> None:
    (err,) = errors_of(client.request(method, path), status)
    if status == 405:
        assert "POST" in err["expected"]
    else:
        assert err["value"] == path


# -- (6) metrics: one label for every unknown path ---------------------------------------


@pytest.mark.live
def test_unknown_paths_do_not_grow_the_metrics(client: httpx.Client) -> None:
    client.get(f"/warm-up-{uuid.uuid4().hex}")
    before = len(client.get("/metrics").content)
    for _ in range(200):
        assert client.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}").status_code == 404
    text = client.get("/metrics").text
    assert len(text.encode()) - before < 4096
    assert 'endpoint="/{unknown}"' in text
    assert 'endpoint="/recommend"' in text or "/recommend" not in text


# -- (11) /trivial, security headers, telemetry -----------------------------------------


@pytest.mark.live
def test_trivial_is_a_benchmark_only_endpoint(client: httpx.Client) -> None:
    (err,) = errors_of(client.post("/trivial", json={}), 404)
    assert err["value"] == "/trivial"


@pytest.mark.live
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/", None),
        ("GET", "/docs", None),
        ("GET", "/docs.json", None),
        ("GET", "/static/app.js", None),
        ("GET", "/api/catalog", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("GET", "/no/such", None),
        ("POST", "/recommend", APP),
        ("POST", "/recommend", {"industry": "nope"}),
    ],
)
def test_security_headers_on_every_response(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    r = client.request(method, path, json=body) if body else client.request(method, path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"]
    csp = r.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src and "'unsafe-inline'" not in script_src.group(1)
    assert "frame-ancestors 'none'" in csp


def test_the_page_has_no_inline_script() -> None:
    html = (REPO_ROOT / "serving/web/static/index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)
    assert " style=" not in html and not re.search(r"\son[a-z]+=", html)


@pytest.mark.slow
def test_telemetry_is_off_by_default() -> None:
    env = {k: v for k, v in os.environ.items() if "TRACK" not in k and "TELEMETRY" not in k}
    code = (
        "import os, serving.service; "
        "print(os.environ['BENTOML_DO_NOT_TRACK'], os.environ['MLFLOW_DISABLE_TELEMETRY'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "true"]
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    serve = makefile.split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "BENTOML_DO_NOT_TRACK=True" in serve and "MLFLOW_DISABLE_TELEMETRY=true" in serve


# -- bounded property run against the served OpenAPI document -------------------------


@pytest.mark.live
@pytest.mark.parametrize("path", ["/recommend", "/check", "/recommend_batch"])
def test_schemathesis_no_5xx_and_none_slow(live_server: Any, path: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.base_url}/docs.json")
    operation = schema[path]["POST"]
    session = requests.Session()
    bad: list[str] = []
    slow: list[str] = []
    count = 0

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, media_type="application/json"))
        def run(case: Any) -> None:
            nonlocal count
            started = time.perf_counter()
            response = case.call(session=session, timeout=30)
            elapsed = time.perf_counter() - started
            count += 1
            if response.status_code >= 500:
                bad.append(f"{response.status_code} {case.body!r:.300} -> {response.text[:300]}")
            if elapsed > SLOW_S:
                slow.append(f"{elapsed:.2f} s {case.body!r:.300}")

        run()
    assert count >= FUZZ_EXAMPLES
    assert bad == [], bad[:5]
    assert slow == [], slow[:5]
