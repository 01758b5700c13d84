"""MNIST-family datasets for xmlp: IDX files, named loaders with cache and checksums, transforms.

>>> from xmlp import datasets
>>> ds = datasets.load("mnist-sample")      # embedded, works offline
>>> X, y = ds.train                          # X: (4000, 784) float32 in [0, 1], y: int64
>>> Y = datasets.one_hot(y)                  # (4000, 10)

``load("mnist")`` gives Nielsen's split (train 50 000 / validation 10 000 / test 10 000);
"fashion-mnist" and "kmnist" are loaded the same way. See :func:`load` for where files are looked
for and how they are downloaded.
"""

from .core import Dataset, Split, load, one_hot
from .fetch import DatasetNotFound, cache_dir, download_file
from .idx import read_idx, write_idx
from .pickled import RestrictedUnpickler, UnsafePickleError, load_nielsen_pickle
from .registry import DATASETS
from .transforms import downsample, expand

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetNotFound",
    "RestrictedUnpickler",
    "Split",
    "UnsafePickleError",
    "cache_dir",
    "download_file",
    "downsample",
    "expand",
    "load",
    "load_nielsen_pickle",
    "one_hot",
    "read_idx",
    "write_idx",
]
