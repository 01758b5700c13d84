"""Names that files and code written for earlier versions of xmlp refer to, in one place.

A pickle names each class by module and name, so a class that moved must stay reachable
where it was; code that imported a public name from the module it used to live in keeps
working, with a ``DeprecationWarning`` that says where the name lives now.  :data:`MOVED`
lists them; :func:`install` (run by ``import xmlp``) gives each old module a module-level
``__getattr__`` (PEP 562) that serves them, so the modules themselves carry no re-exports.
``tests/test_legacy.py`` loads files written by an earlier version through these names.

* ``xmlp.train.History`` -- estimators pickled before ``xmlp.history`` existed hold one;
* ``xmlp.optim.State`` -- their solver's state: per-layer arrays under string group names
  and the step count, which :class:`LegacyState` turns into the typed state of
  :mod:`xmlp.optim`;
* the other public names of ``xmlp.train`` before its settings, epochs and schedule moved
  out of it.
"""

from __future__ import annotations

import functools
import importlib
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

from .optim import AdamState, MomentumState, SGDState
from .params import Params

__all__ = ["MOVED", "LegacyState", "install"]


@dataclass
class LegacyState:
    """An update rule's state as earlier versions pickled it (``xmlp.optim.State``): the
    per-layer arrays by group name ("vw" / "vb": momentum's velocities; "mw" / "mb" and
    "sw" / "sb": Adam's first and second moments) and the step count ``t``."""

    arrays: dict[str, list[Any]] = field(default_factory=dict)
    t: int = 0

    def typed(self) -> Any:
        """The same state as the typed state of :mod:`xmlp.optim`."""
        def params(w: str, b: str) -> Params:
            return Params(tuple(self.arrays[w]), tuple(self.arrays[b]))

        if "vw" in self.arrays:
            return MomentumState(params("vw", "vb"))
        if "mw" in self.arrays:
            return AdamState(params("mw", "mb"), params("sw", "sb"))
        return SGDState()


#: old module -> {name: where it lives now (a module name), or the object itself}.
MOVED: dict[str, dict[str, Any]] = {
    "xmlp.train": {"History": "xmlp.history", "TrainingDiverged": "xmlp.history",
                   "TrainingInterrupted": "xmlp.history", "MONITORS": "xmlp.history",
                   "epoch_order": "xmlp.epochs", "ANNEALS": "xmlp.schedule",
                   "DEFAULT_ETA": "xmlp.settings"},
    "xmlp.optim": {"State": LegacyState},
}


def moved(module: str, name: str) -> Any:
    """``module.name`` for a name that moved (with a DeprecationWarning), else the
    AttributeError Python would raise."""
    target = MOVED.get(module, {}).get(name)
    if target is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    if not isinstance(target, str):
        where = f"{__name__}.{target.__name__}"
        warnings.warn(f"{module}.{name} is the name of earlier versions; files that use it "
                      f"still load (as {where})", DeprecationWarning, stacklevel=3)
        return target
    warnings.warn(f"{module}.{name} has moved to {target}.{name}; import it from there",
                  DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(target), name)


def install() -> None:
    """Give every module of :data:`MOVED` a ``__getattr__`` that serves its moved names."""
    for module in MOVED:
        importlib.import_module(module)
        vars(sys.modules[module])["__getattr__"] = functools.partial(moved, module)
