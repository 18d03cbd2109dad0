"""The report's figures: matplotlib drawn on its Agg canvas, returned as PNG data URIs.

``Figure`` and ``FigureCanvasAgg`` directly, never ``pyplot``: pyplot keeps figures in
a global registry and picks a backend for the whole process, which a worker rendering
reports beside other code must not change. Every figure here has its numbers in a
table right after it in the report; the plot is the quick look, the table the record.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spotline.core.plan.diversion import WEEKDAYS

WIDTH_IN = 7.0  # an A4 page's text width, so print does not rescale
DPI = 120
# Colours a reader with red-green colour blindness tells apart (Okabe-Ito).
BLUE, ORANGE, GREEN, GREY = "#0072B2", "#D55E00", "#009E73", "#555555"

Grid = Sequence[Sequence[float | None]]  # 7 weekdays x 24 hours


def _data_uri(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    # No "Software" text chunk: it names matplotlib's web address, and the report
    # promises it holds none.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def heatmap(grid: Grid, *, label: str, cmap: str = "YlGnBu",
            vmin: float | None = 0.0, vmax: float | None = None) -> str:
    """A 7 x 24 grid by hour of the week; an hour with no value is left blank."""
    fig = Figure(figsize=(WIDTH_IN, 2.6), layout="constrained")
    ax = fig.add_subplot()
    values = [[_nan(v) for v in row] for row in grid]
    image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel("hour of the day")
    fig.colorbar(image, ax=ax, label=label, pad=0.01)
    return _data_uri(fig)


def _week_axis(ax: object) -> None:
    ax.set_xticks(range(0, 169, 24), [*WEEKDAYS, ""])  # type: ignore[attr-defined]
    ax.set_xlim(0, 168)  # type: ignore[attr-defined]
    ax.grid(axis="x", color="#cccccc", linewidth=0.6)  # type: ignore[attr-defined]


def by_hour(minutes: dict[str, Sequence[float | None]], served: Sequence[float | None],
            *, target_minutes: float | None) -> str:
    """Minutes to scene (one line per series) above the served share, over the week."""
    fig = Figure(figsize=(WIDTH_IN, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    for (name, values), colour in zip(minutes.items(), (BLUE, ORANGE), strict=False):
        top.plot(range(168), [_nan(v) for v in values], color=colour, linewidth=1.2,
                 label=name, drawstyle="steps-post")
    if target_minutes is not None:
        top.axhline(target_minutes, color=GREY, linestyle="--", linewidth=1,
                    label=f"goal {target_minutes:g} min")
    top.set_ylabel("minutes to scene")
    top.set_ylim(bottom=0, top=top.get_ylim()[1] * 1.1)
    top.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize="small",
               frameon=False)
    bottom.plot(range(168), [_nan(v) * 100 for v in served], color=GREEN, linewidth=1.2,
                drawstyle="steps-post")
    bottom.set_ylabel("served, %")
    bottom.set_ylim(0, 105)
    for ax in (top, bottom):
        _week_axis(ax)
    return _data_uri(fig)


def bars(labels: Sequence[str], series: dict[str, Sequence[float | None]], *,
         ylabel: str) -> str:
    """Grouped bars: one group per label, one bar per series."""
    fig = Figure(figsize=(WIDTH_IN, 2.8), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(len(series), 1)
    for i, ((name, values), colour) in enumerate(
            zip(series.items(), (BLUE, ORANGE, GREEN), strict=False)):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(xs, [_nan(v) for v in values], width=width, color=colour, label=name)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return _data_uri(fig)


def staffing_curve(responders: Sequence[int], median: Sequence[float | None],
                   p90: Sequence[float | None], served: Sequence[float | None], *,
                   target_minutes: float | None, target_served: float | None) -> str:
    """Responders on shift against minutes to scene (left) and the served share (right),
    each with its target as a dashed line."""
    fig = Figure(figsize=(WIDTH_IN, 3.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(responders, [_nan(v) for v in median], color=BLUE, marker="o",
              markersize=3, label="median")
    left.plot(responders, [_nan(v) for v in p90], color=ORANGE, marker="s",
              markersize=3, label="90th percentile")
    if target_minutes is not None:
        left.axhline(target_minutes, color=GREY, linestyle="--", linewidth=1,
                     label=f"target {target_minutes:g} min")
    left.set_xlabel("responders on shift")
    left.set_ylabel("minutes to scene")
    left.set_ylim(bottom=0)
    left.legend(fontsize="small")
    right.plot(responders, [_nan(v) * 100 for v in served], color=GREEN, marker="o",
               markersize=3, label="served")
    if target_served is not None:
        right.axhline(target_served * 100, color=GREY, linestyle="--", linewidth=1,
                      label=f"target {target_served:.0%}")
    right.set_xlabel("responders on shift")
    right.set_ylabel("served, %")
    right.set_ylim(0, 105)
    right.legend(fontsize="small", loc="lower right")
    return _data_uri(fig)
