"""Sweeps (xmlp.sweep, ``xmlp sweep``) on a 2-worker Dask LocalCluster and the embedded
sample: exact equality with serial fits, SQLite round trip and resume, failing trials, a
worker SIGKILLed mid-trial and a whole sweep SIGKILLed and run again.

NumPy only: they run in the numpy test session (XMLP_BACKENDS unset or naming numpy).
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
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
GRID = {"eta": [0.1, 1.0], "lmbda": [0.0, 2.0]}
FIT = {"epochs": 2, "batch_size": 20}
KILL_FIT = {"epochs": 8, "batch_size": 20}
KILL_GRID = {"eta": [0.5, 2.0]}

SERIAL = """
import json, sys
import xmlp
cases = json.loads(sys.argv[1])
data = xmlp.datasets.load("mnist-sample")
out = []
for net_kw, fit_kw in cases:
    net = xmlp.Network(**net_kw)
    h = net.fit(*data.train, **fit_kw, evaluation_data=data.test)
    out.append({"training_accuracy": round(net.accuracy(*data.train) * 4000) / 4000,
                "test_accuracy": round(net.accuracy(*data.test) * 1000) / 1000,
                "history": {k: getattr(h, k) for k in ("training_cost", "training_accuracy",
                            "evaluation_cost", "evaluation_accuracy")},
                "file": xmlp.__file__})
