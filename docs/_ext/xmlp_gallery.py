"""sphinx-gallery hooks: the command-line arguments each example runs with at build time.

The examples run on the embedded MNIST sample with their default settings (the book's 30
epochs take a few seconds each on two cores); ``--plot`` makes them draw their figures,
which sphinx-gallery puts on the example's page.
"""

from __future__ import annotations


def reset_argv(gallery_conf, script_vars):
    """sphinx-gallery's ``reset_argv``: the arguments of one example's build-time run."""
    return ["--plot"]
