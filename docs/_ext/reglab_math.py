r"""Math typeset at build time: the pages carry static SVG and load no math JavaScript.

Why MathJax 4 on Node, and why SVG:

- **MathJax 4, not KaTeX.** The book already installs MathJax 4 from npm
  (``docs/package-lock.json``) and Node is already a build dependency, so nothing new is
  installed, and readers get the same TeX coverage they had with MathJax in the browser:
  the ``amsmath`` environments MyST emits (``align``, ``split``, ``aligned``, ``cases``),
  ``\operatorname``, ``\mathbb``, ``\boldsymbol``, and the same New Computer Modern glyphs.
  KaTeX would be a new npm package with its own TeX dialect, and it needs a stylesheet and
  woff2 fonts on every page.
- **SVG, not CHTML.** CHTML draws characters with the font's woff2 files (served and
  downloaded per page, ~0.3 MB today) and a stylesheet sized to the characters used. SVG
  needs no font at all: each glyph is a ``<path>``, sent once per page (the equations'
  ``<defs>`` are merged into one hidden ``<svg>``), filled with ``currentColor`` (so
  equations follow the theme's dark mode), and gzip shrinks the repeated markup.

How a build typesets (parallel reads and writes stay safe: no state but the files):

1. The HTML math renderer ``reglab_math`` writes, where MathJax's would have written
   ``\(...\)``/``\[...\]``, a ``<reglab-math>`` placeholder carrying the TeX. Sphinx's
   equation numbers (``<span class="eqno">`` with its permalink), the anchors
   (``id="equation-..."``) and the display TeX (several equations joined with ``aligned``,
   ``\\`` wrapped in ``split``) are written exactly as ``sphinx.ext.mathjax`` writes them.
2. On ``build-finished``, every page this build wrote is scanned for placeholders. The TeX
   strings not yet in the on-disk cache (``<doctrees>/reglab-math/<version>.json``, keyed
   by a hash of the TeX and whether it is displayed; the version hashes MathJax's, the
   font's and ``reglab_math.cjs``) are typeset by **one** Node process for the whole build
   (``reglab_math.cjs``). A rebuild with no new equation never starts Node. A TeX error is
   a build warning (the strict build fails), never red text on the page.
3. Each placeholder becomes MathJax's ``<mjx-container>``: the SVG (``aria-hidden``), the
   assistive MathML that screen readers read (with the TeX as its
   ``application/x-tex`` annotation), and the TeX once more as visually hidden text, so
   that selecting a sentence and copying it gives ``$...$`` in place of each equation
   (``\[...\]`` for a displayed one).
   MathJax's stylesheet for that output is ``_static/reglab-math.css``, linked from pages
   with math.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import reglab_build
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

#: The npm project (``docs/package.json``) that holds MathJax: this file's ``docs`` folder.
DOCS = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("reglab_math.cjs")
NAME = "reglab_math"
CSS = "reglab-math.css"
PLACEHOLDER = re.compile(r'<reglab-math display="(inline|block)">(.*?)</reglab-math>', re.S)
DEFS = re.compile(r"<defs>(.*?)</defs>", re.S)
GLYPH = re.compile(r'<path id="([^"]+)" d="([^"]*)"></path>')
HREF = re.compile(r'xlink:href="#([^"]+)"')
#: Added to MathJax's stylesheet: the TeX kept for copying is selectable but not seen.
EXTRA_CSS = """
.reglab-tex {
  position: absolute; top: 0; left: 0; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: pre;
}
"""


# -- 1. the renderer: placeholders ------------------------------------------------------


def placeholder(tex: str, display: bool) -> str:
    """The marker a page carries until ``build-finished`` typesets ``tex``."""
    kind = "block" if display else "inline"
    return f'<reglab-math display="{kind}">{html.escape(tex, quote=False)}</reglab-math>'


def display_tex(text: str) -> str:
    r"""The TeX ``sphinx.ext.mathjax`` typesets for a display equation's ``text``.

    Equations separated by a blank line are aligned together; one with ``\\`` is a
    ``split``.
    """
    parts = [part for part in text.split("\n\n") if part.strip()]
    body = [rf"\begin{{split}}{p}\end{{split}}" if r"\\" in p else p for p in parts]
    if len(parts) > 1:
        return r"\begin{align}\begin{aligned}" + r"\\".join(body) + r"\end{aligned}\end{align}"
    return "".join(body)


def visit_math(self, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(placeholder(node.astext(), display=False) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node.get("no-wrap", node.get("nowrap", False)):  # amsmath environments from MyST
        tex = node.astext()
    else:
        if node["number"]:
            number = get_node_equation_number(self, node)
            self.body.append(f'<span class="eqno">({number})')
            self.add_permalink_ref(node, _("Link to this equation"))
            self.body.append("</span>")
        tex = display_tex(node.astext())
    self.body.append(placeholder(tex, display=True) + "</div>\n")
    raise nodes.SkipNode


# -- 2. typesetting: one Node process per build, a cache on disk -----------------------


def key(tex: str, display: bool) -> str:
    return hashlib.sha256(f"{int(display)}:{tex}".encode()).hexdigest()[:24]


def node_modules() -> Path:
    """``docs/node_modules`` (this extension's npm project), installed if missing."""
    return reglab_build.npm_install(DOCS)


def renderer_version(modules: Path) -> str:
    """What the output depends on: MathJax's and the font's versions, the script."""
    parts = [SCRIPT.read_bytes()]
    for package in ("mathjax", "@mathjax/mathjax-newcm-font"):
        parts.append(json.loads((modules / package / "package.json").read_text())["version"])
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def typeset(items: list[tuple[str, bool]], modules: Path) -> dict:
    """Typeset ``items`` (TeX, display) with one Node process: see ``reglab_math.cjs``."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("The book typesets its math with Node.js at build time: install it.")
    with tempfile.TemporaryDirectory() as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(json.dumps({"modules": str(modules), "items": items}))
        run = subprocess.run(
            [node, str(SCRIPT), str(request), str(result)], capture_output=True, text=True
        )
        if run.returncode != 0:
            raise RuntimeError(f"typesetting the math failed:\n{run.stderr[-4000:]}")
        return json.loads(result.read_text())


class Cache:
    """Typeset equations by :func:`key`, and MathJax's stylesheet, in one JSON file."""

    def __init__(self, folder: Path, version: str):
        self.path = folder / f"{version}.json"
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.data.setdefault("items", {})
        self.changed = False

    def update(self, items: list[tuple[str, bool]], modules: Path) -> dict[str, str]:
        """Typeset what is missing; return the TeX errors by key (those are not cached)."""
        missing = [item for item in items if key(*item) not in self.data["items"]]
        if not missing and "css" in self.data:
            return {}
        result = typeset(missing, modules)
        errors = {}
        for item, out in zip(missing, result["items"], strict=True):
            if "error" in out:
                errors[key(*item)] = out["error"]
            else:
                self.data["items"][key(*item)] = out["html"]
        self.data["css"] = result["css"] + EXTRA_CSS
        self.changed = True
        return errors

    def save(self) -> None:
        if self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            tmp.replace(self.path)


# -- 3. the pages: SVG in place of the placeholders ------------------------------------


def _copy_text(tex: str, display: bool) -> str:
    r"""The TeX as a reader copies it: ``$...$``, ``\[...\]``, or the bare environment."""
    if not display:
        return f"${tex}$"
    return tex if tex.lstrip().startswith(r"\begin") else f"\\[\n{tex.strip()}\n\\]"


def equation(out: str, tex: str, display: bool, glyphs: dict[str, str]) -> str:
    """One typeset equation for the page: its glyphs moved to ``glyphs`` (id -> path)."""
    ids = {}

    def take(defs: re.Match) -> str:
        for old, d in GLYPH.findall(defs[1]):
            new = "mj-" + hashlib.blake2s(d.encode(), digest_size=5).hexdigest()
            ids[old] = new
            glyphs[new] = d
        rest = GLYPH.sub("", defs[1])
        return f"<defs>{rest}</defs>" if rest.strip() else ""

    out = DEFS.sub(take, out)
    out = HREF.sub(lambda m: f'xlink:href="#{ids.get(m[1], m[1])}"', out)
    escaped = html.escape(tex, quote=False)
    annotation = f'<annotation encoding="application/x-tex">{escaped}</annotation>'
    out = re.sub(
        r"(<math\b[^>]*>)(.*)(</math>)",
        lambda m: f"{m[1]}<semantics><mrow>{m[2]}</mrow>{annotation}</semantics>{m[3]}",
        out,
        count=1,
        flags=re.S,
    )
    if display:  # a wide equation scrolls: keyboard users reach it (as MathJax's tabindex)
        out = out.replace("<mjx-container ", '<mjx-container tabindex="0" ', 1)
    copy = html.escape(_copy_text(tex, display), quote=False)
    tail = out.rindex("</mjx-container>")
    hidden = f'<span class="reglab-tex" aria-hidden="true">{copy}</span>'
    return out[:tail] + hidden + out[tail:]


def assemble(page: str, typeset_html: dict[str, str]) -> str:
    """``page`` with each placeholder replaced by its typeset equation (by :func:`key`).

    The glyphs of all equations go once into a hidden ``<svg>`` before the first one.
    """
    glyphs: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        display, tex = match[1] == "block", html.unescape(match[2])
        return equation(typeset_html[key(tex, display)], tex, display, glyphs)

    page = PLACEHOLDER.sub(replace, page)
    if glyphs:
        paths = "".join(f'<path id="{i}" d="{d}"></path>' for i, d in glyphs.items())
        defs = (
            '<svg xmlns="http://www.w3.org/2000/svg" style="display: none" aria-hidden="true">'
            f"<defs>{paths}</defs></svg>"
        )
        first = page.index("<mjx-container")
        page = page[:first] + defs + page[first:]
    return page


def _written_pages(app: Sphinx) -> list[Path]:
    since = _STARTED.get(id(app), 0.0)
    return [p for p in Path(app.outdir).rglob("*.html") if p.stat().st_mtime >= since]


def typeset_pages(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: typeset the placeholders of the pages this build wrote."""
    if exception is not None or app.builder.format != "html":
        return
    if getattr(app.builder, "math_renderer_name", None) != NAME:
        return
    pages = {}
    items: dict[str, tuple[str, bool]] = {}
    for path in _written_pages(app):
        text = path.read_text(encoding="utf-8")
        if "<reglab-math " not in text:
            continue
        pages[path] = text
        for kind, escaped in PLACEHOLDER.findall(text):
            tex, display = html.unescape(escaped), kind == "block"
            items.setdefault(key(tex, display), (tex, display))
    cache_folder = Path(app.doctreedir) / "reglab-math"
    if not pages and not any(cache_folder.glob("*.json")):
        return
    modules = node_modules()
    cache = Cache(cache_folder, renderer_version(modules))
    errors = cache.update(list(items.values()), modules)
    cache.save()
    for path, text in pages.items():
        page_errors = [
            (items[k][0], errors[k]) for k in dict.fromkeys(
                key(html.unescape(t), d == "block") for d, t in PLACEHOLDER.findall(text)
            ) if k in errors
        ]  # fmt: skip
        docname = path.relative_to(app.outdir).with_suffix("").as_posix()
        for tex, message in page_errors:
            logger.warning(
                "TeX error: %s in %r", message, tex, location=docname, type="reglab", subtype="math"
            )
        if page_errors:
            continue  # the page keeps its placeholders; the strict build fails
        path.write_text(assemble(text, cache.data["items"]), encoding="utf-8")
    static = Path(app.outdir) / "_static"
    static.mkdir(exist_ok=True)
    css = static / CSS
    if not css.exists() or css.read_text() != cache.data["css"]:
        css.write_text(cache.data["css"])


_STARTED: dict[int, float] = {}  # id(app) -> when its build began


def _start(app: Sphinx) -> None:
    _STARTED[id(app)] = time.time() - 1  # file times may be coarse


def link_stylesheet(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Pages with math link MathJax's stylesheet (no script)."""
    if context.get("has_maths_elements") and app.builder.math_renderer_name == NAME:
        app.add_css_file(CSS)


def setup(app: Sphinx) -> dict:
    app.add_html_math_renderer(
        NAME,
        inline_renderers=(visit_math, None),
        block_renderers=(visit_displaymath, None),
    )
    app.connect("builder-inited", _start)
    app.connect("html-page-context", link_stylesheet)
    app.connect("build-finished", typeset_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
