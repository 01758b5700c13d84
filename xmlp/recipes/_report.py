"""A run next to the book: the closing table (:func:`format_comparison`) and the learning
curve with the published figure (:func:`plot_result`; matplotlib only when called)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._claims import rises
from ._results import Comparison, CurvesResult, EnsembleResult, Result, SpeedResult

__all__ = ["format_comparison", "plot_result"]


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


AnyResult = Result | Comparison | SpeedResult | CurvesResult | EnsembleResult


def format_comparison(result: AnyResult) -> str:
    """The closing table: published figure, ours, difference, epochs, time, backend (for
    several networks, one row each; for a speed recipe, the speeds beside the book's; for
    a curves recipe, the costs at a few epochs and the book's claims checked; for an
    ensemble recipe, each member, their mean and spread, and the ensemble)."""
    if isinstance(result, Comparison):
        return _format_networks(result)
    if isinstance(result, SpeedResult):
        return _format_speeds(result)
    if isinstance(result, CurvesResult):
        return _format_curves(result)
    if isinstance(result, EnsembleResult):
        return _format_ensemble(result)
    r, recipe = result, result.recipe
    where = (f"chapter {recipe.chapter}, {recipe.section}" if recipe.chapter
             else recipe.section)
    data = (f"{r.dataset}, {r.n_train} training images"
            + (" (embedded sample, quick variant)" if r.quick else ""))
    if recipe.expand and not (r.quick and recipe.quick.expand is False):
        data += " (expanded x5)"
    lines = [f"{recipe.name}: {recipe.title}", f"  from        {where}",
             f"  data        {data}"]
    if recipe.published is None:
        lines.append("  published   none: " + recipe.note.split(". ")[0].rstrip("."))
    else:
        lines.append(f"  published   {_pct(recipe.published):>7}  ({recipe.measure}, "
                     f"{recipe.dataset}"
                     + ("" if recipe.confirmed else "; not confirmed against the book")
                     + ")")
    lines.append(f"  this run    {_pct(r.accuracy):>7}  ({r.measured_on}, "
                 + (f"epoch {r.epoch} of {r.epochs}" if recipe.report == "best"
                    else f"after epoch {r.epochs}")
                 + f", {round(r.accuracy * r.n_measured)} / {r.n_measured})")
    if r.difference is not None:
        lines.append(f"  difference  {100 * r.difference:+.2f} points")
    elif recipe.published is not None:
        why = "quick variant" if r.quick else f"run on {r.dataset}"
        lines.append(f"  difference  not comparable ({why}, the book used "
                     f"{recipe.dataset})")
    if r.band is not None:
        lo, hi = r.band
        verdict = "inside" if r.in_band else "OUTSIDE"
        lines.append(f"  quick band  [{_pct(lo)}, {_pct(hi)}]: {verdict}")
    lines.append(f"  epochs      {r.epochs} (stopped by: "
                 f"{r.history.stop_reason.replace('_', ' ')})")
    lines.append(f"  time        {r.seconds:.1f} s training, {r.total_seconds:.1f} s in all")
    lines.append(f"  backend     {r.backend}, device {r.device}, {r.dtype}, seed {r.seed}")
    return "\n".join(lines)


def _header(recipe, data: str) -> list[str]:
    where = (f"chapter {recipe.chapter}, {recipe.section}" if recipe.chapter
             else recipe.section)
    return [f"{recipe.name}: {recipe.title}", f"  from        {where}",
            f"  data        {data}"]


def _format_networks(comparison: Comparison) -> str:
    """A recipe of several networks: each one's accuracy after the last epoch and at the
    best one beside the book's figure."""
    recipe, results = comparison.recipe, comparison.results
    first = results[0]
    lines = _header(recipe, f"{first.dataset}, {first.n_train} training images"
                    + (" (embedded sample, quick variant)" if first.quick else ""))
    book = f"book ({recipe.dataset})"
    width = max(len(str(list(r.member.sizes if r.member else recipe.sizes))) for r in results)
    lines.append(f"  {'network':<{width}}  {book:>13}  {'after epoch ' + str(first.epochs):>14}"
                 f"  {'best (epoch)':>15}  {'difference':>10}"
                 + ("  quick band" if first.quick else ""))
    for r in results:
        sizes = str(list(r.member.sizes if r.member else recipe.sizes))
        published = "-" if r.published is None else _pct(r.published)
        best = r.curve[r.epoch - 1] if recipe.report == "best" else max(r.curve)
        at = r.epoch if recipe.report == "best" else r.curve.index(best) + 1
        diff = "-" if r.difference is None else f"{100 * r.difference:+.2f}"
        line = (f"  {sizes:<{width}}  {published:>13}  {_pct(r.final):>14}  "
                f"{_pct(best) + f' ({at})':>15}  {diff:>10}")
        if r.band is not None:
            lo, hi = r.band
            line += f"  [{_pct(lo)}, {_pct(hi)}] " + ("inside" if r.in_band else "OUTSIDE")
        lines.append(line)
    lines.append(f"  measured on {first.measured_on} images ({first.n_measured}); the book's: "
                 f"{recipe.measure}" + ("" if recipe.confirmed
                                        else "; not confirmed against the book"))
    if first.difference is None and any(r.published is not None for r in results):
        why = "quick variant" if first.quick else f"run on {first.dataset}"
        lines.append(f"  difference  not comparable ({why}, the book used {recipe.dataset})")
    lines.append(f"  epochs      {first.epochs} each (stopped by: "
                 + ", ".join(sorted({r.history.stop_reason.replace('_', ' ')
                                     for r in results})) + ")")
    lines.append(f"  time        {sum(r.seconds for r in results):.1f} s training, "
                 f"{max(r.total_seconds for r in results):.1f} s in all")
    lines.append(f"  backend     {first.backend}, device {first.device}, {first.dtype}, "
                 f"seed {first.seed}")
    return "\n".join(lines)


