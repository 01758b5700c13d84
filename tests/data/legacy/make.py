"""Writes the files of ``tests/data/legacy/`` with the xmlp version that is installed.

They were written at commit e1a4f54, the last one before the module split (``xmlp/sklearn.py``,
``xmlp/sweep.py`` as single modules) and are committed so that ``tests/test_legacy.py`` proves
that a later version still loads them and reaches the same numbers:

* ``run.ckpt``: a checkpoint after 2 of 4 epochs (momentum with Nesterov, L2, dropout,
  validation split, schedule), with ``run-final.npz`` the weights the uninterrupted 4-epoch run
  reached;
* ``classifier.pkl`` / ``regressor.pkl``: fitted ``xmlp.sklearn`` estimators (NumPy backend),
  with their predictions on ``estimators-X.npy`` in ``estimators-expected.npz``;
* ``model.npz``: a network saved with ``Network.save``.

Run it again only to renew the files on purpose: ``python tests/data/legacy/make.py``.
"""

from __future__ import annotations

import pathlib
import pickle

import numpy as np

import xmlp

HERE = pathlib.Path(__file__).resolve().parent


def data():
    rng = np.random.default_rng(7)
    X = rng.random((120, 8))
    y = (X[:, :3].sum(1) > 1.5).astype(int) + (X[:, 3] > 0.5)
    target = X @ rng.standard_normal(8) + 0.1 * rng.standard_normal(120)
    return X, y, target


def fit_kwargs():
    return dict(batch_size=10, eta=0.3, lmbda=1.0, momentum=0.5, nesterov=True, dropout=0.2,
                validation=0.25, schedule=1)


def network():
    return xmlp.Network([8, 6, 3], cost="cross-entropy", dtype="float64", seed=3)


def main():
    from xmlp.sklearn import MLPClassifier, MLPRegressor

    X, y, target = data()
    ckpt = HERE / "run.ckpt"
    ckpt.unlink(missing_ok=True)
    network().fit(X, y, epochs=2, checkpoint=ckpt, **fit_kwargs())
    full = network()
    full.fit(X, y, epochs=4, **fit_kwargs())
    ws, bs = full.parameters_numpy()
    np.savez(HERE / "run-final.npz", *ws, *bs)
    full.save(HERE / "model.npz")

    clf = MLPClassifier(hidden_layer_sizes=(7,), max_iter=30, random_state=0).fit(X, y)
    reg = MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50,
                       random_state=0).fit(X, target)
    np.save(HERE / "estimators-X.npy", X[:20])
    np.savez(HERE / "estimators-expected.npz", proba=clf.predict_proba(X[:20]),
             label=clf.predict(X[:20]), value=reg.predict(X[:20]),
             feedforward=full.feedforward(X[:20]))
    for name, est in [("classifier", clf), ("regressor", reg)]:
        (HERE / f"{name}.pkl").write_bytes(pickle.dumps(est, protocol=4))


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # 30 iterations do not converge: that is not the point
    main()
