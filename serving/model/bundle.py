"""Self-contained model bundle: a directory that loads without MLflow.

Layout::

    bundle/
      booster.txt        LightGBM model text (best iteration only)
      builder.json       fitted FeatureBuilder state (feature list, catalog version…)
      calibration.json   conformal residuals per group (and their fitted tails' settings)
      bounds.json        sanity bounds learned from the history
      peers.json         peer statistics (aggregates only)
      fitted_keys.json   hashed identities of the customers trained and calibrated on
      config.json        ModelConfig
      metadata.json      format version, model version, seed, data hash, git sha, created
      metrics.json       holdout metrics (may be empty)
      checksums.json     sha256 of every file above
      REGISTRY_VERSION   (exported champions only) the registry version, outside the checksums

Loading verifies the checksums (a corrupted or edited file is refused), that every JSON
document parses and has its shape, the bundle format, the feature spec and the catalog
version, and says which file does not match (:func:`check_bundle_files`). A booster whose
checksum matches but that LightGBM cannot parse can abort the process natively: before a
bundle is trusted (served, exported) :func:`serving.model.verify.verify_bundle` has
LightGBM load it and predict in a child process. Writing is
:func:`training.bundle.save_bundle`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb

from features.build import FEATURE_SPEC_VERSION, FeatureBuilder
from features.catalog import load_catalog
from serving.model.bounds import LearnedBounds
from serving.model.calibration import ResidualCalibrator
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel

BUNDLE_FORMAT = 2
"""2: learned sanity bounds, fitted customer keys, calibration tails."""
FILES = (
    "booster.txt",
    "builder.json",
    "calibration.json",
    "bounds.json",
    "peers.json",
    "fitted_keys.json",
    "config.json",
    "metadata.json",
    "metrics.json",
)
REGISTRY_VERSION_FILE = "REGISTRY_VERSION"


class BundleError(RuntimeError):
    """A model bundle is missing, corrupted or incompatible with this installation."""


class IncompatibleBundle(BundleError):
    """A sound bundle built for another installation (bundle format, feature spec, catalog).

    Distinct from corruption so that a caller can tell "retrain" from "repair": the default
    model is rebuilt after an upgrade (:func:`training.bootstrap.ensure_default_model`),
    a utility's own model never is.
    """


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_metadata(bundle_dir: Path | str) -> dict[str, Any]:
    """The bundle's metadata without loading the model."""
    path = Path(bundle_dir) / "metadata.json"
    if not path.is_file():
        raise BundleError(f"not a model bundle: {path} is missing")
    try:
        result = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(
            f"model bundle {bundle_dir}: metadata.json is unreadable ({exc})"
        ) from exc
    if not isinstance(result, dict):
        raise BundleError(f"model bundle {bundle_dir}: metadata.json is not a JSON object")
    return result


JSON_TYPES: dict[str, type] = {
    "builder.json": dict,
    "calibration.json": dict,
    "bounds.json": dict,
    "peers.json": dict,
    "fitted_keys.json": list,
    "config.json": dict,
    "metadata.json": dict,
    "metrics.json": dict,
}
"""The JSON type of each document's top level."""
MAX_REGISTRY_VERSION_BYTES = 64
"""A ``REGISTRY_VERSION`` marker is read up to this many bytes (a version is a short number)."""


