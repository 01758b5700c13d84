"""The ``xmlp`` command: ``train``, ``evaluate``, ``predict`` and ``info``.

    xmlp train                                   # network.py's chapter-1 net on the sample
    xmlp train --dataset mnist --save net.json   # the book's full run (50k/10k/10k split)
    xmlp train --dataset fashion-mnist --epochs 1 --plot curves.png --log history.csv
    xmlp evaluate net.json --dataset mnist --misclassified wrong.png
    xmlp predict net.json digit.png t10k-images-idx3-ubyte.gz
    xmlp info

Exit status: 0 success, 1 runtime error (one line ``xmlp: error: ...`` on stderr), 2 usage
error, 130 interrupted (Ctrl-C: training stops after the current mini-batch, and the
completed epochs are reported, saved, logged and plotted as asked).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "build_parser", "PRESETS"]

PROG = "xmlp"

#: Training defaults per dataset.  The digits get network.py's chapter-1 run; Fashion-MNIST
#: and KMNIST get network2's cross-entropy net with a small learning rate, which reaches
#: about 83% test accuracy on Fashion-MNIST after one epoch (seeds 0-4: 82.8-82.9%).
PRESETS: dict[str, dict[str, Any]] = {
    "chapter1": dict(hidden_layers=[30], hidden="sigmoid", cost="quadratic", init="large",
                     epochs=30, batch_size=10, eta=3.0),
    "chapter3": dict(hidden_layers=[30], hidden="sigmoid", cost="cross-entropy",
                     init="normalized", epochs=30, batch_size=10, eta=0.1),
}
DATASET_PRESET = {"mnist": "chapter1", "mnist-sample": "chapter1",
                  "fashion-mnist": "chapter3", "kmnist": "chapter3"}
#: The book's learning rate for a cost when it differs from the preset's cost.
BOOK_ETA = {"quadratic": 3.0, "cross-entropy": 0.5, "log-likelihood": 0.5}

COSTS = ("quadratic", "cross-entropy", "log-likelihood")
HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "softmax", "identity")
INITS = ("normalized", "large", "glorot", "he")
BACKEND_CHOICES = ("numpy", "torch", "cupy", "array_api_strict")


class CLIError(Exception):
    """A runtime error reported as one line, exit status 1."""


# =============================================================== argument types
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _non_negative(text: str) -> float:
    value = _float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _sizes(text: str) -> list[int]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 784,30,10, got {text!r}")
    return sizes


def _count_or_fraction(text: str) -> int | float:
    """'5000' -> 5000 rows, '0.1' -> a tenth of the training set, '0' -> no validation."""
    try:
        return int(text)
    except ValueError:
        pass
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a row count (e.g. 5000) or a fraction in (0, 1) (e.g. 0.1), got {text!r}")
    return value


# =============================================================== parser
class _HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" where there is a meaningful default not already described."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" not in text and action.default not in (None, False, argparse.SUPPRESS)
                and action.option_strings):
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train and use Nielsen's multilayer perceptrons on NumPy, CuPy, PyTorch "
                    "or array-api-strict.",
        epilog="Run 'xmlp COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser(
        "train", help="train a network and report per-epoch results",
        description="Train a network by mini-batch SGD. Unset options take the dataset's "
                    "preset: MNIST and the sample run network.py's chapter-1 net "
                    "([784,30,10], quadratic cost, sigmoid, N(0,1) init, 30 epochs, "
                    "batch 10, eta 3.0); Fashion-MNIST and KMNIST a cross-entropy net with "
                    "normalized init and eta 0.1. Each epoch is evaluated on the validation "
                    "split if there is one, else on the test split.",
        formatter_class=_HelpFormatter)
    _add_data_options(train, validation=True)
    g = train.add_argument_group("data transformations")
    g.add_argument("--expand", action="store_true",
                   help="train on Nielsen's expanded data: each image plus 4 one-pixel shifts")
    g.add_argument("--downsample", type=_positive_int, metavar="FOLD",
                   help="crop 3 border pixels and average FOLDxFOLD blocks (2: 28x28 -> 11x11)")
    g = train.add_argument_group("network")
    g.add_argument("--sizes", type=_sizes, metavar="N,N,...",
                   help="layer widths, input first, e.g. 784,30,10 "
                        "(default: [inputs, 30, classes])")
    g.add_argument("--hidden", choices=HIDDEN, help="hidden activation (default: sigmoid)")
    g.add_argument("--output", choices=OUTPUTS,
                   help="output activation (default: softmax for log-likelihood, else sigmoid)")
    g.add_argument("--cost", choices=COSTS, help="cost function (default: dataset preset)")
    g.add_argument("--init", choices=INITS,
                   help="weight initialisation: large = N(0,1) (network.py), "
                        "normalized = N(0,1/n_in) (network2) (default: dataset preset)")
    g = train.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, help="epochs (default: 30)")
    g.add_argument("--batch-size", type=_positive_int, help="mini-batch size (default: 10)")
    g.add_argument("--eta", type=_positive_float,
                   help="learning rate (default: dataset preset; the book's rate for "
                        "another cost: 3.0 quadratic, 0.5 otherwise)")
    g.add_argument("--lmbda", type=_non_negative, default=0.0, help="L2 regularisation")
    g.add_argument("--l1", type=_non_negative, default=0.0, help="L1 regularisation")
    g.add_argument("--momentum", type=_fraction, default=0.0, help="momentum coefficient mu")
    g.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    g.add_argument("--dropout", type=_fraction, default=0.0,
                   help="probability of dropping a hidden neuron")
    g.add_argument("--schedule", type=_positive_int, metavar="N",
                   help="halve eta after N epochs without improvement; stop at eta/128")
    g.add_argument("--early-stopping", type=_positive_int, metavar="N",
                   help="stop after N epochs without improvement, keep the best weights")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of initial weights, mini-batch order and dropout (default: 0)")
    _add_backend_options(train, dtype_default="float32")
    g = train.add_argument_group("output")
    g.add_argument("--save", metavar="PATH", help="save the network (.json or .npz)")
    g.add_argument("--checkpoint", metavar="PATH",
                   help="write the whole training state here after every epoch (atomically)")
    g.add_argument("--resume", metavar="PATH",
                   help="continue from this checkpoint (same data and options; --epochs "
                        "counts the epochs already done)")
    g.add_argument("--log", metavar="PATH", help="write the per-epoch history (.json or .csv)")
    g.add_argument("--plot", metavar="PNG", help="plot learning curves (needs matplotlib)")
    g.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but errors (and --jsonl lines)")
    g.add_argument("--jsonl", action="store_true",
                   help="one JSON object per epoch on stdout, then a summary object; "
                        "human-readable text goes to stderr")
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser(
        "evaluate", help="accuracy and confusion matrix of a saved network",
        description="Evaluate a saved network on a dataset split: accuracy and confusion "
                    "matrix (rows: true class, columns: predicted class).",
        formatter_class=_HelpFormatter)
    ev.add_argument("model", metavar="MODEL", help="network file (.json or .npz)")
    _add_data_options(ev, validation=True)
    ev.add_argument("--split", choices=("test", "validation", "train"), default="test",
                    help="which split to evaluate")
    ev.add_argument("--downsample", type=_positive_int, metavar="FOLD",
                    help="downsample as in training (default: inferred from the model's "
                         "input size)")
    ev.add_argument("--misclassified", metavar="PNG",
                    help="write a grid of misclassified images with true/predicted labels")
    ev.add_argument("--max-images", type=_positive_int, default=40,
                    help="at most this many images in the --misclassified grid")
    _add_backend_options(ev, dtype_default=None)
    ev.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser(
        "predict", help="predict the class of images (IDX or PNG files)",
        description="Print one line per image: SOURCE<TAB>LABEL<TAB>CLASS-NAME. IDX files "
                    "(e.g. t10k-images-idx3-ubyte.gz) hold many images in MNIST's format. "
                    "PNG files must be 28x28; colour is converted to gray (transparent pixels "
                    "count as white), and with --invert auto (the default) an image whose "
                    "border is brighter than mid-gray - dark ink on white paper - is inverted "
                    "to MNIST's white-on-black.",
        formatter_class=_HelpFormatter)
    pr.add_argument("model", metavar="MODEL", help="network file (.json or .npz)")
    pr.add_argument("images", metavar="IMAGES", nargs="+", help="IDX or PNG files")
    pr.add_argument("--dataset", default=None, metavar="NAME",
                    help="name the classes as this dataset does (e.g. fashion-mnist); "
                         "default: digits")
    pr.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                    help="invert PNG images (MNIST digits are white on black)")
    pr.add_argument("--downsample", type=_positive_int, metavar="FOLD",
                    help="downsample as in training (default: inferred from the model)")
    _add_backend_options(pr, dtype_default=None)
    pr.set_defaults(func=cmd_predict)

    info = sub.add_parser("info", help="installed backends, devices and versions",
                          description="Show xmlp's version, the installed backends with "
                                      "their devices and versions, and the local datasets.")
    info.set_defaults(func=cmd_info)
    return parser


def _add_data_options(p: argparse.ArgumentParser, validation: bool) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="mnist-sample",
                   help="mnist, fashion-mnist, kmnist or mnist-sample (embedded, offline)")
    g.add_argument("--data-dir", metavar="DIR",
                   help="directory holding the dataset's four IDX files "
                        "(default: $XMLP_DATA/NAME, then ~/.cache/xmlp/NAME)")
    g.add_argument("--no-download", action="store_true",
                   help="never download; fail if the files are not found locally")
    if validation:
        g.add_argument("--validation", type=_count_or_fraction, metavar="N|FRACTION",
                       help="hold out the last N training rows (or a fraction) for "
                            "validation; 0 for none (default: 10000 for mnist, else 0)")


def _add_backend_options(p: argparse.ArgumentParser, dtype_default: str | None) -> None:
    g = p.add_argument_group("backend")
    g.add_argument("--backend", default="numpy", metavar="NAME",
                   help=f"array backend: {', '.join(BACKEND_CHOICES)}")
    g.add_argument("--device", default=None,
                   help="device, e.g. cpu, cuda, cuda:1 (default: the backend's default)")
    g.add_argument("--dtype", choices=("float32", "float64"), default=dtype_default,
                   help="floating-point precision" + ("" if dtype_default else
                                                      " (default: the saved one)"))


# =============================================================== main
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``xmlp`` command; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    from . import BackendUnavailable, TrainingDiverged

    errors = (CLIError, ValueError, TypeError, OSError, BackendUnavailable, TrainingDiverged)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:  # `xmlp predict ... | head`
        _silence_stdout()
        return 0
    except errors as exc:
        if os.environ.get("XMLP_TRACEBACK"):
            raise
        _error(_one_line(exc))
        return 1


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"  # not "[Errno 13] Permission denied: ..."
    return " ".join(text.split())


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _version() -> str:
    from . import __version__

    return __version__


# =============================================================== shared helpers
def _resolve_device(backend: str, text: str | None) -> Any:
    """The --device string as the backend's device object (None: the default device)."""
    if text is None:
        return None
    from .backend import resolve

    b = resolve(backend)
    if b.name == "torch":
        return text
    if b.name == "cupy":
        import cupy

        index = text.lower().removeprefix("cuda").removeprefix("gpu").lstrip(":") or "0"
        if not index.isdigit():
            raise ValueError(f"unknown cupy device {text!r}; use a GPU index such as 0 or cuda:1")
        return cupy.cuda.Device(int(index))
    try:
        devices = list(b.xp.__array_namespace_info__().devices())
    except AttributeError:
        devices = [b.device]
    for d in devices:
        if text in (str(d), repr(d), getattr(d, "name", None)) or f"'{text}'" in repr(d):
            return d
    names = ", ".join(_device_name(d) for d in devices)
    raise ValueError(f"unknown device {text!r} for backend {b.name!r}; choose one of {names}")


