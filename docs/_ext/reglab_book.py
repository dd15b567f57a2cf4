"""Page features of the reglab book, built on documented hooks of Sphinx, MyST-NB,
jupyter-cache and sphinx-book-theme.

- **Notebooks with outputs.** ``_sources/<chapter>.ipynb`` is the chapter converted by
  Jupytext, with the outputs of the build's own run: from jupyter-cache's public API
  (``merge_match_into_notebook``) in cache mode, from MyST-NB's executed copy otherwise.
  This extension is its one writer: others change the notebook before it is written
  through the ``reglab-notebook-download`` event (``reglab_notebooks`` adds its setup
  cell there). The download holds what the page shows: its hidden (``remove-cell``)
  cells, the claim checks and their glue, are dropped, and a note after the title says
  where they are (the page's ``.md`` source) and that they ran when the site was built.
  The visible cells keep the execution counts of that run.
- **A Colab button** that opens that notebook on the notebooks branch: the theme's
  ``header_buttons`` context gets a launch group of our own (the theme is given no
  ``colab_url``, so it adds none pointing at the ``.md``).
- **The build report's claim checks**: ``{reglab-claim-checks}`` renders, per chapter, the
  code cells tagged ``claim-check`` (hidden cells that guard the page's sentences, tagged
  ``[remove-cell, claim-check]``; a hidden cell that only glues is ``remove-cell`` alone)
  and the ``assert`` statements they run, and the paired
  comparisons the chapter made and found clear (its hidden ``comparisons`` glue).
  ``{reglab-execution-inputs}`` lists what the execution key was computed from.
- **Re-exported objects in the API reference**, documented at their public path
  (``reglab.train.train``): viewcode follows them to the module that defines them, and a
  re-exported constant (``reglab.train.MONITORS``) gets the ``#:`` comment of the module
  that assigns it, not the docstring of its type.
- **An accessible bibliography**: citations are ``listitem``s of their ``list`` (docutils
  writes ``doc-biblioentry``, which assistive technology rejects inside a list).

A chapter is a page whose metadata has a ``kernelspec`` (MyST-NB sets it; the theme uses
the same test).
"""

from __future__ import annotations

import ast
import json
import posixpath
from pathlib import Path
from urllib.parse import urlparse

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.writers.html5 import HTML5Translator

logger = logging.getLogger(__name__)

HIDDEN_TAG = "remove-cell"  # MyST-NB removes the cell from the page
CLAIM_TAG = "claim-check"  # a hidden cell that asserts the sentences around it


def is_chapter(env, docname: str) -> bool:
    return "kernelspec" in env.metadata.get(docname, {})


def chapters(env) -> list[str]:
    """The chapters in reading order (their number in the numbered toctree), then by name."""

    def number(docname: str) -> tuple:
        return env.toc_secnumbers.get(docname, {}).get("") or (float("inf"),)

    return sorted((d for d in env.found_docs if is_chapter(env, d)), key=lambda d: (number(d), d))


# -- Notebooks with outputs -------------------------------------------------------------


def _read_as_myst_nb(env, docname: str):
    """The notebook exactly as MyST-NB read (and hashed, and executed) it: its kernel name
    replaced by ``nb_kernel_rgx_aliases`` as MyST-NB's parser does before it executes."""
    import re

    from myst_nb.core.read import create_nb_reader

    path = env.doc2path(docname)
    text = Path(path).read_text(encoding="utf-8")
    reader = create_nb_reader(str(path), env.myst_config, env.mystnb_config, text)
    notebook = reader.read(text)
    kernelspec = notebook.metadata.get("kernelspec", {})
    for pattern, alias in env.mystnb_config.kernel_rgx_aliases.items():
        if "name" in kernelspec and re.fullmatch(pattern, kernelspec["name"]):
            kernelspec["name"] = alias
            break
    return notebook


