"""Installed-base review: which existing customers pay for capacity they do not use, which risk overload.

A utility's existing customers (增容 / 减容 / 暂停 applicants, or simply everyone connected
with a meter) are scored by the served model as if each applied today with no change: the
recommendation is what the metered load needs, and the capacity in service is judged with
the same peak distribution (P(appropriate / undersized / oversized) at today's capacity).

* **Candidates for 减容** (``reduce_candidate``): the recommended capacity is below today's;
  ranked by the yearly capacity charge (基本电费) saved, with P(undersized) at the smaller
  capacity, the risk the utility would take by granting it.
* **Overload risk** (``overload_risk``): the recommended capacity is above today's; ranked by
  P(undersized) at today's capacity.
* **Keep**: today's capacity is the recommendation.

Every row carries its evidence: months metered, mean and measured peak (the demand meter's
maximum, or without one the busiest month's mean, a lower bound of the peak), the measured
load rate of today's capacity, and the model's peak with its 90 % interval. Nothing is
scored differently from ``/recommend``: the rows come from :meth:`serving.core.Recommender.score_frames`.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contract import DEFAULT_APPLICATION_TYPE
from features.validation import ValidatedHistory
from serving.core import Recommender
from serving.model.predictor import CapacityModel
from training.reports.figures import figure_png_base64
from training.reports.format import html_table, num, pct

VERDICTS: tuple[str, ...] = ("reduce_candidate", "overload_risk", "keep")
"""The review's groups, in the order of the CSV and the report."""
VERDICT_TITLES = {
    "reduce_candidate": "Candidates for 减容 (capacity reduction): recommended below today's",
    "overload_risk": "Overload risk: recommended above today's",
    "keep": "Today's capacity is right",
}
REVIEW_COLUMNS: tuple[str, ...] = (
    "verdict",
    "rank",
    "customer_id",
    "industry",
    "application_type",
    "existing_capacity_kva",
    "recommended_kva",
    "capacity_change_kva",
    "yearly_difference_yuan",
    "yearly_saving_yuan",
    "p_appropriate_today",
    "p_undersized_today",
    "p_oversized_today",
    "p_appropriate",
    "p_undersized",
    "months_metered",
    "mean_kw",
    "max_demand_kw",
    "measured_peak_kw",
    "measured_load_rate",
    "predicted_peak_kw",
    "peak_low_kw",
    "peak_high_kw",
    "metered_part_kw",
    "change_kw",
    "basis",
    "manual_review",
    "model_version",
)
"""Columns of ``review.csv`` (one row per existing customer)."""
TOP_ROWS = 25
"""Rows per group shown in the HTML report (the CSV has them all)."""


class NothingToReviewError(ValueError):
    """The history has no existing customer with meter readings."""


@dataclass
class Review:
    """The ranked installed base and what was left out."""

    table: pd.DataFrame
    """One row per existing customer, :data:`REVIEW_COLUMNS`, grouped by verdict and ranked."""
    n_customers: int
    """Valid customers of the history (new connections included)."""
    n_new: int
    """New connections (no capacity in service): not reviewed."""
    model_version: str

    def count(self, verdict: str) -> int:
        """Customers of one verdict."""
        return int((self.table["verdict"] == verdict).sum())

    def yearly_saving_yuan(self) -> float:
        """Capacity charges a year saved if every candidate for 减容 took its recommendation."""
        cand = self.table["verdict"] == "reduce_candidate"
        return float(self.table.loc[cand, "yearly_saving_yuan"].sum())


def review_installed_base(
    model: CapacityModel, model_version: str, validated: ValidatedHistory
) -> Review:
    """Score every existing customer of a validated history and rank it.

    Parameters
    ----------
    model
        A bundle's model trained with existing customers (a model without the metered path
        raises :class:`features.metered.MeteredModelRequired`).
    model_version
        The version the rows name.
    validated
        A history validated with its ``meter_readings`` (rejected rows stay in its report).

    Raises
    ------
    NothingToReviewError
        When no valid customer is an existing one with readings.
    """
    customers = validated.customers.reset_index(drop=True)
    kind = (
        customers["application_type"].fillna(DEFAULT_APPLICATION_TYPE).astype(str)
        if "application_type" in customers
        else pd.Series(DEFAULT_APPLICATION_TYPE, index=customers.index)
    )
    months = pd.to_numeric(
        customers["meter_months"]
        if "meter_months" in customers
        else pd.Series(0.0, index=customers.index),
        errors="coerce",
    )
    existing = (kind != DEFAULT_APPLICATION_TYPE) & (months.fillna(0) > 0)
    if not existing.any():
        raise NothingToReviewError(
            f"none of the {len(customers)} valid customers is an existing customer with meter "
            "readings (application_type increase, reduce or suspend, existing_capacity_kva and "
            "rows in meter_readings.csv); expected at least one"
        )
    mine = customers[existing].reset_index(drop=True)
    ids = set(mine["customer_id"].astype(str))
    equipment = validated.equipment[validated.equipment["customer_id"].astype(str).isin(ids)]
    scored = Recommender(model, model_version).score_frames(mine, equipment)
    table = _table(scored, mine)
    return Review(
        table=table,
        n_customers=len(customers),
        n_new=int((~existing).sum()),
        model_version=model_version,
    )


