"""The contenders: xmlp on each backend, PyTorch eager, scikit-learn, the book's
per-example loop, and the FLOP-bound limit.

Every trainer starts from the same initial weights (xmlp's, drawn from the same seed) and
sees the same data; the ones that can (xmlp on every backend, PyTorch, the book's loop)
also visit the same mini-batches in the same order.  A trainer provides

* ``epoch()``               one full epoch of mini-batch SGD;
* ``subset(rows)`` / ``run_subset(prepared)``   one pass over the given rows, in
  mini-batches of the configuration's size (the data gathering happens in ``subset``,
  outside the clock);
* ``sync()``                wait for queued device work (the driver calls it before every
  clock read);
* ``accuracy()``            test accuracy (never timed);
* ``device_memory_reset()`` / ``device_peak_mb()``  GPU memory high-water mark.

Imports of optional libraries happen inside the trainers, so a contender that is not
installed is skipped with a reason instead of breaking the run.
"""

from __future__ import annotations

import importlib.util
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from configs import Config, flops_per_epoch

__all__ = ["CONTENDERS", "Contender", "make_trainer", "measure_limit", "one_hot"]


@dataclass(frozen=True)
class Contender:
    name: str  # result key, e.g. "xmlp-numpy", "torch-cuda", "limit-numpy"
    label: str  # for tables
    kind: str  # "xmlp", "peer" or "limit"
    library: str  # xmlp backend or peer library
    device: str  # "cpu" or "cuda"
    group: str  # the nox bench(backend) session whose environment runs it
    policy: str  # default timing: "full" epochs or a "subset" of mini-batches, extrapolated
    note: str = ""
    compile: bool | None = None  # xmlp contenders: fit(compile=...)

    def available(self) -> tuple[bool, str]:
        """A cheap probe (no heavy import): is the library installed, is a GPU there?"""
        module = {"numpy": "numpy", "array_api_strict": "array_api_strict", "torch": "torch",
                  "cupy": "cupy", "sklearn": "sklearn", "book": "numpy",
                  "jax": "jax"}[self.library]
        if importlib.util.find_spec(module) is None:
            return False, f"{module} is not installed"
        if self.device == "cuda" and self.library == "jax":
            import jax

            if not _jax_gpus():
                return False, f"jax {jax.__version__} sees no GPU"
        elif self.device == "cuda":
            import backends.cupy

            ok, reason = backends.cupy.gpu_present()
            if not ok:
                return False, reason
            if self.library == "torch":
                import torch

                if not torch.cuda.is_available():
                    return False, f"torch {torch.__version__} sees no CUDA device"
        return True, ""


