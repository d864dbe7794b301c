"""Bundle faults: every way a bundle can be broken is refused before it is trusted.

Each fault kind breaks a private copy of the session bundle (the ``bundle_dir`` fixture is
read-only). For each one :func:`serving.model.verify.verify_bundle` raises a
:class:`BundleError` naming the file, and a :class:`ModelWatcher` serving a good model
keeps it and records the error. The booster faults keep ``checksums.json`` matching, so
only LightGBM can notice; some of them make LightGBM abort natively (SIGABRT), which the
check survives because LightGBM runs in a child process. Then: ``export_champion`` and
``ensure_default_model`` refuse a corrupted download and never leave a corrupted export as
the champion, and a real ``bentoml serve`` started on a champion whose booster makes
LightGBM abort stays up, answers 503 (never 500), and picks up a good bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

import training.registry.store as registry
from features.build import FEATURE_SPEC_VERSION
from serving.examples import MACHINERY_WORKSHOP
from serving.model.bundle import FILES, BundleError, switch_champion
from serving.model.calibration import POOLED_GROUP
from serving.model.verify import check_booster, verify_bundle
from serving.reload import LoadedModel, ModelWatcher
from serving.settings import Settings
from tests.conftest import REGISTRY_ENV_VARS
from tests.service.conftest import (
    ResponseLog,
    make_client,
    server_env,
    start_server,
    stop_server,
    wait_until,
)

V = "capacity-recommender:v"


# --------------------------------------------------------------------------------------
# the fault kinds
# --------------------------------------------------------------------------------------


def _fix_checksum(bundle: Path, name: str) -> None:
    """Recompute ``name``'s checksum, as if the bundle had been written that way."""
    sums = json.loads((bundle / "checksums.json").read_text(encoding="utf-8"))
    sums[name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "checksums.json").write_text(json.dumps(sums), encoding="utf-8")


def _write(bundle: Path, name: str, data: bytes | str, *, fix_checksum: bool = True) -> None:
    path = bundle / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    if fix_checksum:
        _fix_checksum(bundle, name)


def _edit_json(bundle: Path, name: str, edit: Callable[[Any], Any], *, fix: bool = True) -> None:
    doc = json.loads((bundle / name).read_text(encoding="utf-8"))
    _write(bundle, name, json.dumps(edit(doc), indent=1), fix_checksum=fix)


def _booster(bundle: Path) -> str:
    return (bundle / "booster.txt").read_text(encoding="utf-8")


