"""``python -m xmlp``: the ``xmlp`` command (see :mod:`xmlp.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
