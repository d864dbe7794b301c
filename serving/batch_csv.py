"""The batch's contract files: uploads read (CSV or a workbook), answers written as CSV.

``/recommend_batch`` takes the contract's ``customers`` and ``equipment`` tables as two
CSV files or as the two sheets of one .xlsx workbook; its CSV answer has the columns
:data:`BATCH_CSV_COLUMNS`, printed at sensible precision and formula-safe
(:func:`csv_safe`). ``/export/batch`` turns that CSV into a workbook with the same columns.
"""

from __future__ import annotations

import csv
import io
import pathlib
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from features.cells import formula_safe
from serving.errors import single_error

MAX_BATCH = 10_000
"""Most applications (or customers) one batch may hold."""
BATCH_CSV_COLUMNS = (
    "customer_id",
    "status",
    "recommended_kva",
    "predicted_peak_kw",
    "peak_low_kw",
    "peak_high_kw",
    "p_appropriate",
    "p_undersized",
    "p_oversized",
    "engineering_kva",
    "supply_voltage",
    "two_part_tariff",
    "monthly_capacity_charge_yuan",
    "applied_kva",
    "applied_verdict",
    "applied_p_appropriate",
    "applied_yearly_difference_yuan",
    "basis",
    "application_type",
    "existing_capacity_kva",
    "measured_load_rate",
    "metered_part_kw",
    "change_kw",
    "p_undersized_today",
    "yearly_difference_yuan",
    "clamped",
    "manual_review",
    "incomplete_list",
    "unmatched_lines",
    "flags",
    "model_version",
    "recommendation_id",
    "reason",
)
CSV_DIGITS: dict[str, int] = {
    "predicted_peak_kw": 1,
    "peak_low_kw": 1,
    "peak_high_kw": 1,
    "p_appropriate": 3,
    "p_undersized": 3,
    "p_oversized": 3,
    "applied_p_appropriate": 3,
    "monthly_capacity_charge_yuan": 0,
    "applied_yearly_difference_yuan": 0,
    "measured_load_rate": 3,
    "metered_part_kw": 1,
    "change_kw": 1,
    "p_undersized_today": 3,
    "yearly_difference_yuan": 0,
}
"""Decimals printed per CSV column: kW to 0.1 kW, probabilities to 0.1 %, yuan whole.
Capacities (kVA) print as the standard value they are (630, not 630.0)."""
CSV_KVA_COLUMNS = frozenset(
    {"recommended_kva", "engineering_kva", "applied_kva", "existing_capacity_kva"}
)


@dataclass(frozen=True)
class ContractUpload:
    """The validated contract tables of one upload (``features.validation`` result)."""

    validated: Any
    customers: pathlib.Path
    equipment: pathlib.Path | None
    notes: tuple[dict[str, Any], ...] = ()
    """What was read or resolved (encoding, headers, words → codes, figures from names)."""


