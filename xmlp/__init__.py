"""xmlp: the multilayer perceptrons of *Neural Networks and Deep Learning*, trained by
backpropagation and mini-batch SGD from one array-API core that runs on NumPy, CuPy,
PyTorch, JAX or array-api-strict.

    >>> import xmlp
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> net = xmlp.Network([784, 30, 10], cost="cross-entropy", backend="numpy", seed=0)
    >>> history = net.fit(*data.train, epochs=10, batch_size=10, eta=0.5,
    ...                   evaluation_data=data.test)

Layers (imports only point down the list; ``tests/test_layers.py`` checks it):

* plumbing -- ``backend`` (the backend flag -> namespace, device, dtype; conversions at the
  edges), ``_validate`` (input checks), ``_version``;
* math -- ``activations``, ``costs``, ``init``, ``network`` (parameters, feedforward,
  backprop BP1-BP4);
* learning -- ``optim`` (update rules with explicit state: SGD, momentum, Nesterov, Adam),
  then ``train`` (the epoch loop, monitors, early stopping, schedules, divergence);
* persistence -- ``io`` (network files), ``checkpoint`` (training state), ``export``
  (ONNX graphs, for ``Network.to_onnx``), ``datasets``; they depend on the math, never
  the other way round;
* facade -- ``model``: the ``Network`` users get, the math plus ``fit`` and ``save``;
* front ends -- ``nielsen`` (the book's interfaces), ``cli`` (the ``xmlp`` command) and
  the optional ``sklearn``, ``sweep``, ``recipes`` and ``onnx`` (skl2onnx converters).
  ``import xmlp`` imports none of the optional libraries (scikit-learn, Dask, Optuna,
  torch, JAX, matplotlib, onnx, ONNX Runtime, skl2onnx).
"""

from . import datasets
from ._version import __version__
from .backend import BackendUnavailable, DeviceOutOfMemory, to_numpy
from .model import Network, load
from .train import History, TrainingDiverged, TrainingInterrupted

__all__ = [
    "Network",
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
