"""Names that moved (xmlp/_compat.py): served from their old modules with a
DeprecationWarning that says where they live now; the solver state of earlier versions
becomes the typed state of xmlp.optim."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import xmlp
from xmlp import _compat, optim
from xmlp.params import Params


@pytest.mark.parametrize("module,names", list(_compat.MOVED.items()))
def test_moved_names_warn_and_are_the_new_ones(module, names):
    old = importlib.import_module(module)
    for name, target in names.items():
        if name in vars(old):  # still imported there for its own use: no re-export needed
            continue
        with pytest.warns(DeprecationWarning, match=f"{module}.{name}"):
            got = getattr(old, name)
        want = target if not isinstance(target, str) else \
            getattr(importlib.import_module(target), name)
        assert got is want


def test_from_import_of_a_moved_name_warns():
    with pytest.warns(DeprecationWarning, match="has moved to xmlp.schedule"):
        from xmlp.train import ANNEALS
    assert ANNEALS == ("cosine", "linear")


def test_a_name_that_never_was_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Hyper'"):
        xmlp.train.Hyper  # noqa: B018


def test_legacy_rule_state_becomes_typed():
    W, b = [np.ones((3, 2)), np.ones((2, 1))], [np.zeros(2), np.zeros(1)]
    with pytest.warns(DeprecationWarning):
        State = optim.State
    momentum = State({"vw": W, "vb": b}, 7).typed()
    assert isinstance(momentum, optim.MomentumState)
    assert momentum.velocity == Params(tuple(W), tuple(b))
    adam = State({"mw": W, "mb": b, "sw": W, "sb": b}, 3).typed()
    assert isinstance(adam, optim.AdamState) and adam.moment2.W[1] is W[1]
    assert State({}, 0).typed() == optim.SGDState()
