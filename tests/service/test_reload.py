"""A promotion reaches the running service: atomic export, the model watcher, hot swap.

Unit tests drive :class:`serving.reload.ModelWatcher` by hand (``check()``) and through its
thread; the end-to-end test runs a real ``bentoml serve`` that starts without a model,
picks one up, swaps to a second while requests keep coming, and keeps serving it when a
third (corrupted) one is exported.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import training.registry.store as registry
from serving.examples import MACHINERY_WORKSHOP
from serving.model.bundle import BundleError, switch_champion
from serving.reload import DEFAULT_RELOAD_SECONDS, LoadedModel, ModelWatcher, fingerprint
from serving.settings import Settings
from tests.service.conftest import (
    ResponseLog,
    make_client,
    server_env,
    start_server,
    stop_server,
    wait_until,
)

V = "capacity-recommender:v"


def _corrupt(path: Path) -> None:
    """Change one byte of a text file (a digit), keeping it readable text."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    i = next(i for i, b in enumerate(data) if chr(b).isdigit())
    data[i] = ord("7") if data[i] != ord("7") else ord("3")
    path.write_bytes(bytes(data))


def make_export(
    home: Path, bundle_dir: Path, version: str, corrupt: str | None = None, suffix: str = "test"
) -> Path:
    """A copy of the session bundle as ``<home>/exports/v<version>-<suffix>``."""
    out = home / "exports" / f"v{version}-{suffix}"
    shutil.copytree(bundle_dir, out)
    for f in out.iterdir():
        f.chmod(0o644)
    (out / "REGISTRY_VERSION").write_text(version, encoding="utf-8")
    if corrupt:
        _corrupt(out / corrupt)
    return out


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


# --------------------------------------------------------------------------------------
# switch_champion and export_champion
# --------------------------------------------------------------------------------------


def test_switch_champion_replaces_a_link_and_an_old_directory(
    tmp_path: Path, bundle_dir: Path
) -> None:
    home = tmp_path / "home"
    link = home / "champion"
    shutil.copytree(bundle_dir, link)  # the layout before symlinks: a real directory
    v1 = make_export(home, bundle_dir, "1")
    assert switch_champion(v1, link) == link
    assert link.is_symlink() and link.resolve() == v1.resolve()
    v2 = make_export(home, bundle_dir, "2")
    switch_champion(v2, link)
    assert link.resolve() == v2.resolve()
    assert (link / "REGISTRY_VERSION").read_text(encoding="utf-8") == "2"
    assert sorted(p.name for p in home.iterdir()) == ["champion", "exports"]  # no leftovers
    with pytest.raises(BundleError):
        switch_champion(home / "missing", link)
    assert link.resolve() == v2.resolve()


@pytest.fixture
def fake_registry(
    monkeypatch: pytest.MonkeyPatch, bundle_dir: Path
) -> Callable[[str, str | None], None]:
    """Make export_champion download the session bundle as version N (optionally corrupted)."""
    state: dict[str, Any] = {"version": None, "corrupt": None}

    def download(settings: Settings, version: str, what: str, dst: Path) -> Path:
        assert what == "bundle" and version == state["version"]
        out = dst / "bundle"
        shutil.copytree(bundle_dir, out)
        for f in out.iterdir():
            f.chmod(0o644)
        if state["corrupt"]:
            _corrupt(out / state["corrupt"])
        return out

    monkeypatch.setattr(registry, "champion_version", lambda settings: state["version"])
    monkeypatch.setattr(registry, "download_version", download)

    def set_version(version: str, corrupt: str | None = None) -> None:
        state.update(version=version, corrupt=corrupt)

    return set_version


def test_export_champion_is_atomic_verified_and_keeps_two_exports(
    capacity_home: Path, bundle_dir: Path, fake_registry: Callable[..., None]
) -> None:
    settings = Settings(home=capacity_home)
    link = capacity_home / "champion"
    assert registry.export_champion(settings) is None  # nothing registered
    shutil.copytree(bundle_dir, link)  # an old-style export (a real directory)
    exported: dict[str, Path] = {}
    for version in ("1", "2", "3"):
        fake_registry(version)
        assert registry.export_champion(settings) == link
        assert link.is_symlink()
        assert (link / "REGISTRY_VERSION").read_text(encoding="utf-8") == version
        assert settings.champion_dir.resolve().name.startswith(f"v{version}-")
        exported[version] = settings.champion_dir.resolve()
    exports = capacity_home / "exports"
    assert sorted(p.name[:2] for p in exports.iterdir()) == ["v2", "v3"]  # current + previous

    fake_registry("4", corrupt="booster.txt")
    with pytest.raises(BundleError, match="version 4 was not exported.*booster.txt"):
        registry.export_champion(settings)
    assert link.resolve() == exported["3"]  # still the previous champion
    assert sorted(p.name[:2] for p in exports.iterdir()) == ["v2", "v3"]  # bad export removed


