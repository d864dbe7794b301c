"""MLflow tracking and model registry (registered model ``capacity-recommender``).

Every training run logs its params, config, seed, data hash, git sha, metrics, plots,
the holdout it was scored on, and the model bundle; the bundle is registered as a new
version. Promotion moves the alias ``champion`` (never ``latest``) only through a gate,
recording who, when and why as version tags.

MLflow is imported inside functions only: importing this module costs nothing and the
service never needs it when it is given a bundle path.
"""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from features.atomic import write_text
from serving.settings import CHAMPION_ALIAS, PROJECT_ROOT, Settings
from training.registry.gate import (
    GATE_MIN_ACCURACY,
    HistoryCheck,
    PairedComparison,
    duplicate_share,
    paired_comparison,
)

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.tracking import MlflowClient


def git_sha() -> str:
    """The current git commit (with ``-dirty`` when the tree has changes), or ``unknown``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return f"{sha}-dirty" if dirty else sha
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def client(settings: Settings) -> MlflowClient:
    """An MLflow client on the configured tracking URI (explicit, never process-global)."""
    from mlflow.tracking import MlflowClient

    settings.home.mkdir(parents=True, exist_ok=True)
    uri = settings.resolved_tracking_uri()
    # No mlflow.set_tracking_uri: it exports MLFLOW_TRACKING_URI into this process and
    # would silently override a later Settings(home=...).
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
"""MLflow 3 opens an experiment in its GenAI view unless it is tagged as classic ML
(the UI's ``ExperimentKind.CUSTOM_MODEL_DEVELOPMENT``; "Machine learning" in its selector)."""
CHAMPION_RUN_TAG = "champion"
"""Tag on the training run of the current champion (moved on every promotion), so the
runs table shows which run is served."""


def _experiment_id(settings: Settings, mc: MlflowClient) -> str:
    exp = mc.get_experiment_by_name(settings.experiment)
    if exp is not None:
        if exp.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            mc.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return str(exp.experiment_id)
    location = None
    if settings.resolved_tracking_uri().startswith("sqlite:"):
        # A database store would otherwise put artifacts in ./mlruns of the current directory.
        settings.artifact_root.mkdir(parents=True, exist_ok=True)
        location = settings.artifact_root.as_uri()
    return str(
        mc.create_experiment(
            settings.experiment,
            artifact_location=location,
            tags={
                EXPERIMENT_KIND_TAG: EXPERIMENT_KIND,
                "mlflow.note.content": (
                    "Connection-capacity recommender (业扩报装 报装容量): one run per training; "
                    "the run tagged champion=true is the one served."
                ),
            },
        )
    )


@dataclass(frozen=True)
class LoggedDataset:
    """A data set a run used: logged as an MLflow dataset input (digest, source, schema)."""

    frame: Any  # pandas.DataFrame, or None for data not held in this process (Dask)
    name: str
    source: str
    context: str  # "training" or "holdout"
    targets: str | None = None
    digest: str | None = None  # with frame None: the data's own digest (its files' hash)
    schema_like: Any = None  # with frame None: a frame of the same columns (the schema)


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = str(value)[:500]


def _meta_dataset_input(d: LoggedDataset) -> Any:
    """A data set described by its source, digest and schema, without its rows."""
    import warnings

    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    schema = None
    if d.schema_like is not None and len(d.schema_like.columns):
        from mlflow.models import infer_signature

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            schema = infer_signature(d.schema_like.head(50)).inputs
    from mlflow.data.http_dataset_source import HTTPDatasetSource

    try:
        from mlflow.data.dataset_source_registry import resolve_dataset_source

        source = resolve_dataset_source(d.source)
    except Exception:  # an address no resolver knows: keep it as a URL-like source
        source = HTTPDatasetSource(url=d.source)  # type: ignore[no-untyped-call]
    ds = MetaDataset(source=source, name=d.name, digest=d.digest, schema=schema)  # type: ignore[abstract]
    return DatasetInput(
        ds._to_mlflow_entity(), tags=[InputTag(key="mlflow.data.context", value=d.context)]
    )


@dataclass
class RunRecord:
    """What a training run produced in MLflow."""

    run_id: str
    version: str
    tracking_uri: str


def log_training_run(
    settings: Settings,
    *,
    config: dict[str, Any],
    seed: int,
    data_hash: str,
    data_files: dict[str, str],
    metrics: dict[str, float],
    bundle_dir: Path,
    plot_paths: list[Path],
    holdout_dir: Path,
    extra_artifacts: list[Path] | None = None,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
    started_ms: int | None = None,
    ended_ms: int | None = None,
    description: str | None = None,
    datasets: list[LoggedDataset] | None = None,
    pyfunc_dir: Path | None = None,
    monitor_profile: dict[str, Any] | None = None,
) -> RunRecord:
    """Log one training run and register its model as a new version.

    Parameters
    ----------
    started_ms, ended_ms
        When the training began and ended (epoch milliseconds): the run spans the actual
        training, not the few milliseconds of logging it.
    description
        The run's description (``mlflow.note.content``, shown on the run page).
    datasets
        Training and holdout data, logged as MLflow dataset inputs (digest, source, schema).
    pyfunc_dir
        The bundle saved as an MLflow pyfunc model (:func:`training.mlflow_model.save_pyfunc`):
        logged as ``model`` and registered (so the version has a signature and
        ``mlflow.pyfunc.load_model("models:/...")`` works). Without it the bare bundle is
        registered.
    monitor_profile
        The reference profile for ``capacity monitor`` (``monitor/monitor_profile.json``).
    """
    import math

    mc = client(settings)
    exp_id = _experiment_id(settings, mc)
    all_tags = {
        "git_sha": git_sha(),
        "data_hash": data_hash,
        "seed": str(seed),
        **(tags or {}),
    }
    if description:
        all_tags["mlflow.note.content"] = description
    run = mc.create_run(exp_id, run_name=run_name, tags=all_tags, start_time=started_ms)
    run_id = run.info.run_id
    params: dict[str, str] = {"seed": str(seed), "data_hash": data_hash}
    _flatten("config", config, params)
    for k, v in data_files.items():
        params[f"data.{k}"] = v
    from mlflow.entities import DatasetInput, InputTag, Metric, Param

    ts = ended_ms or int(datetime.now(UTC).timestamp() * 1000)
    mc.log_batch(
        run_id,
        params=[Param(k, v) for k, v in params.items()],
        metrics=[Metric(k, float(v), ts, 0) for k, v in metrics.items() if math.isfinite(float(v))],
    )
    if datasets:
        import warnings

        import mlflow.data

        inputs = []
        for d in datasets:
            if d.frame is None:
                inputs.append(_meta_dataset_input(d))
                continue
            if d.frame.empty:
                # An area-only history has no equipment lines: MLflow's digest cannot type the
                # columns of an empty Arrow-backed frame (NotImplementedError in pandas), and
                # there is nothing to describe; the customers' dataset is still logged.
                continue
            with warnings.catch_warnings():
                # "source can be interpreted in multiple ways" (two local-file resolvers
                # registered for one path) and the int-column schema hint: both noise here.
                warnings.simplefilter("ignore", UserWarning)
                ds = mlflow.data.from_pandas(  # type: ignore[attr-defined]
                    d.frame, source=d.source, name=d.name, targets=d.targets
                )
                entity = ds._to_mlflow_entity()  # the schema is inferred here
            inputs.append(
                DatasetInput(entity, tags=[InputTag(key="mlflow.data.context", value=d.context)])
            )
        mc.log_inputs(run_id, datasets=inputs)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.json"
        write_text(cfg, json.dumps(config, indent=1, default=str), encoding="utf-8")
        mc.log_artifact(run_id, str(cfg))
        if monitor_profile is not None:
            from training.registry.monitor_profile import PROFILE_FILE, dumps

            prof = Path(tmp) / PROFILE_FILE
            write_text(prof, dumps(monitor_profile), encoding="utf-8")
            mc.log_artifact(run_id, str(prof), artifact_path="monitor")
    for p in plot_paths:
        mc.log_artifact(run_id, str(p), artifact_path="plots")
    for p in extra_artifacts or []:
        mc.log_artifact(run_id, str(p), artifact_path="reports")
    mc.log_artifacts(run_id, str(holdout_dir), artifact_path="holdout")
    mc.log_artifacts(run_id, str(bundle_dir), artifact_path="bundle")
    if pyfunc_dir is not None:
        mc.log_artifacts(run_id, str(pyfunc_dir), artifact_path="model")
    mc.set_terminated(run_id, end_time=ended_ms)
    try:
        mc.create_registered_model(
            settings.registered_model,
            description=(
                "Connection-capacity recommender: LightGBM peak model with conformal intervals, "
                "tier policy and sanity bounds. Alias 'champion' is served; load it with "
                "mlflow.pyfunc.load_model('models:/capacity-recommender@champion')."
            ),
        )
    except Exception as exc:  # already exists
        if "already exists" not in str(exc).lower() and "RESOURCE_ALREADY_EXISTS" not in str(exc):
            raise
    artifact_uri = mc.get_run(run_id).info.artifact_uri
    source = f"{artifact_uri}/model" if pyfunc_dir is not None else f"{artifact_uri}/bundle"
    mv = mc.create_model_version(
        settings.registered_model,
        source=source,
        run_id=run_id,
        description=description,
    )
    mc.set_model_version_tag(
        settings.registered_model,
        mv.version,
        "holdout_accuracy",
        str(metrics.get("model_accuracy")),
    )
    mc.set_tag(run_id, "registered_version", str(mv.version))
    if pyfunc_dir is not None:
        # The pyfunc's bundle names its registry version, as an exported champion does.
        from serving.model.bundle import REGISTRY_VERSION_FILE
        from training.mlflow_model import BUNDLE_PATH_IN_MODEL

        with tempfile.TemporaryDirectory() as tmp:
            marker = Path(tmp) / REGISTRY_VERSION_FILE
            write_text(marker, str(mv.version), encoding="utf-8")
            mc.log_artifact(run_id, str(marker), artifact_path=f"model/{BUNDLE_PATH_IN_MODEL}")
    return RunRecord(
        run_id=run_id, version=str(mv.version), tracking_uri=settings.resolved_tracking_uri()
    )


def download_version(settings: Settings, version: str, what: str, dst: Path) -> Path:
    """Download ``bundle`` or ``holdout`` of a registered version into ``dst``."""
    import os

    import mlflow

    # Progress bars on every small download drown the CLI's own output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mc = client(settings)
    mv = mc.get_model_version(settings.registered_model, version)
    if what == "bundle" and (mv.run_id is None or not str(mv.source).endswith("/model")):
        uri = mv.source  # versions registered before the pyfunc model: the bundle itself
    else:
        if mv.run_id is None:
            raise RuntimeError(f"model version {version} has no run: cannot find its {what}")
        uri = f"{mc.get_run(mv.run_id).info.artifact_uri}/{what}"
    dst.mkdir(parents=True, exist_ok=True)
    return Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=str(dst), tracking_uri=settings.resolved_tracking_uri()
        )
    )


