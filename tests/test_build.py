"""The book's build machinery (docs/_ext), tested on a tiny project: fast and faithful.

The tiny project uses the real extensions, MyST-NB's cache and sphinx-book-theme, with
one chapter whose code cell logs every execution to a file. It proves that the execution
key covers what the outputs depend on (a changed matplotlibrc or data root re-executes
the chapter; an unchanged build executes nothing), and it checks each page feature the
extensions add: the notebook download with outputs, the Colab button, the build report's
claim checks, the bibliography's roles, and that only HTML builders need npm.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import torch
from conftest import MYST_NOTEBOOK_HEADER, build_docs, write_idx_mnist

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"
sys.path.insert(0, str(EXT))

import reglab_book  # noqa: E402
import reglab_build  # noqa: E402

CONF = f"""
import sys
sys.path.insert(0, {str(EXT)!r})
project = "tiny"
extensions = ["myst_nb", "sphinxcontrib.bibtex", "reglab_build", "reglab_book"]
reglab_root = {str(ROOT)!r}
reglab_bundled_mathjax = False  # test_only_html_builds_need_npm turns it on
html_theme = "sphinx_book_theme"
html_theme_options = {{"repository_url": "https://github.com/owner/repo"}}
nb_execution_mode = "cache"
nb_execution_raise_on_error = True
nb_execution_in_temp = True
bibtex_bibfiles = ["refs.bib"]
exclude_patterns = ["_build"]
"""
INDEX = """# Tiny

```{toctree}
:numbered:
chapter
report
```

As {cite:t}`author2020` showed.

```{bibliography}
```
"""
REPORT = """# Report

```{reglab-claim-checks}
```

```{reglab-execution-inputs}
```
"""
CHAPTER = (
    MYST_NOTEBOOK_HEADER
    + """
# Chapter

```{code-cell}
import os
import matplotlib

with open(os.environ["TINY_LOG"], "a") as log:
    log.write("executed\\n")
print("font size", matplotlib.rcParams["font.size"])
```

```{code-cell}
:tags: [remove-cell]
from myst_nb import glue
glue("comparisons", "3/1", display=False)  # glue only: hidden, not a claim check
```

```{code-cell}
:tags: [remove-cell, claim-check]
x = 2
assert x == 2, "assert in a string is not counted"
for i in range(3):
    assert i < 3  # one statement, however often it runs
```