CONTENDERS = {c.name: c for c in [
    Contender("xmlp-numpy", "xmlp numpy", "xmlp", "numpy", "cpu", "numpy", "full"),
    Contender("xmlp-array_api_strict", "xmlp array-api-strict (reference only)", "xmlp",
              "array_api_strict", "cpu", "array_api_strict", "subset",
              "array-api-strict wraps NumPy to check the standard; not meant to be fast"),
    Contender("xmlp-torch", "xmlp torch", "xmlp", "torch", "cpu", "torch", "full"),
    Contender("xmlp-torch-cuda", "xmlp torch", "xmlp", "torch", "cuda", "torch", "full"),
    Contender("xmlp-cupy", "xmlp cupy", "xmlp", "cupy", "cuda", "cupy", "full"),
    # JAX on the CPU runs in the numpy session too, so that its ratio to NumPy is measured
    # side by side.  The core runs eagerly on it, one dispatched operation at a time.
    Contender("xmlp-jax", "xmlp jax (eager)", "xmlp", "jax", "cpu", "numpy", "subset",
              "jax.numpy op by op, no jit; jax_enable_x64 on", compile=False),
    # The same core compiled: one XLA program per epoch (jax.jit + lax.scan, xmlp.engine).
    Contender("xmlp-jax-compiled", "xmlp jax (compiled)", "xmlp", "jax", "cpu", "numpy",
              "full", "fit(compile=True): jax.jit + lax.scan over each epoch's mini-batches; "
              "the compilation is paid in the warm-up epoch and recorded as compile_seconds",
              compile=True),
    Contender("xmlp-jax-compiled-cuda", "xmlp jax (compiled)", "xmlp", "jax", "cuda", "jax",
              "full", "fit(compile=True) on JAX's GPU; compile_seconds recorded apart",
              compile=True),
    # PyTorch eager on the CPU runs in the numpy session, interleaved with xmlp numpy,
    # scikit-learn and the book's loop: the ratios the targets are about come from one run.
    Contender("torch", "PyTorch eager", "peer", "torch", "cpu", "numpy", "full",
              "nn.Linear + sigmoid, same init, cost, batch order; torch.optim.SGD"),
    Contender("torch-cuda", "PyTorch eager", "peer", "torch", "cuda", "torch", "full",
              "nn.Linear + sigmoid, same init, cost, batch order; torch.optim.SGD"),
    Contender("sklearn", "scikit-learn MLPClassifier", "peer", "sklearn", "cpu", "numpy",
              "subset", "softmax output + log-loss averaged over the batch (not the "
              "config's cost); sklearn's own shuffling; same initial weights"),
    Contender("book", "network.py per-example loop", "peer", "book", "cpu", "numpy", "subset",
              "benchmarks/book_network.py: one example at a time as column vectors"),
    Contender("limit-numpy", "FLOP limit (NumPy GEMM peak)", "limit", "numpy", "cpu", "numpy",
              "full"),
    Contender("limit-torch", "FLOP limit (torch GEMM peak)", "limit", "torch", "cpu", "torch",
              "full"),
    Contender("limit-torch-cuda", "FLOP limit (torch GEMM peak)", "limit", "torch", "cuda",
              "torch", "full"),
    Contender("limit-cupy", "FLOP limit (CuPy GEMM peak)", "limit", "cupy", "cuda", "cupy",
              "full"),
]}


def _jax_gpus() -> list:
    import jax

    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend in this jaxlib
        return []


