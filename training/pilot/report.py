"""The pilot report: Markdown and self-contained HTML with two matplotlib charts.

Renders :class:`~training.pilot.metrics.PilotMetrics` with the formatting the model card
uses too (:mod:`training.reports.format`).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.atomic import write_bytes, write_text
from features.contract import SizingDefinition, load_rate
from training.pilot.metrics import ACCURACY_TARGET, PilotMetrics, _validated_frame
from training.reports.figures import figure_png as _png
from training.reports.format import html_table, interval, md_table, num, pct

__all__ = ["PilotReportFiles", "write_pilot_report"]


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PilotReportFiles:
    """Files written by :func:`write_pilot_report`."""

    markdown: Path
    html: Path
    charts: tuple[Path, ...]


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


def _summary_table(metrics: PilotMetrics) -> Table:
    conf = int(round(100 * metrics.model.confidence))
    headers = ["Method", "n", "Accuracy", f"Wilson {conf} %", "Undersized", "Oversized"]
    rows = [
        [
            m.label,
            str(m.n),
            pct(m.accuracy),
            interval(m.ci_low, m.ci_high),
            pct(m.undersized_share),
            pct(m.oversized_share),
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
                f"{pct(float(rec['accuracy']))} ({interval(rec['ci_low'], rec['ci_high'])})",
                f"{pct(float(rec['undersized_share']))} / {pct(float(rec['oversized_share']))}",
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
            num(r["recommended_kva"]),
            num(r["granted_kva"]),
            num(r["metered_peak_kw"], 1),
            num(r["predicted_peak_kw"], 1),
            num(r["load_rate"], 2),
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
        write_bytes(path, png)
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
                md_parts += [md_table(*table), ""]
                html_parts.append(html_table(*table))
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
    write_text(md_path, "\n".join(md_parts), encoding="utf-8")
    write_text(html_path, "\n".join(html_parts), encoding="utf-8")
    return PilotReportFiles(markdown=md_path, html=html_path, charts=tuple(chart_paths))
