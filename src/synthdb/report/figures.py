"""The report's pictures, drawn with matplotlib (Agg, no display) into inline PNG data.

Every function takes the plain figures of the report's JSON, not live objects, so a picture
shows exactly what the JSON holds. Real data is always blue and synthetic data always orange
(a pair that colour-blind readers tell apart); pictures that show neither, such as the training
curve, use neither colour.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, no GUI toolkit, same pixels everywhere

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator, PercentFormatter
from PIL import Image

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REAL = "#1f5fa8"
SYNTHETIC = "#e8743b"
#: training curve lines: neither real nor synthetic
TRAIN_LINE = "#333333"
VALIDATION_LINE = "#7b4fa0"
EPSILON_LINE = "#2a8a5a"
DPI = 110
_LABEL_CHARS = 24

plt.rcParams.update(
    {
        "font.size": 8,
        "axes.titlesize": 9,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",
    }
)


def png(figure: Figure) -> str:
    """The figure as a ``data:`` URL; the figure is closed (matplotlib keeps them otherwise).

    Stored with a palette of at most 256 colours: flat bars, lines and text need no more,
    and the page shrinks to about a third (a database report has a hundred pictures). Median
    cut keeps the real and synthetic colours exact, as they fill the most pixels.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    buffer.seek(0)
    with Image.open(buffer) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    packed = io.BytesIO()
    small.save(packed, format="PNG")
    return "data:image/png;base64," + base64.b64encode(packed.getvalue()).decode("ascii")


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def column_figure(name: str, column: dict[str, Any], accuracy: float | None) -> str:
    """Real and synthetic distribution of one column, with its NULL share and accuracy."""
    labels: list[str] = list(column["labels"])
    real = np.asarray(column["real"], dtype=float)
    synthetic = np.asarray(column["synthetic"], dtype=float)
    null_real, null_synthetic = column["null_real"] or 0.0, column["null_synthetic"] or 0.0
    subtitle = (
        f"accuracy {accuracy:.3f}" if accuracy is not None else "accuracy n/a"
    ) + f" · NULL: real {_percent(null_real)}, synthetic {_percent(null_synthetic)}"
    if column["kind"] == "categorical":
        if null_real or null_synthetic:
            labels.append("(NULL)")
            real = np.append(real, null_real)
            synthetic = np.append(synthetic, null_synthetic)
        figure, axes = plt.subplots(figsize=(4.6, 1.1 + 0.2 * max(len(labels), 3)))
        _category_bars(axes, labels, real, synthetic)
    else:
        figure, axes = plt.subplots(figsize=(4.6, 2.5))
        if column["edges"]:
            _histogram(axes, column["edges"], real, synthetic, column["kind"] == "datetime")
        else:
            _value_bars(axes, labels, real, synthetic)
        axes.set_ylabel("share of rows")
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_xlabel(name)
    axes.set_title(f"{_short(name)}\n", loc="left")
    axes.text(0, 1.02, subtitle, transform=axes.transAxes, fontsize=7, color="#555555")
    axes.legend(frameon=False, fontsize=7, loc="best")
    return png(figure)


def _category_bars(
    axes: Axes, labels: Sequence[str], real: np.ndarray, synthetic: np.ndarray
) -> None:
    positions = np.arange(len(labels))
    axes.barh(positions - 0.2, real, height=0.4, color=REAL, label="real")
    axes.barh(positions + 0.2, synthetic, height=0.4, color=SYNTHETIC, label="synthetic")
    axes.set_yticks(positions, [_short(label) for label in labels])
    axes.invert_yaxis()  # most frequent on top
    axes.set_xlabel("share of rows")
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.xaxis.set_major_locator(MaxNLocator(5))


def _histogram(
    axes: Axes, edges: Sequence[float], real: np.ndarray, synthetic: np.ndarray, dates: bool
) -> None:
    x = np.asarray(edges, dtype=float)
    if dates:
        # matplotlib's dates are days since 1970-01-01, the epoch of the typed seconds
        x = x / 86_400.0
        _date_axis(axes)
    else:
        axes.xaxis.set_major_locator(MaxNLocator(6))
    axes.stairs(real, x, fill=True, color=REAL, alpha=0.55, label="real")
    axes.stairs(synthetic, x, color=SYNTHETIC, linewidth=1.8, label="synthetic")


