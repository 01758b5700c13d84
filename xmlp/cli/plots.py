"""Pictures: learning curves and misclassified images (matplotlib, imported lazily)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import CLIError


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError("plotting needs matplotlib: install 'xmlp[plot]' "
                       "(pip install 'xmlp[plot]')") from None


def plot_history(path: Path, records: list[dict], eval_name: str, title: str) -> None:
    """Chapter-3 style learning curves: cost and accuracy, training vs evaluation."""
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_cost, ax_acc = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in records]
    marker = "o" if len(records) <= 30 else None
    for key, label, color in (("training", "training data", "#1f77b4"),
                              ("evaluation", f"{eval_name} data", "#d62728")):
        ax_cost.plot(epochs, [r[f"{key}_cost"] for r in records], marker=marker, ms=4,
                     color=color, label=label)
        ax_acc.plot(epochs, [100 * r[f"{key}_accuracy"] for r in records], marker=marker,
                    ms=4, color=color, label=label)
    ax_cost.set(title="Cost", xlabel="Epoch", ylabel="Cost per example")
    ax_acc.set(title="Classification accuracy", xlabel="Epoch", ylabel="Accuracy (%)")
    for ax in (ax_cost, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if records:  # also gives a lone first epoch a sensible axis
            ax.set_xlim(0.5, epochs[-1] + 0.5)
            if len(epochs) <= 10:
                ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        if records:
            ax.legend()
        else:
            ax.text(0.5, 0.5, "no complete epoch", ha="center", va="center",
                    transform=ax.transAxes)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def plot_misclassified(path: Path, images: np.ndarray, true: np.ndarray, pred: np.ndarray,
                       classes: Sequence[str], shape: tuple[int, int], n_wrong: int,
                       n: int) -> None:
    from matplotlib.figure import Figure

    count = len(images)
    cols = max(1, min(10, count))
    rows = max(1, math.ceil(count / cols))
    fig = Figure(figsize=(1.45 * cols + 0.3, 1.75 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, img, t, p in zip(axes, images, true, pred):
        ax.imshow(np.asarray(img).reshape(shape), cmap="gray_r", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(f"true {classes[t]}\npred {classes[p]}", fontsize=8,
                     color="#b00000" if t != p else "black")
    if count == 0:
        axes[0].text(0.5, 0.5, "no misclassified images", ha="center", va="center",
                     transform=axes[0].transAxes)
    fig.suptitle(f"Misclassified: {n_wrong} of {n} (showing {count})", fontsize=10)
    fig.savefig(path, dpi=100)
