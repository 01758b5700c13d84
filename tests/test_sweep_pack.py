"""Packed sweeps (``xmlp.sweep.run(pack=K)``, ``xmlp sweep --pack K``) on a 2-worker Dask
LocalCluster and the embedded sample: every trial's result equal to the unpacked sweep's to
1e-12 (grid and random search), packs grouped by shape, TPE asking K trials at a time, a
pruned member recorded while its pack goes on, a pack resumed from its members'
checkpoints after its worker was SIGKILLed, failing members, bad ``pack`` values.

NumPy only: they run in the numpy test session (XMLP_BACKENDS unset or naming numpy).
"""

from __future__ import annotations

import logging
import math
import os
import pathlib
import signal
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_requested = [b.strip() for b in os.environ.get("XMLP_BACKENDS", "").split(",") if b.strip()]
if _requested and "numpy" not in _requested:
    pytest.skip("sweeps run on NumPy workers: the numpy test session runs them",
                allow_module_level=True)
distributed = pytest.importorskip("distributed")
optuna = pytest.importorskip("optuna")

import xmlp.sweep as sweep  # noqa: E402

NET = {"sizes": [784, 20, 10], "cost": "cross-entropy", "seed": 3}
FIT = {"epochs": 2, "batch_size": 20}
CURVES = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy",
          "eta")


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes that import this checkout's xmlp."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=logging.CRITICAL,
                                      env=dict(sweep.BLAS_ONE_THREAD)) as cluster, \
                distributed.Client(cluster) as c:
            yield c


def _run(client, tmp_path, name: str, **kwargs):
    kwargs = {"network": NET, "fit": FIT, **kwargs}
    return sweep.run("mnist-sample", kwargs.pop("network"), kwargs.pop("fit"), client=client,
                     storage=f"sqlite:///{tmp_path / name}.db", **kwargs)


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-12 * max(1.0, abs(a))


def _assert_same_trial(a: dict, b: dict) -> None:
    """Two rows of one trial: same outcome, numbers equal to 1e-12."""
    for key in ("state", "epochs", "stop_reason", "error", "evaluation"):
        assert a[key] == b[key], (key, a, b)
    numbers = [k for k in a if k.endswith(("_accuracy", "_cost"))]
    assert numbers == [k for k in b if k.endswith(("_accuracy", "_cost"))]
    for key in numbers:
        assert _close(a[key], b[key]), (key, a[key], b[key])
    assert (a["history"] is None) == (b["history"] is None)
    for key in CURVES if a["history"] else ():
        assert len(a["history"][key]) == len(b["history"][key]), key
        assert all(map(_close, a["history"][key], b["history"][key])), key


def _assert_same_sweep(unpacked, packed, by=("trial",)) -> None:
    assert len(packed.rows) == len(unpacked.rows) and packed.params == unpacked.params
    one = {tuple(r[k] for k in by): r for r in unpacked.rows}
    other = {tuple(r[k] for k in by): r for r in packed.rows}
    assert one.keys() == other.keys()
    for key, row in one.items():
        assert {p: row[p] for p in unpacked.params} == \
            {p: other[key][p] for p in packed.params}
        _assert_same_trial(row, other[key])
    best, best_packed = unpacked.best, packed.best
    assert (best is None) == (best_packed is None)
    if best is not None:
        assert best["trial"] == best_packed["trial"]
        assert _close(best[unpacked.metric], best_packed[packed.metric])


def _packs(result) -> list[list[int]]:
    found = {tuple(t.user_attrs["xmlp_sweep"]["pack"]) for t in result.study.trials
             if "pack" in t.user_attrs["xmlp_sweep"]}
    return sorted(map(list, found))


def test_packed_grid_equals_the_unpacked_one_with_a_pack_per_batch_size(client, tmp_path):
    grid = {"eta": [0.1, 0.5, 1.0, 2.0], "batch_size": [20, 50]}
    unpacked = _run(client, tmp_path, "one", grid=grid)
    packed = _run(client, tmp_path, "four", grid=grid, pack=4)
    assert packed.ran == 8 and not _packs(unpacked)
    _assert_same_sweep(unpacked, packed)
    packs = _packs(packed)
    assert [len(p) for p in packs] == [4, 4]
    rows = {r["trial"]: r for r in packed.rows}
    for numbers in packs:  # one batch size per pack: it cannot vary within a population
        assert len({rows[n]["batch_size"] for n in numbers}) == 1
    assert packed.study.study_name == unpacked.study.study_name  # pack is not in the sweep


