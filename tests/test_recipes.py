"""Tests for xmlp.recipes and its command-line functions.

Every quick variant runs on the embedded sample and must land in its recorded band.  No test
touches the network: MNIST's absence is simulated with empty directories and a download that
fails.
"""

from __future__ import annotations

import argparse
import re
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
    eta = recipes.get("ch3-eta")  # fig/multiple_eta.py: network2.Network([784, 30, 10])
    assert (eta.kind, eta.cost, eta.init, eta.hidden, eta.lmbda, eta.epochs,
            eta.batch_size, eta.train_size) == (
        "curves", "cross-entropy", "normalized", "sigmoid", 5.0, 30, 10, 50_000)
    assert [(m.sizes, m.eta, m.claims) for m in eta.members] == [
        ((784, 30, 10), 0.025, ("falls", "above")), ((784, 30, 10), 0.25, ("lowest",)),
        ((784, 30, 10), 2.5, ("rises", "above"))]
    ensemble, fc = recipes.get("ch6-ensemble"), recipes.get("ch6-fc")
    assert ensemble.network_options() == fc.network_options()
    assert ensemble.fit_options() == fc.fit_options()
    assert (ensemble.kind, ensemble.ensemble_size, ensemble.report, ensemble.evaluate_on,
            ensemble.published, ensemble.confirmed) == (
        "ensemble", 5, "final", "validation", None, False)
    assert "convolutional" in ensemble.note and "No published figure" in ensemble.note


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_every_recipe_has_the_fields(name):
    r = recipes.RECIPES[name]
    assert r.name == name and r.title and r.section
    assert r.chapter is None or r.chapter in (1, 2, 3, 4, 5, 6)
    assert r.members and bool(r.sizes) != bool(r.networks)
    assert r.init in INITIALISERS and r.kind in ("accuracy", "speed", "curves", "ensemble")
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
        elif r.kind == "curves":  # the last training cost, its claims, its eta
            assert m.claims and m.eta is not None and m.published is None
            margin = MARGIN["curves"]
            assert m.band == pytest.approx((min(m.seeds) / margin, max(m.seeds) * margin),
                                           abs=0.001)
        else:
            assert not m.speeds
            margin = MARGIN["accuracy"]
            assert m.band == pytest.approx((min(m.seeds) - margin, max(m.seeds) + margin),
                                           abs=1e-9)
        assert len(m.seeds) == 5
        net = xmlp.Network(**r.network_options(m.sizes), seed=0)  # the settings make one
        assert net.sizes == list(m.sizes)
    figures = [m.published for m in r.members
               if m.published is not None or m.speeds or m.claims]
    if not figures:
        assert r.note and not r.confirmed  # no figure: the note says why
    else:
        assert all(f is None or 0.9 < f < 1 for f in figures)
    assert r.measure.startswith({"speed": "speed", "curves": "training cost"}.get(
        r.kind, r.report_on))
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


def _recipe(**fields) -> recipes.Recipe:
    fields = {"name": "x", "title": "x", "chapter": 3, "section": "x", "cost": "quadratic",
              "eta": 1.0, "epochs": 1, "quick": recipes.Quick(epochs=1), **fields}
    return recipes.Recipe(**fields)


def _members(*etas, claims=(), sizes=(784, 30, 10)):
    return tuple(recipes.Member(sizes=sizes, eta=e, claims=claims, seeds=(0.7,),
                                band=(0.5, 0.9)) for e in etas)


