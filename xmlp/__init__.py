"""xmlp: the multilayer perceptrons of *Neural Networks and Deep Learning*, trained by
backpropagation and mini-batch SGD from one array-API core that runs on NumPy, CuPy,
PyTorch, JAX or array-api-strict.

    >>> import xmlp
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> net = xmlp.Network([784, 30, 10], cost="cross-entropy", backend="numpy", seed=0)
    >>> history = net.fit(*data.train, epochs=10, batch_size=10, eta=0.5,
    ...                   evaluation_data=data.test)

The package is a stack of layers, each module importing only from its own layer or those
below (``xmlp._layers`` holds this table; ``tests/test_layers.py`` checks every import
against it).  ``import xmlp`` imports none of the optional libraries (scikit-learn, Dask,
Optuna, torch, JAX, matplotlib, onnx, ONNX Runtime, skl2onnx)::

    front ends   cli          the xmlp command: one module per subcommand
                 nielsen      network.py's and network2.py's interfaces
                 sklearn      MLPClassifier / MLPRegressor (extra sklearn)
                 sweep        Optuna studies on Dask workers (extra sweep)
                 recipes      the book's experiments as data, with its figures
                 onnx         skl2onnx converters for the estimators (extra onnx)
                 __main__     python -m xmlp
    package      xmlp         the public names: Network, load, History, datasets, ...
                 _compat      names earlier versions' files and code refer to
    facade       model        Network = the math + fit() + save() + to_onnx(); load
                 population   Population: K networks as one program; the ensemble; its files
    fit          train        fit(): data on the device, the epochs, reports, checkpoints, stops
                 epochs       a fit's epochs: the host's draws, the engine, the record, divergence
                 population_fit a population's fit: each member's draws, numbers and record
    persistence  io           network files (network2 JSON, .npz)
                 checkpoint   training-state files; a fit's state into and out of them
                 export       ONNX graphs of networks (onnx imported lazily)
    training     settings     FitSettings: fit's settings, checked against a declared table
                 schedule     eta's one owner: Nielsen's schedule, early stopping, anneals
                 history      History, the monitors, progress lines, TrainingDiverged
                 engine       epochs of the step, eager or compiled; TrainState
                 compiled     the same epochs as XLA programs: lax.scan of the step (JAX)
                 step         THE mini-batch step, pure; the host numbers of an epoch's steps
                 optim        update rules: host coefficients + a pure update, typed state
    math         network      feedforward, backprop (BP1-BP4), the math half of Network
                 regulariser  L2 / L1: the term's value and gradient, both conventions
                 params       Params: every layer's (W, b) as one structure (a pytree)
                 costs        C_x and delta^L (BP1), numerically stable
                 activations  sigma and its vector-Jacobian product
                 init         initial weights, drawn on the host
                 augment      random shifts / flips of a mini-batch, one gather
    data         datasets     IDX / pickle readers, registry, downloads, transforms
    plumbing     backend      backend flag -> namespace, dtype; conversions at the edges
                 devices      device names, the current GPU, missing-GPU / out-of-memory errors
                 _validate    input checks with messages that name the fix
                 _cache       xmlp's cache folder (datasets, compiled programs)
                 _version     the version
                 _layers      this table of the layers
"""

from . import _compat, datasets
from ._version import __version__
from .backend import BackendUnavailable, DeviceOutOfMemory, to_numpy
from .history import History, TrainingDiverged, TrainingInterrupted
from .model import Network, load
from .population import Population, load_population

_compat.install()

__all__ = [
    "Network",
    "Population",
    "load_population",
    "History",
    "load",
    "datasets",
    "to_numpy",
    "BackendUnavailable",
    "DeviceOutOfMemory",
    "TrainingDiverged",
    "TrainingInterrupted",
    "__version__",
]
