"""xmlp: the multilayer perceptrons of *Neural Networks and Deep Learning*, trained by
backpropagation and mini-batch SGD from one array-API core that runs on NumPy, CuPy,
PyTorch or array-api-strict.

    >>> import xmlp
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> net = xmlp.Network([784, 30, 10], cost="cross-entropy", backend="numpy", seed=0)
    >>> history = net.fit(*data.train, epochs=10, batch_size=10, eta=0.5,
    ...                   evaluation_data=data.test)
"""

from . import datasets
from .backend import BackendUnavailable, DeviceOutOfMemory, to_numpy
from .io import load
from .network import Network
from .train import History, TrainingDiverged, TrainingInterrupted

__version__ = "0.1.0"

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
