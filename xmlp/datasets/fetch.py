"""Finding a dataset's files on disk, and downloading them safely when they are not there.

Resolution order for dataset ``name``:

1. ``data_dir`` passed to :func:`xmlp.datasets.load` (the files directly in it), else
   ``$XMLP_DATA/<name>``;
2. the user cache, ``$XDG_CACHE_HOME/xmlp/<name>`` or ``~/.cache/xmlp/<name>``;
3. known system locations (:data:`SYSTEM_DIRS`, e.g. Debian's ``dataset-fashion-mnist``);
4. a download from the public mirrors into the first of these directories.

A download is written to a temporary file in the target directory, checked against the
published SHA-256, and only then renamed into place (``os.replace``), so an interrupted or
corrupt download never leaves a partial file behind. Files already on disk are not checksummed
(repackagers such as Debian recompress them, which changes the bytes but not the data); the
IDX reader and the loader check their structure, shapes and labels instead.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import NoReturn

from .._cache import cache_dir
from .registry import IDX_FILES, DatasetInfo

__all__ = [
    "SYSTEM_DIRS", "DatasetNotFound", "cache_dir", "download_file", "locate", "search_dirs",
]

#: Directories where operating-system packages install datasets (looked in after the cache).
SYSTEM_DIRS: dict[str, list[Path]] = {
    # Debian: apt-get install dataset-fashion-mnist
    "fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")],
}
#: Nielsen's pickled 50k/10k/10k split, used for "mnist" when a directory has no IDX files.
NIELSEN_PICKLE = "mnist.pkl.gz"
#: The URL opener; tests replace it (or pass ``opener=``) to simulate the network.
urlopen = urllib.request.urlopen

_CHUNK = 1 << 16
_DOWNLOAD_ERRORS = (OSError, ValueError, http.client.HTTPException)


class DatasetNotFound(FileNotFoundError):
    """A dataset is neither on disk nor downloadable; the message says where to put its files."""


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Directories searched for dataset ``name``, in order; the first is where downloads go."""
    if data_dir is not None:
        first = [Path(data_dir).expanduser()]
    elif os.environ.get("XMLP_DATA"):
        first = [Path(os.environ["XMLP_DATA"]).expanduser() / name]
    else:
        first = []
    return [*first, cache_dir(name), *SYSTEM_DIRS.get(name, [])]


def idx_paths(directory: Path) -> list[Path] | None:
    """The four IDX files in ``directory`` (gzip or uncompressed), or None if one is missing."""
    paths = []
    for name in IDX_FILES:
        path = _find(directory, name)
        if path is None:
            return None
        paths.append(path)
    return paths


def _find(directory: Path, name: str) -> Path | None:
    """``directory/name`` or its uncompressed twin (``name`` without .gz), whichever exists."""
    for path in (directory / name, directory / name.removesuffix(".gz")):
        if path.is_file():
            return path
    return None


def locate(
    info: DatasetInfo, data_dir: str | os.PathLike | None = None, download: bool = True,
    fallback: bool = True,
) -> list[Path] | Path:
    """Find or download ``info``'s files.

    Returns the four IDX paths, or (for "mnist" only) the path of a ``mnist.pkl.gz`` found in a
    directory without IDX files. Raises :class:`DatasetNotFound` when nothing is found and the
    download is disabled or fails on every mirror.  With ``fallback=False`` a ``data_dir`` is
    the only place looked in (and downloaded into): it must exist, and an embedded dataset
    takes none (``ValueError``).
    """
    strict = data_dir is not None and not fallback
    directory: Path
    if info.embedded is not None:
        if strict:
            raise ValueError(f"dataset {info.name!r} is embedded in xmlp and reads no data "
                             f"directory; drop data_dir={str(data_dir)!r}, or name the dataset "
                             "whose files are there (mnist, fashion-mnist or kmnist)")
        return idx_paths(info.embedded) or _missing(info, [info.embedded], "files missing")
    if data_dir is not None and not fallback:
        directory = Path(data_dir).expanduser()
        if not directory.is_dir():
            raise DatasetNotFound(f"data directory {directory} does not exist (or is not a "
                                  f"directory); create it and put the files "
                                  f"{', '.join(IDX_FILES)} of dataset {info.name!r} into it")
        dirs = [directory]
    else:
        dirs = search_dirs(info.name, data_dir)
    for directory in dirs:
        paths = idx_paths(directory)
        if paths:
            return paths
        if info.name == "mnist" and (directory / NIELSEN_PICKLE).is_file():
            return directory / NIELSEN_PICKLE
    if not download:
        if strict:
            lacking = [n for n in IDX_FILES if _find(dirs[0], n) is None]
            pickle = f" (or Nielsen's {NIELSEN_PICKLE})" if info.name == "mnist" else ""
            raise DatasetNotFound(
                f"data directory {dirs[0]} lacks {', '.join(lacking)}{pickle} of dataset "
                f"{info.name!r}, and downloads are off; put the files there (downloadable "
                f"from {' or '.join(info.mirrors)}) or allow the download")
        return _missing(info, dirs, "download=False")
    for name in IDX_FILES:
        errors = _download_from_mirrors(info, name, dirs[0])
        if errors:
            _missing(info, dirs, "download failed: " + "; ".join(errors))
    return idx_paths(dirs[0]) or _missing(info, dirs, "downloaded files missing")


