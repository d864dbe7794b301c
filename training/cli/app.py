"""The ``capacity`` command line: thin typer wrappers around typed functions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Connection-capacity recommendation: synthesise, train, evaluate, recommend, promote.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register_model_commands() -> None:
    # Kept in their own module so each command file stays small; imports stay lazy.
    from training.cli.model import register

    register(app)


_register_model_commands()


def _register_loop_commands() -> None:
    # Outcomes, pilot report/simulate, retrain, model card: training/cli/loop.py.
    from training.cli.loop import register

    register(app)


_register_loop_commands()


def _register_ops_commands() -> None:
    # Compare two versions, monitor the log: training/cli/ops.py.
    from training.cli.ops import register

    register(app)


_register_ops_commands()


def _register_review_commands() -> None:
    # The installed-base review of existing customers: training/cli/review.py.
    from training.cli.review import register

    register(app)


_register_review_commands()


@app.callback()
def main() -> None:
    """Connection-capacity recommendation tools."""


@app.command("validate")
def validate(
    customers: Annotated[
        Path, typer.Option("--customers", help="customers file (CSV or Parquet).")
    ],
    equipment: Annotated[
        Path, typer.Option("--equipment", help="equipment file (CSV or Parquet).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory for rejects.csv, flags.csv, rejects_summary.txt "
            "(default <CAPACITY_HOME>/validation).",
        ),
    ] = None,
    require_label: Annotated[
        bool,
        typer.Option(
            "--require-label", help="Reject customers without a valid peak_demand_kw (training)."
        ),
    ] = False,
    meter_readings: Annotated[
        Path | None,
        typer.Option(
            "--meter-readings",
            help="meter_readings.csv of existing customers (增容/减容/暂停), validated too",
        ),
    ] = None,
) -> None:
    """Validate a utility's history against the data contract and write a rejects report."""
    # Lazy imports keep ``capacity --help`` fast.
    from rich.table import Table

    from features.validation import ContractError, load_history
    from serving.settings import state_home
    from training.cli.output import console as make_console

    console = make_console()
    try:
        history = load_history(
            customers, equipment, require_label=require_label, meter_readings_path=meter_readings
        )
    except (ContractError, FileNotFoundError) as exc:
        console.print(f"[bold red]cannot validate:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from exc

    totals = Table(title="Rows per file")
    for column in ("file", "rows read", "valid", "rejected", "blank", "flagged"):
        totals.add_column(column, justify="left" if column == "file" else "right")
    for row in history.counts().itertuples(index=False):
        totals.add_row(
            str(row.file),
            *(str(v) for v in (row.rows_read, row.valid, row.rejected, row.blank, row.flagged)),
        )
    console.print(totals)

    reasons = Table(title="Rows per reason")
    for column in ("file", "kind", "rows", "reason"):
        reasons.add_column(column, justify="right" if column == "rows" else "left")
    for row in history.summary().itertuples(index=False):
        reasons.add_row(str(row.file), str(row.kind), str(row.rows), str(row.reason))
    if reasons.row_count:
        console.print(reasons)

    out = out if out is not None else state_home() / "validation"
    paths = history.write_report(out)
    console.print(
        f"report written: {paths['rejects']}, {paths['flags']}, {paths['summary']}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("synth")
def synth(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory for customers.csv, equipment.csv, oracle.csv "
            "(default <CAPACITY_HOME>/synth).",
        ),
    ] = None,
    dirty_row_rate: Annotated[
        float, typer.Option("--dirty-row-rate", min=0.0, max=0.2, help="Share of dirty rows.")
    ] = 0.005,
    existing_share: Annotated[
        float,
        typer.Option(
            "--existing-share",
            min=0.0,
            max=1.0,
            help="Share of existing customers (增容 / 减容 / 暂停, with meter_readings.csv; "
            "the default model make serve builds uses 0.3); 0 writes new applications only",
        ),
    ] = 0.0,
) -> None:
    """Generate a synthetic, contract-conformant history (see docs/synthetic_history.md)."""
    # Lazy imports keep ``capacity --help`` fast.
    import time

    from rich.table import Table

    from serving.settings import state_home
    from training.cli.output import console as make_console
    from training.synth.history import SynthConfig, generate_history, write_history

    console = make_console()
    started = time.perf_counter()
    history = generate_history(
        SynthConfig(n=n, seed=seed, dirty_row_rate=dirty_row_rate, existing_share=existing_share)
    )
    out = out if out is not None else state_home() / "synth"
    paths = write_history(history, out)
    elapsed = time.perf_counter() - started

    table = Table(title="Synthetic history")
    table.add_column("file")
    table.add_column("rows", justify="right")
    frames = {
        "customers": history.customers,
        "equipment": history.equipment,
        "oracle": history.oracle,
        "dirty_rows": history.dirty_rows,
    }
    if history.meter_readings is not None:
        frames["meter_readings"] = history.meter_readings
    for name, frame in frames.items():
        table.add_row(paths[name].name, str(len(frame)))
    console.print(table)
    console.print(
        f"n={n}, seed={seed}: generated and written to {out} in {elapsed:.2f} s",
        highlight=False,
        soft_wrap=True,
    )


if __name__ == "__main__":  # pragma: no cover
    app()