def _date_axis(axes: Axes) -> None:
    """At most five date ticks, labelled as concisely as their spacing allows."""
    locator = mdates.AutoDateLocator(minticks=2, maxticks=7)  # type: ignore[no-untyped-call]
    formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(formatter)


def _value_bars(axes: Axes, labels: Sequence[str], real: np.ndarray, synthetic: np.ndarray) -> None:
    positions = np.arange(len(labels))
    axes.bar(positions - 0.2, real, width=0.4, color=REAL, label="real")
    axes.bar(positions + 0.2, synthetic, width=0.4, color=SYNTHETIC, label="synthetic")
    step = max(1, math.ceil(len(labels) / 10))
    axes.set_xticks(positions[::step], [_short(label) for label in labels[::step]])


def heatmap(
    columns: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    title: str,
    *,
    colour_label: str,
    diverging: bool = False,
    low: float | None = None,
) -> str:
    """A square matrix over ``columns``; values printed in the cells while they fit."""
    values = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    n = len(columns)
    size = max(3.2, 0.34 * n + 1.6)
    figure, axes = plt.subplots(figsize=(size + 0.9, size))
    if diverging:
        reach = max(0.05, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.05)
        image = axes.imshow(values, cmap="RdBu_r", vmin=-reach, vmax=reach)
    else:
        bottom = low if low is not None else 0.0
        image = axes.imshow(values, cmap="viridis", vmin=bottom, vmax=1.0)
    names = [_short(c) for c in columns]
    axes.set_xticks(range(n), names, rotation=90)
    axes.set_yticks(range(n), names)
    axes.spines[:].set_visible(False)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                value = values[i, j]
                if not np.isfinite(value):
                    continue
                text = f"{value:+.2f}" if diverging else f"{value:.2f}"
                shade = float(np.asarray(image.norm(value)))
                # white on the dark ends of either colour map, black elsewhere
                dark = abs(shade - 0.5) > 0.3 if diverging else shade < 0.55
                colour = "white" if dark else "black"
                axes.text(j, i, text, ha="center", va="center", fontsize=5.5, color=colour)
    bar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.03)
    bar.set_label(colour_label)
    axes.set_title(title, loc="left")
    return png(figure)


def pair_matrix(
    columns: Sequence[str], per_pair: dict[str, float | None], per_column: dict[str, float | None]
) -> list[list[float | None]]:
    """Bivariate accuracies as a symmetric matrix; the diagonal holds per-column accuracy."""
    index = {name: i for i, name in enumerate(columns)}
    matrix: list[list[float | None]] = [[None] * len(columns) for _ in columns]
    for name, i in index.items():
        matrix[i][i] = per_column.get(name)
    for key, value in per_pair.items():
        left, right = _split_pair(key, index)
        if left is not None and right is not None:
            matrix[left][right] = matrix[right][left] = value
    return matrix


def _split_pair(key: str, index: dict[str, int]) -> tuple[int | None, int | None]:
    """``"a|b"`` back into column positions; column names may hold ``|`` themselves."""
    for cut in range(len(key)):
        if key[cut] == "|" and key[:cut] in index and key[cut + 1 :] in index:
            return index[key[:cut]], index[key[cut + 1 :]]
    return None, None


def training_figure(
    history: Sequence[dict[str, Any]], epsilon: Sequence[Sequence[float]] | None
) -> str:
    """Loss and validation accuracy per epoch, and the privacy budget spent when there is one."""
    panels = 3 if epsilon else 2
    figure, axes = plt.subplots(1, panels, figsize=(3.3 * panels, 2.6))
    epochs = [record["epoch"] for record in history]
    best = [record["epoch"] for record in history if record.get("best")]
    loss_axes, accuracy_axes = axes[0], axes[1]
    loss_axes.plot(epochs, [r["loss"] for r in history], color=TRAIN_LINE, label="training")
    loss_axes.plot(
        epochs, [r["val_loss"] for r in history], color=VALIDATION_LINE, label="validation"
    )
    loss_axes.set_title("loss per epoch", loc="left")
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("cross-entropy (sum over columns)")
    loss_axes.legend(frameon=False, fontsize=7)
    accuracy_axes.plot(
        epochs, [r["val_accuracy"] for r in history], color=VALIDATION_LINE, marker="o", ms=2.5
    )
    if best:
        kept = best[-1]
        value = next(r["val_accuracy"] for r in history if r["epoch"] == kept)
        accuracy_axes.axvline(kept, color="#999999", linestyle=":", linewidth=1)
        accuracy_axes.annotate(
            f"kept: epoch {kept}",
            (kept, value),
            textcoords="offset points",
            xytext=(-4, -14),
            ha="right",
            fontsize=7,
        )
    accuracy_axes.set_title("validation accuracy", loc="left")
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylabel("accuracy")
    for panel in axes:
        panel.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    if epsilon:
        _epsilon_panel(axes[2], epsilon)
    figure.tight_layout()
    return png(figure)


