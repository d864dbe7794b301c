"""The model card (``models/README.md``), generated from the champion's own records.

:func:`collect_model_card_data` gathers what the card states: the bundle's
``metadata.json`` (version, created, data hash, git sha, seed, training size),
``metrics.json`` (holdout accuracy of the model and of the baselines, point accuracy,
interval coverage), ``peers.json`` (training customers per industry) and per-industry
results. The bundle's metrics hold no per-industry figures, so those come from re-scoring
the bundle on the holdout the registry stored with the run (:mod:`training.evaluate`).
:func:`render_model_card` turns that into Markdown; ``capacity model-card`` writes it.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from features.atomic import write_text
from features.contract import SIZING_ACCURACY_TARGET as ACCURACY_TARGET
from serving.settings import PROJECT_ROOT, Settings
from training.reports.format import count, md_table, pct

__all__ = [
    "ModelCardData",
    "ModelCardError",
    "collect_model_card_data",
    "render_model_card",
    "write_model_card",
]

DEFAULT_CARD_PATH = PROJECT_ROOT / "models" / "README.md"
WEAK_SPOTS = 5
_METHODS = (
    ("model", "Model (this card): the served answer, sanity bounds included"),
    ("model_unclamped", "Model before the sanity bounds (for comparison)"),
    ("status_quo", "Status quo: the applicant's own applied capacity"),
    ("engineering", "Engineering: demand-coefficient method"),
    ("oracle", "Oracle: generator's expected peak through the same tier policy (synthetic only)"),
)


class ModelCardError(RuntimeError):
    """The model card cannot be made (no champion, or a bundle without its records)."""


@dataclass(frozen=True)
class ModelCardData:
    """Everything the model card states.

    Attributes
    ----------
    metadata, metrics, peers
        The bundle's ``metadata.json``, ``metrics.json`` and ``peers.json``.
    registry_version
        The registered version (None for a bundle outside the registry).
    registered_model
        Registered model name.
    per_industry
        One row per industry (index), columns as in
        :attr:`training.evaluate.EvaluationResult.per_industry`; None when unavailable.
    per_industry_source
        Where the per-industry figures come from (stated on the card).
    promotion
        The version's promotion tags (promoted_by, promoted_at, promotion_reason, …).
    """

    metadata: dict[str, Any]
    metrics: dict[str, Any]
    peers: dict[str, Any]
    registry_version: str | None = None
    registered_model: str = "capacity-recommender"
    per_industry: pd.DataFrame | None = None
    per_industry_source: str = "not available"
    promotion: dict[str, str] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelCardError(f"not a model bundle: {path} is missing")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _per_industry_from_metrics(metrics: dict[str, Any]) -> pd.DataFrame | None:
    # Forward-compatible: a bundle whose metrics.json carries {"per_industry": {code: {...}}}.
    table = metrics.get("per_industry")
    if isinstance(table, dict) and table:
        frame = pd.DataFrame.from_dict(table, orient="index")
        if "model_accuracy" in frame:
            return frame.sort_values("model_accuracy")
    return None


def _per_industry_from_holdout(
    settings: Settings, version: str, bundle: Path, tmp: Path
) -> pd.DataFrame:
    from serving.model.bundle import load_bundle
    from training.data import read_holdout
    from training.evaluate import evaluate_model
    from training.registry.store import download_version

    model, _, _ = load_bundle(bundle)
    holdout = read_holdout(download_version(settings, version, "holdout", tmp / "holdout"))
    result = evaluate_model(
        model, holdout.frames, holdout.peak_kw, holdout.status_quo_kva, holdout.oracle_kw
    )
    return result.per_industry


def collect_model_card_data(
    settings: Settings | None = None, model_dir: Path | None = None
) -> ModelCardData:
    """Gather the card's facts from the registry champion, or from a bundle directory.

    Parameters
    ----------
    settings
        Registry location; from the environment when None.
    model_dir
        A bundle directory instead of the champion. Its per-industry figures come from
        the registry holdout when the bundle carries a ``REGISTRY_VERSION`` marker, else
        from the ``<bundle>-reports/per_industry.csv`` written beside it by training.

    Returns
    -------
    ModelCardData
        Metadata, metrics, peers and per-industry results.

    Raises
    ------
    ModelCardError
        No champion is registered, or the bundle lacks its metadata or metrics.
    """
    from training.registry.store import champion_version, client, download_version

    settings = settings if settings is not None else Settings()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if model_dir is None:
            version = champion_version(settings)
            if version is None:
                raise ModelCardError(
                    f"registered model '{settings.registered_model}' has no champion at "
                    f"{settings.resolved_tracking_uri()}: train and promote first "
                    f"(capacity train, capacity promote) or pass --model DIR"
                )
            bundle = download_version(settings, version, "bundle", tmp / "bundle")
        else:
            bundle = Path(model_dir)
            marker = bundle / "REGISTRY_VERSION"
            version = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
        metadata = _read_json(bundle / "metadata.json")
        metrics = _read_json(bundle / "metrics.json")
        if not metrics:
            raise ModelCardError(
                f"{bundle / 'metrics.json'} is empty: the card needs holdout metrics; "
                f"train with `capacity train` so the bundle records them"
            )
        peers_path = bundle / "peers.json"
        peers = _read_json(peers_path) if peers_path.is_file() else {}

        per_industry = _per_industry_from_metrics(metrics)
        source = "the bundle's metrics.json"
        promotion: dict[str, str] = {}
        if per_industry is None and version is not None:
            per_industry = _per_industry_from_holdout(settings, version, bundle, tmp)
            source = f"the bundle re-scored on the holdout stored with registered version {version}"
        if per_industry is None and model_dir is not None:
            reports = bundle.parent / f"{bundle.name}-reports" / "per_industry.csv"
            if reports.is_file():
                per_industry = pd.read_csv(reports, index_col=0).sort_values("model_accuracy")
                source = f"the training run's report {reports.name}"
        if version is not None:
            mv = client(settings).get_model_version(settings.registered_model, version)
            promotion = {str(k): str(v) for k, v in (mv.tags or {}).items()}
    return ModelCardData(
        metadata=metadata,
        metrics=metrics,
        peers=peers,
        registry_version=version,
        registered_model=settings.registered_model,
        per_industry=per_industry,
        per_industry_source=source if per_industry is not None else "not available",
        promotion=promotion,
    )


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------


def _details(data: ModelCardData) -> str:
    meta, metrics = data.metadata, data.metrics
    cfg = meta.get("train_config", {}) or {}
    model_cfg = cfg.get("model", cfg) if isinstance(cfg, dict) else {}
    version = (
        f"{data.registered_model} v{data.registry_version}"
        if data.registry_version
        else f"{meta.get('model_version', 'unknown')} (not registered)"
    )
    n_train = meta.get("n_train", metrics.get("n_train"))
    n_hold = meta.get("n_holdout", metrics.get("n_holdout"))
    rows = [
        ["Version", version],
        ["Bundle label", f"`{meta.get('model_version', '–')}`"],
        ["Created", str(meta.get("created", "–"))],
        ["Training data hash (sha256 of the two files)", f"`{meta.get('data_hash', '–')}`"],
        ["Code (git sha)", f"`{meta.get('git_sha', '–')}`"],
        ["Seed (split and LightGBM)", str(meta.get("seed", "–"))],
        ["Training size", f"{count(n_train)} customers (holdout {count(n_hold)})"],
        ["Boosting rounds (early stopped)", count(meta.get("best_iteration"))],
        [
            "Model configuration",
            ", ".join(
                f"{k} {model_cfg[k]}"
                for k in ("learning_rate", "num_leaves", "min_data_in_leaf", "monotone")
                if k in model_cfg
            )
            or "–",
        ],
        [
            "Versions",
            f"LightGBM {meta.get('lightgbm_version', '–')}, feature spec "
            f"{meta.get('feature_spec_version', '–')}, catalog `{meta.get('catalog_version', '–')}`"
            f", bundle format {meta.get('bundle_format', '–')}",
        ],
    ]
    promo = data.promotion
    if "promoted_at" in promo:
        rows.append(
            [
                "Promoted",
                f"{promo.get('promoted_at')} by {promo.get('promoted_by', '–')}: "
                f"{promo.get('promotion_reason', '–')} (gate accuracy "
                f"{promo.get('gate_candidate_accuracy', '–')}, previous champion "
                f"{promo.get('previous_champion', '–')})",
            ]
        )
    if "outcomes_recorded" in promo:
        accuracy = promo.get("outcomes_realised_accuracy")
        coverage = promo.get("outcomes_interval_coverage90")
        rows.append(
            [
                "Outcomes",
                f"trained with {promo.get('outcomes_used', '–')} of "
                f"{promo.get('outcomes_recorded', '–')} recorded outcomes "
                f"({promo.get('outcomes_skipped', '0')} skipped as not a valid application)"
                + (
                    f"; the served recommendations were appropriately sized for {accuracy} of "
                    f"{promo.get('outcomes_judged', '–')} metered customers"
                    if accuracy
                    else ""
                )
                + (
                    f"; their 90 % peak interval covered the metered peak for {coverage} of "
                    f"{promo.get('outcomes_with_interval', '–')}"
                    if coverage
                    else ""
                ),
            ]
        )
    decisions = sorted(k for k in promo if k.startswith("gate_decision."))
    if decisions:
        outcomes = [json.loads(promo[k]).get("outcome", "?") for k in decisions]
        rows.append(
            [
                "Gate decisions",
                f"{len(decisions)} recorded ("
                + ", ".join(f"{o} {outcomes.count(o)}" for o in dict.fromkeys(outcomes))
                + "): registry tags gate_decision.NNN, each with its figures",
            ]
        )
    body = md_table(["", ""], rows)
    model_config = (meta.get("train_config") or {}).get("model") or {}
    what = (
        "**What it is.** A LightGBM regression of the logarithm of the 12-month metered peak "
        "(kW), offset by a demand-coefficient (需要系数法) style estimate of the "
        "application's equipment list whose per-category demand factors are fitted to the "
        "history (non-negative, shrunk towards one common factor), so the trees learn a "
        "correction to a physically shaped estimate (floor area × design density × a fitted "
        "factor stands in when there is no list). The base's options, each fitted on the "
        "history (`ModelConfig`): a coincidence term (few or unequal units coincide more "
        "than many small ones), a climate-zone factor on cooling loads, and area factors "
        "shrunk towards what the industry's customers with a list show; "
        f"{_options_on(model_config)}. Conformal "
        "residuals per industry group (out of fold below "
        f"{_count(model_config.get('cross_fit_below'))} training customers; groups whose "
        "residuals the data cannot tell apart are merged) give the predictive distribution "
        "and the 80 %/90 % intervals. A tier policy then picks the standard capacity (30 kVA … 2,500 kVA, "
        "then multiples of 1,250 kVA) with the best chance of a peak load rate within "
        "0.40–1.00, weighting an undersized answer more than an oversized one. Sanity "
        "bounds learned from the training history (per industry, shrunk towards all "
        "industries: peak ÷ demand-coefficient S30 and peak ÷ installed kW at extreme "
        "quantiles) and the physical rule that the largest running unit plus a base load "
        "must fit may clamp the answer, and the answer says so with its evidence. Every "
        "figure below is the SERVED answer, bounds included."
    )
    return f"{body}\n\n{what}"


_INTENDED_USE = """\
**Use.** Decision support for new-connection applications (业扩报装) of industrial and
commercial customers: the recommender proposes an installed capacity (kVA) for the
connection, with its chance of being appropriately sized, the interval of the expected
peak, the drivers of the estimate in kW, peers of the same industry and scale, and the
classical demand-coefficient calculation sheet beside it.