def _device_name(device: Any) -> str:
    text = str(device)
    if text.startswith("array_api_strict.Device('"):  # -> device1
        return text.split("'")[1]
    return text  # cpu, cuda:0, <CUDA Device 0>


def _load_dataset(args: argparse.Namespace, dtype: str):
    from .datasets import DatasetNotFound, load

    validation = getattr(args, "validation", None)
    try:
        return load(args.dataset, data_dir=args.data_dir, validation=validation,
                    download=not args.no_download, dtype=dtype)
    except DatasetNotFound as exc:
        raise CLIError(f"{_one_line(exc)} On the command line: --data-dir DIR.") from exc


def _infer_fold(n_in: int, image_shape: tuple[int, int]) -> int | None:
    """The --downsample fold that turns image_shape images into n_in features, if any."""
    if n_in == image_shape[0] * image_shape[1]:
        return None
    for fold in range(2, min(image_shape)):
        h, w = (s - 6 for s in image_shape)
        if h % fold == 0 and w % fold == 0 and (h // fold) * (w // fold) == n_in:
            return fold
    return None


def _transform(X: np.ndarray, fold: int | None, image_shape: tuple[int, int]) -> np.ndarray:
    if not fold:
        return X
    from .datasets import downsample

    return downsample(X, fold, image_shape=image_shape)[0]


def _check_n_in(net, n_features: int, fold: int | None) -> None:
    if net.sizes[0] != n_features:
        how = f" after --downsample {fold}" if fold else ""
        raise CLIError(f"the model takes {net.sizes[0]} inputs but the images have "
                       f"{n_features} features{how}; pass --downsample FOLD as in training")


def _check_writable(path: str | None, option: str, suffixes: tuple[str, ...] = ()) -> None:
    """Fail before a long run rather than after it."""
    if path is None:
        return
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise CLIError(f"{option} {path}: the file name must end in "
                       f"{' or '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"{option} {path}: directory {parent} does not exist")
    if p.is_dir():
        raise CLIError(f"{option} {path}: is a directory")


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError("plotting needs matplotlib: install 'xmlp[plot]' "
                       "(pip install 'xmlp[plot]')") from None


def _pct(acc: float) -> str:
    return f"{100 * acc:.2f}%"


def _counted(acc: float, n: int) -> tuple[int, float]:
    """(correct, exact fraction) from an accuracy computed in float32 on the device."""
    correct = round(acc * n)
    return correct, correct / n if n else 0.0


def _dtype_name(dtype: Any) -> str:
    return "float64" if "64" in str(dtype) else "float32"


# =============================================================== train
class _Printer:
    """Where each kind of output goes in the text, --jsonl and --quiet modes."""

    def __init__(self, args: argparse.Namespace):
        self.quiet, self.jsonl = args.quiet, args.jsonl
        # Human-readable text: stdout normally, stderr when stdout carries JSON lines.
        self.text = None if self.quiet else (sys.stderr if self.jsonl else sys.stdout)

    def say(self, line: str = "") -> None:
        if self.text is not None:
            print(line, file=self.text, flush=True)

    def epoch_line(self, line: str) -> None:
        if self.text is not None and not self.jsonl:
            print(line, file=self.text, flush=True)

    def json(self, obj: dict) -> None:
        if self.jsonl:
            print(json.dumps(obj), flush=True)


class _Progress:
    """A tqdm bar per epoch (mini-batches, samples/s, ETA) fed by fit's progress hook."""

    def __init__(self, epochs: int, batch_size: int, n_train: int):
        from tqdm.auto import tqdm

        class Bar(tqdm):
            @property
            def format_dict(self):
                d = super().format_dict
                rate = d.get("rate") or (d["n"] / d["elapsed"] if d["elapsed"] else 0)
                d["samples"] = f"{rate * batch_size:,.0f} samples/s" if rate else "? samples/s"
                return d

        self.Bar, self.epochs, self.bar, self.epoch = Bar, epochs, None, None

    def __call__(self, epoch: int, done: int, total: int) -> None:
        if self.bar is None or epoch != self.epoch:
            self.close()
            self.epoch = epoch
            self.bar = self.Bar(
                total=total, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch",
                leave=False, file=sys.stderr, dynamic_ncols=True, mininterval=0.2,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} batches "
                           "[{elapsed}<{remaining}, {samples}]")
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _train_config(args: argparse.Namespace) -> dict[str, Any]:
    """Effective hyperparameters: the options given, else the dataset's preset."""
    preset = PRESETS[DATASET_PRESET.get(args.dataset, "chapter1")]
    cost = args.cost or preset["cost"]
    eta = args.eta
    if eta is None:
        eta = preset["eta"] if cost == preset["cost"] else BOOK_ETA[cost]
    return dict(dataset=args.dataset, sizes=args.sizes, hidden=args.hidden or preset["hidden"],
                output=args.output, cost=cost, init=args.init or preset["init"],
                epochs=args.epochs or preset["epochs"],
                batch_size=args.batch_size or preset["batch_size"], eta=eta,
                lmbda=args.lmbda, l1=args.l1, momentum=args.momentum, nesterov=args.nesterov,
                dropout=args.dropout, schedule=args.schedule,
                early_stopping=args.early_stopping, seed=args.seed, expand=args.expand,
                downsample=args.downsample, backend=args.backend, device=args.device,
                dtype=args.dtype, hidden_layers=preset["hidden_layers"])


def _records(history) -> list[dict[str, Any]]:
    """One dict per completed epoch (accuracies as exact fractions of the split sizes)."""
    lists = [history.training_cost, history.training_accuracy, history.evaluation_cost,
             history.evaluation_accuracy, history.seconds]
    n = min(len(x) for x in lists)
    out = []
    for i in range(n):
        _, tr_acc = _counted(history.training_accuracy[i], history.n_train)
        _, ev_acc = _counted(history.evaluation_accuracy[i], history.n_evaluation)
        out.append(dict(epoch=i + 1, training_cost=history.training_cost[i],
                        training_accuracy=tr_acc, evaluation_cost=history.evaluation_cost[i],
                        evaluation_accuracy=ev_acc, seconds=history.seconds[i],
                        eta=history.eta[i]))
    return out


def cmd_train(args: argparse.Namespace) -> int:
    from . import Network, TrainingDiverged, TrainingInterrupted
    from .train import History

    out = _Printer(args)
    _check_writable(args.save, "--save")
    _check_writable(args.log, "--log", (".json", ".csv"))
    _check_writable(args.plot, "--plot")
    if args.plot:
        _require_matplotlib()
    cfg = _train_config(args)
    cfg["resume"] = args.resume
    from .backend import resolve

    device_obj = _resolve_device(args.backend, args.device)
    resolve(args.backend, device_obj)  # a missing backend fails before a long data load
    t_start = time.perf_counter()
    ds = _load_dataset(args, cfg["dtype"])
    train, test = ds.train, ds.test
    validation = ds.validation if ds.validation is not None and len(ds.validation.y) else None
    eval_name = "validation" if validation is not None else "test"
    shape, fold = ds.image_shape, args.downsample
    if args.expand:
        from .datasets import expand

        train = type(train)(*expand(train.X, train.y, image_shape=shape))
    if fold:
        train, validation, test = (
            None if s is None else type(s)(_transform(s.X, fold, shape), s.y)
            for s in (train, validation, test))
    evaluation = validation if validation is not None else test

    n_in, n_out = train.X.shape[1], ds.n_classes
    sizes = cfg["sizes"] or [n_in, *cfg["hidden_layers"], n_out]
    if sizes[0] != n_in:
        what = f" after --downsample {fold}" if fold else ""
        raise CLIError(f"--sizes starts with {sizes[0]} inputs but {args.dataset} has {n_in} "
                       f"features per image{what}; use --sizes {n_in},"
                       f"{','.join(map(str, sizes[1:]))}")
    if sizes[-1] != n_out:
        raise CLIError(f"--sizes ends with {sizes[-1]} outputs but {args.dataset} has "
                       f"{n_out} classes; use --sizes {','.join(map(str, sizes[:-1]))},{n_out}")
    cfg["sizes"] = sizes
    net = Network(sizes, hidden=cfg["hidden"], output=cfg["output"], cost=cfg["cost"],
                  init=cfg["init"], backend=args.backend,
                  device=device_obj, dtype=cfg["dtype"],
                  seed=cfg["seed"])
    cfg["output"] = net.output.name
    device, dtype = _device_name(net.device), _dtype_name(net.dtype)

    out.say(f"xmlp {_version()}: training {sizes} ({cfg['hidden']} hidden, {net.output.name} "
            f"output, {cfg['cost']} cost, {cfg['init']} init) on {args.dataset}")
    extras = [f"lmbda {cfg['lmbda']:g}" if cfg["lmbda"] else "",
              f"l1 {cfg['l1']:g}" if cfg["l1"] else "",
              (f"{'Nesterov ' if cfg['nesterov'] else ''}momentum {cfg['momentum']:g}"
               if cfg["momentum"] else ""),
              f"dropout {cfg['dropout']:g}" if cfg["dropout"] else "",
              f"schedule {cfg['schedule']}" if cfg["schedule"] else "",
              f"early stopping {cfg['early_stopping']}" if cfg["early_stopping"] else ""]
    plural = "" if cfg["epochs"] == 1 else "s"
    out.say(f"  {cfg['epochs']} epoch{plural}, mini-batch {cfg['batch_size']}, eta {cfg['eta']:g}"
            + "".join(f", {e}" for e in extras if e) + f", seed {cfg['seed']}")
    transforms = (" (expanded x5)" if args.expand else "") + \
                 (f" (downsampled by {fold}: {n_in} features)" if fold else "")
    out.say(f"  data: {len(train.y)} training{transforms}, "
            + (f"{len(validation.y)} validation, " if validation is not None else "")
            + f"{len(test.y)} test samples; evaluating each epoch on the {eval_name} split")
    if eval_name == "test" and (cfg["early_stopping"] or cfg["schedule"]):
        out.say("  note: early stopping / the schedule watch the test split; "
                "hold out data with --validation N for an unbiased test accuracy")
    out.say(f"  backend {net.backend.name}, device {device}, {dtype}")

    show_bar = (args.progress or sys.stderr.isatty()) and not args.quiet
    bar = _Progress(cfg["epochs"], cfg["batch_size"], len(train.y)) if show_bar else None
    seen: dict[str, Any] = {"history": History()}

    def on_epoch(epoch: int, history) -> None:
        seen["history"] = history
        if bar is not None:
            bar.close()
        rec = _records(history)[-1]
        out.epoch_line(
            f"epoch {rec['epoch']:>{len(str(cfg['epochs']))}}/{cfg['epochs']}  "
            f"training cost {rec['training_cost']:.4f} accuracy {_pct(rec['training_accuracy'])}"
            f"  {eval_name} cost {rec['evaluation_cost']:.4f} accuracy "
            f"{_pct(rec['evaluation_accuracy'])}  {rec['seconds']:.2f} s"
            + (f"  eta {rec['eta']:g}" if cfg["schedule"] else ""))
        out.json(dict(event="epoch", **rec, epochs=cfg["epochs"], evaluation=eval_name))

    status, failure = 0, None
    t_fit = time.perf_counter()
    try:
        # A diverging run ends in TrainingDiverged with one clear message; NumPy's overflow
        # warnings on the way there would only bury it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = net.fit(train.X, train.y, epochs=cfg["epochs"],
                              batch_size=cfg["batch_size"],
                              eta=cfg["eta"], lmbda=cfg["lmbda"], l1=cfg["l1"],
                              momentum=cfg["momentum"], nesterov=cfg["nesterov"],
                              dropout=cfg["dropout"], evaluation_data=tuple(evaluation),
                              early_stopping=cfg["early_stopping"], schedule=cfg["schedule"],
                              callback=on_epoch, progress=bar, checkpoint=args.checkpoint,
                              resume=args.resume)
    except TrainingInterrupted as exc:
        history, status = exc.history, 130
    except KeyboardInterrupt:  # between mini-batches: while evaluating or printing
        history, status = seen["history"], 130
    except TrainingDiverged as exc:
        history, status, failure = exc.history, 1, exc
    finally:
        if bar is not None:
            bar.close()
    fit_seconds = time.perf_counter() - t_fit
    if status == 130:
        history.stop_reason = "interrupted"
        done = len(_records(history))
        out.say(f"interrupted: keeping the weights after the last complete mini-batch "
                f"({done} complete epoch{'' if done == 1 else 's'})")

    records = _records(history)
    summary = _final_table(out, net, history, records, eval_name,
                           {"training": train, "validation": validation, "test": test},
                           cfg, fit_seconds, time.perf_counter() - t_start, device, dtype)
    title = (f"{args.dataset}: {sizes}, {cfg['cost']} cost, eta {cfg['eta']:g}"
             + (f", lmbda {cfg['lmbda']:g}" if cfg["lmbda"] else ""))
    outputs = [
        (args.save if failure is None else None, "--save", "saved the network to",
         lambda: net.save(args.save)),
        (args.log, "--log", "wrote the history to",
         lambda: _write_log(Path(args.log), cfg, eval_name, records, summary)),
        (args.plot, "--plot", "wrote learning curves to",
         lambda: _plot_history(Path(args.plot), records, eval_name, title)),
    ]
    problems = []
    for path, option, done_msg, write in outputs:  # one failing output spares the others
        if not path:
            continue
        try:
            write()
        except OSError as exc:
            problems.append(f"{option} {path}: could not write it ({exc.strerror or exc})")
            continue
        out.say(f"{done_msg} {path}")
        if option == "--save":
            summary["saved"] = path
    out.json(dict(event="summary", **summary))
    if failure is not None:
        raise failure
    if problems:
        _error("; ".join(problems))
        return status or 1  # an interrupted run still exits 130
    return status