def _speed(x: float) -> str:
    return f"{x:.3g}"


def _format_speeds(result: SpeedResult) -> str:
    """A speed recipe: each network's hidden layers' speeds at initialisation (mean and
    standard deviation over the seeds) beside the book's, and how many times faster the
    last hidden layer learns than the first."""
    recipe, r = result.recipe, result
    seeds = (f"seeds {r.seeds[0]}-{r.seeds[-1]}" if r.seeds[0] is not None
             else f"{len(r.seeds)} random seeds")
    lines = _header(recipe, f"the first {r.n_probe} training images of {r.dataset}"
                    + (" (embedded sample, quick variant)" if r.quick else ""))
    lines.append(f"  speeds of learning at initialisation, over {seeds}; the book's: one "
                 f"unseeded run on {recipe.dataset}")
    layers = max(len(m.sizes) - 2 for m in recipe.members)
    w = 11

    def row(label: str, values: Sequence[float], ratio: float | None) -> str:
        cells = "".join(f"{_speed(v):>{w}}" for v in values) + " " * w * (layers - len(values))
        return (f"    {label:<24}{cells}"
                + ("" if ratio is None else f"{ratio:>{w + 3}.1f}")).rstrip()

    for k, member in enumerate(recipe.members):
        lines.append(f"  {str(list(member.sizes)):<26}"
                     + "".join(f"{'hidden ' + str(l + 1):>{w}}" for l in range(layers))
                     + f"{'last / first':>{w + 3}}")
        if member.speeds:
            lines.append(row("book", member.speeds, member.speeds[-1] / member.speeds[0]))
        lines.append(row("ours: mean", r.mean(k), r.ratio(k)))
        lines.append(row("standard deviation", r.spread(k), None))
    if r.quick:
        for k, member in enumerate(recipe.members):
            if member.band is not None:
                lo, hi = member.band
                lines.append(f"  quick band  {list(member.sizes)}: last / first "
                             f"{r.ratio(k):.1f} in [{lo:g}, {hi:g}]: "
                             + ("inside" if lo <= r.ratio(k) <= hi else "OUTSIDE"))
    fit = recipe.fit_options()
    lines.append(f"  training    {r.epochs} epochs of gradient descent on those {r.n_probe} "
                 f"images (mini-batch {fit['batch_size']}, eta {fit['eta']:g}, lmbda "
                 f"{fit['lmbda']:g}), seed {r.seeds[0]}: the speeds before each epoch, "
                 "drawn as the book's figures")
    lines.append(f"  time        {r.seconds:.1f} s training, {r.total_seconds:.1f} s in all")
    lines.append(f"  backend     {r.backend}, device {r.device}, {r.dtype}")
    return "\n".join(lines)