**Users.** Utility account managers and connection planners who review applications,
and design reviewers who check a customer's proposed capacity (`/check`). The answer is a
recommendation for a person to accept, change or overrule: it is not meant to grant or
refuse a connection automatically, and warnings (`manual_review`) say when a person must
look closely (unknown industry, implausible density, clamped answer, no equipment list).

**Out of scope.** Residential connections; customers of industries outside
`industries.csv`; extensions of existing connections (the model has never seen an
installed base); sizing of the customer's internal network, protection or supply voltage
design (the supply-voltage hint follows the engineering thresholds only); and any use of
the answer to judge a customer rather than a capacity."""


def _data_section(data: ModelCardData) -> str:
    industries = data.peers.get("industries", {}) if data.peers else {}
    counts = sorted(
        ((str(k), int(v.get("n", 0))) for k, v in industries.items()), key=lambda kv: -kv[1]
    )
    mix = ", ".join(f"{k} {n:,}" for k, n in counts) if counts else "not recorded"
    return f"""\
**Contract.** The model trains on any history in the project's data contract
(`shared/contract/README.md`, encoded in [`features/contract.py`](../features/contract.py)
and checked by [`features/validation.py`](../features/validation.py)): `customers.csv`
(industry, climate zone, floor area, employees, shifts, applied capacity, metered peak)
and `equipment.csv` (category, rating, quantity, standby, free-text name). Rows that fail
the contract are rejected and reported before training; they never reach the model.

