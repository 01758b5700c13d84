"""Many networks at once: :class:`Population`, K networks of one shape -- several seeds, a
grid of hyper-parameters, an ensemble -- trained as one program, each member equal to the
network its own ``Network(sizes, seed=...).fit(...)`` gives.

    >>> import xmlp
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> pop = xmlp.Population([784, 30, 10], seeds=[0, 1, 2], cost="cross-entropy")
    >>> histories = pop.fit(*data.train, epochs=2, eta=[0.1, 0.5, 1.0],
    ...                     evaluation_data=data.test)
    >>> len(pop), len(histories), histories[1].epochs
    (3, 3, 2)
    >>> net = pop[1]                 # an xmlp.Network: seed 1 trained at eta 0.5
    >>> pop.accuracy(*data.test) >= min(pop.member_accuracy(*data.test))   # the ensemble
    True

The members' parameters are stacked on a leading member axis (:attr:`Population.params`,
W (K, n_in, n_out), b (K, 1, n_out)) and every step of the one training step
(:mod:`xmlp.step`) runs for all of them at once: batched array operations on the eager
backends, one ``lax.scan`` compiled on JAX.  How each member stays equal to its own run is
:mod:`xmlp.population_fit`'s docstring.  A population too large for memory trains in
chunks of members, one after the other (``fit(max_members=...)``, or chosen from the
memory a member needs).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from ._version import __version__
from .backend import dtype_name, to_numpy
from .history import History
from .model import Network
from .network import EVAL_CHUNK, chunks, dataset_sums, forward
from .params import Params, to_network2
from .population_fit import fit_members

Array = Any

__all__ = ["Population", "load_population", "MEMBER_BYTES"]

#: Memory a population's fit may take for its members at once (parameters, their rule
#: state and gradients, the epoch's draws); more members train in chunks.
#: ``$XMLP_POPULATION_BYTES`` or ``fit(max_members=)`` change it.
MEMBER_BYTES = 2**31
FORMAT = "xmlp-population"


def _seeds(seeds: Any) -> list[int | None]:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise TypeError(f"seeds must be a sequence of seeds, one per member, got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("a population needs at least one member: give seeds=[0, 1, ...]")
    for s in seeds:
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, np.integer))
                              or s < 0):
            raise ValueError(f"each seed must be a non-negative integer or None, got {s!r}")
    return [None if s is None else int(s) for s in seeds]


def _stack(params: Sequence[Params], xp: Any) -> Params:
    """Members' parameters -> one Params with a member axis (b as (K, 1, n_out))."""
    return Params(tuple(xp.stack([p.W[l] for p in params]) for l in range(len(params[0].W))),
                  tuple(xp.stack([p.b[l] for p in params])[:, None, :]
                        for l in range(len(params[0].b))))


