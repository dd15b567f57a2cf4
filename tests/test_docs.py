"""Build the whole book strictly, as `nox -s docs` does, and check what a reader receives.

Marked ``docs``: it executes every chapter (minutes on a laptop CPU the first time, seconds
when the execution cache is warm). Skip it locally with ``-m "not docs"``; CI runs it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHAPTERS = sorted(
    p.relative_to(DOCS).with_suffix("").as_posix() for p in (DOCS / "chapters").glob("*.md")
)

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


@pytest.fixture(scope="module")
def site(tmp_path_factory, mnist_root) -> Path:
    out = tmp_path_factory.mktemp("html")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-n",
            "-b",
            "html",
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, (
        f"strict docs build failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    )
    assert "WARNING" not in result.stderr.replace("[IPKernelApp] WARNING", "")
    return out


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


def test_mathjax_and_its_font_are_served_locally(site):
    static = site / "_static" / "mathjax"
    assert (static / "tex-chtml.js").exists()
    assert list((static / "fonts" / "mathjax-newcm-font" / "chtml" / "woff2").glob("*.woff2"))
    page = (site / CHAPTERS[0]).with_suffix(".html").read_text()
    assert 'src="../_static/mathjax/tex-chtml.js' in page
    assert '"fonts": "[mathjax]/fonts"' in page or "[mathjax]/fonts" in page


def test_build_report_lists_every_chapter(site):
    report = (site / "build-report.html").read_text()
    for chapter in CHAPTERS:
        assert chapter in report
