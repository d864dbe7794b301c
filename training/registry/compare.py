"""``capacity compare``: two registered versions side by side on customers neither trained on.

Both models answer through the served decision path (:func:`training.evaluate.evaluate_model`,
which calls :func:`serving.model.decision.decide`), on the same customers: the candidate's
holdout (or a labelled history given explicitly), less every customer either bundle
records it trained or calibrated on. Each figure (accuracy, undersized, oversized, clamp
share, interval coverage) is compared with the exact paired test of the promotion gate
(:func:`training.registry.gate.paired_comparison`: McNemar's exact test and its conditional interval),
overall and per industry, always on the contract's sizing definition.
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.atomic import write_text
from serving.settings import Settings
from training.data import LabelledHistory
from training.evaluate import EvaluationResult, evaluate_model, unseen_rows
from training.registry.gate import CONFIDENCE, paired_comparison
from training.reports.figures import figure_png_base64 as _png

FIGURES = ("accuracy", "undersized", "oversized", "clamp_share", "coverage80", "coverage90")
"""Compared per customer as booleans: appropriately sized, undersized, oversized, clamped,
metered peak inside the 80 % / 90 % interval."""


@dataclass
class Comparison:
    """Candidate vs baseline version on the same customers."""

    candidate: str
    baseline: str
    n: int
    source: str
    overall: pd.DataFrame  # index figure; candidate, baseline, difference, low, high
    per_industry: pd.DataFrame  # industry, n, candidate, baseline, difference, low, high
    n_seen_excluded: int = 0
    per_application_type: pd.DataFrame | None = None
    """Accuracy per application type, as per industry (None: new connections only)."""

    def metrics(self) -> dict[str, float]:
        """Flat figures for the candidate's MLflow run (``compare.<figure>.<column>``)."""
        out: dict[str, float] = {"compare.n": float(self.n)}
        for fig, row in self.overall.iterrows():
            for col in ("candidate", "baseline", "difference", "low", "high"):
                out[f"compare.{fig}.{col}"] = float(row[col])
        if self.per_application_type is not None:
            for _, row in self.per_application_type.iterrows():
                for col in ("candidate", "baseline", "difference"):
                    out[f"compare.type.{row['application_type']}.{col}"] = float(row[col])
        return out


def _flags(result: EvaluationResult) -> dict[str, np.ndarray]:
    rows = result.rows
    p = rows["peak_demand_kw"].to_numpy(float)
    outcome = rows["model_outcome"].to_numpy(object)
    return {
        "accuracy": outcome == "appropriate",
        "undersized": outcome == "undersized",
        "oversized": outcome == "oversized",
        "clamp_share": rows["clamped"].to_numpy(bool),
        "coverage80": (p >= rows["peak_low80_kw"].to_numpy(float))
        & (p <= rows["peak_high80_kw"].to_numpy(float)),
        "coverage90": (p >= rows["peak_low90_kw"].to_numpy(float))
        & (p <= rows["peak_high90_kw"].to_numpy(float)),
    }


def compare_models(
    candidate_model: Any,
    baseline_model: Any,
    data: LabelledHistory,
    *,
    candidate: str = "candidate",
    baseline: str = "champion",
    source: str = "",
    seed: int = 0,
) -> Comparison:
    """Compare two loaded models on the customers of ``data`` neither trained on.

    Raises
    ------
    ValueError
        No customer of ``data`` is unseen by both models.
    """
    customers = data.frames.customers
    keep = unseen_rows(candidate_model, customers, data.peak_kw) & unseen_rows(
        baseline_model, customers, data.peak_kw
    )
    if not keep.any():
        raise ValueError(
            f"all {len(keep)} customers offered were trained or calibrated on by {candidate} or "
            f"{baseline}: no fair comparison is possible; give a history neither saw"
        )
    shared = data.subset(np.flatnonzero(keep))
    cand = evaluate_model(candidate_model, shared.frames, shared.peak_kw, exclude_fitted=False)
    base = evaluate_model(baseline_model, shared.frames, shared.peak_kw, exclude_fitted=False)
    fa, fb = _flags(cand), _flags(base)
    industry = cand.rows["industry"].astype(str).to_numpy()
    overall = []
    for fig in FIGURES:
        c = paired_comparison(fa[fig], fb[fig], figure=fig)
        overall.append(
            {
                "figure": fig,
                "candidate": c.candidate_accuracy,
                "baseline": c.champion_accuracy,
                "difference": c.difference,
                "low": c.low,
                "high": c.high,
                "p_value": c.p_value,
            }
        )
    kinds = cand.rows["application_type"].astype(str).to_numpy()
    return Comparison(
        candidate=candidate,
        baseline=baseline,
        n=int(keep.sum()),
        source=source,
        overall=pd.DataFrame(overall).set_index("figure"),
        per_industry=_per_group("industry", industry, fa, fb, seed),
        n_seen_excluded=int((~keep).sum()),
        per_application_type=_per_group("application_type", kinds, fa, fb, seed)
        if set(kinds) - {"new"}
        else None,
    )


