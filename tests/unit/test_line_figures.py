"""The figures of an equipment line (features.figures) on lines as people type them.

``data/equipment_lines.tsv`` is a held-back set of lines from several trades (machining,
plastics, restaurants, offices and data rooms, hospitals, textiles, charging, petrol
stations, housing estates...) written with the figures a person means, before the parser
was tuned. The test requires every line to read as expected except a small, named
budget; each miss is printed so that a regression names its line.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from features.figures import parse_line, parse_rating

DATA = Path(__file__).parent / "data" / "equipment_lines.tsv"


def _lines() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8") as f:
        body = [line for line in f if not line.startswith("#")]
    return [
        {k: (v or "").strip() for k, v in row.items()}
        for row in csv.DictReader(body, delimiter="\t")
    ]


def _num(s: str) -> float | None:
    return float(s) if s else None


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-3)


def _misses() -> list[str]:
    out = []
    for row in _lines():
        f = parse_line(row["text"])
        want_q = int(row["quantity"]) if row["quantity"] else None
        want_sq = int(row["standby_quantity"]) if row.get("standby_quantity") else None
        got = (f.rated_kw, f.kva, f.quantity, f.standby, f.standby_quantity)
        want = (_num(row["kw"]), _num(row["kva"]), want_q, row["standby"] == "1", want_sq)
        ok = _close(got[0], want[0]) and _close(got[1], want[1]) and got[2:] == want[2:]
        if not ok:
            out.append(f"{row['text']!r}: got {got}, expected {want}")
    return out


def test_held_back_set_is_large_and_varied() -> None:
    rows = _lines()
    assert len(rows) >= 200
    assert sum(bool(r["kva"]) for r in rows) >= 10
    assert sum(r["standby"] == "1" for r in rows) >= 15
    assert sum(any("a" <= c.lower() <= "z" for c in r["text"][:3]) for r in rows) >= 10


# Lines the parser is known to misread, kept visible rather than removed from the set.
MISS_BUDGET = 3


def test_held_back_lines_parse_as_expected() -> None:
    misses = _misses()
    total = len(_lines())
    print(f"\n{total - len(misses)} of {total} held-back lines parse as expected")
    for m in misses:
        print("  miss:", m)
    assert len(misses) <= MISS_BUDGET, "\n".join(misses)


@pytest.mark.parametrize(
    ("text", "pf", "kw"),
    [("60kVA", 0.8, 48.0), ("750W", None, 0.75), ("15HP", None, 11.1855), ("7.5", None, 7.5)],
)
def test_a_kw_box_reads_units(text: str, pf: float | None, kw: float) -> None:
    f = parse_rating(text, pf)
    assert f.rated_kw == pytest.approx(kw)
    if pf is not None:
        # The conversion is said, with the factor used.
        assert any(n.code == "kva_converted" and n.params["power_factor"] == pf for n in f.notes)


def test_kva_without_a_power_factor_is_not_taken_as_kw() -> None:
    f = parse_rating("60kVA")
    assert f.rated_kw is None and f.kva == 60.0


def test_model_numbers_voltages_and_tonnage_are_not_powers() -> None:
    for text in ("数控车床 CK6140", "Y2-132M-4", "380V 50Hz", "行车 10t", "注塑机 120吨"):
        f = parse_line(text)
        assert f.rated_kw is None and f.kva is None, text
    assert parse_line("行车 10t").size_t == 10.0
