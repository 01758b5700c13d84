"""Benchmark configurations and their FLOP counts.

C1..C4 are the issue's configurations; ``T`` is a tiny one for the smoke test.  FLOPs are
counted for the work every contender must do (the GEMMs of forward and backward pass and
the parameter update); element-wise work (activations, sigma', the cost's error, bias
additions) is not counted, so the FLOP limit is a *lower* bound on the epoch time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Config", "CONFIGS", "flops_per_epoch", "parse_configs"]


@dataclass(frozen=True)
class Config:
    name: str
    title: str
    sizes: tuple[int, ...]
    cost: str  # "quadratic" or "cross-entropy" (sigmoid output in both)
    init: str  # xmlp's initialiser: "large" (network.py) or "normalized" (network2.py)
    batch_size: int
    eta: float
    lmbda: float
    dtype: str

    def n_batches(self, n: int) -> int:
        return math.ceil(n / self.batch_size)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["sizes"] = list(self.sizes)
        return d

    @property
    def n_params(self) -> int:
        return sum(i * o + o for i, o in zip(self.sizes[:-1], self.sizes[1:]))


CONFIGS = {
    "C1": Config("C1", "network.py ch. 1", (784, 30, 10), "quadratic", "large", 10, 3.0, 0.0,
                 "float64"),
    "C2": Config("C2", "network2 ch. 3, L2", (784, 100, 10), "cross-entropy", "normalized", 10,
                 0.5, 5.0, "float64"),
    "C3": Config("C3", "throughput", (784, 100, 10), "cross-entropy", "normalized", 100, 0.5,
                 0.0, "float32"),
    "C4": Config("C4", "wide", (784, 1000, 1000, 10), "cross-entropy", "normalized", 128, 0.5,
                 0.0, "float32"),
    "T": Config("T", "tiny (smoke test)", (784, 16, 10), "cross-entropy", "normalized", 50, 0.5,
                1.0, "float32"),
}


def parse_configs(text: str) -> list[Config]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if names == ["all"]:
        names = ["C1", "C2", "C3", "C4"]
    unknown = [s for s in names if s not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown config(s) {unknown}; choose from {list(CONFIGS)} or 'all'")
    return [CONFIGS[s] for s in names]


def flops_per_epoch(cfg: Config, n: int) -> dict:
    """FLOPs of one epoch of n examples, by part.

    Per mini-batch of m rows and per layer l with i inputs and o outputs:
    forward ``Z = A @ W`` 2 m i o; weight gradient ``A.T @ delta`` 2 m i o; the error
    passed back ``delta @ W.T`` 2 m i o (every layer but the first); the update
    ``W - step`` and ``b - step`` 2 FLOPs per parameter (scale and subtract, as network.py
    writes it).  Summed over the mini-batches, sum(m) = n.
    """
    pairs = list(zip(cfg.sizes[:-1], cfg.sizes[1:]))
    forward = sum(2 * n * i * o for i, o in pairs)
    weight_grad = forward
    delta_back = sum(2 * n * i * o for l, (i, o) in enumerate(pairs) if l > 0)
    update = 2 * cfg.n_params * cfg.n_batches(n)
    return {"forward": forward, "weight_grad": weight_grad, "delta_back": delta_back,
            "update": update, "total": forward + weight_grad + delta_back + update}
