"""What a training run of the command line is made of, shared by ``xmlp train`` (one
network or several) and ``xmlp sweep``: :func:`add_train_options`, :func:`load_splits`,
:func:`network_kwargs`, :func:`fit_kwargs` and the run's header line :func:`describe`, so
that "any ``xmlp train`` option" means the same everywhere."""

from __future__ import annotations

import argparse
from typing import Any

from ..schedule import ANNEALS
from . import options as opt
from .data import load_dataset, transform
from .errors import CLIError


def add_train_options(p: argparse.ArgumentParser, members: bool = False) -> None:
    """The data, network, training and backend options of ``xmlp train``; with
    ``members``, --eta, --lmbda, --l1, --momentum and --dropout also take a comma list, one
    value per member of a population (--seeds)."""
    def each(kind):
        return opt.per_member(kind) if members else kind

    many = " (or a comma list: one value per member)" if members else ""
    opt.add_data_options(p, validation=True)
    g = p.add_argument_group("data transformations")
    g.add_argument("--expand", action="store_true",
                   help="train on Nielsen's expanded data: each image plus 4 one-pixel shifts")
    g.add_argument("--downsample", type=opt.positive_int, metavar="FOLD",
                   help="crop 3 border pixels and average FOLDxFOLD blocks (2: 28x28 -> 11x11)")
    g.add_argument("--shift", type=opt.non_negative_int, default=0, metavar="N",
                   help="augment: move each training image by up to N pixels each way, at "
                        "random, anew every epoch")
    g.add_argument("--flip", action="store_true",
                   help="augment: mirror half the training images left-right, at random, "
                        "anew every epoch")
    g = p.add_argument_group("network")
    g.add_argument("--sizes", type=opt.sizes, metavar="N,N,...",
                   help="layer widths, input first, e.g. 784,30,10 "
                        "(default: [inputs, 30, classes])")
    g.add_argument("--hidden", choices=opt.HIDDEN, help="hidden activation (default: sigmoid)")
    g.add_argument("--output", choices=opt.OUTPUTS,
                   help="output activation (default: softmax for log-likelihood, else sigmoid)")
    g.add_argument("--cost", choices=opt.COSTS, help="cost function (default: dataset preset)")
    g.add_argument("--init", choices=opt.INITS,
                   help="weight initialisation: large = N(0,1) (network.py), "
                        "normalized = N(0,1/n_in) (network2) (default: dataset preset)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=opt.positive_int, help="epochs (default: 30)")
    g.add_argument("--batch-size", type=opt.positive_int, help="mini-batch size (default: 10)")
    g.add_argument("--eta", type=each(opt.positive_float),
                   help="learning rate (default: dataset preset; the book's rate for "
                        "another cost: 3.0 quadratic, 0.5 otherwise; 0.001 with Adam)" + many)
    g.add_argument("--lmbda", type=each(opt.non_negative), default=0.0,
                   help="L2 regularisation" + many)
    g.add_argument("--l1", type=each(opt.non_negative), default=0.0,
                   help="L1 regularisation" + many)
    g.add_argument("--optimizer", choices=opt.OPTIMIZERS, default="sgd",
                   help="update rule: mini-batch SGD (with --momentum) or Adam")
    g.add_argument("--momentum", type=each(opt.fraction), default=0.0,
                   help="momentum coefficient mu" + many)
    g.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    g.add_argument("--beta1", type=opt.fraction, default=0.9,
                   help="Adam: decay rate of the first-moment estimate")
    g.add_argument("--beta2", type=opt.fraction, default=0.999,
                   help="Adam: decay rate of the second-moment estimate")
    g.add_argument("--epsilon", type=opt.positive_float, default=1e-8,
                   help="Adam: epsilon added to the root of the second moment")
    g.add_argument("--dropout", type=each(opt.fraction), default=0.0,
                   help="probability of dropping a hidden neuron" + many)
    g.add_argument("--schedule", type=opt.positive_int, metavar="N",
                   help="halve eta after N epochs without improvement; stop at eta/128")
    g.add_argument("--anneal", choices=ANNEALS,
                   help="lower eta over the epochs on a fixed curve (needs no validation "
                        "data): cosine, eta (1 + cos(pi e/E))/2, or linear, eta (1 - e/E)")
    g.add_argument("--early-stopping", type=opt.positive_int, metavar="N",
                   help="stop after N epochs without improvement, keep the best weights")
    g.add_argument("--seed", type=opt.non_negative_int, default=0,
                   help="seed of initial weights, mini-batch order and dropout (default: 0)")
    if members:
        g.add_argument("--seeds", type=opt.seeds, metavar="LIST",
                       help="train one network per seed as one population, e.g. 0-4 or "
                            "0,3,7: one row per member, their spread and their ensemble")
    opt.add_backend_options(p, dtype_default="float32")
    opt.add_compile_option(p)


def load_splits(args: argparse.Namespace, cfg: dict) -> dict[str, Any]:
    """The dataset with --expand / --downsample applied, and the checked layer sizes:
    {"train", "validation", "test", "evaluation", "eval_name", "sizes", "n_in", "fold"}."""
    ds = load_dataset(args, cfg["dtype"])
    train, test = ds.train, ds.test
    validation = ds.validation if ds.validation is not None and len(ds.validation.y) else None
    shape, fold = ds.image_shape, args.downsample
    if args.expand:
        from ..datasets import expand

        train = type(train)(*expand(train.X, train.y, image_shape=shape))
    if fold:
        train, validation, test = (
            None if s is None else type(s)(transform(s.X, fold, shape), s.y)
            for s in (train, validation, test))
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
    return dict(train=train, validation=validation, test=test, sizes=sizes, n_in=n_in,
                fold=fold, evaluation=validation if validation is not None else test,
                eval_name="validation" if validation is not None else "test")


def network_kwargs(cfg: dict, device: Any = None) -> dict[str, Any]:
    """``xmlp.Network`` arguments of a run (``cfg["sizes"]`` must be set)."""
    return dict(sizes=cfg["sizes"], hidden=cfg["hidden"], output=cfg["output"],
                cost=cfg["cost"], init=cfg["init"], backend=cfg["backend"], device=device,
                dtype=cfg["dtype"], seed=cfg["seed"])


def fit_kwargs(cfg: dict) -> dict[str, Any]:
    """``Network.fit`` hyper-parameters of a run (no data, callbacks or files)."""
    keys = ("epochs", "batch_size", "eta", "lmbda", "l1", "momentum", "nesterov", "optimizer",
            "dropout", "shift", "flip", "early_stopping", "schedule", "anneal", "compile")
    kw = {k: cfg[k] for k in keys}
    if cfg["optimizer"] == "adam":
        kw.update(beta1=cfg["beta1"], beta2=cfg["beta2"], epsilon=cfg["epsilon"])
    return kw


def describe(cfg: dict) -> str:
    """The training line of the run's header."""
    extras = [f"lmbda {cfg['lmbda']:g}" if cfg["lmbda"] else "",
              f"l1 {cfg['l1']:g}" if cfg["l1"] else "",
              (f"Adam (beta1 {cfg['beta1']:g}, beta2 {cfg['beta2']:g}, epsilon "
               f"{cfg['epsilon']:g})" if cfg["optimizer"] == "adam" else ""),
              (f"{'Nesterov ' if cfg['nesterov'] else ''}momentum {cfg['momentum']:g}"
               if cfg["momentum"] else ""),
              f"dropout {cfg['dropout']:g}" if cfg["dropout"] else "",
              f"shifts up to {cfg['shift']} px" if cfg["shift"] else "",
              "left-right flips" if cfg["flip"] else "",
              f"schedule {cfg['schedule']}" if cfg["schedule"] else "",
              f"{cfg['anneal']} annealing" if cfg["anneal"] else "",
              f"early stopping {cfg['early_stopping']}" if cfg["early_stopping"] else ""]
    plural = "" if cfg["epochs"] == 1 else "s"
    return (f"  {cfg['epochs']} epoch{plural}, mini-batch {cfg['batch_size']}, eta "
            f"{cfg['eta']:g}" + "".join(f", {e}" for e in extras if e) + f", seed {cfg['seed']}")