def _download_from_mirrors(info: DatasetInfo, name: str, directory: Path) -> list[str]:
    """Download ``name`` into ``directory`` unless it is there; return each mirror's error."""
    if _find(directory, name):
        return []
    size, sha256 = info.checksums[name]
    errors = []
    for mirror in info.mirrors:
        try:
            download_file(mirror + name, directory / name, sha256=sha256, size=size)
            return []
        except _DOWNLOAD_ERRORS as exc:
            errors.append(f"{mirror + name}: {exc}")
    return errors


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str,
    size: int | None = None,
    opener=None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying its SHA-256 (and size, if given).

    ``opener(url, timeout=...)`` returns a readable, closable response; default: the module
    attribute ``urlopen``. The data goes to a temporary file beside ``dest`` that is renamed
    to ``dest`` only after the checksum matches, and is removed on any error. Raises
    ``ValueError`` on a checksum or size mismatch and lets network errors (``OSError``,
    ``http.client.HTTPException``) propagate.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            response = (opener or urlopen)(url, timeout=timeout)
            try:
                digest, n_bytes = _copy_hashing(response, out, url, size)
            finally:
                response.close()
            out.flush()
            os.fsync(out.fileno())
        if digest != sha256:
            raise ValueError(
                f"checksum mismatch for {url}: got SHA-256 {digest} ({n_bytes} bytes), expected "
                f"{sha256}; the download is corrupt or incomplete, or the mirror changed the "
                "file; try again later or fetch the file by hand"
            )
        os.replace(tmp, dest)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


def _copy_hashing(response, out, url: str, size: int | None) -> tuple[str, int]:
    """Copy ``response`` to ``out`` in chunks; return (SHA-256 hex digest, byte count)."""
    sha = hashlib.sha256()
    n_bytes = 0
    while chunk := response.read(_CHUNK):
        n_bytes += len(chunk)
        if size is not None and n_bytes > size:
            raise ValueError(f"{url} sent more than the expected {size} bytes; aborted")
        sha.update(chunk)
        out.write(chunk)
    return sha.hexdigest(), n_bytes


def _missing(info: DatasetInfo, dirs: list[Path], reason: str) -> NoReturn:
    """Raise :class:`DatasetNotFound` with where to put the files and what works offline."""
    files = ", ".join(IDX_FILES)
    looked = ", ".join(str(d) for d in dirs)
    if info.embedded is not None:
        raise DatasetNotFound(
            f"the embedded dataset {info.name!r} is broken ({reason}: {files} in {looked}); "
            "reinstall xmlp"
        )
    sources = " or ".join(info.mirrors)
    pickle_hint = f" (or Nielsen's {NIELSEN_PICKLE})" if info.name == "mnist" else ""
    raise DatasetNotFound(
        f"dataset {info.name!r} was not found ({reason}). Looked in: {looked}. "
        f"To fix: put the files {files}{pickle_hint} into {dirs[0]} "
        f"(downloadable from {sources}), or pass data_dir= pointing at a directory holding "
        "them, or set XMLP_DATA to a directory with a "
        f"{info.name}/ subdirectory, or load with download=True and network access. "
        "The embedded dataset 'mnist-sample' works offline: load('mnist-sample')."
    )