def _per_group(
    key: str,
    labels: np.ndarray,
    fa: dict[str, np.ndarray],
    fb: dict[str, np.ndarray],
    seed: int,
) -> pd.DataFrame:
    """Paired accuracy per group (industry, application type), largest loss first."""
    per = []
    for label in sorted(set(labels)):
        m = labels == label
        c = paired_comparison(fa["accuracy"][m], fb["accuracy"][m])
        per.append(
            {
                key: label,
                "n": int(m.sum()),
                "candidate": c.candidate_accuracy,
                "baseline": c.champion_accuracy,
                "difference": c.difference,
                "low": c.low,
                "high": c.high,
            }
        )
    return pd.DataFrame(per).sort_values("difference").reset_index(drop=True)


def compare_versions(
    settings: Settings,
    candidate: str,
    baseline: str,
    *,
    history: LabelledHistory | None = None,
    seed: int = 0,
) -> Comparison:
    """Compare registered versions ``candidate`` and ``baseline``.

    On ``history`` when given, else on the candidate's logged holdout; in both cases only
    the customers neither version trained or calibrated on count.
    """
    from serving.model.bundle import load_bundle
    from training.data import read_holdout
    from training.registry.store import download_version

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        cand_model, _, _ = load_bundle(download_version(settings, candidate, "bundle", t / "c"))
        base_model, _, _ = load_bundle(download_version(settings, baseline, "bundle", t / "b"))
        source = "given history"
        if history is None:
            history = read_holdout(download_version(settings, candidate, "holdout", t / "h"))
            source = f"holdout of version {candidate}"
    return compare_models(
        cand_model,
        base_model,
        history,
        candidate=f"v{candidate}",
        baseline=f"v{baseline}",
        source=source,
        seed=seed,
    )


def log_to_run(settings: Settings, version: str, comparison: Comparison, files: list[Path]) -> str:
    """Log the comparison's figures and reports to ``version``'s training run; its run id."""
    from mlflow.entities import Metric

    from training.registry.store import client

    mc = client(settings)
    mv = mc.get_model_version(settings.registered_model, version)
    if mv.run_id is None:
        raise RuntimeError(f"version {version} has no run to log the comparison to")
    import time

    ts = int(time.time() * 1000)
    prefix = f"vs_{comparison.baseline}"
    metrics = [
        Metric(f"{prefix}.{k.removeprefix('compare.')}", v, ts, 0)
        for k, v in comparison.metrics().items()
        if np.isfinite(v)
    ]
    mc.log_batch(mv.run_id, metrics=metrics)
    for f in files:
        mc.log_artifact(mv.run_id, str(f), artifact_path=f"compare/{prefix}")
    mc.set_tag(mv.run_id, f"compare.{prefix}", _headline(comparison))
    return str(mv.run_id)


def _headline(c: Comparison) -> str:
    a = c.overall.loc["accuracy"]
    return (
        f"{c.candidate} {a['candidate']:.4f} vs {c.baseline} {a['baseline']:.4f} on {c.n} "
        f"customers neither trained on: {a['difference'] * 100:+.2f} points "
        f"[{a['low'] * 100:+.2f}, {a['high'] * 100:+.2f}]"
    )


def verdict(low: float, high: float) -> str:
    """Reading of a paired interval of candidate minus baseline."""
    if low > 0:
        return "higher"
    if high < 0:
        return "lower"
    return "no significant difference"


