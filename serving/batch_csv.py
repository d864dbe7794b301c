"""The batch's contract files: uploads read (CSV or a workbook), answers written as CSV.

``/recommend_batch`` takes the contract's ``customers`` and ``equipment`` tables as two
CSV files or as the two sheets of one .xlsx workbook; its CSV answer has the columns
:data:`BATCH_CSV_COLUMNS`, printed at sensible precision and formula-safe
(:func:`csv_safe`). ``/export/batch`` turns that CSV into a workbook with the same columns.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from features.cells import formula_safe
from serving.errors import single_error

MAX_BATCH = 10_000
"""Most applications (or customers) one batch may hold."""
MAX_UPLOAD_ROWS = 200_000
"""Most rows of one uploaded table (10,000 customers with 20 equipment lines each)."""
MAX_UPLOAD_COLUMNS = 64
"""Most columns of one uploaded table (the contract's tables have fewer than 20)."""
MAX_UPLOAD_CELLS = 2_000_000
"""Most cells of one uploaded table, counted as it streams in."""
MAX_WORKBOOK_UNPACKED_BYTES = 96 * 1024 * 1024
"""Largest unpacked size of an uploaded .xlsx (a zip): a 2 KB archive may unpack to
gigabytes. A 10,000-customer workbook with 200,000 equipment lines unpacks to ~40 MB."""
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
    # Issue 25: a rejected customer is one row naming every row of the files it had
    # (source_rows) and its reasons as codes with parameters (reject_reasons, JSON).
    "source_rows",
    "reject_reasons",
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
    ids: tuple[tuple[str, Any, Any], ...] = ()
    """``(file, customer_id column, spreadsheet row numbers)`` of the files as read."""

    def rows_of(self, customer_id: str) -> dict[str, list[int]]:
        """The spreadsheet rows of ``customer_id``'s lines in each file."""
        out: dict[str, list[int]] = {}
        for file, column, rows in self.ids:
            hits = (column == customer_id).to_numpy()
            if hits.any():
                out[file] = [int(r) for r in rows[hits]]
        return out

    def rejects(self) -> list[dict[str, Any]]:
        """The reject report's rows (``params`` as mappings) and the rows lost in reading.

        A line whose quote is never closed is not in the files' checks (it could not be
        split into cells): it is reported here, so every rejected row is.
        """
        rows: list[dict[str, Any]] = self.validated.rejects.to_dict(orient="records")
        for row in rows:
            row["params"] = json.loads(row["params"]) if row.get("params") else {}
        for note in self.notes:
            if note.get("code") == "upload_unclosed_quote":
                rows.append(
                    {
                        "file": note.get("source"),
                        "row_number": note.get("row"),
                        "customer_id": (note.get("params") or {}).get("customer_id", ""),
                        "column": "(line)",
                        "value": (note.get("params") or {}).get("line", ""),
                        "reason": "the line has a quote that is never closed",
                        "code": "reject_unclosed_quote",
                        "params": {"column": "(line)"},
                    }
                )
        return rows


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
        too_big = check_csv_bounds(pathlib.Path(value), name)
        if too_big is not None:
            return too_big
    from features.uploads import read_table, resolve_customers, resolve_equipment

    try:
        # Read as the form reads: UTF-8 or GBK, Chinese headers, industry words, names
        # without a category, figures written in names (features.uploads).
        # Every file, meter readings too, so GBK, an unclosed quote and empty lines above
        # the header are read the same way in each (row numbers from the header's row).
        tables = {"customers": read_table(pathlib.Path(customers), "customers")}
        cust = tables["customers"].frame
        notes = [
            *tables["customers"].notes,
            *resolve_customers(cust, header_row=tables["customers"].header_row),
        ]
        if equipment is not None:
            tables["equipment"] = read_table(pathlib.Path(equipment), "equipment")
            equip = tables["equipment"].frame
            notes += [
                *tables["equipment"].notes,
                *resolve_equipment(equip, header_row=tables["equipment"].header_row),
            ]
        else:
            # Customers only: every customer is answered area-only (or industry-only).
            equip = pd.DataFrame(columns=[c.name for c in EQUIPMENT_COLUMNS], dtype=str)
        meter = None
        if meter_readings is not None:
            tables["meter_readings"] = read_table(pathlib.Path(meter_readings), "meter_readings")
            meter = tables["meter_readings"].frame
            notes += tables["meter_readings"].notes
        validated = validate_frames(
            cust,
            equip,
            sources=("customers", "equipment"),
            meter_readings_df=meter,
            meter_source="meter_readings",
            # Applications may say 其他 (not listed): answered from all industries, reviewed.
            allow_not_listed=True,
            header_rows={name: table.header_row for name, table in tables.items()},
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
    ids = [
        (name, table.frame["customer_id"].astype(str).str.strip(), table.rows())
        for name, table in tables.items()
        if "customer_id" in table.frame.columns
    ]
    noted = [n.as_dict() for n in notes]
    headers = {name: list(table.frame.columns) for name, table in tables.items()}
    for note in noted:
        if note.get("code") == "upload_unclosed_quote":
            # Which customer the lost line was (its first cells read as written): the
            # reject report names it with the customer's other rows.
            note["params"] = {
                **(note.get("params") or {}),
                "customer_id": _lost_line_id(note, headers.get(str(note.get("source")), [])),
            }
    validated = _reject_lost_lines(validated, noted, {name: (col, rows) for name, col, rows in ids})
    return ContractUpload(
        validated,
        pathlib.Path(customers),
        None if equipment is None else pathlib.Path(equipment),
        tuple(noted),
        tuple(ids),
    )


def _lost_line_id(note: dict[str, Any], header: list[str]) -> str:
    """The customer id a line lost in reading starts with ('' when it names none)."""
    if "customer_id" not in header:
        return ""
    cells = next(csv.reader([str((note.get("params") or {}).get("line", ""))]), [])
    at = header.index("customer_id")
    return cells[at].strip() if at < len(cells) else ""


def _reject_lost_lines(
    validated: Any, notes: list[dict[str, Any]], ids: dict[str, tuple[Any, Any]]
) -> Any:
    """Reject the customers of equipment lines or meter readings lost in reading.

    Such a line (an unclosed quote) never reached the validation, so its customer looked
    complete: answered, it would be sized without the line (too small), or from a year
    with a month missing (the peak may be in it). It is rejected as the validation rejects
    a customer with a rejected line (``reject_lines_rejected``) or reading
    (``reject_meter_readings_invalid``), its other rows with it (the notes carry the
    customer id each lost line names). ``ids`` maps each file to its customer_id column
    and spreadsheet row numbers.
    """
    import dataclasses

    import pandas as pd

    lost: dict[str, dict[str, int]] = {"equipment": {}, "meter_readings": {}}
    for note in notes:
        cid = str((note.get("params") or {}).get("customer_id") or "")
        source = str(note.get("source"))
        if note.get("code") == "upload_unclosed_quote" and cid and source in lost:
            lost[source][cid] = lost[source].get(cid, 0) + 1
    kept = validated.customers["customer_id"].astype(str)
    hit = kept.isin([*lost["equipment"], *lost["meter_readings"]]).to_numpy()
    if not hit.any():
        return validated

    def rows_in(file: str, cid: str) -> list[int]:
        if file not in ids:
            return []
        column, numbers = ids[file]
        return [int(r) for r in numbers[(column == cid).to_numpy()]]

    def reject(
        file: str,
        n: int,
        cid: str,
        column: str,
        value: Any,
        reason: str,
        code: str,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "file": file,
            "row_number": n,
            "customer_id": cid,
            "column": column,
            "value": value,
            "reason": reason,
            "code": code,
            "params": json.dumps(params, sort_keys=True),
        }

    hit_ids = set(kept[hit])
    rows: list[dict[str, Any]] = []
    for cid in sorted(hit_ids):
        # The equipment's loss is named first: either makes the customer's figures wrong.
        file = "equipment" if cid in lost["equipment"] else "meter_readings"
        n_lost, others = lost[file][cid], rows_in(file, cid)
        for n in rows_in("customers", cid):
            if file == "equipment":
                rows.append(
                    reject(
                        "customers",
                        n,
                        cid,
                        "customer_id",
                        cid,
                        f"{n_lost} of {n_lost + len(others)} equipment lines rejected (a quote "
                        "never closed: the line could not be read): the list would be incomplete",
                        "reject_lines_rejected",
                        {"column": "customer_id", "n": n_lost, "of": n_lost + len(others)},
                    )
                )
            else:
                rows.append(
                    reject(
                        "customers",
                        n,
                        cid,
                        "meter_readings",
                        f"{n_lost} of {n_lost + len(others)} invalid",
                        f"{n_lost} of {n_lost + len(others)} meter readings could not be read (a "
                        "quote never closed): an existing customer is sized from all its months "
                        "or not at all",
                        "reject_meter_readings_invalid",
                        {"column": "meter_readings", "n": n_lost, "of": n_lost + len(others)},
                    )
                )
        rows += [
            reject(
                "equipment",
                n,
                cid,
                "customer_id",
                cid,
                "customer rejected: one of its equipment lines could not be read",
                "reject_with_incomplete_customer",
                {"column": "customer_id"},
            )
            for n in rows_in("equipment", cid)
        ]
        rows += [
            reject(
                "meter_readings",
                n,
                cid,
                "customer_id",
                cid,
                "customer rejected: see its customers row (its readings are not used)",
                "reject_with_invalid_customer",
                {"column": "customer_id"},
            )
            for n in rows_in("meter_readings", cid)
        ]

    def drop(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[~frame["customer_id"].astype(str).isin(hit_ids)].reset_index(drop=True)

    extra = pd.DataFrame(rows, columns=list(validated.rejects.columns))
    return dataclasses.replace(
        validated,
        customers=drop(validated.customers),
        equipment=drop(validated.equipment),
        meter_readings=drop(validated.meter_readings),
        rejects=pd.concat([validated.rejects, extra], ignore_index=True),
    )


def reject_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rejected customers as CSV answer rows, one per customer naming all its rows.

    ``entries`` are :func:`serving.batch_rejects.customer_rejects`'s (nothing is dropped
    silently: every rejected row is named by its customer's row).

    A customer rejected because some of its equipment lines were rejected carries
    ``incomplete_list = true``: answered on the rest it would be undersized.
    """
    from serving.batch_rejects import csv_rows

    return csv_rows(entries)


WORKBOOK_SHEETS = ("customers", "equipment")
"""Sheet names of a batch workbook (the contract's two tables)."""


def workbook_sheets(workbook: Any) -> tuple[pathlib.Path, pathlib.Path | None] | Response:
    """The two sheets of an uploaded .xlsx as contract CSV files beside the upload.

    Bounded before and while parsing (:func:`bounded_workbook_rows`): the unpacked size
    of the archive, then rows, columns and cells as the sheet streams in (openpyxl's
    read-only mode; the sheet's declared dimension is distrusted, so one cell at
    ``ZZ50000`` is refused at once instead of becoming 35 million empty cells).
    """
    import zipfile

    path = pathlib.Path(workbook)
    if not path.is_file():
        return single_error("workbook", str(workbook)[:100], "an uploaded .xlsx file", "not a file")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return single_error(
            "workbook", path.name[:100], "an Excel .xlsx workbook", f"unreadable workbook: {exc}"
        )
    if unpacked > MAX_WORKBOOK_UNPACKED_BYTES:
        return single_error(
            "workbook",
            unpacked,
            f"a workbook of at most {MAX_WORKBOOK_UNPACKED_BYTES} bytes unpacked",
            "workbook too large once unpacked",
            413,
        )
    try:
        import openpyxl

        # From bytes: openpyxl refuses a path whose name lacks an .xlsx suffix.
        book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    except Exception as exc:  # any unreadable workbook is the client's fault
        return single_error(
            "workbook", path.name[:100], "an Excel .xlsx workbook", f"unreadable workbook: {exc}"
        )
    try:
        names = {str(name).strip().lower(): name for name in book.sheetnames}
        if "customers" not in names:
            return single_error(
                "workbook",
                sorted(str(n) for n in book.sheetnames)[:10],
                "a sheet named 'customers' (and optionally 'equipment')",
                "no customers sheet in the workbook",
            )
        out: list[pathlib.Path | None] = []
        for name in WORKBOOK_SHEETS:
            if name not in names:
                out.append(None)
                continue
            target = path.with_name(f"{path.stem}-{name}.csv")
            problem = _sheet_to_csv(book[names[name]], name, target)
            if problem is not None:
                return problem
            out.append(target)
    except Exception as exc:  # a sheet that does not parse: the client's fault
        return single_error(
            "workbook", path.name[:100], "an Excel .xlsx workbook", f"unreadable workbook: {exc}"
        )
    finally:
        book.close()
    assert out[0] is not None
    return out[0], out[1]


def _cell_text(value: Any) -> str:
    """A cell as the CSV text pandas' ``read_excel(dtype=str)`` made of it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet_to_csv(sheet: Any, name: str, target: pathlib.Path) -> Response | None:
    """Stream one sheet into a CSV file, refusing it when over the bounds; None when done."""
    from openpyxl.utils import get_column_letter

    sheet.reset_dimensions()  # the declared dimension (e.g. A1:ZZ50000) is not trusted
    cells = 0
    width: int | None = None
    blanks = 0  # blank rows seen since the last filled one (kept if a filled row follows)
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if index > MAX_UPLOAD_ROWS:
                return _too_many(f"workbook:{name}", index, f"at most {MAX_UPLOAD_ROWS} rows")
            if len(values) > MAX_UPLOAD_COLUMNS and any(
                v is not None for v in values[MAX_UPLOAD_COLUMNS:]
            ):
                far = max(k for k, v in enumerate(values) if v is not None)
                return _too_many(
                    f"workbook:{name}",
                    f"{get_column_letter(far + 1)}{index}",
                    f"at most {MAX_UPLOAD_COLUMNS} columns (A to "
                    f"{get_column_letter(MAX_UPLOAD_COLUMNS)})",
                )
            row = [_cell_text(v) for v in values[:MAX_UPLOAD_COLUMNS]]
            while row and row[-1] == "":
                row.pop()
            cells += len(row)
            if cells > MAX_UPLOAD_CELLS:
                return _too_many(f"workbook:{name}", cells, f"at most {MAX_UPLOAD_CELLS} cells")
            if width is None:
                if row:
                    width = len(row)
                # Blank rows above the header stay, as empty lines: features.uploads
                # counts them, so every row named is the row the workbook shows.
                writer.writerow(row)
                continue
            if len(row) > width:
                return single_error(
                    f"workbook:{name}",
                    f"{get_column_letter(len(row))}{index}",
                    f"values only under the {width} header columns of the first row",
                    "a cell has a value right of the last header column",
                )
            if not row:
                blanks += 1
                continue
            writer.writerows([[""] * width] * blanks)
            blanks = 0
            writer.writerow(row + [""] * (width - len(row)))
    return None


def _too_many(field: str, value: Any, expected: str) -> Response:
    return single_error(field, value, expected, "upload too large to read", 413)


def check_csv_bounds(path: pathlib.Path, name: str) -> Response | None:
    """Refuse a CSV upload over the rows, columns or cells bounds before pandas reads it."""
    try:
        # Only separators and lines are counted: any encoding (UTF-8, GBK) reads alike.
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
            return _csv_bounds(csv.reader(fh), name)
    except csv.Error as exc:
        return single_error(name, None, "a contract CSV file", f"unreadable CSV: {exc}")


def check_csv_text_bounds(text: str, name: str) -> Response | None:
    """:func:`check_csv_bounds` for CSV text held in a request (``/export/batch``)."""
    try:
        return _csv_bounds(csv.reader(io.StringIO(text)), name)
    except csv.Error as exc:
        return single_error(name, None, "CSV text", f"unreadable CSV: {exc}")


def _csv_bounds(reader: Any, name: str) -> Response | None:
    cells = 0
    for index, row in enumerate(reader, start=1):
        if index > MAX_UPLOAD_ROWS:
            return _too_many(name, index, f"at most {MAX_UPLOAD_ROWS} rows")
        if len(row) > MAX_UPLOAD_COLUMNS:
            return _too_many(name, len(row), f"at most {MAX_UPLOAD_COLUMNS} columns (row {index})")
        cells += len(row)
        if cells > MAX_UPLOAD_CELLS:
            return _too_many(name, cells, f"at most {MAX_UPLOAD_CELLS} cells")
    return None


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


class _CsvStream(StreamingResponse):
    """A streamed answer that does not watch ``receive`` for the client leaving.

    The body guard (serving/guards/body.py) replays the request body and then answers
    ``http.disconnect`` to every further ``receive``, which Starlette's watcher takes for
    a client that left (the stream was cut after its first chunk). A client that does
    leave still ends the stream: its ``send`` fails.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.stream_response(send)
        except OSError as exc:
            raise ClientDisconnect() from exc


def csv_stream(cols: dict[str, list[Any]], n: int) -> StreamingResponse:
    """:func:`csv_response` of ``n`` rows given by columns, streamed in chunks.

    The same bytes as :func:`csv_response` of the rows (serving/batch_rows.py); the first
    rows leave while the rest are still being formatted.
    """
    from serving.batch_rows import csv_chunks

    return _CsvStream(
        csv_chunks(BATCH_CSV_COLUMNS, cols, n, csv_cell),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="recommendations.csv"'},
    )


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
