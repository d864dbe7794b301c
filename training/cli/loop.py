"""CLI commands for the feedback loop: outcomes, pilot report and simulation, retrain, model card.

Registered on the ``capacity`` app by :mod:`training.cli.app`; each command is a thin wrapper
around a typed function, with imports inside so ``capacity --help`` stays fast.

Exit codes: 0 done; 1 done but something was refused (rejected outcome rows, a candidate
refused by the promotion gate); 2 nothing could be done (missing file, no outcomes, no
model), with the reason on stderr.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:  # pragma: no cover
    from rich.table import Table

    from serving.logbook import LogbookSettings
    from training.pilot import PilotMetrics

outcomes_app = typer.Typer(
    help="Outcomes of logged recommendations (granted capacity, metered peak).",
    no_args_is_help=True,
)
pilot_app = typer.Typer(
    help="Pilot statistics from the recommendation log, or a simulated pilot.",
    no_args_is_help=True,
)

LogDbOpt = Annotated[
    str | None,
    typer.Option(
        "--log-db",
        help="SQLAlchemy URL of the recommendation log (default: CAPACITY_LOG_DB_URL, "
        "else <project>/var/recommendations.db).",
    ),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    from training.cli.output import console as make_console

    make_console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


def _log_settings(url: str | None) -> LogbookSettings:
    from pydantic import ValidationError

    from serving.logbook import LogbookSettings

    try:
        return LogbookSettings(url=url) if url else LogbookSettings()
    except ValidationError as exc:
        _fail(str(exc.errors()[0].get("msg", exc)))


def _since(value: str | None) -> datetime | None:
    from training.cli.output import parse_datetime_option

    try:
        return parse_datetime_option(value, "since")
    except ValueError as exc:
        _fail(str(exc))


def headline_table(metrics: PilotMetrics, title: str) -> Table:
    """The pilot's headline figures per method, with the Wilson intervals."""
    from rich.table import Table

    conf = int(round(100 * metrics.model.confidence))
    table = Table(title=title)
    for col in ("method", "n", "accuracy", f"Wilson {conf} %", "undersized", "oversized"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for m in metrics.methods:
        if m.n == 0:
            table.add_row(m.label, "0", "–", "–", "–", "–")
            continue
        table.add_row(
            m.label,
            str(m.n),
            f"{100 * m.accuracy:.1f} %",
            f"{100 * m.ci_low:.1f}–{100 * m.ci_high:.1f} %",
            f"{100 * m.undersized_share:.1f} %",
            f"{100 * m.oversized_share:.1f} %",
        )
    return table


# --------------------------------------------------------------------------------------
# outcomes import
# --------------------------------------------------------------------------------------


@outcomes_app.command("import")
def outcomes_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="UTF-8 CSV with header recommendation_id,granted_kva,metered_peak_kw[,note]."
        ),
    ],
    log_db: LogDbOpt = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Folder for outcome_rejects.csv when rows are rejected "
            "(default <CAPACITY_HOME>/outcome-import).",
        ),
    ] = None,
) -> None:
    """Record granted capacities and metered peaks; report every row that was not recorded."""
    from serving.logbook import Logbook
    from serving.settings import state_home
    from training.cli.output import console as make_console
    from training.pilot.outcomes_import import import_outcomes

    console = make_console()
    settings = _log_settings(log_db)
    try:
        with Logbook.open(settings) as logbook:
            result = import_outcomes(logbook, file)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    rejected = result.rejected_rows
    console.print(
        f"{file}: {result.rows_read} data rows read, {result.recorded} outcomes recorded, "
        f"{len(rejected)} rows rejected",
        highlight=False,
        soft_wrap=True,
    )
    if result.ignored_columns:
        console.print(
            f"ignored columns: {', '.join(result.ignored_columns)}",
            highlight=False,
            soft_wrap=True,
        )
    if result.errors:
        console.print("rejected rows (row numbers count the header as row 1):", highlight=False)
        for error in result.errors:
            console.print(f"  {error}", highlight=False, soft_wrap=True, markup=False)
        # The same report a history's validation writes (file, row, key, column, value, reason).
        written = result.write_report(
            report if report is not None else state_home() / "outcome-import"
        )
        console.print(f"rejects: {written}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)


# --------------------------------------------------------------------------------------
# pilot
# --------------------------------------------------------------------------------------


@pilot_app.command("report")
def pilot_report(
    since: Annotated[
        str | None,
        typer.Option(help="Only recommendations made on or after this date (ISO, UTC if naive)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for pilot_report.md/.html and charts (default <CAPACITY_HOME>/pilot-report).",
        ),
    ] = None,
    log_db: LogDbOpt = None,
) -> None:
    """Pilot statistics from the log: accuracy with Wilson intervals vs status quo and engineering."""
    from serving.logbook import Logbook
    from serving.settings import state_home
    from training.cli.output import console as make_console
    from training.pilot import pilot_metrics, write_pilot_report
    from training.pilot.log_frame import joined_frame

    out = out if out is not None else state_home() / "pilot-report"
    console = make_console()
    start = _since(since)
    settings = _log_settings(log_db)
    with Logbook.open(settings) as logbook:
        frame = joined_frame(logbook, start)
        logged = logbook.count()
        shown = repr(logbook)
    if frame.empty:
        window = f" since {start.isoformat()}" if start is not None else ""
        _fail(
            f"no outcomes recorded yet{window} in {shown} ({logged} recommendations logged): "
            "record them with `capacity outcomes import FILE` (header "
            "recommendation_id,granted_kva,metered_peak_kw) or POST /feedback, then report"
        )
    metrics = pilot_metrics(frame)
    files = write_pilot_report(metrics, frame, out)
    console.print(headline_table(metrics, f"Pilot: {metrics.n} customers with an outcome"))
    console.print(
        f"{len(metrics.misses)} model misses listed in the report; report: {files.markdown}, "
        f"{files.html}",
        highlight=False,
        soft_wrap=True,
    )


@pilot_app.command("simulate")
def pilot_simulate(
    n: Annotated[int, typer.Option("--n", min=1, help="Simulated enterprises.")] = 100,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", min=0, help="Seed of the synthetic applicants (not the training seed)."
        ),
    ] = 2024,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for applicants, outcomes, log and report (default <CAPACITY_HOME>/pilot-sim).",
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Model bundle directory (default: the champion)."),
    ] = None,
    log_db: Annotated[
        str | None,
        typer.Option(
            "--log-db",
            help="Logbook URL to record into (default: a new SQLite file in --out, so "
            "simulated rows stay out of the real pilot log).",
        ),
    ] = None,
) -> None:
    """Simulate an n-enterprise pilot end to end: recommend → log → outcomes → report."""
    from serving.loader import ModelNotFoundError
    from serving.model.bundle import BundleError
    from serving.settings import state_home
    from training.cli.output import console as make_console
    from training.pilot.simulate import simulate_pilot

    out = out if out is not None else state_home() / "pilot-sim"
    console = make_console()
    try:
        sim = simulate_pilot(n, seed, out, model_dir=model, log_db_url=log_db)
    except (ModelNotFoundError, BundleError, ValueError) as exc:
        _fail(str(exc))
    imported = sim.import_result
    console.print(
        f"{len(sim.recommendation_ids)} synthetic applicants (seed {seed}) answered by "
        f"{sim.model_version} and logged (batch {sim.batch_id}); outcomes: "
        f"{imported.recorded} recorded, {len(imported.rejected_rows)} rejected"
        + (f"; {len(sim.skipped)} applicants skipped" if sim.skipped else ""),
        highlight=False,
        soft_wrap=True,
    )
    console.print(headline_table(sim.metrics, f"Simulated pilot: {sim.metrics.n} enterprises"))
    console.print(
        f"report: {sim.report.markdown}, {sim.report.html} · log: {sim.log_db_url} · "
        f"{sim.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )


# --------------------------------------------------------------------------------------
# retrain
# --------------------------------------------------------------------------------------


def retrain(
    customers: Annotated[
        Path, typer.Option("--customers", "-c", help="History customers.csv or .parquet")
    ],
    equipment: Annotated[
        Path, typer.Option("--equipment", "-e", help="History equipment.csv or .parquet")
    ],
    include_outcomes: Annotated[
        bool,
        typer.Option(
            "--include-outcomes", help="Append the logged recommendations that have an outcome."
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed for splits and LightGBM")] = 42,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Bundle directory (default <home>/bundles/retrain-…)"),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the merged history here (default: a temporary folder)."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why, recorded with a promotion")] = None,
    log_db: LogDbOpt = None,
    meter_readings: Annotated[
        Path | None,
        typer.Option(
            "--meter-readings", help="The history's meter_readings.csv of existing customers"
        ),
    ] = None,
) -> None:
    """Retrain on history (+ recorded outcomes), register, and promote only through the gate."""
    from features.validation import ContractError
    from training.cli.model import _metrics_table, _progress
    from training.cli.output import console as make_console
    from training.retrain import retrain as do_retrain
    from training.train import TrainConfig

    console = make_console()
    log_settings = _log_settings(log_db) if include_outcomes else None
    try:
        with _progress() as progress:
            task = progress.add_task("starting", total=None)
            result = do_retrain(
                customers,
                equipment,
                include_outcomes=include_outcomes,
                config=TrainConfig(seed=seed),
                log_settings=log_settings,
                out_dir=out,
                work_dir=work_dir,
                reason=reason,
                progress=lambda stage: progress.update(task, description=stage),
                meter_readings=meter_readings,
            )
    except (ContractError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if result.exported is not None:
        ex = result.exported
        console.print(
            f"outcomes: {ex.n_outcomes} logged recommendations with an outcome, "
            f"{result.appended} appended to the history"
            + (f", {len(ex.skipped)} skipped (request not a valid application)" if ex.skipped else "")
            + (f", {ex.unmatched_lines} unmatched equipment lines left out" if ex.unmatched_lines else ""),
            highlight=False,
            soft_wrap=True,
        )  # fmt: skip
    train = result.train
    console.print(
        _metrics_table(train.evaluation.overall, f"Holdout ({train.n_holdout} customers)")
    )
    assert train.run is not None
    decision = result.decision
    champ = "none" if decision.champion_accuracy is None else f"{decision.champion_accuracy:.4f}"
    if not decision.promoted:
        console.print(
            f"[red]refused[/red]: version {decision.candidate} not promoted: {decision.reason} "
            f"(candidate {decision.candidate_accuracy:.4f}, champion "
            f"{decision.champion or 'none'} {champ} on the same holdout)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1)
    console.print(
        f"[green]promoted[/green] version {decision.candidate} to 'champion' (accuracy "
        f"{decision.candidate_accuracy:.4f}; previous champion {decision.champion or 'none'} "
        f"on the same holdout: {champ}); exported to {result.champion_dir}",
        highlight=False,
        soft_wrap=True,
    )


# --------------------------------------------------------------------------------------
# model card
# --------------------------------------------------------------------------------------


def model_card(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Markdown file to write")] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Bundle directory instead of the registry champion"),
    ] = None,
) -> None:
    """Regenerate the model card (default models/README.md) from the champion's records."""
    from serving.model.bundle import BundleError
    from training.cli.output import console as make_console
    from training.registry.model_card import DEFAULT_CARD_PATH, ModelCardError, write_model_card

    console = make_console()
    try:
        path, data = write_model_card(out or DEFAULT_CARD_PATH, model_dir=model)
    except (ModelCardError, BundleError, FileNotFoundError) as exc:
        _fail(str(exc))
    version = f"v{data.registry_version}" if data.registry_version else "unregistered bundle"
    console.print(
        f"model card for {data.registered_model} {version} written to {path} (holdout "
        f"accuracy {100 * float(data.metrics.get('model_accuracy', float('nan'))):.1f} %; "
        f"per-industry figures from {data.per_industry_source})",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(outcomes_app, name="outcomes")
    app.add_typer(pilot_app, name="pilot")
    app.command("retrain")(retrain)
    app.command("model-card")(model_card)
