"""Sphinx configuration of the gandyn documentation.

Build: ``pip install -e ".[docs]"`` then
``sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # document this checkout

import gandyn  # noqa: E402

project = "gandyn"
author = "gandyn developers"
copyright = "gandyn developers"
release = gandyn.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Markdown (MyST): `$...$` math and heading anchors for cross-page links.
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# API reference: numpy-style docstrings, members in source order, signatures
# without the type hints repeated (they are in the description).
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
autosummary_generate = False

html_theme = "furo"
html_title = f"gandyn {release}"
html_static_path = []

# Types in numpy-style docstrings ("iterable of (name, shape)") are cross-referenced
# word by word; a word that names two attributes is ambiguous, which is not an error
# of the docs.
suppress_warnings = ["ref.python"]

# The gallery: every ``examples/plot_*.py`` is run by the build (its figures made then),
# and becomes a page of docs/auto_examples with the script and a notebook to download.
sphinx_gallery_conf = {
    "examples_dirs": str(Path(__file__).resolve().parents[1] / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": True,
    "write_computation_times": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "show_signature": False,
}
