"""Import of an outcomes CSV into the recommendation log (``capacity outcomes import``).

An outcomes file says, for logged recommendations, what was granted and what was metered:
header ``recommendation_id,granted_kva,metered_peak_kw[,note]``
(:data:`features.contract.OUTCOME_COLUMNS`). It is checked by the contract machinery that
checks a history (:func:`features.validation.validate_table`: the same parsing, the same
reasons, the same reject report); what passes is recorded in one transaction through the
store (:meth:`serving.logbook.Logbook.record_outcomes`), which refuses unknown ids and
conflicting outcomes. Every data row is recorded or reported.

Offline work on the log, so on the training side; the runtime only records outcomes one at
a time (``POST /api/feedback``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.atomic import write_csv
from features.cells import formula_safe_frame
from features.contract import OUTCOME_COLUMNS
from features.validation import ContractError, reject_columns, validate_table
from serving.logbook import Logbook

__all__ = [
    "OUTCOMES_FILE",
    "OUTCOME_KEY",
    "ImportResult",
    "ImportRowError",
    "import_outcomes",
]

OUTCOMES_FILE = "outcomes"
"""The file's name in reject reports."""
OUTCOME_KEY = "recommendation_id"
"""The column that identifies a row of an outcomes file."""
ROW_COLUMN = "(row)"
"""The ``column`` of a reject that concerns the whole row (wrong number of fields)."""

_REQUIRED = tuple(s.name for s in OUTCOME_COLUMNS if s.required)
_EXPECTED_HEADER = ", ".join(_REQUIRED) + "".join(
    f"[, {s.name}]" for s in OUTCOME_COLUMNS if not s.required
)


