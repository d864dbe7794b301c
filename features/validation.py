"""Loading and validation of a utility's history (``customers`` + ``equipment``).

Every value is read as text first, so nothing is coerced silently, then checked column by
column against :data:`features.contract.CUSTOMER_COLUMNS` and
:data:`features.contract.EQUIPMENT_COLUMNS`. A row that breaks the contract is dropped and
reported (file, spreadsheet row number, column, value, reason); a value that is legal but
suspicious is kept and flagged. A customer whose equipment lines were (partly) rejected is
rejected as well by default (``drop_incomplete_customers``): its equipment list would be
incomplete, so a model would learn, or a batch would be answered, from a customer that looks
smaller than it is. The customer is reported with how many of its lines were rejected and
why, and its remaining lines are reported too, so nothing is dropped silently. All checks are vectorised with pandas, so a history of
millions of equipment rows validates in seconds.

Row numbers are those a spreadsheet shows: the header is row 1, the first data row is row 2.
For Parquet files and in-memory frames the same convention is used on the row position.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.atomic import write_csv, write_text
from features.catalog import OTHER_INDUSTRY, Catalog, load_catalog, nearest_code
from features.cells import formula_safe_frame
from features.contract import (
    APPLICATION_TYPES,
    BOOLEAN_FALSE_WORDS,
    BOOLEAN_TRUE_WORDS,
    CHANGES,
    CLIMATE_ZONES,
    CUSTOMER_COLUMNS,
    DEFAULT_APPLICATION_TYPE,
    DEFAULT_CHANGE,
    EQUIPMENT_COLUMNS,
    EXISTING_TYPES,
    INSTALLED_KW_MAX,
    INSTALLED_KW_PER_M2_MAX,
    LABEL_COLUMN,
    MAX_DEMAND_OVER_CAPACITY_MAX,
    METER_COLUMNS,
    METER_MONTHS_MAX,
    METER_MONTHS_MIN,
    REMOVED_KW_PER_KVA_MAX,
    ColumnSpec,
)
from features.density import density_outside_range, installed_w_m2
from features.metering import hours_in_month, parse_periods, summarise_frame

__all__ = [
    "CLEAN_CUSTOMERS_SCHEMA",
    "CLEAN_EQUIPMENT_SCHEMA",
    "FLAG_COLUMNS",
    "FLAG_PEAK_DENSITY",
    "INCOMPLETE_SUFFIX",
    "MIN_PLAUSIBLE_PEAK_W_M2",
    "HISTORY_REJECT_COLUMNS",
    "REJECT_CODE_COLUMNS",
    "REJECT_COLUMNS",
    "SUMMARY_INCOMPLETE",
    "UNIT_RATING_FLAG_KW",
    "ContractError",
    "ValidatedHistory",
    "ValidatedTable",
    "load_history",
    "reject_columns",
    "validate_frames",
    "validate_table",
]

CUSTOMERS: Final = "customers"
EQUIPMENT: Final = "equipment"
METER: Final = "meter_readings"

REJECT_COLUMNS: tuple[str, ...] = ("file", "row_number", "customer_id", "column", "value", "reason")
"""Columns of a reject report (a history's, an outcomes file's)."""
REJECT_CODE_COLUMNS: tuple[str, ...] = ("code", "params")
"""The reason of each reject as a message code and its parameters (JSON text), which the
translation catalogs render in zh and en (serving/messages.py, serving/web/static/i18n.js);
``reason`` keeps the English sentence for logs and files. :attr:`ValidatedHistory.rejects`
has :data:`REJECT_COLUMNS` then these."""
HISTORY_REJECT_COLUMNS: tuple[str, ...] = (*REJECT_COLUMNS, *REJECT_CODE_COLUMNS)
"""Columns of :attr:`ValidatedHistory.rejects`."""


def reject_columns(key: str) -> tuple[str, ...]:
    """The columns of a reject report whose rows are identified by ``key``."""
    return tuple(key if c == "customer_id" else c for c in REJECT_COLUMNS)


FLAG_COLUMNS: tuple[str, ...] = (*REJECT_COLUMNS, "flag")
"""Columns of :attr:`ValidatedHistory.flags`."""

UNIT_RATING_FLAG_KW: Final = 5000.0
"""A single unit rated above this is legal but usually a kW/W or total/unit mix-up."""


FLAG_RATING: Final = "rating_over_5000kw"
FLAG_PEAK: Final = "peak_above_installed"
FLAG_DENSITY: Final = "density_outside_industry_range"
FLAG_EQUIPMENT_REJECTED: Final = "equipment_row_rejected"
FLAG_PEAK_DENSITY: Final = "peak_below_plausible_density"

MIN_PLAUSIBLE_PEAK_W_M2: Final = 1.0
"""A metered peak under this many W per m² of floor area is flagged: no occupied building
runs that low (the lowest measured offices, schools and dormitories of the BDG1 reference
sit at 2–5 W/m²; the handful under 1 W/m² there are sub-metered or mis-scaled records)."""

HEADER_ROWS: Final = 1
"""The header's spreadsheet row when nothing stands above it (row numbers are 1-based, so
the data starts at row 2)."""


def spreadsheet_rows(count: int, header_row: int = HEADER_ROWS) -> np.ndarray:
    """The spreadsheet row numbers of a table's ``count`` data rows.

    The one rule every reject, note and answer row uses to name a row: the data start on
    the row after the header. ``header_row`` is the header's own row number, greater than
    1 when a file has empty lines above it (:func:`features.uploads.read_table` skips
    them and says where the header was).
    """
    return np.arange(count, dtype="int64") + header_row + 1


_MAX_COUNT: Final = 2**31 - 1
"""Counts above this cannot be real and would overflow the integer cast."""

# One word list for every path (features.contract): history validation, the engineering
# method and the page's CSV import read the same words.
_TRUE_TOKENS: Final = BOOLEAN_TRUE_WORDS
_FALSE_TOKENS: Final = BOOLEAN_FALSE_WORDS

_PLAIN_BOOL: Final = ("true", "false", "1", "0", "yes", "no", "是", "否")
_CSV_SUFFIXES: Final = (".csv", ".txt", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz")
_PARQUET_SUFFIXES: Final = (".parquet", ".pq")

_REASON_DUPLICATE: Final = "duplicate customer_id: every row sharing it is rejected"
_REASON_UNKNOWN_CUSTOMER: Final = "unknown customer: customer_id is not in the customers file"
_REASON_CUSTOMER_DUPLICATE: Final = "customer rejected: duplicate customer_id in the customers file"
_REASON_CUSTOMER_INVALID: Final = (
    "customer rejected: its customers row is invalid (see the customers rejects)"
)
_REASON_CUSTOMER_IMPLAUSIBLE: Final = (
    "customer rejected: its installed kW (in total or per m²) is beyond a plausibility limit "
    "(see the customers rejects)"
)
TOTAL_KW_COLUMN: Final = "installed_kw_total"
"""The reject ``column`` of a customer whose lines install more than the limit in total."""
DENSITY_COLUMN: Final = "installed_kw_per_m2"
"""The reject ``column`` of a customer whose lines install too much per m² of floor area."""
_REASON_CUSTOMER_INCOMPLETE: Final = (
    "customer rejected: some of its other equipment lines were rejected, so its equipment "
    "list would be incomplete (see the customers rejects)"
)
INCOMPLETE_SUFFIX: Final = ": the list would be incomplete"
"""How every customer-level 'equipment lines rejected' reason ends (one reason per customer)."""
SUMMARY_INCOMPLETE: Final = (
    "customer rejected: some of its equipment lines were rejected, so its equipment list "
    "would be incomplete (rejects.csv names the lines and reasons per customer)"
)
"""The summary's single line for all customers rejected for an incomplete equipment list."""


class ContractError(ValueError):
    """A file cannot be validated row by row: a required column is missing, or it is unreadable.

    ``missing`` names the missing required columns (empty for other problems).
    """

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


# --------------------------------------------------------------------------------------
# clean-frame schemas, derived from the contract specs
# --------------------------------------------------------------------------------------


def _is_str_dtype(series: pd.Series) -> bool:
    # pandera's ``str`` accepts object columns too; the clean frames promise pandas' str dtype.
    return isinstance(series.dtype, pd.StringDtype)


def _is_whole(series: pd.Series) -> pd.Series:
    return series == np.floor(series)


def _range_checks(spec: ColumnSpec) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if spec.minimum is not None:
        if spec.exclusive_minimum:
            checks.append(pa.Check.gt(spec.minimum))
        else:
            checks.append(pa.Check.ge(spec.minimum))
    if spec.maximum is not None:
        checks.append(pa.Check.le(spec.maximum))
    if spec.limit_min is not None:
        checks.append(pa.Check.ge(spec.limit_min))
    if spec.limit_max is not None:
        checks.append(pa.Check.le(spec.limit_max))
    return checks


