"""The project's catalog against the shared data contract, and the alias table's hygiene."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest

from features.catalog import load_catalog
from features.matching import normalise

CONTRACT_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "contract"
ALIASES_CSV = Path(__file__).resolve().parents[2] / "features" / "data" / "aliases.csv"
MIN_ALIASES = 5


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def contract_categories() -> list[dict[str, str]]:
    path = CONTRACT_DIR / "categories.csv"
    if not path.exists():
        pytest.skip(f"shared contract not found at {path}")
    return _read(path)


@pytest.fixture(scope="module")
def contract_industries() -> list[dict[str, str]]:
    path = CONTRACT_DIR / "industries.csv"
    if not path.exists():
        pytest.skip(f"shared contract not found at {path}")
    return _read(path)


@pytest.fixture(scope="module")
def alias_rows() -> list[dict[str, str]]:
    return _read(ALIASES_CSV)


def test_category_codes_match_the_contract(contract_categories: list[dict[str, str]]) -> None:
    catalog = load_catalog()
    assert list(catalog.category_codes) == [r["code"] for r in contract_categories]


def test_category_coefficients_match_the_contract(
    contract_categories: list[dict[str, str]],
) -> None:
    catalog = load_catalog()
    for row in contract_categories:
        cat = catalog.categories[row["code"]]
        assert (cat.kx_low, cat.kx_high, cat.cos_phi) == (
            float(row["kx_low"]),
            float(row["kx_high"]),
            float(row["cos_phi"]),
        ), row["code"]
        assert (cat.name_zh, cat.name_en) == (row["name_zh"], row["name_en"]), row["code"]


def test_industry_codes_match_the_contract(contract_industries: list[dict[str, str]]) -> None:
    catalog = load_catalog()
    assert list(catalog.industry_codes) == [r["code"] for r in contract_industries]
    for row in contract_industries:
        ind = catalog.industries[row["code"]]
        assert (ind.name_zh, ind.name_en) == (row["name_zh"], row["name_en"]), row["code"]


def test_every_category_has_enough_aliases() -> None:
    catalog = load_catalog()
    short = {
        c.code: len(c.aliases) for c in catalog.categories.values() if len(c.aliases) < MIN_ALIASES
    }
    assert not short, f"categories with fewer than {MIN_ALIASES} aliases: {short}"


def test_alias_file_columns_codes_and_languages(alias_rows: list[dict[str, str]]) -> None:
    assert alias_rows, "aliases.csv is empty"
    assert list(alias_rows[0]) == ["category", "alias", "lang"]
    codes = set(load_catalog().category_codes)
    for row in alias_rows:
        assert row["category"] in codes, row
        assert row["alias"] == row["alias"].strip() and row["alias"], row
        has_chinese = bool(re.search(r"[\u4e00-\u9fff]", row["alias"]))
        assert row["lang"] == ("zh" if has_chinese else "en"), row


def test_every_category_has_chinese_and_english_aliases(
    alias_rows: list[dict[str, str]],
) -> None:
    langs: dict[str, set[str]] = defaultdict(set)
    for row in alias_rows:
        langs[row["category"]].add(row["lang"])
    missing = {code: sorted(v) for code, v in langs.items() if v != {"zh", "en"}}
    assert not missing
    assert set(langs) == set(load_catalog().category_codes)


def test_no_alias_maps_to_two_categories(alias_rows: list[dict[str, str]]) -> None:
    # Compared after normalisation, because that is what the matcher sees: 'CNC' and 'cnc'
    # are the same alias.
    owners: dict[str, set[str]] = defaultdict(set)
    for row in alias_rows:
        owners[normalise(row["alias"])].add(row["category"])
    clashes = {alias: sorted(cats) for alias, cats in owners.items() if len(cats) > 1}
    assert not clashes


def test_no_duplicate_alias_rows(alias_rows: list[dict[str, str]]) -> None:
    seen = [normalise(r["alias"]) for r in alias_rows]
    duplicates = sorted({a for a in seen if seen.count(a) > 1})
    assert not duplicates


def test_aliases_survive_normalisation(alias_rows: list[dict[str, str]]) -> None:
    # An alias with digits or a power figure would be cut by the model-number stripping.
    for row in alias_rows:
        assert not re.search(r"\d", row["alias"]), row
        assert normalise(row["alias"]), row


def test_category_names_do_not_clash_with_other_aliases() -> None:
    catalog = load_catalog()
    owner = {normalise(a): c.code for c in catalog.categories.values() for a in c.aliases}
    for cat in catalog.categories.values():
        for name in (cat.code, cat.name_zh, cat.name_en):
            assert owner.get(normalise(name), cat.code) == cat.code, (cat.code, name)


def test_catalog_version_is_stable() -> None:
    first = load_catalog()
    load_catalog.cache_clear()
    try:
        second = load_catalog()
    finally:
        load_catalog.cache_clear()
    assert re.fullmatch(r"[0-9a-f]{12}", first.version)
    assert second.version == first.version
    assert second is not first
    assert load_catalog() is load_catalog()
