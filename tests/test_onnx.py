"""ONNX export: Network.to_onnx against ONNX Runtime for every hidden x output activation
and both dtypes, skl2onnx pipelines with xmlp's estimators (xmlp.onnx), ``xmlp export`` and
``xmlp predict MODEL.onnx``, and the errors.  Everything runs on NumPy and the CPU."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import xmlp
from xmlp import activations, datasets
from xmlp.cli import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = {"float32": 1e-5, "float64": 1e-12}
#: A cost for each output activation.
COST = {"sigmoid": "cross-entropy", "softmax": "log-likelihood", "identity": "quadratic",
        "exp": "poisson"}


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def ops(model) -> set[str]:
    return {node.op_type for node in model.graph.node}


# ----------------------------------------------------------------- Network.to_onnx
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_activation_pair_equals_feedforward(dtype):
    X = np.random.default_rng(0).uniform(-2, 2, (1000, 12)).astype(dtype)
    for hidden in activations.HIDDEN:
        for output in activations.OUTPUT:
            net = xmlp.Network([12, 9, 7, 5], hidden=hidden, output=output, cost=COST[output],
                               dtype=dtype, seed=3)
            model = net.to_onnx()
            onnx.checker.check_model(model, full_check=True)
            outputs = session(model).run(None, {"X": X})
            want = xmlp.to_numpy(net.feedforward(X))
            assert outputs[0].dtype == np.dtype(dtype) and outputs[0].shape == (1000, 5)
            np.testing.assert_allclose(outputs[0], want, rtol=TOL[dtype], atol=TOL[dtype],
                                       err_msg=f"{hidden} x {output}")
            if output in ("sigmoid", "softmax"):  # classification: the predicted class
                assert [o.name for o in model.graph.output] == ["activations", "class"]
                np.testing.assert_array_equal(outputs[1], xmlp.to_numpy(net.predict(X)))
            else:
                assert [o.name for o in model.graph.output] == ["activations"]


def test_dtype_argument_casts_weights_and_input():
    net = xmlp.Network([6, 4, 3], hidden="tanh", cost="log-likelihood", seed=1)  # float32
    X = np.random.default_rng(1).random((50, 6))
    model = net.to_onnx(dtype="float64")
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert {t.data_type for t in model.graph.initializer} == {onnx.TensorProto.DOUBLE}
    got = session(model).run(None, {"X": X})[0]
    want = xmlp.to_numpy(net.to(dtype="float64").feedforward(X))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert net.to(dtype="float64").to_onnx().SerializeToString() == model.SerializeToString()
    with pytest.raises(ValueError, match="float32' or 'float64"):
        net.to_onnx(dtype="int8")


def test_a_network_on_any_backend_exports_the_same_model(bk):
    net = bk.network([6, 5, 3], hidden="relu", cost="log-likelihood", seed=4)
    model = net.to_onnx()
    reference = xmlp.Network([6, 5, 3], hidden="relu", cost="log-likelihood",
                             dtype="float64", seed=4).to_onnx()
    assert model.SerializeToString() == reference.SerializeToString()
    X = np.random.default_rng(2).random((30, 6))
    got = session(model).run(["activations"], {"X": X})[0]
    want = bk.to_numpy(net.feedforward(bk.asarray(X)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_metadata_file_and_opset(tmp_path):
    net = xmlp.Network([5, 3, 2], hidden="relu", cost="quadratic", output="identity",
                       dtype="float64", seed=0)
    model = net.to_onnx(tmp_path / "net.onnx", opset=13)
    loaded = onnx.load(tmp_path / "net.onnx")
    onnx.checker.check_model(loaded)
    assert loaded.SerializeToString() == model.SerializeToString()
    meta = {p.key: p.value for p in loaded.metadata_props}
    assert meta == {"xmlp_version": xmlp.__version__, "sizes": "[5, 3, 2]", "hidden": "relu",
                    "output": "identity", "cost": "quadratic", "dtype": "float64"}
    assert loaded.producer_name == "xmlp" and loaded.producer_version == xmlp.__version__
    assert [o.version for o in loaded.opset_import] == [13]
    assert ops(loaded) == {"MatMul", "Add", "Relu", "Identity"}
    assert len(loaded.graph.initializer) == 4  # W and b per layer
    for bad in (5, 10_000, 13.5, True):
        with pytest.raises(ValueError, match="opset must be an integer"):
            net.to_onnx(opset=bad)


def test_dropout_is_training_only(tmp_path):
    X, y = datasets.load("mnist-sample").train
    net = xmlp.Network([784, 12, 10], seed=0)
    net.fit(X[:200], y[:200], epochs=1, batch_size=20, eta=1.0, dropout=0.5)
    model = net.to_onnx()
    assert "Dropout" not in ops(model)
    assert ops(model) == {"MatMul", "Add", "Sigmoid", "ArgMax"}
    got, cls = session(model).run(None, {"X": X[:300].astype(np.float32)})
    np.testing.assert_allclose(got, xmlp.to_numpy(net.feedforward(X[:300])), atol=1e-5)
    np.testing.assert_array_equal(cls, xmlp.to_numpy(net.predict(X[:300])))


def test_an_activation_without_mapping_is_a_value_error():
    from xmlp.export import GraphBuilder

    with pytest.raises(ValueError, match="'swish' has no ONNX mapping"):
        GraphBuilder().activation("swish", "z")


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'xmlp\[onnx\]'"):
        xmlp.Network([3, 2]).to_onnx()


def test_import_xmlp_imports_no_onnx_library():
    code = ("import sys, xmlp, xmlp.export, xmlp.cli; print(sorted({'onnx', 'onnxruntime', "
            "'skl2onnx'} & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------- the command line
def test_cli_export_and_predict_onnx(tmp_path, capsys):
    X, _ = datasets.load("mnist-sample").test
    images = np.round(X[:20] * 255).astype(np.uint8).reshape(20, 28, 28)
    datasets.write_idx(tmp_path / "digits.idx", images)
    net = xmlp.Network([784, 10, 10], cost="log-likelihood", dtype="float64", seed=2)
    net.save(tmp_path / "net.npz")
    argv = ["export", str(tmp_path / "net.npz"), str(tmp_path / "net.onnx")]
    assert main([*argv, "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "network 784-10-10" in out and "float32" in out and "outputs activations, class" in out
    model = onnx.load(tmp_path / "net.onnx")
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert main(["predict", str(tmp_path / "net.onnx"), str(tmp_path / "digits.idx")]) == 0
    from_onnx = capsys.readouterr().out
    assert main(["predict", str(tmp_path / "net.npz"), str(tmp_path / "digits.idx")]) == 0
    assert from_onnx == capsys.readouterr().out
    labels = [int(line.split("\t")[1]) for line in from_onnx.splitlines()]
    assert labels == xmlp.to_numpy(net.predict(images.reshape(20, -1) / 255)).tolist()


def test_cli_errors_are_one_line_exit_1(tmp_path, capsys, monkeypatch):
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    (tmp_path / "garbage.onnx").write_bytes(b"\x00not a model")
    xmlp.Network([4, 2]).save(tmp_path / "net.json")
    cases = [
        (["export", str(tmp_path / "notes.json"), str(tmp_path / "o.onnx")], "not a network"),
        (["export", str(tmp_path / "missing.json"), str(tmp_path / "o.onnx")], "not found"),
        (["export", str(tmp_path / "net.json"), str(tmp_path / "o.txt")], "must end in .onnx"),
        (["export", str(tmp_path / "garbage.onnx"), str(tmp_path / "o.onnx")],
         "is an ONNX model already"),
        (["predict", str(tmp_path / "garbage.onnx"), "x.idx"], "not a model ONNX Runtime"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("xmlp: error: ") and message in err, (argv, err)
        assert err.count("\n") == 1
    assert not (tmp_path / "o.onnx").exists()
    xmlp.load(tmp_path / "net.json").to_onnx(tmp_path / "net.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # predict needs ONNX Runtime
    assert main(["predict", str(tmp_path / "net.onnx"), "x.idx"]) == 1
    err = capsys.readouterr().err
    assert "needs ONNX Runtime" in err and "pip install 'xmlp[onnx]'" in err
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(tmp_path / "net.json"), str(tmp_path / "o.onnx")]) == 1
    err = capsys.readouterr().err
    assert "pip install 'xmlp[onnx]'" in err and err.count("\n") == 1


# ----------------------------------------------------------------- estimators (skl2onnx)
@pytest.fixture(scope="module")
def sk():
    pytest.importorskip("sklearn")
    skl2onnx = pytest.importorskip("skl2onnx")
    import xmlp.onnx  # noqa: F401  (registers the converters)

    return skl2onnx


def _fit(est, X, y):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few epochs are enough here
        return make_pipeline(StandardScaler(), est).fit(X, y)


def test_xmlp_onnx_imports_the_real_onnx(sk):
    import xmlp.onnx as xo

    assert xo.TensorProto is onnx.TensorProto
    assert Path(sys.modules["onnx"].__file__).parent.name == "onnx"
    assert sys.modules["onnx"] is not xo


@pytest.mark.parametrize("labels", ["int", "str"])
def test_digits_classifier_pipeline(sk, labels):
    from sklearn.datasets import load_digits

    from xmlp.sklearn import MLPClassifier

    X, y = load_digits(return_X_y=True)
    if labels == "str":
        y = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])[y]
    pipe = _fit(MLPClassifier((16,), max_iter=8, random_state=0), X, y)
    for dtype in (np.float64, np.float32):
        model = sk.to_onnx(pipe, X[:1].astype(dtype), options={"zipmap": False})
        onnx.checker.check_model(model)
        label, proba = session(model).run(None, {"X": X.astype(dtype)})
        np.testing.assert_array_equal(label, pipe.predict(X))
        np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-5)
    # skl2onnx's default output: one {class: probability} map per row (float32 input)
    label, maps = session(sk.to_onnx(pipe, X[:1].astype(np.float32))).run(
        None, {"X": X[:3].astype(np.float32)})
    assert list(label) == list(pipe.predict(X[:3]))
    assert set(maps[0]) == set(pipe.classes_.tolist())
    assert maps[0][pipe.classes_[0]] == pytest.approx(pipe.predict_proba(X[:1])[0, 0], abs=1e-6)


def test_binary_and_one_sigmoid_per_class_classifiers(sk):
    from sklearn.datasets import load_digits

    from xmlp.sklearn import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    for est, target in [(MLPClassifier((8,), max_iter=5, random_state=0), y > 4),
                        (MLPClassifier((8,), max_iter=5, random_state=0,
                                       cost="cross-entropy"), y)]:
        pipe = _fit(est, X, target)
        model = sk.to_onnx(pipe, X[:1], options={"zipmap": False})
        label, proba = session(model).run(None, {"X": X})
        np.testing.assert_array_equal(label, pipe.predict(X))
        np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-12)


def test_diabetes_regressor_pipeline(sk):
    from sklearn.datasets import load_diabetes

    from xmlp.sklearn import MLPRegressor

    X, y = load_diabetes(return_X_y=True)
    pipe = _fit(MLPRegressor(hidden_layer_sizes=(16,), max_iter=20, learning_rate_init=0.05,
                             random_state=0), X, y)
    model = sk.to_onnx(pipe, X[:1])
    onnx.checker.check_model(model)
    (pred,) = session(model).run(None, {"X": X})
    assert pred.shape == (len(X), 1)
    np.testing.assert_allclose(pred[:, 0], pipe.predict(X), rtol=1e-12, atol=1e-5)
    # float32 input: float32 weights, the same predictions to float32's precision
    (pred32,) = session(sk.to_onnx(pipe, X[:1].astype(np.float32))).run(
        None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(pred32[:, 0], pipe.predict(X), rtol=1e-5)


def test_unfitted_estimators(sk):
    from sklearn.exceptions import NotFittedError

    from xmlp.sklearn import MLPClassifier, MLPRegressor

    X = np.random.default_rng(0).random((40, 4))
    for est in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError):
            sk.to_onnx(est, X[:1])


# ----------------------------------------------------------------- multilabel classifiers
N_LABELS = 3


def _multilabel_data(n_labels=N_LABELS):
    """300 rows of 6 features, and an indicator matrix: label j is on where a linear
    function of X passes its median (both values in every column)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 6))
    scores = X @ rng.normal(size=(6, n_labels))
    return X, (scores > np.median(scores, axis=0)).astype(np.int64)