**This model's training history** ({count(data.metadata.get("n_train"))} customers after
validation; by industry, from the bundle's peer statistics): {mix}.

**Synthetic history.** No utility history was available to this project, so this model is
trained on the synthetic history of [`training/synth/history.py`](../training/synth/history.py), whose every
assumption is documented in [`docs/synthetic_history.md`](../docs/synthetic_history.md):
industry mix and profiles, equipment templates and unit sizes, utilisation and
coincidence by category, climate and shift effects, a share of customers that never ramp
up (20–55 % below expectation), customer-level noise, today's sizing habits for the applied
capacity (nameplate sums with margins in 70 % of cases), and about 0.5 % dirty rows.

*What synthetic data can show:* that the pipeline works end to end on contract data
(validation, features, training, calibration, tier policy, serving, logging, the pilot
statistics); how close the model comes to the best achievable on a history with known
structure (the oracle); that intervals are calibrated when the history is exchangeable;
and how the result moves when an assumption moves (noise, ramp-up, area-only share).

*What it cannot show:* how accurate the model is on any utility's customers. The
accuracy figures below measure how well the model recovers the generator's own
assumptions, which were written from design-manual values and engineering judgement, not
fitted to metered data. Real peaks may depend on things the generator leaves out
(unlisted equipment added after energisation, growth after month 12, regional habits,
tariff incentives, correlated errors of one design institute). Only a utility's real
history, and a pilot on real applications, can say whether the 90 % target is met."""


def _metrics_section(data: ModelCardData) -> str:
    m = data.metrics
    rows = []
    for key, label in _METHODS:
        if f"{key}_accuracy" not in m:
            continue
        rows.append(
            [
                label,
                count(m.get(f"{key}_n")),
                pct(m.get(f"{key}_accuracy")),
                pct(m.get(f"{key}_undersized")),
                pct(m.get(f"{key}_oversized")),
            ]
        )
    table = md_table(
        ["Method", "n", "Accuracy", "Undersized", "Oversized"], rows, right={1, 2, 3, 4}
    )
    point = md_table(
        ["Measure", "Value", "What it means"],
        [
            [
                "MdAPE of the predicted peak",
                pct(m.get("mdape")),
                "median |predicted − metered| / metered",
            ],
            [
                "Within ±20 %",
                pct(m.get("within_20pct")),
                "share of predicted peaks within 20 % of the metered peak",
            ],
            [
                "80 % interval coverage",
                pct(m.get("coverage80")),
                "share of metered peaks inside the 80 % interval (nominal 80 %)",
            ],
            [
                "90 % interval coverage",
                pct(m.get("coverage90")),
                "share of metered peaks inside the 90 % interval (nominal 90 %)",
            ],
        ],
        right={1},
    )
    ratio = m.get("model_vs_oracle")
    oracle_line = (
        f" The model reaches {pct(ratio)} of the oracle's accuracy (the ceiling on this "
        "history; the oracle exists only where the data is synthetic)."
        if ratio is not None
        else ""
    )
    target_met = float(m.get("model_accuracy", float("nan"))) >= ACCURACY_TARGET
    clamp = m.get("clamp_share")
    clamp_line = (
        f"\n\nThe sanity bounds changed {pct(clamp)} of the answers "
        f"({count(m.get('clamped_n'))} customers; of those, {pct(m.get('clamped_undersized'))} "
        "ended undersized). Before the bounds the model's accuracy was "
        f"{pct(m.get('model_unclamped_accuracy'))}; the table shows both." + _clamp_by_industry(m)
        if clamp is not None
        else ""
    )
    return f"""\
