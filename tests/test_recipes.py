"""Tests for xmlp.recipes and its command-line functions.

Every quick variant runs on the embedded sample and must land in its recorded band.  No test
touches the network: MNIST's absence is simulated with empty directories and a download that
fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import xmlp
from xmlp import recipes
from xmlp.cli import main as xmlp_main
from xmlp.cli import reproduce as cli
from xmlp.datasets import DatasetNotFound, fetch
from xmlp.history import History
from xmlp.init import INITIALISERS
from xmlp.recipes._recipe import MARGIN

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
#: The book's figures (book-figures notes), by recipe name.
BOOK = {"ch1-30": 0.9542, "ch1-100": 0.9659, "ch3-30": 0.9549, "ch3-100": 0.9682,
        "ch3-l2-30": 0.9649, "ch3-l2": 0.9792, "ch3-l2-60": 0.9804, "ch6-fc": 0.9780}


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """One BLAS thread: the quick runs check numbers, not speed, and on a busy 2-core machine
    OpenBLAS's spin-waiting threads made them up to 20x slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """No cache, $XMLP_DATA or system directory holds MNIST, and every download fails."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XMLP_DATA", str(tmp_path / "xmlp-data"))
    monkeypatch.setattr(fetch, "SYSTEM_DIRS", {})
    opened = []

    def offline(url, timeout=None):
        opened.append(url)
        raise OSError("network unreachable")

    monkeypatch.setattr(fetch, "urlopen", offline)
    return opened


@pytest.fixture(scope="module")
def quick_ch1():
    return recipes.run("ch1-30", quick=True, seed=0)


# ------------------------------------------------------------------------------ the data
def test_the_book_s_recipes_and_figures():
    for name, figure in BOOK.items():
        recipe = recipes.get(name)
        assert recipe.published == figure and recipe.confirmed
        assert recipe.dataset == "mnist" and recipe.train_size == 50_000
        assert recipe.batch_size == 10
    assert list(recipes.RECIPES)[:2] == ["ch1-30", "ch1-100"]
    assert {"ch3-init", "softmax-11x11", "fashion-mnist"} <= set(recipes.RECIPES)
    depth, speed = recipes.get("ch5-depth"), recipes.get("ch5-speed")
    assert [m.sizes for m in depth.members] == [(784, *[30] * k, 10) for k in (1, 2, 3, 4)]
    assert [m.published for m in depth.members] == [0.9648, 0.9690, 0.9657, 0.9653]
    assert (depth.cost, depth.init, depth.eta, depth.lmbda, depth.epochs, depth.report_on) == (
        "cross-entropy", "normalized", 0.1, 5.0, 30, "validation")  # network2's defaults
    assert [m.speeds for m in speed.members] == [
        (0.07, 0.31), (0.012, 0.060, 0.283), (0.003, 0.017, 0.070, 0.285)]
    assert (speed.kind, speed.train_size, speed.batch_size, speed.epochs, speed.eta,
            speed.lmbda, speed.speed_seeds) == ("speed", 1000, 1000, 500, 0.1, 5.0, 10)
    ch1 = recipes.get("ch1-30")
    assert (ch1.sizes, ch1.cost, ch1.init, ch1.eta, ch1.epochs) == (
        (784, 30, 10), "quadratic", "large", 3.0, 30)
    assert recipes.get("ch3-30").eta == 0.5 and recipes.get("ch3-30").cost == "cross-entropy"
    l2 = recipes.get("ch3-l2")
    assert (l2.sizes, l2.lmbda, l2.epochs, l2.report_on) == ((784, 100, 10), 5.0, 30,
                                                            "validation")
    assert (recipes.get("ch3-l2-60").eta, recipes.get("ch3-l2-60").epochs) == (0.1, 60)
    ch6 = recipes.get("ch6-fc")
    assert (ch6.cost, ch6.output, ch6.epochs, ch6.evaluate_on, ch6.report_on) == (
        "log-likelihood", "softmax", 60, "validation", "test")
    assert recipes.get("softmax-11x11").downsample == 2
    assert recipes.get("softmax-11x11").sizes[0] == 121
    assert recipes.get("fashion-mnist").dataset == "fashion-mnist"
    assert recipes.get("ch3-init").published is None


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_every_recipe_has_the_fields(name):
    r = recipes.RECIPES[name]
    assert r.name == name and r.title and r.section
    assert r.chapter is None or r.chapter in (1, 2, 3, 4, 5, 6)
    assert r.members and bool(r.sizes) != bool(r.networks)
    assert r.init in INITIALISERS and r.kind in ("accuracy", "speed")
    assert r.eta > 0 and r.epochs >= 1 and r.batch_size >= 1 and r.lmbda >= 0
    assert 0 <= r.momentum < 1 and 0 <= r.dropout < 1
    assert r.report in ("best", "final") and r.evaluate_on in ("test", "validation")
    assert r.train_size + r.validation == 60_000 or r.kind == "speed"
    assert isinstance(r.confirmed, bool)
    q = r.quick
    assert 1 <= q.epochs <= 10
    for m in r.members:
        assert len(m.sizes) >= 2 and all(isinstance(s, int) and s > 0 for s in m.sizes)
        assert m.sizes[-1] == 10
        if r.kind == "speed":  # the book's hidden layers; the band of the last / first
            assert len(m.speeds) == len(m.sizes) - 2 and m.published is None
            margin = MARGIN["speed"]
            assert m.band == pytest.approx((min(m.seeds) / margin, max(m.seeds) * margin),
                                           abs=0.01)
        else:
            assert not m.speeds
            margin = MARGIN["accuracy"]
            assert m.band == pytest.approx((min(m.seeds) - margin, max(m.seeds) + margin),
                                           abs=1e-9)
        assert len(m.seeds) == 5
        net = xmlp.Network(**r.network_options(m.sizes), seed=0)  # the settings make one
        assert net.sizes == list(m.sizes)
    figures = [m.published for m in r.members if m.published is not None or m.speeds]
    if not figures:
        assert r.note and not r.confirmed  # no figure: the note says why
    else:
        assert all(f is None or 0.9 < f < 1 for f in figures)
    assert r.measure.startswith(r.report_on if r.kind == "accuracy" else "speed")
    assert set(r.fit_options()) >= {"epochs", "batch_size", "eta", "lmbda", "dropout"}