def truncate_booster(bundle: Path) -> None:
    """Half of booster.txt: LightGBM aborts natively on it (SIGABRT)."""
    text = _booster(bundle)
    _write(bundle, "booster.txt", text[: len(text) // 2])


def garbage_booster(bundle: Path) -> None:
    """booster.txt's header, then garbage trees: LightGBM aborts (SIGABRT) or segfaults."""
    text = _booster(bundle)
    rng = random.Random(1)
    garbage = "".join(rng.choice("abc 0123\n") for _ in range(5000))
    _write(bundle, "booster.txt", text[: text.index("Tree=0")] + "Tree=0\n" + garbage)


def random_text_booster(bundle: Path) -> None:
    """booster.txt is random text: LightGBM raises (no header)."""
    rng = random.Random(2)
    _write(bundle, "booster.txt", "".join(rng.choice("abcdefgh 0123\n=") for _ in range(5000)))


def binary_booster(bundle: Path) -> None:
    """booster.txt is binary (not UTF-8 text)."""
    _write(bundle, "booster.txt", bytes(range(256)) * 8)


def narrow_booster(bundle: Path) -> None:
    """A valid LightGBM model with 3 features where builder.json lists many more."""
    rng = np.random.default_rng(0)
    x = rng.random((200, 3))
    model = lgb.train(
        {"verbose": -1, "num_threads": 1},
        lgb.Dataset(x, x[:, 0] * 2 + rng.random(200)),
        num_boost_round=3,
    )
    _write(bundle, "booster.txt", model.model_to_string())


def _missing(name: str) -> Callable[[Path], None]:
    def fault(bundle: Path) -> None:
        (bundle / name).unlink()

    fault.__doc__ = f"{name} is missing"
    return fault


def directory_instead_of_booster(bundle: Path) -> None:
    (bundle / "booster.txt").unlink()
    (bundle / "booster.txt").mkdir()


def empty_directory(bundle: Path) -> None:
    for path in bundle.iterdir():
        path.unlink()


def calibration_invalid_json(bundle: Path) -> None:
    _write(bundle, "calibration.json", '{"residuals": {"__all__": [0.1, 0.2')


def calibration_without_pooled(bundle: Path) -> None:
    def drop(doc: dict[str, Any]) -> dict[str, Any]:
        assert POOLED_GROUP in doc["residuals"]
        doc["residuals"] = {k: v for k, v in doc["residuals"].items() if k != POOLED_GROUP}
        return doc

    _edit_json(bundle, "calibration.json", drop)


def bounds_malformed(bundle: Path) -> None:
    _edit_json(bundle, "bounds.json", lambda doc: {**doc, "quantiles": "wide"})


def metadata_not_an_object(bundle: Path) -> None:
    _write(bundle, "metadata.json", "[1, 2, 3]")


def builder_missing_key(bundle: Path) -> None:
    _edit_json(
        bundle, "builder.json", lambda doc: {k: v for k, v in doc.items() if k != "engineering"}
    )


def config_malformed(bundle: Path) -> None:
    _edit_json(bundle, "config.json", lambda doc: {**doc, "learning_rate": "fast"})


def checksums_not_an_object(bundle: Path) -> None:
    (bundle / "checksums.json").write_text("[]", encoding="utf-8")


def _meta(key: str, value: Any) -> Callable[[Path], None]:
    def fault(bundle: Path) -> None:
        _edit_json(bundle, "metadata.json", lambda doc: {**doc, key: value})

    return fault


def stale_checksum(bundle: Path) -> None:
    """peers.json edited, checksums.json not updated."""
    _edit_json(bundle, "peers.json", lambda doc: {**doc, "edited": True}, fix=False)


def registry_version_text(bundle: Path) -> None:
    (bundle / "REGISTRY_VERSION").write_text("<script>alert(1)</script>", encoding="utf-8")


def registry_version_huge(bundle: Path) -> None:
    (bundle / "REGISTRY_VERSION").write_text("9" * 1_000_000, encoding="utf-8")


@dataclass(frozen=True)
class Fault:
    """One way of breaking a bundle and the file its error must name."""

    kind: str
    apply: Callable[[Path], None]
    names: str
    """Text the BundleError must contain (the file)."""
    watcher_names: str | None = None
    """Text the watcher's recorded error must contain, when not ``names``."""


REQUIRED = (*FILES, "checksums.json")
FAULTS = (
    *(Fault(f"missing {name}", _missing(name), f"missing {name}") for name in REQUIRED),
    Fault("truncated booster, matching checksum (native abort)", truncate_booster, "signal 6"),
    Fault(
        "garbage booster body, matching checksum (native abort or segfault)",
        garbage_booster,
        "booster.txt could not be loaded by LightGBM: the check process died with signal",
    ),
    Fault("random-text booster, matching checksum", random_text_booster, "booster.txt"),
    Fault("binary booster, matching checksum", binary_booster, "booster.txt"),
    Fault("booster with 3 features, matching checksum", narrow_booster, "booster.txt has 3"),
    Fault("booster.txt is a directory", directory_instead_of_booster, "booster.txt"),
    Fault(
        "empty directory",
        empty_directory,
        "missing booster.txt",
        "no model: CAPACITY_MODEL_DIR is not set",
    ),
    Fault("calibration.json invalid JSON", calibration_invalid_json, "calibration.json"),
    Fault("calibration without pooled residuals", calibration_without_pooled, "calibration.json"),
    Fault("bounds.json malformed", bounds_malformed, "bounds.json"),
    Fault("metadata.json not an object", metadata_not_an_object, "metadata.json"),
    Fault("builder.json missing a key", builder_missing_key, "builder.json"),
    Fault("config.json malformed", config_malformed, "config.json"),
    Fault("checksums.json not an object", checksums_not_an_object, "checksums.json"),
    Fault("wrong bundle_format", _meta("bundle_format", 99), "metadata.json"),
    Fault(
        "wrong feature_spec_version",
        _meta("feature_spec_version", FEATURE_SPEC_VERSION + 1),
        "metadata.json",
    ),
    Fault("wrong catalog_version", _meta("catalog_version", "0123456789ab"), "metadata.json"),
    Fault("edited file, stale checksum", stale_checksum, "peers.json is corrupted"),
    Fault("REGISTRY_VERSION not a number", registry_version_text, "REGISTRY_VERSION"),
    Fault("REGISTRY_VERSION huge", registry_version_huge, "REGISTRY_VERSION"),
)
"""As root a chmod 000 file stays readable, so "unreadable" is covered by the directory fault."""


def copy_bundle(bundle_dir: Path, out: Path, version: str | None = None) -> Path:
    """A writable copy of the session bundle (with a REGISTRY_VERSION if ``version``)."""
    shutil.copytree(bundle_dir, out)
    for f in out.iterdir():
        f.chmod(0o644)
    if version is not None:
        (out / "REGISTRY_VERSION").write_text(version, encoding="utf-8")
    return out


def test_there_are_at_least_16_fault_kinds() -> None:
    assert len({f.kind for f in FAULTS}) == len(FAULTS) >= 16


def test_the_intact_bundle_verifies(bundle_dir: Path) -> None:
    meta = verify_bundle(bundle_dir)
    assert meta["model_version"] == "test-1"


@pytest.mark.parametrize("fault", FAULTS, ids=[f.kind for f in FAULTS])
def test_verify_bundle_names_the_broken_file(
    fault: Fault, bundle_dir: Path, tmp_path: Path
) -> None:
    bundle = copy_bundle(bundle_dir, tmp_path / "v9-broken", "9")
    fault.apply(bundle)
    started = time.monotonic()
    with pytest.raises(BundleError) as info:
        verify_bundle(bundle)
    assert fault.names in str(info.value), str(info.value)
    assert str(bundle) in str(info.value) or "REGISTRY_VERSION" in str(info.value)
    assert "<script>" not in str(info.value)
    assert len(str(info.value)) < 1000
    assert time.monotonic() - started < 30


# --------------------------------------------------------------------------------------
# the watcher keeps the old model
# --------------------------------------------------------------------------------------


@dataclass
class Served:
    """A watcher serving a good v1 from ``<home>/champion``."""

    home: Path
    link: Path
    good: Path
    watcher: ModelWatcher
    swaps: list[LoadedModel]


@pytest.fixture(scope="module")
def served(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("faults-home")
    with pytest.MonkeyPatch.context() as mp:
        for var in REGISTRY_ENV_VARS:
            mp.delenv(var, raising=False)
        good = copy_bundle(bundle_dir, home / "exports" / "v1-good", "1")
        link = home / "champion"
        switch_champion(good, link)
        swaps: list[LoadedModel] = []
        watcher = ModelWatcher(Settings(home=home), swaps.append, interval=0)
        assert watcher.check() is True
        yield Served(home, link, good, watcher, swaps)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.kind for f in FAULTS])
def test_the_watcher_keeps_the_old_model_and_records_the_fault(
    fault: Fault, served: Served, bundle_dir: Path
) -> None:
    watcher = served.watcher
    n_swaps = len(served.swaps)
    broken = copy_bundle(
        bundle_dir, served.home / "exports" / f"v2-{len(os.listdir(served.home / 'exports'))}", "2"
    )
    fault.apply(broken)
    try:
        switch_champion(broken, served.link)
        assert watcher.check() is False
        assert watcher.current is not None and watcher.current.version == f"{V}1"
        assert len(served.swaps) == n_swaps
        error = watcher.last_error
        assert error is not None
        assert (fault.watcher_names or fault.names) in error.error, error.error
        if fault.watcher_names is not None:  # no bundle at all there: "no model"
            assert error.version is None
        elif "REGISTRY_VERSION" in fault.kind:  # never echoed: the label is the directory
            assert error.version == broken.name
        else:
            assert error.version == f"{V}2"
        if fault.watcher_names is None:
            assert error.bundle == str(broken.resolve())
        status = watcher.status()
        assert status["model_version"] == f"{V}1"
        assert "<script>" not in json.dumps(status)
        from features.schemas import Application

        answer = watcher.current.recommender.recommend(
            Application.model_validate(MACHINERY_WORKSHOP)
        )
        assert answer.model_version == f"{V}1"
    finally:
        switch_champion(served.good, served.link)
        watcher.check()
    assert watcher.last_error is None and watcher.current.version == f"{V}1"


# --------------------------------------------------------------------------------------
# the child check: signal, timeout, cost
# --------------------------------------------------------------------------------------


def test_check_booster_reports_a_timeout(bundle_dir: Path) -> None:
    names = json.loads((bundle_dir / "builder.json").read_text(encoding="utf-8"))["feature_names"]
    with pytest.raises(BundleError, match=r"booster\.txt could not be loaded.*did not finish"):
        check_booster(_booster(bundle_dir), names, where="x", timeout=0.001)


def test_the_child_check_is_cheap(bundle_dir: Path) -> None:
    verify_bundle(bundle_dir)  # warm the file cache
    started = time.monotonic()
    verify_bundle(bundle_dir)
    assert time.monotonic() - started < 5  # one process start, about half a second


# --------------------------------------------------------------------------------------
# export_champion and ensure_default_model refuse a corrupted download
# --------------------------------------------------------------------------------------


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch, bundle_dir: Path) -> Callable[..., None]:
    """export_champion downloads the session bundle as version N, broken by ``fault``."""
    state: dict[str, Any] = {"version": None, "fault": None}

    def download(settings: Settings, version: str, what: str, dst: Path) -> Path:
        assert what == "bundle" and version == state["version"]
        out = copy_bundle(bundle_dir, dst / "bundle")
        if state["fault"] is not None:
            state["fault"](out)
        return out

    monkeypatch.setattr(registry, "champion_version", lambda settings: state["version"])
    monkeypatch.setattr(registry, "download_version", download)

    def set_version(version: str, fault: Callable[[Path], None] | None = None) -> None:
        state.update(version=version, fault=fault)

    return set_version


