"""Sphinx configuration for the reglab book (plain Sphinx + MyST-NB + sphinx-book-theme).

Build strictly with ``nox -s docs`` (or ``sphinx-build -W --keep-going -n -b html docs
docs/_build/html``). Chapters are executed at build time and cached; the cache is keyed
on reglab's own source, so editing ``reglab/`` re-executes every chapter. Set
``REGLAB_EXECUTE=force`` to re-execute everything regardless of the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
BUILD = DOCS / "_build"

# The chapters' kernels inherit this process's environment: make them import the reglab
# of this checkout (the one whose source is hashed below), whatever is installed.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
)

import reglab  # noqa: E402
from reglab import environment  # noqa: E402

# -- Project ------------------------------------------------------------------
project = "reglab"
author = "The reglab developers"
copyright = "2026, The reglab developers"
release = version = reglab.__version__
REPOSITORY_URL = environment.get("REGLAB_REPOSITORY_URL", "https://github.com/reglab/reglab")
# The GitHub Pages workflow publishes every executed chapter notebook (with its outputs) to
# this branch, at the page's path, so "open in Colab" opens the notebook itself.
reglab_notebook_branch = "notebooks"
reglab_colab_url = "https://colab.research.google.com"

extensions = [
    "myst_nb",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinx_exercise",
    "sphinx_togglebutton",
    "sphinxcontrib.bibtex",
    "sphinx.ext.mathjax",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "reglab_book",  # docs/_ext: notebook downloads with outputs, Colab links, a11y fixes
]
exclude_patterns = [
    "_build",
    "_ext",
    "node_modules",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
]
numfig = True
nitpicky = True

# -- MyST ---------------------------------------------------------------------
myst_enable_extensions = ["amsmath", "colon_fence", "dollarmath", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True


# -- Execution: at build time, cached, invalidated by reglab's own source ----------
def _source_hash() -> str:
    """Hash of every file in ``reglab/``: MyST-NB's cache only sees the code cells."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "reglab").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


reglab_source_hash = _source_hash()
_cache_root = BUILD / ".jupyter_cache"
nb_execution_cache_path = str(_cache_root / reglab_source_hash)
if _cache_root.is_dir():  # caches keyed on older versions of reglab are dead weight
    for stale in _cache_root.iterdir():
        if stale.name != reglab_source_hash:
            shutil.rmtree(stale, ignore_errors=True)

nb_execution_mode = "force" if environment.get("REGLAB_EXECUTE") == "force" else "cache"
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_timeout = 300  # seconds per cell
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs (result tables) may use tables and math

# Figures: SVG (sharp on HiDPI, small for line plots), deterministic bytes, white
# background so they stay readable in the theme's dark mode. The kernels read these
# settings from a matplotlibrc and an IPython profile that live in the build folder.
_ipython_dir = BUILD / "ipython"
(_ipython_dir / "profile_default").mkdir(parents=True, exist_ok=True)
(_ipython_dir / "profile_default" / "ipython_kernel_config.py").write_text(
    "c.InlineBackend.figure_formats = {'svg'}\n"
    "c.InlineBackend.rc = {}\n"
    "c.InlineBackend.print_figure_kwargs = {'bbox_inches': 'tight', 'metadata': {'Date': None}}\n"
)
os.environ["IPYTHONDIR"] = str(_ipython_dir)
os.environ["MATPLOTLIBRC"] = str(DOCS / "matplotlibrc")
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars are for terminals, not pages

# -- MathJax, served by the site itself (no CDN) ------------------------------------
MATHJAX_DIR = DOCS / "_static" / "mathjax"
FONT = "mathjax-newcm-font"


def _ensure_mathjax() -> None:
    """Install MathJax 4 and its font from npm (``docs/package-lock.json``) into _static."""
    wanted = [MATHJAX_DIR / "tex-chtml.js", MATHJAX_DIR / "fonts" / FONT / "chtml.js"]
    if all(p.exists() for p in wanted):
        return
    modules = DOCS / "node_modules"
    if not (modules / "mathjax" / "tex-chtml.js").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "The book serves MathJax itself and installs it with npm "
                "(docs/package-lock.json), but `npm` was not found. Install Node.js."
            )
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=DOCS, check=True)
    staging = MATHJAX_DIR.with_name("mathjax.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(modules / "mathjax", staging, ignore=shutil.ignore_patterns("*.md"))
    font_src = modules / "@mathjax" / FONT
    shutil.copytree(font_src / "chtml", staging / "fonts" / FONT / "chtml")
    shutil.copy2(font_src / "chtml.js", staging / "fonts" / FONT / "chtml.js")
    shutil.rmtree(MATHJAX_DIR, ignore_errors=True)
    staging.rename(MATHJAX_DIR)


_ensure_mathjax()
mathjax_path = "mathjax/tex-chtml.js"  # relative to _static
mathjax4_config = {"loader": {"paths": {"fonts": "[mathjax]/fonts"}}}

# -- API reference ----------------------------------------------------------------
autodoc_typehints = "none"  # the docstrings state types, PyTorch-style
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_custom_sections = ["Shape"]
napoleon_use_rtype = False
# Types named in docstrings that have no inventory offline (torch, matplotlib, builtins'
# informal names): leave them as plain text rather than fail the nitpicky build.
nitpick_ignore_regex = [
    (
        "py:class",
        r"(torch|torchvision|nn|matplotlib|PIL|optional|callable|device|Tensor|Axes|Optimizer|path)\b.*",
    ),
    ("py:class", r"(int|float|str|bool|tuple|list|dict|sequences?|iterable|Module)(\[.*\])?"),
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
    "launch_buttons": {"colab_url": reglab_colab_url},
    "show_toc_level": 2,
    "home_page_in_toc": True,
}


def setup(app):
    # A new hash (reglab's source changed) is a config change that makes Sphinx re-read
    # every page, and the new cache folder makes MyST-NB re-execute them.
    app.add_config_value("reglab_source_hash", "", "env")
