"""The end of a training run: per-epoch records, the final table, the history log."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .data import counted, pct
from .errors import version
from .progress import Printer


def records(history) -> list[dict[str, Any]]:
    """One dict per completed epoch (accuracies as exact fractions of the split sizes)."""
    lists = [history.training_cost, history.training_accuracy, history.evaluation_cost,
             history.evaluation_accuracy, history.seconds]
    n = min(len(x) for x in lists)
    out = []
    for i in range(n):
        _, tr_acc = counted(history.training_accuracy[i], history.n_train)
        _, ev_acc = counted(history.evaluation_accuracy[i], history.n_evaluation)
        out.append(dict(epoch=i + 1, training_cost=history.training_cost[i],
                        training_accuracy=tr_acc, evaluation_cost=history.evaluation_cost[i],
                        evaluation_accuracy=ev_acc, seconds=history.seconds[i],
                        eta=history.eta[i]))
        if len(history.learning_speed) and len(history.learning_speed[0]) > i:
            out[-1]["learning_speed"] = [layer[i] for layer in history.learning_speed]
    return out


def final_table(out: Printer, net, history, recs, eval_name: str, splits: dict,
                cfg: dict, fit_seconds: float, total_seconds: float, device: str,
                dtype: str) -> dict[str, Any]:
    """Evaluate the final weights on every split; print the result table; return it."""
    summary: dict[str, Any] = dict(epochs_completed=len(recs),
                                   stop_reason=history.stop_reason, evaluation=eval_name)
    rows = []
    for name, split in splits.items():
        if split is None:
            continue
        n = len(split.y)
        correct, acc = counted(net.accuracy(split.X, split.y), n)
        rows.append((name, n, correct, acc))
        summary[f"{name}_accuracy"], summary[f"{name}_correct"] = acc, correct
        summary[f"{name}_samples"] = n
    if history.best_epoch is not None:
        best = history.best_epoch + 1
    elif recs:
        accs = [r["evaluation_accuracy"] for r in recs]
        best = 1 + accs.index(max(accs))
    else:
        best = None
    summary.update(best_epoch=best, training_seconds=sum(history.seconds),
                   compile_seconds=history.compile_seconds,
                   transfer_seconds=history.transfer_seconds, fit_seconds=fit_seconds,
                   total_seconds=total_seconds,
                   backend=net.backend.name, device=device, dtype=dtype)
    out.say()
    out.say(f"Final network ({len(recs)} of {cfg['epochs']} "
            f"epoch{'' if cfg['epochs'] == 1 else 's'}; "
            f"stopped by: {history.stop_reason.replace('_', ' ')})")
    out.say(f"  {'split':<12}{'samples':>8}  {'accuracy':>8}  correct")
    for name, n, correct, acc in rows:
        out.say(f"  {name:<12}{n:>8}  {pct(acc):>8}  ({correct} / {n})")
    if best is not None:
        best_acc = pct(recs[best - 1]["evaluation_accuracy"])
        out.say(f"  {'best epoch':<12}{best:>8}  {best_acc:>8}  on the {eval_name} split"
                + ("  (weights restored)" if history.stop_reason == "early_stopping" else ""))
    out.say(f"  {'time':<12}{total_seconds:>8.1f} s  this run; training "
            f"{summary['training_seconds']:.1f} s over {history.epochs} epochs"
            + (" (incl. those before --resume)" if cfg.get("resume") else "")
            + (f"; compiling {history.compile_seconds:.1f} s"
               if history.compile_seconds else "")
            + f"; data to the device {history.transfer_seconds:.2f} s")
    out.say(f"  {'backend':<12}{net.backend.name}, device {device}, {dtype}")
    return summary


def write_log(path: Path, cfg: dict, eval_name: str, recs: list[dict],
              summary: dict) -> None:
    columns = ["epoch", "training_cost", "training_accuracy", "evaluation_cost",
               "evaluation_accuracy", "seconds", "eta"]
    if path.suffix.lower() == ".csv":
        layers = len(recs[0].get("learning_speed", [])) if recs else 0
        columns += [f"learning_speed_{l + 1}" for l in range(layers)]  # hidden 1.., output
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows({k: v for k, v in r.items() if k != "learning_speed"}
                             | {f"learning_speed_{l + 1}": s
                                for l, s in enumerate(r.get("learning_speed", []))}
                             for r in recs)
    else:
        config = {k: v for k, v in cfg.items() if k != "hidden_layers"}
        doc = dict(format="xmlp-history", version=version(), config=config,
                   evaluation=eval_name, epochs=recs, summary=summary)
        path.write_text(json.dumps(doc, indent=1) + "\n")
