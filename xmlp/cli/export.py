"""``xmlp export``: a saved network as an ONNX model (``Network.to_onnx``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options as opt
from .data import check_writable
from .errors import CLIError, one_line

NAME = "export"
MEMORY_HINT = "the network is too large for this machine's memory"


def add_parser(sub) -> argparse.ArgumentParser:
    ex = sub.add_parser(
        NAME, help="export a saved network to ONNX",
        description="Write MODEL (a network saved as .json or .npz) as an ONNX model: input "
                    "X (N, n_in), outputs 'activations' (N, n_out) and, for sigmoid and "
                    "softmax outputs, 'class' (N,). ONNX Runtime runs it, and so does "
                    "'xmlp predict OUT.onnx IMAGES'. Needs the onnx extra "
                    "(pip install 'xmlp[onnx]').",
        formatter_class=opt.HelpFormatter)
    ex.add_argument("model", metavar="MODEL", help="network file (.json or .npz)")
    ex.add_argument("out", metavar="OUT.onnx", help="ONNX file to write")
    ex.add_argument("--dtype", choices=("float32", "float64"), default=None,
                    help="type of the weights and of the input X (default: the saved one)")
    ex.add_argument("--opset", type=opt.positive_int, default=None, metavar="N",
                    help="ONNX opset (default: 17)")
    return ex


def run(args: argparse.Namespace) -> int:
    from ..backend import dtype_name
    from ..export import require_onnx
    from ..model import load

    path = Path(args.model)
    if not path.is_file():
        raise CLIError(f"model file {path} not found" + (" (it is a directory)"
                                                         if path.is_dir() else ""))
    if path.suffix.lower() == ".onnx":
        raise CLIError(f"{path} is an ONNX model already; MODEL is a network saved by xmlp "
                       "(.json or .npz)")
    check_writable(args.out, "OUT", (".onnx",))
    try:
        require_onnx()
    except ImportError as exc:
        raise CLIError(one_line(exc)) from exc
    try:
        net = load(path, dtype=args.dtype)
    except MemoryError as exc:
        raise CLIError(f"out of memory: {one_line(exc)}") from exc
    model = net.to_onnx(args.out, opset=args.opset)
    sizes = "-".join(str(s) for s in net.sizes)
    outputs = ", ".join(o.name for o in model.graph.output)
    opset = model.opset_import[0].version
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes): network {sizes}, "
          f"{net.hidden.name} hidden, {net.output.name} output, {dtype_name(net.dtype)}, "
          f"opset {opset}; input X, outputs {outputs}")
    return 0
