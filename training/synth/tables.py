"""The synthetic history's engineering tables: data files, their loader and their doc tables.

The assumptions of :mod:`training.synth.history` (per-category unit models and utilisation, per-
industry scale, operation and equipment template, free-text names) live in CSV files under
``training/data/`` so a utility can read and replace them without touching code. The
tables A, B and C of ``docs/synthetic_history.md`` are generated from the same files
(:func:`render_doc_tables`; ``python -m training.synth.tables --write`` rewrites them), and
a test checks that the doc shows exactly what the generator uses.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from features.contract import CLIMATE_ZONES

__all__ = [
    "DATA_DIR",
    "DOC_PATH",
    "CategoryModel",
    "Industry",
    "LoadShape",
    "Slot",
    "SynthTables",
    "load_synth_tables",
    "render_doc_tables",
    "rewrite_doc",
]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "synthetic_history.md"


@dataclass(frozen=True)
class CategoryModel:
    """How one equipment category appears in lists and behaves in operation."""

    models_kw: tuple[float, ...]
    """Nameplate ratings of the unit models customers list (kW per unit)."""
    util: float
    """Median utilisation of the group's installed kW at the customer's 15-min peak."""
    util_sigma: float
    """Customer-level log-spread of that utilisation (a latent draw)."""
    diversity: float
    """``a`` in the within-group diversity ``1 / (1 + a ln n_units)``."""
    size_exp: float = 0.5
    """How strongly the unit size grows with the line's total kW (0 = not at all)."""
    size_sigma: float = 0.45
    """Log-spread of the chosen unit size around its target."""
    cooling: str = ""
    """``"ac"`` or ``"refrigeration"`` when the climate zone scales the load."""
    shift_sensitive: bool = True
    """Production loads run more at once in multi-shift operation."""
    spare_p: float = 0.0
    """Default probability that a customer lists installed spares of this category."""


@dataclass(frozen=True)
class Slot:
    """One category in an industry's equipment template."""

    category: str
    p: float
    """Probability that a (mid-sized) customer of the industry lists this category."""
    weight: float
    """Median share of the customer's installed kW."""
    size_bias: float = 0.0
    """Log shift of the unit size (e.g. tower cranes are bigger than workshop hoists)."""
    spare_p: float | None = None
    """Industry-specific probability of listed spares (None: category default)."""
    note: str = ""
    """What the category stands for in this industry (documentation only)."""


@dataclass(frozen=True)
class Industry:
    """Scale, operation and equipment template of one industry."""

    mix: float
    """Relative frequency among new applications."""
    area_median: float
    area_sigma: float
    kw_per_m2: float
    """Median installed (nameplate, non-spare) kW per m² of floor area."""
    m2_per_employee: float
    shifts_p: tuple[float, float, float]
    area_only_p: float
    peak_w_per_m2: float
    """Median metered peak density for area-only applications (W/m²)."""
    cooling_share: float
    """Share of an area-only customer's peak that is air-conditioning."""
    production: bool
    ramp_p: float
    """Probability that the customer never ramps up within 12 months."""
    fire_p: float
    """Probability that the list includes fire pumps."""
    design_va_per_m2: float
    """Load density an area-only applicant sizes with (VA/m²)."""
    slots: tuple[Slot, ...]
    missing_area_p: float = 0.0
    """Extra probability that floor area is left empty (on top of the global rate)."""


@dataclass(frozen=True)
class LoadShape:
    """How an existing customer of one industry uses its peak over a year (meter readings)."""

    load_factor: tuple[float, float, float]
    """Median annual load factor (mean demand / 15-min peak) for 1, 2, 3 shifts."""
    work_days: float
    """Working days per week of a one-shift customer (2 shifts +0.5, 3 shifts +1.5, ≤ 7)."""
    idle_share: float
    """Load of a non-working day relative to a working day."""
    summer_share: float
    """Share of the load that follows the cooling season (air-conditioning, refrigeration)."""
    winter_share: float
    """Share of the load that follows the heating season (electric heating, heat tracing)."""
    new_year_days: int
    """Working days lost to the Spring Festival shutdown."""


