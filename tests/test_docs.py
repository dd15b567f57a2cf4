"""Build the whole book strictly, as `nox -s docs` does, and check what a reader receives.

Marked ``docs``: it executes every chapter (minutes on a laptop CPU the first time, seconds
when the execution cache is warm). Skip it locally with ``-m "not docs"``; CI runs it. The
site is built once, into docs/_build/html (``REGLAB_SITE`` points the tests at a site
built earlier instead), and these tests, the browser tests and the published site share it.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
CHAPTERS = sorted(
    p.relative_to(DOCS).with_suffix("").as_posix() for p in (DOCS / "chapters").glob("*.md")
)
#: The chapters in reading order: the entries of index.md's numbered toctree.
TOC = re.findall(r"^(chapters/\w+)$", (DOCS / "index.md").read_text(), flags=re.MULTILINE)

pytestmark = pytest.mark.docs


class _Resources(HTMLParser):
    """Collect every URL a page makes the browser fetch (scripts, styles, fonts, images)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"script", "img", "iframe", "source", "audio", "video"} and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href") and attrs.get("rel") not in {"canonical", None}:
            rel = set((attrs.get("rel") or "").split())
            if rel & {"stylesheet", "preload", "icon", "modulepreload", "prefetch", "manifest"}:
                self.urls.append(attrs["href"])


def test_every_chapter_is_built_and_downloadable(site):
    assert CHAPTERS, "no chapters found"
    for chapter in CHAPTERS:
        assert (site / f"{chapter}.html").exists()
        assert (site / "_sources" / f"{chapter}.ipynb").exists(), "no .ipynb download"
        assert (site / "_sources" / f"{chapter}.md").exists(), "no source download"


def test_no_page_loads_anything_from_another_host(site):
    offenders = []
    for page in site.rglob("*.html"):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        offenders += [
            f"{page.relative_to(site)}: {u}" for u in parser.urls if re.match(r"(https?:)?//", u)
        ]
    for css in (site / "_static").rglob("*.css"):
        for url in re.findall(
            r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)", css.read_text(errors="ignore")
        ):
            offenders.append(f"{css.relative_to(site)}: {url}")
    assert offenders == []


def test_math_is_typeset_at_build_time_and_no_mathjax_is_served(site):
    """Every chapter's math is SVG in the page (reglab_math); no page loads MathJax."""
    assert not (site / "_static" / "mathjax").exists()
    for chapter in CHAPTERS:
        page = (site / chapter).with_suffix(".html").read_text()
        assert "<reglab-math" not in page, chapter
        assert not re.search(r"<script[^>]*(mathjax|tex-chtml|tex-svg)", page, re.I), chapter
        maths = len(re.findall(r'class="[^"]*\bmath notranslate', page))
        assert page.count("<mjx-container") == maths, chapter
        assert page.count("<mjx-assistive-mml") == maths, chapter
        # docs/_templates/static/webpack-macros.html: the theme's icons come from its webfonts
        assert "fontawesome.js" not in page, chapter


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _heading(page: str) -> str:
    """The article's h1 (the theme also prints a plain copy of the title)."""
    return next(h for h in re.findall(r"<h1>(.*?)</h1>", page, re.S) if "headerlink" in h)


def test_build_report_lists_every_chapter(site):
    report = (site / "build-report.html").read_text()
    for chapter in CHAPTERS:
        assert f'href="{chapter}.html"' in report


def test_build_report_counts_each_chapters_claim_checks(site):
    """The table's numbers are those of the chapter sources (read here with Jupytext)."""
    import jupytext
    from reglab_book import claim_checks

    report = _text((site / "build-report.html").read_text())
    report = report[report.index("claim-check cells") :]
    total, position = [0, 0], 0
    for chapter in TOC:
        cells, asserts = claim_checks(jupytext.read(DOCS / f"{chapter}.md"))
        total = [total[0] + cells, total[1] + asserts]
        heading = _heading((site / f"{chapter}.html").read_text())
        heading = re.sub(r'<span class="section-number">.*?</span>', "", heading)
        title = _text(heading).removesuffix("#").strip()
        row = f"{title} {cells} {asserts}"
        assert row in report[position:], f"{chapter}: no row {row!r} after the previous chapter"
        position = report.index(row, position)  # rows in reading order
    assert f"all chapters {total[0]} {total[1]}" in report


def test_chapters_figures_and_equations_are_numbered_per_chapter(site):
    assert sorted(TOC) == CHAPTERS, "every chapter is in the numbered toctree"
    for number, chapter in enumerate(TOC, start=1):
        page = (site / f"{chapter}.html").read_text()
        assert f'<span class="section-number">{number}. </span>' in _heading(page), chapter
        equations = re.findall(r'<span class="eqno">\(([\d.]+)\)', page)
        figures = re.findall(r'<span class="caption-number">Fig\. ([\d.]+) </span>', page)
        for label in equations + figures:
            assert label.startswith(f"{number}."), (chapter, label)
        for found in (equations, figures):
            counters = [int(label.split(".")[-1]) for label in found]
            assert counters == list(range(1, len(found) + 1)), (chapter, found)