def test_ensure_default_model_reexports_a_bad_or_stale_export(
    capacity_home: Path, bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.bootstrap import ensure_default_model

    calls: list[int] = []
    monkeypatch.setattr(registry, "champion_version", lambda settings: "1")
    monkeypatch.setattr(registry, "export_champion", lambda settings: calls.append(1))
    settings = Settings(home=capacity_home)
    link = capacity_home / "champion"

    ensure_default_model(settings)  # no export yet
    assert len(calls) == 1
    switch_champion(make_export(capacity_home, bundle_dir, "1"), link)
    path, message = ensure_default_model(settings)  # current and verified: nothing to do
    assert len(calls) == 1 and path == link and "version 1" in message
    switch_champion(make_export(capacity_home, bundle_dir, "1", "calibration.json", "bad"), link)
    ensure_default_model(settings)  # right version, but it fails verification
    assert len(calls) == 2
    switch_champion(make_export(capacity_home, bundle_dir, "0", suffix="old"), link)
    ensure_default_model(settings)  # stale version
    assert len(calls) == 3


# --------------------------------------------------------------------------------------
# ModelWatcher
# --------------------------------------------------------------------------------------


def test_watcher_swaps_and_keeps_the_old_model_when_a_new_one_is_corrupted(
    capacity_home: Path, bundle_dir: Path
) -> None:
    settings = Settings(home=capacity_home)
    link = capacity_home / "champion"
    switch_champion(make_export(capacity_home, bundle_dir, "1"), link)
    swaps: list[LoadedModel] = []
    watcher = ModelWatcher(settings, swaps.append, interval=0)
    assert watcher.start() is False  # interval 0: no thread

    assert watcher.check() is True
    assert [s.version for s in swaps] == [f"{V}1"]
    assert watcher.check() is False  # nothing changed
    assert len(swaps) == 1

    v2 = make_export(capacity_home, bundle_dir, "2")
    switch_champion(v2, link)
    assert watcher.check() is True
    assert swaps[-1].version == f"{V}2" and swaps[-1].bundle == v2.resolve()
    from features.schemas import Application

    answer = swaps[-1].recommender.recommend(Application.model_validate(MACHINERY_WORKSHOP))
    assert answer.model_version == f"{V}2"

    for corrupt, version in (("booster.txt", "3"), ("calibration.json", "4")):
        switch_champion(make_export(capacity_home, bundle_dir, version, corrupt), link)
        assert watcher.check() is False
        assert watcher.current is not None and watcher.current.version == f"{V}2"
        assert len(swaps) == 2
        error = watcher.last_error
        assert error is not None
        assert error.version == f"{V}{version}" and corrupt in error.error and error.at
        status = watcher.status()
        assert status["model_version"] == f"{V}2"
        assert status["bundle"] == v2.resolve().name  # the name only: no paths in public bodies
        assert status["last_reload_error"]["version"] == f"{V}{version}"
        assert status["reload_seconds"] == 0
        assert watcher.check() is False  # a failed bundle is not reloaded at every poll

    switch_champion(v2, link)  # back to the served bundle: nothing failed any more
    assert watcher.check() is False
    assert watcher.last_error is None and len(swaps) == 2


def test_a_bundle_damaged_on_disk_while_served_is_told_by_the_status(
    capacity_home: Path, bundle_dir: Path
) -> None:
    settings = Settings(home=capacity_home)
    link = capacity_home / "champion"
    served = make_export(capacity_home, bundle_dir, "1")
    switch_champion(served, link)
    watcher = ModelWatcher(settings, lambda loaded: None, interval=0)
    assert watcher.check() is True
    watcher._verified_at = float("-inf")  # due now (every six polls in a running service)
    assert watcher.check() is False and watcher.status()["on_disk_error"] is None
    _corrupt(served / "booster.txt")  # in place: checksums.json (the fingerprint) unchanged
    watcher._verified_at = float("-inf")
    assert watcher.check() is False
    error = watcher.status()["on_disk_error"]
    assert error is not None and "booster.txt" in error and str(capacity_home) not in error
    assert watcher.current is not None  # the model in memory keeps answering
    shutil.copy2(bundle_dir / "booster.txt", served / "booster.txt")  # repaired
    watcher._verified_at = float("-inf")
    watcher.check()
    assert watcher.status()["on_disk_error"] is None


def test_watcher_thread_picks_up_a_model_exported_after_start(
    capacity_home: Path, bundle_dir: Path
) -> None:
    settings = Settings(home=capacity_home)
    swapped = threading.Event()
    watcher = ModelWatcher(settings, lambda loaded: swapped.set(), interval=0.1)
    assert watcher.check() is False  # no model yet
    assert watcher.current is None
    assert watcher.last_error is not None and "no model" in watcher.last_error.error
    with watcher:
        assert watcher.running
        time.sleep(0.3)  # a few polls of the same empty location
        assert not swapped.is_set()
        switch_champion(make_export(capacity_home, bundle_dir, "1"), capacity_home / "champion")
        assert swapped.wait(60), watcher.status()
    assert not watcher.running
    assert watcher.current is not None and watcher.current.version == f"{V}1"
    assert watcher.last_error is None


def test_fingerprint_follows_the_link(capacity_home: Path, bundle_dir: Path) -> None:
    link = capacity_home / "champion"
    assert fingerprint(link) is None
    v1 = make_export(capacity_home, bundle_dir, "1")
    switch_champion(v1, link)
    fp = fingerprint(link)
    assert fp is not None and fp.path == str(v1.resolve()) and fp.registry_version == "1"
    assert fp.checksums_sha256 and len(fp.checksums_sha256) == 64


def test_reload_seconds_from_the_environment(
    capacity_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=capacity_home)
    monkeypatch.delenv("CAPACITY_RELOAD_SECONDS", raising=False)
    assert ModelWatcher(settings, print).interval == DEFAULT_RELOAD_SECONDS
    monkeypatch.setenv("CAPACITY_RELOAD_SECONDS", "0")
    assert ModelWatcher(settings, print).start() is False
    monkeypatch.setenv("CAPACITY_RELOAD_SECONDS", "0.5")
    assert ModelWatcher(settings, print).interval == 0.5
    for bad in ("soon", "-1", "inf", "nan"):
        monkeypatch.setenv("CAPACITY_RELOAD_SECONDS", bad)
        with pytest.raises(ValueError, match="CAPACITY_RELOAD_SECONDS"):
            ModelWatcher(settings, print)


# --------------------------------------------------------------------------------------
# end to end: a real server, requests in flight during the switches
# --------------------------------------------------------------------------------------


class Firing:
    """POST /recommend in a loop in a thread; keeps (status, model_version) of each answer."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.results: list[tuple[int, str | None]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                r = self.client.post("/recommend", json=MACHINERY_WORKSHOP)
            except httpx.HTTPError as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            version = r.json().get("model_version") if r.status_code == 200 else r.text[:300]
            self.results.append((r.status_code, version))

    def versions(self) -> list[str | None]:
        return [v for _, v in list(self.results)]

    def __enter__(self) -> Firing:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


@pytest.mark.live
@pytest.mark.slow
def test_a_running_service_picks_up_promotions_without_failing_a_request(
    bundle_dir: Path, tmp_path: Path, response_log: ResponseLog
) -> None:
    home = tmp_path / "reload-server"
    link = home / "champion"
    env = server_env(
        home,
        home / "unused",
        {"CAPACITY_RELOAD_SECONDS": "1", "CAPACITY_LOG_DISABLED": "1"},
    )
    del env["CAPACITY_MODEL_DIR"]  # serve <home>/champion
    server = start_server("reload", home, env)
    try:
        wait_until(server, (503,))  # started without a model: up, but not ready
        with make_client(server, response_log, timeout=60) as client:
            refused = client.get("/readyz")
            assert refused.status_code == 503 and "model" in refused.json()["not_ready_reason"]
            status = client.get("/model").json()
            assert status["model_version"] is None and status["ready"] is False
            assert status["reload_seconds"] == 1

            switch_champion(make_export(home, bundle_dir, "1"), link)
            wait_until(server, (200,), timeout=60)  # picked up without a restart
            assert client.get("/model").json()["model_version"] == f"{V}1"

            with make_client(server, response_log, timeout=60) as firing_client:
                with Firing(firing_client) as firing:
                    wait_for(lambda: len(firing.results) >= 5, 60, "answers from v1")
                    v2 = make_export(home, bundle_dir, "2")
                    switch_champion(v2, link)
                    wait_for(lambda: f"{V}2" in firing.versions(), 20, "answers naming v2")
                    status = client.get("/model").json()
                    assert status["model_version"] == f"{V}2"
                    assert (
                        status["bundle"] == v2.resolve().name
                    )  # the name only: no paths in public bodies
                    assert status["last_reload_error"] is None and status["loaded_at"]

                    switch_champion(make_export(home, bundle_dir, "3", "calibration.json"), link)

                    def v3_failed() -> bool:
                        error = client.get("/model").json()["last_reload_error"]
                        return error is not None and error["version"] == f"{V}3"

                    wait_for(v3_failed, 20, "/model to report the failed v3")
                    seen = len(firing.results)
                    wait_for(lambda: len(firing.results) >= seen + 5, 60, "answers after v3")
                    ready = client.get("/readyz")
                    assert ready.status_code == 200  # the old model serves ...
                    detail = ready.json()  # ... and /readyz says what failed
                    assert detail["model_version"] == f"{V}2", detail
                    assert detail["last_reload_error"] is not None, detail
                    status = client.get("/model").json()
                    assert status["model_version"] == f"{V}2" and status["ready"] is True
                    assert "calibration.json" in status["last_reload_error"]["error"]
    finally:
        stop_server(server)

    assert not firing.errors, firing.errors[:5]
    failed = [(s, v) for s, v in firing.results if s != 200]
    assert not failed, failed[:5]
    versions = firing.versions()
    first_v2 = versions.index(f"{V}2")
    assert set(versions[:first_v2]) == {f"{V}1"}
    assert set(versions[first_v2:]) == {f"{V}2"}  # never back to v1, never v3
