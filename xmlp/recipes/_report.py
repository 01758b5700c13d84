"""A run next to the book: the closing table (:func:`format_comparison`) and the learning
curve with the published figure (:func:`plot_result`; matplotlib only when called)."""

from __future__ import annotations

from pathlib import Path

from ._recipe import Result

__all__ = ["format_comparison", "plot_result"]


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def format_comparison(result: Result) -> str:
    """The closing table: published figure, ours, difference, epochs, time, backend."""
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


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'xmlp[plot]'") from None


def plot_result(result: Result, path: str | Path) -> Path:
    """Write the learning curve of ``result`` (accuracy per epoch on the measured split) with
    the published figure as a horizontal line (and a quick run's band) to ``path``."""
    _require_matplotlib()
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
