r"""Math typeset at build time (docs/_ext/reglab_math.py), tested on a tiny project.

The tiny project (the pattern of ``test_build.py``: the real extensions, MyST-NB and
sphinx-book-theme, built strictly in a subprocess) has inline math, a numbered display
equation referenced with ``{eq}``, an ``align`` environment, and a notebook whose stored
outputs are ``text/latex`` and Markdown with ``$...$``. The built pages must carry the SVG,
the equation numbers, the TeX for copying and the assistive MathML, and load no MathJax;
Chromium with JavaScript off must show the equations, numbered.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from conftest import build_docs, require

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"
sys.path.insert(0, str(EXT))

import reglab_build  # noqa: E402
import reglab_math  # noqa: E402

CONF = f"""
import sys
sys.path.insert(0, {str(EXT)!r})
project = "tiny"
extensions = ["myst_nb", "reglab_math"]
html_math_renderer = "reglab_math"
myst_enable_extensions = ["amsmath", "dollarmath"]
nb_execution_mode = "off"
nb_render_markdown_format = "myst"
numfig = True
math_numfig = True
html_theme = "sphinx_book_theme"
exclude_patterns = ["_build"]
"""
INDEX = """# Tiny

```{toctree}
:numbered:
math
outputs
```
"""
MATH = r"""# Math

The loss $L(\theta) = \frac{1}{N}\sum_i \ell(x_i, y_i)$ is small, and $\mathbb{E}[x] < 1$.

$$
\theta_{t+1} = \theta_t - \eta \nabla L(\theta_t)
$$ (sgd)

By {eq}`sgd`, the step is small.

