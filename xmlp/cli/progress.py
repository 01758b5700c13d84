"""What a run prints: text, --jsonl lines or nothing (--quiet), and the progress bar."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


class Printer:
    """Where each kind of output goes in the text, --jsonl and --quiet modes."""

    def __init__(self, args: argparse.Namespace):
        self.quiet, self.jsonl = args.quiet, args.jsonl
        # Human-readable text: stdout normally, stderr when stdout carries JSON lines.
        self.text = None if self.quiet else (sys.stderr if self.jsonl else sys.stdout)

    def say(self, line: str = "") -> None:
        if self.text is not None:
            print(line, file=self.text, flush=True)

    def epoch_line(self, line: str) -> None:
        if self.text is not None and not self.jsonl:
            print(line, file=self.text, flush=True)

    def json(self, obj: dict) -> None:
        if self.jsonl:
            print(json.dumps(obj), flush=True)


class Progress:
    """A tqdm bar per epoch (mini-batches, samples/s, ETA) fed by fit's progress hook."""

    def __init__(self, epochs: int, batch_size: int, n_train: int):
        from tqdm.auto import tqdm

        class Bar(tqdm):
            @property
            def format_dict(self):
                d = super().format_dict
                rate = d.get("rate") or (d["n"] / d["elapsed"] if d["elapsed"] else 0)
                d["samples"] = f"{rate * batch_size:,.0f} samples/s" if rate else "? samples/s"
                return d

        self.Bar, self.epochs = Bar, epochs
        self.bar: Any = None  # a tqdm bar (tqdm has no type information)
        self.epoch: int | None = None

    def __call__(self, epoch: int, done: int, total: int) -> None:
        if self.bar is None or epoch != self.epoch:
            self.close()
            self.epoch = epoch
            self.bar = self.Bar(
                total=total, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch",
                leave=False, file=sys.stderr, dynamic_ncols=True, mininterval=0.2,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} batches "
                           "[{elapsed}<{remaining}, {samples}]")
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
