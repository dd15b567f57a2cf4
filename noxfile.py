"""Sessions for testing, linting and building the reglab book. `nox -l` lists them.

Every session that needs torch (tests, docs, linkcheck, docs-live, mutate) runs in ONE
virtual environment, `.nox/torch` (see :func:`torch_env`): the first of them creates it
(about 2 minutes and 6 GB here), the others reuse it. `nox -s tests` builds the whole book
strictly into docs/_build/html and tests that site, so CI needs no `docs` session (no
second build); `nox -s tests -- -m "not docs"` skips the book build. The exact torch and
torchvision the book is executed with are pinned in constraints.txt; pyproject.toml
declares the range reglab supports, whose lowest versions `nox -s minimums` tests.
"""

from __future__ import annotations

import glob
import hashlib
import os
import sys
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.needs_version = ">=2025.2.9"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
#: The builds the book is executed and tested with; every torch session installs with it.
CONSTRAINTS = "constraints.txt"
#: What the one torch environment holds: the test tools, the docs toolchain (with
#: sphinx-autobuild) and mutmut, beside reglab itself (editable) and its dependencies.
TORCH_GROUPS = ("test", "docs-live", "mutate")
# -j auto: Sphinx reads in one process per core, and MyST-NB executes each chapter as it is
# read, so as many chapters run at once as there are cores (one thread each; see
# docs/_ext/reglab_build.py); the pages are the same as a serial build's.
DOCS_ARGS = ["-W", "--keep-going", "-n", "-j", "auto", "-b", "html", "docs", "docs/_build/html"]
# Chapter code is read in a column of about 88 characters; imports sit in the cell that
# first explains them, so E402 (imports at the top of the file) does not apply.
# Chapters import where a reader meets a name (E402), copy-ready cells re-import what they
# use so that they run alone (F811), and a bare expression displays a result (B018).
CHAPTER_RUFF = ["--line-length=88", "--extend-ignore=E402,F811,B018"]
#: What the torch environment's byte-compiling skips: the packages' own test suites, which
#: no session imports (a quarter of the source, torch's files for Python 3.12 among them).
NOT_COMPILED = r"[/\\](tests|testing[/\\]_internal)[/\\]"


def _install_digest() -> str:
    """What the torch environment's packages were installed from: a new pyproject.toml,
    constraints.txt or Python means installing again."""
    digest = hashlib.sha256(sys.version.encode())
    for name in ("pyproject.toml", CONSTRAINTS):
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


