"""Render the conformance rows collected by the test session as Markdown and JSON."""

from __future__ import annotations

import datetime
import json
import pathlib
import platform
from collections import defaultdict

import numpy as np

import xmlp


def _versions() -> dict:
    out = {"python": platform.python_version(), "numpy": np.__version__,
           "xmlp": xmlp.__version__}
    for mod in ("array_api_compat", "array_api_strict", "torch", "jax", "cupy", "sklearn",
                "scipy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # not installed (or unusable): reported as absent
            pass
    return out


def write(stem: str, rows: list[dict], status: dict, requested) -> None:
    """Aggregate rows to the worst deviation per (backend, device, dtype, quantity)."""
    worst: dict[tuple, dict] = {}
    for r in rows:
        key = (r["backend"], r["device"], r["dtype"], r["quantity"])
        w = worst.get(key)
        if w is None:
            worst[key] = dict(r, checks=1)
        else:
            w["checks"] += 1
            w["max_abs"] = max(w["max_abs"], r["max_abs"])
            w["passed"] = w["passed"] and r["passed"]
            if r["max_rel"] >= w["max_rel"]:
                w["max_rel"], w["tolerance"] = r["max_rel"], r["tolerance"]
    table = [worst[k] for k in sorted(worst)]
    unavailable = {n: reason for n, (ok, reason) in status.items() if not ok}
    not_run = sorted({n for n in status} - {r["backend"] for r in table} - set(unavailable))
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.machine(), "versions": _versions(),
            "reference": "numpy float64", "requested": requested,
            "unavailable": unavailable, "not_run": not_run,
            "failures": sum(not r["passed"] for r in table)}
    path = pathlib.Path(stem)
    path.parent.mkdir(parents=True, exist_ok=True)  # --report-dir may name a new folder
    path.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": table}, indent=1))
    path.with_suffix(".md").write_text(_markdown(meta, table))


def _markdown(meta: dict, table: list[dict]) -> str:
    lines = ["# xmlp cross-backend conformance report", "",
             f"{meta['date']} · {meta['machine']} · reference: {meta['reference']} · "
             + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()), "",
             "Deviation = max |x - x_ref| / max |x_ref| over all checked values "
             "(0 means bit-identical); each row is the worst of its checks.", "",
             "| backend | device | dtype | quantity | checks | max abs dev | max rel dev "
             "| tolerance | result |",
             "|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in table:
        lines.append(f"| {r['backend']} | {r['device']} | {r['dtype']} | {r['quantity']} | "
                     f"{r['checks']} | {r['max_abs']:.2e} | {r['max_rel']:.2e} | "
                     f"{r['tolerance']:.0e} | {'pass' if r['passed'] else '**FAIL**'} |")
    lines.append("")
    by_backend = defaultdict(int)
    for r in table:
        by_backend[r["backend"]] += 1
    lines.append("Backends run: " + ", ".join(f"{b} ({n} rows)" for b, n in by_backend.items()))
    for name, reason in meta["unavailable"].items():
        lines.append(f"- not available: **{name}** — {reason}")
    for name in meta["not_run"]:
        lines.append(f"- available but not requested: {name}")
    lines.append("")
    lines.append(f"Failures: {meta['failures']}")
    return "\n".join(lines) + "\n"