def champion_version(settings: Settings) -> str | None:
    """The version the ``champion`` alias points at, or None."""
    mc = client(settings)
    try:
        mv = mc.get_model_version_by_alias(settings.registered_model, CHAMPION_ALIAS)
    except Exception:
        return None
    return str(mv.version)


def latest_version(settings: Settings) -> str | None:
    """Highest registered version number (for choosing a candidate), or None."""
    mc = client(settings)
    versions = mc.search_model_versions(f"name='{settings.registered_model}'")
    if not versions:
        return None
    return str(max(int(v.version) for v in versions))


@dataclass
class PromotionDecision:
    """The outcome of the promotion gate (also written as the version's decision entry)."""

    promoted: bool
    candidate: str
    champion: str | None
    candidate_accuracy: float
    champion_accuracy: float | None
    reason: str
    comparison: PairedComparison | None = None
    forced: bool = False
    n_candidate_holdout: int = 0
    undersized: PairedComparison | None = None
    reverse: PairedComparison | None = None  # on the champion's holdout
    reverse_undersized: PairedComparison | None = None
    history: HistoryCheck | None = None
    refusals: tuple[str, ...] = ()
    entry: str = ""  # the registry tag key of this decision's entry

    @property
    def outcome(self) -> str:
        """``accepted``, ``refused`` or ``forced``."""
        if not self.promoted:
            return "refused"
        return "forced" if self.forced else "accepted"


