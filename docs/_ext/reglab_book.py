"""Sphinx hooks of the reglab book (kept out of conf.py, which holds only settings).

- ``.ipynb`` downloads *with outputs*: Jupytext turns each chapter's MyST source into a
  notebook and the outputs come from the execution cache. (sphinx-book-theme offers
  MyST-NB's ``jupyter_execute`` copy, which lacks outputs when they come from the cache.)
- The Colab button opens that notebook on the notebooks branch, not the ``.md`` source.
- The bibliography uses list/listitem roles that assistive technology understands.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _is_notebook(app: Sphinx, docname: str) -> bool:
    """A chapter: a MyST page whose Jupytext front matter names a kernel."""
    source = Path(app.env.doc2path(docname))
    return source.suffix == ".md" and "kernelspec:" in source.read_text(encoding="utf-8")[:1000]


def write_notebooks_with_outputs(app: Sphinx, exception: Exception | None) -> None:
    """Write ``_sources/<docname>.ipynb`` for every chapter: its cells with their outputs."""
    if exception is not None or app.builder.format != "html":
        return
    import jupytext
    import nbformat
    from jupyter_cache import get_cache

    records = {}
    cache_path = app.config.nb_execution_cache_path
    if cache_path and Path(cache_path).exists():
        cache = get_cache(cache_path)
        records = {Path(r.uri).resolve(): r for r in cache.list_cache_records()}
    executed_dir = Path(app.outdir).parent / "jupyter_execute"
    for docname in sorted(app.env.found_docs):
        if not _is_notebook(app, docname):
            continue
        source = Path(app.env.doc2path(docname)).resolve()
        notebook = jupytext.read(source)
        if source in records:  # cache mode: the outputs live in the cache
            executed = cache.get_cache_bundle(records[source].pk).nb
        else:  # force mode: MyST-NB's own copy was executed in place
            executed = nbformat.read(executed_dir / f"{docname}.ipynb", as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        done = [c for c in executed.cells if c.cell_type == "code"]
        if [c.source for c in code] != [c.source for c in done]:
            logger.warning(f"{docname}: executed notebook does not match its source; no outputs")
            continue
        for cell, run in zip(code, done, strict=True):
            cell.outputs = run.get("outputs", [])
            cell.execution_count = run.get("execution_count")
        target = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)


def colab_opens_the_notebook(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Point the theme's Colab button at the page's notebook on the notebooks branch."""
    repository = app.config.html_theme_options.get("repository_url", "")
    owner_repo = repository.removeprefix("https://github.com/").strip("/")
    branch, colab = app.config.reglab_notebook_branch, app.config.reglab_colab_url
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = f"{colab}/github/{owner_repo}/blob/{branch}/{pagename}.ipynb"


def accessible_bibliography(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """docutils gives the bibliography role="list" with role="doc-biblioentry" children,
    which assistive technology (and axe) reject: a list needs listitems."""
    if "citation-list" in context.get("body", ""):
        context["body"] = context["body"].replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app: Sphinx) -> dict:
    app.add_config_value("reglab_notebook_branch", "notebooks", "html")
    app.add_config_value("reglab_colab_url", "https://colab.research.google.com", "html")
    app.connect("html-page-context", accessible_bibliography)
    app.connect("html-page-context", colab_opens_the_notebook, priority=900)  # after the theme
    app.connect("build-finished", write_notebooks_with_outputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