@dataclass(frozen=True)
class SynthTables:
    """Every table of the generator, in file order (the order the random draws follow)."""

    categories: dict[str, CategoryModel]
    industries: dict[str, Industry]
    names: dict[str, tuple[str, ...]]
    """Generic free-text names per category (``{kw}`` and ``{t}`` are filled in)."""
    name_overrides: dict[tuple[str, str], tuple[str, ...]]
    """Names per (industry, category) that replace the generic ones."""
    crane_tonnes: dict[float, int]
    """Crane rating (kW) → lifting capacity (t), for names such as ``10t行车``."""
    climate_share: tuple[float, ...]
    """Share of new applications by GB 50176 zone, in :data:`CLIMATE_ZONES` order."""
    climate_ac: tuple[float, ...]
    """Peak air-conditioning load relative to a hot-summer-cold-winter site, by zone."""
    climate_refrigeration: tuple[float, ...]
    """Peak refrigeration load relative to a hot-summer-cold-winter site, by zone."""
    climate_heating: tuple[float, ...]
    """Winter heating intensity by zone (meter readings of existing customers)."""
    load_shapes: dict[str, LoadShape]
    """Load shape per industry (``synth_load_shapes.csv``; meter readings only)."""


def _rows(name: str, data_dir: Path) -> list[dict[str, str]]:
    path = data_dir / name
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _bool(value: str, where: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(f"{where}: expected true or false; received {value!r}")
    return value == "true"


def _float(value: str) -> float:
    return float(value)


def _optional(value: str) -> float | None:
    return None if value == "" else float(value)


def _load(data_dir: Path) -> SynthTables:
    categories = {
        r["category"]: CategoryModel(
            models_kw=tuple(float(v) for v in r["models_kw"].split()),
            util=_float(r["util"]),
            util_sigma=_float(r["util_sigma"]),
            diversity=_float(r["diversity"]),
            size_exp=_float(r["size_exp"]),
            size_sigma=_float(r["size_sigma"]),
            cooling=r["cooling"],
            shift_sensitive=_bool(r["shift_sensitive"], f"category {r['category']}"),
            spare_p=_float(r["spare_p"]),
        )
        for r in _rows("synth_categories.csv", data_dir)
    }
    slots: dict[str, list[Slot]] = {}
    for r in _rows("synth_slots.csv", data_dir):
        slots.setdefault(r["industry"], []).append(
            Slot(
                r["category"],
                _float(r["p"]),
                _float(r["weight"]),
                _float(r["size_bias"]),
                _optional(r["spare_p"]),
                r["note"],
            )
        )
    industries = {
        r["industry"]: Industry(
            mix=_float(r["mix"]),
            area_median=_float(r["area_median"]),
            area_sigma=_float(r["area_sigma"]),
            kw_per_m2=_float(r["kw_per_m2"]),
            m2_per_employee=_float(r["m2_per_employee"]),
            shifts_p=(_float(r["shifts_1"]), _float(r["shifts_2"]), _float(r["shifts_3"])),
            area_only_p=_float(r["area_only_p"]),
            peak_w_per_m2=_float(r["peak_w_per_m2"]),
            cooling_share=_float(r["cooling_share"]),
            production=_bool(r["production"], f"industry {r['industry']}"),
            ramp_p=_float(r["ramp_p"]),
            fire_p=_float(r["fire_p"]),
            design_va_per_m2=_float(r["design_va_per_m2"]),
            slots=tuple(slots.pop(r["industry"], [])),
            missing_area_p=_float(r["missing_area_p"]),
        )
        for r in _rows("synth_industries.csv", data_dir)
    }
    if slots:
        raise ValueError(
            f"synth_slots.csv names industries not in synth_industries.csv: {sorted(slots)}"
        )
    names: dict[str, list[str]] = {}
    overrides: dict[tuple[str, str], list[str]] = {}
    for r in _rows("synth_names.csv", data_dir):
        if r["industry"]:
            overrides.setdefault((r["industry"], r["category"]), []).append(r["name"])
        else:
            names.setdefault(r["category"], []).append(r["name"])
    crane = {
        float(r["rated_kw"]): int(r["tonnes"]) for r in _rows("synth_crane_tonnes.csv", data_dir)
    }
    # Keyed by the contract's zone codes, used in the contract's order (the draws follow it).
    climate = {r["zone"]: r for r in _rows("synth_climate.csv", data_dir)}
    if set(climate) != set(CLIMATE_ZONES):
        raise ValueError(
            f"synth_climate.csv has zones {sorted(climate)}; expected the contract's "
            f"{', '.join(CLIMATE_ZONES)}"
        )
    ordered = [climate[z] for z in CLIMATE_ZONES]
    return SynthTables(
        categories=categories,
        industries=industries,
        names={k: tuple(v) for k, v in names.items()},
        name_overrides={k: tuple(v) for k, v in overrides.items()},
        crane_tonnes=crane,
        climate_share=tuple(float(r["share"]) for r in ordered),
        climate_ac=tuple(float(r["ac_factor"]) for r in ordered),
        climate_refrigeration=tuple(float(r["refrigeration_factor"]) for r in ordered),
        climate_heating=tuple(float(r["heating_factor"]) for r in ordered),
        load_shapes=_load_shapes(data_dir, industries),
    )


def _load_shapes(data_dir: Path, industries: Mapping[str, Industry]) -> dict[str, LoadShape]:
    shapes = {
        r["industry"]: LoadShape(
            load_factor=(
                _float(r["load_factor_1"]),
                _float(r["load_factor_2"]),
                _float(r["load_factor_3"]),
            ),
            work_days=_float(r["work_days"]),
            idle_share=_float(r["idle_share"]),
            summer_share=_float(r["summer_share"]),
            winter_share=_float(r["winter_share"]),
            new_year_days=int(r["new_year_days"]),
        )
        for r in _rows("synth_load_shapes.csv", data_dir)
    }
    if set(shapes) != set(industries):
        raise ValueError(
            "synth_load_shapes.csv and synth_industries.csv differ on "
            f"{sorted(set(shapes) ^ set(industries))}"
        )
    for code, shape in shapes.items():
        if shape.summer_share + shape.winter_share > 1.0 or not 1.0 <= shape.work_days <= 7.0:
            raise ValueError(
                f"synth_load_shapes.csv, industry {code}: summer + winter share must be ≤ 1 "
                f"and work days in [1, 7]; received {shape}"
            )
    return shapes


@cache
def load_synth_tables(data_dir: Path = DATA_DIR) -> SynthTables:
    """The generator's tables, read once from ``data_dir`` (default ``training/data``)."""
    return _load(data_dir)


# --------------------------------------------------------------------------------------
# the doc's tables
# --------------------------------------------------------------------------------------


def _pct0(value: float) -> str:
    return f"{100 * value:.0f}%"


def _table_a(t: SynthTables) -> str:
    total = sum(p.mix for p in t.industries.values())
    lines = [
        "| industry | mix | floor area median m² (σ) | installed kW/m² | m²/employee | "
        "shifts 1/2/3 | area-only | area-only peak W/m² | cooling share | never ramps "
        "(× `ramp_up_scale`, default 0.5) | fire pumps | applicant VA/m² (area-only) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for code, p in t.industries.items():
        cells = [
            code,
            f"{100 * p.mix / total:.1f}%",
            f"{p.area_median:,.0f} ({p.area_sigma:.1f})",
            f"{p.kw_per_m2:g}",
            f"{p.m2_per_employee:g}",
            "/".join(f"{v:.2f}" for v in p.shifts_p),
            _pct0(p.area_only_p),
            f"{p.peak_w_per_m2:g}",
            _pct0(p.cooling_share),
            _pct0(p.ramp_p),
            _pct0(p.fire_p),
            f"{p.design_va_per_m2:g}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _table_b(t: SynthTables, kx_mid: Mapping[str, float]) -> str:
    lines = [
        "| category | unit models (kW) | median utilisation | σ | diversity a | catalog Kx mid "
        "| climate | shift-sensitive | spare p |",
        "|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for code, m in t.categories.items():
        cells = [
            code,
            ", ".join(f"{k:g}" for k in m.models_kw),
            f"{m.util:.2f}",
            f"{m.util_sigma:.2f}",
            f"{m.diversity:.2f}",
            f"{kx_mid[code]:.3f}",
            m.cooling or "–",
            "yes" if m.shift_sensitive else "no",
            f"{m.spare_p:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _slot_text(slot: Slot) -> str:
    parts = [f"{slot.p:.2f}", f"{slot.weight:.2f}"]
    if slot.size_bias:
        parts.append(f"size ×{math.exp(slot.size_bias):.1f}")
    if slot.spare_p is not None:
        parts.append(f"spares {100 * slot.spare_p:.0f}%")
    text = ", ".join(parts) + (f"; {slot.note}" if slot.note else "")
    return f"{slot.category} ({text})"


def _table_c(t: SynthTables) -> str:
    return "\n".join(
        f"- **{code}**: " + ", ".join(_slot_text(s) for s in p.slots)
        for code, p in t.industries.items()
    )


def _table_d(t: SynthTables) -> str:
    lines = [
        "| industry | load factor 1/2/3 shifts | working days/week (1 shift) | idle-day load "
        "| summer share | winter share | Spring Festival days lost |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for code, s in t.load_shapes.items():
        cells = [
            code,
            "/".join(f"{v:.2f}" for v in s.load_factor),
            f"{s.work_days:g}",
            _pct0(s.idle_share),
            _pct0(s.summer_share),
            _pct0(s.winter_share),
            str(s.new_year_days),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_doc_tables(
    tables: SynthTables | None = None, kx_mid: Mapping[str, float] | None = None
) -> dict[str, str]:
    """The doc's generated blocks by name (``A``, ``B``, ``C``, ``D``), as Markdown.

    Parameters
    ----------
    tables
        The generator's tables; :func:`load_synth_tables` when None.
    kx_mid
        Catalog Kx midpoint per category (table B shows it for comparison); from the
        packaged catalog when None.
    """
    tables = tables if tables is not None else load_synth_tables()
    if kx_mid is None:
        from features.catalog import load_catalog

        kx_mid = {code: (c.kx_low + c.kx_high) / 2 for code, c in load_catalog().categories.items()}
    render: dict[str, Callable[[], str]] = {
        "A": lambda: _table_a(tables),
        "B": lambda: _table_b(tables, kx_mid),
        "C": lambda: _table_c(tables),
        "D": lambda: _table_d(tables),
    }
    return {name: make() for name, make in render.items()}


_BLOCK = re.compile(
    r"(<!-- generated: table (?P<name>\w+) \(python -m training\.synth\.tables --write\) -->\n)"
    r"(?P<body>.*?)\n(<!-- end of generated table -->)",
    re.DOTALL,
)


def doc_blocks(text: str) -> dict[str, str]:
    """The generated blocks found in the doc's text, by name."""
    return {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}


def rewrite_doc(path: Path = DOC_PATH) -> bool:
    """Replace the doc's generated blocks with freshly rendered ones; whether it changed."""
    text = path.read_text(encoding="utf-8")
    rendered = render_doc_tables()

    def fill(match: re.Match[str]) -> str:
        return f"{match.group(1)}{rendered[match.group('name')]}\n{match.group(4)}"

    new = _BLOCK.sub(fill, text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    if "--write" in sys.argv[1:]:
        print("rewritten" if rewrite_doc() else "unchanged", DOC_PATH)
    else:
        for block_name, block in render_doc_tables().items():
            print(f"## table {block_name}\n{block}\n")