DECISION_TAG_PREFIX = "gate_decision."
"""Version tags ``gate_decision.001``, ``.002``, …: one JSON entry per gate decision
(accepted, refused or forced), appended and never overwritten."""


def decision_entries(settings: Settings, version: str) -> list[dict[str, Any]]:
    """Every gate decision recorded on ``version``, oldest first."""
    mc = client(settings)
    tags = mc.get_model_version(settings.registered_model, str(version)).tags
    keys = sorted(k for k in tags if k.startswith(DECISION_TAG_PREFIX))
    return [json.loads(tags[k]) for k in keys]


def _record_decision(
    settings: Settings, mc: MlflowClient, decision: PromotionDecision, who: str, when: str
) -> str:
    """Append ``decision`` as a new ``gate_decision.NNN`` tag of the candidate version."""
    tags = mc.get_model_version(settings.registered_model, decision.candidate).tags
    n = 1 + sum(1 for k in tags if k.startswith(DECISION_TAG_PREFIX))
    key = f"{DECISION_TAG_PREFIX}{n:03d}"
    entry: dict[str, Any] = {
        "outcome": decision.outcome,
        "at": when,
        "by": who,
        "candidate": decision.candidate,
        "champion": decision.champion,
        "candidate_accuracy": round(decision.candidate_accuracy, 6),
        "n_candidate_holdout": decision.n_candidate_holdout,
        "reason": decision.reason[:1500],
        "refusals": [r[:600] for r in decision.refusals],
    }
    for name in ("comparison", "undersized", "reverse", "reverse_undersized", "history"):
        part = getattr(decision, name)
        if part is not None:
            entry[name] = part.as_dict()
    text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    if len(text) > 5000:  # MLflow's limit on a tag value: keep the figures, shorten words
        entry["reason"] = entry["reason"][:300]
        entry["refusals"] = [r[:200] for r in entry["refusals"]]
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))[:5000]
    mc.set_model_version_tag(settings.registered_model, decision.candidate, key, text)
    return key


