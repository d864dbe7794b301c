"""Industries by the words people use (features/data/industry_aliases.csv)."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import pytest

from features.catalog import OTHER_INDUSTRY, load_catalog
from features.matching import NameMatcher, industry_matcher, normalise
from features.schemas import Application
from serving.web.app import NEXT_STEPS_DEFAULT, next_steps


def _contract_industries() -> Path | None:
    """The shared contract's industries.csv (``../shared/contract`` of a checkout), if any.

    Derived from this file's place, not written as one machine's path: the first
    ``shared/contract/industries.csv`` found beside the repository or one of its parents
    (a worktree sits deeper than the main checkout).
    """
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "contract" / "industries.csv"
        if candidate.is_file():
            return candidate
    return None


CONTRACT_INDUSTRIES = _contract_industries()


def test_the_catalog_has_the_contracts_industries() -> None:
    if CONTRACT_INDUSTRIES is None:
        pytest.skip("no shared/contract/industries.csv beside this checkout")
    with CONTRACT_INDUSTRIES.open(encoding="utf-8") as fh:
        contract = {r["code"]: (r["name_zh"], r["name_en"]) for r in csv.DictReader(fh)}
    catalog = resources.files("features").joinpath("data", "industries.csv")
    with catalog.open(encoding="utf-8") as fh:
        ours = {r["code"]: (r["name_zh"], r["name_en"]) for r in csv.DictReader(fh)}
    assert ours == contract


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    path = resources.files("features").joinpath("data", "industry_aliases.csv")
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_industry_has_ten_words_in_each_language(rows: list[dict[str, str]]) -> None:
    # Every listed industry, and the 其他 path (住宅小区, 加油站: no listed trade fits).
    codes = {*load_catalog().industry_codes, OTHER_INDUSTRY}
    assert {r["industry"] for r in rows} == codes
    for code in codes:
        for lang in ("zh", "en"):
            words = [r["alias"] for r in rows if r["industry"] == code and r["lang"] == lang]
            assert len(words) >= 10, (code, lang, words)


def test_every_word_reads_as_its_own_industry(rows: list[dict[str, str]]) -> None:
    m = industry_matcher()
    wrong = [
        (r["alias"], r["industry"], m.match(r["alias"]).category)
        for r in rows
        if m.match(r["alias"]).category != r["industry"]
    ]
    assert wrong == []


def test_no_word_names_two_industries(rows: list[dict[str, str]]) -> None:
    seen: dict[str, str] = {}
    for r in rows:
        key = normalise(r["alias"])
        assert seen.setdefault(key, r["industry"]) == r["industry"], r


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("机械加工厂", "machinery"),
        ("一家五金加工厂", "machinery"),
        ("连锁火锅店", "restaurant"),
        ("商务宾馆", "hotel"),
        ("frozen storage warehouse", "cold_storage"),
        ("Machinary", "machinery"),  # a typo of a code
    ],
)
def test_words_inside_longer_names_and_typos(word: str, code: str) -> None:
    assert industry_matcher().match(word).category == code


def test_the_api_reads_a_word_and_remembers_it() -> None:
    app = Application.model_validate({"industry": "冷库", "floor_area_m2": 100.0})
    assert (app.industry, app.industry_text) == ("cold_storage", "冷库")
    coded = Application.model_validate({"industry": "cold_storage"})
    assert coded.industry_text == "cold_storage"


def test_an_unknown_word_is_refused_with_a_code() -> None:
    with pytest.raises(Exception) as exc:
        Application.model_validate({"industry": "完全不知道"})
    assert "unknown_industry" in str(exc.value)


def test_the_category_matcher_is_not_confused_by_industry_words() -> None:
    # The same machinery, separate vocabularies: 冷库 is an industry, not a category.
    assert NameMatcher(kind="category").match("写字楼").category is None
    with pytest.raises(ValueError, match="kind"):
        NameMatcher(kind="place")  # type: ignore[arg-type]


def test_next_steps_default_and_a_utility_file(tmp_path: Path) -> None:
    default = next_steps(NEXT_STEPS_DEFAULT)
    assert default.zh.bring and default.en.utility
    assert "{kva}" in default.zh.apply
    own = json.loads(NEXT_STEPS_DEFAULT.read_text(encoding="utf-8"))
    own["zh"]["title"] = "办理流程"
    path = tmp_path / "steps.json"
    path.write_text(json.dumps(own, ensure_ascii=False), encoding="utf-8")
    assert next_steps(path).zh.title == "办理流程"
    del own["en"]
    path.write_text(json.dumps(own), encoding="utf-8")
    with pytest.raises(ValueError, match="steps.json.*'zh' and 'en'"):
        next_steps(path)
