"""Where do the microseconds of one mini-batch step go?  (xmlp on NumPy, sigmoid networks)

    python benchmarks/profile_step.py                 # C1-C4
    python benchmarks/profile_step.py --configs C3 --epochs 3

Replays the array operations of one SGD step of ``xmlp.network.backprop`` and
``xmlp.optim.SGD.step`` (no momentum, dropout or L1) op by op, in plain NumPy, twice:

* **isolated** - each operation repeated on the same operands (hot caches), median time;
* **in situ** - a real epoch over the data, the same operations in order, each one timed
  with ``perf_counter`` as it runs (cold rows, fresh arrays, the real memory traffic);

then times ``Network.fit`` itself for an epoch.  The op count is the number of array
operations one step issues; the gap between *in situ* and xmlp's epoch is what the
library adds around them.  Data: Fashion-MNIST when installed, else uniform random
pixels (the operations' cost does not depend on the values).
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
for p in (str(HERE.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402
from configs import parse_configs  # noqa: E402

import xmlp  # noqa: E402


def step_ops(cfg, Ws, bs, X, Y, idx, scale, decay):
    """One step as (name, thunk) pairs run in order; thunks read and write ``env``."""
    L = len(Ws)
    ops = [("gather X", lambda e: e.update(x0=X.take(idx, axis=0))),
           ("gather Y", lambda e: e.update(y=Y.take(idx, axis=0)))]
    for l in range(L):
        ops += [(f"L{l + 1} A@W", lambda e, l=l: e.update(z=e[f"x{l}"] @ Ws[l])),
                (f"L{l + 1} +b", lambda e, l=l: e.update(z=e["z"] + bs[l])),
                (f"L{l + 1} sigmoid 0.5*z", lambda e: e.update(h=0.5 * e["z"])),
                (f"L{l + 1} sigmoid tanh", lambda e: e.update(h=np.tanh(e["h"]))),
                (f"L{l + 1} sigmoid 0.5*t", lambda e: e.update(h=0.5 * e["h"])),
                (f"L{l + 1} sigmoid 0.5+", lambda e, l=l: e.update({f"x{l + 1}": 0.5 + e["h"]}))]
    aL = f"x{L}"
    ops.append(("BP1 a-y", lambda e: e.update(d=e[aL] - e["y"])))
    if cfg.cost == "quadratic":  # delta = (a - y) * sigma'(z)
        ops += [("BP1 1-a", lambda e: e.update(s=1.0 - e[aL])),
                ("BP1 a*(1-a)", lambda e: e.update(s=e[aL] * e["s"])),
                ("BP1 g*", lambda e: e.update(d=e["d"] * e["s"]))]
    for l in range(L - 1, -1, -1):
        ops += [(f"L{l + 1} scale*delta", lambda e: e.update(sd=scale * e["d"])),
                (f"L{l + 1} sum (BP3)", lambda e, l=l: e.update({f"gb{l}": e["sd"].sum(axis=0)})),
                (f"L{l + 1} A.T@delta (BP4)",
                 lambda e, l=l: e.update({f"gW{l}": e[f"x{l}"].T @ e["sd"]}))]
        if l > 0:
            ops += [(f"L{l + 1} delta@W.T", lambda e, l=l: e.update(g=e["d"] @ Ws[l].T)),
                    (f"L{l} 1-a", lambda e, l=l: e.update(s=1.0 - e[f"x{l}"])),
                    (f"L{l} a*(1-a)", lambda e, l=l: e.update(s=e[f"x{l}"] * e["s"])),
                    (f"L{l} g* (BP2)", lambda e: e.update(d=e["g"] * e["s"]))]
    for l in range(L):
        if decay != 1.0:
            ops.append((f"L{l + 1} decay*W", lambda e, l=l: e.update(w=decay * Ws[l])))
            ops.append((f"L{l + 1} W-sW", lambda e, l=l: e.update({f"W{l}": e["w"] - e[f"gW{l}"]})))
        else:
            ops.append((f"L{l + 1} W-sW",
                        lambda e, l=l: e.update({f"W{l}": Ws[l] - e[f"gW{l}"]})))
        ops.append((f"L{l + 1} b-sb", lambda e, l=l: e.update({f"b{l}": bs[l] - e[f"gb{l}"]})))
    return ops


def replay(cfg, Ws, bs, X, Y, idx, scale, decay):
    """One step through :func:`step_ops`: the new (weights, biases)."""
    env: dict = {}
    for _, op in step_ops(cfg, Ws, bs, X, Y, idx, scale, decay):
        op(env)
    return [env[f"W{l}"] for l in range(len(Ws))], [env[f"b{l}"] for l in range(len(bs))]


def load(cfg, n):
    try:
        ds = xmlp.datasets.load("fashion-mnist", download=False, dtype=cfg.dtype)
        return ds.train.X[:n], ds.train.y[:n], "Fashion-MNIST"
    except Exception:
        rng = np.random.default_rng(0)
        return (rng.random((n, cfg.sizes[0])).astype(cfg.dtype), rng.integers(0, 10, n),
                "uniform random pixels")


def profile(cfg, n, epochs, repeat):
    X, y, source = load(cfg, n)
    Y = np.eye(cfg.sizes[-1], dtype=X.dtype)[y]
    net = xmlp.Network(list(cfg.sizes), cost=cfg.cost, init=cfg.init, dtype=cfg.dtype, seed=0)
    m, eta = cfg.batch_size, cfg.eta
    decay = 1.0 - eta * cfg.lmbda / n
    Ws, bs = [np.asarray(W) for W in net.params.W], [np.asarray(b) for b in net.params.b]
    rng = np.random.default_rng(1)

    # the cost of timing a thunk that does no array work: subtracted from every op below
    null, env = (lambda e: e.update(q=None)), {}
    overhead = []
    for _ in range(2000):
        t0 = time.perf_counter()
        null(env)
        overhead.append(time.perf_counter() - t0)
    overhead = statistics.median(overhead)

    # isolated: every op of one step, each repeated on the same operands
    idx = rng.permutation(n)[:m]
    env: dict = {}
    isolated = collections.OrderedDict()
    for name, op in step_ops(cfg, Ws, bs, X, Y, idx, eta / m, decay):
        op(env)  # warm
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            op(env)
            times.append(time.perf_counter() - t0)
        isolated[name] = statistics.median(times) - overhead

    # in situ: real epochs, every op timed as it runs
    in_situ = collections.defaultdict(float)
    steps = 0
    epoch_seconds = []
    for _ in range(epochs):
        order = rng.permutation(n)
        t_epoch = time.perf_counter()
        for k in range(0, n, m):
            env = {}
            for name, op in step_ops(cfg, Ws, bs, X, Y, order[k:k + m], eta / m, decay):
                t0 = time.perf_counter()
                op(env)
                in_situ[name] += time.perf_counter() - t0
            Ws = [env[f"W{l}"] for l in range(len(Ws))]
            bs = [env[f"b{l}"] for l in range(len(bs))]
            steps += 1
        epoch_seconds.append(time.perf_counter() - t_epoch)

    fit = [net.fit(X, y, epochs=1, batch_size=m, eta=eta, lmbda=cfg.lmbda, monitor=()).seconds[-1]
           for _ in range(epochs)]
    in_situ = {k: v / steps - overhead for k, v in in_situ.items()}
    return isolated, in_situ, min(epoch_seconds), min(fit), source, overhead


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default="C1,C2,C3,C4")
    p.add_argument("--n", type=int, default=60_000, help="training rows")
    p.add_argument("--epochs", type=int, default=2, help="in-situ and fit epochs (min taken)")
    p.add_argument("--repeat", type=int, default=200, help="isolated repetitions per op")
    args = p.parse_args(argv)
    for cfg in parse_configs(args.configs):
        iso, situ, plain_epoch, fit_epoch, source, overhead = profile(
            cfg, args.n, args.epochs, args.repeat)
        n_steps = -(-args.n // cfg.batch_size)
        print(f"\n{cfg.name} {list(cfg.sizes)} {cfg.cost} batch {cfg.batch_size} {cfg.dtype} "
              f"lmbda {cfg.lmbda:g} ({source}, {args.n} rows): {len(iso)} array ops per step")
        print(f"  {'operation':26} {'isolated µs':>12} {'in situ µs':>11}   (timing one op "
              f"costs {overhead * 1e6:.2f} µs, subtracted)")
        for name in iso:
            print(f"  {name:26} {iso[name] * 1e6:12.1f} {situ[name] * 1e6:11.1f}")
        gemm = [k for k in iso if "@" in k]
        for label, d in (("isolated", iso), ("in situ", situ)):
            total, g = sum(d.values()), sum(d[k] for k in gemm)
            print(f"  {label:9} total {total * 1e6:9.1f} µs/step (GEMMs {g * 1e6:.1f}, other "
                  f"{(total - g) * 1e6:.1f}) = {total * n_steps:.3f} s/epoch")
        print(f"  instrumented replay {plain_epoch:.3f} s/epoch; "
              f"xmlp Network.fit {fit_epoch:.3f} s/epoch "
              f"({fit_epoch / n_steps * 1e6:.1f} µs/step)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