def shown_epochs(epochs: int) -> list[int]:
    """The epochs (1-based) whose costs a curves table shows: every one up to 10, else the
    first, every fifth and the last."""
    if epochs <= 10:
        return list(range(1, epochs + 1))
    return sorted({1, epochs, *range(5, epochs + 1, 5)})


def _format_curves(result: CurvesResult) -> str:
    """A curves recipe: each network's training cost at a few epochs and how often it
    rose, then the book's claims about the curves, each checked."""
    recipe, r = result.recipe, result
    lines = _header(recipe, f"{r.dataset}, {r.n_train} training images"
                    + (" (embedded sample, quick variant)" if r.quick else ""))
    epochs = shown_epochs(r.epochs)
    w = 7
    lines.append("  training cost after epoch (with the L2 term; seed "
                 f"{r.seed if r.seed is not None else 'random'} for every eta)")
    lines.append(f"    {'':<12}" + "".join(f"{e:>{w}}" for e in epochs) + "  rises")
    for eta, curve in zip(r.etas, r.curves):
        cells = "".join(f"{curve[e - 1]:>{w}.3f}" if e <= len(curve) else f"{'-':>{w}}"
                        for e in epochs)
        lines.append(f"    {'eta ' + f'{eta:g}':<12}{cells}  {rises(curve):>2} of "
                     f"{max(0, len(curve) - 1)}")
    lines.append(f"  the book ({recipe.dataset}), checked on this run:")
    for c in r.checks:
        lines.append(f"    eta {r.etas[c.member]:<6g} {c.text:<38} "
                     + ("yes" if c.passed else "NO"))
    if r.quick:
        for eta, m, cost in zip(r.etas, recipe.members, r.final):
            if m.band is not None:
                lo, hi = m.band
                lines.append(f"  quick band  eta {eta:g}: last cost {cost:.3f} in "
                             f"[{lo:g}, {hi:g}]: "
                             + ("inside" if lo <= cost <= hi else "OUTSIDE"))
    stops = sorted({h.stop_reason.replace("_", " ") for h in r.histories})
    lines.append(f"  epochs      {r.epochs} (stopped by: {', '.join(stops)})")
    lines.append(f"  time        {r.seconds:.1f} s training ({len(r.curves)} networks as one "
                 f"population), {r.total_seconds:.1f} s in all")
    lines.append(f"  backend     {r.backend}, device {r.device}, {r.dtype}, seed {r.seed}")
    return "\n".join(lines)