Held-out customers ({count(m.get("n_holdout", m.get("model_n")))}, never seen in training,
chosen by the seed). A capacity C is **appropriately sized** when the metered peak P gives
a load rate ρ = P / (0.9 C) within 0.40–1.00; above is undersized (overload), below
oversized (at least 60 % of the capacity never used). Every method is scored with the
same definition on the same customers (the status quo only where the applicant gave one).

{table}

The model {"meets" if target_met else "does not meet"} the 90 % target on this
holdout.{oracle_line}{clamp_line}

{point}{_by_application_type(m)}"""


def _by_application_type(m: dict[str, Any]) -> str:
    """The held-out figures per application type (existing customers apart), if any."""
    kinds = [k for k in ("new", "increase", "reduce", "suspend") if f"n.type.{k}" in m]
    if not kinds:
        return ""
    rows = [
        [
            k,
            count(m.get(f"n.type.{k}")),
            pct(m.get(f"model_accuracy.type.{k}")),
            pct(m.get(f"model_undersized.type.{k}")),
            pct(m.get(f"model_oversized.type.{k}")),
        ]
        for k in kinds
    ]
    table = md_table(
        ["Application type", "n", "Accuracy", "Undersized", "Oversized"], rows, right={1, 2, 3, 4}
    )
    return (
        "\n\nPer application type (existing customers, 增容 / 减容 / 暂停, are sized from their "
        f"meter readings plus the change):\n\n{table}"
    )


def _clamp_by_industry(m: dict[str, Any]) -> str:
    shares = {k.split(".", 1)[1]: float(v) for k, v in m.items() if k.startswith("clamp_share.")}
    top = sorted(((v, k) for k, v in shares.items() if v > 0), reverse=True)[:5]
    if not top:
        return " No industry had a clamped answer."
    return " Most clamped industries: " + ", ".join(f"{k} {pct(v)}" for v, k in top) + "."


def _weak_spots(data: ModelCardData) -> str:
    from training.reports.stats import wilson_interval

    per = data.per_industry
    if per is None or per.empty or "model_accuracy" not in per:
        return (
            "Per-industry figures are not available for this bundle (no registry holdout and "
            "no training report beside it)."
        )
    weakest = per.sort_values("model_accuracy").head(WEAK_SPOTS)
    rows = []
    for industry, r in weakest.iterrows():
        n = int(r["n"])
        acc = float(r["model_accuracy"])
        low, high = wilson_interval(int(round(acc * n)), n) if n > 0 else (math.nan, math.nan)
        rows.append(
            [
                str(industry),
                f"{n:,}",
                pct(acc),
                f"{pct(low)} – {pct(high)}",
                f"{pct(r.get('model_undersized'))} / {pct(r.get('model_oversized'))}",
                pct(r.get("status_quo_accuracy")),
                pct(r.get("engineering_accuracy")),
                pct(r.get("oracle_accuracy")),
            ]
        )
    table = md_table(
        [
            "Industry",
            "n",
            "Model accuracy",
            "Wilson 95 %",
            "Model under / over",
            "Status quo",
            "Engineering",
            "Oracle",
        ],
        rows,
        right={1, 2, 4, 5, 6, 7},
    )
    below = int((per["model_accuracy"] < ACCURACY_TARGET).sum())
    return f"""\