class Population:
    """K networks of one shape, trained as one program.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, as :class:`xmlp.Network`'s.
    seeds : sequence of int or None
        One seed per member: member k draws its initial weights, its visiting order, its
        dropout masks and its shift codes from ``numpy.random.default_rng(seeds[k])``, as
        ``xmlp.Network(sizes, seed=seeds[k])`` does (None: a random seed).  Repeating a
        seed gives members with the same weights and draws (a grid of hyper-parameters).
    hidden, output, cost, init, backend, device, dtype
        As :class:`xmlp.Network`'s, one for all members.

    Raises
    ------
    ValueError, TypeError
        For no seeds, a seed that is not a non-negative integer, or what
        :class:`xmlp.Network` refuses.

    See Also
    --------
    xmlp.Network : one member.
    """

    def __init__(self, sizes: Sequence[int], seeds: Sequence[int | None], *,
                 hidden: str = "sigmoid", output: str | None = None, cost: Any = "quadratic",
                 init: str = "normalized", backend: Any = "numpy", device: Any = None,
                 dtype: Any = "float32"):
        self.seeds = _seeds(seeds)
        members = [Network(sizes, hidden=hidden, output=output, cost=cost, init=init,
                           backend=backend, device=device, dtype=dtype, seed=s)
                   for s in self.seeds]
        self.template = members[0]  # what every member shares: shape, activations, backend
        self.rngs = [m.rng for m in members]
        self._params = _stack([m.params for m in members], self.xp)

    # ----------------------------------------------------------------- what members share
    @property
    def sizes(self) -> list[int]:
        return self.template.sizes

    @property
    def hidden(self) -> Any:
        return self.template.hidden

    @property
    def output(self) -> Any:
        return self.template.output

    @property
    def cost(self) -> Any:
        return self.template.cost

    @property
    def backend(self) -> Any:
        return self.template.backend

    @property
    def xp(self) -> Any:
        return self.template.xp

    @property
    def dtype(self) -> Any:
        return self.template.dtype

    @property
    def device(self) -> Any:
        return self.template.device

    # ----------------------------------------------------------------- the members
    @property
    def params(self) -> Params:
        """Every member's parameters, stacked: W[l] (K, n_l, n_{l+1}), b[l] (K, 1, n_{l+1})."""
        return self._params

    @params.setter
    def params(self, params: Params) -> None:
        want = [((len(self), n_in, n_out), (len(self), 1, n_out))
                for n_in, n_out in zip(self.sizes, self.sizes[1:])]
        if not isinstance(params, Params) or params.shapes != want:
            raise ValueError(f"a population's params have shapes {want}")
        self._params = params

    def __len__(self) -> int:
        return len(self.seeds)

    def __iter__(self) -> Iterator[Network]:
        return (self[k] for k in range(len(self)))

    def _index(self, k: int) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"members are indexed by int, got {k!r}")
        if not -len(self) <= k < len(self):
            raise IndexError(f"member {k} of a population of {len(self)}")
        return int(k) % len(self)

    def member_params(self, k: int) -> Params:
        """Member k's parameters, as a network holds them (copies)."""
        k, xp = self._index(k), self.xp
        return Params(tuple(xp.asarray(W[k, ...], copy=True) for W in self._params.W),
                      tuple(xp.asarray(b[k, 0, ...], copy=True) for b in self._params.b))

    def set_member_params(self, k: int, params: Params) -> None:
        """Replace member k's parameters (a network's layout)."""
        k, xp = self._index(k), self.xp

        def put(stacked: Array, one: Array) -> Array:
            return xp.concat([stacked[:k, ...], one[None, ...], stacked[k + 1:, ...]], axis=0)

        self._params = Params(
            tuple(put(W, w) for W, w in zip(self._params.W, params.W)),
            tuple(put(b, xp.reshape(c, (1, -1))) for b, c in zip(self._params.b, params.b)))

    def __getitem__(self, k: int) -> Network:
        """Member k as a new :class:`xmlp.Network` (a copy): the parameters and generator
        state its own run would have."""
        k = self._index(k)
        t = self.template
        net = Network.from_parameters(
            t.sizes, *to_network2(self.member_params(k)), hidden=t.hidden.name,
            output=t.output.name, cost=t.cost, init=t.init, backend=t.backend.name,
            device=t.device, dtype=dtype_name(t.dtype), seed=self.seeds[k])
        net.rng.bit_generator.state = self.rngs[k].bit_generator.state
        return net

    def _subset(self, a: int, z: int) -> Population:
        """Members a..z as a population sharing their generators (for a chunked fit)."""
        sub = object.__new__(Population)
        sub.template, sub.seeds, sub.rngs = self.template, self.seeds[a:z], self.rngs[a:z]
        sub._params = Params(tuple(W[a:z, ...] for W in self._params.W),
                             tuple(b[a:z, ...] for b in self._params.b))
        return sub

    # ----------------------------------------------------------------- training
    def fit(self, X: Any, y: Any, *, evaluation_data: tuple[Any, Any] | None = None,
            verbose: bool | int = False, callback: Any = None, progress: Any = None,
            checkpoint: Any = None, resume: Any = None, max_members: int | None = None,
            **options: Any) -> list[History]:
        """Train every member on (X, y): one :class:`xmlp.History` per member.

        Takes :meth:`xmlp.Network.fit`'s options; each of ``eta``, ``lmbda``, ``l1``,
        ``momentum``, ``dropout``, ``early_stopping``, ``schedule`` and
        ``divergence_factor`` is one value for all members or a sequence of one per member
        (a member with momentum 0 takes plain SGD's step).  Member k then holds what
        ``Network(sizes, seed=seeds[k], ...).fit(X, y, eta=eta[k], ...)`` gives, to the
        last bits of floating point.  A member that stops early (early stopping, the
        schedule) or diverges is frozen while the others go on; a diverged member keeps
        the parameters of its last good epoch and its history's ``stop_message`` says
        what the single run's ``TrainingDiverged`` would say (a population never raises
        it).  The fit ends when every member has stopped.

        ``checkpoint`` / ``resume`` name a folder holding one checkpoint per member
        (``member-K.ckpt``, each the checkpoint of that member's own run).
        ``max_members``: train at most this many members at once (default: as many as
        :data:`xmlp.population.MEMBER_BYTES` allows); ``callback(epoch, histories)``
        after every epoch.

        Raises
        ------
        ValueError, TypeError
            For an option that cannot vary given as a sequence (``batch_size``,
            ``epochs``, ``optimizer``, ...), a sequence of the wrong length, or what
            ``Network.fit`` refuses -- before any training.
        """
        K = len(self)
        step = self._chunk_size(X, options) if max_members is None else max_members
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
            raise ValueError(f"max_members must be a positive integer, got {max_members!r}")
        if step >= K:
            return fit_members(self, X, y, options, evaluation_data=evaluation_data,
                               verbose=verbose, callback=callback, progress=progress,
                               checkpoint=checkpoint, resume=resume)
        if checkpoint is not None or resume is not None:
            raise ValueError("checkpoints of a population trained in chunks: give "
                             "max_members >= the population's size")
        histories: list[History] = []
        parts: list[Params] = []
        for a, z in chunks(K, int(step)):
            sub = self._subset(a, z)
            chunk_options = {k: (v[a:z] if isinstance(v, (list, tuple, np.ndarray))
                                 and len(v) == K and k not in ("monitor", "image_shape")
                                 else v) for k, v in options.items()}
            histories += fit_members(sub, X, y, chunk_options, evaluation_data=evaluation_data,
                                     verbose=verbose, callback=callback, progress=progress)
            parts.append(sub.params)
        xp = self.xp
        self._params = Params(tuple(xp.concat([p.W[l] for p in parts], axis=0)
                                    for l in range(len(parts[0].W))),
                              tuple(xp.concat([p.b[l] for p in parts], axis=0)
                                    for l in range(len(parts[0].b))))
        return histories

    def _chunk_size(self, X: Any, options: dict[str, Any]) -> int:
        """How many members fit in ``MEMBER_BYTES`` at once: each member's parameters with
        its rule state and gradients, and its epoch's draws (order, dropout masks)."""
        budget = int(os.environ.get("XMLP_POPULATION_BYTES", MEMBER_BYTES))
        n = len(X) if hasattr(X, "__len__") else X.shape[0]
        item = np.dtype(dtype_name(self.dtype)).itemsize
        parameters = sum(i * o + o for i, o in zip(self.sizes, self.sizes[1:]))
        dropout = options.get("dropout", 0.0)
        hidden = sum(self.sizes[1:-1]) if np.any(np.asarray(dropout, dtype=float)) else 0
        per_member = parameters * item * 6 + n * (8 + hidden * (8 + item) + 8)
        return max(1, budget // per_member)

    # ----------------------------------------------------------------- the ensemble
    def _outputs(self, X: Array) -> Array:
        """Every member's output activations (K, n, n_out) for checked X, in row chunks."""
        K = len(self)
        widest = max(self.sizes[1:])
        size = max(1, min(EVAL_CHUNK, EVAL_CHUNK * 512 // (K * widest)))
        parts = [forward(self._params, X[i:j, ...], self.hidden, self.output, xp=self.xp)[2][-1]
                 for i, j in chunks(X.shape[0], size)]
        return parts[0] if len(parts) == 1 else self.xp.concat(parts, axis=1)

    def feedforward(self, X: Any) -> Array:
        """The ensemble's output: the mean over the members of their output activations
        (probabilities for sigmoid / softmax outputs, values for identity outputs), (n,
        n_out), on the backend."""
        return self.xp.mean(self._outputs(self.template.features(X)), axis=0)

    predict_proba = feedforward

    def predict(self, X: Any, vote: bool = False) -> Array:
        """The ensemble's classes (int64): the argmax of the mean output, or with ``vote``
        the class most members predict (ties: the lowest class)."""
        xp = self.xp
        if not vote:
            return xp.argmax(self.feedforward(X), axis=1)
        classes = xp.argmax(self._outputs(self.template.features(X)), axis=-1)  # (K, n)
        n_out = self.sizes[-1]
        options = xp.arange(n_out, dtype=classes.dtype, device=self.device)
        votes = xp.sum(xp.astype(classes[..., None] == options, xp.int64), axis=0)
        return xp.argmax(votes, axis=1)

    def accuracy(self, X: Any, y: Any, vote: bool = False) -> float:
        """Fraction of examples the ensemble classifies right (see :meth:`predict`)."""
        X = self.template.features(X)
        labels, _ = self.template.targets(y, X.shape[0])
        right = self.predict(X, vote) == labels
        return int(to_numpy(self.xp.sum(self.xp.astype(right, self.xp.int64)))) / X.shape[0]

    def member_accuracy(self, X: Any, y: Any) -> list[float]:
        """Each member's accuracy on (X, y)."""
        X = self.template.features(X)
        labels, Y = self.template.targets(y, X.shape[0])
        correct = dataset_sums(self._params, X, labels, Y, self.hidden, self.output,
                               self.cost, self.xp)[1]
        return [int(c) / X.shape[0] for c in np.reshape(to_numpy(correct), (-1,))]

    # ----------------------------------------------------------------- files, pickles
    def save(self, directory: Any, suffix: str = ".npz") -> None:
        """One network file per member (``member-K.npz`` or ``.json``, what
        :meth:`xmlp.Network.save` writes, each loadable by :func:`xmlp.load`) and
        ``population.json``, which names them with their seeds."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = []
        for k, net in enumerate(self):
            name = f"member-{k}{suffix}"
            net.save(directory / name)
            files.append(name)
        manifest = {"format": FORMAT, "version": __version__, "seeds": self.seeds,
                    "members": files}
        (directory / "population.json").write_text(json.dumps(manifest, indent=1) + "\n")

    def __getstate__(self) -> dict:
        return {"template": self.template, "seeds": self.seeds,
                "rngs": [r.bit_generator.state for r in self.rngs],
                "params": ([to_numpy(W) for W in self._params.W],
                           [to_numpy(b) for b in self._params.b])}

    def __setstate__(self, state: dict) -> None:
        self.template, self.seeds = state["template"], state["seeds"]
        self.rngs = []
        for s in state["rngs"]:
            rng = np.random.default_rng()
            rng.bit_generator.state = s
            self.rngs.append(rng)
        xp, dev, dt = self.xp, self.device, self.dtype
        Ws, bs = state["params"]
        self._params = Params(tuple(xp.asarray(W, dtype=dt, device=dev) for W in Ws),
                              tuple(xp.asarray(b, dtype=dt, device=dev) for b in bs))

    def __repr__(self) -> str:
        return f"Population({self.sizes}, seeds={self.seeds}, {self.template!r})"


def load_population(directory: Any, backend: Any = "numpy", device: Any = None,
                    dtype: Any = None) -> Population:
    """A population saved by :meth:`Population.save`, on any backend."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / "population.json").read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{directory}: no population.json; not a saved "
                                "population") from None
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{directory / 'population.json'}: not a population file "
                         f"({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{directory / 'population.json'}: not a population file")
    files, seeds = manifest.get("members"), manifest.get("seeds")
    if not (isinstance(files, list) and isinstance(seeds, list) and len(files) == len(seeds)
            and files and all(isinstance(f, str) and Path(f).name == f for f in files)):
        raise ValueError(f"{directory / 'population.json'}: 'members' and 'seeds' must "
                         "be lists of the same length, of file names in that folder")
    nets = [io.load(directory / f, backend, device, dtype, cls=Network) for f in files]
    first = nets[0]
    for f, net in zip(files, nets):
        if net.sizes != first.sizes or (net.hidden, net.output, net.cost) != \
                (first.hidden, first.output, first.cost):
            raise ValueError(f"{directory / f}: its network differs from the first member's")
    pop = object.__new__(Population)
    pop.template, pop.seeds = first, _seeds(seeds)
    pop.rngs = [np.random.default_rng(s) for s in pop.seeds]
    pop._params = _stack([net.params for net in nets], first.xp)
    return pop
