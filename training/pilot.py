"""Pilot statistics: how the logged recommendations fared against metered peaks.

Input is the frame of :func:`training.log_frame.joined_frame` (one row per
recommendation with its latest outcome). For the model's ``recommended_kva`` and, on the
same customers, the applicant's own proposal (``status_quo_kva``, where given) and the
demand-coefficient method (``engineering_kva``), the contract's sizing definition
(:func:`features.contract.sizing_outcome` on the metered peak) gives the sizing accuracy
with its undersized and oversized shares, and a Wilson score interval because a pilot is
small (the contract's example: 100 enterprises).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from features.contract import DEFAULT_SIZING, SizingDefinition, load_rate, sizing_outcome

__all__ = [
    "METHOD_LABELS",
    "MethodMetrics",
    "PilotMetrics",
    "PilotReportFiles",
    "pilot_metrics",
    "top_drivers",
    "wilson_interval",
    "write_pilot_report",
]

METHOD_LABELS: dict[str, str] = {
    "model": "Model",
    "status_quo": "Status quo (applicant's proposal)",
    "model_on_status_quo": "Model, same customers as status quo",
    "engineering": "Engineering (demand coefficient)",
}
_CAPACITY_COLUMNS: dict[str, str] = {
    "model": "recommended_kva",
    "status_quo": "status_quo_kva",
    "engineering": "engineering_kva",
}
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "industry",
    "recommended_kva",
    "metered_peak_kw",
    "status_quo_kva",
    "engineering_kva",
)
ACCURACY_TARGET = 0.90
"""The contract's target sizing accuracy, drawn on the accuracy chart."""


