"""Image transformations from the book, in pure NumPy, on (n, h*w) or (n, h, w) inputs.

Inputs are never modified; every function returns new arrays.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["downsample", "expand"]


def _as_images(X, image_shape: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """View ``X`` as (n, h, w) images; also return whether it came flattened as (n, h*w)."""
    X = np.asarray(X)
    h, w = image_shape
    if X.ndim == 2 and X.shape[1] == h * w:
        return X.reshape(len(X), h, w), True
    if X.ndim == 3 and X.shape[1:] == (h, w):
        return X, False
    raise ValueError(
        f"expected images of shape (n, {h * w}) or (n, {h}, {w}), got {X.shape}; "
        "pass image_shape= for images of another size"
    )


def expand(X, y, image_shape: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, np.ndarray]:
    """Nielsen's ``expand_mnist.py``: each image followed by four copies shifted by one pixel.

    For each image the output holds, in this order (the order of the book's loop over
    ``(d, axis)`` in ``[(1, 0), (-1, 0), (1, 1), (-1, 1)]`` with ``np.roll``): the original,
    shifted down, up, right, left. The row or column that ``np.roll`` wraps around is set to 0,
    as the book does. Returns ``(X5, y5)``: 5n images in the layout of ``X`` (flattened or
    not) and the labels each repeated 5 times. Unlike the book, the result is not shuffled.
    """
    images, flat = _as_images(X, image_shape)
    y = np.asarray(y)
    if y.shape != images.shape[:1]:
        raise ValueError(f"y must have shape ({len(images)},) to match X, got {y.shape}")
    down = np.roll(images, 1, axis=1)
    down[:, 0, :] = 0
    up = np.roll(images, -1, axis=1)
    up[:, -1, :] = 0
    right = np.roll(images, 1, axis=2)
    right[:, :, 0] = 0
    left = np.roll(images, -1, axis=2)
    left[:, :, -1] = 0
    out = np.stack([images, down, up, right, left], axis=1)  # (n, 5, h, w)
    out = out.reshape(5 * len(images), -1) if flat else out.reshape(-1, *images.shape[1:])
    return out, np.repeat(y, 5)


def downsample(
    X, fold: int = 2, image_shape: tuple[int, int] = (28, 28), crop: int = 3
) -> tuple[np.ndarray, tuple[int, int]]:
    """Shrink images by cropping ``crop`` pixels off every border, then average-pooling.

    Each (h, w) image loses ``crop`` rows at the top and bottom and ``crop`` columns at the left
    and right (MNIST's digits sit in the central 20x20 box, so the border is mostly blank),
    then every ``fold`` x ``fold`` block is replaced by its mean. With the defaults,
    28x28 -> 22x22 -> 11x11. Returns ``(X_small, (h', w'))`` with ``X_small`` of shape
    (n, h' * w'), float (the input's float dtype, or float64 for integer input).

    >>> from xmlp import datasets
    >>> X = datasets.load("mnist-sample").train.X
    >>> X_small, shape = datasets.downsample(X, fold=2)
    >>> X_small.shape, shape
    ((4000, 121), (11, 11))
    """
    images, _ = _as_images(X, image_shape)
    if isinstance(fold, bool) or not isinstance(fold, numbers.Integral) or fold < 1:
        raise ValueError(f"fold must be a positive int, got {fold!r}")
    if isinstance(crop, bool) or not isinstance(crop, numbers.Integral) or crop < 0:
        raise ValueError(f"crop must be a non-negative int, got {crop!r}")
    h, w = (int(s) - 2 * int(crop) for s in image_shape)
    fold = int(fold)
    if h < fold or w < fold or h % fold or w % fold:
        raise ValueError(
            f"cropping {crop} pixels leaves {h}x{w} images, which {fold}x{fold} blocks do not "
            "tile; choose crop and fold so that (side - 2*crop) is a positive multiple of fold"
        )
    cropped = images[:, crop:crop + h, crop:crop + w]
    dtype = images.dtype if images.dtype.kind == "f" else np.float64
    blocks = cropped.reshape(len(images), h // fold, fold, w // fold, fold)
    small = blocks.mean(axis=(2, 4), dtype=dtype)
    return small.reshape(len(images), -1), (h // fold, w // fold)