def history_check(holdout_dir: Path, evaluation: Any) -> HistoryCheck:
    """Flags, duplicates and interval coverage of a candidate's holdout.

    The holdout is a random share of its training history, so its shares estimate the
    history's.
    """
    from training.data import load_labelled

    data, validated = load_labelled(holdout_dir / "customers.csv", holdout_dir / "equipment.csv")
    ids = set(data.frames.customers["customer_id"].astype(str))
    flags = validated.flags
    flagged = set(flags["customer_id"].dropna().astype(str)) & ids if len(flags) else set()
    n = max(len(ids), 1)
    return HistoryCheck(
        n=len(ids),
        flagged_share=len(flagged) / n,
        duplicate_share=duplicate_share(data.frames.customers, data.frames.equipment),
        coverage90=float(evaluation.point.get("coverage90", float("nan"))),
    )


def _paired_on(
    cand_model: Any, champ_model: Any, holdout: Any
) -> tuple[PairedComparison, PairedComparison, frozenset[str]] | None:
    """Accuracy and undersized share of both models on the holdout customers neither saw.

    None when there are none (both trained or calibrated on every one).
    """
    from training.evaluate import evaluate_model, unseen_rows

    customers = holdout.frames.customers
    keep = unseen_rows(cand_model, customers, holdout.peak_kw) & unseen_rows(
        champ_model, customers, holdout.peak_kw
    )
    if not keep.any():
        return None
    shared = holdout.subset(np.flatnonzero(keep))
    cand = evaluate_model(cand_model, shared.frames, shared.peak_kw, exclude_fitted=False).rows
    champ = evaluate_model(champ_model, shared.frames, shared.peak_kw, exclude_fitted=False).rows
    acc = paired_comparison(
        (cand["model_outcome"] == "appropriate").to_numpy(),
        (champ["model_outcome"] == "appropriate").to_numpy(),
    )
    under = paired_comparison(
        (cand["model_outcome"] == "undersized").to_numpy(),
        (champ["model_outcome"] == "undersized").to_numpy(),
        figure="undersized share",
    )
    return acc, under, frozenset(map(str, shared.keys()))