def test_export_champion_refuses_a_booster_that_aborts_lightgbm(
    capacity_home: Path, fake_registry: Callable[..., None]
) -> None:
    settings = Settings(home=capacity_home)
    link = capacity_home / "champion"
    fake_registry("1")
    registry.export_champion(settings)
    good = link.resolve()
    for version, fault in (("2", truncate_booster), ("3", garbage_booster), ("4", narrow_booster)):
        fake_registry(version, fault)
        with pytest.raises(BundleError, match=f"version {version} was not exported.*booster.txt"):
            registry.export_champion(settings)
        assert link.resolve() == good  # the previous champion still serves
        assert sorted(p.name[:2] for p in (capacity_home / "exports").iterdir()) == ["v1"]


@pytest.mark.slow
def test_ensure_default_model_never_leaves_a_corrupted_champion(
    capacity_home: Path, bundle_dir: Path, fake_registry: Callable[..., None]
) -> None:
    from training.bootstrap import ensure_default_model

    settings = Settings(home=capacity_home)
    link = capacity_home / "champion"

    # A corrupted export of the current version is replaced by a good download.
    bad = copy_bundle(bundle_dir, capacity_home / "exports" / "v2-bad", "2")
    truncate_booster(bad)
    switch_champion(bad, link)
    fake_registry("2")
    path, message = ensure_default_model(settings)
    assert path == link and "version 2" in message
    assert link.resolve() != bad.resolve()
    verify_bundle(link)

    # A valid but stale champion stays when the new version's download is corrupted.
    stale = link.resolve()
    fake_registry("3", garbage_booster)
    with pytest.raises(BundleError, match="version 3 was not exported"):
        ensure_default_model(settings)
    assert link.resolve() == stale

    # A corrupted champion is taken out of service when the download is corrupted too.
    bad = copy_bundle(bundle_dir, capacity_home / "exports" / "v3-bad", "3")
    truncate_booster(bad)
    switch_champion(bad, link)
    with pytest.raises(BundleError, match="previous export failed verification too"):
        ensure_default_model(settings)
    assert not link.exists() and not link.is_symlink()
    assert not bad.exists()
    assert any(p.name.startswith(".rejected-v3-bad") for p in (capacity_home / "exports").iterdir())