def test_recipes_are_frozen_and_checked():
    with pytest.raises(AttributeError):
        recipes.get("ch1-30").eta = 1.0
    q = recipes.Quick(epochs=1, band=(0.1, 0.2))
    with pytest.raises(ValueError, match="report"):
        recipes.Recipe(name="x", title="x", chapter=1, section="x", sizes=(784, 10),
                       cost="quadratic", eta=1.0, epochs=1, quick=q, report="peak")
    with pytest.raises(ValueError, match="validation"):
        recipes.Recipe(name="x", title="x", chapter=1, section="x", sizes=(784, 10),
                       cost="quadratic", eta=1.0, epochs=1, quick=q, evaluate_on="validation")


def test_the_table_is_data_read_into_recipes():
    """RECIPES is book.toml, read in its order; a table that is not a recipe is refused."""
    from importlib import resources

    from xmlp.recipes._recipe import read_table

    text = resources.files("xmlp.recipes").joinpath("book.toml").read_text(encoding="utf-8")
    assert read_table(text) == recipes.RECIPES
    assert [line[1:-1] for line in text.splitlines() if line.startswith("[")] == \
        list(recipes.RECIPES)
    one = text.split("\n[ch1-100]")[0]  # the comment and the first recipe
    assert list(read_table(one)) == ["ch1-30"]
    with pytest.raises(ValueError, match=r"recipe \[ch1-30\] is not a Recipe: .*'speed'"):
        read_table(one + "\nspeed = 3\n")
    with pytest.raises(ValueError, match=r"recipe \[x\] is not a Recipe: .*'quick'"):
        read_table('[x]\ntitle = "x"\n')


def test_get_errors():
    assert recipes.get("ch3-l2") is recipes.RECIPES["ch3-l2"]
    with pytest.raises(ValueError, match="did you mean 'ch1-30'") as excinfo:
        recipes.get("ch1-3O")
    assert all(name in str(excinfo.value) for name in recipes.RECIPES)
    with pytest.raises(ValueError, match="unknown recipe 'zzz'; known recipes: ch1-30"):
        recipes.get("zzz")
    with pytest.raises(TypeError, match="str"):
        recipes.get(30)


