"""Bad input raises ValueError / TypeError with a message that names the problem."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xmlp

RNG = np.random.default_rng(0)
X = RNG.random((8, 4))
Y = np.arange(8) % 3


def _net(**kw):
    return xmlp.Network([4, 5, 3], **kw)


CASES = [
    ("wrong number of features", lambda: _net().fit(RNG.random((8, 5)), Y),
     ValueError, "5 features per sample but the network's input layer has 4"),
    ("labels out of range", lambda: _net().fit(X, np.full(8, 3)), ValueError,
     r"labels must be in 0\.\.2"),
    ("negative label", lambda: _net().accuracy(X, -Y), ValueError, r"labels must be in 0\.\.2"),
    ("NaN in X", lambda: _net().fit(np.where(X > 0.5, np.nan, X), Y), ValueError,
     "X contains NaN"),
    ("inf in evaluation X", lambda: _net().fit(X, Y, evaluation_data=(X * np.inf, Y)),
     ValueError, "evaluation_data X contains NaN or infinite"),
    ("batch_size 0", lambda: _net().fit(X, Y, batch_size=0), ValueError,
     "batch_size must be a positive integer"),
    ("epochs float", lambda: _net().fit(X, Y, epochs=1.5), TypeError,
     "epochs must be a positive integer"),
    ("eta negative", lambda: _net().fit(X, Y, eta=-1), ValueError, "eta must be > 0"),
    ("dropout 1", lambda: _net().fit(X, Y, dropout=1.0), ValueError,
     r"dropout must be in \[0, 1\)"),
    ("one layer", lambda: xmlp.Network([784]), ValueError, "at least two layers"),
    ("zero width", lambda: xmlp.Network([784, 0, 10]), ValueError,
     r"sizes\[1\] must be a positive"),
    ("unknown backend", lambda: _net(backend="jax2"), ValueError, "unknown backend 'jax2'"),
    ("unknown cost", lambda: _net(cost="hinge"), ValueError, "unknown cost 'hinge'"),
    ("unknown hidden", lambda: _net(hidden="swish"), ValueError, "unknown activation 'swish'"),
    ("unknown output", lambda: _net(output="relu"), ValueError, "unknown activation 'relu'"),
    ("cost/output mismatch", lambda: _net(cost="log-likelihood", output="sigmoid"),
     ValueError, "goes with output"),
    ("unknown init", lambda: _net(init="zeros"), ValueError, "unknown init 'zeros'"),
    ("unknown dtype", lambda: _net(dtype="float16"), ValueError, "dtype must be 'float32'"),
    ("string X", lambda: _net().predict(np.array([["a"] * 4])), TypeError, "must hold numbers"),
    ("1-D X", lambda: _net().predict(X[0]), ValueError, r"reshape\(1, -1\)"),
    ("empty X", lambda: _net().predict(X[:0]), ValueError, "X is empty"),
    ("X/y length mismatch", lambda: _net().fit(X, Y[:5]), ValueError, "5 labels but X has 8"),
    ("non-integral labels", lambda: _net().fit(X, Y + 0.5), ValueError, "must be integers"),
    ("one-hot rows not summing to 1", lambda: _net().fit(X, np.ones((8, 3))), ValueError,
     "one-hot"),
    ("early stopping without evaluation data", lambda: _net().fit(X, Y, early_stopping=2),
     ValueError, "pass evaluation_data"),
    ("schedule with the evaluation accuracy unmonitored",
     lambda: _net().fit(X, Y, validation=2, schedule=1, monitor=["training_cost"]),
     ValueError, "add 'evaluation_accuracy' to monitor"),
    ("both evaluation_data and validation",
     lambda: _net().fit(X, Y, evaluation_data=(X, Y), validation=0.2), ValueError, "not both"),
    ("unknown monitor", lambda: _net().fit(X, Y, monitor=["loss"]), ValueError,
     "unknown monitor 'loss'"),
    ("validation too large", lambda: _net().fit(X, Y, validation=8), ValueError,
     "validation=8 leaves 0 training"),
    ("validation as bool", lambda: _net().fit(X, Y, validation=True), TypeError,
     "validation must be a fraction or a count"),
    ("negative lmbda", lambda: _net().fit(X, Y, lmbda=-1.0), ValueError, "lmbda must be >= 0"),
    ("momentum 1", lambda: _net().fit(X, Y, momentum=1.0), ValueError,
     r"momentum must be in \[0, 1\)"),
    ("eta NaN", lambda: _net().fit(X, Y, eta=float("nan")), ValueError, "eta must be finite"),
    ("evaluation_data not a pair", lambda: _net().fit(X, Y, evaluation_data=X), TypeError,
     r"evaluation_data must be a pair"),
    ("bad on_divergence", lambda: _net().fit(X, Y, on_divergence="ignore"), ValueError,
     "on_divergence must be 'raise' or 'stop'"),
    ("checkpoint_every 0", lambda: _net().fit(X, Y, checkpoint_every=0), ValueError,
     "checkpoint_every must be a positive integer"),
    ("predict batch_size 0", lambda: _net().predict(X, batch_size=0), ValueError,
     "batch_size must be a positive integer"),
    ("y of wrong ndim", lambda: _net().fit(X, Y[:, None, None]), ValueError,
     r"class indices of shape \(8,\)"),
    ("bool labels", lambda: _net().fit(X, Y > 0), TypeError, "labels must be integers"),
    ("weights of wrong shape", lambda: _net().set_parameters([np.zeros((4, 5)),
                                                              np.zeros((3, 5))],
                                                             [np.zeros(5), np.zeros(3)]),
     ValueError, r"weights\[0\] has shape \(4, 5\), expected \(5, 4\)"),
    ("sizes not a list", lambda: xmlp.Network("784,30,10"), TypeError,
     "sizes must be a list"),
    ("backend of wrong type", lambda: _net(backend=3), TypeError,
     "backend must be a name or a module"),
    ("load a missing file", lambda: xmlp.load("/nonexistent/net.json"), FileNotFoundError,
     "net.json"),
    ("unknown dataset", lambda: xmlp.datasets.load("cifar-10"), ValueError, "cifar-10"),
    ("resume from a file that is not a checkpoint",
     lambda: _net().fit(X, Y, resume=__file__), ValueError, "not a readable checkpoint"),
]


@pytest.mark.parametrize("what,call,exc,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(what, call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_foreign_namespace_is_refused_not_mixed(bk):
    if bk.name == "numpy":
        pytest.skip("NumPy inputs are the documented interchange format")
    net = xmlp.Network([4, 3])  # numpy network, array from another library
    with pytest.raises(TypeError, match="convert it explicitly with xmlp.to_numpy"):
        net.predict(bk.asarray(X))


def test_missing_backend_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name.startswith("torch") or name == "array_api_compat.torch":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    monkeypatch.delitem(sys.modules, "array_api_compat.torch", raising=False)
    with pytest.raises(xmlp.BackendUnavailable, match=r"pip install 'xmlp\[torch\]'"):
        xmlp.Network([2, 2], backend="torch")


def test_cupy_without_gpu_is_a_clear_error():
    import backends.cupy

    if backends.cupy.gpu_present()[0]:
        pytest.skip("a GPU is present")
    with pytest.raises(xmlp.BackendUnavailable, match="cupy"):
        xmlp.Network([2, 2], backend="cupy")


def test_import_xmlp_imports_no_optional_backend():
    code = ("import sys, xmlp; bad = [m for m in ('cupy', 'torch', 'array_api_strict') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_at_least_thirty_distinct_bad_inputs():
    assert len({c[0] for c in CASES}) >= 30


def test_out_of_memory_in_predict_names_the_fix(monkeypatch):
    net = _net()

    def explode(*args):
        raise MemoryError("Unable to allocate 80.0 TiB for an array")

    monkeypatch.setattr(net, "outputs", explode)
    with pytest.raises(xmlp.DeviceOutOfMemory, match=r"80\.0 TiB.*smaller batch_size"):
        net.predict(X)


def test_out_of_memory_in_fit_names_the_fix(monkeypatch):
    import xmlp.step

    def explode(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore text")

    monkeypatch.setattr(xmlp.step, "backprop", explode)
    with pytest.raises(xmlp.DeviceOutOfMemory,
                       match=r"training epoch 1 .*Tried to allocate 2\.00 GiB; try a smaller"):
        _net().fit(X, Y, epochs=1)


def test_other_runtime_errors_are_not_disguised(monkeypatch):
    import xmlp.step

    def explode(*args, **kwargs):
        raise RuntimeError("shape mismatch somewhere")

    monkeypatch.setattr(xmlp.step, "backprop", explode)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        _net().fit(X, Y, epochs=1)


def test_predict_in_chunks_equals_whole(bk):
    net = bk.network([4, 5, 3], seed=0)
    whole = bk.to_numpy(net.feedforward(X))
    np.testing.assert_allclose(bk.to_numpy(net.feedforward(X, batch_size=3)), whole,
                               rtol=1e-14)