def test_colab_opens_each_chapters_published_notebook(site):
    for chapter in CHAPTERS:
        page = (site / f"{chapter}.html").read_text()
        url = (
            f"https://colab.research.google.com/github/reglab/reglab/blob/notebooks/{chapter}.ipynb"
        )
        assert url in page, f"{chapter}: no Colab link to its notebook"
        assert (site / "_sources" / f"{chapter}.ipynb").exists()  # what the workflow publishes


def test_downloaded_notebooks_are_valid_and_carry_outputs(site):
    import nbformat

    for chapter in CHAPTERS:
        nb = nbformat.read(site / "_sources" / f"{chapter}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and any(c.outputs for c in code), f"{chapter}: no outputs in the download"


def test_downloaded_notebooks_are_one_top_to_bottom_run(site):
    """Every code cell of the chapter ran, in order, in one kernel: the build's own run
    of the page (executed in a temporary folder, so nothing beside the chapter is needed).
    The download holds the visible cells of that run with their execution counts (the
    hidden ``remove-cell`` cells ran between them and are left out, like on the page).
    Cells the site adds to the download (an install cell, say) are not part of that run,
    nor are cells tagged ``skip-execution`` (nbclient's tag; an interactive widget, say).
    A fresh environment installing only what the notebook asks for is tested separately."""
    import jupytext
    import nbformat

    for chapter in CHAPTERS:
        source = jupytext.read(DOCS / f"{chapter}.md")
        run = [
            c
            for c in source.cells
            if c.cell_type == "code" and "skip-execution" not in c.metadata.get("tags", [])
        ]
        expected = [
            (count, c.source)
            for count, c in enumerate(run, start=1)
            if "remove-cell" not in c.metadata.get("tags", [])
        ]
        nb = nbformat.read(site / "_sources" / f"{chapter}.ipynb", as_version=4)
        assert not [c for c in nb.cells if "remove-cell" in c.metadata.get("tags", [])]
        ran = [c for c in nb.cells if c.cell_type == "code" and c.execution_count is not None]
        assert [(c.execution_count, c.source) for c in ran] == expected, chapter
        errors = [o for c in ran for o in c.outputs if o.output_type == "error"]
        assert errors == [], chapter


def test_internal_links_resolve(site):
    broken, checked, _ = load_script("check_links").check(site)
    assert checked > 100 and broken == []


def test_link_checker_finds_a_broken_anchor(tmp_path):
    (tmp_path / "a.html").write_text('<a href="b.html#nowhere">x</a><a href="c.html">y</a>')
    (tmp_path / "b.html").write_text('<h1 id="somewhere">b</h1>')
    broken, checked, _ = load_script("check_links").check(tmp_path)
    assert checked == 2
    assert sorted(broken) == [
        "a.html: b.html#nowhere (no anchor #nowhere)",
        "a.html: c.html (no file)",
    ]


def test_the_api_reference_has_one_section_per_package():
    """Fast (no build). Every package has its ``automodule`` (which documents its ``__all__``),
    and so do ``reglab.nn.functional``, ``reglab.nn.init``, ``reglab.environment`` and every
    module of ``reglab.studies`` and ``reglab.plotting`` (not re-exported by their package);
    the other modules, whose objects their package documents, are ``py:module`` targets only,
    so that no object is documented twice. A module missing here leaves its names
    unresolvable, and the strict build then fails on the first page that cites one."""
    api = (DOCS / "api.md").read_text()
    documented = re.findall(r"^\.\. automodule:: (\S+)$", api, flags=re.M)
    targets = set(re.findall(r"^\.\. py:module:: (\S+)\n   :no-typesetting:$", api, flags=re.M))
    assert len(documented) == len(set(documented)), "a module documented twice"
    packages = {f"reglab.{p.parent.name}" for p in (ROOT / "reglab").glob("*/__init__.py")}
    own_sections = {"reglab.nn.functional", "reglab.nn.init", "reglab.environment"}
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "reglab").glob("*/*.py")
        if not path.name.startswith("_")
    }
    by_module = {m for m in modules if m.split(".")[1] in {"studies", "plotting"}}
    assert packages | own_sections | by_module == set(documented)
    # a module that its package shadows with an object of the same name (reglab.train.replay,
    # the function) gets no target: two descriptions of one name fail the strict build
    shadowed = {m for m in modules if m.rsplit(".", 1)[1] in _all_of(m.rsplit(".", 1)[0])}
    assert modules - by_module - own_sections - shadowed == targets
    assert not targets & shadowed


def _all_of(package: str) -> list[str]:
    import importlib

    return getattr(importlib.import_module(package), "__all__", [])


def test_torch_names_link_to_pytorchs_documentation(site):
    """The API reference's torch names, short ones (``Tensor``) included, link to PyTorch's
    and torchvision's documentation through the committed inventories (docs/_inventories)."""
    api = (site / "api.html").read_text(encoding="utf-8")
    for target in (
        "docs/stable/tensors.html#torch.Tensor",  # written `Tensor` in the docstrings
        "docs/stable/generated/torch.nn.Module.html",  # `nn.Module`
        "vision/stable/generated/torchvision.datasets.MNIST.html",
    ):
        assert f'href="https://docs.pytorch.org/{target}"' in api, target
