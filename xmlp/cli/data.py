"""Data and models for the commands: datasets, transforms, model files, image files."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..io import probe_writable
from .errors import CLIError, UsageError, one_line

#: PNG images may be MNIST's size times 1 to MAX_FOLD (averaged down to it); the header's
#: size is checked before any pixel is decoded.
MAX_FOLD = 8
IMAGE_INSTALL = "pip install 'xmlp[image]'"


def resolve_device(backend: str, text: str | None) -> Any:
    """The --device string as the backend's device object (None: the default device),
    checked by computing there once: a device the backend names but cannot compute on
    (torch's 'meta') fails here, in one line, not in the middle of a run."""
    from ..backend import parse_device, resolve, to_numpy

    if text is None:
        return None
    device = parse_device(resolve(backend), text)
    b = resolve(backend, device)
    try:
        to_numpy(b.xp.asarray([1.0], device=b.device) + 1.0)
    except Exception as exc:  # each library has its own errors (NotImplementedError, ...)
        raise CLIError(f"--device {text}: the {backend} backend cannot compute on it "
                       f"({type(exc).__name__}: {one_line(exc)}); use cpu, or a GPU such as "
                       "cuda:0") from exc
    return device


def check_data_dir(args: argparse.Namespace) -> None:
    """--data-dir must be a directory; an embedded dataset takes none (no silent fallback
    to another copy of the data)."""
    if getattr(args, "data_dir", None) is None:
        return
    directory = Path(args.data_dir).expanduser()
    if not directory.is_dir():
        what = "not a directory" if directory.exists() else "no such directory"
        raise CLIError(f"--data-dir {args.data_dir}: {what}; point it at the directory that "
                       "holds the dataset's files")
    if getattr(args, "dataset", None) is not None:
        from ..datasets.registry import dataset_info

        if dataset_info(args.dataset).embedded is not None:
            raise UsageError(f"--data-dir: the dataset {args.dataset} is embedded in xmlp "
                             "and reads no files; drop --data-dir, or name the dataset whose "
                             "files are there (--dataset mnist, fashion-mnist or kmnist)")


def load_dataset(args: argparse.Namespace, dtype: str):
    from ..datasets import DatasetNotFound, load

    check_data_dir(args)
    validation = getattr(args, "validation", None)
    try:
        return load(args.dataset, data_dir=args.data_dir, validation=validation,
                    download=not args.no_download, dtype=dtype,
                    fallback=args.data_dir is None)
    except DatasetNotFound as exc:
        where = "" if args.data_dir else " On the command line: --data-dir DIR."
        raise CLIError(f"{one_line(exc)}{where}") from exc


def infer_fold(n_in: int, image_shape: tuple[int, int]) -> int | None:
    """The --downsample fold that turns image_shape images into n_in features, if any."""
    if n_in == image_shape[0] * image_shape[1]:
        return None
    for fold in range(2, min(image_shape)):
        h, w = (s - 6 for s in image_shape)
        if h % fold == 0 and w % fold == 0 and (h // fold) * (w // fold) == n_in:
            return fold
    return None


def transform(X: np.ndarray, fold: int | None, image_shape: tuple[int, int]) -> np.ndarray:
    if not fold:
        return X
    from ..datasets import downsample

    return downsample(X, fold, image_shape=image_shape)[0]


def check_n_in(net, n_features: int, fold: int | None) -> None:
    if net.sizes[0] != n_features:
        how = f" after --downsample {fold}" if fold else ""
        raise CLIError(f"the model takes {net.sizes[0]} inputs but the images have "
                       f"{n_features} features{how}; pass --downsample FOLD as in training")


def check_writable(path: str | None, option: str, suffixes: tuple[str, ...] = ()) -> None:
    """Fail before a long run rather than after it: the folder must exist and take a new
    file (a probe file is created beside ``path`` and removed)."""
    if path is None:
        return
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise CLIError(f"{option} {path}: the file name must end in "
                       f"{' or '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"{option} {path}: directory {parent} does not exist")
    if p.is_dir():
        raise CLIError(f"{option} {path}: is a directory")
    try:
        probe_writable(parent, p.name)
    except OSError as exc:
        raise CLIError(f"{option} {path}: cannot write in {parent} "
                       f"({exc.strerror or one_line(exc)}); choose another place") from None


def check_distinct(outputs: dict[str, str | None]) -> None:
    """Two options naming the same file would overwrite each other: a usage error."""
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if not path:
            continue
        key = os.path.realpath(Path(path).expanduser())
        if key in seen:
            raise UsageError(f"{seen[key]} and {option} name the same file ({path}); give "
                             "them different paths")
        seen[key] = option


def fallback_path(path: str | os.PathLike | None, default: str = "network.npz") -> Path | None:
    """Where to write an output that could not go to ``path`` (or had none: ``default``
    names it): a new file named after it in the current folder, else in the temp folder,
    never in ``path``'s own folder (None: no folder takes a file)."""
    p = Path(path if path is not None else default)
    name = f"{p.stem}.unsaved-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}{p.suffix}"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        try:
            if path is not None and folder.resolve() == p.parent.resolve():
                continue
            probe_writable(folder, name)
        except OSError:
            continue
        return folder / name
    return None


def pct(acc: float) -> str:
    return f"{100 * acc:.2f}%"


def counted(acc: float, n: int) -> tuple[int, float]:
    """(correct, exact fraction) from an accuracy (a count over n)."""
    correct = round(acc * n)
    return correct, correct / n if n else 0.0


def load_model(args: argparse.Namespace):
    from ..model import load

    path = Path(args.model)
    if not path.is_file():
        raise CLIError(f"model file {path} not found" + (" (it is a directory)"
                                                         if path.is_dir() else ""))
    device = resolve_device(args.backend, args.device)
    try:
        return load(path, backend=args.backend, device=device, dtype=args.dtype)
    except MemoryError as exc:  # the model itself: no option of the command helps
        raise CLIError(f"out of memory: {one_line(exc)}") from exc


def add_batch_size_option(p: argparse.ArgumentParser) -> None:
    """--batch-size of the commands that feed images forward (evaluate, predict)."""
    from ..network import EVAL_CHUNK
    from .options import positive_int

    p.add_argument("--batch-size", type=positive_int, default=EVAL_CHUNK, metavar="N",
                   help="images fed forward at once; a smaller number needs less memory, "
                        "the result is the same")


def predict_numpy(net, X, batch_size: int | None = None) -> np.ndarray:
    """Class indices of the rows of X, fed forward ``batch_size`` rows at a time; running
    out of memory names --batch-size."""
    from ..backend import DeviceOutOfMemory, to_numpy
    from ..network import EVAL_CHUNK

    batch_size = batch_size or EVAL_CHUNK  # Network.accuracy's chunks: the same counts
    try:
        return np.asarray(to_numpy(net.predict(X, batch_size=batch_size)), dtype=np.int64)
    except DeviceOutOfMemory as exc:
        from .errors import without_library_hint

        raise CLIError(without_library_hint(
            exc, f"pass a smaller --batch-size than {batch_size} (the images fed forward at "
                 "once)")) from exc


def read_images(path: Path, invert: str, shape: tuple[int, int]) -> np.ndarray:
    """(n, 28, 28) float64 images in [0, 1], white ink on black as in MNIST."""
    if not path.is_file():
        raise CLIError(f"image file {path} not found")
    if path.suffix.lower() == ".png":
        return read_png(path, invert, shape)[None]
    from ..datasets import read_idx

    arr = read_idx(path)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != shape:
        raise CLIError(f"{path}: expected IDX images of shape (n, {shape[0]}, {shape[1]}), got "
                       f"{arr.shape} (is it a labels file?)")
    if len(arr) == 0:
        raise CLIError(f"{path}: holds no images (shape {arr.shape})")
    if arr.dtype == np.uint8:
        return arr / 255.0
    arr = arr.astype(np.float64)
    if not (np.isfinite(arr).all() and arr.min() >= 0 and arr.max() <= 1):
        raise CLIError(f"{path}: float IDX images must lie in [0, 1]")
    return arr


def read_png(path: Path, invert: str, shape: tuple[int, int]) -> np.ndarray:
    """One PNG as a (28, 28) float64 image: gray (ITU-R 601 luma), transparent pixels white,
    an image MNIST's size times k (k <= MAX_FOLD) averaged over k x k blocks.  Read with
    Pillow, whose header gives the size before any pixel is decoded."""
    try:
        from PIL import Image
    except ImportError:
        raise CLIError(f"reading PNG files needs Pillow: {IMAGE_INSTALL}") from None
    import warnings

    h, w = shape
    try:
        with warnings.catch_warnings():  # the size check below is stricter than Pillow's
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path, formats=["PNG"])
        with im:
            width, height = im.size
            fold = width // w
            if not (1 <= fold <= MAX_FOLD and (width, height) == (w * fold, h * fold)):
                raise CLIError(f"{path}: the image is {width}x{height} pixels; resize it to "
                               f"{w}x{h} (MNIST's size) first, or to a multiple up to "
                               f"{w * MAX_FOLD}x{h * MAX_FOLD}")
            img = _pixels(im)
    except Image.DecompressionBombError as exc:
        raise CLIError(f"{path}: the image is far larger than {w * MAX_FOLD}x{h * MAX_FOLD} "
                       f"pixels ({one_line(exc)}); resize it to {w}x{h} first") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise CLIError(f"{path}: not a readable PNG image ({one_line(exc)})") from exc
    if fold > 1:
        img = img.reshape(h, fold, w, fold).mean(axis=(1, 3))
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if invert == "yes" or (invert == "auto" and border.mean() > 0.5):
        img = 1.0 - img
    return img


def _pixels(im) -> np.ndarray:
    """A decoded image as gray float64 in [0, 1], composited over white paper."""
    if im.mode.startswith("I"):  # 16-bit gray
        return np.clip(np.asarray(im, dtype=np.float64) / 65535.0, 0.0, 1.0)
    if im.mode == "F":
        return np.clip(np.asarray(im, dtype=np.float64), 0.0, 1.0)
    if im.mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA")  # palette, bilevel, CMYK, ...
    img = np.asarray(im, dtype=np.float64) / 255.0
    if img.ndim == 2:
        return img
    if img.shape[2] in (2, 4):  # composite over white paper: transparent = background
        alpha = img[..., -1:]
        img = img[..., :-1] * alpha + (1.0 - alpha)
    if img.shape[2] == 3:
        return img @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
    return img[..., 0]