```{code-cell}
%time y = 1
assert y == 1  # a visible cell: not a claim check
```
"""
)
BIB = "@article{author2020, author={Ann Author}, title={A title}, journal={J}, year={2020}}\n"


def _data_root(path: Path, n: int) -> Path:
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    labels = torch.arange(n, dtype=torch.uint8) % 10
    write_idx_mnist(path, images, labels, train=True)
    write_idx_mnist(path, images, labels, train=False)
    return path


def _project(path: Path) -> Path:
    docs = path / "docs"
    docs.mkdir(parents=True)
    for name, text in {"conf.py": CONF, "index.md": INDEX, "report.md": REPORT,
                       "chapter.md": CHAPTER, "refs.bib": BIB,
                       "matplotlibrc": "font.size: 10\n"}.items():  # fmt: skip
        (docs / name).write_text(text)
    return docs


def _build(docs: Path, data: Path, *args: str, builder: str = "html", **env: str):
    environ = {**os.environ, "REGLAB_DATA": str(data), "TINY_LOG": str(docs / "log"), **env}
    environ.pop("REGLAB_DEVICE", None)
    out = docs / "_build" / builder
    return build_docs(docs, out, "-b", builder, *args, env=environ), out


def _executions(docs: Path) -> int:
    log = docs / "log"
    return len(log.read_text().splitlines()) if log.exists() else 0


# -- the execution key ------------------------------------------------------------------


@pytest.fixture
def inputs_of(tmp_path):
    """execution_inputs() of a copy of reglab, a matplotlibrc and a tiny data root."""
    package = tmp_path / "reglab"
    shutil.copytree(ROOT / "reglab", package, ignore=shutil.ignore_patterns("__pycache__"))
    rc = tmp_path / "matplotlibrc"
    rc.write_text("font.size: 10\n")
    data = _data_root(tmp_path / "data", 20)

    def inputs(**overrides):
        kwargs = dict(package=package, matplotlibrc=rc, data_root=data, device="cpu")
        return reglab_build.execution_inputs(**{**kwargs, **overrides})

    return inputs, package, rc, data


def test_the_key_is_stable_and_ignores_where_the_data_lives(inputs_of, tmp_path):
    inputs, _, _, data = inputs_of
    key = reglab_build.execution_key(inputs())
    assert re.fullmatch(r"[0-9a-f]{16}", key)
    assert reglab_build.execution_key(inputs()) == key
    moved = shutil.copytree(data, tmp_path / "elsewhere")
    assert reglab_build.execution_key(inputs(data_root=moved)) == key


def test_every_input_changes_the_key(inputs_of, tmp_path, monkeypatch):
    inputs, package, rc, _ = inputs_of
    before = reglab_build.execution_key(inputs())
    keys = {}

    edited = package / "stats" / "paired.py"
    edited.write_text(edited.read_text() + "\nEDITED = True\n")  # code: comments do not count
    keys["reglab source"] = reglab_build.execution_key(inputs())
    edited.write_text((ROOT / "reglab" / "stats" / "paired.py").read_text())
    assert reglab_build.execution_key(inputs()) == before

    rc.write_text("font.size: 12\n")
    keys["matplotlibrc"] = reglab_build.execution_key(inputs())
    rc.write_text("font.size: 10\n")

    keys["kernel profile"] = reglab_build.execution_key(
        inputs(kernel_config=reglab_build.KERNEL_CONFIG + "c.X = 1\n")
    )
    keys["device"] = reglab_build.execution_key(inputs(device="cuda:0"))
    keys["more images"] = reglab_build.execution_key(
        inputs(data_root=_data_root(tmp_path / "bigger", 30))
    )
    keys["no data"] = reglab_build.execution_key(inputs(data_root=tmp_path / "empty"))

    real = reglab_build._version
    monkeypatch.setattr(
        reglab_build, "_version", lambda name: "9.9" if name == "torch" else real(name)
    )
    keys["torch version"] = reglab_build.execution_key(inputs())

    assert before not in keys.values()
    assert len(set(keys.values())) == len(keys), keys


def test_data_fingerprint_reads_the_idx_headers(tmp_path):
    fingerprint = reglab_build.data_fingerprint(_data_root(tmp_path, 20))
    assert fingerprint["train-images-idx3-ubyte"] == [16 + 20 * 28 * 28, [20, 28, 28]]
    assert fingerprint["t10k-labels-idx1-ubyte"] == [8 + 20, [20]]
    labels = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1])  # a partial download: another fingerprint
    size, problem = reglab_build.data_fingerprint(tmp_path)["train-labels-idx1-ubyte"]
    assert size == 8 + 19 and problem.startswith("corrupt: it has 27 bytes")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    assert reglab_build.data_fingerprint(tmp_path)["t10k-labels-idx1-ubyte"] is None


def test_the_chapters_kernel_gets_its_environment_from_its_kernelspec(tmp_path, monkeypatch):
    """The build writes a kernelspec into its folder, with the kernels' variables in its
    ``env``; jupyter_client finds it through JUPYTER_PATH, which is all the build sets."""
    from jupyter_client.kernelspec import KernelSpecManager

    docs = tmp_path / "docs"
    docs.mkdir()
    monkeypatch.setenv("JUPYTER_PATH", "")
    monkeypatch.delenv("IPYTHONDIR", raising=False)
    monkeypatch.delenv("MATPLOTLIBRC", raising=False)
    app = SimpleNamespace(
        confdir=str(docs),
        outdir=str(docs / "_build" / "html"),
        config=SimpleNamespace(
            reglab_root=str(ROOT), reglab_execution_key="k", nb_execution_mode="off"
        ),
    )
    reglab_build.write_kernelspec(app)
    spec = KernelSpecManager().get_kernel_spec(reglab_build.KERNEL_NAME)
    assert spec.env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)
    assert spec.env["MATPLOTLIBRC"] == str(docs / "matplotlibrc")
    profile = Path(spec.env["IPYTHONDIR"]) / "profile_default" / "ipython_kernel_config.py"
    assert profile.read_text() == reglab_build.KERNEL_CONFIG
    assert "IPYTHONDIR" not in os.environ and "MATPLOTLIBRC" not in os.environ


def test_the_sidebar_toggle_wrapper_fails_loudly_on_another_theme():
    import reglab_notebooks
    from bs4 import BeautifulSoup
    from sphinx.errors import ExtensionError

    label = reglab_notebooks.label_sidebar_toggles
    with pytest.raises(ExtensionError, match="generate_toctree_html"):
        label(None, "index", "page.html", {}, None)  # a theme without the function
    html = '<li><a href="g.html">Gallery</a><details><summary><i></i></summary></details></li>'
    context = {"generate_toctree_html": lambda *a, **k: BeautifulSoup(html, "html.parser")}
    label(None, "index", "page.html", context, None)
    soup = context["generate_toctree_html"]("sidebar")
    assert soup.select_one("summary")["aria-label"] == "Pages of Gallery"
    context = {"generate_toctree_html": lambda *a, **k: html}  # a string, not soup
    label(None, "index", "page.html", context, None)
    with pytest.raises(ExtensionError, match="to return BeautifulSoup; got str"):
        context["generate_toctree_html"]("sidebar")


@pytest.mark.slow
def test_a_new_key_re_executes_the_chapter_and_nothing_else_does(tmp_path):
    docs = _project(tmp_path)
    data = _data_root(tmp_path / "data", 20)

    def build(data_root=data):
        result, out = _build(docs, data_root)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        page = (out / "chapter.html").read_text()
        return _executions(docs), re.search(r"font size (\S+)", page).group(1)

    assert build() == (1, "10.0")
    assert build() == (1, "10.0"), "an unchanged build executed the chapter"
    (docs / "matplotlibrc").write_text("font.size: 12\n")
    assert build() == (2, "12.0"), "a new matplotlibrc did not re-execute the chapter"
    assert build(_data_root(tmp_path / "bigger", 30)) == (3, "12.0"), "new data, old outputs"
    caches = list((docs / "_build" / ".jupyter_cache").iterdir())
    assert len(caches) == 1, "caches of old keys are kept"


# -- the page features, on one tiny build -------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One tiny build that the tests read and never change (a test that builds again
    takes :func:`tiny_copy`), so that they pass in any order."""
    path = tmp_path_factory.mktemp("tiny")
    docs = _project(path)
    data = _data_root(path / "data", 20)
    result, out = _build(docs, data)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return docs, data, out