@pytest.mark.parametrize("promoted_by", ["make serve", "a planner"])
def test_ensure_default_model_rebuilds_only_its_own_model_after_an_upgrade(
    capacity_home: Path,
    fake_registry: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    promoted_by: str,
) -> None:
    """A champion built for another catalog: the demo model is retrained, a utility's is not."""
    import training.bootstrap as bootstrap

    settings = Settings(home=capacity_home)
    fake_registry("5", _meta("catalog_version", "0123456789ab"))
    tags = {"promoted_by": promoted_by, "promotion_reason": bootstrap.DEFAULT_MODEL_REASON}

    class Version:
        def __init__(self) -> None:
            self.tags = tags

    class Client:
        def get_model_version(self, name: str, version: str) -> Version:
            assert (name, version) == (settings.registered_model, "5")
            return Version()

    built: list[int] = []

    def build(settings: Settings, n: int, seed: int, log: Any) -> tuple[Path, str]:
        built.append(n)
        return settings.champion_dir, "trained and promoted version 6"

    monkeypatch.setattr(registry, "client", lambda settings: Client())
    monkeypatch.setattr(bootstrap, "_build_default", build)
    if promoted_by == bootstrap.DEFAULT_MODEL_BY:
        path, message = bootstrap.ensure_default_model(settings, n=123, log=lambda m: None)
        assert built == [123]
        assert message == "trained and promoted version 6, replacing default version 5"
    else:
        with pytest.raises(BundleError, match="catalog 0123456789ab.*retrain the model"):
            bootstrap.ensure_default_model(settings, n=123, log=lambda m: None)
        assert built == []
    # A corrupted download is never a reason to retrain, whoever promoted it.
    fake_registry("5", truncate_booster)
    with pytest.raises(BundleError, match="booster.txt"):
        bootstrap.ensure_default_model(settings, n=123, log=lambda m: None)
    assert len(built) == (promoted_by == bootstrap.DEFAULT_MODEL_BY)


