"""Markdown table and PNG bar chart from a results document (benchmarks/run.py's JSON).

    python benchmarks/report.py benchmarks/results/<machine>-<date>.json   # rewrite .md/.png
"""

from __future__ import annotations

import json
import pathlib
import sys

__all__ = ["markdown", "bar_chart", "write", "ratio_rows"]

ORDER = ["xmlp-numpy", "xmlp-jax-compiled", "xmlp-torch", "xmlp-array_api_strict",
         "xmlp-jax", "torch", "sklearn", "book", "xmlp-jax-compiled-cuda", "xmlp-cupy",
         "xmlp-torch-cuda", "torch-cuda", "limit-numpy", "limit-torch", "limit-cupy",
         "limit-torch-cuda"]
XMLP_FOR_RATIOS = ["xmlp-numpy", "xmlp-jax-compiled", "xmlp-torch", "xmlp-cupy",
                   "xmlp-torch-cuda", "xmlp-jax-compiled-cuda"]
GPU_CONTENDERS = ("xmlp-cupy", "xmlp-torch-cuda", "xmlp-jax-compiled-cuda")
# The GEMM library xmlp calls on each backend (array-api-strict computes with NumPy).
SAME_LIBRARY_LIMIT = {"xmlp-numpy": "limit-numpy", "xmlp-array_api_strict": "limit-numpy",
                      "xmlp-torch": "limit-torch", "xmlp-torch-cuda": "limit-torch-cuda",
                      "xmlp-cupy": "limit-cupy"}


LIBRARY_NAMES = {"numpy": "NumPy", "torch": "torch", "cupy": "CuPy"}


def _ok(r: dict) -> bool:
    return "error" not in r and r.get("epoch_seconds_median") is not None


def _order_key(name: str):
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def _configs(doc: dict) -> list[str]:
    names = {r["config"] for r in doc["records"]}
    return sorted(names, key=lambda s: (s[0] != "C", s))


def _index(doc: dict) -> dict:
    return {(r["config"], r["contender"]): r for r in doc["records"]}


def fmt_seconds(s: float) -> str:
    if s >= 100:
        return f"{s:.0f}"
    if s >= 10:
        return f"{s:.1f}"
    if s >= 0.01:
        return f"{s:.3f}"
    return f"{s:.2g}"


def fmt_ratio(r: float) -> str:
    if r >= 100:
        return f"{r:.0f}"
    if r >= 10:
        return f"{r:.1f}"
    if r >= 0.1:
        return f"{r:.2f}"
    return f"{r:.2g}"


def _extrapolated(r: dict) -> bool:
    return bool(r.get("timing", {}).get("extrapolated"))


def _cell(r: dict | None) -> str:
    if r is None:
        return "—"
    if not _ok(r):
        return "error"
    return fmt_seconds(r["epoch_seconds_median"]) + (" †" if _extrapolated(r) else "")


def _label(r: dict) -> str:
    dev = r.get("device", "cpu")
    return f"{r.get('label', r['contender'])}" + (f" ({dev})" if dev != "cpu" else "")


def _best_limit(idx: dict, config: str, device: str) -> dict | None:
    limits = [r for (c, _), r in idx.items()
              if c == config and r.get("kind") == "limit" and r.get("device") == device
              and _ok(r)]
    return min(limits, key=lambda r: r["epoch_seconds_median"], default=None)