def _final_table(out: _Printer, net, history, records, eval_name: str, splits: dict,
                 cfg: dict, fit_seconds: float, total_seconds: float, device: str,
                 dtype: str) -> dict[str, Any]:
    """Evaluate the final weights on every split; print the result table; return it."""
    summary: dict[str, Any] = dict(epochs_completed=len(records),
                                   stop_reason=history.stop_reason, evaluation=eval_name)
    rows = []
    for name, split in splits.items():
        if split is None:
            continue
        n = len(split.y)
        correct, acc = _counted(net.accuracy(split.X, split.y), n)
        rows.append((name, n, correct, acc))
        summary[f"{name}_accuracy"], summary[f"{name}_correct"] = acc, correct
        summary[f"{name}_samples"] = n
    if history.best_epoch is not None:
        best = history.best_epoch + 1
    elif records:
        accs = [r["evaluation_accuracy"] for r in records]
        best = 1 + accs.index(max(accs))
    else:
        best = None
    summary.update(best_epoch=best, training_seconds=sum(history.seconds),
                   fit_seconds=fit_seconds, total_seconds=total_seconds,
                   backend=net.backend.name, device=device, dtype=dtype)
    out.say()
    out.say(f"Final network ({len(records)} of {cfg['epochs']} "
            f"epoch{'' if cfg['epochs'] == 1 else 's'}; "
            f"stopped by: {history.stop_reason.replace('_', ' ')})")
    out.say(f"  {'split':<12}{'samples':>8}  {'accuracy':>8}  correct")
    for name, n, correct, acc in rows:
        out.say(f"  {name:<12}{n:>8}  {_pct(acc):>8}  ({correct} / {n})")
    if best is not None:
        best_acc = _pct(records[best - 1]["evaluation_accuracy"])
        out.say(f"  {'best epoch':<12}{best:>8}  {best_acc:>8}  on the {eval_name} split"
                + ("  (weights restored)" if history.stop_reason == "early_stopping" else ""))
    out.say(f"  {'time':<12}{total_seconds:>8.1f} s  this run; training "
            f"{summary['training_seconds']:.1f} s over {history.epochs} epochs"
            + (" (incl. those before --resume)" if cfg.get("resume") else ""))
    out.say(f"  {'backend':<12}{net.backend.name}, device {device}, {dtype}")
    return summary