def _printable(text: str, limit: int = 160) -> str:
    """``text`` cut to ``limit`` characters, anything but printable ASCII as ``?``."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    return "".join(ch if ch.isascii() and ch.isprintable() else "?" for ch in cut)


@dataclass(frozen=True)
class CheckedBundle:
    """A bundle whose files passed the pure-Python checks (no LightGBM involved yet)."""

    root: Path
    docs: dict[str, Any]
    """The parsed JSON documents, by file name."""
    booster_text: str
    """``booster.txt``, exactly the bytes whose checksum was verified."""
    builder: FeatureBuilder
    config: ModelConfig
    calibrator: ResidualCalibrator
    bounds: LearnedBounds | None


def _read(root: Path, name: str) -> bytes:
    try:
        return (root / name).read_bytes()
    except OSError as exc:
        raise BundleError(
            f"model bundle {root}: {name} cannot be read ({exc.strerror or exc})"
        ) from exc


def check_bundle_files(bundle_dir: Path | str) -> CheckedBundle:
    """The pure-Python checks of a bundle: files, checksums, JSON, versions, documents.

    Every file is read once; the booster's text is returned with the documents so a
    caller loads exactly what was verified. LightGBM is not called (see
    :func:`serving.model.verify.verify_bundle` for the check of the booster itself).

    Raises
    ------
    BundleError
        Naming the file: missing, not a regular file, unreadable, corrupted or edited
        (checksum), not valid JSON / UTF-8, malformed, or incompatible with this
        installation (bundle format, feature spec or catalog version).
    """
    root = Path(bundle_dir)
    if not root.is_dir():
        raise BundleError(f"model bundle directory not found: {root}")
    names = (*FILES, "checksums.json")
    missing = [n for n in names if not (root / n).exists()]
    not_files = [n for n in names if (root / n).exists() and not (root / n).is_file()]
    if missing or not_files:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"not a regular file: {', '.join(not_files)}"] if not_files else []
        raise BundleError(f"model bundle {root} is incomplete: {'; '.join(parts)}")
    try:
        checksums = json.loads(_read(root, "checksums.json").decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"model bundle {root}: checksums.json is not valid JSON ({exc})") from exc
    if not isinstance(checksums, dict):
        raise BundleError(
            f"model bundle {root}: checksums.json is malformed (expected an object of sha256 "
            f"digests, got {type(checksums).__name__})"
        )
    raw: dict[str, bytes] = {}
    for name in FILES:
        data = _read(root, name)
        actual = hashlib.sha256(data).hexdigest()
        if checksums.get(name) != actual:
            raise BundleError(
                f"model bundle {root}: {name} is corrupted or was edited "
                f"(sha256 {actual[:12]}…, expected {_printable(str(checksums.get(name)), 12)}…)"
            )
        raw[name] = data
    docs: dict[str, Any] = {}
    for name, kind in JSON_TYPES.items():
        try:
            doc = json.loads(raw[name].decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"model bundle {root}: {name} is not valid JSON ({exc})") from exc
        if not isinstance(doc, kind):
            raise BundleError(
                f"model bundle {root}: {name} is malformed (expected a JSON "
                f"{'object' if kind is dict else 'array'}, got {type(doc).__name__})"
            )
        docs[name] = doc
    try:
        booster_text = raw["booster.txt"].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(
            f"model bundle {root}: booster.txt is not a LightGBM model (not UTF-8 text: {exc})"
        ) from exc
    meta = docs["metadata.json"]
    if meta.get("bundle_format") != BUNDLE_FORMAT:
        raise IncompatibleBundle(
            f"model bundle {root} has format {_printable(str(meta.get('bundle_format')), 40)} "
            f"(metadata.json), this installation reads format {BUNDLE_FORMAT}: retrain or "
            "install the matching version"
        )
    if meta.get("feature_spec_version") != FEATURE_SPEC_VERSION:
        raise IncompatibleBundle(
            f"model bundle {root} was built with feature spec "
            f"{_printable(str(meta.get('feature_spec_version')), 40)} (metadata.json), this "
            f"installation builds spec {FEATURE_SPEC_VERSION}: retrain the model"
        )
    catalog_version = load_catalog().version
    if meta.get("catalog_version") != catalog_version:
        raise IncompatibleBundle(
            f"model bundle {root} was built with catalog "
            f"{_printable(str(meta.get('catalog_version')), 40)} (metadata.json), this "
            f"installation has catalog {catalog_version}: retrain the model"
        )
    try:
        builder = FeatureBuilder.from_state(docs["builder.json"])
        if not builder.feature_names_ or not all(
            isinstance(n, str) for n in builder.feature_names_
        ):
            raise ValueError("feature_names must be a non-empty list of names")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"model bundle {root}: builder.json is malformed ({exc!r})") from exc
    try:
        config = ModelConfig(**docs["config.json"])
    except (TypeError, ValueError) as exc:
        raise BundleError(
            f"model bundle {root}: config.json is malformed ({_printable(str(exc), 300)})"
        ) from exc
    try:
        calibrator = ResidualCalibrator.from_dict(docs["calibration.json"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise BundleError(f"model bundle {root}: calibration.json is malformed ({exc!r})") from exc
    try:
        bounds = LearnedBounds.from_dict(docs["bounds.json"]) if docs["bounds.json"] else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"model bundle {root}: bounds.json is malformed ({exc})") from exc
    if not all(isinstance(k, str | int) for k in docs["fitted_keys.json"]):
        raise BundleError(
            f"model bundle {root}: fitted_keys.json is malformed (expected a list of keys)"
        )
    try:
        int(meta.get("best_iteration", 0))
    except (TypeError, ValueError) as exc:
        raise BundleError(
            f"model bundle {root}: metadata.json is malformed (best_iteration: {exc})"
        ) from exc
    return CheckedBundle(root, docs, booster_text, builder, config, calibrator, bounds)


def load_bundle(bundle_dir: Path | str) -> tuple[CapacityModel, dict[str, Any], dict[str, Any]]:
    """Load and verify a bundle: returns (model, metadata, metrics).

    The booster is parsed in this process: a file LightGBM cannot parse can abort it
    natively. A service or an export checks a bundle first with
    :func:`serving.model.verify.verify_bundle`, which runs LightGBM in a child process.

    Raises
    ------
    BundleError
        When a file is missing or corrupted, or the bundle does not match this
        installation (bundle format, feature spec or catalog version).
    """
    checked = check_bundle_files(bundle_dir)
    root, docs, builder = checked.root, checked.docs, checked.builder
    meta = docs["metadata.json"]
    try:
        booster = lgb.Booster(model_str=checked.booster_text)
    except lgb.basic.LightGBMError as exc:
        raise BundleError(
            f"model bundle {root}: booster.txt is not a LightGBM model ({exc})"
        ) from exc
    if booster.feature_name() != builder.feature_names_:
        raise BundleError(
            f"model bundle {root}: booster.txt: the booster's features do not match "
            "builder.json's feature list"
        )
    model = CapacityModel(
        builder=builder,
        booster=booster,
        calibrator=checked.calibrator,
        config=checked.config,
        peers=docs["peers.json"],
        best_iteration=int(meta.get("best_iteration", booster.current_iteration())),
        bounds=checked.bounds,
        fitted_keys=frozenset(str(k) for k in docs["fitted_keys.json"]),
    )
    return model, meta, docs["metrics.json"]


def registry_version(bundle_dir: Path | str) -> str | None:
    """The registry version an exported champion carries, validated (None if not exported).

    Only the first :data:`MAX_REGISTRY_VERSION_BYTES` bytes are read.

    Raises
    ------
    BundleError
        When the marker exists but is not a plain version number (or cannot be read).
    """
    marker = Path(bundle_dir) / REGISTRY_VERSION_FILE
    if not marker.exists() and not marker.is_symlink():
        return None
    try:
        with marker.open("rb") as fh:
            data = fh.read(MAX_REGISTRY_VERSION_BYTES + 1)
    except OSError as exc:
        raise BundleError(
            f"model bundle {bundle_dir}: {REGISTRY_VERSION_FILE} cannot be read "
            f"({exc.strerror or exc})"
        ) from exc
    text = data.decode("utf-8", errors="replace").strip()
    if len(data) > MAX_REGISTRY_VERSION_BYTES or not valid_registry_version(text):
        # Its content is not echoed: it is outside the checksums and could hold anything.
        raise BundleError(
            f"model bundle {bundle_dir}: {REGISTRY_VERSION_FILE} holds {len(text)}"
            f"{'' if len(data) <= MAX_REGISTRY_VERSION_BYTES else ' or more'} characters that "
            "are not a version, expected a registry version number (1 to 9 digits)"
        )
    return text


def valid_registry_version(text: str | None) -> bool:
    """Whether ``text`` is a registry version :func:`registry_version` accepts."""
    return text is not None and text.isascii() and text.isdigit() and len(text) <= 9


def version_label(bundle_dir: Path | str, registered_model: str) -> str:
    """The version an answer names.

    ``<registered model>:v<N>`` for an exported champion, else the bundle's own
    ``model_version`` (``local-…`` for a bundle never registered).
    """
    version = registry_version(bundle_dir)
    if version is not None:
        return f"{registered_model}:v{version}"
    return str(read_metadata(bundle_dir).get("model_version", "unknown"))


def switch_champion(target: Path | str, champion: Path | str) -> Path:
    """Point the symlink ``champion`` at the bundle directory ``target``, atomically.

    A temporary symlink beside ``champion`` is renamed over it (``os.replace``), so a
    reader resolving ``champion`` sees either the old bundle or the new one, never a
    missing or half-written one. An old real directory at ``champion`` (exports before
    the symlink layout) is moved aside first and removed after the switch. Pass the
    link's own path (``Settings.champion_dir``), not a resolved one.
    The link is relative when ``target`` lives beside it, so the home can be moved.
    Returns the link path.
    """
    import os
    import shutil
    import uuid

    link = Path(champion)
    link = Path(os.path.abspath(link.parent)) / link.name
    real = Path(target).resolve()
    if not real.is_dir():
        raise BundleError(f"cannot switch {link} to {real}: not a directory")
    link.parent.mkdir(parents=True, exist_ok=True)
    stale: Path | None = None
    if link.is_dir() and not link.is_symlink():
        stale = link.with_name(f".{link.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(link, stale)
    tmp = link.with_name(f".{link.name}.tmp-{uuid.uuid4().hex[:8]}")
    os.symlink(os.path.relpath(real, link.parent.resolve()), tmp, target_is_directory=True)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if stale is not None and not link.exists():
            os.replace(stale, link)
        raise
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)
    return link
