"""Open every page of the built site in headless Chromium, offline, and screenshot it.

Serves ``docs/_build/html`` on 127.0.0.1, blocks every request to any other host (and
records it), and fails when a page asked for a third-party URL, left raw LaTeX untypeset
(the build typesets it into SVG), or logged a console error.

    python scripts/screenshot.py                      # every page -> docs/_build/screenshots/
    python scripts/screenshot.py --pages index --out docs/_static/screenshot.png

Needs Playwright's Python package (``pip install playwright``, no browser download) and
Debian's Chromium (``apt-get install chromium``); ``--chromium`` points elsewhere.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def check_page(page, url: str, base: str) -> list[str]:
    """Load one page; return the problems found."""
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.goto(url, wait_until="load")
    has_math = page.evaluate("document.querySelector('.math') !== null")
    if has_math:
        typeset = page.evaluate("document.querySelectorAll('mjx-container').length")
        raw = page.evaluate(
            "[...document.querySelectorAll('.math')].filter("
            "e => !e.querySelector('mjx-container')).length"
        )
        if typeset == 0 or raw:
            problems.append(f"math: {typeset} typeset, {raw} left as raw LaTeX")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "docs" / "_build" / "html")
    parser.add_argument("--pages", nargs="*", help="page names (default: every page)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "_build" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--dark", action="store_true", help="use the theme's dark mode")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    pages = args.pages or sorted(
        p.relative_to(args.html).with_suffix("").as_posix()
        for p in args.html.rglob("*.html")
        if not p.relative_to(args.html).parts[0].startswith(("_", "."))
        and p.name not in {"genindex.html", "search.html"}
    )
    server, base = serve(args.html)
    blocked: list[str] = []
    failures = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=args.chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(
            viewport={"width": args.width, "height": args.height},
            color_scheme="dark" if args.dark else "light",
        )
        if args.dark:
            context.add_init_script("localStorage.setItem('theme', 'dark')")

        def route(r):
            if urlparse(r.request.url).netloc == urlparse(base).netloc:
                return r.continue_()
            blocked.append(r.request.url)
            return r.abort()

        context.route("**/*", route)
        for name in pages:
            page = context.new_page()
            problems = check_page(page, f"{base}/{name}.html", base)
            single = len(pages) == 1 and args.out.suffix == ".png"
            shot = args.out if single else args.out / f"{name.replace('/', '__')}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=not single)
            page.close()
            status = "ok" if not problems else "FAIL"
            failures += bool(problems)
            shown = shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot
            print(f"{status:4} {name}  -> {shown}")
            for problem in problems:
                print(f"     {problem}")
        browser.close()
    server.shutdown()
    for url in sorted(set(blocked)):
        print(f"FAIL request to another host: {url}")
    return 1 if failures or blocked else 0


if __name__ == "__main__":
    sys.exit(main())