def _table(scored: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "customer_id": scored["customer_id"].astype(str),
            "industry": scored["industry"],
            "application_type": scored["application_type"],
            "existing_capacity_kva": scored["existing_capacity_kva"].astype(float),
            "recommended_kva": scored["recommended_kva"].astype(float),
        }
    )
    t["capacity_change_kva"] = t["recommended_kva"] - t["existing_capacity_kva"]
    t["yearly_difference_yuan"] = scored["yearly_difference_yuan"].astype(float)
    t["yearly_saving_yuan"] = np.maximum(-t["yearly_difference_yuan"], 0.0)
    t["p_appropriate_today"] = scored["p_appropriate_today"].astype(float)
    t["p_undersized_today"] = scored["p_undersized_today"].astype(float)
    t["p_oversized_today"] = np.clip(
        1.0 - t["p_appropriate_today"] - t["p_undersized_today"], 0.0, 1.0
    )
    t["p_appropriate"] = scored["p_appropriate"].astype(float)
    t["p_undersized"] = scored["p_undersized"].astype(float)
    c = customers.reset_index(drop=True)
    t["months_metered"] = pd.to_numeric(c["meter_months"], errors="coerce").astype(int).to_numpy()
    t["mean_kw"] = pd.to_numeric(c["meter_mean_kw"], errors="coerce").to_numpy()
    demand = pd.to_numeric(c["meter_max_demand_kw"], errors="coerce").to_numpy()
    t["max_demand_kw"] = demand
    busiest = pd.to_numeric(c["meter_max_month_kw"], errors="coerce").to_numpy()
    t["measured_peak_kw"] = np.where(np.isfinite(demand), demand, busiest)
    t["measured_load_rate"] = scored["measured_load_rate"].astype(float)
    for col in ("predicted_peak_kw", "peak_low_kw", "peak_high_kw", "metered_part_kw", "change_kw"):
        t[col] = scored[col].astype(float)
    t["basis"] = scored["basis"]
    t["manual_review"] = scored["manual_review"].astype(bool)
    t["model_version"] = scored["model_version"]
    t["verdict"] = np.select(
        [
            t["recommended_kva"] < t["existing_capacity_kva"],
            t["recommended_kva"] > t["existing_capacity_kva"],
        ],
        ["reduce_candidate", "overload_risk"],
        "keep",
    )
    parts = []
    for verdict in VERDICTS:
        g = t[t["verdict"] == verdict]
        if verdict == "reduce_candidate":
            # The largest saving first; at equal saving the safer one (lower risk at the
            # smaller capacity).
            g = g.sort_values(["yearly_saving_yuan", "p_undersized"], ascending=[False, True])
        elif verdict == "overload_risk":
            g = g.sort_values(
                ["p_undersized_today", "measured_load_rate"], ascending=[False, False]
            )
        else:
            g = g.sort_values("measured_load_rate", ascending=False)
        g = g.assign(rank=np.arange(1, len(g) + 1))
        parts.append(g)
    return pd.concat(parts, ignore_index=True)[list(REVIEW_COLUMNS)]


def _atomic_write(path: Path, write: Any) -> Path:
    """Write through a temporary name in the same folder, then rename (never a half file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_review(review: Review, validated: ValidatedHistory, out_dir: Path) -> dict[str, Path]:
    """``review.csv``, ``review.html`` (plots inlined, offline) and the rejects report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = _atomic_write(
        out_dir / "review.csv", lambda p: review.table.to_csv(p, index=False, encoding="utf-8")
    )
    html_path = _atomic_write(
        out_dir / "review.html", lambda p: p.write_text(review_html(review, validated), "utf-8")
    )
    rejects = out_dir / "rejects"
    validated.write_report(rejects)
    return {"csv": csv_path, "html": html_path, "rejects": rejects}


def _png(fig: Any) -> str:
    return figure_png_base64(fig, dpi=100)


COLOURS = {"reduce_candidate": "#2b7bba", "overload_risk": "#c8102e", "keep": "#7a7a7a"}