def test_the_new_kinds_are_checked():
    """A curves recipe is one shape with an eta and known claims per network; claims
    belong to curves recipes; an ensemble is one network of two seeds or more."""
    assert _recipe(kind="curves", networks=_members(0.1, 1.0, claims=("falls",))).members
    with pytest.raises(ValueError, match="kind must be one of .*'curves', 'ensemble'"):
        _recipe(kind="curve", networks=_members(0.1, 1.0))
    with pytest.raises(ValueError, match="each one of .*'falls'"):
        _recipe(kind="curves", networks=_members(0.1, 1.0, claims=("smooth",)))
    with pytest.raises(ValueError, match="claims .* are for a curves recipe"):
        _recipe(networks=_members(0.1, claims=("falls",)))
    with pytest.raises(ValueError, match="each with its own eta"):
        _recipe(kind="curves", networks=_members(0.1, None))
    with pytest.raises(ValueError, match="one shape"):
        _recipe(kind="curves", networks=_members(0.1) + _members(1.0, sizes=(784, 10)))
    band = recipes.Quick(epochs=1, band=(0.5, 0.9))
    assert _recipe(kind="ensemble", sizes=(784, 10), quick=band).ensemble_size == 5
    with pytest.raises(ValueError, match="ensemble_size >= 2"):
        _recipe(kind="ensemble", sizes=(784, 10), quick=band, ensemble_size=1)
    with pytest.raises(ValueError, match="ensemble recipe trains one network"):
        _recipe(kind="ensemble", networks=_members(0.1, 1.0))
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        _recipe(kind="ensemble", sizes=(784, 10), quick=recipes.Quick(epochs=1,
                                                                      band=(0.5, 1.5)))


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
    if isinstance(result, recipes.CurvesResult):
        assert result.in_band and result.passed and result.quick
        assert result.final == pytest.approx([m.seeds[0] for m in result.recipe.members],
                                             abs=0.001)
        assert [len(c) for c in result.curves] == [result.recipe.quick.epochs] * 3
        return
    if isinstance(result, recipes.EnsembleResult):
        assert result.in_band and result.passed and result.quick
        assert result.accuracy == pytest.approx(result.recipe.quick.seeds[0], abs=0.015)
        assert len(result.results) == result.recipe.ensemble_size
        return
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


# ------------------------------------------------------------------------------ curves
#: The book's figure (images/multiple_eta.png, read off by eye to 0.01): training cost after
#: each of 30 epochs for eta 0.025, 0.25 and 2.5 on MNIST.
BOOK_CURVES = (
    (0.88, 0.675, 0.6, 0.555, 0.515, 0.495, 0.47, 0.46, 0.44, 0.43, 0.42, 0.415, 0.405, 0.4,
     0.39, 0.385, 0.38, 0.375, 0.37, 0.368, 0.365, 0.362, 0.358, 0.355, 0.352, 0.35, 0.348,
     0.345, 0.343, 0.34),
    (0.495, 0.405, 0.405, 0.37, 0.372, 0.372, 0.353, 0.355, 0.343, 0.343, 0.337, 0.345,
     0.335, 0.348, 0.348, 0.338, 0.328, 0.33, 0.33, 0.328, 0.327, 0.327, 0.32, 0.335, 0.34,
     0.325, 0.328, 0.325, 0.33, 0.34),
    (0.925, 0.84, 0.89, 0.8, 0.785, 1.14, 0.79, 0.77, 0.74, 0.8, 0.745, 0.74, 0.8, 0.85, 0.8,
     0.8, 0.805, 0.815, 0.825, 0.75, 0.94, 0.885, 0.86, 0.725, 0.805, 0.84, 0.835, 0.885,
     0.89, 0.86),
)


def _claims(recipe="ch3-eta"):
    return [m.claims for m in recipes.get(recipe).members]