\begin{align}
a &= b + c \\
d &= \operatorname{softmax}(e)
\end{align}
"""
LATEX_OUTPUT = r"$$\sigma(z) = \frac{1}{1 + e^{-z}}$$"
MARKDOWN_OUTPUT = r"| rate | gap |" + "\n|---|---|\n" + r"| $p = 0.5$ | $\Delta = 1$ |"


def _outputs_notebook() -> nbformat.NotebookNode:
    """A notebook with stored outputs (not executed): text/latex and Markdown with math."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/latex": LATEX_OUTPUT}),
        nbformat.v4.new_output("display_data", data={"text/markdown": MARKDOWN_OUTPUT}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Outputs"), cell]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _project(path: Path, **pages: str) -> Path:
    docs = path / "docs"
    docs.mkdir(parents=True)
    for name, text in {"conf.py": CONF, "index.md": INDEX, **pages}.items():
        (docs / name).write_text(text)
    return docs


def _build(docs: Path, *args: str, **env: str):
    out = docs / "_build" / "html"
    result = build_docs(docs, out, "-b", "html", *args, env={**os.environ, **env})
    return result, out


@pytest.fixture(scope="module")
def node():
    """MathJax from npm (docs/package-lock.json) and Node to run it."""
    if shutil.which("node") is None:
        require("Node.js is needed to typeset the math")
    if shutil.which("npm") is None and not (ROOT / "docs" / "node_modules" / "mathjax").exists():
        require("npm (Node.js) is needed to install MathJax (docs/package-lock.json)")
    return reglab_build.npm_install(ROOT / "docs")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, node):
    docs = _project(tmp_path_factory.mktemp("math"), **{"math.md": MATH})
    nbformat.write(_outputs_notebook(), docs / "outputs.ipynb")
    result, out = _build(docs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return docs, out


# -- the pieces, without a build ----------------------------------------------------------


def _sphinx_mathjax_tex(text: str) -> str:
    """The TeX that ``sphinx.ext.mathjax`` writes for a display equation's ``text``."""
    from docutils import nodes
    from sphinx.ext import mathjax

    translator = SimpleNamespace(
        body=[],
        starttag=lambda *args, **kwargs: "<div>",
        encode=lambda text: text,
        builder=SimpleNamespace(config=SimpleNamespace(mathjax_display=["<<", ">>"])),
    )
    with pytest.raises(nodes.SkipNode):
        mathjax.html_visit_displaymath(translator, nodes.math_block(text, text, number=None))
    written = "".join(translator.body)
    return written[written.index("<<") + 2 : written.rindex(">>")]


@pytest.mark.parametrize("text", ["a = b", "a &= b \\\\ c &= d", "a = b\n\nc = d\n", "x\n\n\n"])
def test_display_tex_is_what_sphinx_mathjax_typesets(text):
    """Sphinx's rules: blank-line-separated equations are aligned, ``\\\\`` makes a split."""
    assert reglab_math.display_tex(text).strip() == _sphinx_mathjax_tex(text).strip()


def _fake_equation(n: int, glyphs: dict[str, str]) -> str:
    """What MathJax's SVG output with fontCache 'local' looks like, numbered ``n``."""
    paths = "".join(f'<path id="MJX-{n}-{c}" d="{d}"></path>' for c, d in glyphs.items())
    uses = "".join(f'<use xlink:href="#MJX-{n}-{c}"></use>' for c in glyphs)
    return (
        f'<mjx-container class="MathJax" jax="SVG"><svg><defs>{paths}</defs><g>{uses}</g></svg>'
        '<mjx-assistive-mml><math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math>'
        "</mjx-assistive-mml></mjx-container>"
    )


def test_a_page_carries_each_glyph_once():
    x, two = "M1 1L2 2Z", "M3 3L4 4Z"
    typeset = {
        reglab_math.key("x", False): _fake_equation(1, {"X": x}),
        reglab_math.key("x^2", True): _fake_equation(2, {"X": x, "T": two}),
    }
    page = "<p>before " + "".join(
        reglab_math.placeholder(tex, display) for tex, display in [("x", False), ("x^2", True)]
    )
    out = reglab_math.assemble(page, typeset)
    assert "<reglab-math" not in out and "MJX-" not in out
    assert out.count(f'd="{x}"') == 1 and out.count(f'd="{two}"') == 1
    assert out.index('style="display: none"') < out.index("<mjx-container")
    ids = set(re.findall(r'<path id="([^"]+)"', out))
    assert set(re.findall(r'xlink:href="#([^"]+)"', out)) == ids and len(ids) == 2
    assert '<annotation encoding="application/x-tex">x^2</annotation>' in out
    assert '<span class="reglab-tex" aria-hidden="true">$x$</span>' in out
    assert "\\[\nx^2\n\\]" in out
    assert out.count('<mjx-container tabindex="0"') == 1  # the displayed one: it may scroll


def test_the_cache_typesets_each_equation_once(tmp_path, monkeypatch):
    calls = []

    def typeset(items, modules):
        calls.append(list(items))
        return {"css": "css", "items": [{"html": f"<b>{t}</b>"} for t, _ in items]}

    monkeypatch.setattr(reglab_math, "typeset", typeset)
    cache = reglab_math.Cache(tmp_path, "v1")
    assert cache.update([("a", False), ("b", True)], tmp_path) == {}
    cache.save()
    again = reglab_math.Cache(tmp_path, "v1")  # the next build
    assert again.update([("a", False), ("b", True)], tmp_path) == {}
    assert again.update([("a", False), ("c", False)], tmp_path) == {}
    assert calls == [[("a", False), ("b", True)], [("c", False)]]
    assert reglab_math.Cache(tmp_path, "v2").data["items"] == {}  # a new renderer: no reuse


def test_the_renderer_version_follows_mathjax_and_the_script(node, tmp_path, monkeypatch):
    before = reglab_math.renderer_version(node)
    script = tmp_path / "reglab_math.cjs"
    script.write_text(reglab_math.SCRIPT.read_text() + "\n// edited\n")
    monkeypatch.setattr(reglab_math, "SCRIPT", script)
    assert reglab_math.renderer_version(node) != before


# -- the built pages ------------------------------------------------------------------------


def _article(page: str) -> str:
    """The page's article, without the ids MyST draws at random for unlabelled equations."""
    article = page[page.index("<article") : page.index("</article>")]
    return re.sub(r"equation-[0-9a-f]{8}-[0-9a-f-]{27}", "equation-?", article)


@pytest.mark.slow
def test_pages_carry_typeset_math_and_no_mathjax(tiny):
    _, out = tiny
    for name in ("math", "outputs"):
        page = (out / f"{name}.html").read_text()
        article = _article(page)
        assert "<reglab-math" not in page
        assert not re.search(r"<script[^>]*mathjax", page, re.I), name
        assert "MathJax" not in "".join(re.findall(r"<script.*?</script>", page, re.S))
        assert not re.search(r"\\\(|\\\[|\$\$", re.sub(r"<mjx-container.*?</mjx-container>", "",
                                                      article, flags=re.S)), name  # fmt: skip
        assert article.count("<mjx-container") > 0, name
        maths = len(re.findall(r'class="[^"]*\bmath notranslate', article))
        assert maths == article.count("<mjx-container")
        assert article.count("<mjx-container") == article.count("<mjx-assistive-mml")
        assert re.search(r'href="_static/reglab-math\.css(\?v=\w+)?"', page), name
    assert (out / "_static" / "reglab-math.css").read_text().count("mjx-assistive-mml")


@pytest.mark.slow
def test_equations_are_numbered_referenced_and_copyable(tiny):
    _, out = tiny
    article = _article((out / "math.html").read_text())
    assert '<div class="math notranslate nohighlight" id="equation-sgd">' in article
    assert '<span class="eqno">(1.1)<a class="headerlink" href="#equation-sgd"' in article
    assert re.search(r'<a class="reference internal" href="#equation-sgd">.*?\(1\.1\)', article)
    tex = re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', article, re.S)
    assert [html.unescape(t) for t in tex][:2] == [
        r"L(\theta) = \frac{1}{N}\sum_i \ell(x_i, y_i)",
        r"\mathbb{E}[x] < 1",
    ]
    assert any(r"\begin{align}" in html.unescape(t) for t in tex)
    assert "<mtable" in article  # align typeset as a table, with its MathML
    outputs = _article((out / "outputs.html").read_text())
    assert r"\sigma(z) = \frac{1}{1 + e^{-z}}" in html.unescape(outputs)
    assert outputs.count("<mjx-container") == 3  # the text/latex output and the table's two


@pytest.mark.slow
def test_a_rebuild_reuses_the_typeset_math_without_node(tiny):
    docs, out = tiny
    before = _article((out / "math.html").read_text())
    no_node = {"PATH": str(Path(sys.executable).parent)}  # python, but no node and no npm
    result, _ = _build(docs, "-E", **no_node)  # every page written again
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _article((out / "math.html").read_text()) == before


@pytest.mark.slow
def test_a_tex_error_fails_the_strict_build(tmp_path, node):
    bad = "# Math\n\nBroken $\\frac{1}{$ math.\n"
    docs = _project(tmp_path, **{"math.md": bad, "index.md": "# Tiny\n\n```{toctree}\nmath\n```\n"})
    result, _ = _build(docs)
    assert result.returncode != 0
    assert "TeX error" in result.stderr and "math" in result.stderr


# -- in Chromium ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_equations_show_and_are_numbered_with_javascript_off(tiny, browser):
    _, out = tiny
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto((out / "math.html").as_uri(), wait_until="load")
    boxes = page.locator(".math mjx-container > svg").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect()).map(b => [b.width, b.height])"
    )
    assert len(boxes) >= 4 and all(w > 1 and h > 1 for w, h in boxes), boxes
    glyphs = page.locator(".math mjx-container use").evaluate_all(
        """els => els.map(e => document.getElementById(
             e.getAttribute("xlink:href").slice(1)) !== null)"""
    )
    assert glyphs and all(glyphs), glyphs  # each <use> finds its glyph in the page
    number = page.locator("#equation-sgd .eqno")
    assert number.is_visible() and number.inner_text().startswith("(1.1)")
    assert page.locator("a.reference[href='#equation-sgd']").inner_text() == "(1.1)"
    assert not [u for u in requests if "mathjax" in u.lower() or u.endswith(".js")], requests
    context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_copying_a_sentence_copies_its_tex(tiny, browser):
    _, out = tiny
    page = browser.new_page()
    page.goto((out / "math.html").as_uri(), wait_until="load")
    copied = page.evaluate(
        """() => { const p = document.querySelector('article p');
                   getSelection().selectAllChildren(p); return getSelection().toString(); }"""
    )
    copied = " ".join(copied.split())  # the browser puts line breaks around each equation
    assert r"The loss $L(\theta) = \frac{1}{N}\sum_i \ell(x_i, y_i)$ is small" in copied
    page.close()


@pytest.mark.slow
@pytest.mark.browser
def test_math_follows_the_text_colour_in_dark_mode(tiny, browser):
    _, out = tiny
    context = browser.new_context(color_scheme="dark")
    context.add_init_script(
        "localStorage.setItem('theme', 'dark'); localStorage.setItem('mode', 'dark');"
    )
    page = context.new_page()
    page.goto((out / "math.html").as_uri(), wait_until="load")
    colours = page.evaluate(
        """() => [...document.querySelectorAll('p .math mjx-container > svg > g')].map(g =>
             [getComputedStyle(g).fill, getComputedStyle(g.closest('p')).color])"""
    )
    assert colours and all(fill == text for fill, text in colours), colours
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    context.close()
