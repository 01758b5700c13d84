"""``xmlp predict``: the class of images in IDX or PNG files."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import options as opt
from .data import (
    add_batch_size_option,
    check_n_in,
    infer_fold,
    load_model,
    predict_numpy,
    read_images,
    transform,
)
from .errors import CLIError, library_of, one_line

NAME = "predict"
MEMORY_HINT = "pass fewer images, or a smaller --batch-size (the images fed forward at once)"


def add_parser(sub) -> argparse.ArgumentParser:
    pr = sub.add_parser(
        NAME, help="predict the class of images (IDX or PNG files)",
        description="Print one line per image: SOURCE<TAB>LABEL<TAB>CLASS-NAME. IDX files "
                    "(e.g. t10k-images-idx3-ubyte.gz) hold many images in MNIST's format. "
                    "PNG files must be 28x28 (or 56x56, 84x84, ... up to 224x224, averaged "
                    "down to 28x28; read with Pillow, pip install 'xmlp[image]'); colour is "
                    "converted to gray (transparent pixels "
                    "count as white), and with --invert auto (the default) an image whose "
                    "border is brighter than mid-gray - dark ink on white paper - is inverted "
                    "to MNIST's white-on-black.",
        formatter_class=opt.HelpFormatter)
    pr.add_argument("model", metavar="MODEL",
                    help="network file (.json or .npz), or an ONNX model (.onnx, e.g. from "
                         "'xmlp export'; run with ONNX Runtime, pip install 'xmlp[onnx]')")
    pr.add_argument("images", metavar="IMAGES", nargs="+", help="IDX or PNG files")
    pr.add_argument("--dataset", default=None, metavar="NAME",
                    help="name the classes as this dataset does (e.g. fashion-mnist); "
                         "default: digits")
    pr.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                    help="invert PNG images (MNIST digits are white on black)")
    pr.add_argument("--downsample", type=opt.positive_int, metavar="FOLD",
                    help="downsample as in training (default: inferred from the model)")
    add_batch_size_option(pr)
    opt.add_backend_options(pr, dtype_default=None)
    return pr


def run(args: argparse.Namespace) -> int:
    onnx = args.model.lower().endswith(".onnx")
    net = OnnxModel(args.model) if onnx else load_model(args)
    if args.dataset is not None:
        from ..datasets.registry import dataset_info

        classes = dataset_info(args.dataset).classes
    else:
        classes = tuple(str(i) for i in range(net.sizes[-1]))
    if len(classes) != net.sizes[-1]:
        classes = tuple(str(i) for i in range(net.sizes[-1]))
    shape = (28, 28)
    fold = args.downsample or infer_fold(net.sizes[0], shape)
    sources, batches = [], []
    for name in args.images:
        images = read_images(Path(name), args.invert, shape)
        many = len(images) > 1 or not name.lower().endswith(".png")
        sources += [f"{name}[{i}]" if many else name for i in range(len(images))]
        batches.append(images.reshape(len(images), -1))
    X = transform(np.concatenate(batches), fold, shape)
    check_n_in(net, X.shape[1], fold)
    labels = net.predict(X, args.batch_size) if onnx else predict_numpy(net, X, args.batch_size)
    for source, label in zip(sources, labels):
        print(f"{source}\t{int(label)}\t{classes[int(label)]}")
    return 0


class OnnxModel:
    """An ONNX model from ``xmlp export`` run by ONNX Runtime on the CPU: ``sizes`` (inputs
    and outputs) and ``predict`` (the 'class' output, else the argmax of the first)."""

    def __init__(self, path: str):
        if not Path(path).is_file():
            raise CLIError(f"model file {path} not found")
        try:
            import onnxruntime
        except ImportError as exc:
            raise CLIError(f"running an ONNX model needs ONNX Runtime ({one_line(exc)}); "
                           "install it with: pip install 'xmlp[onnx]'") from exc
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime's own exception types
            raise CLIError(f"{path}: not a model ONNX Runtime can run "
                           f"({one_line(exc)})") from exc
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape_in, shape_out = inputs[0].shape, outputs[0].shape
        if (len(inputs) != 1 or len(shape_in) != 2 or not isinstance(shape_in[1], int)
                or len(shape_out) != 2 or not isinstance(shape_out[1], int)):
            raise CLIError(f"{path}: expected one input X (N, n_in) and outputs (N, n_out) "
                           "as 'xmlp export' writes them")
        self.input = inputs[0]
        self.sizes = [shape_in[1], shape_out[1]]
        self.dtype = np.float64 if self.input.type == "tensor(double)" else np.float32
        self.has_class = any(o.name == "class" for o in outputs)

    def predict(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        wanted = ["class"] if self.has_class else [self.session.get_outputs()[0].name]
        parts = []
        for i in range(0, len(X), batch_size):
            try:
                (out,) = self.session.run(
                    wanted, {self.input.name: X[i:i + batch_size].astype(self.dtype)})
            except Exception as exc:  # ONNX Runtime's own exception types
                if library_of(exc) is None and not isinstance(exc, MemoryError):
                    raise
                raise CLIError(f"ONNX Runtime could not run the model on these images "
                               f"({type(exc).__name__}: {one_line(exc)}); a smaller "
                               "--batch-size needs less memory") from exc
            parts.append(out if self.has_class else np.argmax(out, axis=1))
        return np.concatenate(parts)
