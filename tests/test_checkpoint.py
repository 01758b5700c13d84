"""Checkpoint and resume: a run killed with SIGKILL at any point and resumed ends with
exactly the weights of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import xmlp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import xmlp

    ckpt, out, kill_epoch, kill_batch, kill_replace = sys.argv[1:6]
    kill_epoch, kill_batch, kill_replace = int(kill_epoch), int(kill_batch), int(kill_replace)
    replaces = [0]
    real_replace = os.replace

    def replace(src, dst):  # die inside the checkpoint write, after the temp file is synced
        replaces[0] += 1
        if replaces[0] == kill_replace:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    os.replace = replace

    def progress(epoch, done, total):
        if (epoch, done) == (kill_epoch, kill_batch):
            os.kill(os.getpid(), signal.SIGKILL)

    data = xmlp.datasets.load("mnist-sample", dtype="float64")
    X, y = data.train.X[:600], data.train.y[:600]
    net = xmlp.Network([784, 20, 10], cost="cross-entropy", dtype="float64", seed=3)
    net.fit(X, y, epochs=4, batch_size=10, eta=0.5, lmbda=1.0, momentum=0.5, nesterov=True,
            dropout=0.2, validation=0.25, schedule=1, checkpoint=ckpt,
            resume=ckpt if os.path.exists(ckpt) else None, progress=progress)
    np.savez(out, *net.parameters_numpy()[0], *net.parameters_numpy()[1])
""")


def _run(tmp_path, name, kill_epoch=-1, kill_batch=-1, kill_replace=0):
    out = tmp_path / f"{name}.npz"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / f"{name}.ckpt"), str(out),
         str(kill_epoch), str(kill_batch), str(kill_replace)],
        capture_output=True, text=True, timeout=300)
    return proc, out


def _weights(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    proc, out = _run(tmp_path_factory.mktemp("full"), "full")
    assert proc.returncode == 0, proc.stderr
    return _weights(out)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path, uninterrupted, seed):
    rng = np.random.default_rng(seed)
    kill_epoch, kill_batch = int(rng.integers(0, 4)), int(rng.integers(1, 46))
    killed, _ = _run(tmp_path, "run", kill_epoch, kill_batch)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert os.path.exists(tmp_path / "run.ckpt") == (kill_epoch > 0)
    resumed, out = _run(tmp_path, "run")
    assert resumed.returncode == 0, resumed.stderr
    for got, want in zip(_weights(out), uninterrupted):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kill_replace", [1, 3])
def test_sigkill_inside_checkpoint_write_then_resume(tmp_path, uninterrupted, kill_replace):
    killed, _ = _run(tmp_path, "run", kill_replace=kill_replace)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    orphans = sorted(tmp_path.glob(".run.ckpt.*.tmp"))
    assert len(orphans) == 1  # the killed write's temp file, named after its process
    resumed, out = _run(tmp_path, "run")
    assert resumed.returncode == 0, resumed.stderr
    for got, want in zip(_weights(out), uninterrupted):
        np.testing.assert_array_equal(got, want)
    assert not list(tmp_path.glob(".run.ckpt.*.tmp"))  # the next save removed the orphan


def test_a_live_writers_temp_file_is_kept(tmp_path):
    path = tmp_path / "net.json"
    live = tmp_path / f".net.json.{os.getppid()}.abc.tmp"  # our parent is alive
    dead = tmp_path / ".net.json.999999999.abc.tmp"  # above any pid_max
    other = tmp_path / ".other.json.999999999.abc.tmp"
    for p in (live, dead, other):
        p.write_bytes(b"partial")
    xmlp.Network([4, 3, 2], seed=0).save(path)
    assert live.exists() and other.exists() and not dead.exists()
    assert xmlp.load(path).sizes == [4, 3, 2]


def test_resume_with_other_settings_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((50, 4)), rng.integers(0, 3, 50)
    net = xmlp.Network([4, 5, 3], seed=0)
    net.fit(X, y, epochs=2, eta=0.5, checkpoint=tmp_path / "c.ckpt")
    with pytest.raises(ValueError, match=r"eta: 0.5 -> 0.7"):
        xmlp.Network([4, 5, 3], seed=0).fit(X, y, epochs=3, eta=0.7,
                                           resume=tmp_path / "c.ckpt")
    with pytest.raises(ValueError, match="checkpoint is for the network"):
        xmlp.Network([4, 6, 3], seed=0).fit(X, y, epochs=3, resume=tmp_path / "c.ckpt")


def test_resume_continues_history_and_keeps_early_stopping_state(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.random((80, 4)), rng.integers(0, 3, 80)
    kw = dict(batch_size=8, eta=1.0, validation=0.25, early_stopping=50)
    full = xmlp.Network([4, 6, 3], seed=2, dtype="float64").fit(X, y, epochs=6, **kw)
    net = xmlp.Network([4, 6, 3], seed=2, dtype="float64")
    net.fit(X, y, epochs=3, checkpoint=tmp_path / "c.ckpt", **kw)
    again = xmlp.Network([4, 6, 3], seed=2, dtype="float64")
    h = again.fit(X, y, epochs=6, resume=tmp_path / "c.ckpt", **kw)
    assert h.evaluation_accuracy == full.evaluation_accuracy
    assert h.training_cost == full.training_cost
    assert h.best_epoch == full.best_epoch and h.epochs == 6


def test_eta_100_stops_within_one_epoch_keeping_finite_weights():
    data = xmlp.datasets.load("mnist-sample")
    for on_divergence in ("raise", "stop"):
        net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=0)
        before = net.parameters_numpy()[0]
        if on_divergence == "raise":
            with pytest.raises(xmlp.TrainingDiverged, match="epoch 1 with eta=100") as err:
                net.fit(*data.train, epochs=3, eta=100.0)
            h = err.value.history
        else:
            h = net.fit(*data.train, epochs=3, eta=100.0, on_divergence="stop")
        assert h.stop_reason == "diverged" and h.epochs == 1
        for w, w0 in zip(net.parameters_numpy()[0], before):
            np.testing.assert_array_equal(w, w0)  # the last good weights: the initial ones


def test_no_false_alarm_at_the_books_learning_rates():
    data = xmlp.datasets.load("mnist-sample")
    for cost, eta in (("quadratic", 3.0), ("cross-entropy", 0.5), ("log-likelihood", 0.5)):
        h = xmlp.Network([784, 30, 10], cost=cost, seed=0).fit(*data.train, epochs=3, eta=eta)
        assert h.stop_reason == "epochs"


def test_cli_checkpoint_and_resume_match_a_straight_run(tmp_path):
    def xmlp_cli(*args):
        proc = subprocess.run([sys.executable, "-m", "xmlp", "train", "-q", "--epochs", *args,
                               "--sizes", "784,12,10", "--dtype", "float64"],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": ROOT})
        assert proc.returncode == 0, proc.stderr

    xmlp_cli("3", "--save", "straight.json")
    xmlp_cli("2", "--checkpoint", "run.ckpt")
    xmlp_cli("3", "--resume", "run.ckpt", "--save", "resumed.json")
    a, b = xmlp.load(tmp_path / "straight.json"), xmlp.load(tmp_path / "resumed.json")
    for x, y in zip(sum(a.parameters_numpy(), []), sum(b.parameters_numpy(), [])):
        np.testing.assert_array_equal(x, y)