def _clean_schema(specs: Iterable[ColumnSpec], *, file: str) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {}
    for spec in specs:
        checks = _range_checks(spec)
        if spec.dtype in {"string", "code"}:
            dtype: object = "str"
            checks.append(pa.Check(_is_str_dtype, error="pandas str dtype"))
            # Optional free text is '' when missing; optional codes are NA (unknown).
            nullable = spec.dtype == "code" and not spec.required
        elif spec.dtype == "bool":
            dtype, nullable = "bool", False
        elif spec.dtype == "int" and spec.required:
            dtype, nullable = "int64", False
        else:
            # Optional counts stay float so that a missing value can be NaN.
            dtype, nullable = "float64", not spec.required
            if spec.dtype == "int":
                checks.append(pa.Check(_is_whole, error="whole number"))
        if spec.name == "climate_zone":
            checks.append(pa.Check.isin(CLIMATE_ZONES))
        columns[spec.name] = pa.Column(
            dtype,
            checks,
            nullable=nullable,
            unique=(file == CUSTOMERS and spec.name == "customer_id"),
        )
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=f"clean {file}")


CLEAN_CUSTOMERS_SCHEMA: pa.DataFrameSchema = _clean_schema(CUSTOMER_COLUMNS, file=CUSTOMERS)
"""dtypes, ranges and uniqueness of :attr:`ValidatedHistory.customers`."""

CLEAN_EQUIPMENT_SCHEMA: pa.DataFrameSchema = _clean_schema(EQUIPMENT_COLUMNS, file=EQUIPMENT)
"""dtypes and ranges of :attr:`ValidatedHistory.equipment`."""


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------


def _empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    if "row_number" in frame:
        frame["row_number"] = frame["row_number"].astype("int64")
    return frame


def _empty_meter_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="str"),
            "period": pd.Series(dtype="str"),
            "energy_kwh": pd.Series(dtype="float64"),
            "max_demand_kw": pd.Series(dtype="float64"),
        }
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class ValidatedHistory:
    """A validated history: clean typed frames plus what was dropped and what looks odd.

    Attributes
    ----------
    customers
        Valid customers: ``customer_id``, ``industry``, ``climate_zone`` (str or NA) and the
        numeric columns as float64 (NaN when missing; counts stay float for NaN).
    equipment
        Valid equipment rows of valid customers: ``customer_id``, ``category``,
        ``rated_kw`` (float64), ``quantity`` (int64), ``standby`` (bool), ``name`` (str,
        '' when missing).
    rejects
        One row per problem (a row may have several): :data:`HISTORY_REJECT_COLUMNS`
        (the English ``reason``, and its ``code`` with ``params`` for the catalogs).
    flags
        Suspicious but legal values, kept in the clean frames: :data:`FLAG_COLUMNS`.
    rows_read
        Data rows read per file (blank rows included).
    blank_rows
        Entirely blank rows skipped per file (spreadsheet exports often end with some).
    ignored_columns
        Columns per file that the contract does not know and that were ignored.
    """

    customers: pd.DataFrame
    equipment: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=lambda: _empty_frame(HISTORY_REJECT_COLUMNS))
    flags: pd.DataFrame = field(default_factory=lambda: _empty_frame(FLAG_COLUMNS))
    rows_read: dict[str, int] = field(default_factory=dict)
    blank_rows: dict[str, int] = field(default_factory=dict)
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    meter_readings: pd.DataFrame = field(default_factory=lambda: _empty_meter_frame())
    """Valid monthly readings of kept existing customers (``meter_readings.csv``); their
    summary (:data:`features.metering.METER_SUMMARY_COLUMNS`) is on :attr:`customers`."""

    def rejected_rows(self, file: str) -> int:
        """Number of distinct rows of ``file`` ('customers' or 'equipment') that were dropped."""
        return int(self.rejects.loc[self.rejects["file"] == file, "row_number"].nunique())

    def incomplete_customers(self) -> int:
        """Customers rejected because some of their equipment lines were rejected."""
        mine = (self.rejects["file"] == CUSTOMERS) & self.rejects["reason"].str.endswith(
            INCOMPLETE_SUFFIX
        )
        return int(self.rejects.loc[mine, "row_number"].nunique())

    def flagged_rows(self, file: str) -> int:
        """Number of distinct kept rows of ``file`` that carry at least one flag."""
        return int(self.flags.loc[self.flags["file"] == file, "row_number"].nunique())

    def counts(self) -> pd.DataFrame:
        """Rows read, valid, rejected, blank and flagged per file.

        Returns
        -------
        pandas.DataFrame
            Columns ``file``, ``rows_read``, ``valid``, ``rejected``, ``blank``, ``flagged``.
        """
        valid = {
            CUSTOMERS: len(self.customers),
            EQUIPMENT: len(self.equipment),
            METER: len(self.meter_readings),
        }
        files = [CUSTOMERS, EQUIPMENT] + ([METER] if METER in self.rows_read else [])
        return pd.DataFrame(
            [
                {
                    "file": file,
                    "rows_read": self.rows_read.get(file, valid[file]),
                    "valid": valid[file],
                    "rejected": self.rejected_rows(file),
                    "blank": self.blank_rows.get(file, 0),
                    "flagged": self.flagged_rows(file),
                }
                for file in files
            ]
        )

    def summary(self) -> pd.DataFrame:
        """Counts per file per reason.

        Returns
        -------
        pandas.DataFrame
            Columns ``file``, ``kind`` ('rejected', 'flagged', 'ignored_column' or
            'blank_row'), ``reason`` (the reject reason, the flag code, or the ignored
            column's name) and ``rows`` (distinct rows concerned), most frequent first.
        """
        # One line for all incomplete-list customers (each has its own counted reason).
        incomplete = (self.rejects["file"] == CUSTOMERS) & self.rejects["reason"].str.endswith(
            INCOMPLETE_SUFFIX
        )
        grouped = self.rejects.assign(
            reason=self.rejects["reason"].where(~incomplete, SUMMARY_INCOMPLETE)
        )
        rejected = (
            grouped.groupby(["file", "reason"], sort=False)["row_number"]
            .nunique()
            .rename("rows")
            .reset_index()
            .assign(kind="rejected")
        )
        flagged = (
            self.flags.groupby(["file", "flag"], sort=False)["row_number"]
            .nunique()
            .rename("rows")
            .reset_index()
            .rename(columns={"flag": "reason"})
            .assign(kind="flagged")
        )
        other = [
            {
                "file": file,
                "kind": "ignored_column",
                "reason": column,
                "rows": self.rows_read.get(file, 0),
            }
            for file, columns in self.ignored_columns.items()
            for column in columns
        ] + [
            {"file": file, "kind": "blank_row", "reason": "blank row skipped", "rows": n}
            for file, n in self.blank_rows.items()
            if n
        ]
        frames = [f for f in (rejected, flagged, pd.DataFrame(other)) if not f.empty]
        columns = ["file", "kind", "reason", "rows"]
        if not frames:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c == "rows" else "str") for c in columns}
            )
        out = pd.concat(frames, ignore_index=True)[columns]
        out["rows"] = out["rows"].astype("int64")
        order = {"rejected": 0, "flagged": 1, "ignored_column": 2, "blank_row": 3}
        out = out.sort_values(
            ["file", "kind", "rows", "reason"],
            key=lambda s: s.map(order) if s.name == "kind" else (-s if s.name == "rows" else s),
            kind="stable",
        )
        return out.reset_index(drop=True)

    def summary_lines(self) -> list[str]:
        """The summary as text: totals per file, then one line per reason, flag and column."""
        counts = self.counts()
        lines = [
            f"{file}: {_plural(int(read), 'row')} read, {valid} valid, {rejected} rejected, "
            f"{flagged} flagged"
            for file, read, valid, rejected, flagged in zip(
                counts["file"].tolist(),
                counts["rows_read"].tolist(),
                counts["valid"].tolist(),
                counts["rejected"].tolist(),
                counts["flagged"].tolist(),
                strict=True,
            )
        ]
        summary = self.summary()
        for file, kind, reason, rows in zip(
            summary["file"].tolist(),
            summary["kind"].tolist(),
            summary["reason"].tolist(),
            summary["rows"].tolist(),
            strict=True,
        ):
            n = int(rows)
            if kind == "rejected":
                lines.append(f"{file}: {_plural(n, 'row')} rejected: {reason}")
            elif kind == "flagged":
                lines.append(f"{file}: {_plural(n, 'row')} flagged: {reason}")
            elif kind == "ignored_column":
                lines.append(f"{file}: column '{reason}' ignored: not in the contract")
            else:
                lines.append(f"{file}: {_plural(n, 'blank row')} skipped")
        return lines

    def write_report(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``rejects.csv``, ``flags.csv`` and ``rejects_summary.txt`` to ``out_dir``.

        The CSV files carry a UTF-8 BOM so that spreadsheet programs show Chinese text.

        Parameters
        ----------
        out_dir
            Directory to write to; created when missing.

        Returns
        -------
        dict[str, pathlib.Path]
            The written paths, keyed 'rejects', 'flags' and 'summary'.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "rejects": out / "rejects.csv",
            "flags": out / "flags.csv",
            "summary": out / "rejects_summary.txt",
        }
        # Rejected values are echoed as received: never a live formula in a spreadsheet.
        write_csv(
            formula_safe_frame(self.rejects), paths["rejects"], index=False, encoding="utf-8-sig"
        )
        write_csv(formula_safe_frame(self.flags), paths["flags"], index=False, encoding="utf-8-sig")
        write_text(paths["summary"], "\n".join(self.summary_lines()) + "\n", encoding="utf-8")
        return paths


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


