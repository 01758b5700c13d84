"""Sphinx configuration of xmlp's documentation site (``nox -s docs``).

The site is built with warnings as errors and nitpicky cross-references
(``sphinx-build -W -n --keep-going``): every reference must resolve.
"""

from __future__ import annotations

import os
import pathlib
import sys

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

import xmlp  # noqa: E402

project = "xmlp"
author = "the xmlp developers"
copyright = "2026, the xmlp developers"
release = version = xmlp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "xmlp_cli",
    "xmlp_reports",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json",
                    "auto_examples/*.codeobj.json", "auto_examples/*.md5"]

# -- MyST (the Markdown pages: architecture, conformance, recipes, guide) ---------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# -- autodoc / numpydoc ------------------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_xref_param_type = True
# Types in Parameters / Returns link where a page documents them.  The build runs offline,
# so Python's builtins are left to Sphinx (which never reports them as missing) instead
# of numpydoc's intersphinx targets, and words of prose types stay text.
numpydoc_xref_ignore = {"of", "or", "optional", "default", "shape", "n", "n_in", "n_out",
                        "module", "object", "callable", "iterable", "sequence", "array_like",
                        "update", "rule", "os.PathLike", "numpy.random.Generator",
                        "numpy.ndarray", "ndarray", "array", "arrays", "path-like", "None",
                        "True", "False", "mapping", "dataset", "device",
                        "numpy.random.RandomState", "argparse.ArgumentParser",
                        "xmlp.augment.Augment",
                        "distributed.Client"}
numpydoc_xref_aliases = {
    **{name: name for name in ("int", "float", "str", "bool", "tuple", "list", "dict",
                               "None", "True", "False", "bytes", "type", "sequence",
                               "array_like", "iterable", "callable", "mapping")},
    "Network": "xmlp.Network",
    "History": "xmlp.History",
    "Dataset": "xmlp.datasets.Dataset",
    "Split": "xmlp.datasets.Split",
    "DatasetNotFound": "xmlp.datasets.DatasetNotFound",
    "TrainingDiverged": "xmlp.TrainingDiverged",
    "TrainingInterrupted": "xmlp.TrainingInterrupted",
    "ValueError": "ValueError",
    "TypeError": "TypeError",
    "OSError": "OSError",
}


intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "optuna": ("https://optuna.readthedocs.io/en/stable/", None),
}
# The build runs offline (CI, fresh clones): the inventories are optional.  Without
# them, references into other projects' docs would fail the nitpicky build, so the
# inventories are looked up only when XMLP_DOCS_INTERSPHINX=1.
if os.environ.get("XMLP_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

# -- sphinx-gallery: examples/ run at build time ----------------------------------------
# Every script in examples/ runs (they take argparse options, not the plot_ prefix); the
# gallery runs them with --plot (_ext/xmlp_gallery.py) on the embedded MNIST sample.
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "xmlp_gallery.reset_argv",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "ExampleTitleSortKey",  # "Chapter 1", "Chapter 3", ...
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "plot_gallery": "True",
}

# -- sphinx-copybutton: copy the commands of a ">>>" session or a console block, not their
# output (blocks without prompts are copied whole) ------------------------------------------
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"xmlp {version}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "getting-started": []}
html_show_sourcelink = True

# The examples and docs run on the embedded sample: never reach the network.
os.environ.setdefault("MPLBACKEND", "Agg")
