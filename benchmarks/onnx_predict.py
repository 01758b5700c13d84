"""ONNX Runtime against xmlp on the same trained models: the largest difference of the
outputs, whether the predicted classes agree, and the median prediction time of each.

    python benchmarks/onnx_predict.py [--out benchmarks/results/onnx-MACHINE-DATE.md]

Models: a [784, 100, 10] cross-entropy network trained 1 epoch on Fashion-MNIST (the
embedded MNIST sample when Fashion-MNIST is not installed), exported in float32 and
float64 and run on the 10 000 test images and on one image; a
``Pipeline(StandardScaler(), xmlp.sklearn.MLPClassifier())`` on scikit-learn's digits
and one with ``MLPRegressor`` on diabetes, converted with skl2onnx.  Needs the ``onnx``
and ``sklearn`` extras.  Warm-up first, then the median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sysinfo  # noqa: E402

import xmlp  # noqa: E402


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def session(model):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def network_rows(repeats: int) -> tuple[str, list[str]]:
    try:
        data = xmlp.datasets.load("fashion-mnist", download=False)
        name = "Fashion-MNIST"
    except Exception:  # not installed here: the embedded sample
        data = xmlp.datasets.load("mnist-sample")
        name = "the MNIST sample"
    net = xmlp.Network([784, 100, 10], cost="cross-entropy", seed=0)
    net.fit(*data.train, epochs=1, batch_size=10, eta=0.5)
    X = data.test[0]
    rows = []
    for dtype in ("float32", "float64"):
        model_net = net.to(dtype=dtype)
        sess = session(model_net.to_onnx())
        Xd = X.astype(dtype)
        got, cls = sess.run(None, {"X": Xd})
        want = xmlp.to_numpy(model_net.feedforward(Xd))
        same = int(np.sum(cls == xmlp.to_numpy(model_net.predict(Xd))))
        for n in (len(X), 1):
            t_xmlp = median_seconds(lambda f=model_net.predict, x=Xd[:n]: f(x), repeats)
            t_ort = median_seconds(lambda run=sess.run, x=Xd[:n]: run(["class"], {"X": x}),
                                   repeats)
            rows.append(f"| network 784-100-10, {dtype} | {n} | "
                        f"{np.max(np.abs(got - want)):.2e} | {same} / {len(X)} | "
                        f"{ms(t_xmlp)} | {ms(t_ort)} | {t_xmlp / t_ort:.1f}x |")
    return name, rows


def pipeline_rows(repeats: int) -> list[str]:
    import skl2onnx
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import xmlp.onnx  # noqa: F401  (registers the converters)
    from xmlp.sklearn import MLPClassifier, MLPRegressor

    rows = []
    X, y = load_digits(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = make_pipeline(StandardScaler(), MLPClassifier(random_state=0)).fit(X, y)
        reg = make_pipeline(StandardScaler(), MLPRegressor(learning_rate_init=0.01,
                                                           max_iter=500, random_state=0))
        reg.fit(Xr, yr)
    sess = session(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False}))
    label, proba = sess.run(None, {"X": X})
    same = int(np.sum(label == clf.predict(X)))
    diff = np.max(np.abs(proba - clf.predict_proba(X)))
    for n in (len(X), 1):
        t_sk = median_seconds(lambda x=X[:n]: clf.predict_proba(x), repeats)
        t_ort = median_seconds(lambda run=sess.run, x=X[:n]: run(None, {"X": x}), repeats)
        rows.append(f"| digits pipeline (MLPClassifier), float64 | {n} | {diff:.2e} | "
                    f"{same} / {len(X)} | {ms(t_sk)} | {ms(t_ort)} | {t_sk / t_ort:.1f}x |")
    sess = session(skl2onnx.to_onnx(reg, Xr[:1]))
    (pred,) = sess.run(None, {"X": Xr})
    diff = np.max(np.abs(pred[:, 0] - reg.predict(Xr)))
    for n in (len(Xr), 1):
        t_sk = median_seconds(lambda x=Xr[:n]: reg.predict(x), repeats)
        t_ort = median_seconds(lambda run=sess.run, x=Xr[:n]: run(None, {"X": x}), repeats)
        rows.append(f"| diabetes pipeline (MLPRegressor), float64 | {n} | {diff:.2e} | - | "
                    f"{ms(t_sk)} | {ms(t_ort)} | {t_sk / t_ort:.1f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    import onnx
    import onnxruntime

    data_name, rows = network_rows(args.repeats)
    rows += pipeline_rows(args.repeats)
    v = sysinfo.versions()
    lines = [
        f"# ONNX Runtime vs xmlp: {sysinfo.cpu_name()}, {datetime.date.today()}",
        "",
        f"`python benchmarks/onnx_predict.py`: xmlp {v['xmlp']}, NumPy {v['numpy']}, "
        f"scikit-learn {v['sklearn']}, onnx {onnx.__version__}, onnxruntime "
        f"{onnxruntime.__version__} (CPUExecutionProvider), Python {v['python']}. Network "
        f"trained 1 epoch on {data_name}; median of {args.repeats} runs after a warm-up. "
        "\"xmlp\" is `Network.predict` (NumPy) or the pipeline's `predict_proba` / "
        "`predict`; \"ORT\" is `InferenceSession.run` on the exported model.",
        "",
        "| model | rows | max abs difference | same class | xmlp | ORT | xmlp / ORT |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