def torch_env(session: nox.Session) -> Path:
    """The one environment of every torch session: ``<envdir>/torch`` (``.nox/torch``).

    nox gives each session a virtualenv of its own, named after the session, and has no
    option to share one (a ``venv_location`` setting is proposed upstream, wntrblm/nox#785,
    not released). So these sessions ask nox for none (``venv_backend="none"``) and use
    this one: created with virtualenv (what nox itself uses) on first use, installed into
    with pip and ``-c constraints.txt`` whenever pyproject.toml or constraints.txt changed
    (a stamp file records what it was installed from), put first on ``PATH``. Nothing is
    installed when nothing changed. ``nox -s NAME --install-only`` creates and fills it;
    delete ``.nox/torch`` to start afresh.
    """
    location = session.cache_dir.parent / "torch"
    python = location / "bin" / "python"
    stamp = location / "reglab-installed-from.sha256"
    wanted = _install_digest()
    if not python.exists():
        session.run_install(sys.executable, "-m", "virtualenv", "--quiet", str(location))
    if not stamp.is_file() or stamp.read_text() != wanted:
        # pip byte-compiles every module it installs (torch's thousands) on one core, half
        # of the install's time here; compileall then does the same on every core (81 s ->
        # 37 + 17 s on 2 cores), so that no session compiles them on first import
        pip = [str(python), "-m", "pip", "install", "--quiet", "--no-compile", "-c", CONSTRAINTS]
        requirements = nox.project.dependency_groups(PYPROJECT, *TORCH_GROUPS)
        session.run_install(*pip, "-e", ".", *requirements)
        # test oracles without their dependencies: torchattacks pins requests~=2.25, which
        # Sphinx 9 outgrew; its real needs (torch, torchvision, numpy, scipy) are ours
        oracles = nox.project.dependency_groups(PYPROJECT, "oracles")
        session.run_install(*pip, "--no-deps", *oracles)
        # status 1 where a file is for a newer Python, which pip leaves uncompiled too
        compileall = [str(python), "-m", "compileall", "-qq", "-j", "0", "-x", NOT_COMPILED]
        compileall.append(str(location / "lib"))
        session.run_install(*compileall, success_codes=[0, 1])
        stamp.write_text(wanted)
    else:
        session.log(f"{location}: installed from this pyproject.toml and {CONSTRAINTS}")
    session.env["VIRTUAL_ENV"] = str(location)
    session.env["PATH"] = os.pathsep.join([str(location / "bin"), os.environ.get("PATH", "")])
    return python


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run the test suite, including a strict build of the whole book (docs/_build/html).

    The tests run on pytest-xdist workers, one per core (``-n auto``; ``-- -n 0`` runs them
    in this process), the tests of the built book last: the first worker that needs the
    book builds it, the others wait for it (``tests/conftest.py``, ``site``). Workers
    steal tests from each other's queues (``--dist worksteal``): a few tests take minutes
    (a chapter's second run), and a worker that has finished its share takes over the
    queue of one still busy instead of waiting.
    """
    python = torch_env(session)
    chosen = any(a.startswith(("-n", "--numprocesses")) for a in session.posargs)
    workers = [] if chosen else ["-n", "auto", "--dist", "worksteal"]
    session.run(python, "-m", "pytest", *workers, *session.posargs)


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


@nox.session(default=False, venv_backend="none")
def docs(session: nox.Session) -> None:
    """Build the book strictly into docs/_build/html (REGLAB_EXECUTE=force: re-run all)."""
    python = torch_env(session)
    session.run(python, "-m", "sphinx", *DOCS_ARGS, *session.posargs)
    index = os.path.join("docs", "_build", "html", "index.html")
    session.log(f"Open {index}, or serve it: python -m http.server -d docs/_build/html")


@nox.session(default=False, venv_backend="none")
def linkcheck(session: nox.Session) -> None:
    """Check the site's internal links; `-- --external` also fetches web links (needs internet)."""
    python = torch_env(session)
    session.run(python, "-m", "sphinx", *DOCS_ARGS)
    session.run(python, "scripts/check_links.py", "docs/_build/html")
    if "--external" in session.posargs:
        session.run(python, "-m", "sphinx", "-b", "linkcheck", "docs", "docs/_build/linkcheck")


@nox.session(name="docs-live", default=False, venv_backend="none")
def docs_live(session: nox.Session) -> None:
    """Serve the book with live reload while you edit chapters or reglab/."""
    python = torch_env(session)
    session.run(
        python,
        "-m",
        "sphinx_autobuild",
        *DOCS_ARGS,
        "--watch",
        "reglab",
        "--ignore",
        "*/_build/*",
        "--ignore",
        "*/node_modules/*",
        *session.posargs,
    )


@nox.session(default=False, venv_backend="none")
def mutate(session: nox.Session) -> None:
    """Mutation-test the numerical modules with mutmut ([tool.mutmut] in pyproject.toml).

    Slow (minutes per module on 2 cores). `nox -s mutate -- "reglab.nn.dropout*"` limits the
    run to one module; the survivors are listed at the end (`mutmut show NAME` shows one).
    """
    python = torch_env(session)
    session.env["OMP_NUM_THREADS"] = "1"
    session.run(python, "-m", "mutmut", "run", *session.posargs)
    session.run(python, "-m", "mutmut", "results")


def lowest(requirements: list[str]) -> list[str]:
    """Each requirement pinned to the lowest version it allows (``numpy>=1.26`` becomes
    ``numpy==1.26``): pip's answer to uv's ``--resolution=lowest-direct``."""
    pinned = []
    for text in requirements:
        requirement = Requirement(text)
        floors = [s.version for s in requirement.specifier if s.operator in (">=", "==", "~=")]
        if not floors:
            raise ValueError(f"{text!r} declares no lowest version")
        pinned.append(f"{requirement.name}=={floors[0]}")
    return pinned


@nox.session(default=False)
def minimums(session: nox.Session) -> None:
    """The fast tests on the lowest versions of reglab's dependencies that pyproject.toml
    declares (its own environment, not the pinned torch; not run by CI)."""
    floors = lowest(PYPROJECT["project"]["dependencies"])
    session.install("-e", ".", *floors, *nox.project.dependency_groups(PYPROJECT, "test"))
    session.install("--no-deps", *nox.project.dependency_groups(PYPROJECT, "oracles"))
    session.run("python", "-m", "pip", "list")  # the versions this run tested, in the log
    session.run(
        "pytest", "-m", "not docs", "--ignore=tests/test_examples.py",
        "--ignore=tests/test_copyable.py", "--ignore=tests/test_build.py", *session.posargs,
    )  # fmt: skip
