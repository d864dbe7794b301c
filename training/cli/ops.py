"""CLI commands for the data scientist's loop after training: ``compare`` and ``monitor``.

Registered on the ``capacity`` app by :mod:`training.cli.app`; thin wrappers around
:mod:`training.registry.compare` and :mod:`training.monitor.report`, imports inside so ``--help`` is fast.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from features.atomic import write_csv


def _fail(message: str, code: int = 2) -> NoReturn:
    from training.cli.output import console

    console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code=code)


def _table(frame, title: str):  # type: ignore[no-untyped-def]
    from rich.table import Table

    from training.cli.output import cell

    table = Table(title=title)
    for i, col in enumerate(frame.columns):
        table.add_column(str(col), justify="left" if i == 0 else "right", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[cell(v, count=c == "n") for c, v in zip(frame.columns, row, strict=True)])
    return table


def compare(
    candidate: Annotated[
        str | None, typer.Option(help="Registered version to judge (default: newest)")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Version to compare with (default: the champion)")
    ] = None,
    customers: Annotated[
        Path | None,
        typer.Option(
            "--customers",
            "-c",
            help="A labelled history to compare on (default: the candidate's holdout)",
        ),
    ] = None,
    equipment: Annotated[
        Path | None, typer.Option("--equipment", "-e", help="Its equipment file")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for compare.html and the CSV tables "
            "(default: <CAPACITY_HOME>/compare/v<candidate>-vs-v<baseline>)",
        ),
    ] = None,
    no_log: Annotated[
        bool, typer.Option("--no-log", help="Do not log the report to the candidate's run")
    ] = False,
    seed: Annotated[
        int, typer.Option(help="Unused (the paired test is exact); kept for scripts")
    ] = 0,
    meter_readings: Annotated[
        Path | None,
        typer.Option("--meter-readings", help="Its meter_readings.csv (existing customers)"),
    ] = None,
) -> None:
    """Candidate vs champion (or any two versions) on customers neither trained on."""  # fmt: skip
    from features.validation import ContractError
    from serving.model.bundle import BundleError
    from serving.settings import Settings
    from training.cli.output import console
    from training.data import load_labelled
    from training.registry.compare import (
        compare_versions,
        industry_table,
        log_to_run,
        overall_table,
        write_html,
    )
    from training.registry.store import champion_version, latest_version

    settings = Settings()
    con = console()
    candidate = candidate or latest_version(settings)
    baseline = baseline or champion_version(settings)
    if candidate is None:
        _fail(f"no version of '{settings.registered_model}' is registered: train first")
    if baseline is None:
        _fail("no champion is registered: give --baseline VERSION")
    if candidate == baseline:
        _fail(f"candidate and baseline are both version {candidate}: give two versions")
    if (customers is None) != (equipment is None):
        _fail("give both --customers and --equipment, or neither (the candidate's holdout)")
    try:
        history = None
        if customers is not None and equipment is not None:
            history, _ = load_labelled(customers, equipment, meter_readings=meter_readings)
        result = compare_versions(settings, candidate, baseline, history=history, seed=seed)
    except (BundleError, ContractError, ValueError, OSError) as exc:
        _fail(str(exc))
    con.print(
        f"{result.candidate} (candidate) vs {result.baseline} on {result.n} customers neither "
        f"trained or calibrated on ({result.source}; {result.n_seen_excluded} left out)",
        highlight=False,
    )
    con.print(_table(overall_table(result), "Served answers, candidate − baseline"))
    con.print(_table(industry_table(result), "Sizing accuracy per industry (largest loss first)"))
    if result.per_application_type is not None:
        kinds = result.per_application_type
        for _, row in kinds.iterrows():
            con.print(
                f"{row['application_type']}: {int(row['n'])} customers, candidate "
                f"{row['candidate']:.1%} vs baseline {row['baseline']:.1%} "
                f"({row['difference'] * 100:+.2f} points, 95 % [{row['low'] * 100:+.2f}, "
                f"{row['high'] * 100:+.2f}])",
                highlight=False,
            )
    folder = out or settings.home / "compare" / f"{result.candidate}-vs-{result.baseline}"
    folder.mkdir(parents=True, exist_ok=True)
    report = write_html(result, folder / "compare.html")
    write_csv(result.overall, folder / "overall.csv")
    write_csv(result.per_industry, folder / "per_industry.csv", index=False)
    con.print(f"report: {report}", highlight=False)
    if not no_log:
        run_id = log_to_run(
            settings,
            candidate,
            result,
            [report, folder / "overall.csv", folder / "per_industry.csv"],
        )
        con.print(f"logged to run {run_id} of version {candidate}", highlight=False)


def _aware(value: str | None, name: str) -> datetime | None:
    from training.cli.output import parse_datetime_option

    try:
        return parse_datetime_option(value, name)
    except ValueError as exc:
        _fail(str(exc))


def monitor(
    since: Annotated[
        str | None,
        typer.Option(
            help="Start of the window (ISO date/time, UTC if no zone; default: "
            "--days before --until)"
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End of the window, exclusive (default: now)")
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Window length when --since is not given")] = 30,
    version: Annotated[
        str | None,
        typer.Option(
            help="Version whose training history is the reference (default: the champion)"
        ),
    ] = None,
    log_db_url: Annotated[
        str | None,
        typer.Option(
            "--log-db-url",
            help="Recommendation log (default: CAPACITY_LOG_DB_URL or "
            "the service's own log under CAPACITY_HOME)",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="HTML report (default: <CAPACITY_HOME>/monitor/report-<date>.html)"
        ),
    ] = None,
    accuracy_since: Annotated[
        str | None,
        typer.Option(
            help="Start of the realised-accuracy window (default: two years before "
            "--until; outcomes arrive after a year of metering)"
        ),
    ] = None,
    psi_alert: Annotated[float, typer.Option(help="PSI that is an alert")] = 0.25,
    min_applications: Annotated[
        int, typer.Option(help="Applications below which drift is not judged")
    ] = 100,
) -> None:
    """Drift of applications and answers vs the champion's training history; realised accuracy.

    Exit code 1 when a threshold is crossed (for a scheduler to alert on), 2 on an error,
    0 otherwise. A run against the champion also writes <CAPACITY_HOME>/monitor/latest.json
    (the service's /metrics gauges) and appends a row to monitor/history.csv; a what-if
    run (--version of another version) writes neither.
    """  # fmt: skip
    from serving.logbook import LogbookSettings
    from serving.settings import Settings
    from training.cli.output import console
    from training.monitor.report import (
        MonitorThresholds,
        continuing_alerts,
        drift_frame,
        history_path,
        publish,
        read_history,
        run_monitor,
        write_html,
    )
    from training.registry.store import champion_version

    settings = Settings()
    con = console()
    end = _aware(until, "until") or datetime.now(UTC)
    start = _aware(since, "since") or end - timedelta(days=days)
    try:
        thresholds = MonitorThresholds(psi_alert=psi_alert, min_applications=min_applications)
        log_settings = LogbookSettings(url=log_db_url) if log_db_url else LogbookSettings()
        report = run_monitor(
            settings,
            log_settings,
            since=start,
            until=end,
            thresholds=thresholds,
            version=version,
            accuracy_since=_aware(accuracy_since, "accuracy-since"),
        )
    except (LookupError, ValueError, OSError) as exc:
        _fail(str(exc))
    con.print(
        f"model v{report.model_version} · window {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} "
        f"UTC · {report.n_applications} applications · {report.n_outcomes} outcomes since "
        f"{report.accuracy_start:%Y-%m-%d} · "
        f"reference: {report.reference_source}",
        highlight=False,
    )
    drift = drift_frame(report)
    con.print(_table(drift, "Drift against the training history (PSI)"))
    if len(report.monthly):
        con.print(_table(report.monthly, "Realised accuracy by month (Wilson 95 %)"))
        con.print(_table(report.per_industry, "Realised accuracy by industry"))
    else:
        con.print("realised accuracy: no outcome imported yet for this window", highlight=False)
    champion = champion_version(settings)
    continuing = continuing_alerts(report, read_history(history_path(settings)))
    latest, history = publish(report, settings, champion)
    html = write_html(
        report,
        out or settings.home / "monitor" / f"report-{end:%Y-%m-%d}.html",
        read_history(history_path(settings)),
    )
    if latest is None:
        con.print(
            f"report: {html} · what-if run against v{report.model_version} (champion: "
            f"{champion or 'none'}): latest.json and the drift history left as they were",
            highlight=False,
        )
    else:
        con.print(
            f"report: {html} · figures for /metrics: {latest} · drift history: {history}",
            highlight=False,
        )
    if report.alerts:
        for alert in report.alerts:
            if alert in continuing:
                con.print(
                    f"[yellow]STILL[/yellow] {alert} (also on the previous run)", highlight=False
                )
            else:
                con.print(f"[red]ALERT[/red] {alert}", highlight=False)
        raise typer.Exit(code=1)
    con.print("[green]OK[/green]: no threshold crossed", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    from training.cli.dask_engine import partition

    app.command("compare")(compare)
    app.command("monitor")(monitor)
    app.command("partition")(partition)
