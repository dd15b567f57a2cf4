"""Sessions for testing, linting and building the reglab book. `nox -l` lists them.

A first run creates one virtual environment per session; the sessions with torch (tests,
docs) take about 2 minutes and 6 GB each here, and are reused afterwards. `nox -s tests`
builds the whole book strictly into docs/_build/html and tests that site, so CI needs no
`docs` session (no second environment, no second build); `nox -s tests -- -m "not docs"`
skips the book build.
"""

from __future__ import annotations

import glob
import os

import nox

nox.needs_version = ">=2025.2.9"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
DOCS_ARGS = ["-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"]
# Chapter code is read in a column of about 88 characters; imports sit in the cell that
# first explains them, so E402 (imports at the top of the file) does not apply.
# Chapters import where a reader meets a name (E402), copy-ready cells re-import what they
# use so that they run alone (F811), and a bare expression displays a result (B018).
CHAPTER_RUFF = ["--line-length=88", "--extend-ignore=E402,F811,B018"]


def install(session: nox.Session, *groups: str) -> None:
    """Install reglab (editable) and the named dependency groups of pyproject.toml."""
    session.install("-e", ".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite, including a strict build of the whole book (docs/_build/html)."""
    install(session, "test", "docs")
    session.install("--no-deps", *nox.project.dependency_groups(PYPROJECT, "oracles"))
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff on the code and on the chapters' code cells (88 columns); zizmor on the CI."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    chapters = sorted(glob.glob("docs/chapters/*.md"))
    session.run("nbqa", "ruff", *chapters, *CHAPTER_RUFF, "--output-format=concise")
    session.run("nbqa", "ruff format", *chapters, "--check", "--line-length=88")
    session.run("zizmor", "--offline", ".github/workflows")


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Build the book strictly into docs/_build/html (REGLAB_EXECUTE=force: re-run all)."""
    install(session, "docs")
    session.run("sphinx-build", *DOCS_ARGS, *session.posargs)
    index = os.path.join("docs", "_build", "html", "index.html")
    session.log(f"Open {index}, or serve it: python -m http.server -d docs/_build/html")


@nox.session(default=False)
def linkcheck(session: nox.Session) -> None:
    """Check the site's internal links; `-- --external` also fetches web links (needs internet)."""
    install(session, "docs")
    session.run("sphinx-build", *DOCS_ARGS)
    session.run("python", "scripts/check_links.py", "docs/_build/html")
    if "--external" in session.posargs:
        session.run("sphinx-build", "-b", "linkcheck", "docs", "docs/_build/linkcheck")


@nox.session(name="docs-live", default=False)
def docs_live(session: nox.Session) -> None:
    """Serve the book with live reload while you edit chapters or reglab/."""
    install(session, "docs-live")
    session.run(
        "sphinx-autobuild",
        *DOCS_ARGS,
        "--watch",
        "reglab",
        "--ignore",
        "*/_build/*",
        "--ignore",
        "*/node_modules/*",
        *session.posargs,
    )


@nox.session(default=False)
def mutate(session: nox.Session) -> None:
    """Mutation-test the numerical modules with mutmut ([tool.mutmut] in pyproject.toml).

    Slow (minutes per module on 2 cores). `nox -s mutate -- "reglab.nn.dropout*"` limits the
    run to one module; the survivors are listed at the end (`mutmut show NAME` shows one).
    """
    install(session, "mutate")
    session.env["OMP_NUM_THREADS"] = "1"
    session.run("mutmut", "run", *session.posargs)
    session.run("mutmut", "results")
