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

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_examples():
    assert EXAMPLES


# Runs a script as __main__, as sphinx-gallery does, then reports the figures it left open:
# for each, how many of its axes show data (lines, images, bars, collections or texts).
RUN_AND_COUNT_FIGURES = """
import json, runpy, sys
import matplotlib.pyplot as plt
sys.argv = sys.argv[1:]  # the script sees its own command line, with no arguments
runpy.run_path(sys.argv[0], run_name="__main__")
def shows_data(ax):
    return bool(ax.lines or ax.images or ax.patches or ax.collections or ax.texts)
figures = [plt.figure(n) for n in plt.get_fignums()]
print("FIGURES", json.dumps([sum(map(shows_data, f.axes)) for f in figures]))
"""


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_quickly_and_draws_figures(script, tmp_path, mnist_root):
    """Each example runs in its quick setting and leaves figures for the gallery to capture
    (sphinx-gallery saves them: an example neither picks a backend nor writes PNGs)."""
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
    tree = ast.parse((ROOT / "docs" / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == (
            "sphinx_gallery_conf"
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py has no sphinx_gallery_conf")


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
