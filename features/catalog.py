"""The project's catalog of industries and equipment categories.

The codes are those of the contract; the project's own copies in ``features/data`` add
Chinese and English names, default demand coefficients (Kx) and power factors, and
aliases used by the free-text name matcher (:mod:`features.matching`).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources


@dataclass(frozen=True)
class Category:
    """An equipment category with its engineering defaults."""

    code: str
    name_zh: str
    name_en: str
    kx_low: float
    kx_high: float
    cos_phi: float
    aliases: tuple[str, ...] = ()

    @cached_property
    def kx_default(self) -> float:
        """Default demand coefficient: the middle of the published range.

        Once per category (a sheet reads it for every group of every answer).
        """
        return round((self.kx_low + self.kx_high) / 2.0, 4)


@dataclass(frozen=True)
class Industry:
    """An industry code with its names."""

    code: str
    name_zh: str
    name_en: str
    extra: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    """The words people use for it (``industry_aliases.csv``: 机加工, 五金, 写字楼, IDC…)."""


OTHER_INDUSTRY = "other"
"""The reserved code of "my industry is not in the list" (其他). Not a contract code: no
history can hold it, so the model never saw it and answers from its all-industry (pooled)
figures, flagged for review (``industry_not_listed``). One rule for API, page, batch, CLI."""


def _not_listed(aliases: tuple[str, ...] = ()) -> Industry:
    return Industry(
        code=OTHER_INDUSTRY,
        name_zh="其他（不在列表中）",
        name_en="Other (not listed)",
        aliases=aliases,
    )


@dataclass(frozen=True)
class Catalog:
    """Industries and categories, indexed by code."""

    industries: dict[str, Industry]
    categories: dict[str, Category]
    version: str
    not_listed: Industry = field(default_factory=_not_listed)
    """The 其他 entry (:data:`OTHER_INDUSTRY`) with the words that lead to it
    (``industry_aliases.csv`` rows of ``other``: 其他, 住宅小区, 加油站…)."""

    @property
    def industry_codes(self) -> tuple[str, ...]:
        """Industry codes in file order."""
        return tuple(self.industries)

    @property
    def category_codes(self) -> tuple[str, ...]:
        """Category codes in file order."""
        return tuple(self.categories)


def nearest_code(value: object, codes: tuple[str, ...] | list[str]) -> str | None:
    """The valid code closest to ``value`` (for "did you mean" messages), or None."""
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if text in codes:
        return text
    hits = difflib.get_close_matches(text, list(codes), n=1, cutoff=0.5)
    return hits[0] if hits else None


def unknown_code_message(kind: str, value: object, codes: tuple[str, ...] | list[str]) -> str:
    """The one wording of an unknown-code error, with the nearest valid code when any."""
    hint = nearest_code(value, codes)
    suggestion = f"; did you mean '{hint}'?" if hint else ""
    return f"unknown {kind} code '{value}': expected one of the contract's {kind} codes{suggestion}"


def _read_csv(name: str) -> list[dict[str, str]]:
    path = resources.files("features").joinpath("data", name)
    with path.open("r", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _data_bytes(name: str) -> bytes:
    return resources.files("features").joinpath("data", name).read_bytes()


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Load the packaged catalog (cached; read on first use, never at import)."""
    aliases: dict[str, list[str]] = {}
    try:
        for row in _read_csv("aliases.csv"):
            aliases.setdefault(row["category"], []).append(row["alias"])
        alias_bytes = _data_bytes("aliases.csv")
    except FileNotFoundError:
        alias_bytes = b""
    industry_aliases: dict[str, list[str]] = {}
    try:
        for row in _read_csv("industry_aliases.csv"):
            industry_aliases.setdefault(row["industry"], []).append(row["alias"])
    except FileNotFoundError:
        pass
    categories = {
        r["code"]: Category(
            code=r["code"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            kx_low=float(r["kx_low"]),
            kx_high=float(r["kx_high"]),
            cos_phi=float(r["cos_phi"]),
            aliases=tuple(aliases.get(r["code"], ())),
        )
        for r in _read_csv("categories.csv")
    }
    industries = {
        r["code"]: Industry(
            code=r["code"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            extra={k: v for k, v in r.items() if k not in {"code", "name_zh", "name_en"}},
            aliases=tuple(industry_aliases.get(r["code"], ())),
        )
        for r in _read_csv("industries.csv")
    }
    # The industry words are not in the version: they only resolve what the request
    # names, never a feature, so adding a word must not invalidate trained bundles.
    digest = hashlib.sha256(
        _data_bytes("industries.csv") + _data_bytes("categories.csv") + alias_bytes
    ).hexdigest()[:12]
    return Catalog(
        industries=industries,
        categories=categories,
        version=digest,
        not_listed=_not_listed(tuple(industry_aliases.get(OTHER_INDUSTRY, ()))),
    )
