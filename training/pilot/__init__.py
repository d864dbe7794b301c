"""Pilot statistics and the pilot report, split along their seam.

- :mod:`training.pilot.metrics`: how the logged recommendations fared against metered
  peaks (sizing accuracy of the model, the status quo and the engineering method, with
  Wilson intervals), from :func:`training.pilot.log_frame.joined_frame`;
- :mod:`training.pilot.report`: the Markdown and HTML report with its charts, formatted by
  :mod:`training.reports.format` (which the model card uses too).
"""

from training.pilot.metrics import (
    ACCURACY_TARGET,
    METHOD_LABELS,
    MethodMetrics,
    PilotMetrics,
    pilot_metrics,
    top_drivers,
    wilson_interval,
)
from training.pilot.report import PilotReportFiles, write_pilot_report

__all__ = [
    "ACCURACY_TARGET",
    "METHOD_LABELS",
    "MethodMetrics",
    "PilotMetrics",
    "PilotReportFiles",
    "pilot_metrics",
    "top_drivers",
    "wilson_interval",
    "write_pilot_report",
]