def _as_text(series: pd.Series) -> pd.Series:
    """Any column as stripped str with '' for missing (values only, no parsing)."""
    if not isinstance(series.dtype, pd.StringDtype):
        series = series.astype(str)
    return series.fillna("").str.strip()


def _read_table(path: Path, file: str) -> pd.DataFrame:
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ContractError(
                f"{file} file {path} is not a readable Parquet file: {exc}"
            ) from exc
    if not name.endswith(_CSV_SUFFIXES):
        raise ContractError(
            f"{file} file {path} has an unsupported suffix {path.suffix!r}; expected one of "
            f"{', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)}"
        )
    try:
        # utf-8-sig reads plain UTF-8 too and drops the BOM that Excel writes; keeping blank
        # lines keeps row numbers equal to the spreadsheet's.
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as exc:
        raise ContractError(
            f"{file} file {path} is not UTF-8 (byte {exc.object[exc.start : exc.start + 1]!r} at "
            f"offset {exc.start}); the contract expects UTF-8 (GBK exports must be re-saved as UTF-8)"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise ContractError(
            f"{file} file {path} is empty; expected a header row with the contract's columns"
        ) from exc
    except pd.errors.ParserError as exc:
        raise ContractError(f"{file} file {path} is not a well-formed CSV file: {exc}") from exc


def _prepare(
    frame: pd.DataFrame,
    specs: tuple[ColumnSpec, ...],
    *,
    file: str,
    source: str,
    also_required: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, tuple[str, ...], str | None]:
    """Text-only frame with every contract column, plus ignored columns and a missing message."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    names = [s.name for s in specs]
    required = [s.name for s in specs if s.required] + list(also_required)
    missing = [c for c in required if c not in frame.columns]
    extra = tuple(c for c in frame.columns if c not in names)
    problem = None
    if missing:
        hints = []
        for column in missing:
            close = difflib.get_close_matches(column, [c.lower() for c in extra], n=1, cutoff=0.6)
            if close:
                found = next(c for c in extra if c.lower() == close[0])
                hints.append(f"'{found}' looks like '{column}'")
        hint = f" ({'; '.join(hints)})" if hints else ""
        problem = (
            f"{file} file {source} is missing required column(s) {', '.join(missing)}{hint}; "
            f"expected columns: {', '.join(names)} (required: {', '.join(required)}); "
            f"received: {', '.join(map(str, frame.columns)) or 'no columns'}"
        )
    text = pd.DataFrame(
        {
            s.name: _as_text(frame[s.name])
            if s.name in frame.columns
            else pd.Series("", index=frame.index, dtype="str")
            for s in specs
        }
    ).reset_index(drop=True)
    return text, extra, problem


# --------------------------------------------------------------------------------------
# checking
# --------------------------------------------------------------------------------------


class _Problems:
    """Collects the problems of one file as vectorised (mask, column, reason) parts."""

    def __init__(
        self, file: str, text: pd.DataFrame, rows: np.ndarray, key: str = "customer_id"
    ) -> None:
        self.file = file
        self.text = text
        self.rows = rows
        self.key = key
        self.bad = np.zeros(len(text), dtype=bool)
        self._parts: list[pd.DataFrame] = []

    def add(
        self,
        mask: np.ndarray | pd.Series,
        column: str,
        reason: str | np.ndarray,
        value: np.ndarray | None = None,
        *,
        code: str,
        params: Mapping[str, object] | list[Mapping[str, object]] | None = None,
    ) -> None:
        """Report the masked rows; ``reason`` (and ``value``) is one text or one per row.

        ``value`` defaults to the row's text in ``column`` (a derived column, such as a
        total, passes its values). ``code`` names the reason for the catalogs and
        ``params`` its parameters (one mapping, or one per masked row); ``column`` is
        always among them, so a catalog can name the field.
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        n = int(mask.sum())
        if isinstance(params, list):
            assert len(params) == n, (code, len(params), n)
            coded: str | list[str] = [_params_text(column, p) for p in params]
        else:
            coded = _params_text(column, params or {})
        self.bad |= mask
        # Filter before converting: turning a whole arrow string column into numpy is slow.
        self._parts.append(
            pd.DataFrame(
                {
                    "file": self.file,
                    "row_number": self.rows[mask],
                    self.key: self.text[self.key][mask].to_numpy(dtype=object),
                    "column": column,
                    "value": self.text[column][mask].to_numpy(dtype=object)
                    if value is None
                    else value,
                    "reason": reason,
                    "code": code,
                    "params": coded,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return _empty_frame((*reject_columns(self.key), *REJECT_CODE_COLUMNS))
        return pd.concat(self._parts, ignore_index=True)


def _params_text(column: str, params: Mapping[str, object]) -> str:
    """A reject's parameters as compact JSON (sorted keys: the same bytes every run)."""
    import json

    return json.dumps({"column": column, **params}, ensure_ascii=False, sort_keys=True)


def _range_reason(spec: ColumnSpec) -> str:
    if spec.range_reason is not None:
        return spec.range_reason
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None:
        return f"{spec.name} must be between {low:g} and {high:g}"
    if low is not None:
        return f"{spec.name} must be {'>' if spec.exclusive_minimum else '>='} {low:g}"
    return f"{spec.name} must be <= {high:g}"


def _range_params(spec: ColumnSpec) -> dict[str, object]:
    """The bounds of :func:`_range_reason` for the catalogs (``min``/``max`` may be None)."""
    return {"min": spec.minimum, "max": spec.maximum, "exclusive": spec.exclusive_minimum}


def _limit_reason(spec: ColumnSpec, op: str, limit: float) -> str:
    return (
        f"{spec.name} must be {op} {limit:g} (a plausibility limit of the contract, as in the API)"
    )


def _unknown_code_reasons(
    values: pd.Series, column: str, codes: tuple[str, ...], expected: str
) -> tuple[np.ndarray, list[str]]:
    """'unknown <column> ...; did you mean ...?' per value, and the code it suggests ('' none).

    One lookup per distinct value.
    """
    distinct, inverse = np.unique(values.to_numpy(dtype=object).astype(str), return_inverse=True)
    messages, suggestions = [], []
    for value in distinct.tolist():
        shown = value if len(value) <= 60 else value[:57] + "..."
        hint = nearest_code(value, codes)
        tail = f"did you mean {hint!r}?" if hint else f"expected {expected}"
        messages.append(f"unknown {column} {shown!r}; {tail}")
        suggestions.append(hint or "")
    return (
        np.asarray(messages, dtype=object)[inverse],
        [suggestions[k] for k in inverse.tolist()],
    )


def _check_column(
    spec: ColumnSpec,
    text: pd.Series,
    problems: _Problems,
    *,
    required: bool,
    codes: Mapping[str, tuple[tuple[str, ...], str]],
) -> pd.Series:
    """Parse one text column, report its problems, and return the typed column."""
    empty = (text == "").to_numpy()
    if required:
        problems.add(empty, spec.name, f"{spec.name} is required but empty", code="reject_required")
    if spec.dtype in {"float", "int"}:
        numbers = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        non_numeric = ~empty & np.isnan(numbers)
        problems.add(
            non_numeric,
            spec.name,
            f"{spec.name} is not a number (expected a plain number such as 7.5, without units)",
            code="reject_not_a_number",
        )
        infinite = np.isinf(numbers)
        problems.add(
            infinite, spec.name, f"{spec.name} must be a finite number", code="reject_not_finite"
        )
        finite = np.isfinite(numbers)
        checked = finite
        if spec.dtype == "int":
            fractional = finite & (numbers != np.floor(numbers))
            problems.add(
                fractional,
                spec.name,
                f"{spec.name} must be a whole number",
                code="reject_not_whole",
            )
            checked = finite & ~fractional
        below = np.zeros(len(numbers), dtype=bool)
        if spec.minimum is not None:
            below = numbers <= spec.minimum if spec.exclusive_minimum else numbers < spec.minimum
        above = numbers > spec.maximum if spec.maximum is not None else below & False
        problems.add(
            checked & (below | above),
            spec.name,
            _range_reason(spec),
            code="reject_out_of_range",
            params=_range_params(spec),
        )
        # The plausibility limits: the JSON API's bounds, so a line the API rejects is
        # rejected from a file too (before, a 200,000 kW unit was only flagged here).
        in_range = checked & ~(below | above)
        beyond = np.zeros(len(numbers), dtype=bool)
        if spec.limit_min is not None:
            low = in_range & (numbers < spec.limit_min)
            problems.add(
                low,
                spec.name,
                _limit_reason(spec, ">=", spec.limit_min),
                code="reject_below_limit",
                params={"limit": spec.limit_min},
            )
            beyond |= low
        if spec.limit_max is not None:
            high = in_range & (numbers > spec.limit_max)
            problems.add(
                high,
                spec.name,
                _limit_reason(spec, "<=", spec.limit_max),
                code="reject_above_limit",
                params={"limit": spec.limit_max},
            )
            beyond |= high
        if spec.dtype == "int":
            problems.add(
                in_range & ~beyond & (numbers > _MAX_COUNT),
                spec.name,
                f"{spec.name} must be <= {_MAX_COUNT} (larger counts are not real)",
                code="reject_above_limit",
                params={"limit": _MAX_COUNT},
            )
        return pd.Series(np.where(finite, numbers, np.nan), index=text.index, dtype="float64")
    if spec.dtype == "bool":
        lower = text.str.lower()
        true = lower.isin(_TRUE_TOKENS).to_numpy()
        false = lower.isin(_FALSE_TOKENS).to_numpy()
        problems.add(
            ~(true | false | empty),
            spec.name,
            f"{spec.name} must be a boolean: true/false, 1/0, yes/no or 是/否 (empty = false; "
            f"also {', '.join(w for w in _TRUE_TOKENS + _FALSE_TOKENS if w not in _PLAIN_BOOL)})",
            code="reject_not_boolean",
        )
        # Empty means "not a spare": the contract's default for the optional column.
        return pd.Series(true, index=text.index, dtype="bool")
    if spec.dtype == "code":
        valid_codes, expected = codes[spec.name]
        unknown = ~empty & ~text.isin(valid_codes).to_numpy()
        if unknown.any():
            reasons, hints = _unknown_code_reasons(text[unknown], spec.name, valid_codes, expected)
            problems.add(
                unknown,
                spec.name,
                reasons,
                code="reject_unknown_code",
                params=[{"suggestion": h} for h in hints],
            )
        # An optional code that is missing means "unknown", so NA rather than ''.
        return text.mask(pd.Series(empty, index=text.index)) if not spec.required else text
    return text


def _check_file(
    text: pd.DataFrame,
    specs: tuple[ColumnSpec, ...],
    problems: _Problems,
    *,
    also_required: tuple[str, ...],
    codes: Mapping[str, tuple[tuple[str, ...], str]],
) -> pd.DataFrame:
    typed = {
        spec.name: _check_column(
            spec,
            text[spec.name],
            problems,
            required=spec.required or spec.name in also_required,
            codes=codes,
        )
        for spec in specs
    }
    return pd.DataFrame(typed)


def _drop_blank(
    text: pd.DataFrame, raw_columns: int, header_row: int = HEADER_ROWS
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Drop rows whose every value is empty; return the rest, their row numbers and the count."""
    rows = spreadsheet_rows(len(text), header_row)
    if not raw_columns or text.empty:
        return text, rows, 0
    blank = (text == "").all(axis=1).to_numpy()
    return text.loc[~blank].reset_index(drop=True), rows[~blank], int(blank.sum())


# --------------------------------------------------------------------------------------
# flags
# --------------------------------------------------------------------------------------


def _flag_frame(
    file: str,
    rows: np.ndarray,
    customer_id: pd.Series | np.ndarray,
    column: str,
    value: Iterable[str],
    reason: Iterable[str],
    flag: str,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": file,
            "row_number": np.asarray(rows, dtype="int64"),
            "customer_id": np.asarray(customer_id, dtype=object),
            "column": column,
            "value": list(value),
            "reason": list(reason),
            "flag": flag,
        }
    )


def _industry_density_ranges(catalog: Catalog) -> dict[str, tuple[float, float]]:
    """Plausible installed W/m² range per industry, when ``industries.csv`` carries it.

    The catalog's range is already the plausible envelope (``features.engineering`` flags a
    calculation outside it), so "far outside" means outside it, with no extra margin.
    """
    ranges: dict[str, tuple[float, float]] = {}
    for code, industry in catalog.industries.items():
        try:
            low = float(industry.extra["installed_w_m2_low"])
            high = float(industry.extra["installed_w_m2_high"])
        except (KeyError, TypeError, ValueError):
            continue  # the range is optional catalog data: no range, no flag
        if np.isfinite(low) and np.isfinite(high) and 0 < low <= high:
            ranges[code] = (low, high)
    return ranges


def _flags(
    customers: pd.DataFrame,
    customer_rows: np.ndarray,
    equipment: pd.DataFrame,
    equipment_rows: np.ndarray,
    equipment_rejects: pd.DataFrame,
    catalog: Catalog,
) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []

    big = (equipment["rated_kw"] > UNIT_RATING_FLAG_KW).to_numpy()
    if big.any():
        kw = equipment["rated_kw"].to_numpy()[big]
        parts.append(
            _flag_frame(
                EQUIPMENT,
                equipment_rows[big],
                equipment["customer_id"].to_numpy()[big],
                "rated_kw",
                (f"{v:g}" for v in kw),
                (
                    f"one unit rated {v:g} kW is over {UNIT_RATING_FLAG_KW:g} kW: "
                    "check it is not a total or in W"
                    for v in kw
                ),
                FLAG_RATING,
            )
        )

    running = equipment.loc[~equipment["standby"]]
    installed = (running["rated_kw"] * running["quantity"]).groupby(running["customer_id"]).sum()
    customer_installed = customers["customer_id"].map(installed).fillna(0.0).to_numpy(dtype=float)
    peak = customers["peak_demand_kw"].to_numpy(dtype=float)
    # Area-only customers have nothing installed; that is legal, so no comparison for them.
    above = (customer_installed > 0) & (peak > customer_installed)
    if above.any():
        parts.append(
            _flag_frame(
                CUSTOMERS,
                customer_rows[above],
                customers["customer_id"].to_numpy()[above],
                "peak_demand_kw",
                (f"{v:g}" for v in peak[above]),
                (
                    f"peak demand {p:g} kW is above the non-standby installed total {i:g} kW"
                    for p, i in zip(peak[above], customer_installed[above], strict=True)
                ),
                FLAG_PEAK,
            )
        )

    area_all = customers["floor_area_m2"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        peak_w_m2 = peak * 1000.0 / area_all
    low = np.isfinite(peak_w_m2) & (area_all > 0) & (peak_w_m2 < MIN_PLAUSIBLE_PEAK_W_M2)
    if low.any():
        parts.append(
            _flag_frame(
                CUSTOMERS,
                customer_rows[low],
                customers["customer_id"].to_numpy()[low],
                "peak_demand_kw",
                (f"{v:g}" for v in peak[low]),
                (
                    f"peak demand {p:g} kW over {a:g} m² is {d:.2f} W/m², below the plausible "
                    f"{MIN_PLAUSIBLE_PEAK_W_M2:g} W/m² for an occupied building: check the "
                    "meter's scope and unit"
                    for p, a, d in zip(peak[low], area_all[low], peak_w_m2[low], strict=True)
                ),
                FLAG_PEAK_DENSITY,
            )
        )

    ranges = _industry_density_ranges(catalog)
    if ranges:
        low = customers["industry"].map({k: v[0] for k, v in ranges.items()}).to_numpy(float)
        high = customers["industry"].map({k: v[1] for k, v in ranges.items()}).to_numpy(float)
        area = customers["floor_area_m2"].to_numpy(dtype=float)
        density = installed_w_m2(customer_installed, area)
        far = density_outside_range(customer_installed, area, low, high)
        if far.any():
            industries = customers["industry"].to_numpy()[far]
            parts.append(
                _flag_frame(
                    CUSTOMERS,
                    customer_rows[far],
                    customers["customer_id"].to_numpy()[far],
                    "floor_area_m2",
                    (f"{v:g}" for v in area[far]),
                    (
                        f"installed {d:.0f} W/m² is far outside the {ind} range "
                        f"{lo:g}-{hi:g} W/m²: check the floor area and the equipment list"
                        for d, ind, lo, hi in zip(
                            density[far], industries, low[far], high[far], strict=True
                        )
                    ),
                    FLAG_DENSITY,
                )
            )

    # Compare ids as plain object arrays: isin between arrow strings and objects is slow.
    kept_ids = customers["customer_id"].to_numpy(dtype=object)
    own = equipment_rejects.loc[
        ~equipment_rejects["reason"].str.startswith("customer rejected"),
        ["customer_id", "row_number"],
    ]
    own = own.loc[pd.Index(kept_ids).get_indexer(own["customer_id"].to_numpy(dtype=object)) >= 0]
    if not own.empty:
        own = own.drop_duplicates().sort_values(["customer_id", "row_number"])
        count = own.groupby("customer_id")["row_number"].size()
        listed = _first_rows(own, limit=10)
        hit = count.index.get_indexer(kept_ids) >= 0
        ids = kept_ids[hit]
        n = count.reindex(ids).to_numpy()
        parts.append(
            _flag_frame(
                CUSTOMERS,
                customer_rows[hit],
                ids,
                "customer_id",
                ids,
                (
                    f"{_plural(int(k), 'equipment row')} rejected (equipment row "
                    f"{rows}{', ...' if k > 10 else ''}); its equipment list is incomplete"
                    for k, rows in zip(n, listed.reindex(ids).to_numpy(), strict=True)
                ),
                FLAG_EQUIPMENT_REJECTED,
            )
        )

    if not parts:
        return _empty_frame(FLAG_COLUMNS)
    return _finish_report(pd.concat(parts, ignore_index=True), FLAG_COLUMNS)


def _first_rows(rows: pd.DataFrame, *, limit: int) -> pd.Series:
    """'r1, r2, ...' of the first ``limit`` row numbers per customer (vectorised join).

    ``rows`` holds ``customer_id`` and ``row_number`` sorted by both.
    """
    rank = rows.groupby("customer_id").cumcount()
    first = rows.loc[rank < limit].assign(rank=rank[rank < limit])
    wide = first.pivot(index="customer_id", columns="rank", values="row_number")
    text = wide[0].astype("int64").astype(str)
    for k in range(1, wide.shape[1]):
        present = wide[k].notna()
        number = wide[k].fillna(0).astype("int64").astype(str)
        text = text.where(~present, text + ", " + number)
    return text


def _reject_incomplete(
    cust_problems: _Problems,
    eq_problems: _Problems,
    *,
    own_bad: np.ndarray,
    own_rejects: pd.DataFrame,
    lines_of_kept: np.ndarray,
    cust_codes: np.ndarray,
    eq_codes: np.ndarray,
    n_codes: int,
) -> None:
    """Reject every still-valid customer with a rejected equipment line, and its other lines.

    ``lines_of_kept`` marks the equipment lines whose customer is (so far) valid; the codes
    are the joint factorisation of customer ids (customers file first, then equipment).
    """
    bad_lines = lines_of_kept & own_bad
    if not bad_lines.any():
        return
    n_bad = np.bincount(eq_codes[bad_lines], minlength=n_codes)
    n_all = np.bincount(eq_codes[lines_of_kept], minlength=n_codes)
    hit = ~cust_problems.bad & (n_bad[cust_codes] > 0)
    if not hit.any():  # pragma: no cover - a kept line's customer is a kept customer
        return
    hit_ids = cust_problems.text["customer_id"][hit].to_numpy(dtype=object)
    # Why, per customer: its distinct line reasons, at most three (vectorised join).
    why = own_rejects.loc[
        pd.Index(hit_ids).get_indexer(own_rejects["customer_id"].to_numpy(dtype=object)) >= 0,
        ["customer_id", "reason"],
    ].drop_duplicates()
    rank = why.groupby("customer_id").cumcount()
    more = why.loc[rank == 3, "customer_id"]
    text = why.loc[rank < 3].groupby("customer_id")["reason"].agg("; ".join)
    text.loc[more.to_numpy()] = text.loc[more.to_numpy()] + "; ..."
    reasons = [
        f"{k} of {_plural(int(m), 'equipment line')} rejected ({w}){INCOMPLETE_SUFFIX}"
        for k, m, w in zip(
            n_bad[cust_codes[hit]],
            n_all[cust_codes[hit]],
            text.reindex(hit_ids).fillna("see the equipment rejects").to_numpy(),
            strict=True,
        )
    ]
    cust_problems.add(
        hit,
        "customer_id",
        np.asarray(reasons, dtype=object),
        code="reject_lines_rejected",
        params=[
            {"n": int(k), "of": int(m)}
            for k, m in zip(n_bad[cust_codes[hit]], n_all[cust_codes[hit]], strict=True)
        ],
    )
    dropped = np.zeros(n_codes, dtype=bool)
    dropped[cust_codes[hit]] = True
    eq_problems.add(
        lines_of_kept & ~own_bad & dropped[eq_codes],
        "customer_id",
        _REASON_CUSTOMER_INCOMPLETE,
        code="reject_with_incomplete_customer",
    )


def _reject_implausible_totals(
    cust_problems: _Problems,
    eq_problems: _Problems,
    *,
    floor_area: np.ndarray,
    installed: np.ndarray,
    lines_of_kept: np.ndarray,
    cust_codes: np.ndarray,
    eq_codes: np.ndarray,
    n_codes: int,
) -> None:
    """Reject every still-valid customer whose installed total is beyond a contract limit.

    The limits are the JSON API's (:data:`features.contract.INSTALLED_KW_MAX`, all lines,
    standby included, and :data:`features.contract.INSTALLED_KW_PER_M2_MAX` of floor area):
    every line may be legal while the customer as a whole is not. The customer's row is
    reported with column ``installed_kw_total`` (or ``installed_kw_per_m2``), the value and
    a reason naming the limit; its equipment lines are rejected with it.
    """
    kept = lines_of_kept & ~eq_problems.bad
    totals = np.bincount(eq_codes[kept], weights=installed[kept], minlength=n_codes)
    total = totals[cust_codes]
    valid = ~cust_problems.bad
    with np.errstate(invalid="ignore", divide="ignore"):
        density = total / floor_area
    over_total = valid & (total > INSTALLED_KW_MAX)
    over_density = (
        valid
        & ~over_total
        & np.isfinite(floor_area)
        & (total > INSTALLED_KW_PER_M2_MAX * floor_area)
    )
    if not (over_total.any() or over_density.any()):
        return
    cust_problems.add(
        over_total,
        TOTAL_KW_COLUMN,
        f"total installed kW (all equipment lines, standby included) exceeds the limit of "
        f"{INSTALLED_KW_MAX:g} kW for one customer",
        value=np.asarray([f"{t:.10g}" for t in total[over_total]], dtype=object),
        code="reject_total_kw_over",
        params={"limit": INSTALLED_KW_MAX},
    )
    cust_problems.add(
        over_density,
        DENSITY_COLUMN,
        f"installed kW per m² of floor area exceeds the limit of {INSTALLED_KW_PER_M2_MAX:g} "
        "kW/m² (check floor_area_m2 and the ratings)",
        value=np.asarray([f"{d:.6g}" for d in density[over_density]], dtype=object),
        code="reject_density_over",
        params={"limit": INSTALLED_KW_PER_M2_MAX},
    )
    dropped = np.zeros(n_codes, dtype=bool)
    dropped[cust_codes[over_total | over_density]] = True
    eq_problems.add(
        kept & dropped[eq_codes],
        "customer_id",
        _REASON_CUSTOMER_IMPLAUSIBLE,
        code="reject_with_implausible_customer",
    )


def _finish_report(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Report frame in file then row order with text columns as str."""
    order = {CUSTOMERS: 0, EQUIPMENT: 1, METER: 2}
    frame = frame.assign(_file_order=frame["file"].map(order).fillna(3).astype(int))
    frame = frame.sort_values(["_file_order", "row_number"], kind="stable")
    frame = frame.drop(columns="_file_order").reset_index(drop=True)[list(columns)]
    for column in columns:
        if column != "row_number":
            frame[column] = frame[column].astype("str")
    frame["row_number"] = frame["row_number"].astype("int64")
    return frame


# --------------------------------------------------------------------------------------
# existing customers: application type, removals, meter readings
# --------------------------------------------------------------------------------------

_TYPES_TEXT: Final = ", ".join(EXISTING_TYPES)


def _check_application_type(
    customers: pd.DataFrame, text: pd.DataFrame, problems: _Problems
) -> np.ndarray:
    """Default the type to ``new``; an existing customer needs its existing capacity.

    Returns the mask of existing customers (``increase``, ``reduce``, ``suspend``).
    """
    kind = customers["application_type"].fillna(DEFAULT_APPLICATION_TYPE).astype("str")
    customers["application_type"] = kind
    existing = kind.isin(EXISTING_TYPES).to_numpy()
    given = (text["existing_capacity_kva"] != "").to_numpy()
    problems.add(
        existing & ~given,
        "existing_capacity_kva",
        f"existing_capacity_kva is required for an existing customer (application_type "
        f"{_TYPES_TEXT}): the capacity in service before the application, kVA",
        code="reject_existing_capacity_required",
    )
    problems.add(
        ~existing & given & (kind == DEFAULT_APPLICATION_TYPE).to_numpy(),
        "existing_capacity_kva",
        "existing_capacity_kva is given for a new connection; expected it empty, or "
        f"application_type {_TYPES_TEXT}",
        code="reject_existing_capacity_for_new",
    )
    return np.asarray(existing, dtype=bool)


def _reject_impossible_removals(
    cust_problems: _Problems,
    eq_problems: _Problems,
    *,
    capacity: np.ndarray,
    removed: np.ndarray,
    lines_of_kept: np.ndarray,
    cust_codes: np.ndarray,
    eq_codes: np.ndarray,
    n_codes: int,
) -> None:
    """Reject an existing customer whose ``remove`` lines exceed what it could have had.

    More than :data:`~features.contract.REMOVED_KW_PER_KVA_MAX` installed kW per kVA of
    its existing capacity cannot have been connected to it (a typing error, or lines
    that belong to another customer); its lines are rejected with it.
    """
    kept = lines_of_kept & ~eq_problems.bad
    totals = np.bincount(eq_codes[kept], weights=removed[kept], minlength=n_codes)
    total = totals[cust_codes]
    over = ~cust_problems.bad & np.isfinite(capacity) & (total > REMOVED_KW_PER_KVA_MAX * capacity)
    if not over.any():
        return
    cust_problems.add(
        over,
        "removed_kw_total",
        f"the equipment lines to remove install more kW (the value) than a customer of its "
        f"existing_capacity_kva could have had (at most {REMOVED_KW_PER_KVA_MAX:g} kW per kVA); "
        "expected only lines in service today",
        value=np.asarray([f"{t:.10g}" for t in total[over]], dtype=object),
        code="reject_removals_too_large",
        params={"ratio": REMOVED_KW_PER_KVA_MAX},
    )
    dropped = np.zeros(n_codes, dtype=bool)
    dropped[cust_codes[over]] = True
    eq_problems.add(
        kept & dropped[eq_codes],
        "customer_id",
        _REASON_CUSTOMER_INVALID,
        code="reject_with_invalid_customer",
    )


@dataclass
class _MeterCheck:
    """The meter readings' checks, in two steps around the equipment checks.

    :meth:`run` checks every reading and rejects (whole) the customers whose readings are
    broken or too few, before the equipment lines learn which customers were rejected;
    :meth:`finish` keeps the readings of the customers that survived every check and
    reports the others' readings.
    """

    problems: _Problems | None
    typed: pd.DataFrame
    cust_codes: np.ndarray
    rows_read: int | None
    extra: tuple[str, ...]

    @classmethod
    def run(
        cls,
        frame: pd.DataFrame | None,
        source: str,
        customers: pd.DataFrame,
        cust_text: pd.DataFrame,
        cust_problems: _Problems,
        existing: np.ndarray,
        codes: Mapping[str, tuple[tuple[str, ...], str]],
        header_row: int = HEADER_ROWS,
    ) -> _MeterCheck:
        ids = cust_text["customer_id"]
        kinds = customers["application_type"].astype("str").to_numpy(dtype=object)
        if frame is None:
            cust_problems.add(
                existing & ~cust_problems.bad,
                "application_type",
                np.asarray(
                    [
                        f"application_type {k!r} needs meter readings (at least "
                        f"{METER_MONTHS_MIN} months in meter_readings.csv); none were given"
                        for k in kinds[existing & ~cust_problems.bad]
                    ],
                    dtype=object,
                ),
                code="reject_meter_readings_needed",
                params=[
                    {"kind": str(k), "min": METER_MONTHS_MIN}
                    for k in kinds[existing & ~cust_problems.bad]
                ],
            )
            return cls(None, _empty_meter_frame(), np.zeros(0, dtype=np.int64), None, ())
        text, extra, missing = _prepare(frame, METER_COLUMNS, file=METER, source=source)
        if missing:
            raise ContractError(missing)
        rows_read = len(text)
        text, rows, _ = _drop_blank(text, frame.shape[1], header_row)
        problems = _Problems(METER, text, rows)
        typed = _check_file(text, METER_COLUMNS, problems, also_required=(), codes=codes)
        year, month = parse_periods(text["period"])
        problems.add(
            (text["period"] != "").to_numpy() & (month < 0),
            "period",
            "period must be a billing month written YYYY-MM, e.g. 2026-07",
            code="reject_meter_period",
        )
        # The reading's customer: its row in the customers file (-1: none).
        # A duplicated id points at its first row (all its rows are rejected anyway).
        first = np.flatnonzero(~ids.duplicated(keep="first").to_numpy())
        found = pd.Index(ids.to_numpy()[first]).get_indexer(text["customer_id"])
        lookup = np.where(found >= 0, first[np.maximum(found, 0)], -1)
        dup_ids = ids.duplicated(keep=False).to_numpy()
        pos = np.where(lookup >= 0, lookup, -1)
        known = pos >= 0
        problems.add(
            ~known & (text["customer_id"] != "").to_numpy(),
            "customer_id",
            _REASON_UNKNOWN_CUSTOMER,
            code="reject_unknown_customer",
        )
        safe = np.where(known, pos, 0)
        own_existing = known & existing[safe]
        problems.add(
            known & ~existing[safe] & ~dup_ids[safe],
            "customer_id",
            "meter readings for a new connection (application_type new): readings belong to "
            f"an existing customer (application_type {_TYPES_TEXT})",
            code="reject_meter_readings_for_new",
        )
        twice = pd.DataFrame({"c": text["customer_id"], "p": text["period"]}).duplicated(keep=False)
        problems.add(
            twice.to_numpy() & known & (month > 0),
            "period",
            "the same month is read twice for this customer; expected one row per month",
            code="reject_meter_duplicate_period",
        )
        hours = hours_in_month(year, month)
        energy = typed["energy_kwh"].to_numpy(dtype=float)
        demand = typed["max_demand_kw"].to_numpy(dtype=float)
        capacity = customers["existing_capacity_kva"].to_numpy(dtype=float)[safe]
        flat_out = capacity * hours
        with np.errstate(invalid="ignore"):
            absurd = own_existing & np.isfinite(energy) & (energy > flat_out)
        problems.add(
            absurd,
            "energy_kwh",
            "energy_kwh is more than the existing capacity could deliver running flat out for "
            "the month (existing_capacity_kva × the month's hours); expected the month's "
            "metered energy",
            code="reject_meter_energy_absurd",
        )
        with np.errstate(invalid="ignore"):
            absurd_demand = (
                own_existing
                & np.isfinite(demand)
                & (demand > MAX_DEMAND_OVER_CAPACITY_MAX * capacity)
            )
        problems.add(
            absurd_demand,
            "max_demand_kw",
            f"max_demand_kw is more than {MAX_DEMAND_OVER_CAPACITY_MAX:g} kW per kVA of the "
            "existing capacity; expected the month's metered maximum demand",
            code="reject_meter_demand_absurd",
            params={"ratio": MAX_DEMAND_OVER_CAPACITY_MAX},
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_above_max = (
                own_existing
                & ~absurd
                & np.isfinite(demand)
                & np.isfinite(energy)
                & (energy / hours > demand * 1.001)
            )
        problems.add(
            mean_above_max,
            "energy_kwh",
            "energy_kwh implies a mean demand above the month's max_demand_kw; expected "
            "energy_kwh ≤ max_demand_kw × the month's hours",
            code="reject_meter_mean_above_max",
        )
        check = cls(problems, typed, np.where(own_existing, pos, -1), rows_read, extra)
        check._reject_customers(cust_problems, existing, kinds)
        return check

    def _reject_customers(
        self, cust_problems: _Problems, existing: np.ndarray, kinds: np.ndarray
    ) -> None:
        """Reject customers with a broken reading, or with too few or too many months."""
        assert self.problems is not None
        n = len(existing)
        owned = self.cust_codes >= 0
        bad = np.bincount(self.cust_codes[owned & self.problems.bad], minlength=n)
        good = np.bincount(self.cust_codes[owned & ~self.problems.bad], minlength=n)
        broken = existing & ~cust_problems.bad & (bad > 0)
        cust_problems.add(
            broken,
            "meter_readings",
            "customer rejected: some of its meter readings are invalid (the value says how "
            "many; see the meter_readings rejects): an existing customer is sized from all its "
            "months or not at all",
            value=np.asarray(
                [f"{b} of {b + g} invalid" for b, g in zip(bad[broken], good[broken], strict=True)],
                dtype=object,
            ),
            code="reject_meter_readings_invalid",
            params=[
                {"n": int(b), "of": int(b + g)}
                for b, g in zip(bad[broken], good[broken], strict=True)
            ],
        )
        few = existing & ~cust_problems.bad & (good < METER_MONTHS_MIN)
        cust_problems.add(
            few,
            "meter_readings",
            np.asarray(
                [
                    f"application_type {k!r} needs at least {METER_MONTHS_MIN} monthly meter "
                    f"readings; received {g}"
                    for k, g in zip(kinds[few], good[few], strict=True)
                ],
                dtype=object,
            ),
            value=np.asarray([f"{g} months" for g in good[few]], dtype=object),
            code="reject_meter_too_few_months",
            params=[
                {"kind": str(k), "min": METER_MONTHS_MIN, "n": int(g)}
                for k, g in zip(kinds[few], good[few], strict=True)
            ],
        )
        many = existing & ~cust_problems.bad & (good > METER_MONTHS_MAX)
        cust_problems.add(
            many,
            "meter_readings",
            np.asarray(
                [
                    f"{g} monthly meter readings; expected the {METER_MONTHS_MAX} months "
                    "before the application (at most one row per month)"
                    for g in good[many]
                ],
                dtype=object,
            ),
            value=np.asarray([f"{g} months" for g in good[many]], dtype=object),
            code="reject_meter_too_many_months",
            params=[{"n": int(g), "max": METER_MONTHS_MAX} for g in good[many]],
        )

    def finish(self, keep_customers: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Clean readings of the kept customers, and the readings' reject report."""
        if self.problems is None:
            return _empty_meter_frame(), _empty_frame(HISTORY_REJECT_COLUMNS)
        owned = self.cust_codes >= 0
        kept_customer = np.zeros(len(self.cust_codes), dtype=bool)
        kept_customer[owned] = keep_customers[self.cust_codes[owned]]
        self.problems.add(
            owned & ~kept_customer & ~self.problems.bad,
            "customer_id",
            "customer rejected: see its customers row (its readings are not used)",
            code="reject_with_invalid_customer",
        )
        keep = ~self.problems.bad
        readings = self.typed.loc[keep, ["customer_id", "period", "energy_kwh", "max_demand_kw"]]
        readings = readings.reset_index(drop=True)
        readings["customer_id"] = readings["customer_id"].astype("str")
        readings["period"] = readings["period"].astype("str")
        return readings, self.problems.frame()


def attach_meter_summary(customers: pd.DataFrame, readings: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with the summary of their readings (NaN for those without).

    The one place a history's readings become the model's inputs: the same
    :func:`features.metering.summarise_readings` as one application's
    (:func:`features.build.frames_from_applications`).
    """
    if readings.empty:
        return customers
    summary = summarise_frame(readings, pd.Index(customers["customer_id"].astype(str)))
    out = customers.copy()
    for column in summary.columns:
        out[column] = summary[column].to_numpy()
    return out


# --------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------


def validate_frames(
    customers_df: pd.DataFrame,
    equipment_df: pd.DataFrame,
    *,
    require_label: bool = False,
    catalog: Catalog | None = None,
    sources: tuple[str, str] = ("(in-memory frame)", "(in-memory frame)"),
    drop_incomplete_customers: bool = True,
    meter_readings_df: pd.DataFrame | None = None,
    meter_source: str = "(in-memory frame)",
    allow_not_listed: bool = False,
    header_rows: Mapping[str, int] | None = None,
) -> ValidatedHistory:
    """Validate in-memory customers and equipment frames against the contract.

    Values of any dtype are turned into text first and parsed from there, so in-memory
    frames get exactly the checks a CSV file gets. Row numbers count the header as row 1.

    Parameters
    ----------
    customers_df, equipment_df
        The two contract tables; extra columns are ignored and listed in the summary.
    require_label
        Treat ``peak_demand_kw`` as required (training, evaluation): a customer without a
        valid label is rejected together with its equipment rows.
    catalog
        Industry and category codes; the packaged catalog when omitted.
    sources
        How to name the two inputs in error messages (file paths when loaded from disk).
    drop_incomplete_customers
        Reject a customer when any of its equipment lines is rejected (the default, for
        training, evaluation and batch scoring alike): its list would be incomplete, so it
        would look smaller than it is. The customer is reported with how many of its lines
        were rejected and why, and its remaining lines are reported as rejected too. False
        keeps such customers with their valid lines and only flags them
        (``equipment_row_rejected``).
    meter_readings_df, meter_source
        The optional third table of existing customers (``meter_readings.csv``) and how to
        name it. An existing customer (``application_type`` increase, reduce or suspend)
        needs at least :data:`~features.contract.METER_MONTHS_MIN` valid months; one with
        a broken reading is rejected whole, with the reason, and its other readings are
        reported too (see :func:`_check_meter_readings`).
    allow_not_listed
        Accept the industry :data:`~features.catalog.OTHER_INDUSTRY` (其他, "not in the
        list"): applications to answer (the batch) may say it, a history never does (it is
        no contract code, so the model answers such rows from all industries' figures).
    header_rows
        The spreadsheet row of each table's header, by file name (``customers``,
        ``equipment``, ``meter_readings``), when it is not row 1 (an uploaded file with
        empty lines above its header); every row number reported counts from it.

    Returns
    -------
    ValidatedHistory
        Clean frames, rejects and flags.

    Raises
    ------
    ContractError
        When a required column is missing from either frame.
    """
    catalog = catalog if catalog is not None else load_catalog()
    label = (LABEL_COLUMN,) if require_label else ()
    cust_text, cust_extra, cust_missing = _prepare(
        customers_df, CUSTOMER_COLUMNS, file=CUSTOMERS, source=sources[0], also_required=label
    )
    eq_text, eq_extra, eq_missing = _prepare(
        equipment_df, EQUIPMENT_COLUMNS, file=EQUIPMENT, source=sources[1]
    )
    missing = [m for m in (cust_missing, eq_missing) if m]
    if missing:
        raise ContractError("; ".join(missing))

    codes = {
        "industry": (
            (*catalog.industry_codes, OTHER_INDUSTRY)
            if allow_not_listed
            else catalog.industry_codes,
            "a code from industries.csv",
        ),
        "category": (catalog.category_codes, "a code from categories.csv"),
        "climate_zone": (CLIMATE_ZONES, f"one of {', '.join(CLIMATE_ZONES)} or empty"),
        "application_type": (
            APPLICATION_TYPES,
            f"one of {', '.join(APPLICATION_TYPES)} (empty = {DEFAULT_APPLICATION_TYPE})",
        ),
        "change": (CHANGES, f"one of {', '.join(CHANGES)} (empty = {DEFAULT_CHANGE})"),
    }
    rows_read = {CUSTOMERS: len(cust_text), EQUIPMENT: len(eq_text)}
    header = {CUSTOMERS: HEADER_ROWS, EQUIPMENT: HEADER_ROWS, METER: HEADER_ROWS}
    header.update(header_rows or {})
    cust_text, cust_rows, cust_blank = _drop_blank(
        cust_text, customers_df.shape[1], header[CUSTOMERS]
    )
    eq_text, eq_rows, eq_blank = _drop_blank(eq_text, equipment_df.shape[1], header[EQUIPMENT])

    cust_problems = _Problems(CUSTOMERS, cust_text, cust_rows)
    customers = _check_file(
        cust_text, CUSTOMER_COLUMNS, cust_problems, also_required=label, codes=codes
    )
    ids = cust_text["customer_id"]
    duplicated = (ids.duplicated(keep=False) & (ids != "")).to_numpy()
    cust_problems.add(
        duplicated, "customer_id", _REASON_DUPLICATE, code="reject_duplicate_customer_id"
    )
    existing = _check_application_type(customers, cust_text, cust_problems)
    meter = _MeterCheck.run(
        meter_readings_df,
        meter_source,
        customers,
        cust_text,
        cust_problems,
        existing,
        codes,
        header[METER],
    )
    if meter.rows_read is not None:
        rows_read[METER] = meter.rows_read
    keep_customers = ~cust_problems.bad

    eq_problems = _Problems(EQUIPMENT, eq_text, eq_rows)
    equipment = _check_file(eq_text, EQUIPMENT_COLUMNS, eq_problems, also_required=(), codes=codes)
    equipment["change"] = equipment["change"].fillna(DEFAULT_CHANGE)
    eq_ids = eq_text["customer_id"]
    has_id = (eq_ids != "").to_numpy()
    # Each equipment row's customer status (0 kept, 1 duplicate, 2 rejected, -1 unknown) from
    # one joint factorisation, far faster than isin on millions of strings. Every row of a
    # duplicated id has status 1, so which of them writes last does not matter.
    id_codes, uniques = pd.factorize(pd.concat([ids, eq_ids], ignore_index=True))
    is_existing = np.zeros(len(uniques), dtype=bool)
    is_existing[id_codes[: len(ids)]] = existing
    removes = (equipment["change"] == "remove").to_numpy()
    eq_problems.add(
        removes & has_id & ~is_existing[id_codes[len(ids) :]],
        "change",
        "change 'remove' on a new connection: a new customer has nothing to take out of "
        "service; expected add, or application_type increase, reduce or suspend",
        code="reject_remove_on_new",
    )
    own_bad = eq_problems.bad.copy()  # lines rejected for their own values
    own_rejects = eq_problems.frame()
    status = np.full(len(uniques), -1, dtype="int8")
    status[id_codes[: len(ids)]] = np.where(duplicated, 1, np.where(cust_problems.bad, 2, 0))
    eq_status = status[id_codes[len(ids) :]]
    eq_problems.add(
        has_id & (eq_status == 1),
        "customer_id",
        _REASON_CUSTOMER_DUPLICATE,
        code="reject_with_duplicate_customer",
    )
    eq_problems.add(
        has_id & (eq_status == 2),
        "customer_id",
        _REASON_CUSTOMER_INVALID,
        code="reject_with_invalid_customer",
    )
    eq_problems.add(
        has_id & (eq_status == -1),
        "customer_id",
        _REASON_UNKNOWN_CUSTOMER,
        code="reject_unknown_customer",
    )
    if drop_incomplete_customers:
        _reject_incomplete(
            cust_problems,
            eq_problems,
            own_bad=own_bad,
            own_rejects=own_rejects,
            lines_of_kept=has_id & (eq_status == 0),
            cust_codes=id_codes[: len(ids)],
            eq_codes=id_codes[len(ids) :],
            n_codes=len(uniques),
        )
    installed = (equipment["rated_kw"] * equipment["quantity"]).to_numpy(dtype=float)
    _reject_implausible_totals(
        cust_problems,
        eq_problems,
        floor_area=customers["floor_area_m2"].to_numpy(dtype=float),
        installed=np.nan_to_num(installed, nan=0.0),
        lines_of_kept=has_id & (eq_status == 0),
        cust_codes=id_codes[: len(ids)],
        eq_codes=id_codes[len(ids) :],
        n_codes=len(uniques),
    )
    _reject_impossible_removals(
        cust_problems,
        eq_problems,
        capacity=customers["existing_capacity_kva"].to_numpy(dtype=float),
        removed=np.where(removes, np.nan_to_num(installed, nan=0.0), 0.0),
        lines_of_kept=has_id & (eq_status == 0),
        cust_codes=id_codes[: len(ids)],
        eq_codes=id_codes[len(ids) :],
        n_codes=len(uniques),
    )
    keep_customers = ~cust_problems.bad
    keep_equipment = ~eq_problems.bad
    readings, meter_rejects = meter.finish(keep_customers)

    customers = customers.loc[keep_customers].reset_index(drop=True)
    equipment = equipment.loc[keep_equipment].reset_index(drop=True)
    equipment["quantity"] = equipment["quantity"].astype("int64")
    rejects_customers = cust_problems.frame()
    rejects_equipment = eq_problems.frame()

    flags = _flags(
        customers,
        cust_rows[keep_customers],
        equipment,
        eq_rows[keep_equipment],
        rejects_equipment,
        catalog,
    )
    rejects = _finish_report(
        pd.concat([rejects_customers, rejects_equipment, meter_rejects], ignore_index=True),
        HISTORY_REJECT_COLUMNS,
    )

    customers = CLEAN_CUSTOMERS_SCHEMA.validate(customers)
    equipment = CLEAN_EQUIPMENT_SCHEMA.validate(equipment)
    customers = attach_meter_summary(customers, readings)
    if require_label and customers[LABEL_COLUMN].isna().any():  # pragma: no cover - invariant
        raise AssertionError("require_label: a customer without a label survived validation")
    return ValidatedHistory(
        customers=customers,
        equipment=equipment,
        rejects=rejects,
        flags=flags,
        rows_read=rows_read,
        blank_rows={CUSTOMERS: cust_blank, EQUIPMENT: eq_blank},
        ignored_columns={
            f: cols
            for f, cols in ((CUSTOMERS, cust_extra), (EQUIPMENT, eq_extra), (METER, meter.extra))
            if cols
        },
        meter_readings=readings,
    )


def load_history(
    customers_path: str | Path,
    equipment_path: str | Path | None,
    *,
    require_label: bool = False,
    catalog: Catalog | None = None,
    drop_incomplete_customers: bool = True,
    meter_readings_path: str | Path | None = None,
    allow_not_listed: bool = False,
) -> ValidatedHistory:
    """Load and validate a utility's ``customers`` and ``equipment`` files.

    Parameters
    ----------
    customers_path, equipment_path
        CSV (UTF-8, with or without BOM) or Parquet files, chosen by suffix. Without an
        equipment file (None) every customer has no equipment lines (area-only, or an
        existing customer sized from its meter with no change).
    require_label
        Treat ``peak_demand_kw`` as required (training and evaluation histories).
    catalog
        Industry and category codes; the packaged catalog when omitted.
    drop_incomplete_customers
        Reject customers whose equipment lines were (partly) rejected (the default); see
        :func:`validate_frames`.
    meter_readings_path
        The optional ``meter_readings.csv`` (or Parquet) of existing customers.
    allow_not_listed
        Accept the industry 其他 (applications to score, never a history); see
        :func:`validate_frames`.

    Returns
    -------
    ValidatedHistory
        Clean frames, rejects and flags; see :func:`validate_frames`.

    Raises
    ------
    ContractError
        When a file is unreadable, not UTF-8, empty, or misses a required column.
    FileNotFoundError
        When a file does not exist.
    """
    paths = (Path(customers_path), None if equipment_path is None else Path(equipment_path))
    for file, path in zip((CUSTOMERS, EQUIPMENT), paths, strict=True):
        if path is not None and not path.is_file():
            raise FileNotFoundError(
                f"{file} file not found: {path} (expected a CSV or Parquet file)"
            )
    meter = None
    if meter_readings_path is not None:
        meter_path = Path(meter_readings_path)
        if not meter_path.is_file():
            raise FileNotFoundError(
                f"{METER} file not found: {meter_path} (expected a CSV or Parquet file)"
            )
        meter = _read_table(meter_path, METER)
    equipment = (
        _read_table(paths[1], EQUIPMENT)
        if paths[1] is not None
        else pd.DataFrame(columns=[c.name for c in EQUIPMENT_COLUMNS], dtype=str)
    )
    return validate_frames(
        _read_table(paths[0], CUSTOMERS),
        equipment,
        require_label=require_label,
        catalog=catalog,
        sources=(str(paths[0]), str(paths[1] or "(no equipment file)")),
        drop_incomplete_customers=drop_incomplete_customers,
        meter_readings_df=meter,
        meter_source=str(meter_readings_path),
        allow_not_listed=allow_not_listed,
    )


# --------------------------------------------------------------------------------------
# any other contract table (outcomes)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidatedTable:
    """One contract table after validation: the typed rows kept and every row rejected.

    Attributes
    ----------
    frame
        The rows without a problem, one typed column per spec plus ``row_number``.
    rejects
        One row per problem, columns :func:`reject_columns` of the table's key, in row order
        (the same report a history's :attr:`ValidatedHistory.rejects` is).
    ignored_columns
        Columns of the input that are not in the specs.
    blank_rows
        Rows whose every value was empty (skipped, not reported).
    """

    frame: pd.DataFrame
    rejects: pd.DataFrame
    ignored_columns: tuple[str, ...]
    blank_rows: int


def validate_table(
    frame: pd.DataFrame,
    specs: tuple[ColumnSpec, ...],
    *,
    file: str,
    key: str,
    source: str = "(in-memory frame)",
    row_numbers: np.ndarray | None = None,
    codes: Mapping[str, tuple[tuple[str, ...], str]] | None = None,
) -> ValidatedTable:
    """Validate one table against its column specs, with the checks a history gets.

    Every value is taken as text and parsed column by column (:func:`_check_column`: empty
    required values, numbers, ranges, whole numbers, booleans, codes); a row with any
    problem is dropped and reported.

    Parameters
    ----------
    frame
        The table; values of any dtype (they are turned into text first).
    specs
        Its contract columns, e.g. :data:`features.contract.OUTCOME_COLUMNS`.
    file, key
        The table's name in the report, and the column that identifies a row.
    source
        How to name the input in error messages (its path).
    row_numbers
        The spreadsheet row number of each row (a CSV cell may span lines); by default
        the position counted from row 2 (the header is row 1).
    codes
        Valid codes and their description per ``code`` column.

    Returns
    -------
    ValidatedTable
        Kept rows, rejects, ignored columns and the number of blank rows.

    Raises
    ------
    ContractError
        A required column is missing (``missing`` names it).
    """
    text, extra, problem = _prepare(frame, specs, file=file, source=source)
    if problem:
        present = {str(c).strip() for c in frame.columns}
        raise ContractError(
            problem, missing=tuple(s.name for s in specs if s.required and s.name not in present)
        )
    rows = (
        spreadsheet_rows(len(text))
        if row_numbers is None
        else np.asarray(row_numbers, dtype="int64")
    )
    if len(rows) != len(text):
        raise ValueError(f"row_numbers has {len(rows)} entries; expected {len(text)}, one a row")
    blank = (text == "").all(axis=1).to_numpy() if len(text.columns) else np.zeros(0, bool)
    text, rows = text.loc[~blank].reset_index(drop=True), rows[~blank]
    problems = _Problems(file, text, rows, key)
    typed = _check_file(text, specs, problems, also_required=(), codes=codes or {})
    kept = typed.loc[~problems.bad].assign(row_number=rows[~problems.bad]).reset_index(drop=True)
    return ValidatedTable(
        frame=kept,
        rejects=_finish_report(problems.frame(), reject_columns(key)),
        ignored_columns=tuple(extra),
        blank_rows=int(blank.sum()),
    )
