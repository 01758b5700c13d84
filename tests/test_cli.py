"""End-to-end tests of the ``xmlp`` command on the embedded sample, in subprocesses.

train -> save -> evaluate -> predict, the --log / --jsonl / --plot / --misclassified outputs,
the error paths and exit codes, and Ctrl-C.  No test touches the network: every run uses the
embedded "mnist-sample" or files written to tmp_path, and the missing-dataset test passes
--no-download with $XMLP_DATA, $HOME and $XDG_CACHE_HOME pointed at empty directories.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xmlp
from xmlp import datasets
from xmlp.cli import main

PKG_ROOT = Path(xmlp.__file__).resolve().parent.parent  # the xmlp these tests imported
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL = ["--sizes", "784,16,10", "--seed", "1"]
TEST_COUNT = re.compile(r"^\s+test\s+1000\s+\S+%\s+\((\d+) / 1000\)$", re.M)
EVAL_COUNT = re.compile(r"^accuracy\s+\S+% \((\d+) / (\d+)\)$", re.M)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PKG_ROOT), env.get("PYTHONPATH", "")])
    for key in ("XMLP_TRACEBACK", "XMLP_DATA"):
        env.pop(key, None)
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


def xmlp_cmd(tmp_path: Path, *args: str, env: dict | None = None, timeout: float = 120):
    """Run ``python -m xmlp ARGS`` in tmp_path; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "xmlp", *args], cwd=tmp_path,
                          env=env or _env(tmp_path), capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(proc, code: int = 1) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("xmlp: error: ")
    return lines[0]


def assert_png(path: Path) -> np.ndarray:
    """A real PNG image that shows something (not one flat colour)."""
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) > 10
    return img


