"""A simulated pilot, end to end: applicants → recommendations → log → outcomes → report.

:func:`simulate_pilot` exercises the whole feedback loop the way a real pilot would run
it, on fresh synthetic applicants instead of real enterprises:

1. draw ``n`` new applicants with :mod:`training.synth.history` (a seed different from the one the
   training history was drawn with, so none of them was seen in training) and validate
   them against the contract;
2. turn each into an API :class:`~features.schemas.Application` and answer them through
   the recommender core (:meth:`serving.core.Recommender.recommend_many`), with the
   current champion or a given bundle;
3. log every answer in a :class:`~serving.logbook.Logbook` (source ``'cli'``, with the
   applicant's own applied capacity as the status quo and the demand-coefficient
   capacity);
4. write an outcomes CSV (granted = recommended, metered peak = the synthetic peak label)
   and record it with :func:`training.pilot.outcomes_import.import_outcomes`;
5. read the log back (:func:`training.pilot.log_frame.joined_frame`), compute
   :func:`training.pilot.pilot_metrics` and write the Markdown and HTML pilot report.

By default the log is a SQLite file in the output folder, so simulated rows never mix
with a real pilot's log; pass ``log_db_url`` to record into another logbook.
"""

from __future__ import annotations

import csv
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ValidationError
from sqlalchemy.engine import URL

from features.schemas import Application, EquipmentItem, MeterReading
from serving.logbook import Logbook, LogbookSettings, RecommendationEntry
from serving.settings import Settings
from training.pilot import PilotMetrics, PilotReportFiles, pilot_metrics, write_pilot_report
from training.pilot.log_frame import joined_frame
from training.pilot.outcomes_import import ImportResult, import_outcomes

__all__ = [
    "DEFAULT_SIMULATION_SEED",
    "PilotSimulation",
    "applications_from_frames",
    "simulate_pilot",
]

DEFAULT_SIMULATION_SEED = 2024
"""Seed of the simulated applicants; the default model is trained on seed 1."""
LOG_FILE = "pilot_logbook.db"
OUTCOMES_FILE = "outcomes.csv"
APPLICANTS_DIR = "applicants"


