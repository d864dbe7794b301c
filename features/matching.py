"""Match free-text equipment names to catalog category codes.

Customers write their equipment lists (用电设备清单) in free text, e.g. ``数控车床 CK6140
7.5kW`` or ``screw air compressor``. :class:`NameMatcher` turns such a name into one of the
contract's category codes with a confidence and a plain-English reason, and reads a rated
power out of the text when there is one.

Matching, in order:

1. the text is exactly a category code, or its normalised form is exactly an alias or a
   category name: confidence 1.0;
2. aliases contained in the text: the longest wins (confidence 0.80-0.95, longer = higher).
   A short alias inside a longer matched one is ignored (``焊机`` inside ``点焊机``); a
   catch-all category (other motors, other heating) loses to a specific one named beside
   it (``水泵电机`` is a pump); two categories matched equally well lower the confidence;
3. typos in Latin-script words: a word one edit away from an alias word (``compresor``)
   is read as that word and step 1 or 2 is tried again; confidence at most 0.78 times the
   difflib similarity of the corrected word;
4. otherwise, or below the threshold, no category.

Two rules follow the alias: a pump whose name says 消防, 消火栓, 喷淋, fire, sprinkler or
hydrant is a fire pump; a charger that does not say AC or DC (``充电桩``) is DC when its
rated power is above what an AC charger delivers.

Normalisation (NFKC, lower case, punctuation to spaces) also removes model numbers such as
``CK6140`` or ``ZW-3/7`` and figures such as ``7.5kW`` or ``10t``, so that they can neither
match nor block an alias.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from features.catalog import Catalog, Category, Industry, load_catalog
from features.figures import STANDBY_MARKERS, LineFigures, parse_line

__all__ = ["STANDBY_MARKERS", "LineFigures", "MatchResult", "NameMatcher", "parse_power_kw"]

MatchMethod = Literal["code", "exact", "contained", "fuzzy", "none"]
MatchKind = Literal["category", "industry"]
"""What a matcher resolves: equipment categories or industries (same machinery, own aliases)."""

DEFAULT_THRESHOLD = 0.5
"""Results below this confidence carry no category."""

GENERIC_CATEGORIES: frozenset[str] = frozenset({"other_motor", "other_heating"})
"""Catch-all categories: a specific category named in the same text wins over them."""

FIRE_MARKERS: tuple[str, ...] = ("消防", "消火栓", "喷淋", "fire", "sprinkler", "hydrant")
"""Words that make any pump a fire pump (standby, Kx 0), e.g. ``消防循环水泵``."""


BROAD_INDUSTRY_WORDS: tuple[str, ...] = (
    "工厂",
    "厂",
    "厂房",
    "车间",
    "企业",
    "公司",
    "factory",
    "plant",
    "workshop",
    "company",
)
"""Industry words that name no trade ('工厂' could be any manufacturing): their match is a
guess (confidence :data:`BROAD_CONFIDENCE`), shown as one, never as recognised."""

GUESS_BELOW = 0.8
"""A match below this confidence is a guess (a tie between two aliases, a typo corrected,
a broad word such as 工厂): the answer's ``guess`` field and the page say so, never ✓. A
clean containment of the shortest alias scores 0.80 (``_CONTAINED_MIN``)."""


def is_guess(confidence: float) -> bool:
    """Whether a match of this confidence is a guess (see :data:`GUESS_BELOW`)."""
    return confidence < GUESS_BELOW


BROAD_CONFIDENCE = 0.6
"""Confidence of an industry read from a broad word: above the threshold (the request is
answered) but below 1, so the page and the answer say it was guessed."""

TYPE_NEUTRAL_CHARGER_ALIASES: tuple[str, ...] = (
    "充电桩",
    "汽车充电桩",
    "充电站",
    "charging pile",
    "ev charger",
    "charging station",
)
"""``ev_charger_ac`` aliases that do not say AC or DC; the rated power decides."""

AC_CHARGER_MAX_KW = 22.0
"""A three-phase AC charging point (380 V, 32 A) delivers about 22 kW; above that it is DC."""

_CONTAINED_MIN = 0.80
_CONTAINED_MAX = 0.95
_AMBIGUITY_FACTOR = 0.8
_FUZZY_SCALE = 0.78
_FUZZY_MIN_WORD_CHARS = 4
_CACHE_SIZE = 10_000

# A power figure: the number and its unit. The look-behind keeps the digits of a model
# number such as 'CK6140kW' from being read as a power.
_POWER_RE = re.compile(r"(?<![0-9.a-z])(\d+(?:\.\d+)?)\s*(kw|千瓦|hp|马力|匹|w|瓦)(?![a-z])")
_POWER_FACTORS_KW = {
    "kw": 1.0,
    "千瓦": 1.0,
    "w": 0.001,
    "瓦": 0.001,
    "hp": 0.7457,
    "马力": 0.7355,
    "匹": 0.7355,
}
# Quantities written with a Chinese unit ('10吨', '3台') say nothing about the category.
_CJK_QUANTITY_RE = re.compile(r"\d+(?:\.\d+)?\s*(?:千伏安|吨|台|套|只|个|米|伏|安|升|立方)")
# An ASCII run, with joiners, that contains a digit is a model number or a figure:
# 'ck6140', 'zw-3/7', 'y2-132m-4', '10t', '380v'.
_ASCII_RUN_RE = re.compile(r"[a-z0-9]+(?:[-/._*×+#][a-z0-9]+)*")
_NON_WORD_RE = re.compile(r"[\W_]+")
_SPACE_AROUND_WIDE_RE = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")
_LATIN_WORD_RE = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class MatchResult:
    """The outcome of matching one free-text equipment name.

    Attributes
    ----------
    text
        The input text, unchanged.
    category
        The matched category code, or None when nothing matched well enough.
    confidence
        In [0, 1]; 1.0 for an exact code or alias.
    matched_alias
        The catalog alias (as written in the catalog) that decided the match, or None.
    rated_kw_hint
        A rated power in kW read from the text ('7.5kW', '7.5 KW', '7.5千瓦', '750W'),
        or None.
    reason
        Plain-English explanation of the result.
    method
        How the result was reached: code, exact, contained, fuzzy or none.
    figures
        Everything read from the text (power, unit, count, standby, notes), from
        :func:`features.figures.parse_line`; a kVA figure is turned into kW with the
        matched category's power factor (and ``rated_kw_hint`` is that kW).
    """

    text: str
    category: str | None
    confidence: float
    matched_alias: str | None
    rated_kw_hint: float | None
    reason: str
    method: MatchMethod = "none"
    figures: LineFigures | None = None


@dataclass(frozen=True)
class _Alias:
    norm: str
    original: str
    category: str
    weight: int
    ascii_start: bool
    ascii_end: bool


@dataclass(frozen=True)
class _Hit:
    alias: _Alias
    start: int
    end: int

    @property
    def specific(self) -> bool:
        return self.alias.category not in GENERIC_CATEGORIES

    def rank(self) -> tuple[bool, int, int]:
        # Specific before catch-all, then longer, then later in the text: Chinese and
        # English compounds put the head noun last ('空调水泵' is a pump).
        return (self.specific, self.alias.weight, self.end)


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _weight(text: str) -> int:
    # A Chinese character carries about as much as two Latin letters.
    return sum(1 if ch.isascii() else 2 for ch in text if not ch.isspace())


def parse_power_kw(text: str) -> float | None:
    """The rated power written in ``text``, in kW, or None.

    A thin view of :func:`features.figures.parse_line` (which reads units, ranges, counts
    and standby too): kW, 千瓦, W, 瓦, MW, hp (0.7457 kW), 马力/匹 (0.7355 kW). A kVA figure
    is not a kW figure without a power factor: None here.

    Parameters
    ----------
    text
        Free text such as ``'数控车床 CK6140 7.5kW'``.

    Returns
    -------
    float or None
        The power in kW, or None when the text holds no positive power figure.
    """
    return parse_line(text).rated_kw


def normalise(text: str) -> str:
    """Normalise a name for matching.

    NFKC (full-width letters and digits to ASCII), lower case, power figures, quantities
    and model numbers removed, punctuation to spaces, no spaces next to Chinese characters,
    single spaces between Latin words.

    Parameters
    ----------
    text
        A free-text equipment name or an alias.

    Returns
    -------
    str
        The normalised text; empty when nothing but figures was written.
    """
    s = unicodedata.normalize("NFKC", text).lower()
    s = _POWER_RE.sub(" ", s)
    s = _CJK_QUANTITY_RE.sub(" ", s)
    s = _ASCII_RUN_RE.sub(lambda m: " " if any(c.isdigit() for c in m.group(0)) else m.group(0), s)
    s = _NON_WORD_RE.sub(" ", s)
    s = _SPACE_AROUND_WIDE_RE.sub("", s)
    return " ".join(s.split())


def _match_end(text: str, start: int, alias: _Alias) -> int:
    """End of ``alias`` found at ``start`` if it sits on word boundaries, else -1.

    Latin-script edges must not cut a word ('ct' is not inside 'electric'); an English
    plural 's' or 'es' is allowed after the alias.
    """
    if alias.ascii_start and start > 0 and _is_ascii_alnum(text[start - 1]):
        return -1
    end = start + len(alias.norm)
    if not alias.ascii_end or end == len(text) or not _is_ascii_alnum(text[end]):
        return end
    for suffix in ("s", "es"):
        stop = end + len(suffix)
        if text.startswith(suffix, end) and (stop == len(text) or not _is_ascii_alnum(text[stop])):
            return stop
    return -1


def _deletions(word: str) -> set[str]:
    """``word`` and every string made by deleting one of its letters."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _contains_word(text: str, needle: str) -> bool:
    probe = _Alias(needle, needle, "", 0, needle[0].isascii(), needle[-1].isascii())
    start = text.find(needle)
    while start >= 0:
        if _match_end(text, start, probe) >= 0:
            return True
        start = text.find(needle, start + 1)
    return False


