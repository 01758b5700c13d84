"""Files written by an earlier xmlp (``tests/data/legacy/``, see its ``make.py``) still load and
give the same numbers: a checkpoint resumes to the weights the old uninterrupted run reached,
pickled estimators predict what they predicted, a saved network computes what it computed."""

from __future__ import annotations

import importlib.util
import pathlib
import pickle
import warnings

import numpy as np
import pytest

import xmlp

LEGACY = pathlib.Path(__file__).resolve().parent / "data" / "legacy"


def _make():
    spec = importlib.util.spec_from_file_location("legacy_make", LEGACY / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def expected():
    with np.load(LEGACY / "estimators-expected.npz") as f:
        return {k: f[k] for k in f.files}


def _arrays(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def test_an_old_checkpoint_resumes_to_the_old_runs_weights(tmp_path):
    make = _make()
    X, y, _ = make.data()
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes((LEGACY / "run.ckpt").read_bytes())
    net = make.network()
    history = net.fit(X, y, epochs=4, resume=ckpt, checkpoint=ckpt, **make.fit_kwargs())
    assert len(history.training_cost) == 4  # the old history goes on
    ws, bs = net.parameters_numpy()
    final = _arrays(LEGACY / "run-final.npz")
    assert len(final) == len(ws) + len(bs)
    for a, b in zip([*ws, *bs], final):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_an_old_saved_network_computes_what_it_computed(expected):
    X = np.load(LEGACY / "estimators-X.npy")
    net = xmlp.load(LEGACY / "model.npz")
    np.testing.assert_allclose(net.feedforward(X), expected["feedforward"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_an_old_pickled_estimator_predicts_and_trains_on(name, expected):
    pytest.importorskip("sklearn")
    X = np.load(LEGACY / "estimators-X.npy")
    est = pickle.loads((LEGACY / f"{name}.pkl").read_bytes())
    assert type(est).__module__.startswith("xmlp.sklearn")
    if name == "classifier":
        np.testing.assert_allclose(est.predict_proba(X), expected["proba"], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(est.predict(X), expected["label"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.partial_fit(X, expected["label"])  # the solver's state came back whole
        assert est.n_iter_ > 0 and np.isfinite(est.loss_)
    else:
        np.testing.assert_allclose(est.predict(X), expected["value"], rtol=0, atol=1e-12)
        # the unpickled estimator pickles again and its copy predicts the same
        again = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(again.predict(X), est.predict(X))
