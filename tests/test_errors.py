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
    ("both evaluation_data and validation",
     lambda: _net().fit(X, Y, evaluation_data=(X, Y), validation=0.2), ValueError, "not both"),
    ("unknown monitor", lambda: _net().fit(X, Y, monitor=["loss"]), ValueError,
     "unknown monitor 'loss'"),
    ("validation too large", lambda: _net().fit(X, Y, validation=8), ValueError,
     "validation=8 leaves 0 training"),
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
