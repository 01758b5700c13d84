"""The named datasets: file names, mirrors, published checksums, class names.

SHA-256 sums and sizes are those of the gzip files as served by the mirrors: the values TensorFlow
Datasets pins in ``tensorflow_datasets/url_checksums/{mnist,fashion_mnist,kmnist}.txt``, which
other projects publish identically. The Fashion-MNIST ones were also checked offline against
Debian's ``dataset-fashion-mnist``: its files hold the same deflate streams with the gzip file
name and mtime stripped; restoring them rebuilds files whose MD5 matches the upstream README
and whose SHA-256 matches this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DATASETS", "IDX_FILES", "DatasetInfo", "dataset_info"]

#: The four files of every MNIST-family dataset, in the order (train X, train y, test X, test y).
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

_DIGITS = tuple(str(d) for d in range(10))
_FASHION = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
#: Kuzushiji-MNIST: the ten hiragana お き す つ な は ま や れ を, romanised.
_KMNIST = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


@dataclass(frozen=True)
class DatasetInfo:
    """What xmlp knows about one named dataset.

    ``checksums`` maps each file name to ``(size in bytes, SHA-256)`` of the download;
    ``embedded`` is the directory of a dataset shipped inside the package (no download);
    ``default_validation`` is the number of training rows held out when ``validation=None``.
    """

    name: str
    classes: tuple[str, ...]
    mirrors: tuple[str, ...] = ()
    checksums: dict[str, tuple[int, str]] = field(default_factory=dict)
    embedded: Path | None = None
    default_validation: int = 0


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "mnist",
            _DIGITS,
            mirrors=(
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ),
            checksums={
                "train-images-idx3-ubyte.gz": (
                    9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
                "train-labels-idx1-ubyte.gz": (
                    28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
                "t10k-images-idx3-ubyte.gz": (
                    1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
                "t10k-labels-idx1-ubyte.gz": (
                    4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
            },
            # Nielsen's split: the last 10 000 of the 60 000 training images validate.
            default_validation=10_000,
        ),
        DatasetInfo(
            "fashion-mnist",
            _FASHION,
            mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            checksums={
                "train-images-idx3-ubyte.gz": (
                    26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
                "train-labels-idx1-ubyte.gz": (
                    29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
                "t10k-images-idx3-ubyte.gz": (
                    4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
                "t10k-labels-idx1-ubyte.gz": (
                    5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
            },
        ),
        DatasetInfo(
            "kmnist",
            _KMNIST,
            mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
            checksums={
                "train-images-idx3-ubyte.gz": (
                    18165135, "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"),
                "train-labels-idx1-ubyte.gz": (
                    29497, "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"),
                "t10k-images-idx3-ubyte.gz": (
                    3041136, "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"),
                "t10k-labels-idx1-ubyte.gz": (
                    5120, "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"),
            },
        ),
        DatasetInfo(
            "mnist-sample",
            _DIGITS,
            embedded=Path(__file__).parent / "data" / "mnist-sample",
        ),
    )
}


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` for ``name``; ``ValueError`` listing the known names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(repr(n) for n in DATASETS)
        raise ValueError(f"unknown dataset {name!r}; known datasets: {known}") from None
