"""Notebooks that run anywhere, the examples gallery, and copy-ready snippets.

- **Setup cell.** Every chapter notebook the site offers (the ``.ipynb`` download, which is
  also what Colab opens) and every gallery notebook starts with one short code cell that
  installs ``reglab`` when it is not importable: from the repository at the commit the site
  was built from, with ``--no-deps`` so that Colab keeps its own torch, plus whatever else
  the notebook imports and the machine lacks (pinned torch and torchvision only where torch
  is missing). ``REGLAB_INSTALL_SPEC`` (read when the cell runs) replaces the reglab
  requirement, e.g. with a wheel of a checkout for offline testing. The ``.md`` sources
  stay clean: the cell is added to the chapter notebooks as ``reglab_book`` writes them
  (its ``reglab-notebook-download`` event), and to the gallery's by sphinx-gallery.
- **Gallery.** sphinx-gallery runs ``examples/*.py`` in their quick setting
  (``REGLAB_QUICK=1``, unless set otherwise), writes their files under ``docs/_build``,
  and re-executes them when reglab's source changes, like the chapters' cache. An
  example that raises, or leaves an empty figure (:func:`matplotlib_scraper`), fails
  the build.
- **Copy-ready cells.** A code cell tagged ``copyable`` gets a small badge saying that it
  runs on its own with only torch and torchvision (``tests/test_copyable.py`` checks it).
- **Accessibility** of what the gallery adds: thumbnail links keep their text for screen
  readers, and the sidebar's expand toggles (the gallery is its first nested section) get
  a name.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from docutils import nodes
from reglab_settings import BUILD
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SETUP_TAG = "reglab-setup"
COPYABLE_TAG = "copyable"
INSTALL_SPEC_VAR = "REGLAB_INSTALL_SPEC"
COPYABLE_LABEL = "Copy-ready: runs on its own with only torch and torchvision"


# -- Requirements and the setup cell ------------------------------------------------------
def _name(requirement: str) -> str:
    """The normalized distribution name of a PEP 508 requirement string."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1)
    return re.sub(r"[-_.]+", "_", name).lower()


def pinned_requirements(constraints: Path) -> dict:
    """``{module: requirement}`` of the exact builds in ``constraints.txt`` beside
    ``pyproject.toml`` (torch, torchvision: those the book is executed with)."""
    if not constraints.is_file():
        return {}
    lines = constraints.read_text(encoding="utf-8").splitlines()
    pins = [line.split("#")[0].strip() for line in lines]
    return {_name(pin): pin for pin in pins if pin}


