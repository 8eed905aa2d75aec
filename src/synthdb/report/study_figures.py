"""The picture of a hyperparameter study (``synthdb study``), drawn from its JSON alone.

Two panels: accuracy against the swept parameter (one dot per seed, the mean per value, the
fitted curves with their equation and R^2, and the holdout ceiling when there is one), and
training seconds against it with the linear fit. The x axis is logarithmic because every sweep
is spaced geometrically and the accuracy trend is fitted in ln(x); micro-batch counts are
labelled as the powers of two they are. Values the DP planner refused are marked under the
axis, so a gap in the curve is never silent.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullLocator

# figures sets the Agg backend and the house style (fonts, spines) on import
from synthdb.report.figures import DPI, EPSILON_LINE, TRAIN_LINE, VALIDATION_LINE

if TYPE_CHECKING:
    from matplotlib.axes import Axes

POINT = "#8a8a8a"
CEILING = "#2a8a5a"
#: Line style per fitted model, so two accuracy fits on one panel stay apart.
_STYLE = {"log": "--", "log-quadratic": ":", "linear": "--"}


def study_png(data: Mapping[str, Any]) -> bytes:
    """The study's figure as PNG bytes."""
    figure, (accuracy_axes, time_axes) = plt.subplots(1, 2, figsize=(10.5, 5.2))
    label = str(data["parameter"])
    symbol = str(data["symbol"])
    runs = [r for r in data["runs"] if r.get("refused") is None and r.get("accuracy") is not None]
    means = [m for m in data["means"] if m.get("accuracy") is not None]
    refused = [float(v) for v in data.get("refused", []) if v not in {m["value"] for m in means}]
    every = [float(v) for v in data["settings"]["values"]]
    grid = np.geomspace(min(every), max(every), 200)
    fits = list(data["fits"])

    _panel(accuracy_axes, runs, means, "accuracy", fits, grid, symbol)
    ceiling = data.get("ceiling")
    if ceiling is not None:
        accuracy_axes.axhline(ceiling, color=CEILING, linewidth=1, linestyle="-.")
        accuracy_axes.annotate(
            f"holdout ceiling {ceiling:.3f}",
            (grid[0], ceiling),
            textcoords="offset points",
            xytext=(2, -10),
            fontsize=7,
            color=CEILING,
        )
    accuracy_axes.set_ylabel("accuracy (overall, 1 - TVD)")
    accuracy_axes.set_title(f"accuracy against {label}", loc="left")

    _panel(time_axes, runs, means, "seconds", fits, grid, symbol)
    time_axes.set_ylabel("training seconds (DP-SGD loop, wall)")
    time_axes.set_title(f"training time against {label}", loc="left")
    if data["study"] == "noise":
        epochs = time_axes.twinx()
        epochs.plot(
            [r["value"] for r in runs],
            [r["epochs"] for r in runs],
            linestyle="none",
            marker="s",
            ms=3,
            color=EPSILON_LINE,
            label="epochs trained (right axis)",
        )
        epochs.set_ylabel("epochs trained before the budget was spent", color=EPSILON_LINE)
        epochs.set_ylim(0, max(r["epochs"] for r in runs) * 1.15 if runs else 1)
        epochs.spines["right"].set_visible(True)
        _legend(time_axes, epochs)
    else:
        _legend(time_axes)
    _legend(accuracy_axes)

    settings = data["settings"]
    for axes in (accuracy_axes, time_axes):
        _x_axis(axes, data["study"], label, every)
        for value in refused:
            axes.plot(
                [value], [0], marker="x", color="#c0392b", transform=axes.get_xaxis_transform()
            )
    if refused:
        figure.text(
            0.01,
            0.01,
            "x on the axis: refused by the DP planner at this budget (noise above the signal, "
            "or not even one epoch)",
            fontsize=7,
            color="#c0392b",
        )
    figure.suptitle(
        f"{data['data']}: {data['rows']:,} rows, epsilon {settings['epsilon']:g}, "
        f"{settings['epochs']} epochs, batch {settings['batch_size']}, "
        f"{settings['seeds']} seed(s) per value",
        fontsize=9,
    )
    figure.tight_layout(rect=(0, 0.03, 1, 0.96))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return buffer.getvalue()


def _panel(
    axes: Axes,
    runs: Sequence[Mapping[str, Any]],
    means: Sequence[Mapping[str, Any]],
    target: str,
    fits: Sequence[Mapping[str, Any]],
    grid: np.ndarray,
    symbol: str,
) -> None:
    axes.plot(
        [r["value"] for r in runs],
        [r[target] for r in runs],
        linestyle="none",
        marker="o",
        ms=3.5,
        alpha=0.6,
        color=POINT,
        label="one run (seed)",
    )
    shown = [m for m in means if m.get(target) is not None]
    axes.plot(
        [m["value"] for m in shown],
        [m[target] for m in shown],
        marker="D",
        ms=4,
        linewidth=1,
        color=TRAIN_LINE,
        label="mean over seeds",
    )
    colours = iter([VALIDATION_LINE, "#b0413e"])
    for fitted in fits:
        if fitted["target"] != target:
            continue
        curve = _predict(fitted["model"], fitted["coefficients"], grid)
        axes.plot(
            grid,
            curve,
            linestyle=_STYLE[fitted["model"]],
            color=next(colours, VALIDATION_LINE),
            linewidth=1.5,
            label=f"{fitted['equation']}  (R\u00b2 {fitted['r2']:.3f})",
        )


def _legend(axes: Axes, *others: Axes) -> None:
    """Below the panel, so it never hides a point."""
    handles, labels = axes.get_legend_handles_labels()
    for other in others:
        more = other.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    axes.legend(
        handles,
        labels,
        frameon=False,
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=1,
    )


def _predict(model: str, coefficients: Mapping[str, float], x: np.ndarray) -> np.ndarray:
    values = list(coefficients.values())
    if model == "linear":
        return values[0] + values[1] * x
    log = np.log(x)
    return sum((c * log**k for k, c in enumerate(values)), np.zeros_like(x))


def _x_axis(axes: Axes, study: str, label: str, values: Sequence[float]) -> None:
    axes.set_xscale("log", base=2 if study == "microbatches" else 10)
    # ticks at the values swept, written as numbers (1e-3 as 0.001): no 4x10^-1 to decode
    axes.set_xticks(list(values), [f"{v:g}" for v in values])
    axes.xaxis.set_minor_locator(NullLocator())
    if len(values) > 1:
        axes.set_xlim(min(values) / 1.3, max(values) * 1.3)
    axes.set_xlabel(f"{label} (log scale)")
