from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.contract import SizingDefinition
from training.pilot import (
    PilotMetrics,
    pilot_metrics,
    top_drivers,
    wilson_interval,
    write_pilot_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# -- Wilson interval ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (score).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # A 100-enterprise pilot with 81 appropriately sized.
        (81, 100, 0.7222, 0.8749),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_known_values(successes: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, n)
    assert got_low == pytest.approx(low, abs=1e-3)
    assert got_high == pytest.approx(high, abs=1e-3)


def test_wilson_extremes_are_exact() -> None:
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0


@pytest.mark.parametrize(("successes", "n"), [(3, 7), (81, 100), (1, 2), (999, 1000)])
def test_wilson_bounds_solve_the_score_equation(successes: int, n: int) -> None:
    # Independent of the closed form: both bounds p satisfy (p_hat - p)^2 = z^2 p (1 - p) / n.
    z = 1.959963984540054
    p_hat = successes / n
    for p in wilson_interval(successes, n):
        assert (p_hat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9)


def test_wilson_confidence_level_changes_width() -> None:
    low90, high90 = wilson_interval(81, 100, confidence=0.90)
    low95, high95 = wilson_interval(81, 100)
    assert low95 < low90 < 0.81 < high90 < high95


@pytest.mark.parametrize(
    ("successes", "n", "confidence", "match"),
    [
        (0, 0, 0.95, "n must be > 0.*received n=0"),
        (11, 10, 0.95, r"successes must be within \[0, n=10\]; received 11"),
        (-1, 10, 0.95, "successes must be within"),
        (5, 10, 1.0, "confidence must be strictly between 0 and 1; received 1.0"),
        (5, 10.0, 0.95, "n must be an integer"),
    ],
)
def test_wilson_rejects_bad_input(successes: int, n: int, confidence: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        wilson_interval(successes, n, confidence)


# -- metrics ------------------------------------------------------------------------------

DRIVERS = [
    {"label": "机床 machine tools", "kw": 40.0},
    {"label": "fans", "kw": -55.0},
    {"label": "lighting", "kw": 5.0},
    {"label": "pumps", "kw": 20.0},
]


def _frame() -> pd.DataFrame:
    """Six customers, power factor 0.9: 100 kVA is appropriate for 36-90 kW.

    | id | industry | model 100 kVA | status quo   | engineering   |
    |----|----------|---------------|--------------|---------------|
    | r1 | food     | 50 kW: A      | 200: O       | 100: A        |
    | r2 | food     | 80 kW: A      | -            | 63: U         |
    | r3 | food     | 95 kW: U      | 100: U       | 250: A        |
    | r4 | hotel    | 30 kW: O      | -            | 400: O        |
    | r5 | hotel    | 60 kW: A      | 80: A        | 100: A        |
    | r6 | hotel    | 89 kW: A      | -            | -             |
    """
    nan = float("nan")
    return pd.DataFrame(
        {
            "id": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "created_at": pd.to_datetime(["2025-01-01"] * 6, utc=True),
            "industry": ["food", "food", "food", "hotel", "hotel", "hotel"],
            "recommended_kva": [100.0] * 6,
            "engineering_kva": [100.0, 63.0, 250.0, 400.0, 100.0, nan],
            "status_quo_kva": [200.0, nan, 100.0, nan, 80.0, nan],
            "granted_kva": [100.0, 100.0, 125.0, 100.0, 100.0, 100.0],
            "metered_peak_kw": [50.0, 80.0, 95.0, 30.0, 60.0, 89.0],
            "predicted_peak_kw": [55.0, 70.0, 75.0, 60.0, 58.0, 80.0],
            "model_version": ["v1"] * 6,
            "response_json": [
                "{}",
                "{}",
                json.dumps({"recommended_kva": 100, "drivers": DRIVERS}, ensure_ascii=False),
                "not json",
                "{}",
                "{}",
            ],
        }
    )


@pytest.fixture
def metrics() -> PilotMetrics:
    return pilot_metrics(_frame())


def test_overall_shares_are_exact(metrics: PilotMetrics) -> None:
    assert metrics.n == 6
    m = metrics.model
    assert (m.n, m.appropriate, m.undersized, m.oversized) == (6, 4, 1, 1)
    assert m.accuracy == pytest.approx(4 / 6)
    assert m.undersized_share == pytest.approx(1 / 6)
    assert m.oversized_share == pytest.approx(1 / 6)
    assert (m.ci_low, m.ci_high) == pytest.approx(wilson_interval(4, 6))

    sq = metrics.status_quo
    assert (sq.n, sq.appropriate, sq.undersized, sq.oversized) == (3, 1, 1, 1)
    assert (sq.ci_low, sq.ci_high) == pytest.approx(wilson_interval(1, 3))

    paired = metrics.model_on_status_quo
    assert (paired.n, paired.appropriate, paired.undersized, paired.oversized) == (3, 2, 1, 0)

    eng = metrics.engineering
    assert (eng.n, eng.appropriate, eng.undersized, eng.oversized) == (5, 3, 1, 1)
    assert eng.accuracy == pytest.approx(0.6)


def test_per_industry_table(metrics: PilotMetrics) -> None:
    table = {
        (str(r["industry"]), str(r["method"])): r for r in metrics.per_industry.to_dict("records")
    }
    expected = {
        ("food", "model"): (3, 2, 1, 0),
        ("food", "status_quo"): (2, 0, 1, 1),
        ("food", "engineering"): (3, 2, 1, 0),
        ("hotel", "model"): (3, 2, 0, 1),
        ("hotel", "status_quo"): (1, 1, 0, 0),
        ("hotel", "engineering"): (2, 1, 0, 1),
    }
    assert set(table) == set(expected)
    for key, counts in expected.items():
        row = table[key]
        assert (row["n"], row["appropriate"], row["undersized"], row["oversized"]) == counts
        assert row["accuracy"] == pytest.approx(counts[1] / counts[0])
    assert table[("hotel", "status_quo")]["ci_high"] == 1.0


def test_misses_worst_first_with_load_rate_and_drivers(metrics: PilotMetrics) -> None:
    misses = metrics.misses
    # r4 is 1.2x below the band (0.333 vs 0.4), r3 1.056x above it.
    assert list(misses["id"]) == ["r4", "r3"]
    assert list(misses["outcome"]) == ["oversized", "undersized"]
    assert misses["load_rate"].tolist() == pytest.approx([30 / 90, 95 / 90])
    assert misses.loc[1, "top_drivers"] == [
        ("fans", -55.0),
        ("机床 machine tools", 40.0),
        ("pumps", 20.0),
    ]
    assert misses.loc[0, "top_drivers"] == []  # invalid JSON is tolerated


def test_custom_sizing_definition_changes_outcomes() -> None:
    wide = SizingDefinition(power_factor=0.9, low=0.2, high=1.2)
    assert pilot_metrics(_frame(), sizing=wide).model.appropriate == 6


def test_top_drivers_tolerates_malformed_answers() -> None:
    assert top_drivers(None) == []
    assert top_drivers("[]") == []
    assert top_drivers('{"drivers": "x"}') == []
    answer = {
        "drivers": [{"label": "a"}, "junk", {"label": "b", "kw": "3"}, {"label": "c", "kw": 2}]
    }
    assert top_drivers(json.dumps(answer)) == [("c", 2.0)]


def test_pilot_metrics_rejects_bad_frames() -> None:
    with pytest.raises(ValueError, match="no rows"):
        pilot_metrics(_frame().iloc[0:0])
    with pytest.raises(ValueError, match="lacks column.*status_quo_kva"):
        pilot_metrics(_frame().drop(columns=["status_quo_kva"]))
    bad = _frame()
    bad.loc[2, "metered_peak_kw"] = 0.0
    with pytest.raises(ValueError, match="metered_peak_kw must be a number > 0.*r3"):
        pilot_metrics(bad)
    bad = _frame()
    bad.loc[1, "engineering_kva"] = -63.0
    with pytest.raises(ValueError, match="engineering_kva must be > 0.*r2"):
        pilot_metrics(bad)


# -- report -------------------------------------------------------------------------------


def test_report_files_are_written_and_contain_the_figures(
    metrics: PilotMetrics, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    files = write_pilot_report(metrics, _frame(), out, title="Pilot <Q1> & more")
    assert files.markdown == out / "pilot_report.md"
    assert files.html == out / "pilot_report.html"

    md = files.markdown.read_text(encoding="utf-8")
    assert md.startswith("# Pilot <Q1> & more")
    for chart in ("pilot_accuracy.png", "pilot_load_rate.png"):
        assert f"]({chart})" in md
        assert (out / chart).read_bytes().startswith(PNG_SIGNATURE)
    assert {p.name for p in files.charts} == {"pilot_accuracy.png", "pilot_load_rate.png"}
    assert "66.7 %" in md  # model accuracy 4/6
    low, high = wilson_interval(4, 6)
    assert f"{100 * low:.1f}–{100 * high:.1f} %" in md
    assert "33.3 %" in md  # status quo 1/3
    assert "60.0 %" in md  # engineering 3/5
    assert "| r3 | food |" in md and "| r4 | hotel |" in md
    assert "fans (-55.0 kW)" in md and "lighting" not in md  # only the top 3 drivers

    page = files.html.read_text(encoding="utf-8")
    assert "<title>Pilot &lt;Q1&gt; &amp; more</title>" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(img).startswith(PNG_SIGNATURE) for img in images)
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page
    assert "66.7 %" in page and "fans (-55.0 kW)" in page


def test_report_without_status_quo_or_misses(tmp_path: Path) -> None:
    frame = _frame()
    frame["status_quo_kva"] = np.nan
    frame["metered_peak_kw"] = 60.0
    frame = frame.drop(columns=["response_json"])
    result = pilot_metrics(frame)
    assert result.status_quo.n == 0 and math.isnan(result.status_quo.accuracy)
    assert result.misses.empty
    files = write_pilot_report(result, frame, tmp_path, title="t")
    md = files.markdown.read_text(encoding="utf-8")
    assert "## Misses" in md and "None." in md
