"""``load(name)`` -> :class:`Dataset` of train / validation / test :class:`Split` s, and one_hot."""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .fetch import locate
from .idx import read_idx
from .pickled import load_nielsen_pickle
from .registry import DatasetInfo, dataset_info

__all__ = ["Dataset", "Split", "load", "one_hot"]


class Split(NamedTuple):
    """One part of a dataset: ``X`` (n, features) float images in [0, 1], ``y`` (n,) int64."""

    X: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Dataset:
    """A named dataset: ``train``, ``validation`` (None when not held out) and ``test`` splits.

    ``X, y = ds.train`` unpacks a split. ``classes`` names the labels 0..n_classes-1 and
    ``image_shape`` is the (height, width) of one row of ``X`` reshaped.
    """

    name: str
    train: Split
    validation: Split | None
    test: Split
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))
    image_shape: tuple[int, int] = (28, 28)

    @property
    def n_classes(self) -> int:
        """The number of classes (10 for the MNIST family)."""
        return len(self.classes)


def load(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    validation: int | float | None = None,
    download: bool = True,
    dtype="float32",
    fallback: bool = True,
) -> Dataset:
    """Load a named dataset: "mnist", "fashion-mnist", "kmnist" or "mnist-sample".

    Files are looked for in ``data_dir`` (else ``$XMLP_DATA/<name>``), the user cache
    (``$XDG_CACHE_HOME/xmlp/<name>`` or ``~/.cache/xmlp/<name>``), known system locations, and
    are otherwise downloaded (if ``download``) and verified against published SHA-256 sums.
    "mnist-sample" ships inside xmlp (4000 train / 1000 test rows) and always works offline.
    For "mnist", a directory holding Nielsen's ``mnist.pkl.gz`` but no IDX files is used too.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "kmnist", "mnist-sample"}
        The dataset (the keys of ``DATASETS``).
    data_dir : str or os.PathLike, optional
        The folder holding the files (or receiving the download).
    validation : int or float, optional
        Rows carved off the *end* of the training set: a count or a fraction in (0, 1);
        0 means none; None means the dataset's default, which is Nielsen's split for
        "mnist" (train 50 000 / validation 10 000 / test 10 000) and none otherwise.
    download : bool, default True
        Download missing files from the standard mirrors.
    dtype : {"float32", "float64"}, default "float32"
        The dtype of the images.
    fallback : bool, default True
        When ``data_dir`` lacks the files, look in the other locations too.  False: only
        ``data_dir`` (which must exist) is looked in and downloaded into, and an embedded
        dataset refuses a ``data_dir`` (``ValueError``) -- what ``xmlp --data-dir`` does.

    Returns
    -------
    Dataset
        ``train``, ``validation`` (None when not held out) and ``test`` splits, each an
        ``(X, y)`` pair: X of shape (n, 784) with pixels scaled to [0, 1], y int64 labels.

    Raises
    ------
    DatasetNotFound
        When the files are neither found nor downloadable.
    ValueError
        For an unknown name, bad arguments or corrupt files.

    Examples
    --------
    >>> from xmlp import datasets
    >>> data = datasets.load("mnist-sample", validation=1000, dtype="float64")
    >>> data.train.X.shape, data.validation.X.shape, data.test.X.shape
    ((3000, 784), (1000, 784), (1000, 784))
    >>> data.train.X.dtype, data.train.y.dtype, int(data.train.y.max())
    (dtype('float64'), dtype('int64'), 9)
    """
    info = dataset_info(name)
    dtype = _float_dtype(dtype)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    train, test = _read_source(info, locate(info, data_dir, download, fallback), dtype)
    n_val = _validation_count(info.default_validation if validation is None else validation,
                              len(train.y))
    cut = len(train.y) - n_val
    val = Split(train.X[cut:], train.y[cut:]) if n_val else None
    return Dataset(info.name, Split(train.X[:cut], train.y[:cut]), val, test, info.classes)


def _read_source(info: DatasetInfo, source, dtype: np.dtype) -> tuple[Split, Split]:
    """Read the full training and test sets from four IDX paths or a Nielsen pickle."""
    if isinstance(source, Path):  # mnist.pkl.gz: re-join Nielsen's train + validation (60k)
        (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_nielsen_pickle(source)
        train = Split(np.concatenate([tr_x, va_x]).astype(dtype), np.concatenate([tr_y, va_y]))
        return train, Split(te_x.astype(dtype), te_y)
    train_x, train_y, test_x, test_y = source
    return (_idx_split(info, train_x, train_y, dtype), _idx_split(info, test_x, test_y, dtype))


def _idx_split(info: DatasetInfo, images_path: Path, labels_path: Path, dtype) -> Split:
    """Read one images/labels pair of IDX files, check them, scale pixels to [0, 1]."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (n, 28, 28), got {images.dtype} "
            f"{images.shape}; this is not an {info.name} images file"
        )
    if len(images) == 0:
        raise ValueError(f"{images_path}: holds no images (shape {images.shape}); the file is "
                         "damaged or not this dataset's; download it again")
    if labels.shape != images.shape[:1] or labels.dtype != np.uint8:
        raise ValueError(
            f"{labels_path}: expected {len(images)} uint8 labels to match {images_path.name}, "
            f"got {labels.dtype} {labels.shape}; the files belong to different datasets"
        )
    if labels.size and labels.max() >= len(info.classes):
        raise ValueError(
            f"{labels_path}: label {labels.max()} out of range 0..{len(info.classes) - 1}"
        )
    X = images.reshape(len(images), -1).astype(dtype)
    X /= 255  # X is a fresh array: in-place scaling mutates no input
    return Split(X, labels.astype(np.int64))


def _float_dtype(dtype) -> np.dtype:
    """``dtype`` as float32 or float64; ``ValueError`` for anything else."""
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return resolved


def _validation_count(validation, n_train: int) -> int:
    """Rows to hold out: an int count in [0, n_train) or a float fraction in (0, 1)."""
    if isinstance(validation, bool) or not isinstance(validation, numbers.Real):
        raise TypeError(
            f"validation must be an int count or a float fraction, got {validation!r}"
        )
    if isinstance(validation, numbers.Integral):
        count = int(validation)
    elif 0 < float(validation) < 1:
        count = round(float(validation) * n_train)
    else:
        raise ValueError(f"a float validation must be a fraction in (0, 1), got {validation}")
    if not 0 <= count < n_train:
        raise ValueError(
            f"validation={validation} holds out {count} of {n_train} training rows; use 0 to "
            f"{n_train - 1} rows (or a fraction) so that some training data remains"
        )
    return count


def one_hot(y, n_classes: int | None = None, dtype="float32") -> np.ndarray:
    """Encode integer labels ``y`` (n,) as an (n, n_classes) array with one 1 per row.

    ``n_classes`` defaults to ``max(y) + 1``. Raises ``TypeError`` for non-integer labels and
    ``ValueError`` for labels outside 0..n_classes-1 or a y that is not 1-D.

    >>> from xmlp.datasets import one_hot
    >>> one_hot([0, 2, 1], n_classes=4, dtype="float64")
    array([[1., 0., 0., 0.],
           [0., 0., 1., 0.],
           [0., 1., 0., 0.]])
    """
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {y.dtype}; convert with .astype(int)")
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D of shape (n,), got shape {y.shape}")
    if n_classes is None:
        if y.size == 0:
            raise ValueError("cannot infer n_classes from empty labels; pass n_classes=")
        n_classes = int(y.max()) + 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1}, got {y.min()}..{y.max()}; "
            "pass the right n_classes="
        )
    out = np.zeros((y.size, n_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out
