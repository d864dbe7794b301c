"""One figure-to-PNG helper for the compare, monitor and pilot reports."""

from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from training.reports.figures import figure_png, figure_png_base64  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_a_pyplot_figure_is_saved_and_closed() -> None:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    assert fig.number in plt.get_fignums()
    png = figure_png(fig)
    assert png.startswith(PNG_MAGIC)
    assert fig.number not in plt.get_fignums()  # no figure left open


def test_a_plain_figure_needs_no_pyplot() -> None:
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().bar(["a", "b"], [1, 2])
    before = plt.get_fignums()
    png = figure_png(fig)
    assert png.startswith(PNG_MAGIC) and len(png) > 500
    assert plt.get_fignums() == before


def test_base64_is_the_same_png() -> None:
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([1, 2, 3])
    text = figure_png_base64(fig)
    assert base64.b64decode(text).startswith(PNG_MAGIC)


def test_a_report_may_keep_its_own_resolution() -> None:
    def drawn() -> Figure:
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().plot([1, 2, 3])
        return fig

    low, high = figure_png(drawn(), dpi=50), figure_png(drawn(), dpi=200)
    # PNG width is bytes 16-19 of the IHDR chunk: four times the dpi, four times as wide.
    assert int.from_bytes(high[16:20], "big") > 3 * int.from_bytes(low[16:20], "big")
