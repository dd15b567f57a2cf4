"""Shared fixtures: a tiny MNIST in IDX format, the real data root, the built site, a browser.

A fixture whose prerequisite is missing (the MNIST data root, npm, Chromium, Playwright)
skips its tests on a developer's machine, and FAILS them when the environment variable
``CI`` is set: CI must never pass with tests silently skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reglab.data import MNIST_FILES, data_root
from reglab.environment import Variables

#: Every ``REGLAB_*`` variable the tests read (read only through :data:`SETTINGS`). They
#: live here, not in the installed library: reglab.environment holds what the library reads,
#: docs/_ext/reglab_settings.py what the docs build reads.
TEST_VARIABLES: dict[str, str] = {
    "REGLAB_SITE": "an already built site for the docs/browser tests to check instead of "
    "building one (default: build it)",
    "REGLAB_CHROMIUM": "Chromium executable for the browser tests (default: /usr/bin/chromium)",
    "REGLAB_SCREENSHOTS": "folder the browser tests save screenshots to "
    "(default: docs/_build/screenshots)",
    "REGLAB_NOTEBOOK_TORCH": "torch to run the fresh-environment notebook test on, a wheel folder "
    "or requirement strings (default: this environment's torch)",
}
SETTINGS = Variables(TEST_VARIABLES)


def write_idx_mnist(root: Path, images: torch.Tensor, labels: torch.Tensor, train: bool) -> None:
    """Write uint8 ``images`` (N, 28, 28) and ``labels`` (N,) as torchvision's raw MNIST files."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (image_file, _), (label_file, _) = MNIST_FILES[train]
    n = images.shape[0]
    # IDX header: magic number (0x0803 for 3-D uint8, 0x0801 for 1-D), then big-endian sizes
    (raw / image_file).write_bytes(
        struct.pack(">IIII", 0x0803, n, 28, 28) + images.numpy().tobytes()
    )
    (raw / label_file).write_bytes(struct.pack(">II", 0x0801, n) + labels.numpy().tobytes())


@pytest.fixture
def tiny_mnist(tmp_path) -> tuple[Path, torch.Tensor, torch.Tensor]:
    """A data root with 20 random training and 10 test 'digits': (root, images, labels)."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(20, dtype=torch.uint8) % 10
    write_idx_mnist(tmp_path, images, labels, train=True)
    write_idx_mnist(tmp_path, images[:10], labels[:10], train=False)
    return tmp_path, images, labels


@pytest.fixture
def ax():
    """A fresh matplotlib Axes for a figure test, closed afterwards."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


_MISSING = object()


def conf_value(name: str, default=_MISSING):
    """The value assigned to ``name`` in ``docs/conf.py``, read, not executed (a literal);
    ``default`` where the file or the name is missing (a copy of the tests without the
    book, such as mutmut's ``mutants/``), an error where no default is given."""
    import ast

    conf = Path(__file__).parents[1] / "docs" / "conf.py"
    body = ast.parse(conf.read_text()).body if conf.is_file() else []
    for node in body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            return ast.literal_eval(node.value)
    if default is _MISSING:
        raise AssertionError(f"docs/conf.py assigns no {name}")
    return default


def _page_cost() -> dict[str, float]:
    """``reglab_page_cost`` of ``docs/conf.py``: each chapter's execution time."""
    return conf_value("reglab_page_cost", {})


FRESH_CHAPTER_TEST = "test_chapter_notebook_runs_where_reglab_is_not_installed"
#: Tests that a build of the book repeats under the same conditions, and why: a session
#: that builds the book (a ``docs`` test is selected and ``REGLAB_SITE`` is unset) leaves
#: them out.
REPEATED_BY_THE_BUILD = {
    "test_example_runs_quickly_and_draws_figures": "the gallery runs every example in its "
    "quick setting and fails the build on an error or an empty figure",
}


def repeated_by_the_build(items, prebuilt_site: bool) -> list:
    """The ``items`` of :data:`REPEATED_BY_THE_BUILD` when this session builds the book."""
    builds = not prebuilt_site and any(i.get_closest_marker("docs") for i in items)
    return [i for i in items if builds and getattr(i, "originalname", "") in REPEATED_BY_THE_BUILD]