@pytest.fixture
def tiny_copy(tiny, tmp_path):
    """A copy of the tiny project, its build and execution cache included, for a test that
    builds again: the shared build stays as :func:`tiny` made it."""
    docs, data, out = tiny
    copy = shutil.copytree(docs, tmp_path / "docs", symlinks=True)
    return copy, data, copy / out.relative_to(docs)


def _checks_were_dropped(nb) -> list:
    """The code cells of a downloaded tiny notebook, after checking that its hidden cells
    were dropped and the note on the checks follows the title."""
    assert [c.cell_type for c in nb.cells] == ["markdown", "markdown", "code", "code"]
    assert nb.cells[0].source == "# Chapter"
    assert nb.cells[1].source == reglab_book.CHECKS_NOTE
    assert not any("remove-cell" in c.metadata.get("tags", []) for c in nb.cells)
    code = nb.cells[2:]
    assert "font size 10.0" in "".join(o.get("text", "") for o in code[0].outputs)
    assert code[1].source.startswith("%time") and "Wall time" in code[1].outputs[0]["text"]
    # the counts of the build's run, in which the two hidden cells ran 2nd and 3rd
    assert [c.execution_count for c in code] == [1, 4]
    return code


@pytest.mark.slow
def test_the_downloaded_notebook_carries_the_builds_outputs(tiny):
    docs, _, out = tiny
    nb = nbformat.read(out / "_sources" / "chapter.ipynb", as_version=4)
    nbformat.validate(nb)
    _checks_were_dropped(nb)
    assert _executions(docs) == 1  # the outputs came from the build's run, not a new one


@pytest.mark.slow
def test_forced_execution_also_ships_its_outputs(tiny_copy):
    """REGLAB_EXECUTE=force (no cache): the outputs come from MyST-NB's executed copy."""
    docs, data, _ = tiny_copy
    before = _executions(docs)
    result, out = _build(docs, data, "-E", "-Dnb_execution_mode=force", builder="html")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _executions(docs) == before + 1
    nb = nbformat.read(out / "_sources" / "chapter.ipynb", as_version=4)
    _checks_were_dropped(nb)
    report = " ".join(re.sub(r"<[^>]+>", " ", (out / "report.html").read_text()).split())
    assert "Chapter 1 2 3 made, 1 clear" in report  # the tally, from MyST-NB's glue data