def _write_log(path: Path, cfg: dict, eval_name: str, records: list[dict],
               summary: dict) -> None:
    columns = ["epoch", "training_cost", "training_accuracy", "evaluation_cost",
               "evaluation_accuracy", "seconds", "eta"]
    if path.suffix.lower() == ".csv":
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(records)
    else:
        config = {k: v for k, v in cfg.items() if k != "hidden_layers"}
        doc = dict(format="xmlp-history", version=_version(), config=config,
                   evaluation=eval_name, epochs=records, summary=summary)
        path.write_text(json.dumps(doc, indent=1) + "\n")


def _plot_history(path: Path, records: list[dict], eval_name: str, title: str) -> None:
    """Chapter-3 style learning curves: cost and accuracy, training vs evaluation."""
    _require_matplotlib()
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


# =============================================================== evaluate
def _load_model(args: argparse.Namespace):
    from .io import load

    path = Path(args.model)
    if not path.is_file():
        raise CLIError(f"model file {path} not found" + (" (it is a directory)"
                                                         if path.is_dir() else ""))
    return load(path, backend=args.backend, device=_resolve_device(args.backend, args.device),
                dtype=args.dtype)


def _predict_numpy(net, X) -> np.ndarray:
    from .backend import to_numpy
    from .network import EVAL_CHUNK

    # The same chunks as Network.accuracy, so that counts agree bit for bit.
    return np.asarray(to_numpy(net.predict(X, batch_size=EVAL_CHUNK)), dtype=np.int64)