@pytest.hookimpl(trylast=True)  # after -m and -k have chosen the tests
def pytest_collection_modifyitems(config, items):
    """The tests of the built book run last (a stable sort), and of those, the runs of the
    chapters in a fresh environment first, the longest first (``reglab_page_cost``). Under
    pytest-xdist (``nox -s tests`` runs ``-n auto``) every worker then runs the rest of the
    suite first, the book is built once, when the first worker needs it (the ``site``
    fixture), and the longest chapter's second run starts at once after it. The browser
    tests of one page sit together, so that a worker that runs them visits the page once
    (``test_browser.Visits``). A session that builds the book leaves out the tests the
    build repeats (:data:`REPEATED_BY_THE_BUILD`)."""
    repeated = repeated_by_the_build(items, prebuilt_site=bool(SETTINGS.get("REGLAB_SITE")))
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [i for i in items if i not in repeated]
    cost = _page_cost()

    def key(item):
        docs = item.get_closest_marker("docs") is not None
        params = getattr(getattr(item, "callspec", None), "params", {})
        fresh = getattr(item, "originalname", "") == FRESH_CHAPTER_TEST
        page = ""
        if item.get_closest_marker("browser") is not None and "name" in params:
            page = f"{item.nodeid.split('::')[0]}::{params['name']}"
        cost_rank = -cost.get(f"chapters/{params.get('chapter')}", 1) if fresh else 0
        return (docs, not fresh, cost_rank, page)

    items.sort(key=key)


def named_errors_test(cases):
    """A test over ``cases()``, ``{case id: (bad call, exception, message regex)}``: each
    bad call must raise that exception with a message naming the argument and its range
    (the per-module form of ``tests/test_bad_input.py``'s cases, which mutmut credits to
    the module's own test file). Bind it to a ``test_...`` name in the test module."""

    @pytest.mark.parametrize("case", list(cases()))
    def test(case):
        call, error, message = cases()[case]
        with pytest.raises(error, match=message):
            call()

    return test


def require(reason: str) -> None:
    """A prerequisite is missing: fail under ``CI``, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: a missing prerequisite is a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The configured data root (``$REGLAB_DATA``) holding the four MNIST files."""
    root = data_root()
    missing = [
        name
        for names in MNIST_FILES.values()
        for name, _ in names
        if not (root / "MNIST" / "raw" / name).is_file()
    ]
    if missing:
        require(f"no MNIST under {root} (missing {', '.join(missing)}); set REGLAB_DATA")
    return root


ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Where the tests build the book: the same folder as ``nox -s docs``, so the site CI
#: tested is the site it would publish, and a later ``nox -s docs`` has nothing to redo.
SITE = DOCS / "_build" / "html"
CHROMIUM = SETTINGS.get("REGLAB_CHROMIUM", "/usr/bin/chromium")


#: The front matter of a MyST notebook (a chapter), for the tests' tiny pages.
MYST_NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def load_script(name: str):
    """Import ``scripts/<name>.py`` (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_docs(source: Path, out: Path, *args: str, env: dict | None = None):
    """Run ``sphinx-build`` strictly (``-W --keep-going -n``) in a subprocess."""
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", *args, str(source), str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)


@pytest.fixture(scope="session")
def site(request, tmp_path_factory) -> Path:
    """The whole book, built strictly (fresh environment, every warning an error).

    ``REGLAB_SITE`` may point at an already built site to test instead (CI's second
    look at a site it built earlier, say); it must hold an ``index.html``.
    """
    if SETTINGS.get("REGLAB_SITE"):
        built = SETTINGS.path("REGLAB_SITE", "")
        if not (built / "index.html").is_file():
            pytest.fail(f"REGLAB_SITE={built} holds no built site (no index.html)")
        return built
    request.getfixturevalue("mnist_root")
    if shutil.which("npm") is None:
        require("npm (Node.js) is needed: the build typesets the math with MathJax from npm")

    def build() -> dict:
        # as `nox -s docs` builds it: chapters execute in parallel, one per core
        done = build_docs(DOCS, SITE, "-E", "-j", "auto", "-b", "html")
        return {
            "returncode": done.returncode,
            "log": f"{done.stdout[-4000:]}\n{done.stderr[-8000:]}",
            "warned": "WARNING" in done.stderr.replace("[IPKernelApp] WARNING", ""),
        }

    if getattr(request.config, "workerinput", None) is None:  # one process: build
        result = build()
    else:
        # Under pytest-xdist each worker has a session of its own. The first worker to
        # get here builds; the others wait on the lock and test the same site (xdist's
        # pattern for a session fixture that must run once). The folder above the
        # workers' temporary folders belongs to this run alone.
        from filelock import FileLock

        shared = tmp_path_factory.getbasetemp().parent
        outcome = shared / "site-build.json"
        with FileLock(str(shared / "site-build.lock")):
            if not outcome.is_file():
                outcome.write_text(json.dumps(build()))
        result = json.loads(outcome.read_text())
    assert result["returncode"] == 0, f"strict docs build failed:\n{result['log']}"
    assert not result["warned"], f"the docs build warned:\n{result['log']}"
    return SITE


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright's Python package (no browser download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright is not installed")
    if not Path(CHROMIUM).exists():
        require(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        yield browser
        browser.close()