The {WEAK_SPOTS} industries where the model sizes the smallest share of held-out customers
appropriately (from {data.per_industry_source}); {below} of {len(per)} industries are below
90 %. Holdout counts per industry are small, so the Wilson intervals are wide; where the
oracle is low too, the shortfall comes from the history (customers that never ramp up, a
noisy peak), not from the model.

{table}"""


_LIMITATIONS = """\
- **Synthetic evidence only.** Every figure on this card is measured on synthetic
  customers (see *Data*). Before the recommender informs real decisions it must be
  retrained and evaluated on a utility's own history, and piloted on real applications
  with outcomes recorded (`capacity outcomes import`, `capacity pilot report`, with the
  Wilson interval of a pilot of about 100 enterprises).
- **Errors are not symmetric.** An undersized connection overloads the transformer, and
  the customer has to apply again. An oversized one makes the customer pay capacity
  charges (基本电费, two-part tariff from 315 kVA) on capacity it never uses. The policy
  weights undersizing more; the undersized share is reported beside every accuracy.
- **Whom a miss falls on.** A model trained on a history inherits its habits. Industries
  with few customers in the history (data centres, irrigation, hospitals) have fewer
  examples and wider intervals, and their customers bear more of the error. The weak
  spots above show where. Small enterprises whose application has no equipment list are
  estimated from floor area only, with wider uncertainty, and the answer says so.