def cmd_evaluate(args: argparse.Namespace) -> int:
    _check_writable(args.misclassified, "--misclassified")
    if args.misclassified:
        _require_matplotlib()
    net = _load_model(args)
    dtype = _dtype_name(net.dtype)
    ds = _load_dataset(args, dtype)
    split = {"test": ds.test, "validation": ds.validation, "train": ds.train}[args.split]
    if split is None or not len(split.y):
        raise CLIError(f"{args.dataset} has no validation split here; pass --validation N "
                       "(as in training) to hold out the last N training rows")
    fold = args.downsample or _infer_fold(net.sizes[0], ds.image_shape)
    X = _transform(split.X, fold, ds.image_shape)
    _check_n_in(net, X.shape[1], fold)
    if net.sizes[-1] != ds.n_classes:
        raise CLIError(f"the model has {net.sizes[-1]} outputs but {args.dataset} has "
                       f"{ds.n_classes} classes")
    n = len(split.y)
    correct, acc = _counted(net.accuracy(X, split.y), n)
    pred = _predict_numpy(net, X)
    k = ds.n_classes
    matrix = np.bincount(split.y * k + pred, minlength=k * k).reshape(k, k)

    print(f"model     {args.model}: {net.sizes}, {net.hidden.name} hidden, {net.output.name} "
          f"output, {net.cost.name} cost, {dtype}")
    print(f"data      {args.dataset} {args.split} split, {n} samples"
          + (f", downsampled by {fold}" if fold else ""))
    print(f"accuracy  {_pct(acc)} ({correct} / {n})")
    print()
    print(_confusion_table(matrix, ds.classes))
    if args.misclassified:
        wrong = np.flatnonzero(pred != split.y)
        _plot_misclassified(Path(args.misclassified), split.X[wrong[:args.max_images]],
                            split.y[wrong[:args.max_images]], pred[wrong[:args.max_images]],
                            ds.classes, ds.image_shape, len(wrong), n)
        print(f"\nwrote {min(len(wrong), args.max_images)} of {len(wrong)} misclassified "
              f"images to {args.misclassified}")
    return 0