# ----------------------------------------------------------------- one shared training run
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two epochs on the sample in text mode, and the same run (same seed) with --jsonl."""
    pytest.importorskip("matplotlib")
    tmp = tmp_path_factory.mktemp("cli")
    text = xmlp_cmd(tmp, "train", "--epochs", "2", *SMALL, "--save", "model.json",
                    "--log", "history.csv", "--plot", "curves.png", "--progress")
    jsonl = xmlp_cmd(tmp, "train", "--epochs", "2", *SMALL, "--save", "model.npz",
                     "--log", "history.json", "--jsonl")
    return tmp, text, jsonl


def test_train_text_output(run):
    tmp, proc, _ = run
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "[784, 16, 10]" in out and "quadratic cost" in out  # the chapter-1 preset
    assert "evaluating each epoch on the test split" in out
    epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 2
    assert epochs[0].startswith("epoch 1/2") and " test cost " in epochs[0]
    assert re.search(r"training cost \d\.\d+ accuracy \d+\.\d\d%", epochs[1])
    assert "Final network (2 of 2 epochs" in out
    assert TEST_COUNT.search(out)
    assert re.search(r"^\s+best epoch\s+[12]\s", out, re.M)
    assert re.search(r"^\s+backend\s+numpy, device cpu, float32$", out, re.M)
    assert "\r" not in out  # the progress bar goes to stderr ...
    assert "batches" in proc.stderr and "samples/s" in proc.stderr  # ... forced by --progress
    assert (tmp / "model.json").stat().st_size > 0


def test_evaluate_reports_the_train_runs_test_accuracy(run):
    tmp, proc, jsonl = run
    trained = int(TEST_COUNT.search(proc.stdout).group(1))
    ev = xmlp_cmd(tmp, "evaluate", "model.json")
    assert ev.returncode == 0, ev.stderr
    correct, n = map(int, EVAL_COUNT.search(ev.stdout).groups())
    assert (correct, n) == (trained, 1000)
    # The confusion matrix: 10 class rows whose diagonal holds exactly the correct ones.
    rows = [line.split() for line in ev.stdout.splitlines() if re.match(r"^\d\s+\d", line)]
    assert len(rows) == 10
    matrix = np.array([[int(v) for v in r[1:11]] for r in rows])
    assert matrix.sum() == 1000 and np.trace(matrix) == correct
    assert [int(r[11]) for r in rows] == matrix.sum(axis=1).tolist()  # row totals
    # The .npz written by the --jsonl run evaluates to that run's summary.
    summary = json.loads(jsonl.stdout.splitlines()[-1])
    ev2 = xmlp_cmd(tmp, "evaluate", "model.npz")
    assert int(EVAL_COUNT.search(ev2.stdout).group(1)) == summary["test_correct"]


def test_jsonl_lines_parse_and_match_the_json_log(run):
    tmp, text, proc = run
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    objs = [json.loads(line) for line in lines]  # every stdout line is JSON
    assert [o["event"] for o in objs] == ["epoch", "epoch", "summary"]
    assert [o["epoch"] for o in objs[:2]] == [1, 2]
    for o in objs[:2]:
        assert o["evaluation"] == "test" and 0 <= o["evaluation_accuracy"] <= 1
        assert o["training_cost"] > 0 and o["seconds"] > 0 and o["eta"] == 3.0
    summary = objs[-1]
    assert summary["test_samples"] == 1000 and summary["backend"] == "numpy"
    assert "Final network" in proc.stderr  # the table goes to stderr in --jsonl mode
    log = json.loads((tmp / "history.json").read_text())
    assert log["format"] == "xmlp-history" and log["evaluation"] == "test"
    assert log["config"]["sizes"] == [784, 16, 10] and log["config"]["eta"] == 3.0
    assert log["epochs"] == [{k: v for k, v in o.items() if k not in ("event", "epochs",
                                                                    "evaluation")}
                             for o in objs[:2]]
    assert log["summary"]["test_correct"] == summary["test_correct"]
    # Same seed, same run: the text run's test count agrees.
    assert int(TEST_COUNT.search(text.stdout).group(1)) == summary["test_correct"]


def test_csv_log(run):
    tmp, _, proc = run
    with open(tmp / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "training_cost", "training_accuracy", "evaluation_cost",
                             "evaluation_accuracy", "seconds", "eta"]
    assert [r["epoch"] for r in rows] == ["1", "2"]
    epochs = [json.loads(line) for line in proc.stdout.splitlines()[:2]]
    for row, rec in zip(rows, epochs):  # the --jsonl run used the same seed
        for key in ("training_cost", "training_accuracy", "evaluation_accuracy"):
            assert float(row[key]) == pytest.approx(rec[key], rel=1e-12)


def test_plot_png(run):
    tmp, _, _ = run
    img = assert_png(tmp / "curves.png")
    assert img.shape[1] > img.shape[0]  # two panels side by side


def test_speed_of_learning_is_printed_logged_and_drawn(tmp_path):
    """--speed: chapter 5's speeds before every epoch, in the text, the logs and the plot."""
    pytest.importorskip("matplotlib")
    args = ["train", "--epochs", "2", "--sizes", "784,16,16,10", "--cost", "cross-entropy",
            "--eta", "0.1", "--speed"]
    proc = xmlp_cmd(tmp_path, *args, "--log", "h.csv", "--plot", "s.png")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "speed of learning" in line]
    assert len(lines) == 2
    assert re.fullmatch(r"  speed of learning before it: hidden \S+ \S+  output \S+",
                        lines[0])
    with open(tmp_path / "h.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [k for k in rows[0] if k.startswith("learning_speed")] == [
        "learning_speed_1", "learning_speed_2", "learning_speed_3"]
    first = [float(rows[0][f"learning_speed_{l}"]) for l in (1, 2, 3)]
    assert first[0] < first[1] < first[2]  # slower the further from the output
    img = assert_png(tmp_path / "s.png")
    assert img.shape[1] > 3 * img.shape[0]  # three panels side by side
    jsonl = xmlp_cmd(tmp_path, *args, "--jsonl", "--quiet")
    epochs = [json.loads(line) for line in jsonl.stdout.splitlines()[:2]]
    assert [len(e["learning_speed"]) for e in epochs] == [3, 3]
    assert epochs[0]["learning_speed"] == pytest.approx(first, rel=1e-6)


def test_misclassified_png(run):
    tmp, _, _ = run
    ev = xmlp_cmd(tmp, "evaluate", "model.json", "--misclassified", "wrong.png",
                  "--max-images", "12")
    assert ev.returncode == 0, ev.stderr
    assert re.search(r"wrote 12 of \d+ misclassified images to wrong.png", ev.stdout)
    assert_png(tmp / "wrong.png")