def one_hot(y: np.ndarray, k: int, dtype) -> np.ndarray:
    out = np.zeros((y.shape[0], k), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def _cuda_name(library: str) -> str:
    if library == "cupy":
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    import torch

    return torch.cuda.get_device_name()


# --------------------------------------------------------------------------- trainers
class _Trainer:
    contender: Contender
    notes: list[str]

    def sync(self) -> None:
        """CPU trainers compute eagerly."""

    def device_memory_reset(self) -> None:
        pass

    def device_peak_mb(self) -> float | None:
        return None

    def device_name(self) -> str:
        from sysinfo import cpu_name

        return cpu_name() if self.contender.device == "cpu" else _cuda_name(
            self.contender.library)


class _OwnLoopTrainer(_Trainer):
    """A trainer with its own mini-batch loop ``_train(rows)`` that visits rows in the
    order xmlp's fit would: a permutation drawn from xmlp's generator state."""

    rng: np.random.Generator
    n: int

    def _train(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def epoch(self) -> None:
        self._train(self.rng.permutation(self.n))

    def subset(self, rows: np.ndarray):
        return rows

    def run_subset(self, prepared) -> None:
        # xmlp's fit shuffles the rows it is given with its generator: do the same.
        self._train(prepared[self.rng.permutation(prepared.shape[0])])


class XmlpTrainer(_Trainer):
    """xmlp's public ``Network.fit`` (one call per epoch, monitor=()) on one backend."""

    def __init__(self, contender: Contender, cfg: Config, data, seed: int):
        import backends
        import xmlp
        from xmlp.backend import to_backend

        self.contender, self.cfg = contender, cfg
        self.plumbing = backends.get(contender.library)
        device = None
        if contender.library == "torch":
            device = contender.device
        elif contender.library == "array_api_strict":
            import array_api_strict

            device = array_api_strict.Device("CPU_DEVICE")
        elif contender.library == "jax":  # the CPU contender stays there beside a GPU
            import jax

            device = _jax_gpus()[0] if contender.device == "cuda" else jax.devices("cpu")[0]
        self.net = xmlp.Network(list(cfg.sizes), cost=cfg.cost, init=cfg.init,
                                backend=contender.library, device=device, dtype=cfg.dtype,
                                seed=seed)
        net = self.net
        xp = net.xp
        self.xp = xp
        self.X = to_backend(data.X_train, net.backend, net.dtype, "X")
        self.y = to_backend(data.y_train, net.backend, xp.int64, "y")
        self.X_test = to_backend(data.X_test, net.backend, net.dtype, "X_test")
        self.y_test = to_backend(data.y_test, net.backend, xp.int64, "y_test")
        self.n = data.X_train.shape[0]
        self.internal_seconds: list[float] = []
        self.compile_seconds = 0.0  # compiling (compiled contenders), summed over the fits
        self.notes = ["timed: Network.fit(X, y, epochs=1, monitor=()) per epoch, data "
                      "already on the device; history.seconds (the mini-batch loop alone) "
                      "is recorded as internal_seconds"]

    def _fit(self, X, y, lmbda: float) -> None:
        compile = {} if self.contender.compile is None else {"compile": self.contender.compile}
        h = self.net.fit(X, y, epochs=1, batch_size=self.cfg.batch_size, eta=self.cfg.eta,
                         lmbda=lmbda, monitor=(), **compile)
        self.internal_seconds.append(h.seconds[-1])
        self.compile_seconds += h.compile_seconds

    def sync(self) -> None:
        if self.contender.library == "jax":  # dispatch is asynchronous: wait for the results
            for a in (*self.net.params.W, *self.net.params.b):
                a.block_until_ready()
            return
        self.plumbing.sync(self.net.device)

    def epoch(self) -> None:
        self._fit(self.X, self.y, self.cfg.lmbda)

    def subset(self, rows: np.ndarray):
        idx = self.xp.asarray(rows, device=self.net.device)
        # fit(n = len(rows)) decays by (1 - eta lmbda / len(rows)): scale lmbda so the
        # decay per step equals the full epoch's (1 - eta lmbda / n).
        prepared = (self.xp.take(self.X, idx, axis=0), self.xp.take(self.y, idx, axis=0),
                    self.cfg.lmbda * len(rows) / self.n)
        if self.contender.compile:  # compile this subset's shapes here, outside the clock
            spare = self.net.to(self.net.backend.name, self.net.device)
            spare.fit(*prepared[:2], epochs=1, batch_size=self.cfg.batch_size,
                      eta=self.cfg.eta, lmbda=prepared[2], monitor=(), compile=True)
        return prepared

    def run_subset(self, prepared) -> None:
        self._fit(*prepared)

    def accuracy(self) -> float:
        return self.net.accuracy(self.X_test, self.y_test)

    def device_memory_reset(self) -> None:
        if self.contender.device != "cuda":
            return
        if self.contender.library == "torch":
            import torch

            torch.cuda.reset_peak_memory_stats()
        else:
            import cupy

            cupy.get_default_memory_pool().free_all_blocks()

    def device_peak_mb(self) -> float | None:
        if self.contender.device != "cuda":
            return None
        if self.contender.library == "torch":
            import torch

            return torch.cuda.max_memory_allocated() / 2**20
        import cupy

        # The pool keeps freed blocks, so what it holds after the run is its high-water mark.
        return cupy.get_default_memory_pool().total_bytes() / 2**20


class TorchTrainer(_OwnLoopTrainer):
    """PyTorch eager: nn.Linear layers with xmlp's initial weights, sigmoid, the same cost,
    torch.optim.SGD (no momentum; network2's L2 as weight decay on the weights only)."""

    def __init__(self, contender: Contender, cfg: Config, data, params0, rng_state: dict):
        import torch
        from torch import nn

        self.torch = torch
        self.contender, self.cfg = contender, cfg
        self.device = torch.device(contender.device)
        dtype = getattr(torch, cfg.dtype)
        weights, biases = params0
        layers: list = []
        for l, (w, b) in enumerate(zip(weights, biases)):
            lin = nn.Linear(w.shape[1], w.shape[0], dtype=dtype, device=self.device)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
                lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(b).reshape(-1)))
            layers.append(lin)
            if l < len(weights) - 1:
                layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)  # outputs z^L; the cost applies the sigmoid
        self.n = data.X_train.shape[0]
        self.X = torch.as_tensor(data.X_train, dtype=dtype, device=self.device)
        self.Y = torch.as_tensor(one_hot(data.y_train, cfg.sizes[-1], data.X_train.dtype),
                                 dtype=dtype, device=self.device)
        self.X_test = torch.as_tensor(data.X_test, dtype=dtype, device=self.device)
        self.y_test = torch.as_tensor(data.y_test, device=self.device)
        if cfg.cost == "quadratic":
            def cost(z, y):  # network.py: C = 1/2 sum ||a - y||^2, averaged over the batch
                return 0.5 * torch.sum((torch.sigmoid(z) - y) ** 2)
        else:
            bce = nn.BCEWithLogitsLoss(reduction="sum")

            def cost(z, y):  # network2's CrossEntropyCost, from the logits
                return bce(z, y)
        self.cost = cost
        w_params = [m.weight for m in self.model if isinstance(m, nn.Linear)]
        b_params = [m.bias for m in self.model if isinstance(m, nn.Linear)]
        # SGD's weight_decay wd adds wd * W to the gradient: W <- (1 - eta wd) W - eta g,
        # which is network2's (1 - eta lmbda / n) W - (eta / m) nabla_W with wd = lmbda / n.
        self.opt = torch.optim.SGD([
            {"params": w_params, "weight_decay": cfg.lmbda / self.n},
            {"params": b_params, "weight_decay": 0.0}], lr=cfg.eta, momentum=0.0)
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = rng_state  # xmlp's generator after initialisation
        self.notes = ["timed: the mini-batch loop (index_select, forward, cost, backward, "
                      "SGD step) per epoch; permutation drawn with NumPy as xmlp does"]

    def _train(self, rows: np.ndarray) -> None:
        torch, bs = self.torch, self.cfg.batch_size
        idx = torch.as_tensor(rows, device=self.device)
        for k in range(0, idx.shape[0], bs):
            b = idx[k:k + bs]
            xb = self.X.index_select(0, b)
            yb = self.Y.index_select(0, b)
            loss = self.cost(self.model(xb), yb) / xb.shape[0]
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def accuracy(self) -> float:
        with self.torch.no_grad():
            pred = self.torch.argmax(self.model(self.X_test), dim=1)
            return float((pred == self.y_test).double().mean().item())

    def device_memory_reset(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.reset_peak_memory_stats(self.device)

    def device_peak_mb(self) -> float | None:
        if self.device.type == "cuda":
            return self.torch.cuda.max_memory_allocated(self.device) / 2**20
        return None


class SklearnTrainer(_Trainer):
    """MLPClassifier with plain constant-rate SGD; one ``partial_fit`` = one pass."""

    def __init__(self, contender: Contender, cfg: Config, data, params0, seed: int):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        self.contender, self.cfg = contender, cfg
        self.X, self.y = data.X_train, data.y_train
        self.X_test, self.y_test = data.X_test, data.y_test
        self.n = self.X.shape[0]
        # sklearn's SGD gradient is (sum of per-example gradients + alpha W) / m for a batch
        # of m, so network2's decay (eta lmbda / n) W per step needs alpha = lmbda m / n.
        alpha = cfg.lmbda * cfg.batch_size / self.n
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(cfg.sizes[1:-1]), activation="logistic", solver="sgd",
            momentum=0.0, nesterovs_momentum=False, alpha=alpha, learning_rate="constant",
            learning_rate_init=cfg.eta, batch_size=cfg.batch_size, max_iter=1, shuffle=True,
            tol=0.0, n_iter_no_change=10**9, early_stopping=False, random_state=seed)
        warnings.simplefilter("ignore", ConvergenceWarning)
        # The first partial_fit allocates the layers (one mini-batch); then xmlp's initial
        # weights are copied in, in place (sklearn's coefs_ are (n_in, n_out)).
        classes = np.arange(cfg.sizes[-1])
        self.clf.partial_fit(self.X[:cfg.batch_size], self.y[:cfg.batch_size], classes=classes)
        for coef, icpt, w, b in zip(self.clf.coefs_, self.clf.intercepts_, *params0):
            coef[...] = w.T
            icpt[...] = b.reshape(-1)
        self.notes = [f"alpha = lmbda * batch / n = {alpha:g}",
                      f"out_activation_ = {self.clf.out_activation_} (log-loss), "
                      "mini-batch loss averaged; the loss is also evaluated each batch",
                      "timed: partial_fit over the epoch's rows (sklearn shuffles them)"]

    def epoch(self) -> None:
        self.clf.partial_fit(self.X, self.y)

    def subset(self, rows: np.ndarray):
        return self.X[rows], self.y[rows]

    def run_subset(self, prepared) -> None:
        self.clf.partial_fit(*prepared)

    def accuracy(self) -> float:
        return float(self.clf.score(self.X_test, self.y_test))