def test_packed_random_search_with_swept_seeds_equals_the_unpacked_one(client, tmp_path):
    kwargs = {"space": {"eta": (0.05, 3.0, "log")}, "grid": {"seed": [0, 1]},
              "search": "random", "trials": 6, "fit": {"epochs": 1, "batch_size": 20},
              "network": {**NET, "seed": 0}}  # the sampler's seed: mixed seeds in a pack
    unpacked = _run(client, tmp_path, "one", **kwargs)
    packed = _run(client, tmp_path, "three", pack=3, **kwargs)
    _assert_same_sweep(unpacked, packed)  # trial n draws the same settings in both
    packs = _packs(packed)
    assert packs == [[0, 1, 2], [3, 4, 5]]
    seeds = {r["trial"]: r["seed"] for r in packed.rows}
    assert any(len({seeds[n] for n in p}) == 2 for p in packs)  # members' own seeds


def test_tpe_asks_a_pack_at_a_time_with_constant_liar(client, tmp_path):
    result = _run(client, tmp_path, "tpe", space={"eta": (0.05, 3.0, "log")}, search="tpe",
                  trials=6, pack=3, fit={"epochs": 1, "batch_size": 50})
    assert result.study.sampler._constant_liar
    assert result.ran == 6 and all(r["state"] == "complete" for r in result.rows)
    assert _packs(result) == [[0, 1, 2], [3, 4, 5]]  # asked 3 at a time, before any told


def test_a_range_over_a_setting_that_cannot_vary_runs_unpacked(client, tmp_path):
    notes: list[str] = []
    result = _run(client, tmp_path, "range", space={"batch_size": (20, 60)}, search="random",
                  trials=2, pack=2, fit={"epochs": 1}, on_message=notes.append)
    assert any("no packs: batch_size" in n for n in notes), notes
    assert result.ran == 2 and not _packs(result)


def test_failing_members_fail_as_they_fail_alone(client, tmp_path):
    grid = {"eta": [0.5, 1e5], "momentum": [0.0, 1.5]}
    fit = {"epochs": 1, "batch_size": 10}
    unpacked = _run(client, tmp_path, "one", grid=grid, fit=fit)
    packed = _run(client, tmp_path, "four", grid=grid, fit=fit, pack=4)
    _assert_same_sweep(unpacked, packed)
    by = {(r["eta"], r["momentum"]): r for r in packed.rows}
    assert by[0.5, 0.0]["state"] == "complete" and "diverged" in by[1e5, 0.0]["error"]
    assert "momentum" in by[0.5, 1.5]["error"]


# -- worker patches: pruning on demand, packs that say where they are and wait --------------

def _prune_etas(etas: list[float]) -> None:
    """Run on each worker: Optuna's pruner says "prune" to the trials at these etas."""
    import optuna

    should = getattr(optuna.trial.Trial.should_prune, "original",
                     optuna.trial.Trial.should_prune)

    def forced(self) -> bool:
        return self.params.get("eta") in etas

    forced.original = should
    optuna.trial.Trial.should_prune = forced


def _unpatch_pruner() -> None:
    import optuna

    should = optuna.trial.Trial.should_prune
    optuna.trial.Trial.should_prune = getattr(should, "original", should)


def _watch_packs(flags: str, hold_at: int | None = None) -> None:
    """Run on each worker: every population fit marks each epoch with a file in ``flags``;
    with ``hold_at``, after that many epochs (the checkpoints of the one before are on disk)
    it says so and waits for the file ``go`` there.  Workers started later (after a kill)
    run unchanged."""
    import time

    import xmlp.population

    fit = getattr(xmlp.population.Population.fit, "original", xmlp.population.Population.fit)

    def watched_fit(self, X, y, callback=None, **kwargs):
        def gate(epoch, histories):
            pathlib.Path(flags, f"epoch-{os.getpid()}-{time.monotonic_ns()}").touch()
            if callback is not None:
                callback(epoch, histories)
            if hold_at is not None and epoch + 1 == hold_at:
                pathlib.Path(flags, f"waiting-{os.getpid()}").touch()
                deadline = time.monotonic() + 120
                while not pathlib.Path(flags, "go").exists() and time.monotonic() < deadline:
                    time.sleep(0.01)

        return fit(self, X, y, callback=gate, **kwargs)

    watched_fit.original = fit
    xmlp.population.Population.fit = watched_fit


def _unwatch_packs() -> None:
    import xmlp.population

    fit = xmlp.population.Population.fit
    xmlp.population.Population.fit = getattr(fit, "original", fit)