def _fit_multilabel(data=None, **params):
    from xmlp.sklearn import MLPClassifier

    X, Y = data or _multilabel_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        return MLPClassifier((8,), max_iter=40, random_state=0, **params).fit(X, Y)


def quiet_session(model, capfd):
    """An ONNX Runtime session that must log nothing: a declared output shape that is not
    the computed one makes ORT warn ("Error merging shape info for output") on stderr,
    which capfd reads at the file descriptor."""
    options = ort.SessionOptions()
    options.log_severity_level = 2  # warnings and above, whatever the default logger says
    capfd.readouterr()
    sess = ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    err = capfd.readouterr().err
    assert "onnxruntime" not in err, err
    return sess


def _declared(output) -> tuple[int, list]:
    """An output's element type and declared dims (None where unnamed and unsized)."""
    t = output.type.tensor_type
    return t.elem_type, [d.dim_value or d.dim_param or None for d in t.shape.dim]


def _assert_multilabel_outputs(est, X, label, proba, dtype):
    """label == predict wherever predict_proba is more than 1e-6 from 0.5 (the rest may
    round either way in float32), probabilities == predict_proba to the dtype's TOL."""
    want_p, want_l = est.predict_proba(X), est.predict(X)
    assert label.dtype == np.int64 and label.shape == (len(X), N_LABELS)
    assert proba.dtype == np.dtype(dtype) and proba.shape == (len(X), N_LABELS)
    np.testing.assert_allclose(proba, want_p, rtol=0, atol=TOL[np.dtype(dtype).name])
    clear = np.abs(want_p - 0.5) > 1e-6
    assert clear.mean() > 0.9  # the comparison below covers nearly every entry
    np.testing.assert_array_equal(label[clear], want_l[clear])
    assert 0 < want_l.mean() < 1  # both values occur


