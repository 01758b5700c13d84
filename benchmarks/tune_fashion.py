"""How the ``fashion-mnist`` recipe's settings were chosen: an ``xmlp.sweep`` over named
variants on a validation split (docs/recipes.md has the results).

Every trial trains on the first 50 000 Fashion-MNIST training images and is judged on the
last 10 000; the test split handed to the workers *is* the validation split, so no test
image is evaluated while choosing.  Variants differ from BASE in a few settings each.

    python benchmarks/tune_fashion.py --epochs 60 \
        --variants plain,shift1,shift1-flip,shift2-flip-d02
    python benchmarks/tune_fashion.py --variants plain,d04 --epochs 75

Needs ``pip install ".[sweep]"`` and Fashion-MNIST (Debian's ``dataset-fashion-mnist`` or
``$XMLP_DATA``).  Results go to an Optuna SQLite file (``--storage``); running the same
command again prints the stored table without retraining.
"""

from __future__ import annotations

import argparse
import dataclasses

BASE = dict(sizes=[784, 512, 256, 10], dropout=0.3, eta=0.02, momentum=0.9, anneal="cosine",
            batch_size=64)
VARIANTS = {
    "plain": {},
    "d04": dict(dropout=0.4),
    "eta05": dict(eta=0.05),
    "adam": dict(optimizer="adam", eta=0.001, momentum=0.0),
    "shift1": dict(shift=1),
    "shift1-flip": dict(shift=1, flip=True),
    "shift2-flip-d02": dict(shift=2, flip=True, dropout=0.2),
}


def load():
    """Fashion-MNIST 50 000 / 10 000, with the validation split in the test split's place."""
    from xmlp import datasets

    ds = datasets.load("fashion-mnist", validation=10_000, dtype="float32")
    return dataclasses.replace(ds, test=ds.validation)


def configure(params: dict, epochs: int) -> tuple[dict, dict]:
    v = {**BASE, **VARIANTS[params["variant"]]}
    network = dict(sizes=v.pop("sizes"), hidden="relu", output="softmax",
                   cost="log-likelihood", init="he", dtype="float32", seed=0)
    return network, dict(epochs=epochs, **v)


def main() -> None:
    import functools

    import xmlp.sweep

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", default="plain,d04",
                   help=f"comma-separated names among {', '.join(VARIANTS)}")
    p.add_argument("--epochs", type=int, default=75)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--storage", default="sqlite:///tune-fashion.db")
    args = p.parse_args()
    names = args.variants.split(",")
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        p.error(f"unknown variants {unknown}; choose among {', '.join(VARIANTS)}")
    result = xmlp.sweep.run(load, {}, {"epochs": args.epochs}, grid={"variant": names},
                            metric="validation_accuracy", workers=args.workers,
                            storage=args.storage,
                            configure=functools.partial(configure, epochs=args.epochs),
                            on_message=print)
    print(f"{'variant':<18} {'state':<9} {'validation':>10} {'best':>7} {'training':>9} "
          f"{'seconds':>8}")
    for row in result.rows:
        h = row["history"]
        best = max(h["evaluation_accuracy"]) if h and h.get("evaluation_accuracy") else None
        train = h["training_accuracy"][-1] if h and h.get("training_accuracy") else None

        def pct(x):
            return "-" if x is None else f"{100 * x:.2f}%"

        print(f"{row['variant']:<18} {row['state']:<9} {pct(row.get('validation_accuracy')):>10} "
              f"{pct(best):>7} {pct(train):>9} {row.get('seconds') or 0:>8.0f}")


if __name__ == "__main__":
    main()
