"""ONNX graphs of trained networks: the forward pass as standard ONNX operators.

Layer l of the network computes ``Z = A @ W + b`` and ``A = sigma(Z)`` on rows, which is
one ``MatMul``, one ``Add`` and the activation's operator::

    sigmoid -> Sigmoid    tanh -> Tanh    relu -> Relu    exp -> Exp
    softmax -> Softmax (axis=-1)          identity -> nothing

Weights and biases become initializers in the chosen dtype.  Dropout scales activations
during training only, so the exported graph has none.  The graph is built with the
``onnx`` package's helpers (``onnx.helper``, ``onnx.numpy_helper``); the same node list
also feeds the skl2onnx converters of :mod:`xmlp.onnx`.

``onnx`` is imported inside the functions that need it: ``import xmlp`` stays light and
a missing package raises an ImportError naming the extra (``pip install 'xmlp[onnx]'``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .backend import dtype_name

__all__ = ["ACTIVATION_OPS", "CLASSIFYING_OUTPUTS", "DEFAULT_OPSET", "GraphBuilder",
           "network_to_onnx", "require_onnx"]

#: xmlp's activation name -> the ONNX operator computing it (None: no operator).
ACTIVATION_OPS: dict[str, str | None] = {
    "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "identity": None,
    "exp": "Exp", "softmax": "Softmax",
}
#: Output activations whose argmax is a class (``Network.predict``): the graph adds it.
CLASSIFYING_OUTPUTS = ("sigmoid", "softmax")
#: Opset of the exported models when none is asked for (ONNX Runtime 1.13 and later).
DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax along one axis; ReduceSum's axes as an input (xmlp.onnx)
INSTALL = "pip install 'xmlp[onnx]'"


def require_onnx() -> Any:
    """The ``onnx`` module, or an ImportError that names the extra to install."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"ONNX export needs the onnx package ({exc}); install it with: "
                          f"{INSTALL}") from exc
    return onnx


class GraphBuilder:
    """Nodes and initializers of a graph, recorded as plain data so that they can go into
    an ``onnx.GraphProto`` (:meth:`graph`) or into skl2onnx's container.

    ``fresh(hint)`` makes a unique name (skl2onnx passes its scope's name maker)."""

    def __init__(self, fresh: Callable[[str], str] | None = None):
        self.nodes: list[tuple[str, list[str], list[str], dict]] = []
        self.initializers: list[tuple[str, np.ndarray]] = []
        self._taken: set[str] = set()
        self.fresh = fresh or self._fresh

    def _fresh(self, hint: str) -> str:
        name, k = hint, 0
        while name in self._taken:
            k += 1
            name = f"{hint}_{k}"
        self._taken.add(name)
        return name

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self.fresh(hint)
        self.initializers.append((name, np.asarray(value)))
        return name

    def node(self, op: str, inputs: Sequence[str], hint: str | None = None,
             output: str | None = None, **attrs: Any) -> str:
        """Add ``op(inputs)``; return its output's name (``output`` or a fresh one)."""
        out = output or self.fresh(hint or op.lower())
        self.nodes.append((op, list(inputs), [out], attrs))
        return out

    def activation(self, name: str, z: str, output: str | None = None) -> str:
        if name not in ACTIVATION_OPS:
            raise ValueError(f"activation {name!r} has no ONNX mapping; exportable "
                             f"activations: {sorted(ACTIVATION_OPS)}")
        op = ACTIVATION_OPS[name]
        if op is None:
            return self.node("Identity", [z], output=output) if output else z
        attrs = {"axis": -1} if op == "Softmax" else {}
        return self.node(op, [z], name, output, **attrs)

    def forward(self, x: str, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                hidden: str, output: str, dtype: Any, out_name: str | None = None) -> str:
        """The network's forward pass from input ``x``: per layer MatMul, Add, activation.

        ``weights[l]`` is (n_in, n_out) (``Z = A @ W + b``), ``biases[l]`` (n_out,).
        NaN / infinite parameters are refused (``ValueError``): the graph would compute
        nothing meaningful."""
        for kind, arrays in (("weights", weights), ("biases", biases)):
            for l, arr in enumerate(arrays):
                if not np.isfinite(np.asarray(arr)).all():
                    raise ValueError(f"cannot export a network whose {kind} of layer {l} "
                                     "hold NaN or infinite values")
        a = x
        last = len(weights) - 1
        for l, (W, b) in enumerate(zip(weights, biases)):
            w = self.constant(f"W{l}", np.asarray(W, dtype=dtype))
            c = self.constant(f"b{l}", np.asarray(b, dtype=dtype).reshape(-1))
            z = self.node("Add", [self.node("MatMul", [a, w], f"matmul{l}"), c], f"z{l}")
            a = self.activation(output if l == last else hidden, z,
                                out_name if l == last else None)
        return a

    def graph(self, name: str, inputs: list, outputs: list, doc: str = "") -> Any:
        """An ``onnx.GraphProto`` of the recorded nodes and initializers."""
        require_onnx()
        from onnx import helper, numpy_helper

        nodes = [helper.make_node(op, ins, outs, name=f"{outs[0]}_{op}", **attrs)
                 for op, ins, outs, attrs in self.nodes]
        inits = [numpy_helper.from_array(v, name) for name, v in self.initializers]
        return helper.make_graph(nodes, name, inputs, outputs, inits, doc_string=doc)