- **No personal data.** The model uses the application's technical fields only
  (industry, scale, climate zone, shifts, equipment). Bundles hold aggregates (peer
  quantiles), no customer records. The recommendation log keeps requests and answers for
  outcome tracking and must be governed like any customer file.
- **Drift.** New equipment types, efficiency standards, tariffs or an industry's changed
  operating pattern move peaks away from the history. Compare recorded outcomes with the
  holdout figures (`capacity pilot report`) and retrain when they part.
- **Explanations are attributions.** The drivers (kW per equipment group and per factor)
  split the predicted peak exactly along the model's TreeSHAP contributions. They are
  not causal effects."""


_RETRAIN = """\
```bash
# validate a utility's history against the contract (rejects report)
capacity validate --customers customers.csv --equipment equipment.csv
# train a candidate on history plus the outcomes recorded so far, then promote it only
# through the gate (served accuracy ≥ 90 % on its holdout, and not significantly worse
# than the champion on the customers neither trained on: McNemar exact, 95 %, beyond a
# 0.5-point margin; nor unbounded, nor trained on a corrupt history); a refusal exits 1 and says why; `capacity promote --force --reason "..."`
# overrides it and records the override
capacity retrain --customers customers.csv --equipment equipment.csv --include-outcomes
# or step by step
capacity train -c customers.csv -e equipment.csv -o var/bundles/candidate
capacity promote          # a running service picks the new champion up within seconds
# regenerate this card from the new champion
capacity model-card
```

Every training run is logged to MLflow (params, seed, data hash, git sha, metrics, plots,
the holdout it was scored on and the bundle) and registered as a version of
`capacity-recommender`; only the alias `champion` serves."""


BENCHMARK_RESULTS = PROJECT_ROOT / "benchmarks" / "results"
"""Where the benchmarks write their JSON figures (not committed; regenerated by running them)."""


_BASE_OPTIONS = (
    ("coincidence", "coincidence term"),
    ("climate_cooling", "climate factor"),
    ("area_prior_from_lists", "area prior from lists"),
    ("factor_prior_rows_by_cv", "demand-factor prior strength by held-out folds"),
    ("area_weight_by_data", "area-only weight by the data"),
)


def _count(value: Any) -> str:
    """A count as the card writes it (10,000), or – when the bundle does not record it."""
    return f"{value:,}" if isinstance(value, int) else "–"


def _options_on(model_config: dict[str, Any]) -> str:
    """Which of the base's options this model was fitted with, as the card says it."""
    on = [text for key, text in _BASE_OPTIONS if model_config.get(key)]
    off = [text for key, text in _BASE_OPTIONS if key in model_config and not model_config[key]]
    if not on and not off:
        return "this bundle does not record which were on"
    return (
        "on in this model: "
        + (", ".join(on) or "none")
        + (f" (off: {', '.join(off)})" if off else "")
    )


