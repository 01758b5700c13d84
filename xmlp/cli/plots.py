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
    """Chapter-3 style learning curves: cost and accuracy, training vs evaluation; with
    recorded speeds of learning (``--speed``), chapter 5's figure beside them."""
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    speeds = [r["learning_speed"] for r in records if "learning_speed" in r]
    fig = Figure(figsize=(16.5 if speeds else 11, 4.4), layout="constrained")
    ax_cost, ax_acc, *ax_speed = fig.subplots(1, 3 if speeds else 2)
    if speeds:
        plot_speeds(ax_speed[0], speeds)
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


def plot_members(path: Path, histories: Sequence, labels: Sequence[str], eval_name: str,
                 title: str) -> None:
    """Every member's curves in one figure: training cost and evaluation accuracy per epoch,
    one colour per member (as the book's chapter-3 figure compares learning rates)."""
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_cost, ax_acc = fig.subplots(1, 2)
    for history, label in zip(histories, labels):
        if history.training_cost:
            ax_cost.plot(range(1, len(history.training_cost) + 1), history.training_cost,
                         label=label)
        if history.evaluation_accuracy:
            ax_acc.plot(range(1, len(history.evaluation_accuracy) + 1),
                        [100 * a for a in history.evaluation_accuracy], label=label)
    ax_cost.set(title="Cost on the training data", xlabel="Epoch", ylabel="Cost per example")
    ax_acc.set(title=f"Accuracy on the {eval_name} data", xlabel="Epoch",
               ylabel="Accuracy (%)")
    for ax in (ax_cost, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def plot_speeds(ax, speeds: list[list[float]]) -> None:
    """Chapter 5's "Speed of learning" figure on ``ax``: one curve per hidden layer of the
    speeds recorded before each epoch (``speeds[e][l]``; the output layer's last entry is
    left out, as the book does), against the epochs trained before it, log scale."""
    from matplotlib.ticker import MaxNLocator

    colors = ["#2A6EA6", "#FFA933", "#FF5555", "#55AA55", "#5555FF", "#8c564b"]
    hidden = len(speeds[0]) - 1
    for l in range(hidden):
        ax.plot(range(len(speeds)), [s[l] for s in speeds], color=colors[l % len(colors)],
                marker="o" if len(speeds) <= 30 else None, ms=3, label=f"Hidden layer {l + 1}")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="Number of epochs of training",
           title=f"Speed of learning: {hidden} hidden layer{'' if hidden == 1 else 's'}")
    ax.grid(True, alpha=0.3)
    if hidden:
        ax.legend(loc="upper right")


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


def _log_scale(values: Sequence[float]) -> str:
    """'log' for positive values spanning two decades or more, 'symlog' when a 0 joins
    such values (lmbda = 0, 0.1, 1, 10), else 'linear'."""
    positive = [v for v in values if v > 0]
    if len(positive) < 2 or max(positive) / min(positive) < 50 or any(v < 0 for v in values):
        return "linear"
    return "log" if len(positive) == len(values) else "symlog"


def plot_sweep(path: Path, rows: list[dict], params: Sequence[str], metric: str,
               definition: dict, title: str, n_curves: int = 5) -> None:
    """Chapter 3's view of a sweep: the metric against each swept parameter, one line per
    value of a second parameter (grid values; ranges of a random / TPE search as points),
    log axes for log-scaled ones, and the learning curves of the best trials."""
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    done = [r for r in rows if r["state"] == "complete" and r.get(metric) is not None]
    pruned = [r for r in rows if r["state"] == "pruned" and r.get(metric) is not None]
    accuracy = metric.endswith("accuracy")
    scale = 100.0 if accuracy else 1.0
    ylabel = metric.replace("_", " ") + (" (%)" if accuracy else "")
    grid, space = definition.get("grid", {}), definition.get("space", {})
    panels = len(params) + 1
    cols = min(3, panels)
    nrows = math.ceil(panels / cols)
    fig = Figure(figsize=(5.2 * cols, 4.2 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    for ax in axes[panels:]:
        ax.set_axis_off()
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
              "#7f7f7f", "#bcbd22", "#17becf"]
    for ax, p in zip(axes, params):
        others = [q for q in params if q != p]
        q = others[0] if others else None
        numeric = all(isinstance(r[p], (int, float)) and not isinstance(r[p], bool)
                      for r in done)
        groups = sorted({r[q] for r in done}, key=_sort_key) if q else [None]
        for i, g in enumerate(groups):
            mine = [r for r in done if q is None or r[q] == g]
            label = None if q is None else f"{q.replace('_', '-')} = {_short(g)}"
            color = colors[i % len(colors)]
            if p in space:  # random / TPE draws: points
                ax.scatter([r[p] for r in mine], [scale * r[metric] for r in mine], s=22,
                           color=color, label=label, alpha=0.8)
                continue
            if not mine:
                continue
            best: dict = {}
            for r in mine:  # the best over any further parameters
                v = r[metric]
                if r[p] not in best or (v > best[r[p]] if accuracy else v < best[r[p]]):
                    best[r[p]] = v
            xs = sorted(best, key=_sort_key)
            ax.plot([x if numeric else str(x) for x in xs], [scale * best[x] for x in xs],
                    marker="o", ms=5, color=color, label=label)
        if pruned and (numeric or p in space):
            ax.scatter([r[p] for r in pruned], [scale * r[metric] for r in pruned], s=26,
                       marker="x", color="#7f7f7f", label="pruned (at its last epoch)")
        values = [r[p] for r in done + pruned] if numeric else []
        mode = "linear"
        if p in space and space[p][2]:
            mode = "log"
        elif numeric and p in grid:
            mode = _log_scale(values)
        if mode == "symlog":
            ax.set_xscale("symlog", linthresh=min(v for v in values if v > 0))
        elif mode == "log":
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        if mode != "linear":
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        extra = " (best over the others)" if len(params) > 2 else ""
        ax.set(xlabel=p.replace("_", " "), ylabel=ylabel,
               title=f"{metric.replace('_', ' ')} vs {p.replace('_', ' ')}{extra}")
        ax.grid(alpha=0.3)
        if (q is not None and done) or pruned:
            ax.legend(fontsize=8)
        if not done:
            ax.text(0.5, 0.5, "no completed trial", ha="center", va="center",
                    transform=ax.transAxes)
    ax = axes[len(params)]
    series = ("training_" if metric.startswith("training") else "evaluation_") + \
        metric.rsplit("_", 1)[1]
    best_rows = [r for r in done if r.get("history")][:n_curves]
    for i, r in enumerate(best_rows):
        ys = r["history"].get(series) or []
        label = f"trial {r['trial']}: " + ", ".join(f"{p}={_short(r[p])}" for p in params)
        ax.plot(range(1, len(ys) + 1), [scale * y for y in ys], marker="o" if len(ys) <= 30
                else None, ms=3, color=colors[i % len(colors)], label=label)
    split = (best_rows[0].get("evaluation") if best_rows and series.startswith("evaluation")
             else "training") or "evaluation"
    ax.set(xlabel="Epoch", ylabel=f"{split} {metric.rsplit('_', 1)[1]}"
           + (" (%)" if accuracy else ""),
           title=f"Learning curves of the best {len(best_rows)} trial"
                 + ("" if len(best_rows) == 1 else "s"))
    ax.grid(alpha=0.3)
    if best_rows:
        ax.legend(fontsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _sort_key(value):
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))