def _pick(hits: list[_Hit]) -> tuple[_Alias, bool, str]:
    """The deciding alias among contained hits, whether it was a tie, and a note why."""
    best_per_category: dict[str, _Hit] = {}
    for h in hits:
        current = best_per_category.get(h.alias.category)
        if current is None or h.rank() > current.rank():
            best_per_category[h.alias.category] = h
    ranked = sorted(best_per_category.values(), key=_Hit.rank, reverse=True)
    best = ranked[0]
    rival = ranked[1] if len(ranked) > 1 else None
    if rival is None:
        return best.alias, False, ""
    if rival.rank()[:2] == best.rank()[:2]:
        return (
            best.alias,
            True,
            f"; '{rival.alias.original}' ({rival.alias.category}) matched equally well, "
            "chose the one written last",
        )
    if rival.specific != best.specific:
        return (
            best.alias,
            False,
            f"; '{rival.alias.original}' ({rival.alias.category}) is a catch-all category, "
            "the specific one wins",
        )
    return (
        best.alias,
        False,
        f"; preferred over the shorter '{rival.alias.original}' ({rival.alias.category})",
    )


class NameMatcher:
    """Match free-text equipment names to category codes.

    Parameters
    ----------
    catalog
        The catalog whose aliases, codes and names are matched; ``load_catalog()`` when
        omitted.
    threshold
        Results with a confidence below this carry no category (default 0.5).
    kind
        ``"category"`` (default): equipment names to category codes, with the fire-pump
        and charger rules. ``"industry"``: industry words (机加工, 写字楼, IDC…) to
        industry codes, from the industries' names and ``industry_aliases.csv``; the
        result's ``category`` field then holds the industry code.

    Raises
    ------
    ValueError
        If ``threshold`` is outside [0, 1].
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        kind: MatchKind = "category",
    ):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1; received {threshold!r}")
        if kind not in ("category", "industry"):
            raise ValueError(f"kind must be 'category' or 'industry'; received {kind!r}")
        self.catalog = catalog if catalog is not None else load_catalog()
        self.threshold = float(threshold)
        self.kind = kind
        # Industries include the 其他 entry: a word for a trade the list lacks (住宅小区,
        # 加油站) leads there, not to the nearest-looking listed industry.
        entries: tuple[Category | Industry, ...] = (
            tuple(self.catalog.categories.values())
            if kind == "category"
            else (*self.catalog.industries.values(), self.catalog.not_listed)
        )
        self._codes = frozenset(e.code for e in entries)
        self._exact: dict[str, _Alias] = {}
        for cat in entries:
            # Catalog aliases first, so that they decide any clash with a category name.
            for written in (*cat.aliases, cat.code, cat.name_zh, cat.name_en):
                norm = normalise(written)
                if norm and norm not in self._exact:
                    self._exact[norm] = _Alias(
                        norm=norm,
                        original=written,
                        category=cat.code,
                        weight=_weight(norm),
                        ascii_start=norm[0].isascii(),
                        ascii_end=norm[-1].isascii(),
                    )
        # Aliases indexed by their first two characters (one for one-character aliases),
        # so the scan of a name only tries the few aliases that can start at each position.
        by_prefix: dict[str, list[_Alias]] = {}
        for alias in sorted(self._exact.values(), key=lambda a: -len(a.norm)):
            by_prefix.setdefault(alias.norm[:2], []).append(alias)
        self._by_prefix = by_prefix
        # Typo index: every alias word and each of its one-letter deletions point back to
        # the word. Two words one edit apart (insertion, deletion, substitution or swap of
        # neighbours) share a key, so a typo is found with a few dictionary look-ups
        # instead of a similarity computed against every alias.
        vocabulary = {
            w
            for norm in self._exact
            for w in _LATIN_WORD_RE.findall(norm)
            if len(w) >= _FUZZY_MIN_WORD_CHARS
        }
        typo_index: dict[str, set[str]] = {}
        for word in vocabulary:
            for key in _deletions(word):
                typo_index.setdefault(key, set()).add(word)
        self._vocabulary = frozenset(vocabulary)
        self._typo_index = typo_index
        self._corrections: dict[str, tuple[str, float] | None] = {}
        # The fire-pump and charger rules are about equipment, not industries.
        self._neutral_chargers = (
            frozenset(normalise(a) for a in TYPE_NEUTRAL_CHARGER_ALIASES)
            if kind == "category"
            else frozenset()
        )
        self._broad = (
            frozenset(normalise(w) for w in BROAD_INDUSTRY_WORDS)
            if kind == "industry"
            else frozenset()
        )
        self._cache: dict[tuple[str, float | None], MatchResult] = {}

    def match(self, text: str, *, rated_kw: float | None = None) -> MatchResult:
        """Match one free-text name.

        Parameters
        ----------
        text
            The name as the customer wrote it.
        rated_kw
            The line's rated power, if known from elsewhere; it only settles whether a
            charger that does not say AC or DC is one or the other. The power written in
            the text is used when this is None.

        Returns
        -------
        MatchResult
            Category (or None), confidence, alias, power hint and reason.

        Raises
        ------
        TypeError
            If ``text`` is not a string.
        """
        if not isinstance(text, str):
            raise TypeError(f"match() expects the name as a str; received {type(text).__name__}")
        key = (text, rated_kw)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._match(text, rated_kw)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def match_many(
        self, texts: Iterable[str], rated_kw: Sequence[float | None] | None = None
    ) -> list[MatchResult]:
        """Match several names; see :meth:`match`.

        Parameters
        ----------
        texts
            The names.
        rated_kw
            Optional rated powers, one per name (None where unknown).

        Returns
        -------
        list of MatchResult
            One result per name, in order.

        Raises
        ------
        ValueError
            If ``rated_kw`` is given with a different length from ``texts``.
        """
        names = list(texts)
        if rated_kw is None:
            return [self.match(t) for t in names]
        if len(rated_kw) != len(names):
            raise ValueError(
                f"rated_kw must have one value per name: received {len(rated_kw)} values "
                f"for {len(names)} names"
            )
        return [self.match(t, rated_kw=p) for t, p in zip(names, rated_kw, strict=True)]

    def candidates(self, text: str, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` codes most like ``text``, best first, with a similarity in [0, 1].

        For a name that matched nothing (the page offers these as guesses): codes whose
        aliases are contained in the text first, then by the best character similarity
        (difflib ratio) of the normalised text to any of the code's aliases or names.

        Parameters
        ----------
        text
            The name as written.
        n
            How many codes to return (at most).

        Returns
        -------
        list of (code, similarity)
            Up to ``n`` distinct codes; empty when nothing of the text is left after
            normalisation.
        """
        norm = normalise(text)
        if not norm or n <= 0:
            return []
        best: dict[str, float] = {}
        for hit in self._contained(norm):
            score = 0.9 if hit.specific else 0.6
            best[hit.alias.category] = max(best.get(hit.alias.category, 0.0), score)
        chars = set(norm)
        for alias in self._exact.values():
            if not chars & set(alias.norm):
                continue
            ratio = difflib.SequenceMatcher(None, norm, alias.norm).ratio() * 0.85
            if ratio > best.get(alias.category, 0.0):
                best[alias.category] = ratio
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(code, round(score, 4)) for code, score in ranked[:n]]

    def _match(self, text: str, rated_kw: float | None) -> MatchResult:
        figures = parse_line(text)
        hint = figures.rated_kw
        raw = text.strip().lower()
        if raw in self._codes:
            return self._with_figures(
                MatchResult(text, raw, 1.0, raw, hint, f"exact category code '{raw}'", "code"),
                figures,
            )
        norm = normalise(text)
        if not norm:
            what = "empty text" if not raw else f"nothing left of '{text}'"
            return MatchResult(
                text,
                None,
                0.0,
                None,
                hint,
                f"cannot match: {what} after removing model numbers and figures",
                "none",
            )
        # A stated power decides AC/DC-type choices: the line's rating, else the power
        # written in the text (kW, or kVA at unity: a charger's factor is about 1).
        power = rated_kw if rated_kw is not None else figures.power_for_type
        exact = self._exact.get(norm)
        if exact is not None:
            reason = f"exact alias '{exact.original}'"
            result = self._finish(text, exact, 1.0, "exact", reason, hint, power, norm)
        else:
            hits = self._contained(norm)
            if hits:
                result = self._from_hits(text, norm, hits, hint, power)
            else:
                result = self._fuzzy(text, norm, hint, power)
        return self._with_figures(result, figures)

    def _with_figures(self, result: MatchResult, figures: LineFigures) -> MatchResult:
        """``result`` carrying the line's figures, a kVA turned into kW by its category."""
        cat = (
            self.catalog.categories.get(result.category)
            if self.kind == "category" and result.category
            else None
        )
        if cat is not None:
            figures = figures.with_power_factor(cat.cos_phi)
        hint = figures.rated_kw if figures.rated_kw is not None else result.rated_kw_hint
        return replace(result, figures=figures, rated_kw_hint=hint)

    def _contained(self, norm: str) -> list[_Hit]:
        hits = []
        index = self._by_prefix
        last = len(norm) - 1
        for i in range(len(norm)):
            singles = index.get(norm[i], ())
            pairs = index.get(norm[i : i + 2], ()) if i < last else ()
            for alias in (*singles, *pairs):
                if norm.startswith(alias.norm, i):
                    end = _match_end(norm, i, alias)
                    if end >= 0:
                        hits.append(_Hit(alias, i, end))
        # An alias inside a longer matched alias is part of that one ('焊机' in '点焊机').
        return [
            h
            for h in hits
            if not any(
                g.start <= h.start and h.end <= g.end and g.end - g.start > h.end - h.start
                for g in hits
            )
        ]

    def _from_hits(
        self, text: str, norm: str, hits: list[_Hit], hint: float | None, power: float | None
    ) -> MatchResult:
        alias, ambiguous, note = _pick(hits)
        span = min(1.0, max(0.0, (alias.weight - 2) / 8))
        confidence = _CONTAINED_MIN + (_CONTAINED_MAX - _CONTAINED_MIN) * span
        if ambiguous:
            confidence *= _AMBIGUITY_FACTOR
        reason = f"matched alias '{alias.original}'{note}"
        return self._finish(text, alias, confidence, "contained", reason, hint, power, norm)

    def _correct(self, word: str) -> tuple[str, float] | None:
        """The alias word one typo away from ``word`` and its similarity, or None."""
        if word in self._corrections:
            return self._corrections[word]
        candidates: set[str] = set()
        for key in _deletions(word):
            candidates |= self._typo_index.get(key, set())
        found = None
        if candidates:
            scored = [(difflib.SequenceMatcher(None, word, c).ratio(), c) for c in candidates]
            ratio, best = max(scored, key=lambda rc: (rc[0], rc[1]))
            found = (best, ratio)
        if len(self._corrections) >= _CACHE_SIZE:
            self._corrections.clear()
        self._corrections[word] = found
        return found

    def _fuzzy(self, text: str, norm: str, hint: float | None, power: float | None) -> MatchResult:
        corrected: dict[str, tuple[str, float]] = {}
        for word in set(_LATIN_WORD_RE.findall(norm)):
            if len(word) >= _FUZZY_MIN_WORD_CHARS and word not in self._vocabulary:
                fix = self._correct(word)
                if fix is not None:
                    corrected[word] = fix
        if not corrected:
            scope = (
                "no Latin-script word is one typo away from an alias word"
                if _LATIN_WORD_RE.search(norm)
                else "fuzzy matching covers Latin-script words only"
            )
            reason = f"cannot match: no alias is contained in '{norm}' and {scope}"
            return MatchResult(text, None, 0.0, None, hint, reason, "none")
        fixed = _LATIN_WORD_RE.sub(
            lambda m: corrected[m.group(0)][0] if m.group(0) in corrected else m.group(0), norm
        )
        fixes = ", ".join(f"'{w}' read as '{c}'" for w, (c, _) in sorted(corrected.items()))
        similarity = min(r for _, r in corrected.values())
        exact = self._exact.get(fixed)
        if exact is not None:
            alias, ambiguous, note = exact, False, ""
        else:
            hits = self._contained(fixed)
            if not hits:
                reason = (
                    f"cannot match: no alias is contained in '{norm}', nor after correcting "
                    f"typos ({fixes})"
                )
                return MatchResult(text, None, 0.0, None, hint, reason, "none")
            alias, ambiguous, note = _pick(hits)
        confidence = _FUZZY_SCALE * similarity * (_AMBIGUITY_FACTOR if ambiguous else 1.0)
        reason = (
            f"no alias contained; after correcting typos ({fixes}, similarity {similarity:.2f}) "
            f"matched alias '{alias.original}'{note}"
        )
        return self._finish(text, alias, confidence, "fuzzy", reason, hint, power, fixed)

    def _finish(
        self,
        text: str,
        alias: _Alias,
        confidence: float,
        method: MatchMethod,
        reason: str,
        hint: float | None,
        power: float | None,
        norm: str,
    ) -> MatchResult:
        category = alias.category
        if category == "pump" and self.kind == "category":
            marker = next((m for m in FIRE_MARKERS if _contains_word(norm, m)), None)
            if marker is not None:
                category = "fire_pump"
                reason += f"; '{marker}' makes it a fire pump"
        if alias.norm in self._neutral_chargers:
            if power is None:
                confidence *= _AMBIGUITY_FACTOR
                reason += "; AC or DC not stated and no power given, assumed AC"
            elif power > AC_CHARGER_MAX_KW:
                category = "ev_charger_dc"
                reason += f"; {power:g} kW is above the {AC_CHARGER_MAX_KW:g} kW of an AC charger"
            else:
                reason += f"; {power:g} kW is within what an AC charger delivers"
        if self.kind == "industry" and alias.norm in self._broad:
            confidence = min(confidence, BROAD_CONFIDENCE)
            reason += f"; '{alias.original}' names no trade: a guess, confirm the industry"
        confidence = round(min(1.0, max(0.0, confidence)), 4)
        if confidence < self.threshold:
            return MatchResult(
                text,
                None,
                confidence,
                None,
                hint,
                f"cannot match: best candidate {category} ({reason}) has confidence "
                f"{confidence:.2f}, below the threshold {self.threshold:.2f}",
                "none",
            )
        return MatchResult(text, category, confidence, alias.original, hint, reason, method)


@lru_cache(maxsize=1)
def default_matcher() -> NameMatcher:
    """The matcher over the packaged catalog (built on first call, then cached)."""
    return NameMatcher(load_catalog())


@lru_cache(maxsize=1)
def industry_matcher() -> NameMatcher:
    """The industry matcher over the packaged catalog (built on first call, then cached)."""
    return NameMatcher(load_catalog(), kind="industry")
