"""The examples gallery, and the copy-ready badges, in a reader's browser.

Same setup as ``test_browser.py`` (whose fixtures and ``visit`` this module reuses):
headless Debian Chromium on the strictly built site served from 127.0.0.1, every request
to another host blocked and recorded. Marked ``docs`` and ``browser``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from test_browser import Visits, _context, base  # noqa: F401 (fixtures; browser is in conftest)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py"))
PAGES = ["index", *EXAMPLES]

pytestmark = [pytest.mark.docs, pytest.mark.browser]


def chapter_of(example: str) -> str:
    docstring = ast.get_docstring(ast.parse((ROOT / "examples" / f"{example}.py").read_text()))
    return re.search(r":doc:`/chapters/([\w-]+)`", docstring).group(1)


@pytest.fixture(scope="module")
def reports(browser, base):  # noqa: F811
    visits = Visits(browser, base, "gallery/{name}.html")
    yield visits
    visits.close()


@pytest.mark.parametrize("name", PAGES)
def test_gallery_page_loads_cleanly(reports, name):
    report = reports[name]
    assert report["errors"] == []
    assert report["blocked"] == []
    assert report["axe"] == []
    assert [i for i in report["images"] if not i["ok"]] == []
    # thumbnails are decorative (the example's title is the link beside them): alt=""
    assert [i for i in report["images"] if i["alt"] is None] == []
    if name != "index":
        assert [i for i in report["images"] if not i["alt"]] == []


def test_index_shows_a_thumbnail_for_every_example(browser, base):  # noqa: F811
    context = _context(browser, base)
    page = context.new_page()
    page.goto(f"{base}/gallery/index.html")
    thumbs = page.locator(".sphx-glr-thumbcontainer")
    assert thumbs.count() == len(EXAMPLES)
    for i in range(thumbs.count()):
        assert thumbs.nth(i).locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
    thumbs.filter(has_text="Dropout at test time").locator("a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/gallery/dropout_weight_scaling.html")
    assert page.locator("nav.bd-links a", has_text="Examples gallery").count() >= 1  # sidebar
    context.close()


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_page_has_outputs_downloads_and_links_to_its_chapter(browser, base, example):  # noqa: F811
    context = _context(browser, base)
    page = context.new_page()
    page.goto(f"{base}/gallery/{example}.html")
    # executed at build time: a figure and printed output
    assert page.locator("img.sphx-glr-single-img, img.sphx-glr-multi-img").count() >= 1
    assert page.locator(".sphx-glr-script-out").count() >= 1
    # downloads: the script and a notebook whose first cell installs reglab
    links = {
        Path(a.get_attribute("href")).suffix: a.get_attribute("href")
        for a in page.locator(".sphx-glr-download a.download").all()
    }
    assert {".py", ".ipynb"} <= set(links)
    script = page.request.get(urljoin(page.url, links[".py"]))
    assert script.ok and script.text() == (ROOT / "examples" / f"{example}.py").read_text()
    notebook = json.loads(page.request.get(urljoin(page.url, links[".ipynb"])).text())
    assert "".join(notebook["cells"][0]["source"]).startswith("# Setup for Colab")
    # the chapter, and back
    chapter = chapter_of(example)
    page.locator(f"article a[href='../chapters/{chapter}.html']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/chapters/{chapter}.html")
    page.locator(f"article a[href='../gallery/{example}.html']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/gallery/{example}.html")
    context.close()


def test_copy_ready_badge_is_visible_and_not_copied(browser, base):  # noqa: F811
    context = _context(browser, base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    page.goto(f"{base}/chapters/dropout.html")
    cell = page.locator("div.cell.tag_copyable").first
    badge = cell.locator("p.reglab-copyable")
    assert badge.is_visible() and "torch and torchvision" in badge.inner_text()
    cell.locator("div.cell_input").hover()
    cell.locator("div.cell_input button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("import torch") and "Copy-ready" not in copied
    context.close()