def review_plots(review: Review) -> list[tuple[str, str]]:
    """(title, base64 PNG) of the report's plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = review.table
    out = []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for verdict in VERDICTS:
        g = t[t["verdict"] == verdict]
        if len(g):
            ax.scatter(
                g["existing_capacity_kva"],
                g["measured_load_rate"] * 100,
                s=14,
                alpha=0.7,
                color=COLOURS[verdict],
                label=f"{verdict} (n={len(g)})",
            )
    ax.set_xscale("log")
    ax.axhspan(40, 100, color="#3a3", alpha=0.08, label="appropriate band 40-100 %")
    ax.set_xlabel("capacity in service, kVA (log)")
    ax.set_ylabel("measured load rate of today's capacity, %")
    ax.set_title("What the meter shows, by capacity in service")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    out.append(("Measured load rate against capacity in service", _png(fig)))

    cand = t[t["verdict"] == "reduce_candidate"].head(TOP_ROWS)
    if len(cand):
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.25 * len(cand) + 1)))
        y = np.arange(len(cand))
        ax.barh(y, cand["yearly_saving_yuan"], color=COLOURS["reduce_candidate"])
        ax.set_yticks(
            y,
            [
                f"{c} {a:g}->{b:g} kVA, risk {p:.0%}"
                for c, a, b, p in zip(
                    cand["customer_id"],
                    cand["existing_capacity_kva"],
                    cand["recommended_kva"],
                    cand["p_undersized"],
                    strict=True,
                )
            ],  # fmt: skip
            fontsize=7,
        )
        ax.invert_yaxis()
        ax.set_xlabel("yearly capacity charge saved, yuan")
        ax.set_title(f"Largest savings (top {len(cand)} of {review.count('reduce_candidate')})")
        out.append(("Candidates for 减容: yearly saving", _png(fig)))

    risk = t[t["verdict"] == "overload_risk"].head(TOP_ROWS)
    if len(risk):
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.25 * len(risk) + 1)))
        y = np.arange(len(risk))
        ax.barh(y, risk["p_undersized_today"] * 100, color=COLOURS["overload_risk"])
        ax.set_yticks(
            y,
            [
                f"{c} {a:g} kVA, load {r:.0%}"
                for c, a, r in zip(
                    risk["customer_id"],
                    risk["existing_capacity_kva"],
                    risk["measured_load_rate"],
                    strict=True,
                )
            ],  # fmt: skip
            fontsize=7,
        )
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("P(peak exceeds today's capacity), %")
        ax.set_title(f"Highest overload risk (top {len(risk)} of {review.count('overload_risk')})")
        out.append(("Overload risk at today's capacity", _png(fig)))
    return out


def _rows(g: pd.DataFrame) -> list[list[str]]:
    return [
        [
            str(r.rank),
            str(r.customer_id),
            str(r.industry),
            str(r.application_type),
            num(r.existing_capacity_kva),
            num(r.recommended_kva),
            num(r.yearly_difference_yuan),
            pct(r.p_undersized_today),
            pct(r.p_undersized),
            str(r.months_metered),
            num(r.mean_kw, 1),
            num(r.measured_peak_kw, 1),
            pct(r.measured_load_rate),
            f"{num(r.predicted_peak_kw, 1)} [{num(r.peak_low_kw, 1)}, {num(r.peak_high_kw, 1)}]",
        ]
        for r in g.itertuples(index=False)
    ]


HEADERS = [
    "rank", "customer", "industry", "type", "today kVA", "recommended kVA",
    "yearly difference, yuan", "P(undersized) today", "P(undersized) recommended",
    "months", "mean kW", "measured peak kW", "measured load rate", "predicted peak kW [90 %]",
]  # fmt: skip


def review_html(review: Review, validated: ValidatedHistory) -> str:
    """A self-contained HTML report (plots inlined as PNG; no outside request)."""
    plots = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{b}'>"
        for title, b in review_plots(review)
    )
    sections = []
    for verdict in VERDICTS:
        g = review.table[review.table["verdict"] == verdict]
        shown = g.head(TOP_ROWS)
        more = f" (top {len(shown)} of {len(g)}; all in review.csv)" if len(g) > len(shown) else ""
        sections.append(
            f"<h2 id='{verdict}'>{html.escape(VERDICT_TITLES[verdict])}: {len(g)}{more}</h2>"
            + (html_table(HEADERS, _rows(shown)) if len(g) else "<p>None.</p>")
        )
    rejected = validated.rejected_rows("customers")
    meter_rejected = validated.rejected_rows("meter_readings")
    summary = (
        f"<p>{len(review.table)} existing customers reviewed with model "
        f"<code>{html.escape(review.model_version)}</code>; {review.n_new} new connections "
        f"of the {review.n_customers} valid customers are not reviewed (no capacity in "
        f"service). Rejected rows: customers {rejected}, meter readings {meter_rejected} "
        "(see rejects/).</p>"
        f"<ul><li><a href='#reduce_candidate'>{review.count('reduce_candidate')} candidates "
        f"for 减容</a>: together {num(review.yearly_saving_yuan())} yuan a year of capacity "
        "charges (基本电费) if each took its recommendation</li>"
        f"<li><a href='#overload_risk'>{review.count('overload_risk')} at overload risk</a></li>"
        f"<li><a href='#keep'>{review.count('keep')} rightly sized</a></li></ul>"
        "<p>Measured peak: the demand meter's highest monthly maximum, or without a demand "
        "meter the busiest month's mean load (a lower bound of the real peak). Load rate = "
        "measured peak / (capacity × 0.9). P(undersized): the probability that the peak of "
        "the next 12 months exceeds that capacity, from the served model's calibrated peak "
        "distribution.</p>"
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Installed-base review</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0;font-size:13px}}td,th{{border:1px solid #ccc;
padding:3px 6px;text-align:right}}th{{background:#f3f3f3}}img{{max-width:100%}}</style>
</head><body><h1>Installed-base review (增容 / 减容 / 暂停)</h1>{summary}{plots}
{"".join(sections)}</body></html>"""
