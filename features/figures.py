"""The figures of one equipment line, read once from the text as people write it.

A line such as ``空压机 37kW 2台（备用1台）`` or ``充电桩, 120 kW × 10`` carries the rated
power, its unit, a count and a standby mark beside the name. :func:`parse_line` reads them
once, here, and every caller uses the result: the name matcher (a stated power decides
AC or DC, :mod:`features.matching`), the live suggestion of the page and its paste
importer (through ``/api/match``), the batch page and the API.

What is understood (text folded with NFKC and lower-cased first):

* power: ``kW``/``千瓦``/``kilowatt``, ``W``/``瓦``/``watt``, ``MW``, ``HP`` (0.7457 kW),
  ``马力``/``匹`` (metric, 0.7355 kW), and apparent power ``kVA``/``千伏安``/``VA``, which
  becomes kW only with the category's power factor (:meth:`LineFigures.with_power_factor`,
  and the note says which factor was used);
* a bare number after ``功率`` (``功率7.5``) is read as kW and the note says so;
* ranges ``5.5~7.5kW``, ``5.5-7.5 kW``, ``5.5至7.5千瓦``: the larger figure is used (a
  connection sized for the smaller one would be undersized), the note says so;
* sums ``7.5+1.5kW`` or ``7.5kW+1.5kW`` (the motors of one machine): added up;
* counts: ``2台``/``套``/``个``/``只``/``组``/``把``/``部``/``根``/``盏``/``樘``/``辆``/``架``,
  ``pcs``/``sets``/``units``, ``× 10``/``x10``/``*10``, ``2×15kW``, ``数量 3``, ``qty 3``,
  small Chinese numerals (``两台``, ``十二台``);
* a total: ``总功率 60kW`` with ``10台`` is 6 kW a unit;
* standby anywhere in the line (``备用``, ``备机``, ``spare``…), and ``N用M备`` (``一用一备``):
  N + M units of which M are standby.

Figures that describe the size but not the power (``10t``, ``120吨``, ``380V``, ``50Hz``,
model numbers such as ``CK6140`` or ``Y2-132M-4``) are not read as a power.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

STANDBY_MARKERS: tuple[str, ...] = (
    "备用",
    "备机",
    "冷备",
    "热备",
    "后备",
    "standby",
    "stand-by",
    "spare",
    "backup",
    "reserve",
)
"""Words that mark an installed spare (the page ticks 'standby')."""

_KW_PER_UNIT: dict[str, float] = {
    "kw": 1.0,
    "kilowatts": 1.0,
    "kilowatt": 1.0,
    "千瓦": 1.0,
    "mw": 1000.0,
    "w": 0.001,
    "watts": 0.001,
    "watt": 0.001,
    "瓦": 0.001,
    "hp": 0.7457,
    "马力": 0.7355,
    "匹": 0.7355,
}
_KVA_PER_UNIT: dict[str, float] = {"kva": 1.0, "千伏安": 1.0, "va": 0.001, "mva": 1000.0}
_UNIT_LABEL = {
    "kw": "kW",
    "kilowatts": "kW",
    "kilowatt": "kW",
    "千瓦": "kW",
    "mw": "MW",
    "w": "W",
    "watts": "W",
    "watt": "W",
    "瓦": "W",
    "hp": "HP",
    "马力": "马力",
    "匹": "匹",
    "kva": "kVA",
    "千伏安": "kVA",
    "va": "VA",
    "mva": "MVA",
}
_UNITS = sorted([*_KW_PER_UNIT, *_KVA_PER_UNIT], key=len, reverse=True)
_UNIT_ALT = "|".join(re.escape(u) for u in _UNITS)
_NUM = r"\d+(?:\.\d+)?"
_RANGE_SEP = r"\s*(?:~|～|-|–|—|至|到|to)\s*"
_TIMES = r"\s*[×x*✕]\s*"
_COUNT_WORDS = (
    r"台|套|个|只|组|把|部|根|盏|樘|辆|架|块|面|路|条|支|pcs|pc|sets|set|units|unit|nos|no"
)

# One power figure: an optional sum or range before the unit. The look-behind keeps the
# digits of a model number ('CK6140kW', 'Y2-132M') from being read as a power.
_POWER_RE = re.compile(
    rf"(?<![0-9.a-z])(?P<a>{_NUM})(?:(?P<sep>{_RANGE_SEP}|\s*\+\s*)(?P<b>{_NUM}))?"
    rf"\s*(?P<unit>{_UNIT_ALT})(?![a-z])"
)
# Units on both figures: '7.5kW+1.5kW', '5.5kW~7.5kW'.
_POWER_PAIR_RE = re.compile(
    rf"(?<![0-9.a-z])(?P<a>{_NUM})\s*(?P<ua>{_UNIT_ALT})(?P<sep>{_RANGE_SEP}|\s*\+\s*)"
    rf"(?P<b>{_NUM})\s*(?P<ub>{_UNIT_ALT})(?![a-z])"
)
_BARE_POWER_RE = re.compile(rf"(?:功率|power)\s*[:：=]?\s*(?P<a>{_NUM})(?![0-9.]|\s*[a-z%])")
_TOTAL_RE = re.compile(r"(总功率|总容量|合计|总计|共计|总|total)\s*[:：=]?\s*$")
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_NUM = r"[零一二两三四五六七八九十百]+"
_COUNT_RE = re.compile(rf"(?<![0-9.a-z])(?P<n>\d+|{_CN_NUM})\s*(?:{_COUNT_WORDS})(?![a-z])")
# '× 10' after a power or a gap, never inside a model number ('BX1-500', 'QC12Y-6×2500').
# A Latin 'x' directly before digits after a gap is a model number ('X6132').
_TIMES_AFTER_RE = re.compile(
    r"(?:(?:(?<=kw)|(?<=kva)|(?<=hp)|(?<=w)|(?<=[瓦匹力]))\s*[×x*✕]\s*|(?<=[\s,)])(?:[×*✕]\s*|x\s+))"
    r"(?P<n>\d{1,4})(?![0-9.a-z])"
)
_TIMES_BEFORE_RE = re.compile(rf"(?<![0-9.a-z])(?P<n>\d+){_TIMES}(?={_NUM}\s*(?:{_UNIT_ALT}))")
_QTY_WORD_RE = re.compile(r"(?:数量|台数|qty|quantity|count)\s*[:：=]?\s*(?P<n>\d+)")
_DUTY_RE = re.compile(rf"(?:(?P<n>{_CN_NUM}|\d+)\s*用\s*(?P<m>{_CN_NUM}|\d+)\s*备)")
_VAGUE_COUNT = ("若干", "一批", "several", "various")
_TONNAGE_RE = re.compile(rf"(?<![0-9.a-z])(?P<v>{_NUM})\s*(?:t|吨|ton|tons)(?![a-z])")


def _cn_number(text: str) -> int | None:
    """'两' → 2, '十二' → 12, '二十' → 20, '3' → 3; None when not a small number."""
    if text.isdigit():
        return int(text)
    if "百" in text:
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS.get(tens, 0) if tens else 1
        o = _CN_DIGITS.get(ones, 0) if ones else 0
        if (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
            return None
        return t * 10 + o
    if len(text) == 1 and text in _CN_DIGITS:
        return _CN_DIGITS[text]
    return None


@dataclass(frozen=True)
class Note:
    """One thing read or inferred from the line: a message code and its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The note as a JSON-ready mapping."""
        return {"code": self.code, "params": dict(self.params)}


@dataclass(frozen=True)
class LineFigures:
    """The figures of one line.

    Attributes
    ----------
    text
        The line as written.
    rated_kw
        Rated power of ONE unit in kW, or None (none written, or only kVA written and no
        power factor applied yet).
    kva
        Apparent power of one unit when the line states kVA/VA, else None.
    power_factor
        The factor that turned ``kva`` into ``rated_kw``, when it did.
    unit
        The unit as written (``kW``, ``W``, ``kVA``, ``HP``, ``马力``…), or None.
    written
        The power figure as written (``'5.5~7.5kW'``), or None.
    quantity
        The number of units stated, or None.
    standby
        Whether the line marks the units (or some of them) as standby.
    standby_quantity
        How many of ``quantity`` are standby when the line says so (``一用一备``: 1).
    size_t
        A tonnage (``10t``, ``120吨``) that sizes a crane or a press, not a power.
    notes
        What was read or inferred, as message codes with parameters.
    """

    text: str
    rated_kw: float | None = None
    kva: float | None = None
    power_factor: float | None = None
    unit: str | None = None
    written: str | None = None
    quantity: int | None = None
    standby: bool = False
    standby_quantity: int | None = None
    size_t: float | None = None
    notes: tuple[Note, ...] = ()

    @property
    def power_for_type(self) -> float | None:
        """The power that decides an AC/DC-type choice: kW, else kVA (unity factor)."""
        return self.rated_kw if self.rated_kw is not None else self.kva

    def with_power_factor(self, power_factor: float | None) -> LineFigures:
        """The figures with a stated kVA turned into kW by ``power_factor`` (noted)."""
        if self.kva is None or self.rated_kw is not None or not power_factor:
            return self
        kw = round(self.kva * power_factor, 4)
        note = Note("kva_converted", {"kva": self.kva, "power_factor": power_factor, "kw": kw})
        return replace(self, rated_kw=kw, power_factor=power_factor, notes=(*self.notes, note))

    def as_dict(self) -> dict[str, Any]:
        """The figures as a JSON-ready mapping (the ``figures`` of ``/api/match``)."""
        return {
            "rated_kw": self.rated_kw,
            "kva": self.kva,
            "power_factor": self.power_factor,
            "unit": self.unit,
            "written": self.written,
            "quantity": self.quantity,
            "standby": self.standby,
            "standby_quantity": self.standby_quantity,
            "size_t": self.size_t,
            "notes": [n.as_dict() for n in self.notes],
        }


def fold(text: str) -> str:
    """NFKC (full-width digits, letters and signs to ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _power(s: str) -> tuple[float | None, float | None, str | None, str | None, list[Note], int]:
    """(kW, kVA, unit label, written, notes, end) of the first power figure in ``s``."""
    notes: list[Note] = []
    m = _POWER_PAIR_RE.search(s)
    m1 = _POWER_RE.search(s)
    if m is not None and (m1 is None or m.start() <= m1.start()):
        a, b = float(m.group("a")), float(m.group("b"))
        ua, ub = m.group("ua"), m.group("ub")
        unit = ub
        fa = _KW_PER_UNIT.get(ua) or _KVA_PER_UNIT.get(ua) or 1.0
        fb = _KW_PER_UNIT.get(ub) or _KVA_PER_UNIT.get(ub) or 1.0
        # Mixed kinds (kW + kVA) are not added: the first figure alone is used.
        same_kind = (ua in _KW_PER_UNIT) == (ub in _KW_PER_UNIT)
        va, vb = a * fa, b * fb
        if not same_kind:
            value, unit = va, ua
        elif "+" in m.group("sep"):
            value = va + vb
            notes.append(Note("power_sum", {"parts": [va, vb], "total": round(value, 4)}))
        else:
            value = max(va, vb)
            notes.append(Note("range_upper", {"low": min(va, vb), "high": value}))
        written, end = m.group(0).strip(), m.end()
    elif m1 is not None:
        unit = m1.group("unit")
        f = _KW_PER_UNIT.get(unit) or _KVA_PER_UNIT.get(unit) or 1.0
        value = float(m1.group("a")) * f
        if m1.group("b") is not None:
            b = float(m1.group("b")) * f
            if "+" in m1.group("sep"):
                notes.append(Note("power_sum", {"parts": [value, b], "total": round(value + b, 4)}))
                value = value + b
            else:
                low, value = min(value, b), max(value, b)
                notes.append(Note("range_upper", {"low": low, "high": value}))
        written, end = m1.group(0).strip(), m1.end()
    else:
        bare = _BARE_POWER_RE.search(s)
        if bare is None:
            return None, None, None, None, notes, -1
        value = float(bare.group("a"))
        notes.append(Note("unit_assumed_kw", {"value": value}))
        return (value if value > 0 else None), None, "kW", bare.group(0), notes, bare.end()
    if value <= 0:
        return None, None, None, None, [], -1
    value = round(value, 4)
    label = _UNIT_LABEL[unit]
    if unit in _KVA_PER_UNIT:
        return None, value, label, written, notes, end
    if label not in ("kW",):
        notes.append(Note("unit_converted", {"value": written, "unit": label, "kw": value}))
    return value, None, label, written, notes, end


def parse_line(text: str, *, bare_unit: str | None = None) -> LineFigures:
    """Read the rated power, count and standby mark of one equipment line.

    Parameters
    ----------
    text
        The line as written, e.g. ``'空压机 37kW 2台'`` or ``'充电桩, 120 kW × 10'``.
    bare_unit
        ``"kW"`` when ``text`` is the content of a kW box or column: a number without a
        unit is then kW (``'7.5'``). By default a bare number is not a power.

    Returns
    -------
    LineFigures
        What was read; fields are None where the line says nothing.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_line() expects a str; received {type(text).__name__}")
    s = fold(text).replace("，", ",")
    # Thousands separators in a figure ('1,200 kW') are not decimal commas.
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    notes: list[Note] = []
    # A decimal comma right before a unit ('5,5kW', as Excel writes it in some locales).
    s, n_commas = re.subn(rf"(?<=\d),(?=\d{{1,2}}\s*(?:{_UNIT_ALT})(?![a-z]))", ".", s)
    if n_commas:
        notes.append(Note("decimal_comma", {}))
    kw, kva, unit, written, power_notes, _ = _power(s)
    notes.extend(power_notes)
    if kw is None and kva is None and bare_unit == "kW":
        m = re.fullmatch(rf"\s*({_NUM})\s*", s)
        if m is not None and float(m.group(1)) > 0:
            kw, unit, written = float(m.group(1)), "kW", m.group(1)

    quantity: int | None = None
    standby_quantity: int | None = None
    duty = _DUTY_RE.search(s)
    if duty is not None:
        n, k = _cn_number(duty.group("n")), _cn_number(duty.group("m"))
        if n is not None and k is not None and n + k > 0:
            quantity, standby_quantity = n + k, k
            notes.append(Note("duty_standby", {"running": n, "standby": k}))
    if quantity is None:
        for rx in (_TIMES_BEFORE_RE, _TIMES_AFTER_RE, _QTY_WORD_RE, _COUNT_RE):
            found = rx.search(s)
            if found is not None:
                n = _cn_number(found.group("n"))
                if n is not None and n > 0:
                    quantity = n
                    notes.append(Note("quantity_read", {"quantity": n}))
                    break
    # A figure written as the total of all units: per unit = total / count.
    if quantity and quantity > 1 and written is not None:
        before = s[: s.find(written.lower())] if written.lower() in s else ""
        if _TOTAL_RE.search(before):
            per = round((kw if kw is not None else kva or 0.0) / quantity, 4)
            notes.append(
                Note("total_divided", {"total": kw or kva, "quantity": quantity, "each": per})
            )
            if kw is not None:
                kw = per
            else:
                kva = per
    if quantity is None and any(v in s for v in _VAGUE_COUNT):
        notes.append(Note("quantity_vague", {}))

    word = next((w for w in STANDBY_MARKERS if w in s), None)
    standby = standby_quantity is not None and standby_quantity > 0
    if word is not None and standby_quantity is None:
        standby = True
        # '备用1台' / '1台备用': of several units, that many are the spare.
        spare = re.search(rf"(?:{word})\s*(\d+|{_CN_NUM})\s*(?:{_COUNT_WORDS})", s) or re.search(
            rf"(\d+|{_CN_NUM})\s*(?:{_COUNT_WORDS})\s*(?:为)?(?:{word})", s
        )
        if spare is not None and quantity is not None:
            k = _cn_number(spare.group(1))
            if k is not None and 0 < k < quantity:
                standby_quantity = k
            elif k is not None and k == quantity:
                standby_quantity = k
        notes.append(Note("standby_word", {"word": word}))
    tonnage = _TONNAGE_RE.search(s)
    size_t = float(tonnage.group("v")) if tonnage is not None else None
    return LineFigures(
        text=text,
        rated_kw=kw,
        kva=kva,
        unit=unit,
        written=written,
        quantity=quantity,
        standby=standby,
        standby_quantity=standby_quantity,
        size_t=size_t,
        notes=tuple(notes),
    )


def parse_rating(text: str, power_factor: float | None = None) -> LineFigures:
    """The content of a kW box or column: a bare number is kW; kVA with ``power_factor``."""
    return parse_line(text, bare_unit="kW").with_power_factor(power_factor)


TYPICAL_RATINGS_FILE = Path(__file__).resolve().parent / "data" / "typical_ratings.csv"


@dataclass(frozen=True)
class TypicalRating:
    """A common rating of one unit of a category, offered (never filled in).

    Offered when a line names no power; ``size_t_upto`` sizes cranes and presses by
    tonnage (None: any size). Generic figures of manufacturers' ranges, not fitted on
    any customer history.
    """

    category: str
    typical_kw: float
    size_t_upto: float | None = None


@lru_cache(maxsize=1)
def typical_ratings() -> tuple[TypicalRating, ...]:
    """The packaged typical ratings (``features/data/typical_ratings.csv``)."""
    with TYPICAL_RATINGS_FILE.open(encoding="utf-8") as f:
        return tuple(
            TypicalRating(
                category=row["category"],
                typical_kw=float(row["typical_kw"]),
                size_t_upto=float(row["size_t_upto"]) if row["size_t_upto"] else None,
            )
            for row in csv.DictReader(f)
        )


def typical_rating(category: str, size_t: float | None = None) -> float | None:
    """The typical kW of one unit of ``category`` (of ``size_t`` tonnes when given)."""
    rows = [r for r in typical_ratings() if r.category == category]
    if size_t is not None:
        sized = sorted(
            (r for r in rows if r.size_t_upto is not None and r.size_t_upto >= size_t),
            key=lambda r: r.size_t_upto or 0.0,
        )
        if sized:
            return sized[0].typical_kw
    plain = [r for r in rows if r.size_t_upto is None]
    return plain[0].typical_kw if plain else None