def declared_requirements(pyproject: Path = ROOT / "pyproject.toml") -> tuple[dict, dict]:
    """``(runtime, optional)``: ``{module: requirement}`` of reglab's dependencies (pinned
    to the builds of ``constraints.txt`` where it pins them), and of every dependency group
    (the packages a chapter may import beyond reglab's own)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    runtime = {_name(r): r for r in data["project"]["dependencies"]}
    pins = pinned_requirements(pyproject.with_name("constraints.txt"))
    runtime.update({name: pin for name, pin in pins.items() if name in runtime})
    optional = {}
    for group in data.get("dependency-groups", {}).values():
        optional.update({_name(r): r for r in group if isinstance(r, str)})
    return runtime, optional


def imported_modules(sources: list[str]) -> set[str]:
    """Top-level names of the modules imported by some code cells."""
    found = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython syntax: nothing the chapters use
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def notebook_requirements(sources: list[str], pyproject: Path = ROOT / "pyproject.toml") -> dict:
    """``{module: requirement}`` a notebook needs besides reglab: reglab's dependencies and
    any other third-party module its cells import. Raises on an undeclared import."""
    runtime, optional = declared_requirements(pyproject)
    needed = dict(runtime)
    for module in sorted(imported_modules(sources)):
        if module in sys.stdlib_module_names or module == "reglab" or module in needed:
            continue
        key = _name(module)
        if key not in optional:
            raise ValueError(
                f"the notebook imports {module!r}, which is neither a dependency of reglab "
                "nor in a dependency group of pyproject.toml: declare it"
            )
        needed[module] = optional[key]
    return needed


def install_ref() -> str:
    """The git commit the site is built from: ``$REGLAB_INSTALL_REF``, ``$GITHUB_SHA``,
    ``git rev-parse HEAD``, or (outside a git checkout) the tag ``v<version>``."""
    ref = BUILD.get("REGLAB_INSTALL_REF") or os.environ.get("GITHUB_SHA")
    if ref:
        return ref
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        runtime = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        return f"v{runtime['project']['version']}"


def _wrapped_dict(name: str, items: dict, width: int = 88) -> str:
    """``name = {...}`` as Python source, wrapped at ``width`` characters."""
    entries = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in items.items()]
    lines, line = [], f"{name} = {{"
    for i, entry in enumerate(entries):
        piece = entry + ("}" if i == len(entries) - 1 else ",")
        if len(line) + 1 + len(piece) > width and not line.endswith("{"):
            lines.append(line)
            line = "    " + piece
        else:
            line += ("" if line.endswith("{") else " ") + piece
    return "\n".join([*lines, line])


def setup_cell_source(requirements: dict, reglab_spec: str) -> str:
    """The code of the setup cell (IPython syntax: ``%pip``)."""
    torch_req = requirements.get("torch", "torch")
    built_with = torch_req.split("==")[1] if "==" in torch_req else "?"
    needed = _wrapped_dict("needed", requirements)
    return f'''\
# Setup for Colab or a fresh machine: installs what this notebook needs if it is missing
# (and nothing else: Colab keeps its own torch). Quick when everything is installed.
# {INSTALL_SPEC_VAR} overrides where reglab comes from, e.g. a local wheel.
import importlib.util
import os
import sys

{needed}
missing = " ".join(f'"{{r}}"' for m, r in needed.items() if not importlib.util.find_spec(m))
if missing:
    %pip install --quiet {{missing}}
if importlib.util.find_spec("reglab") is None:
    reglab_spec = os.environ.get(
        "{INSTALL_SPEC_VAR}",
        "{reglab_spec}",
    )
    print(f"Installing reglab from {{reglab_spec}}")
    %pip install --quiet --no-deps "{{reglab_spec}}"
    importlib.invalidate_caches()
if "google.colab" in sys.modules:
    os.environ.setdefault("REGLAB_DATA", "/content/data")  # MNIST is downloaded there
import reglab.data.mnist
import torch

print(f"reglab {{reglab.__version__}} and torch {{torch.__version__}} (the book: {built_with});",
      f"MNIST in {{reglab.data.data_root()}}")'''


def reglab_spec(app_or_config) -> str:
    config = getattr(app_or_config, "config", app_or_config)
    repository = config.html_theme_options.get("repository_url", "").rstrip("/")
    return f"reglab @ git+{repository}@{config.reglab_install_ref}"


def new_setup_cell(nbformat, source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def add_setup_cell(notebook, requirements_source: str | None = None, *, spec: str) -> bool:
    """Put the setup cell first in ``notebook`` (an nbformat node); False if it has one."""
    import nbformat

    cells = notebook.cells
    if cells and SETUP_TAG in cells[0].get("metadata", {}).get("tags", []):
        return False
    code = [c.source for c in cells if c.cell_type == "code"]
    source = setup_cell_source(notebook_requirements(code), spec)
    cells.insert(0, new_setup_cell(nbformat, source))
    return True


def notebooks_get_their_setup_cell(app: Sphinx, docname: str, notebook) -> None:
    """``reglab-notebook-download`` (emitted by ``reglab_book``, the one writer of
    ``_sources/<chapter>.ipynb``): put the setup cell first in the notebook it writes."""
    try:
        add_setup_cell(notebook, spec=reglab_spec(app))
    except ValueError as err:
        logger.warning(f"{docname}: {err}", location=docname)


# -- Gallery --------------------------------------------------------------------------------
_saved_environment: dict[str, str | None] = {}


def gallery_environment(gallery_conf, fname, when) -> None:
    """sphinx-gallery ``reset_modules`` hook: examples run quick (``REGLAB_GALLERY_QUICK=0``
    runs them in full) and write their figures and results under ``docs/_build``, not into
    the sources. The environment is restored after each example."""
    settings = {
        "REGLAB_QUICK": BUILD.get("REGLAB_GALLERY_QUICK", "1"),
        "REGLAB_OUTPUT": str(ROOT / "docs" / "_build" / "gallery-output"),
    }
    if when == "before":
        _saved_environment.update({k: os.environ.get(k) for k in settings})
        os.environ.update(settings)
        return
    for key, value in _saved_environment.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def shows_data(ax) -> bool:
    """Whether a matplotlib Axes draws anything: lines, images, bars, collections, texts."""
    return bool(ax.lines or ax.images or ax.patches or ax.collections or ax.texts)


def matplotlib_scraper(block, block_vars, gallery_conf, **kwargs):
    """sphinx-gallery's matplotlib scraper (``image_scrapers``), which first refuses a
    figure with no Axes that draws anything: an example's figures are its product, and an
    empty one is a bug of the example that the gallery would otherwise publish. The
    error names the example and the figure, and fails the build."""
    import matplotlib.pyplot as plt
    from sphinx_gallery.scrapers import matplotlib_scraper as scrape

    for number in plt.get_fignums():
        figure = plt.figure(number)
        if not any(shows_data(ax) for ax in figure.axes):
            example = Path(block_vars.get("src_file", "?")).name
            plt.close(figure)  # sphinx-gallery scrapes again after an error, to close figures
            raise ExtensionError(
                f"{example}: figure {number} is empty ({len(figure.axes)} Axes, none of "
                "them draws lines, images, bars, collections or texts)"
            )
    return scrape(block, block_vars, gallery_conf, **kwargs)


def configure_gallery(app: Sphinx, config) -> None:
    """Finish ``sphinx_gallery_conf``: setup cell in its notebooks, cache keyed on reglab."""
    gallery = getattr(config, "sphinx_gallery_conf", None)
    if not gallery:
        return
    if gallery.get("first_notebook_cell") is None:
        runtime, _ = declared_requirements()
        gallery["first_notebook_cell"] = setup_cell_source(runtime, reglab_spec(config))


def key_gallery_cache(app: Sphinx) -> None:
    """Re-execute the examples when the book's execution key changes (builder-inited, before
    sphinx-gallery generates the gallery; ``reglab_build`` set the key on config-inited)."""
    gallery = getattr(app.config, "sphinx_gallery_conf", None)
    if not gallery:
        return
    config = app.config
    # sphinx-gallery re-executes an example when its .md5 file is missing: key its results
    # on the book's execution key (reglab_build) and the quick setting, like the
    # chapters' execution cache.
    quick = BUILD.get("REGLAB_GALLERY_QUICK", "1")
    key = f"{config.reglab_execution_key} quick={quick}"
    dirs = gallery["gallery_dirs"]
    for gallery_dir in [dirs] if isinstance(dirs, str) else dirs:
        folder = Path(app.srcdir) / gallery_dir
        stamp = folder / ".reglab-cache-key"
        if folder.is_dir() and (not stamp.exists() or stamp.read_text() != key):
            for md5 in folder.rglob("*.md5"):
                md5.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(key)


# -- Copy-ready badge -----------------------------------------------------------------------
def badge_copyable_cells(app: Sphinx, doctree: nodes.document) -> None:
    """Put a small label above the code of every cell tagged ``copyable``."""
    for cell in doctree.findall(nodes.container):
        if f"tag_{COPYABLE_TAG}" not in cell["classes"]:
            continue
        badge = nodes.paragraph("", COPYABLE_LABEL, classes=["reglab-copyable"])
        cell.insert(0, badge)


# -- Accessibility of what the gallery adds ------------------------------------------------
def label_sidebar_toggles(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """The gallery gives the sidebar its first nested section, and the theme's expand
    toggle (``<summary>`` holding only an icon) has no accessible name: name it after its
    section ("Pages of Examples gallery").

    This wraps pydata-sphinx-theme's ``generate_toctree_html`` (which sphinx-book-theme
    renders the sidebar with) and needs it to return BeautifulSoup: another theme, or a
    theme that changed it, is an error naming what was expected, never a silent no-op.
    """
    generate = context.get("generate_toctree_html")
    if getattr(generate, "labels_toggles", False):
        return
    if not callable(generate):
        raise ExtensionError(
            "reglab_notebooks.label_sidebar_toggles expects the theme (sphinx-book-theme, "
            "on pydata-sphinx-theme) to put a callable generate_toctree_html in the page "
            f"context of {pagename!r}; found {generate!r}. The sidebar's expand toggles "
            "would go unnamed: update this wrapper for the theme."
        )

    def generate_with_labels(*args, **kwargs):
        soup = generate(*args, **kwargs)
        if not callable(getattr(soup, "select", None)):
            raise ExtensionError(
                "reglab_notebooks.label_sidebar_toggles expects the theme's "
                f"generate_toctree_html to return BeautifulSoup; got {type(soup).__name__}. "
                "The sidebar's expand toggles would go unnamed: update this wrapper."
            )
        for summary in soup.select("details > summary"):
            if summary.get_text(strip=True) or summary.get("aria-label"):
                continue
            link = summary.find_parent("details").find_previous_sibling("a")
            section = link.get_text(strip=True) if link is not None else "this section"
            summary["aria-label"] = f"Pages of {section}"
        return soup

    generate_with_labels.labels_toggles = True
    context["generate_toctree_html"] = generate_with_labels


def setup(app: Sphinx) -> dict:
    app.setup_extension("reglab_book")  # the writer of the notebooks (and their event)
    app.add_config_value("reglab_install_ref", install_ref(), "html")
    app.connect("config-inited", configure_gallery, priority=900)
    app.connect("builder-inited", key_gallery_cache, priority=450)  # before sphinx-gallery's
    app.connect("doctree-read", badge_copyable_cells)
    app.connect("reglab-notebook-download", notebooks_get_their_setup_cell)  # reglab_book's
    app.connect("html-page-context", label_sidebar_toggles, priority=600)  # after the theme
    app.add_css_file("reglab_notebooks.css", priority=800)  # after sphinx-gallery's
    return {"parallel_read_safe": True, "parallel_write_safe": True}
