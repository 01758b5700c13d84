"""The package's layers, told once.  A module imports only from its own layer or the layers
below it, never above, and there is no import cycle, not even through imports inside
functions: ``tests/test_layers.py`` walks every ``import`` of the package against
:data:`LAYERS`, and checks that the package docstring and ``docs/architecture.md`` show
:func:`render`'s stack.  A new module gets its line here first.

Run ``python -m xmlp._layers`` to print the stack.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Layer", "LAYERS", "rank", "render"]


class Layer(NamedTuple):
    """A layer: its name, and its modules (dotted names under ``xmlp``, a package standing
    for everything in it) with what each holds."""

    name: str
    modules: dict[str, str]


#: Top to bottom.
LAYERS: tuple[Layer, ...] = (
    Layer("front ends", {
        "cli": "the xmlp command: one module per subcommand",
        "nielsen": "network.py's and network2.py's interfaces",
        "sklearn": "MLPClassifier / MLPRegressor (extra sklearn)",
        "sweep": "Optuna studies on Dask workers (extra sweep)",
        "recipes": "the book's experiments as data, with its figures",
        "onnx": "skl2onnx converters for the estimators (extra onnx)",
        "__main__": "python -m xmlp",
    }),
    Layer("package", {
        "xmlp": "the public names: Network, load, History, datasets, ...",
        "_compat": "names earlier versions' files and code refer to",
    }),
    Layer("facade", {
        "model": "Network = the math + fit() + save() + to_onnx(); load",
        "population": "Population: K networks as one program; the ensemble; its files",
    }),
    Layer("fit", {
        "train": "fit(): data on the device, the epochs, reports, checkpoints, stops",
        "epochs": "a fit's epochs: the host's draws, the engine, the record, divergence",
        "population_fit": "a population's fit: each member's draws, numbers and record",
    }),
    Layer("persistence", {
        "io": "network files (network2 JSON, .npz)",
        "checkpoint": "training-state files; a fit's state into and out of them",
        "export": "ONNX graphs of networks (onnx imported lazily)",
    }),
    Layer("training", {
        "settings": "FitSettings: fit's settings, checked against a declared table",
        "schedule": "eta's one owner: Nielsen's schedule, early stopping, anneals",
        "history": "History, the monitors, progress lines, TrainingDiverged",
        "engine": "epochs of the step, eager or compiled; TrainState",
        "compiled": "the same epochs as XLA programs: lax.scan of the step (JAX)",
        "step": "THE mini-batch step, pure; the host numbers of an epoch's steps",
        "optim": "update rules: host coefficients + a pure update, typed state",
    }),
    Layer("math", {
        "network": "feedforward, backprop (BP1-BP4), the math half of Network",
        "regulariser": "L2 / L1: the term's value and gradient, both conventions",
        "params": "Params: every layer's (W, b) as one structure (a pytree)",
        "costs": "C_x and delta^L (BP1), numerically stable",
        "activations": "sigma and its vector-Jacobian product",
        "init": "initial weights, drawn on the host",
        "augment": "random shifts / flips of a mini-batch, one gather",
    }),
    Layer("data", {
        "datasets": "IDX / pickle readers, registry, downloads, transforms",
    }),
    Layer("plumbing", {
        "backend": "backend flag -> namespace, dtype; conversions at the edges",
        "devices": "device names, the current GPU, missing-GPU / out-of-memory errors",
        "_validate": "input checks with messages that name the fix",
        "_cache": "xmlp's cache folder (datasets, compiled programs)",
        "_version": "the version",
        "_layers": "this table of the layers",
    }),
)


def rank(module: str) -> int:
    """The layer of a module of the package (``xmlp.x.y``): 0 at the bottom.  KeyError
    for a module no layer lists."""
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        name = ".".join(parts[1:depth]) or "xmlp"
        for i, layer in enumerate(LAYERS):
            if name in layer.modules:
                return len(LAYERS) - 1 - i
    raise KeyError(f"{module} is in no layer of xmlp._layers.LAYERS")


def render() -> str:
    """The stack as text: one line per module, the layer's name on its first."""
    lines = []
    for layer in LAYERS:
        for k, (module, what) in enumerate(layer.modules.items()):
            lines.append(f"{layer.name if k == 0 else '':12} {module:12} {what}".rstrip())
    return "\n".join(lines)


if __name__ == "__main__":
    print(render())
