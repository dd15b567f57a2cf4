"""Check every internal link of the built site: the target file exists and so does its anchor.

    python scripts/check_links.py [docs/_build/html]

External links (http, https, mailto) are listed but not fetched: the build machines have no
internet. Sphinx's own ``linkcheck`` builder checks them where there is a network
(``nox -s linkcheck -- --external``). Exits 1 on any broken internal link.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def check(site: Path) -> tuple[list[str], int, set[str]]:
    """Return (broken internal links, number checked, external URLs)."""
    pages: dict[Path, _Page] = {}
    for html in site.rglob("*.html"):
        parser = _Page()
        parser.feed(html.read_text(encoding="utf-8"))
        pages[html.resolve()] = parser
    broken, checked, external = [], 0, set()
    modules = (site / "_modules").resolve()
    for path, page in pages.items():
        # viewcode's source pages link back to one documented name per source module, so a
        # function re-exported by reglab.nn.functional sends its module-mates' backlinks to
        # reglab.nn.functional.<name>; the forward [source] links are still checked.
        if path.is_relative_to(modules):
            continue
        for href in page.links:
            if urlparse(href).scheme in {"http", "https", "mailto"}:
                external.add(href)
                continue
            if urlparse(href).scheme or href.startswith("javascript:"):
                continue
            target, anchor = urldefrag(href)
            target_path = (path.parent / unquote(target)).resolve() if target else path
            checked += 1
            where = f"{path.relative_to(site.resolve())}: {href}"
            if not target_path.exists():
                broken.append(f"{where} (no file)")
            elif anchor and target_path.is_relative_to(modules):
                continue  # viewcode tags no line for properties: the source page suffices
            elif anchor and target_path.suffix == ".html":
                if anchor not in pages.get(target_path, _Page()).ids:
                    broken.append(f"{where} (no anchor #{anchor})")
    return broken, checked, external


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    site = Path(argv[0] if argv else "docs/_build/html")
    broken, checked, external = check(site)
    for line in broken:
        print(f"broken: {line}")
    print(f"{checked} internal links checked, {len(broken)} broken; "
          f"{len(external)} external links not fetched (no network here)")  # fmt: skip
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