@pytest.mark.slow
def test_colab_button_opens_the_published_notebook(tiny):
    _, _, out = tiny
    page = (out / "chapter.html").read_text()
    colab = re.findall(r'href="(https://colab\.research\.google\.com[^"]*)"', page)
    assert colab == [
        "https://colab.research.google.com/github/owner/repo/blob/notebooks/chapter.ipynb"
    ]
    assert 'href="_sources/chapter.ipynb"' in page  # the theme's download button
    assert "colab" not in (out / "report.html").read_text().lower()  # chapters only


@pytest.mark.slow
def test_build_report_counts_claim_checks_and_lists_execution_inputs(tiny):
    _, _, out = tiny
    text = re.sub(r"<[^>]+>", " ", (out / "report.html").read_text())
    text = " ".join(text.split())
    assert "Chapter 1 2 3 made, 1 clear all chapters 1 2 3 made, 1 clear" in text, text
    key = re.search(r"execution key ([0-9a-f]{16})", text).group(1)
    assert (out.parent / ".jupyter_cache" / key).is_dir()
    assert "train-images-idx3-ubyte 20 items" in text


@pytest.mark.slow
def test_bibliography_entries_are_list_items(tiny):
    _, _, out = tiny
    page = (out / "index.html").read_text()
    assert re.search(r'<div role="list" class="citation-list">\s*<div class="citation" '
                     r'id="[^"]+" role="listitem">', page)  # fmt: skip
    assert "doc-biblioentry" not in page


@pytest.mark.slow
def test_only_html_builds_need_npm(tiny_copy):
    docs, data, _ = tiny_copy
    no_npm = {"PATH": str(Path(sys.executable).parent)}
    bundled = "-Dreglab_bundled_mathjax=1"
    before = _executions(docs)
    result, _ = _build(docs, data, bundled, builder="linkcheck", **no_npm)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _executions(docs) == before  # linkcheck reuses the cached execution
    result, _ = _build(docs, data, bundled, "-E", **no_npm)
    assert result.returncode != 0
    assert "`npm` was not found" in result.stdout + result.stderr