# ------------------------------------------------------------------------------ quick runs
@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_quick_variant_lands_in_its_band(name):
    result = recipes.run(name, quick=True, seed=0)
    if isinstance(result, recipes.SpeedResult):
        for k, m in enumerate(result.recipe.members):
            lo, hi = m.band
            assert lo <= result.ratio(k) <= hi, f"{name} {m.sizes}: {result.ratio(k)}"
            assert result.ratio(k) == pytest.approx(m.seeds[0], rel=0.01)
        assert result.in_band and result.quick and result.dataset == "mnist-sample"
        assert result.n_probe == 1000 and result.epochs == result.recipe.quick.epochs
        return
    parts = result.results if isinstance(result, recipes.Comparison) else (result,)
    assert len(parts) == len(result.recipe.members)
    for part, member in zip(parts, result.recipe.members):
        lo, hi = part.band
        assert lo <= part.accuracy <= hi, f"{name}: {part.accuracy} outside [{lo}, {hi}]"
        assert part.in_band and part.quick and part.dataset == "mnist-sample"
        assert part.accuracy == pytest.approx(member.seeds[0], abs=0.015)
        assert part.epochs == len(part.curve) == result.recipe.quick.epochs
        assert part.difference is None  # the sample is not the book's data
        assert part.n_measured == 1000 and part.backend == "numpy"
    assert result.in_band


def test_result_follows_the_book_s_measure(quick_ch1):
    r = quick_ch1
    assert r.accuracy == max(r.curve) and r.curve[r.epoch - 1] == r.accuracy
    assert r.history.evaluation_accuracy and r.measured_on == "test"
    assert r.seconds > 0 and r.total_seconds >= r.seconds and r.seed == 0
    assert r.dtype == "float32" and r.device == "cpu" and r.n_train == 4000
    ch6 = recipes.run("ch6-fc", quick=True, epochs=3)  # test accuracy at best validation
    best = max(range(3), key=lambda i: ch6.history.evaluation_accuracy[i])
    assert ch6.epoch == best + 1 and ch6.accuracy == ch6.curve[best]
    assert ch6.n_train == 3000 and ch6.measured_on == "test"


def test_run_options():
    r = recipes.run("softmax-11x11", quick=True, epochs=2, seed=3, dtype="float64")
    assert r.epochs == 2 and r.seed == 3 and r.dtype == "float64"
    with pytest.raises(ValueError, match="quick runs use the embedded"):
        recipes.run("ch1-30", quick=True, dataset="fashion-mnist")
    with pytest.raises(ValueError, match="unknown dataset"):
        recipes.run("ch1-30", dataset="cifar")
    with pytest.raises(ValueError, match="epochs"):
        recipes.run("ch1-30", quick=True, epochs=0)


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_a_book_recipe_on_fashion_mnist():
    r = recipes.run("ch3-30", dataset="fashion-mnist", epochs=1)
    assert r.dataset == "fashion-mnist" and r.n_train == 50_000 and r.n_measured == 10_000
    assert 0.7 < r.accuracy < 0.9 and r.difference is None
    assert "not comparable (run on fashion-mnist" in recipes.format_comparison(r)


