"""``xmlp evaluate``: accuracy and confusion matrix of a saved network."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import options as opt
from .data import (
    add_batch_size_option,
    check_n_in,
    check_writable,
    infer_fold,
    load_dataset,
    load_model,
    pct,
    predict_numpy,
    transform,
)
from .errors import CLIError
from .plots import plot_misclassified, require_matplotlib

NAME = "evaluate"
MEMORY_HINT = "pass a smaller --batch-size (the images fed forward at once)"


def add_parser(sub) -> argparse.ArgumentParser:
    ev = sub.add_parser(
        NAME, help="accuracy and confusion matrix of a saved network",
        description="Evaluate a saved network on a dataset split: accuracy and confusion "
                    "matrix (rows: true class, columns: predicted class).",
        formatter_class=opt.HelpFormatter)
    ev.add_argument("model", metavar="MODEL", help="network file (.json or .npz)")
    opt.add_data_options(ev, validation=True)
    ev.add_argument("--split", choices=("test", "validation", "train"), default="test",
                    help="which split to evaluate")
    ev.add_argument("--downsample", type=opt.positive_int, metavar="FOLD",
                    help="downsample as in training (default: inferred from the model's "
                         "input size)")
    ev.add_argument("--misclassified", metavar="PNG",
                    help="write a grid of misclassified images with true/predicted labels")
    ev.add_argument("--max-images", type=opt.positive_int, default=40,
                    help="at most this many images in the --misclassified grid")
    add_batch_size_option(ev)
    opt.add_backend_options(ev, dtype_default=None)
    return ev


def run(args: argparse.Namespace) -> int:
    from ..backend import dtype_name

    check_writable(args.misclassified, "--misclassified")
    if args.misclassified:
        require_matplotlib()
    net = load_model(args)
    dtype = dtype_name(net.dtype)
    ds = load_dataset(args, dtype)
    split = {"test": ds.test, "validation": ds.validation, "train": ds.train}[args.split]
    if split is None or not len(split.y):
        raise CLIError(f"{args.dataset} has no validation split here; pass --validation N "
                       "(as in training) to hold out the last N training rows")
    fold = args.downsample or infer_fold(net.sizes[0], ds.image_shape)
    X = transform(split.X, fold, ds.image_shape)
    check_n_in(net, X.shape[1], fold)
    if net.sizes[-1] != ds.n_classes:
        raise CLIError(f"the model has {net.sizes[-1]} outputs but {args.dataset} has "
                       f"{ds.n_classes} classes")
    n = len(split.y)
    pred = predict_numpy(net, X, args.batch_size)  # Network.accuracy's chunks by default
    correct = int(np.count_nonzero(pred == split.y))
    acc = correct / n
    k = ds.n_classes
    matrix = np.bincount(split.y * k + pred, minlength=k * k).reshape(k, k)

    print(f"model     {args.model}: {net.sizes}, {net.hidden.name} hidden, {net.output.name} "
          f"output, {net.cost.name} cost, {dtype}")
    print(f"data      {args.dataset} {args.split} split, {n} samples"
          + (f", downsampled by {fold}" if fold else ""))
    print(f"accuracy  {pct(acc)} ({correct} / {n})")
    print()
    print(confusion_table(matrix, ds.classes))
    if args.misclassified:
        wrong = np.flatnonzero(pred != split.y)
        shown = wrong[:args.max_images]
        plot_misclassified(Path(args.misclassified), split.X[shown], split.y[shown],
                           pred[shown], ds.classes, ds.image_shape, len(wrong), n)
        print(f"\nwrote {min(len(wrong), args.max_images)} of {len(wrong)} misclassified "
              f"images to {args.misclassified}")
    return 0


def confusion_table(matrix: np.ndarray, classes: Sequence[str]) -> str:
    """Rows: true class; columns: predicted class; then per-class totals and recall."""
    k = len(classes)
    names = [f"{i} {c}" if c != str(i) else c for i, c in enumerate(classes)]
    corner = "true \\ predicted"
    first = max(len(corner), *(len(s) for s in names))
    width = max(5, len(str(int(matrix.max()))) + 1)
    lines = ["Confusion matrix (rows: true class, columns: predicted class)",
             f"{corner:<{first}}" + "".join(f"{j:>{width}}" for j in range(k))
             + f"{'total':>8}{'correct':>9}"]
    for i in range(k):
        total = int(matrix[i].sum())
        recall = f"{100 * matrix[i, i] / total:.1f}%" if total else "-"
        lines.append(f"{names[i]:<{first}}" + "".join(f"{int(v):>{width}}" for v in matrix[i])
                     + f"{total:>8}{recall:>9}")
    col = matrix.sum(axis=0)
    lines.append(f"{'total':<{first}}" + "".join(f"{int(v):>{width}}" for v in col)
                 + f"{int(matrix.sum()):>8}")
    return "\n".join(lines)