def _plots(c: Comparison) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    o = c.overall
    fig, ax = plt.subplots(figsize=(8, 3.8))
    y = np.arange(len(o))
    d = o["difference"].to_numpy(float) * 100
    ax.errorbar(
        d,
        y,
        xerr=[d - o["low"].to_numpy(float) * 100, o["high"].to_numpy(float) * 100 - d],
        fmt="o",
        capsize=4,
        label=f"{c.candidate} − {c.baseline} ({CONFIDENCE:.0%} exact paired interval)",
    )
    ax.axvline(0, color="k", lw=1)
    ax.set_yticks(y, list(o.index))
    ax.invert_yaxis()
    ax.set_xlabel("difference, percentage points")
    ax.set_title("Candidate minus baseline, same customers")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.18))
    out.append(("Differences with confidence intervals", _png(fig)))

    per = c.per_industry
    fig, ax = plt.subplots(figsize=(9, max(3.5, 0.32 * len(per) + 1.2)))
    y = np.arange(len(per))
    ax.barh(y - 0.2, per["candidate"], 0.4, label=c.candidate)
    ax.barh(y + 0.2, per["baseline"], 0.4, label=c.baseline)
    ax.axvline(0.9, color="k", ls="--", lw=1, label="0.90 target")
    ax.set_yticks(y, [f"{i} (n={n})" for i, n in zip(per["industry"], per["n"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("sizing accuracy (served answers)")
    ax.set_title("Accuracy by industry")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    out.append(("Accuracy by industry", _png(fig)))
    return out


def overall_table(c: Comparison) -> pd.DataFrame:
    """The overall figures as printed (shares in %, differences in points)."""
    return pd.DataFrame(
        {
            "figure": list(c.overall.index),
            c.candidate: [f"{v:.1%}" for v in c.overall["candidate"]],
            c.baseline: [f"{v:.1%}" for v in c.overall["baseline"]],
            "difference (points)": [f"{v * 100:+.2f}" for v in c.overall["difference"]],
            f"{CONFIDENCE:.0%} interval": [
                f"[{lo * 100:+.2f}, {hi * 100:+.2f}]"
                for lo, hi in zip(c.overall["low"], c.overall["high"], strict=True)
            ],
            "reading": [
                verdict(lo, hi) for lo, hi in zip(c.overall["low"], c.overall["high"], strict=True)
            ],
        }
    )


def industry_table(c: Comparison) -> pd.DataFrame:
    """Per-industry accuracy as printed."""
    p = c.per_industry
    return pd.DataFrame(
        {
            "industry": p["industry"],
            "n": p["n"].astype(int),
            c.candidate: [f"{v:.1%}" for v in p["candidate"]],
            c.baseline: [f"{v:.1%}" for v in p["baseline"]],
            "difference (points)": [f"{v * 100:+.2f}" for v in p["difference"]],
            f"{CONFIDENCE:.0%} interval": [
                f"[{lo * 100:+.2f}, {hi * 100:+.2f}]"
                for lo, hi in zip(p["low"], p["high"], strict=True)
            ],
        }
    )


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(c: Comparison, path: Path) -> Path:
    """A self-contained HTML report of the comparison (plots inlined)."""
    plots = "".join(
        f"<h2>{html.escape(t)}</h2><img alt='{html.escape(t)}' src='data:image/png;base64,{b}'>"
        for t, b in _plots(c)
    )
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Compare {html.escape(c.candidate)} vs {html.escape(c.baseline)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;
text-align:right}}th{{background:#f3f3f3}}img{{max-width:100%}}</style></head><body>
<h1>{html.escape(c.candidate)} (candidate) vs {html.escape(c.baseline)}</h1>
<p>{c.n} customers neither version trained or calibrated on ({html.escape(c.source)};
{c.n_seen_excluded} left out because one of them had seen them). Served answers through
the decision path; differences are candidate minus baseline with {CONFIDENCE:.0%} exact
paired intervals (McNemar's conditional law on the customers the two disagree on), judged
on the contract's sizing definition.</p>
<h2>Overall</h2>{_html_table(overall_table(c))}
<h2>Per industry (largest loss first)</h2>{_html_table(industry_table(c))}
{plots}
</body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, doc, encoding="utf-8")
    return path