@dataclass(frozen=True)
class PilotSimulation:
    """What :func:`simulate_pilot` did and found.

    Attributes
    ----------
    n, seed
        Applicants asked for and the seed they were drawn with.
    model_version, bundle_dir
        The model that answered and where its bundle was loaded from.
    log_db_url
        The logbook the recommendations and outcomes were recorded in.
    batch_id
        Batch id of the logged recommendations (groups this simulation in the log).
    recommendation_ids
        Logged recommendation ids, one per scored applicant, in applicant order.
    applicants
        One row per scored applicant: ``customer_id, recommendation_id, industry,
        applied_capacity_kva, engineering_kva, recommended_kva, predicted_peak_kw,
        peak_demand_kw, oracle_peak_kw``.
    skipped
        ``(customer_id, reason)`` for applicants that could not be turned into an API
        application (none on the default generator settings).
    outcomes_csv
        The outcomes file written and imported.
    import_result
        What the import recorded and rejected.
    frame
        The pilot frame read back from the log (this simulation's rows only).
    metrics
        Pilot statistics on ``frame``.
    report
        The Markdown and HTML report and its charts.
    seconds
        Wall time of the whole simulation.
    """

    n: int
    seed: int
    model_version: str
    bundle_dir: Path
    log_db_url: str
    batch_id: str
    recommendation_ids: list[str]
    applicants: pd.DataFrame
    outcomes_csv: Path
    import_result: ImportResult
    frame: pd.DataFrame
    metrics: PilotMetrics
    report: PilotReportFiles
    seconds: float
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _present(value: object) -> bool:
    if value is None or value is pd.NA:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def applications_from_frames(
    customers: pd.DataFrame,
    equipment: pd.DataFrame,
    meter_readings: pd.DataFrame | None = None,
) -> tuple[list[Application], list[str], list[tuple[str, str]]]:
    """Turn clean contract frames (:func:`features.validation.validate_frames`) into applications.

    Parameters
    ----------
    customers, equipment
        Validated contract frames (one row per customer, one per equipment line). An
        existing customer (``application_type`` increase, reduce or suspend) keeps its type,
        its ``existing_capacity_kva`` and each line's ``change``.
    meter_readings
        The validated readings (``ValidatedHistory.meter_readings``): an existing customer's
        months become its application's ``meter_readings``. Without them an existing
        customer is skipped with the API's reason (it cannot be answered as new: its list
        holds only the change).

    Returns
    -------
    tuple
        ``(applications, customer_ids, skipped)``: the applications and the customer id of
        each, in the order of ``customers``; ``skipped`` lists ``(customer_id, reason)``
        for customers the API schema refuses (e.g. more equipment lines than it accepts).
    """
    lines: dict[str, list[EquipmentItem]] = {}
    has_change = "change" in equipment.columns
    for row in equipment.itertuples(index=False):
        name = row.name if isinstance(row.name, str) and row.name.strip() else None
        change = str(row.change) if has_change and _present(row.change) else "add"
        lines.setdefault(str(row.customer_id), []).append(
            EquipmentItem(
                category=str(row.category),
                name=name[:200] if name else None,
                rated_kw=float(row.rated_kw),
                quantity=int(row.quantity),
                standby=bool(row.standby),
                change=change,  # validated by the contract
            )
        )
    months: dict[str, list[MeterReading]] = {}
    if meter_readings is not None:
        for reading in meter_readings.itertuples(index=False):
            demand = reading.max_demand_kw
            months.setdefault(str(reading.customer_id), []).append(
                MeterReading(
                    period=str(reading.period),
                    energy_kwh=float(reading.energy_kwh),
                    max_demand_kw=float(demand) if _present(demand) else None,
                )
            )
    typed = "application_type" in customers.columns
    applications: list[Application] = []
    ids: list[str] = []
    skipped: list[tuple[str, str]] = []
    for row in customers.itertuples(index=False):
        cid = str(row.customer_id)
        existing: dict[str, object] = {}
        if typed and _present(row.application_type) and str(row.application_type) != "new":
            cap = row.existing_capacity_kva
            existing = {
                "application_type": str(row.application_type),
                "existing_capacity_kva": float(cap) if _present(cap) else None,
                "meter_readings": months.get(cid, []),
            }
        try:
            app = Application(
                industry=str(row.industry),
                climate_zone=str(row.climate_zone) if _present(row.climate_zone) else None,
                floor_area_m2=float(row.floor_area_m2) if _present(row.floor_area_m2) else None,
                employees=int(row.employees) if _present(row.employees) else None,
                shifts=int(row.shifts) if _present(row.shifts) else None,
                equipment=lines.get(cid, []),
                **existing,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            skipped.append((cid, f"{where}: {first.get('msg', 'invalid')}"))
            continue
        applications.append(app)
        ids.append(cid)
    return applications, ids, skipped


def _sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(path.resolve())).render_as_string()


def _optional(value: object) -> float | None:
    return float(value) if _present(value) and float(value) > 0 else None  # type: ignore[arg-type]