def ratio_rows(doc: dict) -> list[tuple[str, str, dict[str, float]]]:
    """(xmlp contender, peer description, {config: t_xmlp / t_peer}) for the ratio table."""
    idx = _index(doc)
    configs = _configs(doc)
    rows = []
    present = {r["contender"] for r in doc["records"]}
    for x in XMLP_FOR_RATIOS:
        if x not in present:
            continue
        dev = "cuda" if x in GPU_CONTENDERS else "cpu"
        peers = [("torch-cuda" if dev == "cuda" else "torch", "PyTorch eager"),
                 ("sklearn", "scikit-learn"), ("book", "network.py per-example loop")]
        if dev == "cuda":
            peers = [peers[0], ("xmlp-cupy", "xmlp cupy (eager)"),
                     ("xmlp-numpy", "xmlp numpy (CPU)")]
        elif x == "xmlp-jax-compiled":
            peers = [("xmlp-numpy", "xmlp numpy (eager)"), *peers]
        peers = [(p, t) for p, t in peers if p != x]
        for peer, text in peers:
            vals = {}
            for c in configs:
                a, b = idx.get((c, x)), idx.get((c, peer))
                if a and b and _ok(a) and _ok(b):
                    vals[c] = a["epoch_seconds_median"] / b["epoch_seconds_median"]
            if vals:
                rows.append((x, text, vals))
        vals, names = {}, set()
        for c in configs:
            a, lim = idx.get((c, x)), _best_limit(idx, c, dev)
            if a and lim and _ok(a):
                vals[c] = a["epoch_seconds_median"] / lim["epoch_seconds_median"]
                names.add(LIBRARY_NAMES.get(lim["library"], lim["library"]))
        if vals:
            rows.append((x, f"FLOP limit (best GEMM peak here: {' / '.join(sorted(names))})",
                         vals))
        vals = {}
        for c in configs:
            a, lim = idx.get((c, x)), idx.get((c, SAME_LIBRARY_LIMIT.get(x)))
            if a and lim and _ok(a) and _ok(lim) and lim.get("gemm_floor_seconds"):
                vals[c] = a["epoch_seconds_median"] / lim["gemm_floor_seconds"]
        if vals:
            rows.append((x, "GEMM-only floor at the config's shapes (same library)", vals))
    return rows


def _threads(r: dict) -> str:
    t = r.get("threads") or {}
    parts = []
    blas = t.get("blas")
    if isinstance(blas, list) and blas:
        parts.append("BLAS " + "/".join(str(b.get("threads")) for b in blas))
    if t.get("torch"):
        parts.append(f"torch {t['torch']['intra_op']}")
    if t.get("env"):
        parts.append(" ".join(f"{k}={v}" for k, v in t["env"].items()))
    return ", ".join(parts) or "?"


def _versions_line(doc: dict) -> str:
    merged: dict = {}
    for r in doc["records"]:
        for k, v in (r.get("versions") or {}).items():
            if v is not None:
                merged.setdefault(k, set()).add(str(v))
    keys = ["python", "xmlp", "numpy", "torch", "sklearn", "array_api_compat",
            "array_api_strict", "cupy", "jax", "jaxlib", "threadpoolctl"]
    return ", ".join(f"{k} {'/'.join(sorted(merged[k]))}" for k in keys if k in merged)


