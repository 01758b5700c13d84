"""Data augmentation on the fly: every epoch, each training image is shifted by a few pixels
(and optionally mirrored left-right) at random, so that the network never sees exactly the
same image twice.

This is the book's "expanding the training data" (chapter 3: shifts and small rotations of
the MNIST digits; chapter 6 trains on ``expand_mnist.py``'s one-pixel shifts) done without
storing the copies: ``datasets.expand`` writes five fixed copies of each image, while
``fit(shift=..., flip=...)`` draws a new translation for every image in every epoch at the
cost of one epoch over the original images.

The draws are made on the host from the network's seeded generator (same run on every
backend, resumable from a checkpoint) and moved once per epoch; each mini-batch is
transformed on the device by one gather (``take_along_axis``, array API 2024.12), without
a host synchronisation.  The vacated border is filled with zeros, the
background of the MNIST family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = Any

__all__ = ["Augment", "make"]


@dataclass(frozen=True)
class Augment:
    """Random translations by up to ``shift`` pixels in each direction (each of the
    (2 shift + 1)^2 offsets equally likely, zero included) and, with ``flip``, a
    left-right mirror of half the images, on images of ``image_shape`` (height, width).

    Each combination of offset and mirror is one *code*; :meth:`table` maps a code to the
    source pixel of every output pixel, so that a whole mini-batch is transformed by one
    gather (``take_along_axis``) whatever the number of codes."""

    shift: int
    flip: bool
    image_shape: tuple[int, int]

    @property
    def n_codes(self) -> int:
        return (2 * self.shift + 1) ** 2 * (2 if self.flip else 1)

    def settings(self) -> dict:
        return {"shift": self.shift, "flip": self.flip, "image_shape": list(self.image_shape)}

    def decode(self, code: int) -> tuple[int, int, bool]:
        """(dy, dx, mirrored) of a code: down by dy, right by dx, after the mirror."""
        side = 2 * self.shift + 1
        mirrored, rest = divmod(code, side * side)
        dy, dx = divmod(rest, side)
        return dy - self.shift, dx - self.shift, bool(mirrored)

    def table(self) -> np.ndarray:
        """(n_codes, height*width) int64 on the host: for each code, the input pixel that
        lands on each output pixel, or height*width (a zero appended to every image) where
        the translation uncovers the border."""
        h, w = self.image_shape
        rows, cols = np.divmod(np.arange(h * w), w)
        out = np.empty((self.n_codes, h * w), dtype=np.int64)
        for code in range(self.n_codes):
            dy, dx, mirrored = self.decode(code)
            r, c = rows - dy, cols - dx
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            if mirrored:
                c = w - 1 - c
            out[code] = np.where(inside, r * w + c, h * w)
        return out

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """One epoch of codes, (n,) int64 on the host, each equally likely."""
        return rng.integers(0, self.n_codes, size=n, dtype=np.int64)

    def apply(self, X: Array, codes: Array, table: Array, xp: Any) -> Array:
        """The mini-batch ``X`` (m, height*width) with row i transformed by ``codes[i]``;
        ``table`` is :meth:`table` on X's device.  With a member axis: X (K, m, h*w) and
        codes (K, m)."""
        flat = xp.take(table, xp.reshape(codes, (-1,)), axis=0)  # input pixel indices
        source = xp.reshape(flat, (*codes.shape, table.shape[1]))  # (m, height*width)
        padded = xp.concat([X, xp.zeros_like(X[..., :1])], axis=-1)  # index h*w reads a 0
        return xp.take_along_axis(padded, source, axis=-1)


def make(shift: int, flip: bool, image_shape: tuple[int, int] | None,
         n_in: int) -> Augment | None:
    """The :class:`Augment` of ``fit(shift=, flip=, image_shape=)``, or None for neither.

    ``image_shape`` defaults to a square of ``n_in`` pixels (28 x 28 for 784 inputs)."""
    if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)) or shift < 0:
        raise ValueError(f"shift must be a non-negative number of pixels, got {shift!r}")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be True or False, got {flip!r}")
    if not shift and not flip:
        return None
    if image_shape is None:
        side = math.isqrt(n_in)
        if side * side != n_in:
            raise ValueError(f"shift/flip need the image shape: {n_in} inputs are not a "
                             "square image; pass image_shape=(height, width)")
        image_shape = (side, side)
    h, w = (int(v) for v in image_shape)
    if h * w != n_in:
        raise ValueError(f"image_shape {tuple(image_shape)} has {h * w} pixels, but the "
                         f"network takes {n_in} inputs")
    if shift >= min(h, w):
        raise ValueError(f"shift={shift} moves a {h}x{w} image out of its frame; use a "
                         f"shift below {min(h, w)}")
    return Augment(int(shift), bool(flip), (h, w))
