"""Save / load: network2.py's JSON format, .npz, exact round trips on every backend."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xmlp


def _network2_file(path, sizes=(4, 5, 3), cost="CrossEntropyCost", seed=0):
    """A file exactly as network2.py's ``Network.save`` writes it."""
    rng = np.random.default_rng(seed)
    biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
    weights = [rng.standard_normal((y, x)) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]
    data = {"sizes": list(sizes), "weights": [w.tolist() for w in weights],
            "biases": [b.tolist() for b in biases], "cost": cost}
    path.write_text(json.dumps(data))
    return weights, biases


def _book_feedforward(weights, biases, x):
    a = x
    for w, b in zip(weights, biases):
        a = 1 / (1 + np.exp(-(w @ a + b)))
    return a


def test_network2_json_loads_and_predicts(bk, tmp_path):
    path = tmp_path / "net2.json"
    weights, biases = _network2_file(path)
    net = xmlp.load(path, backend=bk.name, device=bk.device)
    assert net.cost.name == "cross-entropy" and net.sizes == [4, 5, 3]
    X = np.random.default_rng(1).random((6, 4))
    want = np.hstack([_book_feedforward(weights, biases, x[:, None]) for x in X]).T
    np.testing.assert_allclose(bk.to_numpy(net.feedforward(X)), want, rtol=1e-13)
    np.testing.assert_array_equal(bk.to_numpy(net.predict(X)), want.argmax(axis=1))


@pytest.mark.parametrize("suffix", [".json", ".npz"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip_is_exact(bk, tmp_path, suffix, dtype):
    net = bk.network([6, 4, 3], cost="log-likelihood", hidden="tanh", dtype=dtype, seed=9)
    net.fit(np.random.default_rng(0).random((20, 6)), np.arange(20) % 3, epochs=1, eta=0.1,
            monitor=())
    path = tmp_path / f"model{suffix}"
    net.save(path)
    back = xmlp.load(path, backend=bk.name, device=bk.device)
    assert (back.sizes, back.cost, back.hidden, back.output) == \
        (net.sizes, net.cost, net.hidden, net.output)
    assert back.dtype == net.dtype
    for a, b in zip(sum(back.parameters_numpy(), []), sum(net.parameters_numpy(), [])):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_saved_on_one_backend_loads_on_numpy(bk, tmp_path):
    net = bk.network([3, 2], seed=1)
    net.save(tmp_path / "m.json")
    back = xmlp.load(tmp_path / "m.json")
    for a, b in zip(sum(back.parameters_numpy(), []), sum(net.parameters_numpy(), [])):
        np.testing.assert_array_equal(a, b)


def test_xmlp_json_keeps_network2_keys(tmp_path):
    xmlp.Network([3, 4, 2], cost="cross-entropy", seed=0).save(tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["cost"] == "CrossEntropyCost" and data["sizes"] == [3, 4, 2]
    assert np.asarray(data["weights"][0]).shape == (4, 3)
    assert np.asarray(data["biases"][1]).shape == (2, 1)
    assert data["format"] == "xmlp-network" and data["version"] == xmlp.__version__


def test_npz_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    meta = json.dumps({"sizes": [2, 2], "cost": "QuadraticCost"})
    np.savez(path, meta=np.asarray(meta), w0=np.array([object()], dtype=object),
             b0=np.zeros((2, 1)))
    with pytest.raises(ValueError, match="(?i)pickle"):
        xmlp.load(path)


def test_json_with_shapes_not_matching_sizes_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    _network2_file(path, sizes=(4, 5, 3))
    data = json.loads(path.read_text())
    data["sizes"] = [4, 6, 3]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"weights\[0\] must be a 6 x 4"):
        xmlp.load(path)


def test_not_a_network_file(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable network file"):
        xmlp.load(tmp_path / "x.json")
    with pytest.raises(FileNotFoundError):
        xmlp.load(tmp_path / "missing.json")
