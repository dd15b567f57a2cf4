"""The built site as a reader's browser sees it: headless Chromium, network blocked.

Serves the strictly built site on 127.0.0.1 and opens every page in Debian's Chromium via
Playwright's Python package (no browser download). Requests to any other host are blocked
and recorded. Screenshots of every page go to ``docs/_build/screenshots/`` (or
``$REGLAB_SCREENSHOTS``). Marked ``docs`` and ``browser``: skipped where Chromium,
Playwright or npm is missing, except in CI (``CI`` set), where that is a failure (the
``browser`` fixture lives in ``conftest.py``).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import SETTINGS, load_script, require

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHOTS = SETTINGS.path("REGLAB_SCREENSHOTS", DOCS / "_build" / "screenshots")
PAGES = sorted(
    [p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.glob("*.md")]
    + [p.relative_to(DOCS).with_suffix("").as_posix() for p in (DOCS / "chapters").glob("*.md")]
)

pytestmark = [pytest.mark.docs, pytest.mark.browser]


def _serve(directory: Path):
    """The same local server ``scripts/screenshot.py`` uses."""
    return load_script("screenshot").serve(directory)


@pytest.fixture(scope="module")
def base(site):
    server, url = _serve(site)
    yield url
    server.shutdown()


def _context(browser, base, *, dark=False):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, color_scheme="dark" if dark else "light"
    )
    context.blocked = []
    host = urlparse(base).netloc

    def route(r):
        if urlparse(r.request.url).netloc == host or r.request.url.startswith("data:"):
            return r.continue_()
        context.blocked.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    if dark:
        context.add_init_script(
            "localStorage.setItem('theme', 'dark'); localStorage.setItem('mode', 'dark');"
        )
    return context


@functools.cache
def _axe_source() -> str:
    axe = DOCS / "node_modules" / "axe-core" / "axe.min.js"
    if not axe.exists():
        npm = shutil.which("npm")
        if npm is None:
            require("npm (Node.js) is needed to install axe-core (docs/package-lock.json)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=DOCS, check=True)
    return axe.read_text()


def visit(context, url: str, screenshot: Path | None = None) -> dict:
    """Load one page and report what a reader's browser saw."""
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    blocked_before = len(context.blocked)
    page.goto(url, wait_until="load")
    report = {"errors": errors}
    report["images"] = page.evaluate(
        """() => Promise.all([...document.images].map(img => {
             img.loading = 'eager';
             return img.decode().then(() => true, () => false).then(ok => ({
               src: img.getAttribute('src').slice(0, 80), ok: ok && img.naturalWidth > 0,
               alt: img.getAttribute('alt')}));
           }))"""
    )
    report["has_math"] = page.evaluate("document.querySelector('.math') !== null")
    report["mathjax"] = page.evaluate(  # the math is typeset at build time: no MathJax
        "performance.getEntriesByType('resource').some(e => /mathjax/i.test(e.name))"
    )
    if report["has_math"]:
        report["typeset"] = page.evaluate("document.querySelectorAll('mjx-container').length")
        report["raw_math"] = page.evaluate(
            "[...document.querySelectorAll('.math')]"
            ".filter(e => !e.querySelector('mjx-container > svg')).length"
        )
    report["raw_dollars"] = page.evaluate(
        "document.querySelector('article').innerText.includes('$$')"
    )
    page.add_script_tag(content=_axe_source())
    report["axe"] = page.evaluate(
        """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
             .filter(v => ['serious', 'critical'].includes(v.impact))
             .map(v => ({id: v.id, impact: v.impact,
                         nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"""
    )
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    report["blocked"] = context.blocked[blocked_before:]
    return report


class Visits(dict):
    """Page name -> the report of its visit (:func:`visit`, with a screenshot), each page
    visited once, when a test first asks for it, in one browser context.

    Lazy, so that under pytest-xdist a worker opens only the pages of the tests it runs
    (``tests/conftest.py`` keeps the tests of one page together); the whole site in one
    go would be visited again by every worker that gets one of these tests.
    """

    def __init__(self, browser, base: str, path: str = "{name}.html"):
        super().__init__()
        self.browser, self.base, self.path, self.context = browser, base, path, None

    def __missing__(self, name: str) -> dict:
        if self.context is None:
            self.context = _context(self.browser, self.base)
        path = self.path.format(name=name)
        shot = SHOTS / (path.removesuffix(".html").replace("/", "__") + ".png")
        self[name] = visit(self.context, f"{self.base}/{path}", shot)
        return self[name]

    def close(self) -> None:
        if self.context is not None:
            self.context.close()


@pytest.fixture(scope="module")
def reports(browser, base):
    visits = Visits(browser, base)
    yield visits
    visits.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_console_errors(reports, name):
    assert reports[name]["errors"] == []


@pytest.mark.parametrize("name", PAGES)
def test_page_requests_nothing_from_other_hosts(reports, name):
    assert reports[name]["blocked"] == []