def test_predict_idx_and_png(run):
    import matplotlib.image as mpimg

    tmp, _, _ = run
    X, _ = datasets.load("mnist-sample").test
    images = np.round(X[:5] * 255).astype(np.uint8).reshape(5, 28, 28)
    datasets.write_idx(tmp / "five.idx.gz", images)
    # Dark ink on white paper, RGBA: predict converts to gray and inverts it.
    mpimg.imsave(tmp / "paper.png", 255 - images[3], cmap="gray", vmin=0, vmax=255)
    proc = xmlp_cmd(tmp, "predict", "model.json", "five.idx.gz", "paper.png")
    assert proc.returncode == 0, proc.stderr
    lines = [line.split("\t") for line in proc.stdout.splitlines()]
    assert [src for src, _, _ in lines] == [f"five.idx.gz[{i}]" for i in range(5)] + ["paper.png"]
    want = xmlp.to_numpy(xmlp.load(tmp / "model.json").predict(images.reshape(5, -1) / 255))
    assert [int(label) for _, label, _ in lines[:5]] == want.tolist()
    assert lines[5][1] == lines[3][1]  # the PNG is image 3
    assert all(name == label for _, label, name in lines)  # digits are named by themselves


def test_predict_names_classes_and_rejects_wrong_size(run):
    import matplotlib.image as mpimg

    tmp, _, _ = run
    mpimg.imsave(tmp / "big.png", np.zeros((32, 32)), cmap="gray")
    proc = xmlp_cmd(tmp, "predict", "model.json", "big.png")
    assert "resize it to 28x28" in assert_one_line_error(proc)
    X, _ = datasets.load("mnist-sample").test
    datasets.write_idx(tmp / "one.idx", np.round(X[0] * 255).astype(np.uint8).reshape(28, 28))
    proc = xmlp_cmd(tmp, "predict", "model.json", "one.idx", "--dataset", "fashion-mnist")
    label, name = proc.stdout.split("\t")[1:]
    fashion = datasets.DATASETS["fashion-mnist"].classes
    assert name.strip() == fashion[int(label)]


