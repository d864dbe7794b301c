"""Recorded outcomes as training history, in the data contract's format.

A logged recommendation with an outcome is a labelled customer: the application it
answered (``request_json``) gives the customer's fields and equipment list, and the
outcome gives the label (``peak_demand_kw`` = the metered peak). :func:`export_outcomes`
rebuilds the contract rows (``customer_id = 'rec-<recommendation id>'``,
``applied_capacity_kva`` = the applicant's own proposal when one was logged);
:func:`merge_history` appends them to a utility's history and writes the merged
``customers.csv`` and ``equipment.csv``, which then train like any other history.

Equipment lines given by free-text name only are resolved to a category the way the
recommender resolved them when it answered (:class:`features.matching.NameMatcher`, same
confidence threshold); lines it could not match are left out, as they were then.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import Table, select

from features.atomic import write_csv
from features.contract import (
    CUSTOMER_COLUMN_NAMES,
    EQUIPMENT_COLUMN_NAMES,
    EXISTING_CUSTOMER_COLUMN_NAMES,
    METER_COLUMN_NAMES,
)
from features.schemas import Application
from serving.logbook import (
    Logbook,
    RecommendationRow,
    application_from_contract_rows,
    is_contract_row_request,
)
from training.pilot.log_frame import joined_frame

__all__ = ["OUTCOME_ID_PREFIX", "OutcomeExport", "export_outcomes", "merge_history"]

OUTCOME_ID_PREFIX = "rec-"
_ID_CHUNK = 500


@dataclass(frozen=True)
class OutcomeExport:
    """Logged recommendations with outcomes, as contract rows.

    Attributes
    ----------
    customers, equipment
        Contract frames (columns in contract order); ``standby`` is ``'true'``/``'false'``.
    n_outcomes
        Recommendations with at least one outcome (the latest outcome is used).
    unmatched_lines
        Equipment lines left out because their name matched no category.
    skipped
        ``(recommendation_id, reason)`` for logged requests that are not a valid
        application any more (e.g. an industry code since removed from the catalog).
    """

    customers: pd.DataFrame
    equipment: pd.DataFrame
    n_outcomes: int
    unmatched_lines: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    meter_readings: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(METER_COLUMN_NAMES))
    )
    """Existing customers' readings as they were sent (``meter_readings.csv`` rows): an
    existing customer's outcome is a labelled existing customer, never a new one."""

    @property
    def n_customers(self) -> int:
        """Customers exported."""
        return len(self.customers)


def _request_json(logbook: Logbook, ids: list[str]) -> dict[str, str]:
    table = cast(Table, RecommendationRow.__table__)
    found: dict[str, str] = {}
    with logbook.engine.connect() as conn:
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            rows = conn.execute(
                select(table.c.id, table.c.request_json).where(table.c.id.in_(chunk))
            )
            found.update({str(r[0]): str(r[1]) for r in rows})
    return found