def read_contract_upload(
    customers: Any, equipment: Any, meter_readings: Any = None
) -> ContractUpload | Response:
    """Read and validate uploaded contract CSV files, or the 400 answer naming the problem."""
    import pandas as pd

    from features.contract import EQUIPMENT_COLUMNS
    from features.validation import ContractError, validate_frames

    if customers is None:
        return single_error(
            "customers",
            None,
            "a 'customers' CSV file, with or without an 'equipment' CSV file",
            "missing customers file",
        )
    uploads = [("customers", customers)]
    if equipment is not None:
        uploads.append(("equipment", equipment))
    if meter_readings is not None:
        uploads.append(("meter_readings", meter_readings))
    for name, value in uploads:
        if not isinstance(value, pathlib.Path | str) or not pathlib.Path(value).is_file():
            return single_error(name, str(value)[:100], "an uploaded CSV file", "not a file upload")
    from features.uploads import read_table, resolve_customers, resolve_equipment

    try:
        # Read as the form reads: UTF-8 or GBK, Chinese headers, industry words, names
        # without a category, figures written in names (features.uploads).
        cust_table = read_table(pathlib.Path(customers), "customers")
        cust = cust_table.frame
        notes = [*cust_table.notes, *resolve_customers(cust)]
        if equipment is not None:
            equip_table = read_table(pathlib.Path(equipment), "equipment")
            equip = equip_table.frame
            notes += [*equip_table.notes, *resolve_equipment(equip)]
        else:
            # Customers only: every customer is answered area-only (or industry-only).
            equip = pd.DataFrame(columns=[c.name for c in EQUIPMENT_COLUMNS], dtype=str)
        meter = (
            None
            if meter_readings is None
            else pd.read_csv(meter_readings, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        )
        validated = validate_frames(
            cust,
            equip,
            sources=("customers", "equipment"),
            meter_readings_df=meter,
            meter_source="meter_readings",
        )
    except (ContractError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        return single_error(
            "customers/equipment/meter_readings",
            None,
            "contract CSV files (UTF-8 or GBK)",
            str(exc),
        )
    if len(validated.customers) > MAX_BATCH:
        return single_error(
            "customers",
            len(validated.customers),
            f"at most {MAX_BATCH} customers",
            "batch too large",
        )
    return ContractUpload(
        validated,
        pathlib.Path(customers),
        None if equipment is None else pathlib.Path(equipment),
        tuple(n.as_dict() for n in notes),
    )


def reject_rows(rejects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rejected contract rows as CSV answer rows (nothing is dropped silently).

    A customer rejected because some of its equipment lines were rejected carries
    ``incomplete_list = true``: answered on the rest it would be undersized.
    """
    from features.validation import INCOMPLETE_SUFFIX

    return [
        {
            "customer_id": rej.get("customer_id", ""),
            "status": f"rejected ({rej.get('file')} row {rej.get('row_number')})",
            "incomplete_list": rej.get("file") == "customers"
            and str(rej.get("reason", "")).endswith(INCOMPLETE_SUFFIX),
            "reason": f"{rej.get('column')}={rej.get('value')!r}: {rej.get('reason')}",
        }
        for rej in rejects
    ]


WORKBOOK_SHEETS = ("customers", "equipment")
"""Sheet names of a batch workbook (the contract's two tables)."""


def workbook_sheets(workbook: Any) -> tuple[pathlib.Path, pathlib.Path | None] | Response:
    """The two sheets of an uploaded .xlsx as contract CSV files beside the upload."""
    import pandas as pd

    path = pathlib.Path(workbook)
    if not path.is_file():
        return single_error("workbook", str(workbook)[:100], "an uploaded .xlsx file", "not a file")
    try:
        # From bytes: openpyxl refuses a path whose name lacks an .xlsx suffix.
        sheets = pd.read_excel(
            io.BytesIO(path.read_bytes()),
            sheet_name=None,
            dtype=str,
            na_filter=False,
            engine="openpyxl",
        )
    except Exception as exc:  # any unreadable workbook is the client's fault
        return single_error(
            "workbook", path.name[:100], "an Excel .xlsx workbook", f"unreadable workbook: {exc}"
        )
    names = {str(name).strip().lower(): frame for name, frame in sheets.items()}
    if "customers" not in names:
        return single_error(
            "workbook",
            sorted(str(n) for n in sheets)[:10],
            "a sheet named 'customers' (and optionally 'equipment')",
            "no customers sheet in the workbook",
        )
    out: list[pathlib.Path | None] = []
    for name in WORKBOOK_SHEETS:
        frame = names.get(name)
        if frame is None:
            out.append(None)
            continue
        target = path.with_name(f"{path.stem}-{name}.csv")
        frame.to_csv(target, index=False, encoding="utf-8")
        out.append(target)
    assert out[0] is not None
    return out[0], out[1]


def with_flags(rows: list[dict[str, Any]], flags: Any) -> list[dict[str, Any]]:
    """Scored rows with the validation flags of their customer (``flag`` codes, ``;``)."""
    by_customer: dict[str, list[str]] = {}
    for cid, flag in zip(flags["customer_id"], flags["flag"], strict=True):
        codes = by_customer.setdefault(str(cid), [])
        if flag not in codes:
            codes.append(str(flag))
    for row in rows:
        row["flags"] = ";".join(by_customer.get(str(row.get("customer_id")), []))
        row.setdefault("incomplete_list", False)
    return rows


def csv_cell(column: str, value: Any) -> Any:
    """A CSV cell at sensible precision (see CSV_DIGITS), formula-safe text."""
    value = clean(value)
    if isinstance(value, float):
        if value != value:
            return ""
        if column in CSV_KVA_COLUMNS:
            return f"{value:g}"
        digits = CSV_DIGITS.get(column)
        if digits is not None:
            return f"{value:.{digits}f}"
    return csv_safe(value)


def clean(value: Any) -> Any:
    """NaN (pandas' missing) as None, numpy scalars as Python numbers, for JSON logging."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


# One rule for every cell we write (features.cells); the old name stays for callers.
csv_safe = formula_safe


def csv_response(rows: list[dict[str, Any]]) -> Response:
    """The CSV answer of a batch: the columns of BATCH_CSV_COLUMNS, formula-safe cells."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(BATCH_CSV_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: csv_cell(k, v) for k, v in row.items()} for row in rows)
    return Response(
        buf.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="recommendations.csv"'},
    )