def test_ort_shape_warning_is_seen(sk, capfd):
    """The control for quiet_session: a label declared (N,) while the graph computes
    (N, n_labels) -- what skl2onnx declares for scikit-learn's multilabel MLP -- fails it."""
    from skl2onnx.common.data_types import FloatTensorType

    est = _fit_multilabel()
    model = sk.convert_sklearn(est, "mlp", [("input", FloatTensorType([None, 6]))],
                               options={id(est): {"zipmap": False}})
    quiet_session(model, capfd)
    del model.graph.output[0].type.tensor_type.shape.dim[1]
    with pytest.raises(AssertionError, match="merging shape info"):
        quiet_session(model, capfd)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_multilabel_classifier_without_zipmap(sk, capfd, activation):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    X, _ = data = _multilabel_data()
    est = _fit_multilabel(data, activation=activation)
    for tensor, dtype in [(FloatTensorType, np.float32), (DoubleTensorType, np.float64)]:
        model = sk.convert_sklearn(est, "mlp", [("input", tensor([None, X.shape[1]]))],
                                   options={id(est): {"zipmap": False}})
        onnx.checker.check_model(model, full_check=True)
        # the declared shapes are the computed ones (strict inference fails otherwise)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        elem = onnx.TensorProto.FLOAT if dtype == np.float32 else onnx.TensorProto.DOUBLE
        assert [o.name for o in model.graph.output] == ["label", "probabilities"]
        assert _declared(model.graph.output[0]) == (onnx.TensorProto.INT64, [None, N_LABELS])
        assert _declared(model.graph.output[1]) == (elem, [None, N_LABELS])
        label, proba = quiet_session(model, capfd).run(None, {"input": X.astype(dtype)})
        _assert_multilabel_outputs(est, X, label, proba, dtype)


