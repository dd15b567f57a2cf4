"""Sphinx configuration for the reglab book (plain Sphinx + MyST-NB + sphinx-book-theme).

Settings only: importing this file does no work. What a build prepares happens in
``docs/_ext/reglab_build.py``: the execution cache key and the settings it decides on
``config-inited``, the chapters' kernelspec and MathJax from npm on ``builder-inited``;
page features live in ``docs/_ext/reglab_book.py``; the math is typeset into the pages at
build time by ``docs/_ext/reglab_math.py``. The build's ``REGLAB_*`` settings are
read through ``docs/_ext/reglab_settings.py``.

Build strictly with ``nox -s docs`` (or ``sphinx-build -W --keep-going -n -b html docs
docs/_build/html``). Chapters are executed at build time and cached under a key of
everything their outputs depend on (reglab's source, torch/torchvision, matplotlibrc and
the kernel profile, the data root, the device). ``REGLAB_EXECUTE=force`` re-executes
every chapter regardless of the cache.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # this checkout's reglab (for its version)
sys.path.insert(0, str(DOCS / "_ext"))  # the book's own extensions

from reglab_settings import BUILD  # noqa: E402  (docs/_ext: the build's REGLAB_* settings)

import reglab  # noqa: E402

# -- Project ------------------------------------------------------------------
project = "reglab"
author = "The reglab developers"
copyright = "2026, The reglab developers"
release = version = reglab.__version__
REPOSITORY_URL = BUILD.get("REGLAB_REPOSITORY_URL", "https://github.com/reglab/reglab")
# The GitHub Pages workflow publishes every executed chapter notebook (with its outputs) to
# this branch, at the page's path; reglab_book's Colab button opens it there.
reglab_notebook_branch = "notebooks"
# Each chapter's execution time in seconds (a cold build on the 2-core build machine, one
# thread per kernel), for a parallel build to deal the chapters to its processes longest
# first, then evened out by swaps (reglab_build.balanced_order): "Putting it together"
# (167 s) and four others go to one process, 261 s in all, the other eight to the other,
# 259 s.
reglab_page_cost = {
    "chapters/together": 167, "chapters/normalization": 49, "chapters/early_stopping": 42,
    "chapters/batchnorm": 41, "chapters/dropout": 35, "chapters/inputs_targets": 34,
    "chapters/averaging": 30, "chapters/augmentation": 29, "chapters/why_regularize": 29,
    "chapters/initialization": 22, "chapters/adversarial": 18, "chapters/penalties": 18,
    "chapters/inspecting": 6,
}  # fmt: skip
reglab_colab_url = "https://colab.research.google.com"

extensions = [
    "myst_nb",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinx_exercise",
    "sphinx_togglebutton",
    "sphinxcontrib.bibtex",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "reglab_build",  # docs/_ext: execution key, kernel environment, MathJax from npm
    "reglab_book",  # docs/_ext: notebooks with outputs, Colab button, build report, a11y
    "reglab_math",  # docs/_ext: math typeset into static SVG at build time (no MathJax script)
]
exclude_patterns = [
    "_build",
    "_ext",
    "node_modules",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
]
nitpicky = True
# Chapters, figures and equations are numbered per chapter: "4. Dropout", Fig. 4.3, (4.2)
numfig = True
numfig_secnum_depth = 1
math_numfig = True

# -- MyST ---------------------------------------------------------------------
myst_enable_extensions = ["amsmath", "colon_fence", "dollarmath", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True


# -- Execution: at build time, cached under reglab_build's key ------------------------
nb_execution_mode = "force" if BUILD.get("REGLAB_EXECUTE") == "force" else "cache"
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_timeout = 900  # seconds per cell: a safety net on a busy machine, not a budget
nb_execution_in_temp = True  # chapters may not read files beside them: nor can a reader
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs (result tables) may use tables and math
# Figures: SVG with stable bytes on a white background (readable in dark mode); the
# kernels load docs/matplotlibrc and reglab_build's IPython profile.

# -- Math: typeset at build time by MathJax 4 on Node (installed from npm for HTML builds) --
# The pages carry SVG and assistive MathML and load no math JavaScript (docs/_ext/reglab_math.py).
reglab_bundled_mathjax = True
html_math_renderer = "reglab_math"

# -- API reference ----------------------------------------------------------------
# Each object is documented at its public path (reglab.train.train) and viewcode follows it
# to the module that defines it (reglab/train/loop.py). viewcode backlinks a source module
# to one public module only, so reglab_book gives an object whose source module another
# public module already claimed no [source] link rather than a broken one.
viewcode_follow_imported_members = True
autodoc_typehints = "none"  # the docstrings state types, PyTorch-style
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_custom_sections = ["Shape"]
napoleon_use_rtype = False
# torch and torchvision names link to their documentation through inventories committed
# with the book (docs/_inventories, written from the installed packages by
# docs/_ext/torch_inventory.py): no download, so the build works offline. Short names in
# docstrings (``Tensor``, ``nn.Module``) are resolved by reglab_book (TORCH_ALIASES).
intersphinx_mapping = {
    "torch": ("https://docs.pytorch.org/docs/stable/", "_inventories/torch.inv"),
    "torchvision": ("https://docs.pytorch.org/vision/stable/", "_inventories/torchvision.inv"),
}
# Types named in docstrings that no inventory holds (matplotlib's, builtins' informal
# names): plain text rather than a failed nitpicky build.
nitpick_ignore_regex = [
    ("py:class", r"(matplotlib|PIL|optional|callable|Axes|path)\b.*"),
    ("py:class", r"(int|float|str|bool|tuple|list|dict|sequences?|iterable)(\[.*\])?"),
]

# -- Bibliography --------------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# -- Copy buttons: the code only, never prompts or outputs ---------------------------
copybutton_selector = "div:not(.output) > div.highlight > pre"
copybutton_prompt_text = r">>> |\.\.\. |\$ |In \[\d*\]: | {2,5}\.\.\.: "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_exclude = ".linenos, .gp, .go"

# -- HTML ----------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "reglab: regularization in PyTorch"
html_static_path = ["_static"]
templates_path = ["_templates"]
html_css_files = ["reglab.css"]
html_last_updated_fmt = None
html_context = {"default_mode": "auto"}  # follow the reader's system setting (light or dark)
html_theme_options = {
    "repository_url": REPOSITORY_URL,
    "repository_branch": "main",
    "path_to_docs": "docs",
    "use_repository_button": True,
    "use_download_button": True,
    "use_source_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}

# -- Examples gallery, self-installing notebooks, copy-ready cells (issue 14) ----------
# docs/_ext/reglab_notebooks.py: the setup cell of every notebook, the gallery's quick
# setting and cache key, and the badge of cells tagged `copyable`.
extensions += ["sphinx_gallery.gen_gallery", "reglab_notebooks"]
exclude_patterns += ["gallery/**.ipynb", "gallery/**.py", "sg_execution_times.rst"]
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r"\.py$",  # execute every example (in its quick setting)
    "ignore_pattern": r"__init__\.py|/output/",
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib", "reglab_notebooks.gallery_environment"),
    "image_scrapers": ("reglab_notebooks.matplotlib_scraper",),  # refuses empty figures
    "reset_modules_order": "both",
    "download_all_examples": False,
    "remove_config_comments": True,
    "write_computation_times": False,
    "show_memory": False,
    "show_signature": False,
    "plot_gallery": "True",
}