def markdown(doc: dict) -> str:
    idx = _index(doc)
    configs = _configs(doc)
    contenders = sorted({r["contender"] for r in doc["records"]}, key=_order_key)
    first = {}
    for r in doc["records"]:
        first.setdefault(r["contender"], r)
    machine = doc.get("machine", {})
    data = {r["data"]["source"]: r["data"] for r in doc["records"] if r.get("data")}
    lines = [f"# xmlp benchmark: {machine.get('gpu') or machine.get('cpu', '?')}", ""]
    lines.append("Made by:")
    lines.append("")
    for run in doc.get("runs", []):
        cmd = run.get("command", "?")
        sess = f" (nox session `{run['session']}`)" if run.get("session") else ""
        lines.append(f"- `{cmd}`{sess}, {run.get('started', '')}, "
                     f"{run.get('seconds', 0):.0f} s")
    lines += ["", f"CPU: {machine.get('cpu', '?')} ({machine.get('cpu_count', '?')} logical "
              f"CPUs); GPU: {machine.get('gpu') or 'none'}.  ",
              f"Versions: {_versions_line(doc)}.  "]
    for d in data.values():
        lines.append(f"Data: {d['source']}; {d.get('n_train')} training / {d.get('n_test')} "
                     "test rows.  ")
    lines += ["", "| config | network | cost | init | batch | eta | lmbda | dtype | "
              "GFLOP / epoch |", "|---|---|---|---|---:|---:|---:|---|---:|"]
    for c in configs:
        r = next((r for r in doc["records"] if r["config"] == c and r.get("settings")), None)
        if r is None:
            continue
        s = r["settings"]
        gf = r.get("flops_per_epoch", {}).get("total", 0) / 1e9
        lines.append(f"| {c} ({s['title']}) | {s['sizes']} | {s['cost']} | {s['init']} | "
                     f"{s['batch_size']} | {s['eta']:g} | {s['lmbda']:g} | {s['dtype']} | "
                     f"{gf:.3g} |")
    lines += ["", "## Seconds per epoch (median)", "",
              "| contender | " + " | ".join(configs) + " |",
              "|---|" + "---:|" * len(configs)]
    for name in contenders:
        cells = [_cell(idx.get((c, name))) for c in configs]
        lines.append(f"| {_label(first[name])} | " + " | ".join(cells) + " |")
    skipped = {}
    for run in doc.get("runs", []):
        skipped.update(run.get("skipped") or {})
    skipped = {k: v for k, v in skipped.items() if k not in first}
    if skipped:
        lines += ["", "Not run here: " + "; ".join(f"{k} ({v})" for k, v in
                                                   sorted(skipped.items())) + "."]
    lines += ["", "† timed on a subset of the epoch's mini-batches and scaled to the full "
              "epoch (see *timed* below). FLOP-limit rows are computed: FLOPs per epoch / "
              "the GEMM peak measured in the same run. — : not run.", ""]
    compiled = [(name, c, idx[(c, name)]["compile_seconds"]) for name in contenders
                for c in configs if (c, name) in idx and idx[(c, name)].get("compile_seconds")]
    if compiled:
        lines += ["## Compilation (paid once, in the warm-up epoch; not in the times above)",
                  "", "| contender | " + " | ".join(configs) + " |",
                  "|---|" + "---:|" * len(configs)]
        for name in dict.fromkeys(n for n, _, _ in compiled):
            cells = [fmt_seconds(idx[(c, name)]["compile_seconds"])
                     if idx.get((c, name), {}).get("compile_seconds") else "—" for c in configs]
            lines.append(f"| {_label(first[name])} | " + " | ".join(cells) + " |")
        lines += ["", "Seconds of JAX compilation in the contender's process: the programs "
                  "are then reused by every later fit of the same shapes.  A program already "
                  "in JAX's persistent compilation cache (xmlp's cache directory, "
                  "`XMLP_JAX_CACHE`) is loaded instead of compiled, so these figures depend "
                  "on what earlier runs on the machine left there: with an empty cache a "
                  "first compilation takes seconds.", ""]
    rows = ratio_rows(doc)
    if rows:
        lines += ["## Ratios: xmlp's epoch time / the other's (above 1: xmlp is slower)", "",
                  "| xmlp | ÷ | " + " | ".join(configs) + " |",
                  "|---|---|" + "---:|" * len(configs)]
        for x, text, vals in rows:
            cells = [fmt_ratio(vals[c]) if c in vals else "—" for c in configs]
            lines.append(f"| {_label(first[x])} | {text} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Details", "",
              "| config | contender | timed | s / epoch | samples / s | GFLOP/s | test acc "
              "(after epochs) | peak RSS MiB (before) | GPU MiB | threads | others' CPU |",
              "|---|---|---|---:|---:|---:|---|---:|---:|---|---:|"]
    for c in configs:
        for name in contenders:
            r = idx.get((c, name))
            if r is None:
                continue
            if not _ok(r):
                lines.append(f"| {c} | {name} | error: {r.get('error', '?')[:120]} "
                             "| | | | | | | | |")
                continue
            acc = r.get("test_accuracy")
            acc_s = f"{acc:.4f} ({r['trained_epochs']:.3g})" if acc is not None else ""
            if r.get("kind") == "limit":
                acc_s = (f"GEMM peak {r['gemm_peak_gflops']:.1f} GFLOP/s; at the config's "
                         f"shapes {r['gemm_at_shapes_gflops']:.2f} GFLOP/s, floor "
                         f"{fmt_seconds(r['gemm_floor_seconds'])} s")
            rss = (f"{r['peak_rss_mb']:.0f} ({r['rss_before_mb']:.0f})"
                   if r.get("peak_rss_mb") else "")
            gpu = f"{r['device_peak_mb']:.0f}" if r.get("device_peak_mb") else ""
            gfl = r.get("gflops_per_second")
            other = (r.get("interference") or {}).get("other_busy")
            timed = r["timing"]["text"]
            if r.get("outside_loop_seconds") is not None:
                timed += f"; {fmt_seconds(r['outside_loop_seconds'])} s of it outside the loop"
            lines.append(
                f"| {c} | {name} | {timed} | "
                f"{fmt_seconds(r['epoch_seconds_median'])} | {r['samples_per_second']:,.0f} | "
                f"{'' if gfl is None else f'{gfl:.2f}'} | {acc_s} | {rss} | {gpu} | "
                f"{_threads(r)} | {'' if other is None else f'{100 * other:.0f}%'} |")
    lines += ["", "Peak RSS is the process's high-water mark during training (VmHWM reset "
              "after set-up, so it includes the data set already loaded: the figure in "
              "parentheses is the RSS before training). Each contender runs in its own "
              "process. Test accuracy is measured after all the epochs (or fractions) that "
              "contender trained, warm-up included; the peers differ in what they optimise "
              "where noted in the JSON (`notes`). For xmlp, *outside the loop* is the part "
              "of `fit()` that is not its mini-batch loop (input checks, the end-of-epoch "
              "fetch). *others' CPU*: the share of all CPUs' time "
              "that other processes used while this contender was timed (above a few per "
              "cent, its timing was disturbed).", ""]
    return "\n".join(lines)