def executed_notebook(app: Sphinx, docname: str):
    """The build's executed notebook of a chapter (outputs included)."""
    import nbformat

    if app.config.nb_execution_mode == "cache":
        from jupyter_cache import get_cache

        cache = get_cache(app.env.mystnb_config.execution_cache_path)
        _, merged = cache.merge_match_into_notebook(_read_as_myst_nb(app.env, docname))
        return merged
    executed = Path(app.env.mystnb_config.output_folder) / f"{docname}.ipynb"
    return nbformat.read(executed, as_version=4)


def notebook_with_outputs(source: Path, executed):
    """The Jupytext notebook of ``source`` with the outputs of ``executed``.

    Raises ValueError when the code cells differ: the download must be what was run.
    """
    import jupytext

    notebook = jupytext.read(source)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    done = [c for c in executed.cells if c.cell_type == "code"]
    if [c.source for c in code] != [c.source for c in done]:
        raise ValueError(f"{source}: the executed notebook's code cells differ from the page's")
    for cell, run in zip(code, done, strict=True):
        cell.outputs = run.get("outputs", [])
        cell.execution_count = run.get("execution_count")
    return notebook


CHECKS_NOTE = (
    "*The checks behind this page's sentences run when the site is built; they are in the "
    "page's source (the `.md` download).*"
)
NOTE_TAG = "reglab-checks-note"


def without_hidden_cells(notebook):
    """``notebook`` without its hidden (``remove-cell``) cells, and with :data:`CHECKS_NOTE`
    in a markdown cell right after the title (the first ``# `` line, whose cell is split
    there) when it had any. Changes ``notebook`` in place and returns it."""
    import nbformat

    kept = [c for c in notebook.cells if HIDDEN_TAG not in c.get("metadata", {}).get("tags", [])]
    if len(kept) == len(notebook.cells):
        notebook.cells = kept
        return notebook
    note = nbformat.v4.new_markdown_cell(CHECKS_NOTE, metadata={"tags": [NOTE_TAG]})
    for i, cell in enumerate(kept):
        lines = cell.source.splitlines(keepends=True) if cell.cell_type == "markdown" else []
        title = next((j for j, line in enumerate(lines) if line.startswith("# ")), None)
        if title is None:
            continue
        cell.source = "".join(lines[: title + 1]).rstrip("\n")
        rest = "".join(lines[title + 1 :]).strip("\n")
        after = [note] + ([nbformat.v4.new_markdown_cell(rest)] if rest else [])
        kept[i + 1 : i + 1] = after
        break
    else:  # no title: the note comes first
        kept.insert(0, note)
    notebook.cells = kept
    return notebook


def write_notebooks_with_outputs(app: Sphinx, exception: Exception | None) -> None:
    """Write ``_sources/<chapter>.ipynb``: the chapter's visible cells with their outputs
    (:func:`without_hidden_cells`), as the ``reglab-notebook-download`` listeners leave
    them."""
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    for docname in chapters(app.env):
        source = Path(app.env.doc2path(docname))
        try:
            notebook = notebook_with_outputs(source, executed_notebook(app, docname))
        except (KeyError, ValueError, FileNotFoundError) as error:
            logger.warning(f"{docname}: no notebook with outputs ({error!r})", location=docname)
            continue
        without_hidden_cells(notebook)
        app.emit("reglab-notebook-download", docname, notebook)
        target = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)


# -- Colab button and notebook download ---------------------------------------------------


def colab_url(app: Sphinx, pagename: str) -> str:
    """Colab's URL of the page's notebook on the notebooks branch of the repository."""
    repository = app.config.html_theme_options.get("repository_url", "")
    owner, repo = urlparse(repository).path.strip("/").split("/")[:2]
    branch, colab = app.config.reglab_notebook_branch, app.config.reglab_colab_url.rstrip("/")
    return f"{colab}/github/{owner}/{repo}/blob/{branch}/{pagename}.ipynb"


