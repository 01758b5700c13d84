"""A fit's settings, once (xmlp.settings): Network.fit's signature is the settings' fields
plus the fit's data and hooks, every constraint of the table refuses what it should with
the field's name, and what a fit records is what checkpoints compare."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

import xmlp
from xmlp import optim, train
from xmlp.regulariser import Regulariser
from xmlp.settings import CONSTRAINTS, FitSettings

#: fit's keywords that are not settings: the data and the hooks.
NOT_SETTINGS = {"X", "y", "evaluation_data", "probe", "verbose", "callback", "progress",
                "checkpoint", "resume"}


def test_fit_signature_is_the_settings_fields_with_the_same_defaults():
    fit = inspect.signature(xmlp.Network.fit).parameters
    fields = {f.name: f.default for f in dataclasses.fields(FitSettings)}
    named = {k: p.default for k, p in fit.items() if k != "self" and k not in NOT_SETTINGS}
    assert named == fields
    assert list(named) == list(fields)  # in the same order
    assert set(CONSTRAINTS) == set(fields)  # every field is declared in the table
    assert set(fit) - {"self"} - set(fields) == NOT_SETTINGS


BAD = [
    ("epochs", 0, ValueError), ("epochs", 2.5, TypeError), ("batch_size", -1, ValueError),
    ("eta", 0.0, ValueError), ("eta", float("inf"), ValueError), ("lmbda", -0.1, ValueError),
    ("l1", "x", TypeError), ("momentum", 1.0, ValueError), ("nesterov", 1, TypeError),
    ("optimizer", "rmsprop", ValueError), ("beta1", 1.0, ValueError),
    ("beta2", -0.5, ValueError), ("epsilon", 0.0, ValueError), ("dropout", -0.1, ValueError),
    ("shift", -1, ValueError), ("shift", True, ValueError), ("flip", "yes", TypeError),
    ("image_shape", (28,), TypeError), ("image_shape", (0, 28), ValueError),
    ("validation", True, TypeError), ("early_stopping", 0, ValueError),
    ("schedule", 1.5, TypeError), ("anneal", "cos", ValueError),
    ("monitor", "training_cost", TypeError), ("monitor", ["loss"], ValueError),
    ("checkpoint_every", 0, ValueError), ("on_divergence", "ignore", ValueError),
    ("divergence_factor", -2.0, ValueError), ("compile", "yes", TypeError),
]


@pytest.mark.parametrize("field,value,exc", BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_each_constraint_refuses_with_the_field_named(field, value, exc):
    with pytest.raises(exc, match=field.replace("[", r"\[")):
        FitSettings(**{field: value})
    default = getattr(FitSettings(), field)
    assert CONSTRAINTS[field](default, field) == default  # the default passes unchanged


def test_settings_are_frozen_and_normalised():
    s = FitSettings(momentum=np.float64(0.5), nesterov=np.bool_(True), monitor=["training_cost"],
                    image_shape=[4, 4])
    assert type(s.momentum) is float and s.nesterov is True
    assert s.monitor == ("training_cost",) and s.image_shape == (4, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.eta = 1.0  # type: ignore[misc]


def test_what_the_settings_make():
    assert FitSettings().rule() == optim.SGD()
    assert FitSettings(momentum=0.3, nesterov=True).rule() == optim.Momentum(0.3, True)
    assert FitSettings(optimizer="adam", beta2=0.99).rule() == optim.Adam(0.9, 0.99)
    assert FitSettings(lmbda=5.0, l1=0.1).regulariser() == Regulariser(5.0, 0.1)
    assert FitSettings().initial_eta("quadratic") == 3.0
    assert FitSettings(optimizer="adam").initial_eta("quadratic") == 0.001
    assert FitSettings(eta=0.2).initial_eta("cross-entropy") == 0.2
    assert FitSettings(shift=1).augment(16).image_shape == (4, 4)
    with pytest.raises(ValueError, match="anneal and schedule"):
        FitSettings(anneal="cosine", schedule=2)
    with pytest.raises(ValueError, match="momentum / nesterov apply to optimizer='sgd'"):
        FitSettings(optimizer="adam", momentum=0.9)


def test_the_record_is_what_the_history_keeps():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 3, 30)
    net = xmlp.Network([4, 5, 3], seed=0, dtype="float64")
    history = net.fit(X, y, epochs=2, eta=0.4, momentum=0.5, validation=10, shift=1,
                      image_shape=(2, 2), anneal="linear")
    assert history.settings == {
        "batch_size": 10, "eta": 0.4, "lmbda": 0.0, "l1": 0.0, "momentum": 0.5,
        "nesterov": False, "dropout": 0.0, "validation": 10, "early_stopping": None,
        "schedule": None, "monitor": ["training_cost", "training_accuracy",
                                      "evaluation_cost", "evaluation_accuracy"],
        "n_train": 20, "anneal": "linear", "anneal_epochs": 2,
        "augment": {"shift": 1, "flip": False, "image_shape": [2, 2]}, "n_evaluation": 10}


def test_train_fit_takes_settings_or_options_not_both():
    rng = np.random.default_rng(1)
    X, y = rng.random((12, 4)), rng.integers(0, 3, 12)
    net = xmlp.Network([4, 3], seed=0)
    assert train.fit(net, X, y, FitSettings(epochs=1)).epochs == 1
    assert train.fit(net, X, y, epochs=2).epochs == 2
    with pytest.raises(TypeError, match="not both"):
        train.fit(net, X, y, FitSettings(epochs=1), epochs=2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        train.fit(net, X, y, epoch=2)