def _dtype(net: Any, dtype: Any) -> np.dtype:
    try:
        name = dtype_name(net.dtype) if dtype is None else np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return np.dtype(name)


def _opset(opset: Any) -> int:
    onnx = require_onnx()
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an integer from {MIN_OPSET} to {newest} (this onnx "
                         f"package's newest), got {opset!r}")
    return int(opset)


def network_to_onnx(net: Any, path: Any = None, *, dtype: Any = None,
                    opset: Any = None) -> Any:
    """The network as an ``onnx.ModelProto`` (see :meth:`xmlp.Network.to_onnx`)."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    np_dtype = _dtype(net, dtype)
    version = _opset(opset)
    weights, biases = net.parameters_numpy()  # network2 layout: (n_out, n_in), (n_out, 1)
    b = GraphBuilder()
    for name in ("X", "activations", "class"):
        b.fresh(name)  # reserved for the graph's inputs and outputs
    b.forward("X", [w.T for w in weights], biases, net.hidden.name, net.output.name,
              np_dtype, out_name="activations")
    elem = TensorProto.DOUBLE if np_dtype == np.float64 else TensorProto.FLOAT
    n_in, n_out = net.sizes[0], net.sizes[-1]
    outputs = [helper.make_tensor_value_info("activations", elem, ["N", n_out])]
    classifies = net.output.name in CLASSIFYING_OUTPUTS
    if classifies:
        b.node("ArgMax", ["activations"], output="class", axis=1, keepdims=0)
        outputs.append(helper.make_tensor_value_info("class", TensorProto.INT64, ["N"]))
    sizes = "-".join(str(s) for s in net.sizes)
    doc = (f"xmlp network {sizes}, hidden {net.hidden.name}, output {net.output.name}, "
           f"cost {net.cost.name}: input X (N, {n_in}) -> activations (N, {n_out})"
           + (", class (N,) = argmax of the activations" if classifies else ""))
    graph = b.graph("xmlp_network", [helper.make_tensor_value_info("X", elem, ["N", n_in])],
                    outputs, doc)
    model = helper.make_model_gen_version(
        graph, opset_imports=[helper.make_opsetid("", version)], producer_name="xmlp",
        producer_version=__version__, doc_string=doc)
    helper.set_model_props(model, {
        "xmlp_version": __version__, "sizes": json.dumps(list(net.sizes)),
        "hidden": net.hidden.name, "output": net.output.name, "cost": net.cost.name,
        "dtype": np_dtype.name})
    onnx.checker.check_model(model)
    if path is not None:
        from .io import atomic_write  # a failed write leaves the previous file as it was

        atomic_write(Path(path), lambda f: f.write(model.SerializeToString()))
    return model
