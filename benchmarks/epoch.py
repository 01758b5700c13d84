"""Time training epochs of xmlp on one backend (the first benchmark; see benchmarks/README).

    python benchmarks/epoch.py --backend numpy --sizes 784,30,10 --batch-size 10

Trains on the embedded MNIST sample (4000 rows), one warm-up epoch then ``--repeat``
timed epochs (the device is synchronised before each clock read by the epoch's own
end-of-epoch fetch), and prints one JSON line: backend, device, dtype, versions, the
median epoch seconds and the accuracy reached.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import backends  # noqa: E402
import xmlp  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="numpy", choices=backends.NAMES)
    p.add_argument("--device", default=None)
    p.add_argument("--sizes", default="784,30,10")
    p.add_argument("--cost", default="cross-entropy")
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--eta", type=float, default=0.5)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)

    data = xmlp.datasets.load("mnist-sample", dtype=args.dtype)
    net = xmlp.Network([int(s) for s in args.sizes.split(",")], cost=args.cost,
                       backend=args.backend, device=args.device, dtype=args.dtype, seed=0)
    X, y = data.train
    kw = dict(epochs=1, batch_size=args.batch_size, eta=args.eta, monitor=())
    net.fit(X, y, **kw)  # warm-up: library initialisation, caches, kernel compilation
    seconds = []
    for _ in range(args.repeat):
        backends.get(args.backend).sync(net.device)
        start = time.perf_counter()
        net.fit(X, y, **kw)  # ends with a device -> host fetch, i.e. synchronised
        seconds.append(time.perf_counter() - start)
    result = {
        "benchmark": "epoch", "backend": args.backend, "device": str(net.device),
        "dtype": args.dtype, "sizes": args.sizes, "batch_size": args.batch_size,
        "n_train": int(X.shape[0]), "epoch_seconds_median": statistics.median(seconds),
        "epoch_seconds": seconds, "test_accuracy": net.accuracy(*data.test),
        "versions": {"xmlp": xmlp.__version__, "numpy": np.__version__,
                     "python": platform.python_version(), "machine": platform.machine()},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
