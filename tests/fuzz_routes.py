"""Fuzzed requests for every route of the served OpenAPI document (one generator).

Used by ``tests/service/test_every_route.py`` (a bounded run in the test suite) and by
``benchmarks/fuzz_routes.py`` (10,000 requests, figures printed). The routes come from
the running server's ``/docs.json``, not from a list here, so a route added later is
fuzzed without anyone remembering to add it (a unit test keeps the document complete:
``tests/unit/test_openapi_routes.py``).

Each case is a dict of :meth:`httpx.Client.request` arguments. The cases are what broke
the service before: lone UTF-16 surrogates, NaN/Infinity, deep nesting, a CR inside a
CSV cell, a 300-character upload file name, wrong or missing content types, a foreign
Origin, invalid UTF-8, huge texts and numbers, and random mutations of a valid example.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

Operation = tuple[str, str]
"""(METHOD, path) of one documented operation."""

NASTY_VALUES: tuple[Any, ...] = (
    None,
    -1,
    0,
    1e308,
    -1e308,
    2**63,
    "",
    "x" * 5000,
    '=HYPERLINK("http://x")',
    "\u0000",
    "a\rb",
    "名" * 300,
    [],
    {},
    [[[]]],
    True,
    "NaN",
    "Infinity",
)
RAW_BODIES: tuple[bytes, ...] = (
    b'{"a": "\\ud800"}',
    b'{"industry": "\\udfff", "floor_area_m2": 100}',
    b'{"a": Infinity}',
    b'{"floor_area_m2": NaN}',
    b"[1e999]",
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 200 + b"1" + b"}" * 200,
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"{}",
    b'{"a": "\xff\xfe"}',
    b"{'single': 'quotes'}",
    b'{"items": [' + b'{"text": "x"},' * 600 + b'{"text": "y"}]}',
)
CONTENT_TYPES = (
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "",
    "application/json; charset=latin-1",
)
QUERY_VALUES = (
    "%ED%A0%80",  # a lone surrogate, UTF-8-encoded (invalid UTF-8)
    "%FF%FE",
    "Infinity",
    "NaN",
    "-1",
    "1e999",
    "x" * 3000,
    "%3D1%2B2",
    "%0D%0A",
    "",
    "%00",
)
"""Query values, already percent-encoded (sent as they are)."""


def operations(doc: dict[str, Any]) -> list[Operation]:
    """Every (METHOD, path) of an OpenAPI document."""
    ops = []
    for path, item in sorted(doc.get("paths", {}).items()):
        for method in sorted(item):
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method.upper(), path))
    return ops


def _example(doc: dict[str, Any], method: str, path: str) -> Any:
    op = doc["paths"][path][method.lower()]
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
    if "example" in content:
        return copy.deepcopy(content["example"])
    for ex in (content.get("examples") or {}).values():
        if isinstance(ex, dict) and "value" in ex:
            return copy.deepcopy(ex["value"])
    return {}


def _leaves(node: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*trail, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*trail, index))
    if trail:
        yield trail


def _mutate(example: Any, rng: random.Random) -> Any:
    body = copy.deepcopy(example)
    spots = list(_leaves(body))
    for _ in range(rng.randint(1, 3)):
        if not spots:
            return rng.choice(NASTY_VALUES)
        trail = rng.choice(spots)
        node = body
        for key in trail[:-1]:
            node = node[key]
        try:
            node[trail[-1]] = rng.choice(NASTY_VALUES)
        except (TypeError, IndexError, KeyError):
            pass
        spots = list(_leaves(body))
    return body


def _csv_with_cr() -> bytes:
    return (
        b"customer_id,industry,climate_zone,floor_area_m2,employees,shifts\r\n"
        b'"c\r1",machinery,cold,5000,80,2\r\n'
        b'c2,"food\rx",cold,"12\r00",10,1\r\n'
    )


def _multipart_cases(rng: random.Random) -> list[dict[str, Any]]:
    long_name = "名" * 100 + "a" * 200 + ".csv"
    equipment = b'customer_id,line_no,name,category,rated_kw,quantity\r\nc1,1,"pump\r",pump,1,1\r\n'
    return [
        {"files": {"customers": ("c.csv", _csv_with_cr(), "text/csv")}},
        {
            "files": {
                "customers": ("c.csv", _csv_with_cr(), "text/csv"),
                "equipment": ("e.csv", equipment, "text/csv"),
            },
            "data": {"output": "csv"},
        },
        {"files": {"customers": (long_name, _csv_with_cr(), "text/csv")}},
        {"files": {"customers": ("x" * 300, b"a,b\n1,2\n", "text/csv")}},
        {"files": {"workbook": ("w.xlsx", bytes(rng.randrange(256) for _ in range(2000)))}},
        {"files": {"workbook": ("w.xlsx", b"PK\x03\x04" + b"\x00" * 100)}},
        {"files": {"customers": ("c.csv", b"\xff\xfe\x00garbage\x00", "text/csv")}},
        {"files": {"customers": ("c.csv", b"," * 50_000 + b"\n", "text/csv")}},
        {"files": {"customers": (None, "http://169.254.169.254/")}},
        {"files": {"unknown": ("u.csv", b"a\n1\n")}},
        {"files": {"customers": ("c.csv", _csv_with_cr())}, "data": {"detail": "名" * 500}},
    ]


def cases(
    doc: dict[str, Any], method: str, path: str, n: int, seed: int = 0
) -> list[dict[str, Any]]:
    """``n`` requests for one operation (fixed hard cases first, then random ones)."""
    rng = random.Random(f"{seed}:{method}:{path}")
    out: list[dict[str, Any]] = []
    if method == "GET":
        params = doc["paths"][path]["get"].get("parameters") or []
        names = [p["name"] for p in params] or ["q"]
        for value in QUERY_VALUES:
            query = "&".join(f"{name}={value}" for name in names)
            out.append({"method": "GET", "url": f"{path}?{query}"})
        while len(out) < n:
            query = "&".join(
                f"{name}={rng.choice((*QUERY_VALUES, '1', 'machinery'))}" for name in names
            )
            out.append({"method": "GET", "url": f"{path}?{query}"})
        return out[:n]
    json_headers = {"content-type": "application/json"}
    for raw in RAW_BODIES:
        out.append({"method": method, "url": path, "content": raw, "headers": json_headers})
    for ctype in CONTENT_TYPES:
        out.append(
            {"method": method, "url": path, "content": b"a=1", "headers": {"content-type": ctype}}
        )
    example = _example(doc, method, path)
    out.append(
        {
            "method": method,
            "url": path,
            "json": example,
            "headers": {"origin": "https://evil.example"},
        }
    )
    out.extend({"method": method, "url": path, **case} for case in _multipart_cases(rng))
    if path == "/export/batch":
        out.append({"method": method, "url": path, "json": {"csv": _csv_with_cr().decode()}})
        out.append({"method": method, "url": path, "json": {"csv": "a\rb," * 20_000}})
    while len(out) < n:
        body = _mutate(example, rng)
        out.append(
            {
                "method": method,
                "url": path,
                "content": json.dumps(body, ensure_ascii=rng.random() < 0.5).encode(
                    "utf-8", "surrogatepass"
                ),
                "headers": json_headers,
            }
        )
    return out[:n] if n >= len(out) else rng.sample(out, n)