def promote(
    settings: Settings,
    candidate: str,
    *,
    reason: str | None = None,
    by: str | None = None,
    force: bool = False,
    min_accuracy: float = GATE_MIN_ACCURACY,
    seed: int = 0,
) -> PromotionDecision:
    """Move ``champion`` to ``candidate`` if it passes the gate, recording the decision.

    The gate scores SERVED answers (the decision path, bounds included) with the
    contract's sizing definition (never the candidate's own ``policy.sizing``). It refuses,
    naming the reason and the figures, a candidate

    * that serves without its sanity bounds (``bounds.enabled`` off, or none learned);
    * whose training history looks corrupt, judged on its holdout: plausibility-flag share,
      duplicated-record share, 90 % interval coverage (:class:`training.registry.gate.HistoryCheck`);
    * below ``min_accuracy`` (the contract's 0.90) on its own holdout;
    * significantly worse than the champion, or with a significantly higher undersized
      share (McNemar exact, 95 %, and beyond the practical margin), in either direction:
      on the candidate's holdout and on the champion's holdout, each time only on the
      customers NEITHER model trained or calibrated on. A tie within noise passes.

    Every decision (accepted, refused or forced) is appended to the candidate version as a
    ``gate_decision.NNN`` tag with its figures (:func:`decision_entries`). ``force``
    promotes despite a refusal; it needs a ``reason``.

    Raises
    ------
    ValueError
        ``force`` without a reason.
    """
    from serving.model.bundle import load_bundle
    from training.data import read_holdout
    from training.evaluate import evaluate_model

    if force and not (reason and reason.strip()):
        raise ValueError("--force needs --reason: say why the gate is overridden")
    mc = client(settings)
    current = champion_version(settings)
    notes: list[str] = []
    fails: list[str] = []
    comparison = undersized = reverse = reverse_under = None
    champ_acc: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        cand_bundle = download_version(settings, candidate, "bundle", tmpdir / "cand")
        hold_dir = download_version(settings, candidate, "holdout", tmpdir / "hold")
        holdout = read_holdout(hold_dir)
        cand_model, _, _ = load_bundle(cand_bundle)
        cand_eval = evaluate_model(cand_model, holdout.frames, holdout.peak_kw)
        cand_acc = float(cand_eval.overall.loc["model", "accuracy"])
        history = history_check(hold_dir, cand_eval)
        if not cand_model.config.bounds.enabled or cand_model.bounds is None:
            fails.append(
                "the candidate serves without its sanity bounds (bounds.enabled is off in its "
                "configuration): nothing would stop an absurd answer"
            )
        fails.extend(f"training history: {p}" for p in history.problems())
        if current is not None and current != str(candidate):
            champ_bundle = download_version(settings, current, "bundle", tmpdir / "champ")
            try:
                champ_model, _, _ = load_bundle(champ_bundle)
            except Exception as exc:  # an incompatible old champion cannot block progress
                champ_model = None
                notes.append(f"previous champion v{current} unloadable: {exc}")
            if champ_model is not None:
                forward = _paired_on(cand_model, champ_model, holdout)
                if forward is not None:
                    comparison, undersized, forward_keys = forward
                    champ_acc = comparison.champion_accuracy
                try:
                    champ_hold = read_holdout(
                        download_version(settings, current, "holdout", tmpdir / "champ-hold")
                    )
                except Exception as exc:  # registered before holdouts were logged
                    notes.append(f"champion v{current} has no readable holdout ({exc})")
                else:
                    backward = _paired_on(cand_model, champ_model, champ_hold)
                    # One history: the customers neither saw are the same both ways (the
                    # two holdouts' intersection); the second test would only repeat.
                    if backward is not None and (forward is None or backward[2] != forward[2]):
                        reverse, reverse_under, _ = backward
                if forward is None and reverse is None:
                    fails.append(
                        f"champion v{current} and the candidate trained on every customer of "
                        "both holdouts: no fair comparison is possible"
                    )
    if not np.isfinite(cand_acc) or cand_acc < min_accuracy:
        fails.append(
            f"served sizing accuracy {cand_acc:.4f} on its holdout is below the gate "
            f"{min_accuracy:.2f}"
        )
    for where, acc, under in (
        ("its own holdout", comparison, undersized),
        ("the champion's holdout", reverse, reverse_under),
    ):
        if acc is not None and acc.significantly_worse:
            fails.append(
                f"significantly worse than champion v{current} on {where}: {acc.describe()}"
            )
        if under is not None and under.significantly_higher:
            fails.append(
                f"significantly more undersized than champion v{current} on {where}: "
                f"{under.describe()}"
            )
    if current == str(candidate):
        fails.append(f"version {candidate} is already the champion")
        force = False  # nothing to override
    refusal = "; ".join(fails)
    who = by or getpass.getuser()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    decision = PromotionDecision(
        promoted=not fails or force,
        candidate=str(candidate),
        champion=current,
        candidate_accuracy=cand_acc,
        champion_accuracy=champ_acc,
        reason=refusal,
        comparison=comparison,
        forced=bool(fails) and force,
        n_candidate_holdout=int(cand_eval.overall.loc["model", "n"]),
        undersized=undersized,
        reverse=reverse,
        reverse_undersized=reverse_under,
        history=history,
        refusals=tuple(fails),
    )
    if not decision.promoted:
        decision.entry = _record_decision(settings, mc, decision, who, when)
        return decision
    why = reason or "passed the gate"
    if notes:
        why = f"{why} ({'; '.join(notes)})"
    decision.reason = why
    decision.entry = _record_decision(settings, mc, decision, who, when)
    mc.set_registered_model_alias(settings.registered_model, CHAMPION_ALIAS, str(candidate))
    _move_champion_run_tag(settings, mc, current, str(candidate))
    # The flat tags describe the latest promotion (the model card reads them); the record of
    # every decision is the appended gate_decision.NNN entries.
    tags = {
        "promoted_by": who,
        "promoted_at": when,
        "promotion_reason": why,
        "previous_champion": current or "none",
        "gate_candidate_accuracy": f"{cand_acc:.4f}",
        "gate_champion_accuracy": "n/a" if champ_acc is None else f"{champ_acc:.4f}",
        "gate_comparison": comparison.describe() if comparison else "none",
        "gate_forced": "true" if fails else "false",
        "gate_entry": decision.entry,
    }
    if fails:
        tags["gate_refusal"] = refusal[:4900]
    for k, v in tags.items():
        mc.set_model_version_tag(settings.registered_model, str(candidate), k, v)
    return decision