def test_claim_checks_count_assert_statements_in_claim_check_cells():
    nb = nbformat.v4.new_notebook()
    tagged = {"tags": ["remove-cell", "claim-check"]}
    nb.cells = [
        nbformat.v4.new_code_cell("%time x = 1\nassert 1\nassert 2 # assert 3", metadata=tagged),
        nbformat.v4.new_code_cell("for i in []:\n    assert i\ns = 'assert x'", metadata=tagged),
        nbformat.v4.new_code_cell("assert True"),  # visible: not a claim check
        nbformat.v4.new_code_cell("assert 4", metadata={"tags": ["remove-cell"]}),  # untagged
        nbformat.v4.new_code_cell("glue('a', 1)", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_markdown_cell("assert in prose", metadata=tagged),
        nbformat.v4.new_code_cell("print(1)", metadata={"tags": ["hide-input"]}),
    ]  # fmt: skip
    assert reglab_book.claim_checks(nb) == (2, 3)


def _glued(name: str, value) -> dict:
    """The output that ``myst_nb.glue(name, value, display=False)`` records."""
    from IPython.core.formatters import format_display_data
    from myst_nb.ext.glue import GLUE_PREFIX as prefix

    data, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    return nbformat.v4.new_output(
        "display_data", data={prefix + k: v for k, v in data.items()}, metadata=metadata
    )


def test_comparisons_reads_the_chapters_hidden_glue():
    """The report reads the glue data MyST-NB extracts (and writes as .glue.json)."""
    from myst_nb.ext.glue import extract_glue_data

    def glue_of(*outputs):
        nb = nbformat.v4.new_notebook()
        hidden = nbformat.v4.new_code_cell("glue(...)", metadata={"tags": ["remove-cell"]})
        hidden.outputs = list(outputs)
        nb.cells = [nbformat.v4.new_markdown_cell("comparisons"), hidden]
        return json.loads(json.dumps(extract_glue_data(nb, [1, 2], logger=None)))

    glue = glue_of(_glued("other", "9/9"), _glued("comparisons", "12/5"))
    assert reglab_book.comparisons(glue) == (12, 5)
    assert reglab_book.comparisons(glue_of(_glued("other", "1/1"))) is None  # compares nothing
    for bad in ["5/7", "five/2", "3"]:
        with pytest.raises(ValueError, match="<made>/<clear>"):
            reglab_book.comparisons(glue_of(_glued("comparisons", bad)))


@pytest.mark.parametrize(
    "chapter", sorted((Path(__file__).parents[1] / "docs" / "chapters").glob("*.md")),
    ids=lambda p: p.stem,
)  # fmt: skip
def test_a_chapter_that_compares_glues_its_tally_and_reads_the_test(chapter):
    """The build report counts a chapter's comparisons from its one ``comparisons`` glue
    (reglab.stats.tally), and the verdicts read the paired test (``rejects``, ``sign``,
    ``verdict``), never ``clear`` or ``excludes_zero``."""
    import jupytext

    code = "\n".join(c.source for c in jupytext.read(chapter).cells if c.cell_type == "code")
    compares = "paired_difference(" in code or "paired_table(" in code
    assert code.count('glue("comparisons"') == (1 if compares else 0)
    if compares:
        assert "tally(" in code and ("holm(" in code or "paired_table(" in code)
    assert not re.search(r"\.(clear|excludes_zero)\b", code)


def test_notebook_with_outputs_refuses_cells_that_were_not_run(tmp_path):
    source = tmp_path / "chapter.md"
    source.write_text(CHAPTER)
    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('other')")])
    with pytest.raises(ValueError, match="code cells differ"):
        reglab_book.notebook_with_outputs(source, executed)


def test_the_workflow_key_script_prints_the_builds_key():
    """The Pages workflow caches by ``python docs/_ext/reglab_build.py``: the same key."""
    result = subprocess.run(
        [sys.executable, str(EXT / "reglab_build.py")], capture_output=True, text=True, check=True
    )
    expected = reglab_build.execution_key(reglab_build.current_inputs(ROOT, ROOT / "docs"))
    assert result.stdout.strip() == expected


def test_pages_workflow_restores_only_this_keys_outputs_and_publishes_after_deploy():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    steps = jobs["build"]["steps"]
    key_step = next(s for s in steps if s.get("id") == "key")
    assert "docs/_ext/reglab_build.py" in key_step["run"]
    book = next(s for s in steps if "jupyter_cache" in s.get("with", {}).get("path", ""))
    assert book["with"]["path"].endswith("${{ steps.key.outputs.key }}")
    for restore in [book["with"]["key"], *book["with"].get("restore-keys", "").splitlines()]:
        assert restore.startswith("book-${{ steps.key.outputs.key }}-"), restore
    assert jobs["notebooks"]["needs"] == "deploy"
    writers = [name for name, job in jobs.items() if "write" in job["permissions"].values()]
    assert writers == ["deploy", "notebooks"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w/-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize(
    "chapter", sorted((ROOT / "docs" / "chapters").glob("*.md")), ids=lambda p: p.stem
)
def test_the_download_of_a_chapter_is_what_its_page_shows(chapter):
    """Fast (no build): ``without_hidden_cells`` on each real chapter keeps every visible
    cell and every word of its prose, drops the hidden cells, and puts the note on the
    checks right after the title."""
    import jupytext

    source = jupytext.read(chapter)
    hidden = [c for c in source.cells if "remove-cell" in c.metadata.get("tags", [])]
    shown = [c for c in source.cells if c not in hidden]
    nb = reglab_book.without_hidden_cells(jupytext.read(chapter))
    nbformat.validate(nb)
    assert hidden and not any("remove-cell" in c.metadata.get("tags", []) for c in nb.cells)
    assert nb.cells[0].source.startswith("# ") and "\n" not in nb.cells[0].source
    assert nb.cells[1].source == reglab_book.CHECKS_NOTE
    rest = [c for c in nb.cells if c is not nb.cells[1]]
    code = [c.source for c in rest if c.cell_type == "code"]
    assert code == [c.source for c in shown if c.cell_type == "code"]
    words = " ".join(c.source for c in rest if c.cell_type == "markdown").split()
    assert words == " ".join(c.source for c in shown if c.cell_type == "markdown").split()


def test_a_notebook_without_hidden_cells_gets_no_note():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n\ntext"),
                                         nbformat.v4.new_code_cell("x = 1")])  # fmt: skip
    assert [c.source for c in reglab_book.without_hidden_cells(nb).cells] == [
        "# T\n\ntext",
        "x = 1",
    ]