def simulate_pilot(
    n: int = 100,
    seed: int = DEFAULT_SIMULATION_SEED,
    out_dir: Path | str = Path("var/pilot-sim"),
    *,
    model_dir: Path | None = None,
    settings: Settings | None = None,
    log_db_url: str | None = None,
) -> PilotSimulation:
    """Simulate an ``n``-enterprise pilot end to end and write its report into ``out_dir``.

    Parameters
    ----------
    n
        Number of simulated applicants (the contract's example pilot has 100).
    seed
        Seed of the synthetic applicants; use one the training history was not drawn with
        (the default model is trained on seed 1).
    out_dir
        Folder for the applicants' contract files, the outcomes CSV, the pilot report
        (``pilot_report.md``, ``pilot_report.html``, charts) and, by default, the logbook.
    model_dir
        A model bundle to answer with; by default the registry champion (exported to
        ``<home>/champion``), found as the service finds it.
    settings
        Where the registry and the exported champion live; read from the environment
        when None.
    log_db_url
        SQLAlchemy URL of the logbook to record into; default a SQLite file
        ``pilot_logbook.db`` in ``out_dir``, so simulated rows stay out of a real log.

    Returns
    -------
    PilotSimulation
        The logged ids, the imported outcomes, the pilot metrics and the report files.

    Raises
    ------
    ValueError
        ``n`` is not positive, or no applicant could be scored.
    serving.loader.ModelNotFoundError
        No bundle at ``model_dir`` and no champion is registered.
    """
    from features.validation import validate_frames
    from serving.core import Recommender
    from serving.loader import load_model
    from training.synth.history import SynthConfig, generate_history, write_history

    if n < 1:
        raise ValueError(f"n must be at least 1 applicant; received {n}")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = settings if settings is not None else Settings()
    if model_dir is not None:
        settings = settings.model_copy(update={"model_dir": Path(model_dir)})
    elif not (settings.champion_dir / "metadata.json").is_file():
        from training.registry.store import export_champion

        export_champion(settings)  # the service's own place for the champion
    model, version, bundle = load_model(settings)

    # Fresh applicants: clean rows only (a pilot scores applications, not a dirty export).
    history = generate_history(SynthConfig(n=n, seed=seed, dirty_row_rate=0.0))
    write_history(history, out / APPLICANTS_DIR)
    validated = validate_frames(history.customers, history.equipment, require_label=True)
    applications, ids, skipped = applications_from_frames(validated.customers, validated.equipment)
    if not applications:
        raise ValueError(f"none of the {n} simulated applicants could be scored: {skipped[:3]}")

    recommender = Recommender(model, version)
    answers = recommender.recommend_many(applications)

    by_id = validated.customers.set_index(validated.customers["customer_id"].astype(str))
    oracle = history.oracle.set_index("customer_id")["oracle_peak_kw"]
    batch_id = f"pilot-sim-{seed}-{uuid.uuid4().hex[:12]}"
    entries = [
        RecommendationEntry.from_answer(
            app,
            rec,
            source="cli",
            status_quo_kva=_optional(by_id.at[cid, "applied_capacity_kva"]),
            batch_id=batch_id,
        )
        for cid, app, rec in zip(ids, applications, answers, strict=True)
    ]
    url = log_db_url or _sqlite_url(out / LOG_FILE)
    with Logbook.open(LogbookSettings(url=url)) as logbook:
        rec_ids = logbook.record_many(entries)

        # The year of metering, simulated: the connection is granted as recommended and the
        # metered peak is the synthetic label.
        outcomes_csv = out / OUTCOMES_FILE
        with outcomes_csv.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["recommendation_id", "granted_kva", "metered_peak_kw", "note"])
            for rid, cid, rec in zip(rec_ids, ids, answers, strict=True):
                writer.writerow(
                    [
                        rid,
                        f"{rec.recommended_kva:g}",
                        f"{float(by_id.at[cid, 'peak_demand_kw']):g}",
                        f"simulated pilot, synthetic customer {cid} (seed {seed})",
                    ]
                )
        imported = import_outcomes(logbook, outcomes_csv)
        joined = joined_frame(logbook)

    frame = joined[joined["id"].isin(set(rec_ids))].reset_index(drop=True)
    metrics = pilot_metrics(frame)
    report = write_pilot_report(
        metrics,
        frame,
        out,
        title=f"Simulated pilot: {len(frame)} synthetic enterprises (seed {seed}), model {version}",
    )
    applicants = pd.DataFrame(
        {
            "customer_id": ids,
            "recommendation_id": rec_ids,
            "industry": [a.industry for a in applications],
            "applied_capacity_kva": [e.status_quo_kva for e in entries],
            "engineering_kva": [r.engineering_kva for r in answers],
            "recommended_kva": [r.recommended_kva for r in answers],
            "predicted_peak_kw": [r.predicted_peak_kw for r in answers],
            "peak_demand_kw": [float(by_id.at[c, "peak_demand_kw"]) for c in ids],
            "oracle_peak_kw": [float(oracle.get(c, math.nan)) for c in ids],
        }
    )
    applicants.to_csv(out / "pilot_applicants.csv", index=False)
    return PilotSimulation(
        n=n,
        seed=seed,
        model_version=version,
        bundle_dir=Path(bundle),
        log_db_url=url,
        batch_id=batch_id,
        recommendation_ids=list(rec_ids),
        applicants=applicants,
        outcomes_csv=outcomes_csv,
        import_result=imported,
        frame=frame,
        metrics=metrics,
        report=report,
        seconds=time.perf_counter() - started,
        skipped=skipped,
    )
