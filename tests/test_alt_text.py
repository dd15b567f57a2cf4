"""Every image of the book has an alt text that describes it, not its file name.

Without one, docutils writes the image's path as its ``alt`` (``../_images/3f2a….png``),
and a screen reader reads that out. How an alt text reaches the HTML in MyST-NB 1.4:

- a code cell's image output takes the cell's ``mystnb: image: alt:`` metadata
  (``render_image_options``, cell key ``image``, read by ``NbElementRenderer.render_image``);
  ``mystnb: figure:`` (caption, name) wraps the image in a figure but gives it no alt;
- ``{glue:figure}`` takes ``:alt:`` (put into the same image options); ``{figure}`` and
  ``{image}`` take ``:alt:``; Markdown ``![alt](path)`` its bracketed text.

Two tests: a static one on the chapter sources (fast: every cell that draws a figure, and
every figure directive, provides an alt text), and one on the built site (``docs``: every
``<img>``).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest
from conftest import MYST_NOTEBOOK_HEADER

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "docs" / "chapters").glob("*.md"))
PAGES = sorted(p for p in (ROOT / "docs").glob("*.md"))

#: ``<img>`` that may have an empty ``alt``, with why: decorative images whose link names
#: the target in text. sphinx-gallery writes its thumbnails with ``:alt:`` empty, and the
#: thumbnail's link holds the example's title (reglab_notebooks keeps it for screen readers).
DECORATIVE = {"sphx-glr-thumbcontainer": "gallery thumbnail; its link's text is the title"}

IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp", ".pdf")
# pyplot calls that open a figure: a visible cell that makes one shows it as an image output
DRAWS = re.compile(r"\bplt\.(subplots|subplot|figure|subplot_mosaic)\s*\(")
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>figure|image|glue:figure)\}.*?\n(?P<body>.*?)^(?P=fence)\s*$",
    re.M | re.S,
)
MARKDOWN_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)]+)\)")


def is_description(alt: object) -> bool:
    """A non-empty text that is not a file name or a path (``fig.png``, ``_images/x``).

    A ``/`` inside words is allowed ("a 1/sqrt(n) line"); a single token with a ``/`` or
    ending in an image suffix is a path.
    """
    if not isinstance(alt, str) or not alt.strip():
        return False
    text = alt.strip()
    if text.lower().endswith(IMAGE_SUFFIXES):
        return False
    return not (re.fullmatch(r"\S+", text) and "/" in text)


def missing_alt_texts(path: Path) -> list[str]:
    """What in a MyST page shows an image without an alt text, as short descriptions."""
    found = []
    text = path.read_text(encoding="utf-8")
    notebook = jupytext.read(path) if text.startswith("---\njupytext:") else None
    for index, cell in enumerate(notebook.cells if notebook else []):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or {"remove-cell", "remove-output"} & set(tags):
            continue
        options = cell.metadata.get("mystnb", {})
        if "figure" in options or DRAWS.search(cell.source):
            alt = options.get("image", {}).get("alt")
            if not is_description(alt):
                name = options.get("figure", {}).get("name", cell.source.splitlines()[0][:50])
                found.append(f"cell {index} ({name}): no mystnb.image.alt ({alt!r})")
    for match in DIRECTIVE.finditer(text):
        alt = re.search(r"^:alt:\s*(.*)$", match["body"], re.M)
        if not is_description(alt and alt.group(1)):
            line = text[: match.start()].count("\n") + 1
            found.append(f"line {line}: {{{match['name']}}} without :alt:")
    for match in MARKDOWN_IMAGE.finditer(text):
        if not is_description(match["alt"]):
            line = text[: match.start()].count("\n") + 1
            found.append(f"line {line}: ![{match['alt']}]({match['src']})")
    return found


@pytest.mark.parametrize("path", CHAPTERS + PAGES, ids=lambda p: p.stem)
def test_every_figure_has_an_alt_text(path):
    assert missing_alt_texts(path) == []


def test_the_static_check_finds_figures_without_alt_text(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        MYST_NOTEBOOK_HEADER + "\n# Page\n\n![](a.png) ![A digit](b.png)\n\n"
        "```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    name: fig-a\n"
        "  image:\n    alt: _images/a.png\n---\nfig, ax = plt.subplots()\n```\n\n"
        "```{code-cell} ipython3\nfig, ax = plt.subplots()\n```\n\n"
        "```{code-cell} ipython3\n---\nmystnb:\n  image:\n    alt: A curve along a 1/n line\n"
        "---\nfig = plt.figure()\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\n\nfig, ax = plt.subplots()\n```\n\n"
        "```{glue:figure} key\n:name: fig-b\n\nCaption.\n```\n\n"
        "```{figure} c.png\n:alt: Three digits\n\nCaption.\n```\n"
    )
    assert missing_alt_texts(page) == [
        "cell 1 (fig-a): no mystnb.image.alt ('_images/a.png')",
        "cell 2 (fig, ax = plt.subplots()): no mystnb.image.alt (None)",
        "line 46: {glue:figure} without :alt:",
        "line 14: ![](a.png)",
    ]


# -- the built site ------------------------------------------------------------------------


def bad_images(html: str) -> list[str]:
    """The ``<img>`` of a page whose ``alt`` is missing, empty or a file name (the
    :data:`DECORATIVE` ones may be empty), each as its ``src``."""
    from bs4 import BeautifulSoup

    found = []
    for img in BeautifulSoup(html, "html.parser").find_all("img"):
        alt = img.get("alt")
        decorative = any(img.find_parent(class_=c) for c in DECORATIVE)
        if alt == "" and decorative:
            continue
        if not is_description(alt):
            found.append(f"{img.get('src')} (alt={alt!r})")
    return found


def test_the_site_check_finds_images_named_by_their_file():
    html = (
        '<img src="_images/a.png" alt="../_images/a.png"><img src="b.png">'
        '<img src="c.png" alt=""><img src="d.png" alt="Validation loss against epochs">'
        '<div class="sphx-glr-thumbcontainer"><img src="t.png" alt=""></div>'
        '<img src="colab.png" alt="Colab logo">'
    )
    assert bad_images(html) == [
        "_images/a.png (alt='../_images/a.png')",
        "b.png (alt=None)",
        "c.png (alt='')",
    ]


@pytest.mark.docs
def test_every_image_of_the_site_has_an_alt_text(site):
    bad = {}
    for page in sorted(site.rglob("*.html")):
        found = bad_images(page.read_text(encoding="utf-8", errors="replace"))
        if found:
            bad[str(page.relative_to(site))] = found
    assert bad == {}
