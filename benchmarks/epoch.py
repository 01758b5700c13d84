"""Entry point of ``nox -s "bench(backend='...')"``: benchmarks/run.py for one backend's group.

    python benchmarks/epoch.py --backend numpy [run.py options]

runs the contenders whose environment that nox session builds (see ``--list`` and
benchmarks/README.md): numpy -> xmlp numpy, PyTorch eager (CPU), scikit-learn, the book's
per-example loop and the NumPy FLOP limit; array_api_strict -> xmlp array-api-strict;
torch -> xmlp torch and the torch FLOP limit (CPU, and with PyTorch eager on CUDA where
torch sees a GPU); cupy -> xmlp cupy and the CuPy FLOP limit.  Each session merges its
records into the same ``benchmarks/results/<machine>-<date>.json`` and rewrites the table
and chart, so
``nox -s bench`` (every backend in turn) ends with all of them.
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import run  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run.main())