@pytest.mark.parametrize("name", PAGES)
def test_every_image_loads_and_has_alt_text(reports, name):
    images = reports[name]["images"]
    assert [i for i in images if not i["ok"]] == []
    assert [i for i in images if not i["alt"]] == []


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset(reports, name):
    report = reports[name]
    assert not report["raw_dollars"]
    assert not report["mathjax"]
    if report["has_math"]:
        assert report["typeset"] > 0 and report["raw_math"] == 0


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_accessibility_violations(reports, name):
    assert reports[name]["axe"] == []


@pytest.mark.parametrize("name", PAGES)
def test_page_was_screenshot(reports, name):
    reports[name]  # visited, screenshot taken
    assert (SHOTS / f"{name.replace('/', '__')}.png").stat().st_size > 10_000


def test_copy_button_copies_exactly_the_code(browser, base):
    context = _context(browser, base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    page.goto(f"{base}/chapters/inspecting.html")
    cell = page.locator("div.cell").filter(has=page.locator("div.cell_output")).nth(1)
    code = cell.locator("div.cell_input pre").inner_text()
    cell.locator("div.cell_input").hover()
    cell.locator("div.cell_input button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == code.strip()
    assert "describe(" in copied and "tensor shape=" not in copied  # the code, not its output
    assert page.locator("div.cell_output button.copybtn").count() == 0
    context.close()


def test_dark_mode_keeps_figures_on_white(browser, base, site):
    context = _context(browser, base, dark=True)
    page = context.new_page()
    page.goto(f"{base}/chapters/dropout.html")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    # the theme puts a light backdrop behind images in dark mode; our figures are white
    backgrounds = page.evaluate(
        "[...document.querySelectorAll('.cell_output img')]"
        ".map(i => getComputedStyle(i).backgroundColor)"
    )
    assert backgrounds
    for color in backgrounds:
        r, g, b = (int(v) for v in color[color.index("(") + 1 : color.index(")")].split(",")[:3])
        assert 0.2126 * r + 0.7152 * g + 0.0722 * b > 180, color  # a light backdrop
    figure = next((site / "_images").glob("*.svg")).read_text()
    assert "fill: #ffffff" in figure  # matplotlib's facecolor: white, not transparent
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dark__chapters__dropout.png"))
    context.close()


def test_a_chapter_reads_with_javascript_off(browser, base):
    """Equations (typeset at build time) and icons (the theme's webfonts) need no script."""
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(f"{base}/chapters/dropout.html", wait_until="load")
    boxes = page.locator(".math mjx-container > svg").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect()).map(b => [b.width, b.height])"
    )
    assert len(boxes) > 10 and all(w > 1 and h > 1 for w, h in boxes)
    numbers = page.locator("div.math .eqno").all_inner_texts()
    assert numbers and all(re.match(r"\(\d+\.\d+\)", n) for n in numbers), numbers
    assert page.locator("a.reference[href^='#equation-']").count() > 0  # {eq} references
    icons = page.locator("i.fa-github, i.fa-download").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert max(icons) > 10  # drawn by the theme's webfont (hidden menu copies are 0 wide)
    scripts = [u for u in requests if re.search(r"mathjax|fontawesome\.js", u, re.I)]
    assert scripts == []
    context.close()


def test_sample_viewer_steps_through_frames(browser, base):
    context = _context(browser, base)
    page = context.new_page()
    page.goto(f"{base}/chapters/augmentation.html")
    viewer = page.locator(".reglab-viewer")
    first = viewer.locator("img").get_attribute("src")
    assert viewer.locator("input[type=range]").input_value() == "0"
    viewer.locator("button[aria-label='next sample']").click()
    assert viewer.locator("input[type=range]").input_value() == "1"
    second = viewer.locator("img").get_attribute("src")
    assert second != first and second.startswith("data:image/png")
    assert "sample 2 of" in viewer.locator(".reglab-viewer-caption").inner_text()
    viewer.locator("input[type=range]").fill("5")
    assert "sample 6 of" in viewer.locator(".reglab-viewer-caption").inner_text()
    viewer.locator("button[aria-label='previous sample']").click()
    assert "sample 5 of" in viewer.locator(".reglab-viewer-caption").inner_text()
    context.close()


def test_the_checks_fail_on_a_missing_figure_and_a_cdn_script(browser, site, tmp_path):
    """Mutation test: the same visit() must flag a removed image and a third-party script."""
    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    page = broken / "chapters" / "dropout.html"
    html = page.read_text()
    used = html[html.index('src="../_images/') + len('src="../') :].split('"')[0]
    (broken / used).unlink()
    page.write_text(
        html.replace("</head>", '<script src="https://cdn.jsdelivr.net/npm/x.js"></script></head>')
    )
    server, url = _serve(broken)
    context = _context(browser, url)
    report = visit(context, f"{url}/chapters/dropout.html")
    context.close()
    server.shutdown()
    assert any(not i["ok"] for i in report["images"])
    assert report["blocked"] == ["https://cdn.jsdelivr.net/npm/x.js"]