@dataclass(frozen=True, slots=True)
class ImportRowError:
    """A CSV row that was not recorded, and why.

    ``row`` is the line of the file the row starts on, as a spreadsheet numbers rows: the
    header is row 1, so the first data row is row 2 (blank lines count as rows too).
    """

    row: int
    column: str
    value: str
    reason: str
    recommendation_id: str = ""
    """The row's recommendation id as written (for the reject report)."""

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}, value {self.value!r}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_outcomes` did with each data row of the file.

    Every data row is either recorded (its outcome id is in ``outcome_ids``) or reported in
    ``errors`` (one entry per problem; a row may have several). A row repeating an outcome
    already recorded (same values) counts as recorded with the existing outcome's id.
    ``ignored_columns`` lists header columns the import does not read.
    """

    path: Path
    rows_read: int
    outcome_ids: list[int] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        """Number of outcomes recorded."""
        return len(self.outcome_ids)

    @property
    def rejected_rows(self) -> list[int]:
        """Row numbers (header = row 1) that were not recorded, ascending."""
        return sorted({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        """Whether every row was recorded."""
        return not self.errors

    @property
    def rejects(self) -> pd.DataFrame:
        """The errors as a reject report, columns :func:`~features.validation.reject_columns`.

        The same layout as a history's rejects, keyed by ``recommendation_id``.
        """
        columns = reject_columns(OUTCOME_KEY)
        frame = pd.DataFrame(
            [
                (OUTCOMES_FILE, e.row, e.recommendation_id, e.column, e.value, e.reason)
                for e in self.errors
            ],
            columns=list(columns),
        )
        frame["row_number"] = frame["row_number"].astype("int64")
        return frame

    def write_report(self, out_dir: str | Path) -> Path:
        """Write ``outcome_rejects.csv`` (UTF-8 with BOM, for spreadsheets) to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "outcome_rejects.csv"
        write_csv(formula_safe_frame(self.rejects), path, index=False, encoding="utf-8-sig")
        return path


def _without_column(column: str, reason: str) -> str:
    """The contract's reason without its leading ``"<column> is "``.

    The error names the column already (``row 3, column 'granted_kva', value 'abc': not a
    number ...``).
    """
    prefix = f"{column} is "
    return reason[len(prefix) :] if reason.startswith(prefix) else reason


def _read_records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank data records, each with the line it starts on."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected a UTF-8 CSV"
        ) from exc
    # The csv module, not pandas: a quoted cell may span lines, and the row number reported
    # must be the line the record starts on; a record with the wrong number of fields is a
    # row error here, where pandas would pad it or fail the whole file.
    reader = csv.reader(io.StringIO(content, newline=""))
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    previous_line = 0
    for record in reader:
        row_number, previous_line = previous_line + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = [cell.strip() for cell in record]
        else:
            records.append((row_number, record))
    if header is None:
        raise ValueError(
            f"{path}: the file is empty; expected a header {_EXPECTED_HEADER} and data rows"
        )
    return header, records


def import_outcomes(logbook: Logbook, path: str | Path) -> ImportResult:
    """Record the outcomes of a CSV file; report every row that cannot be recorded.

    The file is UTF-8 (a BOM is accepted) with the header
    ``recommendation_id,granted_kva,metered_peak_kw[,note]``. Valid rows are recorded
    together in one transaction with source ``'import'``; each invalid row is listed in
    :attr:`ImportResult.errors` with its row number (header = row 1), column, value and
    reason. Blank lines are skipped.

    Parameters
    ----------
    logbook
        The open recommendation log.
    path
        The CSV file.

    Returns
    -------
    ImportResult
        Recorded outcome ids, row errors and ignored columns.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not UTF-8 or lacks a required column (nothing is recorded).
    """
    path = Path(path)
    header, records = _read_records(path)
    key_at = header.index(OUTCOME_KEY) if OUTCOME_KEY in header else None
    keys = {
        n: (r[key_at].strip() if key_at is not None and key_at < len(r) else "") for n, r in records
    }
    errors: list[ImportRowError] = []
    well_formed: list[tuple[int, list[str]]] = []
    for row_number, record in records:
        if len(record) == len(header):
            well_formed.append((row_number, record))
        else:
            errors.append(
                ImportRowError(
                    row_number,
                    ROW_COLUMN,
                    ",".join(record),
                    f"{len(record)} fields; expected {len(header)} like the header",
                    keys[row_number],
                )
            )
    # Column by column (a repeated header name: the last one wins, as in a dict).
    columns = {name: [r[i] for _, r in well_formed] for i, name in enumerate(header)}
    try:
        table = validate_table(
            pd.DataFrame(columns, dtype="str"),
            OUTCOME_COLUMNS,
            file=OUTCOMES_FILE,
            key=OUTCOME_KEY,
            source=str(path),
            row_numbers=np.asarray([n for n, _ in well_formed], dtype="int64"),
        )
    except ContractError as exc:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(exc.missing)}; received header "
            f"{', '.join(header) or '(empty)'}, expected {_EXPECTED_HEADER}"
        ) from exc
    errors.extend(
        ImportRowError(
            int(r.row_number),
            str(r.column),
            str(r.value),
            _without_column(str(r.column), str(r.reason)),
            keys[int(r.row_number)],
        )
        for r in table.rejects.itertuples(index=False)
    )

    kept = table.frame
    outcome_ids: list[int] = []
    if len(kept):
        outcomes = [
            {
                "recommendation_id": rid,
                "granted_kva": float(granted),
                "metered_peak_kw": float(peak),
                "note": note or None,
            }
            for rid, granted, peak, note in zip(
                kept["recommendation_id"],
                kept["granted_kva"],
                kept["metered_peak_kw"],
                kept["note"],
                strict=True,
            )
        ]
        answers = logbook.record_outcomes(outcomes, source="import")
        for row_number, outcome, answer in zip(kept["row_number"], outcomes, answers, strict=True):
            if isinstance(answer, int):
                outcome_ids.append(answer)
            else:
                errors.append(
                    ImportRowError(
                        int(row_number),
                        OUTCOME_KEY,
                        outcome["recommendation_id"],
                        answer,
                        outcome["recommendation_id"],
                    )
                )

    errors.sort(key=lambda e: (e.row, e.column))
    return ImportResult(
        path=path,
        rows_read=len(records),
        outcome_ids=outcome_ids,
        errors=errors,
        ignored_columns=list(table.ignored_columns),
    )
