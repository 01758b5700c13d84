"""Data augmentation (xmlp.augment, ``fit(shift=, flip=)``): every code's gather against a
direct NumPy translation, on every backend; the draws; the checks; what fit does with it."""

from __future__ import annotations

import numpy as np
import pytest

import xmlp
from xmlp import augment


def _reference(img: np.ndarray, dy: int, dx: int, mirrored: bool) -> np.ndarray:
    """``img`` mirrored left-right (if asked), then moved dy down and dx right, zero-filled."""
    if mirrored:
        img = img[:, ::-1]
    h, w = img.shape
    out = np.zeros_like(img)
    src = img[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


@pytest.mark.parametrize("shift, flip, shape", [(1, False, (28, 28)), (2, True, (6, 5)),
                                                (0, True, (11, 11))])
def test_every_code_moves_the_image_as_a_direct_translation(bk, shift, flip, shape):
    aug = augment.make(shift, flip, shape, shape[0] * shape[1])
    assert aug.n_codes == (2 * shift + 1) ** 2 * (2 if flip else 1)
    decoded = {aug.decode(c) for c in range(aug.n_codes)}
    assert len(decoded) == aug.n_codes  # each code a different transform
    rng = np.random.default_rng(0)
    X = rng.random((aug.n_codes, shape[0] * shape[1])) + 0.5  # no pixel is 0 before moving
    codes = np.arange(aug.n_codes)
    xp = bk.xp
    got = bk.to_numpy(aug.apply(bk.asarray(X), xp.asarray(codes, device=bk.device),
                                xp.asarray(aug.table(), device=bk.device), xp))
    for code in codes:
        want = _reference(X[code].reshape(shape), *aug.decode(int(code)))
        np.testing.assert_array_equal(got[code].reshape(shape), want)


def test_draws_are_uniform_over_the_codes_and_seeded():
    aug = augment.make(1, True, None, 784)
    a = aug.draw(np.random.default_rng(5), 36_000)
    assert a.dtype == np.int64 and a.min() == 0 and a.max() == aug.n_codes - 1
    counts = np.bincount(a, minlength=aug.n_codes)
    assert counts.min() > 1800 and counts.max() < 2200  # 2000 each expected
    np.testing.assert_array_equal(a, aug.draw(np.random.default_rng(5), 36_000))


def test_nothing_asked_means_no_augmentation_and_bad_settings_are_refused():
    assert augment.make(0, False, None, 784) is None
    assert augment.make(1, False, None, 121).image_shape == (11, 11)
    with pytest.raises(ValueError, match="not a square image; pass image_shape"):
        augment.make(1, False, None, 100 * 3)
    with pytest.raises(ValueError, match=r"image_shape \(20, 20\) has 400 pixels, but the "
                                         "network takes 784"):
        augment.make(1, False, (20, 20), 784)
    with pytest.raises(ValueError, match="shift must be a non-negative"):
        augment.make(-1, False, None, 784)
    with pytest.raises(ValueError, match="out of its frame"):
        augment.make(11, False, None, 121)
    with pytest.raises(TypeError, match="flip must be True or False"):
        augment.make(1, "yes", None, 784)


def test_fit_with_shifts_and_flips_is_seeded_leaves_the_data_and_changes_the_run():
    sample = xmlp.datasets.load("mnist-sample", dtype="float64")
    X, y = sample.train.X[:1000], sample.train.y[:1000]
    before = X.copy()

    def trained(**kw):
        net = xmlp.Network([784, 20, 10], cost="cross-entropy", seed=4, dtype="float64")
        h = net.fit(X, y, epochs=2, batch_size=10, eta=0.5, **kw)
        return net, h

    a, ha = trained(shift=2, flip=True)
    b, _ = trained(shift=2, flip=True)
    plain, hp = trained()
    np.testing.assert_array_equal(X, before)
    for u, v in zip(sum(a.parameters_numpy(), []), sum(b.parameters_numpy(), [])):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.parameters_numpy()[0][0], plain.parameters_numpy()[0][0])
    # The monitors measure the images as they are: harder training data during the epoch
    # does not change what "training accuracy" means.
    assert ha.training_accuracy[-1] == a.accuracy(X, y)
    with pytest.raises(ValueError, match="image_shape"):
        xmlp.Network([784, 8, 10], seed=0).fit(X, y, epochs=1, shift=1, image_shape=(7, 7))