def _format_ensemble(result: EnsembleResult) -> str:
    """An ensemble recipe: each member's accuracy, their mean and standard deviation, and
    the ensemble's, by the recipe's measure and by the other one (after the last epoch /
    at the best epoch of the watched split), with the ensemble's gain over the mean."""
    recipe, r = result.recipe, result
    first = r.results[0]
    lines = _header(recipe, f"{first.dataset}, {first.n_train} training images"
                    + (" (embedded sample, quick variant)" if r.quick else ""))
    if recipe.published is None:
        lines.append("  published   none: " + recipe.note.split(". ")[0].rstrip("."))
    final = recipe.report == "final"
    last = f"after epoch {first.epochs}"
    best = f"at the best {recipe.evaluate_on} epoch"
    heads = (last, best) if final else (best, last)
    w = max(len(h) for h in heads) + 2

    def other(curve: tuple[float, ...], watched) -> tuple[float, int]:
        """The accuracy by the measure the recipe does not report, and its epoch."""
        at = int(np.argmax(watched)) if final else len(curve) - 1
        return curve[at], at + 1

    def cell(accuracy: float, epoch: int | None = None) -> str:
        return _pct(accuracy) + ("" if epoch is None else f" ({epoch})")

    lines.append(f"  {first.measured_on} accuracy ({first.n_measured} images)"
                 f" -- the measure: {heads[0]}")
    lines.append(f"    {'':<24}" + "".join(f"{h:>{w}}" for h in heads))
    others = []
    for m in r.results:
        value, at = other(m.curve, m.history.evaluation_accuracy)
        others.append(value)
        lines.append(f"    {'seed ' + str(m.seed):<24}"
                     f"{cell(m.accuracy, None if final else m.epoch):>{w}}"
                     f"{cell(value, at if final else None):>{w}}")
    k = len(others)
    spread = float(np.std(others, ddof=1)) if k > 1 else 0.0
    lines.append(f"    {'mean member':<24}{_pct(r.mean):>{w}}{_pct(sum(others) / k):>{w}}")
    lines.append(f"    {'standard deviation':<24}{f'{100 * r.sd:.2f} pp':>{w}}"
                 f"{f'{100 * spread:.2f} pp':>{w}}")
    value, at = other(r.curve, r.watched)
    lines.append(f"    {'ensemble (mean output)':<24}"
                 f"{cell(r.accuracy, None if final else r.epoch):>{w}}"
                 f"{cell(value, at if final else None):>{w}}")
    lines.append(f"    {'ensemble (vote)':<24}"
                 f"{cell(r.vote, None if final else r.vote_epoch):>{w}}")
    lines.append(f"  check       ensemble - mean member {100 * r.gap:+.2f} points: "
                 + ("at least the mean member" if r.passed else "BELOW the mean member"))
    if r.band is not None:
        lo, hi = r.band
        lines.append(f"  quick band  [{_pct(lo)}, {_pct(hi)}] (the ensemble): "
                     + ("inside" if r.in_band else "OUTSIDE"))
    lines.append(f"  epochs      {first.epochs} each (stopped by: "
                 + ", ".join(sorted({m.history.stop_reason.replace('_', ' ')
                                     for m in r.results})) + ")")
    lines.append(f"  time        {first.seconds:.1f} s training ({k} members as one "
                 f"population), {max(m.total_seconds for m in r.results):.1f} s in all")
    seeds = [m.seed for m in r.results]
    lines.append(f"  backend     {first.backend}, device {first.device}, {first.dtype}, seeds "
                 + (f"{seeds[0]}-{seeds[-1]}" if seeds[0] is not None else "random"))
    return "\n".join(lines)


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'xmlp[plot]'") from None


def plot_result(result: AnyResult, path: str | Path) -> Path:
    """Write the learning curve of ``result`` (accuracy per epoch on the measured split) with
    the published figure as a horizontal line (and a quick run's band) to ``path``; for
    several networks one curve each, for a speed recipe chapter 5's figures, for a curves
    recipe the training costs side by side (chapter 3's figure), for an ensemble recipe
    each member's curve and the ensemble's."""
    require_matplotlib()
    if isinstance(result, Comparison):
        return _plot_networks(result, Path(path))
    if isinstance(result, SpeedResult):
        return _plot_speeds(result, Path(path))
    if isinstance(result, CurvesResult):
        return _plot_curves(result, Path(path))
    if isinstance(result, EnsembleResult):
        return _plot_ensemble(result, Path(path))
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    recipe, path = result.recipe, Path(path)
    fig = Figure(figsize=(7, 4.4), layout="constrained")
    ax = fig.subplots()
    epochs = list(range(1, len(result.curve) + 1))
    ax.plot(epochs, [100 * a for a in result.curve], marker="o" if len(epochs) <= 30 else None,
            ms=4, color="#1f77b4", label=f"this run ({result.dataset}, {result.measured_on})")
    if recipe.report == "best" and result.curve:
        ax.plot([result.epoch], [100 * result.accuracy], "*", ms=12, color="#1f77b4",
                label=f"reported: {_pct(result.accuracy)}")
    if recipe.published is not None:
        ax.axhline(100 * recipe.published, color="#d62728", ls="--",
                   label=f"published: {_pct(recipe.published)} ({recipe.dataset})")
    if result.band is not None:
        lo, hi = result.band
        ax.axhspan(100 * lo, 100 * hi, color="#2ca02c", alpha=0.12, label="quick band")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="Epoch", ylabel=f"{result.measured_on.capitalize()} accuracy (%)",
           title=f"{recipe.name}: {recipe.title}")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=100)
    return path


COLORS = ["#2A6EA6", "#FFA933", "#FF5555", "#55AA55", "#5555FF", "#8c564b"]