@pytest.mark.parametrize("zipmap", [True, "columns"])
def test_multilabel_zipmap_outputs_are_scikit_learns(sk, capfd, zipmap):
    """Output names and types as skl2onnx gives for scikit-learn's multilabel
    MLPClassifier on the same data, except the label's declared shape: (N, n_labels),
    which is what both compute, where skl2onnx declares (N,)."""
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    X, Y = data = _multilabel_data()
    ours = _fit_multilabel(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMLPClassifier((8,), max_iter=40, random_state=0).fit(X, Y)
    models = [sk.convert_sklearn(est, "mlp", [("input", FloatTensorType([None, 6]))],
                                 options={id(est): {"zipmap": zipmap}})
              for est in (ours, theirs)]
    names = [[o.name for o in m.graph.output] for m in models]
    want = ["output_label", "output_probability"] if zipmap is True else \
        ["output_label", *(f"i{j}" for j in range(N_LABELS))]
    assert names[0] == names[1] == want
    for mine, skl in zip(models[0].graph.output, models[1].graph.output):
        kind = mine.type.WhichOneof("value")
        assert kind == skl.type.WhichOneof("value")
        if kind == "tensor_type":
            assert mine.type.tensor_type.elem_type == skl.type.tensor_type.elem_type
        else:  # sequence of maps int64 -> float: no shape to differ
            assert mine.type == skl.type
    assert _declared(models[0].graph.output[0]) == (onnx.TensorProto.INT64, [None, N_LABELS])

    outputs = quiet_session(models[0], capfd).run(None, {"input": X.astype(np.float32)})
    label = outputs[0]
    if zipmap is True:
        maps = outputs[1]
        assert all(sorted(row) == list(range(N_LABELS)) for row in maps)
        proba = np.array([[row[j] for j in range(N_LABELS)] for row in maps], np.float32)
    else:
        proba = np.stack(outputs[1:], axis=1)
    _assert_multilabel_outputs(ours, X, label, proba, np.float32)


@pytest.mark.parametrize("params", [{"cost": "cross-entropy"}, {"cost": "quadratic"},
                                    {"cost": "quadratic", "output": "softmax"}])
def test_multilabel_with_xmlps_costs_and_outputs(sk, capfd, params):
    X, _ = data = _multilabel_data()
    est = _fit_multilabel(data, activation="tanh", **params)
    assert est.out_activation_ == ("softmax" if "output" in params else "logistic")
    model = sk.to_onnx(est, X[:1], options={"zipmap": False})  # float64
    label, proba = quiet_session(model, capfd).run(None, {"X": X})
    _assert_multilabel_outputs(est, X, label, proba, np.float64)


def test_multilabel_two_labels_are_not_a_binary_problem(sk, capfd):
    X, Y = _multilabel_data(n_labels=2)
    est = _fit_multilabel((X, Y))
    model = sk.to_onnx(est, X[:1], options={"zipmap": False})
    label, proba = quiet_session(model, capfd).run(None, {"X": X})
    assert label.shape == proba.shape == (len(X), 2)
    np.testing.assert_array_equal(label, est.predict(X))
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=0, atol=1e-12)


def test_multilabel_pipeline(sk, capfd):
    from xmlp.sklearn import MLPClassifier

    X, Y = _multilabel_data()
    X = X * 50 + 10  # the scaler has work to do
    pipe = _fit(MLPClassifier((8,), activation="relu", max_iter=40, random_state=0), X, Y)
    for dtype in (np.float32, np.float64):
        model = sk.to_onnx(pipe, X[:1].astype(dtype), options={"zipmap": False})
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        label, proba = quiet_session(model, capfd).run(None, {"X": X.astype(dtype)})
        _assert_multilabel_outputs(pipe, X, label, proba, dtype)
    # skl2onnx's default outputs: the indicator rows and one {label: probability} per row
    model = sk.to_onnx(pipe, X[:1].astype(np.float32))
    label, maps = quiet_session(model, capfd).run(None, {"X": X.astype(np.float32)})
    proba = np.array([[row[j] for j in range(N_LABELS)] for row in maps], np.float32)
    _assert_multilabel_outputs(pipe, X, label, proba, np.float32)