def test_the_claims_hold_on_the_book_s_figure_and_fail_on_curves_that_contradict_it():
    """Each claim is a test on the curves that a wrong curve fails: the book's own figure
    passes them all (although its 0.025 and 0.25 curves meet at the last epoch)."""
    from xmlp.recipes._claims import check

    def passed(curves):
        return {(c.member, c.claim): c.passed for c in check(_claims(), curves)}

    assert all(passed(BOOK_CURVES).values())
    slow, best, wild = BOOK_CURVES
    assert BOOK_CURVES[0][-1] >= BOOK_CURVES[1][-1]  # the last epoch alone would not do
    bumpy = slow[:10] + (slow[10] + 0.02,) + slow[11:]  # one rise in 30 epochs
    assert passed((bumpy, best, wild)) == {**passed(BOOK_CURVES), (0, "falls"): False}
    # 0.025 ahead of 0.25 (as on Fashion-MNIST): it reaches the lowest cost, not 0.25
    low = tuple(c - 0.1 for c in slow)
    result = passed((low, best, wild))
    assert not result[(1, "lowest")] and not result[(0, "above")]
    assert result[(2, "above")] and result[(0, "falls")]
    steady = tuple(1.0 - 0.01 * e for e in range(30))  # 2.5 that neither rises nor lies above
    result = passed((slow, best, tuple(c - 0.8 for c in steady)))
    assert not result[(2, "rises")] and not result[(2, "above")]
    assert not result[(1, "lowest")]
    assert recipes.CLAIMS.keys() == {"falls", "lowest", "above", "rises"}
    with pytest.raises(ValueError, match="3 members' claims for 2 curves"):
        check(_claims(), BOOK_CURVES[:2])


def test_a_curves_recipe_is_one_population_of_its_etas_from_one_seed():
    """ch3-eta's networks: one seed, three etas, each the run of its own Network."""
    result = recipes.run("ch3-eta", quick=True, epochs=2, seed=3)
    assert isinstance(result, recipes.CurvesResult) and result.seed == 3
    assert result.etas == (0.025, 0.25, 2.5) and result.epochs == 2
    assert result.n_train == 4000 and result.dataset == "mnist-sample"
    train = recipes_sample()
    for k, eta in enumerate(result.etas):
        net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=3)
        history = net.fit(*train, epochs=2, batch_size=10, eta=eta, lmbda=0.4,
                          monitor=["training_cost"])
        assert result.curves[k] == pytest.approx(history.training_cost, rel=1e-5)
        assert result.histories[k].settings["eta"] == eta


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_book_s_claims_hold_on_the_sample_with_every_seed_of_the_band(seed):
    result = recipes.run("ch3-eta", quick=True, seed=seed)
    assert result.passed, [c for c in result.checks if not c.passed]
    assert result.in_band
    assert result.final == pytest.approx([m.seeds[seed] for m in result.recipe.members],
                                         abs=0.001)


def _curves_result(curves=BOOK_CURVES, **changes):
    fields = dict(recipe=recipes.get("ch3-eta"), curves=curves, seed=0, dataset="mnist",
                  quick=False, n_train=50_000, epochs=30, seconds=40.0, total_seconds=41.0,
                  backend="numpy", device="cpu", dtype="float32",
                  histories=tuple(History(seconds=[1.0] * 30) for _ in curves))
    fields.update(changes)
    return recipes.CurvesResult(**fields)


def test_format_curves():
    text = recipes.format_comparison(_curves_result())
    assert text.startswith("ch3-eta: network2: [784, 30, 10]")
    assert "chapter 3, How to choose a neural network's hyper-parameters?" in text
    header = next(line for line in text.splitlines() if line.rstrip().endswith("rises"))
    assert header.split()[:-1] == ["1", "5", "10", "15", "20", "25", "30"]
    assert "    eta 0.025     0.880  0.515  0.430" in text and "0 of 29" in text
    assert "    eta 2.5       0.925  0.785  0.800" in text
    assert text.count(" yes") == 5 and "NO" not in text and "quick band" not in text
    swapped = recipes.format_comparison(_curves_result(
        curves=(BOOK_CURVES[1], BOOK_CURVES[0], BOOK_CURVES[2])))
    assert re.search(r"eta 0\.25 +reaches the lowest cost +NO\n", swapped)
    assert "seed 0" in text and "3 networks as one population" in text