print(json.dumps(out))
"""


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.update(sweep.BLAS_ONE_THREAD)  # the workers' BLAS setting: bit-identical sums
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


def _cases(grid: dict, fit: dict) -> list[tuple[dict, dict]]:
    import itertools

    names = sorted(grid)
    return [({**NET}, {**fit, **dict(zip(names, values))})
            for values in itertools.product(*(grid[n] for n in names))]


@pytest.fixture(scope="module")
def serial():
    """Serial Network.fit runs of every setting the tests sweep, in one process."""
    cases = _cases(GRID, FIT) + _cases(KILL_GRID, KILL_FIT)
    proc = subprocess.run([sys.executable, "-c", SERIAL, json.dumps(cases)], env=_env(),
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert results[0]["file"].startswith(str(ROOT))
    return {json.dumps(fit, sort_keys=True): r for (_, fit), r in zip(cases, results)}


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes that import this checkout's xmlp and offer a
    "GPU" resource, as dask-cuda workers started with --resources GPU=1 do."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=logging.CRITICAL,
                                      env=dict(sweep.BLAS_ONE_THREAD),
                                      resources={"GPU": 1}) as cluster, \
                distributed.Client(cluster) as c:
            yield c


def _worker_info():
    import os

    import xmlp

    return xmlp.__file__, os.environ.get("OPENBLAS_NUM_THREADS")


def _check_rows(rows, serial, fit, params):
    for row in rows:
        assert row["state"] == "complete", row
        ref = serial[json.dumps({**fit, **{p: row[p] for p in params}}, sort_keys=True)]
        assert row["training_accuracy"] == ref["training_accuracy"]
        assert row["test_accuracy"] == ref["test_accuracy"]
        for key, values in ref["history"].items():  # every epoch's cost, bit for bit
            assert row["history"][key] == values, key


def test_grid_on_two_workers_equals_serial_runs(client, serial, tmp_path):
    for path, threads in client.run(_worker_info).values():
        assert path.startswith(str(ROOT)) and threads == "1"
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = sweep.run("mnist-sample", NET, FIT, grid=GRID, client=client, storage=url,
                       metric="test_accuracy", resources={"GPU": 1})
    assert result.ran == 4 and len(result.rows) == 4 and result.params == ["eta", "lmbda"]
    _check_rows(result.rows, serial, FIT, result.params)
    values = [r["test_accuracy"] for r in result.rows]
    assert values == sorted(values, reverse=True)
    assert result.best == result.rows[0]
    assert result.study.best_value == result.rows[0]["test_accuracy"]


def test_sqlite_round_trip_and_rerun(client, tmp_path):
    url = f"sqlite:///{tmp_path / 'rt.db'}"
    grid = {"batch_size": [20, 50]}
    first = sweep.run("mnist-sample", NET, {"epochs": 1}, grid=grid, client=client,
                      storage=url)
    assert first.ran == 2 and first.metric == "evaluation_accuracy"
    # Another process's view: the study and the table come back from the file alone.
    stored = optuna.load_study(study_name=first.study.study_name, storage=url)
    assert sweep.table(stored) == first.rows
    again = sweep.run("mnist-sample", NET, {"epochs": 1}, grid=grid, storage=url,
                      client=None, workers=1)  # nothing to run: no cluster is started
    assert again.ran == 0 and again.rows == first.rows
    first.to_csv(tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].startswith("trial,state,batch_size,evaluation_accuracy,")
    assert len(lines) == 3
    with pytest.raises(ValueError, match="holds another sweep"):
        sweep.run("mnist-sample", NET, {"epochs": 1}, grid={"batch_size": [20, 30]},
                  storage=url, study=first.study.study_name, client=client)


def test_configure_sweeps_names_of_its_own(client, tmp_path):
    widths = {"narrow": [784, 10, 10], "wide": [784, 40, 10]}

    def configure(params):
        return {**NET, "sizes": widths[params["width"]]}, {"epochs": 1, "batch_size": 20}

    with pytest.raises(ValueError, match="cannot sweep 'width'"):
        sweep.run("mnist-sample", NET, grid={"width": list(widths)}, client=client,
                  storage=f"sqlite:///{tmp_path / 'named.db'}")
    result = sweep.run("mnist-sample", NET, grid={"width": list(widths)}, client=client,
                       storage=f"sqlite:///{tmp_path / 'c.db'}", configure=configure)
    assert result.params == ["width"] and sorted(r["width"] for r in result.rows) == list(widths)
    assert all(r["state"] == "complete" and r["epochs"] == 1 for r in result.rows)
    import xmlp

    data = xmlp.datasets.load("mnist-sample")
    for row in result.rows:  # each trial trained the network its name stands for
        net = xmlp.Network(**{**NET, "sizes": widths[row["width"]]})
        net.fit(*data.train, epochs=1, batch_size=20, evaluation_data=data.test)
        assert row["training_accuracy"] == pytest.approx(net.accuracy(*data.train), abs=1e-3)


def test_failing_trials_are_recorded_and_the_sweep_goes_on(client, tmp_path):
    import xmlp

    data = xmlp.datasets.load("mnist-sample")  # arrays: scattered once to the workers
    result = sweep.run(data, NET, {"epochs": 1},
                       grid={"eta": [0.5, 1e5], "momentum": [0.0, 1.5]}, client=client,
                       storage=f"sqlite:///{tmp_path / 'f.db'}")
    by = {(r["eta"], r["momentum"]): r for r in result.rows}
    assert by[0.5, 0.0]["state"] == "complete" and result.rows[0] is by[0.5, 0.0]
    assert by[0.5, 0.0]["evaluation"] == "test" and by[0.5, 0.0]["test_accuracy"] > 0.5
    assert by[1e5, 0.0]["state"] == "failed" and "diverged" in by[1e5, 0.0]["error"]
    for eta in (0.5, 1e5):
        assert by[eta, 1.5]["state"] == "failed"
        assert "momentum" in by[eta, 1.5]["error"]
    assert result.study.trials[0].state.name in ("COMPLETE", "FAIL")
    with pytest.raises(ValueError, match="--resources 'TPU=1'"):
        sweep._check_resources(client, {"TPU": 1})


def _hold_after_first_checkpoint(flags: str) -> None:
    """Run on each worker: every fit, after its second epoch (its first checkpoint is on
    disk by then), says so with a file in ``flags`` and waits for the file ``go`` there.
    Workers started later (after a kill) run unchanged."""
    import time

    import xmlp.model

    fit = xmlp.model.Network.fit
    if getattr(fit, "held", False):
        return

    def held_fit(self, X, y, callback=None, **kwargs):
        def gate(epoch, history):
            if callback is not None:
                callback(epoch, history)
            if history.epochs == 2:
                pathlib.Path(flags, f"waiting-{os.getpid()}").touch()
                deadline = time.monotonic() + 120
                while not pathlib.Path(flags, "go").exists() and time.monotonic() < deadline:
                    time.sleep(0.01)

        return fit(self, X, y, callback=gate, **kwargs)

    held_fit.held, held_fit.original = True, fit
    xmlp.model.Network.fit = held_fit


def _release_fit() -> None:
    import xmlp.model

    fit = xmlp.model.Network.fit
    xmlp.model.Network.fit = getattr(fit, "original", fit)


def test_worker_killed_mid_trial_resumes_to_the_same_result(client, serial, tmp_path):
    """Both trials hold after their first checkpoint until the workers are killed: the
    kill always lands mid-trial, however loaded the machine is."""
    box: dict = {}
    checkpoints, flags = tmp_path / "ck", tmp_path / "flags"
    flags.mkdir()
    client.run(_hold_after_first_checkpoint, str(flags))

    def go():
        try:
            box["result"] = sweep.run("mnist-sample", NET, KILL_FIT, grid=KILL_GRID,
                                      client=client, storage=f"sqlite:///{tmp_path / 'k.db'}",
                                      checkpoint_dir=checkpoints, metric="test_accuracy")
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    try:
        deadline = time.monotonic() + 240
        while len(list(flags.glob("waiting-*"))) < 2:  # both trials held mid-fit
            assert time.monotonic() < deadline and thread.is_alive(), box
            time.sleep(0.02)
        assert len(list(checkpoints.glob("*.npz"))) == 2
        for pid in client.run(os.getpid).values():
            os.kill(pid, signal.SIGKILL)
    finally:
        (flags / "go").touch()  # whatever happened, no worker stays held
    thread.join(240)
    client.run(_release_fit)
    assert not thread.is_alive() and "error" not in box, box.get("error")
    rows = box["result"].rows
    assert len(rows) == 2 and all(r["resumed_from"] for r in rows), rows
    _check_rows(rows, serial, KILL_FIT, ["eta"])
    assert not list(checkpoints.glob("*.npz"))  # finished trials leave no checkpoint


def _count(db: pathlib.Path, state: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM trials WHERE state = ?", (state,)
                               ).fetchone()[0]
    except sqlite3.Error:
        return 0


def _completed(db: pathlib.Path) -> int:
    return _count(db, "COMPLETE")


def test_killed_sweep_resumes_from_its_storage(client, tmp_path):
    """``xmlp sweep`` on the running cluster (--scheduler), SIGKILLed after its first
    finished trial, then run again: finished trials stay, the killed run's running trials
    are failed as stale and retried, and the table, CSV and plot come out whole."""
    cmd = [sys.executable, "-m", "xmlp", "sweep", "--grid", "eta=0.5,1.0,2.0",
           "--epochs", "3", "--batch-size", "20", "--heartbeat", "0.3",
           "--scheduler", client.scheduler.address]
    env = _env()
    first = subprocess.Popen([*cmd, "--no-plot"], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while _completed(tmp_path / "sweep.db") < 1:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    done_before = _completed(tmp_path / "sweep.db")
    assert 1 <= done_before < 3

    second = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=240)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    assert _count(tmp_path / "sweep.db", "FAIL") >= 1  # the killed run's, failed as stale
    ran = int(second.stdout.split(" run now, 3 in the table")[0].split()[-2])
    assert ran >= 3 - done_before and _completed(tmp_path / "sweep.db") == 3
    lines = (tmp_path / "sweep.csv").read_text().splitlines()
    assert len(lines) == 4 and all(",complete," in line for line in lines[1:])
    assert (tmp_path / "sweep.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    command = second.stdout.split("reproduce: ", 1)[1].splitlines()[0].split()
    assert command[:2] == ["xmlp", "train"] and "--eta" in command
    assert " ".join(command).count("--batch-size 20") == 1 and "--scheduler" not in command


def test_sweep_without_dask_or_optuna_exits_1_with_the_pip_command(tmp_path):
    code = ("import sys; sys.modules['optuna'] = None; from xmlp.cli import main; "
            "sys.exit(main(['sweep', '--grid', 'eta=0.1,0.5']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "pip install 'xmlp[sweep]'" in proc.stderr and proc.stderr.count("\n") == 1


def test_cli_parses_options_as_xmlp_train_does(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a mistaken sweep would write nothing into the checkout
    from xmlp.cli import main
    from xmlp.cli import sweep_space as cmd

    actions = cmd.train_actions()
    assert cmd.parse_grid(["eta=0.1,1", "batch-size=10,20", "cost=quadratic"], actions) == {
        "eta": [0.1, 1.0], "batch_size": [10, 20], "cost": ["quadratic"]}
    assert cmd.parse_space(["eta=0.01:10:log", "epochs=1:5"], actions) == {
        "eta": (0.01, 10.0, "log"), "epochs": (1, 5)}
    for argv, message in ((["--grid", "etta=1,2"], "cannot sweep 'etta'"),
                          (["--grid", "eta=-1,2"], "expected a number > 0"),
                          (["--grid", "dataset=a,b"], "cannot sweep 'dataset'"),
                          (["--space", "eta=1:0.1"], "LO must be below HI"),
                          (["--space", "cost=a:b"], "a choice, not a range"),
                          (["--search", "grid", "--space", "lmbda=0:1"], "--search random"),
                          (["--grid", "eta=1", "--trials", "3"], "--trials is for"),
                          (["--epochs", "2"], "nothing to sweep")):
        assert main(["sweep", *argv]) == 2  # usage errors, as argparse reports them
        err = capsys.readouterr().err
        last = err.strip().splitlines()[-1]
        assert err.startswith("usage: xmlp sweep") and last.startswith("xmlp sweep: error: ")
        assert message in last, argv