def _move_champion_run_tag(
    settings: Settings, mc: MlflowClient, previous: str | None, new: str
) -> None:
    """Tag the new champion's training run ``champion=true``; untag the previous one's."""
    if previous is not None and previous != new:
        old = mc.get_model_version(settings.registered_model, previous)
        if old.run_id is not None:
            try:
                mc.delete_tag(old.run_id, CHAMPION_RUN_TAG)
            except Exception:  # never tagged (promoted before this tag existed)
                pass
    mv = mc.get_model_version(settings.registered_model, new)
    if mv.run_id is not None:
        mc.set_tag(mv.run_id, CHAMPION_RUN_TAG, "true")


def export_champion(settings: Settings) -> Path | None:
    """Export the champion bundle for serving without MLflow, atomically; the link path.

    The bundle is downloaded into a new directory ``<home>/exports/v<N>-<random>`` (with
    its ``REGISTRY_VERSION``), verified as the service will verify it
    (:func:`serving.model.verify.verify_bundle`: checksums, documents, versions, and
    LightGBM loading the booster and predicting in a child process, so a booster that
    would abort LightGBM natively cannot abort the export), and only then is
    ``<home>/champion`` switched to it: a symlink replaced in one rename
    (:func:`serving.model.bundle.switch_champion`), so a running service never sees a
    half-written bundle and picks the new one up on its next poll. Exports other than
    the new one and the one it replaced are removed. Returns ``<home>/champion`` (None
    when no champion is registered).

    Raises
    ------
    BundleError
        When the downloaded bundle fails verification: the export is removed and
        ``champion`` still points at the previous bundle.
    """
    import os

    from serving.model.bundle import REGISTRY_VERSION_FILE, BundleError, switch_champion
    from serving.model.verify import verify_bundle

    version = champion_version(settings)
    if version is None:
        return None
    home = settings.home.resolve()
    link = settings.champion_dir
    exports = home / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    export = Path(tempfile.mkdtemp(prefix=f"v{version}-", dir=exports))
    try:
        export.chmod(0o755)  # mkdtemp's 0700 would hide it from a service run as another user
        with tempfile.TemporaryDirectory(dir=exports, prefix=".download-") as tmp:
            src = download_version(settings, version, "bundle", Path(tmp))
            shutil.copytree(src, export, dirs_exist_ok=True)
        write_text(export / REGISTRY_VERSION_FILE, version, encoding="utf-8")
        verify_bundle(export)
    except BundleError as exc:
        shutil.rmtree(export, ignore_errors=True)
        raise BundleError(
            f"champion version {version} was not exported: it failed verification, "
            f"{link} still serves the previous bundle ({exc})"
        ) from exc
    except BaseException:
        shutil.rmtree(export, ignore_errors=True)
        raise
    previous = Path(os.path.realpath(link)) if link.is_symlink() else None
    switch_champion(export, link)
    keep = {export.resolve(), previous}
    for old in exports.glob("v*-*"):
        if old.is_dir() and not old.is_symlink() and old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return link
