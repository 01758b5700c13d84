"""skl2onnx converters for xmlp's scikit-learn estimators.

After ``import xmlp.onnx``, skl2onnx converts :class:`xmlp.sklearn.MLPClassifier` and
:class:`xmlp.sklearn.MLPRegressor`, alone or inside a ``Pipeline``::

    import skl2onnx
    import xmlp.onnx  # registers the converters

    model = skl2onnx.to_onnx(pipe, X[:1])   # Pipeline(StandardScaler(), MLPClassifier())

The outputs are skl2onnx's usual ones: for a classifier ``label`` (what ``predict``
returns: the ``classes_`` labels, int64 or strings, shape (N,)) and ``probabilities``
(what ``predict_proba`` returns, (N, n_classes); a list of {class: probability} maps
unless ``options={"zipmap": False}``); for a regressor ``variable`` (N, n_outputs).
Options: ``zipmap`` (True, False, "columns") and ``nocl`` (True: labels are the class
indices).

Multilabel classifiers (fitted on a 0/1 indicator matrix, whatever their ``cost`` and
``output``) convert as skl2onnx converts scikit-learn's: ``label`` is int64 of shape
(N, n_labels), 1 where a label's output is above 0.5, and ``probabilities`` the outputs
themselves, (N, n_labels); ``nocl`` changes nothing there.  Both are declared with the
shape they have (skl2onnx declares scikit-learn's multilabel label as (N,), which ONNX
Runtime warns about).

The converters are registered with skl2onnx's documented API
(``update_registered_converter``: a shape calculator and a converter); they read the
estimators' public fitted attributes only (``coefs_``, ``intercepts_``, ``activation``,
``out_activation_``, ``n_outputs_``, ``n_features_in_``, ``classes_``, and the shape of
one ``predict``) and build the forward pass with :class:`xmlp.export.GraphBuilder`, the
graph of :meth:`xmlp.Network.to_onnx`.  Weights are stored in the input's float type
(float32 unless the sample X is float64).

An unfitted estimator raises scikit-learn's ``NotFittedError``.  Needs the ``onnx``
extra: ``pip install 'xmlp[onnx]'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .export import INSTALL, GraphBuilder, require_onnx

try:
    require_onnx()
    from onnx import TensorProto, numpy_helper
    from skl2onnx import update_registered_converter
    from skl2onnx._parse import _parse_sklearn_classifier  # installed for zipmap options
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from skl2onnx.common.utils import check_input_and_output_numbers
except ImportError as exc:
    raise ImportError(f"xmlp.onnx needs onnx and skl2onnx ({exc}); install them with: "
                      f"{INSTALL}") from exc
from sklearn.utils.validation import check_is_fitted

from xmlp.sklearn import MLPClassifier, MLPRegressor

__all__ = ["register", "CLASSIFIER_ALIAS", "REGRESSOR_ALIAS"]

CLASSIFIER_ALIAS = "XmlpMLPClassifier"
REGRESSOR_ALIAS = "XmlpMLPRegressor"
#: scikit-learn's activation names -> xmlp's.
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "softmax": "softmax", "exp": "exp"}


def _host(a: Any) -> np.ndarray:
    """A fitted attribute (NumPy, or an array of another namespace) as a NumPy array."""
    from xmlp.backend import to_numpy

    return a if isinstance(a, np.ndarray) else np.asarray(to_numpy(a))


def _activation(name: str) -> str:
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation {name!r} has no ONNX mapping; exportable activations: "
                         f"{sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


def _float_type(operator) -> tuple[type, np.dtype]:
    """The graph's float type: the input's if it is float32 / float64, else float32."""
    if isinstance(operator.inputs[0].type, DoubleTensorType):
        return DoubleTensorType, np.dtype(np.float64)
    return FloatTensorType, np.dtype(np.float32)


def _multilabel(est) -> bool:
    """Was est fitted on multilabel targets?  One output column never is; with several,
    predict's shape tells, whatever the cost and output layer: (n, n_labels) for a 0/1
    indicator matrix, (n,) for class labels.  (The output layer alone does not: one
    sigmoid per class also serves multiclass problems, and cost="quadratic" allows
    output="softmax" on multilabel targets.)"""
    if est.n_outputs_ < 2:
        return False
    return np.ndim(est.predict(np.zeros((1, est.n_features_in_)))) == 2


def _classes(est) -> np.ndarray:
    """classes_ as the label tensor's values: int64 for numbers, str for the rest."""
    classes = _host(est.classes_)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.all(classes == np.round(classes)):
            raise ValueError(f"classes_ {classes.tolist()} are not integers: ONNX labels are "
                             "int64 or strings; fit on integer or string labels")
        return classes.astype(np.int64)
    return classes.astype(str)


