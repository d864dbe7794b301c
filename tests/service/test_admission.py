"""Admission control through ``bentoml serve``: with the bound taken, work is 503, probes answer.

A server with one worker and one slot (``CAPACITY_MAX_CONCURRENCY=1``). A raw socket
sends a request's head and half of its body: the gate admits it and the body guard waits
for the rest, so the slot stays taken for as long as the test keeps the socket open (no
clock, no race on how long an answer takes). Meanwhile every work route, the page's
``/api/match`` and a path no route serves answer 503 with ``Retry-After``, the service's
JSON error body and the security headers, while ``/healthz``, ``/livez``, ``/readyz``,
``/metrics``, ``/model`` and the page answer 200; the shed requests are counted on
``/metrics``. Closing the socket frees the slot and the same request is answered.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from serving.examples import MACHINERY_WORKSHOP
from tests.service.conftest import ResponseLog, Server, make_client, running_server, server_env

pytestmark = pytest.mark.live

WORK = [
    ("POST", "/recommend", MACHINERY_WORKSHOP),
    ("POST", "/check", {"application": MACHINERY_WORKSHOP, "proposed_kva": 400}),
    ("POST", "/recommend_batch", {"applications": [MACHINERY_WORKSHOP]}),
    ("POST", "/export/sheet", {"application": MACHINERY_WORKSHOP, "format": "xlsx"}),
    ("POST", "/export/batch", {"csv": "customer_id,status\nc1,ok\n"}),
    ("POST", "/feedback", {"recommendation_id": "0" * 32}),
    ("POST", "/api/match", {"items": [{"text": "螺杆空压机", "rated_kw": 37}]}),
    ("GET", "/api/match?text=%E6%B0%B4%E6%B3%B5", None),
    ("POST", "/no-such-route", {}),
]
FREE = ["/healthz", "/livez", "/readyz", "/metrics", "/model", "/", "/api/catalog"]


@pytest.fixture(scope="module")
def one_slot_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One worker with one admission slot; a long wait allowed would only slow the test."""
    home = tmp_path_factory.mktemp("admission-server")
    env = server_env(
        home,
        bundle_dir,
        {
            "CAPACITY_WORKERS": "1",
            "CAPACITY_MAX_CONCURRENCY": "1",
            "CAPACITY_QUEUE_TIMEOUT_MS": "50",
            "CAPACITY_RELOAD_SECONDS": "0",
        },
    )
    with running_server("admission", home, env, ready=(200,)) as server:
        yield server


def _hold_the_slot(server: Server) -> socket.socket:
    """A /recommend whose body is half sent: admitted, then waiting for the rest."""
    url = urlsplit(server.base_url)
    body = json.dumps(MACHINERY_WORKSHOP).encode()
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sock.sendall(
        f"POST /recommend HTTP/1.1\r\nHost: {url.hostname}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[: len(body) // 2]
    )
    return sock


def _shed_count(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("capacity_shed_requests_total{")
    )


def test_with_the_slot_taken_work_is_shed_and_probes_answer(
    one_slot_server: Server, response_log: ResponseLog
) -> None:
    since = len(response_log.entries)
    with make_client(one_slot_server, response_log) as client:
        assert client.post("/recommend", json=MACHINERY_WORKSHOP).status_code == 200
        shed_before = _shed_count(client)
        holder = _hold_the_slot(one_slot_server)
        try:
            # The gate admits the held request when the server reads its head: until then
            # a work request may still be served, so ask until one is refused.
            for _ in range(200):
                first = client.post("/recommend", json=MACHINERY_WORKSHOP)
                if first.status_code == 503:
                    break
                assert first.status_code == 200, first.text
            assert first.status_code == 503, "the held request never took the slot"
            for method, path, body in WORK:
                answer = client.request(method, path, json=body)
                assert answer.status_code == 503, (path, answer.status_code, answer.text)
                assert answer.headers["retry-after"] == "1"
                assert answer.headers["content-type"].startswith("application/json")
                assert answer.headers["x-content-type-options"] == "nosniff"
                error = answer.json()["errors"][0]
                assert set(error) == {"field", "value", "expected", "message"}
                assert "busy" in error["message"]
            for path in FREE:
                assert client.get(path).status_code == 200, path
            assert client.get("/readyz").json()["ready"] is True
            assert _shed_count(client) >= shed_before + 1 + len(WORK)
        finally:
            holder.close()
        # The slot frees when the held request ends (its client went away).
        for _ in range(200):
            answer = client.post("/recommend", json=MACHINERY_WORKSHOP)
            if answer.status_code == 200:
                break
        assert answer.status_code == 200, answer.text
    assert not response_log.unexpected_500s(since)
