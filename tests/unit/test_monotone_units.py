"""``ModelConfig.monotone_units``: the unit counts leave the monotone constraints, nothing else."""

from __future__ import annotations

from serving.model.config import ModelConfig
from training.model import monotone_vector

NAMES = [
    "kw__pump",
    "units__pump",
    "largest__pump",
    "total_kw",
    "total_units",
    "n_groups",
    "base_kw",
    "floor_area_m2",
    "shifts",
]


def test_default_constrains_unit_counts() -> None:
    assert ModelConfig().monotone_units is True
    v = dict(zip(NAMES, monotone_vector(NAMES), strict=True))
    assert v["units__pump"] == v["total_units"] == v["n_groups"] == 1
    assert v["shifts"] == 0


def test_units_false_frees_only_the_unit_counts() -> None:
    with_units = dict(zip(NAMES, monotone_vector(NAMES), strict=True))
    free = dict(zip(NAMES, monotone_vector(NAMES, units=False), strict=True))
    changed = {n for n in NAMES if with_units[n] != free[n]}
    assert changed == {"units__pump", "total_units", "n_groups"}
    assert all(free[n] == 0 for n in changed)
    assert free["kw__pump"] == free["largest__pump"] == free["total_kw"] == free["base_kw"] == 1