def benchmark_section(results: Path = BENCHMARK_RESULTS) -> str:
    """The learning curve with the oracle beside each point, and the risk appetite on BDG1.

    Rendered from ``learning_curve.json`` (:mod:`benchmarks.bench_learning_curve`) and
    ``risk_bdg1.json`` (:mod:`benchmarks.bench_risk_bdg1`) when they exist; otherwise the
    command that makes them. These figures are the method's, measured on independent
    worlds and the real reference, not this bundle's.
    """
    import numpy as np

    parts: list[str] = []
    curve = results / "learning_curve.json"
    if curve.is_file():
        rows = json.loads(curve.read_text(encoding="utf-8"))
        keys: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for r in rows:
            keys.setdefault(
                (r["history"], str(r.get("noise", "default")), r["n_train"]), []
            ).append(r)
        table = []
        for (hist, noise, n), group in keys.items():
            share = [g["served_accuracy"] / g["oracle_accuracy"] for g in group]

            def mean(k: str, g: list[dict[str, Any]] = group) -> float:
                return float(np.mean([x[k] for x in g]))

            table.append(
                [
                    hist,
                    noise,
                    count(n),
                    str(len(group)),
                    pct(mean("served_accuracy")),
                    pct(mean("oracle_accuracy")),
                    f"{pct(min(share))} – {pct(max(share))}",
                    pct(mean("undersized"))
                    + (
                        f" ({pct(mean('oracle_undersized'))})"
                        if all("oracle_undersized" in g for g in group)
                        else ""
                    ),
                    pct(mean("coverage90")),
                ]
            )
        dates = sorted({str(r["measured_utc"])[:10] for r in rows if r.get("measured_utc")})
        loads = [float(r["load_average"]) for r in rows if r.get("load_average") is not None]
        cpus = sorted({int(r["cpus"]) for r in rows if r.get("cpus")})
        measured = (
            f" Measured {' to '.join(dict.fromkeys([dates[0], dates[-1]]))}"
            + (f" on {'/'.join(str(c) for c in cpus)} cores" if cpus else "")
            + (
                f", 1-minute load average {min(loads):.1f}–{max(loads):.1f} during the "
                + ("fits" if len(loads) == len(rows) else f"{len(loads)} of {len(rows)} fits")
                + (" that recorded it" if len(loads) < len(rows) else "")
                if loads
                else ""
            )
            + "."
            if dates
            else ""
        )
        parts.append(
            "Served accuracy by history size and noise on the independent worlds "
            "(`benchmarks/bench_learning_curve.py`; mean over seeds, the share of the oracle "
            "as its range over seeds; the oracle is the world's expected peak through the "
            "same tier policy; undersized with the oracle's own in brackets)."
            + measured
            + "\n\n"
            + md_table(
                [
                    "world",
                    "noise σ",
                    "training customers",
                    "seeds",
                    "served",
                    "oracle",
                    "of the oracle",
                    "undersized",
                    "90 % coverage",
                ],
                table,
                right=range(2, 9),
            )
        )
    else:
        parts.append(
            "Learning curve: run `python benchmarks/bench_learning_curve.py --worlds "
            "small_groups,utilisation --noise default,0.3 --seeds 1,2,3` to add it here."
        )
    risk = results / "risk_bdg1.json"
    if risk.is_file():
        r = json.loads(risk.read_text(encoding="utf-8"))

        def ci(v: list[float]) -> str:
            return f"{pct(v[0])} ({100 * v[1]:.1f}–{100 * v[2]:.1f})"

        table = [
            [name, ci(o["ok"]), ci(o["under"]), ci(o["p_undersized"]), ci(o["over"])]
            for name, o in r["overall"].items()
        ]
        parts.append(
            "Risk appetite on the real reference (BDG1, floor area only; "
            f"`benchmarks/bench_risk_bdg1.py`, {r['repeats']}× {r['folds']}-fold "
            "cross-validation, 95 % bootstrap intervals over buildings):\n\n"
            + md_table(
                [
                    "appetite",
                    "appropriately sized",
                    "undersized (observed)",
                    "stated P(undersized)",
                    "oversized",
                ],
                table,
            )
        )
    return "\n\n".join(parts)


def render_model_card(data: ModelCardData, generated: datetime | None = None) -> str:
    """Render the model card as Markdown.

    Parameters
    ----------
    data
        The facts, from :func:`collect_model_card_data`.
    generated
        Time stamp printed on the card; now (UTC) when None.

    Returns
    -------
    str
        The Markdown text of ``models/README.md``.
    """
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    title = (
        f"{data.registered_model} v{data.registry_version}"
        if data.registry_version
        else str(data.metadata.get("model_version", "unregistered bundle"))
    )
    sections = [
        f"# Model card: {title}",
        f"_Generated by `capacity model-card` on {when} from the model's own records "
        "(metadata.json, metrics.json, peers.json and its registry holdout). Do not edit by "
        "hand: regenerate it._",
        "## Model details",
        _details(data),
        "## Intended use and users",
        _INTENDED_USE,
        "## Data",
        _data_section(data),
        "## Metrics with baselines",
        _metrics_section(data),
        "## Per-industry weak spots",
        _weak_spots(data),
        "## Limitations and ethical considerations",
        _LIMITATIONS,
        "## Learning curve, noise and risk appetite (benchmarks)",
        benchmark_section(),
        "## How to retrain",
        _RETRAIN,
    ]
    return "\n\n".join(sections) + "\n"


def write_model_card(
    out: Path | str = DEFAULT_CARD_PATH,
    *,
    settings: Settings | None = None,
    model_dir: Path | None = None,
) -> tuple[Path, ModelCardData]:
    """Collect, render and write the model card; returns (path, data)."""
    data = collect_model_card_data(settings, model_dir)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, render_model_card(data), encoding="utf-8")
    return path, data
