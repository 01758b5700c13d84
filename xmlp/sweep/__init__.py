"""Hyper-parameter sweeps: Optuna studies whose trials run on Dask workers (see
:mod:`xmlp.sweep.driver`)."""

from .driver import *  # noqa: F403
from .driver import __all__, _check_resources, _cores  # noqa: F401