def add_colab_button(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """On a chapter: offer the ``.ipynb`` download and add a Colab launch button.

    Runs after the theme prepared ``header_buttons`` (priority 500) and before it renders
    its own buttons from them (501, connected after this extension).
    """
    if "header_buttons" not in context or not is_chapter(app.env, pagename):
        return
    context["ipynb_source"] = f"{pagename}.ipynb"  # the theme's download button
    context["header_buttons"].append(
        {
            "type": "group",
            "tooltip": "Launch interactive content",
            "icon": "fas fa-rocket",
            "label": "launch-buttons",
            "buttons": [
                {
                    "type": "link",
                    "text": "Colab",
                    "tooltip": "Open this chapter's notebook, with its outputs, in Colab",
                    "icon": "_static/images/logo_colab.png",
                    "url": colab_url(app, pagename),
                }
            ],
        }
    )


# -- Claim checks and execution inputs on the build report --------------------------------


def count_asserts(source: str) -> int:
    """Number of checks in a code cell (IPython syntax allowed): ``assert`` statements and
    calls of ``torch.testing.assert_close`` (any call named ``assert_close``)."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    return sum(
        isinstance(node, ast.Assert)
        or (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "assert_close"
        )
        for node in ast.walk(tree)
    )


def claim_checks(notebook) -> tuple[int, int]:
    """(claim-check cells, their ``assert`` statements): code cells tagged ``claim-check``."""
    cells = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and CLAIM_TAG in c.get("metadata", {}).get("tags", [])
    ]
    return len(cells), sum(count_asserts(c.source) for c in cells)


COMPARISONS = "comparisons"  # the hidden glue: "<made>/<clear>" (reglab.stats.tally)


def comparisons(glue: dict) -> tuple[int, int] | None:
    """(paired comparisons made, found clear) that an executed chapter glued as
    ``comparisons`` (``glue("comparisons", tally(...), display=False)``), or ``None`` when
    it glued none (a chapter that compares nothing).

    Args:
        glue: the chapter's glue data as MyST-NB extracts it
            (``myst_nb.ext.glue.extract_glue_data``) and writes it to
            ``<output folder>/<docname>.glue.json``, in every execution mode. MyST-NB
            itself warns (an error under ``-W``) when a key is glued twice.

    Raises:
        ValueError: the glued value is not ``"<made>/<clear>"`` with ``0 <= clear <= made``.
    """
    output = glue.get(COMPARISONS)
    if output is None:
        return None
    text = output.get("data", {}).get("text/plain", "")
    value = ast.literal_eval(text) if text[:1] in "'\"" else text
    made, _, clear = str(value).partition("/")
    if not (made.isdigit() and clear.isdigit() and int(clear) <= int(made)):
        raise ValueError(f"{COMPARISONS!r} must read '<made>/<clear>', got {value!r}")
    return int(made), int(clear)


class report_placeholder(nodes.General, nodes.Element):
    """Replaced at write time by a table (``kind``), so it reflects every chapter."""


class ReportDirective(SphinxDirective):
    kind = ""

    def run(self):
        self.env.metadata[self.env.docname]["reglab_build_report"] = True
        return [report_placeholder(kind=self.kind)]


class ClaimChecks(ReportDirective):
    kind = "claim-checks"


class ExecutionInputs(ReportDirective):
    kind = "execution-inputs"


def _table(header: list[str], rows: list[list[nodes.Node | str]]) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(header))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in header]
    for part, part_rows in ((nodes.thead(), [header]), (nodes.tbody(), rows)):
        group += part
        for cells in part_rows:
            row = nodes.row()
            part += row
            for cell in cells:
                text = nodes.Text(cell) if isinstance(cell, str) else cell
                row += nodes.entry("", nodes.paragraph("", "", text))
    return table


def _doc_link(parent: str, docname: str) -> nodes.Node:
    link = pending_xref(
        refdoc=parent,
        reftarget=posixpath.relpath(docname, posixpath.dirname(parent)),
        reftype="doc",
        refdomain="std",
        refexplicit=False,
    )
    link += nodes.inline(text=docname)
    return link


class FillReport(SphinxPostTransform):
    default_priority = 8  # before the references are resolved (10)

    def run(self, **kwargs) -> None:
        config = self.config
        for node in list(self.document.findall(report_placeholder)):
            if node["kind"] == "claim-checks":
                rows, total, compared = [], [0, 0], [0, 0]
                for docname in chapters(self.env):
                    counts = claim_checks(_read_as_myst_nb(self.env, docname))
                    total = [t + c for t, c in zip(total, counts, strict=True)]
                    made = self._comparisons(docname)
                    if made is not None:
                        compared = [t + c for t, c in zip(compared, made, strict=True)]
                    cell = "none" if made is None else f"{made[0]} made, {made[1]} clear"
                    rows.append([_doc_link(self.env.docname, docname), *map(str, counts), cell])
                everything = f"{compared[0]} made, {compared[1]} clear"
                rows.append(["all chapters", *map(str, total), everything])
                header = ["chapter", "claim-check cells", "checks (assert, assert_close)",
                          "paired comparisons"]  # fmt: skip
                node.replace_self(_table(header, rows))
            else:
                inputs = config.reglab_execution_inputs
                data = inputs.get("data", {})
                rows = [
                    ["execution key", config.reglab_execution_key],
                    ["python", inputs.get("python", "")],
                    *[[k, v or "not installed"] for k, v in inputs.get("packages", {}).items()],
                    ["device", inputs.get("device", "")],
                    ["threads per chapter kernel", str(inputs.get("threads", ""))],
                    ["chapters read in this build", _read_in(config)],
                    [
                        "reglab source",
                        f"{len(inputs.get('reglab', {}))} files hashed by "
                        f"their code, {len(inputs.get('reglab_shown', {}))} of them (printed on a "
                        "page) byte for byte",
                    ],
                    *[[name, _describe_idx(entry)] for name, entry in data.items()],
                ]
                node.replace_self(_table(["input", "value"], rows))

    def _comparisons(self, docname: str) -> tuple[int, int] | None:
        from myst_nb.sphinx_ import NbMetadataCollector

        keys = NbMetadataCollector.get_doc_data(self.env).get(docname, {}).get("glue", [])
        if COMPARISONS not in keys:  # this build's parse of the chapter glued no tally
            return None
        *parents, name = docname.split("/")
        folder = Path(self.env.mystnb_config.output_folder).joinpath(*parents)
        glue = json.loads((folder / f"{name}.glue.json").read_text(encoding="utf8"))
        return comparisons(glue)


def _read_in(config) -> str:
    """How this build read its notebooks (each executed, or its outputs taken from the
    cache): how many, and by how many processes."""
    read, processes = config.reglab_read_notebooks, config.reglab_read_processes
    if not read:
        return "none (no chapter changed since the last build)"
    how = "serially" if processes <= 1 else f"in parallel, {processes} processes"
    return f"{read}, {how}"


def _describe_idx(entry: list | None) -> str:
    """``[size, sizes]`` of an IDX file (:func:`reglab_build.data_fingerprint`): its items."""
    if entry is None:
        return "missing"
    size, sizes = entry
    if isinstance(sizes, str):  # a corrupt file: the problem
        return f"{sizes} ({size:,} bytes)"
    return f"{sizes[0]:,} items ({size:,} bytes)"


def rewrite_build_reports(app: Sphinx, env) -> list[str]:
    """The build report is re-written on every build: any chapter may have changed."""
    return [d for d in env.found_docs if env.metadata.get(d, {}).get("reglab_build_report")]


# -- Source links of re-exported objects --------------------------------------------------


def follow_to_the_defining_module(app: Sphinx, modname: str, fullname: str) -> str | None:
    """viewcode-follow-imported: the module that defines ``modname.fullname``.

    viewcode backlinks a source module to one public module (the first that documents
    one of its objects): ``reglab/nn/dropout.py`` holds ``dropout`` (public path
    ``reglab.nn.functional``) and ``mask_of`` (``reglab.nn``), and its page would link
    back to ``reglab.nn.functional.mask_of``, which does not exist. So an object is
    followed only when its source module is not yet claimed by another public module;
    otherwise it keeps no [source] link rather than a broken backlink.
    """
    import importlib

    try:
        obj = importlib.import_module(modname)
        for part in fullname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    defining = getattr(obj, "__module__", None)
    if not isinstance(defining, str) or not defining.startswith("reglab"):
        return None
    claims = app.env.__dict__.setdefault("reglab_viewcode_claims", {})
    if claims.setdefault(defining, modname) != modname:
        return modname  # viewcode finds no tag there: no link
    return defining


def comment_of_reexported_constant(app: Sphinx, what, name, obj, options, lines) -> None:
    """autodoc-process-docstring: ``.. autodata:: reglab.train.MONITORS`` reads the ``#:``
    comment of the module that assigns it (autodoc looks in ``reglab.train`` only, finds
    none, and falls back to ``tuple``'s docstring); no comment: no text."""
    import importlib
    import pkgutil

    from sphinx.pycode import ModuleAnalyzer

    if what != "data" or not name.startswith("reglab."):
        return
    package_name, attr = name.rsplit(".", 1)
    package = importlib.import_module(package_name)
    if not hasattr(package, "__path__"):
        return  # a module: autodoc found its comment itself
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package_name}."):
        docs = ModuleAnalyzer.for_module(info.name).find_attr_docs()
        if ("", attr) in docs and getattr(importlib.import_module(info.name), attr, None) is obj:
            lines[:] = list(docs[("", attr)])
            return
    lines[:] = []


def _connect_api_hooks(app: Sphinx, config) -> None:
    """The events of viewcode and autodoc exist only where those extensions are loaded."""
    if "sphinx.ext.viewcode" in app.extensions:
        app.connect("viewcode-follow-imported", follow_to_the_defining_module)
    if "sphinx.ext.autodoc" in app.extensions:
        app.connect("autodoc-process-docstring", comment_of_reexported_constant)


# -- Accessible bibliography --------------------------------------------------------------


class AccessibleCitations(HTML5Translator):
    """Citations as ``listitem``s of docutils' ``role="list"`` wrapper (the theme adds
    its Bootstrap mixin on top of this translator)."""

    def visit_citation(self, node) -> None:
        if not isinstance(node.previous_sibling(), type(node)):
            self.body.append('<div role="list" class="citation-list">\n')
        self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


#: Short names of torch types in the docstrings (as PyTorch's own docstrings write them),
#: with the full names the intersphinx inventories list.
TORCH_ALIASES = {
    "Tensor": "torch.Tensor",
    "device": "torch.device",
    "dtype": "torch.dtype",
    "Generator": "torch.Generator",
    "Module": "torch.nn.Module",
    "Parameter": "torch.nn.Parameter",
    "Optimizer": "torch.optim.Optimizer",
    "InterpolationMode": "torchvision.transforms.InterpolationMode",
}


def resolve_torch_alias(app: Sphinx, env, node, contnode):
    """``missing-reference``: a short torch name (``Tensor``, ``nn.Module``,
    :data:`TORCH_ALIASES`) resolved through intersphinx under its full name; ``None`` for
    anything else, which then stays a nitpicky warning."""
    from sphinx.ext.intersphinx import missing_reference

    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    full = TORCH_ALIASES.get(target)
    if full is None and target.startswith(("nn.", "optim.")):
        full = f"torch.{target}"
    if full is None:
        return None
    aliased = node.deepcopy()
    aliased["reftarget"] = full
    return missing_reference(app, env, aliased, contnode)


def setup(app: Sphinx) -> dict:
    app.connect("missing-reference", resolve_torch_alias, priority=900)  # after intersphinx
    app.add_config_value("reglab_notebook_branch", "notebooks", "html")
    app.add_config_value("reglab_colab_url", "https://colab.research.google.com", "html")
    app.set_translator("html", AccessibleCitations)
    app.connect("html-page-context", add_colab_button, priority=501)
    app.add_event("reglab-notebook-download")  # (app, docname, notebook) before it is written
    app.connect("build-finished", write_notebooks_with_outputs)
    app.connect("config-inited", _connect_api_hooks)
    app.add_node(report_placeholder)
    app.add_directive("reglab-claim-checks", ClaimChecks)
    app.add_directive("reglab-execution-inputs", ExecutionInputs)
    app.add_post_transform(FillReport)
    app.connect("env-updated", rewrite_build_reports)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