def test_a_pruned_member_is_recorded_while_its_pack_goes_on(client, tmp_path):
    flags = tmp_path / "flags"
    flags.mkdir()
    grid = {"eta": [0.5, 1.0, 2.0]}
    fit = {"epochs": 3, "batch_size": 20}
    client.run(_prune_etas, [2.0])
    client.run(_watch_packs, str(flags))
    try:
        unpacked = _run(client, tmp_path, "one", grid=grid, fit=fit, prune="halving")
        packed = _run(client, tmp_path, "three", grid=grid, fit=fit, prune="halving",
                      pack=3)
        client.run(_prune_etas, [2.0, 3.0])
        pruned = _run(client, tmp_path, "all", grid={"eta": [2.0, 3.0]}, fit=fit,
                      prune="halving", pack=2)
    finally:
        client.run(_unpatch_pruner)
        client.run(_unwatch_packs)
    _assert_same_sweep(unpacked, packed, by=("eta",))
    assert _packs(packed) == [[0, 1, 2]]
    by = {r["eta"]: r for r in packed.rows}
    assert by[2.0]["state"] == "pruned" and by[2.0]["epochs"] == 1
    assert by[0.5]["state"] == by[1.0]["state"] == "complete" and by[0.5]["epochs"] == 3
    when = {t.params["eta"]: t.datetime_complete for t in packed.study.trials}
    assert when[2.0] < min(when[0.5], when[1.0])  # recorded by the worker, mid-pack
    assert [r["state"] for r in pruned.rows] == ["pruned", "pruned"]
    # that pack ended once both members were pruned: 1 epoch, not 3 (the first pack ran 3)
    assert len(list(flags.glob("epoch-*"))) == 3 + 1


def test_killed_pack_resumes_from_its_members_checkpoints(client, tmp_path):
    """The pack holds after its third epoch (its members' checkpoints of the second are on
    disk: a population writes them after its callback) until the workers are killed; Dask
    runs it again and it resumes from epoch 2 to the same results."""
    grid, fit = {"eta": [0.5, 2.0]}, {"epochs": 5, "batch_size": 20}
    box: dict = {}
    checkpoints, flags = tmp_path / "ck", tmp_path / "flags"
    flags.mkdir()
    client.run(_watch_packs, str(flags), 3)

    def go():
        try:
            box["result"] = _run(client, tmp_path, "k", grid=grid, fit=fit, pack=2,
                                 checkpoint_dir=checkpoints)
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    try:
        deadline = time.monotonic() + 240
        while not list(flags.glob("waiting-*")):  # the pack held mid-fit
            assert time.monotonic() < deadline and thread.is_alive(), box
            time.sleep(0.02)
        assert len(list(checkpoints.glob("pack-*/member-*.ckpt"))) == 2
        for pid in client.run(os.getpid).values():
            os.kill(pid, signal.SIGKILL)
    finally:
        (flags / "go").touch()  # whatever happened, no worker stays held
    thread.join(240)
    client.run(_unwatch_packs)
    assert not thread.is_alive() and "error" not in box, box.get("error")
    packed = box["result"]
    assert [r["resumed_from"] for r in packed.rows] == [2, 2], packed.rows
    assert not list(checkpoints.glob("pack-*"))  # a finished pack leaves no checkpoint
    unpacked = _run(client, tmp_path, "one", grid=grid, fit=fit)
    _assert_same_sweep(unpacked, packed, by=("eta",))


@pytest.mark.parametrize("value", [0, -2, 1.5, "2", True])
def test_bad_pack_values_are_refused(tmp_path, value):
    with pytest.raises(ValueError, match="pack must be a positive integer"):
        sweep.run("mnist-sample", NET, FIT, grid={"eta": [0.5, 1.0]}, pack=value,
                  storage=f"sqlite:///{tmp_path / 'bad.db'}")
    assert not (tmp_path / "bad.db").exists()  # refused before the storage opened


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_bad_pack_options_are_usage_errors(capsys, tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    from xmlp.cli import main

    assert main(["sweep", "--grid", "eta=0.5,1", "--pack", text]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("xmlp sweep: error: ") and "--pack" in last
    assert not list(tmp_path.iterdir())


def test_cli_pack(client, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from xmlp.cli import main

    code = main(["sweep", "--grid", "eta=0.5,1.0", "--epochs", "1", "--batch-size", "20",
                 "--pack", "2", "--scheduler", client.scheduler.address, "--no-plot"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "in packs of up to 2 trials" in out and "to 1e-12, as it trained in a pack," in out
    lines = (tmp_path / "sweep.csv").read_text().splitlines()
    assert len(lines) == 3 and all(",complete," in line for line in lines[1:])
    assert not math.isnan(float(lines[1].split(",")[3]))