# --------------------------------------------------------------------------------------
# Wilson interval
# --------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes
        Number of successes, ``0 <= successes <= n``.
    n
        Number of trials, ``> 0``.
    confidence
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)`` within [0, 1]; ``low`` is exactly 0 when ``successes == 0`` and
        ``high`` exactly 1 when ``successes == n``.

    Raises
    ------
    ValueError
        ``n`` is not positive, ``successes`` is outside ``[0, n]`` or ``confidence`` is
        outside ``(0, 1)``.
    """
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be an integer; received {value!r}")
    if n <= 0:
        raise ValueError(
            f"n must be > 0 for a Wilson interval; received n={n} (no trials, no interval)"
        )
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within [0, n={n}]; received {successes}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1; received {confidence}")
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # The bounds are exactly 0 and 1 at the extremes; pin them so rounding cannot leave
    # a 1e-17 lower bound or exceed 1.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodMetrics:
    """Sizing results of one capacity method on the customers where it gave a capacity.

    Shares and interval are NaN when ``n`` is 0.
    """

    method: str
    n: int
    appropriate: int
    undersized: int
    oversized: int
    confidence: float
    ci_low: float
    ci_high: float

    @property
    def label(self) -> str:
        """Human-readable name of the method."""
        return METHOD_LABELS.get(self.method, self.method)

    @property
    def accuracy(self) -> float:
        """Share appropriately sized (0.40 <= load rate <= 1.00 by default)."""
        return self.appropriate / self.n if self.n else math.nan

    @property
    def undersized_share(self) -> float:
        """Share whose metered peak overloads the capacity."""
        return self.undersized / self.n if self.n else math.nan

    @property
    def oversized_share(self) -> float:
        """Share using less than the lower band of the capacity."""
        return self.oversized / self.n if self.n else math.nan

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for tables and JSON."""
        return {
            "method": self.method,
            "label": self.label,
            "n": self.n,
            "appropriate": self.appropriate,
            "undersized": self.undersized,
            "oversized": self.oversized,
            "accuracy": self.accuracy,
            "undersized_share": self.undersized_share,
            "oversized_share": self.oversized_share,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass(frozen=True, eq=False)
class PilotMetrics:
    """Pilot results for the model, the status quo and the engineering method.

    Attributes
    ----------
    n
        Customers with an outcome (rows of the frame).
    model, status_quo, engineering
        Each method on the customers where it gave a capacity (status quo and engineering
        may be missing for some customers; their ``n`` says on how many).
    model_on_status_quo
        The model on exactly the customers that have a status quo: the paired comparison.
    per_industry
        Long table: industry, method, n, appropriate, accuracy, undersized_share,
        oversized_share, ci_low, ci_high.
    misses
        Customers the model did not size appropriately, worst first: id, industry,
        recommended_kva, granted_kva, metered_peak_kw, predicted_peak_kw, load_rate,
        outcome, status_quo_kva, engineering_kva, top_drivers (list of (label, kW)).
    sizing
        The sizing definition used.
    """

    n: int
    model: MethodMetrics
    status_quo: MethodMetrics
    model_on_status_quo: MethodMetrics
    engineering: MethodMetrics
    per_industry: pd.DataFrame
    misses: pd.DataFrame
    sizing: SizingDefinition

    @property
    def methods(self) -> tuple[MethodMetrics, ...]:
        """All method results in report order."""
        return (self.model, self.status_quo, self.model_on_status_quo, self.engineering)

    def summary_frame(self) -> pd.DataFrame:
        """One row per method with counts, shares and interval."""
        return pd.DataFrame([m.as_dict() for m in self.methods])


def _method_metrics(
    method: str,
    peak_kw: np.ndarray,
    capacity_kva: np.ndarray,
    sizing: SizingDefinition,
    confidence: float,
) -> MethodMetrics:
    if peak_kw.size == 0:
        return MethodMetrics(method, 0, 0, 0, 0, confidence, math.nan, math.nan)
    outcome = sizing_outcome(peak_kw, capacity_kva, sizing)
    n = int(outcome.size)
    appropriate = int(np.sum(outcome == "appropriate"))
    low, high = wilson_interval(appropriate, n, confidence)
    return MethodMetrics(
        method=method,
        n=n,
        appropriate=appropriate,
        undersized=int(np.sum(outcome == "undersized")),
        oversized=int(np.sum(outcome == "oversized")),
        confidence=confidence,
        ci_low=low,
        ci_high=high,
    )


def _capacity(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isfinite(values) & (values <= 0)
    if bad.any():
        ids = frame.loc[bad, "id"].astype(str).head(5).tolist()
        raise ValueError(
            f"{column} must be > 0 where given; received non-positive values for id(s) "
            f"{', '.join(ids)}"
        )
    return values


def _validated_frame(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the pilot frame lacks column(s) {', '.join(missing)}; received "
            f"{', '.join(map(str, frame.columns))}, expected at least {', '.join(REQUIRED_COLUMNS)} "
            f"(see training.log_frame.joined_frame)"
        )
    if frame.empty:
        raise ValueError(
            "the pilot frame has no rows: expected recommendations with recorded outcomes"
        )
    peak = pd.to_numeric(frame["metered_peak_kw"], errors="coerce").to_numpy(dtype=float)
    bad_peak = ~(np.isfinite(peak) & (peak > 0))
    if bad_peak.any():
        ids = frame.loc[bad_peak, "id"].astype(str).head(5).tolist()
        raise ValueError(
            f"metered_peak_kw must be a number > 0 on every row; received "
            f"{frame.loc[bad_peak, 'metered_peak_kw'].head(5).tolist()} for id(s) {', '.join(ids)}"
        )
    recommended = _capacity(frame, "recommended_kva")
    if not np.isfinite(recommended).all():
        ids = frame.loc[~np.isfinite(recommended), "id"].astype(str).head(5).tolist()
        raise ValueError(
            f"recommended_kva must be given on every row; received missing values for id(s) "
            f"{', '.join(ids)}"
        )
    return frame.reset_index(drop=True)


def top_drivers(response_json: object, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` drivers of a logged answer with the largest absolute kW.

    Parameters
    ----------
    response_json
        The answer as JSON text (or an already parsed dict). Its ``drivers`` list holds
        items with ``label`` and ``kw``.
    k
        How many to keep.

    Returns
    -------
    list of (str, float)
        ``(label, kw)`` pairs, largest ``|kw|`` first; empty when the answer has no usable
        drivers (older answers, invalid JSON, malformed items).
    """
    parsed: object = response_json
    if isinstance(response_json, str | bytes):
        try:
            parsed = json.loads(response_json)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return []
    if not isinstance(parsed, dict):
        return []
    drivers = parsed.get("drivers")
    if not isinstance(drivers, list):
        return []
    found: list[tuple[str, float]] = []
    for item in drivers:
        if not isinstance(item, dict):
            continue
        # Service answers carry label_en / label_zh; older or hand-made logs carry label.
        label = item.get("label") or item.get("label_en") or item.get("key")
        kw = item.get("kw")
        if label is None or isinstance(kw, bool) or not isinstance(kw, int | float):
            continue
        if not math.isfinite(float(kw)):
            continue
        found.append((str(label), float(kw)))
    found.sort(key=lambda pair: abs(pair[1]), reverse=True)
    return found[:k]


def _misses(
    frame: pd.DataFrame, outcome: np.ndarray, rho: np.ndarray, sizing: SizingDefinition
) -> pd.DataFrame:
    mask = outcome != "appropriate"
    columns = [
        "id",
        "industry",
        "recommended_kva",
        "granted_kva",
        "metered_peak_kw",
        "predicted_peak_kw",
        "load_rate",
        "outcome",
        "status_quo_kva",
        "engineering_kva",
        "top_drivers",
    ]
    misses = pd.DataFrame(
        {
            "id": frame["id"].astype(str).to_numpy()[mask],
            "industry": frame["industry"].astype(str).to_numpy()[mask],
            "recommended_kva": frame["recommended_kva"].to_numpy(dtype=float)[mask],
            "granted_kva": (
                frame["granted_kva"].to_numpy(dtype=float)[mask]
                if "granted_kva" in frame
                else np.full(int(mask.sum()), np.nan)
            ),
            "metered_peak_kw": frame["metered_peak_kw"].to_numpy(dtype=float)[mask],
            "predicted_peak_kw": (
                frame["predicted_peak_kw"].to_numpy(dtype=float)[mask]
                if "predicted_peak_kw" in frame
                else np.full(int(mask.sum()), np.nan)
            ),
            "load_rate": rho[mask],
            "outcome": outcome[mask].astype(str),
            "status_quo_kva": pd.to_numeric(frame["status_quo_kva"]).to_numpy(dtype=float)[mask],
            "engineering_kva": pd.to_numeric(frame["engineering_kva"]).to_numpy(dtype=float)[mask],
        }
    )
    responses = (
        frame["response_json"].to_numpy()[mask]
        if "response_json" in frame
        else [None] * int(mask.sum())
    )
    misses["top_drivers"] = pd.Series([top_drivers(r) for r in responses], dtype=object)
    # Worst first: how many times outside the band the load rate is (>= 1 for every miss).
    miss_rho = rho[mask]
    severity = np.maximum(miss_rho / sizing.high, sizing.low / miss_rho)
    order = np.argsort(-severity, kind="stable")
    return misses.iloc[order].reset_index(drop=True)[columns]


def pilot_metrics(
    frame: pd.DataFrame,
    sizing: SizingDefinition = DEFAULT_SIZING,
    confidence: float = 0.95,
) -> PilotMetrics:
    """Sizing accuracy of the model, the status quo and the engineering method in a pilot.

    Parameters
    ----------
    frame
        One row per customer with an outcome, e.g. :func:`training.log_frame.joined_frame`; needs
        ``id, industry, recommended_kva, metered_peak_kw, status_quo_kva, engineering_kva``
        (the capacity columns may be missing per row except ``recommended_kva``) and uses
        ``granted_kva, predicted_peak_kw, response_json`` when present.
    sizing
        The contract's sizing definition (power factor and load-rate band).
    confidence
        Level of the Wilson intervals.

    Returns
    -------
    PilotMetrics
        Overall and per-industry results, and the model's misses.

    Raises
    ------
    ValueError
        The frame is empty, lacks a column, or has a non-positive peak or capacity.
    """
    frame = _validated_frame(frame)
    peak = frame["metered_peak_kw"].to_numpy(dtype=float)
    capacities = {m: _capacity(frame, c) for m, c in _CAPACITY_COLUMNS.items()}
    given = {m: np.isfinite(c) for m, c in capacities.items()}

    def measure(method: str, rows: np.ndarray, capacity_of: str) -> MethodMetrics:
        return _method_metrics(
            method, peak[rows], capacities[capacity_of][rows], sizing, confidence
        )

    model = measure("model", given["model"], "model")
    status_quo = measure("status_quo", given["status_quo"], "status_quo")
    paired = measure("model_on_status_quo", given["status_quo"], "model")
    engineering = measure("engineering", given["engineering"], "engineering")

    records: list[dict[str, Any]] = []
    industries = frame["industry"].astype(str).to_numpy()
    for industry in sorted(set(industries)):
        in_industry = industries == industry
        for method in ("model", "status_quo", "engineering"):
            result = measure(method, in_industry & given[method], method)
            records.append({"industry": industry, **result.as_dict()})
    per_industry = pd.DataFrame(records).drop(columns=["label"])

    rho = np.atleast_1d(load_rate(peak, capacities["model"], sizing))
    outcome = sizing_outcome(peak, capacities["model"], sizing)
    misses = _misses(frame, outcome, rho, sizing)
    return PilotMetrics(
        n=len(frame),
        model=model,
        status_quo=status_quo,
        model_on_status_quo=paired,
        engineering=engineering,
        per_industry=per_industry,
        misses=misses,
        sizing=sizing,
    )


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PilotReportFiles:
    """Files written by :func:`write_pilot_report`."""

    markdown: Path
    html: Path
    charts: tuple[Path, ...]


def _pct(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{100.0 * value:.1f} %"


def _interval(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{100.0 * low:.1f}–{100.0 * high:.1f} %"


def _num(value: object, digits: int = 0) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    return "–" if not math.isfinite(number) else f"{number:,.{digits}f}"


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # An explicit Agg canvas: no display needed and no global pyplot state, so reports can
    # be written from server threads.
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _accuracy_chart(metrics: PilotMetrics) -> bytes:
    from matplotlib.figure import Figure

    shown = [
        ("Model", metrics.model, "#1f77b4"),
        ("Status quo", metrics.status_quo, "#ff7f0e"),
        ("Engineering", metrics.engineering, "#2ca02c"),
    ]
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.axhline(ACCURACY_TARGET, color="grey", linestyle="--", linewidth=1, zorder=1)
    ax.text(-0.45, ACCURACY_TARGET + 0.015, "90 % target", color="grey", fontsize=9)
    ticks: list[str] = []
    for x, (name, m, colour) in enumerate(shown):
        if m.n == 0:
            ticks.append(f"{name}\nno data")
            continue
        # Figures go in the tick label: above the bar they would collide with the error
        # bar or the target line.
        ticks.append(f"{name}\n{100 * m.accuracy:.1f} % (n={m.n})")
        err = [[m.accuracy - m.ci_low], [m.ci_high - m.accuracy]]
        ax.bar(x, m.accuracy, color=colour, width=0.6, zorder=2)
        ax.errorbar(x, m.accuracy, yerr=err, color="black", capsize=6, linewidth=1.2, zorder=3)
    ax.set_xticks(range(len(shown)), ticks)
    ax.set_xlim(-0.5, len(shown) - 0.5)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("Sizing accuracy")
    conf = int(round(100 * metrics.model.confidence))
    ax.set_title(f"Share appropriately sized, with Wilson {conf} % intervals")
    return _png(fig)


def _load_rate_chart(frame: pd.DataFrame, sizing: SizingDefinition) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    peak = pd.to_numeric(frame["metered_peak_kw"], errors="coerce").to_numpy(dtype=float)
    panels: list[tuple[str, str, np.ndarray]] = []
    for label, column, colour in (
        ("Model", "recommended_kva", "#1f77b4"),
        ("Status quo", "status_quo_kva", "#ff7f0e"),
        ("Engineering", "engineering_kva", "#2ca02c"),
    ):
        cap = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(cap) & (cap > 0) & np.isfinite(peak)
        panels.append((label, colour, np.atleast_1d(load_rate(peak[ok], cap[ok], sizing))))
    upper = max(2.0, sizing.high * 1.5)
    bins = np.linspace(0.0, upper, 41).tolist()
    # One panel per method on a shared axis: overlaid histograms hide each other.
    fig = Figure(figsize=(7.0, 5.6))
    axes = fig.subplots(len(panels), 1, sharex=True)
    for ax, (label, colour, rho) in zip(axes, panels, strict=True):
        ax.axvspan(sizing.low, sizing.high, color="#2ca02c", alpha=0.12)
        for bound in (sizing.low, sizing.high):
            ax.axvline(bound, color="#2ca02c", linewidth=1)
        if rho.size:
            # Overloads beyond the axis are piled into the last bin rather than dropped.
            ax.hist(np.clip(rho, 0.0, upper), bins=bins, color=colour, edgecolor="white")
        inside = float(np.mean((rho >= sizing.low) & (rho <= sizing.high))) if rho.size else 0.0
        summary = f"n={rho.size}, {100 * inside:.0f} % in band" if rho.size else "no data"
        ax.set_title(f"{label}: {summary}", fontsize=10, loc="left")
        ax.set_ylabel("Customers")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].set_xlabel(
        f"Realised peak load rate P / (C × {sizing.power_factor:g}); "
        f"band {sizing.low:.2f}–{sizing.high:.2f} shaded, ≥ {upper:g} piled in the last bin"
    )
    fig.tight_layout()
    return _png(fig)


Table = tuple[list[str], list[list[str]]]


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    headers, rows = table
    lines = [
        "| " + " | ".join(_md_cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(table: Table) -> str:
    headers, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary_table(metrics: PilotMetrics) -> Table:
    conf = int(round(100 * metrics.model.confidence))
    headers = ["Method", "n", "Accuracy", f"Wilson {conf} %", "Undersized", "Oversized"]
    rows = [
        [
            m.label,
            str(m.n),
            _pct(m.accuracy),
            _interval(m.ci_low, m.ci_high),
            _pct(m.undersized_share),
            _pct(m.oversized_share),
        ]
        for m in metrics.methods
    ]
    return headers, rows


def _industry_table(metrics: PilotMetrics) -> Table:
    headers = ["Industry"]
    for method in ("model", "status_quo", "engineering"):
        name = {"model": "Model", "status_quo": "Status quo", "engineering": "Engineering"}[method]
        headers += [f"{name} n", f"{name} accuracy", f"{name} under / over"]
    rows: list[list[str]] = []
    table = metrics.per_industry
    for industry in table["industry"].drop_duplicates():
        row = [str(industry)]
        for method in ("model", "status_quo", "engineering"):
            hit = table[(table["industry"] == industry) & (table["method"] == method)]
            if hit.empty or int(hit["n"].iloc[0]) == 0:
                row += ["0", "–", "–"]
                continue
            rec = hit.iloc[0]
            row += [
                str(int(rec["n"])),
                f"{_pct(float(rec['accuracy']))} ({_interval(rec['ci_low'], rec['ci_high'])})",
                f"{_pct(float(rec['undersized_share']))} / {_pct(float(rec['oversized_share']))}",
            ]
        rows.append(row)
    return headers, rows


def _format_drivers(drivers: object) -> str:
    if not isinstance(drivers, list) or not drivers:
        return "–"
    return "; ".join(f"{label} ({kw:+,.1f} kW)" for label, kw in drivers)


def _misses_table(metrics: PilotMetrics) -> Table:
    headers = [
        "Id",
        "Industry",
        "Recommended kVA",
        "Granted kVA",
        "Metered peak kW",
        "Predicted peak kW",
        "Load rate",
        "Outcome",
        "Top drivers",
    ]
    rows = [
        [
            str(r["id"]),
            str(r["industry"]),
            _num(r["recommended_kva"]),
            _num(r["granted_kva"]),
            _num(r["metered_peak_kw"], 1),
            _num(r["predicted_peak_kw"], 1),
            _num(r["load_rate"], 2),
            str(r["outcome"]),
            _format_drivers(r["top_drivers"]),
        ]
        for r in metrics.misses.to_dict("records")
    ]
    return headers, rows


_HTML_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8rem 0 1.6rem; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; height: auto; }
.note { color: #555; }
"""


def write_pilot_report(
    metrics: PilotMetrics,
    frame: pd.DataFrame,
    out_dir: str | Path,
    title: str = "Pilot report: connection-capacity recommendations",
) -> PilotReportFiles:
    """Write ``pilot_report.md`` and a self-contained ``pilot_report.html``.

    Two charts are drawn with matplotlib's Agg backend: sizing accuracy with Wilson error
    bars for the model, the status quo and the engineering method, and the histogram of
    realised load rates with the appropriate band. The HTML embeds them as base64 PNG (no
    external assets); the Markdown links the PNG files written beside it.

    Parameters
    ----------
    metrics
        Result of :func:`pilot_metrics` on ``frame``.
    frame
        The same pilot frame (for the load-rate histogram).
    out_dir
        Directory to write into (created if missing).
    title
        Report title.

    Returns
    -------
    PilotReportFiles
        Paths of the Markdown, the HTML and the PNG charts.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    charts = {
        "pilot_accuracy.png": ("Sizing accuracy", _accuracy_chart(metrics)),
        "pilot_load_rate.png": (
            "Realised load rate",
            _load_rate_chart(_validated_frame(frame), metrics.sizing),
        ),
    }
    chart_paths: list[Path] = []
    for name, (_, png) in charts.items():
        path = out / name
        path.write_bytes(png)
        chart_paths.append(path)

    sizing = metrics.sizing
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"{metrics.n} customers with a metered peak. A capacity C is appropriately sized when "
        f"the realised peak load rate P / (C × {sizing.power_factor:g}) lies within "
        f"{sizing.low:.2f}–{sizing.high:.2f}; above is undersized, below oversized. The status "
        f"quo is the applicant's own proposal, present for {metrics.status_quo.n} customers; "
        f"the paired row compares the model on exactly those customers. Generated {generated}."
    )
    misses_intro = (
        f"{len(metrics.misses)} customers the model did not size appropriately, worst first; "
        "top drivers are the three largest contributions (kW) the answer reported, when it did."
    )
    sections: list[tuple[str, str | None, Table | None, str | None]] = [
        ("Sizing accuracy", None, _summary_table(metrics), "pilot_accuracy.png"),
        ("Realised load rate", None, None, "pilot_load_rate.png"),
        ("Per industry", None, _industry_table(metrics), None),
        ("Misses", misses_intro, _misses_table(metrics), None),
    ]

    md_parts = [f"# {title}", "", intro, ""]
    html_parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_HTML_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{html.escape(intro)}</p>',
    ]
    for heading, text, table, chart in sections:
        md_parts += [f"## {heading}", ""]
        html_parts.append(f"<h2>{html.escape(heading)}</h2>")
        if text:
            md_parts += [text, ""]
            html_parts.append(f"<p>{html.escape(text)}</p>")
        if table is not None:
            if table[1]:
                md_parts += [_md_table(table), ""]
                html_parts.append(_html_table(table))
            else:
                md_parts += ["None.", ""]
                html_parts.append("<p>None.</p>")
        if chart is not None:
            alt = charts[chart][0]
            md_parts += [f"![{alt}]({chart})", ""]
            encoded = base64.b64encode(charts[chart][1]).decode("ascii")
            html_parts.append(
                f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'
            )
    html_parts.append("</body></html>")

    md_path = out / "pilot_report.md"
    html_path = out / "pilot_report.html"
    md_path.write_text("\n".join(md_parts), encoding="utf-8")
    html_path.write_text("\n".join(html_parts), encoding="utf-8")
    return PilotReportFiles(markdown=md_path, html=html_path, charts=tuple(chart_paths))