def _plot_networks(comparison: Comparison, path: Path) -> Path:
    """Each network's accuracy per epoch, in its colour, with the book's figure dashed."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    recipe = comparison.recipe
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for k, r in enumerate(comparison.results):
        color = COLORS[k % len(COLORS)]
        sizes = list(r.member.sizes if r.member else recipe.sizes)
        epochs = list(range(1, len(r.curve) + 1))
        ax.plot(epochs, [100 * a for a in r.curve], color=color, ms=3,
                marker="o" if len(epochs) <= 30 else None, label=f"{sizes}")
        if r.published is not None:
            ax.axhline(100 * r.published, color=color, ls="--", lw=1)
    first = comparison.results[0]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="Epoch", ylabel=f"{first.measured_on.capitalize()} accuracy (%)",
           title=f"{recipe.name}: {first.dataset} (dashed: the book, {recipe.dataset})")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=100)
    return path


def _plot_speeds(result: SpeedResult, path: Path) -> Path:
    """Chapter 5's figures "Speed of learning: N hidden layers", one panel per network:
    each hidden layer's speed before every epoch of the training run, log scale."""
    from matplotlib.figure import Figure

    recipe = result.recipe
    panels = len(recipe.members)
    fig = Figure(figsize=(5.2 * panels, 4.4), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax, member, curves in zip(axes, recipe.members, result.curves):
        hidden = len(member.sizes) - 2
        for l in range(hidden):
            ax.plot(range(len(curves[l])), curves[l], color=COLORS[l % len(COLORS)],
                    label=f"Hidden layer {l + 1}")
        ax.set_xlim(0, max(1, len(curves[0]) - 1))
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.set(xlabel="Number of epochs of training",
               title=f"Speed of learning: {hidden} hidden layers")
        ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"{recipe.name}: the first {result.n_probe} training images of "
                 f"{result.dataset}, full-batch gradient descent, seed {result.seeds[0]}",
                 fontsize=10)
    fig.savefig(path, dpi=100)
    return path


#: multiple_eta.py's colours, one per learning rate.
ETA_COLORS = ["#2A6EA6", "#FFCD33", "#FF7033"]


def _plot_curves(result: CurvesResult, path: Path) -> Path:
    """Chapter 3's figure: the training cost after every epoch, one curve per eta."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    recipe = result.recipe
    fig = Figure(figsize=(7, 4.4), layout="constrained")
    ax = fig.subplots()
    for k, (eta, curve) in enumerate(zip(result.etas, result.curves)):
        colors = ETA_COLORS if len(result.curves) <= len(ETA_COLORS) else COLORS
        ax.plot(range(1, len(curve) + 1), curve, "o-", ms=3, color=colors[k % len(colors)],
                label=f"$\\eta$ = {eta:g}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(1, result.epochs) + 0.5)
    ax.set(xlabel="Epoch", ylabel="Cost (training data)",
           title=f"{recipe.name}: {result.dataset}, {result.n_train} training images, "
                 f"seed {result.seed}")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.savefig(path, dpi=100)
    return path


def _plot_ensemble(result: EnsembleResult, path: Path) -> Path:
    """Each member's accuracy per epoch (thin) and the ensemble's (thick), with the
    reported points starred."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    recipe = result.recipe
    first = result.results[0]
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for k, r in enumerate(result.results):
        ax.plot(range(1, len(r.curve) + 1), [100 * a for a in r.curve], lw=0.8, alpha=0.7,
                color=COLORS[k % len(COLORS)], label=f"seed {r.seed}: {_pct(r.accuracy)}")
    epochs = range(1, len(result.curve) + 1)
    ax.plot(epochs, [100 * a for a in result.curve], lw=2.2, color="black",
            label=f"ensemble: {_pct(result.accuracy)}")
    if recipe.report == "best":
        ax.plot([result.epoch], [100 * result.accuracy], "*", ms=12, color="black")
    ax.axhline(100 * result.mean, color="grey", ls="--", lw=1,
               label=f"mean member: {_pct(result.mean)}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="Epoch", ylabel=f"{first.measured_on.capitalize()} accuracy (%)",
           title=f"{recipe.name}: {first.dataset}, {len(result.results)} members as one "
                 "population")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=100)
    return path