# --------------------------------------------------------------------------------------
# end to end: a real server on a champion whose booster makes LightGBM abort
# --------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.slow
def test_a_server_on_a_booster_that_aborts_lightgbm_stays_up_and_recovers(
    bundle_dir: Path, tmp_path: Path, response_log: ResponseLog
) -> None:
    home = tmp_path / "faults-server"
    link = home / "champion"
    bad = copy_bundle(bundle_dir, home / "exports" / "v1-bad", "1")
    garbage_booster(bad)
    switch_champion(bad, link)
    env = server_env(
        home, home / "unused", {"CAPACITY_RELOAD_SECONDS": "1", "CAPACITY_LOG_DISABLED": "1"}
    )
    del env["CAPACITY_MODEL_DIR"]  # serve <home>/champion
    since = len(response_log.entries)
    server = start_server("bundle-faults", home, env)
    try:
        wait_until(server, (503,))
        with make_client(server, response_log, timeout=60) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503
            reason = ready.json()["not_ready_reason"]
            assert "booster.txt could not be loaded by LightGBM" in reason, reason
            assert "the check process died with signal" in reason, reason  # 6 or 11
            for _ in range(3):  # the port answers, and keeps answering: no crash loop
                refused = client.post("/recommend", json=MACHINERY_WORKSHOP)
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"].startswith("application/json")
                assert "booster.txt" in refused.json()["errors"][0]["message"]
                time.sleep(1)
            assert server.proc.poll() is None
            status = client.get("/model").json()
            assert status["model_version"] is None and status["ready"] is False
            assert status["last_reload_error"]["version"] == f"{V}1"

            good = copy_bundle(bundle_dir, home / "exports" / "v2-good", "2")
            switch_champion(good, link)
            wait_until(server, (200,), timeout=60)
            answer = client.post("/recommend", json=MACHINERY_WORKSHOP)
            assert answer.status_code == 200, answer.text
            assert answer.json()["model_version"] == f"{V}2"
    finally:
        stop_server(server)
    log = server.log_tail(400)
    assert "terminate called" not in log and "Traceback" not in log, log
    assert not response_log.unexpected_500s(since)


# --------------------------------------------------------------------------------------
# a failed warm-up never publishes the recommender; /recommend then answers 503
# --------------------------------------------------------------------------------------


def test_a_failed_warm_up_is_never_published_and_recommend_answers_503(
    bundle_dir: Path, capacity_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving.core import Recommender
    from serving.service import CapacityService

    def broken(self: Any, app: Any) -> Any:
        raise RuntimeError("warm-up exploded")

    monkeypatch.setattr(Recommender, "recommend", broken)
    monkeypatch.setenv("CAPACITY_MODEL_DIR", str(bundle_dir))
    monkeypatch.setenv("CAPACITY_RELOAD_SECONDS", "0")
    monkeypatch.setenv("CAPACITY_LOG_DISABLED", "1")
    service = CapacityService.inner()  # type: ignore[attr-defined]
    assert service.recommender is None and service.watcher.current is None
    assert "warm-up exploded" in str(service.not_ready_reason)
    answer = service.recommend(MACHINERY_WORKSHOP)
    assert answer.status_code == 503
    body = json.loads(answer.body)
    assert "warm-up exploded" in body["errors"][0]["message"]
