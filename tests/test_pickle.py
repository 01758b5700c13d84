"""Networks pickle, unpickle and deep-copy on every backend: the backend travels by name."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import xmlp
from xmlp import backend, checkpoint


def _trained(bk):
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    net = bk.network([6, 5, 3], cost="cross-entropy", seed=1)
    net.fit(bk.asarray(X), y, epochs=2, batch_size=8, eta=0.5, optimizer="adam", monitor=())
    return net, bk.asarray(X)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_round_trip_keeps_backend_device_and_predictions(bk, how):
    net, X = _trained(bk)
    other = pickle.loads(pickle.dumps(net)) if how == "pickle" else copy.deepcopy(net)
    assert type(other) is type(net)
    assert other.backend.name == net.backend.name and other.device == net.device
    assert other.dtype == net.dtype and other.sizes == net.sizes
    np.testing.assert_array_equal(bk.to_numpy(other.feedforward(X)),
                                  bk.to_numpy(net.feedforward(X)))
    assert other.rng.bit_generator.state == net.rng.bit_generator.state
    # the copy trains on by itself, exactly as the original does
    y = np.zeros(X.shape[0], dtype=np.int64)
    net.fit(X, y, epochs=1, monitor=())
    other.fit(X, y, epochs=1, monitor=())
    for a, b in zip(sum(other.parameters_numpy(), []), sum(net.parameters_numpy(), [])):
        np.testing.assert_array_equal(a, b)


def test_the_pickle_holds_no_module():
    net = xmlp.Network([3, 2], seed=0)
    state = net.__getstate__()
    assert "backend" not in state and state["backend_name"] == "numpy"
    assert all(isinstance(w, np.ndarray) for w in state["parameters"][0])


def test_unpickling_without_the_backend_names_the_fix(monkeypatch):
    net = xmlp.Network([3, 2], seed=0)
    data = pickle.dumps(net)

    def missing(name, device=None):
        raise backend.BackendUnavailable(
            f"backend {name!r} is not installed; install it with: pip install 'xmlp[torch]'")

    monkeypatch.setattr("xmlp.network.resolve", missing)
    with pytest.raises(xmlp.BackendUnavailable, match=r"pip install 'xmlp\[torch\]'"):
        pickle.loads(data)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_checkpointed_fit_round_trip(bk, tmp_path, how):
    """A checkpoint's state and the network it belongs to survive pickle / deepcopy, and
    resuming from the copies ends exactly where resuming from the originals does."""
    rng = np.random.default_rng(2)
    X, y = rng.random((30, 6)), rng.integers(0, 3, 30)
    path = tmp_path / "run.ckpt"
    kw = dict(batch_size=7, eta=0.05, optimizer="adam", monitor=(), checkpoint=path)
    net = bk.network([6, 5, 3], cost="cross-entropy", seed=4)
    net.fit(bk.asarray(X), y, epochs=2, **kw)
    ckpt = checkpoint.load(path, net)
    copy_of = (lambda o: pickle.loads(pickle.dumps(o))) if how == "pickle" else copy.deepcopy
    ckpt2, net2 = copy_of(ckpt), copy_of(net)
    assert ckpt2.optimizer == ckpt.optimizer and ckpt2.rng == ckpt.rng
    for group, arrays in ckpt.arrays.items():
        for a, b in zip(ckpt2.arrays[group], arrays):
            np.testing.assert_array_equal(a, b)
    net.fit(bk.asarray(X), y, epochs=4, resume=path, **kw)
    net2.fit(bk.asarray(X), y, epochs=4, resume=path, **dict(kw, checkpoint=None))
    for a, b in zip(sum(net2.parameters_numpy(), []), sum(net.parameters_numpy(), [])):
        np.testing.assert_array_equal(a, b)
