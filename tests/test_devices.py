"""Device identity and GPU requests on any machine.

``torch.device("cuda")`` and ``torch.device("cuda", 0)`` name the same GPU but compare
unequal; on an H100 that made every torch-CUDA network refuse its own tensors.  xmlp
resolves a device given without an index to the current one, once, and compares devices
through ``xmlp.backend.same_device``.  These tests build the device objects (torch's,
JAX's, array-api-strict's, and stand-ins of CuPy's and JAX's GPU devices) and pretend
CUDA where needed, so they run without a GPU.  Asking for a GPU that is absent must
fail with one line naming what is missing and what to install.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

import xmlp
import xmlp.backend as B
import xmlp.devices as D
from xmlp.backend import BackendUnavailable, parse_device, resolve, same_device


def _fake_device(module: str, **attrs):
    """An object that looks like a device of ``module`` (CuPy, JAX) to xmlp."""
    cls = type("Device", (), {"__module__": module, "__repr__": lambda self: f"<{attrs}>"})
    obj = cls()
    obj.__dict__.update(attrs)
    return obj


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def pretend_cuda(monkeypatch, torch):
    """torch believes in two CUDA devices, the current one being 1 (nothing is allocated
    on them: the tests only build and compare device objects)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    return torch


def _cpu_only_torch(torch):
    if torch.cuda.is_available():
        pytest.skip("torch sees a CUDA device here: the no-GPU error cannot happen")


def _gpu_free_jax():
    jax = pytest.importorskip("jax")
    try:
        if jax.devices("gpu"):
            pytest.skip("JAX has a GPU here: the no-GPU error cannot happen")
    except RuntimeError:
        pass
    return jax


# ----------------------------------------------------------------------- same_device
def test_torch_cuda_without_index_is_the_current_device(torch):
    # on this machine (and any without CUDA) the current device is cuda:0
    if torch.cuda.is_available() and torch.cuda.current_device() != 0:
        pytest.skip("the current CUDA device is not 0 here")
    assert torch.device("cuda") != torch.device("cuda", 0)  # torch's own comparison
    assert same_device(torch.device("cuda"), torch.device("cuda", 0))
    assert same_device(torch.device("cuda", 0), torch.device("cuda"))
    assert same_device("cuda:0", torch.device("cuda"))
    assert same_device("cuda", torch.device("cuda", 0))
    assert not same_device(torch.device("cuda"), torch.device("cuda", 1))
    assert not same_device(torch.device("cuda", 0), torch.device("cpu"))
    assert same_device(torch.device("cpu"), "cpu")


def test_same_device_follows_the_current_cuda_device(pretend_cuda):
    torch = pretend_cuda
    assert same_device(torch.device("cuda"), torch.device("cuda", 1))
    assert not same_device(torch.device("cuda"), torch.device("cuda", 0))
    assert same_device("cuda", torch.device("cuda", 1))
    assert same_device("gpu:1", torch.device("cuda"))
    assert not same_device("cuda:0", torch.device("cuda"))


def test_same_device_across_cupy_and_jax_device_objects(torch):
    cupy0 = _fake_device("cupy.cuda.device", id=0)
    cupy1 = _fake_device("cupy.cuda.device", id=1)
    jax_gpu0 = _fake_device("jaxlib._jax", platform="gpu", id=0)
    assert same_device(cupy0, "cuda:0") and same_device(cupy0, torch.device("cuda", 0))
    assert not same_device(cupy0, cupy1) and not same_device(cupy1, "cuda:0")
    assert same_device(jax_gpu0, "cuda:0") and same_device(jax_gpu0, "gpu")
    assert not same_device(jax_gpu0, "cpu:0")


