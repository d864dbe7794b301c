"""One way to turn a matplotlib figure into a PNG for a generated report.

Used by the comparison report (``training/registry/compare.py``), the monitoring report
(``training/monitor/report.py``), the pilot report (``training/pilot/report.py``) and the
installed-base review (``training/review.py``, at its own 100 dpi), so every report's
charts are saved and trimmed the same way and no figure is left open.
"""

from __future__ import annotations

import base64
import io
from typing import Any

__all__ = ["PNG_DPI", "figure_png", "figure_png_base64"]

PNG_DPI = 110
"""Resolution of every report chart (sharp in a browser, a few tens of kB each)."""


def figure_png(fig: Any, *, dpi: int = PNG_DPI) -> bytes:
    """The figure as PNG bytes, trimmed to its content; a pyplot figure is closed after.

    A figure pyplot manages (``plt.subplots``) is saved through its own canvas and closed,
    so a long run writing many reports does not accumulate open figures. Any other figure
    (``matplotlib.figure.Figure()``, as the pilot report builds them) gets an explicit Agg
    canvas: no display and no global pyplot state, so it can be drawn from server threads.
    """
    managed = getattr(fig.canvas, "manager", None) is not None
    if not managed:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    if managed:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buffer.getvalue()


def figure_png_base64(fig: Any, *, dpi: int = PNG_DPI) -> str:
    """:func:`figure_png` as base64 text, for a ``data:image/png;base64,`` image in HTML."""
    return base64.b64encode(figure_png(fig, dpi=dpi)).decode("ascii")
