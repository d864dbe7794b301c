"""CLI commands for the model life cycle: train, evaluate, recommend, promote, ensure-model.

Registered on the ``capacity`` app by :mod:`training.cli.app`; each command is a thin wrapper
around a typed function, with imports inside so ``capacity --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from features.atomic import write_csv

if TYPE_CHECKING:  # rich is imported lazily, inside the commands
    from rich.progress import Progress

CustomersOpt = Annotated[Path, typer.Option("--customers", "-c", help="customers.csv or .parquet")]
EquipmentOpt = Annotated[Path, typer.Option("--equipment", "-e", help="equipment.csv or .parquet")]
# Where the history is read: a file for the single-process engine; for --engine dask a folder
# (or fsspec URL) of Parquet partitions (training/dask_engine/partitions.py). Text, not Path: a Path
# would fold 's3://bucket' into 's3:/bucket'.
SourceCustomersOpt = Annotated[
    str,
    typer.Option(
        "--customers",
        "-c",
        help="customers file; with --engine dask a folder/URL of Parquet partitions",
    ),
]
SourceEquipmentOpt = Annotated[
    str,
    typer.Option(
        "--equipment",
        "-e",
        help="equipment file; with --engine dask a folder/URL of Parquet partitions",
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="single: one process; dask: partitioned Parquet on a Dask cluster (training/dask_engine/engine.py)",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="with --engine dask: address of a running Dask scheduler (default: a local cluster)",
    ),
]
WorkersOpt = Annotated[
    int,
    typer.Option("--workers", min=1, help="with --engine dask and no --scheduler: local workers"),
]
MeterOpt = Annotated[
    Path | None,
    typer.Option(
        "--meter-readings",
        help="meter_readings.csv of existing customers (增容/减容/暂停): customer_id, period "
        "(YYYY-MM), energy_kwh, max_demand_kw (optional)",
    ),
]
SourceMeterOpt = Annotated[
    str | None,
    typer.Option(
        "--meter-readings",
        help="meter_readings.csv of existing customers (增容/减容/暂停): customer_id, period "
        "(YYYY-MM), energy_kwh, max_demand_kw (optional); with --engine dask a folder/URL of "
        "Parquet partitions named as the customers partitions",
    ),
]
OracleOpt = Annotated[
    Path | None,
    typer.Option(
        "--oracle",
        help="oracle.csv (customer_id, oracle_peak_kw) for the oracle baseline, e.g. the one "
        "'capacity synth' writes; never picked up implicitly",
    ),
]


def _progress() -> Progress:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())


RiskOpt = Annotated[
    float | None,
    typer.Option(
        "--max-undersized-risk",
        help="Cap on each answer's P(undersized), 0.01 to 0.5 (e.g. 0.10): answers are raised "
        "to meet it, at the cost of oversizing more often. Default: maximise P(appropriate).",
    ),
]


def _risk_option(value: float | None) -> float | None:
    """``--max-undersized-risk`` checked against the one declaration (exit 2 if outside)."""
    from pydantic import TypeAdapter, ValidationError

    from features.schemas import MAX_UNDERSIZED_RISK, MIN_UNDERSIZED_RISK, UndersizedRiskCap

    if value is None:
        return None
    try:
        return float(TypeAdapter(UndersizedRiskCap).validate_python(value))
    except ValidationError:
        _fail(
            f"--max-undersized-risk must be a share from {MIN_UNDERSIZED_RISK:g} to "
            f"{MAX_UNDERSIZED_RISK:g} (0.10 = 10 %), received {value!r}"
        )
        raise


def _fail(message: str) -> None:
    from training.cli.output import console

    console(stderr=True).print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=2)


def _metrics_table(overall, title: str):  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table(title=title)
    for col in ("method", "n", "accuracy", "undersized", "oversized"):
        table.add_column(col, justify="right" if col != "method" else "left")
    for method, row in overall.iterrows():
        table.add_row(
            str(method),
            f"{int(row['n'])}",
            f"{row['accuracy']:.3f}",
            f"{row['undersized']:.3f}",
            f"{row['oversized']:.3f}",
        )
    return table


def train(
    customers: SourceCustomersOpt,
    equipment: SourceEquipmentOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Model bundle directory to write")],
    seed: Annotated[int, typer.Option(help="Seed for splits and LightGBM")] = 42,
    holdout: Annotated[float, typer.Option(help="Share of customers held out for the test")] = 0.2,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Do not log or register")] = False,
    no_monotone: Annotated[
        bool, typer.Option("--no-monotone", help="Drop monotone constraints")
    ] = False,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="JSON file of TrainConfig fields (model, policy band/pf/weights, engineering "
            "defaults); --seed/--holdout/--no-mlflow/--no-monotone override it",
        ),
    ] = None,
    oracle: OracleOpt = None,
    meter_readings: SourceMeterOpt = None,
    engine: EngineOpt = "single",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Train on any contract history, report on a held-out split, log to MLflow, write the bundle."""
    from features.validation import ContractError
    from serving.settings import Settings
    from training.cli.output import console as make_console
    from training.cli.output import counts_table
    from training.train import TrainConfig, train_from_files

    console = make_console()
    base = TrainConfig()
    if config_file is not None:
        try:
            base = TrainConfig.model_validate_json(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _fail(f"--config {config_file}: {exc}")
            return
    config = base.model_copy(
        update={
            "seed": seed,
            "holdout_fraction": holdout,
            "log_to_mlflow": base.log_to_mlflow and not no_mlflow,
            "model": base.model.model_copy(
                update={"monotone": base.model.monotone and not no_monotone}
            ),
        }
    )
    if engine not in ("single", "dask"):
        _fail(f"--engine must be 'single' or 'dask', received {engine!r}")
        return
    if engine == "dask":
        from training.cli.dask_engine import train_command

        train_command(customers, equipment, out, config, scheduler, workers, oracle, meter_readings)
        return
    try:
        with _progress() as progress:
            task = progress.add_task("starting", total=None)
            result = train_from_files(
                Path(customers), Path(equipment), out, config, Settings(),
                progress=lambda stage: progress.update(task, description=stage),
                oracle=oracle,
                meter_readings=None if meter_readings is None else Path(meter_readings),
            )  # fmt: skip
    except (ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    console.print(
        _metrics_table(result.evaluation.overall, f"Holdout ({result.n_holdout} customers)")
    )
    m = result.metrics
    console.print(
        f"MdAPE {m['mdape']:.3f} · within ±20 % {m['within_20pct']:.3f} · coverage 80 % "
        f"{m['coverage80']:.3f} · 90 % {m['coverage90']:.3f} · trained on {result.n_train} in "
        f"{result.seconds:.1f} s · customers dropped for incomplete equipment lists "
        f"{result.n_dropped_incomplete}"
    )
    per_type = result.evaluation.per_application_type
    if per_type is not None:
        for kind, row in per_type.iterrows():
            console.print(
                f"{kind}: {int(row['n'])} held-out customers, appropriately sized "
                f"{row['model_accuracy']:.3f}, undersized {row['model_undersized']:.3f}",
                highlight=False,
            )
    console.print(counts_table("Rejected rows", result.rejects))
    for note in result.notes:
        console.print(f"[yellow]warning:[/yellow] {note}", highlight=False, soft_wrap=True)
    console.print(f"bundle: {result.bundle_dir}")
    if result.run is not None:
        console.print(
            f"MLflow run {result.run.run_id} · registered version {result.run.version} "
            f"· tracking {result.run.tracking_uri}"
        )


def evaluate(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model bundle directory")],
    customers: CustomersOpt,
    equipment: EquipmentOpt,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for plots and tables")
    ] = None,
    oracle: OracleOpt = None,
    meter_readings: MeterOpt = None,
    max_undersized_risk: RiskOpt = None,
) -> None:
    """Evaluate a bundle on a labelled history against the baselines (status quo, engineering, oracle)."""
    from rich.table import Table

    from features.validation import ContractError
    from serving.model.bundle import BundleError, load_bundle
    from training.cli.output import cell
    from training.cli.output import console as make_console
    from training.data import load_labelled
    from training.evaluate import NothingToEvaluateError, evaluate_model, save_plots

    console = make_console()
    try:
        cm, _, _ = load_bundle(model)
        data, validated = load_labelled(
            customers, equipment, oracle=oracle, meter_readings=meter_readings
        )
        result = evaluate_model(
            cm,
            data.frames,
            data.peak_kw,
            data.status_quo_kva,
            data.oracle_kw,
            max_undersized_risk=_risk_option(max_undersized_risk),
        )
    except NothingToEvaluateError as exc:
        _fail(str(exc))
        return
    except (BundleError, ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    n_scored = len(data) - result.n_excluded
    if data.oracle is not None:
        console.print(data.oracle.describe(), highlight=False, soft_wrap=True)
    dropped = validated.incomplete_customers()
    if dropped:
        console.print(
            f"[yellow]left out {dropped} customers[/yellow] whose equipment lines were "
            "(partly) rejected: their equipment lists would be incomplete (see the rejects "
            "report)",
            highlight=False,
            soft_wrap=True,
        )
    if len(data.frames.equipment) == 0:
        console.print(
            "[yellow]warning:[/yellow] the history has no equipment lines at all: every "
            "answer is area-only",
            highlight=False,
            soft_wrap=True,
        )
    if result.n_excluded:
        console.print(
            f"[yellow]left out {result.n_excluded} of {len(data)} customers[/yellow]: the model "
            "trained or calibrated on them (in-sample figures would flatter it)"
        )
    console.print(_metrics_table(result.overall, f"Evaluation ({n_scored} customers)"))
    p = result.point
    m = result.metrics()
    console.print(
        f"served answers (after the sanity bounds): accuracy {m['model_accuracy']:.3f}, before "
        f"the bounds {m['model_unclamped_accuracy']:.3f}; bounds clamped "
        f"{result.clamp_share:.2%} of answers"
    )
    console.print(
        f"MdAPE {p['mdape']:.3f} · within ±20 % {p['within_20pct']:.3f} · "
        f"coverage 80 % {p['coverage80']:.3f} · 90 % {p['coverage90']:.3f}"
    )
    if result.per_application_type is not None:
        kinds = Table(title="Per application type")
        per_type = result.per_application_type
        for col in ["application_type", *per_type.columns]:
            kinds.add_column(col)
        for kind, row in per_type.iterrows():
            kinds.add_row(str(kind), *[cell(v, count=c == "n") for c, v in row.items()])
        console.print(kinds)
    table = Table(title="Per industry (weakest first)")
    per = result.per_industry
    for col in ["industry", *per.columns]:
        table.add_column(col)
    for ind, row in per.iterrows():
        table.add_row(str(ind), *[cell(v, count=c == "n") for c, v in row.items()])
    console.print(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_csv(result.rows, out / "rows.csv", index=False)
        write_csv(per, out / "per_industry.csv")
        if result.per_application_type is not None:
            write_csv(result.per_application_type, out / "per_application_type.csv")
        write_csv(result.overall, out / "overall.csv")
        validated.write_report(out / "rejects")
        for path in save_plots(result, cm, out):
            console.print(f"plot: {path}")


def recommend(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model bundle directory")],
    customers: SourceCustomersOpt,
    equipment: SourceEquipmentOpt,
    out: Annotated[
        str, typer.Option("--out", "-o", help="recs.csv to write; with --engine dask a folder/URL")
    ],
    engine: EngineOpt = "single",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
    meter_readings: SourceMeterOpt = None,
    max_undersized_risk: RiskOpt = None,
) -> None:
    """Score a batch of applications (peak_demand_kw in the input is ignored)."""
    import time

    from features.validation import ContractError, load_history
    from serving.core import Recommender
    from serving.model.bundle import BundleError, load_bundle, version_label
    from serving.settings import Settings
    from training.cli.output import console as make_console

    if engine not in ("single", "dask"):
        _fail(f"--engine must be 'single' or 'dask', received {engine!r}")
        return
    from serving.core import RecommenderConfig

    config = RecommenderConfig(max_undersized_risk=_risk_option(max_undersized_risk))
    if engine == "dask":
        from training.cli.dask_engine import recommend_command

        recommend_command(
            model, customers, equipment, out, scheduler, workers, meter_readings, config
        )
        return
    console = make_console()
    t0 = time.perf_counter()
    out_path = Path(out)
    try:
        cm, _, _ = load_bundle(model)
        label = version_label(model, Settings().registered_model)
        validated = load_history(
            Path(customers),
            Path(equipment),
            require_label=False,
            meter_readings_path=None if meter_readings is None else Path(meter_readings),
            # Applications may say 其他 (not listed): the all-industry answer, reviewed.
            allow_not_listed=True,
        )
    except (BundleError, ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    rec = Recommender(cm, label, config)
    frame = rec.score_frames(validated.customers, validated.equipment)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(frame, out_path, index=False)
    report = out_path.with_name(out_path.stem + "-rejects")
    validated.write_report(report)
    console.print(
        f"{len(frame)} recommendations → {out_path} in {time.perf_counter() - t0:.1f} s; "
        f"rejected rows: customers {validated.rejected_rows('customers')}, equipment "
        f"{validated.rejected_rows('equipment')} (report: {report})"
    )


def promote(
    version: Annotated[
        str | None, typer.Option(help="Registered version (default: newest)")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why this promotion (required with --force)")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who promotes (default: current user)")] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Promote despite the gate's refusal (needs --reason)"),
    ] = False,
) -> None:
    """Move alias 'champion' to a version if it passes the gate; a refusal says why.

    The gate compares served answers of candidate and champion on the customers neither
    trained on (McNemar exact, 95 %, beyond a 0.5-point margin; accuracy and undersized
    share) and refuses a candidate that is worse, below the 0.90 floor, unbounded or
    trained on a corrupt history. Every decision is recorded on the version.
    """
    from serving.model.bundle import BundleError
    from serving.settings import Settings
    from training.cli.output import console as make_console
    from training.registry.store import export_champion, latest_version
    from training.registry.store import promote as do_promote

    if force and not (reason and reason.strip()):
        _fail('--force needs --reason "...": an override of the gate must say why')
        return
    settings = Settings()
    console = make_console()
    candidate = version or latest_version(settings)
    if candidate is None:
        _fail(f"no version of '{settings.registered_model}' is registered: train first")
        return
    decision = do_promote(settings, candidate, reason=reason, by=by, force=force)
    if decision.comparison is not None:
        console.print(decision.comparison.describe())
    if not decision.promoted:
        console.print(
            f"[red]refused[/red]: version {candidate} not promoted: {decision.reason} "
            f"(candidate {decision.candidate_accuracy:.4f} on {decision.n_candidate_holdout} "
            "held-out customers)"
        )
        raise typer.Exit(code=1)
    try:
        path = export_champion(settings)
    except BundleError as exc:
        _fail(f"version {candidate} was promoted but could not be exported for serving: {exc}")
        return
    forced = " [yellow]despite the gate (forced; recorded)[/yellow]" if decision.forced else ""
    console.print(
        f"[green]promoted[/green] version {candidate} to 'champion'{forced} (served accuracy "
        f"{decision.candidate_accuracy:.4f} on its holdout); exported to {path}: a running "
        "service picks it up without a restart"
    )


def ensure_model(
    n: Annotated[int, typer.Option(help="Synthetic customers for the default model")] = 25000,
    seed: Annotated[int, typer.Option(help="Seed")] = 1,
) -> None:
    """Build the default model from synthetic history if no champion is registered; export it."""
    from serving.model.bundle import BundleError
    from serving.settings import Settings
    from training.bootstrap import ensure_default_model
    from training.cli.output import console as make_console

    console = make_console()
    try:
        path, message = ensure_default_model(Settings(), n=n, seed=seed, log=console.print)
    except BundleError as exc:
        _fail(str(exc))
        return
    console.print(f"{message}; serving bundle: {path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("recommend")(recommend)
    app.command("promote")(promote)
    app.command("ensure-model")(ensure_model)