def _classifier_shapes(operator) -> None:
    est = operator.raw_operator
    check_is_fitted(est)
    if len(_classes(est)) < 2:
        raise ValueError(f"{type(est).__name__} was fitted on a single class; nothing to "
                         "export")
    calculate_linear_classifier_output_shapes(operator)  # counts, input type, label (N,)
    tensor_type, _ = _float_type(operator)
    n = operator.inputs[0].get_first_dimension()
    width = len(est.classes_)  # classes, or labels of a multilabel problem
    if _multilabel(est):  # label: an indicator row per sample; ZipMap copies this type
        operator.outputs[0].set_type(Int64TensorType([n, width]))
    operator.outputs[1].set_type(tensor_type([n, width]))


def _regressor_shapes(operator) -> None:
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    est = operator.raw_operator
    check_is_fitted(est)
    tensor_type, _ = _float_type(operator)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].set_type(tensor_type([n, est.n_outputs_]))


def _forward(scope, operator, container, b: GraphBuilder) -> tuple[str, np.dtype]:
    """The estimator's output activations (N, n_outputs) in the graph's float type."""
    est = operator.raw_operator
    if container.target_opset < 13:
        raise ValueError(f"the xmlp converters need target_opset >= 13, got "
                         f"{container.target_opset}")
    _, dtype = _float_type(operator)
    x = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, (FloatTensorType, DoubleTensorType)):
        x = b.node("Cast", [x], "cast_input", to=TensorProto.FLOAT)
    a = b.forward(x, [_host(w) for w in est.coefs_], [_host(c) for c in est.intercepts_],
                  _activation(est.activation), _activation(est.out_activation_), dtype)
    return a, dtype


def _emit(b: GraphBuilder, scope, container) -> None:
    """The builder's initializers and nodes, into skl2onnx's container."""
    for name, value in b.initializers:
        if value.dtype.kind in "OSU":
            container.add_initializer(name, TensorProto.STRING, list(value.shape),
                                      [str(v).encode("utf-8") for v in value.ravel()])
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(value), name)
            container.add_initializer(name, tensor.data_type, list(value.shape), tensor)
    for op, inputs, outputs, attrs in b.nodes:
        container.add_node(op, inputs, outputs, name=scope.get_unique_operator_name(op),
                           **attrs)


def _convert_classifier(scope, operator, container) -> None:
    """label = predict, probabilities = predict_proba, as the estimator computes them:
    multilabel (a > 0.5 per column as int64, a as it is); binary (p > 0.5 picks a class,
    [1 - p, p]); multiclass (the argmax picks a class; one sigmoid per class normalised to
    sum 1, softmax as it is)."""
    est = operator.raw_operator
    b = GraphBuilder(scope.get_unique_variable_name)
    a, dtype = _forward(scope, operator, container, b)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    if _multilabel(est):
        b.node("Identity", [a], output=proba)
        above = b.node("Greater", [a, b.constant("half", np.full((1, 1), 0.5, dtype))],
                       "above")
        b.node("Cast", [above], output=label, to=TensorProto.INT64)
        _emit(b, scope, container)
        return
    if est.n_outputs_ == 1:
        neg = b.node("Sub", [b.constant("one", np.ones((1, 1), dtype)), a], "negative")
        b.node("Concat", [neg, a], output=proba, axis=1)
        positive = b.node("Greater", [a, b.constant("half", np.full((1, 1), 0.5, dtype))])
        index = b.node("Reshape", [b.node("Cast", [positive], to=TensorProto.INT64),
                                   b.constant("flat", np.array([-1], np.int64))], "index")
    else:
        if est.out_activation_ == "softmax":
            b.node("Identity", [a], output=proba)
        else:
            total = b.node("ReduceSum", [a, b.constant("axis", np.array([1], np.int64))],
                           "total", keepdims=1)
            b.node("Div", [a, total], output=proba)
        index = b.node("ArgMax", [a], "index", axis=1, keepdims=0)
    classes = _classes(est)
    if scope.get_options(est, {"nocl": False})["nocl"]:  # labels 0 .. n_classes - 1
        classes = np.arange(len(classes), dtype=np.int64)
    b.node("Gather", [b.constant("classes", classes), index], output=label, axis=0)
    _emit(b, scope, container)


def _convert_regressor(scope, operator, container) -> None:
    b = GraphBuilder(scope.get_unique_variable_name)
    a, _ = _forward(scope, operator, container, b)
    b.node("Identity", [a], output=operator.outputs[0].full_name)
    _emit(b, scope, container)


def _classifier_parser(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (label, probabilities, ZipMap), after checking that
    the estimator is fitted: the parser reads classes_ before any shape calculator runs."""
    check_is_fitted(model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)


def register() -> None:
    """Register the converters with skl2onnx (done on import; calling again is harmless)."""
    update_registered_converter(MLPClassifier, CLASSIFIER_ALIAS, _classifier_shapes,
                                _convert_classifier, parser=_classifier_parser,
                                options={"zipmap": [True, False, "columns"],
                                         "nocl": [False, True]})
    update_registered_converter(MLPRegressor, REGRESSOR_ALIAS, _regressor_shapes,
                                _convert_regressor)


register()