def test_evaluate_with_data_dir_and_class_names(run):
    """A tiny Fashion-MNIST-named dataset in --data-dir: the table names its classes."""
    tmp, _, _ = run
    rng = np.random.default_rng(0)
    d = tmp / "fake-fashion"
    d.mkdir()
    for prefix, n in (("train", 20), ("t10k", 30)):
        datasets.write_idx(d / f"{prefix}-images-idx3-ubyte.gz",
                           rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        datasets.write_idx(d / f"{prefix}-labels-idx1-ubyte.gz",
                           rng.integers(0, 10, n, dtype=np.uint8))
    ev = xmlp_cmd(tmp, "evaluate", "model.json", "--dataset", "fashion-mnist", "--data-dir",
                  str(d), "--no-download")
    assert ev.returncode == 0, ev.stderr
    assert "fashion-mnist test split, 30 samples" in ev.stdout
    assert "9 Ankle boot" in ev.stdout and "0 T-shirt/top" in ev.stdout
    ev = xmlp_cmd(tmp, "evaluate", "model.json", "--dataset", "fashion-mnist", "--data-dir",
                  str(d), "--split", "validation")
    assert "no validation split" in assert_one_line_error(ev)


# ----------------------------------------------------------------- other training modes
def test_downsample_softmax_early_stopping_and_inferred_fold(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", "--downsample", "2", "--sizes", "121,10,10", "--cost",
                    "log-likelihood", "--epochs", "3", "--validation", "0.25",
                    "--early-stopping", "5", "--quiet", "--save", "small.npz")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # --quiet
    ev = xmlp_cmd(tmp_path, "evaluate", "small.npz", "--split", "validation",
                  "--validation", "0.25")
    assert ev.returncode == 0, ev.stderr
    assert "validation split, 1000 samples, downsampled by 2" in ev.stdout
    assert "softmax output, log-likelihood cost" in ev.stdout


def test_divergence_is_one_line_and_keeps_the_log(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", "--hidden", "relu", "--output", "identity", "--eta",
                    "50", "--epochs", "3", "--quiet", "--save", "never.json", "--log", "d.json")
    assert "diverged" in assert_one_line_error(proc)
    assert not (tmp_path / "never.json").exists()
    assert json.loads((tmp_path / "d.json").read_text())["summary"]["stop_reason"] == "diverged"


def _sigint_default() -> None:
    """A shell that starts jobs in the background (``cmd &``, nohup) makes them ignore
    SIGINT, and the child would inherit that: give it the default disposition, so that its
    Python turns SIGINT into KeyboardInterrupt as it does under a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_saves_and_exits_130(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "xmlp", "train", "--epochs", "10000", "--sizes",
         "784,10,10", "--save", "net.npz", "--log", "h.csv"],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_sigint_default)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("epoch "):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    out = "".join(seen) + out
    assert "interrupted" in out and "stopped by: interrupted" in out
    done = int(re.search(r"Final network \((\d+) of 10000 epochs", out).group(1))
    assert 1 <= done < 10000
    net = xmlp.load(tmp_path / "net.npz")
    assert net.sizes == [784, 10, 10]
    assert len((tmp_path / "h.csv").read_text().splitlines()) == done + 1


def test_other_backends(tmp_path):
    """One short run on each other backend under test (conftest's rule: XMLP_BACKENDS, or
    when unset every available one); a backend that was asked for must work."""
    import backends

    raw = os.environ.get("XMLP_BACKENDS", "").strip()
    wanted = [n.strip() for n in raw.split(",")] if raw else list(backends.NAMES)
    names = [n for n in backends.NAMES if n != "numpy" and n in wanted
             and (raw or backends.get(n).available()[0])]
    if not names:
        pytest.skip("no backend other than numpy under test")
    for name in names:
        device = ["--device", "device1"] if name == "array_api_strict" else []
        proc = xmlp_cmd(tmp_path, "train", "--backend", name, *device, "--epochs", "1",
                        "--sizes", "784,10,10", "--save", f"{name}.json")
        assert proc.returncode == 0, proc.stderr
        assert re.search(rf"^\s+backend\s+{name}, device ", proc.stdout, re.M)
        assert xmlp.load(tmp_path / f"{name}.json").sizes == [784, 10, 10]


# ----------------------------------------------------------------- errors and exit codes
def test_unknown_backend_is_exit_1(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", "--backend", "nope", "--epochs", "1")
    assert "unknown backend 'nope'" in assert_one_line_error(proc)


def test_bad_option_is_exit_2(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", "--no-such-option")
    assert proc.returncode == 2 and "unrecognized arguments" in proc.stderr
    proc = xmlp_cmd(tmp_path, "train", "--epochs", "0")
    assert proc.returncode == 2 and "--epochs" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_misspelt_option_shows_the_commands_usage_and_the_closest_option(capsys):
    assert main(["train", "--etaa", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: xmlp train ")
    assert err.strip().endswith(
        "xmlp train: error: unrecognized arguments: --etaa 3 (did you mean --eta?)")
    assert main(["evaluate", "net.json", "--splitt=test"]) == 2
    assert "(did you mean --split?)" in capsys.readouterr().err
    assert main(["train", "--zzzzzz"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --zzzzzz" in err and "did you mean" not in err


def test_misspelt_command_shows_the_usage_and_the_closest_command(capsys):
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: xmlp ")
    last = err.strip().splitlines()[-1]
    assert last.startswith("xmlp: error: argument COMMAND: invalid choice: 'trian', did you "
                           "mean 'train'? (choose from "), last
    assert main(["reproduse", "--list"]) == 2
    assert "did you mean 'reproduce'?" in capsys.readouterr().err
    assert main(["zzzz"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'zzzz'" in err and "did you mean" not in err


def test_adam_from_the_command_line_equals_the_library(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", "--optimizer", "adam", "--beta2", "0.99", "--epochs",
                    "2", "--hidden", "relu", "--cost", "log-likelihood", "--jsonl", "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    data = xmlp.datasets.load("mnist-sample")
    net = xmlp.Network([784, 30, 10], hidden="relu", cost="log-likelihood", init="large",
                       seed=0)
    net.fit(*data.train, epochs=2, batch_size=10, eta=0.001, optimizer="adam", beta2=0.99,
            monitor=())
    assert summary["test_accuracy"] == net.accuracy(*data.test)


def test_shift_flip_and_anneal_from_the_command_line_equal_the_library(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", "--shift", "1", "--flip", "--anneal", "cosine",
                    "--epochs", "2", *SMALL)
    assert proc.returncode == 0, proc.stderr
    assert "shifts up to 1 px, left-right flips, cosine annealing" in proc.stdout
    etas = re.findall(r"^epoch \d/2 .*  eta (\S+)$", proc.stdout, re.M)
    assert [float(e) for e in etas] == [3.0, 1.5]  # the sample preset's eta, then half
    data = xmlp.datasets.load("mnist-sample")
    net = xmlp.Network([784, 16, 10], cost="quadratic", init="large", seed=1)
    net.fit(*data.train, epochs=2, batch_size=10, eta=3.0, shift=1, flip=True,
            anneal="cosine", monitor=())
    assert int(TEST_COUNT.search(proc.stdout).group(1)) == round(net.accuracy(*data.test) * 1000)
    bad = xmlp_cmd(tmp_path, "train", "--shift", "-1")
    assert bad.returncode == 2 and "expected an integer >= 0, got '-1'" in bad.stderr


def test_missing_dataset_offline_is_one_line_saying_where(tmp_path):
    empty = tmp_path / "empty"
    for sub in ("data", "home", "cache"):
        (empty / sub).mkdir(parents=True)
    env = _env(tmp_path, XMLP_DATA=str(empty / "data"), HOME=str(empty / "home"),
               XDG_CACHE_HOME=str(empty / "cache"))
    proc = xmlp_cmd(tmp_path, "train", "--dataset", "mnist", "--no-download", env=env)
    line = assert_one_line_error(proc)
    assert "dataset 'mnist' was not found" in line
    assert str(empty / "data" / "mnist") in line and "train-images-idx3-ubyte.gz" in line


def test_runtime_errors_in_process(tmp_path, capsys):
    (tmp_path / "broken.json").write_text("{not json")
    cases = [
        (["evaluate", str(tmp_path / "missing.json")], "not found"),
        (["evaluate", str(tmp_path / "broken.json")], "not a readable network file"),
        (["train", "--log", str(tmp_path / "h.txt")], "must end in .json or .csv"),
        (["train", "--save", str(tmp_path / "no" / "dir.json")], "does not exist"),
        (["train", "--sizes", "100,10"], "use --sizes 784,10"),
        (["train", "--sizes", "784,10,3"], "10 classes"),
        (["train", "--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["train", "--device", "gpu7"], "unknown device 'gpu7'"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("xmlp: error: ") and message in err, (argv, err)
        assert err.count("\n") == 1
    # An output that cannot be written is reported; the others are still written.
    log = tmp_path / "h.csv"
    assert main(["train", "--epochs", "1", "--sizes", "784,5,10", "--quiet", "--save",
                 str(tmp_path / "gone" / "x.json"), "--log", str(log)]) == 1
    assert "does not exist" in capsys.readouterr().err and not log.exists()  # checked first
    if Path("/proc/self").is_dir():  # Linux: a directory where no file can be created
        assert main(["train", "--epochs", "1", "--sizes", "784,5,10", "--quiet", "--save",
                     "/proc/xmlp-test.json", "--log", str(log)]) == 1
        assert "--save /proc/xmlp-test.json: cannot write in /proc" in capsys.readouterr().err
        assert not log.exists()  # found by a probe file before training: nothing ran
    assert main(["train", "--batch-size", "x"]) == 2
    assert main(["--version"]) == 0
    assert xmlp.__version__ in capsys.readouterr().out


def test_missing_matplotlib_is_exit_1(tmp_path):
    fake = tmp_path / "nompl"
    fake.mkdir()
    (fake / "matplotlib.py").write_text("raise ImportError('matplotlib hidden by the test')\n")
    env = _env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(fake), env["PYTHONPATH"]])
    proc = xmlp_cmd(tmp_path, "train", "--epochs", "1", "--plot", "c.png", env=env)
    assert "install 'xmlp[plot]'" in assert_one_line_error(proc)
    assert not (tmp_path / "c.png").exists()


def test_info_lists_backends_and_versions(tmp_path):
    import numpy

    proc = xmlp_cmd(tmp_path, "info")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith(f"xmlp {xmlp.__version__}")
    assert f"numpy {numpy.__version__}" in out and "array-api-compat" in out
    for name in xmlp.backend.BACKENDS:
        assert re.search(rf"^  {name}\s", out, re.M), name
    assert re.search(r"^  numpy\s+\S+\s+devices: cpu", out, re.M)
    assert re.search(r"^  mnist-sample\s+embedded$", out, re.M)


def test_train_compiled_reports_compile_time_and_caches_the_programs(tmp_path):
    """--backend jax compiles by default; the summary says how long compiling took, and
    JAX's persistent cache (under XDG_CACHE_HOME/xmlp/jax) spares a second process most of
    it.  --compile on a backend that cannot compile is one error line."""
    import conftest

    conftest._case("jax", "cpu-compiled")
    env = _env(tmp_path)
    runs = []
    for _ in range(2):
        proc = xmlp_cmd(tmp_path, "train", "--backend", "jax", "--epochs", "1", "--jsonl",
                        "--quiet", *SMALL, env=env)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert runs[0]["compile_seconds"] > 0
    assert list((tmp_path / "cache" / "xmlp" / "jax").iterdir()), "nothing was cached"
    assert runs[1]["compile_seconds"] < runs[0]["compile_seconds"]
    assert runs[1]["test_correct"] == runs[0]["test_correct"]
    eager = xmlp_cmd(tmp_path, "train", "--backend", "jax", "--no-compile", "--epochs", "1",
                     "--jsonl", "--quiet", *SMALL, env=env)
    assert eager.returncode == 0, eager.stderr
    summary = json.loads(eager.stdout.strip().splitlines()[-1])
    assert summary["compile_seconds"] == 0
    assert abs(summary["test_correct"] - runs[0]["test_correct"]) <= 2  # float32 sums
    line = assert_one_line_error(xmlp_cmd(tmp_path, "train", "--backend", "numpy",
                                          "--compile", "--epochs", "1", *SMALL, env=env))
    assert "jax" in line


# ----------------------------------------------------------------- several members
def test_seeds_train_a_population_one_row_per_member(tmp_path):
    """--seeds 0-4: five rows, the spread and the ensemble; each member's test accuracy is
    what `xmlp train --seed K` prints."""
    proc = xmlp_cmd(tmp_path, "train", "--seeds", "0-4", "--epochs", "2", *SMALL[:2],
                    "--log", "members.json", "--plot", "members.png", "--save", "pop")
    assert proc.returncode == 0, proc.stderr
    rows = re.findall(r"^  ([0-4])\s+([0-4])\s+(\S+)%\s+(\S+)%\s+2\s+epochs$", proc.stdout, re.M)
    assert [int(r[0]) for r in rows] == [0, 1, 2, 3, 4]
    for label in ("mean", "sd", "std. error", "ensemble"):
        assert re.search(rf"^  {re.escape(label)}\s+\S+", proc.stdout, re.M), label
    single = xmlp_cmd(tmp_path, "train", "--seed", "3", "--epochs", "2", *SMALL[:2])
    correct = int(TEST_COUNT.search(single.stdout).group(1))
    assert float(rows[3][3]) == pytest.approx(correct / 10)  # percent of 1000
    doc = json.loads((tmp_path / "members.json").read_text())
    assert len(doc["members"]) == 5 and doc["summary"]["ensemble"]["test"] > 0
    assert (tmp_path / "members.png").read_bytes().startswith(PNG_SIGNATURE)
    assert xmlp.load_population(tmp_path / "pop").seeds == [0, 1, 2, 3, 4]


def test_a_list_of_eta_is_a_grid_on_one_seed(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", "--eta", "0.025,0.25,2.5", "--cost", "cross-entropy",
                    "--epochs", "1", *SMALL, "--jsonl", "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert [m["eta"] for m in summary["members"]] == [0.025, 0.25, 2.5]
    assert {m["seed"] for m in summary["members"]} == {1}


@pytest.mark.parametrize("args,message", [
    (["--seeds", "0-4", "--eta", "0.1,0.2"], "--eta has 2, --seeds has 5"),
    (["--seeds", "2-1"], "expected seeds such as 0-4"),
    (["--seeds", "0-1", "--batch-size", "10,20"], "--batch-size: expected a positive"),
])
def test_member_lists_that_cannot_be_are_usage_errors(tmp_path, args, message):
    proc = xmlp_cmd(tmp_path, "train", "--epochs", "1", *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