# ------------------------------------------------------------------------------ ensembles
def test_an_ensemble_recipe_is_its_members_and_the_mean_of_their_outputs():
    """ch6-ensemble: seeds 0-4 of ch6-fc's network as one population; each member is
    ch6-fc's run of its seed, the ensemble the population's mean output."""
    result = recipes.run("ch6-ensemble", quick=True, epochs=2, seed=2)
    assert isinstance(result, recipes.EnsembleResult)
    assert [r.seed for r in result.results] == [2, 3, 4, 5, 6]
    single = recipes.run("ch6-fc", quick=True, epochs=2, seed=4)
    assert result.results[2].curve == single.curve
    assert result.results[2].accuracy == single.curve[-1]  # after the last epoch
    assert result.epoch == 2 and result.accuracy == result.curve[-1] == result.final
    assert len(result.watched) == 2 and result.results[0].measured_on == "test"
    assert result.mean == pytest.approx(sum(result.accuracies) / 5)
    assert result.gap == pytest.approx(result.accuracy - result.mean)
    assert result.passed == (result.accuracy >= result.mean)
    assert all(r.band is None and r.in_band is None for r in result.results)
    with pytest.raises(ValueError, match="measures ensemble; run_band trains"):
        recipes.run_band("ch6-ensemble")
    data = xmlp.datasets.load("mnist-sample", validation=1000)
    pop = xmlp.Population([784, 100, 10], seeds=[2, 3, 4, 5, 6], output="softmax",
                          cost="log-likelihood")
    pop.fit(*data.train, epochs=2, batch_size=10, eta=0.1)
    assert result.accuracy == pop.accuracy(*data.test)
    assert result.vote == pop.accuracy(*data.test, vote=True)


def test_the_ensemble_check_fails_below_the_mean_member():
    def ensemble(accuracy, members=(0.90, 0.91, 0.92)):
        results = tuple(_result(accuracy=a, seed=k, curve=(a,), history=History(
            evaluation_accuracy=[a], seconds=[1.0])) for k, a in enumerate(members))
        return recipes.EnsembleResult(
            recipe=recipes.get("ch6-ensemble"), results=results, accuracy=accuracy, epoch=1,
            curve=(accuracy,), watched=(accuracy,), vote=accuracy, vote_epoch=1, quick=True)

    below, above = ensemble(0.885, members=(0.88, 0.89, 0.90)), ensemble(0.92)
    assert not below.passed and above.passed and ensemble(0.91).passed
    assert below.sd == pytest.approx(0.01) and below.gap == pytest.approx(-0.005)
    assert not below.in_band and above.in_band
    text = recipes.format_comparison(below)
    assert "ensemble - mean member -0.50 points: BELOW the mean member" in text
    assert "quick band  [89.50%, 93.10%] (the ensemble): OUTSIDE" in text
    assert "ensemble - mean member +1.00 points: at least" in recipes.format_comparison(above)
    assert "published   none: No published figure" in text and "1.00 pp" in text


def test_plots_of_the_new_kinds(tmp_path):
    pytest.importorskip("matplotlib")
    path = recipes.plot_result(_curves_result(), tmp_path / "eta.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    recipes.run("ch6-ensemble", quick=True, epochs=1, plot=tmp_path / "ensemble.png")
    assert (tmp_path / "ensemble.png").stat().st_size > 0


def test_cli_curves_and_ensembles(capsys, tmp_path):
    assert cli.run(_args("ch3-eta", "--quick", "--epochs", "2")) == 0
    out = capsys.readouterr().out
    assert "epoch 2/2  training cost  eta 0.025: " in out and "eta 2.5: " in out
    assert "network [" not in out and "the book (mnist), checked on this run:" in out
    assert cli.run(_args("ch6-ensemble", "--quick", "--epochs", "1", "--seed", "5")) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1  validation accuracy of the members " in out
    assert "seed 9" in out and "ensemble (mean output)" in out and "seeds 5-9" in out
    assert cli.run(_args("--list")) == 0
    out = capsys.readouterr().out
    assert "ch3-eta        ch. 3    curves" in out
    assert "mnist training cost after each epoch" in out
    assert "ch6-ensemble   ch. 6    -                         no figure" in out