def test_plot(tmp_path, quick_ch1):
    pytest.importorskip("matplotlib")
    path = recipes.plot_result(quick_ch1, tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    recipes.run("ch3-init", quick=True, epochs=1, plot=tmp_path / "init.png")
    assert (tmp_path / "init.png").stat().st_size > 0


def test_several_networks_and_speeds(tmp_path):
    """ch5-depth: one Result per network beside the book's figure; ch5-speed: the speeds at
    initialisation over the seeds beside the book's, and the training runs' figures."""
    depth = recipes.run("ch5-depth", quick=True, epochs=2)
    assert isinstance(depth, recipes.Comparison) and len(depth.results) == 4
    assert [r.member.sizes for r in depth.results] == [m.sizes for m in depth.recipe.members]
    assert all(r.final == r.curve[-1] and r.epochs == 2 for r in depth.results)
    text = recipes.format_comparison(depth)
    assert "[784, 30, 30, 30, 30, 10]" in text and "96.53%" in text and "after epoch 2" in text
    assert "not comparable (quick variant, the book used mnist)" in text
    speed = recipes.run("ch5-speed", quick=True, epochs=3, seed=5)
    assert speed.seeds == tuple(range(5, 15)) and speed.epochs == 3
    assert [len(c) for c in speed.curves] == [3, 4, 5]  # every layer, the output's last
    assert all(len(layer) == 3 for c in speed.curves for layer in c)
    for k, m in enumerate(speed.recipe.members):
        assert len(speed.initial[k]) == 10 and len(speed.mean(k)) == len(m.sizes) - 2
        first = xmlp.to_numpy(xmlp.Network(list(m.sizes), cost="cross-entropy", seed=5)
                              .learning_speed(*[a[:1000] for a in recipes_sample()]))
        assert speed.initial[k][0] == pytest.approx(first.tolist(), rel=1e-6)
        assert [layer[0] for layer in speed.curves[k]] == pytest.approx(first.tolist(),
                                                                         rel=1e-6)
    text = recipes.format_comparison(speed)
    assert "seeds 5-14" in text and "0.285" in text and "last / first" in text
    pytest.importorskip("matplotlib")
    assert recipes.plot_result(speed, tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert recipes.plot_result(depth, tmp_path / "d.png").stat().st_size > 0


def recipes_sample():
    return xmlp.datasets.load("mnist-sample").train


def test_importing_recipes_imports_no_plotting_library():
    code = ("import sys, xmlp, xmlp.recipes, xmlp.cli.reproduce; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------ MNIST missing
def test_missing_mnist_raises_data_missing_with_the_fix(no_mnist, tmp_path):
    with pytest.raises(recipes.DataMissing) as excinfo:
        recipes.run("ch1-30")
    exc = excinfo.value
    assert isinstance(exc, DatasetNotFound) and isinstance(exc, FileNotFoundError)
    assert no_mnist, "the download should have been tried"
    message = str(exc)
    assert message.startswith("MNIST is missing for recipe 'ch1-30'")
    assert "could not be downloaded" in message
    for fix in ("data_dir=DIR", "XMLP_DATA=DIR", "xmlp.datasets.load('mnist')",
                "dataset='fashion-mnist'", "quick=True", "mnist.pkl.gz",
                str(tmp_path / "xmlp-data" / "mnist")):
        assert fix in message
    assert "--quick" in exc.cli_message and "--dataset fashion-mnist" in exc.cli_message
    assert "--data-dir DIR" in exc.cli_message and exc.dataset == "mnist"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(recipes.DataMissing, match="downloads are off"):
        recipes.run("ch6-fc", data_dir=empty, download=False)


def test_missing_mnist_leaves_the_quick_variant_working(no_mnist):
    assert recipes.run("ch3-30", quick=True, epochs=1).accuracy > 0.5
    assert not no_mnist  # the embedded sample needs no download


# ------------------------------------------------------------------------------ reporting
def _result(**changes) -> recipes.Result:
    history = History(evaluation_accuracy=[0.95, 0.9551, 0.953], seconds=[1.0, 1.0, 1.0])
    fields = dict(recipe=recipes.get("ch3-30"), accuracy=0.9551, published=0.9549,
                  difference=0.9551 - 0.9549, epoch=2, epochs=3, seconds=3.2,
                  total_seconds=4.0, backend="torch", device="cuda:0", dtype="float32",
                  dataset="mnist", quick=False, measured_on="test", n_measured=10_000,
                  n_train=50_000, seed=0, curve=(0.95, 0.9551, 0.953), history=history)
    fields.update(changes)
    return recipes.Result(**fields)


def test_format_comparison():
    text = recipes.format_comparison(_result())
    lines = text.splitlines()
    assert lines[0].startswith("ch3-30: network2: [784, 30, 10], cross-entropy")
    assert "chapter 3, The cross-entropy cost function" in lines[1]
    assert "mnist, 50000 training images" in text
    assert " 95.49%  (test, best epoch, mnist)" in text
    assert " 95.51%  (test, epoch 2 of 3, 9551 / 10000)" in text
    assert "difference  +0.02 points" in text
    assert "epochs      3 (stopped by: epochs)" in text
    assert "time        3.2 s training, 4.0 s in all" in text
    assert "backend     torch, device cuda:0, float32, seed 0" in text
    assert "quick band" not in text


def test_format_comparison_quick_and_no_figure(quick_ch1):
    text = recipes.format_comparison(quick_ch1)
    assert "embedded sample, quick variant" in text
    assert "not comparable (quick variant" in text and "quick band  [" in text
    assert ": inside" in text
    fm = recipes.format_comparison(_result(recipe=recipes.get("fashion-mnist"), published=None,
                                           difference=None, dataset="fashion-mnist"))
    assert "published   none: Not from the book" in fm and "difference" not in fm
    assert "after epoch 3" in fm


# ------------------------------------------------------------------------------ command line
def _args(*argv: str) -> argparse.Namespace:
    return cli.add_arguments(argparse.ArgumentParser()).parse_args(list(argv))


def test_cli_list(capsys):
    assert cli.run(_args("--list")) == 0
    out = capsys.readouterr().out
    for name, recipe in recipes.RECIPES.items():
        assert name in out and recipe.title in out
    assert "ch1-30" in out and "95.42%" in out and "ch. 1" in out and "98.04%" in out
    assert "mnist validation, best epoch" in out and "no figure" in out


def test_cli_missing_mnist_is_one_line_exit_1(no_mnist, capsys):
    assert cli.run(_args("ch1-30")) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in captured.err + captured.out
    assert err.startswith("xmlp reproduce: error: MNIST is missing")
    assert "--dataset fashion-mnist" in err and "--quick" in err and "--data-dir" in err
    tried = len(no_mnist)
    assert tried > 0  # without --no-download the command tried the mirrors
    assert cli.run(_args("ch1-30", "--no-download")) == 1
    err = capsys.readouterr().err
    assert len(no_mnist) == tried and "downloads are off" in err  # no download this time


def test_cli_quick_run(capsys, tmp_path):
    assert cli.run(_args("ch1-30", "--quick", "--epochs", "2", "--quiet")) == 0
    out = capsys.readouterr().out
    assert out.startswith("ch1-30: network.py") and "epoch 2 of 2" not in out.splitlines()[0]
    assert "epoch 1/2" not in out  # --quiet: only the table
    assert cli.run(_args("softmax-11x11", "--quick", "--epochs", "1")) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1  test accuracy" in out and "published   none" in out


def test_cli_chapter_5(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pytest.importorskip("matplotlib")
    assert cli.run(_args("ch5-speed", "--quick", "--epochs", "2")) == 0
    out = capsys.readouterr().out
    assert out.count("before epoch 1/2  speed of learning of the hidden layers") == 3
    assert "network [784, 30, 30, 30, 30, 10]" in out
    assert "wrote the figures to ch5-speed.png" in out
    assert (tmp_path / "ch5-speed.png").stat().st_size > 0  # its result is its figures
    assert cli.run(_args("ch5-depth", "--quick", "--epochs", "1", "--quiet")) == 0
    out = capsys.readouterr().out
    assert out.startswith("ch5-depth:") and "96.90%" in out and "network [" not in out
    assert cli.run(_args("--list")) == 0
    assert "96.48/96.90/96.57/96.53%" in capsys.readouterr().out


def test_cli_usage_errors(capsys):
    assert cli.run(_args("ch9-99")) == 2
    assert "unknown recipe 'ch9-99'" in capsys.readouterr().err
    assert cli.run(_args()) == 2
    captured = capsys.readouterr()
    assert "ch1-30" in captured.out and "name a recipe" in captured.err
    assert xmlp_main(["reproduce", "--epochs", "0"]) == 2
    assert cli.run(_args("ch1-30", "--quick", "--backend", "nope")) == 1
    assert "nope" in capsys.readouterr().err


# ------------------------------------------------------------------------------ the band
def test_the_band_as_one_population_equals_the_single_runs():
    """run_band trains seeds 0-4 at once; each member is the run of its seed."""
    results = recipes.run_band("ch1-30")
    assert [r.seed for r in results] == [0, 1, 2, 3, 4]
    assert all(r.in_band and r.quick for r in results)
    for seed in (0, 3):
        single = recipes.run("ch1-30", quick=True, seed=seed)
        assert results[seed].accuracy == single.accuracy
        assert results[seed].curve == single.curve and results[seed].epoch == single.epoch
    separate = recipes.run_band("ch6-fc", seeds=[1], epochs=2)  # reports on another split
    assert separate[0].curve == recipes.run("ch6-fc", quick=True, seed=1, epochs=2).curve


def test_cli_quick_runs_the_band_as_one_population(capsys):
    from xmlp.cli import main

    assert main(["reproduce", "ch1-30", "--quick", "-q"]) == 0
    out = capsys.readouterr().out
    assert "seeds 0-4 trained as one population" in out
    rows = [line for line in out.splitlines() if line.rstrip().endswith(("inside", "OUTSIDE"))]
    assert len(rows) == 5 and all(line.rstrip().endswith("inside") for line in rows)