class BookTrainer(_OwnLoopTrainer):
    """network.py's per-example algorithm (benchmarks/book_network.py)."""

    def __init__(self, contender: Contender, cfg: Config, data, params0, rng_state: dict):
        from book_network import BookNetwork, training_data

        self.contender, self.cfg = contender, cfg
        self.net = BookNetwork(cfg.sizes, cost=cfg.cost, dtype=cfg.dtype)
        self.net.set_parameters(*params0)
        Y = one_hot(data.y_train, cfg.sizes[-1], cfg.dtype)
        self.data = training_data(data.X_train, Y, cfg.dtype)
        self.X_test, self.y_test = data.X_test, data.y_test
        self.n = len(self.data)
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = rng_state
        self.notes = ["timed: update_mini_batch over the mini-batches (backprop per example, "
                      "gradients summed per mini-batch)"]

    def _train(self, order: np.ndarray) -> None:
        with np.errstate(over="ignore"):  # the book's sigmoid overflows exp(-z) harmlessly
            self.net.sgd_epoch(self.data, order, self.cfg.batch_size, self.cfg.eta,
                               self.cfg.lmbda, n=self.n)

    def accuracy(self) -> float:
        with np.errstate(over="ignore"):
            return self.net.accuracy(self.X_test, self.y_test)