def test_same_device_on_jax_cpu_and_strict_devices():
    jax = pytest.importorskip("jax")
    cpu = jax.devices("cpu")[0]
    assert same_device(cpu, "cpu:0") and same_device(cpu, "cpu") and same_device(cpu, cpu)
    assert not same_device(cpu, "cuda:0")
    strict = pytest.importorskip("array_api_strict")
    assert same_device(strict.Device("device1"), strict.Device("device1"))
    assert not same_device(strict.Device("device1"), strict.Device("CPU_DEVICE"))
    assert not same_device(strict.Device("device1"), "cpu")
    assert same_device(None, None) and not same_device(None, "cpu")


# ----------------------------------------------------------------------- resolution
def test_torch_cuda_resolves_once_to_the_current_index(pretend_cuda):
    torch = pretend_cuda
    assert resolve("torch", "cuda").device == torch.device("cuda", 1)
    assert resolve("torch", torch.device("cuda")).device == torch.device("cuda", 1)
    assert resolve("torch", "gpu").device == torch.device("cuda", 1)
    assert parse_device("torch", "cuda:0") == torch.device("cuda", 0)
    assert parse_device("torch", "cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"2 CUDA device\(s\), cuda:0 to cuda:1"):
        parse_device("torch", "cuda:5")
    with pytest.raises(ValueError, match="unknown torch device 'tpu:x'"):
        parse_device("torch", "tpu:x")


def test_to_backend_accepts_tensors_on_the_same_gpu(monkeypatch, torch):
    """The H100 failure: X on cuda:0, the network on 'cuda' (the same GPU)."""
    backend = B.Backend("torch", resolve("torch").xp, torch.device("cuda"))
    x = torch.zeros(3, dtype=torch.float32)
    monkeypatch.setattr(B.array_api_compat, "device", lambda a: torch.device("cuda", 0))
    assert B.to_backend(x, backend, torch.float32, "X") is x
    monkeypatch.setattr(B.array_api_compat, "device", lambda a: torch.device("cuda", 1))
    with pytest.raises(ValueError, match="X is on device .* move it first"):
        B.to_backend(x, backend, torch.float32, "X")


def test_estimator_places_compare_through_same_device(torch):
    pytest.importorskip("sklearn")
    from xmlp.sklearn import _Place

    xp = resolve("torch").xp
    assert _Place(xp, torch.device("cuda")) == _Place(xp, torch.device("cuda", 0))
    assert _Place(xp, torch.device("cuda", 1)) != _Place(xp, torch.device("cuda", 0))
    assert _Place(None) == _Place(None) and _Place(None) != _Place(xp, torch.device("cpu"))


def test_jax_device_names_pick_jax_devices(monkeypatch):
    jax = pytest.importorskip("jax")
    cpu = jax.devices("cpu")[0]
    for text in ("cpu", "cpu:0", "CPU"):
        assert parse_device("jax", text) is cpu
        assert resolve("jax", text).device is cpu
    gpus = [_fake_device("jaxlib._jax", platform="gpu", id=i) for i in range(2)]
    real = D._jax_devices
    monkeypatch.setattr(D, "_jax_devices",
                        lambda platform: gpus if platform == "gpu" else real(platform))
    assert parse_device("jax", "gpu:1") is gpus[1]
    assert parse_device("jax", "cuda:0") is gpus[0]
    assert parse_device("jax", "gpu") is gpus[0]  # JAX's default (CPU here) is no GPU
    with pytest.raises(ValueError, match=r"2 gpu device\(s\)"):
        parse_device("jax", "gpu:2")


def test_cpu_backends_refuse_gpu_names_with_the_fix():
    for name in ("numpy", "array_api_strict"):
        if name == "array_api_strict":
            pytest.importorskip("array_api_strict")
        with pytest.raises(ValueError, match=r"no GPU device 'cuda'.*backend='cupy'") as e:
            resolve(name, "cuda")
        assert "xmlp[jax-cuda]" in str(e.value)
    assert resolve("numpy", "cpu:0").device == "cpu"
    with pytest.raises(ValueError, match="unknown device 'gpu7' for backend 'numpy'"):
        resolve("numpy", "gpu7")


def test_device_text_parsing():
    split = D._split_device
    assert split("cuda") == ("cuda", None) and split("GPU:1") == ("cuda", 1)
    assert split(" cpu:0 ") == ("cpu", 0) and split("2") == (None, 2)
    for text in ("gpu7", "cuda:", "device1", "", "cuda:x", ":0"):
        assert split(text) is None, text


# ----------------------------------------------------------------- no GPU: clean errors
def test_torch_cuda_without_cuda_names_cuda_and_the_install(torch):
    _cpu_only_torch(torch)
    for device in ("cuda", "cuda:0", torch.device("cuda"), "gpu"):
        with pytest.raises(BackendUnavailable, match="needs CUDA") as e:
            xmlp.Network([3, 2], backend="torch", device=device)
        assert "CUDA build of torch" in str(e.value) and "\n" not in str(e.value)


def test_torch_cuda_build_without_a_gpu_says_so(monkeypatch, torch):
    _cpu_only_torch(torch)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    with pytest.raises(BackendUnavailable, match="CUDA 13.0.*finds no usable GPU"):
        resolve("torch", "cuda")


def test_jax_gpu_without_a_gpu_names_the_extra():
    _gpu_free_jax()
    for text in ("gpu", "cuda", "cuda:0"):
        with pytest.raises(BackendUnavailable, match=r"needs a GPU.*xmlp\[jax-cuda\]"):
            xmlp.Network([3, 2], backend="jax", device=text)


def test_load_on_a_missing_gpu_raises_backend_unavailable(tmp_path, torch):
    _cpu_only_torch(torch)
    path = tmp_path / "net.json"
    xmlp.Network([3, 2], seed=0).save(path)
    with pytest.raises(BackendUnavailable, match="needs CUDA"):
        xmlp.load(path, backend="torch", device="cuda")


def test_unpickling_a_network_resolves_its_device_by_name(monkeypatch):
    net = xmlp.Network([3, 2], seed=0)
    state = net.__getstate__()
    assert state["device_name"] == "cpu"
    other = pickle.loads(pickle.dumps(net))
    assert same_device(other.device, net.device)
    state["device_name"] = "cuda"  # a network pickled on a GPU, unpickled on numpy
    with pytest.raises(ValueError, match="no GPU device 'cuda'"):
        xmlp.Network.__new__(xmlp.Network).__setstate__(state)


def test_estimator_on_a_missing_gpu_fails_with_one_line(torch):
    _cpu_only_torch(torch)
    pytest.importorskip("sklearn")
    from xmlp.sklearn import MLPClassifier

    X, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    with pytest.raises(BackendUnavailable, match="needs CUDA") as e:
        MLPClassifier(backend="torch", device="cuda").fit(X, y)
    assert "CUDA build of torch" in str(e.value) and "\n" not in str(e.value)


def test_cupy_missing_names_both_cuda_extras():
    try:
        resolve("cupy")
    except BackendUnavailable as exc:
        assert "xmlp[cupy]" in str(exc) and "xmlp[cupy13]" in str(exc)
    else:
        pytest.skip("CuPy runs here")
    assert "xmlp[cupy13]" in B.install_hint("cupy")


# ----------------------------------------------------------------------- the CLI
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xmlp", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_train_on_a_missing_gpu_exits_1_with_one_line(torch):
    _cpu_only_torch(torch)
    proc = _cli("train", "--backend", "torch", "--device", "cuda", "--epochs", "1")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xmlp: error: "), proc.stderr
    assert "needs CUDA" in lines[0] and "CUDA build of torch" in lines[0]


def test_cli_help_names_every_backend():
    proc = _cli("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for name in ("NumPy", "CuPy", "PyTorch", "JAX", "array-api-strict"):
        assert name in text, name


def test_cli_info_lists_jax_devices():
    pytest.importorskip("jax")
    proc = _cli("info")
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("  jax "))
    assert "devices: cpu:0" in line