def _confusion_table(matrix: np.ndarray, classes: Sequence[str]) -> str:
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


def _plot_misclassified(path: Path, images: np.ndarray, true: np.ndarray, pred: np.ndarray,
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


# =============================================================== predict
def cmd_predict(args: argparse.Namespace) -> int:
    net = _load_model(args)
    if args.dataset is not None:
        from .datasets.registry import dataset_info

        classes = dataset_info(args.dataset).classes
    else:
        classes = tuple(str(i) for i in range(net.sizes[-1]))
    if len(classes) != net.sizes[-1]:
        classes = tuple(str(i) for i in range(net.sizes[-1]))
    shape = (28, 28)
    fold = args.downsample or _infer_fold(net.sizes[0], shape)
    sources, batches = [], []
    for name in args.images:
        images = _read_images(Path(name), args.invert, shape)
        many = len(images) > 1 or not name.lower().endswith(".png")
        sources += [f"{name}[{i}]" if many else name for i in range(len(images))]
        batches.append(images.reshape(len(images), -1))
    X = _transform(np.concatenate(batches), fold, shape)
    _check_n_in(net, X.shape[1], fold)
    labels = _predict_numpy(net, X)
    for source, label in zip(sources, labels):
        print(f"{source}\t{int(label)}\t{classes[int(label)]}")
    return 0


def _read_images(path: Path, invert: str, shape: tuple[int, int]) -> np.ndarray:
    """(n, 28, 28) float64 images in [0, 1], white ink on black as in MNIST."""
    if not path.is_file():
        raise CLIError(f"image file {path} not found")
    if path.suffix.lower() == ".png":
        return _read_png(path, invert, shape)[None]
    from .datasets import read_idx

    arr = read_idx(path)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != shape:
        raise CLIError(f"{path}: expected IDX images of shape (n, {shape[0]}, {shape[1]}), got "
                       f"{arr.shape} (is it a labels file?)")
    if arr.dtype == np.uint8:
        return arr / 255.0
    arr = arr.astype(np.float64)
    if arr.min() < 0 or arr.max() > 1:
        raise CLIError(f"{path}: float IDX images must lie in [0, 1]")
    return arr


def _read_png(path: Path, invert: str, shape: tuple[int, int]) -> np.ndarray:
    try:
        import matplotlib.image as mpimg
    except ImportError:
        raise CLIError("reading PNG files needs matplotlib: install 'xmlp[plot]'") from None
    try:
        img = np.asarray(mpimg.imread(path), dtype=np.float64)
    except (OSError, ValueError, SyntaxError) as exc:
        raise CLIError(f"{path}: not a readable PNG image ({_one_line(exc)})") from exc
    if img.max() > 1.0:  # 8-bit data from a non-PNG reader
        img = img / 255.0
    if img.ndim == 3:
        if img.shape[2] == 4:  # composite over white paper: transparent = background
            alpha = img[..., 3:4]
            img = img[..., :3] * alpha + (1.0 - alpha)
        if img.shape[2] >= 3:
            img = img[..., :3] @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
        else:
            img = img[..., 0]
    if img.shape != shape:
        raise CLIError(f"{path}: the image is {img.shape[1]}x{img.shape[0]} pixels; resize it "
                       f"to {shape[1]}x{shape[0]} (MNIST's size) first")
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if invert == "yes" or (invert == "auto" and border.mean() > 0.5):
        img = 1.0 - img
    return img


# =============================================================== info
def cmd_info(args: argparse.Namespace) -> int:
    import importlib
    import platform
    import warnings
    from importlib import metadata

    import array_api_compat

    from .backend import BACKENDS, BackendUnavailable, resolve

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    print(f"xmlp {_version()} ({Path(__file__).resolve().parent})")
    print(f"python {platform.python_version()} ({sys.executable})")
    print(f"numpy {np.__version__}, array-api-compat {array_api_compat.__version__}, "
          f"tqdm {version('tqdm')}, matplotlib {version('matplotlib')} (plots)")
    print("backends:")
    for name, spec in BACKENDS.items():
        try:
            b = resolve(name)
        except BackendUnavailable as exc:
            print(f"  {name:<17} unavailable: {_one_line(exc)}")
            continue
        except Exception as exc:  # a broken install must not break `info`
            print(f"  {name:<17} unavailable: {type(exc).__name__}: {_one_line(exc)}")
            continue
        module = importlib.import_module(spec.compat_module.removeprefix("array_api_compat."))
        try:
            with warnings.catch_warnings():  # torch warns while probing device types
                warnings.simplefilter("ignore")
                devices = list(b.xp.__array_namespace_info__().devices())
        except Exception:
            devices = [b.device]
        names = ", ".join(_device_name(d) for d in devices if str(d) != "meta")
        print(f"  {name:<17} {getattr(module, '__version__', '?'):<14} devices: {names} "
              f"(default {_device_name(b.device)})")
    print("datasets:")
    for line in _dataset_lines():
        print(f"  {line}")
    return 0


def _dataset_lines() -> list[str]:
    from .datasets import DATASETS, DatasetNotFound
    from .datasets.fetch import locate, search_dirs

    lines = []
    for name, info in DATASETS.items():
        if info.embedded is not None:
            lines.append(f"{name:<17} embedded")
            continue
        try:
            found = locate(info, None, download=False)
        except DatasetNotFound:
            lines.append(f"{name:<17} not found; downloads to {search_dirs(name)[0]}")
            continue
        where = found.parent if isinstance(found, Path) else Path(found[0]).parent
        lines.append(f"{name:<17} {where}")
    return lines


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
