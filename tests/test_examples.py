"""Every gallery script in examples/: runs with tiny settings (REGLAB_QUICK=1), is in
sphinx-gallery's form, is picked up by the gallery, and links to and from its chapter."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import conf_value

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_examples():
    assert EXAMPLES


# Runs a script as __main__, as sphinx-gallery does, then reports the figures it left open:
# for each, how many of its axes show data (lines, images, bars, collections or texts: the
# test of the gallery's scraper, docs/_ext/reglab_notebooks.py).
RUN_AND_COUNT_FIGURES = """
import json, runpy, sys
import matplotlib.pyplot as plt
sys.argv = sys.argv[1:]  # the script sees its own command line, with no arguments
runpy.run_path(sys.argv[0], run_name="__main__")
sys.path.insert(0, "docs/_ext")
from reglab_notebooks import shows_data
figures = [plt.figure(n) for n in plt.get_fignums()]
print("FIGURES", json.dumps([sum(map(shows_data, f.axes)) for f in figures]))
"""


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_quickly_and_draws_figures(script, tmp_path, mnist_root):
    """Each example runs in its quick setting and leaves figures for the gallery to capture
    (sphinx-gallery saves them: an example neither picks a backend nor writes PNGs).

    The book build runs the same: every example in its quick setting, and it fails on an
    error or an empty figure (the gallery's scraper). A session that builds the book
    therefore leaves these tests out (``tests/conftest.py``) rather than run each example
    twice under the same conditions."""
    env = {**os.environ, "REGLAB_QUICK": "1", "REGLAB_OUTPUT": str(tmp_path), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_COUNT_FIGURES, str(script)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    (report,) = [line for line in result.stdout.splitlines() if line.startswith("FIGURES ")]
    axes_with_data = json.loads(report.removeprefix("FIGURES "))
    assert axes_with_data, f"{script.name} draws no figure"
    assert all(axes_with_data), f"{script.name} leaves an empty figure: {axes_with_data}"


# -- What the build checks instead, in a session that builds the book -------------------------
def _scraper():
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    import reglab_notebooks

    return reglab_notebooks


def test_the_gallery_scraper_refuses_an_empty_figure_and_closes_it():
    import matplotlib.pyplot as plt
    from sphinx.errors import ExtensionError

    plt.close("all")
    plt.subplots(1, 2)  # two Axes, neither draws anything
    try:
        with pytest.raises(ExtensionError, match=r"weight_decay\.py: figure \d+ is empty \(2 Axes"):
            _scraper().matplotlib_scraper(None, {"src_file": "/x/weight_decay.py"}, {})
        assert plt.get_fignums() == []  # sphinx-gallery scrapes again after an error
    finally:
        plt.close("all")


def test_the_gallery_scraper_hands_a_figure_with_data_to_sphinx_gallerys(monkeypatch):
    import matplotlib.pyplot as plt
    import sphinx_gallery.scrapers

    calls = []
    monkeypatch.setattr(
        sphinx_gallery.scrapers, "matplotlib_scraper", lambda *a, **k: calls.append(a) or "rst"
    )
    plt.close("all")
    _, (_, right) = plt.subplots(1, 2)
    try:
        right.bar([0, 1], [1, 2])  # one Axes that draws is enough; the other may be a legend
        block_vars = {"src_file": "/x/weight_decay.py"}
        assert _scraper().matplotlib_scraper("block", block_vars, {"c": 1}) == "rst"
        assert calls == [("block", block_vars, {"c": 1})]
    finally:
        plt.close("all")


def test_the_gallery_uses_the_scraper_and_fails_on_a_failing_example():
    conf = _gallery_conf()
    assert conf["image_scrapers"] == ("reglab_notebooks.matplotlib_scraper",)
    assert not conf.get("only_warn_on_example_error", False)
    assert not conf.get("expected_failing_examples")


def test_a_session_that_builds_the_book_leaves_out_what_the_build_repeats():
    from types import SimpleNamespace

    from conftest import REPEATED_BY_THE_BUILD, repeated_by_the_build

    def item(name, docs=False):
        return SimpleNamespace(
            originalname=name, get_closest_marker=lambda m: (m == "docs" and docs) or None
        )

    (name,) = REPEATED_BY_THE_BUILD
    run, book, other = item(name), item("test_site", docs=True), item("test_x")
    assert repeated_by_the_build([run, book, other], prebuilt_site=False) == [run]
    assert repeated_by_the_build([run, other], prebuilt_site=False) == []  # -m "not docs"
    assert repeated_by_the_build([run, book], prebuilt_site=True) == []  # REGLAB_SITE


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_leaves_the_backend_and_the_saving_to_the_gallery(script):
    source = script.read_text()
    assert "matplotlib.use(" not in source, "sphinx-gallery (or the reader) picks the backend"
    if script.stem == "compare_regularizers":
        # a command-line tool: its --output folder (results, summary, figure) is its product
        assert source.count(".savefig(") == 1 and "args.output" in source
    else:
        assert ".savefig(" not in source, "sphinx-gallery saves the figures"


# -- The gallery (sphinx-gallery renders examples/ on the site) -------------------------------
CHAPTERS = ROOT / "docs" / "chapters"


def _gallery_conf() -> dict:
    """``sphinx_gallery_conf`` as written in docs/conf.py (read, not executed)."""
    return conf_value("sphinx_gallery_conf")


def test_the_gallery_executes_every_example_and_has_a_header():
    conf = _gallery_conf()
    assert (ROOT / "docs" / conf["examples_dirs"]).resolve() == ROOT / "examples"
    assert (ROOT / "examples" / "README.txt").exists()
    for script in EXAMPLES:
        path = f"{ROOT}/examples/{script.name}"
        assert re.search(conf["filename_pattern"], path), f"{script.name} would not be executed"
        assert not re.search(conf["ignore_pattern"], path), f"{script.name} would be ignored"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_is_in_gallery_form(script):
    lines = script.read_text().splitlines()
    title = lines[2]
    assert lines[0] == '"""' and lines[1] == lines[3] and set(lines[1]) == {"="}, "RST title"
    assert len(lines[1]) >= len(title), "title bars shorter than the title (an RST error)"
    assert "SPDX-License-Identifier" in script.read_text()
    indented = [i + 1 for i, line in enumerate(lines) if re.match(r"\s+# %%", line)]
    assert indented == [], (
        f"cell markers inside a block (lines {indented}): cells must be top level"
    )


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_and_its_chapter_link_to_each_other(script):
    docstring = ast.get_docstring(ast.parse(script.read_text()))
    chapters = re.findall(r":doc:`/chapters/([\w-]+)`", docstring)
    assert chapters, "the docstring names its chapter: :doc:`/chapters/NAME`"
    for chapter in chapters:
        source = CHAPTERS / f"{chapter}.md"
        assert source.exists(), chapter
        assert f"{{doc}}`/gallery/{script.stem}`" in source.read_text(), (
            f"{chapter}.md does not link back to the gallery example {script.stem}"
        )


def test_every_chapter_links_to_the_gallery():
    for chapter in CHAPTERS.glob("*.md"):
        assert re.search(r"\{doc\}`[^`]*/gallery/", chapter.read_text()), chapter.name