def export_outcomes(
    logbook: Logbook,
    since: datetime | None = None,
    min_match_confidence: float = 0.5,
) -> OutcomeExport:
    """Rebuild contract rows from the logged recommendations that have an outcome.

    Parameters
    ----------
    logbook
        An open logbook.
    since
        Only recommendations created at or after this timezone-aware time.
    min_match_confidence
        Threshold for resolving a name-only equipment line to a category (the
        recommender's default, :class:`serving.core.RecommenderConfig`).

    Returns
    -------
    OutcomeExport
        Customers and equipment rows in the contract's format.
    """
    from features.catalog import load_catalog
    from features.matching import NameMatcher

    joined = joined_frame(logbook, since)
    requests = _request_json(logbook, joined["id"].astype(str).tolist())
    matcher = NameMatcher(load_catalog())
    customers: list[dict[str, object]] = []
    equipment: list[dict[str, object]] = []
    readings: list[dict[str, object]] = []
    skipped: list[tuple[str, str]] = []
    unmatched = 0
    for row in joined.itertuples(index=False):
        rid = str(row.id)
        try:
            request = json.loads(requests[rid])
            if isinstance(request, dict) and is_contract_row_request(request):
                # Logged in the old CSV-batch shape (before migration 0003): read it alike.
                request = application_from_contract_rows(
                    request["customer"], request.get("equipment") or []
                )
            app = Application.model_validate(request)
        except (KeyError, json.JSONDecodeError, ValidationError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            skipped.append((rid, f"request is not a valid application: {reason}"))
            continue
        cid = f"{OUTCOME_ID_PREFIX}{rid}"
        status_quo = float(row.status_quo_kva)
        customers.append(
            {
                "customer_id": cid,
                "industry": app.industry,
                "climate_zone": app.climate_zone,
                "floor_area_m2": app.floor_area_m2,
                "employees": app.employees,
                "shifts": app.shifts,
                "applied_capacity_kva": status_quo if math.isfinite(status_quo) else None,
                "peak_demand_kw": float(row.metered_peak_kw),
                "application_type": app.application_type,
                "existing_capacity_kva": app.existing_capacity_kva,
            }
        )
        readings.extend(
            {
                "customer_id": cid,
                "period": r.period,
                "energy_kwh": r.energy_kwh,
                "max_demand_kw": r.max_demand_kw,
            }
            for r in app.meter_readings
        )
        for item in app.equipment:
            category = item.category
            if category is None:
                match = matcher.match(item.name or "", rated_kw=item.rated_kw)
                if match.category is not None and match.confidence >= min_match_confidence:
                    category = match.category
                elif app.unmatched is not None:
                    category = app.unmatched  # counted so when it was answered
            if category is None:
                unmatched += 1
                continue
            equipment.append(
                {
                    "customer_id": cid,
                    "category": category,
                    "rated_kw": item.rated_kw,
                    "quantity": item.quantity,
                    "standby": "true" if item.standby else "false",
                    "name": item.name,
                    "change": item.change,
                }
            )
    existing = any(c["application_type"] != "new" for c in customers)
    # The existing-customer columns only when some exported customer is one: a
    # new-connections log exports exactly the contract rows it did.
    cust = pd.DataFrame(
        customers,
        columns=list(CUSTOMER_COLUMN_NAMES)
        + (list(EXISTING_CUSTOMER_COLUMN_NAMES) if existing else []),
    )
    for column in ("employees", "shifts"):
        cust[column] = pd.array(cust[column], dtype="Int64")
    eq = pd.DataFrame(
        equipment, columns=list(EQUIPMENT_COLUMN_NAMES) + (["change"] if existing else [])
    )
    eq["quantity"] = pd.array(eq["quantity"], dtype="Int64")
    return OutcomeExport(
        customers=cust,
        equipment=eq,
        n_outcomes=len(joined),
        unmatched_lines=unmatched,
        skipped=skipped,
        meter_readings=pd.DataFrame(readings, columns=list(METER_COLUMN_NAMES)),
    )


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    # As text: the history's cells reach the merged file exactly as they were written.
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def merge_history(
    customers_path: Path | str,
    equipment_path: Path | str,
    export: OutcomeExport,
    out_dir: Path | str,
    meter_readings_path: Path | str | None = None,
) -> tuple[Path, Path, int]:
    """Append exported outcome rows to a history and write ``customers.csv``, ``equipment.csv``.

    Parameters
    ----------
    customers_path, equipment_path
        The history (CSV or Parquet); its rows are copied unchanged (validation happens
        when the merged files are trained on).
    export
        Rows from :func:`export_outcomes`. Customers whose id is already in the history
        (a history that was merged before) are not appended again.
    out_dir
        Folder for the merged files (created if needed).
    meter_readings_path
        The history's ``meter_readings.csv``, when it has existing customers. The merged
        readings (the history's and the exported customers') are written to
        ``out_dir/meter_readings.csv`` whenever there are any (:func:`merged_meter_path`).

    Returns
    -------
    tuple
        ``(customers.csv, equipment.csv, appended)``: the merged files and the number of
        outcome customers appended.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    customers = _read_table(Path(customers_path))
    equipment = _read_table(Path(equipment_path))
    known = set(customers["customer_id"].astype(str)) if "customer_id" in customers else set()
    new_customers = export.customers[~export.customers["customer_id"].isin(known)]
    new_equipment = export.equipment[export.equipment["customer_id"].isin(
        set(new_customers["customer_id"])
    )]  # fmt: skip
    merged_customers = pd.concat([customers, new_customers], ignore_index=True)
    merged_equipment = pd.concat([equipment, new_equipment], ignore_index=True)
    customers_out = out / "customers.csv"
    equipment_out = out / "equipment.csv"
    write_csv(merged_customers, customers_out, index=False, lineterminator="\n", encoding="utf-8")
    write_csv(merged_equipment, equipment_out, index=False, lineterminator="\n", encoding="utf-8")
    history_readings = (
        _read_table(Path(meter_readings_path)) if meter_readings_path is not None else None
    )
    new_readings = export.meter_readings[
        export.meter_readings["customer_id"].isin(set(new_customers["customer_id"]))
    ]
    parts = [r for r in (history_readings, new_readings) if r is not None and len(r)]
    if parts:
        write_csv(
            pd.concat(parts, ignore_index=True),
            merged_meter_path(out),
            index=False,
            lineterminator="\n",
            encoding="utf-8",
        )
    return customers_out, equipment_out, len(new_customers)


def merged_meter_path(out_dir: Path | str) -> Path:
    """Where :func:`merge_history` writes the merged meter readings (when there are any)."""
    return Path(out_dir) / "meter_readings.csv"