def bar_chart(doc: dict, path: str | pathlib.Path) -> None:
    """Grouped bars, log-scale seconds per epoch, one group per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = _index(doc)
    configs = _configs(doc)
    contenders = sorted({r["contender"] for r in doc["records"]}, key=_order_key)
    labels = {}
    for r in doc["records"]:
        labels.setdefault(r["contender"], _label(r))
    fig, ax = plt.subplots(figsize=(min(16.0, max(7.0, 3.0 + 0.3 * len(contenders) * len(configs))),
                                    4.8))
    width = 0.8 / max(1, len(contenders))
    cmap = plt.get_cmap("tab20")
    for k, name in enumerate(contenders):
        xs, ys, hatch = [], [], []
        for i, c in enumerate(configs):
            r = idx.get((c, name))
            if r is not None and _ok(r) and r["epoch_seconds_median"] > 0:
                xs.append(i - 0.4 + width * (k + 0.5))
                ys.append(r["epoch_seconds_median"])
                hatch.append(_extrapolated(r))
        if not xs:
            continue
        limit = name.startswith("limit-")
        bars = ax.bar(xs, ys, width=width, label=labels[name], color=cmap(k % 20),
                      edgecolor="black", linewidth=0.4, alpha=0.55 if limit else 1.0)
        for bar, h in zip(bars, hatch):
            if h:
                bar.set_hatch("//")
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels(configs)
    ax.set_ylabel("seconds per epoch (log scale)")
    machine = doc.get("machine", {})
    ax.set_title(f"xmlp benchmark: {machine.get('gpu') or machine.get('cpu', '')}"
                 "  (hatched: extrapolated from a subset)", fontsize=9)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(doc: dict, stem: str | pathlib.Path) -> tuple[str, str]:
    stem = pathlib.Path(stem)
    md = stem.with_suffix(".md")
    png = stem.with_suffix(".png")
    md.write_text(markdown(doc), encoding="utf-8")
    bar_chart(doc, png)
    return str(md), str(png)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__)
        return 2
    path = pathlib.Path(argv[0])
    doc = json.loads(path.read_text())
    for out in write(doc, path.with_suffix("")):
        print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