def initial_state(cfg: Config, seed: int):
    """xmlp's initial parameters (network2 layout, float64) and its generator's state after
    initialisation (which then draws the epochs' permutations)."""
    import xmlp

    net = xmlp.Network(list(cfg.sizes), cost=cfg.cost, init=cfg.init, backend="numpy",
                       dtype="float64", seed=seed)
    return net.parameters_numpy(), net.rng.bit_generator.state


def make_trainer(contender: Contender, cfg: Config, data, seed: int):
    if contender.kind == "xmlp":
        return XmlpTrainer(contender, cfg, data, seed)
    params0, rng_state = initial_state(cfg, seed)
    if contender.library == "torch":
        return TorchTrainer(contender, cfg, data, params0, rng_state)
    if contender.library == "sklearn":
        return SklearnTrainer(contender, cfg, data, params0, seed)
    if contender.library == "book":
        return BookTrainer(contender, cfg, data, params0, rng_state)
    raise ValueError(f"no trainer for {contender.name}")


# --------------------------------------------------------------------------- FLOP limit
class _Gemm:
    """Random operands and a synchronised matmul on one library / device / dtype.

    Products are written into preallocated outputs (``matmul(a, b, out=c)``): a fresh
    output of a few hundred KiB can cost more than the product itself when the allocator
    hands the pages back to the OS after every call (seen with glibc and NumPy: a
    (784, 10) @ (10, 100) float64 product took 300 us with a new output, 40 us without),
    and the floor is meant to time the GEMMs alone."""

    def __init__(self, library: str, device: str, dtype: str):
        self.library, self.device, self.dtype = library, device, dtype
        if library == "numpy":
            rng = np.random.default_rng(0)
            self.rand = lambda *shape: rng.standard_normal(shape).astype(dtype)
            self.empty = lambda *shape: np.empty(shape, dtype=dtype)
            self.matmul = np.matmul
            self.sync = lambda: None
        elif library == "torch":
            import torch

            dev, dt = torch.device(device), getattr(torch, dtype)
            self.rand = lambda *shape: torch.randn(*shape, dtype=dt, device=dev)
            self.empty = lambda *shape: torch.empty(*shape, dtype=dt, device=dev)
            self.matmul = torch.matmul
            self.sync = ((lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda"
                         else (lambda: None))
        elif library == "cupy":
            import cupy

            self.rand = lambda *shape: cupy.random.standard_normal(shape).astype(dtype)
            self.empty = lambda *shape: cupy.empty(shape, dtype=dtype)
            self.matmul = cupy.matmul
            self.sync = lambda: cupy.cuda.Device().synchronize()
        else:
            raise ValueError(library)

    def product(self, a, b):
        """A function computing a @ b into a preallocated output."""
        out = self.empty(a.shape[0], b.shape[1])
        return lambda: self.matmul(a, b, out=out)

    def time(self, fn, repeat: int, min_seconds: float) -> list[float]:
        """Seconds per call of fn: warm up, then ``repeat`` timings of enough calls."""
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        once = max(time.perf_counter() - t0, 1e-7)
        calls = max(1, math.ceil(min_seconds / once))
        out = []
        for _ in range(repeat):
            self.sync()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            self.sync()
            out.append((time.perf_counter() - t0) / calls)
        return out


def _square_gemm(g: _Gemm, size: int, repeat: int, min_seconds: float) -> list[float]:
    return g.time(g.product(g.rand(size, size), g.rand(size, size)), repeat, min_seconds)


def measure_limit(contender: Contender, cfg: Config, n: int, repeat: int = 3,
                  min_seconds: float = 0.2, peak_size: int | None = None) -> dict:
    """The FLOP-bound epoch time: FLOPs per epoch / the peak GEMM rate measured now, and
    the GEMM-only floor: the config's own GEMMs per step at their shapes, times the steps."""
    g = _Gemm(contender.library, contender.device, cfg.dtype)
    size = peak_size or (8192 if contender.device == "cuda" else 2048)
    peak_times = _square_gemm(g, size, repeat, min_seconds)
    peak_flops = 2.0 * size**3 / min(peak_times)  # a peak: the best of the repeats

    m = cfg.batch_size
    pairs = list(zip(cfg.sizes[:-1], cfg.sizes[1:]))
    products = []
    for l, (i, o) in enumerate(pairs):
        A, W, D = g.rand(m, i), g.rand(i, o), g.rand(m, o)
        # forward A @ W, weight gradient A.T @ delta, error passed back delta @ W.T
        products += [g.product(A, W), g.product(A.T, D)]
        if l > 0:
            products.append(g.product(D, W.T))

    def step():
        for product in products:
            product()

    step_times = g.time(step, repeat, min_seconds)
    step_flops = sum(2 * m * i * o * (3 if l > 0 else 2) for l, (i, o) in enumerate(pairs))
    flops = flops_per_epoch(cfg, n)
    limit = flops["total"] / peak_flops
    floor = min(step_times) * cfg.n_batches(n)
    return {
        "epoch_seconds": [flops["total"] / (2.0 * size**3 / t) for t in peak_times],
        "epoch_seconds_median": limit,
        "gemm_peak_gflops": peak_flops / 1e9, "gemm_peak_size": size,
        "gemm_peak_seconds": peak_times,
        "gemm_at_shapes_gflops": step_flops / min(step_times) / 1e9,
        "gemm_floor_seconds": floor,
        "notes": [f"FLOPs per epoch / GEMM peak ({size}^3 {cfg.dtype} matmul, best of "
                  f"{repeat})", f"gemm_floor_seconds: the step's GEMMs at the config's shapes "
                  f"(batch {m}) x {cfg.n_batches(n)} steps, no other work (best of {repeat})"],
    }
