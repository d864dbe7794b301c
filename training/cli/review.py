"""CLI command ``capacity review``: the installed-base review of existing customers.

Registered on the ``capacity`` app by :mod:`training.cli.app`; a thin wrapper around
:mod:`training.review`, imports inside so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

CHAMPION = "champion"


def _fail(message: str, code: int = 2) -> NoReturn:
    from training.cli.output import console

    console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


def review(
    customers: Annotated[
        Path, typer.Option("--customers", "-c", help="customers file (CSV or Parquet)")
    ],
    meter_readings: Annotated[
        Path,
        typer.Option(
            "--meter-readings",
            "-r",
            help="meter_readings.csv of the existing customers: customer_id, period (YYYY-MM), "
            "energy_kwh, max_demand_kw (optional)",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for review.csv, review.html and rejects/")
    ],
    equipment: Annotated[
        Path | None,
        typer.Option(
            "--equipment", "-e", help="equipment file of the changes (optional: none = no change)"
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="Model bundle directory, or 'champion' (the exported champion of CAPACITY_HOME)",
        ),
    ] = CHAMPION,
) -> None:
    """Rank a history's existing customers: candidates for 减容 (yearly saving), overload risk."""
    from features.metered import MeteredModelRequired
    from features.validation import ContractError, load_history
    from serving.model.bundle import BundleError, load_bundle, version_label
    from serving.settings import Settings
    from training.cli.output import console as make_console
    from training.review import NothingToReviewError, review_installed_base, write_review

    settings = Settings()
    bundle = settings.champion_dir if model == CHAMPION else Path(model)
    if model == CHAMPION and not (bundle / "metadata.json").is_file():
        _fail(
            f"no exported champion in {bundle}: give --model BUNDLE_DIR, or promote a model "
            "trained with --meter-readings (capacity promote)"
        )
    console = make_console()
    try:
        cm, _, _ = load_bundle(bundle)
        label = version_label(bundle, settings.registered_model)
        validated = load_history(
            customers, equipment, require_label=False, meter_readings_path=meter_readings
        )
        result = review_installed_base(cm, label, validated)
    except (MeteredModelRequired, NothingToReviewError) as exc:
        _fail(str(exc))
    except (BundleError, ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
    paths = write_review(result, validated, out)
    console.print(
        f"{len(result.table)} existing customers reviewed ({result.n_new} new connections not "
        f"reviewed): {result.count('reduce_candidate')} candidates for 减容 (together "
        f"{result.yearly_saving_yuan():,.0f} yuan a year), {result.count('overload_risk')} at "
        f"overload risk, {result.count('keep')} rightly sized → {paths['csv']}, {paths['html']}; "
        f"rejected rows: customers {validated.rejected_rows('customers')}, meter readings "
        f"{validated.rejected_rows('meter_readings')} (report: {paths['rejects']})",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add this module's command to ``app``."""
    app.command("review")(review)
