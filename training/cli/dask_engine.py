"""``capacity train/recommend --engine dask``: the command bodies (thin, over typed functions).

Kept apart from :mod:`training.cli.model` so that the single-process commands stay as they
were; imports are lazy so ``capacity --help`` does not import Dask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def train_command(
    customers: str,
    equipment: str,
    out: Path,
    config: Any,
    scheduler: str | None,
    workers: int,
    oracle: Path | None,
    meter_readings: str | None = None,
) -> None:
    """Train on a partitioned history with Dask and print the holdout summary.

    ``meter_readings`` is the folder (or URL) of the readings partitions, if any.
    """
    from rich.console import Console

    from features.validation import ContractError
    from serving.settings import Settings
    from training.dask_engine.train import train_partitioned

    if oracle is not None:
        _fail("--oracle is not supported with --engine dask (the baseline needs the whole file)")
        return
    console = Console()
    try:
        result = train_partitioned(
            customers, equipment, out, config, Settings(), scheduler=scheduler,
            n_workers=workers, progress=lambda stage: console.print(f"· {stage}"),
            meter_readings=meter_readings,
        )  # fmt: skip
    except (ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    m = result.metrics
    console.print(
        f"served accuracy {m['model_accuracy']:.3f} on {int(m['n_holdout_evaluated'])} of "
        f"{int(m['n_holdout'])} held-out customers · trained on {result.fit.n_train} in "
        f"{result.seconds:.1f} s over {len(result.fit.reports)} partitions · rejected rows "
        f"customers {result.rejects['customers']}, equipment {result.rejects['equipment']} "
        f"(per partition: {result.rejects_summary.parent})",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"bundle: {result.bundle_dir}")
    if result.run is not None:
        console.print(f"MLflow run {result.run.run_id} · registered version {result.run.version}")


def recommend_command(
    model: Path,
    customers: str,
    equipment: str,
    out: str,
    scheduler: str | None,
    workers: int,
    meter_readings: str | None = None,
    config: Any = None,
) -> None:
    """Score a partitioned history with Dask: one CSV per partition under ``out``.

    ``config`` is the :class:`serving.core.RecommenderConfig` of the single-process command
    (its risk cap, ``--max-undersized-risk``), so both engines answer alike.
    """
    from rich.console import Console

    from features.validation import ContractError
    from serving.core import Recommender
    from serving.model.bundle import BundleError, load_bundle, version_label
    from serving.settings import Settings
    from training.dask_engine.engine import (
        dask_client,
        recommend_dask,
        rejected_rows,
        write_partition_reports,
    )

    console = Console()
    try:
        cm, _, _ = load_bundle(model)
        recommender = Recommender(cm, version_label(model, Settings().registered_model), config)
        with dask_client(scheduler, n_workers=workers) as client:
            result = recommend_dask(client, recommender, customers, equipment, out, meter_readings)
    except (BundleError, ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    local = "://" not in out
    report_dir = Path(out) / "rejects" if local else Path(f"{Path(out).name}-rejects")
    summary = write_partition_reports(result.reports, report_dir)
    rejects = rejected_rows(result.reports)
    console.print(
        f"{result.n_scored} recommendations in {len(result.files)} files under {out} in "
        f"{result.seconds:.1f} s; rejected rows: customers {rejects['customers']}, equipment "
        f"{rejects['equipment']} (report per partition: {summary.parent})",
        highlight=False,
        soft_wrap=True,
    )


def partition(
    customers: Annotated[Path, typer.Option("--customers", "-c", help="customers.csv")],
    equipment: Annotated[Path, typer.Option("--equipment", "-e", help="equipment.csv")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for customers/ and equipment/")],
    partitions: Annotated[
        int, typer.Option("--partitions", "-n", min=1, help="Number of partitions")
    ] = 8,
    meter_readings: Annotated[
        Path | None,
        typer.Option(
            "--meter-readings", help="meter_readings.csv of existing customers (optional)"
        ),
    ] = None,
) -> None:
    """Split a CSV history into the Parquet layout of ``capacity train --engine dask``.

    Writes OUT/customers/part-NNNNN.parquet and OUT/equipment/part-NNNNN.parquet (and
    OUT/meter_readings/part-NNNNN.parquet with --meter-readings), partitioned by customer
    (a customer's lines and readings go with it); cells are kept as text, so training
    validates them exactly as from the CSV files.
    """
    from rich.console import Console

    from features.validation import ContractError
    from training.dask_engine.partitions import partition_csv_history

    files = [("customers", customers), ("equipment", equipment)]
    if meter_readings is not None:
        files.append(("meter_readings", meter_readings))
    for name, path in files:
        if not path.is_file():
            _fail(f"{name} file not found: {path}")
    try:
        parts = partition_csv_history(
            customers, equipment, out, partitions, meter_readings=meter_readings
        )
    except (ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    readings = "" if meter_readings is None else f" --meter-readings {out / 'meter_readings'}"
    Console().print(
        f"{len(parts)} partitions written under {out} "
        f"(train with: capacity train --engine dask --customers {out / 'customers'} "
        f"--equipment {out / 'equipment'}{readings})",
        highlight=False,
    )
