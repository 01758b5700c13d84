"""Training defaults per dataset, and the effective settings of an ``xmlp train`` run."""

from __future__ import annotations

import argparse
from typing import Any

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
#: Adam's usual step size, when --optimizer adam is given without --eta.
ADAM_ETA = 0.001


def train_config(args: argparse.Namespace) -> dict[str, Any]:
    """Effective hyperparameters: the options given, else the dataset's preset."""
    preset = PRESETS[DATASET_PRESET.get(args.dataset, "chapter1")]
    cost = args.cost or preset["cost"]
    eta = args.eta
    if eta is None and args.optimizer == "adam":
        eta = ADAM_ETA
    elif eta is None:
        eta = preset["eta"] if cost == preset["cost"] else BOOK_ETA[cost]
    return dict(dataset=args.dataset, sizes=args.sizes, hidden=args.hidden or preset["hidden"],
                output=args.output, cost=cost, init=args.init or preset["init"],
                epochs=args.epochs or preset["epochs"],
                batch_size=args.batch_size or preset["batch_size"], eta=eta,
                lmbda=args.lmbda, l1=args.l1, momentum=args.momentum, nesterov=args.nesterov,
                optimizer=args.optimizer, beta1=args.beta1, beta2=args.beta2,
                epsilon=args.epsilon,
                dropout=args.dropout, shift=args.shift, flip=args.flip,
                schedule=args.schedule, anneal=args.anneal,
                early_stopping=args.early_stopping, seed=args.seed, expand=args.expand,
                downsample=args.downsample, backend=args.backend, device=args.device,
                dtype=args.dtype, compile=args.compile,
                hidden_layers=preset["hidden_layers"])
