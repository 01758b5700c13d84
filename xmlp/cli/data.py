"""Data and models for the commands: datasets, transforms, model files, image files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CLIError, one_line


def resolve_device(backend: str, text: str | None) -> Any:
    """The --device string as the backend's device object (None: the default device)."""
    from ..backend import parse_device, resolve

    return None if text is None else parse_device(resolve(backend), text)


def load_dataset(args: argparse.Namespace, dtype: str):
    from ..datasets import DatasetNotFound, load

    validation = getattr(args, "validation", None)
    try:
        return load(args.dataset, data_dir=args.data_dir, validation=validation,
                    download=not args.no_download, dtype=dtype)
    except DatasetNotFound as exc:
        raise CLIError(f"{one_line(exc)} On the command line: --data-dir DIR.") from exc


def infer_fold(n_in: int, image_shape: tuple[int, int]) -> int | None:
    """The --downsample fold that turns image_shape images into n_in features, if any."""
    if n_in == image_shape[0] * image_shape[1]:
        return None
    for fold in range(2, min(image_shape)):
        h, w = (s - 6 for s in image_shape)
        if h % fold == 0 and w % fold == 0 and (h // fold) * (w // fold) == n_in:
            return fold
    return None


def transform(X: np.ndarray, fold: int | None, image_shape: tuple[int, int]) -> np.ndarray:
    if not fold:
        return X
    from ..datasets import downsample

    return downsample(X, fold, image_shape=image_shape)[0]


def check_n_in(net, n_features: int, fold: int | None) -> None:
    if net.sizes[0] != n_features:
        how = f" after --downsample {fold}" if fold else ""
        raise CLIError(f"the model takes {net.sizes[0]} inputs but the images have "
                       f"{n_features} features{how}; pass --downsample FOLD as in training")


def check_writable(path: str | None, option: str, suffixes: tuple[str, ...] = ()) -> None:
    """Fail before a long run rather than after it."""
    if path is None:
        return
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise CLIError(f"{option} {path}: the file name must end in "
                       f"{' or '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"{option} {path}: directory {parent} does not exist")
    if p.is_dir():
        raise CLIError(f"{option} {path}: is a directory")


def pct(acc: float) -> str:
    return f"{100 * acc:.2f}%"


def counted(acc: float, n: int) -> tuple[int, float]:
    """(correct, exact fraction) from an accuracy (a count over n)."""
    correct = round(acc * n)
    return correct, correct / n if n else 0.0


def load_model(args: argparse.Namespace):
    from ..model import load

    path = Path(args.model)
    if not path.is_file():
        raise CLIError(f"model file {path} not found" + (" (it is a directory)"
                                                         if path.is_dir() else ""))
    return load(path, backend=args.backend, device=resolve_device(args.backend, args.device),
                dtype=args.dtype)


def predict_numpy(net, X) -> np.ndarray:
    from ..backend import to_numpy
    from ..network import EVAL_CHUNK

    # The same chunks as Network.accuracy, so that counts agree bit for bit.
    return np.asarray(to_numpy(net.predict(X, batch_size=EVAL_CHUNK)), dtype=np.int64)


def read_images(path: Path, invert: str, shape: tuple[int, int]) -> np.ndarray:
    """(n, 28, 28) float64 images in [0, 1], white ink on black as in MNIST."""
    if not path.is_file():
        raise CLIError(f"image file {path} not found")
    if path.suffix.lower() == ".png":
        return read_png(path, invert, shape)[None]
    from ..datasets import read_idx

    arr = read_idx(path)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != shape:
        raise CLIError(f"{path}: expected IDX images of shape (n, {shape[0]}, {shape[1]}), got "
                       f"{arr.shape} (is it a labels file?)")
    if arr.dtype == np.uint8:
        return arr / 255.0
    arr = arr.astype(np.float64)
    if arr.min() < 0 or arr.max() > 1:
        raise CLIError(f"{path}: float IDX images must lie in [0, 1]")
    return arr


def read_png(path: Path, invert: str, shape: tuple[int, int]) -> np.ndarray:
    try:
        import matplotlib.image as mpimg
    except ImportError:
        raise CLIError("reading PNG files needs matplotlib: install 'xmlp[plot]'") from None
    try:
        img = np.asarray(mpimg.imread(path), dtype=np.float64)
    except (OSError, ValueError, SyntaxError) as exc:
        raise CLIError(f"{path}: not a readable PNG image ({one_line(exc)})") from exc
    if img.max() > 1.0:  # 8-bit data from a non-PNG reader
        img = img / 255.0
    if img.ndim == 3:
        if img.shape[2] == 4:  # composite over white paper: transparent = background
            alpha = img[..., 3:4]
            img = img[..., :3] * alpha + (1.0 - alpha)
        if img.shape[2] >= 3:
            img = img[..., :3] @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
        else:
            img = img[..., 0]
    if img.shape != shape:
        raise CLIError(f"{path}: the image is {img.shape[1]}x{img.shape[0]} pixels; resize it "
                       f"to {shape[1]}x{shape[0]} (MNIST's size) first")
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if invert == "yes" or (invert == "auto" and border.mean() > 0.5):
        img = 1.0 - img
    return img