def epsilon_figure(epsilon: Sequence[Sequence[float]]) -> str:
    """The privacy budget spent after each epoch: a DP model's training curve."""
    figure, axes = plt.subplots(figsize=(3.6, 2.6))
    _epsilon_panel(axes, epsilon)
    figure.tight_layout()
    return png(figure)


def _epsilon_panel(axes: Any, epsilon: Sequence[Sequence[float]]) -> None:
    axes.plot(
        [point[0] for point in epsilon],
        [point[1] for point in epsilon],
        color=EPSILON_LINE,
        marker="o",
        ms=2.5,
    )
    axes.set_title("privacy budget spent", loc="left")
    axes.set_xlabel("epoch")
    axes.set_ylabel("epsilon (cumulative)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))


def relation_figure(title: str, relation: dict[str, Any]) -> str:
    """Children per parent row of one relationship, real and synthetic, as shares of parents.

    One bar per count while the counts are small, otherwise equal-width ranges of counts; the
    subtitle holds the accuracy and both means, the figures a reader compares first.
    """
    distribution = relation["distribution"]
    real = np.asarray(distribution["real"], dtype=float)
    synthetic = np.asarray(distribution["synthetic"], dtype=float)
    figure, axes = plt.subplots(figsize=(4.6, 2.5))
    if distribution["edges"]:
        _histogram(axes, distribution["edges"], real, synthetic, dates=False)
    else:
        _value_bars(axes, distribution["labels"], real, synthetic)
    axes.set_xlabel("children per parent row")
    axes.set_ylabel("share of parent rows")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    shown = title if len(title) <= 56 else title[:55] + "…"
    axes.set_title(f"{shown}\n", loc="left")
    accuracy = relation.get("accuracy")
    subtitle = (
        f"accuracy {accuracy:.3f}" if accuracy is not None else "accuracy n/a"
    ) + f" · mean: real {relation['real_mean']:.2f}, synthetic {relation['synthetic_mean']:.2f}"
    axes.text(0, 1.02, subtitle, transform=axes.transAxes, fontsize=7, color="#555555")
    axes.legend(frameon=False, fontsize=7, loc="best")
    return png(figure)


def sequence_lengths_figure(view: dict[str, Any]) -> str:
    """Sequence lengths, real and synthetic, as shares of sequences on the same bins."""
    real = np.asarray(view["real_lengths"], dtype=float)
    synthetic = np.asarray(view["synthetic_lengths"], dtype=float)
    real = real / max(real.sum(), 1.0)
    synthetic = synthetic / max(synthetic.sum(), 1.0)
    figure, axes = plt.subplots(figsize=(4.6, 2.5))
    _histogram(axes, view["length_edges"], real, synthetic, dates=False)
    axes.set_xlabel("rows per sequence")
    axes.set_ylabel("share of sequences")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_title("Sequence lengths", loc="left")
    axes.legend(frameon=False, fontsize=7, loc="best")
    return png(figure)


def sequence_examples_figure(view: dict[str, Any]) -> str:
    """One number column along a few real and a few synthetic sequences, side by side."""
    along = str(view["along"])
    figure, panels = plt.subplots(1, 2, figsize=(8.4, 2.5), sharey=True)
    for axes, side, colour in zip(panels, ("real", "synthetic"), (REAL, SYNTHETIC), strict=True):
        for number, example in enumerate(view[f"{side}_examples"]):
            values = np.array(
                [np.nan if v is None else v for v in example["along"] or []], dtype=float
            )
            axes.plot(
                np.arange(1, len(values) + 1),
                values,
                color=colour,
                alpha=1.0 - 0.25 * number,
                linewidth=1.2,
                marker="o" if len(values) <= 40 else None,
                markersize=2.5,
            )
        axes.set_title(f"{side}: {_short(along)} along {len(view[f'{side}_examples'])} sequences")
        axes.set_xlabel("position in the sequence")
        axes.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    panels[0].set_ylabel(_short(along))
    return png(figure)
